//! The operator's SMTP side (RFC 5321, RFC 3207), with delivery status notifications
//! (RFC 3461: `NOTIFY`, `RET`, `ENVID`, `ORCPT`).

use std::sync::Arc;

use crt_core::simulate;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::{MAX_MESSAGE_BYTES, MAX_RECIPIENTS, Operator, inspect, notify};
use crate::address::Address;
use crate::mdn::{self, IntegrationError};

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
    recipients: Vec<Recipient>,
    /// What a DSN returns of the message (`RET`): headers unless `FULL` is asked.
    return_full: bool,
    envelope_id: Option<String>,
}

struct Recipient {
    address: Address,
    /// `NOTIFY`; `None` is the default (failures and delays, RFC 3461 §4.1).
    notify: Option<Vec<String>>,
}

impl Recipient {
    fn wants_failure_report(&self) -> bool {
        self.notify
            .as_ref()
            .is_none_or(|notify| notify.iter().any(|n| n == "FAILURE"))
    }
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
        self.operator.count_smtp_session();
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
                        "250-{HOST}\r\n250-8BITMIME\r\n250-DSN\r\n250 SIZE {MAX_MESSAGE_BYTES}"
                    ))
                    .await?;
                }
                "STARTTLS" => self.reply("503 5.5.1 TLS already active").await?,
                "MAIL" if !greeted => self.reply("503 5.5.1 EHLO first").await?,
                "MAIL" => match path(&line, "MAIL FROM:") {
                    Some(from) => match (Address::parse(&from, &[]), mail_parameters(&line)) {
                        (_, Err(reply)) => self.reply(&reply).await?,
                        (Ok(address), Ok((return_full, envelope_id))) => {
                            // Software that sends from a mailbox with its certificate
                            // reads it too, and answers MDNs itself.
                            self.operator.read_by_software(&address.to_string());
                            transaction = Transaction {
                                from: Some(address),
                                recipients: Vec::new(),
                                return_full,
                                envelope_id,
                            };
                            self.reply("250 2.1.0 Sender OK").await?
                        }
                        (Err(e), _) => self.reply(&format!("550 5.7.1 {e}")).await?,
                    },
                    None => self.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await?,
                },
                "RCPT" if transaction.from.is_none() => self.reply("503 5.5.1 MAIL first").await?,
                "RCPT" => match path(&line, "RCPT TO:") {
                    _ if transaction.recipients.len() >= MAX_RECIPIENTS => {
                        self.reply("452 4.5.3 Too many recipients").await?
                    }
                    Some(to) => match (Address::parse(&to, &[]), rcpt_parameters(&line)) {
                        (_, Err(reply)) => self.reply(&reply).await?,
                        (Ok(address), Ok(notify)) => {
                            transaction.recipients.push(Recipient { address, notify });
                            self.reply("250 2.1.5 Recipient OK").await?
                        }
                        (Err(crate::AddressError::Syntax(_)), _) => {
                            self.reply("501 5.1.3 Bad recipient address syntax").await?
                        }
                        (Err(e), _) => self.reply(&format!("550 5.7.1 {e}")).await?,
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
                    if self.operator.behaviour().one_message_per_session {
                        return Ok(());
                    }
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
        for wanted in &transaction.recipients {
            let recipient = &wanted.address;
            let key = recipient.to_string().to_ascii_lowercase();
            if behaviour.bouncing.contains(&key) {
                if wanted.wants_failure_report() {
                    let returned = if transaction.return_full {
                        notify::Returned::Message(&bytes)
                    } else {
                        notify::Returned::Headers(header_block(&bytes))
                    };
                    self.operator.deliver(
                        &sender.to_string(),
                        Arc::new(notify::dsn(
                            &sender.to_string(),
                            &recipient.to_string(),
                            transaction.envelope_id.as_deref(),
                            returned,
                            &inspected.subject,
                        )),
                    );
                }
                continue;
            }
            self.operator.deliver(&recipient.to_string(), bytes.clone());
            // A mailbox some software reads answers for itself; the others' systems
            // answer here.
            if let Some(notify_to) = inspected.notify.as_deref()
                && !self.operator.is_read_by_software(&key)
            {
                let error = behaviour
                    .integration_errors
                    .contains(&key)
                    .then_some(IntegrationError::UNKNOWN_PATIENT);
                self.operator.deliver(
                    notify_to,
                    Arc::new(mdn::compose(&mdn::Disposition {
                        reporting_ua: HOST,
                        recipient: &recipient.to_string(),
                        to: notify_to,
                        original_message_id: &inspected.message_id,
                        subject: &inspected.subject,
                        error,
                        original: None,
                        product_reference: "MSSANTE-SIMULATOR-RECIPIENT",
                    })),
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

/// The `KEY=value` parameters after the path of `MAIL FROM:<…>` or `RCPT TO:<…>`, keys
/// upper-cased and values decoded from xtext (RFC 3461 §4).
fn parameters(line: &str) -> Result<Vec<(String, String)>, String> {
    let after = line.find('>').map(|end| &line[end + 1..]).unwrap_or("");
    after
        .split_whitespace()
        .map(|parameter| {
            let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
            Ok((key.to_ascii_uppercase(), xtext_decode(value)?))
        })
        .collect()
}

fn xtext_decode(value: &str) -> Result<String, String> {
    let mut out = Vec::new();
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b == b'+' {
            let hex: Vec<u8> = bytes.by_ref().take(2).collect();
            let byte = std::str::from_utf8(&hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("501 5.5.4 bad xtext")?;
            out.push(byte);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| "501 5.5.4 bad xtext".to_string())
}

/// `RET` (whether a DSN returns the whole message) and `ENVID` of `MAIL FROM`.
fn mail_parameters(line: &str) -> Result<(bool, Option<String>), String> {
    let mut return_full = false;
    let mut envelope_id = None;
    for (key, value) in parameters(line)? {
        match key.as_str() {
            "RET" => match value.to_ascii_uppercase().as_str() {
                "FULL" => return_full = true,
                "HDRS" => return_full = false,
                _ => return Err("501 5.5.4 RET must be FULL or HDRS".into()),
            },
            "ENVID" if value.len() <= 100 => envelope_id = Some(value),
            "ENVID" => return Err("501 5.5.4 ENVID longer than 100 characters".into()),
            "BODY" | "SIZE" => {}
            _ => return Err(format!("555 5.5.4 {key} not supported")),
        }
    }
    Ok((return_full, envelope_id))
}

/// `NOTIFY` of `RCPT TO` (RFC 3461 §4.1): `NEVER` alone, or some of `SUCCESS`,
/// `FAILURE`, `DELAY`.
fn rcpt_parameters(line: &str) -> Result<Option<Vec<String>>, String> {
    let mut notify = None;
    for (key, value) in parameters(line)? {
        match key.as_str() {
            "NOTIFY" => {
                let values: Vec<String> = value.split(',').map(str::to_ascii_uppercase).collect();
                let never = values.iter().any(|v| v == "NEVER");
                let known = values
                    .iter()
                    .all(|v| matches!(v.as_str(), "NEVER" | "SUCCESS" | "FAILURE" | "DELAY"));
                if !known || (never && values.len() > 1) {
                    return Err(
                        "501 5.5.4 NOTIFY is NEVER or a list of SUCCESS, FAILURE, DELAY".into(),
                    );
                }
                notify = Some(values);
            }
            "ORCPT" if value.contains(';') => {}
            "ORCPT" => return Err("501 5.5.4 ORCPT is addr-type;address".into()),
            _ => return Err(format!("555 5.5.4 {key} not supported")),
        }
    }
    Ok(notify)
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

    #[test]
    fn dsn_parameters_are_read_and_checked() {
        assert_eq!(
            mail_parameters("MAIL FROM:<a@b> RET=HDRS ENVID=id+2Bone@x"),
            Ok((false, Some("id+one@x".into())))
        );
        assert!(mail_parameters("MAIL FROM:<a@b> RET=ALL").is_err());
        assert!(mail_parameters("MAIL FROM:<a@b> AUTH=<>").is_err());
        assert_eq!(
            rcpt_parameters("RCPT TO:<a@b> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a@b"),
            Ok(Some(vec!["FAILURE".into(), "DELAY".into()]))
        );
        assert!(rcpt_parameters("RCPT TO:<a@b> NOTIFY=NEVER,FAILURE").is_err());
        let never = Recipient {
            address: Address::parse("a@b.mssante.fr", &[]).expect("address"),
            notify: Some(vec!["NEVER".into()]),
        };
        assert!(!never.wants_failure_report());
    }
}
