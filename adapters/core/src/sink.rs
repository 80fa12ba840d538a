//! The contract between the delivery engine and every target it sends to.
//!
//! A target (the INSi teleservice, the DMP, an MSSanté operator, a regional platform…) is
//! a [`Sink`]. The engine hands it one [`DeliveryTask`] at a time and records what comes
//! back: a [`Receipt`] ends the delivery, a [`DeliveryError`] says whether trying again
//! can help. Sinks never retry by themselves: the engine owns retries, backoff and the
//! dead-letter state, so that every attempt is persisted and visible.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::record::{Action, CrtRecord, DocumentKind};

/// A boxed future, so that sinks of different types live behind `dyn Sink`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What one delivery does. Routing derives these from a record; each names its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "work", rename_all = "snake_case")]
pub enum Work {
    /// Keep a copy of the record in the gateway's journal.
    Journal,
    /// Check the beneficiary's identity with the INSi teleservice.
    VerifyIdentity,
    /// Check the care circle's members against the national directory of health
    /// professionals (the report is `directory::MemberCheck`).
    CheckCareCircle,
    /// Carry out one action of the record.
    Action { action: Action },
    /// Bring a document the DMP already holds in line with a consent that changed since it
    /// was sent: its visibility (the record's masking), or its withdrawal after an
    /// opposition.
    DmpUpdate {
        document: DocumentKind,
        change: DmpChange,
    },
}

/// What a [`Work::DmpUpdate`] changes of a document in the DMP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DmpChange {
    /// Give it the confidentiality codes of the record's `consents.dmp_masking`.
    Visibility,
    /// Archive it: the beneficiary opposed feeding the DMP after it was sent.
    Archive,
}

/// One delivery handed to a sink.
#[derive(Debug, Clone)]
pub struct DeliveryTask {
    /// Stable across attempts: sinks use it (or ids derived from it) so that a repeated
    /// attempt is recognised by the target and not applied twice.
    pub delivery_id: Uuid,
    pub record_id: Uuid,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub work: Work,
    pub record: Arc<CrtRecord>,
    /// Receipts of the deliveries this one waited for (the INS check before a document
    /// carrying the INS, for instance).
    pub upstream: Vec<UpstreamReceipt>,
}

impl DeliveryTask {
    /// The first attempt of sending a record's `document` through `channel`, made outside
    /// the engine (CLI, tests, benchmarks): fresh ids, no upstream receipts.
    pub fn document(
        record: Arc<CrtRecord>,
        document: crate::record::DocumentKind,
        channel: crate::record::Channel,
    ) -> DeliveryTask {
        DeliveryTask {
            delivery_id: Uuid::now_v7(),
            record_id: Uuid::now_v7(),
            attempt: 1,
            work: Work::Action {
                action: Action::SendDocument {
                    document,
                    to: vec![channel],
                },
            },
            record,
            upstream: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamReceipt {
    pub target: String,
    pub receipt: Receipt,
}

/// How a delivery ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The target accepted it.
    Delivered,
    /// Not sent, by rule (an opposition, a consent missing); the receipt says why.
    Declined,
}

/// What a target answered, kept with the delivery and shown to the caller. It never holds
/// identity traits or health data in `summary`; artifacts hold exactly what was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub outcome: Outcome,
    /// One line for people and logs.
    pub summary: String,
    /// The target's own identifier for what it received (document uniqueId, Message-ID…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// Target-specific facts (codes, statuses) for programs.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
    /// When set, the deliveries that wait for this one are held with this reason instead
    /// of starting (an identity that is not qualified holds the documents carrying it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_dependents: Option<String>,
    /// What was produced and sent, byte for byte.
    #[serde(skip)]
    pub artifacts: Vec<Artifact>,
}

impl Receipt {
    pub fn delivered(summary: impl Into<String>) -> Self {
        Receipt {
            outcome: Outcome::Delivered,
            summary: summary.into(),
            remote_id: None,
            details: serde_json::Value::Null,
            hold_dependents: None,
            artifacts: Vec::new(),
        }
    }

    pub fn declined(summary: impl Into<String>) -> Self {
        Receipt {
            outcome: Outcome::Declined,
            ..Receipt::delivered(summary)
        }
    }

