//! Alerts for a CRT's on-call service (astreinte), as the téléassistance centre raises
//! them and the on-call professionals handle them:
//!
//! - `POST /v1/alerts`: an alert (`schemas/crt-alert.schema.json`), kept before it is
//!   answered (`202`, or `200` with the alert as it stands when the centre posts the same
//!   `source.alert_id` again);
//! - `GET /v1/alerts?crt=FINESS[&status=open|taken|closed]`: the CRT's alerts, newest first;
//!   `GET /v1/alerts/{id}`: one, with what the centre sent;
//! - `POST /v1/alerts/{id}/take`: a professional takes it (`409` with who has it when
//!   someone did first); `POST /v1/alerts/{id}/close` (`{"outcome"}`, the on-call outcome).
//!
//! An alert about a beneficiary the gateway holds no record of is kept all the same, with
//! no beneficiary: the CRT's coordinator sorts it out; an alert is never dropped.

use crt_core::alert::Alert;
use crt_core::record::{OnCallOutcome, snake};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::problem::{Body, Problem, json};
use super::records::{TraceSubject, check_content_type, read_body, refusal};
use super::waiting::finess_parameter;
use crate::security::Caller;
use crate::store::{
    AlertFilter, AlertStatus, AlertStep, AlertStepOutcome, AlertView, KeptAlert, NewAlert,
    now_millis,
};

/// Far above any alert (a few kilobytes with what the operator heard).
const MAX_BODY: usize = 64 * 1024;
const MAX_LIST: usize = 500;

/// The trace names the beneficiary an alert is about, when the gateway knows them.
pub(super) fn with_subject(mut response: Response<Body>, view: &AlertView) -> Response<Body> {
    if let Some(local_id) = &view.beneficiary_ref {
        response.extensions_mut().insert(TraceSubject {
            crt_finess_et: view.crt_finess_et.clone(),
            beneficiary_ref: local_id.clone(),
        });
    }
    response
}

pub async fn accept(request: Request<Incoming>, state: &AppState) -> Response<Body> {
    accept_inner(request, state)
        .await
        .unwrap_or_else(Problem::into_response)
}

async fn accept_inner(
    request: Request<Incoming>,
    state: &AppState,
) -> Result<Response<Body>, Problem> {
    let (parts, body) = request.into_parts();
    check_content_type(&parts.headers)?;
    let body = read_body(&parts.headers, body, MAX_BODY).await?;
    let alert = Alert::parse(&body, |alert, out| {
        if let Some(ins) = &alert.beneficiary.ins
            && let Err(e) = crt_ins::InsNumber::parse(&ins.number)
        {
            out.push("/beneficiary/ins/number", "ins-number", e.to_string());
        }
    })
    .map_err(refusal)?;
    let beneficiary_ref = match &alert.beneficiary.local_id {
        Some(local_id) => state
            .store
            .latest_record(alert.crt.clone(), local_id.clone())
            .await
            .map_err(Problem::storage)?
            .map(|_| local_id.clone()),
        None => None,
    };
    let kept = keep(state, &alert, beneficiary_ref, body.to_vec()).await?;
    Ok(match kept {
        KeptAlert::Kept(view) => with_subject(json(StatusCode::ACCEPTED, &view), &view),
        KeptAlert::Duplicate(view) => with_subject(json(StatusCode::OK, &view), &view),
    })
}

/// Keeps a checked alert (`payload` is its JSON) about the beneficiary the gateway found,
/// and wakes the on-call dispatcher when it is new.
pub(super) async fn keep(
    state: &AppState,
    alert: &Alert,
    beneficiary_ref: Option<String>,
    payload: Vec<u8>,
) -> Result<KeptAlert, Problem> {
    let kept = state
        .store
        .keep_alert(NewAlert {
            id: Uuid::now_v7(),
            crt_finess_et: alert.crt.clone(),
            source: alert.source.name.clone(),
            alert_id: alert.source.alert_id.clone(),
            beneficiary_ref,
            reason: snake(&alert.reason),
            raised_at: alert.raised_at.timestamp_millis(),
            received_at: now_millis(),
            payload,
        })
        .await
        .map_err(Problem::storage)?;
    if matches!(kept, KeptAlert::Kept(_)) {
        state.on_call_wake.notify_one();
    }
    Ok(kept)
}

