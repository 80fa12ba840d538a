//! The INSi teleservice client: one SOAP 1.2 exchange over HTTPS with mutual TLS.

use std::sync::Arc;

use bytes::Bytes;
use crt_core::http::{HttpError, HttpsClient};
use crt_core::sink::DeliveryError;
use crt_core::soap::SoapError;
use crt_core::tls::{self, TlsError};
use uuid::Uuid;

use crate::answer::{self, AnswerError};
use crate::config::InsConfig;
use crate::encode;
use crate::message::{InsiAnswer, LpsContext, Query};

#[derive(Debug, thiserror::Error)]
pub enum InsiError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the teleservice answered HTTP {status} without a SOAP message")]
    Status { status: u16 },
    #[error(transparent)]
    Answer(#[from] AnswerError),
}

impl InsiError {
    /// Transport failures and faults of the service itself can pass; a request the
    /// service refuses, or an answer that cannot be read, will not change by repeating it.
    pub fn into_delivery_error(self) -> DeliveryError {
        match self {
            InsiError::Http(e) => e.into_delivery_error(),
            InsiError::Status { status } if status >= 500 => DeliveryError::retryable(
                "http",
                format!("the INSi teleservice answered HTTP {status}"),
            ),
            InsiError::Status { status } => DeliveryError::final_error(
                "http",
                format!("the INSi teleservice answered HTTP {status}"),
            ),
            InsiError::Answer(AnswerError::Soap(SoapError::Fault(fault))) => {
                fault.into_delivery_error("INSi")
            }
            InsiError::Answer(e) => DeliveryError::final_error("insi-answer", e.to_string()),
        }
    }
}

/// Why a client cannot be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("sinks.ins.{0} is required when the INS check is enabled outside the sandbox")]
    Missing(&'static str),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// One exchange: the answer, and the bytes sent and received (kept as artifacts).
pub struct Exchange {
    pub answer: InsiAnswer,
    pub request: Vec<u8>,
    pub response: Bytes,
}

pub struct InsiClient {
    http: HttpsClient,
    endpoint: String,
    context: LpsContext,
}

impl InsiClient {
    pub fn from_config(config: &InsConfig) -> Result<InsiClient, SetupError> {
        let endpoint = config
            .endpoint
            .clone()
            .ok_or(SetupError::Missing("endpoint"))?;
        let trust = config
            .trust
            .as_deref()
            .ok_or(SetupError::Missing("trust"))?;
        let identity = config
            .identity()
            .ok_or(SetupError::Missing("client_certificate and client_key"))?;
        let tls = tls::client_config(trust, Some(&identity))?;
        Ok(InsiClient::new(endpoint, tls, config))
    }

    pub fn new(endpoint: String, tls: Arc<rustls::ClientConfig>, config: &InsConfig) -> InsiClient {
        InsiClient {
            http: HttpsClient::new(tls, config.retry.timeout, config.max_answer_bytes),
            endpoint,
            context: LpsContext {
                idam: config.idam.clone(),
                software_name: config.software_name.clone(),
                software_version: env!("CARGO_PKG_VERSION").to_string(),
                emitter: config.emitter.clone(),
                instance: config.instance.clone(),
            },
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends a search; `message_id` names the exchange (the delivery id, so that a repeated
    /// attempt carries the same id).
    pub async fn search(&self, query: &Query, message_id: Uuid) -> Result<Exchange, InsiError> {
        let request = encode::request(query, &self.context, message_id);
        let content_type = encode::content_type(query);
        let answer = self
            .http
            .post(
                &self.endpoint,
                &[("content-type", &content_type)],
                Bytes::from(request.clone()),
            )
            .await?;
        let soap = answer
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/soap+xml") || t.contains("xml"));
        if !soap && !answer.status.is_success() {
            return Err(InsiError::Status {
                status: answer.status.as_u16(),
            });
        }
        let parsed = answer::parse(&answer.body)?;
        Ok(Exchange {
            answer: parsed,
            request,
            response: answer.body,
        })
    }
}
