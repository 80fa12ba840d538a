//! OAuth2 client credentials (RFC 6749 §4.4) for the FHIR services that ask for a bearer
//! token (the ROR, ViaTrajectoire): one token at a time, asked for again a minute before it
//! expires, and the form and query encoding the exchange needs.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::http::{HttpError, HttpsClient};
use crate::tls::{self, IdentityFiles};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the token endpoint refused the client (HTTP {status}): {body}")]
    Refused { status: u16, body: String },
    #[error("the token endpoint's answer is not a token: {0}")]
    Answer(String),
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` pairs, also a query string.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes a form or query part (`+` is a space); invalid escapes are kept as written.
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| char::from(b).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push((high * 16 + low) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=2` → pairs, decoded.
pub fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// Where a FHIR service with OAuth2 is and how the gateway is known to it: the keys every
/// such service's configuration block takes (`[ror]`, `[sinks.viatrajectoire]`,
/// `[regions.<platform>]`), flattened into the block so that they are written at its top
/// level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FhirAccess {
    /// FHIR base URL. Absent: the sandbox's simulator.
    pub base_url: Option<String>,
    /// OAuth2 token endpoint (client credentials grant).
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    /// The client secret; prefer the service's environment variable
    /// (`CRT_ROR_CLIENT_SECRET`, `CRT_VIATRAJECTOIRE_CLIENT_SECRET`, `CRT_SPICO_CLIENT_SECRET`…).
    pub client_secret: Option<String>,
    /// IGC-Santé ORG AUTH_CLI certificate and key of the legal entity (mutual TLS).
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// CA bundle of the service's server certificate, and an optional CRL.
    pub trust: Option<PathBuf>,
    pub crl: Option<PathBuf>,
}

/// A service's [`FhirAccess`] with what its adapter knows of it: what connecting takes.
pub struct Access<'a> {
    /// The configuration block, for error messages (`ror`, `sinks.viatrajectoire`).
    pub section: &'static str,
    pub given: &'a FhirAccess,
    /// The environment variable that may hold the secret instead, preferred when set.
    pub secret_variable: &'static str,
    /// Whether the service requires mutual TLS.
    pub certificate_required: bool,
    pub timeout: Duration,
    pub max_answer_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{section}.{key} is required")]
    Missing {
        section: &'static str,
        key: &'static str,
    },
    #[error("TLS set-up: {0}")]
    Tls(String),
}

/// What talking to the service takes: its base URL, tokens, and an HTTPS client.
pub struct Connection {
    pub base: String,
    pub credentials: ClientCredentials,
    pub http: HttpsClient,
}

impl Access<'_> {
    pub fn connect(&self) -> Result<Connection, AccessError> {
        let missing = |key| AccessError::Missing {
            section: self.section,
            key,
        };
        let given = self.given;
        let base = given
            .base_url
            .as_deref()
            .ok_or_else(|| missing("base_url"))?;
        let token_url = given
            .token_url
            .as_deref()
            .ok_or_else(|| missing("token_url"))?;
        let client_id = given
            .client_id
            .as_deref()
            .ok_or_else(|| missing("client_id"))?;
        let client_secret = std::env::var(self.secret_variable)
            .ok()
            .filter(|secret| !secret.is_empty())
            .or_else(|| given.client_secret.clone());
        let trust = given.trust.as_deref().ok_or_else(|| missing("trust"))?;
        let identity = match (&given.client_certificate, &given.client_key) {
            (Some(certificate), Some(key)) => Some(IdentityFiles {
                certificate: certificate.clone(),
                key: key.clone(),
            }),
            _ if self.certificate_required => {
                return Err(missing("client_certificate and client_key"));
            }
            _ => None,
        };
        // Without a secret the client authenticates with its TLS certificate (RFC 8705
        // `tls_client_auth`, the ROR's access profiles 1 to 4): it needs one.
        if client_secret.is_none() && identity.is_none() {
            return Err(missing(
                "client_secret (or client_certificate and client_key)",
            ));
        }
        let tls = tls::client_config_for(
            &tls::Policy::standard(),
            trust,
            given.crl.as_deref(),
            identity.as_ref(),
        )
        .map_err(|e| AccessError::Tls(e.to_string()))?;
        Ok(Connection {
            base: base.trim_end_matches('/').to_string(),
            credentials: ClientCredentials::new(
                token_url.to_string(),
                client_id.to_string(),
                client_secret,
            ),
            http: HttpsClient::new(tls, self.timeout, self.max_answer_bytes),
        })
    }
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    #[serde(default = "Token::default_lifetime")]
    expires_in: u64,
}

impl Token {
    fn default_lifetime() -> u64 {
        300
    }
}

/// Tokens for one client at one token endpoint. Without a secret, the client is known by
/// the certificate of the mutual TLS connection the token is asked on (RFC 8705).
pub struct ClientCredentials {
    token_url: String,
    client_id: String,
    client_secret: Option<String>,
    cached: Mutex<Option<(String, Instant)>>,
}

impl ClientCredentials {
    pub fn new(token_url: String, client_id: String, client_secret: Option<String>) -> Self {
        ClientCredentials {
            token_url,
            client_id,
            client_secret,
            cached: Mutex::new(None),
        }
    }

    /// A valid access token: the cached one, or a new one.
    pub async fn token(&self, http: &HttpsClient) -> Result<String, TokenError> {
        if let Ok(guard) = self.cached.lock()
            && let Some((token, until)) = guard.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let mut fields = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
        ];
        if let Some(secret) = &self.client_secret {
            fields.push(("client_secret", secret));
        }
        let body = form(&fields);
        let answer = http
            .post(
                &self.token_url,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("accept", "application/json"),
                ],
                Bytes::from(body),
            )
            .await?;
        if !answer.status.is_success() {
            return Err(TokenError::Refused {
                status: answer.status.as_u16(),
                body: String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
                    .into_owned(),
            });
        }
        let token: Token =
            serde_json::from_slice(&answer.body).map_err(|e| TokenError::Answer(e.to_string()))?;
        let lifetime = Duration::from_secs(token.expires_in.saturating_sub(60).max(1));
        if let Ok(mut guard) = self.cached.lock() {
            *guard = Some((token.access_token.clone(), Instant::now() + lifetime));
        }
        Ok(token.access_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_round_trip() {
        let encoded = form(&[("identifier", "https://finess.esante.gouv.fr|720003011")]);
        assert_eq!(
            encoded,
            "identifier=https%3A%2F%2Ffiness.esante.gouv.fr%7C720003011"
        );
        assert_eq!(
            parse_form(&encoded),
            vec![(
                "identifier".to_string(),
                "https://finess.esante.gouv.fr|720003011".to_string()
            )]
        );
        assert_eq!(decode("a+b%2"), "a b%2");
    }
}
