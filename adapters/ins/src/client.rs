//! The INSi teleservice client: one SOAP 1.2 exchange over HTTPS with mutual TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use crt_core::certificate::id_nat_struct_of;
use crt_core::http::{HttpError, HttpsClient};
use crt_core::sink::DeliveryError;
use crt_core::soap::SoapError;
use crt_core::structures::ByStructure;
use crt_core::tls::{self, CertificateIssuer, IdentityFiles, TlsError};
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
    #[error("{path}: no idNat_Struct in the subject OU of the INSi certificate")]
    NoStructure { path: String },
    #[error("two entries of sinks.ins.structures are for structure {0}")]
    Duplicate(String),
    #[error(
        "no INSi certificate for structure {0}: add it to sinks.ins.structures, restart, then replay"
    )]
    Unknown(String),
    #[error("INSi certificate for structure {id}: {reason}")]
    Issue { id: String, reason: String },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl SetupError {
    /// A structure without certificate waits for an operator, not for time.
    pub fn into_delivery_error(self) -> DeliveryError {
        DeliveryError::final_error("structure-certificate", self.to_string())
    }
}

/// One exchange: the answer, and the bytes sent and received (kept as artifacts).
pub struct Exchange {
    pub answer: InsiAnswer,
    pub request: Vec<u8>,
    pub response: Bytes,
}

/// The teleservice as one structure calls it: with its INSi certificate, naming itself as
/// `Emetteur`.
pub struct StructureClient {
    http: HttpsClient,
    endpoint: String,
    context: LpsContext,
}

impl StructureClient {
    /// A client whose TLS configuration is already made; `emitter` is the structure the
    /// certificate is for.
    pub fn new(
        endpoint: String,
        tls: Arc<rustls::ClientConfig>,
        config: &InsConfig,
        emitter: String,
    ) -> StructureClient {
        StructureClient {
            http: HttpsClient::new(tls, config.retry.timeout, config.max_answer_bytes),
            endpoint,
            context: LpsContext {
                idam: config.idam.clone(),
                software_name: config.software_name.clone(),
                software_version: env!("CARGO_PKG_VERSION").to_string(),
                emitter,
                instance: config.instance.clone(),
            },
        }
    }

    /// Loads the certificate and reads the structure from its subject OU.
    pub fn load(
        endpoint: String,
        files: &IdentityFiles,
        trust: &Path,
        config: &InsConfig,
    ) -> Result<StructureClient, SetupError> {
        let chain = tls::load_certificates(&files.certificate)?;
        let structure = chain
            .first()
            .and_then(|der| id_nat_struct_of(der))
            .ok_or_else(|| SetupError::NoStructure {
                path: files.certificate.display().to_string(),
            })?;
        let tls = tls::client_config(trust, Some(files))?;
        Ok(StructureClient::new(endpoint, tls, config, structure))
    }

    /// The structure this client speaks for.
    pub fn structure(&self) -> &str {
        &self.context.emitter
    }

    /// Sends a search; `message_id` names the exchange.
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

/// The INSi teleservice for every structure the gateway serves.
pub struct InsiClient {
    endpoint: String,
    trust: PathBuf,
    config: InsConfig,
    structures: ByStructure<StructureClient>,
    issuer: Option<Arc<dyn CertificateIssuer>>,
}

impl InsiClient {
    pub fn from_config(config: &InsConfig) -> Result<InsiClient, SetupError> {
        let endpoint = config
            .endpoint
            .clone()
            .ok_or(SetupError::Missing("endpoint"))?;
        let trust = config.trust.clone().ok_or(SetupError::Missing("trust"))?;
        let client = InsiClient {
            endpoint,
            trust,
            config: config.clone(),
            structures: ByStructure::default(),
            issuer: None,
        };
        for files in &config.structures {
            let structure = client.load(&files.identity())?;
            let id = structure.structure().to_string();
            if !client.structures.insert(&id, structure) {
                return Err(SetupError::Duplicate(id));
            }
        }
        Ok(client)
    }

    /// Structures that the configuration does not list get certificates from `issuer`.
    pub fn with_issuer(mut self, issuer: Arc<dyn CertificateIssuer>) -> Self {
        self.issuer = Some(issuer);
        self
    }

    fn load(&self, files: &IdentityFiles) -> Result<StructureClient, SetupError> {
        StructureClient::load(self.endpoint.clone(), files, &self.trust, &self.config)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The structures configured or issued so far.
    pub fn structures(&self) -> Vec<String> {
        self.structures.ids()
    }

    /// The client of structure `id_nat_struct`.
    pub fn structure(&self, id_nat_struct: &str) -> Result<Arc<StructureClient>, SetupError> {
        self.structures.get_or_make(id_nat_struct, || {
            let issuer = self
                .issuer
                .as_ref()
                .ok_or_else(|| SetupError::Unknown(id_nat_struct.to_string()))?;
            let issue = |reason: String| SetupError::Issue {
                id: id_nat_struct.to_string(),
                reason,
            };
            let files = issuer.insi(id_nat_struct).map_err(issue)?;
            let structure = self.load(&files)?;
            if structure.structure() != id_nat_struct {
                return Err(issue(format!(
                    "the issued certificate is for {}",
                    structure.structure()
                )));
            }
            Ok(structure)
        })
    }
}
