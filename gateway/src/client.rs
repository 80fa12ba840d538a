//! A small HTTP client for the gateway's own API, used by the CLI (`submit`, `status`,
//! `replay`) and by `demo`.

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Where the CLI finds the gateway unless told otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";
pub const ENV_URL: &str = "CRT_GATEWAY_URL";
/// The API token the CLI sends; without it, the sandbox's token in the data directory.
pub const ENV_TOKEN: &str = "CRT_GATEWAY_TOKEN";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0:?} is not an http:// URL of a gateway")]
    BadUrl(String),
    #[error("cannot reach the gateway at {url}: {reason}")]
    Unreachable { url: String, reason: String },
}

#[derive(Clone)]
pub struct ApiClient {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    /// `Bearer <token>`.
    authorization: Option<String>,
    /// The professional acting: id, profession, role.
    actor: Option<(String, String, Option<String>)>,
    /// Other headers sent on every request (an emergency access and its reason).
    headers: Vec<(&'static str, String)>,
}

/// An answer: status, headers of interest, body.
pub struct Answer {
    pub status: StatusCode,
    pub replayed: bool,
    /// Where what the request created lives (`Location`).
    pub location: Option<String>,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl ApiClient {
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/').to_string();
        let uri: Uri = base
            .parse()
            .map_err(|_| ClientError::BadUrl(base.clone()))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(ClientError::BadUrl(base));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let token = std::env::var(ENV_TOKEN).ok().or_else(|| {
            let data_dir = std::env::var_os("CRT_GATEWAY_STORAGE__DATA_DIR")
                .map_or_else(|| std::path::PathBuf::from("data"), Into::into);
            std::fs::read_to_string(data_dir.join(crate::security::auth::SANDBOX_TOKEN_FILE)).ok()
        });
        Ok(ApiClient {
            base,
            client,
            authorization: token.map(|t| format!("Bearer {}", t.trim())),
            actor: None,
            headers: Vec::new(),
        })
    }

    /// Sends `token` as the caller's credentials.
    pub fn with_token(mut self, token: &str) -> Self {
        self.authorization = Some(format!("Bearer {}", token.trim()));
        self
    }

    /// Names the professional acting (the `Crt-Actor-*` headers) on every request.
    pub fn with_actor(mut self, id: &str, profession: &str, role: Option<&str>) -> Self {
        self.actor = Some((
            id.to_string(),
            profession.to_string(),
            role.map(str::to_string),
        ));
        self
    }

    /// Sends `name: value` on every request.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn post_record(
        &self,
        body: Bytes,
        idempotency_key: Option<&str>,
    ) -> Result<Answer, ClientError> {
        self.post_json("/v1/records", body, idempotency_key).await
    }

    /// Posts a JSON document to `path`.
    pub async fn post_json(
        &self,
        path: &str,
        body: Bytes,
        idempotency_key: Option<&str>,
    ) -> Result<Answer, ClientError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(key) = idempotency_key {
            request = request.header(crate::api::IDEMPOTENCY_KEY, key);
        }
        self.send(request, body).await
    }

    pub async fn get(&self, path: &str) -> Result<Answer, ClientError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}{path}", self.base));
        self.send(request, Bytes::new()).await
    }

    pub async fn post(&self, path: &str) -> Result<Answer, ClientError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.base));
        self.send(request, Bytes::new()).await
    }

    async fn send(
        &self,
        request: http::request::Builder,
        body: Bytes,
    ) -> Result<Answer, ClientError> {
        let unreachable = |reason: String| ClientError::Unreachable {
            url: self.base.clone(),
            reason,
        };
        let mut request = match &self.authorization {
            Some(value) => request.header(header::AUTHORIZATION, value),
            None => request,
        };
        if let Some((id, profession, role)) = &self.actor {
            request = request
                .header("crt-actor-id", id)
                .header("crt-actor-profession", profession);
            if let Some(role) = role {
                request = request.header("crt-actor-role", role);
            }
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| unreachable(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| unreachable(error_chain(&e)))?;
        let status = response.status();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        Ok(Answer {
            status,
            replayed,
            location,
            body,
        })
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
