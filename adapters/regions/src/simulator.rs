//! A regional platform on loopback, speaking the mapping of `schemas/regions/README.md`:
//! the token endpoint, transactions of conditional updates and of conditional creates (a
//! Cahier de liaison note), reads, identifier searches, and the note search partners'
//! entries are read back with (`DocumentReference?type=…&_include=DocumentReference:subject`).
//!
//! Two clients are registered: the gateway, and a partner (the software of a home-care
//! nurse, say) that writes entries in the liaison book of a beneficiary the gateway
//! shared. A client sees what it wrote and what concerns the patients it shared.
//!
//! It refuses what the contract forbids: no token (401), another content type (415), a
//! body over the limit (413), a transaction that breaks the rules (422, an
//! OperationOutcome naming each element), a conditional reference that finds nothing or
//! several resources (422), an identifier another client already holds (409), and
//! search parameters it does not serve (400).

use std::collections::BTreeMap;
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

use crate::dialect::Dialect;
use crate::rules::{check_transaction, conditional};

pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
pub const SANDBOX_CLIENT_ID: &str = "crt-gateway-sandbox";
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-secret-not-for-production";
/// A partner of the care circle, for tests and demonstrations.
pub const PARTNER_CLIENT_ID: &str = "partner-sandbox";
pub const PARTNER_CLIENT_SECRET: &str = "partner-secret-not-for-production";
/// The partner's identifier system for its own entries.
pub const PARTNER_ENTRY_SYSTEM: &str = "urn:oid:1.2.250.1.999.1.9";
const DEFAULT_PAGE: usize = 100;

#[derive(Debug, Clone)]
struct Stored {
    owner: String,
    resource: Value,
}

#[derive(Debug, Default)]
struct Resources {
    next_id: u64,
    /// By `Type/id`.
    stored: Retained<String, Stored>,
}

