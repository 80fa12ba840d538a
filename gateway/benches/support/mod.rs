//! What the benches that fill a store share.

use std::sync::Arc;

use crt_core::sink::Receipt;
use crt_gateway::store::{Completion, Settlement, Store};
use tokio::task::JoinSet;

/// Leases every ready delivery and settles each with a receipt, as the engine does,
/// `in_flight` settlements at a time (so that they share commits).
pub async fn settle_all(store: Arc<dyn Store>, in_flight: usize) {
    let mut running = JoinSet::new();
    loop {
        let leased = store
            .lease("bench", 512, i64::MAX / 4, i64::MAX / 2)
            .await
            .expect("lease");
        if leased.is_empty() {
            return;
        }
        for lease in leased {
            if running.len() >= in_flight {
                running.join_next().await.expect("a task").expect("joined");
            }
            let store = store.clone();
            running.spawn(async move {
                let receipt = Receipt::delivered("done")
                    .with_details(serde_json::json!({ "status": "QUAL" }));
                store
                    .complete(Completion {
                        trace: None,
                        delivery_id: lease.id,
                        lease: lease.lease,
                        attempt: lease.attempt,
                        started_at: 0,
                        finished_at: 1,
                        settlement: Settlement::Done(receipt),
                    })
                    .await
                    .expect("settled");
            });
        }
        while let Some(joined) = running.join_next().await {
            joined.expect("joined");
        }
    }
}
