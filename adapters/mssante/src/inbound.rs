//! Messages partners send to a structure's mailbox: what they carry (an `IHE_XDM.zip`
//! whose documents are checked against its metadata, PDFs, CDA documents), whom they are
//! about, and what is wrong with them when they cannot be integrated.
//!
//! Everything here reads untrusted bytes: the message is bounded by
//! [`crate::message::MAX_MESSAGE_BYTES`], the archive by the [`crate::xdm`] limits, and
//! XML by [`crt_core::xml::Limits`]. Nothing is trusted that the archive does not prove:
//! a document whose size or SHA-1 differs from its metadata refuses the whole message.

use mail_parser::{MessageParser, MimeHeaders};
use serde::Serialize;

use crate::message::{MAX_MESSAGE_BYTES, headers};
use crate::patient::NamedPatient;
use crate::xdm;

/// A message that carries documents to integrate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incoming {
    /// Without angle brackets.
    pub message_id: String,
    pub from: String,
    pub subject: String,
    /// The message ids it answers (`In-Reply-To`, then `References`), without brackets.
    pub answers: Vec<String>,
    /// Where an MDN goes without asking anyone, if anywhere: see [`answer_to`].
    pub notify: Option<String>,
    pub documents: Vec<Received>,
    /// Whom the documents are about, as they name the patient.
    pub patient: NamedPatient,
    /// The text the sender wrote (the plain-text body), at most [`MAX_TEXT_CHARS`].
    pub text: Option<String>,
}

/// The longest body text kept with a message; the original holds the rest.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Where a received document came from in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    /// A document of the `IHE_XDM.zip`, checked against its metadata.
    Archive,
    /// An attachment of the message itself.
    Attachment,
}

/// One document of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    pub name: String,
    pub media_type: String,
    #[serde(skip)]
    pub content: Vec<u8>,
    pub title: Option<String>,
    /// The CDA `code` (LOINC), else the XDS `classCode`.
    pub code: Option<String>,
    /// The XDS `uniqueId`, for a document of the archive.
    pub unique_id: Option<String>,
    pub carrier: Carrier,
}

/// Why a message cannot be integrated, as the MDN in error says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Failure {
    /// Not a message, or one the gateway cannot read (headers, MIME structure, size).
    UnreadableMessage,
    /// The `IHE_XDM.zip` breaks the profile (structure, metadata, sizes, hashes).
    InvalidArchive,
    /// A CDA document that does not parse.
    UnreadableDocument,
    /// The documents name more than one patient.
    SeveralPatients,
    /// No beneficiary of the structure matches the patient named.
    UnknownPatient,
}

/// A message refused, with what to tell the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub failure: Failure,
    /// The details, for the operator and the sender; never the documents' contents.
    pub detail: String,
    /// What could be read of the message, to answer it.
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    /// Where an MDN goes without asking anyone, if anywhere: see [`answer_to`].
    pub notify: Option<String>,
}

/// Where to send an MDN automatically: the `Disposition-Notification-To` address, when it
/// is the address the message came from (`Return-Path`, else `From`). RFC 8098 §2.1 and
/// the volet: an MDN to another address needs a person's consent, so that nobody is made
/// to mail a third party by asking.
pub fn answer_to(message: &mail_parser::Message<'_>) -> Option<String> {
    let notify = unbracket(message.header_raw(headers::NOTIFY)?);
    let origin = message
        .header_raw("Return-Path")
        .map(unbracket)
        .or_else(|| sender(message))?;
    notify.eq_ignore_ascii_case(&origin).then_some(notify)
}

/// What a message in the mailbox is, for the reader.
#[derive(Debug)]
pub enum Reading {
    /// Documents to integrate.
    Documents(Box<Incoming>),
    /// A message without documents that answers another (`In-Reply-To`, `References`):
    /// the gateway's when it answers a message the gateway sent, such as a prescription
    /// request.
    Reply(Box<Incoming>),
    /// A message without documents (people write to the mailbox, notifications arrive):
    /// not the gateway's to integrate.
    Other,
}

