use std::sync::Arc;

use super::SqliteStore;
use crate::store::{Store, contract};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("db/gateway.db")).expect("open");
    (dir, store)
}

macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_dir, store) = store();
                contract::$name(&store).await;
            }
        )*
    };
}

contract_tests!(
    accepted_record_is_readable_with_its_deliveries,
    idempotency_key_replays_the_first_answer_or_conflicts,
    delivered_upstream_releases_dependents,
    hold_reason_holds_everything_downstream,
    expired_lease_is_taken_again_and_the_old_holder_cannot_settle,
    retry_waits_until_due_and_dead_can_be_replayed,
    acknowledgements_are_recorded_once_against_their_delivery,
    waiting_lists_keep_the_latest_status_of_each_request,
    partner_entries_are_kept_once_in_their_latest_version,
    the_trace_is_appended_in_order_and_chained,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_intakes_are_all_stored() {
    let (_dir, store) = store();
    contract::concurrent_intakes_are_all_stored(Arc::new(store)).await;
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
