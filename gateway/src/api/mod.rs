//! The HTTP API (hyper 1.x, HTTP/1.1), described in `schemas/openapi.yaml`.
//!
//! Routes are matched by hand: the API is small, and a table in one function reads
//! faster than a framework's macros.

mod alerts;
mod deliveries;
mod dmp;
mod gate;
mod liaison;
mod login;
mod ops;
mod planning;
mod problem;
mod received;
mod records;
mod reports;
mod telemonitoring;
mod ui;
mod validate;
mod volet1;
mod waiting;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crt_core::RecordValidator;
use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tracing::{debug, info};

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::store::Store;

pub use problem::{Body, Problem};

use crate::security::auth::Refusal;
use crate::security::{Access, Caller, Resource};
pub use records::IDEMPOTENCY_KEY;

/// What every request handler may use.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub registry: Arc<Registry>,
    pub validator: Arc<RecordValidator>,
    pub metrics: Arc<Metrics>,
    /// Wakes the engine when a record is accepted.
    pub wake: Arc<Notify>,
    pub config: ServerConfig,
    /// Names beneficiaries in the access trace.
    pub pseudonyms: Arc<crate::audit::Pseudonyms>,
    pub authenticator: crate::security::Authenticator,
    pub policy: crate::security::Policy,
    /// HTTPS (and mutual TLS) for the API, when configured.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub reports: crate::config::ReportsConfig,
    /// Deliveries waiting to be made, for back-pressure on intake.
    pub backlog: Arc<crate::backlog::Backlog>,
    /// Pro Santé Connect, for the login of `/ui/`, when enabled.
    pub psc: Option<Arc<crt_psc::Provider>>,
    pub sessions: Arc<crate::security::session::Sessions>,
    /// Each CRT's own staff: part of the care team of its beneficiaries.
    pub staff: Vec<crate::config::Staff>,
    /// The on-call rota: whom alerts go to, and its gaps for `/readyz`.
    pub rota: Arc<crate::rota::Rota>,
    /// Wakes the on-call dispatcher when an alert is kept or closed.
    pub on_call_wake: Arc<Notify>,
}

