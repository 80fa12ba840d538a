//! ViaTrajectoire's FHIR API as the *Suivi des décisions d'orientation* guide has a
//! structure's software use it: mutual TLS, an OAuth2 token, the `struct_idnat` header on
//! every call; the requests that reached the structure (flux 1: a DocumentReference search
//! for their ids, then a read of each), a Task per answer (flux 4), and the Task search
//! that follows where requests stand (flux 5).

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
            given: &config.access,
            secret_variable: "CRT_VIATRAJECTOIRE_CLIENT_SECRET",
            certificate_required: true,
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
        if_none_exist: Option<&str>,
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
        if let Some(criteria) = if_none_exist {
            headers.push(("if-none-exist", criteria));
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

    /// Sends an answer (flux 4): `POST Task`, created unless ViaTrajectoire already holds
    /// a Task with the same identifier (`If-None-Exist`), so that a repeated attempt does
    /// not answer twice. The answer is the Task's `Task/<id>`.
    pub async fn answer(
        &self,
        task: &Value,
        struct_idnat: &str,
        identifier: &str,
    ) -> Result<String, ClientError> {
        let criteria = form(&[("identifier", identifier)]);
        let created = self
            .call(
                Method::POST,
                "Task",
                struct_idnat,
                Some(task),
                Some(&criteria),
            )
            .await?;
        created["id"]
            .as_str()
            .map(|id| format!("Task/{id}"))
            .ok_or_else(|| ClientError::Answer("the Task answered has no id".into()))
    }

    /// The ids of the requests that reached the structure or changed since `since`
    /// (flux 1: `DocumentReference?type=57830-2&_lastUpdated=gt…&_elements=id`).
    pub async fn requests_since(
        &self,
        since: Option<&str>,
        struct_idnat: &str,
    ) -> Result<Vec<String>, ClientError> {
        let kind = format!(
            "{}|{}",
            crate::incoming::LOINC,
            crate::incoming::REQUEST_TYPE
        );
        let found = self
            .search(
                "DocumentReference",
                &[("type", kind.as_str()), ("_elements", "id")],
                since,
                struct_idnat,
            )
            .await?;
        Ok(found
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect())
    }

    /// The Tasks about the structure's requests changed since `since` (RFC 3339), all of
    /// them when `None` (flux 5: `Task?_lastUpdated=gt…`), oldest change first.
    pub async fn tasks_since(
        &self,
        since: Option<&str>,
        struct_idnat: &str,
    ) -> Result<Vec<Value>, ClientError> {
        let mut tasks = self.search("Task", &[], since, struct_idnat).await?;
        tasks.sort_by(|a, b| {
            a["meta"]["lastUpdated"]
                .as_str()
                .cmp(&b["meta"]["lastUpdated"].as_str())
        });
        Ok(tasks)
    }

    /// The resources of a search, with `_lastUpdated=gt<since>` when given.
    async fn search(
        &self,
        resource: &str,
        params: &[(&str, &str)],
        since: Option<&str>,
        struct_idnat: &str,
    ) -> Result<Vec<Value>, ClientError> {
        let mut params = params.to_vec();
        let bound = since.map(|s| format!("gt{s}"));
        if let Some(bound) = &bound {
            params.push(("_lastUpdated", bound.as_str()));
        }
        let bundle = self
            .call(
                Method::GET,
                &format!("{resource}?{}", form(&params)),
                struct_idnat,
                None,
                None,
            )
            .await?;
        Ok(bundle["entry"]
            .as_array()
            .map(|entries| entries.iter().map(|e| e["resource"].clone()).collect())
            .unwrap_or_default())
    }

    /// The structure's directory card, if ViaTrajectoire holds one
    /// (`GET HealthcareService?identifier=…`).
    pub async fn card(&self, struct_idnat: &str) -> Result<Option<Value>, ClientError> {
        let bundle = self
            .call(
                Method::GET,
                &card_query(struct_idnat),
                struct_idnat,
                None,
                None,
            )
            .await?;
        Ok(bundle["entry"][0]["resource"]
            .as_object()
            .map(|_| bundle["entry"][0]["resource"].clone()))
    }

    /// Writes the structure's directory card: a conditional update on its identifier, so
    /// that the first write creates it and the next ones replace it.
    pub async fn put_card(&self, card: &Value, struct_idnat: &str) -> Result<Value, ClientError> {
        self.call(
            Method::PUT,
            &card_query(struct_idnat),
            struct_idnat,
            Some(card),
            None,
        )
        .await
    }

    /// Reads one resource (`Type/id`).
    pub async fn read(&self, reference: &str, struct_idnat: &str) -> Result<Value, ClientError> {
        self.call(Method::GET, reference, struct_idnat, None, None)
            .await
    }
}

/// `HealthcareService?identifier=<idNat_Struct>|<structure>`: the search and the
/// conditional update of a structure's card.
fn card_query(struct_idnat: &str) -> String {
    let identifier = format!("{}|{struct_idnat}", crate::incoming::ID_NAT_STRUCT);
    format!("HealthcareService?{}", form(&[("identifier", &identifier)]))
}