pub async fn list(query: Option<&str>, state: &AppState) -> Response<Body> {
    let mut filter = AlertFilter {
        limit: MAX_LIST,
        ..AlertFilter::default()
    };
    for (key, value) in crt_core::oauth::parse_form(query.unwrap_or_default()) {
        match key.as_str() {
            "crt" => match finess_parameter(&value) {
                Ok(value) => filter.crt = Some(value),
                Err(problem) => return problem.into_response(),
            },
            "status" => match value.parse::<AlertStatus>() {
                Ok(status) => filter.status = Some(status),
                Err(_) => {
                    return Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query")
                        .detail(format!("status={value}: expected open, taken or closed"))
                        .into_response();
                }
            },
            other => {
                return Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query")
                    .detail(format!("unknown parameter {other}"))
                    .into_response();
            }
        }
    }
    if filter.crt.is_none() {
        return Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query")
            .detail("crt: the CRT's FINESS ET is required")
            .into_response();
    }
    match state.store.alerts(filter).await {
        Ok(alerts) => json(StatusCode::OK, &json!({ "alerts": alerts })),
        Err(e) => Problem::storage(e).into_response(),
    }
}

pub async fn show(id: &str, state: &AppState) -> Response<Body> {
    let not_found = || Problem::not_found(&format!("alert {id}")).into_response();
    let Ok(uuid) = Uuid::parse_str(id) else {
        return not_found();
    };
    match state.store.alert(uuid).await {
        Ok(Some((view, payload))) => {
            let alert: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
            let mut body = serde_json::to_value(&view).unwrap_or_default();
            body["alert"] = alert;
            with_subject(json(StatusCode::OK, &body), &view)
        }
        Ok(None) => not_found(),
        Err(e) => Problem::storage(e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Close {
    outcome: OnCallOutcome,
}

/// `take` or `close`.
pub async fn step(
    id: &str,
    verb: &str,
    request: Request<Incoming>,
    state: &AppState,
) -> Response<Body> {
    let not_found = || Problem::not_found(&format!("alert {id}")).into_response();
    let Ok(uuid) = Uuid::parse_str(id) else {
        return not_found();
    };
    let by = request
        .extensions()
        .get::<Caller>()
        .map(Caller::acting)
        .unwrap_or_default();
    let step = match verb {
        "take" => AlertStep::Take { by },
        _ => {
            let (parts, body) = request.into_parts();
            let bytes = match read_body(&parts.headers, body, 1024).await {
                Ok(bytes) => bytes,
                Err(problem) => return problem.into_response(),
            };
            match serde_json::from_slice::<Close>(&bytes) {
                Ok(close) => AlertStep::Close {
                    by,
                    outcome: snake(&close.outcome),
                    regulate: close.outcome == OnCallOutcome::EmergencyServices,
                },
                Err(e) => {
                    return Problem::new(StatusCode::BAD_REQUEST, "bad-body", "Bad body")
                        .detail(format!(
                            "{e}: expected {{\"outcome\"}} with an on-call outcome (advice_given, home_visit, emergency_services…)"
                        ))
                        .into_response();
                }
            }
        }
    };
    match state.store.step_alert(uuid, step, now_millis()).await {
        Ok(AlertStepOutcome::Done(view)) => {
            if view.duty.is_some() {
                state.on_call_wake.notify_one();
            }
            with_subject(json(StatusCode::OK, &view), &view)
        }
        Ok(AlertStepOutcome::NotFound) => not_found(),
        Ok(AlertStepOutcome::Conflict(view)) => {
            let detail = match (view.status, &view.taken_by) {
                (AlertStatus::Closed, _) => "the alert is closed".to_string(),
                (_, Some(by)) => format!("the alert is already taken by {by}"),
                _ => format!("the alert is {}", view.status.as_str()),
            };
            let response = Problem::new(StatusCode::CONFLICT, "alert-conflict", "Conflict")
                .detail(detail)
                .into_response();
            with_subject(response, &view)
        }
        Err(e) => Problem::storage(e).into_response(),
    }
}
