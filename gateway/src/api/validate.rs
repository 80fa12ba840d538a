//! `POST /v1/validate?name=FILE`: the checks of `crt-gateway validate` on an uploaded
//! file, for the `/ui/` page and for tools. Nothing is stored and nothing of the file is
//! logged; the answer is the file's report.

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;

use super::AppState;
use super::problem::{Body, Problem, json};
use crate::conformity::inspect::{self, MAX_FILE_BYTES};

/// File names are shown back, never used as paths; longer ones are cut.
const MAX_NAME_CHARS: usize = 200;

pub async fn validate(request: Request<Incoming>, state: &AppState) -> Response<Body> {
    let name = file_name(request.uri().query().unwrap_or(""));
    let (parts, body) = request.into_parts();
    let bytes = match super::records::read_body(&parts.headers, body, MAX_FILE_BYTES).await {
        Ok(bytes) => bytes,
        Err(problem) => return problem.into_response(),
    };
    let validator = state.validator.clone();
    // Parsing a large document is CPU work: off the connection tasks.
    let report =
        tokio::task::spawn_blocking(move || inspect::inspect(&name, &bytes, &validator)).await;
    match report {
        Ok(report) => json(StatusCode::OK, &report),
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// The `name` query parameter, percent-decoded, or `upload`.
fn file_name(query: &str) -> String {
    let raw = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "name")
        .map(|(_, value)| value)
        .unwrap_or("");
    let decoded = crt_core::oauth::decode(raw);
    let name: String = decoded
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    if name.trim().is_empty() {
        "upload".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_decoded_and_bounded() {
        assert_eq!(file_name("name=dlu%20v2.xml"), "dlu v2.xml");
        assert_eq!(file_name("x=1"), "upload");
        assert_eq!(file_name("name=%E2%9C%93.xml"), "✓.xml");
        assert_eq!(file_name("name=%zz%4"), "%zz%4");
        assert_eq!(
            file_name(&format!("name={}", "a".repeat(500))).len(),
            MAX_NAME_CHARS
        );
        assert_eq!(file_name("name=a%0Ab"), "ab");
    }
}
