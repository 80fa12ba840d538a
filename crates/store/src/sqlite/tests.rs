use crate::DeliveryQueue;
use std::sync::Arc;

use super::SqliteStore;
use crate::contract;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("db/gateway.db")).expect("open");
    (dir, store)
}

/// The contract's store: a fresh file in a temporary directory.
async fn open() -> Option<(tempfile::TempDir, SqliteStore)> {
    Some(store())
}

contract::contract_suite!(open);

/// Settling a delivery finds its dependents by their ids, whatever the number of waiting
/// deliveries: neither statement may walk the deliveries by state.
#[test]
fn settling_finds_dependents_by_id_not_by_state() {
    let (dir, _store) = store();
    let conn = rusqlite::Connection::open(dir.path().join("db/gateway.db")).expect("open");
    for statement in [super::RELEASE_DEPENDENTS, super::HOLD_DOWNSTREAM] {
        let mut explain = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
            .expect("plan");
        let parameters = explain.parameter_count();
        let plan: Vec<String> = explain
            .query_map(
                rusqlite::params_from_iter(std::iter::repeat_n("x", parameters)),
                |row| row.get::<_, String>(3),
            )
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("plan rows");
        let deliveries: Vec<&String> = plan
            .iter()
            .filter(|step| step.contains(" deliveries "))
            .collect();
        assert!(
            deliveries
                .iter()
                .all(|step| step.contains("sqlite_autoindex_deliveries_1 (id=?)")),
            "{plan:#?}"
        );
    }
}

#[tokio::test]
async fn reopening_keeps_what_was_committed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gateway.db");
    let intake = contract::intake(&[("journal", &[])], Some("k"), "kept");
    let id = intake.record.id;
    {
        let store = SqliteStore::open(&path).expect("open");
        store.accept(intake).await.expect("accept");
    }
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.record_payload(id).await.unwrap().unwrap(), b"kept");
}

#[tokio::test]
async fn payloads_and_artifacts_are_sealed_at_rest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gateway.db");
    let sealer = crate::sealing::Sealer::parse(
        "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    )
    .unwrap();
    let store = SqliteStore::open(&path)
        .expect("open")
        .with_sealer(Arc::new(sealer));
    let intake = contract::intake(&[("journal", &[])], None, "Lefevre-secret");
    let id = intake.record.id;
    store.accept(intake).await.expect("accept");
    assert_eq!(
        store.record_payload(id).await.unwrap().unwrap(),
        b"Lefevre-secret"
    );
    let leased = store.lease("test", 10, 1_000, 60_000).await.unwrap();
    assert_eq!(leased[0].payload, b"Lefevre-secret");
    let receipt =
        crt_core::sink::Receipt::delivered("ok").with_artifact(crt_core::sink::Artifact {
            name: "dlu.xml".into(),
            media_type: "text/xml".into(),
            content: b"<ClinicalDocument>Lefevre-secret</ClinicalDocument>".to_vec(),
        });
    store
        .complete(crate::Completion {
            trace: None,
            delivery_id: leased[0].id,
            lease: leased[0].lease.clone(),
            attempt: 1,
            started_at: 1_000,
            finished_at: 1_001,
            settlement: crate::Settlement::Done(receipt),
        })
        .await
        .unwrap();
    let artifact = store
        .artifact(leased[0].id, "dlu.xml".into())
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&artifact.content).contains("Lefevre-secret"));
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let payload: Vec<u8> = conn
        .query_row("SELECT payload FROM records", [], |row| row.get(0))
        .unwrap();
    let content: Vec<u8> = conn
        .query_row("SELECT content FROM artifacts", [], |row| row.get(0))
        .unwrap();
    for stored in [payload, content] {
        assert!(stored.starts_with(b"crt-sealed:1:"));
        assert!(!stored.windows(14).any(|w| w == b"Lefevre-secret"));
    }
}
