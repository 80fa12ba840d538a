//! An MSSanté operator on loopback: SMTP with STARTTLS and with implicit TLS, IMAPS, one
//! mailbox per address.
//!
//! It refuses what an operator of the trust space refuses: clear-text mail transactions,
//! TLS other than 1.2 with the referential's suites, a client without a certificate or
//! with one that does not chain to the configured IGC-Santé roots (or that the CRL
//! revokes), senders and recipients outside the trust space, and messages whose
//! `IHE_XDM.zip` is broken or disagrees with the `X-MSS-*` headers. Accepted messages go
//! to their recipients' mailboxes; when the sender asked for it, each recipient's
//! system answers with an MDN, and addresses listed as bouncing produce a DSN, so the
//! gateway's acknowledgement reader has something real to read over IMAP.

mod imap;
mod inspect;
pub mod notify;
mod smtp;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crt_core::simulate::{self, SimulatorTls};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub use inspect::{Inspected, inspect};

/// Bounds on what a client may send.
pub use crate::message::MAX_MESSAGE_BYTES;
pub const MAX_RECIPIENTS: usize = 100;

/// A message in a mailbox.
#[derive(Debug, Clone)]
pub struct Stored {
    pub uid: u32,
    pub bytes: Arc<Vec<u8>>,
    pub seen: bool,
    pub deleted: bool,
}

/// How recipients' systems behave, for tests and demonstrations.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Recipients whose delivery fails after acceptance: the sender gets a DSN.
    pub bouncing: HashSet<String>,
    /// Recipients whose system cannot integrate the documents: the MDN carries an error.
    pub integration_errors: HashSet<String>,
    /// The IMAP side does not announce SASL-IR (RFC 4959), and answers BAD to an
    /// `AUTHENTICATE` that carries an initial response, as such a server does.
    pub imap_without_sasl_ir: bool,
    /// The SMTP side closes each session after the message it took, without a word, as
    /// a server with a short idle timeout ends up doing to a kept session.
    pub one_message_per_session: bool,
}

#[derive(Debug, Default)]
struct Mailboxes {
    next_uid: u32,
    boxes: BTreeMap<String, Vec<Stored>>,
}

/// The operator's state, shared by its SMTP and IMAP sides.
#[derive(Debug, Default)]
pub struct Operator {
    mailboxes: Mutex<Mailboxes>,
    behaviour: Mutex<Behaviour>,
    /// Message-IDs of every message accepted, in order.
    accepted: Mutex<Vec<String>>,
    /// Mailboxes some client has opened over IMAP: their software answers MDNs itself.
    read_by_software: Mutex<HashSet<String>>,
    /// SMTP sessions that reached TLS.
    smtp_sessions: std::sync::atomic::AtomicUsize,
}

impl Operator {
    /// Appends `bytes` to the mailbox of `address`. A mailbox keeps its newest
    /// [`simulate::RETAINED`] messages, like an operator's retention period: past it, the
    /// oldest message already read goes first, then the oldest. Clients address messages
    /// by UID, which a removal does not change.
    pub fn deliver(&self, address: &str, bytes: Arc<Vec<u8>>) {
        let mut mailboxes = self.lock();
        mailboxes.next_uid += 1;
        let uid = mailboxes.next_uid;
        let mailbox = mailboxes
            .boxes
            .entry(address.to_ascii_lowercase())
            .or_default();
        if mailbox.len() >= simulate::RETAINED {
            let oldest = mailbox.iter().position(|m| m.seen).unwrap_or(0);
            mailbox.remove(oldest);
        }
        mailbox.push(Stored {
            uid,
            bytes,
            seen: false,
            deleted: false,
        });
    }

    /// The messages in the mailbox of `address`.
    pub fn mailbox(&self, address: &str) -> Vec<Stored> {
        self.lock()
            .boxes
            .get(&address.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    /// Declares that software reads `address` and sends its own MDNs (an IMAP login
    /// does the same).
    pub fn read_by_software(&self, address: &str) {
        if let Ok(mut readers) = self.read_by_software.lock() {
            readers.insert(address.to_ascii_lowercase());
        }
    }

    fn is_read_by_software(&self, address: &str) -> bool {
        self.read_by_software
            .lock()
            .is_ok_and(|readers| readers.contains(&address.to_ascii_lowercase()))
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        if let Ok(mut current) = self.behaviour.lock() {
            *current = behaviour;
        }
    }

    pub(crate) fn behaviour(&self) -> Behaviour {
        self.behaviour.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// How many SMTP sessions reached TLS so far: what a client that keeps its sessions
    /// spares shows here.
    pub fn smtp_sessions(&self) -> usize {
        self.smtp_sessions
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn count_smtp_session(&self) {
        self.smtp_sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Message-IDs of the messages accepted so far.
    pub fn accepted(&self) -> Vec<String> {
        self.accepted.lock().map(|a| a.clone()).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mailboxes> {
        self.mailboxes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn with_mailbox<T>(&self, address: &str, f: impl FnOnce(&mut Vec<Stored>) -> T) -> T {
        let mut mailboxes = self.lock();
        f(mailboxes
            .boxes
            .entry(address.to_ascii_lowercase())
            .or_default())
    }
}

/// The simulator and its listeners.
pub struct MssanteSimulator {
    acceptor: TlsAcceptor,
    pub operator: Arc<Operator>,
}

/// Addresses of a running simulator.
pub struct RunningOperator {
    /// SMTP with STARTTLS.
    pub submission: SocketAddr,
    /// SMTP with implicit TLS.
    pub smtps: SocketAddr,
    pub imaps: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningOperator {
    pub fn smtp_url(&self) -> String {
        format!("smtp://localhost:{}", self.submission.port())
    }
    pub fn smtps_url(&self) -> String {
        format!("smtps://localhost:{}", self.smtps.port())
    }
    pub fn imaps_url(&self) -> String {
        format!("imaps://localhost:{}", self.imaps.port())
    }
    pub fn abort(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for RunningOperator {
    fn drop(&mut self) {
        self.abort();
    }
}

impl MssanteSimulator {
    /// A simulator with the sandbox's TLS files, negotiating only what MSSanté allows.
    pub fn new(tls: &SimulatorTls) -> Result<MssanteSimulator, crt_core::tls::TlsError> {
        Ok(MssanteSimulator {
            acceptor: tls.acceptor_for(&crate::tls::policy())?,
            operator: Arc::new(Operator::default()),
        })
    }

    /// Listens on three loopback ports (0 picks free ones).
    pub async fn start(&self, ip: std::net::IpAddr) -> std::io::Result<RunningOperator> {
        let any = |ip| SocketAddr::new(ip, 0);
        let submission = TcpListener::bind(any(ip)).await?;
        let smtps = TcpListener::bind(any(ip)).await?;
        let imaps = TcpListener::bind(any(ip)).await?;
        let addresses = (
            submission.local_addr()?,
            smtps.local_addr()?,
            imaps.local_addr()?,
        );
        let tasks = vec![
            tokio::spawn(smtp::listen(
                submission,
                smtp::Mode::StartTls,
                self.acceptor.clone(),
                self.operator.clone(),
            )),
            tokio::spawn(smtp::listen(
                smtps,
                smtp::Mode::Implicit,
                self.acceptor.clone(),
                self.operator.clone(),
            )),
            tokio::spawn(imap::listen(
                imaps,
                self.acceptor.clone(),
                self.operator.clone(),
            )),
        ];
        Ok(RunningOperator {
            submission: addresses.0,
            smtps: addresses.1,
            imaps: addresses.2,
            tasks,
        })
    }
}
