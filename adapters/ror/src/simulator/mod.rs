//! A ROR on loopback: an OAuth2 token endpoint and the subset of the FHIR API that
//! publishing uses (read, search by identifier, `_id`, `organization` and `_lastUpdated`,
//! create, JSON Patch), over mutual TLS.
//!
//! It refuses what the ROR refuses: a missing or expired token, a client it does not
//! know, missing or wrong `Ror-*` headers, a wrong content type, and any resource that
//! breaks the ROR profile rules ([`crate::rules`]), answered with an `OperationOutcome`
//! as a FHIR server answers. Writes are counted, so tests can see that a second publish
//! of the same offer wrote nothing.

mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use crt_core::simulate::{self, Peer, Running, SimulatorTls};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio_rustls::TlsAcceptor;

use crate::config::RorHeaders;
use crate::rules::{self, Report};
use crt_core::oauth::{decode, parse_form};
use crt_core::simulate::fhir::{
    self, TokenDesk, bearer, body_of, content_type, refuse, unauthorised,
};

pub use store::{Store, Write};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long an access token lives.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// A client the simulated ROR knows: its credentials and the header values it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: String,
    /// The structure (idNat_Struct) whose IGC-Santé certificate may stand for the secret:
    /// access profiles 1 to 4 authenticate the client by mutual TLS (RFC 8705).
    pub certificate_structure: Option<String>,
    pub headers: RorHeaders,
}

impl Registration {
    /// The client the sandbox configures the gateway with.
    pub fn sandbox() -> Registration {
        Registration {
            client_id: SANDBOX_CLIENT_ID.into(),
            client_secret: SANDBOX_CLIENT_SECRET.into(),
            certificate_structure: Some(SANDBOX_STRUCTURE.into()),
            headers: RorHeaders::default(),
        }
    }
}

pub const SANDBOX_CLIENT_ID: &str = "crt-gateway-sandbox";
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-secret-not-for-production";
/// The structure of the test PKI's certificates.
pub const SANDBOX_STRUCTURE: &str = "1720004563";

/// The simulated ROR's state: registered clients, tokens issued, resources.
pub struct Directory {
    clients: Vec<Registration>,
    tokens: TokenDesk,
    pub store: Store,
}

impl Directory {
    fn client_of(&self, token: &str) -> Option<Registration> {
        let client_id = self.tokens.client_of(token)?;
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }
}

pub struct RorSimulator {
    acceptor: TlsAcceptor,
    directory: Arc<Directory>,
}

#[derive(Debug, thiserror::Error)]
#[error("ROR simulator TLS: {0}")]
pub struct SimulatorError(String);

impl RorSimulator {
    pub fn new(
        tls: &SimulatorTls,
        clients: Vec<Registration>,
    ) -> Result<RorSimulator, SimulatorError> {
        Self::with_store(tls, clients, Store::default())
    }

    /// A simulator whose resources live in `store` (a [`Store::persistent`] one in the
    /// sandbox).
    pub fn with_store(
        tls: &SimulatorTls,
        clients: Vec<Registration>,
        store: Store,
    ) -> Result<RorSimulator, SimulatorError> {
        let acceptor = tls.acceptor().map_err(|e| SimulatorError(e.to_string()))?;
        Ok(RorSimulator {
            acceptor,
            directory: Arc::new(Directory {
                tokens: TokenDesk::new(
                    clients
                        .iter()
                        .map(|c| (c.client_id.clone(), c.client_secret.clone()))
                        .collect(),
                    TOKEN_LIFETIME,
                )
                .with_certificate_clients(
                    clients
                        .iter()
                        .filter_map(|c| {
                            Some((c.client_id.clone(), c.certificate_structure.clone()?))
                        })
                        .collect(),
                ),
                clients,
                store,
            }),
        })
    }

    pub fn directory(&self) -> Arc<Directory> {
        self.directory.clone()
    }

    pub async fn start(self, addr: SocketAddr) -> std::io::Result<Running> {
        let directory = self.directory;
        let running = simulate::serve(addr, self.acceptor, move |request, peer| {
            let directory = directory.clone();
            async move { handle(request, peer, &directory).await }
        })
        .await?;
        Ok(running)
    }
}

