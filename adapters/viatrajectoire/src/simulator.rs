//! ViaTrajectoire on loopback, as the *Suivi des décisions d'orientation* guide has a
//! structure's software meet it: the token endpoint and, scoped by the `struct_idnat`
//! header, the requests that reached the structure (flux 1: DocumentReference search and
//! read), its answers (flux 4: `POST Task`, conditional on `If-None-Exist`) and the Task
//! search (flux 5), over mutual TLS. A control endpoint does what ViaTrajectoire's users
//! would: make a request to a CRT (`POST /test/requests`; `POST /test/requests/$raw`
//! stores a DocumentReference as given, to test refusals), withdraw one
//! (`POST /test/requests/{request}/$withdraw`), or have the person enter another structure
//! (`POST /test/requests/{request}/$admitted-elsewhere`).
//!
//! The structure's directory card is kept too (`GET`/`PUT HealthcareService?identifier=…`,
//! crt-gateway's contract, see [`crate::directory`]).
//!
//! It refuses what the guide and the contract forbid: no token (401), no `struct_idnat`
//! header (403), a Task that breaks `esms-task` or names another structure than the header
//! (422), an answer to a request the structure did not receive (404) or that is over
//! (409: admitted, refused or withdrawn), a read of another structure's request (404).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use crt_core::oauth::parse_form;
use crt_core::simulate::fhir::{self, TokenDesk, bearer, refuse, unauthorised};
use crt_core::simulate::{self, Peer, Retained, Running, SimulatorTls};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio_rustls::TlsAcceptor;

use crate::answer::{SDO_INPUT, STATUS_SYSTEM, TASK_IDENTIFIER_SYSTEM, request_of, standing};
use crate::client::STRUCT_IDNAT;
use crate::incoming::{self, NewRequest, VIATRAJECTOIRE_OID};
use crate::rules::check_task;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub const SANDBOX_CLIENT_ID: &str = "crt-gateway-sandbox";
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-secret-not-for-production";

#[derive(Debug, Default)]
struct Resources {
    next_id: u64,
    /// By `Type/id`.
    stored: Retained<String, Value>,
}

impl Resources {
    fn stamp(&mut self, resource: &mut Value) {
        let version = resource["meta"]["versionId"]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        // The server's version and change; the profiles claimed stay.
        let profile = resource["meta"]["profile"].clone();
        resource["meta"] = json!({
            "versionId": (version + 1).to_string(),
            "lastUpdated": fhir::instant_now(),
        });
        if !profile.is_null() {
            resource["meta"]["profile"] = profile;
        }
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// The request with this national identifier.
    fn request(&self, request_id: &str) -> Option<(String, &Value)> {
        self.stored
            .iter()
            .filter(|(key, _)| key.starts_with("DocumentReference/"))
            .find(|(_, d)| {
                d["identifier"].as_array().is_some_and(|ids| {
                    ids.iter()
                        .any(|i| i["system"] == VIATRAJECTOIRE_OID && i["value"] == request_id)
                })
            })
            .map(|(key, d)| (key.clone(), d))
    }

    /// The structure a request was made to.
    fn structure_of(document: &Value) -> &str {
        document["custodian"]["identifier"]["value"]
            .as_str()
            .unwrap_or_default()
    }

    /// The Tasks about a request, oldest first.
    fn tasks_about(&self, request_id: &str) -> Vec<&Value> {
        let mut tasks: Vec<&Value> = self
            .stored
            .iter()
            .filter(|(key, _)| key.starts_with("Task/"))
            .map(|(_, t)| t)
            .filter(|t| request_of(t) == Some(request_id))
            .collect();
        tasks.sort_by(|a, b| {
            a["meta"]["lastUpdated"]
                .as_str()
                .cmp(&b["meta"]["lastUpdated"].as_str())
        });
        tasks
    }

    /// Whether the request is over: withdrawn, or its last status final.
    fn is_over(&self, request_id: &str) -> Option<&'static str> {
        let (_, document) = self.request(request_id)?;
        if document["status"] == "entered-in-error" {
            return Some("withdrawn");
        }
        let structure = Resources::structure_of(document);
        let last = self
            .tasks_about(request_id)
            .into_iter()
            .filter_map(|t| standing(t, structure).ok().flatten())
            .next_back()?;
        last.status.is_final().then_some(last.status.as_str())
    }
}

/// The simulated ViaTrajectoire's state.
pub struct Platform {
    tokens: TokenDesk,
    resources: Mutex<Resources>,
}

