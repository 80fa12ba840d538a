//! The login of `/ui/` through Pro Santé Connect: `/ui/login` sends the browser to PSC
//! (authorization code with PKCE), `/ui/login/callback` takes the code back, checks it
//! with PSC and opens a session; `/ui/logout` ends it. `GET /v1/me` says who the gateway
//! takes the caller for.

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::json;

use super::AppState;
use super::problem::{Body, Problem, json};
use crate::security::Caller;
use crate::security::session::{COOKIE, SESSION_LIFETIME};

const CALLBACK: &str = "/ui/login/callback";

/// Where PSC sends the browser back: this gateway as the browser reached it.
fn redirect_uri(headers: &HeaderMap, state: &AppState) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return None;
    }
    let scheme = if state.tls.is_some() { "https" } else { "http" };
    Some(format!("{scheme}://{host}{CALLBACK}"))
}

fn redirect(location: &str) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn disabled() -> Response<Body> {
    Problem::new(StatusCode::NOT_FOUND, "psc-disabled", "Not found")
        .detail("Pro Santé Connect is not enabled on this gateway ([psc] enabled)")
        .into_response()
}

/// `GET /ui/login`: to Pro Santé Connect.
pub fn start(request: &Request<Incoming>, state: &AppState) -> Response<Body> {
    let Some(psc) = &state.psc else {
        return disabled();
    };
    let Some(redirect_uri) = redirect_uri(request.headers(), state) else {
        return Problem::new(StatusCode::BAD_REQUEST, "host", "Bad request")
            .detail("the Host header is needed to come back here")
            .into_response();
    };
    match state.sessions.begin() {
        Ok(login) => redirect(&psc.authorization_url(&redirect_uri, &login)),
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// `GET /ui/login/callback?code=…&state=…`: the session, or why not. The trace line is
/// the caller's.
pub async fn finish(
    request: &Request<Incoming>,
    state: &AppState,
) -> (Response<Body>, Option<Caller>, String) {
    let Some(psc) = &state.psc else {
        return (disabled(), None, "denied:psc_disabled".into());
    };
    let fields: std::collections::HashMap<String, String> =
        crt_core::oauth::parse_form(request.uri().query().unwrap_or(""))
            .into_iter()
            .collect();
    let refused = |status, detail: String, outcome: &str| {
        (
            Problem::new(status, "login-refused", "Login refused")
                .detail(detail)
                .into_response(),
            None,
            outcome.to_string(),
        )
    };
    if let Some(error) = fields.get("error") {
        return refused(
            StatusCode::UNAUTHORIZED,
            format!("Pro Santé Connect answered {error}"),
            "denied:psc_error",
        );
    }
    let (Some(code), Some(login)) = (
        fields.get("code"),
        fields.get("state").and_then(|s| state.sessions.finish(s)),
    ) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "no login under way matches this return (state unknown, used or older than ten minutes): log in again".into(),
            "denied:login_state",
        );
    };
    let Some(redirect_uri) = redirect_uri(request.headers(), state) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "the Host header is needed".into(),
            "denied:host",
        );
    };
    let login = match psc.complete_login(code, &redirect_uri, &login).await {
        Ok(login) => login,
        Err(e) if e.is_unavailable() => {
            return refused(
                StatusCode::SERVICE_UNAVAILABLE,
                e.to_string(),
                "error:psc_unavailable",
            );
        }
        Err(e) => return refused(StatusCode::UNAUTHORIZED, e.to_string(), "denied:psc"),
    };
    let caller = crate::security::auth::psc_caller(login.professional.clone());
    let session = match state.sessions.open(login.professional) {
        Ok(session) => session,
        Err(e) => {
            return (
                Problem::internal(e).into_response(),
                caller.ok(),
                "error".into(),
            );
        }
    };
    let mut response = redirect("/ui/");
    let secure = if state.tls.is_some() { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_LIFETIME.as_secs()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    (response, caller.ok(), "302".into())
}

/// `POST /ui/logout`.
pub fn logout(headers: &HeaderMap, state: &AppState) -> Response<Body> {
    state.sessions.close(headers);
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("crt_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

/// `GET /v1/me`: who the gateway takes the caller for (no health data).
pub fn me(caller: &Caller) -> Response<Body> {
    let (id, profession, role) = match &caller.actor {
        crate::security::Actor::Professional {
            id,
            profession,
            role,
        } => (Some(id), Some(profession), role.as_ref()),
        _ => (None, None, None),
    };
    json(
        StatusCode::OK,
        &json!({
            "principal": caller.principal,
            "actor": caller.actor.describe(),
            "id_nat_ps": id,
            "profession": profession,
            "role": role,
            "structure": caller.structure,
            "assurance": caller.assurance,
        }),
    )
}
