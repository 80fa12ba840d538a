//! The operator's SMTP side (RFC 5321, RFC 3207).

use std::sync::Arc;

use crt_core::simulate;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::{MAX_MESSAGE_BYTES, MAX_RECIPIENTS, Operator, inspect, notify};
use crate::address::Address;

/// Longest command line accepted (RFC 5321 §4.5.3.1.4), and text line in DATA.
const MAX_COMMAND_LINE: u64 = 512;
const MAX_TEXT_LINE: u64 = 1000;
const HOST: &str = "mssante-simulator.localhost";

#[derive(Debug, Clone, Copy)]
pub(super) enum Mode {
    StartTls,
    Implicit,
}

pub(super) async fn listen(
    listener: TcpListener,
    mode: Mode,
    acceptor: TlsAcceptor,
    operator: Arc<Operator>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let operator = operator.clone();
        tokio::spawn(async move {
            let _ = match mode {
                Mode::Implicit => match acceptor.accept(tcp).await {
                    // A refused handshake (no certificate, unknown CA, TLS < 1.2, no
                    // common suite) ends the connection.
                    Ok(tls) => {
                        let mut session = Session::new(BufReader::new(tls), operator);
                        session
                            .reply("220 {HOST} ESMTP MSSanté simulator")
                            .await
                            .ok();
                        session.secure().await
                    }
                    Err(_) => return,
                },
                Mode::StartTls => clear(tcp, acceptor, operator).await,
            };
        });
    }
}

/// The clear-text part of a STARTTLS session: only EHLO, STARTTLS, NOOP, RSET and QUIT.
async fn clear(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    operator: Arc<Operator>,
) -> std::io::Result<()> {
    let mut session = Session::new(BufReader::new(tcp), operator.clone());
    session.reply("220 {HOST} ESMTP MSSanté simulator").await?;
    loop {
        let Some(line) = session.command().await? else {
            return Ok(());
        };
        let verb = verb(&line);
        match verb.as_str() {
            "EHLO" | "HELO" => {
                session
                    .reply(&format!(
                        "250-{HOST}\r\n250-STARTTLS\r\n250 SIZE {MAX_MESSAGE_BYTES}"
                    ))
                    .await?
            }
            "STARTTLS" => {
                session.reply("220 2.0.0 Ready to start TLS").await?;
                let reader = session.reader;
                if !reader.buffer().is_empty() {
                    // Commands pipelined before the handshake would be injected into the
                    // TLS session (CVE-2011-0411): refuse.
                    return Ok(());
                }
                let Ok(tls) = acceptor.accept(reader.into_inner()).await else {
                    return Ok(());
                };
                return Session::new(BufReader::new(tls), operator).secure().await;
            }
            "NOOP" | "RSET" => session.reply("250 2.0.0 OK").await?,
            "QUIT" => return session.reply("221 2.0.0 Bye").await,
            _ => {
                session
                    .reply("530 5.7.0 Must issue a STARTTLS command first")
                    .await?
            }
        }
    }
}

struct Session<S> {
    reader: BufReader<S>,
    operator: Arc<Operator>,
}

