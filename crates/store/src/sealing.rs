//! Record payloads and delivery artifacts at rest: sealed with AES-256-GCM before they
//! reach the database, opened when read back.
//!
//! A sealed value is `crt-sealed:1:` + the key's id (one byte) + a random 96-bit nonce +
//! the ciphertext and its tag. The associated data names the row (`record:<id>`,
//! `artifact:<delivery>:<name>`), so a sealed value copied to another row does not open.
//!
//! Keys live in a file of lines `<id> <64 hex digits>` (ids 1 to 255); the first line is
//! the key new values are sealed with, the others still open older values. Rotating is
//! adding a line at the top; values sealed before stay readable as long as their key's
//! line is kept. A value without the prefix (written before sealing was on) is read as is.

use std::fmt::Display;
use std::path::Path;
use std::sync::Arc;

use crate::{StoreError, StoreResult};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

const PREFIX: &[u8] = b"crt-sealed:1:";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("storage keys: {0}")]
    Keys(String),
    #[error("a stored value sealed with key {0}, which the key file no longer holds")]
    UnknownKey(u8),
    #[error("a stored value does not open: it was altered, or moved from another row")]
    Altered,
    #[error("no randomness for a nonce")]
    Random,
}

/// What a backend does to the values it keeps at rest: seal them with a [`Sealer`], or,
/// without one (tests), keep them as they are.
///
/// This is the one place that knows which values are sealed and under which row name;
/// each backend calls it where such a value enters or leaves its tables, and never names
/// a row itself.
#[derive(Clone, Default)]
pub struct AtRest(Option<Arc<Sealer>>);

impl AtRest {
    pub fn new(sealer: Arc<Sealer>) -> AtRest {
        AtRest(Some(sealer))
    }

    /// Seals the record's payload before it is stored.
    pub(crate) fn seal_intake(&self, intake: &mut crate::Intake) -> StoreResult<()> {
        let row = record_row(intake.record.id);
        intake.record.payload = self.seal(&row, std::mem::take(&mut intake.record.payload))?;
        if let Some(consents) = intake.consents.take() {
            intake.consents = Some(self.seal(&consents_row(intake.record.id), consents)?);
        }
        Ok(())
    }

    /// Seals the artifacts a settlement keeps.
    pub(crate) fn seal_artifacts(&self, completion: &mut crate::Completion) -> StoreResult<()> {
        if let crate::Settlement::Done(receipt) = &mut completion.settlement {
            for artifact in &mut receipt.artifacts {
                let row = artifact_row(completion.delivery_id, &artifact.name);
                artifact.content = self.seal(&row, std::mem::take(&mut artifact.content))?;
            }
        }
        Ok(())
    }

    /// Seals an admission request's payload before it is stored.
    pub(crate) fn seal_request(&self, request: &mut crate::NewAdmissionRequest) -> StoreResult<()> {
        let row = admission_row(&request.crt_finess_et, &request.request_id);
        request.payload = self.seal(&row, std::mem::take(&mut request.payload))?;
        Ok(())
    }

    /// The payload of record `id`, from what is stored.
    pub(crate) fn open_record(&self, id: impl Display, stored: Vec<u8>) -> StoreResult<Vec<u8>> {
        self.open(&record_row(id), stored)
    }

    /// The consents kept with record `id`, from what is stored.
    pub(crate) fn open_consents(&self, id: impl Display, stored: Vec<u8>) -> StoreResult<Vec<u8>> {
        self.open(&consents_row(id), stored)
    }

    /// The content of a delivery's artifact, from what is stored.
    pub(crate) fn open_artifact(
        &self,
        delivery_id: impl Display,
        name: &str,
        stored: Vec<u8>,
    ) -> StoreResult<Vec<u8>> {
        self.open(&artifact_row(delivery_id, name), stored)
    }