impl Platform {
    fn lock(&self) -> std::sync::MutexGuard<'_, Resources> {
        self.resources.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every Task, as stored.
    pub fn tasks(&self) -> Vec<Value> {
        self.of_type("Task/")
    }

    /// Every directory card, as stored.
    pub fn cards(&self) -> Vec<Value> {
        self.of_type("HealthcareService/")
    }

    /// Every request, as stored.
    pub fn requests(&self) -> Vec<Value> {
        self.of_type("DocumentReference/")
    }

    fn of_type(&self, prefix: &str) -> Vec<Value> {
        self.lock()
            .stored
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A request made to a CRT in ViaTrajectoire (by a hospital, a GP, the family).
    pub fn receive(&self, request: &NewRequest) -> Value {
        let mut resources = self.lock();
        let id = resources.new_id();
        let number: u64 = id.parse().unwrap_or_default();
        let mut document = incoming::document(
            &id,
            &format!("VT-GA-{number:08}"),
            &format!("D-{number}"),
            request,
            &fhir::instant_now(),
        );
        resources.stamp(&mut document);
        resources
            .stored
            .insert(format!("DocumentReference/{id}"), document.clone());
        document
    }

    /// A DocumentReference stored as given, whatever it holds: what a faulty
    /// ViaTrajectoire would serve, for tests of the reader's refusals.
    pub fn receive_raw(&self, mut document: Value) -> Value {
        let mut resources = self.lock();
        let id = resources.new_id();
        document["id"] = json!(id);
        resources.stamp(&mut document);
        resources
            .stored
            .insert(format!("DocumentReference/{id}"), document.clone());
        document
    }

    /// The request is withdrawn in ViaTrajectoire: the document is marked in error and a
    /// Task says the request is cancelled (J252 49, notification annulée).
    pub fn withdraw(&self, request_id: &str) -> Result<Value, String> {
        let mut resources = self.lock();
        let (key, document) = resources
            .request(request_id)
            .map(|(k, d)| (k, d.clone()))
            .ok_or(format!("no request {request_id}"))?;
        if let Some(over) = resources.is_over(request_id) {
            return Err(format!("request {request_id} is {over} already"));
        }
        let structure = Resources::structure_of(&document).to_string();
        let mut withdrawn = document;
        withdrawn["status"] = json!("entered-in-error");
        resources.stamp(&mut withdrawn);
        resources.stored.insert(key, withdrawn);
        let task = status_task(&structure, "ViaTrajectoire", request_id, "49");
        Ok(store_task(&mut resources, task))
    }

    /// The person entered another structure (J252 47 there): the request ends for the CRT.
    pub fn admitted_elsewhere(&self, request_id: &str, structure: &str) -> Result<Value, String> {
        let mut resources = self.lock();
        if resources.request(request_id).is_none() {
            return Err(format!("no request {request_id}"));
        }
        if let Some(over) = resources.is_over(request_id) {
            return Err(format!("request {request_id} is {over} already"));
        }
        let task = status_task(structure, "EHPAD partenaire", request_id, "47");
        Ok(store_task(&mut resources, task))
    }
}

/// A Task ViaTrajectoire writes itself about a request.
fn status_task(structure: &str, name: &str, request_id: &str, status: &str) -> Value {
    let input = |code: &str, key: &str, value: Value| json!({"type": {"coding": [{"system": SDO_INPUT, "code": code}]}, key: value});
    json!({
        "resourceType": "Task",
        "meta": {"profile": [crate::answer::ESMS_TASK]},
        "status": "completed",
        "intent": "plan",
        "input": [
            input("idNat_Struct", "valueIdentifier", json!({"system": incoming::ID_NAT_STRUCT, "value": structure})),
            input("nomESMS", "valueString", json!(name)),
            input("statutESMS", "valueCodeableConcept", json!({"coding": [{"system": STATUS_SYSTEM, "code": status}]})),
            input("dateStatutESMS", "valueDate", json!(chrono::Utc::now().format("%Y-%m-%d").to_string())),
            input("idDecision", "valueIdentifier", json!({"value": request_id})),
            input("idNat_Decision", "valueIdentifier", json!({"use": "official", "system": VIATRAJECTOIRE_OID, "value": request_id})),
        ],
    })
}

fn store_task(resources: &mut Resources, mut task: Value) -> Value {
    let id = resources.new_id();
    task["id"] = json!(id);
    resources.stamp(&mut task);
    resources.stored.insert(format!("Task/{id}"), task.clone());
    task
}

pub struct ViatrajectoireSimulator {
    acceptor: TlsAcceptor,
    platform: Arc<Platform>,
}

#[derive(Debug, thiserror::Error)]
#[error("ViaTrajectoire simulator TLS: {0}")]
pub struct SimulatorError(String);

/// Where tests act as ViaTrajectoire's users: `<control>/requests`.
pub fn control_url(running: &Running) -> String {
    running.url("/test")
}

impl ViatrajectoireSimulator {
    /// A simulator that knows the sandbox's client.
    pub fn new(tls: &SimulatorTls) -> Result<Self, SimulatorError> {
        let acceptor = tls.acceptor().map_err(|e| SimulatorError(e.to_string()))?;
        Ok(ViatrajectoireSimulator {
            acceptor,
            platform: Arc::new(Platform {
                tokens: TokenDesk::new(
                    vec![(SANDBOX_CLIENT_ID.into(), SANDBOX_CLIENT_SECRET.into())],
                    Duration::from_secs(300),
                ),
                resources: Mutex::new(Resources::default()),
            }),
        })
    }

