//! The behaviour every [`Store`] backend must show, written once and run against each.

use crt_core::sink::{Artifact, DeliveryError, Receipt, Work};
use uuid::Uuid;

use super::*;

/// Every test of the contract, for one backend. `$open` is an async function giving the
/// store to test (and what must live as long: a temporary directory), or `None` when the
/// backend cannot run here (a PostgreSQL server that is not configured outside CI). A test
/// added to the contract is added here once and runs against every backend.
macro_rules! contract_suite {
    ($open:path) => {
        crate::contract::contract_suite!(@each $open;
            accepted_record_is_readable_with_its_deliveries,
            idempotency_key_replays_the_first_answer_or_conflicts,
            delivered_upstream_releases_dependents,
            hold_reason_holds_everything_downstream,
            expired_lease_is_taken_again_and_the_old_holder_cannot_settle,
            retry_waits_until_due_and_dead_can_be_replayed,
            a_held_delivery_keeps_its_reason_until_replayed,
            acknowledgements_are_recorded_once_against_their_delivery,
            admission_requests_keep_their_newest_version_and_standing,
            the_crts_are_those_of_the_stored_records,
            newest_records_are_one_per_beneficiary,
            consents_follow_the_newest_record_of_each_beneficiary,
            partner_entries_are_kept_once_in_their_latest_version,
            the_trace_is_appended_in_order_and_chained,
            volet1_actions_keep_the_newest_version_of_each,
            exchanges_list_a_crts_deliveries_with_their_receipts,
            a_released_lease_is_ready_again_at_once,
            received_messages_are_kept_once_and_resolved_from_the_inbox,
            alerts_are_kept_once_taken_once_and_closed,
            alert_duties_are_leased_once_and_follow_the_alert,
            calendar_links_are_found_by_their_secret_and_revoked_once,
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_intakes_are_all_stored() {
            if let Some((_keep, store)) = $open().await {
                crate::contract::concurrent_intakes_are_all_stored(std::sync::Arc::new(
                    store,
                ))
                .await;
            }
        }
    };
    (@each $open:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                if let Some((_keep, store)) = $open().await {
                    crate::contract::$name(&store).await;
                }
            }
        )*
    };
}
pub(crate) use contract_suite;

pub(crate) fn intake(deliveries: &[(&str, &[usize])], key: Option<&str>, body: &str) -> Intake {
    let record_id = Uuid::now_v7();
    let ids: Vec<Uuid> = deliveries.iter().map(|_| Uuid::now_v7()).collect();
    Intake {
        record: NewRecord {
            id: record_id,
            received_at: 1_000,
            crt_finess_et: "720004563".into(),
            beneficiary_ref: "IPP-1".into(),
            source_ref: "dossier-1".into(),
            body_sha256: format!("sha-{body}"),
            payload: body.as_bytes().to_vec(),
        },
        deliveries: deliveries
            .iter()
            .zip(&ids)
            .map(|((target, deps), id)| NewDelivery {
                id: *id,
                target: target.to_string(),
                work: Work::Journal,
                depends_on: deps.iter().map(|i| ids[*i]).collect(),
            })
            .collect(),
        idempotency_key: key.map(str::to_string),
        response: format!("{{\"id\":\"{record_id}\"}}").into_bytes(),
        trace: Vec::new(),
        consents: None,
    }
}

fn done(lease: &LeasedDelivery, receipt: Receipt) -> Completion {
    Completion {
        trace: None,
        delivery_id: lease.id,
        lease: lease.lease.clone(),
        attempt: lease.attempt,
        started_at: 2_000,
        finished_at: 2_001,
        settlement: Settlement::Done(receipt),
    }
}

async fn state_of(store: &dyn Store, record: Uuid) -> Vec<(String, DeliveryState)> {
    store
        .record(record)
        .await
        .unwrap()
        .unwrap()
        .deliveries
        .into_iter()
        .map(|d| (d.target, d.state))
        .collect()
}

pub(crate) async fn accepted_record_is_readable_with_its_deliveries(store: &dyn Store) {
    let intake = intake(&[("journal", &[]), ("dmp", &[0])], None, "a");
    let id = intake.record.id;
    assert_eq!(store.accept(intake).await.unwrap(), IntakeOutcome::Stored);
    assert_eq!(
        state_of(store, id).await,
        vec![
            ("journal".to_string(), DeliveryState::Pending),
            ("dmp".to_string(), DeliveryState::Waiting)
        ]
    );
    assert_eq!(store.record_payload(id).await.unwrap().unwrap(), b"a");
    assert!(store.record(Uuid::now_v7()).await.unwrap().is_none());
}

pub(crate) async fn idempotency_key_replays_the_first_answer_or_conflicts(store: &dyn Store) {
    let first = intake(&[("journal", &[])], Some("key-1"), "body");
    let response = first.response.clone();
    assert_eq!(store.accept(first).await.unwrap(), IntakeOutcome::Stored);
    let again = intake(&[("journal", &[])], Some("key-1"), "body");
    assert_eq!(
        store.accept(again).await.unwrap(),
        IntakeOutcome::Replayed { response }
    );
    let other = intake(&[("journal", &[])], Some("key-1"), "another body");
    assert_eq!(
        store.accept(other).await.unwrap(),
        IntakeOutcome::KeyConflict
    );
    let counts = store.state_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![(DeliveryState::Pending, 1)],
        "nothing stored twice"
    );
}

