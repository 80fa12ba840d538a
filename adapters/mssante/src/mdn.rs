//! The MDN a receiving system sends (RFC 8098), in the form the ANS volet for documents
//! sent by MSSanté gives it (`struct-msg-mdn`): `multipart/report` with a text for people,
//! the `message/disposition-notification` fields, and the original message; `processed`
//! when the documents were integrated, `processed/Error: code^label` when not, the
//! subject then prefixed `[KO Intégration système !][code]`. The codes are the volet's
//! `applicationErrorCondition` table (`error-codes`).

use chrono::Utc;

/// An error of the volet's `applicationErrorCondition` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IntegrationError {
    pub code: &'static str,
    pub label: &'static str,
}

impl IntegrationError {
    pub const UNKNOWN_PATIENT: IntegrationError = IntegrationError {
        code: "902",
        label: "Identifiant patient inconnu",
    };
    pub const NO_INS: IntegrationError = IntegrationError {
        code: "903",
        label: "INS non présent dans le document",
    };
    pub const INS_MISMATCH: IntegrationError = IntegrationError {
        code: "904",
        label: "L'INS transmis ne correspond pas exactement à celui stocké dans la base du consommateur",
    };
    pub const INS_INCOMPLETE: IntegrationError = IntegrationError {
        code: "905",
        label: "L'INS transmis n'est pas complet",
    };
    pub const OTHER: IntegrationError = IntegrationError {
        code: "906",
        label: "Erreur 'Autre'",
    };
}

/// The volet's prefix of an MDN subject in error.
pub const KO_PREFIX: &str = "[KO Intégration système !]";

/// What an MDN answers.
#[derive(Debug, Clone, Copy)]
pub struct Disposition<'a> {
    /// The receiving software (`Reporting-UA`).
    pub reporting_ua: &'a str,
    /// The mailbox that received the message (`From`, `Final-Recipient`).
    pub recipient: &'a str,
    /// Where the sender asked for the MDN (`Disposition-Notification-To`).
    pub to: &'a str,
    /// The Message-ID answered, without angle brackets.
    pub original_message_id: &'a str,
    /// The original subject.
    pub subject: &'a str,
    pub error: Option<IntegrationError>,
    /// The message answered, returned as the volet asks; `None` leaves it out.
    pub original: Option<&'a [u8]>,
    /// The sending software's product reference (`X-MSS-NIL`): an MDN is a message of
    /// the trust space like any other.
    pub product_reference: &'a str,
}

/// The MDN's bytes, CRLF line ends.
pub fn compose(disposition: &Disposition<'_>) -> Vec<u8> {
    let Disposition {
        reporting_ua,
        recipient,
        to,
        original_message_id,
        subject,
        error,
        original,
        product_reference,
    } = *disposition;
    let (kind, human, subject) = match error {
        None => (
            "automatic-action/MDN-sent-automatically; processed".to_string(),
            "Le message a été intégré automatiquement.".to_string(),
            subject.to_string(),
        ),
        Some(IntegrationError { code, label }) => (
            format!("automatic-action/MDN-sent-automatically; processed/Error: {code}^{label}"),
            format!(
                "Le message ci-dessous n'a pas pu être intégré automatiquement pour la raison suivante : {code}^{label}"
            ),
            format!("{KO_PREFIX}[{code}] {subject}"),
        ),
    };
    let fields = format!(
        "Reporting-UA: {reporting_ua}\r\nOriginal-Recipient: rfc822;{recipient}\r\nFinal-Recipient: rfc822;{recipient}\r\nOriginal-Message-ID: <{original_message_id}>\r\nDisposition: {kind}\r\n"
    );
    report(Report {
        from: recipient,
        to,
        headers: &[(crate::message::headers::NIL, product_reference)],
        subject: &subject,
        report_type: "disposition-notification",
        human: &human,
        report_media_type: "message/disposition-notification",
        report: &fields,
        returned: original.map(Returned::Message),
    })
}

/// What a report gives back of the message it is about.
pub enum Returned<'a> {
    /// The header block (`text/rfc822-headers`).
    Headers(String),
    /// The whole message (`message/rfc822`).
    Message(&'a [u8]),
}

/// A `multipart/report` (RFC 6522): MDNs here, DSNs in the simulator.
pub(crate) struct Report<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// Headers of the trust space (`X-MSS-NIL`).
    pub headers: &'a [(&'a str, &'a str)],
    pub subject: &'a str,
    pub report_type: &'a str,
    pub human: &'a str,
    pub report_media_type: &'a str,
    pub report: &'a str,
    pub returned: Option<Returned<'a>>,
}

pub(crate) fn report(report: Report<'_>) -> Vec<u8> {
    let domain = report.from.rsplit('@').next().unwrap_or("localhost");
    let boundary = format!("report-{}", uuid::Uuid::now_v7().simple());
    let mut out = format!(
        "From: <{}>\r\nTo: <{}>\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@{domain}>\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-replied\r\nContent-Type: multipart/report; report-type={}; boundary=\"{boundary}\"\r\n\r\n",
        report.from,
        report.to,
        encode_word(report.subject),
        Utc::now().to_rfc2822(),
        uuid::Uuid::now_v7(),
        report.report_type,
    )
    .into_bytes();
    let mut extra = String::new();
    for (name, value) in report.headers {
        extra.push_str(&format!("{name}: {value}\r\n"));
    }
    // The extra headers go before the blank line that ends the header block.
    out.truncate(out.len() - 2);
    out.extend_from_slice(extra.as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut part = |text: String| out.extend_from_slice(text.as_bytes());
    part(format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        report.human
    ));
    part(format!(
        "--{boundary}\r\nContent-Type: {}\r\n\r\n{}\r\n",
        report.report_media_type, report.report
    ));
    match report.returned {
        Some(Returned::Headers(headers)) => part(format!(
            "--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n"
        )),
        Some(Returned::Message(message)) => {
            part(format!(
                "--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n"
            ));
            out.extend_from_slice(message);
            out.extend_from_slice(b"\r\n");
        }
        None => {}
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// RFC 2047 encoded word when the subject is not ASCII.
fn encode_word(text: &str) -> String {
    use base64::Engine;
    if text.is_ascii() {
        text.to_string()
    } else {
        format!(
            "=?utf-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    }
}