    pub fn platform(&self) -> Arc<Platform> {
        self.platform.clone()
    }

    pub async fn start(self, addr: SocketAddr) -> std::io::Result<Running> {
        let platform = self.platform;
        simulate::serve(addr, self.acceptor, move |request, peer| {
            let platform = platform.clone();
            async move { handle(request, peer, &platform).await }
        })
        .await
    }
}

async fn handle(
    request: Request<Incoming>,
    peer: Arc<Peer>,
    platform: &Platform,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    if path == "/oauth/token" {
        return platform.tokens.answer(request, &peer).await;
    }
    if let Some(rest) = path.strip_prefix("/test/requests") {
        let rest = rest.trim_start_matches('/').to_string();
        return control(request, platform, &rest).await;
    }
    let Some(rest) = path.strip_prefix("/fhir") else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no endpoint at {path}"),
        );
    };
    if platform.tokens.client_of(&bearer(&request)).is_none() {
        return unauthorised();
    }
    let structure = request
        .headers()
        .get(STRUCT_IDNAT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if structure.len() != 10 || !structure.starts_with(['1', '3']) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the struct_idnat header (1 + FINESS, or 3 + SIRET) is required",
        );
    }
    let segments: Vec<&str> = rest
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let query = request.uri().query().unwrap_or_default().to_string();
    match (request.method().clone(), segments.as_slice()) {
        (Method::GET, ["DocumentReference"]) => requests(platform, &structure, &query),
        (Method::GET, ["DocumentReference", id]) => read_request(platform, &structure, id),
        (Method::POST, ["Task"]) => answer(request, platform, &structure).await,
        (Method::GET, ["Task"]) => tasks(platform, &structure, &query),
        (Method::GET, ["HealthcareService"]) => cards(platform, &structure, &query),
        (Method::PUT, ["HealthcareService"]) => {
            put_card(request, platform, &structure, &query).await
        }
        (method, _) => refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "not-supported",
            format!("{method} {path} is not served"),
        ),
    }
}

/// A search's parameters (only `allowed` ones and `_lastUpdated=gt…`, the one bound the
/// guide's searches use), and that bound.
type Search = (Vec<(String, String)>, Option<chrono::DateTime<chrono::Utc>>);

#[allow(clippy::result_large_err)]
fn search(query: &str, allowed: &[&str]) -> Result<Search, Response<Full<Bytes>>> {
    let pairs = parse_form(query);
    let mut since = None;
    for (name, value) in &pairs {
        if name == "_lastUpdated" {
            since = Some(fhir::updated_after(value)?);
        } else if !allowed.contains(&name.as_str()) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("search parameter {name} is not supported"),
            ));
        }
    }
    Ok((pairs, since))
}

