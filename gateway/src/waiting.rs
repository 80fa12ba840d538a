//! The waiting-list reader: follows the admission requests sent to ViaTrajectoire and
//! keeps each CRT's waiting list with the status ViaTrajectoire gives each request.
//!
//! Each request's Task carries the delivery id as its identifier, so a Task names its
//! delivery. Tasks are read per structure (`struct_idnat`) with `_lastUpdated` after the
//! last change seen; the first read after a start takes them all, and the store keeps the
//! newest status of each whatever the order of reading.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crt_core::sink::Outcome;
use crt_viatrajectoire::client::ViatrajectoireClient;
use crt_viatrajectoire::request::TASK_IDENTIFIER_SYSTEM;
use crt_viatrajectoire::sink::{Submitted, TARGET};
use crt_viatrajectoire::status::Standing;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use uuid::Uuid;

use crate::store::{DeliveryFilter, DeliveryState, Store, WaitingUpdate, now_millis};

/// Runs until `shutdown`, reading statuses each `interval`.
pub fn spawn(
    client: Arc<ViatrajectoireClient>,
    interval: Duration,
    store: Arc<dyn Store>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // The newest Task change seen, per structure.
        let mut cursors: BTreeMap<String, String> = BTreeMap::new();
        loop {
            match structures(store.as_ref()).await {
                Ok(structures) => {
                    for structure in structures {
                        let cursor = cursors.get(&structure).cloned();
                        match read(&client, store.as_ref(), &structure, cursor.as_deref()).await {
                            Ok(Some(newest)) => {
                                cursors.insert(structure, newest);
                            }
                            Ok(None) => {}
                            Err(e) => {
                                warn!(%structure, error = %e, "reading ViaTrajectoire statuses failed")
                            }
                        }
                    }
                }
                Err(e) => warn!(error = %e, "listing admission requests failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}

/// The structures that have admission requests in ViaTrajectoire.
async fn structures(store: &dyn Store) -> Result<BTreeSet<String>, String> {
    let mut structures = BTreeSet::new();
    let mut after = None;
    loop {
        let page = store
            .deliveries(DeliveryFilter {
                state: Some(DeliveryState::Delivered),
                target: Some(TARGET.to_string()),
                after,
                limit: 500,
            })
            .await
            .map_err(|e| e.to_string())?;
        for delivery in &page {
            let submitted = delivery
                .receipt
                .as_ref()
                .filter(|r| r.outcome == Outcome::Delivered)
                .and_then(|r| serde_json::from_value::<Submitted>(r.details.clone()).ok());
            if let Some(submitted) = submitted {
                structures.insert(submitted.struct_idnat);
            }
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.id),
            _ => return Ok(structures),
        }
    }
}

/// The delivery a Task stands for.
fn delivery_of(task: &Value) -> Option<Uuid> {
    task["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == TASK_IDENTIFIER_SYSTEM)?["value"]
        .as_str()?
        .strip_prefix("urn:uuid:")?
        .parse()
        .ok()
}

/// Reads the Tasks changed since `cursor`; returns the newest change seen.
async fn read(
    client: &ViatrajectoireClient,
    store: &dyn Store,
    structure: &str,
    cursor: Option<&str>,
) -> Result<Option<String>, String> {
    let tasks = client
        .tasks_since(cursor, structure)
        .await
        .map_err(|e| e.to_string())?;
    let mut newest = None;
    for task in tasks {
        let (Some(delivery_id), Some(id), Some(changed)) = (
            delivery_of(&task),
            task["id"].as_str(),
            task["meta"]["lastUpdated"].as_str(),
        ) else {
            continue;
        };
        let standing = match Standing::of_task(&task) {
            Ok(standing) => standing,
            Err(e) => {
                warn!(task = id, error = %e, "a ViaTrajectoire status outside the contract");
                continue;
            }
        };
        let known = store
            .update_waiting(WaitingUpdate {
                delivery_id,
                task: format!("Task/{id}"),
                status: standing.status.as_str().to_string(),
                rank: standing.rank,
                reason: standing.reason,
                status_at: changed.to_string(),
                updated_at: now_millis(),
            })
            .await
            .map_err(|e| e.to_string())?;
        if !known {
            debug!(task = id, "a request this gateway's database did not send");
        }
        if newest.as_deref().is_none_or(|n: &str| changed > n) {
            newest = Some(changed.to_string());
        }
    }
    Ok(newest.or_else(|| cursor.map(str::to_string)))
}
