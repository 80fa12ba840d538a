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
    /// `certificate:<CN>`, `token:<name>`, `psc:<idNat_PS>` or `anonymous`.
    pub principal: String,
    /// The calling structure (idNat_Struct), from its certificate or its token.
    pub structure: Option<String>,
    pub actor: Actor,
    /// How Pro Santé Connect authenticated the professional (`eidas1/CARD`), for the trace.
    pub assurance: Option<String>,
    /// The specialty (TRE_R01) of the exercise Pro Santé Connect gives, for the DMP's VIHF.
    pub specialty: Option<String>,
    /// When a system names the professional acting: the CRTs (FINESS ET, `*` for any)
    /// for whose beneficiaries it may.
    pub delegated_for: Option<Vec<String>>,
}

impl Caller {
    fn new(principal: String, structure: Option<String>, actor: Actor) -> Caller {
        Caller {
            principal,
            structure,
            actor,
            assurance: None,
            specialty: None,
            delegated_for: None,
        }
    }

    /// Who acts, as a step they take is signed: the professional's identifier, else the
    /// principal (a system, an operator).
    pub fn acting(&self) -> String {
        match &self.actor {
            Actor::Professional { id, .. } => id.clone(),
            _ => self.principal.clone(),
        }
    }

    /// Whether the caller may act for a beneficiary of the CRT `crt` (FINESS ET).
    pub fn may_act_for(&self, crt: &str) -> bool {
        self.delegated_for
            .as_ref()
            .is_none_or(|crts| crts.iter().any(|c| c == "*" || c == crt))
    }
}

/// Why a call is refused before it reaches a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials, or unknown or invalid ones: 401.
    Unauthenticated(String),
    /// Credentials, but the request does not name its actor properly: 400.
    Actor(String),
    /// The identity provider could not be asked: 503.
    Unavailable(String),
}

pub struct Authenticator {
    tokens: Vec<ApiToken>,
    allow_anonymous: bool,
    delegating_certificates: Vec<String>,
    psc: Option<std::sync::Arc<crt_psc::Provider>>,
    sessions: std::sync::Arc<super::session::Sessions>,
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
    pub fn new(
        config: &AuthConfig,
        extra: Vec<ApiToken>,
        psc: Option<std::sync::Arc<crt_psc::Provider>>,
        sessions: std::sync::Arc<super::session::Sessions>,
    ) -> Self {
        let mut tokens = config.tokens.clone();
        tokens.extend(extra);
        for token in &mut tokens {
            token.sha256 = token.sha256.to_ascii_lowercase();
        }
        Authenticator {
            tokens,
            allow_anonymous: config.allow_anonymous,
            delegating_certificates: config.delegating_certificates.clone(),
            psc,
            sessions,
        }
    }

    fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Refusal> {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Ok(None);
        };
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|token| Some(token.trim()))
            .ok_or_else(|| {
                Refusal::Unauthenticated("Authorization: expected `Bearer <token>`".into())
            })
    }

    /// The caller of a request that arrived over `peer`'s connection.
    pub async fn authenticate(&self, headers: &HeaderMap, peer: &Peer) -> Result<Caller, Refusal> {
        let named = Actor::from_headers(headers).map_err(Refusal::Actor)?;
        if peer.certificate.is_some() {
            return self.certificate_caller(peer, named);
        }
        let presented = match Self::bearer(headers)? {
            Some(presented) => presented,
            None => {
                if let Some(session) = self.sessions.of_request(headers) {
                    return professional_caller(session, named);
                }
                if self.allow_anonymous {
                    let actor = named.ok_or_else(name_the_actor)?;
                    return Ok(Caller::new("anonymous".into(), None, actor));
                }
                return Err(Refusal::Unauthenticated(
                    "present a client certificate, an `Authorization: Bearer` token (the gateway's or a Pro Santé Connect access token), or log in on /ui/".into(),
                ));
            }
        };
        let digest = token_digest(presented);
        if let Some(token) = self.tokens.iter().find(|t| t.sha256 == digest) {
            return token_caller(token, named);
        }
        if let Some(psc) = &self.psc
            && crt_psc::jwt::looks_like_jws(presented)
        {
            let professional = psc.professional(presented).await.map_err(|e| {
                if e.is_unavailable() {
                    Refusal::Unavailable(e.to_string())
                } else {
                    Refusal::Unauthenticated(e.to_string())
                }
            })?;
            return professional_caller(professional, named);
        }
        Err(Refusal::Unauthenticated(
            "the bearer token is not known".into(),
        ))
    }

    /// A client certificate acts as its structure's system, and names professionals only
    /// when its structure is declared a delegating one.
    fn certificate_caller(&self, peer: &Peer, named: Option<Actor>) -> Result<Caller, Refusal> {
        let structure = peer.id_nat_struct();
        let principal = format!(
            "certificate:{}",
            peer.common_name().unwrap_or_else(|| "?".into())
        );
        match named {
            None => Ok(Caller::new(principal, structure, Actor::Automate)),
            Some(actor)
                if structure
                    .as_ref()
                    .is_some_and(|s| self.delegating_certificates.contains(s)) =>
            {
                let mut caller = Caller::new(principal, structure, actor);
                caller.delegated_for = Some(vec!["*".into()]);
                Ok(caller)
            }
            Some(_) => Err(Refusal::Actor(format!(
                "this certificate acts as its structure's system ({}): it may not name a professional unless server.auth.delegating_certificates lists the structure",
                structure.as_deref().unwrap_or("no idNat_Struct")
            ))),
        }
    }
}