/// Serves the API on `listener` until `shutdown` turns true; connections in progress are
/// allowed to finish their current request.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Connections in progress; each ends its current request when shutdown comes.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let stop = shutdown.clone();
        match state.tls.clone() {
            None => {
                let peer = Arc::new(crt_core::simulate::Peer {
                    address: Some(peer),
                    certificate: None,
                });
                connections.spawn(serve_connection(TokioIo::new(stream), state, peer, stop));
            }
            Some(acceptor) => {
                // The handshake runs in the connection's own task, within 10 s, so that
                // a slow client does not hold the accept loop.
                connections.spawn(async move {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await;
                    let stream = match handshake {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            debug!(%peer, error = %e, "TLS handshake refused");
                            return;
                        }
                        Err(_) => return,
                    };
                    let certificate = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|c| c.as_ref().to_vec());
                    let peer = Arc::new(crt_core::simulate::Peer {
                        address: Some(peer),
                        certificate,
                    });
                    serve_connection(TokioIo::new(stream), state, peer, stop).await;
                });
            }
        }
    }
    info!("API stopped accepting connections");
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// One HTTP/1.1 connection with the API's limits: headers within 10 s, 64 KiB buffers.
async fn serve_connection<I>(
    io: I,
    state: Arc<AppState>,
    peer: Arc<crt_core::simulate::Peer>,
    mut shutdown: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let address = peer.address;
    let service = service_fn(move |request| {
        let state = state.clone();
        let peer = peer.clone();
        async move { Ok::<_, Infallible>(handle(request, state, peer).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(64 * 1024)
        .serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = ended {
        debug!(peer = ?address, error = %e, "connection ended with an error");
    }
}

/// What a route touches, for the access policy; `None` for the probes and unknown paths.
fn resource_of(method: &Method, segments: &[&str]) -> Option<(Resource, Access)> {
    let access = if *method == Method::GET {
        Access::Read
    } else {
        Access::Write
    };
    let resource = match segments {
        ["v1", "records"] => Resource::Record,
        ["v1", "records", _] | ["v1", "deliveries"] => Resource::Deliveries,
        ["v1", "deliveries", _, "replay"] | ["metrics"] => Resource::Operations,
        ["v1", "deliveries", _, "artifacts", name] => Resource::of_artifact(name),
        ["v1", "waiting-list"] => Resource::AdmissionAdministrative,
        ["v1", "liaison-book"] => Resource::LiaisonBook,
        ["v1", "validate"] => Resource::Validation,
        ["v1", "reports", "activity"] => Resource::Reports,
        ["v1", "volet1", "actions"] => Resource::Activity,
        ["v1", "reports", "emergency-accesses"] => Resource::EmergencyAccesses,
        ["v1", "beneficiaries", _, _, "documents" | "dmp", ..] => Resource::Documents,
        ["v1", "inbox"] | ["v1", "inbox", _, _] | ["v1", "events"] => Resource::Inbox,
        ["v1", "alerts", ..] | ["v1", "telemonitoring", _, "Observation"] => Resource::Alerts,
        ["v1", "planning"] | ["v1", "planning", "links", ..] => Resource::Planning,
        _ => return None,
    };
    Some((resource, access))
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<AppState>,
    peer: Arc<crt_core::simulate::Peer>,
) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (segments.as_slice(), &method) {
        (["v1", "me"], &Method::GET) => return who_am_i(request, &state, &peer).await,
        (["ui", "login", "callback"], &Method::GET) => {
            let (response, caller, outcome) = login::finish(&request, &state).await;
            let mut event = access_event(&state, caller.as_ref(), &method, &path, outcome, None);
            event.action = "api.login".into();
            trace_access(&state, event).await;
            return response;
        }
        (["v1", "planning", file], &Method::GET) if file.ends_with(".ics") => {
            // The link is the credential: the trace names the link, never its secret.
            let (response, fed) = planning::feed(file, &state).await;
            let outcome = response.status().as_u16().to_string();
            let object = "/v1/planning/{secret}.ics";
            let mut event = access_event(&state, None, &method, object, outcome, fed.subject);
            event.caller = fed.link.map_or_else(
                || "calendar-link:unknown".to_string(),
                |link| format!("calendar-link:{}", link.id),
            );
            event.action = "api.calendar".into();
            trace_access(&state, event).await;
            return response;
        }
        _ => {}
    }
    let Some((resource, access)) = resource_of(&method, &segments) else {
        // Health probes, the page and unknown paths (404) need no credentials.
        return answer(request, state).await;
    };
    let caller = match state
        .authenticator
        .authenticate(request.headers(), &peer)
        .await
    {
        Ok(caller) => caller,
        Err(refusal) => {
            let (response, outcome) = refused(refusal);
            trace_access(
                &state,
                access_event(&state, None, &method, &path, outcome, None),
            )
            .await;
            return response;
        }
    };
    if let Err(denied) = state.policy.decide(&caller.actor, resource, access) {
        let response = Problem::new(StatusCode::FORBIDDEN, "forbidden-by-policy", "Forbidden")
            .detail(denied.to_string())
            .into_response();
        let outcome = format!("denied:{}.{}", resource.as_str(), access.as_str());
        let event = access_event(&state, Some(&caller), &method, &path, outcome, None);
        trace_access(&state, event).await;
        return response;
    }
    // A beneficiary's data: the care team, or an emergency access.
    let gated = match segments.as_slice() {
        ["v1", "deliveries", delivery, "artifacts", _] => {
            gate::delivery(&state, &caller, delivery, resource, request.headers()).await
        }
        [
            "v1",
            "beneficiaries",
            crt,
            local_id,
            "documents" | "dmp",
            ..,
        ] => {
            let subject = records::TraceSubject {
                crt_finess_et: crt.to_string(),
                beneficiary_ref: local_id.to_string(),
            };
            gate::beneficiary(&state, &caller, subject, resource, request.headers()).await
        }
        _ => Ok(gate::Passed::default()),
    };
    let passed = match gated {
        Ok(passed) => passed,
        Err(stopped) => {
            let event = access_event(
                &state,
                Some(&caller),
                &method,
                &path,
                stopped.outcome,
                stopped.subject,
            );
            trace_access(&state, event).await;
            return stopped.response;
        }
    };
    // A route that writes its own trace line in its transaction finds the caller here.
    let mut request = request;
    request.extensions_mut().insert(caller.clone());
    if let Some(asked) = &passed.emergency {
        request.extensions_mut().insert(gate::Emergency {
            regulation: asked.regulation,
        });
    }
    let mut response = answer(request, state.clone()).await;
    if response.extensions_mut().remove::<Traced>().is_some() {
        return response;
    }
    let crt = passed.subject.as_ref().map(|s| s.crt_finess_et.clone());
    let subject = response
        .extensions_mut()
        .remove::<records::TraceSubject>()
        .or(passed.subject);
    let outcome = response.status().as_u16().to_string();
    let mut event = access_event(&state, Some(&caller), &method, &path, outcome, subject);
    if let Some(asked) = passed.emergency {
        event.action = if asked.regulation {
            REGULATION_ACCESS
        } else {
            EMERGENCY_ACCESS
        }
        .into();
        event.purpose = emergency_purpose(crt.as_deref().unwrap_or("?"), &asked.reason);
    }
    trace_access(&state, event).await;
    response
}

/// The trace action of an emergency access (*bris de glace*).
pub const EMERGENCY_ACCESS: &str = "api.break_glass";

/// The trace action of an emergency access by a medical regulation centre (centre 15).
pub const REGULATION_ACCESS: &str = "api.regulation";

/// The trace purpose of an emergency access: the beneficiary's CRT (the trace names the
/// beneficiary by pseudonym only) and the reason given.
fn emergency_purpose(crt: &str, reason: &str) -> String {
    format!("{EMERGENCY_PREFIX}{crt}: {reason}")
}

const EMERGENCY_PREFIX: &str = "emergency, CRT ";

/// `GET /v1/me`: authenticated and traced, allowed to every caller (it says only who
/// they are).
async fn who_am_i(
    request: Request<Incoming>,
    state: &AppState,
    peer: &crt_core::simulate::Peer,
) -> Response<Body> {
    let path = request.uri().path().to_string();
    let (response, caller, outcome) = match state
        .authenticator
        .authenticate(request.headers(), peer)
        .await
    {
        Ok(caller) => (login::me(&caller), Some(caller), "200".to_string()),
        Err(refusal) => {
            let (response, outcome) = refused(refusal);
            (response, None, outcome)
        }
    };
    let event = access_event(state, caller.as_ref(), &Method::GET, &path, outcome, None);
    trace_access(state, event).await;
    response
}

/// Marks an answer whose access-trace line its route already wrote, in the same
/// transaction as the data it stored (taken off before sending).
#[derive(Debug, Clone, Copy)]
pub struct Traced;

/// The answer to a call refused before its route, and its trace outcome.
fn refused(refusal: Refusal) -> (Response<Body>, String) {
    match refusal {
        Refusal::Unauthenticated(detail) => {
            let mut response = Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            )
            .detail(detail)
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
            (response, "denied:unauthenticated".to_string())
        }
        Refusal::Actor(detail) => (
            Problem::new(StatusCode::BAD_REQUEST, "actor-required", "Actor required")
                .detail(detail)
                .into_response(),
            "denied:actor".to_string(),
        ),
        Refusal::Unavailable(detail) => (
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "identity-provider-unavailable",
                "Identity provider unavailable",
            )
            .detail(detail)
            .into_response(),
            "error:identity_provider".to_string(),
        ),
    }
}

/// The route's answer within the request timeout.
async fn answer(request: Request<Incoming>, state: Arc<AppState>) -> Response<Body> {
    let timeout = Duration::from_millis(state.config.request_timeout_ms);
    match tokio::time::timeout(timeout, route(request, state.clone())).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "Request timed out",
        )
        .into_response(),
    }
}

