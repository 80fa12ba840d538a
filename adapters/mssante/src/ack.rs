//! Acknowledgements: MDNs (RFC 8098) and DSNs (RFC 3464) read from the structure's
//! mailbox, each turned into what it says about one recipient of one sent message.

use mail_parser::{MessageParser, MimeHeaders, PartType};

/// What a notification says happened to a message at one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The recipient's system processed it (MDN `processed`, `dispatched` or `deleted`,
    /// DSN `delivered`). The volet's `deleted` says the message was removed, read or not:
    /// it arrived, so it is no failure.
    Delivered,
    /// The recipient displayed it (MDN `displayed`).
    Read,
    /// It failed (MDN with an error, or DSN `failed`).
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Delivered => "delivered",
            Status::Read => "read",
            Status::Failed => "failed",
        }
    }
}

/// One recipient's outcome, as a notification reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Acknowledgement {
    /// The Message-ID of the message acknowledged, without angle brackets.
    pub original_message_id: String,
    pub recipient: String,
    pub status: Status,
    /// The error code and label (`code^label` in an MDN, the status and diagnostic in a
    /// DSN).
    pub code: Option<String>,
    pub label: Option<String>,
    /// `mdn` or `dsn`.
    pub kind: &'static str,
    /// The notification's own Message-ID: the same notification read twice is recorded
    /// once.
    pub notification_id: String,
}

/// The acknowledgements a message carries; empty when it is not a notification.
pub fn read(bytes: &[u8]) -> Vec<Acknowledgement> {
    let Some(message) = MessageParser::default().parse(bytes) else {
        return Vec::new();
    };
    let notification_id = message.message_id().unwrap_or_default().to_string();
    let mut original_headers_id = None;
    let mut reports = Vec::new();
    for part in message.parts.iter() {
        let Some(content_type) = part.content_type() else {
            continue;
        };
        let media = format!(
            "{}/{}",
            content_type.ctype(),
            content_type.subtype().unwrap_or_default()
        )
        .to_ascii_lowercase();
        let text = match &part.body {
            PartType::Text(t) => t.to_string(),
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                String::from_utf8_lossy(b).into_owned()
            }
            PartType::Message(m) => String::from_utf8_lossy(m.raw_message()).into_owned(),
            _ => continue,
        };
        match media.as_str() {
            "message/disposition-notification" => reports.push(("mdn", text)),
            "message/delivery-status" | "message/global-delivery-status" => {
                reports.push(("dsn", text))
            }
            "text/rfc822-headers" | "message/rfc822" => {
                original_headers_id = fields(&text)
                    .into_iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("message-id"))
                    .map(|(_, v)| strip_brackets(&v));
            }
            _ => {}
        }
    }
    let mut acknowledgements = Vec::new();
    for (kind, text) in reports {
        match kind {
            "mdn" => acknowledgements.extend(mdn(&text, &notification_id)),
            _ => acknowledgements.extend(dsn(
                &text,
                original_headers_id.as_deref(),
                &notification_id,
            )),
        }
    }
    acknowledgements
}

fn mdn(text: &str, notification_id: &str) -> Option<Acknowledgement> {
    let fields = fields(text);
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let original = strip_brackets(&get("Original-Message-ID")?);
    let recipient = address_of(&get("Final-Recipient").or_else(|| get("Original-Recipient"))?);
    let disposition = get("Disposition")?;
    // action-mode/sending-mode; disposition-type[/modifier…]
    let (_, kind) = disposition.split_once(';')?;
    let kind = kind.trim();
    let (disposition_type, modifier) = match kind.split_once('/') {
        Some((t, m)) => (t.trim().to_ascii_lowercase(), Some(m.trim())),
        None => (kind.to_ascii_lowercase(), None),
    };
    let error = modifier.and_then(|m| {
        let lower = m.to_ascii_lowercase();
        lower.starts_with("error").then(|| {
            m.split_once(':')
                .map(|(_, detail)| detail.trim())
                .unwrap_or_default()
        })
    });
    let (status, code, label) = match (disposition_type.as_str(), error) {
        (_, Some(detail)) => {
            let mut parts = detail.splitn(2, '^');
            let code = parts.next().map(str::to_string).filter(|c| !c.is_empty());
            let label = parts
                .next()
                .map(|l| l.split('^').next().unwrap_or(l).to_string());
            (Status::Failed, code, label)
        }
        ("displayed", None) => (Status::Read, None, None),
        ("deleted", None) => (
            Status::Delivered,
            None,
            Some("deleted by the recipient, read or not".to_string()),
        ),
        (_, None) => (Status::Delivered, None, None),
    };
    Some(Acknowledgement {
        original_message_id: original,
        recipient,
        status,
        code,
        label,
        kind: "mdn",
        notification_id: notification_id.to_string(),
    })
}

