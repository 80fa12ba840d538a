//! The gateway as a Pro Santé Connect relying party: who presents a PSC access token, and
//! the login of the web page (authorization code with PKCE).
//!
//! An access token is believed once its signature verifies with a key of the provider's
//! JWKS, its issuer is the configured one, it is still valid and it was issued to a client
//! the configuration accepts; the professional's profession and structures then come from
//! the provider's userinfo, asked with that token. Both answers are kept for a short while
//! (never past the token's expiry), so that a professional's successive calls cost a
//! signature check and a table look-up.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crt_core::http::{HttpError, HttpsClient};
use crt_core::oauth::form;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jwt::{self, Jwks, JwtError};
use crate::userinfo::{IdentityError, Professional, UserInfo};

/// The PSC block of the configuration (`[psc]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PscConfig {
    /// Accept PSC access tokens on the API and offer the PSC login on `/ui/`.
    pub enabled: bool,
    /// The provider's issuer: `https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet`
    /// in production. Absent with the sandbox on: its simulator.
    pub issuer: Option<String>,
    /// The authorization endpoint, on the wallet host:
    /// `https://wallet.esw.esante.gouv.fr/auth` in production.
    pub authorization_endpoint: Option<String>,
    /// Default `<issuer>/protocol/openid-connect/token` (likewise `userinfo`, `certs`).
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    /// The gateway's client at PSC (for the login of `/ui/`).
    pub client_id: Option<String>,
    /// Prefer the `CRT_PSC_CLIENT_SECRET` environment variable.
    pub client_secret: Option<String>,
    /// Clients whose access tokens the API accepts besides `client_id` (the DUIs that log
    /// their users in with PSC and call the gateway with their token).
    pub accepted_clients: Vec<String>,
    /// CA bundle of the provider's server certificate.
    pub trust: Option<PathBuf>,
    pub scope: String,
    pub acr_values: String,
    /// How long a verified token's professional is kept (never past the token's expiry).
    pub identity_cache_seconds: u64,
    pub timeout_ms: u64,
}

impl Default for PscConfig {
    fn default() -> Self {
        PscConfig {
            enabled: false,
            issuer: None,
            authorization_endpoint: None,
            token_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            client_id: None,
            client_secret: None,
            accepted_clients: Vec::new(),
            trust: None,
            scope: "openid scope_all".into(),
            acr_values: "eidas1".into(),
            identity_cache_seconds: 60,
            timeout_ms: 5_000,
        }
    }
}

/// The environment variable that holds the client secret instead of the file.
pub const SECRET_VARIABLE: &str = "CRT_PSC_CLIENT_SECRET";