pub(crate) async fn delivered_upstream_releases_dependents(store: &dyn Store) {
    let intake = intake(
        &[("ins", &[]), ("dmp", &[0]), ("mssante", &[0, 1])],
        None,
        "r",
    );
    let id = intake.record.id;
    store.accept(intake).await.unwrap();

    let leased = store.lease("w", 10, 1_500, 60_000).await.unwrap();
    assert_eq!(
        leased.len(),
        1,
        "only the delivery without dependencies is ready"
    );
    assert_eq!(leased[0].target, "ins");
    assert_eq!(leased[0].attempt, 1);
    assert_eq!(leased[0].payload, b"r");
    let outcome = store
        .complete(done(&leased[0], Receipt::delivered("identity found")))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CompletionOutcome {
            applied: true,
            released: 1
        }
    );

    let leased = store.lease("w", 10, 2_500, 60_000).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].target, "dmp");
    assert_eq!(
        leased[0].upstream.len(),
        1,
        "the INS receipt travels downstream"
    );
    assert_eq!(leased[0].upstream[0].1.summary, "identity found");
    let receipt = Receipt::delivered("stored").with_artifact(Artifact {
        name: "dlu.xml".into(),
        media_type: "text/xml".into(),
        content: b"<ClinicalDocument/>".to_vec(),
    });
    store.complete(done(&leased[0], receipt)).await.unwrap();
    let leased = store.lease("w", 10, 3_000, 60_000).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].target, "mssante");
    assert_eq!(leased[0].upstream.len(), 2);

    let view = store.record(id).await.unwrap().unwrap();
    let dmp = &view.deliveries[1];
    assert_eq!(dmp.state, DeliveryState::Delivered);
    assert_eq!(dmp.artifacts.len(), 1);
    let artifact = store
        .artifact(dmp.id, "dlu.xml".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(artifact.content, b"<ClinicalDocument/>");
    let subject = store.delivery_subject(dmp.id).await.unwrap();
    assert_eq!(subject, Some((view.crt_finess_et, view.beneficiary_ref)));
    assert_eq!(store.delivery_subject(Uuid::now_v7()).await.unwrap(), None);
}

