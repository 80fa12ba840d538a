//! Sending over SMTP with the TLS MSSanté prescribes.
//!
//! lettre speaks SMTP, but its rustls set-up accepts one leaf certificate (no chain), no
//! cipher-suite list and no CRL. So the gateway opens the TLS session itself, with the
//! [`crate::tls::policy`] configuration (TLS 1.2, the referential's suites, the whole
//! client chain, the server checked against the IGC-Santé chain and CRLs), and hands the
//! encrypted stream to lettre's `AsyncSmtpConnection::connect_with_transport`.
//!
//! With STARTTLS, the greeting and the first EHLO happen in clear text before that: the
//! gateway reads the greeting, sends EHLO and STARTTLS, and after the handshake gives lettre
//! a stream that replays the server's greeting, after which lettre sends EHLO again inside
//! TLS, as RFC 3207 requires. Nothing but EHLO and STARTTLS ever crosses in clear text.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, MailParameter, RcptParameter};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crt_core::idle::IdlePool;

use crate::address::Address;

/// How the server expects TLS to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (`smtps://`, usually port 465).
    Implicit,
    /// Clear-text greeting, then STARTTLS (`smtp://`, usually port 587 or 25).
    StartTls,
}

/// Where to send: `smtps://host:port` (implicit TLS) or `smtp://host:port` (STARTTLS;
/// the gateway never sends a message in clear text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let (security, rest, default_port) = if let Some(rest) = url.strip_prefix("smtps://") {
            (Security::Implicit, rest, 465)
        } else if let Some(rest) = url.strip_prefix("smtp://") {
            (Security::StartTls, rest, 587)
        } else {
            return Err(format!(
                "{url}: expected smtps://host[:port] or smtp://host[:port]"
            ));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse()
                    .map_err(|_| format!("{url}: invalid port {port:?}"))?,
            ),
            None => (rest, default_port),
        };
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
            security,
        })
    }
}

/// A recipient the server refused at `RCPT TO`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refused {
    pub address: String,
    /// The SMTP reply code.
    pub code: Option<u16>,
    pub reason: String,
}

/// How a send ended when the server took the message for at least one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub accepted: Vec<Address>,
    pub refused: Vec<Refused>,
    /// The server's answer to the end of data (usually names its queue id).
    pub answer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS handshake with {0}: {1}")]
    Handshake(String, std::io::Error),
    #[error("{0}")]
    Protocol(String),
    #[error("the server refused: {message}")]
    Refused { permanent: bool, message: String },
    #[error("every recipient was refused: {0:?}")]
    NoRecipient(Vec<Refused>),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl SmtpError {
    /// Whether trying again later can help.
    pub fn is_transient(&self) -> bool {
        match self {
            SmtpError::Connect(..) | SmtpError::Timeout(_) => true,
            SmtpError::Refused { permanent, .. } => !permanent,
            SmtpError::NoRecipient(refused) => {
                refused.iter().any(|r| r.code.is_some_and(|c| c < 500))
            }
            // A refused handshake (unknown CA, revoked certificate, no common suite)
            // will be refused again.
            SmtpError::Handshake(..) | SmtpError::Protocol(_) => false,
        }
    }
}

fn refusal(error: lettre::transport::smtp::Error) -> SmtpError {
    SmtpError::Refused {
        permanent: error.is_permanent(),
        message: error.to_string(),
    }
}

/// One message's envelope.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub from: &'a Address,
    pub recipients: &'a [Address],
    /// The envelope id (`ENVID`, RFC 3461 §4.4) that delivery status notifications quote
    /// back, so that a DSN names its message even when it returns no headers.
    pub id: &'a str,
}

/// What the gateway asks of delivery status notifications when the server offers them
/// (RFC 3461): a DSN on failure or delay, never on success (the recipient's MDN says
/// that), and only the headers back — a bounce must not carry the health data again.
const NOTIFY: &str = "FAILURE,DELAY";
const RET: &str = "HDRS";

/// How long a session is kept idle for the next message: well under the five minutes
/// RFC 5321 (4.5.3.2.7) lets a server wait for a command before it closes.
const KEPT_IDLE: Duration = Duration::from_secs(30);
/// Idle sessions kept per (server, sender certificate) at most.
const KEPT_PER_SENDER: usize = 8;