/// Reads a message from the mailbox.
pub fn read(bytes: &[u8]) -> Result<Reading, Box<Refusal>> {
    let unreadable = |detail: &str| {
        Box::new(Refusal {
            failure: Failure::UnreadableMessage,
            detail: detail.to_string(),
            message_id: None,
            from: None,
            subject: None,
            notify: None,
        })
    };
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(unreadable(&format!(
            "message larger than {MAX_MESSAGE_BYTES} bytes"
        )));
    }
    let Some(message) = MessageParser::default().parse(bytes) else {
        return Err(unreadable("not an RFC 5322 message"));
    };
    let refusal = |failure: Failure, detail: String| {
        Box::new(Refusal {
            failure,
            detail,
            message_id: message.message_id().map(str::to_string),
            from: sender(&message),
            subject: message.subject().map(str::to_string),
            notify: answer_to(&message),
        })
    };
    if is_report(&message) {
        return Ok(Reading::Other);
    }
    let mut documents = Vec::new();
    let mut patient = NamedPatient::default();
    let mut patients = Vec::new();
    let mut archives = 0;
    for attachment in message.attachments() {
        let name = attachment.attachment_name().unwrap_or_default().to_string();
        let content = attachment.contents();
        if name.eq_ignore_ascii_case(xdm::ARCHIVE_NAME) {
            archives += 1;
            if archives > 1 {
                return Err(refusal(
                    Failure::InvalidArchive,
                    format!("more than one {}", xdm::ARCHIVE_NAME),
                ));
            }
            let opened = xdm::open(content);
            if let Some(problem) = opened.report.problems.first() {
                let failure = if problem.rule == "xdm-document" {
                    Failure::UnreadableDocument
                } else {
                    Failure::InvalidArchive
                };
                return Err(refusal(
                    failure,
                    format!(
                        "{}: {} ({}){}",
                        xdm::ARCHIVE_NAME,
                        problem.message,
                        if problem.path.is_empty() {
                            "archive"
                        } else {
                            &problem.path
                        },
                        match opened.report.problems.len() {
                            1 => String::new(),
                            n => format!(", and {} other problem(s)", n - 1),
                        }
                    ),
                ));
            }
            for described in &opened.report.documents {
                patients.push(described.patient.clone());
                documents.push(Received {
                    name: described
                        .path
                        .rsplit('/')
                        .next()
                        .unwrap_or(&described.path)
                        .to_string(),
                    media_type: described.mime_type.clone(),
                    content: opened.content(described).unwrap_or_default().to_vec(),
                    title: described.title.clone(),
                    code: described
                        .cda_code
                        .clone()
                        .or_else(|| described.class_code.clone()),
                    unique_id: Some(described.unique_id.clone()).filter(|u| !u.is_empty()),
                    carrier: Carrier::Archive,
                });
            }
            continue;
        }
        let media_type = attachment
            .content_type()
            .map(|t| {
                format!("{}/{}", t.ctype(), t.subtype().unwrap_or_default()).to_ascii_lowercase()
            })
            .unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".pdf") || media_type == "application/pdf" {
            if !content.starts_with(b"%PDF-") {
                return Err(refusal(
                    Failure::UnreadableDocument,
                    format!("{name}: not a PDF"),
                ));
            }
            documents.push(Received {
                name,
                media_type: "application/pdf".into(),
                content: content.to_vec(),
                title: None,
                code: None,
                unique_id: None,
                carrier: Carrier::Attachment,
            });
        } else if lower.ends_with(".xml") || media_type.ends_with("/xml") {
            let root =
                crt_core::xml::parse(content, crt_core::xml::Limits::default()).map_err(|e| {
                    refusal(
                        Failure::UnreadableDocument,
                        format!("{name}: not well-formed XML: {e}"),
                    )
                })?;
            if !root.is("urn:hl7-org:v3", "ClinicalDocument") {
                continue;
            }
            patients.push(NamedPatient::from_cda(&root));
            documents.push(Received {
                name,
                media_type: "text/xml".into(),
                content: content.to_vec(),
                title: root
                    .child_text("urn:hl7-org:v3", "title")
                    .map(str::to_string),
                code: root
                    .child("urn:hl7-org:v3", "code")
                    .and_then(|c| c.attribute("code"))
                    .map(str::to_string),
                unique_id: None,
                carrier: Carrier::Attachment,
            });
        }
    }
    let answers = answered(&message);
    if documents.is_empty() && answers.is_empty() {
        return Ok(Reading::Other);
    }
    for named in patients {
        if let (Some(known), Some(other)) = (&patient.ins, &named.ins)
            && known.number != other.number
        {
            return Err(refusal(
                Failure::SeveralPatients,
                "the documents name more than one patient (two INS)".into(),
            ));
        }
        patient = patient.or(named);
    }
    let Some(message_id) = message.message_id().map(str::to_string) else {
        if documents.is_empty() {
            // A reply nobody can name is one for people to read.
            return Ok(Reading::Other);
        }
        return Err(refusal(
            Failure::UnreadableMessage,
            "no Message-ID".to_string(),
        ));
    };
    let incoming = Box::new(Incoming {
        message_id,
        from: sender(&message).unwrap_or_default(),
        subject: message.subject().unwrap_or_default().to_string(),
        answers,
        notify: answer_to(&message),
        text: message
            .body_text(0)
            .map(|text| text.chars().take(MAX_TEXT_CHARS).collect()),
        documents,
        patient,
    });
    Ok(if incoming.documents.is_empty() {
        Reading::Reply(incoming)
    } else {
        Reading::Documents(incoming)
    })
}

/// The message ids a message answers (`In-Reply-To`, then `References`), without
/// brackets, each once.
fn answered(message: &mail_parser::Message<'_>) -> Vec<String> {
    let mut answers: Vec<String> = Vec::new();
    for name in ["In-Reply-To", "References"] {
        let value = message.header_raw(name).unwrap_or_default();
        for id in value.split_whitespace() {
            let id = unbracket(id);
            if !id.is_empty() && !answers.contains(&id) {
                answers.push(id);
            }
        }
    }
    answers
}

/// Whether the message is a delivery or disposition report (RFC 6522): those are the
/// acknowledgement reader's.
fn is_report(message: &mail_parser::Message<'_>) -> bool {
    message.content_type().is_some_and(|t| {
        t.ctype().eq_ignore_ascii_case("multipart")
            && t.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    })
}

fn sender(message: &mail_parser::Message<'_>) -> Option<String> {
    message
        .from()
        .and_then(|from| from.first())
        .and_then(|a| a.address())
        .map(str::to_string)
}

fn unbracket(value: &str) -> String {
    value
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}
