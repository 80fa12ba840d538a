//! The waiting-list reader: brings in the volet 2 admission requests that reach each CRT
//! through ViaTrajectoire, and where each stands after the CRT's answers.
//!
//! For each CRT (the configured ones, else those whose records the gateway holds), it
//! lists the requests changed since the last one seen (flux 1 of the *Suivi des décisions
//! d'orientation* guide), reads each, then reads the Tasks changed since the last one seen
//! (flux 5): the CRT's own answers, and ViaTrajectoire's word when a request is withdrawn
//! or the person went elsewhere. The first round after a start reads everything; the store
//! keeps the newest version of each request and of its standing whatever the order of
//! reading, so reading twice changes nothing.
//!
//! A request or a Task outside the contract is not applied at all: it is written in the
//! access trace with the rule it breaks (never its content), and read again when
//! ViaTrajectoire changes it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crt_viatrajectoire::answer::standing;
use crt_viatrajectoire::client::ViatrajectoireClient;
use crt_viatrajectoire::incoming;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::audit::TraceEvent;
use crate::store::{AdmissionStanding, NewAdmissionRequest, Store, now_millis};

/// Where reading stopped for one structure: the newest request and Task changes seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    pub requests: Option<String>,
    pub tasks: Option<String>,
}

/// Runs until `shutdown`, reading each `interval`. `structures` are the CRTs' FINESS ET;
/// empty, the CRTs whose records the gateway holds.
pub fn spawn(
    client: Arc<ViatrajectoireClient>,
    interval: Duration,
    structures: Vec<String>,
    store: Arc<dyn Store>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut cursors: BTreeMap<String, Cursor> = BTreeMap::new();
        loop {
            let crts = if structures.is_empty() {
                store.crts().await.map_err(|e| e.to_string())
            } else {
                Ok(structures.clone())
            };
            match crts {
                Ok(crts) => {
                    for crt in crts {
                        let cursor = cursors.entry(crt.clone()).or_default();
                        if let Err(e) = read(&client, store.as_ref(), &crt, cursor).await {
                            warn!(crt = %crt, error = %e, "reading ViaTrajectoire failed");
                        }
                    }
                }
                Err(e) => warn!(error = %e, "listing the CRTs to read ViaTrajectoire for failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}

fn newer(cursor: &mut Option<String>, seen: &str) {
    if cursor.as_deref().is_none_or(|c| seen > c) {
        *cursor = Some(seen.to_string());
    }
}

fn event(crt: &str, action: &str, object: &str, outcome: String) -> TraceEvent {
    let mut event = TraceEvent::now("engine", action, "admission");
    event.structure = Some(format!("1{crt}"));
    event.object = Some(object.to_string());
    event.outcome = outcome;
    event
}

/// One round for one CRT: new and changed requests, then new Tasks. The cursor moves
/// only past what was read.
pub async fn read(
    client: &ViatrajectoireClient,
    store: &dyn Store,
    crt: &str,
    cursor: &mut Cursor,
) -> Result<(), String> {
    let structure = format!("1{crt}");
    let mut trace = Vec::new();
    let ids = client
        .requests_since(cursor.requests.as_deref(), &structure)
        .await
        .map_err(|e| e.to_string())?;
    for id in ids {
        let reference = format!("DocumentReference/{id}");
        let document = client
            .read(&reference, &structure)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(changed) = document["meta"]["lastUpdated"].as_str() {
            newer(&mut cursor.requests, changed);
        }
        let request = match incoming::read(&document) {
            Ok(request) if request.structure == structure => request,
            Ok(_) => {
                trace.push(event(
                    crt,
                    "viatrajectoire.request",
                    &reference,
                    "rejected:DocumentReference.custodian: another structure than the one asked"
                        .into(),
                ));
                continue;
            }
            Err(problem) => {
                warn!(%reference, rule = %problem, "a ViaTrajectoire request outside the contract");
                trace.push(event(
                    crt,
                    "viatrajectoire.request",
                    &reference,
                    format!("rejected:{problem}"),
                ));
                continue;
            }
        };
        let payload = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
        let kept = store
            .keep_admission_request(NewAdmissionRequest {
                crt_finess_et: crt.to_string(),
                request_id: request.request_id.clone(),
                remote_id: request.remote_id.clone(),
                changed_at: request.changed_at.clone(),
                withdrawn: request.withdrawn,
                received_at: now_millis(),
                payload,
            })
            .await
            .map_err(|e| e.to_string())?;
        if kept {
            trace.push(event(
                crt,
                "viatrajectoire.request",
                &request.request_id,
                "received".into(),
            ));
        }
    }
    let tasks = client
        .tasks_since(cursor.tasks.as_deref(), &structure)
        .await
        .map_err(|e| e.to_string())?;
    for task in tasks {
        let reference = format!("Task/{}", task["id"].as_str().unwrap_or_default());
        if let Some(changed) = task["meta"]["lastUpdated"].as_str() {
            newer(&mut cursor.tasks, changed);
        }
        let standing = match standing(&task, &structure) {
            Ok(Some(standing)) => standing,
            Ok(None) => continue,
            Err(problem) => {
                warn!(%reference, rule = %problem, "a ViaTrajectoire status outside the contract");
                trace.push(event(
                    crt,
                    "viatrajectoire.status",
                    &reference,
                    format!("rejected:{problem}"),
                ));
                continue;
            }
        };
        let known = store
            .update_standing(AdmissionStanding {
                crt_finess_et: crt.to_string(),
                request_id: standing.request_id.clone(),
                status: standing.status.as_str().to_string(),
                rank: standing.rank,
                reason: standing.reason,
                status_at: standing.changed_at,
                updated_at: now_millis(),
            })
            .await
            .map_err(|e| e.to_string())?;
        if !known {
            debug!(%reference, "a status for a request this gateway has not read");
        }
    }
    store.trace(trace).await.map_err(|e| e.to_string())
}
