//! The ROR's FHIR REST API over the project's HTTPS client: an OAuth2 token (client
//! credentials), the four `Ror-*` headers on every call, search, create and FHIRPath
//! Patch; and the capacity API, which takes the token alone.

use bytes::Bytes;
use crt_core::fhir_json::outcome_diagnostics;
use crt_core::http::{HttpError, HttpsClient};
use crt_core::oauth::{
    Access, AccessError, ClientCredentials, Connection, FhirAccess, TokenError, form,
};
use http::Method;
use serde_json::Value;

use crate::config::RorConfig;

#[derive(Debug, thiserror::Error)]
pub enum RorError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the ROR answered HTTP {status}: {diagnostics}")]
    Refused { status: u16, diagnostics: String },
    #[error("unexpected answer from the ROR: {0}")]
    Answer(String),
}

pub struct RorClient {
    base: String,
    credentials: ClientCredentials,
    config: RorConfig,
    http: HttpsClient,
    capacity: Connection,
}

impl RorClient {
    pub fn new(config: &RorConfig) -> Result<RorClient, RorError> {
        let access = |section, given| Access {
            section,
            given,
            secret_variable: "CRT_ROR_CLIENT_SECRET",
            // Profile 0 is OAuth2 alone; profiles 1 to 5 add mutual TLS.
            certificate_required: false,
            timeout: config.timeout,
            max_answer_bytes: config.max_answer_bytes,
        };
        let connection = access("ror", &config.access).connect()?;
        let capacity = &config.capacity;
        let main = &config.access;
        let capacity_access = FhirAccess {
            base_url: capacity.base_url.clone().or_else(|| main.base_url.clone()),
            client_id: capacity
                .client_id
                .clone()
                .or_else(|| main.client_id.clone()),
            client_certificate: (capacity.client_certificate.clone())
                .or_else(|| main.client_certificate.clone()),
            client_key: capacity
                .client_key
                .clone()
                .or_else(|| main.client_key.clone()),
            ..main.clone()
        };
        let capacity = access("ror.capacity", &capacity_access).connect()?;
        Ok(RorClient {
            base: connection.base,
            credentials: connection.credentials,
            config: config.clone(),
            http: connection.http,
            capacity,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<Value, RorError> {
        let bearer = format!("Bearer {}", self.credentials.token(&self.http).await?);
        let mut headers: Vec<(&str, &str)> = vec![
            ("authorization", &bearer),
            ("accept", "application/fhir+json"),
        ];
        headers.extend(self.config.headers.pairs());
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
            headers.push(("prefer", "return=representation"));
        }
        let url = format!("{}/{path_and_query}", self.base);
        let answer = self.http.send(method, &url, &headers, body).await?;
        if !answer.status.is_success() {
            return Err(RorError::Refused {
                status: answer.status.as_u16(),
                diagnostics: outcome_diagnostics(&answer.body),
            });
        }
        serde_json::from_slice(&answer.body).map_err(|e| RorError::Answer(e.to_string()))
    }

    /// The resources a search finds (every page).
    pub async fn search(
        &self,
        resource_type: &str,
        params: &[(&str, &str)],
    ) -> Result<Vec<Value>, RorError> {
        let mut found = Vec::new();
        let mut next = Some(format!("{resource_type}?{}", form(params)));
        while let Some(path) = next.take() {
            let bundle = self.call(Method::GET, &path, None, Bytes::new()).await?;
            if bundle["resourceType"] != "Bundle" {
                return Err(RorError::Answer("a search did not answer a Bundle".into()));
            }
            for entry in bundle["entry"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if entry["search"]["mode"] != "include" {
                    found.push(entry["resource"].clone());
                }
            }
            next = bundle["link"]
                .as_array()
                .and_then(|links| links.iter().find(|l| l["relation"] == "next"))
                .and_then(|l| l["url"].as_str())
                .and_then(|url| url.strip_prefix(&format!("{}/", self.base)))
                .map(str::to_string);
        }
        Ok(found)
    }

    /// Creates a resource; the answer is the resource as stored, with its id.
    pub async fn create(&self, resource_type: &str, resource: &Value) -> Result<Value, RorError> {
        self.call(
            Method::POST,
            resource_type,
            Some("application/fhir+json"),
            Bytes::from(resource.to_string()),
        )
        .await
    }

    /// Sends a FHIRPath Patch (`Parameters`) to `path` (`HealthcareService/12`).
    pub async fn patch(&self, path: &str, parameters: &Value) -> Result<Value, RorError> {
        self.call(
            Method::PATCH,
            path,
            Some("application/fhir+json"),
            Bytes::from(parameters.to_string()),
        )
        .await
    }

    /// Sends a capacity patch for the place whose `idExterneSynchro` is `place`, to the
    /// capacity API: `Authorization` and `Content-Type` only, the ROR's documentation
    /// asking for no `Ror-*` header there.
    pub async fn patch_capacity(&self, place: &str, parameters: &Value) -> Result<(), RorError> {
        let bearer = format!(
            "Bearer {}",
            self.capacity.credentials.token(&self.capacity.http).await?
        );
        let headers = [
            ("authorization", bearer.as_str()),
            ("content-type", "application/fhir+json"),
        ];
        let url = format!(
            "{}/Location?{}",
            self.capacity.base,
            form(&[("identifier", place)])
        );
        let answer = self
            .capacity
            .http
            .send(
                Method::PATCH,
                &url,
                &headers,
                Bytes::from(parameters.to_string()),
            )
            .await?;
        if !answer.status.is_success() {
            return Err(RorError::Refused {
                status: answer.status.as_u16(),
                diagnostics: outcome_diagnostics(&answer.body),
            });
        }
        Ok(())
    }
}