    /// A waiting-list entry's request, opened and parsed.
    pub(crate) fn open_request(
        &self,
        entry: &crate::WaitingEntry,
        stored: Vec<u8>,
    ) -> StoreResult<serde_json::Value> {
        let plain = self.open(
            &admission_row(&entry.crt_finess_et, &entry.request_id),
            stored,
        )?;
        serde_json::from_slice(&plain).map_err(|e| {
            StoreError::Corrupt(format!("admission request {}: {e}", entry.request_id))
        })
    }

    /// Seals a received message and what was read of it before they are stored.
    pub(crate) fn seal_received(&self, message: &mut crate::NewReceivedMessage) -> StoreResult<()> {
        message.summary = self.seal(
            &received_row(message.id, "summary"),
            std::mem::take(&mut message.summary),
        )?;
        message.message = self.seal(
            &received_row(message.id, "message"),
            std::mem::take(&mut message.message),
        )?;
        Ok(())
    }

    /// What was read of received message `id`, opened and parsed.
    pub(crate) fn open_received_summary(
        &self,
        id: impl Display,
        stored: Vec<u8>,
    ) -> StoreResult<serde_json::Value> {
        let plain = self.open(&received_row(&id, "summary"), stored)?;
        serde_json::from_slice(&plain)
            .map_err(|e| StoreError::Corrupt(format!("received message {id}: {e}")))
    }

    /// Received message `id` as it arrived.
    pub(crate) fn open_received_message(
        &self,
        id: impl Display,
        stored: Vec<u8>,
    ) -> StoreResult<Vec<u8>> {
        self.open(&received_row(id, "message"), stored)
    }

    /// Seals an alert's payload before it is stored.
    pub(crate) fn seal_alert(&self, alert: &mut crate::NewAlert) -> StoreResult<()> {
        alert.payload = self.seal(&alert_row(alert.id), std::mem::take(&mut alert.payload))?;
        Ok(())
    }

    /// Alert `id`'s payload as received.
    pub(crate) fn open_alert(&self, id: impl Display, stored: Vec<u8>) -> StoreResult<Vec<u8>> {
        self.open(&alert_row(id), stored)
    }

    fn seal(&self, row: &str, plain: Vec<u8>) -> StoreResult<Vec<u8>> {
        match &self.0 {
            Some(sealer) => sealer
                .seal(row, &plain)
                .map_err(|e| StoreError::Database(e.to_string())),
            None => Ok(plain),
        }
    }

    fn open(&self, row: &str, stored: Vec<u8>) -> StoreResult<Vec<u8>> {
        match &self.0 {
            Some(sealer) => sealer
                .open(row, stored)
                .map_err(|e| StoreError::Corrupt(format!("{row}: {e}"))),
            None => Ok(stored),
        }
    }
}

/// The row names sealed values are bound to (the associated data).
fn record_row(id: impl Display) -> String {
    format!("record:{id}")
}

fn consents_row(record_id: impl Display) -> String {
    format!("consents:{record_id}")
}

fn alert_row(id: impl Display) -> String {
    format!("alert:{id}")
}

fn artifact_row(delivery_id: impl Display, name: &str) -> String {
    format!("artifact:{delivery_id}:{name}")
}

fn received_row(id: impl Display, part: &str) -> String {
    format!("received:{id}:{part}")
}

fn admission_row(crt_finess_et: &str, request_id: &str) -> String {
    format!("admission:{crt_finess_et}:{request_id}")
}

pub struct Sealer {
    /// The first is the one values are sealed with.
    keys: Vec<(u8, LessSafeKey)>,
}

