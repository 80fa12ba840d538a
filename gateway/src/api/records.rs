//! `POST /v1/records` (intake) and `GET /v1/records/{id}`.

use bytes::Bytes;
use crt_core::record::Consents;
use crt_core::{CrtRecord, RecordError};
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use uuid::Uuid;

use super::problem::{Body, Problem, bytes, json};
use super::{AppState, Traced, access_event, parse_id};
use crate::audit::TraceEvent;
use crate::digest::sha256_hex;
use crate::routing;
use crate::security::Caller;
use crate::store::{DeliveryState, Intake, IntakeOutcome, NewRecord, PreviousConsents, now_millis};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The answer to an accepted record; replayed byte for byte for a repeated key.
#[derive(Serialize)]
struct Accepted<'a> {
    id: Uuid,
    received_at: i64,
    deliveries: Vec<AcceptedDelivery<'a>>,
}

#[derive(Serialize)]
struct AcceptedDelivery<'a> {
    id: Uuid,
    target: &'a str,
    state: DeliveryState,
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
    if let Some(seconds) = state.backlog.refusal() {
        return Ok(busy(seconds, state.backlog.unsettled()));
    }
    let (parts, body) = request.into_parts();
    check_content_type(&parts.headers)?;
    let key = idempotency_key(&parts.headers)?;
    let body = read_body(&parts.headers, body, state.config.max_body_bytes).await?;

    let record = state.validator.parse(&body).map_err(refusal)?;
    let previous = previous_consents(state, &record).await?;
    let deliveries = routing::plan(&record, previous.as_ref(), &state.registry)
        .map_err(|v| invalid(v.into_vec()))?;

    let id = Uuid::now_v7();
    let received_at = now_millis();
    let answer = Accepted {
        id,
        received_at,
        deliveries: deliveries
            .iter()
            .map(|d| AcceptedDelivery {
                id: d.id,
                target: &d.target,
                state: if d.depends_on.is_empty() {
                    DeliveryState::Pending
                } else {
                    DeliveryState::Waiting
                },
            })
            .collect(),
    };
    let response = serde_json::to_vec(&answer).map_err(Problem::internal)?;
    let subject = TraceSubject {
        crt_finess_et: record.crt.finess_et.clone(),
        beneficiary_ref: record.beneficiary.local_id.clone(),
    };
    let caller = parts.extensions.get::<Caller>();
    let mut trace = consent_changes(state, &record, previous.as_ref(), id);
    if let Some(caller) = caller {
        let outcome = StatusCode::ACCEPTED.as_u16().to_string();
        let path = parts.uri.path();
        let event = access_event(
            state,
            Some(caller),
            &parts.method,
            path,
            outcome,
            Some(subject),
        );
        trace.push(event);
    }
    let intake = Intake {
        record: NewRecord {
            id,
            received_at,
            crt_finess_et: record.crt.finess_et.clone(),
            beneficiary_ref: record.beneficiary.local_id.clone(),
            source_ref: record.source.record_ref.clone(),
            body_sha256: sha256_hex(&body),
            payload: body.to_vec(),
        },
        deliveries,
        idempotency_key: key,
        response: response.clone(),
        trace,
        consents: Some(serde_json::to_vec(&record.consents).map_err(Problem::internal)?),
    };
    match state.store.accept(intake).await {
        Ok(IntakeOutcome::Stored) => {
            state.wake.notify_one();
            let mut response = accepted(id, response, false);
            if caller.is_some() {
                response.extensions_mut().insert(Traced);
            }
            Ok(response)
        }
        Ok(IntakeOutcome::Replayed { response }) => {
            let first: Option<Uuid> = serde_json::from_slice::<serde_json::Value>(&response)
                .ok()
                .and_then(|v| v["id"].as_str().and_then(|s| s.parse().ok()));
            Ok(accepted(first.unwrap_or(id), response, true))
        }
        Ok(IntakeOutcome::KeyConflict) => Err(Problem::new(
            StatusCode::CONFLICT,
            "idempotency-key-reused",
            "Idempotency key reused",
        )
        .detail(
            "this Idempotency-Key was used for a different body; use a new key for a new record",
        )),
        Err(e) => Err(Problem::storage(e)),
    }
}

/// The consents of a stored record, the rest of it skipped.
#[derive(serde::Deserialize)]
struct ConsentsOf {
    #[serde(default)]
    consents: Consents,
}

/// The consents stated by the beneficiary's newest stored record, if there is one: what
/// this record's consents are compared with (for routing and for the trace). They come
/// from their own row; only a beneficiary whose records all predate that row has the
/// newest one opened. A store that cannot answer refuses the record, as it could not
/// store it either.
async fn previous_consents(
    state: &AppState,
    record: &CrtRecord,
) -> Result<Option<Consents>, Problem> {
    let previous = state
        .store
        .previous_consents(
            record.crt.finess_et.clone(),
            record.beneficiary.local_id.clone(),
        )
        .await
        .map_err(Problem::storage)?;
    Ok(match previous {
        PreviousConsents::None => None,
        PreviousConsents::Kept(kept) => serde_json::from_slice::<Consents>(&kept).ok(),
        PreviousConsents::InRecord(payload) => serde_json::from_slice::<ConsentsOf>(&payload)
            .ok()
            .map(|p| p.consents),
    })
}

