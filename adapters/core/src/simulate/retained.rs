//! A simulator's memory of what it accepted, bounded.
//!
//! The real services keep every document, message and resource they accept. A simulator
//! that did the same would grow without end inside the gateway's own process: the sandbox
//! is the default run, and a load test or a long demonstration sends it millions of
//! submissions. Each simulator therefore keeps the most recently written [`RETAINED`] of
//! them, like a test platform that purges old data, and forgets the one written longest
//! ago when a new one arrives. Reading back what was just sent, the checks on duplicates
//! and replacements, and the queries of the tests all work on the recent ones.

use std::borrow::Borrow;
use std::collections::BTreeMap;

/// How many submissions (documents, messages, resources) a simulator keeps.
pub const RETAINED: usize = 2_000;

/// Values by key, at most `capacity` of them: writing a key past the capacity forgets the
/// key written longest ago. Rewriting a key counts as a write, so a resource updated all
/// the time (the beneficiary's Patient) stays.
#[derive(Debug, Clone)]
pub struct Retained<K: Ord + Clone, V> {
    capacity: usize,
    next_write: u64,
    /// Each key's value and the number of its latest write.
    items: BTreeMap<K, (u64, V)>,
    /// Keys by the number of their latest write, oldest first.
    writes: BTreeMap<u64, K>,
}

impl<K: Ord + Clone, V> Default for Retained<K, V> {
    fn default() -> Self {
        Retained::new(RETAINED)
    }
}

impl<K: Ord + Clone, V> Retained<K, V> {
    /// Keeps at most `capacity` values (at least one).
    pub fn new(capacity: usize) -> Self {
        Retained {
            capacity: capacity.max(1),
            next_write: 0,
            items: BTreeMap::new(),
            writes: BTreeMap::new(),
        }
    }

    /// Writes `value` under `key`, and forgets the oldest write if the capacity is passed.
    pub fn insert(&mut self, key: K, value: V) {
        let write = self.next_write;
        self.next_write += 1;
        if let Some((previous, _)) = self.items.insert(key.clone(), (write, value)) {
            self.writes.remove(&previous);
        }
        self.writes.insert(write, key);
        while self.items.len() > self.capacity {
            let Some((_, oldest)) = self.writes.pop_first() else {
                break;
            };
            self.items.remove(&oldest);
        }
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.items.get(key).map(|(_, v)| v)
    }

    /// Changes a value in place; not a write, so it does not keep the value any longer.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.items.get_mut(key).map(|(_, v)| v)
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.items.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Keys and values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.items.iter().map(|(k, (_, v))| (k, v))
    }

    /// Values, in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.items.values().map(|(_, v)| v)
    }

    /// Values, in key order, to change in place.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.items.values_mut().map(|(_, v)| v)
    }

    /// Values in the order they were last written, oldest first.
    pub fn in_write_order(&self) -> impl Iterator<Item = &V> {
        self.writes.values().filter_map(|k| self.get(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_write_longest_ago_past_the_capacity() {
        let mut kept = Retained::new(2);
        kept.insert("a", 1);
        kept.insert("b", 2);
        kept.insert("a", 3);
        kept.insert("c", 4);
        assert_eq!(kept.get(&"b"), None, "b was written longest ago");
        assert_eq!(kept.get(&"a"), Some(&3), "rewriting a kept it");
        assert_eq!(kept.in_write_order().copied().collect::<Vec<_>>(), [3, 4]);
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn changing_in_place_is_not_a_write() {
        let mut kept = Retained::new(2);
        kept.insert(1, "x");
        kept.insert(2, "y");
        if let Some(v) = kept.get_mut(&1) {
            *v = "z";
        }
        kept.insert(3, "w");
        assert!(!kept.contains_key(&1));
        assert_eq!(kept.values().copied().collect::<Vec<_>>(), ["y", "w"]);
    }
}
