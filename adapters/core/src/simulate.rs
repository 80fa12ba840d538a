//! What every simulator of the sandbox shares: its TLS files (server certificate, the CA
//! clients must chain to, the CRL) and the loop that accepts TLS connections, refuses
//! handshakes the real services refuse, and serves HTTP/1.1 with the client's certificate
//! at hand.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::tls::{self, IdentityFiles, TlsError};

pub mod retained;
pub use retained::{RETAINED, Retained};

/// Where a test PKI keeps what the simulators use, relative to its directory.
pub mod layout {
    /// Intermediate and root: what client certificates and signatures must chain to.
    pub const CHAIN: &str = "ca/chain.pem";
    pub const CRL: &str = "ca/organisations.crl.pem";
    pub const SERVER: &str = "server/localhost.pem";
    pub const SERVER_KEY: &str = "server/localhost.key.pem";
    /// The example structure's authentication certificate (ORG AUTH) and key.
    pub const CLIENT: &str = "crt/auth.pem";
    pub const CLIENT_KEY: &str = "crt/auth.key.pem";
    /// The example structure's signing certificate (ORG SIGN) and key.
    pub const SIGNING: &str = "crt/sign.pem";
    pub const SIGNING_KEY: &str = "crt/sign.key.pem";
    /// The example structure's `INSI-AUTO` certificate and key.
    pub const INSI: &str = "crt/insi-auto.pem";
    pub const INSI_KEY: &str = "crt/insi-auto.key.pem";
}

/// The TLS files of a simulator.
#[derive(Debug, Clone)]
pub struct SimulatorTls {
    pub server: IdentityFiles,
    /// Clients must present a certificate chaining to these.
    pub client_roots: PathBuf,
    pub crl: Option<PathBuf>,
}

impl SimulatorTls {
    /// The files of a test PKI laid out like `certs-example/` ([`layout`]).
    pub fn from_pki(pki: &Path) -> SimulatorTls {
        SimulatorTls {
            server: IdentityFiles {
                certificate: pki.join(layout::SERVER),
                key: pki.join(layout::SERVER_KEY),
            },
            client_roots: pki.join(layout::CHAIN),
            crl: Some(pki.join(layout::CRL)),
        }
    }

    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        self.acceptor_for(&tls::Policy::standard())
    }

    /// An acceptor that only negotiates what `policy` allows.
    pub fn acceptor_for(&self, policy: &tls::Policy) -> Result<TlsAcceptor, TlsError> {
        let config = tls::server_config_for(
            policy,
            &self.server,
            Some((&self.client_roots, self.crl.as_deref())),
        )?;
        Ok(TlsAcceptor::from(config))
    }
}

/// The client of a connection, as the TLS handshake established it.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub address: Option<SocketAddr>,
    /// The client's certificate (DER), first of its chain.
    pub certificate: Option<Vec<u8>>,
}

impl Peer {
    /// The certificate's subject CN.
    pub fn common_name(&self) -> Option<String> {
        self.subject_attribute(|subject| {
            subject
                .iter_common_name()
                .next()
                .and_then(|a| a.as_str().ok().map(str::to_string))
        })
    }

    /// The structure's idNat_Struct, which IGC-Santé organisation certificates carry in OU.
    pub fn id_nat_struct(&self) -> Option<String> {
        self.subject_attribute(crate::certificate::id_nat_struct)
    }

    fn subject_attribute(
        &self,
        read: impl FnOnce(&x509_parser::x509::X509Name<'_>) -> Option<String>,
    ) -> Option<String> {
        let der = self.certificate.as_ref()?;
        let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
        read(certificate.subject())
    }
}

/// A running simulator.
pub struct Running {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

impl Running {
    /// `https://localhost:<port><path>`: the server certificate names localhost.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// The gateway's access to this FHIR simulator: its URLs, the client it registered,
    /// and the example certificate and trust of the test PKI at `pki`.
    pub fn fhir_access(
        &self,
        client_id: &str,
        client_secret: &str,
        pki: &Path,
    ) -> crate::oauth::FhirAccess {
        crate::oauth::FhirAccess {
            base_url: Some(self.fhir_base()),
            token_url: Some(self.token_url()),
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
            client_certificate: Some(pki.join(layout::CLIENT)),
            client_key: Some(pki.join(layout::CLIENT_KEY)),
            trust: Some(pki.join(layout::CHAIN)),
            crl: Some(pki.join(layout::CRL)),
        }
    }

    /// The FHIR base of a FHIR simulator (every one serves its API under `/fhir`).
    pub fn fhir_base(&self) -> String {
        self.url("/fhir")
    }

