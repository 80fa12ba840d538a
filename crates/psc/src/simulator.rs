//! A Pro Santé Connect on loopback: the provider's realm (discovery, token, userinfo, JWKS
//! under `/auth/realms/esante-wallet`, as Keycloak lays them out) and its wallet's login
//! page (`/wallet/auth`), with test professionals instead of CPS cards and e-CPS.
//!
//! It checks what the real provider checks of a relying party: a registered client and
//! redirect URI, the client secret at the token endpoint, a code used once and within a
//! minute, the PKCE verifier against the S256 challenge. Its tokens are RS256 JWTs signed
//! with a key of its JWKS, valid two minutes as PSC's access tokens are.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crt_core::oauth::parse_form;
use crt_core::simulate::fhir::{bearer, body_of, content_type, respond};
use crt_core::simulate::{Peer, Running, layout};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::jwt::{Jwks, Signer};
use crate::provider::{now, pkce_challenge};
use crt_core::oauth::encode as query_value;

/// The realm's path, as PSC's Keycloak serves it.
pub const REALM: &str = "/auth/realms/esante-wallet";
/// How long the simulator's access tokens are valid (PSC: two minutes).
pub const TOKEN_LIFETIME: i64 = 120;
const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// A professional the simulator can log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestUser {
    pub id_nat_ps: &'static str,
    pub given_name: &'static str,
    pub family_name: &'static str,
    /// TRE_G15, or `99` with a TRE_R85 role for RPPS+ staff.
    pub profession: &'static str,
    pub role: &'static str,
    pub specialty: &'static str,
    /// FINESS of the site where they exercise.
    pub finess: &'static str,
    /// `CARD` (CPS card) or `MOBILE` (e-CPS).
    pub auth_mode: &'static str,
}

/// The sandbox's professionals: the CRT physician, the coordinating nurse and the RPPS+
/// coordinator of the example records' care circles, a home-help worker, and a physician
/// who is in no example care circle.
pub const USERS: &[TestUser] = &[
    TestUser {
        id_nat_ps: "810002345675",
        given_name: "ANNE",
        family_name: "MOREAU",
        profession: "10",
        role: "",
        specialty: "SM26",
        finess: "720004563",
        auth_mode: "CARD",
    },
    TestUser {
        id_nat_ps: "810003456786",
        given_name: "SOPHIE",
        family_name: "PETIT",
        profession: "60",
        role: "",
        specialty: "",
        finess: "720004563",
        auth_mode: "MOBILE",
    },
    TestUser {
        id_nat_ps: "810006789019",
        given_name: "NADIA",
        family_name: "FAURE",
        profession: "99",
        role: "330",
        specialty: "",
        finess: "720004563",
        auth_mode: "MOBILE",
    },
    TestUser {
        id_nat_ps: "810007890123",
        given_name: "KARIM",
        family_name: "LEROY",
        profession: "99",
        role: "350",
        specialty: "",
        finess: "720004563",
        auth_mode: "MOBILE",
    },
    TestUser {
        id_nat_ps: "810009876544",
        given_name: "PAUL",
        family_name: "DURAND",
        profession: "10",
        role: "",
        specialty: "SM26",
        finess: "750000001",
        auth_mode: "CARD",
    },
];

/// The test professionals who work for the CRT (all but the outside physician).
pub const CRT_STAFF: &[TestUser] = &[USERS[0], USERS[1], USERS[2], USERS[3]];

/// A code handed to the browser, waiting for the client to exchange it.
struct PendingCode {
    user: TestUser,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: String,
    issued: Instant,
}

struct State {
    signer: Signer,
    issuer: OnceLock<String>,
    clients: Vec<(String, String)>,
    codes: Mutex<HashMap<String, PendingCode>>,
}

