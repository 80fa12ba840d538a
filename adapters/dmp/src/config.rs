//! The `[sinks.dmp]` configuration block.

use std::path::PathBuf;
use std::time::Duration;

use crt_core::sink::RetryPolicy;
use crt_core::tls::IdentityFiles;
use serde::{Deserialize, Serialize};

use crate::vihf::VihfVersion;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DmpConfig {
    pub enabled: bool,
    /// Base URL of the DMP: ITI-41 and ITI-43 at `/repository`, ITI-18 at `/registry`.
    pub endpoint: Option<String>,
    /// CA bundle of the DMP's server certificate.
    pub trust: Option<PathBuf>,
    /// The structure's authentication certificate (ORG AUTH_CLI) and key, for mutual TLS.
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// The structure's signature certificate (ORG SIGN) and key: VIHF and submission-set
    /// signature.
    pub signing_certificate: Option<PathBuf>,
    pub signing_key: Option<PathBuf>,
    pub vihf_version: VihfVersion,
    /// `LPS_ID` (this installation) and `LPS_ID_HOMOLOGATION_DMP` (the DMP homologation
    /// number of the software).
    pub lps_id: String,
    pub homologation: String,
    /// OID under which the structure's documents are identified; derived from its FINESS
    /// (`2.25.…`) when absent.
    pub oid_root: Option<String>,
    /// Add the submission-set signature (XAdES) to each submission.
    pub sign_submission: bool,
    pub max_answer_bytes: usize,
    pub retry: RetryPolicy,
}

impl Default for DmpConfig {
    fn default() -> Self {
        DmpConfig {
            enabled: true,
            endpoint: None,
            trust: None,
            client_certificate: None,
            client_key: None,
            signing_certificate: None,
            signing_key: None,
            vihf_version: VihfVersion::V3,
            lps_id: "crt-gateway-1".into(),
            homologation: "SANDBOX-HOMOLOGATION".into(),
            oid_root: None,
            sign_submission: true,
            max_answer_bytes: 16 * 1024 * 1024,
            retry: RetryPolicy {
                max_attempts: 8,
                initial_backoff: Duration::from_secs(5),
                max_backoff: Duration::from_secs(600),
                timeout: Duration::from_secs(60),
            },
        }
    }
}

impl DmpConfig {
    pub fn identity(&self) -> Option<IdentityFiles> {
        Some(IdentityFiles {
            certificate: self.client_certificate.clone()?,
            key: self.client_key.clone()?,
        })
    }
}
