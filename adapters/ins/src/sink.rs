//! The `ins` sink: checks a beneficiary's identity with the INSi teleservice and decides
//! the identity status; deliveries that carry the INS wait for it and are held unless the
//! identity ends qualified.

use crt_core::identity::{INS_TARGET, IdentityCheck};
use crt_core::record::{CarteVitale, IdentityStatus, Ins, InsOid};
use crt_core::sink::{
    Artifact, Attempt, BoxFuture, DeliveryError, DeliveryTask, Health, Receipt, RetryPolicy, Sink,
    Work,
};

use crate::client::InsiClient;
use crate::config::InsConfig;
use crate::message::{InsiAnswer, Matricule, Query, VitaleQuery};
use crate::verify::decide;
use crt_core::identity::traits::{self, NormalisedTraits};
use uuid::Uuid;

pub struct InsSink {
    client: InsiClient,
    retry: RetryPolicy,
}

impl InsSink {
    pub fn new(client: InsiClient, config: &InsConfig) -> Self {
        InsSink {
            client,
            retry: config.retry.clone(),
        }
    }

    async fn verify(&self, task: &DeliveryTask) -> Result<Receipt, DeliveryError> {
        let beneficiary = &task.record.beneficiary;
        let traits = traits::normalise(&beneficiary.identity)
            .map_err(|e| DeliveryError::final_error("ins-traits", e.to_string()))?;
        // A Carte Vitale first, when the DUI read one; then the given-name cascade the
        // CNDA tests: each birth given name alone, then the whole list. An identity found
        // ends it, "not found" and "several" go on to the next search.
        let searches: Vec<Query> = beneficiary
            .carte_vitale
            .as_ref()
            .map(|card| Query::Vitale(vitale_query(card, &traits)))
            .into_iter()
            .chain(cascade(&traits).into_iter().map(Query::Traits))
            .collect();
        let client = self
            .client
            .structure(&task.record.crt.id_nat_struct())
            .map_err(|e| e.into_delivery_error())?;
        let mut tried = Vec::new();
        let mut exchange = None;
        for (i, search) in searches.iter().enumerate() {
            let done = client
                .search(search, Uuid::now_v7())
                .await
                .map_err(|e| e.into_delivery_error())?;
            let found = matches!(done.answer, InsiAnswer::Found(_));
            if found || i + 1 == searches.len() {
                exchange = Some((search, done));
                break;
            }
            tried.push(done);
        }
        let Some((search, exchange)) = exchange else {
            return Err(DeliveryError::final_error(
                "ins-traits",
                "no birth given name to search with",
            ));
        };
        let document_checked = beneficiary.identity_evidence.is_some();
        let decision = decide(
            &traits,
            beneficiary.ins.as_ref(),
            document_checked,
            &exchange.answer,
        );
        let ins = decision.ins.as_ref().and_then(|(number, oid)| {
            Some(Ins {
                number: number.as_string(),
                oid: oid_of(oid)?,
            })
        });
        let check = IdentityCheck {
            status: decision.status,
            ins,
            answer_code: exchange.answer.code().to_string(),
            mismatches: decision.mismatches.iter().map(|m| m.to_string()).collect(),
            traits: match &exchange.answer {
                InsiAnswer::Found(found) => Some(found.traits.reference()),
                InsiAnswer::NotFound | InsiAnswer::Several => None,
            },
        };
        let summary = match decision.status {
            IdentityStatus::Qualified => {
                format!("identity qualified (INSi CR {})", check.answer_code)
            }
            IdentityStatus::Recovered => format!(
                "INS recovered, identity not qualified (INSi CR {})",
                check.answer_code
            ),
            other => format!(
                "INS not recovered, identity stays {} (INSi CR {})",
                other.code(),
                check.answer_code
            ),
        };
        let details = serde_json::to_value(&check)
            .map_err(|e| DeliveryError::final_error("encode", e.to_string()))?;
        let summary = match (tried.is_empty(), search) {
            (true, Query::Traits(_)) => summary,
            (_, Query::Vitale(_)) => format!("{summary}, by Carte Vitale"),
            (false, Query::Traits(_)) => {
                format!("{summary}, at search {} by traits", tried.len() + 1)
            }
        };
        let mut receipt = Receipt::delivered(summary)
            .with_remote_id(format!("uuid:{}", task.delivery_id))
            .with_details(details)
            .with_artifact(Artifact {
                name: "insi-request.xml".into(),
                media_type: "application/soap+xml".into(),
                content: exchange.request,
            })
            .with_artifact(Artifact {
                name: "insi-response.xml".into(),
                media_type: "application/soap+xml".into(),
                content: exchange.response.to_vec(),
            });
        for (i, earlier) in tried.into_iter().enumerate() {
            receipt = receipt
                .with_artifact(Artifact {
                    name: format!("insi-request-{}.xml", i + 1),
                    media_type: "application/soap+xml".into(),
                    content: earlier.request,
                })
                .with_artifact(Artifact {
                    name: format!("insi-response-{}.xml", i + 1),
                    media_type: "application/soap+xml".into(),
                    content: earlier.response.to_vec(),
                });
        }
        if let Some(reason) = decision.reason {
            receipt = receipt.holding_dependents(reason);
        }
        Ok(receipt)
    }
}