    pub fn with_remote_id(mut self, id: impl Into<String>) -> Self {
        self.remote_id = Some(id.into());
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    pub fn with_artifact(mut self, artifact: Artifact) -> Self {
        self.artifacts.push(artifact);
        self
    }

    pub fn holding_dependents(mut self, reason: impl Into<String>) -> Self {
        self.hold_dependents = Some(reason.into());
        self
    }
}

/// A file produced by a delivery: a CDA document, an ITI-41 envelope, a message.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// File name, unique within the delivery (`dlu.xml`, `message.eml`).
    pub name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

impl fmt::Debug for Artifact {
    // The content is health data: keep it out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Artifact")
            .field("name", &self.name)
            .field("media_type", &self.media_type)
            .field("bytes", &self.content.len())
            .finish()
    }
}

/// Whether trying again can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Transport failures, timeouts, a target that is busy or down.
    Retryable,
    /// The target refused the content, the credentials are wrong: the same attempt will
    /// fail again, so the delivery goes to `dead` for an operator.
    Final,
    /// The target cannot take it for a reason outside the message that a person has to
    /// resolve (the beneficiary's DMP is closed): the delivery is held with the reason, not
    /// retried, until an operator replays it.
    Held,
}

/// Why a delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{code}: {message}")]
pub struct DeliveryError {
    pub class: ErrorClass,
    /// Short stable code (`timeout`, `tls`, `soap-fault`, `XDSDocumentUniqueIdError`…).
    pub code: String,
    /// What happened, without identity traits or health data.
    pub message: String,
}

impl DeliveryError {
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        DeliveryError {
            class: ErrorClass::Retryable,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn final_error(code: impl Into<String>, message: impl Into<String>) -> Self {
        DeliveryError {
            class: ErrorClass::Final,
            code: code.into(),
            message: message.into(),
        }
    }

    /// The answer of a sink handed work it does not do: a routing mistake, never retried.
    pub fn unsupported(service: &str, work: &Work) -> Self {
        DeliveryError::final_error(
            "unsupported-work",
            format!("the {service} sink does not do {work:?}"),
        )
    }

    pub fn held(code: impl Into<String>, message: impl Into<String>) -> Self {
        DeliveryError {
            class: ErrorClass::Held,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Retryable
    }
}

/// A sink's own view of whether it can work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub healthy: bool,
    pub detail: String,
}

impl Health {
    pub fn up(detail: impl Into<String>) -> Self {
        Health {
            healthy: true,
            detail: detail.into(),
        }
    }

    pub fn down(detail: impl Into<String>) -> Self {
        Health {
            healthy: false,
            detail: detail.into(),
        }
    }
}

/// How the engine retries a sink's retryable failures. Each sink's configuration block
/// carries one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts before the delivery goes to `dead` (the first attempt included).
    pub max_attempts: u32,
    /// Delay before the second attempt; it doubles on each failure.
    #[serde(with = "millis")]
    pub initial_backoff: Duration,
    /// Ceiling for the delay.
    #[serde(with = "millis")]
    pub max_backoff: Duration,
    /// Time allowed for one attempt.
    #[serde(with = "millis")]
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1-based): exponential, capped, with
    /// "equal jitter" (half fixed, half random) so that deliveries failing together do not
    /// come back together. `random` is uniform in `[0, 1)`.
    pub fn backoff(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let half = base / 2;
        half + half.mul_f64(random.clamp(0.0, 1.0))
    }
}

/// Durations in configuration files are written in milliseconds.
pub mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// One delivery attempt under way, as a sink hands it to the engine.
pub type Attempt<'a> = BoxFuture<'a, Result<Receipt, DeliveryError>>;

/// A sink as `Any`, so that whoever needs more of a sink than deliveries (the reader of
/// MSSanté acknowledgements, of ViaTrajectoire's waiting list) reaches its own type back.
pub trait IntoAny {
    fn into_any(self: std::sync::Arc<Self>) -> std::sync::Arc<dyn std::any::Any + Send + Sync>;
}

impl<T: std::any::Any + Send + Sync> IntoAny for T {
    fn into_any(self: std::sync::Arc<Self>) -> std::sync::Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

/// A target the engine delivers to.
pub trait Sink: IntoAny + Send + Sync + 'static {
    /// Stable name of the target (`journal`, `ins`, `dmp`, `mssante`, `region:spico`…),
    /// stored with each delivery.
    fn target(&self) -> &str;

    /// Whether the target is reachable and the credentials are accepted, for `/readyz`.
    fn check(&self) -> BoxFuture<'_, Health>;

    /// One attempt. Must be idempotent for a given `task.delivery_id`.
    fn deliver<'a>(&'a self, task: &'a DeliveryTask) -> Attempt<'a>;

    fn retry_policy(&self) -> &RetryPolicy;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_stays_under_the_ceiling() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        assert_eq!(policy.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(policy.backoff(2, 1.0), Duration::from_millis(200));
        assert_eq!(policy.backoff(3, 0.0), Duration::from_millis(200));
        assert_eq!(policy.backoff(10, 1.0), Duration::from_millis(1000));
        assert_eq!(policy.backoff(u32::MAX, 0.5), Duration::from_millis(750));
    }
}
