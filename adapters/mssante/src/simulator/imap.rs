//! The operator's IMAP side: the subset (RFC 9051 / 3501) a program needs to read a
//! mailbox. Clients authenticate with their certificate (`AUTHENTICATE EXTERNAL`, the
//! authorisation identity naming the mailbox); `LOGIN` is refused.

use std::sync::Arc;

use base64::Engine;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::{Operator, Stored};
use crate::address::Address;

const MAX_LINE: u64 = 8 * 1024;
/// What the server announces, with SASL-IR unless the behaviour says otherwise.
fn capabilities(operator: &Operator) -> &'static str {
    if operator.behaviour().imap_without_sasl_ir {
        "IMAP4rev1 AUTH=EXTERNAL"
    } else {
        "IMAP4rev1 AUTH=EXTERNAL SASL-IR"
    }
}

pub(super) async fn listen(listener: TcpListener, acceptor: TlsAcceptor, operator: Arc<Operator>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let operator = operator.clone();
        tokio::spawn(async move {
            if let Ok(tls) = acceptor.accept(tcp).await {
                let _ = Session {
                    io: BufReader::new(tls),
                    operator,
                    mailbox: None,
                    selected: false,
                }
                .run()
                .await;
            }
        });
    }
}

struct Session<S> {
    io: BufReader<S>,
    operator: Arc<Operator>,
    mailbox: Option<String>,
    selected: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.io.get_mut().write_all(bytes).await
    }

    async fn line(&mut self, text: &str) -> std::io::Result<()> {
        self.send(format!("{text}\r\n").as_bytes()).await?;
        self.io.get_mut().flush().await
    }

    async fn read_line(&mut self) -> std::io::Result<Option<String>> {
        crate::line::read_text(&mut self.io, MAX_LINE).await
    }

    async fn run(mut self) -> std::io::Result<()> {
        let capabilities = capabilities(&self.operator);
        self.line(&format!(
            "* OK [CAPABILITY {capabilities}] MSSanté simulator ready"
        ))
        .await?;
        while let Some(line) = self.read_line().await? {
            let mut words = line.split(' ');
            let tag = words.next().unwrap_or_default().to_string();
            let command = words.next().unwrap_or_default().to_ascii_uppercase();
            let rest: Vec<String> = words.map(str::to_string).collect();
            if tag.is_empty() || command.is_empty() {
                self.line("* BAD empty command").await?;
                continue;
            }
            match command.as_str() {
                "CAPABILITY" => {
                    self.line(&format!("* CAPABILITY {capabilities}")).await?;
                    self.line(&format!("{tag} OK CAPABILITY completed")).await?;
                }
                "NOOP" => self.line(&format!("{tag} OK NOOP completed")).await?,
                "LOGOUT" => {
                    self.line("* BYE logging out").await?;
                    return self.line(&format!("{tag} OK LOGOUT completed")).await;
                }
                "LOGIN" => {
                    self.line(&format!(
                        "{tag} NO [PRIVACYREQUIRED] authenticate with the client certificate (AUTHENTICATE EXTERNAL)"
                    ))
                    .await?
                }
                "AUTHENTICATE" => self.authenticate(&tag, &rest).await?,
                _ if self.mailbox.is_none() => {
                    self.line(&format!("{tag} NO authenticate first")).await?
                }
                "SELECT" | "EXAMINE" => self.select(&tag, &rest).await?,
                _ if !self.selected => self.line(&format!("{tag} NO select a mailbox first")).await?,
                "UID" => self.uid(&tag, &rest).await?,
                "EXPUNGE" => self.expunge(&tag).await?,
                "CLOSE" => {
                    self.selected = false;
                    self.line(&format!("{tag} OK CLOSE completed")).await?
                }
                _ => self.line(&format!("{tag} BAD command not supported")).await?,
            }
        }
        Ok(())
    }

    async fn authenticate(&mut self, tag: &str, rest: &[String]) -> std::io::Result<()> {
        if !rest
            .first()
            .is_some_and(|m| m.eq_ignore_ascii_case("EXTERNAL"))
        {
            return self
                .line(&format!("{tag} NO only EXTERNAL is offered"))
                .await;
        }
        let response = match rest.get(1) {
            Some(_) if self.operator.behaviour().imap_without_sasl_ir => {
                return self
                    .line(&format!(
                        "{tag} BAD initial response without SASL-IR (RFC 4959)"
                    ))
                    .await;
            }
            Some(initial) => initial.clone(),
            None => {
                self.line("+ ").await?;
                self.read_line().await?.unwrap_or_default()
            }
        };
        let authzid = base64::engine::general_purpose::STANDARD
            .decode(response.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match authzid.as_deref().map(|a| Address::parse(a, &[])) {
            Some(Ok(address)) => {
                self.operator.read_by_software(&address.to_string());
                self.mailbox = Some(address.to_string());
                self.line(&format!("{tag} OK AUTHENTICATE completed")).await
            }
            _ => {
                self.line(&format!(
                    "{tag} NO [AUTHENTICATIONFAILED] the authorisation identity must name an MSSanté mailbox"
                ))
                .await
            }
        }
    }

    fn messages(&self) -> Vec<Stored> {
        self.mailbox
            .as_deref()
            .map(|m| self.operator.mailbox(m))
            .unwrap_or_default()
    }

    async fn select(&mut self, tag: &str, rest: &[String]) -> std::io::Result<()> {
        if !rest
            .first()
            .is_some_and(|m| m.trim_matches('"').eq_ignore_ascii_case("INBOX"))
        {
            return self
                .line(&format!("{tag} NO [NONEXISTENT] only INBOX exists"))
                .await;
        }
        let messages = self.messages();
        let next = messages.last().map(|m| m.uid + 1).unwrap_or(1);
        self.line(&format!("* {} EXISTS", messages.len())).await?;
        self.line("* FLAGS (\\Seen \\Deleted)").await?;
        self.line("* OK [UIDVALIDITY 1] UIDs valid").await?;
        self.line(&format!("* OK [UIDNEXT {next}] next UID"))
            .await?;
        self.selected = true;
        self.line(&format!("{tag} OK [READ-WRITE] SELECT completed"))
            .await
    }

    async fn uid(&mut self, tag: &str, rest: &[String]) -> std::io::Result<()> {
        let command = rest
            .first()
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or_default();
        let args = &rest[rest.len().min(1)..];
        let messages = self.messages();
        match command.as_str() {
            "SEARCH" => {
                let criteria = args.join(" ").to_ascii_uppercase();
                let uids: Vec<String> = messages
                    .iter()
                    .filter(|m| !m.deleted)
                    .filter(|m| match criteria.as_str() {
                        "UNSEEN" => !m.seen,
                        "SEEN" => m.seen,
                        _ => true,
                    })
                    .map(|m| m.uid.to_string())
                    .collect();
                if !matches!(criteria.as_str(), "ALL" | "UNSEEN" | "SEEN") {
                    return self
                        .line(&format!("{tag} BAD search criteria not supported"))
                        .await;
                }
                self.line(format!("* SEARCH {}", uids.join(" ")).trim_end())
                    .await?;
                self.line(&format!("{tag} OK SEARCH completed")).await
            }
            "FETCH" => {
                let (Some(set), Some(items)) = (args.first(), args.get(1..)) else {
                    return self.line(&format!("{tag} BAD FETCH set items")).await;
                };
                let items = items.join(" ").to_ascii_uppercase();
                let peek = items.contains("BODY.PEEK[]");
                if !(peek || items.contains("BODY[]") || items.contains("RFC822")) {
                    return self
                        .line(&format!("{tag} BAD only whole messages are served"))
                        .await;
                }
                for (i, message) in messages.iter().enumerate() {
                    if message.deleted || !in_set(set, message.uid, messages.last().map(|m| m.uid))
                    {
                        continue;
                    }
                    let header = format!(
                        "* {} FETCH (UID {} BODY[] {{{}}}\r\n",
                        i + 1,
                        message.uid,
                        message.bytes.len()
                    );
                    self.send(header.as_bytes()).await?;
                    self.send(&message.bytes).await?;
                    self.send(b")\r\n").await?;
                    if !peek {
                        self.flag(message.uid, |m| m.seen = true);
                    }
                }
                self.line(&format!("{tag} OK FETCH completed")).await
            }
            "STORE" => {
                let (Some(set), Some(op)) = (args.first(), args.get(1)) else {
                    return self.line(&format!("{tag} BAD STORE set flags")).await;
                };
                let flags = args[2.min(args.len())..].join(" ").to_ascii_uppercase();
                let add = op.starts_with('+');
                if !(add || op.starts_with('-')) {
                    return self
                        .line(&format!("{tag} BAD only +FLAGS and -FLAGS"))
                        .await;
                }
                let last = messages.last().map(|m| m.uid);
                for message in &messages {
                    if in_set(set, message.uid, last) {
                        self.flag(message.uid, |m| {
                            if flags.contains("\\SEEN") {
                                m.seen = add;
                            }
                            if flags.contains("\\DELETED") {
                                m.deleted = add;
                            }
                        });
                    }
                }
                self.line(&format!("{tag} OK STORE completed")).await
            }
            _ => {
                self.line(&format!("{tag} BAD UID command not supported"))
                    .await
            }
        }
    }

    fn flag(&self, uid: u32, change: impl FnOnce(&mut Stored)) {
        if let Some(mailbox) = &self.mailbox {
            self.operator.with_mailbox(mailbox, |messages| {
                if let Some(m) = messages.iter_mut().find(|m| m.uid == uid) {
                    change(m);
                }
            });
        }
    }

    async fn expunge(&mut self, tag: &str) -> std::io::Result<()> {
        let Some(mailbox) = self.mailbox.clone() else {
            return self.line(&format!("{tag} NO authenticate first")).await;
        };
        let removed = self.operator.with_mailbox(&mailbox, |messages| {
            let mut removed = Vec::new();
            let mut i = 0;
            while i < messages.len() {
                if messages[i].deleted {
                    messages.remove(i);
                    removed.push(i + 1);
                } else {
                    i += 1;
                }
            }
            removed
        });
        for sequence in removed {
            self.line(&format!("* {sequence} EXPUNGE")).await?;
        }
        self.line(&format!("{tag} OK EXPUNGE completed")).await
    }
}

/// Whether `uid` is in an IMAP sequence set (`1,3:5,7:*`).
fn in_set(set: &str, uid: u32, last: Option<u32>) -> bool {
    let value = |v: &str| -> Option<u32> { if v == "*" { last } else { v.parse().ok() } };
    set.split(',').any(|part| match part.split_once(':') {
        Some((a, b)) => match (value(a), value(b)) {
            (Some(a), Some(b)) => (a.min(b)..=a.max(b)).contains(&uid),
            _ => false,
        },
        None => value(part) == Some(uid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_sets() {
        assert!(in_set("1,3:5", 4, Some(9)));
        assert!(!in_set("1,3:5", 2, Some(9)));
        assert!(in_set("7:*", 9, Some(9)));
        assert!(in_set("*", 9, Some(9)));
        assert!(!in_set("x", 1, None));
    }
}
