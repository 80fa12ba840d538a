//! The `mssante` sink: renders the document a record asks for and sends it, packaged as
//! IHE XDM with a PDF rendering, from the structure's mailbox to the care circle and,
//! when allowed, to the patient's Mon espace santé mailbox.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use chrono::Utc;
use crt_core::identity::{qualified_identity, qualified_ins};
use crt_core::record::{Action, DmpMasking, DocumentKind, InsOid};
use crt_core::sink::{
    Artifact, Attempt, BoxFuture, DeliveryError, DeliveryTask, Health, Receipt, RetryPolicy, Sink,
    Work,
};
use crt_core::tls::{CertificateIssuer, IdentityFiles};
use crt_documents::metadata::{Entry, Submission};
use crt_documents::{CdaModel, RenderContext, RenderedDocument, render};
use rustls::ClientConfig;
use serde_json::json;
use uuid::Uuid;

use crate::address::Address;
use crate::config::MssanteConfig;
use crate::message::{self, Attached, Outgoing};
use crate::{pdf, smtp, xdm};

pub const TARGET: &str = "mssante";

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("mssante.smtp is required (smtps://host:port or smtp://host:port)")]
    NoEndpoint,
    #[error("mssante.trust is required: the IGC-Santé chain of the operator")]
    NoTrust,
    #[error("mssante.product_reference is required: the X-MSS-NIL reference given on Convergence")]
    NoProductReference,
    #[error("mssante: {0}")]
    Endpoint(String),
    #[error("mssante mailbox {0}: {1}")]
    Mailbox(String, String),
    #[error("mssante: {0}")]
    Tls(#[from] crt_core::tls::TlsError),
}

/// A mailbox the gateway sends from.
pub struct Sender {
    pub address: Address,
    pub tls: Arc<ClientConfig>,
    pub oid_root: Option<String>,
}

pub struct MssanteSink {
    config: MssanteConfig,
    endpoint: smtp::Endpoint,
    senders: RwLock<HashMap<String, Arc<Sender>>>,
    issuer: Option<Arc<dyn CertificateIssuer>>,
    /// SMTP sessions kept between messages, per sending structure.
    sessions: smtp::Sessions,
}

/// What comes before a document's usual words: a subject and a text of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preface {
    pub subject: String,
    /// Plain text, lines separated by `\n`.
    pub text: String,
}

/// A message built for a delivery.
pub struct Composed {
    pub message_id: String,
    /// The mailbox it goes from, with the certificate that authenticates it.
    pub sender: Arc<Sender>,
    pub from: Address,
    pub recipients: Vec<Address>,
    /// Addresses of the record that the message does not go to, and why.
    pub skipped: Vec<(String, String)>,
    pub document: RenderedDocument,
    pub archive: Vec<u8>,
    pub bytes: Vec<u8>,
}

impl MssanteSink {
    pub fn new(config: &MssanteConfig) -> Result<MssanteSink, SetupError> {
        let endpoint = config.smtp.as_deref().ok_or(SetupError::NoEndpoint)?;
        let endpoint = smtp::Endpoint::parse(endpoint).map_err(SetupError::Endpoint)?;
        config.trust.as_ref().ok_or(SetupError::NoTrust)?;
        if config.product_reference.trim().is_empty() {
            return Err(SetupError::NoProductReference);
        }
        let sink = MssanteSink {
            config: config.clone(),
            endpoint,
            senders: RwLock::new(HashMap::new()),
            issuer: None,
            sessions: smtp::Sessions::default(),
        };
        for mailbox in &config.mailboxes {
            let address = Address::parse(&mailbox.address, &config.allowed_domains)
                .map_err(|e| SetupError::Mailbox(mailbox.address.clone(), e.to_string()))?;
            let sender = sink.sender_for(address, &mailbox.identity(), mailbox.oid_root.clone())?;
            sink.remember(sender);
        }
        Ok(sink)
    }

    /// Mailboxes that the configuration does not list get certificates from `issuer`.
    pub fn with_issuer(mut self, issuer: Arc<dyn CertificateIssuer>) -> Self {
        self.issuer = Some(issuer);
        self
    }

    pub fn config(&self) -> &MssanteConfig {
        &self.config
    }