/// Flux 1: `DocumentReference?type=57830-2&_lastUpdated=gt…&_elements=id`.
fn requests(platform: &Platform, structure: &str, query: &str) -> Response<Full<Bytes>> {
    let (pairs, since) = match search(query, &["type", "_elements"]) {
        Ok(search) => search,
        Err(refusal) => return refusal,
    };
    let wanted_type = format!("{}|{}", incoming::LOINC, incoming::REQUEST_TYPE);
    let typed = pairs
        .iter()
        .any(|(n, v)| n == "type" && (v == &wanted_type || v == incoming::REQUEST_TYPE));
    if !typed {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("the requests are searched with type={wanted_type}"),
        );
    }
    let ids_only = pairs.iter().any(|(n, v)| n == "_elements" && v == "id");
    let resources = platform.lock();
    let found: Vec<Value> = resources
        .stored
        .iter()
        .filter(|(key, _)| key.starts_with("DocumentReference/"))
        .map(|(_, d)| d)
        .filter(|d| Resources::structure_of(d) == structure)
        .filter(|d| fhir::changed_after(d, since))
        .map(|d| {
            if ids_only {
                json!({"resourceType": "DocumentReference", "id": d["id"], "meta": d["meta"]})
            } else {
                d.clone()
            }
        })
        .collect();
    fhir::resource(StatusCode::OK, &fhir::searchset(found, Vec::new()))
}

fn read_request(platform: &Platform, structure: &str, id: &str) -> Response<Full<Bytes>> {
    let resources = platform.lock();
    match resources.stored.get(&format!("DocumentReference/{id}")) {
        Some(document) if Resources::structure_of(document) == structure => {
            fhir::resource(StatusCode::OK, document)
        }
        _ => refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("DocumentReference/{id} is not known to this structure"),
        ),
    }
}

/// Flux 4: `POST Task`, created unless a Task with the `If-None-Exist` identifier exists.
async fn answer(
    request: Request<Incoming>,
    platform: &Platform,
    structure: &str,
) -> Response<Full<Bytes>> {
    let criteria = request
        .headers()
        .get("if-none-exist")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let task = match fhir::json_body(request, MAX_BODY_BYTES).await {
        Ok(task) => task,
        Err(refusal) => return refusal,
    };
    let problems = check_task(&task, structure);
    if !problems.is_empty() {
        return fhir::unprocessable(&problems);
    }
    let mut resources = platform.lock();
    if let Some(criteria) = criteria {
        let wanted = parse_form(&criteria)
            .into_iter()
            .find(|(n, _)| n == "identifier")
            .map(|(_, v)| v)
            .unwrap_or_default();
        let existing = resources
            .stored
            .iter()
            .filter(|(key, _)| key.starts_with("Task/"))
            .map(|(_, t)| t)
            .find(|t| {
                t["identifier"].as_array().is_some_and(|ids| {
                    ids.iter().any(|i| {
                        format!(
                            "{}|{}",
                            i["system"].as_str().unwrap_or_default(),
                            i["value"].as_str().unwrap_or_default()
                        ) == wanted
                    })
                })
            });
        if let Some(existing) = existing {
            return fhir::resource(StatusCode::OK, existing);
        }
    }
    let request_id = request_of(&task).unwrap_or_default().to_string();
    match resources.request(&request_id) {
        Some((_, document)) if Resources::structure_of(document) == structure => {}
        _ => {
            return refuse(
                StatusCode::NOT_FOUND,
                "not-found",
                format!("request {request_id} did not reach structure {structure}"),
            );
        }
    }
    if let Some(over) = resources.is_over(&request_id) {
        return refuse(
            StatusCode::CONFLICT,
            "conflict",
            format!("request {request_id} is {over}: no answer comes after"),
        );
    }
    if task["identifier"]
        .as_array()
        .is_none_or(|ids| !ids.iter().any(|i| i["system"] == TASK_IDENTIFIER_SYSTEM))
    {
        return fhir::unprocessable(&["Task.identifier: the answer's identifier (urn:ietf:rfc:3986) is required by the contract".into()]);
    }
    let stored = store_task(&mut resources, task);
    fhir::resource(StatusCode::CREATED, &stored)
}

/// Flux 5: `Task?_lastUpdated=gt…`, the Tasks about the structure's requests.
fn tasks(platform: &Platform, structure: &str, query: &str) -> Response<Full<Bytes>> {
    let since = match search(query, &[]) {
        Ok((_, since)) => since,
        Err(refusal) => return refusal,
    };
    let resources = platform.lock();
    let found: Vec<Value> = resources
        .stored
        .iter()
        .filter(|(key, _)| key.starts_with("Task/"))
        .map(|(_, t)| t)
        .filter(|t| {
            request_of(t)
                .and_then(|id| resources.request(id))
                .is_some_and(|(_, d)| Resources::structure_of(d) == structure)
        })
        .filter(|t| fhir::changed_after(t, since))
        .cloned()
        .collect();
    fhir::resource(StatusCode::OK, &fhir::searchset(found, Vec::new()))
}

