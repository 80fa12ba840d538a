//! `POST /v1/volet1/actions`: a CRT's volet 1 action (a workshop, a consultation, a
//! training session) with its counts of participants, kept for the activity reports.
//!
//! Stored before the answer, like a record; there is nothing to deliver. A DUI posts an
//! action again when it changes: the version with the latest `source.updated_at` is kept,
//! and an older one posted late changes nothing (`"kept": false`).

use crt_core::volet1::Volet1Action;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde::Serialize;

use super::AppState;
use super::problem::{Body, Problem, json};
use super::records::{check_content_type, read_body, refusal};
use crate::store::{NewVolet1Action, now_millis};

/// Far above any action (a few hundred bytes), far below a record.
const MAX_BODY: usize = 64 * 1024;

#[derive(Serialize)]
struct Kept<'a> {
    crt: &'a str,
    action: &'a str,
    /// False when a newer version of the action was already kept.
    kept: bool,
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
    let action = Volet1Action::parse(&body).map_err(refusal)?;
    let kept = state
        .store
        .keep_volet1_action(NewVolet1Action {
            crt_finess_et: action.crt.finess_et.clone(),
            source_ref: action.source.record_ref.clone(),
            updated_at: action.source.updated_at.timestamp_millis(),
            received_at: now_millis(),
            payload: body.to_vec(),
        })
        .await
        .map_err(Problem::storage)?;
    Ok(json(
        StatusCode::OK,
        &Kept {
            crt: &action.crt.finess_et,
            action: &action.source.record_ref,
            kept,
        },
    ))
}