impl Resources {
    /// `Type/id` of the resources of `kind` holding `system|value`.
    fn find(&self, kind: &str, system: &str, value: &str) -> Vec<String> {
        self.stored
            .iter()
            .filter(|(key, _)| key.split('/').next() == Some(kind))
            .filter(|(_, s)| {
                let master = &s.resource["masterIdentifier"];
                (master["system"] == system && master["value"] == value)
                    || s.resource["identifier"].as_array().is_some_and(|ids| {
                        ids.iter()
                            .any(|i| i["system"] == system && i["value"] == value)
                    })
            })
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The client that shared the patient a resource is about.
    fn patient_owner(&self, resource: &Value) -> Option<&str> {
        let reference = resource["subject"]["reference"]
            .as_str()
            .or_else(|| resource["patient"]["reference"].as_str())?;
        self.stored.get(reference).map(|s| s.owner.as_str())
    }

    fn visible(&self, stored: &Stored, client: &str) -> bool {
        stored.owner == client || self.patient_owner(&stored.resource) == Some(client)
    }
}

/// The simulated platform's state.
pub struct Platform {
    dialect: Dialect,
    tokens: TokenDesk,
    resources: Mutex<Resources>,
}

impl Platform {
    fn lock(&self) -> std::sync::MutexGuard<'_, Resources> {
        self.resources.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    /// Every stored resource of `kind`.
    pub fn resources(&self, kind: &str) -> Vec<Value> {
        self.lock()
            .stored
            .iter()
            .filter(|(key, _)| key.split('/').next() == Some(kind))
            .map(|(_, s)| s.resource.clone())
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("regional platform simulator TLS: {0}")]
pub struct SimulatorError(String);

pub struct PlatformSimulator {
    acceptor: TlsAcceptor,
    platform: Arc<Platform>,
}

impl PlatformSimulator {
    /// A simulator of `dialect`'s platform that knows the sandbox's gateway and partner.
    pub fn new(dialect: Dialect, tls: &SimulatorTls) -> Result<Self, SimulatorError> {
        let acceptor = tls.acceptor().map_err(|e| SimulatorError(e.to_string()))?;
        Ok(PlatformSimulator {
            acceptor,
            platform: Arc::new(Platform {
                dialect,
                tokens: TokenDesk::new(
                    vec![
                        (SANDBOX_CLIENT_ID.into(), SANDBOX_CLIENT_SECRET.into()),
                        (PARTNER_CLIENT_ID.into(), PARTNER_CLIENT_SECRET.into()),
                    ],
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
    let Some(rest) = path.strip_prefix("/fhir") else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no endpoint at {path}"),
        );
    };
    let Some(client) = platform.tokens.client_of(&bearer(&request)) else {
        return unauthorised();
    };
    let segments: Vec<&str> = rest
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let query = request.uri().query().unwrap_or_default().to_string();
    match (request.method().clone(), segments.as_slice()) {
        (Method::POST, []) => transaction(request, platform, &client).await,
        (Method::GET, ["DocumentReference"]) if !query.contains("identifier=") => {
            notes(platform, &client, &query)
        }
        (Method::GET, [kind]) => by_identifier(platform, &client, kind, &query),
        (Method::GET, [kind, id]) => read(platform, &client, kind, id),
        (method, _) => refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "not-supported",
            format!("{method} {path} is not served"),
        ),
    }
}

fn read(platform: &Platform, client: &str, kind: &str, id: &str) -> Response<Full<Bytes>> {
    let resources = platform.lock();
    let key = format!("{kind}/{id}");
    match resources.stored.get(&key) {
        Some(stored) if resources.visible(stored, client) => {
            fhir::resource(StatusCode::OK, &stored.resource)
        }
        _ => refuse(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{key} is not known"),
        ),
    }
}

/// `GET /fhir/{Type}?identifier=system|value`.
fn by_identifier(
    platform: &Platform,
    client: &str,
    kind: &str,
    query: &str,
) -> Response<Full<Bytes>> {
    let pairs = parse_form(query);
    let wanted = match pairs.as_slice() {
        [(name, value)] if name == "identifier" => value.clone(),
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("{kind} is searched by identifier=system|value only"),
            );
        }
    };
    let Some((system, value)) = wanted.split_once('|') else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid",
            "identifier takes system|value",
        );
    };
    let resources = platform.lock();
    let found: Vec<Value> = resources
        .find(kind, system, value)
        .iter()
        .filter_map(|key| resources.stored.get(key))
        .filter(|s| resources.visible(s, client))
        .map(|s| s.resource.clone())
        .collect();
    fhir::resource(StatusCode::OK, &fhir::searchset(found, Vec::new()))
}

/// `GET /fhir/DocumentReference?type=<TRE_R234>|[code]&_lastUpdated=gt…
/// &_include=DocumentReference:subject&_count=…`: the notes of the liaison books the client
/// may see.
fn notes(platform: &Platform, client: &str, query: &str) -> Response<Full<Bytes>> {
    let mut note_type: Option<(String, String)> = None;
    let mut since = None;
    let mut include = false;
    let mut count = DEFAULT_PAGE;
    let mut offset = 0;
    for (name, value) in parse_form(query) {
        let number = || value.parse::<usize>().ok();
        match name.as_str() {
            "_lastUpdated" => match fhir::updated_after(&value) {
                Ok(instant) => since = Some(instant),
                Err(refusal) => return refusal,
            },
            "_include" if value == "DocumentReference:subject" => include = true,
            "type" => match value.split_once('|') {
                Some((system, code)) => note_type = Some((system.into(), code.into())),
                None => note_type = Some((String::new(), value.clone())),
            },
            "_count" => match number() {
                Some(n) if (1..=1000).contains(&n) => count = n,
                _ => {
                    return refuse(StatusCode::BAD_REQUEST, "invalid", "_count takes 1 to 1000");
                }
            },
            "_offset" => match number() {
                Some(n) => offset = n,
                None => return refuse(StatusCode::BAD_REQUEST, "invalid", "_offset is a number"),
            },
            other => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("search parameter {other} is not supported on DocumentReference"),
                );
            }
        }
    }
    let resources = platform.lock();
    let mut matches: Vec<&Stored> = resources
        .stored
        .iter()
        .filter(|(key, _)| key.starts_with("DocumentReference/"))
        .map(|(_, s)| s)
        .filter(|s| {
            note_type.as_ref().is_none_or(|(system, code)| {
                s.resource["type"]["coding"]
                    .as_array()
                    .is_some_and(|codings| {
                        codings.iter().any(|c| {
                            (system.is_empty() || c["system"] == system.as_str())
                                && (code.is_empty() || c["code"] == code.as_str())
                        })
                    })
            })
        })
        .filter(|s| resources.visible(s, client))
        .filter(|s| fhir::changed_after(&s.resource, since))
        .collect();
    matches.sort_by(|a, b| {
        a.resource["meta"]["lastUpdated"]
            .as_str()
            .cmp(&b.resource["meta"]["lastUpdated"].as_str())
    });
    let total = matches.len();
    let page: Vec<Value> = matches
        .into_iter()
        .skip(offset)
        .take(count)
        .map(|s| s.resource.clone())
        .collect();
    let mut included: Vec<Value> = Vec::new();
    if include {
        for note in &page {
            if let Some(patient) = note["subject"]["reference"]
                .as_str()
                .and_then(|r| resources.stored.get(r))
                && !included.contains(&patient.resource)
            {
                included.push(patient.resource.clone());
            }
        }
    }
    let shown = page.len();
    let mut bundle = fhir::searchset(page, included);
    bundle["total"] = json!(total);
    if offset + shown < total {
        bundle["link"] = json!([{
            "relation": "next",
            "url": format!("/fhir/DocumentReference?{}", next_query(query, offset + shown)),
        }]);
    }
    fhir::resource(StatusCode::OK, &bundle)
}

