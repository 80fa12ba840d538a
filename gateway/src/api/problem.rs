//! RFC 9457 problem documents: every error the API returns is one.

use bytes::Bytes;
use crt_core::Violation;
use http::{Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

pub type Body = Full<Bytes>;

#[derive(Debug, Serialize)]
pub struct Problem {
    /// `urn:crt-gateway:problem:<slug>`: stable, for programs to switch on.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &'static str) -> Self {
        Problem {
            kind: format!("urn:crt-gateway:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail: None,
            violations: Vec::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn violations(mut self, violations: Vec<Violation>) -> Self {
        self.violations = violations;
        self
    }

    pub fn not_found(what: &str) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail(format!("no {what}"))
    }

    /// A failure of the gateway itself (500), with what failed.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
        .detail(error.to_string())
    }

    pub fn storage(error: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage-unavailable",
            "Storage unavailable",
        )
        .detail(format!("nothing was stored: {error}"))
    }

    pub fn into_response(self) -> Response<Body> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/problem+json")
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }
}

/// A JSON answer.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => bytes(status, "application/json", body),
        Err(e) => Problem::internal(e).into_response(),
    }
}

pub fn bytes(status: StatusCode, media_type: &str, body: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, media_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