/// A trace line for each consent or opposition this record changes against the
/// beneficiary's newest stored record (`previous`): the decision, who recorded it, when.
/// Written in the same transaction as the record.
fn consent_changes(
    state: &AppState,
    record: &CrtRecord,
    previous: Option<&Consents>,
    id: Uuid,
) -> Vec<TraceEvent> {
    let before = previous.cloned().unwrap_or_default();
    let now = &record.consents;
    let targets = [
        ("dmp_feeding", &before.dmp_feeding, &now.dmp_feeding),
        (
            "regional_platform",
            &before.regional_platform,
            &now.regional_platform,
        ),
        (
            "mssante_to_patient",
            &before.mssante_to_patient,
            &now.mssante_to_patient,
        ),
        (
            "viatrajectoire",
            &before.viatrajectoire,
            &now.viatrajectoire,
        ),
    ];
    let mut events = Vec::new();
    for (target, before, now) in targets {
        let Some(choice) = now else { continue };
        if before.as_ref().map(|b| b.decision) == Some(choice.decision) {
            continue;
        }
        let mut event = TraceEvent::now("record", format!("consent.{target}"), "consent");
        event.structure = Some(record.crt.id_nat_struct());
        event.actor = Some(
            match record
                .professional(&choice.recorded_by)
                .and_then(|p| p.rpps.as_deref())
            {
                Some(rpps) => format!("8{rpps}"),
                None => format!("local:{}", choice.recorded_by),
            },
        );
        event.beneficiary = Some(
            state
                .pseudonyms
                .of(&record.crt.finess_et, &record.beneficiary.local_id),
        );
        event.object = Some(format!("record/{id}"));
        let decision = if choice.is_opposed() {
            "opposed"
        } else {
            "granted"
        };
        event.outcome = format!("{decision} ({})", choice.recorded_at.to_rfc3339());
        events.push(event);
    }
    events
}

/// Whose record an answer was about, for the access trace (taken off before sending).
#[derive(Debug, Clone)]
pub struct TraceSubject {
    pub crt_finess_et: String,
    pub beneficiary_ref: String,
}

fn accepted(id: Uuid, body: Vec<u8>, replayed: bool) -> Response<Body> {
    let mut response = bytes(StatusCode::ACCEPTED, "application/json", body);
    if let Ok(location) = format!("/v1/records/{id}").parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed && let Ok(value) = "true".parse() {
        response.headers_mut().insert("idempotent-replayed", value);
    }
    response
}

/// 429: too many deliveries wait already; nothing was read or stored.
fn busy(retry_after: u64, unsettled: u64) -> Response<Body> {
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "backlog-full",
        "Too many deliveries waiting",
    )
    .detail(format!(
        "{unsettled} deliveries wait to be made, over the configured server.max_backlog; nothing was stored: send the record again in {retry_after} s"
    ))
    .into_response();
    if let Ok(value) = retry_after.to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The answer to a body that is not a valid document: 400 malformed JSON, or 422 with
/// every violation.
pub(super) fn refusal(error: RecordError) -> Problem {
    match error {
        RecordError::Malformed {
            line,
            column,
            message,
        } => Problem::new(StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON")
            .detail(format!("line {line}, column {column}: {message}")),
        RecordError::Invalid(violations) => invalid(violations),
    }
}

fn invalid(violations: Vec<crt_core::Violation>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-record",
        "The record is not valid",
    )
    .detail(format!(
        "{} violation(s); nothing was stored",
        violations.len()
    ))
    .violations(violations)
}

pub(super) fn check_content_type(headers: &HeaderMap) -> Result<(), Problem> {
    check_media_type(headers, &["application/json"])
}

/// The request's media type (without parameters) is one of `accepted`.
pub(super) fn check_media_type(headers: &HeaderMap, accepted: &[&str]) -> Result<(), Problem> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match media_type.as_deref() {
        Some(media_type) if accepted.contains(&media_type) => Ok(()),
        other => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
        )
        .detail(format!(
            "expected Content-Type: {}, got {}",
            accepted.join(" or "),
            other.unwrap_or("none")
        ))),
    }
}

/// An `Idempotency-Key` is 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_string()))
        }
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-idempotency-key",
            "Bad Idempotency-Key",
        )
        .detail("Idempotency-Key must be 1 to 255 visible ASCII characters")),
    }
}

/// The request body, refused (413) beyond `limit` bytes, declared or read.
pub(super) async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
) -> Result<Bytes, Problem> {
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Body too large",
        )
        .detail(format!("the body may be at most {limit} bytes"))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "body-unreadable",
            "Body unreadable",
        )
        .detail(e.to_string())),
    }
}

/// The record's view, and beside it what the INS check concluded (`identity`: the status
/// the DUI may assign, the INS, the traits the teleservice returned, the traits that
/// differ), so that the DUI can update its own copy of the identity without reading
/// receipts.
fn with_identity(view: &crate::store::RecordView) -> serde_json::Value {
    let mut value = serde_json::to_value(view).unwrap_or_default();
    let check = view
        .deliveries
        .iter()
        .filter(|d| d.target == crt_core::identity::INS_TARGET)
        .filter_map(|d| d.receipt.as_ref())
        .filter_map(|r| {
            serde_json::from_value::<crt_core::identity::IdentityCheck>(r.details.clone()).ok()
        })
        .next_back();
    if let (Some(check), Some(object)) = (check, value.as_object_mut()) {
        object.insert(
            "identity".into(),
            serde_json::to_value(check).unwrap_or_default(),
        );
    }
    value
}

pub async fn show(id: &str, state: &AppState) -> Response<Body> {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(problem) => return problem.into_response(),
    };
    match state.store.record(id).await {
        Ok(Some(view)) => {
            let mut response = json(StatusCode::OK, &with_identity(&view));
            response.extensions_mut().insert(TraceSubject {
                crt_finess_et: view.crt_finess_et.clone(),
                beneficiary_ref: view.beneficiary_ref.clone(),
            });
            response
        }
        Ok(None) => Problem::not_found(&format!("record {id}")).into_response(),
        Err(e) => Problem::storage(e).into_response(),
    }
}