/// `POST /test/requests` (a request to a CRT), `POST /test/requests/{request}/$withdraw`,
/// `POST /test/requests/{request}/$admitted-elsewhere` with `{"structure": "1…"}`.
async fn control(
    request: Request<Incoming>,
    platform: &Platform,
    rest: &str,
) -> Response<Full<Bytes>> {
    if request.method() != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "not-supported", "POST only");
    }
    let body = match fhir::body_of(request, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let result = match rest.split_once("/$") {
        None if rest.is_empty() => match serde_json::from_slice::<NewRequest>(&body) {
            Ok(new) => return fhir::resource(StatusCode::CREATED, &platform.receive(&new)),
            Err(e) => Err(format!("not a request: {e}")),
        },
        None if rest == "$raw" => match serde_json::from_slice::<Value>(&body) {
            Ok(document) => {
                return fhir::resource(StatusCode::CREATED, &platform.receive_raw(document));
            }
            Err(e) => Err(format!("not JSON: {e}")),
        },
        Some((request_id, "withdraw")) => platform.withdraw(request_id),
        Some((request_id, "admitted-elsewhere")) => {
            let structure = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["structure"].as_str().map(str::to_string))
                .unwrap_or_default();
            platform.admitted_elsewhere(request_id, &structure)
        }
        _ => Err(format!("no control at /test/requests/{rest}")),
    };
    match result {
        Ok(task) => fhir::resource(StatusCode::OK, &task),
        Err(problem) => refuse(StatusCode::CONFLICT, "conflict", problem),
    }
}

/// The structure a card search or conditional update names
/// (`identifier=<idNat_Struct>|<structure>`), which must be the header's.
#[allow(clippy::result_large_err)]
fn card_structure(query: &str, structure: &str) -> Result<(), Response<Full<Bytes>>> {
    let wanted = format!("{}|{structure}", incoming::ID_NAT_STRUCT);
    let pairs = parse_form(query);
    match pairs.as_slice() {
        [(name, value)] if name == "identifier" && *value == wanted => Ok(()),
        [(name, _)] if name == "identifier" => Err(refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a structure reads and writes its own card only",
        )),
        _ => Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("a card is searched and updated by identifier={wanted}"),
        )),
    }
}

/// The key of a structure's card.
fn card_key(resources: &Resources, structure: &str) -> Option<String> {
    resources
        .stored
        .iter()
        .filter(|(key, _)| key.starts_with("HealthcareService/"))
        .find(|(_, card)| crate::directory::structure_of(card) == Some(structure))
        .map(|(key, _)| key.clone())
}

/// `GET HealthcareService?identifier=…`: the structure's card.
fn cards(platform: &Platform, structure: &str, query: &str) -> Response<Full<Bytes>> {
    if let Err(refusal) = card_structure(query, structure) {
        return refusal;
    }
    let resources = platform.lock();
    let found: Vec<Value> = card_key(&resources, structure)
        .and_then(|key| resources.stored.get(&key).cloned())
        .into_iter()
        .collect();
    fhir::resource(StatusCode::OK, &fhir::searchset(found, Vec::new()))
}

/// `PUT HealthcareService?identifier=…`: the structure's card created or replaced (a
/// conditional update); the same content again keeps its version.
async fn put_card(
    request: Request<Incoming>,
    platform: &Platform,
    structure: &str,
    query: &str,
) -> Response<Full<Bytes>> {
    if let Err(refusal) = card_structure(query, structure) {
        return refusal;
    }
    let card = match fhir::json_body(request, MAX_BODY_BYTES).await {
        Ok(card) => card,
        Err(refusal) => return refusal,
    };
    let problems = crate::directory::check_card(&card, structure);
    if !problems.is_empty() {
        return fhir::unprocessable(&problems);
    }
    let mut resources = platform.lock();
    let (key, held) = match card_key(&resources, structure) {
        Some(key) => {
            let held = resources.stored.get(&key).cloned();
            (key, held)
        }
        None => (format!("HealthcareService/{}", resources.new_id()), None),
    };
    if let Some(held) = &held
        && crate::directory::same(held, &card)
    {
        return fhir::resource(StatusCode::OK, held);
    }
    let mut stored = card;
    stored["id"] = json!(key.trim_start_matches("HealthcareService/"));
    if let Some(held) = &held {
        stored["meta"] = held["meta"].clone();
    }
    resources.stamp(&mut stored);
    resources.stored.insert(key, stored.clone());
    let status = if held.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    fhir::resource(status, &stored)
}
