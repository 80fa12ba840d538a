//! A ROR on loopback: an OAuth2 token endpoint, the subset of the FHIR API that
//! publishing uses (read, search by identifier, `_id`, `organization`,
//! `organization.identifier:above` and `_lastUpdated`, create, FHIRPath Patch and update
//! of an offer) and the capacity API, over mutual TLS.
//!
//! It refuses what the ROR refuses: a missing or expired token, a client it does not
//! know, missing or wrong `Ror-*` headers (and any `Ror-*` header on the capacity API),
//! a wrong content type, a create or a patch the guide reserves to the server (403: the
//! organisations and the places come from FINESS and the GRADeS, a client patches only a
//! place's capacity), an offer created with an identifier (the ROR gives it), a JSON Patch
//! or a path below a top-level element (400), and any resource that breaks the ROR profile
//! rules ([`crate::rules`]), answered with an `OperationOutcome` as a FHIR server answers.
//! Writes are counted, so tests can see that a second publish of the same offer wrote
//! nothing. [`Store::hold_structure`] gives it the organisations and the place a ROR
//! already holds for an offer.

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

use crate::codes::system;
use crate::config::RorHeaders;
use crate::fhirpatch::{Operation, Patch, PatchError, Target};
use crate::rules::{self, Report};
use crt_core::oauth::{decode, parse_form};
use crt_core::simulate::fhir::{self, TokenDesk, bearer, content_type, refuse, unauthorised};

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
    if let Some(rest) = path.strip_prefix(CAPACITY_BASE) {
        return capacity(request, directory, rest).await;
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
        (Method::PUT, [resource_type, id]) => {
            let (resource_type, id) = (resource_type.clone(), id.clone());
            update(request, directory, &resource_type, &id).await
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
    if resource_type != "HealthcareService" {
        return server_only(format!(
            "creating a {resource_type} is reserved to the ROR ([spécifique serveur], page Saisie de l'offre): organisations come from FINESS, places from the GRADeS"
        ));
    }
    let mut resource = match fhir::json_body(request, MAX_BODY_BYTES).await {
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
    if resource.get("identifier").is_some() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "business-rule",
            "HealthcareService.identifier: identifiantOffre (TRE_R355 35) is given by the ROR; a create carries none",
        );
    }
    let mut report = Report::default();
    rules::check_resource(&resource, "", &mut report);
    if !report.is_valid() {
        return invalid(&report);
    }
    let region = resource["meta"]["tag"][0]["code"]
        .as_str()
        .unwrap_or("00")
        .to_string();
    let number = directory.store.next_offer_number();
    resource["identifier"] = json!([{
        "type": {"coding": [{"system": system::TYPE_IDENTIFIANT_OFFRE, "code": "35"}]},
        "value": format!("{region}/{number:07}")
    }]);
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

/// 403 for what the guide reserves to the ROR.
fn server_only(diagnostics: String) -> Response<Full<Bytes>> {
    refuse(StatusCode::FORBIDDEN, "forbidden", diagnostics)
}

/// A refusal naming the expression it is about, as the ROR's capacity API answers.
fn refuse_at(error: &PatchError, expression: &str) -> Response<Full<Bytes>> {
    let (status, code) = error.status();
    fhir::resource(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        &json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "error",
                "code": code,
                "diagnostics": error.to_string(),
                "expression": [expression]
            }]
        }),
    )
}

/// The FHIRPath Patch of a request: 400 for a JSON Patch or anything but `Parameters`.
async fn patch_of(
    request: Request<Incoming>,
    resource_type: &str,
) -> Result<Patch, Response<Full<Bytes>>> {
    if content_type(&request) == "application/json-patch+json" {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "not-supported",
            "the ROR takes FHIRPath Patch (a Parameters resource, application/fhir+json), not JSON Patch",
        ));
    }
    let body = fhir::json_body(request, MAX_BODY_BYTES).await?;
    Patch::from_parameters(resource_type, &body).map_err(|e| {
        let (status, code) = e.status();
        refuse(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            e.to_string(),
        )
    })
}

/// Whether every operation is on a place's capacity.
fn capacity_only(patch: &Patch) -> bool {
    patch.operations.iter().all(|o| match o {
        Operation::AddCapacity { .. } => true,
        Operation::Replace { target, .. } | Operation::Delete { target } => {
            matches!(target, Target::Capacity { .. })
        }
        Operation::Add { .. } => false,
    })
}

