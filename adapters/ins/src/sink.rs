//! The `ins` sink: checks a beneficiary's identity with the INSi teleservice and decides
//! the identity status; deliveries that carry the INS wait for it and are held unless the
//! identity ends qualified.

use crt_core::identity::{INS_TARGET, IdentityCheck};
use crt_core::record::{IdentityStatus, Ins, InsOid};
use crt_core::sink::{
    Artifact, BoxFuture, DeliveryError, DeliveryTask, Health, Receipt, RetryPolicy, Sink, Work,
};

use crate::client::InsiClient;
use crate::config::InsConfig;
use crate::message::{InsiAnswer, Query};
use crate::verify::decide;
use crt_core::identity::traits;

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
        let exchange = self
            .client
            .search(&Query::Traits(traits.clone()), task.delivery_id)
            .await
            .map_err(|e| e.into_delivery_error())?;
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
        if let Some(reason) = decision.reason {
            receipt = receipt.holding_dependents(reason);
        }
        Ok(receipt)
    }
}

fn oid_of(oid: &str) -> Option<InsOid> {
    serde_json::from_value(serde_json::Value::String(oid.to_string())).ok()
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

    fn deliver<'a>(
        &'a self,
        task: &'a DeliveryTask,
    ) -> BoxFuture<'a, Result<Receipt, DeliveryError>> {
        Box::pin(async move {
            match &task.work {
                Work::VerifyIdentity => self.verify(task).await,
                other => Err(DeliveryError::final_error(
                    "unsupported-work",
                    format!("the INS sink does not do {other:?}"),
                )),
            }
        })
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}
