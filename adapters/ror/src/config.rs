//! The `[ror]` block of `gateway.toml`: where the ROR is and how the gateway is known to
//! it.

use std::path::PathBuf;
use std::time::Duration;

use crt_core::oauth::FhirAccess;
use serde::{Deserialize, Serialize};

/// Values of the four `Ror-*` headers, given with the `client_id` when the software joins
/// the ROR's circle of trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RorHeaders {
    pub user_profile_code: String,
    pub user_profile_system: String,
    pub role_code: String,
    pub role_system: String,
}

impl Default for RorHeaders {
    /// The values the ROR documentation uses in its examples.
    fn default() -> Self {
        RorHeaders {
            user_profile_code: "CU22".into(),
            user_profile_system: "1.2.250.1.213.1.6.1.66".into(),
            role_code: "AUTOMATE".into(),
            role_system: "1.2.250.1.213.1.1.4.6".into(),
        }
    }
}

impl RorHeaders {
    /// As HTTP header pairs.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("Ror-Profil-Utilisateur-Code", &self.user_profile_code),
            ("Ror-Profil-Utilisateur-System", &self.user_profile_system),
            ("Ror-Role-Metier-Code", &self.role_code),
            ("Ror-Role-Metier-System", &self.role_system),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RorConfig {
    /// Where the ROR is (`…/fhir`) and how the gateway is known to it (the secret: prefer
    /// the `CRT_ROR_CLIENT_SECRET` environment variable). A client certificate is needed
    /// only for the access profiles (1 to 5) that require mutual TLS.
    #[serde(flatten)]
    pub access: FhirAccess,
    pub headers: RorHeaders,
    /// The ROR's capacity API ("patch capacitaire"), which has its own address and, in
    /// production, its own client (a second IGC-Santé certificate, the "fournisseur" one).
    pub capacity: CapacityConfig,
    #[serde(with = "crt_core::sink::millis")]
    pub timeout: Duration,
    pub max_answer_bytes: usize,
}

impl Default for RorConfig {
    fn default() -> Self {
        RorConfig {
            access: FhirAccess::default(),
            headers: RorHeaders::default(),
            capacity: CapacityConfig::default(),
            timeout: Duration::from_secs(30),
            max_answer_bytes: 8 * 1024 * 1024,
        }
    }
}

/// `[ror.capacity]`: where the capacity API is and how the gateway is known to it; each
/// value left out is the one of `[ror]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapacityConfig {
    /// Base URL of the capacity API (`…/ws-synchro-dispo-lits-fhir`).
    pub base_url: Option<String>,
    pub client_id: Option<String>,
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}
