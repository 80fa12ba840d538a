//! What every regional platform does for the gateway, whatever its wire.

use crt_core::record::{LiaisonKind, LiaisonTopic};
use crt_core::sink::{BoxFuture, DeliveryError};
use serde::{Deserialize, Serialize};

pub use crate::dialect::Dialect;
use crate::share::Share;

/// What a platform answered for one part of a share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// Resources the platform did not hold yet.
    pub created: usize,
    /// Resources it held and replaced with what the record says now.
    pub updated: usize,
}

impl Written {
    pub fn add(&mut self, other: &Written) {
        self.created += other.created;
        self.updated += other.updated;
    }
}

/// An entry a partner wrote in a beneficiary's liaison book on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerEntry {
    /// The platform's id for the note (`DocumentReference/<id>`).
    pub remote_id: String,
    /// The beneficiary, as the CRT identifies them: the identifier system the gateway
    /// gave them on the platform, and the DUI's local id.
    pub patient_system: String,
    pub beneficiary: String,
    pub kind: LiaisonKind,
    pub topic: LiaisonTopic,
    /// Who wrote it, as the platform names them.
    pub author: String,
    pub written_at: String,
    pub text: String,
    /// When the platform last changed it (the reader's cursor).
    pub changed_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Transport, TLS, a platform that is down or busy: trying again may work.
    #[error("{platform}: {message}")]
    Unavailable { platform: String, message: String },
    /// The platform refused what was sent or who sent it.
    #[error("{platform} refused ({status}): {diagnostics}")]
    Refused {
        platform: String,
        status: u16,
        diagnostics: String,
    },
    #[error("{platform}: {message}")]
    Answer { platform: String, message: String },
}

impl PlatformError {
    pub fn into_delivery_error(self) -> DeliveryError {
        match &self {
            PlatformError::Unavailable { .. } => {
                DeliveryError::retryable("region-unavailable", self.to_string())
            }
            PlatformError::Refused { status, .. } if *status >= 500 || *status == 429 => {
                DeliveryError::retryable("region-unavailable", self.to_string())
            }
            PlatformError::Refused { .. } => {
                DeliveryError::final_error("region-refused", self.to_string())
            }
            PlatformError::Answer { .. } => {
                DeliveryError::final_error("region-answer", self.to_string())
            }
        }
    }
}

/// A regional e-parcours platform. Each operation is idempotent: a repeated share (a
/// retry, an updated record) replaces what the platform holds instead of adding to it.
pub trait RegionalPlatform: Send + Sync {
    fn dialect(&self) -> &Dialect;

    /// Where the platform is, for health checks and messages.
    fn base_url(&self) -> &str;

    /// The beneficiary, the CRT and the care circle: professionals and relatives.
    fn share_care_circle<'a>(
        &'a self,
        share: &'a Share,
    ) -> BoxFuture<'a, Result<Written, PlatformError>>;

    /// The summary of the CRT's accompaniment and the documents produced from the record.
    fn push_summary<'a>(
        &'a self,
        share: &'a Share,
    ) -> BoxFuture<'a, Result<Written, PlatformError>>;

    /// The record's liaison-book entries and alerts.
    fn post_entries<'a>(
        &'a self,
        share: &'a Share,
    ) -> BoxFuture<'a, Result<Written, PlatformError>>;

    /// The planned interventions: `Schedule`s and `Appointment`s (GAP).
    fn publish_planning<'a>(
        &'a self,
        share: &'a Share,
    ) -> BoxFuture<'a, Result<Written, PlatformError>>;

    /// Entries written by partners, changed after `cursor` (all when `None`), oldest first.
    fn partner_entries<'a>(
        &'a self,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<PartnerEntry>, PlatformError>>;
}