/// Why a token or a login is not accepted. Each says why, for the 401 answer.
#[derive(Debug, thiserror::Error)]
pub enum PscError {
    #[error("psc.{0} is required")]
    Missing(&'static str),
    #[error("PSC TLS set-up: {0}")]
    Tls(String),
    #[error("the PSC token is not valid: {0}")]
    Token(#[from] JwtError),
    #[error("the PSC token was issued by {0:?}, not by the configured provider")]
    ForeignIssuer(String),
    #[error("the PSC token expired at {0} (UNIX time)")]
    Expired(i64),
    #[error("the PSC token is not valid before {0} (UNIX time)")]
    NotYetValid(i64),
    #[error("the PSC token was issued to client {0:?}, which this gateway does not accept")]
    ForeignClient(String),
    #[error("the PSC login's nonce does not match the one sent")]
    Nonce,
    #[error("the PSC identity is not usable: {0}")]
    Identity(#[from] IdentityError),
    #[error("Pro Santé Connect refused: {status} {body}")]
    Refused { status: u16, body: String },
    #[error("Pro Santé Connect could not be reached: {0}")]
    Unavailable(#[from] HttpError),
    #[error("Pro Santé Connect answered something that is not {0}")]
    Answer(&'static str),
}

impl PscError {
    /// Whether the failure is the provider's, not the token's: the caller may try again.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, PscError::Unavailable(_))
            || matches!(self, PscError::Refused { status, .. } if *status >= 500)
    }
}

/// Seconds of clock difference tolerated between the provider and the gateway.
const LEEWAY: i64 = 30;
/// The JWKS is fetched again for an unknown key id at most this often.
const JWKS_REFRESH: Duration = Duration::from_secs(30);
/// Verified tokens kept at most; the table is emptied when it is full.
const MAX_CACHED: usize = 10_000;

struct Endpoints {
    issuer: String,
    authorization: String,
    token: String,
    userinfo: String,
    jwks: String,
}

pub struct Provider {
    endpoints: Endpoints,
    client_id: String,
    client_secret: Option<String>,
    accepted_clients: Vec<String>,
    scope: String,
    acr_values: String,
    cache_for: Duration,
    http: HttpsClient,
    keys: RwLock<(Jwks, Option<Instant>)>,
    verified: Mutex<HashMap<[u8; 32], (Professional, Instant)>>,
}

/// What a login yields: the professional and their access token.
#[derive(Debug, Clone)]
pub struct Login {
    pub professional: Professional,
    pub access_token: String,
    /// When the access token expires (UNIX time).
    pub expires_at: i64,
}

impl Provider {
    pub fn new(config: &PscConfig) -> Result<Provider, PscError> {
        let issuer = config
            .issuer
            .as_deref()
            .ok_or(PscError::Missing("issuer"))?
            .trim_end_matches('/')
            .to_string();
        let under_issuer = |given: &Option<String>, path: &str| {
            given
                .clone()
                .unwrap_or_else(|| format!("{issuer}/protocol/openid-connect/{path}"))
        };
        let endpoints = Endpoints {
            authorization: config
                .authorization_endpoint
                .clone()
                .ok_or(PscError::Missing("authorization_endpoint"))?,
            token: under_issuer(&config.token_endpoint, "token"),
            userinfo: under_issuer(&config.userinfo_endpoint, "userinfo"),
            jwks: under_issuer(&config.jwks_uri, "certs"),
            issuer,
        };
        let client_id = config
            .client_id
            .clone()
            .ok_or(PscError::Missing("client_id"))?;
        let trust = config.trust.as_deref().ok_or(PscError::Missing("trust"))?;
        let tls =
            crt_core::tls::client_config(trust, None).map_err(|e| PscError::Tls(e.to_string()))?;
        let client_secret = std::env::var(SECRET_VARIABLE)
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| config.client_secret.clone());
        let mut accepted_clients = config.accepted_clients.clone();
        accepted_clients.push(client_id.clone());
        Ok(Provider {
            endpoints,
            client_id,
            client_secret,
            accepted_clients,
            scope: config.scope.clone(),
            acr_values: config.acr_values.clone(),
            cache_for: Duration::from_secs(config.identity_cache_seconds),
            http: HttpsClient::new(tls, Duration::from_millis(config.timeout_ms), 256 * 1024),
            keys: RwLock::new((Jwks::default(), None)),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// The professional a PSC access token stands for.
    pub async fn professional(&self, access_token: &str) -> Result<Professional, PscError> {
        let digest = token_digest(access_token);
        if let Ok(cache) = self.verified.lock()
            && let Some((professional, until)) = cache.get(&digest)
            && Instant::now() < *until
        {
            return Ok(professional.clone());
        }
        let claims = self.verified_claims(access_token).await?;
        let azp = text(&claims, "azp")
            .or_else(|| text(&claims, "client_id"))
            .unwrap_or_default();
        if !self.accepted_clients.iter().any(|c| c == azp) {
            return Err(PscError::ForeignClient(azp.to_string()));
        }
        let info = self.userinfo(access_token).await?;
        let professional = info.professional(text(&claims, "acr").unwrap_or_default())?;
        if let Some(named) = text(&claims, "preferred_username")
            && named != professional.id_nat_ps
        {
            return Err(IdentityError::SubjectMismatch(
                professional.id_nat_ps.clone(),
                named.to_string(),
            )
            .into());
        }
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        let left = Duration::from_secs((exp - now()).max(0) as u64);
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(
                digest,
                (
                    professional.clone(),
                    Instant::now() + left.min(self.cache_for),
                ),
            );
        }
        Ok(professional)
    }

    /// The claims of a token signed by the provider, issued by it, and valid now.
    async fn verified_claims(&self, token: &str) -> Result<Map<String, Value>, PscError> {
        let unverified = jwt::decode(token)?;
        let kid = unverified.header.kid.clone().unwrap_or_default();
        let known = self
            .keys
            .read()
            .map(|keys| {
                keys.0
                    .keys
                    .iter()
                    .any(|k| k.kid.as_deref().unwrap_or_default() == kid)
            })
            .unwrap_or(false);
        if !known {
            self.refresh_keys().await?;
        }
        let keys = self.keys.read().map(|k| k.0.clone()).unwrap_or_default();
        let claims = unverified.verify(&keys)?;
        let issuer = text(&claims, "iss").unwrap_or_default();
        if issuer != self.endpoints.issuer {
            return Err(PscError::ForeignIssuer(issuer.to_string()));
        }
        let now = now();
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp + LEEWAY > now => {}
            Some(exp) => return Err(PscError::Expired(exp)),
            None => return Err(PscError::Expired(0)),
        }
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
            && nbf - LEEWAY > now
        {
            return Err(PscError::NotYetValid(nbf));
        }
        Ok(claims)
    }

    /// Fetches the provider's keys, unless they were fetched a moment ago.
    async fn refresh_keys(&self) -> Result<(), PscError> {
        let recent = self
            .keys
            .read()
            .map(|k| k.1.is_some_and(|at| at.elapsed() < JWKS_REFRESH))
            .unwrap_or(false);
        if recent {
            return Ok(());
        }
        let answer = self
            .http
            .send(
                Method::GET,
                &self.endpoints.jwks,
                &[("accept", "application/json")],
                Bytes::new(),
            )
            .await?;
        if !answer.status.is_success() {
            return Err(refused(answer.status.as_u16(), &answer.body));
        }
        let keys: Jwks =
            serde_json::from_slice(&answer.body).map_err(|_| PscError::Answer("a JWKS"))?;
        if let Ok(mut held) = self.keys.write() {
            *held = (keys, Some(Instant::now()));
        }
        Ok(())
    }

    async fn userinfo(&self, access_token: &str) -> Result<UserInfo, PscError> {
        let bearer = format!("Bearer {access_token}");
        let answer = self
            .http
            .send(
                Method::GET,
                &self.endpoints.userinfo,
                &[("authorization", &bearer), ("accept", "application/json")],
                Bytes::new(),
            )
            .await?;
        if !answer.status.is_success() {
            return Err(refused(answer.status.as_u16(), &answer.body));
        }
        serde_json::from_slice(&answer.body).map_err(|_| PscError::Answer("a userinfo document"))
    }

    /// Where to send the browser to log in.
    pub fn authorization_url(&self, redirect_uri: &str, request: &LoginRequest) -> String {
        let query = form(&[
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", &self.scope),
            ("acr_values", &self.acr_values),
            ("state", &request.state),
            ("nonce", &request.nonce),
            ("code_challenge", &request.challenge()),
            ("code_challenge_method", "S256"),
        ]);
        let separator = if self.endpoints.authorization.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}{query}", self.endpoints.authorization)
    }

    /// Ends a login: the code exchanged (with the PKCE verifier), the ID token checked
    /// (signature, issuer, audience, nonce), the professional read from the access token.
    pub async fn complete_login(
        &self,
        code: &str,
        redirect_uri: &str,
        request: &LoginRequest,
    ) -> Result<Login, PscError> {
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.client_id.as_str()),
            ("code_verifier", request.verifier.as_str()),
        ];
        if let Some(secret) = &self.client_secret {
            fields.push(("client_secret", secret));
        }
        let answer = self
            .http
            .post(
                &self.endpoints.token,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("accept", "application/json"),
                ],
                Bytes::from(form(&fields)),
            )
            .await?;
        if !answer.status.is_success() {
            return Err(refused(answer.status.as_u16(), &answer.body));
        }
        #[derive(Deserialize)]
        struct Tokens {
            access_token: String,
            id_token: String,
        }
        let tokens: Tokens = serde_json::from_slice(&answer.body)
            .map_err(|_| PscError::Answer("a token response"))?;
        let id = self.verified_claims(&tokens.id_token).await?;
        let audience_is_us = match id.get("aud") {
            Some(Value::String(aud)) => *aud == self.client_id,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&self.client_id)),
            _ => false,
        };
        if !audience_is_us {
            return Err(PscError::ForeignClient(
                id.get("aud").map(Value::to_string).unwrap_or_default(),
            ));
        }
        if text(&id, "nonce") != Some(request.nonce.as_str()) {
            return Err(PscError::Nonce);
        }
        let professional = self.professional(&tokens.access_token).await?;
        let expires_at = jwt::decode(&tokens.access_token)
            .ok()
            .and_then(|t| t.claims.get("exp").and_then(Value::as_i64))
            .unwrap_or_else(now);
        Ok(Login {
            professional,
            access_token: tokens.access_token,
            expires_at,
        })
    }
}

