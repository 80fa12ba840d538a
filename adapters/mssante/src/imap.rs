//! Reading a structure's mailbox over IMAPS: mutual TLS with the MSSanté policy, SASL
//! EXTERNAL (the certificate authenticates, the authorisation identity names the
//! mailbox), and the few commands acknowledgements need.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Bounds on what a server may send.
const MAX_LINE: u64 = 64 * 1024;
const MAX_LITERAL: usize = 32 * 1024 * 1024;

/// `imaps://host[:port]` (993 by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let rest = url
            .strip_prefix("imaps://")
            .ok_or_else(|| format!("{url}: expected imaps://host[:port]"))?
            .trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse().map_err(|_| format!("{url}: invalid port"))?,
            ),
            None => (rest, 993),
        };
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS handshake with {0}: {1}")]
    Handshake(String, std::io::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the server answered {0}")]
    Refused(String),
    #[error("unexpected answer: {0}")]
    Protocol(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// One untagged answer line, with the literals it carried.
#[derive(Debug, Default)]
struct Untagged {
    line: String,
    literals: Vec<Vec<u8>>,
}

/// An authenticated session with INBOX selected.
pub struct Session {
    io: BufReader<TlsStream<TcpStream>>,
    next_tag: u32,
    timeout: Duration,
}

impl Session {
    /// Connects, authenticates as `mailbox` and selects INBOX.
    pub async fn open(
        endpoint: &Endpoint,
        tls: Arc<ClientConfig>,
        mailbox: &str,
        timeout: Duration,
    ) -> Result<Session, ImapError> {
        let authority = format!("{}:{}", endpoint.host, endpoint.port);
        let connect = async {
            let tcp = TcpStream::connect(&authority)
                .await
                .map_err(|e| ImapError::Connect(authority.clone(), e))?;
            let _ = tcp.set_nodelay(true);
            let name = ServerName::try_from(endpoint.host.clone())
                .map_err(|e| ImapError::Protocol(e.to_string()))?;
            TlsConnector::from(tls)
                .connect(name, tcp)
                .await
                .map_err(|e| ImapError::Handshake(authority.clone(), e))
        };
        let tls = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| ImapError::Timeout(timeout))??;
        let mut session = Session {
            io: BufReader::new(tls),
            next_tag: 0,
            timeout,
        };
        let greeting = tokio::time::timeout(timeout, session_line(&mut session.io))
            .await
            .map_err(|_| ImapError::Timeout(timeout))??;
        if !greeting.starts_with("* OK") {
            return Err(ImapError::Refused(greeting));
        }
        let capabilities = match Capabilities::in_greeting(&greeting) {
            Some(capabilities) => capabilities,
            None => session.capabilities().await?,
        };
        if !capabilities.has("AUTH=EXTERNAL") {
            return Err(ImapError::Protocol(format!(
                "{authority} does not offer AUTHENTICATE EXTERNAL (certificate authentication)"
            )));
        }
        session
            .authenticate_external(mailbox, capabilities.has("SASL-IR"))
            .await?;
        session.command("SELECT INBOX").await?;
        Ok(session)
    }

    /// What the server announces, asked when the greeting did not say.
    async fn capabilities(&mut self) -> Result<Capabilities, ImapError> {
        let answers = self.command("CAPABILITY").await?;
        answers
            .iter()
            .find_map(|a| a.line.strip_prefix("* CAPABILITY "))
            .map(Capabilities::parse)
            .ok_or_else(|| ImapError::Protocol("no CAPABILITY in the answer".into()))
    }

    /// SASL EXTERNAL (RFC 4422 appendix A): the certificate authenticates, the
    /// authorisation identity names the mailbox. The identity goes with the command only
    /// when the server announced SASL-IR (RFC 4959); otherwise it answers the server's
    /// empty challenge, as RFC 3501 §6.2.2 has it.
    async fn authenticate_external(
        &mut self,
        mailbox: &str,
        initial_response: bool,
    ) -> Result<(), ImapError> {
        let authzid = base64::engine::general_purpose::STANDARD.encode(mailbox);
        if initial_response {
            return self
                .command(&format!("AUTHENTICATE EXTERNAL {authzid}"))
                .await
                .map(|_| ());
        }
        self.exchange("AUTHENTICATE EXTERNAL", Some(&authzid))
            .await
            .map(|_| ())
    }

    /// Sends a command and reads until its tagged answer, which must be OK.
    async fn command(&mut self, command: &str) -> Result<Vec<Untagged>, ImapError> {
        self.exchange(command, None).await
    }

    /// [`Session::command`], answering the server's one continuation request (`+`) with
    /// `continuation` when there is one.
    async fn exchange(
        &mut self,
        command: &str,
        mut continuation: Option<&str>,
    ) -> Result<Vec<Untagged>, ImapError> {
        self.next_tag += 1;
        let tag = format!("g{}", self.next_tag);
        let timeout = self.timeout;
        let io = &mut self.io;
        let exchange = async {
            send_line(io, &format!("{tag} {command}")).await?;
            let mut untagged = Vec::new();
            loop {
                let mut answer = Untagged::default();
                let mut line = session_line(io).await?;
                if line.starts_with('+') {
                    let Some(response) = continuation.take() else {
                        return Err(ImapError::Protocol(format!(
                            "unexpected continuation request {line:?}"
                        )));
                    };
                    send_line(io, response).await?;
                    continue;
                }
                // A line ending in {n} announces n bytes of literal, then the line goes on.
                while let Some(size) = literal_size(&line) {
                    if size > MAX_LITERAL {
                        return Err(ImapError::Protocol(format!("literal of {size} bytes")));
                    }
                    let mut literal = vec![0; size];
                    io.read_exact(&mut literal).await?;
                    answer.literals.push(literal);
                    let rest = session_line(io).await?;
                    line = format!("{line}{rest}");
                }
                if let Some(status) = line.strip_prefix(&format!("{tag} ")) {
                    return if status.starts_with("OK") {
                        Ok(untagged)
                    } else {
                        Err(ImapError::Refused(status.to_string()))
                    };
                }
                answer.line = line;
                untagged.push(answer);
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ImapError::Timeout(timeout))?
    }

    /// UIDs of messages not yet seen.
    pub async fn unseen(&mut self) -> Result<Vec<u32>, ImapError> {
        let answers = self.command("UID SEARCH UNSEEN").await?;
        Ok(answers
            .iter()
            .filter_map(|a| a.line.strip_prefix("* SEARCH"))
            .flat_map(|rest| rest.split_whitespace().filter_map(|n| n.parse().ok()))
            .collect())
    }

    /// The whole message `uid`, without marking it seen; `None` when the mailbox no
    /// longer holds it (expunged since the search: RFC 3501 §6.4.8 has the server ignore
    /// a UID that does not exist, so the answer is an OK with no message).
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        let answers = self
            .command(&format!("UID FETCH {uid} (UID BODY.PEEK[])"))
            .await?;
        let Some(answer) = answers.into_iter().find(|a| a.line.contains("FETCH")) else {
            return Ok(None);
        };
        answer
            .literals
            .into_iter()
            .next()
            .map(Some)
            .ok_or_else(|| ImapError::Protocol(format!("no body for UID {uid}")))
    }

    /// Marks `uid` seen: it has been handled.
    pub async fn mark_seen(&mut self, uid: u32) -> Result<(), ImapError> {
        self.command(&format!("UID STORE {uid} +FLAGS.SILENT (\\Seen)"))
            .await
            .map(|_| ())
    }

    pub async fn logout(mut self) {
        let _ = self.command("LOGOUT").await;
    }
}

/// The capabilities a server announces (RFC 3501 §7.2.1), compared without case.
#[derive(Debug, Default)]
struct Capabilities(Vec<String>);

impl Capabilities {
    fn parse(list: &str) -> Capabilities {
        Capabilities(
            list.split_whitespace()
                .map(str::to_ascii_uppercase)
                .collect(),
        )
    }

    /// The `[CAPABILITY …]` response code of a greeting, when the server sends one.
    fn in_greeting(greeting: &str) -> Option<Capabilities> {
        let start = greeting.find("[CAPABILITY ")? + "[CAPABILITY ".len();
        let end = start + greeting.get(start..)?.find(']')?;
        Some(Capabilities::parse(greeting.get(start..end)?))
    }

    fn has(&self, capability: &str) -> bool {
        self.0.iter().any(|c| c.eq_ignore_ascii_case(capability))
    }
}

async fn send_line(io: &mut BufReader<TlsStream<TcpStream>>, line: &str) -> Result<(), ImapError> {
    io.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await?;
    io.get_mut().flush().await?;
    Ok(())
}

async fn session_line(io: &mut BufReader<TlsStream<TcpStream>>) -> Result<String, ImapError> {
    crate::line::read_text(io, MAX_LINE)
        .await?
        .ok_or_else(|| ImapError::Protocol("connection closed or line too long".into()))
}

/// `n` when `line` ends with `{n}`.
fn literal_size(line: &str) -> Option<usize> {
    let open = line.rfind('{')?;
    line.strip_suffix('}')?.get(open + 1..)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_endpoints() {
        assert_eq!(literal_size("* 1 FETCH (UID 4 BODY[] {123}"), Some(123));
        assert_eq!(literal_size("* 1 FETCH (UID 4)"), None);
        assert_eq!(
            Endpoint::parse("imaps://localhost:9930").expect("url"),
            Endpoint {
                host: "localhost".into(),
                port: 9930
            }
        );
        assert_eq!(
            Endpoint::parse("imaps://mail.example").expect("url").port,
            993
        );
        assert!(Endpoint::parse("imap://x").is_err());
    }

    #[test]
    fn capabilities_come_from_the_greeting_or_the_answer() {
        let greeting = "* OK [CAPABILITY IMAP4rev1 AUTH=EXTERNAL SASL-IR] ready";
        let announced = Capabilities::in_greeting(greeting).expect("capabilities");
        assert!(announced.has("sasl-ir") && announced.has("AUTH=EXTERNAL"));
        assert!(Capabilities::in_greeting("* OK ready").is_none());
        assert!(!Capabilities::parse("IMAP4rev1 AUTH=EXTERNAL").has("SASL-IR"));
    }
}
