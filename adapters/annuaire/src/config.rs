//! The `[sinks.directory]` configuration block.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crt_core::sink::RetryPolicy;
use serde::{Deserialize, Serialize};

/// The Annuaire Santé FHIR API, version 2. ANS runs no sandbox: this is the only public
/// instance, serving the directory's public data.
pub const PRODUCTION_BASE_URL: &str = "https://gateway.api.esante.gouv.fr/fhir/v2";

/// The environment variable that holds the API key; preferred to `api_key` when set, so
/// that the key stays out of configuration files.
pub const API_KEY_VARIABLE: &str = "CRT_ANNUAIRE_API_KEY";

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnnuaireConfig {
    pub enabled: bool,
    /// FHIR base URL of the Annuaire Santé API ([`PRODUCTION_BASE_URL`] in production).
    /// In the sandbox, the simulator's.
    pub base_url: Option<String>,
    /// The key of the application subscribed to "API Annuaire Santé en libre accès" on the
    /// ANS API portal, sent as `ESANTE-API-KEY`; prefer [`API_KEY_VARIABLE`].
    pub api_key: Option<String>,
    /// CA bundle the API's server certificate must chain to.
    pub trust: Option<PathBuf>,
    /// How long an answer is kept, a practitioner the directory does not know included:
    /// the directory changes daily at most, and each record of a care circle would
    /// otherwise ask again for the same professionals. 0 keeps nothing.
    pub cache_seconds: u64,
    /// Time allowed for one search, in milliseconds.
    pub timeout_ms: u64,
    pub retry: RetryPolicy,
}

impl AnnuaireConfig {
    /// The time allowed for one search.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The API key to use: the environment's, else the section's.
    pub fn resolved_api_key(&self) -> Option<String> {
        std::env::var(API_KEY_VARIABLE)
            .ok()
            .filter(|key| !key.is_empty())
            .or_else(|| self.api_key.clone())
    }
}

impl Default for AnnuaireConfig {
    fn default() -> Self {
        AnnuaireConfig {
            enabled: true,
            base_url: None,
            api_key: None,
            trust: None,
            cache_seconds: 86_400,
            timeout_ms: 5_000,
            // The check never fails for an outage (members are reported "not checked"),
            // so retries only cover what cannot be helped here; one attempt may ask for
            // every member of a large care circle.
            retry: RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_secs(5),
                max_backoff: Duration::from_secs(300),
                timeout: Duration::from_secs(60),
            },
        }
    }
}

/// The API key is a credential: it is left out of debug output.
impl fmt::Debug for AnnuaireConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnnuaireConfig")
            .field("enabled", &self.enabled)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<hidden>"))
            .field("trust", &self.trust)
            .field("cache_seconds", &self.cache_seconds)
            .field("timeout_ms", &self.timeout_ms)
            .field("retry", &self.retry)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let config: AnnuaireConfig = serde_json::from_str("{}").expect("defaults");
        assert!(config.enabled);
        assert_eq!(config.cache_seconds, 86_400);
        assert_eq!(config.timeout(), Duration::from_secs(5));
        assert!(serde_json::from_str::<AnnuaireConfig>(r#"{"cache": 1}"#).is_err());
    }

    #[test]
    fn the_key_stays_out_of_debug_output() {
        let config = AnnuaireConfig {
            api_key: Some("secret-key-value".into()),
            ..AnnuaireConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("secret-key-value"));
        assert!(shown.contains("<hidden>"));
    }
}
