//! The liaison-book reader: brings back what partners write about the beneficiaries a CRT
//! shared with its regional platform, so that the CRT's software can show it
//! (`GET /v1/liaison-book`).
//!
//! A platform gives an entry with the beneficiary's identifiers; the one the gateway gave
//! them (its system under the CRT's OID root, its value the DUI's local id) names the
//! CRT through the receipts of earlier shares. The gateway's own entries are left out by
//! the platform client. Entries are read after the newest change seen; the first read
//! after a start takes them all, and the store keeps each entry once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crt_core::sink::Outcome;
use crt_regions::platform::RegionalPlatform;
use crt_regions::sink::{Shared, target};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::store::{DeliveryFilter, DeliveryState, PartnerEntry, Store, now_millis};

/// One reader per platform, until `shutdown`.
pub fn spawn(
    platform: Arc<dyn RegionalPlatform>,
    interval: Duration,
    store: Arc<dyn Store>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let name = platform.dialect().name;
        let mut cursor: Option<String> = None;
        let mut structures: HashMap<String, String> = HashMap::new();
        loop {
            match read(
                platform.as_ref(),
                store.as_ref(),
                cursor.as_deref(),
                &mut structures,
            )
            .await
            {
                Ok(Some(newest)) => cursor = Some(newest),
                Ok(None) => {}
                Err(e) => {
                    warn!(platform = name, error = %e, "reading partners' liaison entries failed")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}

/// Patient identifier system → the CRT (FINESS ET) that shared with that system, from
/// the receipts of the platform's deliveries.
async fn shared_structures(
    store: &dyn Store,
    platform: &str,
) -> Result<HashMap<String, String>, String> {
    let mut structures = HashMap::new();
    let mut after = None;
    loop {
        let page = store
            .deliveries(DeliveryFilter {
                state: Some(DeliveryState::Delivered),
                target: Some(target(platform)),
                after,
                limit: 500,
            })
            .await
            .map_err(|e| e.to_string())?;
        for delivery in &page {
            let shared = delivery
                .receipt
                .as_ref()
                .filter(|r| r.outcome == Outcome::Delivered)
                .and_then(|r| serde_json::from_value::<Shared>(r.details.clone()).ok());
            if let Some(shared) = shared {
                structures.insert(shared.patient_system, shared.crt);
            }
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.id),
            _ => return Ok(structures),
        }
    }
}

/// Reads the entries changed since `cursor`; returns the newest change seen.
async fn read(
    platform: &dyn RegionalPlatform,
    store: &dyn Store,
    cursor: Option<&str>,
    structures: &mut HashMap<String, String>,
) -> Result<Option<String>, String> {
    let name = platform.dialect().name;
    let entries = platform
        .partner_entries(cursor)
        .await
        .map_err(|e| e.to_string())?;
    let mut newest = cursor.map(str::to_string);
    // An entry about a beneficiary whose share is not recorded yet (its receipt is being
    // stored) is read again next time: the cursor stays before it for a while.
    let mut held = false;
    for entry in entries {
        if !structures.contains_key(&entry.patient_system) {
            *structures = shared_structures(store, name).await?;
        }
        let Some(crt) = structures.get(&entry.patient_system) else {
            debug!(platform = name, entry = %entry.remote_id, "an entry about a beneficiary this gateway did not share");
            held |= recent(&entry.changed_at);
            continue;
        };
        store
            .keep_partner_entry(PartnerEntry {
                platform: name.to_string(),
                remote_id: entry.remote_id,
                crt_finess_et: crt.clone(),
                beneficiary_ref: entry.beneficiary,
                kind: entry.kind.as_str().to_string(),
                topic: entry.topic.as_str().to_string(),
                author: entry.author,
                written_at: entry.written_at,
                text: entry.text,
                changed_at: entry.changed_at.clone(),
                received_at: now_millis(),
            })
            .await
            .map_err(|e| e.to_string())?;
        if !held
            && newest
                .as_deref()
                .is_none_or(|n| entry.changed_at.as_str() > n)
        {
            newest = Some(entry.changed_at);
        }
    }
    Ok(newest)
}

/// How long an entry about an unknown beneficiary keeps the cursor before it.
const HOLD: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

fn recent(changed_at: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(changed_at)
        .is_ok_and(|at| chrono::Utc::now().signed_duration_since(at) < HOLD)
}
