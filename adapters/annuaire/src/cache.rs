//! The directory's answers kept for a while: a gateway checks the same professionals for
//! every record of the beneficiaries they follow, and the API allows an application 17
//! calls a second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::entry::PractitionerEntry;

/// Practitioners kept at most; far more than the care circles of one gateway name.
pub const MAX_CACHED: usize = 10_000;

/// Answers by idNat_PS, an unknown practitioner (`None`) included, each for `ttl`.
pub struct AnswerCache {
    ttl: Duration,
    capacity: usize,
    answers: Mutex<Answers>,
}

/// Each answer with when it came and its place in the order of arrival (instants may tie).
#[derive(Default)]
struct Answers {
    next: u64,
    by_id: HashMap<String, (Instant, u64, Option<PractitionerEntry>)>,
}

impl AnswerCache {
    pub fn new(ttl: Duration, capacity: usize) -> AnswerCache {
        AnswerCache {
            ttl,
            capacity,
            answers: Mutex::new(Answers::default()),
        }
    }

    /// The answer kept for `id_nat_ps`, if it is recent enough: `Some(None)` for a
    /// practitioner the directory did not know.
    pub fn get(&self, id_nat_ps: &str) -> Option<Option<PractitionerEntry>> {
        let answers = self.answers.lock().ok()?;
        let (at, _, answer) = answers.by_id.get(id_nat_ps)?;
        (at.elapsed() < self.ttl).then(|| answer.clone())
    }

    /// Keeps an answer. When full, expired answers go first, then the oldest.
    pub fn put(&self, id_nat_ps: &str, answer: Option<PractitionerEntry>) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        // A poisoned lock only means another caller panicked while holding it: the map
        // itself is still whole.
        let mut answers = self
            .answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let by_id = &mut answers.by_id;
        if by_id.len() >= self.capacity && !by_id.contains_key(id_nat_ps) {
            let ttl = self.ttl;
            by_id.retain(|_, (at, _, _)| at.elapsed() < ttl);
            if by_id.len() >= self.capacity
                && let Some(oldest) = by_id
                    .iter()
                    .min_by_key(|(_, (_, order, _))| *order)
                    .map(|(id, _)| id.clone())
            {
                by_id.remove(&oldest);
            }
        }
        let order = answers.next;
        answers.next += 1;
        answers
            .by_id
            .insert(id_nat_ps.to_string(), (Instant::now(), order, answer));
    }

    pub fn len(&self) -> usize {
        self.answers.lock().map(|a| a.by_id.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> PractitionerEntry {
        PractitionerEntry {
            id_nat_ps: id.into(),
            active: true,
            professions: vec!["60".into()],
            mailboxes: Vec::new(),
        }
    }

    #[test]
    fn keeps_known_and_unknown_answers() {
        let cache = AnswerCache::new(Duration::from_secs(60), 10);
        assert_eq!(cache.get("1"), None);
        cache.put("1", Some(entry("1")));
        cache.put("2", None);
        assert_eq!(cache.get("1"), Some(Some(entry("1"))));
        assert_eq!(cache.get("2"), Some(None));
    }

    #[test]
    fn stays_within_its_capacity_dropping_the_oldest() {
        let cache = AnswerCache::new(Duration::from_secs(60), 3);
        for id in ["1", "2", "3", "4"] {
            cache.put(id, None);
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get("1"), None);
        assert_eq!(cache.get("4"), Some(None));
    }

    #[test]
    fn expires_and_can_be_turned_off() {
        let cache = AnswerCache::new(Duration::from_millis(1), 3);
        cache.put("1", None);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(cache.get("1"), None);
        let off = AnswerCache::new(Duration::ZERO, 3);
        off.put("1", None);
        assert!(off.is_empty());
    }
}