async fn handle(
    request: Request<Incoming>,
    peer: Arc<Peer>,
    directory: &Directory,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    if path == "/oauth/token" {
        return directory.tokens.answer(request, &peer).await;
    }
    let Some(rest) = path.strip_prefix("/fhir/") else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no endpoint at {path}"),
        );
    };
    let bearer = bearer(&request);
    let Some(client) = directory.client_of(&bearer) else {
        return unauthorised();
    };
    for (name, expected) in client.headers.pairs() {
        let given = request.headers().get(name).and_then(|v| v.to_str().ok());
        if given != Some(expected) {
            return refuse(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("header {name} is missing or is not the value registered for this client"),
            );
        }
    }
    let segments: Vec<String> = rest.split('/').map(decode).collect();
    let query = request.uri().query().unwrap_or_default().to_string();
    let method = request.method().clone();
    match (method, segments.as_slice()) {
        (Method::GET, [resource_type]) => search(directory, resource_type, &query),
        (Method::GET, [resource_type, id]) => match directory.store.read(resource_type, id) {
            Some(resource) => fhir::resource(StatusCode::OK, &resource),
            None => refuse(
                StatusCode::NOT_FOUND,
                "not-found",
                format!("{resource_type}/{id} is not known"),
            ),
        },
        (Method::POST, [resource_type]) => {
            let resource_type = resource_type.clone();
            create(request, directory, &resource_type).await
        }
        (Method::PATCH, [resource_type, id]) => {
            let (resource_type, id) = (resource_type.clone(), id.clone());
            patch(request, directory, &resource_type, &id).await
        }
        (method, _) => refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "not-supported",
            format!("{method} {path} is not served"),
        ),
    }
}

const RESOURCE_TYPES: [&str; 3] = ["Organization", "Location", "HealthcareService"];

fn search(directory: &Directory, resource_type: &str, query: &str) -> Response<Full<Bytes>> {
    if !RESOURCE_TYPES.contains(&resource_type) {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-supported",
            format!("{resource_type} is not served"),
        );
    }
    let params = parse_form(query);
    match directory.store.search(resource_type, &params) {
        Ok(found) => {
            let entries: Vec<Value> = found
                .into_iter()
                .map(|r| {
                    json!({
                        "fullUrl": format!("{resource_type}/{}", r["id"].as_str().unwrap_or_default()),
                        "resource": r,
                        "search": {"mode": "match"}
                    })
                })
                .collect();
            let mut bundle =
                json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len()});
            // FHIR JSON has no empty arrays.
            if !entries.is_empty() {
                bundle["entry"] = Value::Array(entries);
            }
            fhir::resource(StatusCode::OK, &bundle)
        }
        Err(problem) => refuse(StatusCode::BAD_REQUEST, "invalid", problem),
    }
}

fn invalid(report: &Report) -> Response<Full<Bytes>> {
    fhir::resource(StatusCode::UNPROCESSABLE_ENTITY, &report.outcome())
}

async fn create(
    request: Request<Incoming>,
    directory: &Directory,
    resource_type: &str,
) -> Response<Full<Bytes>> {
    if !RESOURCE_TYPES.contains(&resource_type) {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-supported",
            format!("{resource_type} is not served"),
        );
    }
    let resource = match fhir::json_body(request, MAX_BODY_BYTES).await {
        Ok(value) => value,
        Err(refusal) => return refusal,
    };
    if resource["resourceType"] != resource_type {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("the body is not a {resource_type}"),
        );
    }
    let mut report = Report::default();
    rules::check_resource(&resource, "", &mut report);
    if !report.is_valid() {
        return invalid(&report);
    }
    let stored = directory.store.create(resource_type, resource);
    let mut response = fhir::resource(StatusCode::CREATED, &stored);
    let location = format!(
        "{resource_type}/{}/_history/1",
        stored["id"].as_str().unwrap_or_default()
    );
    if let Ok(value) = http::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn patch(
    request: Request<Incoming>,
    directory: &Directory,
    resource_type: &str,
    id: &str,
) -> Response<Full<Bytes>> {
    if content_type(&request) != "application/json-patch+json" {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "expected application/json-patch+json",
        );
    }
    let body = match body_of(request, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let operations: json_patch::Patch = match serde_json::from_slice(&body) {
        Ok(operations) => operations,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "structure",
                format!("not a JSON Patch: {e}"),
            );
        }
    };
    let Some(mut resource) = directory.store.read(resource_type, id) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{resource_type}/{id} is not known"),
        );
    };
    if let Err(e) = json_patch::patch(&mut resource, &operations) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "processing",
            format!("the patch does not apply: {e}"),
        );
    }
    if resource["resourceType"] != resource_type || resource["id"] != id {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "processing",
            "a patch cannot change resourceType or id",
        );
    }
    let mut report = Report::default();
    rules::check_resource(&resource, "", &mut report);
    if !report.is_valid() {
        return invalid(&report);
    }
    match directory.store.replace(resource_type, id, resource) {
        Some(stored) => fhir::resource(StatusCode::OK, &stored),
        None => refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{resource_type}/{id} is not known"),
        ),
    }
}