/// SMTP sessions kept between messages. A session ends its message in the state where
/// RFC 5321 (3.3) lets the next `MAIL FROM` begin, and its TLS client certificate names
/// the sending structure: the next message from the same structure to the same server
/// goes through it, sparing a connection and a mutual-TLS handshake (a signature on each
/// side) per message. Nothing in the MSSanté transport rules asks for one session per
/// message.
pub struct Sessions {
    idle: IdlePool<SessionKey, Kept>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            idle: IdlePool::new(KEPT_IDLE, KEPT_PER_SENDER),
        }
    }
}

/// The server, the sender's TLS configuration (by identity: one per sending structure,
/// alive as long as a session made with it) and the EHLO name.
type SessionKey = (String, usize, String);

struct Kept {
    connection: AsyncSmtpConnection,
    offers_dsn: bool,
}

/// How a message's transaction failed: before the server took anything of it (a kept
/// session the server closed meanwhile, say), or after.
enum Failure {
    AtMail(SmtpError),
    Later(SmtpError),
}

impl Sessions {
    /// Sends `data` for `envelope` through `endpoint` within `timeout`, on a kept session
    /// of the same sender when there is one.
    pub async fn send(
        &self,
        endpoint: &Endpoint,
        tls: Arc<ClientConfig>,
        hello: &str,
        envelope: Envelope<'_>,
        data: &[u8],
        timeout: Duration,
    ) -> Result<Sent, SmtpError> {
        tokio::time::timeout(timeout, async {
            let key = (
                format!("{}:{}", endpoint.host, endpoint.port),
                Arc::as_ptr(&tls) as usize,
                hello.to_string(),
            );
            if let Some(mut kept) = self.idle.take(&key, |kept| !kept.connection.has_broken()) {
                match transaction(&mut kept.connection, kept.offers_dsn, envelope, data).await {
                    Ok(sent) => {
                        self.keep(key, kept);
                        return Ok(sent);
                    }
                    // The server may have closed it while it waited: a new session sends it.
                    Err(Failure::AtMail(_)) => kept.connection.abort().await,
                    Err(Failure::Later(e)) => return Err(e),
                }
            }
            let (mut connection, offers_dsn) = connect(endpoint, tls, hello).await?;
            match transaction(&mut connection, offers_dsn, envelope, data).await {
                Ok(sent) => {
                    self.keep(
                        key,
                        Kept {
                            connection,
                            offers_dsn,
                        },
                    );
                    Ok(sent)
                }
                Err(Failure::AtMail(e) | Failure::Later(e)) => Err(e),
            }
        })
        .await
        .map_err(|_| SmtpError::Timeout(timeout))?
    }

    /// Keeps a session after a message, unless it broke or enough are kept already.
    fn keep(&self, key: SessionKey, kept: Kept) {
        self.idle
            .give_back(key, kept, |kept| !kept.connection.has_broken());
    }
}

