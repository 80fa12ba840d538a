//! Connections kept between uses, by key (an origin, a server and a sender's certificate):
//! the one mechanism behind the HTTPS client's keep-alive and the SMTP sessions kept for a
//! structure's next message. A connection is kept a short while and a few per key, since a
//! server closes idle connections on its own schedule and a client that keeps more than it
//! uses holds the server's resources for nothing.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub struct IdlePool<K, V> {
    idle: Mutex<HashMap<K, Vec<(V, Instant)>>>,
    max_idle: Duration,
    per_key: usize,
}

impl<K: Eq + Hash, V> IdlePool<K, V> {
    /// Keeps at most `per_key` connections per key, each for at most `max_idle`.
    pub fn new(max_idle: Duration, per_key: usize) -> Self {
        IdlePool {
            idle: Mutex::new(HashMap::new()),
            max_idle,
            per_key,
        }
    }

    /// The most recently given back connection of `key` that has not waited too long and
    /// is still `usable`; the others it passes over are dropped.
    pub fn take<Q>(&self, key: &Q, usable: impl Fn(&V) -> bool) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut idle = self.lock();
        let kept = idle.get_mut(key)?;
        while let Some((value, since)) = kept.pop() {
            if since.elapsed() < self.max_idle && usable(&value) {
                return Some(value);
            }
        }
        None
    }

    /// Keeps `value` for `key` if it is `usable` and fewer than `per_key` are kept, after
    /// dropping those of `key` that waited too long or are no longer usable.
    pub fn give_back(&self, key: K, value: V, usable: impl Fn(&V) -> bool) {
        if !usable(&value) {
            return;
        }
        let mut idle = self.lock();
        let kept = idle.entry(key).or_default();
        kept.retain(|(value, since)| since.elapsed() < self.max_idle && usable(value));
        if kept.len() < self.per_key {
            kept.push((value, Instant::now()));
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Vec<(V, Instant)>>> {
        // The map stays whole whatever panicked while it was held.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_usable_connection_is_taken_within_the_limits() {
        let pool: IdlePool<String, u32> = IdlePool::new(Duration::from_secs(30), 2);
        let any = |_: &u32| true;
        for n in 1..=3 {
            pool.give_back("a".into(), n, any);
        }
        // Two kept per key, the newest first; nothing for another key.
        assert_eq!(pool.take("a", any), Some(2));
        assert_eq!(pool.take("b", any), None);
        // One no longer usable is passed over and dropped.
        pool.give_back("a".into(), 4, any);
        assert_eq!(pool.take("a", |n| *n != 4), Some(1));
        assert_eq!(pool.take("a", any), None);
        pool.give_back("a".into(), 5, |_| false);
        assert_eq!(pool.take("a", any), None);
        // One that waited too long is not taken.
        let brief: IdlePool<String, u32> = IdlePool::new(Duration::ZERO, 2);
        brief.give_back("a".into(), 1, any);
        assert_eq!(brief.take("a", any), None);
    }
}