fn key(bytes: &[u8]) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::Keys("a key is 32 bytes (64 hex digits)".into()))
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Sealer {
    /// Keys from the text of a key file.
    pub fn parse(text: &str) -> Result<Sealer, SealError> {
        let mut keys = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || {
                SealError::Keys(format!(
                    "line {}: expected `<id> <64 hex digits>`",
                    number + 1
                ))
            };
            let (id, hex) = line.split_once(' ').ok_or_else(bad)?;
            let id: u8 = id.parse().ok().filter(|id| *id > 0).ok_or_else(bad)?;
            let bytes = hex_bytes(hex.trim()).ok_or_else(bad)?;
            if keys.iter().any(|(known, _)| *known == id) {
                return Err(SealError::Keys(format!("key {id} is given twice")));
            }
            keys.push((id, key(&bytes)?));
        }
        if keys.is_empty() {
            return Err(SealError::Keys("no key".into()));
        }
        Ok(Sealer { keys })
    }

    /// The keys in `path`, created (one random key, owner-only) when absent.
    pub fn from_file(path: &Path) -> Result<Sealer, SealError> {
        if !path.exists() {
            let hex = crt_audit::digest::random_hex_32().map_err(|_| SealError::Random)?;
            let text = format!(
                "# crt-gateway storage keys: `<id> <key>`, the first seals, all open.\n1 {hex}\n"
            );
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| SealError::Keys(e.to_string()))?;
            }
            crt_audit::write_private(path, text.as_bytes())
                .map_err(|e| SealError::Keys(format!("{}: {e}", path.display())))?;
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| SealError::Keys(format!("{}: {e}", path.display())))?;
        Sealer::parse(&text)
    }

    pub fn seal(&self, row: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let (id, key) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut sealed = Vec::with_capacity(PREFIX.len() + 1 + NONCE_LEN + plain.len() + 16);
        sealed.extend_from_slice(PREFIX);
        sealed.push(*id);
        sealed.extend_from_slice(&nonce);
        let mut body = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(row.as_bytes()),
            &mut body,
        )
        .map_err(|_| SealError::Altered)?;
        sealed.extend_from_slice(&body);
        Ok(sealed)
    }

    pub fn open(&self, row: &str, stored: Vec<u8>) -> Result<Vec<u8>, SealError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored);
        };
        let (&id, rest) = rest.split_first().ok_or(SealError::Altered)?;
        if rest.len() < NONCE_LEN {
            return Err(SealError::Altered);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let key = self
            .keys
            .iter()
            .find(|(known, _)| *known == id)
            .map(|(_, key)| key)
            .ok_or(SealError::UnknownKey(id))?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Altered)?;
        let mut body = body.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(row.as_bytes()), &mut body)
            .map_err(|_| SealError::Altered)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const TWO: &str = "2 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    #[test]
    fn a_sealed_value_opens_only_in_its_row() {
        let sealer = Sealer::parse(ONE).unwrap();
        let sealed = sealer.seal("record:a", b"{\"name\":\"Lefevre\"}").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"Lefevre"));
        assert_eq!(
            sealer.open("record:a", sealed.clone()).unwrap(),
            b"{\"name\":\"Lefevre\"}"
        );
        assert!(matches!(
            sealer.open("record:b", sealed),
            Err(SealError::Altered)
        ));
    }

    #[test]
    fn rotation_keeps_older_values_readable() {
        let old = Sealer::parse(ONE).unwrap();
        let sealed = old.seal("record:a", b"x").unwrap();
        let rotated = Sealer::parse(&format!("{TWO}\n{ONE}\n")).unwrap();
        assert_eq!(rotated.open("record:a", sealed.clone()).unwrap(), b"x");
        assert_eq!(rotated.seal("record:a", b"y").unwrap()[PREFIX.len()], 2);
        let dropped = Sealer::parse(TWO).unwrap();
        assert!(matches!(
            dropped.open("record:a", sealed),
            Err(SealError::UnknownKey(1))
        ));
    }

    #[test]
    fn values_from_before_sealing_are_read_as_they_are() {
        let sealer = Sealer::parse(ONE).unwrap();
        assert_eq!(sealer.open("record:a", b"{}".to_vec()).unwrap(), b"{}");
    }

    #[test]
    fn bad_key_files_are_refused() {
        assert!(Sealer::parse("").is_err());
        assert!(Sealer::parse("1 abcd").is_err());
        assert!(Sealer::parse(&format!("{ONE}\n{ONE}")).is_err());
    }
}