/// Appends one access-trace line; a failure is logged, the call's answer stands.
async fn trace_access(state: &AppState, event: crate::audit::TraceEvent) {
    if let Err(e) = state.store.trace(vec![event]).await {
        tracing::warn!(error = %e, "writing the access trace failed");
    }
}

/// The access-trace line of one API call on `/v1/`: who, what, whose record, how it ended.
fn access_event(
    state: &AppState,
    caller: Option<&Caller>,
    method: &Method,
    path: &str,
    outcome: String,
    subject: Option<records::TraceSubject>,
) -> crate::audit::TraceEvent {
    let action = match *method {
        Method::GET => "read",
        _ => "write",
    };
    let mut event = crate::audit::TraceEvent::now(
        caller.map_or("unauthenticated", |c| c.principal.as_str()),
        format!("api.{action}"),
        "care-coordination",
    );
    if let Some(caller) = caller {
        event.structure = caller.structure.clone();
        event.actor = Some(match &caller.assurance {
            Some(assurance) => format!("{} (psc {assurance})", caller.actor.describe()),
            None => caller.actor.describe(),
        });
    }
    event.object = Some(format!("{method} {path}"));
    event.outcome = outcome;
    if let Some(subject) = subject {
        event.beneficiary = Some(
            state
                .pseudonyms
                .of(&subject.crt_finess_et, &subject.beneficiary_ref),
        );
    }
    event
}

