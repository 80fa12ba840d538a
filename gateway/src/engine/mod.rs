//! The delivery engine: lease ready deliveries, run them through their sink, settle each
//! with a receipt, a retry at a later time, or the dead-letter state.
//!
//! Every decision is written to the store before the next one is taken, so a crash at any
//! point loses nothing: a delivery whose outcome was not recorded is leased again when its
//! lease expires, and the sink recognises the repeated attempt by the delivery id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crt_core::CrtRecord;
use crt_core::sink::{DeliveryError, DeliveryTask, UpstreamReceipt};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::config::EngineConfig;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::store::{Completion, LeasedDelivery, Millis, Settlement, Store, now_millis};

pub struct Engine {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    config: EngineConfig,
    metrics: Arc<Metrics>,
    /// Woken when new work may be ready (a record accepted, dependents released).
    wake: Arc<Notify>,
    /// Names this process in leases.
    owner: String,
    pseudonyms: Option<Arc<crate::audit::Pseudonyms>>,
    /// The typed records of the latest attempts, so that a record is read once.
    parsed: parsed::ParsedRecords,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        config: EngineConfig,
        metrics: Arc<Metrics>,
        wake: Arc<Notify>,
    ) -> Self {
        Engine {
            store,
            registry,
            config,
            metrics,
            wake,
            owner: format!("{}-{}", hostname(), std::process::id()),
            pseudonyms: None,
            parsed: parsed::ParsedRecords::default(),
        }
    }

    /// Runs until `shutdown` turns true, then waits for attempts in progress to settle.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        if self.config.workers == 0 {
            info!("delivery engine off (engine.workers = 0): this instance only takes records in");
            let _ = shutdown.wait_for(|stop| *stop).await;
            return;
        }
        let workers = Arc::new(Semaphore::new(self.config.workers));
        let mut running = JoinSet::new();
        // The leases of the attempts in progress, to give back if shutdown cuts them.
        let in_flight: Arc<Mutex<HashMap<Uuid, String>>> = Arc::default();
        let poll = Duration::from_millis(self.config.poll_interval_ms);
        info!(workers = self.config.workers, owner = %self.owner, "delivery engine started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            while running.try_join_next().is_some() {}
            let free = workers.available_permits().min(self.config.lease_batch);
            let leased = if free == 0 {
                Vec::new()
            } else {
                let now = now_millis();
                let until = now + self.config.lease_ms as Millis;
                match self.store.lease(&self.owner, free, now, until).await {
                    Ok(leased) => leased,
                    Err(e) => {
                        warn!(error = %e, "leasing deliveries failed");
                        Vec::new()
                    }
                }
            };
            if leased.is_empty() {
                let sleep = if free == 0 {
                    poll
                } else {
                    self.sleep_until_due(poll).await
                };
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(sleep) => {}
                    _ = shutdown.changed() => {}
                    // A worker finished: a permit is free again.
                    Some(_) = running.join_next(), if !running.is_empty() => {}
                }
                continue;
            }
            for delivery in leased {
                let Ok(permit) = workers.clone().acquire_owned().await else {
                    break;
                };
                let engine = self.clone();
                let id = delivery.id;
                if let Ok(mut leases) = in_flight.lock() {
                    leases.insert(id, delivery.lease.clone());
                }
                let in_flight = in_flight.clone();
                running.spawn(async move {
                    engine.attempt(delivery).await;
                    if let Ok(mut leases) = in_flight.lock() {
                        leases.remove(&id);
                    }
                    drop(permit);
                });
            }
        }
        info!(in_flight = running.len(), "delivery engine stopping");
        let grace = Duration::from_millis(self.config.shutdown_grace_ms);
        let finished = tokio::time::timeout(grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            running.abort_all();
            while running.join_next().await.is_some() {}
            let cut: Vec<(Uuid, String)> = in_flight
                .lock()
                .map(|mut leases| leases.drain().collect())
                .unwrap_or_default();
            let mut released = 0;
            for (id, lease) in cut {
                match self.store.release(id, lease, now_millis()).await {
                    Ok(true) => released += 1,
                    Ok(false) => {}
                    Err(e) => {
                        warn!(delivery = %id, error = %e, "giving a lease back failed; it will expire")
                    }
                }
            }
            info!(
                released,
                "attempts still running after the grace period were stopped and their leases given back"
            );
        }
    }

    /// How long to sleep when nothing is ready: until the next due time, at most `poll`.
    async fn sleep_until_due(&self, poll: Duration) -> Duration {
        match self.store.next_due().await {
            Ok(Some(due)) => {
                let wait = (due - now_millis()).max(1) as u64;
                Duration::from_millis(wait).min(poll)
            }
            _ => poll,
        }
    }

    /// Names beneficiaries in the access trace by pseudonym.
    pub fn with_pseudonyms(mut self, pseudonyms: Arc<crate::audit::Pseudonyms>) -> Self {
        self.pseudonyms = Some(pseudonyms);
        self
    }

    /// The trace line of an attempt: the exchange with the target, its purpose, its end.
    fn trace_event(
        &self,
        delivery: &LeasedDelivery,
        record: Option<&CrtRecord>,
        outcome: &str,
    ) -> crate::audit::TraceEvent {
        let purpose = match &delivery.work {
            crt_core::sink::Work::Journal => "archive",
            crt_core::sink::Work::VerifyIdentity => "identity-check",
            crt_core::sink::Work::CheckCareCircle => "care-team-check",
            crt_core::sink::Work::Action {
                action: crt_core::record::Action::AnswerAdmission { .. },
            } => "admission",
            crt_core::sink::Work::Action { .. } => "care-coordination",
            // Applying the beneficiary's choice to what was already shared.
            crt_core::sink::Work::DmpUpdate { .. } => "consent",
        };
        let mut event = crate::audit::TraceEvent::now(
            "engine",
            format!("exchange.{}", delivery.target),
            purpose,
        );
        if let Some(record) = record {
            event.structure = Some(record.crt.id_nat_struct());
            event.beneficiary = self
                .pseudonyms
                .as_ref()
                .map(|p| p.of(&record.crt.finess_et, &record.beneficiary.local_id));
        }
        event.object = Some(format!("delivery/{}", delivery.id));
        event.outcome = outcome.to_string();
        event
    }

    /// One attempt of one delivery, settled in the store.
    async fn attempt(&self, delivery: LeasedDelivery) {
        let started_at = now_millis();
        let record = self.parsed.get(delivery.record_id, &delivery.payload);
        let settlement = self.run_sink(&delivery, record.as_ref()).await;
        let outcome = match &settlement {
            Settlement::Done(receipt) => format!("{:?}", receipt.outcome).to_lowercase(),
            Settlement::Retry { .. } => "retry".to_string(),
            Settlement::Dead(_) => "dead".to_string(),
            Settlement::Held(_) => "held".to_string(),
        };
        let finished_at = now_millis();
        self.metrics
            .delivery_finished(&delivery.target, &outcome, finished_at - started_at);
        match &settlement {
            Settlement::Done(receipt) => {
                debug!(delivery = %delivery.id, target = %delivery.target, summary = %receipt.summary, "delivery settled")
            }
            Settlement::Retry { error, .. } | Settlement::Dead(error) | Settlement::Held(error) => {
                info!(delivery = %delivery.id, target = %delivery.target, attempt = delivery.attempt, code = %error.code, outcome, "delivery attempt failed")
            }
        }
        let trace = self.trace_event(&delivery, record.as_deref().ok(), &outcome);
        let completion = Completion {
            trace: Some(trace),
            delivery_id: delivery.id,
            lease: delivery.lease,
            attempt: delivery.attempt,
            started_at,
            finished_at,
            settlement,
        };
        // The attempt was leased just before it started: the lease holds until then.
        let lease_ends = started_at + self.config.lease_ms as Millis;
        self.record_outcome(completion, lease_ends).await;
    }

    /// Writes an attempt's outcome, trying again while the database is unreachable and the
    /// lease still holds: the outcome is known, and losing it would repeat the exchange
    /// with the target once the lease expires (which the sink recognises, but which costs
    /// the target a second call and keeps the delivery in limbo until then).
    async fn record_outcome(&self, completion: Completion, lease_ends: Millis) {
        let id = completion.delivery_id;
        let mut pause = Duration::from_millis(100);
        loop {
            match self.store.complete(completion.clone()).await {
                Ok(done) if !done.applied => {
                    warn!(delivery = %id, "lease lost before the outcome was recorded; the next holder settles it");
                    return;
                }
                Ok(done) => {
                    if done.released > 0 {
                        self.wake.notify_one();
                    }
                    return;
                }
                Err(e) if now_millis() + pause.as_millis() as Millis >= lease_ends => {
                    // The lease expires and the delivery is attempted again; the sink
                    // recognises the repetition.
                    warn!(delivery = %id, error = %e, "recording the outcome failed; the delivery will be attempted again");
                    return;
                }
                Err(e) => {
                    debug!(delivery = %id, error = %e, "recording the outcome failed; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    async fn run_sink(
        &self,
        delivery: &LeasedDelivery,
        record: Result<&Arc<CrtRecord>, &serde_json::Error>,
    ) -> Settlement {
        let Some(sink) = self.registry.get(&delivery.target) else {
            return Settlement::Dead(DeliveryError::final_error(
                "no-sink",
                format!("no sink is configured for target {:?}", delivery.target),
            ));
        };
        let record = match record {
            Ok(record) => Arc::clone(record),
            Err(e) => {
                return Settlement::Dead(DeliveryError::final_error(
                    "stored-record",
                    format!("the stored record no longer reads as a record: {e}"),
                ));
            }
        };
        let task = DeliveryTask {
            delivery_id: delivery.id,
            record_id: delivery.record_id,
            attempt: delivery.attempt,
            work: delivery.work.clone(),
            record,
            upstream: delivery
                .upstream
                .iter()
                .map(|(target, receipt)| UpstreamReceipt {
                    target: target.clone(),
                    receipt: receipt.clone(),
                })
                .collect(),
        };
        let policy = sink.retry_policy();
        let result = match tokio::time::timeout(policy.timeout, sink.deliver(&task)).await {
            Ok(result) => result,
            Err(_) => Err(DeliveryError::retryable(
                "timeout",
                format!("no answer within {} ms", policy.timeout.as_millis()),
            )),
        };
        match result {
            Ok(receipt) => Settlement::Done(receipt),
            Err(error) if error.class == crt_core::sink::ErrorClass::Held => {
                Settlement::Held(error)
            }
            Err(error) if error.is_retryable() && delivery.attempt < policy.max_attempts => {
                let delay = policy.backoff(delivery.attempt, rand::random::<f64>());
                Settlement::Retry {
                    error,
                    at: now_millis() + delay.as_millis() as Millis,
                }
            }
            Err(mut error) => {
                if error.is_retryable() {
                    error.message = format!(
                        "{} (gave up after {} attempts)",
                        error.message, delivery.attempt
                    );
                }
                Settlement::Dead(error)
            }
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gateway".to_string())
}

mod parsed;

#[cfg(test)]
mod faults;
#[cfg(test)]
mod tests;
