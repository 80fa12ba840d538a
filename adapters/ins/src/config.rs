//! The `[sinks.ins]` configuration block.

use std::path::PathBuf;
use std::time::Duration;

use crt_core::sink::RetryPolicy;
use crt_core::tls::IdentityFiles;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InsConfig {
    pub enabled: bool,
    /// URL of the INSi teleservice. In the sandbox, the simulator's.
    pub endpoint: Option<String>,
    /// CA bundle the teleservice's server certificate must chain to (IGC-Santé).
    pub trust: Option<PathBuf>,
    /// The structure's certificate for the INSi (CN `INSI-AUTO` or `INSI-MANU`), PEM,
    /// followed by its intermediate.
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// The software's authorisation number (IDAM) given by the CNAM.
    pub idam: String,
    pub software_name: String,
    /// `Emetteur` of the context headers.
    pub emitter: String,
    /// `Instance` of the LPS context: this installation, a UUID (one per installation; the
    /// default names no installation in particular and should be replaced in production).
    pub instance: String,
    /// Largest answer accepted, in bytes.
    pub max_answer_bytes: usize,
    pub retry: RetryPolicy,
}

impl Default for InsConfig {
    fn default() -> Self {
        InsConfig {
            enabled: true,
            endpoint: None,
            trust: None,
            client_certificate: None,
            client_key: None,
            idam: "SANDBOX-IDAM".into(),
            software_name: "crt-gateway".into(),
            emitter: "crt-gateway".into(),
            instance: "6f1b2c2e-5c7a-4f3e-9d0b-2a8e4c1d7b90".into(),
            max_answer_bytes: 256 * 1024,
            retry: RetryPolicy {
                max_attempts: 6,
                initial_backoff: Duration::from_secs(2),
                max_backoff: Duration::from_secs(300),
                timeout: Duration::from_secs(20),
            },
        }
    }
}

impl InsConfig {
    /// The client identity, when both files are configured.
    pub fn identity(&self) -> Option<IdentityFiles> {
        Some(IdentityFiles {
            certificate: self.client_certificate.clone()?,
            key: self.client_key.clone()?,
        })
    }
}
