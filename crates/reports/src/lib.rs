//! Activity indicators of a CRT for its annual surveys (CNSA, ARS) and its steering
//! committee, computed from the records the DUIs sent: [`activity`] reads the record
//! versions into what happened, once each; [`compute`] counts it over a period.

pub mod activity;
pub mod alerts;
mod chart;
pub mod compute;
mod config;
pub mod figures;
pub mod html;
pub mod period;
pub mod render;
pub mod services;
pub mod volet1;
mod xlsx;

#[cfg(test)]
mod tests;

pub use activity::Activity;
pub use compute::{CAPACITY, FORFAIT_EUR, FULL_VOLET2_EUR, Indicators, Period, Settings, compute};
pub use config::ReportsConfig;
pub use figures::Audience;

use crt_store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored record cannot be read back: {0}")]
    Unreadable(String),
}

/// Every alert of the CRT, with the local time the centre raised it at (from the alert
/// as received).
async fn alert_facts(
    store: &dyn Store,
    crt: String,
) -> Result<Vec<alerts::AlertFact>, ReportError> {
    let views = store
        .alerts(crt_store::AlertFilter {
            crt: Some(crt),
            status: None,
            limit: usize::MAX >> 1,
        })
        .await?;
    let mut facts = Vec::with_capacity(views.len());
    for view in views {
        let Some((view, payload)) = store.alert(view.id).await? else {
            continue;
        };
        #[derive(serde::Deserialize)]
        struct Raised {
            raised_at: chrono::DateTime<chrono::FixedOffset>,
        }
        let raised = serde_json::from_slice::<Raised>(&payload)
            .map_err(|e| ReportError::Unreadable(e.to_string()))?
            .raised_at;
        facts.push(alerts::AlertFact { view, raised });
    }
    Ok(facts)
}

/// The indicators of the CRT `crt_finess_et` over `period`, from every record version its
/// DUIs sent, the deliveries they made, its waiting list and its volet 1 actions.
pub async fn for_crt(
    store: &dyn Store,
    crt_finess_et: &str,
    period: Period,
    settings: Settings,
) -> Result<Indicators, ReportError> {
    let crt = crt_finess_et.to_string();
    let (payloads, exchanges, waiting, actions) = tokio::try_join!(
        store.crt_record_payloads(crt.clone()),
        store.crt_exchanges(crt.clone()),
        store.waiting_list(Some(crt.clone())),
        store.volet1_actions(crt.clone()),
    )?;
    let alerts = alert_facts(store, crt).await?;
    // Reading thousands of records is CPU work: off the async workers.
    tokio::task::spawn_blocking(move || {
        let records = payloads
            .iter()
            .map(|payload| serde_json::from_slice::<crt_core::CrtRecord>(payload))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ReportError::Unreadable(e.to_string()))?;
        let volet1 = actions
            .iter()
            .map(|payload| serde_json::from_slice(payload))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ReportError::Unreadable(e.to_string()))?;
        let activity = Activity {
            volet1,
            exchanges,
            waiting,
            alerts,
            ..Activity::from_versions(&records)
        };
        Ok(compute(&activity, period, &settings))
    })
    .await
    .map_err(|e| ReportError::Unreadable(e.to_string()))?
}
