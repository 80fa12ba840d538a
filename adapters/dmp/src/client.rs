//! The DMP client: ITI-41, ITI-18 and ITI-43 over HTTPS with mutual TLS, each request
//! carrying a VIHF signed for it or a moment before for the same statement.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use crt_core::http::{HttpAnswer, HttpError};
use crt_core::record::Ins;
use crt_core::sink::DeliveryError;
use crt_core::soap::SoapError;
use uuid::Uuid;

use crate::answer::{self, AnswerError, Found, Outcome};
use crate::config::DmpConfig;
use crate::dsig::DsigError;
use crate::encode::{self, Request};
use crate::identity::{Identities, IdentityError, StructureIdentity};
use crate::vihf::{AccessMode, AuthenticationMode, Issued, SignedVihf, Subject, Vihf};
use crt_core::tls::CertificateIssuer;

#[derive(Debug, thiserror::Error)]
pub enum DmpError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the DMP answered HTTP {0} without a SOAP message")]
    Status(u16),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error("VIHF: {0}")]
    Signing(#[from] DsigError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl DmpError {
    pub fn into_delivery_error(self) -> DeliveryError {
        match self {
            DmpError::Http(e) => e.into_delivery_error(),
            DmpError::Status(status) if status >= 500 => {
                DeliveryError::retryable("http", format!("the DMP answered HTTP {status}"))
            }
            DmpError::Status(status) => {
                DeliveryError::final_error("http", format!("the DMP answered HTTP {status}"))
            }
            DmpError::Answer(AnswerError::Soap(SoapError::Fault(fault))) => {
                fault.into_delivery_error("DMP")
            }
            DmpError::Answer(e) => DeliveryError::final_error("dmp-answer", e.to_string()),
            DmpError::Signing(e) => DeliveryError::final_error("vihf", e.to_string()),
            DmpError::Identity(e) => {
                DeliveryError::final_error("structure-certificate", e.to_string())
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("sinks.dmp.{0} is required outside the sandbox")]
    Missing(&'static str),
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// Who acts and for whom, as the VIHF states it.
pub struct Acting<'a> {
    pub subject: Subject<'a>,
    /// `SAxx^1.2.250.1.71.4.2.4`.
    pub sector: &'a str,
    pub ins: &'a Ins,
    pub mode: AccessMode,
    pub authentication: AuthenticationMode,
}

impl<'a> Acting<'a> {
    /// A professional who authenticated strongly (a CPS card or e-CPS, through Pro Santé
    /// Connect) consulting the DMP in `mode`.
    pub fn consulting(
        subject: Subject<'a>,
        sector: &'a str,
        ins: &'a Ins,
        mode: AccessMode,
    ) -> Acting<'a> {
        Acting {
            subject,
            sector,
            ins,
            mode,
            authentication: AuthenticationMode::IndirectReinforced,
        }
    }

    /// A structure's software acting in the normal mode, authenticated by its
    /// certificate: how documents are fed.
    pub fn feeding(subject: Subject<'a>, sector: &'a str, ins: &'a Ins) -> Acting<'a> {
        Acting {
            subject,
            sector,
            ins,
            mode: AccessMode::Normal,
            authentication: AuthenticationMode::Indirect,
        }
    }
}

pub struct DmpClient {
    endpoint: String,
    identities: Identities,
    config: DmpConfig,
    issued: Issued,
}

impl DmpClient {
    pub fn from_config(config: &DmpConfig) -> Result<DmpClient, SetupError> {
        let endpoint = config
            .endpoint
            .clone()
            .ok_or(SetupError::Missing("endpoint"))?;
        let trust = config
            .trust
            .as_deref()
            .ok_or(SetupError::Missing("trust"))?;
        let identities = Identities::load(
            &config.structures,
            trust,
            config.retry.timeout,
            config.max_answer_bytes,
        )?;
        Ok(DmpClient {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            identities,
            config: config.clone(),
            issued: Issued::new(std::time::Duration::from_secs(config.vihf_reuse_seconds)),
        })
    }

    /// Lets the sandbox issue certificates to structures that have none.
    pub fn with_issuer(mut self, issuer: std::sync::Arc<dyn CertificateIssuer>) -> Self {
        self.identities = self.identities.with_issuer(issuer);
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// The identity of the structure that acts.
    pub fn identity(
        &self,
        id_nat_struct: &str,
    ) -> Result<std::sync::Arc<StructureIdentity>, DmpError> {
        Ok(self.identities.get(id_nat_struct)?)
    }

    pub fn repository_url(&self) -> String {
        format!("{}/repository", self.endpoint)
    }

    pub fn registry_url(&self) -> String {
        format!("{}/registry", self.endpoint)
    }

    /// The VIHF for a request: signed now, or one signed a moment ago that states the same
    /// ([`Issued`]).
    pub fn vihf(
        &self,
        identity: &StructureIdentity,
        acting: &Acting<'_>,
    ) -> Result<Arc<SignedVihf>, DsigError> {
        let vihf = Vihf {
            version: self.config.vihf_version,
            subject: acting.subject,
            structure_id_nat: &identity.id_nat_struct,
            sector: acting.sector,
            ins: acting.ins,
            mode: acting.mode,
            authentication: acting.authentication,
            lps_name: "crt-gateway",
            lps_version: env!("CARGO_PKG_VERSION"),
            lps_id: &self.config.lps_id,
            homologation: &self.config.homologation,
            now: Utc::now(),
        };
        self.issued
            .get_or_sign(&vihf, &identity.signer, &identity.subject_dn)
    }

    async fn post(
        &self,
        identity: &StructureIdentity,
        url: &str,
        request: &Request,
    ) -> Result<HttpAnswer, DmpError> {
        let answer = identity
            .http
            .post(
                url,
                &[("content-type", &request.content_type)],
                Bytes::from(request.body.clone()),
            )
            .await?;
        let xml = answer
            .content_type
            .as_deref()
            .is_some_and(|t| t.contains("xml") || t.starts_with("multipart/"));
        if !xml && !answer.status.is_success() {
            return Err(DmpError::Status(answer.status.as_u16()));
        }
        Ok(answer)
    }

    /// ITI-41.
    pub async fn provide_and_register(
        &self,
        identity: &StructureIdentity,
        request: &Request,
    ) -> Result<(Outcome, HttpAnswer), DmpError> {
        let answer = self.post(identity, &self.repository_url(), request).await?;
        let outcome = answer::provide_and_register(answer.content_type.as_deref(), &answer.body)?;
        Ok((outcome, answer))
    }

    pub fn fhir_url(&self) -> String {
        format!("{}/fhir", self.endpoint)
    }

    /// ITI-65: posts a PDSm bundle. A server error is retried; any other answer is read.
    pub async fn provide_bundle(
        &self,
        identity: &StructureIdentity,
        request: &Request,
    ) -> Result<(Outcome, HttpAnswer), DmpError> {
        let answer = identity
            .http
            .post(
                &self.fhir_url(),
                &[
                    ("content-type", &request.content_type),
                    ("accept", "application/fhir+json"),
                ],
                Bytes::from(request.body.clone()),
            )
            .await?;
        if answer.status.is_server_error() {
            return Err(DmpError::Status(answer.status.as_u16()));
        }
        let outcome = answer::provide_bundle(answer.status.as_u16(), &answer.body)?;
        Ok((outcome, answer))
    }

    /// ITI-57: a metadata or availability update (the DMP's TD3.3).
    pub async fn update_document_set(
        &self,
        identity: &StructureIdentity,
        request: &Request,
    ) -> Result<(Outcome, HttpAnswer), DmpError> {
        let answer = self.post(identity, &self.registry_url(), request).await?;
        let outcome = answer::update_document_set(answer.content_type.as_deref(), &answer.body)?;
        Ok((outcome, answer))
    }

    /// TD0.2: whether the patient has a DMP, and whether it is open.
    pub async fn dmp_status(
        &self,
        identity: &StructureIdentity,
        acting: &Acting<'_>,
        sender: &str,
    ) -> Result<crate::answer::DmpStatus, DmpError> {
        let vihf = self.vihf(identity, acting)?;
        let request = encode::dmp_status(
            acting.ins,
            sender,
            &vihf,
            &self.registry_url(),
            Uuid::now_v7(),
        );
        let answer = self.post(identity, &self.registry_url(), &request).await?;
        Ok(crate::answer::dmp_status(
            answer.content_type.as_deref(),
            &answer.body,
        )?)
    }

    /// ITI-18 FindDocuments: the patient's approved documents.
    pub async fn find(
        &self,
        identity: &StructureIdentity,
        acting: &Acting<'_>,
    ) -> Result<Vec<Found>, DmpError> {
        let vihf = self.vihf(identity, acting)?;
        let patient = format!(
            "{}^^^&{}&ISO^NH",
            acting.ins.number,
            acting.ins.oid.as_str()
        );
        let request = encode::find_documents(&patient, &vihf, &self.registry_url(), Uuid::now_v7());
        let answer = self.post(identity, &self.registry_url(), &request).await?;
        Ok(answer::find_documents(
            answer.content_type.as_deref(),
            &answer.body,
        )?)
    }

    /// ITI-43: (unique id, mime type, bytes) of each document asked for.
    pub async fn retrieve(
        &self,
        identity: &StructureIdentity,
        acting: &Acting<'_>,
        repository: &str,
        unique_ids: &[&str],
    ) -> Result<Vec<(String, String, Vec<u8>)>, DmpError> {
        let vihf = self.vihf(identity, acting)?;
        let request = encode::retrieve(
            repository,
            unique_ids,
            &vihf,
            &self.repository_url(),
            Uuid::now_v7(),
        );
        let answer = self
            .post(identity, &self.repository_url(), &request)
            .await?;
        Ok(answer::retrieve(
            answer.content_type.as_deref(),
            &answer.body,
        )?)
    }
}
