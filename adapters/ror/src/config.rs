//! The `[ror]` block of `gateway.toml`: where the ROR is and how the gateway is known to
//! it.

use std::path::PathBuf;
use std::time::Duration;

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
    /// FHIR base URL of the ROR (`…/fhir`). Absent: the sandbox's simulator.
    pub base_url: Option<String>,
    /// OAuth2 token endpoint (client credentials grant).
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    /// The client secret; prefer the `CRT_ROR_CLIENT_SECRET` environment variable.
    pub client_secret: Option<String>,
    /// IGC-Santé ORG AUTH_CLI certificate and key, for the access profiles (1 to 5) that
    /// require mutual TLS.
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// CA bundle of the ROR's server certificate, and an optional CRL.
    pub trust: Option<PathBuf>,
    pub crl: Option<PathBuf>,
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
            base_url: None,
            token_url: None,
            client_id: None,
            client_secret: None,
            client_certificate: None,
            client_key: None,
            trust: None,
            crl: None,
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
