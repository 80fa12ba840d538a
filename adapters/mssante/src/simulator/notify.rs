//! The notifications recipients' systems send back: MDNs (RFC 8098) in the form the CI-SIS
//! transmission volet gives them, and DSNs (RFC 3464) for undeliverable recipients.

use chrono::Utc;

const REPORTING: &str = "mssante-simulator.localhost";

/// An MDN from `recipient` about `original_id`: `processed`, or `processed/Error` with
/// `code^label` when the recipient's system could not integrate the documents.
pub fn mdn(
    recipient: &str,
    notify: &str,
    original_id: &str,
    subject: &str,
    error: Option<(&str, &str)>,
) -> Vec<u8> {
    let (disposition, human, subject) = match error {
        None => (
            "automatic-action/MDN-sent-automatically; processed".to_string(),
            "Le message a été intégré automatiquement.".to_string(),
            subject.to_string(),
        ),
        Some((code, label)) => (
            format!("automatic-action/MDN-sent-automatically; processed/Error: {code}^{label}"),
            format!(
                "Le message ci-dessous n'a pas pu être intégré automatiquement pour la raison suivante : {label}"
            ),
            format!("[KO Intégration système !] {subject}"),
        ),
    };
    let report = format!(
        "Reporting-UA: {REPORTING}\r\nOriginal-Recipient: rfc822;{recipient}\r\nFinal-Recipient: rfc822;{recipient}\r\nOriginal-Message-ID: <{original_id}>\r\nDisposition: {disposition}\r\n"
    );
    report_message(
        recipient,
        notify,
        &subject,
        "disposition-notification",
        &human,
        "message/disposition-notification",
        &report,
        None,
    )
}

/// What a DSN gives back of the message (`RET`, RFC 3461 §4.3).
pub enum Returned<'a> {
    Headers(String),
    Message(&'a [u8]),
}

/// A DSN from the operator to `sender`: `recipient` could not be delivered.
pub fn dsn(
    sender: &str,
    recipient: &str,
    envelope_id: Option<&str>,
    returned: Returned<'_>,
    subject: &str,
) -> Vec<u8> {
    let envelope = envelope_id
        .map(|id| format!("Original-Envelope-Id: {id}\r\n"))
        .unwrap_or_default();
    let report = format!(
        "{envelope}Reporting-MTA: dns; {REPORTING}\r\nArrival-Date: {}\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 {recipient}: mailbox unknown\r\n",
        Utc::now().to_rfc2822()
    );
    report_message(
        &format!("MAILER-DAEMON@{REPORTING}"),
        sender,
        &format!("Undelivered Mail Returned to Sender: {subject}"),
        "delivery-status",
        &format!("Le message n'a pas pu être remis à {recipient}."),
        "message/delivery-status",
        &report,
        Some(returned),
    )
}

#[allow(clippy::too_many_arguments)]
fn report_message(
    from: &str,
    to: &str,
    subject: &str,
    report_type: &str,
    human: &str,
    report_media_type: &str,
    report: &str,
    returned: Option<Returned<'_>>,
) -> Vec<u8> {
    let boundary = format!("report-{}", uuid::Uuid::now_v7().simple());
    let mut out = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@{REPORTING}>\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-replied\r\nContent-Type: multipart/report; report-type={report_type}; boundary=\"{boundary}\"\r\n\r\n",
        encode_word(subject),
        Utc::now().to_rfc2822(),
        uuid::Uuid::now_v7()
    );
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{human}\r\n"
    ));
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: {report_media_type}\r\n\r\n{report}\r\n"
    ));
    let mut out = out.into_bytes();
    match returned {
        Some(Returned::Headers(headers)) => out.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n")
                .as_bytes(),
        ),
        Some(Returned::Message(message)) => {
            out.extend_from_slice(
                format!("--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
            );
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
