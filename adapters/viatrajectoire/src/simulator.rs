//! ViaTrajectoire on loopback: the token endpoint and the FHIR API of the contract
//! (transaction, Task search and read), over mutual TLS, plus a control endpoint for tests
//! and demonstrations that moves a request through its statuses as ViaTrajectoire's users
//! would (`POST /test/Task/{id}/$advance`).
//!
//! It refuses what the contract forbids: no token, no `struct_idnat` header, a Task made
//! for another structure than the header names, requests that break the contract (422),
//! reading a Task of another structure (404), and reading the medical part of an admission
//! file at all (403: it is for the coordinating physician, in ViaTrajectoire itself).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use crt_core::oauth::parse_form;
use crt_core::simulate::fhir::{self, TokenDesk, bearer, body_of, refuse, unauthorised};
use crt_core::simulate::{self, Peer, Retained, Running, SimulatorTls};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio_rustls::TlsAcceptor;

use crate::client::STRUCT_IDNAT;
use crate::request::{CONFIDENTIALITY, TASK_IDENTIFIER_SYSTEM};
use crate::rules::check_request;
use crate::status::{Standing, Status};

pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const SANDBOX_CLIENT_ID: &str = "crt-gateway-sandbox";
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-secret-not-for-production";

#[derive(Debug, Default)]
struct Resources {
    next_id: u64,
    /// By `Type/id`.
    stored: Retained<String, Value>,
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
        self.lock()
            .stored
            .iter()
            .filter(|(k, _)| k.starts_with("Task/"))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Moves a request on, as ViaTrajectoire's users would; refused once it is final.
    pub fn advance(&self, task_id: &str, standing: &Standing) -> Result<Value, String> {
        let mut resources = self.lock();
        let key = format!("Task/{task_id}");
        let task = resources
            .stored
            .get_mut(&key)
            .ok_or(format!("{key} is not known"))?;
        let current = Standing::of_task(task).map_err(|e| e.to_string())?;
        if current.status.is_final() {
            return Err(format!("{key} is {} already", current.status.as_str()));
        }
        standing.apply_to(task);
        let version = task["meta"]["versionId"]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1);
        task["meta"] =
            json!({"versionId": (version + 1).to_string(), "lastUpdated": fhir::instant_now()});
        Ok(task.clone())
    }
}

pub struct ViatrajectoireSimulator {
    acceptor: TlsAcceptor,
    platform: Arc<Platform>,
}

#[derive(Debug, thiserror::Error)]
#[error("ViaTrajectoire simulator TLS: {0}")]
pub struct SimulatorError(String);

/// Where tests move requests on: `POST <control>/Task/{id}/$advance`.
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
        let running = simulate::serve(addr, self.acceptor, move |request, peer| {
            let platform = platform.clone();
            async move { handle(request, peer, &platform).await }
        })
        .await?;
        Ok(running)
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
    if let Some(rest) = path.strip_prefix("/test/Task/") {
        return control(request, platform, rest).await;
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
        (Method::POST, []) => transaction(request, platform, &structure).await,
        (Method::GET, ["Task"]) => search(platform, &structure, &query),
        (Method::GET, [kind, id]) => read(platform, &structure, kind, id),
        (method, _) => refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "not-supported",
            format!("{method} {path} is not served"),
        ),
    }
}

/// The structure a stored resource belongs to (its Task's requester).
fn owner_of(resources: &Resources, value: &Value) -> Option<String> {
    if value["resourceType"] == "Task" {
        return value["requester"]["identifier"]["value"]
            .as_str()
            .map(str::to_string);
    }
    let reference = format!(
        "{}/{}",
        value["resourceType"].as_str()?,
        value["id"].as_str()?
    );
    resources
        .stored
        .values()
        .filter(|r| r["resourceType"] == "Task")
        .find(|task| {
            task["for"]["reference"] == reference.as_str()
                || task["input"].as_array().is_some_and(|inputs| {
                    inputs
                        .iter()
                        .any(|i| i["valueReference"]["reference"] == reference.as_str())
                })
        })
        .and_then(|task| {
            task["requester"]["identifier"]["value"]
                .as_str()
                .map(str::to_string)
        })
}

fn read(platform: &Platform, structure: &str, kind: &str, id: &str) -> Response<Full<Bytes>> {
    let resources = platform.lock();
    let key = format!("{kind}/{id}");
    let not_found = || {
        refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{key} is not known"),
        )
    };
    let Some(value) = resources.stored.get(&key) else {
        return not_found();
    };
    if owner_of(&resources, value).as_deref() != Some(structure) {
        return not_found();
    }
    let restricted = value["meta"]["security"].as_array().is_some_and(|labels| {
        labels
            .iter()
            .any(|l| l["system"] == CONFIDENTIALITY && l["code"] == "R")
    });
    if restricted {
        return refuse(
            StatusCode::FORBIDDEN,
            "security",
            "the medical part of the admission file is for the coordinating physician, in ViaTrajectoire only",
        );
    }
    fhir::resource(StatusCode::OK, value)
}