/// One mail transaction.
#[derive(Default)]
struct Transaction {
    from: Option<Address>,
    recipients: Vec<Address>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    fn new(reader: BufReader<S>, operator: Arc<Operator>) -> Self {
        Session { reader, operator }
    }

    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        let text = text.replace("{HOST}", HOST);
        let stream = self.reader.get_mut();
        stream.write_all(text.as_bytes()).await?;
        stream.write_all(b"\r\n").await?;
        stream.flush().await
    }

    /// The next command line without its CRLF; `None` at the end of the connection or on
    /// a line too long to be a command.
    async fn command(&mut self) -> std::io::Result<Option<String>> {
        crate::line::read_text(&mut self.reader, MAX_COMMAND_LINE).await
    }

    /// Commands once TLS is established.
    async fn secure(&mut self) -> std::io::Result<()> {
        let mut greeted = false;
        let mut transaction = Transaction::default();
        loop {
            let Some(line) = self.command().await? else {
                return Ok(());
            };
            match verb(&line).as_str() {
                "EHLO" | "HELO" => {
                    greeted = true;
                    transaction = Transaction::default();
                    self.reply(&format!(
                        "250-{HOST}\r\n250-8BITMIME\r\n250 SIZE {MAX_MESSAGE_BYTES}"
                    ))
                    .await?;
                }
                "STARTTLS" => self.reply("503 5.5.1 TLS already active").await?,
                "MAIL" if !greeted => self.reply("503 5.5.1 EHLO first").await?,
                "MAIL" => match path(&line, "MAIL FROM:") {
                    Some(from) => match Address::parse(&from, &[]) {
                        Ok(address) => {
                            transaction = Transaction {
                                from: Some(address),
                                recipients: Vec::new(),
                            };
                            self.reply("250 2.1.0 Sender OK").await?
                        }
                        Err(e) => self.reply(&format!("550 5.7.1 {e}")).await?,
                    },
                    None => self.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await?,
                },
                "RCPT" if transaction.from.is_none() => self.reply("503 5.5.1 MAIL first").await?,
                "RCPT" => match path(&line, "RCPT TO:") {
                    _ if transaction.recipients.len() >= MAX_RECIPIENTS => {
                        self.reply("452 4.5.3 Too many recipients").await?
                    }
                    Some(to) => match Address::parse(&to, &[]) {
                        Ok(address) => {
                            transaction.recipients.push(address);
                            self.reply("250 2.1.5 Recipient OK").await?
                        }
                        Err(crate::AddressError::Syntax(_)) => {
                            self.reply("501 5.1.3 Bad recipient address syntax").await?
                        }
                        Err(e) => self.reply(&format!("550 5.7.1 {e}")).await?,
                    },
                    None => self.reply("501 5.5.4 Syntax: RCPT TO:<address>").await?,
                },
                "DATA" if transaction.recipients.is_empty() => {
                    self.reply("503 5.5.1 RCPT first").await?
                }
                "DATA" => {
                    self.reply("354 End data with <CR><LF>.<CR><LF>").await?;
                    let Some(data) = self.data().await? else {
                        self.reply("552 5.3.4 Message too big").await?;
                        transaction = Transaction::default();
                        continue;
                    };
                    let reply = self.accept(&transaction, data);
                    self.reply(&reply).await?;
                    transaction = Transaction::default();
                }
                "RSET" => {
                    transaction = Transaction::default();
                    self.reply("250 2.0.0 OK").await?
                }
                "NOOP" => self.reply("250 2.0.0 OK").await?,
                "QUIT" => return self.reply("221 2.0.0 Bye").await,
                "AUTH" => {
                    self.reply("503 5.5.1 Already authenticated by the client certificate")
                        .await?
                }
                _ => self.reply("502 5.5.2 Command not recognised").await?,
            }
        }
    }

    /// The message up to the lone dot, dot-stuffing removed; `None` when larger than the
    /// limit (the rest is read and dropped so that the session can go on).
    async fn data(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut data = Vec::new();
        let mut too_big = false;
        loop {
            let mut line = Vec::new();
            let read = (&mut self.reader)
                .take(MAX_TEXT_LINE + 2)
                .read_until(b'\n', &mut line)
                .await?;
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == b".\r\n" || line == b".\n" {
                return Ok((!too_big).then_some(data));
            }
            let line = line.strip_prefix(b".").unwrap_or(&line);
            if data.len() + line.len() > MAX_MESSAGE_BYTES {
                too_big = true;
                data.clear();
            }
            if !too_big {
                data.extend_from_slice(line);
            }
        }
    }

    /// Checks and stores a message; the reply to give.
    fn accept(&self, transaction: &Transaction, data: Vec<u8>) -> String {
        let inspected = match inspect(&data) {
            Ok(inspected) => inspected,
            Err(problems) => {
                return format!(
                    "554 5.6.0 Message refused: {}",
                    problems.join("; ").replace(['\r', '\n'], " ")
                );
            }
        };
        let Some(sender) = &transaction.from else {
            return "503 5.5.1 MAIL first".into();
        };
        let behaviour = self.operator.behaviour();
        let bytes = Arc::new(data);
        for recipient in &transaction.recipients {
            let key = recipient.to_string().to_ascii_lowercase();
            if behaviour.bouncing.contains(&key) {
                let headers = header_block(&bytes);
                self.operator.deliver(
                    &sender.to_string(),
                    Arc::new(notify::dsn(
                        &sender.to_string(),
                        &recipient.to_string(),
                        &headers,
                        &inspected.subject,
                    )),
                );
                continue;
            }
            self.operator.deliver(&recipient.to_string(), bytes.clone());
            if let Some(notify_to) = &inspected.notify {
                let error = behaviour
                    .integration_errors
                    .contains(&key)
                    .then_some(("902", "Identifiant de patient inconnu"));
                self.operator.deliver(
                    notify_to,
                    Arc::new(notify::mdn(
                        &recipient.to_string(),
                        notify_to,
                        &inspected.message_id,
                        &inspected.subject,
                        error,
                    )),
                );
            }
        }
        if let Ok(mut accepted) = self.operator.accepted.lock() {
            if accepted.len() >= simulate::RETAINED {
                accepted.remove(0);
            }
            accepted.push(inspected.message_id.clone());
        }
        format!("250 2.0.0 Ok: queued as {}", uuid::Uuid::now_v7().simple())
    }
}

fn verb(line: &str) -> String {
    line.split([' ', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// The address of `MAIL FROM:<a>` or `RCPT TO:<a>` (parameters after it ignored).
fn path(line: &str, prefix: &str) -> Option<String> {
    let head = line.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = line[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

/// The header block of a message, for DSNs (`text/rfc822-headers`).
fn header_block(message: &[u8]) -> String {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    String::from_utf8_lossy(&message[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_mail_and_rcpt_commands() {
        assert_eq!(
            path("MAIL FROM:<a@b.mssante.fr> BODY=8BITMIME", "MAIL FROM:").as_deref(),
            Some("a@b.mssante.fr")
        );
        assert_eq!(
            path("rcpt to: <x@y.fr>", "RCPT TO:").as_deref(),
            Some("x@y.fr")
        );
        assert_eq!(path("RCPT TO:x@y.fr", "RCPT TO:"), None);
        assert_eq!(verb("mail FROM:<x>"), "MAIL");
    }
}