async fn route(request: Request<Incoming>, state: Arc<AppState>) -> Response<Body> {
    let path = request.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = request.method().clone();
    match (segments.as_slice(), &method) {
        (["v1", "records"], &Method::POST) => {
            let started = Instant::now();
            let response = records::accept(request, &state).await;
            state
                .metrics
                .intake_answered(response.status().as_u16(), started.elapsed().as_secs_f64());
            response
        }
        (["v1", "records", id], &Method::GET) => records::show(id, &state).await,
        (["v1", "deliveries"], &Method::GET) => {
            deliveries::list(request.uri().query(), &state).await
        }
        (["v1", "deliveries", id, "replay"], &Method::POST) => deliveries::replay(id, &state).await,
        (["v1", "deliveries", id, "artifacts", name], &Method::GET) => {
            deliveries::artifact(id, name, &state).await
        }
        (["v1", "waiting-list"], &Method::GET) => {
            waiting::list(request.uri().query(), &state).await
        }
        (["v1", "liaison-book"], &Method::GET) => {
            liaison::list(request.uri().query(), &state).await
        }
        (["v1", "validate"], &Method::POST) => validate::validate(request, &state).await,
        (["v1", "reports", "activity"], &Method::GET) => {
            reports::activity(request.uri().query(), &state).await
        }
        (["v1", "volet1", "actions"], &Method::POST) => volet1::accept(request, &state).await,
        (["v1", "alerts"], &Method::POST) => alerts::accept(request, &state).await,
        (["v1", "planning"], &Method::GET) => planning::week(request.uri().query(), &state).await,
        (["v1", "planning", "links"], &Method::POST) => {
            planning::create_link(request, &state).await
        }
        (["v1", "planning", "links"], &Method::GET) => {
            planning::links(request.uri().query(), &state).await
        }
        (["v1", "planning", "links", id, "revoke"], &Method::POST) => {
            planning::revoke(id, &state).await
        }
        (["v1", "telemonitoring", crt, "Observation"], &Method::POST) => {
            telemonitoring::create(crt, request, &state).await
        }
        (["v1", "alerts"], &Method::GET) => alerts::list(request.uri().query(), &state).await,
        (["v1", "alerts", id], &Method::GET) => alerts::show(id, &state).await,
        (["v1", "alerts", id, verb @ ("take" | "close")], &Method::POST) => {
            alerts::step(id, verb, request, &state).await
        }
        (["v1", "reports", "emergency-accesses"], &Method::GET) => {
            reports::emergency_accesses(request.uri().query(), &state).await
        }
        (["v1", "beneficiaries", crt, local_id, "documents"], &Method::GET) => {
            received::list(crt, local_id, &state).await
        }
        (["v1", "beneficiaries", crt, local_id, "documents", id], &Method::GET) => {
            received::show(crt, local_id, id, &state).await
        }
        (
            [
                "v1",
                "beneficiaries",
                crt,
                local_id,
                "documents",
                id,
                "message",
            ],
            &Method::GET,
        ) => received::original(crt, local_id, id, &state).await,
        (
            [
                "v1",
                "beneficiaries",
                crt,
                local_id,
                "documents",
                id,
                "files",
                index,
            ],
            &Method::GET,
        ) => received::file(crt, local_id, id, index, &state).await,
        (["v1", "inbox"], &Method::GET) => received::inbox(request.uri().query(), &state).await,
        (["v1", "beneficiaries", crt, local_id, "dmp"], &Method::GET) => {
            dmp::search(crt, local_id, request, &state).await
        }
        (["v1", "beneficiaries", crt, local_id, "dmp", unique_id], &Method::GET) => {
            dmp::document(crt, local_id, unique_id, request, &state).await
        }
        (["v1", "inbox", id, "attach"], &Method::POST) => {
            received::attach(id, request, &state).await
        }
        (["v1", "inbox", id, "reject"], &Method::POST) => {
            received::reject(id, request, &state).await
        }
        (["v1", "events"], &Method::GET) => received::events(request.uri().query(), &state).await,
        (["ui", "login"], &Method::GET) => login::start(&request, &state),
        (["ui", "logout"], &Method::POST) => login::logout(request.headers(), &state),
        (["ui"], &Method::GET) => ui::file(""),
        (["ui", name], &Method::GET) => ui::file(name),
        (["healthz"], &Method::GET) => ops::health(),
        (["readyz"], &Method::GET) => ops::ready(&state).await,
        (["metrics"], &Method::GET) => ops::metrics(&state).await,
        (known, _) if allowed_methods(known).is_some() => {
            let allow = allowed_methods(known).unwrap_or_default();
            let mut response = Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            )
            .detail(format!("{method} is not allowed here; use {allow}"))
            .into_response();
            if let Ok(value) = allow.parse() {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        _ => Problem::not_found(&format!("route {path}")).into_response(),
    }
}

/// Every route the API serves, as `schemas/openapi.yaml` describes them (a test keeps the
/// two identical). `{name}` stands for one path segment.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/records"),
    ("GET", "/v1/records/{id}"),
    ("GET", "/v1/deliveries"),
    ("POST", "/v1/deliveries/{id}/replay"),
    ("GET", "/v1/deliveries/{id}/artifacts/{name}"),
    ("GET", "/v1/waiting-list"),
    ("GET", "/v1/liaison-book"),
    ("POST", "/v1/validate"),
    ("GET", "/v1/reports/activity"),
    ("POST", "/v1/volet1/actions"),
    ("POST", "/v1/alerts"),
    ("GET", "/v1/alerts"),
    ("GET", "/v1/alerts/{id}"),
    ("POST", "/v1/alerts/{id}/take"),
    ("POST", "/v1/alerts/{id}/close"),
    ("POST", "/v1/telemonitoring/{crt}/Observation"),
    ("GET", "/v1/planning"),
    ("POST", "/v1/planning/links"),
    ("GET", "/v1/planning/links"),
    ("POST", "/v1/planning/links/{id}/revoke"),
    ("GET", "/v1/planning/{secret}.ics"),
    ("GET", "/v1/reports/emergency-accesses"),
    ("GET", "/v1/beneficiaries/{crt}/{local_id}/documents"),
    ("GET", "/v1/beneficiaries/{crt}/{local_id}/documents/{id}"),
    (
        "GET",
        "/v1/beneficiaries/{crt}/{local_id}/documents/{id}/message",
    ),
    (
        "GET",
        "/v1/beneficiaries/{crt}/{local_id}/documents/{id}/files/{index}",
    ),
    ("GET", "/v1/beneficiaries/{crt}/{local_id}/dmp"),
    ("GET", "/v1/beneficiaries/{crt}/{local_id}/dmp/{unique_id}"),
    ("GET", "/v1/inbox"),
    ("POST", "/v1/inbox/{id}/attach"),
    ("POST", "/v1/inbox/{id}/reject"),
    ("GET", "/v1/events"),
    ("GET", "/v1/me"),
    ("GET", "/ui/login"),
    ("GET", "/ui/login/callback"),
    ("POST", "/ui/logout"),
    ("GET", "/ui/"),
    ("GET", "/ui/{name}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
];

/// The methods a known path accepts, for 405 answers.
fn allowed_methods(segments: &[&str]) -> Option<String> {
    let methods: Vec<&str> = ROUTES
        .iter()
        .filter(|(_, template)| {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment)
        })
        .map(|(method, _)| *method)
        .collect();
    (!methods.is_empty()).then(|| methods.join(", "))
}