pub(crate) async fn hold_reason_holds_everything_downstream(store: &dyn Store) {
    let intake = intake(&[("ins", &[]), ("dmp", &[0]), ("mssante", &[1])], None, "h");
    let id = intake.record.id;
    store.accept(intake).await.unwrap();
    let leased = store.lease("w", 10, 1_500, 60_000).await.unwrap();
    let receipt = Receipt::delivered("identity recovered")
        .holding_dependents("identity status is RECUP, not QUAL");
    store.complete(done(&leased[0], receipt)).await.unwrap();
    let view = store.record(id).await.unwrap().unwrap();
    let states: Vec<_> = view.deliveries.iter().map(|d| d.state).collect();
    assert_eq!(
        states,
        vec![
            DeliveryState::Delivered,
            DeliveryState::Held,
            DeliveryState::Held
        ]
    );
    assert_eq!(
        view.deliveries[2].hold_reason.as_deref(),
        Some("identity status is RECUP, not QUAL")
    );
    assert!(
        store
            .lease("w", 10, 2_000, 60_000)
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn expired_lease_is_taken_again_and_the_old_holder_cannot_settle(
    store: &dyn Store,
) {
    store
        .accept(intake(&[("journal", &[])], None, "l"))
        .await
        .unwrap();
    let first = store.lease("crashed", 10, 1_500, 2_000).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        store
            .lease("other", 10, 1_900, 5_000)
            .await
            .unwrap()
            .is_empty(),
        "lease still held"
    );
    let second = store.lease("other", 10, 2_500, 5_000).await.unwrap();
    assert_eq!(second.len(), 1, "expired lease is ready again");
    assert_eq!(second[0].attempt, 2);
    let stale = store
        .complete(done(&first[0], Receipt::delivered("late")))
        .await
        .unwrap();
    assert!(!stale.applied, "a lost lease settles nothing");
    let fresh = store
        .complete(done(&second[0], Receipt::delivered("ok")))
        .await
        .unwrap();
    assert!(fresh.applied);
}

pub(crate) async fn retry_waits_until_due_and_dead_can_be_replayed(store: &dyn Store) {
    store
        .accept(intake(&[("journal", &[])], None, "d"))
        .await
        .unwrap();
    let leased = store.lease("w", 10, 1_500, 60_000).await.unwrap();
    let delivery = leased[0].id;
    let retry = Completion {
        trace: None,
        settlement: Settlement::Retry {
            error: DeliveryError::retryable("timeout", "no answer in 30 s"),
            at: 10_000,
        },
        ..done(&leased[0], Receipt::delivered("unused"))
    };
    store.complete(retry).await.unwrap();
    assert_eq!(store.next_due().await.unwrap(), Some(10_000));
    assert!(
        store
            .lease("w", 10, 9_999, 60_000)
            .await
            .unwrap()
            .is_empty()
    );
    let leased = store.lease("w", 10, 10_000, 60_000).await.unwrap();
    assert_eq!(leased[0].attempt, 2);
    let dead = Completion {
        trace: None,
        settlement: Settlement::Dead(DeliveryError::final_error("rejected", "refused by target")),
        ..done(&leased[0], Receipt::delivered("unused"))
    };
    store.complete(dead).await.unwrap();
    let dead_list = store
        .deliveries(DeliveryFilter {
            state: Some(DeliveryState::Dead),
            limit: 10,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(dead_list.len(), 1);
    assert_eq!(dead_list[0].last_error.as_ref().unwrap().code, "rejected");

    assert_eq!(
        store.replay(delivery, 20_000).await.unwrap(),
        ReplayOutcome::Replayed
    );
    assert_eq!(
        store.replay(delivery, 20_000).await.unwrap(),
        ReplayOutcome::NotDead(DeliveryState::Pending)
    );
    assert_eq!(
        store.replay(Uuid::now_v7(), 0).await.unwrap(),
        ReplayOutcome::NotFound
    );
    let leased = store.lease("w", 10, 20_000, 60_000).await.unwrap();
    assert_eq!(leased[0].attempt, 1, "a replay starts a fresh count");
}

pub(crate) async fn a_held_delivery_keeps_its_reason_until_replayed(store: &dyn Store) {
    store
        .accept(intake(&[("dmp", &[])], None, "h"))
        .await
        .unwrap();
    let leased = store.lease("w", 10, 1_500, 60_000).await.unwrap();
    let delivery = leased[0].id;
    let held = Completion {
        trace: None,
        settlement: Settlement::Held(DeliveryError::held("dmp-closed", "the DMP is closed")),
        ..done(&leased[0], Receipt::delivered("unused"))
    };
    store.complete(held).await.unwrap();
    let view = store
        .deliveries(DeliveryFilter {
            state: Some(DeliveryState::Held),
            limit: 10,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(view.len(), 1);
    assert_eq!(view[0].hold_reason.as_deref(), Some("the DMP is closed"));
    let one = store
        .delivery(delivery)
        .await
        .unwrap()
        .expect("the delivery");
    assert_eq!(
        (one.id, one.state, one.hold_reason.as_deref()),
        (delivery, DeliveryState::Held, Some("the DMP is closed")),
        "one delivery reads as the list shows it"
    );
    assert!(store.delivery(Uuid::now_v7()).await.unwrap().is_none());
    assert_eq!(view[0].last_error.as_ref().unwrap().code, "dmp-closed");
    assert!(
        store
            .lease("w", 10, 100_000, 60_000)
            .await
            .unwrap()
            .is_empty(),
        "a held delivery is not retried"
    );
    assert_eq!(
        store.replay(delivery, 200_000).await.unwrap(),
        ReplayOutcome::Replayed
    );
    assert_eq!(
        store.lease("w", 10, 200_000, 60_000).await.unwrap().len(),
        1
    );
    let view = store.record(leased[0].record_id).await.unwrap().unwrap();
    assert_eq!(
        view.deliveries[0].hold_reason, None,
        "a replay clears the reason"
    );
}

pub(crate) async fn concurrent_intakes_are_all_stored(store: std::sync::Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let intake = intake(
                &[("journal", &[])],
                Some(&format!("k{i}")),
                &format!("b{i}"),
            );
            let id = intake.record.id;
            (id, store.accept(intake).await)
        }));
    }
    for task in tasks {
        let (id, outcome) = task.await.expect("task");
        assert_eq!(outcome.unwrap(), IntakeOutcome::Stored);
        assert!(store.record(id).await.unwrap().is_some());
    }
}

pub(crate) async fn acknowledgements_are_recorded_once_against_their_delivery(store: &dyn Store) {
    let intake = intake(&[("mssante", &[])], None, "ack");
    let record = intake.record.id;
    let delivery = intake.deliveries[0].id;
    store.accept(intake).await.unwrap();
    let ack = NewAcknowledgement {
        delivery_id: delivery,
        recipient: "luc@medecin.mssante.fr".into(),
        status: "failed".into(),
        code: Some("902".into()),
        label: Some("Identifiant patient inconnu".into()),
        kind: "mdn".into(),
        notification_id: "n1@operator".into(),
        received_at: 3_000,
    };
    assert_eq!(
        store.acknowledge(ack.clone()).await.unwrap(),
        AcknowledgeOutcome::Recorded
    );
    assert_eq!(
        store.acknowledge(ack.clone()).await.unwrap(),
        AcknowledgeOutcome::Duplicate
    );
    let unknown = NewAcknowledgement {
        delivery_id: Uuid::now_v7(),
        ..ack
    };
    assert_eq!(
        store.acknowledge(unknown).await.unwrap(),
        AcknowledgeOutcome::UnknownDelivery
    );
    let view = store.record(record).await.unwrap().unwrap();
    let acks = &view.deliveries[0].acknowledgements;
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].status, "failed");
    assert_eq!(acks[0].code.as_deref(), Some("902"));
}

