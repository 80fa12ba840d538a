//! Alerts for the CRTs' on-call services: kept before they are acknowledged, once per
//! (CRT, source, alert id), then taken by a professional and closed with an outcome.
//!
//! What the gateway still owes about an alert is its *duty*, kept on the alert's row so
//! that it survives a restart and is done by one instance at a time: calling the next
//! professional of the rota (due at once, then each time the alert was not taken in
//! time), and informing the regulation once the alert is closed as needing the emergency
//! services. A duty is leased like a delivery; a lease that expires (a crash) lets
//! another instance do it again.

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
    /// Who the on-call service called about it, in order; every call after the first is
    /// an escalation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<AlertCall>,
    /// What the gateway still owes (`call`, `regulation`) and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duty_due_at: Option<Millis>,
    /// Why the last attempt at the duty failed, while it is retried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What the regulation was sent, once it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regulation: Option<serde_json::Value>,
}

impl AlertView {
    /// Calls made after the first one: the rota's escalations.
    pub fn escalations(&self) -> usize {
        self.calls.len().saturating_sub(1)
    }
}

/// A call of the on-call service about an alert: the professional asked to take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AlertCall {
    pub at: Millis,
    /// 0 for the first person called.
    pub position: u32,
    /// `care_assistant`, `nurse`, `physician`, `coordinator`.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub mailbox: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// The kinds of duty, as the store keeps them.
pub const DUTY_CALL: &str = "call";
pub const DUTY_REGULATION: &str = "regulation";

/// What is owed about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyKind {
    /// Call the rota's person at `position` (0 first).
    Call { position: u32 },
    /// Send the DLU and the alert's summary to the regulation.
    Regulation,
}

impl DutyKind {
    /// The duty kept as `duty`, the rota's position as `position`.
    pub fn parse(duty: &str, position: u32) -> StoreResult<DutyKind> {
        match duty {
            DUTY_CALL => Ok(DutyKind::Call { position }),
            DUTY_REGULATION => Ok(DutyKind::Regulation),
            other => Err(StoreError::Corrupt(format!("alert duty {other:?}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DutyKind::Call { .. } => DUTY_CALL,
            DutyKind::Regulation => DUTY_REGULATION,
        }
    }
}

/// A duty handed to one instance.
#[derive(Debug, Clone)]
pub struct AlertDuty {
    pub alert: AlertView,
    /// The alert as received.
    pub payload: Vec<u8>,
    pub kind: DutyKind,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Proof of the lease, required to settle the duty.
    pub lease: String,
}

/// How a duty went.
#[derive(Debug, Clone, PartialEq)]
pub enum DutySettlement {
    /// Someone was called; the next person is due at `next` unless the alert is taken
    /// or closed by then (`None`: nobody is left to call).
    Called {
        call: AlertCall,
        next: Option<Millis>,
    },
    /// The regulation was informed: what was sent, and where the DMP stands.
    Regulated(serde_json::Value),
    /// Nothing to do any more: the alert was taken or closed, or nobody is left.
    Finished,
    /// Failed: try again at `at`.
    Retry { at: Millis, error: String },
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
    /// It is over, with its outcome; an open or taken alert is closed. `regulate`: the
    /// outcome needs the emergency services, whom the gateway informs.
    Close {
        by: String,
        outcome: String,
        regulate: bool,
    },
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

    /// Takes or closes an alert. Taking it ends the calls; closing it ends them too and,
    /// when `regulate`, makes the regulation due at once.
    fn step_alert(
        &self,
        id: Uuid,
        step: AlertStep,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<AlertStepOutcome>>;

    /// Leases up to `limit` duties due at `now` (or whose lease expired) until
    /// `lease_until`, oldest due first.
    fn lease_alert_duties(
        &self,
        owner: &str,
        limit: usize,
        now: Millis,
        lease_until: Millis,
    ) -> BoxFuture<'_, StoreResult<Vec<AlertDuty>>>;

    /// Settles a leased duty; `false` when the lease was lost (nothing written). A
    /// settlement applies to the duty it was leased for: a call settled after the alert
    /// was taken only gives the lease back.
    fn settle_alert_duty(
        &self,
        id: Uuid,
        lease: String,
        kind: DutyKind,
        settlement: DutySettlement,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<bool>>;
}
