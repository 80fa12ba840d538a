//! `[sinks.viatrajectoire]`: where ViaTrajectoire is and how the gateway is known to it.

use std::path::PathBuf;
use std::time::Duration;

use crt_core::sink::RetryPolicy;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViatrajectoireConfig {
    pub enabled: bool,
    /// FHIR base URL. Absent: the sandbox's simulator.
    pub base_url: Option<String>,
    /// OAuth2 token endpoint (client credentials).
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    /// Prefer the `CRT_VIATRAJECTOIRE_CLIENT_SECRET` environment variable.
    pub client_secret: Option<String>,
    /// IGC-Santé ORG AUTH_CLI certificate and key of the legal entity (mutual TLS).
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub trust: Option<PathBuf>,
    pub crl: Option<PathBuf>,
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
            base_url: None,
            token_url: None,
            client_id: None,
            client_secret: None,
            client_certificate: None,
            client_key: None,
            trust: None,
            crl: None,
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
