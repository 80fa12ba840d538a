//! Record → the deliveries it calls for, and what each waits for.
//!
//! Routing is where the gateway's rules about order live: a document that carries the
//! INS may only leave once the identity is qualified, so when the record's identity is
//! not, every delivery that carries it waits for an INS check. Targets the gateway does
//! not serve are refused here, at intake, with the field that asked for them.

use std::collections::BTreeSet;

use crt_core::CrtRecord;
use crt_core::record::{Action, Channel, Consents, DocumentKind, IdentityStatus};
use crt_core::sink::{DmpChange, Work};
use crt_core::validation::Violations;
use crt_documents::DocumentSet;
use uuid::Uuid;

use crate::registry::Registry;
use crate::store::NewDelivery;

pub use crate::sinks::journal::JOURNAL;
pub const INS: &str = crt_core::identity::INS_TARGET;
pub const VIATRAJECTOIRE: &str = "viatrajectoire";
const DMP: &str = Channel::Dmp.as_str();
const MSSANTE: &str = Channel::Mssante.as_str();
const DIRECTORY_TARGET: &str = crt_core::directory::DIRECTORY_TARGET;

/// The deliveries for a record, or why the gateway cannot carry out what it asks.
/// `previous` holds the consents of the beneficiary's previous record, when there is one:
/// a consent that changed since reaches what the DMP already holds.
pub fn plan(
    record: &CrtRecord,
    previous: Option<&Consents>,
    registry: &Registry,
) -> Result<Vec<NewDelivery>, Violations> {
    let mut deliveries = Vec::new();
    let mut violations = Violations::default();
    if registry.contains(JOURNAL) {
        deliveries.push(delivery(JOURNAL, Work::Journal));
    }

    // Deliveries that carry the beneficiary's identity (the INS) to another system.
    let mut carriers = Vec::new();
    for (i, action) in record.actions.iter().enumerate() {
        let targets: Vec<(String, String)> = match action {
            Action::SendDocument { to, .. } => to
                .iter()
                .enumerate()
                .map(|(j, channel)| (channel.as_str().to_string(), format!("/actions/{i}/to/{j}")))
                .collect(),
            Action::ShareWithRegion => match registry.region_target(record.crt.region) {
                Some(target) => vec![(target.to_string(), format!("/actions/{i}"))],
                None => {
                    violations.push(
                        format!("/actions/{i}"),
                        "target-available",
                        format!(
                            "no regional platform is configured on this gateway for region {}",
                            record.crt.region.code()
                        ),
                    );
                    continue;
                }
            },
            Action::AnswerAdmission { .. } => {
                vec![(VIATRAJECTOIRE.to_string(), format!("/actions/{i}"))]
            }
            Action::RequestPrescription { .. } => {
                vec![(MSSANTE.to_string(), format!("/actions/{i}"))]
            }
        };
        for (target, pointer) in targets {
            if !registry.contains(&target) {
                violations.push(
                    pointer,
                    "target-available",
                    format!("target {target:?} is not enabled on this gateway"),
                );
                continue;
            }
            let work = match action {
                Action::SendDocument { document, to } => Work::Action {
                    action: Action::SendDocument {
                        document: *document,
                        to: to
                            .iter()
                            .copied()
                            .filter(|c| c.as_str() == target)
                            .collect(),
                    },
                },
                other => Work::Action {
                    action: other.clone(),
                },
            };
            // A prescription request names the beneficiary by their traits, not the INS: it
            // does not wait for a qualified identity.
            if !matches!(action, Action::RequestPrescription { .. }) {
                carriers.push(deliveries.len());
            }
            deliveries.push(delivery(&target, work));
        }
    }

    if let Some(change) = previous.and_then(|before| dmp_change(before, &record.consents))
        && registry.contains(DMP)
    {
        for document in [DocumentKind::Dlu, DocumentKind::Plan] {
            if DocumentSet::of(record, document).is_err() {
                continue;
            }
            let mut update = delivery(DMP, Work::DmpUpdate { document, change });
            // A new visibility waits for this record's own submission of the document, if
            // any, and applies to what the DMP holds once it is done. An archive does not:
            // the opposition declines that submission, and a declined upstream holds what
            // depends on it.
            if change == DmpChange::Visibility {
                update.depends_on = deliveries
                    .iter()
                    .filter(|d| d.target == DMP && sends(&d.work, document))
                    .map(|d| d.id)
                    .collect();
            }
            carriers.push(deliveries.len());
            deliveries.push(update);
        }
    }

    // An identity that is not qualified is checked whenever the gateway can: the DUI
    // learns the INS and the status it may assign, and what carries the INS waits.
    let qualified = record.beneficiary.identity_status == IdentityStatus::Qualified;
    if !qualified && (registry.contains(INS) || !carriers.is_empty()) {
        if registry.contains(INS) {
            let check = delivery(INS, Work::VerifyIdentity);
            for &i in &carriers {
                deliveries[i].depends_on.push(check.id);
            }
            deliveries.push(check);
        } else {
            violations.push(
                "/beneficiary/identity_status",
                "identity-qualified",
                format!(
                    "the identity is {}: the INS may only be sent once qualified, and no INS check is enabled on this gateway",
                    record.beneficiary.identity_status.code()
                ),
            );
        }
    }

    // The care circle is checked against the national directory when the gateway can;
    // messages wait for it, since it may find a member's mailbox the record lacks.
    if registry.contains(DIRECTORY_TARGET) && !record.care_circle.is_empty() {
        let check = delivery(DIRECTORY_TARGET, Work::CheckCareCircle);
        for message in deliveries.iter_mut().filter(|d| d.target == MSSANTE) {
            message.depends_on.push(check.id);
        }
        deliveries.push(check);
    }

    if violations.is_empty() {
        Ok(deliveries)
    } else {
        Err(violations)
    }
}