fn search(platform: &Platform, structure: &str, query: &str) -> Response<Full<Bytes>> {
    let mut since = None;
    let mut identifier: Option<String> = None;
    for (name, value) in parse_form(query) {
        match name.as_str() {
            "_lastUpdated" => match fhir::updated_after(&value) {
                Ok(instant) => since = Some(instant),
                Err(refusal) => return refusal,
            },
            "identifier" => identifier = Some(value),
            "_sort" | "_count" => {}
            other => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("search parameter {other} is not supported"),
                );
            }
        }
    }
    let tasks: Vec<Value> = platform
        .tasks()
        .into_iter()
        .filter(|t| t["requester"]["identifier"]["value"] == structure)
        .filter(|t| fhir::changed_after(t, since))
        .filter(|t| {
            identifier
                .as_deref()
                .is_none_or(|wanted| has_identifier(t, wanted))
        })
        .collect();
    let bundle = fhir::searchset(tasks, Vec::new());
    fhir::resource(StatusCode::OK, &bundle)
}

/// `system|value` or `value` against a Task's identifiers.
fn has_identifier(task: &Value, wanted: &str) -> bool {
    let (system, value) = wanted.split_once('|').unwrap_or(("", wanted));
    task["identifier"].as_array().is_some_and(|ids| {
        ids.iter()
            .any(|id| id["value"] == value && (system.is_empty() || id["system"] == system))
    })
}

async fn transaction(
    request: Request<Incoming>,
    platform: &Platform,
    structure: &str,
) -> Response<Full<Bytes>> {
    let bundle = match fhir::json_body(request, MAX_BODY_BYTES).await {
        Ok(value) => value,
        Err(refusal) => return refusal,
    };
    let problems = check_request(&bundle, structure);
    if !problems.is_empty() {
        return fhir::unprocessable(&problems);
    }
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    let mut resources = platform.lock();
    // Conditional create: the same request again finds the first one.
    let identifier = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Task")
        .and_then(|e| {
            e["resource"]["identifier"]
                .as_array()?
                .iter()
                .find(|i| i["system"] == TASK_IDENTIFIER_SYSTEM)?["value"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default();
    let existing = resources
        .stored
        .iter()
        .find(|(k, t)| k.starts_with("Task/") && has_identifier(t, &identifier))
        .map(|(k, _)| k.clone());
    if let Some(existing) = existing {
        let answers: Vec<Value> = entries
            .iter()
            .map(|e| {
                if e["resource"]["resourceType"] == "Task" {
                    json!({"response": {"status": "200 OK", "location": format!("{existing}/_history/1")}})
                } else {
                    json!({"response": {"status": "200 OK"}})
                }
            })
            .collect();
        return fhir::resource(
            StatusCode::OK,
            &json!({"resourceType": "Bundle", "type": "transaction-response", "entry": answers}),
        );
    }
    let stamp = fhir::instant_now();
    let mut ids = BTreeMap::new();
    for entry in &entries {
        resources.next_id += 1;
        let kind = entry["resource"]["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        ids.insert(
            entry["fullUrl"].as_str().unwrap_or_default().to_string(),
            format!("{kind}/{}", resources.next_id),
        );
    }
    let mut answers = Vec::new();
    for entry in entries {
        let full_url = entry["fullUrl"].as_str().unwrap_or_default().to_string();
        let key = ids.get(&full_url).cloned().unwrap_or_default();
        let mut text = entry["resource"].to_string();
        for (urn, reference) in &ids {
            text = text.replace(&format!("\"{urn}\""), &format!("\"{reference}\""));
        }
        let Ok(mut resource) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        resource["id"] = json!(key.split('/').nth(1).unwrap_or_default());
        let security = resource["meta"]["security"].clone();
        resource["meta"] = json!({"versionId": "1", "lastUpdated": stamp});
        if !security.is_null() {
            resource["meta"]["security"] = security;
        }
        answers.push(
            json!({"response": {"status": "201 Created", "location": format!("{key}/_history/1")}}),
        );
        resources.stored.insert(key, resource);
    }
    fhir::resource(
        StatusCode::OK,
        &json!({"resourceType": "Bundle", "type": "transaction-response", "entry": answers}),
    )
}

/// `POST /test/Task/{id}/$advance` with `{"status": "waiting_list", "rank": 3}` or
/// `{"status": "refused", "reason": "…"}`.
async fn control(
    request: Request<Incoming>,
    platform: &Platform,
    rest: &str,
) -> Response<Full<Bytes>> {
    let Some(id) = rest.strip_suffix("/$advance") else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            "expected /test/Task/{id}/$advance",
        );
    };
    if request.method() != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "not-supported", "POST only");
    }
    let body = match body_of(request, 16 * 1024).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(status) = asked["status"].as_str().and_then(Status::parse) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid",
            "status: expected one of the contract's statuses",
        );
    };
    if status == Status::Refused && !asked["reason"].is_string() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid",
            "a refusal gives its reason",
        );
    }
    let standing = Standing {
        status,
        rank: asked["rank"].as_u64().and_then(|r| u32::try_from(r).ok()),
        reason: asked["reason"].as_str().map(str::to_string),
    };
    match platform.advance(id, &standing) {
        Ok(task) => fhir::resource(StatusCode::OK, &task),
        Err(problem) => refuse(StatusCode::CONFLICT, "conflict", problem),
    }
}
