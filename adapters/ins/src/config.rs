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
    /// Each structure's INSi certificate. The teleservice knows a structure by it, and the
    /// context headers name the structure it is for as `Emetteur`: a gateway serving
    /// several CRTs checks each one's beneficiaries with that CRT's own certificate.
    pub structures: Vec<InsStructure>,
    /// The software's authorisation number (IDAM) given by the CNAM.
    pub idam: String,
    pub software_name: String,
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
            structures: Vec::new(),
            idam: "SANDBOX-IDAM".into(),
            software_name: "crt-gateway".into(),
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

/// One structure's INSi certificate (an IGC-Santé organisation certificate whose CN is
/// `INSI-AUTO`, its subject OU the structure's idNat_Struct), PEM, followed by its
/// intermediate, and its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsStructure {
    pub client_certificate: PathBuf,
    pub client_key: PathBuf,
}

impl InsStructure {
    pub fn identity(&self) -> IdentityFiles {
        IdentityFiles {
            certificate: self.client_certificate.clone(),
            key: self.client_key.clone(),
        }
    }
}
