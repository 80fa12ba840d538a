//! `[sinks.viatrajectoire]`: where ViaTrajectoire is and how the gateway is known to it.

use std::time::Duration;

use crt_core::oauth::FhirAccess;
use crt_core::sink::RetryPolicy;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViatrajectoireConfig {
    pub enabled: bool,
    /// Where ViaTrajectoire is and how the gateway is known to it (the secret: prefer
    /// the `CRT_VIATRAJECTOIRE_CLIENT_SECRET` environment variable).
    #[serde(flatten)]
    pub access: FhirAccess,
    /// The CRTs (FINESS ET) whose admission requests are read. Empty: the CRTs whose
    /// records the gateway holds.
    pub structures: Vec<String>,
    /// How often requests and their statuses are read (`DocumentReference?…`,
    /// `Task?_lastUpdated=gt…`).
    #[serde(with = "crt_core::sink::millis")]
    pub poll_interval: Duration,
    pub max_answer_bytes: usize,
    pub retry: RetryPolicy,
}

impl Default for ViatrajectoireConfig {
    fn default() -> Self {
        ViatrajectoireConfig {
            enabled: true,
            access: FhirAccess::default(),
            structures: Vec::new(),
            poll_interval: Duration::from_secs(60),
            max_answer_bytes: 4 * 1024 * 1024,
            retry: RetryPolicy {
                max_attempts: 8,
                initial_backoff: Duration::from_secs(5),
                max_backoff: Duration::from_secs(900),
                timeout: Duration::from_secs(30),
            },
        }
    }
}
