//! ViaTrajectoire's FHIR API: mutual TLS, an OAuth2 token, the `struct_idnat` header on
//! every call, a transaction to submit, a Task search to follow statuses.

use bytes::Bytes;
use crt_core::fhir_json::outcome_diagnostics;
use crt_core::http::{HttpError, HttpsClient};
use crt_core::oauth::{Access, AccessError, ClientCredentials, TokenError, form};
use crt_core::sink::DeliveryError;
use http::Method;
use serde_json::Value;

use crate::config::ViatrajectoireConfig;

/// The header naming the structure on whose behalf the call is made (`1` + FINESS).
pub const STRUCT_IDNAT: &str = "struct_idnat";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("ViaTrajectoire answered HTTP {status}: {diagnostics}")]
    Refused { status: u16, diagnostics: String },
    #[error("unexpected answer from ViaTrajectoire: {0}")]
    Answer(String),
}

impl ClientError {
    pub fn into_delivery_error(self) -> DeliveryError {
        match self {
            ClientError::Http(e) | ClientError::Token(TokenError::Http(e)) => {
                e.into_delivery_error()
            }
            ClientError::Refused { status, .. } if status >= 500 || status == 429 => {
                DeliveryError::retryable("viatrajectoire", self.to_string())
            }
            ClientError::Refused { .. } => {
                DeliveryError::final_error("viatrajectoire-refused", self.to_string())
            }
            other => DeliveryError::final_error("viatrajectoire", other.to_string()),
        }
    }
}

pub struct ViatrajectoireClient {
    base: String,
    credentials: ClientCredentials,
    http: HttpsClient,
}

impl ViatrajectoireClient {
    pub fn new(config: &ViatrajectoireConfig) -> Result<Self, ClientError> {
        let connection = Access {
            section: "sinks.viatrajectoire",
            base_url: config.base_url.as_deref(),
            token_url: config.token_url.as_deref(),
            client_id: config.client_id.as_deref(),
            client_secret: config.client_secret.as_deref(),
            secret_variable: "CRT_VIATRAJECTOIRE_CLIENT_SECRET",
            client_certificate: config.client_certificate.as_deref(),
            client_key: config.client_key.as_deref(),
            certificate_required: true,
            trust: config.trust.as_deref(),
            crl: config.crl.as_deref(),
            timeout: config.retry.timeout,
            max_answer_bytes: config.max_answer_bytes,
        }
        .connect()?;
        Ok(ViatrajectoireClient {
            base: connection.base,
            credentials: connection.credentials,
            http: connection.http,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        struct_idnat: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let bearer = format!("Bearer {}", self.credentials.token(&self.http).await?);
        let mut headers = vec![
            ("authorization", bearer.as_str()),
            ("accept", "application/fhir+json"),
            (STRUCT_IDNAT, struct_idnat),
        ];
        if body.is_some() {
            headers.push(("content-type", "application/fhir+json"));
        }
        let url = if path.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{path}", self.base)
        };
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let answer = self.http.send(method, &url, &headers, body).await?;
        if !answer.status.is_success() {
            return Err(ClientError::Refused {
                status: answer.status.as_u16(),
                diagnostics: outcome_diagnostics(&answer.body),
            });
        }
        serde_json::from_slice(&answer.body).map_err(|e| ClientError::Answer(e.to_string()))
    }

    /// Submits a transaction; the answer is the Task's `Type/id`.
    pub async fn submit(&self, bundle: &Value, struct_idnat: &str) -> Result<String, ClientError> {
        let response = self
            .call(Method::POST, "", struct_idnat, Some(bundle))
            .await?;
        if response["type"] != "transaction-response" {
            return Err(ClientError::Answer("not a transaction-response".into()));
        }
        response["entry"]
            .as_array()
            .and_then(|entries| {
                entries
                    .iter()
                    .filter_map(|e| e["response"]["location"].as_str())
                    .find(|location| location.starts_with("Task/"))
            })
            .map(|location| {
                location
                    .split("/_history")
                    .next()
                    .unwrap_or(location)
                    .to_string()
            })
            .ok_or_else(|| ClientError::Answer("no Task location in the answer".into()))
    }

    /// The Tasks changed since `since` (RFC 3339), all of them when `None`.
    pub async fn tasks_since(
        &self,
        since: Option<&str>,
        struct_idnat: &str,
    ) -> Result<Vec<Value>, ClientError> {
        let mut params = vec![("_sort", "_lastUpdated")];
        let bound = since.map(|s| format!("gt{s}"));
        if let Some(bound) = &bound {
            params.push(("_lastUpdated", bound.as_str()));
        }
        let bundle = self
            .call(
                Method::GET,
                &format!("Task?{}", form(&params)),
                struct_idnat,
                None,
            )
            .await?;
        Ok(bundle["entry"]
            .as_array()
            .map(|entries| entries.iter().map(|e| e["resource"].clone()).collect())
            .unwrap_or_default())
    }

    /// Reads one resource (`Type/id`).
    pub async fn read(&self, reference: &str, struct_idnat: &str) -> Result<Value, ClientError> {
        self.call(Method::GET, reference, struct_idnat, None).await
    }
}
