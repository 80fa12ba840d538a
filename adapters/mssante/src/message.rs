//! The MIME message of an MSSanté exchange (Référentiel socle MSSanté #2): a text and an
//! HTML body, `IHE_XDM.zip`, a PDF rendering of each document, and the `X-MSS-*`
//! headers the operators and Mon espace santé read.

use std::time::SystemTime;

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::address::Address;

/// The largest message the gateway sends or reads (operators accept 25 MiB or more).
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// A file attached to the message.
#[derive(Debug, Clone)]
pub struct Attached {
    pub name: String,
    pub media_type: &'static str,
    pub content: Vec<u8>,
}

/// Everything a message is made of.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub from: Address,
    /// The structure's name, shown as the sender's display name.
    pub from_name: String,
    pub to: Vec<Address>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `<…>`; the same for every attempt of one delivery, so that a retried send is
    /// recognisable and acknowledgements find their delivery.
    pub message_id: String,
    pub date: SystemTime,
    /// Where MDNs go (`Disposition-Notification-To`); `None` asks for none.
    pub notify: Option<Address>,
    /// `code` of each CDA document in the XDM archive (`X-MSS-CODECDA`).
    pub cda_codes: Vec<String>,
    /// Whether the archive names the patient by a qualified INS (`X-MSS-INS`).
    pub qualified_ins: bool,
    /// The product reference of the sending software in the trust space (`X-MSS-NIL`).
    pub product_reference: String,
    /// `X-MSS-MES: FIN` on messages to a patient mailbox: the patient cannot answer a
    /// mailbox that nobody reads.
    pub patient_cannot_reply: bool,
    /// Part boundaries are derived from this, so the same delivery gives the same bytes.
    pub boundary_seed: String,
    pub attachments: Vec<Attached>,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("{0}: not an address the message format accepts")]
    Address(String),
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("{0}: invalid content type")]
    ContentType(String),
}

pub mod headers {
    pub const CODE_CDA: &str = "X-MSS-CODECDA";
    pub const INS: &str = "X-MSS-INS";
    pub const NIL: &str = "X-MSS-NIL";
    pub const MES: &str = "X-MSS-MES";
    pub const NOTIFY: &str = "Disposition-Notification-To";
}

/// The message's bytes, CRLF line ends, ready for SMTP `DATA`.
pub fn compose(outgoing: &Outgoing) -> Result<Vec<u8>, MessageError> {
    let mailbox = |address: &Address, name: Option<String>| -> Result<Mailbox, MessageError> {
        let parsed = address
            .to_string()
            .parse()
            .map_err(|_| MessageError::Address(address.to_string()))?;
        Ok(Mailbox::new(name, parsed))
    };
    let raw = |name: &'static str, value: String| {
        HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
    };
    let mut builder = Message::builder()
        .from(mailbox(&outgoing.from, Some(outgoing.from_name.clone()))?)
        .subject(outgoing.subject.clone())
        .message_id(Some(outgoing.message_id.clone()))
        .date(outgoing.date)
        .raw_header(raw(headers::NIL, outgoing.product_reference.clone()));
    for to in &outgoing.to {
        builder = builder.to(mailbox(to, None)?);
    }
    if !outgoing.cda_codes.is_empty() {
        builder = builder
            .raw_header(raw(headers::CODE_CDA, outgoing.cda_codes.join(",")))
            .raw_header(raw(
                headers::INS,
                if outgoing.qualified_ins { "O" } else { "N" }.to_string(),
            ));
    }
    if outgoing.patient_cannot_reply && outgoing.to.iter().any(Address::is_patient) {
        builder = builder.raw_header(raw(headers::MES, "FIN".to_string()));
    }
    if let Some(notify) = &outgoing.notify {
        builder = builder.raw_header(raw(headers::NOTIFY, notify.to_string()));
    }
    let body = MultiPart::alternative()
        .boundary(format!("alt-{}", outgoing.boundary_seed))
        .singlepart(SinglePart::plain(outgoing.text.clone()))
        .singlepart(SinglePart::html(outgoing.html.clone()));
    let mut mixed = MultiPart::mixed()
        .boundary(format!("mix-{}", outgoing.boundary_seed))
        .multipart(body);
    for attached in &outgoing.attachments {
        let media_type = ContentType::parse(attached.media_type)
            .map_err(|_| MessageError::ContentType(attached.media_type.to_string()))?;
        mixed = mixed.singlepart(
            Attachment::new(attached.name.clone()).body(attached.content.clone(), media_type),
        );
    }
    Ok(builder.multipart(mixed)?.formatted())
}

