//! What the operator checks in a message before it accepts it; also what
//! `crt-gateway validate FILE.eml` reports.

use mail_parser::{MessageParser, MimeHeaders};

use crate::message::headers;
use crate::xdm;

/// A message that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Inspected {
    pub message_id: String,
    pub subject: String,
    /// Where MDNs go, when the sender asked for them.
    pub notify: Option<String>,
    /// What the archive holds, when the message carries one.
    pub xdm: Option<xdm::Report>,
    pub pdf_attachments: usize,
}

/// Checks a message as the operator does: headers of the referential and a sound XDM
/// archive consistent with them. Every problem found is listed.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, Vec<String>> {
    let Some(message) = MessageParser::default().parse(bytes) else {
        return Err(vec!["not an RFC 5322 message".into()]);
    };
    let mut problems = Vec::new();
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_string());
    let message_id = message.message_id().unwrap_or_default().to_string();
    if message_id.is_empty() {
        problems.push("no Message-ID".to_string());
    }
    if message.from().is_none() {
        problems.push("no From".to_string());
    }
    if message.date().is_none() {
        problems.push("no Date".to_string());
    }
    if header(headers::NIL).is_none_or(|v| v.is_empty()) {
        problems.push(format!(
            "no {}: every message names the sending software's product reference",
            headers::NIL
        ));
    }
    let mut archive = None;
    let mut pdf_attachments = 0;
    for attachment in message.attachments() {
        let name = attachment.attachment_name().unwrap_or_default();
        if name.eq_ignore_ascii_case(xdm::ARCHIVE_NAME) {
            if archive.is_some() {
                problems.push(format!("more than one {}", xdm::ARCHIVE_NAME));
            }
            archive = Some(attachment.contents().to_vec());
        } else if name.to_ascii_lowercase().ends_with(".pdf") {
            if !attachment.contents().starts_with(b"%PDF-") {
                problems.push(format!("{name}: not a PDF"));
            }
            pdf_attachments += 1;
        }
    }
    let xdm = archive.map(|bytes| xdm::check(&bytes));
    let codes: Vec<String> = xdm
        .iter()
        .flat_map(|r| r.documents.iter().filter_map(|d| d.cda_code.clone()))
        .collect();
    match &xdm {
        Some(report) => {
            problems.extend(
                report
                    .problems
                    .iter()
                    .map(|p| format!("{}: {} ({})", xdm::ARCHIVE_NAME, p.message, p.path)),
            );
            if !codes.is_empty() {
                let declared: Vec<String> = header(headers::CODE_CDA)
                    .unwrap_or_default()
                    .split(',')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect();
                if declared != codes {
                    problems.push(format!(
                        "{} is {declared:?}; the CDA documents of the archive have codes {codes:?}",
                        headers::CODE_CDA
                    ));
                }
                let ins = report.documents.iter().any(|d| d.ins);
                let expected = if ins { "O" } else { "N" };
                if header(headers::INS).as_deref() != Some(expected) {
                    problems.push(format!(
                        "{} must be {expected}: the archive {} a patient named by an INS",
                        headers::INS,
                        if ins { "has" } else { "has no" }
                    ));
                }
            }
        }
        None => {
            for name in [headers::CODE_CDA, headers::INS] {
                if header(name).is_some() {
                    problems.push(format!("{name} without an {} archive", xdm::ARCHIVE_NAME));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Inspected {
        message_id,
        subject: message.subject().unwrap_or_default().to_string(),
        notify: header(headers::NOTIFY)
            .map(|v| v.trim_matches(|c| c == '<' || c == '>').to_string()),
        xdm,
        pdf_attachments,
    })
}