/// One message on a session past EHLO: MAIL, RCPT for each recipient, DATA. It leaves the
/// session ready for the next message when the server took this one.
async fn transaction(
    conn: &mut AsyncSmtpConnection,
    offers_dsn: bool,
    envelope: Envelope<'_>,
    data: &[u8],
) -> Result<Sent, Failure> {
    let lettre_address = |address: &Address| -> Result<lettre::Address, SmtpError> {
        address
            .to_string()
            .parse()
            .map_err(|e| SmtpError::Protocol(format!("{address}: {e}")))
    };
    let other = |keyword: &str, value: String| (keyword.to_string(), Some(value));
    let mail_parameters = if offers_dsn {
        vec![
            other("RET", RET.to_string()),
            other("ENVID", envelope.id.to_string()),
        ]
    } else {
        Vec::new()
    };
    conn.command(Mail::new(
        Some(lettre_address(envelope.from).map_err(Failure::AtMail)?),
        mail_parameters
            .into_iter()
            .map(|(keyword, value)| MailParameter::Other { keyword, value })
            .collect(),
    ))
    .await
    .map_err(|e| Failure::AtMail(refusal(e)))?;
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for recipient in envelope.recipients {
        let parameters = if offers_dsn {
            vec![
                other("NOTIFY", NOTIFY.to_string()),
                other("ORCPT", format!("rfc822;{recipient}")),
            ]
        } else {
            Vec::new()
        };
        let parameters = parameters
            .into_iter()
            .map(|(keyword, value)| RcptParameter::Other { keyword, value })
            .collect();
        let address = lettre_address(recipient).map_err(Failure::Later)?;
        match conn.command(Rcpt::new(address, parameters)).await {
            Ok(_) => accepted.push(recipient.clone()),
            Err(e) if e.is_permanent() || e.is_transient() => refused.push(Refused {
                address: recipient.to_string(),
                code: e.status().map(u16::from),
                reason: e.to_string(),
            }),
            Err(e) => return Err(Failure::Later(SmtpError::Protocol(e.to_string()))),
        }
    }
    if accepted.is_empty() {
        conn.abort().await;
        return Err(Failure::Later(SmtpError::NoRecipient(refused)));
    }
    conn.command(Data)
        .await
        .map_err(|e| Failure::Later(refusal(e)))?;
    let answer = conn
        .message(data)
        .await
        .map_err(|e| Failure::Later(refusal(e)))?;
    let answer = answer.message().collect::<Vec<_>>().join(" ");
    Ok(Sent {
        accepted,
        refused,
        answer,
    })
}

/// A session past EHLO inside TLS, and whether the server offers DSN.
async fn connect(
    endpoint: &Endpoint,
    tls: Arc<ClientConfig>,
    hello: &str,
) -> Result<(AsyncSmtpConnection, bool), SmtpError> {
    let authority = format!("{}:{}", endpoint.host, endpoint.port);
    let tcp = TcpStream::connect(&authority)
        .await
        .map_err(|e| SmtpError::Connect(authority.clone(), e))?;
    // A command-and-reply protocol: each line must leave at once, not wait for the ACK of
    // the previous one (Nagle's algorithm with delayed ACKs costs ~40 ms per round trip).
    let _ = tcp.set_nodelay(true);
    let peer = tcp
        .peer_addr()
        .map_err(|e| SmtpError::Connect(authority.clone(), e))?;
    let server_name = ServerName::try_from(endpoint.host.clone())
        .map_err(|e| SmtpError::Protocol(format!("{}: {e}", endpoint.host)))?;
    let client_id = ClientId::Domain(hello.to_string());
    let connector = TlsConnector::from(tls);
    let (tls, greeting) = match endpoint.security {
        Security::Implicit => {
            let tls = connector
                .connect(server_name, tcp)
                .await
                .map_err(|e| SmtpError::Handshake(authority.clone(), e))?;
            (tls, Vec::new())
        }
        Security::StartTls => {
            let mut clear = BufReader::new(tcp);
            let greeting = read_reply(&mut clear, "220").await?;
            clear
                .get_mut()
                .write_all(format!("EHLO {hello}\r\n").as_bytes())
                .await
                .map_err(|e| SmtpError::Connect(authority.clone(), e))?;
            let capabilities = read_reply(&mut clear, "250").await?;
            let offers = String::from_utf8_lossy(&capabilities).lines().any(|l| {
                l.get(4..)
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case("STARTTLS"))
            });
            if !offers {
                return Err(SmtpError::Protocol(format!(
                    "{authority} does not offer STARTTLS; the gateway does not send in clear text"
                )));
            }
            clear
                .get_mut()
                .write_all(b"STARTTLS\r\n")
                .await
                .map_err(|e| SmtpError::Connect(authority.clone(), e))?;
            read_reply(&mut clear, "220").await?;
            if !clear.buffer().is_empty() {
                return Err(SmtpError::Protocol(
                    "the server sent data before the TLS handshake".into(),
                ));
            }
            let tls = connector
                .connect(server_name, clear.into_inner())
                .await
                .map_err(|e| SmtpError::Handshake(authority.clone(), e))?;
            (tls, greeting)
        }
    };
    let heard = Arc::new(Mutex::new(Vec::new()));
    let stream = Stream {
        tls,
        peer,
        replay: greeting,
        replayed: 0,
        heard: heard.clone(),
    };
    // Implicit TLS: lettre reads the server's greeting inside TLS. STARTTLS: it reads the
    // replayed one and sends EHLO again inside TLS.
    let connection = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &client_id)
        .await
        .map_err(|e| SmtpError::Protocol(format!("after TLS: {e}")))?;
    let offers_dsn = heard
        .lock()
        .map(|heard| announces(&heard, "DSN"))
        .unwrap_or(false);
    Ok((connection, offers_dsn))
}

