//! The `[sinks.dmp]` configuration block.

use std::path::PathBuf;
use std::time::Duration;

use crt_core::sink::RetryPolicy;
use crt_core::tls::{IdentityFiles, OrganisationCertificates};
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
    /// The certificates of each structure the gateway feeds the DMP for. The DMP knows a
    /// structure by the certificate it authenticates with, so each CRT brings its own; the
    /// structure an entry serves is read from its certificates.
    pub structures: Vec<StructureCertificates>,
    /// `xds`: ITI-41 (SOAP, MTOM, VIHF, submission-set signature), what the DMP takes;
    /// `mhd`: ITI-65 (FHIR PDSm bundle to `<endpoint>/fhir`), for recipients that take FHIR.
    pub transport: Transport,
    pub vihf_version: VihfVersion,
    /// How long a signed VIHF is reused for requests that state the same (structure,
    /// acting person and roles, patient, mode), in seconds: 300 by default, at most half
    /// the assertion's hour of validity; 0 signs one for each request.
    pub vihf_reuse_seconds: u64,
    /// `LPS_ID` (this installation) and `LPS_ID_HOMOLOGATION_DMP` (the DMP homologation
    /// number of the software).
    pub lps_id: String,
    pub homologation: String,
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
            structures: Vec::new(),
            transport: Transport::Xds,
            vihf_version: VihfVersion::V3,
            vihf_reuse_seconds: 300,
            lps_id: "crt-gateway-1".into(),
            homologation: "SANDBOX-HOMOLOGATION".into(),
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

/// How documents travel to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Xds,
    Mhd,
}

/// One structure's certificates: authentication (ORG AUTH_CLI) for mutual TLS, signature
/// (ORG SIGN) for the VIHF and the submission-set signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructureCertificates {
    pub client_certificate: PathBuf,
    pub client_key: PathBuf,
    pub signing_certificate: PathBuf,
    pub signing_key: PathBuf,
    /// OID under which the structure's documents are identified; derived from its FINESS
    /// (`2.25.…`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid_root: Option<String>,
}

/// Certificates issued on demand: the document OIDs derive from the structure's FINESS.
impl From<OrganisationCertificates> for StructureCertificates {
    fn from(issued: OrganisationCertificates) -> Self {
        StructureCertificates {
            client_certificate: issued.authentication.certificate,
            client_key: issued.authentication.key,
            signing_certificate: issued.signing.certificate,
            signing_key: issued.signing.key,
            oid_root: None,
        }
    }
}

impl StructureCertificates {
    pub fn client_identity(&self) -> IdentityFiles {
        IdentityFiles {
            certificate: self.client_certificate.clone(),
            key: self.client_key.clone(),
        }
    }
}
