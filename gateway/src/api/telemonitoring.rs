//! Telemonitoring observations for a CRT's on-call service:
//! `POST /v1/telemonitoring/{FINESS}/Observation`, a FHIR R4 create of one `Observation`
//! (`tlsv-observation`; the vital-signs profiles for vital signs) about a beneficiary of
//! the CRT, named by `subject.identifier`: their INS, or the CRT's identifier of them
//! (the system its documents use, `urn:oid:<root>.3`).
//!
//! The gateway is not an observation store: it checks the observation (`422` with an
//! `OperationOutcome` naming each element and rule), compares its measures with the
//! bounds of the beneficiary's newest record, and keeps only what crosses them, as an
//! on-call alert (`202`, `Location: /v1/alerts/{id}`; `200` when the same observation
//! comes again). Within bounds: `200` and nothing kept.

use crt_core::CrtRecord;
use crt_core::alert::{Alert, AlertBeneficiary, AlertSource, AlertSourceKind};
use crt_core::record::{Ins, InsOid, OnCallReason, SchemaVersion};
use crt_core::validation::RecordError;
use crt_documents::RenderContext;
use crt_telemonitoring::{Issue, Subject, check, crossings, outcome};
use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::AppState;
use super::alerts::{keep, with_subject};
use super::problem::{Body, Problem, bytes};
use super::records::{TraceSubject, check_media_type, read_body};
use crate::digest::sha256_hex;
use crate::security::Caller;
use crate::store::KeptAlert;

/// Far above one observation (a blood pressure with its device is a few kilobytes).
const MAX_BODY: usize = 64 * 1024;

fn fhir(status: StatusCode, value: &Value) -> Response<Body> {
    bytes(
        status,
        "application/fhir+json",
        value.to_string().into_bytes(),
    )
}

fn refused(status: StatusCode, issues: &[Issue]) -> Response<Body> {
    fhir(status, &outcome(issues))
}

fn information(text: String) -> Value {
    json!({"resourceType": "OperationOutcome",
           "issue": [{"severity": "information", "code": "informational", "diagnostics": text}]})
}