fn name_the_actor() -> Refusal {
    Refusal::Actor(format!(
        "name the professional acting: {} and {} (and {})",
        super::actor::ACTOR_ID,
        super::actor::ACTOR_PROFESSION,
        super::actor::ACTOR_ROLE
    ))
}

/// A token acts as what it is declared (a system, an operator); it names a professional
/// only when it is declared a delegating integration.
fn token_caller(token: &ApiToken, named: Option<Actor>) -> Result<Caller, Refusal> {
    let principal = format!("token:{}", token.name);
    let declared = match token.actor.as_deref() {
        Some("automate") => Some(Actor::Automate),
        Some("operator") => Some(Actor::Operator),
        _ => None,
    };
    match (named, declared) {
        (Some(actor), _) if !token.delegates_for.is_empty() => {
            let mut caller = Caller::new(principal, token.structure.clone(), actor);
            caller.delegated_for = Some(token.delegates_for.clone());
            Ok(caller)
        }
        (Some(_), _) => Err(Refusal::Actor(format!(
            "token {} acts as {}: it may not name a professional unless it is declared a delegating integration (delegates_for)",
            token.name,
            token.actor.as_deref().unwrap_or("no one")
        ))),
        (None, Some(actor)) => Ok(Caller::new(principal, token.structure.clone(), actor)),
        (None, None) => Err(name_the_actor()),
    }
}

/// The caller a Pro Santé Connect login stands for.
pub fn psc_caller(professional: crt_psc::Professional) -> Result<Caller, Refusal> {
    professional_caller(professional, None)
}

/// A professional Pro Santé Connect vouches for; the headers may add their role, never
/// name someone else.
fn professional_caller(
    professional: crt_psc::Professional,
    named: Option<Actor>,
) -> Result<Caller, Refusal> {
    let role = match named {
        None => None,
        Some(Actor::Professional { id, role, .. }) if id == professional.id_nat_ps => role,
        Some(_) => {
            return Err(Refusal::Actor(format!(
                "the Pro Santé Connect identity is {}: {} may not name anyone else",
                professional.id_nat_ps,
                super::actor::ACTOR_ID
            )));
        }
    };
    let profession = serde_json::to_value(professional.profession)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut caller = Caller::new(
        format!("psc:{}", professional.id_nat_ps),
        None,
        Actor::Professional {
            id: professional.id_nat_ps,
            profession,
            role,
        },
    );
    caller.assurance = Some(professional.assurance.describe());
    caller.specialty = professional.specialty;
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::test_headers as headers;

    fn token(name: &str, secret: &str, actor: &str, delegates_for: &[&str]) -> ApiToken {
        ApiToken {
            name: name.into(),
            sha256: token_digest(secret),
            structure: Some("1720004563".into()),
            actor: Some(actor.into()),
            delegates_for: delegates_for.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn authenticator() -> Authenticator {
        Authenticator::new(
            &AuthConfig::default(),
            vec![
                token("dui", "secret-token", "automate", &[]),
                token("dui-users", "delegating-token", "automate", &["720004563"]),
            ],
            None,
            Default::default(),
        )
    }

    async fn authenticate(pairs: &[(&'static str, &str)]) -> Result<Caller, Refusal> {
        authenticator()
            .authenticate(&headers(pairs), &Peer::default())
            .await
    }

    #[tokio::test]
    async fn anonymous_calls_and_unknown_tokens_are_refused() {
        assert!(matches!(
            authenticate(&[]).await,
            Err(Refusal::Unauthenticated(_))
        ));
        assert_eq!(
            authenticate(&[("authorization", "Bearer guess")]).await,
            Err(Refusal::Unauthenticated(
                "the bearer token is not known".into()
            ))
        );
    }

    #[tokio::test]
    async fn a_system_token_acts_as_the_system_and_names_no_one() {
        let caller = authenticate(&[("authorization", "Bearer secret-token")])
            .await
            .unwrap();
        assert_eq!(caller.principal, "token:dui");
        assert_eq!(caller.actor, Actor::Automate);
        let refusal = authenticate(&[
            ("authorization", "Bearer secret-token"),
            ("crt-actor-id", "810003456786"),
            ("crt-actor-profession", "nurse"),
        ])
        .await
        .unwrap_err();
        assert!(
            matches!(&refusal, Refusal::Actor(why) if why.contains("delegates_for")),
            "{refusal:?}"
        );
    }

    #[tokio::test]
    async fn a_delegating_token_names_professionals_for_its_crts_only() {
        let caller = authenticate(&[
            ("authorization", "Bearer delegating-token"),
            ("crt-actor-id", "810003456786"),
            ("crt-actor-profession", "nurse"),
        ])
        .await
        .unwrap();
        assert!(matches!(caller.actor, Actor::Professional { .. }));
        assert!(caller.may_act_for("720004563"));
        assert!(!caller.may_act_for("110010030"));
    }
}