    fn sender_for(
        &self,
        address: Address,
        identity: &IdentityFiles,
        oid_root: Option<String>,
    ) -> Result<Sender, SetupError> {
        let trust = self.config.trust.as_deref().ok_or(SetupError::NoTrust)?;
        let tls = crt_core::tls::client_config_for(
            &crate::tls::policy(),
            trust,
            self.config.crl.as_deref(),
            Some(identity),
        )?;
        Ok(Sender {
            address,
            tls,
            oid_root,
        })
    }

    fn remember(&self, sender: Sender) -> Arc<Sender> {
        let sender = Arc::new(sender);
        if let Ok(mut senders) = self.senders.write() {
            senders.insert(
                sender.address.to_string().to_ascii_lowercase(),
                sender.clone(),
            );
        }
        sender
    }

    /// Every mailbox the gateway has sent from or may send from: where acknowledgements
    /// arrive.
    pub fn senders(&self) -> Vec<Arc<Sender>> {
        self.senders
            .read()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The sender for a record: the structure's mailbox, with its certificate.
    fn sender(&self, record: &crt_core::CrtRecord) -> Result<Arc<Sender>, DeliveryError> {
        let mailbox = record.crt.mssante_mailbox.as_deref().ok_or_else(|| {
            DeliveryError::final_error(
                "no-mailbox",
                "the record names no MSSanté mailbox for the structure (crt.mssante_mailbox)",
            )
        })?;
        self.mailbox(mailbox, &record.crt.id_nat_struct())
    }

    /// The sender for one of `structure`'s mailboxes (idNat_Struct): configured, or given
    /// a certificate by the issuer.
    pub fn mailbox(&self, mailbox: &str, structure: &str) -> Result<Arc<Sender>, DeliveryError> {
        let address = Address::parse(mailbox, &self.config.allowed_domains)
            .map_err(|e| DeliveryError::final_error("mailbox", e.to_string()))?;
        let key = address.to_string().to_ascii_lowercase();
        if let Some(sender) = self.senders.read().ok().and_then(|s| s.get(&key).cloned()) {
            return Ok(sender);
        }
        let Some(issuer) = &self.issuer else {
            return Err(DeliveryError::final_error(
                "mailbox-not-configured",
                format!(
                    "no certificate is configured for the mailbox {address} (mssante.mailboxes)"
                ),
            ));
        };
        let identity = issuer
            .organisation(structure)
            .map(|issued| issued.authentication)
            .map_err(|e| DeliveryError::final_error("structure-certificate", e))?;
        let sender = self
            .sender_for(address, &identity, None)
            .map_err(|e| DeliveryError::final_error("structure-certificate", e.to_string()))?;
        Ok(self.remember(sender))
    }

    /// Who the message goes to, and the addresses left out with the reason.
    fn recipients(
        &self,
        task: &DeliveryTask,
        from: &Address,
    ) -> (Vec<Address>, Vec<(String, String)>) {
        let record = &task.record;
        let mut chosen = BTreeSet::new();
        let mut skipped = Vec::new();
        // A member the record gives no mailbox may have one in the national directory, as
        // the care circle's check found it.
        let checks = crt_core::directory::checks_upstream(&task.upstream);
        for member in &record.care_circle {
            let Some(text) = member_address(record, &checks, &member.id) else {
                continue;
            };
            match Address::parse(text, &self.config.allowed_domains) {
                Ok(address) if &address == from => {}
                Ok(address) => {
                    chosen.insert(address);
                }
                Err(e) => skipped.push((text.clone(), e.to_string())),
            }
        }
        let consents = &record.consents;
        let patient = qualified_ins(task).filter(|ins| ins.oid != InsOid::Nia);
        if let Some(ins) = patient {
            if consents
                .mssante_to_patient
                .as_ref()
                .is_some_and(|c| c.is_opposed())
            {
                skipped.push((
                    format!("{}@{}", ins.number, crate::address::PATIENT_DOMAIN),
                    "the beneficiary opposed messages to their mailbox (consents.mssante_to_patient)".into(),
                ));
            } else if consents
                .dmp_masking
                .contains(&DmpMasking::InvisibleToPatient)
            {
                skipped.push((
                    format!("{}@{}", ins.number, crate::address::PATIENT_DOMAIN),
                    "the document is not to be shown to the patient (INVISIBLE_PATIENT)".into(),
                ));
            } else {
                match Address::patient(&ins.number) {
                    Ok(address) => {
                        chosen.insert(address);
                    }
                    Err(e) => skipped.push((
                        format!("{}@{}", ins.number, crate::address::PATIENT_DOMAIN),
                        e.to_string(),
                    )),
                }
            }
        }
        (chosen.into_iter().collect(), skipped)
    }

    /// The message this sink sends for `task`; `None` when it has nobody to send to.
    pub fn compose(
        &self,
        task: &DeliveryTask,
        kind: DocumentKind,
    ) -> Result<Option<Composed>, DeliveryError> {
        self.compose_for(task, kind, None, None)
    }

    /// [`MssanteSink::compose`], to `to` instead of the record's recipients when given
    /// (`crt-gateway mssante send --to`), with `preface` when the document comes with
    /// news of its own (an on-call alert).
    pub fn compose_for(
        &self,
        task: &DeliveryTask,
        kind: DocumentKind,
        to: Option<Vec<Address>>,
        preface: Option<&Preface>,
    ) -> Result<Option<Composed>, DeliveryError> {
        let record = &task.record;
        let qualified = qualified_identity(task).ok_or_else(|| {
            DeliveryError::final_error(
                "identity-not-qualified",
                "no qualified INS for this beneficiary: health documents name the patient by a qualified INS",
            )
        })?;
        let sender = self.sender(record)?;
        let (recipients, skipped) = match to {
            Some(to) => (to, Vec::new()),
            None => self.recipients(task, &sender.address),
        };
        if recipients.is_empty() {
            return Ok(None);
        }
        let model = CdaModel::for_record(kind, record.beneficiary.placement);
        let context = RenderContext::for_record(record, sender.oid_root.as_deref());
        let document = render(record, model, &qualified, &context)
            .map_err(|e| DeliveryError::final_error("render", e.to_string()))?;
        let entry = Entry::for_document(&document, &record.consents.dmp_masking);
        let submission = Submission::new(
            task.delivery_id,
            &context.oid_root,
            Utc::now(),
            &document,
            vec![entry.clone()],
        );
        let producer = xdm::Producer {
            software: "crt-gateway".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contact: sender.address.to_string(),
        };
        let archive = xdm::package(
            &submission,
            vec![xdm::Document {
                entry,
                content: &document.xml,
            }],
            &producer,
        )
        .map_err(|e| DeliveryError::final_error("xdm", e.to_string()))?;
        let rendering = pdf::render(&document.xml)
            .map_err(|e| DeliveryError::final_error("pdf", e.to_string()))?;
        let identity = &record.beneficiary.identity;
        let (patient, birth) = message::patient_in_words(identity);
        let mut text = format!(
            "Bonjour,\r\n\r\nVeuillez trouver ci-joint le document « {} » concernant {patient}, transmis par {}.\r\nLe document structuré (CDA) est dans l'archive IHE_XDM.zip ; sa version lisible est le PDF joint.\r\n",
            document.title, record.crt.name
        );
        let mut html = format!(
            "<p>Bonjour,</p><p>Veuillez trouver ci-joint le document « {} » concernant {}, transmis par {}.</p><p>Le document structuré (CDA) est dans l'archive IHE_XDM.zip ; sa version lisible est le PDF joint.</p>",
            crt_core::xml::escape(&document.title),
            crt_core::xml::escape(&patient),
            crt_core::xml::escape(&record.crt.name)
        );
        if let Some(preface) = preface {
            text = format!("{}\r\n\r\n{text}", preface.text.replace('\n', "\r\n"));
            html = format!("<pre>{}</pre>{html}", crt_core::xml::escape(&preface.text));
        }
        let message_id = message_id_of(task, &sender);
        let outgoing = Outgoing {
            from: sender.address.clone(),
            from_name: record.crt.name.clone(),
            to: recipients.clone(),
            subject: match preface {
                Some(preface) => preface.subject.clone(),
                None => message::subject(
                    &document.title,
                    &identity.birth_name,
                    &identity.first_given_name,
                    &birth,
                ),
            },
            text,
            html,
            message_id: message_id.clone(),
            date: SystemTime::now(),
            notify: self
                .config
                .request_acknowledgement
                .then(|| sender.address.clone()),
            cda_codes: vec![model.type_code().code.to_string()],
            qualified_ins: true,
            product_reference: self.config.product_reference.clone(),
            patient_cannot_reply: self.config.patient_cannot_reply,
            boundary_seed: task.delivery_id.simple().to_string(),
            attachments: vec![
                Attached {
                    name: xdm::ARCHIVE_NAME.into(),
                    media_type: "application/zip",
                    content: archive.clone(),
                },
                Attached {
                    name: format!("{}.pdf", model.slug()),
                    media_type: "application/pdf",
                    content: rendering,
                },
            ],
        };
        let bytes = message::compose(&outgoing)
            .map_err(|e| DeliveryError::final_error("message", e.to_string()))?;
        Ok(Some(Composed {
            message_id,
            from: sender.address.clone(),
            sender,
            recipients,
            skipped,
            document,
            archive,
            bytes,
        }))
    }

    async fn send(
        &self,
        task: &DeliveryTask,
        kind: DocumentKind,
    ) -> Result<Receipt, DeliveryError> {
        let Some(composed) = self.compose(task, kind)? else {
            let (_, skipped) = match self.sender(&task.record) {
                Ok(sender) => self.recipients(task, &sender.address),
                Err(_) => (Vec::new(), Vec::new()),
            };
            return Ok(Receipt::declined(
                "not sent: no recipient with an MSSanté address the message may go to",
            )
            .with_details(json!({ "reason": "no-recipient", "skipped": skipped_json(&skipped) })));
        };
        let sent = self.transmit(&composed).await?;
        let accepted: Vec<String> = sent.accepted.iter().map(ToString::to_string).collect();
        let name = match composed.document.model {
            CdaModel::DluEhpad | CdaModel::DluDom => "dlu.xml",
            CdaModel::Plan => "plan.xml",
        };
        Ok(Receipt::delivered(format!(
            "sent by MSSanté to {} recipient(s)",
            accepted.len()
        ))
        .with_remote_id(composed.message_id.trim_matches(|c| c == '<' || c == '>'))
        .with_details(json!({
            "message_id": composed.message_id,
            "from": composed.from.to_string(),
            "accepted": accepted,
            "refused": sent.refused,
            "skipped": skipped_json(&composed.skipped),
            "acknowledgement_requested": self.config.request_acknowledgement,
            "server": sent.answer,
            "document": composed.document.id.xds(),
        }))
        .with_artifact(Artifact {
            name: name.into(),
            media_type: "text/xml".into(),
            content: composed.document.xml.clone(),
        })
        .with_artifact(Artifact {
            name: "message.eml".into(),
            media_type: "message/rfc822".into(),
            content: composed.bytes,
        }))
    }

    /// Asks a care-circle physician for a prescription; the Message-ID, made from the
    /// delivery, is what the physician's answer names in `In-Reply-To`.
    async fn ask_prescription(
        &self,
        task: &DeliveryTask,
        request: &str,
        to: &str,
        requested_by: Option<&str>,
        asked: &str,
    ) -> Result<Receipt, DeliveryError> {
        let record = &task.record;
        let physician = record.professional(to).ok_or_else(|| {
            DeliveryError::final_error("recipient", format!("no care_circle member has id {to:?}"))
        })?;
        let checks = crt_core::directory::checks_upstream(&task.upstream);
        let Some(text) = member_address(record, &checks, to) else {
            return Ok(Receipt::declined(
                "not sent: the physician has no MSSanté address, in the record or the directory",
            )
            .with_details(json!({ "reason": "no-recipient", "request": request })));
        };
        let address = Address::parse(text, &self.config.allowed_domains)
            .map_err(|e| DeliveryError::final_error("recipient", e.to_string()))?;
        let sender = self.sender(record)?;
        let words = crate::prescription::wording(
            record,
            physician,
            requested_by.and_then(|id| record.professional(id)),
            request,
            asked,
        );
        let message_id = message_id_of(task, &sender);
        let outgoing = Outgoing {
            from: sender.address.clone(),
            from_name: record.crt.name.clone(),
            to: vec![address.clone()],
            subject: words.subject,
            text: words.text,
            html: words.html,
            message_id: message_id.clone(),
            date: SystemTime::now(),
            notify: self
                .config
                .request_acknowledgement
                .then(|| sender.address.clone()),
            cda_codes: Vec::new(),
            qualified_ins: false,
            product_reference: self.config.product_reference.clone(),
            patient_cannot_reply: self.config.patient_cannot_reply,
            boundary_seed: task.delivery_id.simple().to_string(),
            attachments: Vec::new(),
        };
        let bytes = message::compose(&outgoing)
            .map_err(|e| DeliveryError::final_error("message", e.to_string()))?;
        let sent = self
            .send_to_one(
                &sender,
                text,
                &bytes,
                message_id.trim_matches(|c| c == '<' || c == '>'),
            )
            .await?;
        Ok(
            Receipt::delivered(format!("prescription request {request} sent by MSSanté"))
                .with_remote_id(message_id.trim_matches(|c| c == '<' || c == '>'))
                .with_details(json!({
                    "message_id": message_id,
                    "request": request,
                    "from": sender.address.to_string(),
                    "to": address.to_string(),
                    "server": sent.answer,
                }))
                .with_artifact(Artifact {
                    name: "message.eml".into(),
                    media_type: "message/rfc822".into(),
                    content: bytes,
                }),
        )
    }

    /// A message of words alone, from one of the structure's mailboxes to `to`: news that
    /// comes without a document (an on-call alert about someone the gateway cannot name
    /// by a qualified INS). Its Message-ID is `<id@domain>`; `(Message-ID, bytes)`.
    pub fn compose_note(
        &self,
        sender: &Sender,
        from_name: &str,
        to: &str,
        preface: &Preface,
        id: Uuid,
    ) -> Result<(String, Vec<u8>), DeliveryError> {
        let address = Address::parse(to, &self.config.allowed_domains)
            .map_err(|e| DeliveryError::final_error("recipient", e.to_string()))?;
        let message_id = format!("<{id}@{}>", sender.address.domain());
        let outgoing = Outgoing {
            from: sender.address.clone(),
            from_name: from_name.to_string(),
            to: vec![address],
            subject: preface.subject.clone(),
            text: preface.text.replace('\n', "\r\n"),
            html: format!("<pre>{}</pre>", crt_core::xml::escape(&preface.text)),
            message_id: message_id.clone(),
            date: SystemTime::now(),
            notify: None,
            cda_codes: Vec::new(),
            qualified_ins: false,
            product_reference: self.config.product_reference.clone(),
            patient_cannot_reply: self.config.patient_cannot_reply,
            boundary_seed: id.simple().to_string(),
            attachments: Vec::new(),
        };
        let bytes = message::compose(&outgoing)
            .map_err(|e| DeliveryError::final_error("message", e.to_string()))?;
        Ok((message_id, bytes))
    }

    /// Sends a message from one of the structure's mailboxes to one address: an MDN, a
    /// prescription request.
    pub async fn send_to_one(
        &self,
        sender: &Sender,
        to: &str,
        bytes: &[u8],
        envelope_id: &str,
    ) -> Result<smtp::Sent, DeliveryError> {
        let to = Address::parse(to, &self.config.allowed_domains)
            .map_err(|e| DeliveryError::final_error("recipient", e.to_string()))?;
        self.sessions
            .send(
                &self.endpoint,
                sender.tls.clone(),
                &self.config.hello,
                smtp::Envelope {
                    from: &sender.address,
                    recipients: std::slice::from_ref(&to),
                    id: envelope_id,
                },
                bytes,
                self.config.retry.timeout,
            )
            .await
            .map_err(smtp_error)
    }

    /// Sends a composed message from its sender's mailbox.
    pub async fn transmit(&self, composed: &Composed) -> Result<smtp::Sent, DeliveryError> {
        let recording = crt_core::transcript::active();
        let (data, tampered) = if recording {
            crt_core::transcript::tampered(composed.bytes.clone().into())
        } else {
            (Default::default(), false)
        };
        let sent = self
            .sessions
            .send(
                &self.endpoint,
                composed.sender.tls.clone(),
                &self.config.hello,
                smtp::Envelope {
                    from: &composed.from,
                    recipients: &composed.recipients,
                    id: composed.message_id.trim_matches(|c| c == '<' || c == '>'),
                },
                if recording { &data } else { &composed.bytes },
                self.config.retry.timeout,
            )
            .await;
        if recording {
            let recipients: Vec<String> = composed
                .recipients
                .iter()
                .map(|r| format!("<{r}>"))
                .collect();
            crt_core::transcript::record(crt_core::transcript::Exchange {
                method: "SMTP".into(),
                url: format!("smtps://{}:{}", self.endpoint.host, self.endpoint.port),
                request_headers: vec![
                    ("MAIL FROM".into(), format!("<{}>", composed.from)),
                    ("RCPT TO".into(), recipients.join(", ")),
                ],
                request_body: data,
                status: sent.as_ref().ok().map(|_| 250),
                response_content_type: None,
                response_body: match &sent {
                    Ok(sent) => sent.answer.clone().into(),
                    Err(_) => Default::default(),
                },
                error: sent.as_ref().err().map(ToString::to_string),
                tampered,
            });
        }
        sent.map_err(smtp_error)
    }
}

/// A care-circle member's MSSanté address: the record's, else the one the national
/// directory gave when the care circle was checked (`checks`).
fn member_address<'a>(
    record: &'a crt_core::CrtRecord,
    checks: &'a [crt_core::directory::MemberCheck],
    member: &str,
) -> Option<&'a String> {
    let given = record
        .professional(member)
        .and_then(|m| m.mssante_address.as_ref());
    given.or_else(|| {
        checks
            .iter()
            .find(|check| check.member == member)
            .and_then(|check| check.mssante_from_directory.as_ref())
    })
}