/// The running simulator.
pub struct PscSimulator {
    pub running: Running,
    state: Arc<State>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error("PSC simulator key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("PSC simulator TLS: {0}")]
    Tls(String),
    #[error("PSC simulator: {0}")]
    Io(#[from] std::io::Error),
}

impl PscSimulator {
    /// Starts on `addr` with the test PKI at `pki` (the server certificate for TLS, its
    /// key for signing tokens); `clients` are the registered (id, secret) pairs. Browsers
    /// reach the login page, so no client certificate is asked for.
    pub async fn start(
        addr: SocketAddr,
        pki: &Path,
        clients: Vec<(String, String)>,
    ) -> Result<PscSimulator, SimulatorError> {
        let key_path = pki.join(layout::SERVER_KEY);
        let key = crt_core::tls::load_private_key(&key_path).map_err(|e| SimulatorError::Key {
            path: key_path.display().to_string(),
            reason: e.to_string(),
        })?;
        let signer = Signer::from_pkcs8(key.secret_der(), "psc-sandbox").map_err(|e| {
            SimulatorError::Key {
                path: key_path.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        let identity = crt_core::tls::IdentityFiles {
            certificate: pki.join(layout::SERVER),
            key: key_path,
        };
        let tls = crt_core::tls::server_config(&identity, None)
            .map_err(|e| SimulatorError::Tls(e.to_string()))?;
        let state = Arc::new(State {
            signer,
            issuer: OnceLock::new(),
            clients,
            codes: Mutex::new(HashMap::new()),
        });
        let handler_state = state.clone();
        let running = crt_core::simulate::serve(
            addr,
            tokio_rustls::TlsAcceptor::from(tls),
            move |request: Request<Incoming>, peer: Arc<Peer>| {
                let state = handler_state.clone();
                async move { state.answer(request, &peer).await }
            },
        )
        .await?;
        let _ = state.issuer.set(running.url(REALM));
        Ok(PscSimulator { running, state })
    }

    /// The issuer, as tokens name it.
    pub fn issuer(&self) -> String {
        self.running.url(REALM)
    }

    /// The wallet's authorization endpoint.
    pub fn authorization_endpoint(&self) -> String {
        self.running.url("/wallet/auth")
    }

    /// An access token for `id_nat_ps` issued to `client_id`, as a DUI that logged its
    /// user in with PSC holds; `lifetime` may be negative for an expired one.
    pub fn access_token(&self, id_nat_ps: &str, client_id: &str, lifetime: i64) -> Option<String> {
        let user = USERS.iter().find(|u| u.id_nat_ps == id_nat_ps)?;
        self.state.access_token(user, client_id, lifetime).ok()
    }

    pub fn stop(self) {
        self.running.task.abort();
    }
}

impl State {
    fn issuer(&self) -> String {
        self.issuer.get().cloned().unwrap_or_default()
    }

    async fn answer(&self, request: Request<Incoming>, peer: &Peer) -> Response<Full<Bytes>> {
        let _ = peer;
        let path = request.uri().path().to_string();
        let realm = |tail: &str| format!("{REALM}{tail}");
        match (request.method(), path.as_str()) {
            (&Method::GET, "/wallet/auth") => self.authorize(request.uri().query().unwrap_or("")),
            (&Method::GET, p) if p == realm("/.well-known/wallet-openid-configuration") => {
                json_answer(StatusCode::OK, &self.discovery())
            }
            (&Method::GET, p) if p == realm("/protocol/openid-connect/certs") => json_answer(
                StatusCode::OK,
                &json!(Jwks {
                    keys: vec![self.signer.jwk()]
                }),
            ),
            (&Method::POST, p) if p == realm("/protocol/openid-connect/token") => {
                self.token(request).await
            }
            (&Method::GET, p) if p == realm("/protocol/openid-connect/userinfo") => {
                self.userinfo(&bearer(&request))
            }
            _ => respond(StatusCode::NOT_FOUND, "text/plain", "not found".into()),
        }
    }

    fn discovery(&self) -> Value {
        let issuer = self.issuer();
        let wallet = issuer.replace(REALM, "/wallet/auth");
        json!({
            "issuer": issuer,
            "authorization_endpoint": wallet,
            "token_endpoint": format!("{issuer}/protocol/openid-connect/token"),
            "userinfo_endpoint": format!("{issuer}/protocol/openid-connect/userinfo"),
            "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "scope_all"],
        })
    }

    /// The wallet: without `login_hint`, a page listing the test professionals (each a
    /// link back here with one); with it, the redirect to the client with a code.
    fn authorize(&self, query: &str) -> Response<Full<Bytes>> {
        let fields: HashMap<String, String> = parse_form(query).into_iter().collect();
        let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
        let client_id = field("client_id");
        let redirect_uri = field("redirect_uri");
        let problem = if !self.clients.iter().any(|(id, _)| id == client_id) {
            Some("unknown client_id")
        } else if !redirect_uri.starts_with("http://127.0.0.1:")
            && !redirect_uri.starts_with("https://localhost:")
            && !redirect_uri.starts_with("http://localhost:")
        {
            Some("redirect_uri is not registered for this client")
        } else if field("response_type") != "code" {
            Some("response_type must be code")
        } else if !field("scope").split(' ').any(|s| s == "openid") {
            Some("scope must include openid")
        } else if field("code_challenge_method") != "S256" || field("code_challenge").len() < 43 {
            Some("PKCE: an S256 code_challenge is required")
        } else if field("state").is_empty() || field("nonce").is_empty() {
            Some("state and nonce are required")
        } else {
            None
        };
        if let Some(problem) = problem {
            return respond(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                problem.into(),
            );
        }
        let hint = field("login_hint");
        let Some(user) = USERS.iter().find(|u| u.id_nat_ps == hint) else {
            return self.login_page(query);
        };
        let code = match random_code() {
            Ok(code) => code,
            Err(_) => {
                return respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    String::new(),
                );
            }
        };
        if let Ok(mut codes) = self.codes.lock() {
            codes.retain(|_, pending| pending.issued.elapsed() < CODE_LIFETIME);
            codes.insert(
                code.clone(),
                PendingCode {
                    user: *user,
                    client_id: client_id.into(),
                    redirect_uri: redirect_uri.into(),
                    challenge: field("code_challenge").into(),
                    nonce: field("nonce").into(),
                    issued: Instant::now(),
                },
            );
        }
        let separator = if redirect_uri.contains('?') { '&' } else { '?' };
        let location = format!(
            "{redirect_uri}{separator}code={}&state={}&iss={}",
            query_value(&code),
            query_value(field("state")),
            query_value(&self.issuer())
        );
        Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, location)
            .body(Full::new(Bytes::new()))
            .unwrap_or_default()
    }

    fn login_page(&self, query: &str) -> Response<Full<Bytes>> {
        let mut page = String::from(
            "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Pro Santé Connect (bac à sable)</title></head><body><h1>Pro Santé Connect — bac à sable</h1><p>Choisissez le professionnel :</p><ul>",
        );
        for user in USERS {
            page.push_str(&format!(
                "<li><a id=\"psc-{id}\" href=\"/wallet/auth?{query}&amp;login_hint={id}\">{given} {family} ({id})</a></li>",
                id = user.id_nat_ps,
                query = query.replace('&', "&amp;").replace('"', "%22"),
                given = user.given_name,
                family = user.family_name,
            ));
        }
        page.push_str("</ul></body></html>");
        respond(StatusCode::OK, "text/html; charset=utf-8", page)
    }

    async fn token(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let oauth_error = |error: &str, description: &str| {
            json_answer(
                StatusCode::BAD_REQUEST,
                &json!({"error": error, "error_description": description}),
            )
        };
        if content_type(&request) != "application/x-www-form-urlencoded" {
            return oauth_error("invalid_request", "a form-encoded body is expected");
        }
        let basic = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(v).ok()
            })
            .and_then(|v| String::from_utf8(v).ok());
        let body = match body_of(request, 16 * 1024).await {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        let fields: HashMap<String, String> = parse_form(&String::from_utf8_lossy(&body))
            .into_iter()
            .collect();
        let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
        let (client_id, secret) = match &basic {
            Some(pair) => pair.split_once(':').unwrap_or((pair, "")),
            None => (field("client_id"), field("client_secret")),
        };
        if !self
            .clients
            .iter()
            .any(|(id, s)| id == client_id && s == secret)
        {
            return json_answer(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "invalid_client", "error_description": "unknown client or wrong secret"}),
            );
        }
        if field("grant_type") != "authorization_code" {
            return oauth_error("unsupported_grant_type", "only authorization_code");
        }
        let pending = self
            .codes
            .lock()
            .ok()
            .and_then(|mut codes| codes.remove(field("code")));
        let Some(pending) = pending.filter(|p| p.issued.elapsed() < CODE_LIFETIME) else {
            return oauth_error("invalid_grant", "unknown, used or expired code");
        };
        if pending.client_id != client_id || pending.redirect_uri != field("redirect_uri") {
            return oauth_error(
                "invalid_grant",
                "the code was issued to another client or redirect_uri",
            );
        }
        if pkce_challenge(field("code_verifier")) != pending.challenge {
            return oauth_error("invalid_grant", "PKCE verification failed");
        }
        let access = self.access_token(&pending.user, client_id, TOKEN_LIFETIME);
        let id = self.id_token(&pending.user, client_id, &pending.nonce);
        match (access, id) {
            (Ok(access), Ok(id)) => json_answer(
                StatusCode::OK,
                &json!({
                    "access_token": access, "id_token": id, "token_type": "Bearer",
                    "expires_in": TOKEN_LIFETIME, "scope": "openid scope_all"
                }),
            ),
            _ => respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                String::new(),
            ),
        }
    }

    fn claims(&self, user: &TestUser, client_id: &str, lifetime: i64) -> Value {
        let now = now();
        json!({
            "iss": self.issuer(),
            "sub": format!("f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:{}", user.id_nat_ps),
            "preferred_username": user.id_nat_ps,
            "azp": client_id,
            "iat": now,
            "exp": now + lifetime,
            "acr": "eidas1",
            "typ": "Bearer",
            "scope": "openid scope_all",
        })
    }

    fn access_token(
        &self,
        user: &TestUser,
        client_id: &str,
        lifetime: i64,
    ) -> Result<String, crate::jwt::JwtError> {
        self.signer.sign(&self.claims(user, client_id, lifetime))
    }

    fn id_token(
        &self,
        user: &TestUser,
        client_id: &str,
        nonce: &str,
    ) -> Result<String, crate::jwt::JwtError> {
        let mut claims = self.claims(user, client_id, TOKEN_LIFETIME);
        claims["aud"] = json!(client_id);
        claims["nonce"] = json!(nonce);
        claims["typ"] = json!("ID");
        self.signer.sign(&claims)
    }

    /// The userinfo of a token this simulator signed and that is still valid.
    fn userinfo(&self, token: &str) -> Response<Full<Bytes>> {
        let keys = Jwks {
            keys: vec![self.signer.jwk()],
        };
        let claims = crate::jwt::decode(token).and_then(|t| t.verify(&keys));
        let user = claims
            .ok()
            .filter(|c| {
                c.get("exp")
                    .and_then(Value::as_i64)
                    .is_some_and(|exp| exp > now())
            })
            .and_then(|c| {
                let id = c
                    .get("preferred_username")
                    .and_then(Value::as_str)?
                    .to_string();
                USERS.iter().find(|u| u.id_nat_ps == id)
            });
        let Some(user) = user else {
            let mut answer =
                json_answer(StatusCode::UNAUTHORIZED, &json!({"error": "invalid_token"}));
            answer.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            return answer;
        };
        json_answer(StatusCode::OK, &userinfo_of(user))
    }
}

/// A userinfo document shaped as PSC's (the RASS extraction's field names).
pub fn userinfo_of(user: &TestUser) -> Value {
    json!({
        "sub": format!("f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:{}", user.id_nat_ps),
        "preferred_username": user.id_nat_ps,
        "SubjectNameID": user.id_nat_ps,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email_verified": false,
        "SubjectRole": [format!("{}^1.2.250.1.213.1.1.5.5", user.profession)],
        "UITVersion": "1.0",
        "authMode": user.auth_mode,
        "SubjectRefPro": {"exercices": [{
            "codeProfession": user.profession,
            "codeCategorieProfessionnelle": "C",
            "nomDexercice": user.family_name,
            "prenomDexercice": user.given_name,
            "codeTypeSavoirFaire": if user.specialty.is_empty() { "" } else { "S" },
            "codeSavoirFaire": user.specialty,
            "activities": [{
                "codeModeExercice": "S",
                "codeRole": user.role,
                "numeroFinessSite": user.finess,
                "numeroFinessetablissementJuridique": "",
            }]
        }]}
    })
}

fn json_answer(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    respond(status, "application/json", body.to_string())
}

fn random_code() -> std::io::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