fn parse_id(text: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::parse_str(text).map_err(|_| {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
            .detail(format!("{text:?} is not an identifier this gateway issues"))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::ROUTES;

    /// `(METHOD, /path)` pairs of `schemas/openapi.yaml`, read from its `paths:` block: two
    /// spaces before a path, four before a method.
    fn documented_routes() -> BTreeSet<(String, String)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/openapi.yaml");
        let text = std::fs::read_to_string(path).expect("openapi.yaml");
        let mut routes = BTreeSet::new();
        let mut in_paths = false;
        let mut current = None;
        for line in text.lines() {
            if !line.starts_with(' ') {
                in_paths = line.trim_end() == "paths:";
                continue;
            }
            if !in_paths {
                continue;
            }
            if let Some(path) = line.strip_prefix("  /") {
                current = Some(format!("/{}", path.trim_end_matches(':')));
            } else if let Some(method) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
                && ["get", "post", "put", "patch", "delete"].contains(&method)
                && let Some(path) = &current
            {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
        routes
    }

    #[test]
    fn openapi_describes_exactly_the_routes_served() {
        let served: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(documented_routes(), served);
    }

    #[test]
    fn wrong_methods_name_the_right_ones() {
        assert_eq!(
            super::allowed_methods(&["v1", "records"]).as_deref(),
            Some("POST")
        );
        assert_eq!(
            super::allowed_methods(&["v1", "deliveries", "x", "artifacts", "y"]).as_deref(),
            Some("GET")
        );
        assert_eq!(super::allowed_methods(&["v1", "nothing"]), None);
    }
}
