//! The notifications an operator sends back: DSNs (RFC 3464) for undeliverable
//! recipients. Recipients' systems answer with [`crate::mdn`].

use chrono::Utc;

pub use crate::mdn::Returned;
use crate::mdn::{Report, report};

const REPORTING: &str = "mssante-simulator.localhost";

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
    let fields = format!(
        "{envelope}Reporting-MTA: dns; {REPORTING}\r\nArrival-Date: {}\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 {recipient}: mailbox unknown\r\n",
        Utc::now().to_rfc2822()
    );
    report(Report {
        from: &format!("MAILER-DAEMON@{REPORTING}"),
        to: sender,
        headers: &[],
        subject: &format!("Undelivered Mail Returned to Sender: {subject}"),
        report_type: "delivery-status",
        human: &format!("Le message n'a pas pu être remis à {recipient}."),
        report_media_type: "message/delivery-status",
        report: &fields,
        returned: Some(returned),
    })
}