/// The recipients a DSN reports on. The message is named by the headers it returns or,
/// failing those, by the envelope id the gateway gave (`ENVID`, the Message-ID).
fn dsn(text: &str, returned: Option<&str>, notification_id: &str) -> Vec<Acknowledgement> {
    // Per-message fields, then one block per recipient, blocks separated by blank lines.
    let normalised = text.replace("\r\n", "\n");
    let mut blocks = normalised.split("\n\n");
    let envelope_id = blocks.next().and_then(|per_message| {
        fields(per_message)
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Original-Envelope-Id"))
            .map(|(_, v)| strip_brackets(&v))
    });
    let Some(original) = returned.map(str::to_string).or(envelope_id) else {
        return Vec::new();
    };
    blocks
        .filter_map(|block| {
            let fields = fields(block);
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            let recipient = address_of(&get("Final-Recipient")?);
            let action = get("Action")?.to_ascii_lowercase();
            let status = match action.as_str() {
                "failed" => Status::Failed,
                "delivered" | "relayed" | "expanded" => Status::Delivered,
                // `delayed`: nothing final yet.
                _ => return None,
            };
            Some(Acknowledgement {
                original_message_id: original.clone(),
                recipient,
                status,
                code: get("Status"),
                label: get("Diagnostic-Code").map(|d| {
                    d.split_once(';')
                        .map(|(_, t)| t.trim().to_string())
                        .unwrap_or(d)
                }),
                kind: "dsn",
                notification_id: notification_id.to_string(),
            })
        })
        .collect()
}

/// Header-style fields, continuation lines unfolded.
fn fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

fn strip_brackets(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// `rfc822; a@b` → `a@b`.
fn address_of(field: &str) -> String {
    field
        .split_once(';')
        .map(|(_, a)| a)
        .unwrap_or(field)
        .trim()
        .trim_matches(|c| c == '<' || c == '>')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::notify;

    #[test]
    fn an_mdn_processed_or_in_error_names_the_recipient_and_the_message() {
        let answer = |error| {
            crate::mdn::compose(&crate::mdn::Disposition {
                reporting_ua: "dpi.example",
                recipient: "luc@medecin.mssante.fr",
                to: "crt@x.mssante.fr",
                original_message_id: "abc@x.mssante.fr",
                subject: "XDM/1.0/DDM+DLU",
                error,
                original: Some(b"Subject: XDM/1.0/DDM+DLU\r\n\r\nbody"),
                product_reference: "DPI-EXAMPLE",
            })
        };
        let ok = answer(None);
        let acks = read(&ok);
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].original_message_id, "abc@x.mssante.fr");
        assert_eq!(acks[0].recipient, "luc@medecin.mssante.fr");
        assert_eq!(acks[0].status, Status::Delivered);
        assert!(!acks[0].notification_id.is_empty());

        let error = answer(Some(crate::mdn::IntegrationError::UNKNOWN_PATIENT));
        assert!(
            String::from_utf8_lossy(&error).contains("Subject: =?utf-8?B?"),
            "the subject in error is prefixed [KO Intégration système !][902]"
        );
        let acks = read(&error);
        assert_eq!(acks[0].status, Status::Failed);
        assert_eq!(acks[0].code.as_deref(), Some("902"));
        assert_eq!(
            acks[0].label.as_deref(),
            Some("Identifiant patient inconnu")
        );
    }

    #[test]
    fn a_displayed_mdn_is_a_read_acknowledgement_and_deleted_no_failure() {
        let text = "Final-Recipient: rfc822; a@b.mssante.fr\r\nOriginal-Message-ID: <m@x>\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n";
        assert_eq!(mdn(text, "n").expect("mdn").status, Status::Read);
        let deleted = text.replace("displayed", "deleted");
        assert_eq!(mdn(&deleted, "n").expect("mdn").status, Status::Delivered);
    }

    #[test]
    fn a_dsn_reports_failed_recipients_of_the_returned_message() {
        let dsn = notify::dsn(
            "crt@x.mssante.fr",
            "nobody@medecin.mssante.fr",
            None,
            notify::Returned::Headers("Message-ID: <abc@x.mssante.fr>\r\nSubject: s".into()),
            "s",
        );
        let acks = read(&dsn);
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].status, Status::Failed);
        assert_eq!(acks[0].recipient, "nobody@medecin.mssante.fr");
        assert_eq!(acks[0].original_message_id, "abc@x.mssante.fr");
        assert_eq!(acks[0].code.as_deref(), Some("5.1.1"));
        assert!(
            acks[0]
                .label
                .as_deref()
                .is_some_and(|l| l.contains("mailbox unknown"))
        );
    }

    #[test]
    fn a_dsn_returning_nothing_is_named_by_its_envelope_id() {
        let dsn = notify::dsn(
            "crt@x.mssante.fr",
            "nobody@medecin.mssante.fr",
            Some("abc@x.mssante.fr"),
            notify::Returned::Message(b""),
            "s",
        );
        let acks = read(&dsn);
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].original_message_id, "abc@x.mssante.fr");
    }

    #[test]
    fn ordinary_messages_carry_no_acknowledgement() {
        assert!(read(b"From: a@b\r\nSubject: hello\r\n\r\nbody").is_empty());
        assert!(read(b"").is_empty());
    }
}
