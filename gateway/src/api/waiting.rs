//! `GET /v1/waiting-list?crt=FINESS`: a CRT's volet 2 waiting list, as ViaTrajectoire
//! says it.

use http::{Response, StatusCode};
use serde_json::json;

use super::AppState;
use super::problem::{Body, Problem};

/// A `crt=` parameter: a FINESS number, or the problem that refuses it.
pub(super) fn finess_parameter(value: &str) -> Result<String, Box<Problem>> {
    match crt_core::identifiers::check_finess(value) {
        Ok(()) => Ok(value.to_string()),
        Err(e) => Err(Box::new(
            Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query")
                .detail(format!("crt={value} is not a FINESS number: {e}")),
        )),
    }
}

pub async fn list(query: Option<&str>, state: &AppState) -> Response<Body> {
    let mut crt = None;
    for (key, value) in crt_core::oauth::parse_form(query.unwrap_or_default()) {
        match key.as_str() {
            "crt" => match finess_parameter(&value) {
                Ok(value) => crt = Some(value),
                Err(problem) => return problem.into_response(),
            },
            other => {
                return Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query")
                    .detail(format!("unknown parameter {other}"))
                    .into_response();
            }
        }
    }
    match state.store.waiting_list(crt.clone()).await {
        Ok(entries) => {
            super::problem::json(StatusCode::OK, &json!({ "crt": crt, "entries": entries }))
        }
        Err(e) => Problem::storage(e).into_response(),
    }
}