/// What a change of consents asks of the documents the DMP holds: archiving them when
/// the beneficiary now opposes feeding it, new visibility when the masking changed.
fn dmp_change(before: &Consents, now: &Consents) -> Option<DmpChange> {
    let opposed = |c: &Consents| c.dmp_feeding.as_ref().is_some_and(|c| c.is_opposed());
    if opposed(now) {
        return (!opposed(before)).then_some(DmpChange::Archive);
    }
    let masking = |c: &Consents| {
        c.dmp_masking
            .iter()
            .map(|m| m.code())
            .collect::<BTreeSet<_>>()
    };
    (masking(before) != masking(now)).then_some(DmpChange::Visibility)
}

/// Whether `work` sends `document`.
fn sends(work: &Work, document: DocumentKind) -> bool {
    matches!(work, Work::Action { action: Action::SendDocument { document: d, .. } } if *d == document)
}

fn delivery(target: &str, work: Work) -> NewDelivery {
    NewDelivery {
        id: Uuid::now_v7(),
        target: target.to_string(),
        work,
        depends_on: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crt_core::record::{Channel, DocumentKind};
    use crt_core::sink::{Attempt, BoxFuture, DeliveryTask, Health, Receipt, RetryPolicy, Sink};

    use super::*;

    struct Named(&'static str, RetryPolicy);

    impl Sink for Named {
        fn target(&self) -> &str {
            self.0
        }
        fn check(&self) -> BoxFuture<'_, Health> {
            Box::pin(async { Health::up("test") })
        }
        fn deliver<'a>(&'a self, _: &'a DeliveryTask) -> Attempt<'a> {
            Box::pin(async { Ok(Receipt::delivered("ok")) })
        }
        fn retry_policy(&self) -> &RetryPolicy {
            &self.1
        }
    }

    fn registry(targets: &[&'static str]) -> Registry {
        targets.iter().fold(Registry::default(), |r, t| {
            r.with(Named(t, RetryPolicy::default()))
        })
    }

    fn example() -> CrtRecord {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../schemas/examples/home-volet2-pays-de-la-loire.json");
        serde_json::from_slice(&std::fs::read(path).expect("example")).expect("record")
    }

    #[test]
    fn a_record_without_actions_is_journaled_only() {
        let mut record = example();
        record.actions.clear();
        let deliveries = plan(&record, None, &registry(&[JOURNAL])).expect("planned");
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0].work, Work::Journal);
    }

    #[test]
    fn each_channel_is_its_own_delivery_and_unknown_targets_are_refused() {
        let mut record = example();
        record.actions = vec![Action::SendDocument {
            document: DocumentKind::Dlu,
            to: vec![Channel::Dmp, Channel::Mssante],
        }];
        let violations =
            plan(&record, None, &registry(&[JOURNAL, "dmp"])).expect_err("mssante missing");
        let violations = violations.into_vec();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].pointer, "/actions/0/to/1");
        assert_eq!(violations[0].rule, "target-available");

        let deliveries =
            plan(&record, None, &registry(&[JOURNAL, "dmp", "mssante"])).expect("planned");
        let targets: Vec<_> = deliveries.iter().map(|d| d.target.as_str()).collect();
        assert_eq!(targets, ["journal", "dmp", "mssante"]);
        assert!(
            deliveries.iter().all(|d| d.depends_on.is_empty()),
            "identity already qualified"
        );
    }

    #[test]
    fn an_identity_not_qualified_puts_an_ins_check_before_every_carrier() {
        let mut record = example();
        record.beneficiary.identity_status = IdentityStatus::Provisional;
        record.actions = vec![Action::SendDocument {
            document: DocumentKind::Dlu,
            to: vec![Channel::Dmp],
        }];
        let violations =
            plan(&record, None, &registry(&[JOURNAL, "dmp"])).expect_err("no INS sink");
        assert_eq!(violations.into_vec()[0].rule, "identity-qualified");

        let deliveries = plan(&record, None, &registry(&[JOURNAL, "dmp", INS])).expect("planned");
        let check = deliveries
            .iter()
            .find(|d| d.target == INS)
            .expect("INS check");
        let dmp = deliveries.iter().find(|d| d.target == "dmp").expect("dmp");
        assert_eq!(dmp.depends_on, vec![check.id]);
        let journal = deliveries
            .iter()
            .find(|d| d.target == JOURNAL)
            .expect("journal");
        assert!(
            journal.depends_on.is_empty(),
            "the journal carries nothing out"
        );
    }

    #[test]
    fn a_prescription_request_goes_by_mssante_without_waiting_for_the_ins() {
        let mut record = example();
        record.beneficiary.identity_status = IdentityStatus::Provisional;
        record.actions = vec![Action::RequestPrescription {
            request: "ORD-1".into(),
            to: "pro-mt".into(),
            requested_by: None,
            text: "Soins infirmiers".into(),
        }];
        let deliveries =
            plan(&record, None, &registry(&[JOURNAL, "mssante", INS])).expect("planned");
        let request = deliveries
            .iter()
            .find(|d| d.target == "mssante")
            .expect("mssante");
        assert!(
            request.depends_on.is_empty(),
            "the request names the person by traits, not by INS"
        );
        let violations = plan(&record, None, &registry(&[JOURNAL])).expect_err("no mssante");
        assert_eq!(violations.into_vec()[0].pointer, "/actions/0");
    }

    #[test]
    fn a_changed_consent_updates_what_the_dmp_holds_after_this_record_sends_it() {
        use crt_core::record::{ConsentChoice, ConsentDecision, DmpMasking};
        let mut record = example();
        record.actions = vec![Action::SendDocument {
            document: DocumentKind::Dlu,
            to: vec![Channel::Dmp],
        }];
        let registry = registry(&[JOURNAL, "dmp"]);
        let before = record.consents.clone();

        // No previous record, or the same consents: nothing to update.
        for previous in [None, Some(&before)] {
            let deliveries = plan(&record, previous, &registry).expect("planned");
            assert!(
                !deliveries
                    .iter()
                    .any(|d| matches!(d.work, Work::DmpUpdate { .. }))
            );
        }

        record.consents.dmp_masking = vec![DmpMasking::HiddenFromProfessionals];
        let deliveries = plan(&record, Some(&before), &registry).expect("planned");
        let send = deliveries
            .iter()
            .find(|d| matches!(d.work, Work::Action { .. }))
            .expect("send");
        let updates: Vec<_> = deliveries
            .iter()
            .filter_map(|d| match d.work {
                Work::DmpUpdate { document, change } => Some((document, change, d)),
                _ => None,
            })
            .collect();
        let kinds: Vec<_> = updates.iter().map(|(k, c, _)| (*k, *c)).collect();
        assert_eq!(
            kinds,
            [
                (DocumentKind::Dlu, DmpChange::Visibility),
                (DocumentKind::Plan, DmpChange::Visibility)
            ],
            "each document of the record"
        );
        assert_eq!(
            updates[0].2.depends_on,
            vec![send.id],
            "the DLU after its send"
        );
        assert!(
            updates[1].2.depends_on.is_empty(),
            "the plan is not sent here"
        );

        // An opposition archives; masking does not matter then.
        record.consents.dmp_feeding = Some(ConsentChoice {
            decision: ConsentDecision::Opposed,
            recorded_at: "2026-03-02T10:00:00+01:00".parse().expect("timestamp"),
            recorded_by: "coord-1".into(),
        });
        let deliveries = plan(&record, Some(&before), &registry).expect("planned");
        let archive = deliveries
            .iter()
            .find(|d| {
                d.work
                    == Work::DmpUpdate {
                        document: DocumentKind::Dlu,
                        change: DmpChange::Archive,
                    }
            })
            .expect("archive");
        assert!(
            archive.depends_on.is_empty(),
            "not after a send the opposition declines"
        );
        // Once opposed, a later record archives nothing more.
        let opposed = record.consents.clone();
        let deliveries = plan(&record, Some(&opposed), &registry).expect("planned");
        assert!(
            !deliveries
                .iter()
                .any(|d| matches!(d.work, Work::DmpUpdate { .. }))
        );
    }

    #[test]
    fn region_sharing_needs_the_region_platform() {
        let mut record = example();
        record.actions = vec![Action::ShareWithRegion];
        let violations = plan(&record, None, &registry(&[JOURNAL])).expect_err("no platform");
        assert_eq!(violations.into_vec()[0].pointer, "/actions/0");
        let registry = registry(&[JOURNAL, "region:parcours"])
            .with_region(crt_core::record::Region::PaysDeLaLoire, "region:parcours");
        let deliveries = plan(&record, None, &registry).expect("planned");
        assert_eq!(deliveries[1].target, "region:parcours");
    }
}