/// The subject the CI-SIS gives document messages:
/// `XDM/1.0/DDM+<title> <NOM> <prénom> <date of birth>`.
pub fn subject(title: &str, family: &str, given: &str, birth_date: &str) -> String {
    format!(
        "XDM/1.0/DDM+{} {} {} {}",
        title,
        family.to_uppercase(),
        given,
        birth_date
    )
}

/// How a message names its patient to people: `Prénom NOM`, and the date of birth as
/// `dd/mm/yyyy` (as the subject wants it).
pub fn patient_in_words(identity: &crt_core::record::IdentityTraits) -> (String, String) {
    let birth = identity
        .birth_date
        .split('-')
        .rev()
        .collect::<Vec<_>>()
        .join("/");
    let patient = format!(
        "{} {}",
        identity.first_given_name,
        identity.birth_name.to_uppercase()
    );
    (patient, birth)
}

#[cfg(test)]
mod tests {
    use mail_parser::MimeHeaders;

    use super::*;

    pub(crate) fn outgoing() -> Outgoing {
        Outgoing {
            from: Address::parse("crt@ehpad-tilleuls.mssante.fr", &[]).expect("address"),
            from_name: "CRT des Tilleuls".into(),
            to: vec![
                Address::parse("luc.bernard@medecin.mssante.fr", &[]).expect("address"),
                Address::patient("248017512345678").expect("address"),
            ],
            subject: subject("Plan", "Dupont", "Marie", "12/03/1940"),
            text: "Veuillez trouver le document.".into(),
            html: "<p>Veuillez trouver le document.</p>".into(),
            message_id: "<0193-abc@ehpad-tilleuls.mssante.fr>".into(),
            date: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600),
            notify: Some(Address::parse("crt@ehpad-tilleuls.mssante.fr", &[]).expect("address")),
            cda_codes: vec!["74207-2".into()],
            qualified_ins: true,
            product_reference: "CRT-GATEWAY-0001".into(),
            patient_cannot_reply: true,
            boundary_seed: "seed".into(),
            attachments: vec![Attached {
                name: "IHE_XDM.zip".into(),
                media_type: "application/zip",
                content: vec![0x50, 0x4b, 0x03, 0x04, 0xff, 0x00],
            }],
        }
    }

    #[test]
    fn headers_and_parts_are_those_of_the_referential() {
        let bytes = compose(&outgoing()).expect("composed");
        let message = mail_parser::MessageParser::default()
            .parse(&bytes)
            .expect("parsed back");
        let header = |name: &str| {
            message
                .header_raw(name)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        assert_eq!(header("X-MSS-CODECDA"), "74207-2");
        assert_eq!(header("X-MSS-INS"), "O");
        assert_eq!(header("X-MSS-NIL"), "CRT-GATEWAY-0001");
        assert_eq!(header("X-MSS-MES"), "FIN");
        assert_eq!(
            header("Disposition-Notification-To"),
            "crt@ehpad-tilleuls.mssante.fr"
        );
        assert_eq!(
            message.message_id(),
            Some("0193-abc@ehpad-tilleuls.mssante.fr")
        );
        assert_eq!(
            message.subject(),
            Some("XDM/1.0/DDM+Plan DUPONT Marie 12/03/1940")
        );
        assert_eq!(message.attachment_count(), 1);
        let zip = message.attachment(0).expect("attachment");
        assert_eq!(zip.attachment_name(), Some("IHE_XDM.zip"));
        assert_eq!(zip.contents(), [0x50, 0x4b, 0x03, 0x04, 0xff, 0x00]);
        assert!(message.body_text(0).is_some() && message.body_html(0).is_some());
        assert_eq!(
            compose(&outgoing()).expect("again"),
            bytes,
            "same input, same bytes"
        );
    }

    #[test]
    fn without_a_document_nor_a_patient_only_the_product_reference_is_set() {
        let mut plain = outgoing();
        plain.cda_codes.clear();
        plain.to.truncate(1);
        plain.notify = None;
        let bytes = compose(&plain).expect("composed");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("X-MSS-NIL: CRT-GATEWAY-0001"));
        for absent in [
            "X-MSS-CODECDA",
            "X-MSS-INS",
            "X-MSS-MES",
            "Disposition-Notification-To",
        ] {
            assert!(!text.contains(absent), "{absent}");
        }
    }
}