async fn patch(
    request: Request<Incoming>,
    directory: &Directory,
    resource_type: &str,
    id: &str,
) -> Response<Full<Bytes>> {
    if resource_type == "Organization" {
        return server_only(
            "patching an Organization is reserved to the ROR ([spécifique serveur], page Mise à jour de l'offre)".into(),
        );
    }
    let patch = match patch_of(request, resource_type).await {
        Ok(patch) => patch,
        Err(refusal) => return refusal,
    };
    if resource_type == "Location" && !capacity_only(&patch) {
        return server_only(
            "a client patches a Location's capacity only ([BED MANAGEMENT] scenarios); the rest is reserved to the ROR".into(),
        );
    }
    let Some(resource) = directory.store.read(resource_type, id) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{resource_type}/{id} is not known"),
        );
    };
    apply_and_store(directory, &patch, resource_type, id, &resource)
}

/// Applies a patch, checks the result against the rules, stores it.
fn apply_and_store(
    directory: &Directory,
    patch: &Patch,
    resource_type: &str,
    id: &str,
    resource: &Value,
) -> Response<Full<Bytes>> {
    let patched = match patch.apply(resource) {
        Ok(patched) => patched,
        Err(e) => {
            let expression = match &e {
                PatchError::NotFound(expression) | PatchError::MultipleMatches(expression) => {
                    expression.clone()
                }
                _ => resource_type.to_string(),
            };
            return refuse_at(&e, &expression);
        }
    };
    if patched["resourceType"] != resource_type
        || patched["id"] != id
        || patched.get("identifier") != resource.get("identifier")
    {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "processing",
            "a patch cannot change resourceType, id or identifier",
        );
    }
    let mut report = Report::default();
    rules::check_resource(&patched, "", &mut report);
    if !report.is_valid() {
        return invalid(&report);
    }
    match directory.store.replace(resource_type, id, patched) {
        Some(stored) => fhir::resource(StatusCode::OK, &stored),
        None => refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{resource_type}/{id} is not known"),
        ),
    }
}

/// `PUT HealthcareService/id`: the guide's update of a whole offer; its identifier stays
/// the ROR's.
async fn update(
    request: Request<Incoming>,
    directory: &Directory,
    resource_type: &str,
    id: &str,
) -> Response<Full<Bytes>> {
    if resource_type != "HealthcareService" {
        return server_only(format!(
            "updating a {resource_type} is reserved to the ROR ([spécifique serveur], page Mise à jour de l'offre)"
        ));
    }
    let resource = match fhir::json_body(request, MAX_BODY_BYTES).await {
        Ok(value) => value,
        Err(refusal) => return refusal,
    };
    let Some(held) = directory.store.read(resource_type, id) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{resource_type}/{id} is not known"),
        );
    };
    if resource["resourceType"] != resource_type
        || resource["id"] != id
        || resource.get("identifier") != held.get("identifier")
    {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "processing",
            "an update keeps the resource's type, id and identifier",
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

/// The capacity API's base path in the simulator, as on the ROR's hosts.
pub const CAPACITY_BASE: &str = "/ws-synchro-dispo-lits-fhir/";

/// The capacity API's base URL of a running simulator.
pub fn capacity_base(running: &Running) -> String {
    running.url(CAPACITY_BASE.trim_end_matches('/'))
}

/// `PATCH …/Location?identifier=<idExterneSynchro>`: a token and no `Ror-*` header, a
/// capacity patch, the place found by its identifier.
async fn capacity(
    request: Request<Incoming>,
    directory: &Directory,
    rest: &str,
) -> Response<Full<Bytes>> {
    if rest != "Location" || request.method() != Method::PATCH {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-supported",
            "the capacity API takes PATCH Location?identifier=<idExterneSynchro>",
        );
    }
    if directory.client_of(&bearer(&request)).is_none() {
        return unauthorised();
    }
    if let Some(name) = request
        .headers()
        .keys()
        .find(|n| n.as_str().starts_with("ror-"))
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("header {name} must not be sent to the capacity API"),
        );
    }
    let params = parse_form(request.uri().query().unwrap_or_default());
    let Some(place) = params
        .iter()
        .find(|(name, _)| name == "identifier")
        .map(|(_, value)| value.clone())
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "required",
            "the capacity API finds the place by ?identifier=<idExterneSynchro>",
        );
    };
    let patch = match patch_of(request, "Location").await {
        Ok(patch) => patch,
        Err(refusal) => return refusal,
    };
    if !capacity_only(&patch) {
        return server_only("the capacity API changes ror-location-supported-capacity only".into());
    }
    let found = match directory
        .store
        .search("Location", &[("identifier".into(), place.clone())])
    {
        Ok(found) => found,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, "invalid", problem),
    };
    let location = match found.as_slice() {
        [location] => location.clone(),
        [] => {
            return refuse_at(
                &PatchError::NotFound(format!("Location with identifier {place}")),
                "Location",
            );
        }
        _ => {
            return refuse_at(
                &PatchError::MultipleMatches(format!("identifier {place}")),
                "Location",
            );
        }
    };
    let id = location["id"].as_str().unwrap_or_default().to_string();
    apply_and_store(directory, &patch, "Location", &id, &location)
}
