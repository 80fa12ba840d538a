//! The planning of a CRT's interventions, from the newest record of each beneficiary:
//!
//! - `GET /v1/planning?crt=FINESS&(beneficiary=ID|professional=ID)[&from=DATE][&days=N]`:
//!   the visits of one beneficiary or one professional (care-circle id or RPPS), by start,
//!   from `from` (default today) over `days` (default 7): the week view;
//! - `POST /v1/planning/links` (`{"crt", "beneficiary"|"professional", "label"}`): a
//!   calendar link for one subscriber, answered once with its secret URL
//!   (`/v1/planning/<secret>.ics`); `GET /v1/planning/links?crt=FINESS` lists them (never
//!   their secret), `POST /v1/planning/links/{id}/revoke` revokes one;
//! - `GET /v1/planning/<secret>.ics`: the iCalendar feed, for a calendar application that
//!   holds the link and nothing else (no other credential); `404` once revoked.

use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use crt_core::CrtRecord;
use crt_core::Violation;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::problem::{Body, Problem, bytes, json};
use super::records::{TraceSubject, check_content_type, read_body};
use super::waiting::finess_parameter;
use crate::calendar::ical::{self, Audience};
use crate::calendar::{knows, visits};
use crate::digest::{random_hex_32, sha256_hex};
use crate::security::Caller;
use crate::store::{CalendarLink, CalendarSubject, NewCalendarLink, now_millis};

const MAX_DAYS: i64 = 62;

fn bad_query(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query").detail(detail)
}

/// The newest record of each beneficiary of `crt`.
async fn records(state: &AppState, crt: &str) -> Result<Vec<CrtRecord>, Problem> {
    let stored = state
        .store
        .newest_records(crt.to_string())
        .await
        .map_err(Problem::storage)?;
    Ok(stored
        .iter()
        .filter_map(|s| serde_json::from_slice(&s.payload).ok())
        .collect())
}

pub async fn week(query: Option<&str>, state: &AppState) -> Response<Body> {
    week_inner(query, state)
        .await
        .unwrap_or_else(Problem::into_response)
}

async fn week_inner(query: Option<&str>, state: &AppState) -> Result<Response<Body>, Problem> {
    let mut crt = None;
    let mut subject = None;
    let mut from = Utc::now().date_naive();
    let mut days = 7;
    for (key, value) in crt_core::oauth::parse_form(query.unwrap_or_default()) {
        match key.as_str() {
            "crt" => crt = Some(finess_parameter(&value).map_err(|p| *p)?),
            "beneficiary" => subject = Some((CalendarSubject::Beneficiary, value)),
            "professional" => subject = Some((CalendarSubject::Professional, value)),
            "from" => {
                from = NaiveDate::parse_from_str(&value, "%Y-%m-%d")
                    .map_err(|_| bad_query(format!("from={value}: expected YYYY-MM-DD")))?
            }
            "days" => {
                days = value
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=MAX_DAYS).contains(d))
                    .ok_or_else(|| bad_query(format!("days={value}: expected 1 to {MAX_DAYS}")))?
            }
            other => return Err(bad_query(format!("unknown parameter {other}"))),
        }
    }
    let crt = crt.ok_or_else(|| bad_query("crt: the CRT's FINESS ET is required".into()))?;
    let (kind, reference) =
        subject.ok_or_else(|| bad_query("beneficiary or professional is required".into()))?;
    let start = from.and_time(NaiveTime::MIN).and_utc();
    let end = start + Duration::days(days);
    let records = records(state, &crt).await?;
    let found: Vec<_> = visits(&records, kind, &reference)
        .into_iter()
        .filter(|v| v.end > start && v.start < end)
        .collect();
    let mut response = json(
        StatusCode::OK,
        &json!({"crt": crt, "from": from, "days": days, "visits": found}),
    );
    if kind == CalendarSubject::Beneficiary {
        response.extensions_mut().insert(TraceSubject {
            crt_finess_et: crt,
            beneficiary_ref: reference,
        });
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLink {
    crt: String,
    #[serde(default)]
    beneficiary: Option<String>,
    #[serde(default)]
    professional: Option<String>,
    label: String,
}

fn violation(pointer: &str, rule: &str, message: impl Into<String>) -> Violation {
    Violation {
        pointer: pointer.into(),
        rule: rule.into(),
        message: message.into(),
    }
}

fn invalid(violations: Vec<Violation>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-calendar-link",
        "The calendar link is not valid",
    )
    .detail(format!(
        "{} violation(s); nothing was stored",
        violations.len()
    ))
    .violations(violations)
}

pub async fn create_link(request: Request<Incoming>, state: &AppState) -> Response<Body> {
    create_link_inner(request, state)
        .await
        .unwrap_or_else(Problem::into_response)
}

