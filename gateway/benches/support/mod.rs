//! What the benches that fill a store share.

use std::sync::Arc;

use crt_core::record::{Action, Channel, DocumentKind};
use crt_core::sink::{Receipt, Work};
use crt_gateway::store::sealing::Sealer;
use crt_gateway::store::{Completion, NewDelivery, Settlement, Store};
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

/// The four deliveries the sandbox usually plans for a home record: the journal, the INS
/// check, the DLU and the plan to the DMP.
pub fn usual_deliveries() -> Vec<NewDelivery> {
    let document = |document| Work::Action {
        action: Action::SendDocument {
            document,
            to: vec![Channel::Dmp],
        },
    };
    [
        ("journal", Work::Journal),
        ("ins", Work::VerifyIdentity),
        ("dmp", document(DocumentKind::Dlu)),
        ("dmp", document(DocumentKind::Plan)),
    ]
    .into_iter()
    .map(|(target, work)| NewDelivery {
        id: uuid::Uuid::now_v7(),
        target: target.into(),
        work,
        depends_on: Vec::new(),
    })
    .collect()
}

/// A fixed storage key: the benches measure sealed payloads, as a deployment stores them.
pub fn sealer() -> Arc<Sealer> {
    Arc::new(
        Sealer::parse("1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .expect("key"),
    )
}
