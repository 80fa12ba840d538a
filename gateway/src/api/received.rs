//! What partners sent to the structures' MSSanté mailboxes, as the DUI reads it:
//!
//! - `GET /v1/beneficiaries/{crt}/{local_id}/documents`: the messages attached to a
//!   beneficiary, each with its documents; `…/documents/{id}` one of them,
//!   `…/documents/{id}/files/{index}` a document's bytes, `…/documents/{id}/message` the
//!   message as it arrived (`message/rfc822`). Behind the care-team gate.
//! - `GET /v1/inbox?crt=FINESS[&status=unmatched|refused]`: messages no beneficiary
//!   matched for sure (or that could not be integrated), and `POST /v1/inbox/{id}/attach`
//!   (`{"crt", "local_id"}`) or `…/reject` (`{"reason"}`) to resolve one.
//! - `GET /v1/events?crt=FINESS[&after=SEQ][&limit=N]`: the feed of arrivals and
//!   resolutions in order; the DUI keeps the last `seq` it read and asks for what follows.

use http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming as RequestBody;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::problem::{Body, Problem};
use super::records::{TraceSubject, read_body};
use super::waiting::finess_parameter;
use crate::store::{ReceivedFilter, ReceivedStatus, ReceivedView, Resolution, ResolveOutcome};
use crt_mssante::inbound::{self, Reading};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;
const MAX_BODY: usize = 4 * 1024;

fn with_subject(mut response: Response<Body>, view: &ReceivedView) -> Response<Body> {
    if let (Some(crt), Some(local_id)) = (&view.crt_finess_et, &view.beneficiary_ref) {
        response.extensions_mut().insert(TraceSubject {
            crt_finess_et: crt.clone(),
            beneficiary_ref: local_id.clone(),
        });
    }
    response
}

/// The messages attached to a beneficiary, oldest first.
pub async fn list(crt: &str, local_id: &str, state: &AppState) -> Response<Body> {
    let filter = ReceivedFilter {
        crt: Some(crt.to_string()),
        beneficiary: Some(local_id.to_string()),
        status: Some(ReceivedStatus::Attached),
        after: None,
        limit: MAX_LIMIT,
    };
    match state.store.received(filter).await {
        Ok(messages) => super::problem::json(
            StatusCode::OK,
            &json!({ "crt": crt, "beneficiary": local_id, "messages": messages }),
        ),
        Err(e) => Problem::storage(e).into_response(),
    }
}

/// A message of the beneficiary's, and its original bytes; 404 for anyone else's.
async fn of_beneficiary(
    crt: &str,
    local_id: &str,
    id: &str,
    state: &AppState,
) -> Result<(ReceivedView, Vec<u8>), Response<Body>> {
    let not_found = || Problem::not_found(&format!("document message {id}")).into_response();
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    match state.store.received_message(id).await {
        Ok(Some(crate::store::ReceivedOriginal { view, message }))
            if view.status == ReceivedStatus::Attached
                && view.crt_finess_et.as_deref() == Some(crt)
                && view.beneficiary_ref.as_deref() == Some(local_id) =>
        {
            Ok((view, message))
        }
        Ok(_) => Err(not_found()),
        Err(e) => Err(Problem::storage(e).into_response()),
    }
}

pub async fn show(crt: &str, local_id: &str, id: &str, state: &AppState) -> Response<Body> {
    match of_beneficiary(crt, local_id, id, state).await {
        Ok((view, _)) => super::problem::json(StatusCode::OK, &view),
        Err(response) => response,
    }
}

pub async fn original(crt: &str, local_id: &str, id: &str, state: &AppState) -> Response<Body> {
    match of_beneficiary(crt, local_id, id, state).await {
        Ok((_, message)) => super::problem::bytes(StatusCode::OK, "message/rfc822", message),
        Err(response) => response,
    }
}