pub async fn create(crt: &str, request: Request<Incoming>, state: &AppState) -> Response<Body> {
    match create_inner(crt, request, state).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn create_inner(
    crt: &str,
    request: Request<Incoming>,
    state: &AppState,
) -> Result<Response<Body>, Problem> {
    let crt = super::waiting::finess_parameter(crt).map_err(|problem| *problem)?;
    let platform = request
        .extensions()
        .get::<Caller>()
        .map(|caller| caller.principal.clone())
        .unwrap_or_else(|| "telemonitoring".into());
    let (parts, body) = request.into_parts();
    check_media_type(
        &parts.headers,
        &["application/fhir+json", "application/json"],
    )?;
    let body = read_body(&parts.headers, body, MAX_BODY).await?;
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => {
            let issue = Issue {
                expression: "Observation".into(),
                code: "structure",
                diagnostics: format!("not JSON: {e}"),
            };
            return Ok(refused(StatusCode::BAD_REQUEST, &[issue]));
        }
    };
    let measurement = match check(&value) {
        Ok(measurement) => measurement,
        Err(issues) => return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, &issues)),
    };
    let newest = state
        .store
        .newest_records(crt.clone())
        .await
        .map_err(Problem::storage)?;
    let records = newest
        .iter()
        .filter_map(|stored| serde_json::from_slice::<CrtRecord>(&stored.payload).ok());
    let Some(record) = records
        .into_iter()
        .find(|record| names(record, &measurement.subject))
    else {
        let issue = Issue {
            expression: "Observation.subject.identifier".into(),
            code: "not-found",
            diagnostics: format!(
                "no beneficiary of CRT {crt} has this identifier (the INS, or the CRT's identifier of the beneficiary)"
            ),
        };
        return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, &[issue]));
    };
    let subject = TraceSubject {
        crt_finess_et: crt.clone(),
        beneficiary_ref: record.beneficiary.local_id.clone(),
    };
    let crossed = match crossings(&measurement, &record.telemonitoring) {
        Ok(crossed) => crossed,
        Err(incomparable) => {
            let issue = Issue {
                expression: incomparable.at,
                code: "value",
                diagnostics: format!(
                    "the beneficiary's bound is in {}; {} cannot be converted to it",
                    incomparable.wanted, incomparable.unit
                ),
            };
            let mut response = refused(StatusCode::UNPROCESSABLE_ENTITY, &[issue]);
            response.extensions_mut().insert(subject);
            return Ok(response);
        }
    };
    if crossed.is_empty() {
        let mut response = fhir(
            StatusCode::OK,
            &information("within the beneficiary's bounds: no alert".into()),
        );
        response.extensions_mut().insert(subject);
        return Ok(response);
    }
    let heard: Vec<String> = crossed.iter().map(|c| c.describe()).collect();
    let mut alert = Alert {
        schema_version: SchemaVersion::V1_0,
        source: AlertSource {
            kind: AlertSourceKind::Telemonitoring,
            name: platform,
            alert_id: measurement.id.clone().unwrap_or_default(),
        },
        crt: crt.clone(),
        beneficiary: AlertBeneficiary {
            local_id: Some(record.beneficiary.local_id.clone()),
            ins: record.beneficiary.ins.clone(),
            birth_name: None,
            first_given_name: None,
            birth_date: None,
        },
        raised_at: measurement.effective,
        reason: OnCallReason::HealthDeterioration,
        heard: Some(format!("Télésurveillance — {}", heard.join("; "))),
        called: Vec::new(),
    };
    let payload = contract_payload(&mut alert, &body)?;
    let kept = keep(
        state,
        &alert,
        Some(record.beneficiary.local_id.clone()),
        payload,
    )
    .await?;
    let (status, view) = match kept {
        KeptAlert::Kept(view) => (StatusCode::ACCEPTED, view),
        KeptAlert::Duplicate(view) => (StatusCode::OK, view),
    };
    let mut response = fhir(
        status,
        &information(format!("alert {} raised: {}", view.id, heard.join("; "))),
    );
    if let Ok(location) = format!("/v1/alerts/{}", view.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(with_subject(response, &view))
}

/// Whether `subject` names the beneficiary of `record`.
fn names(record: &CrtRecord, subject: &Subject) -> bool {
    let beneficiary = &record.beneficiary;
    if let Some(oid) = subject.system.strip_prefix("urn:oid:")
        && InsOid::from_oid(oid).is_some()
    {
        return beneficiary
            .ins
            .as_ref()
            .is_some_and(|Ins { number, oid: own }| {
                own.as_str() == oid && *number == subject.value
            });
    }
    let local = RenderContext::for_record(record, None).patient_id(&beneficiary.local_id);
    subject.system == format!("urn:oid:{}", local.root) && subject.value == beneficiary.local_id
}

/// The alert's JSON, its id the observation's identifier when the alert contract's own
/// checker takes it as an alert id, else one derived from it (or from the body), so that
/// the same observation sent twice is one alert.
fn contract_payload(alert: &mut Alert, body: &[u8]) -> Result<Vec<u8>, Problem> {
    let own = std::mem::take(&mut alert.source.alert_id);
    let derived = format!(
        "obs-{}",
        &sha256_hex(if own.is_empty() { body } else { own.as_bytes() })[..40]
    );
    if !own.is_empty() {
        alert.source.alert_id = own;
        let payload = serde_json::to_vec(&*alert).map_err(Problem::internal)?;
        let id_refused = match Alert::parse(&payload, |_, _| {}) {
            Err(RecordError::Invalid(violations)) => {
                violations.iter().any(|v| v.pointer == "/source/alert_id")
            }
            _ => false,
        };
        if !id_refused {
            return Ok(payload);
        }
    }
    alert.source.alert_id = derived;
    serde_json::to_vec(&*alert).map_err(Problem::internal)
}