/// One login in progress: what the browser's return is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub state: String,
    pub nonce: String,
    /// The PKCE code verifier (RFC 7636): 43 characters of the unreserved set.
    pub verifier: String,
}

impl LoginRequest {
    pub fn new() -> std::io::Result<LoginRequest> {
        Ok(LoginRequest {
            state: random_text()?,
            nonce: random_text()?,
            verifier: random_text()?,
        })
    }

    /// The S256 code challenge of the verifier.
    pub fn challenge(&self) -> String {
        pkce_challenge(&self.verifier)
    }
}

/// BASE64URL(SHA-256(verifier)), RFC 7636 §4.2.
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine;
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// 256 random bits, base64url: 43 characters.
fn random_text() -> std::io::Result<String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn token_digest(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

fn refused(status: u16, body: &[u8]) -> PscError {
    PscError::Refused {
        status,
        body: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::simulator::PscSimulator;
    use crt_core::record::Profession;
    use crt_core::simulate::layout;

    const CLIENT: (&str, &str) = ("crt-gateway-sandbox", "sandbox-secret");

    async fn simulator_and_provider() -> (PscSimulator, Provider) {
        crt_core::tls::install_default_provider();
        let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example");
        let simulator = PscSimulator::start(
            "127.0.0.1:0".parse().unwrap(),
            &pki,
            vec![
                (CLIENT.0.into(), CLIENT.1.into()),
                ("dui-partner".into(), "dui-secret".into()),
            ],
        )
        .await
        .expect("the simulator");
        let provider = Provider::new(&PscConfig {
            enabled: true,
            issuer: Some(simulator.issuer()),
            authorization_endpoint: Some(simulator.authorization_endpoint()),
            client_id: Some(CLIENT.0.into()),
            client_secret: Some(CLIENT.1.into()),
            trust: Some(pki.join(layout::CHAIN)),
            ..PscConfig::default()
        })
        .expect("the provider");
        (simulator, provider)
    }

    #[tokio::test]
    async fn a_login_with_pkce_yields_the_professional_psc_describes() {
        let (simulator, provider) = simulator_and_provider().await;
        let request = LoginRequest::new().unwrap();
        let redirect = "https://localhost:8443/ui/login/callback";
        let url = format!(
            "{}&login_hint=810003456786",
            provider.authorization_url(redirect, &request)
        );
        let location = provider.redirect_of(&url).await.expect("a redirection");
        let query = location.split_once('?').unwrap().1;
        let fields: HashMap<String, String> =
            crt_core::oauth::parse_form(query).into_iter().collect();
        assert_eq!(fields["state"], request.state);

        // Another verifier is refused: PKCE binds the code to this login.
        let mut stolen = request.clone();
        stolen.verifier = LoginRequest::new().unwrap().verifier;
        let refused = provider
            .complete_login(&fields["code"], redirect, &stolen)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("PKCE"), "{refused}");

        let answer = provider.redirect_of(&url).await.expect("a second login");
        let query = answer.split_once('?').unwrap().1;
        let fields: HashMap<String, String> =
            crt_core::oauth::parse_form(query).into_iter().collect();
        let login = provider
            .complete_login(&fields["code"], redirect, &request)
            .await
            .expect("the login");
        assert_eq!(login.professional.id_nat_ps, "810003456786");
        assert_eq!(login.professional.profession, Profession::Nurse);
        assert_eq!(login.professional.assurance.describe(), "eidas1/MOBILE");
        // The code was used: a second exchange is refused.
        assert!(
            provider
                .complete_login(&fields["code"], redirect, &request)
                .await
                .is_err()
        );
        simulator.stop();
    }

    #[tokio::test]
    async fn access_tokens_are_checked_for_expiry_client_and_signature() {
        let (simulator, provider) = simulator_and_provider().await;
        let token = simulator
            .access_token("810006789019", CLIENT.0, 120)
            .unwrap();
        let professional = provider.professional(&token).await.unwrap();
        assert_eq!(professional.profession, Profession::Coordinator);
        // Kept: the second call does not ask the provider again.
        assert_eq!(provider.professional(&token).await.unwrap(), professional);

        let expired = simulator
            .access_token("810006789019", CLIENT.0, -600)
            .unwrap();
        assert!(matches!(
            provider.professional(&expired).await,
            Err(PscError::Expired(_))
        ));
        let foreign = simulator
            .access_token("810006789019", "dui-partner", 120)
            .unwrap();
        assert!(matches!(
            provider.professional(&foreign).await,
            Err(PscError::ForeignClient(_))
        ));
        let mut forged = token.clone();
        forged.truncate(token.len() - 4);
        forged.push_str("AAAA");
        assert!(matches!(
            provider.professional(&forged).await,
            Err(PscError::Token(JwtError::BadSignature))
        ));
        simulator.stop();
    }

    impl Provider {
        /// GETs `url` and returns where it redirects to.
        async fn redirect_of(&self, url: &str) -> Option<String> {
            let answer = self
                .http
                .send(Method::GET, url, &[], Bytes::new())
                .await
                .ok()?;
            answer.location
        }
    }
}