/// Whether the EHLO answer among `heard` announces `keyword`. lettre keeps only the
/// extensions it knows (DSN is not one), so the gateway reads the answer itself.
fn announces(heard: &[u8], keyword: &str) -> bool {
    String::from_utf8_lossy(heard).lines().any(|line| {
        (line.starts_with("250-") || line.starts_with("250 "))
            && line
                .get(4..)
                .and_then(|rest| rest.split_whitespace().next())
                .is_some_and(|word| word.eq_ignore_ascii_case(keyword))
    })
}

/// How much of the server's first words is kept to read its EHLO answer.
const HEARD_LIMIT: usize = 8 * 1024;

/// Bytes of a reply whose lines start with `code`; a reply with another code is an error.
async fn read_reply(reader: &mut BufReader<TcpStream>, code: &str) -> Result<Vec<u8>, SmtpError> {
    let mut reply = Vec::new();
    loop {
        let line = crate::line::read_line(reader, 1024)
            .await
            .map_err(|e| SmtpError::Protocol(e.to_string()))?
            .ok_or_else(|| {
                SmtpError::Protocol("connection closed during the clear-text exchange".into())
            })?;
        if !line.starts_with(code.as_bytes()) {
            return Err(SmtpError::Refused {
                permanent: line.starts_with(b"5"),
                message: String::from_utf8_lossy(&line).trim().to_string(),
            });
        }
        let last = line.get(3) == Some(&b' ') || line.len() <= 5;
        reply.extend_from_slice(&line);
        if last {
            return Ok(reply);
        }
        if reply.len() > 16 * 1024 {
            return Err(SmtpError::Protocol("reply too long".into()));
        }
    }
}

/// The TLS stream lettre drives, replaying the clear-text greeting first after STARTTLS
/// and keeping the first [`HEARD_LIMIT`] bytes the server says.
struct Stream {
    tls: TlsStream<TcpStream>,
    peer: SocketAddr,
    replay: Vec<u8>,
    replayed: usize,
    heard: Arc<Mutex<Vec<u8>>>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("peer", &self.peer).finish()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let poll = if this.replayed < this.replay.len() {
            let rest = &this.replay[this.replayed..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.replayed += n;
            Poll::Ready(Ok(()))
        } else {
            Pin::new(&mut this.tls).poll_read(cx, buf)
        };
        if let Ok(mut heard) = this.heard.lock() {
            let room = HEARD_LIMIT.saturating_sub(heard.len());
            let new = &buf.filled()[before..];
            heard.extend_from_slice(&new[..new.len().min(room)]);
        }
        poll
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Stream {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_say_how_tls_starts() {
        assert_eq!(
            Endpoint::parse("smtps://smtp.operator.example").expect("url"),
            Endpoint {
                host: "smtp.operator.example".into(),
                port: 465,
                security: Security::Implicit
            }
        );
        assert_eq!(
            Endpoint::parse("smtp://localhost:2525")
                .expect("url")
                .security,
            Security::StartTls
        );
        assert!(Endpoint::parse("http://x").is_err());
        assert!(Endpoint::parse("smtp://:25").is_err());
        assert!(Endpoint::parse("smtp://h:port").is_err());
    }

    #[test]
    fn extensions_are_read_from_the_ehlo_answer_only() {
        let heard = b"220 mx ready, DSN spoken here\r\n250-mx\r\n250-DSN\r\n250 SIZE 100\r\n";
        assert!(announces(heard, "DSN"));
        assert!(announces(heard, "size"));
        assert!(!announces(b"220 DSN\r\n250-mx\r\n250 8BITMIME\r\n", "DSN"));
    }
}
