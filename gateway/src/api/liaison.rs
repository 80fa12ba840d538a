//! `GET /v1/liaison-book?crt=FINESS[&beneficiary=ID][&limit=N]`: what partners wrote in
//! the liaison books of a CRT's beneficiaries on the regional platform, newest first.

use http::{Response, StatusCode};
use serde_json::json;

use super::AppState;
use super::problem::{Body, Problem};
use super::waiting::finess_parameter;
use crate::store::PartnerEntryFilter;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

fn bad(detail: String) -> Response<Body> {
    Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query")
        .detail(detail)
        .into_response()
}

pub async fn list(query: Option<&str>, state: &AppState) -> Response<Body> {
    let mut filter = PartnerEntryFilter {
        limit: DEFAULT_LIMIT,
        ..PartnerEntryFilter::default()
    };
    for (key, value) in crt_core::oauth::parse_form(query.unwrap_or_default()) {
        match key.as_str() {
            "crt" => match finess_parameter(&value) {
                Ok(crt) => filter.crt = Some(crt),
                Err(problem) => return problem.into_response(),
            },
            "beneficiary" if !value.is_empty() && value.len() <= 64 => {
                filter.beneficiary = Some(value)
            }
            "beneficiary" => return bad("beneficiary: expected the DUI's local id".into()),
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => filter.limit = n,
                _ => return bad(format!("limit={value}: expected 1 to {MAX_LIMIT}")),
            },
            other => return bad(format!("unknown parameter {other}")),
        }
    }
    if filter.crt.is_none() {
        return bad("crt: the CRT's FINESS ET is required".into());
    }
    let crt = filter.crt.clone();
    let beneficiary = filter.beneficiary.clone();
    match state.store.partner_entries(filter).await {
        Ok(entries) => super::problem::json(
            StatusCode::OK,
            &json!({ "crt": crt, "beneficiary": beneficiary, "entries": entries }),
        ),
        Err(e) => Problem::storage(e).into_response(),
    }
}