/// The search by the beneficiary's Carte Vitale: her own matricule when the card carries
/// it, the insured person's always, with her birth name, and her birth date and rank as
/// the card holds them.
pub fn vitale_query(card: &CarteVitale, traits: &NormalisedTraits) -> VitaleQuery {
    VitaleQuery {
        individual: card.beneficiary_number.as_deref().and_then(Matricule::of),
        insured: Matricule::of(&card.insured_number),
        birth_name: Some(traits.birth_name.clone()),
        birth_date: card.birth_date.clone(),
        birth_rank: Some(card.birth_rank.to_string()),
    }
}

/// The searches of the given-name cascade: the traits with each birth given name alone as
/// `Prenom`, in civil-status order, then with the whole list when there are several.
pub fn cascade(traits: &NormalisedTraits) -> Vec<NormalisedTraits> {
    let with = |given: String| NormalisedTraits {
        given_names: vec![given],
        ..traits.clone()
    };
    let mut searches: Vec<NormalisedTraits> =
        traits.given_names.iter().cloned().map(with).collect();
    if traits.given_names.len() > 1 {
        searches.push(with(traits.given_names_list()));
    }
    searches
}

fn oid_of(oid: &str) -> Option<InsOid> {
    serde_json::from_value(serde_json::Value::String(oid.to_string())).ok()
}

impl InsSink {
    /// Hands a task to the job it asks for; this sink has one, verifying an identity.
    async fn route(&self, task: &DeliveryTask) -> Result<Receipt, DeliveryError> {
        match &task.work {
            Work::VerifyIdentity => self.verify(task).await,
            other => Err(DeliveryError::unsupported("INS", other)),
        }
    }
}

impl Sink for InsSink {
    fn target(&self) -> &str {
        INS_TARGET
    }

    fn check(&self) -> BoxFuture<'_, Health> {
        Box::pin(crt_core::http::reachable(
            "INSi teleservice",
            self.client.endpoint(),
        ))
    }

    fn deliver<'a>(&'a self, task: &'a DeliveryTask) -> Attempt<'a> {
        Box::pin(self.route(task))
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cascade_asks_each_given_name_then_the_list() {
        let traits = NormalisedTraits {
            birth_name: "TCHITCHI".into(),
            given_names: vec!["OLA".into(), "CATARINA".into()],
            sex: "F",
            birth_date: "1936-06-21".into(),
            birth_place: None,
        };
        let asked: Vec<String> = cascade(&traits)
            .iter()
            .map(|t| t.first_given_name().to_string())
            .collect();
        assert_eq!(asked, ["OLA", "CATARINA", "OLA CATARINA"]);
        let single = NormalisedTraits {
            given_names: vec!["JEAN".into()],
            ..traits
        };
        assert_eq!(cascade(&single).len(), 1);
    }
}
