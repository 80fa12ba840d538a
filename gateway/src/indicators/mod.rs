//! Activity indicators of a CRT for its annual surveys (CNSA, ARS) and its steering
//! committee, computed from the records the DUIs sent: [`activity`] reads the record
//! versions into what happened, once each; [`compute`] counts it over a period.

pub mod activity;
mod chart;
pub mod compute;
pub mod render;

#[cfg(test)]
mod tests;

pub use activity::Activity;
pub use compute::{CAPACITY, FORFAIT_EUR, Indicators, Period, compute};
pub use render::Audience;

use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored record cannot be read back: {0}")]
    Unreadable(String),
}

/// The indicators of the CRT `crt_finess_et` over `period`, from every record version its
/// DUIs sent.
pub async fn for_crt(
    store: &dyn Store,
    crt_finess_et: &str,
    period: Period,
    capacity: usize,
) -> Result<Indicators, ReportError> {
    let payloads = store.crt_record_payloads(crt_finess_et.to_string()).await?;
    // Reading thousands of records is CPU work: off the async workers.
    tokio::task::spawn_blocking(move || {
        let records = payloads
            .iter()
            .map(|payload| serde_json::from_slice::<crt_core::CrtRecord>(payload))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ReportError::Unreadable(e.to_string()))?;
        Ok(compute(
            &Activity::from_versions(&records),
            period,
            capacity,
        ))
    })
    .await
    .map_err(|e| ReportError::Unreadable(e.to_string()))?
}