fn next_query(query: &str, offset: usize) -> String {
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("_offset="))
        .map(str::to_string)
        .collect();
    pairs.push(format!("_offset={offset}"));
    pairs.join("&")
}

/// Rewrites every reference: entries of the transaction to their `Type/id`, conditional
/// references to the one resource they find.
fn resolve(
    value: &mut Value,
    entries: &BTreeMap<String, String>,
    resources: &Resources,
    problems: &mut Vec<String>,
) {
    match value {
        Value::Object(fields) => {
            for (name, inner) in fields.iter_mut() {
                if name == "reference"
                    && let Some(reference) = inner.as_str()
                {
                    if let Some(key) = entries.get(reference) {
                        *inner = json!(key);
                    } else if let Some((kind, system, id)) = conditional(reference) {
                        match resources.find(kind, &system, &id).as_slice() {
                            [key] => *inner = json!(key),
                            [] => problems.push(format!("{reference}: matches no resource")),
                            _ => problems.push(format!("{reference}: matches several resources")),
                        }
                    }
                } else {
                    resolve(inner, entries, resources, problems);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                resolve(item, entries, resources, problems);
            }
        }
        _ => {}
    }
}

async fn transaction(
    request: Request<Incoming>,
    platform: &Platform,
    client: &str,
) -> Response<Full<Bytes>> {
    let bundle = match fhir::json_body(request, MAX_BODY_BYTES).await {
        Ok(value) => value,
        Err(refusal) => return refusal,
    };
    let problems = check_transaction(&bundle);
    if !problems.is_empty() {
        return fhir::unprocessable(&problems);
    }
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    let mut resources = platform.lock();
    // Each entry's target: the resource its identifier finds, or a new one.
    let mut targets: Vec<(String, bool)> = Vec::new();
    let mut by_full_url = BTreeMap::new();
    // Conditional creates that find their resource: nothing is written for them.
    let mut held = Vec::new();
    for entry in &entries {
        let create_criteria = entry["request"]["ifNoneExist"].as_str().map(|criteria| {
            format!(
                "{}?{criteria}",
                entry["request"]["url"].as_str().unwrap_or_default()
            )
        });
        let url = create_criteria
            .clone()
            .unwrap_or_else(|| entry["request"]["url"].as_str().unwrap_or_default().into());
        let Some((kind, system, value)) = conditional(&url) else {
            return fhir::unprocessable(&[format!("{url}: not a conditional update or create")]);
        };
        let target = match resources.find(kind, &system, &value).as_slice() {
            [] => {
                resources.next_id += 1;
                (format!("{kind}/{}", resources.next_id), true)
            }
            [key] if create_criteria.is_some() => {
                held.push(key.clone());
                (key.clone(), false)
            }
            [key] => {
                if resources.stored.get(key).is_some_and(|s| s.owner != client) {
                    return refuse(
                        StatusCode::CONFLICT,
                        "conflict",
                        format!("{kind} {system}|{value} belongs to another client"),
                    );
                }
                (key.clone(), false)
            }
            _ => {
                return fhir::unprocessable(&[format!("{url}: matches several resources")]);
            }
        };
        by_full_url.insert(
            entry["fullUrl"].as_str().unwrap_or_default().to_string(),
            target.0.clone(),
        );
        targets.push(target);
    }
    let stamp = fhir::instant_now();
    let mut problems = Vec::new();
    let mut written = Vec::new();
    for (entry, (key, created)) in entries.into_iter().zip(targets) {
        if held.contains(&key) {
            continue;
        }
        let mut resource = entry["resource"].clone();
        resolve(&mut resource, &by_full_url, &resources, &mut problems);
        let version = match resources.stored.get(&key) {
            Some(previous) => {
                previous.resource["meta"]["versionId"]
                    .as_str()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    + 1
            }
            None => 1,
        };
        resource["id"] = json!(key.split('/').nth(1).unwrap_or_default());
        let profile = resource["meta"]["profile"].clone();
        resource["meta"] = json!({"versionId": version.to_string(), "lastUpdated": stamp});
        if !profile.is_null() {
            resource["meta"]["profile"] = profile;
        }
        written.push((key, created, resource));
    }
    if !problems.is_empty() {
        return fhir::unprocessable(&problems);
    }
    let mut answers = Vec::new();
    for key in held {
        let version = resources
            .stored
            .get(&key)
            .map_or(json!("1"), |s| s.resource["meta"]["versionId"].clone());
        answers.push(json!({"response": {
            "status": "200 OK",
            "location": format!("{key}/_history/{}", version.as_str().unwrap_or("1")),
        }}));
    }
    for (key, created, resource) in written {
        let version = resource["meta"]["versionId"].clone();
        let status = if created { "201 Created" } else { "200 OK" };
        answers.push(json!({"response": {
            "status": status,
            "location": format!("{key}/_history/{}", version.as_str().unwrap_or("1")),
        }}));
        let owner = match resources.stored.get(&key) {
            Some(previous) => previous.owner.clone(),
            None => client.to_string(),
        };
        resources.stored.insert(key, Stored { owner, resource });
    }
    fhir::resource(
        StatusCode::OK,
        &json!({"resourceType": "Bundle", "type": "transaction-response", "entry": answers}),
    )
}

/// A partner's note about the beneficiary `system|value`, as the partner's software would
/// post it in a Cahier de liaison creation Bundle.
pub fn partner_entry_bundle(
    patient_system: &str,
    beneficiary: &str,
    entry_id: &str,
    kind: crt_core::record::LiaisonKind,
    text: &str,
) -> Value {
    use base64::Engine;

    use crate::share::{
        CDL_CREATION_BUNDLE_PROFILE, CDL_IS_EMERGENCY, CDL_NOTE_PROFILE, NOTE_TEXT, NOTE_TYPE,
    };
    let identifier = format!("{PARTNER_ENTRY_SYSTEM}|{entry_id}");
    let now = fhir::instant_now();
    json!({
        "resourceType": "Bundle",
        "meta": {"profile": [CDL_CREATION_BUNDLE_PROFILE]},
        "type": "transaction",
        "entry": [{
            "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, identifier.as_bytes())),
            "resource": {
                "resourceType": "DocumentReference",
                "meta": {"profile": [CDL_NOTE_PROFILE]},
                "extension": [{
                    "url": CDL_IS_EMERGENCY,
                    "valueBoolean": kind == crt_core::record::LiaisonKind::Alert,
                }],
                "masterIdentifier": {"system": PARTNER_ENTRY_SYSTEM, "value": entry_id},
                "status": "current",
                "type": {"coding": [{"system": NOTE_TYPE, "code": "INTERV", "display": "Note d'intervention"}]},
                "subject": {"reference": format!("Patient?identifier={}", crt_core::oauth::encode(&format!("{patient_system}|{beneficiary}")))},
                "date": now,
                "author": [{"display": "Cabinet infirmier partenaire"}],
                "content": [{"attachment": {
                    "contentType": NOTE_TEXT,
                    "language": "fr",
                    "data": base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
                    "creation": now,
                }}],
            },
            "request": {
                "method": "POST",
                "url": "DocumentReference",
                "ifNoneExist": format!("identifier={}", crt_core::oauth::encode(&identifier)),
            },
        }],
    })
}