pub async fn file(
    crt: &str,
    local_id: &str,
    id: &str,
    index: &str,
    state: &AppState,
) -> Response<Body> {
    let (_, message) = match of_beneficiary(crt, local_id, id, state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let document = index
        .parse::<usize>()
        .ok()
        .and_then(|index| match inbound::read(&message) {
            Ok(Reading::Documents(incoming)) => incoming.documents.into_iter().nth(index),
            _ => None,
        });
    match document {
        Some(document) => {
            super::problem::bytes(StatusCode::OK, &document.media_type, document.content)
        }
        None => Problem::not_found(&format!("document {index} of message {id}")).into_response(),
    }
}

/// `crt=`, `status=`, `after=`, `limit=` of the inbox and the feed.
fn filter(
    query: Option<&str>,
    statuses: &[ReceivedStatus],
) -> Result<ReceivedFilter, Box<Problem>> {
    let bad = |detail: String| {
        Box::new(Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query").detail(detail))
    };
    let mut filter = ReceivedFilter {
        limit: DEFAULT_LIMIT,
        ..ReceivedFilter::default()
    };
    for (key, value) in crt_core::oauth::parse_form(query.unwrap_or_default()) {
        match key.as_str() {
            "crt" => filter.crt = Some(finess_parameter(&value)?),
            "status" => {
                let Some(status) = statuses.iter().find(|s| s.as_str() == value) else {
                    let known: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
                    return Err(bad(format!(
                        "status={value}: expected one of {}",
                        known.join(", ")
                    )));
                };
                filter.status = Some(*status);
            }
            "after" => match value.parse::<i64>() {
                Ok(after) if after >= 0 => filter.after = Some(after),
                _ => return Err(bad(format!("after={value}: expected a seq from the feed"))),
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => filter.limit = n,
                _ => return Err(bad(format!("limit={value}: expected 1 to {MAX_LIMIT}"))),
            },
            other => return Err(bad(format!("unknown parameter {other}"))),
        }
    }
    if filter.crt.is_none() {
        return Err(bad("crt: the CRT's FINESS ET is required".into()));
    }
    Ok(filter)
}

pub async fn inbox(query: Option<&str>, state: &AppState) -> Response<Body> {
    let mut filter = match filter(
        query,
        &[
            ReceivedStatus::Unmatched,
            ReceivedStatus::Refused,
            ReceivedStatus::Rejected,
        ],
    ) {
        Ok(filter) => filter,
        Err(problem) => return problem.into_response(),
    };
    filter.status.get_or_insert(ReceivedStatus::Unmatched);
    let crt = filter.crt.clone();
    match state.store.received(filter).await {
        Ok(messages) => {
            super::problem::json(StatusCode::OK, &json!({ "crt": crt, "messages": messages }))
        }
        Err(e) => Problem::storage(e).into_response(),
    }
}

pub async fn events(query: Option<&str>, state: &AppState) -> Response<Body> {
    let filter = match filter(query, &[]) {
        Ok(filter) => filter,
        Err(problem) => return problem.into_response(),
    };
    let crt = filter.crt.clone();
    match state.store.received(filter).await {
        Ok(messages) => {
            let last = messages.last().map(|m| m.seq);
            super::problem::json(
                StatusCode::OK,
                &json!({ "crt": crt, "events": messages, "last": last }),
            )
        }
        Err(e) => Problem::storage(e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Attach {
    crt: String,
    local_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reject {
    reason: String,
}

async fn body_of<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: RequestBody,
) -> Result<T, Response<Body>> {
    let bytes = read_body(headers, body, MAX_BODY)
        .await
        .map_err(Problem::into_response)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "bad-body", "Bad body")
            .detail(e.to_string())
            .into_response()
    })
}

pub async fn attach(id: &str, request: Request<RequestBody>, state: &AppState) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let attach: Attach = match body_of(&parts.headers, body).await {
        Ok(attach) => attach,
        Err(response) => return response,
    };
    if let Err(problem) = finess_parameter(&attach.crt) {
        return problem.into_response();
    }
    // Only a beneficiary the gateway holds a record of can receive a message.
    match state
        .store
        .latest_record(attach.crt.clone(), attach.local_id.clone())
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-beneficiary",
                "Unknown beneficiary",
            )
            .detail(format!(
                "/local_id: no record of {} for CRT {}",
                attach.local_id, attach.crt
            ))
            .into_response();
        }
        Err(e) => return Problem::storage(e).into_response(),
    }
    resolve(
        id,
        Resolution::Attach {
            crt_finess_et: attach.crt,
            beneficiary_ref: attach.local_id,
        },
        state,
    )
    .await
}

pub async fn reject(id: &str, request: Request<RequestBody>, state: &AppState) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let reject: Reject = match body_of(&parts.headers, body).await {
        Ok(reject) => reject,
        Err(response) => return response,
    };
    let reason = reject.reason.trim();
    if reason.is_empty() || reason.len() > 500 {
        return Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "bad-reason", "Bad reason")
            .detail("/reason: 1 to 500 characters")
            .into_response();
    }
    resolve(
        id,
        Resolution::Reject {
            reason: reason.to_string(),
        },
        state,
    )
    .await
}

async fn resolve(id: &str, resolution: Resolution, state: &AppState) -> Response<Body> {
    let Ok(uuid) = Uuid::parse_str(id) else {
        return Problem::not_found(&format!("inbox message {id}")).into_response();
    };
    match state
        .store
        .resolve_received(uuid, resolution, crate::store::now_millis())
        .await
    {
        Ok(ResolveOutcome::Resolved(view)) => {
            with_subject(super::problem::json(StatusCode::OK, &view), &view)
        }
        Ok(ResolveOutcome::NotFound) => {
            Problem::not_found(&format!("inbox message {id}")).into_response()
        }
        Ok(ResolveOutcome::NotInInbox(status)) => {
            Problem::new(StatusCode::CONFLICT, "not-in-inbox", "Not in the inbox")
                .detail(format!(
                    "message {id} is {}: only an unmatched message is attached or rejected",
                    status.as_str()
                ))
                .into_response()
        }
        Err(e) => Problem::storage(e).into_response(),
    }
}
