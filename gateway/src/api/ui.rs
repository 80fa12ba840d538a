//! `/ui/`: the operator's page (validate a file, follow deliveries, replay a dead one).
//! Static files built into the binary; the page calls the API with the operator's token,
//! so the access policy applies to it as to any caller.

use http::{HeaderValue, Response, StatusCode, header};

use super::problem::{Body, Problem, bytes};

const INDEX: &str = include_str!("../../ui/index.html");
const SCRIPT: &str = include_str!("../../ui/app.js");
const STYLE: &str = include_str!("../../ui/style.css");

/// Only the page's own files run or load; nothing may frame it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The file at `/ui/<name>` (`index.html` for `/ui/`).
pub fn file(name: &str) -> Response<Body> {
    let (media_type, content) = match name {
        "" | "index.html" => ("text/html; charset=utf-8", INDEX),
        "app.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "style.css" => ("text/css; charset=utf-8", STYLE),
        _ => return Problem::not_found(&format!("/ui/{name}")).into_response(),
    };
    let mut response = bytes(StatusCode::OK, media_type, content.as_bytes().to_vec());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
