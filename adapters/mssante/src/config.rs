//! The `[sinks.mssante]` section.

use std::path::PathBuf;
use std::time::Duration;

use crt_core::sink::RetryPolicy;
use crt_core::tls::IdentityFiles;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MssanteConfig {
    pub enabled: bool,
    /// The operator's SMTP server: `smtps://host:port` (implicit TLS) or
    /// `smtp://host:port` (STARTTLS).
    pub smtp: Option<String>,
    /// The operator's IMAP server (`imaps://host:port`), where acknowledgements arrive.
    pub imap: Option<String>,
    /// The IGC-Santé chain the operator's certificate must chain to.
    pub trust: Option<PathBuf>,
    /// CRLs of that chain; a revoked server certificate is refused.
    pub crl: Option<PathBuf>,
    /// The structures' mailboxes and the certificates that authenticate them.
    pub mailboxes: Vec<MailboxCredentials>,
    /// The product reference of the gateway in the trust space (`X-MSS-NIL`), given when
    /// the software is declared on Convergence. Required outside the sandbox: an
    /// operator traces and may refuse messages from software it cannot name.
    pub product_reference: String,
    /// Domains outside `mssante.fr` that messages may go to (operators listed in the
    /// trust-space directory with a domain of their own).
    pub allowed_domains: Vec<String>,
    /// Ask recipients' systems for an MDN (`Disposition-Notification-To`).
    pub request_acknowledgement: bool,
    /// `X-MSS-MES: FIN` on messages to patients: they cannot answer.
    pub patient_cannot_reply: bool,
    /// The name the gateway gives in EHLO.
    pub hello: String,
    /// How often the mailboxes are read for acknowledgements.
    #[serde(with = "crt_core::sink::millis")]
    pub poll_interval: Duration,
    pub retry: RetryPolicy,
}

impl Default for MssanteConfig {
    fn default() -> Self {
        MssanteConfig {
            enabled: true,
            smtp: None,
            imap: None,
            trust: None,
            crl: None,
            mailboxes: Vec::new(),
            product_reference: String::new(),
            allowed_domains: Vec::new(),
            request_acknowledgement: true,
            patient_cannot_reply: true,
            hello: "crt-gateway.localdomain".into(),
            poll_interval: Duration::from_secs(30),
            retry: RetryPolicy {
                max_attempts: 8,
                initial_backoff: Duration::from_secs(5),
                max_backoff: Duration::from_secs(900),
                timeout: Duration::from_secs(60),
            },
        }
    }
}

impl MssanteConfig {
    /// The `X-MSS-NIL` of messages the sandbox sends, which no operator will ever see.
    pub const SANDBOX_PRODUCT_REFERENCE: &'static str = "CRT-GATEWAY-SANDBOX";

    /// This section with the sandbox's product reference when it names none.
    pub fn with_sandbox_reference(mut self) -> Self {
        if self.product_reference.trim().is_empty() {
            self.product_reference = Self::SANDBOX_PRODUCT_REFERENCE.to_string();
        }
        self
    }
}

/// A structure's mailbox (organisational or applicative) and its certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxCredentials {
    pub address: String,
    pub client_certificate: PathBuf,
    pub client_key: PathBuf,
    /// The structure's OID root for document ids, as configured for the DMP, so that a
    /// document has the same id in the DMP and in messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid_root: Option<String>,
}

impl MailboxCredentials {
    pub fn identity(&self) -> IdentityFiles {
        IdentityFiles {
            certificate: self.client_certificate.clone(),
            key: self.client_key.clone(),
        }
    }
}