async fn create_link_inner(
    request: Request<Incoming>,
    state: &AppState,
) -> Result<Response<Body>, Problem> {
    let created_by = request
        .extensions()
        .get::<Caller>()
        .map(Caller::acting)
        .unwrap_or_default();
    let (parts, body) = request.into_parts();
    check_content_type(&parts.headers)?;
    let body = read_body(&parts.headers, body, 4 * 1024).await?;
    let asked: NewLink = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "bad-body", "Bad body").detail(format!(
            "{e}: expected {{\"crt\", \"beneficiary\" or \"professional\", \"label\"}}"
        ))
    })?;
    let mut violations = Vec::new();
    if let Err(e) = crt_core::identifiers::check_finess(&asked.crt) {
        violations.push(violation(
            "/crt",
            "finess-key",
            format!("invalid FINESS: {e}"),
        ));
    }
    let label = asked.label.trim();
    if label.is_empty() || label.chars().count() > 200 {
        violations.push(violation(
            "/label",
            "label-length",
            "expected 1 to 200 characters: who subscribes",
        ));
    }
    let subject = match (asked.beneficiary, asked.professional) {
        (Some(id), None) => Some((CalendarSubject::Beneficiary, id, "/beneficiary")),
        (None, Some(id)) => Some((CalendarSubject::Professional, id, "/professional")),
        _ => None,
    };
    if subject.is_none() {
        violations.push(violation(
            "",
            "one-subject",
            "expected beneficiary or professional, not both",
        ));
    }
    let (Some((kind, reference, pointer)), true) = (subject, violations.is_empty()) else {
        return Err(invalid(violations));
    };
    let records = records(state, &asked.crt).await?;
    if !knows(&records, kind, &reference) {
        return Err(invalid(vec![violation(
            pointer,
            "known-subject",
            format!(
                "no {} {reference:?} in the newest records of CRT {}",
                kind.as_str(),
                asked.crt
            ),
        )]));
    }
    let secret = random_hex_32().map_err(Problem::internal)?;
    let link = state
        .store
        .keep_calendar_link(NewCalendarLink {
            id: Uuid::now_v7(),
            crt_finess_et: asked.crt.clone(),
            subject: kind,
            subject_ref: reference.clone(),
            label: label.to_string(),
            secret_sha256: sha256_hex(secret.as_bytes()),
            created_by,
            created_at: now_millis(),
        })
        .await
        .map_err(Problem::storage)?;
    let mut body = serde_json::to_value(&link).map_err(Problem::internal)?;
    body["url"] = json!(format!("/v1/planning/{secret}.ics"));
    let mut response = json(StatusCode::CREATED, &body);
    if kind == CalendarSubject::Beneficiary {
        response.extensions_mut().insert(TraceSubject {
            crt_finess_et: asked.crt,
            beneficiary_ref: reference,
        });
    }
    Ok(response)
}

pub async fn links(query: Option<&str>, state: &AppState) -> Response<Body> {
    let mut crt = None;
    for (key, value) in crt_core::oauth::parse_form(query.unwrap_or_default()) {
        match key.as_str() {
            "crt" => match finess_parameter(&value) {
                Ok(value) => crt = Some(value),
                Err(problem) => return problem.into_response(),
            },
            other => return bad_query(format!("unknown parameter {other}")).into_response(),
        }
    }
    let Some(crt) = crt else {
        return bad_query("crt: the CRT's FINESS ET is required".into()).into_response();
    };
    match state.store.calendar_links(crt).await {
        Ok(links) => json(StatusCode::OK, &json!({ "links": links })),
        Err(e) => Problem::storage(e).into_response(),
    }
}

pub async fn revoke(id: &str, state: &AppState) -> Response<Body> {
    let not_found = || Problem::not_found(&format!("calendar link {id}")).into_response();
    let Ok(id) = Uuid::parse_str(id) else {
        return not_found();
    };
    match state.store.revoke_calendar_link(id, now_millis()).await {
        Ok(Some(link)) => json(StatusCode::OK, &link),
        Ok(None) => not_found(),
        Err(e) => Problem::storage(e).into_response(),
    }
}

/// What the feed answered, for its trace line.
pub struct Fed {
    pub link: Option<CalendarLink>,
    pub subject: Option<TraceSubject>,
}

/// The feed of the link whose secret is `file` without `.ics`.
pub async fn feed(file: &str, state: &AppState) -> (Response<Body>, Fed) {
    let none = Fed {
        link: None,
        subject: None,
    };
    let not_found = || Problem::not_found("calendar at this address").into_response();
    let secret = file.strip_suffix(".ics").unwrap_or_default();
    // A secret is 64 hexadecimal characters: anything else is not looked up.
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (not_found(), none);
    }
    let link = match state
        .store
        .calendar_link_by_secret(sha256_hex(secret.as_bytes()))
        .await
    {
        Ok(Some(link)) => link,
        Ok(None) => return (not_found(), none),
        Err(e) => return (Problem::storage(e).into_response(), none),
    };
    let subject = (link.subject == CalendarSubject::Beneficiary).then(|| TraceSubject {
        crt_finess_et: link.crt_finess_et.clone(),
        beneficiary_ref: link.subject_ref.clone(),
    });
    if link.revoked_at.is_some() {
        return (
            not_found(),
            Fed {
                link: Some(link),
                subject,
            },
        );
    }
    let records = match records(state, &link.crt_finess_et).await {
        Ok(records) => records,
        Err(problem) => return (problem.into_response(), none),
    };
    let found = visits(&records, link.subject, &link.subject_ref);
    let (audience, name) = match link.subject {
        CalendarSubject::Beneficiary => (
            Audience::Beneficiary,
            found
                .first()
                .map(|v| format!("Interventions – {}", v.beneficiary.name))
                .unwrap_or_else(|| "Interventions".into()),
        ),
        CalendarSubject::Professional => (
            Audience::Professional,
            found
                .first()
                .map(|v| format!("Tournée – {}", v.professional.name))
                .unwrap_or_else(|| "Tournée".into()),
        ),
    };
    let body = ical::calendar(&name, &found, audience, Utc::now());
    let mut response = bytes(
        StatusCode::OK,
        "text/calendar; charset=utf-8",
        body.into_bytes(),
    );
    if let Ok(value) = "private, no-store".parse() {
        response
            .headers_mut()
            .insert(http::header::CACHE_CONTROL, value);
    }
    (
        response,
        Fed {
            link: Some(link),
            subject,
        },
    )
}
