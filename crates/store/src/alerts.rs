//! Alerts for the CRTs' on-call services: kept before they are acknowledged, once per
//! (CRT, source, alert id), then taken by a professional and closed with an outcome.

use std::str::FromStr;

use crt_core::sink::BoxFuture;
use serde::Serialize;
use uuid::Uuid;

use crate::{Millis, StoreError, StoreResult};

/// An alert as received.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub id: Uuid,
    pub crt_finess_et: String,
    /// The centre or platform that raised it.
    pub source: String,
    /// Its identifier of the alert.
    pub alert_id: String,
    /// The CRT's beneficiary, when the gateway found them.
    pub beneficiary_ref: Option<String>,
    /// The on-call reason (`fall`, `anxiety`…).
    pub reason: String,
    pub raised_at: Millis,
    pub received_at: Millis,
    /// The alert as received (JSON); sealed at rest.
    pub payload: Vec<u8>,
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Nobody has taken it yet.
    Open,
    /// A professional of the on-call service has it.
    Taken,
    /// Over, with its outcome.
    Closed,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Taken => "taken",
            AlertStatus::Closed => "closed",
        }
    }
}

impl FromStr for AlertStatus {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [AlertStatus::Open, AlertStatus::Taken, AlertStatus::Closed]
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| StoreError::Corrupt(format!("alert status {text:?}")))
    }
}

/// An alert as the API shows it (its payload apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertView {
    pub id: Uuid,
    pub crt_finess_et: String,
    pub source: String,
    pub alert_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beneficiary_ref: Option<String>,
    pub reason: String,
    pub status: AlertStatus,
    pub raised_at: Millis,
    pub received_at: Millis,
    /// Who took it (idNat_PS or the caller's name) and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<Millis>,
    /// How it ended (the on-call outcome: `advice_given`, `emergency_services`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Millis>,
}

/// How keeping an alert went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptAlert {
    Kept(Box<AlertView>),
    /// The same (CRT, source, alert id) was kept before: here it is as it stands.
    Duplicate(Box<AlertView>),
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub crt: Option<String>,
    pub status: Option<AlertStatus>,
    pub limit: usize,
}

/// A change of an alert's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertStep {
    /// A professional takes it; only an open alert is taken.
    Take { by: String },
    /// It is over, with its outcome; an open or taken alert is closed.
    Close { by: String, outcome: String },
}

impl AlertStep {
    /// Whether the change applies to an alert that stands at `status`.
    pub fn applies_to(&self, status: AlertStatus) -> bool {
        match self {
            AlertStep::Take { .. } => status == AlertStatus::Open,
            AlertStep::Close { .. } => status != AlertStatus::Closed,
        }
    }
}

/// How a change went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertStepOutcome {
    Done(Box<AlertView>),
    NotFound,
    /// The alert does not stand where the change needs it to: here it is as it stands.
    Conflict(Box<AlertView>),
}

/// An alert and its payload as received.
pub type AlertOriginal = (AlertView, Vec<u8>);

/// The alerts of the CRTs' on-call services.
pub trait Alerts: Send + Sync + 'static {
    /// Keeps an alert; the same (CRT, source, alert id) is kept once.
    fn keep_alert(&self, alert: NewAlert) -> BoxFuture<'_, StoreResult<KeptAlert>>;

    /// Alerts, newest raised first.
    fn alerts(&self, filter: AlertFilter) -> BoxFuture<'_, StoreResult<Vec<AlertView>>>;

    /// One alert and its payload as received.
    fn alert(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<AlertOriginal>>>;

    /// Takes or closes an alert.
    fn step_alert(
        &self,
        id: Uuid,
        step: AlertStep,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<AlertStepOutcome>>;
}