    /// The OAuth2 token endpoint of a FHIR simulator.
    pub fn token_url(&self) -> String {
        self.url("/oauth/token")
    }
}

/// Listens on `addr` and serves each request with `handler` until the task is aborted.
pub async fn serve<H, F>(
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    handler: H,
) -> std::io::Result<Running>
where
    H: Fn(Request<Incoming>, Arc<Peer>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, address)) = listener.accept().await else {
                continue;
            };
            // Answers are written in more than one piece; without this, Nagle's algorithm
            // and the client's delayed ACK add tens of milliseconds to each exchange.
            let _ = stream.set_nodelay(true);
            let acceptor = acceptor.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                // A refused handshake ends the connection, as the real services do.
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let peer = Arc::new(Peer {
                    address: Some(address),
                    certificate: tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|c| c.to_vec()),
                });
                let service = hyper::service::service_fn(move |request| {
                    let handler = handler.clone();
                    let peer = peer.clone();
                    async move { Ok::<_, Infallible>(handler(request, peer).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Ok(Running { addr, task })
}

/// What the FHIR simulators share: answers as a FHIR server words them, bounded bodies,
/// and an OAuth2 token endpoint (client credentials) with the tokens it issued.
pub mod fhir {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use http::{Method, Request, Response, StatusCode, header};
    use http_body_util::{BodyExt, Full, Limited};
    use hyper::body::Incoming;
    use serde_json::{Value, json};

    use super::Peer;
    use crate::oauth::parse_form;

    pub fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_default()
    }

    /// Now, as FHIR servers write `meta.lastUpdated`.
    pub fn instant_now() -> String {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// The instant of a `_lastUpdated=gt<instant>` search parameter; the refusal to
    /// answer otherwise (only `gt` is served: readers follow changes after a cursor).
    #[allow(clippy::result_large_err)]
    pub fn updated_after(
        parameter: &str,
    ) -> Result<chrono::DateTime<chrono::Utc>, Response<Full<Bytes>>> {
        let Some(instant) = parameter.strip_prefix("gt") else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid",
                "_lastUpdated takes gt<instant>",
            ));
        };
        chrono::DateTime::parse_from_rfc3339(instant)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("{instant:?} is not an instant"),
                )
            })
    }

    /// Whether a stored resource changed after `since`.
    pub fn changed_after(resource: &Value, since: Option<chrono::DateTime<chrono::Utc>>) -> bool {
        since.is_none_or(|since| {
            resource["meta"]["lastUpdated"]
                .as_str()
                .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
                .is_some_and(|u| u.with_timezone(&chrono::Utc) > since)
        })
    }

    /// A `searchset` Bundle of `matches` (oldest change first) and `included` resources.
    pub fn searchset(mut matches: Vec<Value>, included: Vec<Value>) -> Value {
        matches.sort_by(|a, b| {
            a["meta"]["lastUpdated"]
                .as_str()
                .cmp(&b["meta"]["lastUpdated"].as_str())
        });
        let entry = |resource: Value, mode: &str| {
            let url = format!(
                "{}/{}",
                resource["resourceType"].as_str().unwrap_or_default(),
                resource["id"].as_str().unwrap_or_default()
            );
            json!({"fullUrl": url, "resource": resource, "search": {"mode": mode}})
        };
        let mut bundle =
            json!({"resourceType": "Bundle", "type": "searchset", "total": matches.len()});
        let entries: Vec<Value> = matches
            .into_iter()
            .map(|r| entry(r, "match"))
            .chain(included.into_iter().map(|r| entry(r, "include")))
            .collect();
        if !entries.is_empty() {
            bundle["entry"] = Value::Array(entries);
        }
        bundle
    }

    /// A FHIR resource as the answer.
    pub fn resource(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
        respond(status, "application/fhir+json", body.to_string())
    }

    /// A refusal: an `OperationOutcome` with one issue.
    pub fn refuse(
        status: StatusCode,
        code: &str,
        diagnostics: impl Into<String>,
    ) -> Response<Full<Bytes>> {
        resource(
            status,
            &json!({
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics.into()}]
            }),
        )
    }

    /// A FHIR JSON request body: refused with 415 for another content type, 413 beyond
    /// `limit` bytes, 400 when it is not JSON.
    #[allow(clippy::result_large_err)]
    pub async fn json_body(
        request: Request<Incoming>,
        limit: usize,
    ) -> Result<Value, Response<Full<Bytes>>> {
        if content_type(&request) != "application/fhir+json" {
            return Err(refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not-supported",
                "expected application/fhir+json",
            ));
        }
        let body = body_of(request, limit).await?;
        serde_json::from_slice(&body).map_err(|e| {
            refuse(
                StatusCode::BAD_REQUEST,
                "structure",
                format!("not JSON: {e}"),
            )
        })
    }

    /// 422 with an OperationOutcome of one issue per problem.
    pub fn unprocessable(problems: &[String]) -> Response<Full<Bytes>> {
        let issues: Vec<Value> = problems
            .iter()
            .map(|p| json!({"severity": "error", "code": "invalid", "diagnostics": p}))
            .collect();
        resource(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"resourceType": "OperationOutcome", "issue": issues}),
        )
    }

    /// The request's body, refused with 413 beyond `limit` bytes.
    pub async fn body_of(
        request: Request<Incoming>,
        limit: usize,
    ) -> Result<Bytes, Response<Full<Bytes>>> {
        Limited::new(request.into_body(), limit)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|_| {
                refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-costly",
                    format!("bodies are limited to {limit} bytes"),
                )
            })
    }

    /// The media type of the request, without parameters, lower case.
    pub fn content_type<B>(request: &Request<B>) -> String {
        request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default()
    }

    /// The bearer token the request carries, empty if none.
    pub fn bearer<B>(request: &Request<B>) -> String {
        request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_string()
    }

    /// The 401 a FHIR server answers without a valid token.
    pub fn unauthorised() -> Response<Full<Bytes>> {
        let mut response = refuse(
            StatusCode::UNAUTHORIZED,
            "login",
            "a valid access token is required",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        response
    }

    /// An OAuth2 token endpoint for registered clients (id, secret).
    pub struct TokenDesk {
        clients: Vec<(String, String)>,
        /// Clients that authenticate with their TLS certificate instead of a secret
        /// (RFC 8705 `tls_client_auth`): client id and the idNat_Struct its certificate
        /// must name.
        certificate_clients: Vec<(String, String)>,
        lifetime: Duration,
        tokens: Mutex<HashMap<String, (String, Instant)>>,
    }

    impl TokenDesk {
        pub fn new(clients: Vec<(String, String)>, lifetime: Duration) -> TokenDesk {
            TokenDesk {
                clients,
                certificate_clients: Vec::new(),
                lifetime,
                tokens: Mutex::new(HashMap::new()),
            }
        }

        /// Also registers clients that authenticate by mutual TLS, each with the
        /// structure its certificate names.
        pub fn with_certificate_clients(mut self, clients: Vec<(String, String)>) -> TokenDesk {
            self.certificate_clients = clients;
            self
        }

        /// The client a token was issued to, while it is valid.
        pub fn client_of(&self, token: &str) -> Option<String> {
            let tokens = self.tokens.lock().ok()?;
            let (client_id, until) = tokens.get(token)?;
            (Instant::now() < *until).then(|| client_id.clone())
        }

        /// Answers a token request (RFC 6749 §4.4, form-encoded): a client with its
        /// secret, or one registered for mutual TLS with no secret and the certificate
        /// `peer` presented (RFC 8705).
        pub async fn answer(
            &self,
            request: Request<Incoming>,
            peer: &Peer,
        ) -> Response<Full<Bytes>> {
            let oauth_error = |status: StatusCode, error: &str| {
                respond(
                    status,
                    "application/json",
                    json!({ "error": error }).to_string(),
                )
            };
            if request.method() != Method::POST {
                return oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
            }
            if content_type(&request) != "application/x-www-form-urlencoded" {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            }
            let body = match body_of(request, 16 * 1024).await {
                Ok(body) => body,
                Err(response) => return response,
            };
            let form: HashMap<String, String> = parse_form(&String::from_utf8_lossy(&body))
                .into_iter()
                .collect();
            if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
                return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
            }
            let client_id = form.get("client_id");
            let known = match form.get("client_secret") {
                Some(given) => self
                    .clients
                    .iter()
                    .find(|(id, secret)| client_id == Some(id) && given == secret)
                    .map(|(id, _)| id),
                None => {
                    let structure = peer.id_nat_struct();
                    self.certificate_clients
                        .iter()
                        .find(|(id, expected)| {
                            client_id == Some(id) && structure.as_ref() == Some(expected)
                        })
                        .map(|(id, _)| id)
                }
            };
            let Some(client_id) = known else {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
            };
            let token = uuid::Uuid::now_v7().simple().to_string();
            if let Ok(mut tokens) = self.tokens.lock() {
                // Expired tokens are refused anyway: forget them, or a client asking for
                // a token per request would grow the desk without end.
                let now = Instant::now();
                tokens.retain(|_, (_, until)| *until > now);
                tokens.insert(
                    token.clone(),
                    (client_id.clone(), Instant::now() + self.lifetime),
                );
            }
            respond(
                StatusCode::OK,
                "application/json",
                json!({"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime.as_secs()})
                    .to_string(),
            )
        }
    }
}