/// A failed send, as the engine classes it.
/// The Message-ID of a delivery's message: the delivery id at the mailbox's domain, which
/// acknowledgements and answers name back.
fn message_id_of(task: &DeliveryTask, sender: &Sender) -> String {
    format!("<{}@{}>", task.delivery_id, sender.address.domain())
}

fn smtp_error(e: smtp::SmtpError) -> DeliveryError {
    let code = match &e {
        smtp::SmtpError::Handshake(..) => "tls-handshake",
        smtp::SmtpError::Connect(..) => "connect",
        smtp::SmtpError::Timeout(_) => "timeout",
        smtp::SmtpError::NoRecipient(_) => "recipients-refused",
        smtp::SmtpError::Refused { .. } => "refused",
        smtp::SmtpError::Protocol(_) => "protocol",
    };
    if e.is_transient() {
        DeliveryError::retryable(code, e.to_string())
    } else {
        DeliveryError::final_error(code, e.to_string())
    }
}

fn skipped_json(skipped: &[(String, String)]) -> serde_json::Value {
    skipped
        .iter()
        .map(|(address, reason)| json!({ "address": address, "reason": reason }))
        .collect()
}

impl MssanteSink {
    /// Hands a task to the job it asks for; this sink has one, sending a document.
    async fn route(&self, task: &DeliveryTask) -> Result<Receipt, DeliveryError> {
        match &task.work {
            Work::Action {
                action: Action::SendDocument { document, .. },
            } => self.send(task, *document).await,
            Work::Action {
                action:
                    Action::RequestPrescription {
                        request,
                        to,
                        requested_by,
                        text,
                    },
            } => {
                self.ask_prescription(task, request, to, requested_by.as_deref(), text)
                    .await
            }
            other => Err(DeliveryError::unsupported("MSSanté", other)),
        }
    }
}

impl Sink for MssanteSink {
    fn target(&self) -> &str {
        TARGET
    }

    fn check(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move {
            let url = format!("smtp://{}:{}", self.endpoint.host, self.endpoint.port);
            crt_core::http::reachable("MSSanté SMTP", &url).await
        })
    }

    fn deliver<'a>(&'a self, task: &'a DeliveryTask) -> Attempt<'a> {
        Box::pin(self.route(task))
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.config.retry
    }
}
