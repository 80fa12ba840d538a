//! The records the engine is delivering, read once: a record's deliveries are leased close
//! together (those that wait on others soon after their upstream settles), so the typed
//! record of the last few is kept and each attempt gets it instead of parsing the stored
//! text again. A stored record never changes, so its id is enough to know it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crt_core::CrtRecord;
use uuid::Uuid;

/// Records kept: a lease batch's worth and their dependents, a few megabytes at most.
pub const KEPT: usize = 64;

pub struct ParsedRecords {
    /// Newest last.
    kept: Mutex<VecDeque<(Uuid, Arc<CrtRecord>)>>,
}

impl Default for ParsedRecords {
    fn default() -> Self {
        ParsedRecords {
            kept: Mutex::new(VecDeque::with_capacity(KEPT)),
        }
    }
}

impl ParsedRecords {
    /// The record `id`, parsed from `payload` unless it is kept.
    pub fn get(&self, id: Uuid, payload: &[u8]) -> Result<Arc<CrtRecord>, serde_json::Error> {
        if let Some(record) = self.find(id) {
            return Ok(record);
        }
        let record = Arc::new(serde_json::from_slice::<CrtRecord>(payload)?);
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if !kept.iter().any(|(kept_id, _)| *kept_id == id) {
            if kept.len() == KEPT {
                kept.pop_front();
            }
            kept.push_back((id, record.clone()));
        }
        Ok(record)
    }

    fn find(&self, id: Uuid) -> Option<Arc<CrtRecord>> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter()
            .rev()
            .find(|(kept_id, _)| *kept_id == id)
            .map(|(_, record)| record.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../schemas/examples/home-volet2-pays-de-la-loire.json"),
        )
        .expect("example")
    }

    #[test]
    fn a_record_is_parsed_once_while_it_is_kept() {
        let parsed = ParsedRecords::default();
        let id = Uuid::now_v7();
        let first = parsed.get(id, &example()).expect("record");
        // The same id is not read again, whatever bytes come with it.
        let second = parsed.get(id, b"not read").expect("kept");
        assert!(Arc::ptr_eq(&first, &second));
        for _ in 0..KEPT {
            parsed.get(Uuid::now_v7(), &example()).expect("record");
        }
        assert!(
            parsed.get(id, b"not JSON").is_err(),
            "pushed out, read again"
        );
    }
}
