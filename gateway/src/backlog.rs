//! Back-pressure: how many deliveries wait to be made, read from the store every second,
//! so that intake can refuse new records (429 with `Retry-After`) while the backlog is
//! over its limit, rather than let it grow without end. The count is read in the
//! background: a submission only reads an atomic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::Store;

/// How often the count is read.
const REFRESH: Duration = Duration::from_secs(1);
/// What a refused caller is told to wait: a few reads of the count.
const RETRY_AFTER_SECONDS: u64 = 5;

#[derive(Debug)]
pub struct Backlog {
    /// Deliveries not settled yet (waiting, pending, leased), as last read.
    unsettled: AtomicU64,
    /// Above this, intake refuses; 0: never.
    limit: u64,
}

impl Backlog {
    pub fn new(limit: u64) -> Arc<Backlog> {
        Arc::new(Backlog {
            unsettled: AtomicU64::new(0),
            limit,
        })
    }

    /// `Some(seconds to wait)` when intake must refuse.
    pub fn refusal(&self) -> Option<u64> {
        let unsettled = self.unsettled.load(Ordering::Relaxed);
        (self.limit > 0 && unsettled > self.limit).then_some(RETRY_AFTER_SECONDS)
    }

    pub fn unsettled(&self) -> u64 {
        self.unsettled.load(Ordering::Relaxed)
    }

    /// Reads the count until `shutdown` turns true. A store that does not answer leaves the
    /// last count: intake then fails on the store itself (503), not here.
    pub fn spawn(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
        mut shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let backlog = self.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(counts) = store.state_counts().await {
                    let unsettled = counts
                        .iter()
                        .filter(|(state, _)| !state.is_settled())
                        .map(|(_, n)| *n)
                        .sum::<u64>();
                    backlog.unsettled.store(unsettled, Ordering::Relaxed);
                }
                tokio::select! {
                    _ = tokio::time::sleep(REFRESH) => {}
                    _ = shutdown.changed() => return,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intake_is_refused_only_over_the_limit() {
        let backlog = Backlog::new(10);
        assert_eq!(backlog.refusal(), None);
        backlog.unsettled.store(10, Ordering::Relaxed);
        assert_eq!(backlog.refusal(), None);
        backlog.unsettled.store(11, Ordering::Relaxed);
        assert!(backlog.refusal().is_some());
        let unlimited = Backlog::new(0);
        unlimited.unsettled.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(unlimited.refusal(), None);
        assert!(!crate::store::DeliveryState::Pending.is_settled());
    }
}
