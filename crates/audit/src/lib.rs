//! The access trace: one line per access to the API and per exchange with a national or
//! regional service, kept append-only and chained by hash.
//!
//! Each line holds the SHA-256 of the previous line's hash and of its own text, so
//! editing, inserting or deleting a line breaks the chain from that line on:
//! `crt-gateway audit verify` walks it and names the first line that does not hold.
//! Beneficiaries appear by a pseudonym (an HMAC of the CRT and the DUI's local id under a
//! key the operator keeps), never by name or INS: the trace answers "who touched whose
//! record, when, why, with what outcome" without becoming a second copy of health data.

pub mod digest;

use std::path::Path;

use ring::hmac;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::digest::hex;

/// The hash the first line chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One access or exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// RFC 3339, milliseconds, UTC.
    pub at: String,
    /// Who called: `token:<name>`, `certificate:<subject CN>`, `engine`, `cli`.
    pub caller: String,
    /// The calling structure (idNat_Struct), from its certificate or its token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<String>,
    /// The professional acting, as the request names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The beneficiary, by pseudonym.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiary: Option<String>,
    /// What was done: `record.submit`, `record.read`, `exchange.dmp`…
    pub action: String,
    /// What it was done to: a record id, a delivery id, a route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Why: `care-coordination`, `admission`, `operations`…
    pub purpose: String,
    /// How it ended: `allowed`, `denied:<rule>`, `delivered`, `retry`, `dead`, an HTTP status.
    pub outcome: String,
}

impl TraceEvent {
    /// An event now, with the fields every event has.
    pub fn now(caller: impl Into<String>, action: impl Into<String>, purpose: &str) -> Self {
        TraceEvent {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            caller: caller.into(),
            structure: None,
            actor: None,
            beneficiary: None,
            action: action.into(),
            object: None,
            purpose: purpose.to_string(),
            outcome: String::new(),
        }
    }
}

/// One line of the trace as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceLine {
    pub seq: i64,
    /// The event's JSON, exactly as hashed.
    pub entry: String,
    pub prev: String,
    pub hash: String,
}

/// The hash of a line: SHA-256 of the previous hash, a newline, and the line's text.
pub fn chain_hash(prev: &str, entry: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(prev.as_bytes());
    digest.update(b"\n");
    digest.update(entry.as_bytes());
    hex(&digest.finalize())
}

/// Where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace line {seq}: {reason}")]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

/// Walks the chain in order. `expected` is the hash the first line must chain to and the
/// sequence number it must have (the genesis and 1, or a checkpoint); the answer is the
/// hash and sequence number the next line must continue from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCursor {
    pub next_seq: i64,
    pub prev: String,
}

impl Default for ChainCursor {
    fn default() -> Self {
        ChainCursor {
            next_seq: 1,
            prev: GENESIS.to_string(),
        }
    }
}

impl ChainCursor {
    /// Checks the next line and moves on.
    pub fn check(&mut self, line: &TraceLine) -> Result<(), Broken> {
        let broken = |reason: String| Broken {
            seq: line.seq,
            reason,
        };
        if line.seq != self.next_seq {
            return Err(Broken {
                seq: self.next_seq,
                reason: format!(
                    "missing: the next line kept is {} (lines were deleted)",
                    line.seq
                ),
            });
        }
        if line.prev != self.prev {
            return Err(broken(
                "does not chain to the line before it (a line before was changed or removed)"
                    .into(),
            ));
        }
        if chain_hash(&line.prev, &line.entry) != line.hash {
            return Err(broken(
                "its content was changed after it was written".into(),
            ));
        }
        if serde_json::from_str::<TraceEvent>(&line.entry).is_err() {
            return Err(broken("is not a trace event".into()));
        }
        self.prev = line.hash.clone();
        self.next_seq += 1;
        Ok(())
    }
}

/// Beneficiary pseudonyms: HMAC-SHA-256 of `<FINESS ET>/<local id>` under a key kept
/// apart from the database, so that the trace alone does not name anyone and the CRT can
/// still find the lines of one beneficiary.
pub struct Pseudonyms {
    key: hmac::Key,
}

impl Pseudonyms {
    pub fn new(secret: &[u8]) -> Self {
        Pseudonyms {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The key in `path`, created (32 random bytes, owner-only) when absent.
    pub fn from_file(path: &Path) -> std::io::Result<Self> {
        if !path.exists() {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            write_private(path, crate::digest::random_hex_32()?.as_bytes())?;
        }
        let text = std::fs::read_to_string(path)?;
        Ok(Pseudonyms::new(text.trim().as_bytes()))
    }

    pub fn of(&self, crt_finess_et: &str, local_id: &str) -> String {
        let tag = hmac::sign(&self.key, format!("{crt_finess_et}/{local_id}").as_bytes());
        format!("p-{}", &hex(tag.as_ref())[..32])
    }
}

/// Writes a file only its owner may read.
pub fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(texts: &[&str]) -> Vec<TraceLine> {
        let mut prev = GENESIS.to_string();
        let mut lines = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let mut event = TraceEvent::now("engine", "exchange.dmp", "care-coordination");
            event.outcome = text.to_string();
            let entry = serde_json::to_string(&event).unwrap();
            let hash = chain_hash(&prev, &entry);
            lines.push(TraceLine {
                seq: i as i64 + 1,
                entry,
                prev: prev.clone(),
                hash: hash.clone(),
            });
            prev = hash;
        }
        lines
    }

    fn verify(lines: &[TraceLine]) -> Result<(), Broken> {
        let mut cursor = ChainCursor::default();
        lines.iter().try_for_each(|l| cursor.check(l))
    }

    #[test]
    fn an_untouched_chain_holds() {
        assert_eq!(verify(&chain(&["a", "b", "c"])), Ok(()));
    }

    #[test]
    fn an_edited_line_is_named() {
        let mut lines = chain(&["a", "b", "c"]);
        lines[1].entry = lines[1].entry.replace("\"b\"", "\"x\"");
        assert_eq!(verify(&lines).unwrap_err().seq, 2);
    }

    #[test]
    fn a_deleted_line_is_named() {
        let mut lines = chain(&["a", "b", "c"]);
        lines.remove(1);
        let broken = verify(&lines).unwrap_err();
        assert_eq!(broken.seq, 2);
        assert!(broken.reason.contains("missing"));
    }

    #[test]
    fn a_rehashed_edit_breaks_the_next_line() {
        let mut lines = chain(&["a", "b", "c"]);
        lines[1].entry = lines[1].entry.replace("\"b\"", "\"x\"");
        lines[1].hash = chain_hash(&lines[1].prev, &lines[1].entry);
        assert_eq!(verify(&lines).unwrap_err().seq, 3);
    }

    #[test]
    fn pseudonyms_are_stable_and_keyed() {
        let one = Pseudonyms::new(b"key one");
        let two = Pseudonyms::new(b"key two");
        assert_eq!(one.of("720004563", "IPP-1"), one.of("720004563", "IPP-1"));
        assert_ne!(one.of("720004563", "IPP-1"), one.of("720004563", "IPP-2"));
        assert_ne!(one.of("720004563", "IPP-1"), two.of("720004563", "IPP-1"));
    }
}
