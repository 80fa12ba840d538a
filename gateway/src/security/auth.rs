//! Caller authentication: a client certificate verified by the TLS handshake (the calling
//! structure is read from it), or a bearer token from the configuration. Anonymous calls
//! are refused except the health probes, unless the configuration allows them.

use crt_core::simulate::Peer;
use http::HeaderMap;

use super::actor::Actor;
use crate::config::{ApiToken, AuthConfig};

/// Who called, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `certificate:<CN>`, `token:<name>` or `anonymous`.
    pub principal: String,
    /// The calling structure (idNat_Struct), from its certificate or its token.
    pub structure: Option<String>,
    pub actor: Actor,
}

/// Why a call is refused before it reaches a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials, or unknown ones: 401.
    Unauthenticated(String),
    /// Credentials, but the request does not name its actor properly: 400.
    Actor(String),
}

pub struct Authenticator {
    tokens: Vec<ApiToken>,
    allow_anonymous: bool,
}

/// Where the sandbox keeps its API token, in the data directory.
pub const SANDBOX_TOKEN_FILE: &str = "sandbox-api-token";
/// Where the sandbox keeps the token of its operator (for `/ui/`).
pub const SANDBOX_OPERATOR_TOKEN_FILE: &str = "sandbox-operator-token";

/// A new random token (256 bits, hex).
pub fn new_token() -> std::io::Result<String> {
    crate::digest::random_hex_32()
}

/// The sandbox's token in `data_dir`, made on first use: the default run's CLI and demo
/// find it there, so that `cargo run` works with authentication on.
pub fn sandbox_token(data_dir: &std::path::Path) -> std::io::Result<String> {
    kept_token(&data_dir.join(SANDBOX_TOKEN_FILE))
}

/// The sandbox operator's token in `data_dir`, made on first use: what `/ui/` asks for.
pub fn sandbox_operator_token(data_dir: &std::path::Path) -> std::io::Result<String> {
    kept_token(&data_dir.join(SANDBOX_OPERATOR_TOKEN_FILE))
}

fn kept_token(path: &std::path::Path) -> std::io::Result<String> {
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::audit::write_private(path, new_token()?.as_bytes())?;
    }
    Ok(std::fs::read_to_string(path)?.trim().to_string())
}

/// The SHA-256 (hex) a token is configured by.
pub fn token_digest(token: &str) -> String {
    crate::digest::sha256_hex(token.trim().as_bytes())
}

impl Authenticator {
    pub fn new(config: &AuthConfig, extra: Vec<ApiToken>) -> Self {
        let mut tokens = config.tokens.clone();
        tokens.extend(extra);
        for token in &mut tokens {
            token.sha256 = token.sha256.to_ascii_lowercase();
        }
        Authenticator {
            tokens,
            allow_anonymous: config.allow_anonymous,
        }
    }

    fn token(&self, headers: &HeaderMap) -> Result<Option<&ApiToken>, Refusal> {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Ok(None);
        };
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Refusal::Unauthenticated("Authorization: expected `Bearer <token>`".into())
            })?;
        let digest = token_digest(presented);
        self.tokens
            .iter()
            .find(|t| t.sha256 == digest)
            .map(Some)
            .ok_or_else(|| Refusal::Unauthenticated("the bearer token is not known".into()))
    }

    /// The caller of a request that arrived over `peer`'s connection.
    pub fn authenticate(&self, headers: &HeaderMap, peer: &Peer) -> Result<Caller, Refusal> {
        let named = Actor::from_headers(headers).map_err(Refusal::Actor)?;
        let token = self.token(headers)?;
        let (principal, structure, default_actor) = if peer.certificate.is_some() {
            (
                format!(
                    "certificate:{}",
                    peer.common_name().unwrap_or_else(|| "?".into())
                ),
                peer.id_nat_struct(),
                None,
            )
        } else if let Some(token) = token {
            (
                format!("token:{}", token.name),
                token.structure.clone(),
                match token.actor.as_deref() {
                    Some("automate") => Some(Actor::Automate),
                    Some("operator") => Some(Actor::Operator),
                    _ => None,
                },
            )
        } else if self.allow_anonymous {
            ("anonymous".to_string(), None, None)
        } else {
            return Err(Refusal::Unauthenticated(
                "present a client certificate or an `Authorization: Bearer` token".into(),
            ));
        };
        let actor = named.or(default_actor).ok_or_else(|| {
            Refusal::Actor(format!(
                "name the professional acting: {} and {} (and {})",
                super::actor::ACTOR_ID,
                super::actor::ACTOR_PROFESSION,
                super::actor::ACTOR_ROLE
            ))
        })?;
        Ok(Caller {
            principal,
            structure,
            actor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::test_headers as headers;

    fn authenticator() -> Authenticator {
        Authenticator::new(
            &AuthConfig::default(),
            vec![ApiToken {
                name: "dui".into(),
                sha256: token_digest("secret-token"),
                structure: Some("1720004563".into()),
                actor: Some("automate".into()),
            }],
        )
    }

    #[test]
    fn anonymous_calls_are_refused() {
        let refusal = authenticator()
            .authenticate(&HeaderMap::new(), &Peer::default())
            .unwrap_err();
        assert!(matches!(refusal, Refusal::Unauthenticated(_)));
    }

    #[test]
    fn a_known_token_acts_as_its_system_unless_a_professional_is_named() {
        let auth = authenticator();
        let caller = auth
            .authenticate(
                &headers(&[("authorization", "Bearer secret-token")]),
                &Peer::default(),
            )
            .unwrap();
        assert_eq!(caller.principal, "token:dui");
        assert_eq!(caller.actor, Actor::Automate);
        let caller = auth
            .authenticate(
                &headers(&[
                    ("authorization", "Bearer secret-token"),
                    ("crt-actor-id", "810003456786"),
                    ("crt-actor-profession", "nurse"),
                ]),
                &Peer::default(),
            )
            .unwrap();
        assert!(matches!(caller.actor, Actor::Professional { .. }));
    }

    #[test]
    fn an_unknown_token_is_refused() {
        let refusal = authenticator()
            .authenticate(
                &headers(&[("authorization", "Bearer guess")]),
                &Peer::default(),
            )
            .unwrap_err();
        assert_eq!(
            refusal,
            Refusal::Unauthenticated("the bearer token is not known".into())
        );
    }
}