pub(crate) async fn admission_requests_keep_their_newest_version_and_standing(store: &dyn Store) {
    let request = |id: &str, changed: &str, person: &str| NewAdmissionRequest {
        crt_finess_et: "720004563".into(),
        request_id: id.into(),
        remote_id: format!("DocumentReference/{id}"),
        changed_at: changed.into(),
        withdrawn: false,
        received_at: 1_000,
        payload: format!(r#"{{"person":"{person}"}}"#).into_bytes(),
    };
    assert!(
        store
            .keep_admission_request(request("VT-1", "2026-01-01T09:00:00.000Z", "A"))
            .await
            .unwrap()
    );
    assert!(
        store
            .keep_admission_request(request("VT-2", "2026-01-01T09:30:00.000Z", "B"))
            .await
            .unwrap()
    );
    // The same version read twice, or an older one read late, changes nothing.
    assert!(
        !store
            .keep_admission_request(request("VT-1", "2026-01-01T09:00:00.000Z", "A"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .keep_admission_request(request("VT-1", "2026-01-01T08:00:00.000Z", "old"))
            .await
            .unwrap()
    );
    let standing = |id: &str, status: &str, rank: Option<u32>, at: &str| AdmissionStanding {
        crt_finess_et: "720004563".into(),
        request_id: id.into(),
        status: status.into(),
        rank,
        reason: None,
        status_at: at.into(),
        updated_at: 5_000,
    };
    let list = store.waiting_list(Some("720004563".into())).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|e| e.status == "new"));
    assert_eq!(list[0].request["person"], "A");
    assert!(
        store
            .update_standing(standing(
                "VT-2",
                "waiting_list",
                Some(3),
                "2026-01-01T11:00:00.000Z"
            ))
            .await
            .unwrap()
    );
    // An older status read late does not undo a newer one.
    assert!(
        store
            .update_standing(standing(
                "VT-2",
                "received",
                None,
                "2026-01-01T10:30:00.000Z"
            ))
            .await
            .unwrap()
    );
    assert!(
        store
            .update_standing(standing(
                "VT-1",
                "refused",
                None,
                "2026-01-01T12:00:00.000Z"
            ))
            .await
            .unwrap()
    );
    let list = store.waiting_list(Some("720004563".into())).await.unwrap();
    let seen: Vec<(&str, &str, Option<u32>)> = list
        .iter()
        .map(|e| (e.request_id.as_str(), e.status.as_str(), e.rank))
        .collect();
    // Open requests before the ones that ended.
    assert_eq!(
        seen,
        [("VT-2", "waiting_list", Some(3)), ("VT-1", "refused", None)]
    );
    assert_eq!(list[0].remote_id, "DocumentReference/VT-2");
    assert_eq!(list[0].request["person"], "B");
    assert!(
        store
            .waiting_list(Some("750712184".into()))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .update_standing(standing(
                "VT-9",
                "received",
                None,
                "2026-01-01T12:00:00.000Z"
            ))
            .await
            .unwrap()
    );
}

pub(crate) async fn the_crts_are_those_of_the_stored_records(store: &dyn Store) {
    assert!(store.crts().await.unwrap().is_empty());
    store
        .accept(intake(&[("journal", &[])], None, "one"))
        .await
        .unwrap();
    store
        .accept(intake(&[("journal", &[])], None, "two"))
        .await
        .unwrap();
    assert_eq!(store.crts().await.unwrap(), ["720004563"]);
}

pub(crate) async fn newest_records_are_one_per_beneficiary(store: &dyn Store) {
    let mut stored = Vec::new();
    for (beneficiary, body, at) in [
        ("IPP-1", "old", 1_000),
        ("IPP-2", "other", 1_500),
        ("IPP-1", "new", 2_000),
    ] {
        let mut intake = intake(&[("journal", &[])], None, body);
        intake.record.beneficiary_ref = beneficiary.into();
        intake.record.received_at = at;
        stored.push(intake.record.id);
        store.accept(intake).await.unwrap();
    }
    let newest = store.newest_records("720004563".into()).await.unwrap();
    let seen: Vec<(Uuid, &[u8])> = newest
        .iter()
        .map(|r| (r.id, r.payload.as_slice()))
        .collect();
    assert_eq!(
        seen,
        [
            (stored[2], b"new".as_slice()),
            (stored[1], b"other".as_slice())
        ]
    );
    assert!(
        store
            .newest_records("440000057".into())
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn consents_follow_the_newest_record_of_each_beneficiary(store: &dyn Store) {
    let previous =
        |beneficiary: &str| store.previous_consents("720004563".into(), beneficiary.into());
    assert_eq!(previous("IPP-1").await.unwrap(), PreviousConsents::None);
    // A record stored without a consents row (as before the row existed) is read whole.
    let mut first = intake(&[("journal", &[])], None, "first");
    first.record.received_at = 1_000;
    store.accept(first).await.unwrap();
    assert_eq!(
        previous("IPP-1").await.unwrap(),
        PreviousConsents::InRecord(b"first".to_vec())
    );
    // Rows follow the newest record, whatever the order records are stored in.
    for (body, consents, at) in [("second", "B", 3_000), ("late", "A", 2_000)] {
        let mut record = intake(&[("journal", &[])], None, body);
        record.record.received_at = at;
        record.consents = Some(consents.as_bytes().to_vec());
        store.accept(record).await.unwrap();
    }
    assert_eq!(
        previous("IPP-1").await.unwrap(),
        PreviousConsents::Kept(b"B".to_vec())
    );
    let mut other = intake(&[("journal", &[])], None, "other");
    other.record.beneficiary_ref = "IPP-2".into();
    other.consents = Some(b"C".to_vec());
    store.accept(other).await.unwrap();
    assert_eq!(
        previous("IPP-2").await.unwrap(),
        PreviousConsents::Kept(b"C".to_vec())
    );
    assert_eq!(
        previous("IPP-1").await.unwrap(),
        PreviousConsents::Kept(b"B".to_vec())
    );
}

fn received(message_id: &str, status: ReceivedStatus) -> NewReceivedMessage {
    NewReceivedMessage {
        id: Uuid::now_v7(),
        mailbox: "crt@ehpad-tilleuls.mssante.fr".into(),
        message_id: message_id.into(),
        crt_finess_et: Some("440000057".into()),
        beneficiary_ref: (status == ReceivedStatus::Attached).then(|| "B-1".to_string()),
        status,
        reason: (status != ReceivedStatus::Attached)
            .then(|| "902^Identifiant patient inconnu".to_string()),
        answers: vec!["sent@ehpad-tilleuls.mssante.fr".into()],
        answered: false,
        summary: br#"{"subject":"XDM/1.0/DDM+CR DUPONT"}"#.to_vec(),
        message: b"Subject: XDM/1.0/DDM+CR DUPONT\r\n\r\nbody".to_vec(),
        received_at: 1_000,
    }
}

pub(crate) async fn received_messages_are_kept_once_and_resolved_from_the_inbox(store: &dyn Store) {
    let attached = received("a@partner", ReceivedStatus::Attached);
    assert_eq!(
        store.keep_received(attached.clone()).await.unwrap(),
        KeptReceived::Kept
    );
    // Read again (a crash before the mailbox knew): the row kept first.
    let again = NewReceivedMessage {
        id: Uuid::now_v7(),
        ..attached.clone()
    };
    let KeptReceived::Duplicate(kept) = store.keep_received(again).await.unwrap() else {
        panic!("a duplicate");
    };
    assert_eq!(kept.id, attached.id);
    assert!(!kept.answered);
    store.mark_answered(attached.id).await.unwrap();

    let unmatched = received("u@partner", ReceivedStatus::Unmatched);
    store.keep_received(unmatched.clone()).await.unwrap();
    let feed = store
        .received(ReceivedFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        feed.iter().map(|v| v.id).collect::<Vec<_>>(),
        [attached.id, unmatched.id],
        "feed order"
    );
    assert!(feed[0].answered);
    assert_eq!(feed[0].summary["subject"], "XDM/1.0/DDM+CR DUPONT");
    assert_eq!(feed[0].answers, ["sent@ehpad-tilleuls.mssante.fr"]);
    let ReceivedOriginal {
        view,
        message: original,
    } = store
        .received_message(unmatched.id)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(view.status, ReceivedStatus::Unmatched);
    assert_eq!(original, unmatched.message);

    // Resolving the inbox moves the message to the end of the feed.
    let after = feed[1].seq;
    let ResolveOutcome::Resolved(resolved) = store
        .resolve_received(
            unmatched.id,
            Resolution::Attach {
                crt_finess_et: "440000057".into(),
                beneficiary_ref: "B-2".into(),
            },
            2_000,
        )
        .await
        .unwrap()
    else {
        panic!("resolved");
    };
    assert_eq!(resolved.status, ReceivedStatus::Attached);
    assert_eq!(resolved.beneficiary_ref.as_deref(), Some("B-2"));
    assert!(resolved.seq > after);
    let newer = store
        .received(ReceivedFilter {
            after: Some(after),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(
        store
            .resolve_received(
                unmatched.id,
                Resolution::Reject { reason: "x".into() },
                3_000
            )
            .await
            .unwrap(),
        ResolveOutcome::NotInInbox(ReceivedStatus::Attached)
    );
    assert_eq!(
        store
            .resolve_received(
                Uuid::now_v7(),
                Resolution::Reject { reason: "x".into() },
                3_000
            )
            .await
            .unwrap(),
        ResolveOutcome::NotFound
    );
    let by_beneficiary = store
        .received(ReceivedFilter {
            crt: Some("440000057".into()),
            beneficiary: Some("B-2".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_beneficiary.len(), 1);
}

pub(crate) async fn partner_entries_are_kept_once_in_their_latest_version(store: &dyn Store) {
    let entry = |remote: &str, beneficiary: &str, text: &str, changed: &str| PartnerEntry {
        platform: "spico".into(),
        remote_id: remote.into(),
        crt_finess_et: "110008430".into(),
        beneficiary_ref: beneficiary.into(),
        kind: "alert".into(),
        topic: "fall".into(),
        author: "Cabinet infirmier".into(),
        written_at: changed.into(),
        text: text.into(),
        changed_at: changed.into(),
        received_at: 1_000,
    };
    let first = entry(
        "Communication/1",
        "IPP-1",
        "first",
        "2026-01-01T10:00:00.000Z",
    );
    assert!(store.keep_partner_entry(first.clone()).await.unwrap());
    // Read again (a restart reads everything): nothing changes.
    assert!(!store.keep_partner_entry(first).await.unwrap());
    let edited = entry(
        "Communication/1",
        "IPP-1",
        "edited",
        "2026-01-01T11:00:00.000Z",
    );
    assert!(store.keep_partner_entry(edited).await.unwrap());
    let other = entry(
        "Communication/2",
        "IPP-2",
        "other",
        "2026-01-01T12:00:00.000Z",
    );
    assert!(store.keep_partner_entry(other).await.unwrap());

    let all = store
        .partner_entries(PartnerEntryFilter {
            crt: Some("110008430".into()),
            beneficiary: None,
            limit: 100,
        })
        .await
        .unwrap();
    let texts: Vec<&str> = all.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["other", "edited"]);
    let one = store
        .partner_entries(PartnerEntryFilter {
            crt: Some("110008430".into()),
            beneficiary: Some("IPP-1".into()),
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    let elsewhere = store
        .partner_entries(PartnerEntryFilter {
            crt: Some("720004563".into()),
            beneficiary: None,
            limit: 100,
        })
        .await
        .unwrap();
    assert!(elsewhere.is_empty());
}

pub(crate) async fn the_trace_is_appended_in_order_and_chained(store: &dyn Store) {
    let event = |outcome: &str| {
        let mut event = crt_audit::TraceEvent::now("engine", "exchange.dmp", "care-coordination");
        event.outcome = outcome.into();
        event
    };
    store.trace(vec![event("a"), event("b")]).await.unwrap();
    store.trace(vec![event("c")]).await.unwrap();
    let lines = store.trace_lines(0, 10).await.unwrap();
    assert_eq!(lines.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2, 3]);
    let mut cursor = crt_audit::ChainCursor::default();
    for line in &lines {
        cursor.check(line).unwrap();
    }
    assert_eq!(store.trace_lines(2, 10).await.unwrap().len(), 1);
}

pub(crate) async fn volet1_actions_keep_the_newest_version_of_each(store: &dyn Store) {
    let action = |crt: &str, reference: &str, updated_at: Millis, body: &str| NewVolet1Action {
        crt_finess_et: crt.into(),
        source_ref: reference.into(),
        updated_at,
        received_at: 9_000,
        payload: body.as_bytes().to_vec(),
    };
    assert!(
        store
            .keep_volet1_action(action("110008430", "a-1", 2_000, "first"))
            .await
            .unwrap()
    );
    assert!(
        store
            .keep_volet1_action(action("110008430", "a-1", 3_000, "second"))
            .await
            .unwrap()
    );
    // A version older than the one kept, read late, changes nothing.
    assert!(
        !store
            .keep_volet1_action(action("110008430", "a-1", 1_000, "stale"))
            .await
            .unwrap()
    );
    // The same version again is kept again (a retried post).
    assert!(
        store
            .keep_volet1_action(action("110008430", "a-1", 3_000, "second"))
            .await
            .unwrap()
    );
    store
        .keep_volet1_action(action("110008430", "a-2", 1_000, "other"))
        .await
        .unwrap();
    store
        .keep_volet1_action(action("720004563", "a-1", 1_000, "elsewhere"))
        .await
        .unwrap();
    let kept = store.volet1_actions("110008430".into()).await.unwrap();
    assert_eq!(kept, [b"second".to_vec(), b"other".to_vec()]);
    assert!(
        store
            .volet1_actions("750712184".into())
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn exchanges_list_a_crts_deliveries_with_their_receipts(store: &dyn Store) {
    let first = intake(&[("ins", &[]), ("dmp", &[0])], None, "exchanges");
    let (ins, dmp) = (first.deliveries[0].id, first.deliveries[1].id);
    store.accept(first).await.unwrap();
    let leased = store.lease("w", 10, 1_000, 60_000).await.unwrap();
    assert_eq!(leased.len(), 1);
    let receipt = Receipt::delivered("identity qualified")
        .with_details(serde_json::json!({ "status": "QUAL" }));
    store.complete(done(&leased[0], receipt)).await.unwrap();
    let exchanges = store.crt_exchanges("720004563".into()).await.unwrap();
    assert_eq!(exchanges.len(), 2);
    let of = |id: Uuid| exchanges.iter().find(|e| e.delivery_id == id).unwrap();
    assert_eq!(of(ins).state, DeliveryState::Delivered);
    assert_eq!(of(ins).beneficiary_ref, "IPP-1");
    assert_eq!(of(ins).receipt.as_ref().unwrap().details["status"], "QUAL");
    assert_eq!(of(dmp).state, DeliveryState::Pending);
    assert!(of(dmp).receipt.is_none());
    assert_eq!(of(dmp).work, Work::Journal);
    assert!(
        store
            .crt_exchanges("750712184".into())
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn a_released_lease_is_ready_again_at_once(store: &dyn Store) {
    store
        .accept(intake(&[("journal", &[])], None, "released"))
        .await
        .unwrap();
    let leased = store.lease("w1", 10, 1_000, 60_000).await.unwrap();
    assert_eq!(leased.len(), 1);
    // Another holder's token releases nothing.
    assert!(
        !store
            .release(leased[0].id, "w2/other".into(), 1_500)
            .await
            .unwrap()
    );
    assert!(
        store
            .release(leased[0].id, leased[0].lease.clone(), 1_500)
            .await
            .unwrap()
    );
    // Ready now, long before the lease would have expired; the attempt was counted.
    let again = store.lease("w2", 10, 1_600, 60_000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    // The first holder, gone, cannot settle it any more.
    let outcome = store
        .complete(done(&leased[0], Receipt::delivered("late")))
        .await
        .unwrap();
    assert!(!outcome.applied);
}

pub(crate) async fn alerts_are_kept_once_taken_once_and_closed(store: &dyn Store) {
    use crate::{AlertFilter, AlertStatus, AlertStep, AlertStepOutcome, KeptAlert, NewAlert};
    let alert = |alert_id: &str, raised_at: i64| NewAlert {
        id: Uuid::now_v7(),
        crt_finess_et: "720004563".into(),
        source: "Téléassistance Sarthe".into(),
        alert_id: alert_id.into(),
        beneficiary_ref: Some("IPP-1".into()),
        reason: "fall".into(),
        raised_at,
        received_at: raised_at + 5,
        payload: format!("{{\"alert\":\"{alert_id}\"}}").into_bytes(),
    };
    let first = alert("TA-1", 1_000);
    let KeptAlert::Kept(kept) = store.keep_alert(first.clone()).await.unwrap() else {
        panic!("kept");
    };
    assert_eq!(kept.id, first.id);
    assert_eq!(kept.status, AlertStatus::Open);
    // The same alert posted again: the one kept, as it stands.
    let again = store.keep_alert(alert("TA-1", 1_000)).await.unwrap();
    assert_eq!(again, KeptAlert::Duplicate(kept.clone()));
    store.keep_alert(alert("TA-2", 2_000)).await.unwrap();
    let (view, payload) = store.alert(first.id).await.unwrap().expect("found");
    assert_eq!(view, *kept);
    assert_eq!(payload, br#"{"alert":"TA-1"}"#);
    assert!(store.alert(Uuid::now_v7()).await.unwrap().is_none());

    let listed = store
        .alerts(AlertFilter {
            crt: Some("720004563".into()),
            status: Some(AlertStatus::Open),
            limit: 10,
        })
        .await
        .unwrap();
    let ids: Vec<&str> = listed.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(ids, ["TA-2", "TA-1"], "newest raised first");

    let take = |by: &str| AlertStep::Take { by: by.into() };
    let AlertStepOutcome::Done(taken) = store
        .step_alert(first.id, take("nurse"), 3_000)
        .await
        .unwrap()
    else {
        panic!("taken");
    };
    assert_eq!(taken.status, AlertStatus::Taken);
    assert_eq!(taken.taken_by.as_deref(), Some("nurse"));
    assert_eq!(taken.taken_at, Some(3_000));
    // Taken once: a second professional is told who has it.
    let AlertStepOutcome::Conflict(standing) = store
        .step_alert(first.id, take("other"), 3_001)
        .await
        .unwrap()
    else {
        panic!("conflict");
    };
    assert_eq!(standing.taken_by.as_deref(), Some("nurse"));
    let close = AlertStep::Close {
        by: "nurse".into(),
        outcome: "home_visit".into(),
        regulate: false,
    };
    let AlertStepOutcome::Done(closed) = store
        .step_alert(first.id, close.clone(), 4_000)
        .await
        .unwrap()
    else {
        panic!("closed");
    };
    assert_eq!(closed.status, AlertStatus::Closed);
    assert_eq!(closed.outcome.as_deref(), Some("home_visit"));
    assert_eq!(closed.taken_at, Some(3_000), "taken when it was taken");
    assert!(matches!(
        store.step_alert(first.id, close, 4_001).await.unwrap(),
        AlertStepOutcome::Conflict(_)
    ));
    assert_eq!(
        store
            .step_alert(Uuid::now_v7(), take("x"), 1)
            .await
            .unwrap(),
        AlertStepOutcome::NotFound
    );
}

pub(crate) async fn alert_duties_are_leased_once_and_follow_the_alert(store: &dyn Store) {
    use crate::{AlertCall, AlertStatus, AlertStep, DutyKind, DutySettlement, KeptAlert, NewAlert};
    let id = Uuid::now_v7();
    let KeptAlert::Kept(kept) = store
        .keep_alert(NewAlert {
            id,
            crt_finess_et: "720004563".into(),
            source: "Téléassistance Sarthe".into(),
            alert_id: "TA-DUTY".into(),
            beneficiary_ref: Some("IPP-1".into()),
            reason: "fall".into(),
            raised_at: 10_000,
            received_at: 10_005,
            payload: br#"{"alert":"TA-DUTY"}"#.to_vec(),
        })
        .await
        .unwrap()
    else {
        panic!("kept");
    };
    assert_eq!(
        kept.duty.as_deref(),
        Some("call"),
        "a new alert is called at once"
    );
    assert!(
        store
            .lease_alert_duties("a", 10, 10_000, 20_000)
            .await
            .unwrap()
            .is_empty()
    );
    let leased = store
        .lease_alert_duties("a", 10, 10_005, 20_000)
        .await
        .unwrap();
    let duty = leased.iter().find(|d| d.alert.id == id).expect("leased");
    assert_eq!(duty.kind, DutyKind::Call { position: 0 });
    assert_eq!(duty.attempt, 1);
    assert_eq!(duty.payload, br#"{"alert":"TA-DUTY"}"#);
    // Leased once: another instance does not get it while the lease holds.
    let other = store
        .lease_alert_duties("b", 10, 15_000, 25_000)
        .await
        .unwrap();
    assert!(other.iter().all(|d| d.alert.id != id));
    // A failure is retried when due.
    let retry = DutySettlement::Retry {
        at: 16_000,
        error: "smtp: 451".into(),
    };
    let kind = duty.kind;
    assert!(
        store
            .settle_alert_duty(id, duty.lease.clone(), kind, retry, 15_500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .settle_alert_duty(
                id,
                duty.lease.clone(),
                kind,
                DutySettlement::Finished,
                15_600
            )
            .await
            .unwrap(),
        "the lease was given back"
    );
    let leased = store
        .lease_alert_duties("b", 10, 16_000, 26_000)
        .await
        .unwrap();
    let duty = leased.iter().find(|d| d.alert.id == id).expect("due again");
    assert_eq!(duty.attempt, 2);
    assert_eq!(duty.alert.last_error.as_deref(), Some("smtp: 451"));
    let call = |position: u32, at: i64| AlertCall {
        at,
        position,
        role: "care_assistant".into(),
        name: Some("Léa Martin".into()),
        mailbox: "lea.martin@crt.mssante.fr".into(),
        message_id: Some(format!("<call-{position}@crt>")),
    };
    let called = DutySettlement::Called {
        call: call(0, 16_100),
        next: Some(30_000),
    };
    assert!(
        store
            .settle_alert_duty(id, duty.lease.clone(), duty.kind, called, 16_100)
            .await
            .unwrap()
    );
    // Not taken in time: the next person of the rota.
    assert!(
        store
            .lease_alert_duties("a", 10, 29_999, 40_000)
            .await
            .unwrap()
            .iter()
            .all(|d| d.alert.id != id)
    );
    let leased = store
        .lease_alert_duties("a", 10, 30_000, 40_000)
        .await
        .unwrap();
    let duty = leased
        .iter()
        .find(|d| d.alert.id == id)
        .expect("escalation due");
    assert_eq!(duty.kind, DutyKind::Call { position: 1 });
    assert_eq!(duty.attempt, 1);
    assert_eq!(duty.alert.calls, vec![call(0, 16_100)]);
    // Taken while the second call goes: the call is kept, no third one is due.
    let take = AlertStep::Take { by: "nurse".into() };
    store.step_alert(id, take, 30_500).await.unwrap();
    let called = DutySettlement::Called {
        call: call(1, 30_600),
        next: Some(45_000),
    };
    assert!(
        store
            .settle_alert_duty(id, duty.lease.clone(), duty.kind, called, 30_600)
            .await
            .unwrap()
    );
    let (view, _) = store.alert(id).await.unwrap().expect("found");
    assert_eq!(view.status, AlertStatus::Taken);
    assert_eq!(view.duty, None);
    assert_eq!(
        view.calls.len(),
        1,
        "a call settled after the take is not counted"
    );
    assert!(
        store
            .lease_alert_duties("a", 10, 99_000, 100_000)
            .await
            .unwrap()
            .iter()
            .all(|d| d.alert.id != id)
    );
    // Closed as needing the emergency services: the regulation is due at once.
    let close = AlertStep::Close {
        by: "nurse".into(),
        outcome: "emergency_services".into(),
        regulate: true,
    };
    store.step_alert(id, close, 50_000).await.unwrap();
    let leased = store
        .lease_alert_duties("a", 10, 50_000, 60_000)
        .await
        .unwrap();
    let duty = leased
        .iter()
        .find(|d| d.alert.id == id)
        .expect("regulation due");
    assert_eq!(duty.kind, DutyKind::Regulation);
    let sent = serde_json::json!({"to": "samu72@ch-lemans.mssante.fr"});
    let regulated = DutySettlement::Regulated(sent.clone());
    assert!(
        store
            .settle_alert_duty(id, duty.lease.clone(), duty.kind, regulated, 50_100)
            .await
            .unwrap()
    );
    let (view, _) = store.alert(id).await.unwrap().expect("found");
    assert_eq!(view.regulation, Some(sent));
    assert_eq!(view.duty, None);
    assert_eq!(view.escalations(), 0);
}

pub(crate) async fn calendar_links_are_found_by_their_secret_and_revoked_once(store: &dyn Store) {
    let link = |label: &str, secret: &str, at: Millis| NewCalendarLink {
        id: Uuid::now_v7(),
        crt_finess_et: "720004563".into(),
        subject: CalendarSubject::Professional,
        subject_ref: "pro-idel".into(),
        label: label.into(),
        secret_sha256: secret.into(),
        created_by: "810003456786".into(),
        created_at: at,
    };
    let first = store
        .keep_calendar_link(link("Mme Leroy", "aa", 1_000))
        .await
        .unwrap();
    assert_eq!(first.subject, CalendarSubject::Professional);
    assert_eq!(first.revoked_at, None);
    let second = store
        .keep_calendar_link(link("M. Leroy", "bb", 2_000))
        .await
        .unwrap();
    assert!(
        store
            .keep_calendar_link(link("again", "bb", 3_000))
            .await
            .is_err(),
        "secrets are unique"
    );
    let listed = store.calendar_links("720004563".into()).await.unwrap();
    assert_eq!(
        listed.iter().map(|l| l.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );
    assert!(
        store
            .calendar_links("440000057".into())
            .await
            .unwrap()
            .is_empty()
    );
    let found = store.calendar_link_by_secret("aa".into()).await.unwrap();
    assert_eq!(found.as_ref().map(|l| l.id), Some(first.id));
    assert!(
        store
            .calendar_link_by_secret("cc".into())
            .await
            .unwrap()
            .is_none()
    );
    let revoked = store
        .revoke_calendar_link(first.id, 5_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(5_000));
    let again = store
        .revoke_calendar_link(first.id, 6_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.revoked_at, Some(5_000), "the first revocation stands");
    assert!(
        store
            .revoke_calendar_link(Uuid::now_v7(), 6_000)
            .await
            .unwrap()
            .is_none()
    );
    let found = store
        .calendar_link_by_secret("aa".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, Some(5_000));
}
