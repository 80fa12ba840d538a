//! Counters and histograms exposed at `/metrics` in the Prometheus text format.
//!
//! Labels are target names, outcomes and states only: never identifiers of people or
//! records, which would put health data into monitoring systems.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::DeliveryState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
pub struct Metrics {
    /// Intake answers by HTTP status.
    intake: Mutex<BTreeMap<u16, u64>>,
    intake_latency: Histogram,
    /// Finished attempts by (target, outcome): count and total milliseconds.
    attempts: Mutex<BTreeMap<(String, String), (u64, u64)>>,
}

#[derive(Default)]
struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    total: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, name: &str, out: &mut String) {
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let total = self.total.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {total}");
    }
}

impl Metrics {
    pub fn intake_answered(&self, status: u16, seconds: f64) {
        if let Ok(mut intake) = self.intake.lock() {
            *intake.entry(status).or_default() += 1;
        }
        self.intake_latency.observe(seconds);
    }

    pub fn delivery_finished(&self, target: &str, outcome: &str, millis: i64) {
        if let Ok(mut attempts) = self.attempts.lock() {
            let entry = attempts
                .entry((target.to_string(), outcome.to_string()))
                .or_default();
            entry.0 += 1;
            entry.1 += millis.max(0) as u64;
        }
    }

    /// The exposition text, with the current number of deliveries in each state.
    pub fn render(&self, states: &[(DeliveryState, u64)]) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP crt_gateway_intake_requests_total Answers to POST /v1/records by status.\n",
        );
        out.push_str("# TYPE crt_gateway_intake_requests_total counter\n");
        if let Ok(intake) = self.intake.lock() {
            for (status, count) in intake.iter() {
                let _ = writeln!(
                    out,
                    "crt_gateway_intake_requests_total{{status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP crt_gateway_intake_seconds Time to validate, store durably and answer a record.\n");
        out.push_str("# TYPE crt_gateway_intake_seconds histogram\n");
        self.intake_latency
            .render("crt_gateway_intake_seconds", &mut out);
        out.push_str("# HELP crt_gateway_delivery_attempts_total Finished delivery attempts by target and outcome.\n");
        out.push_str("# TYPE crt_gateway_delivery_attempts_total counter\n");
        out.push_str(
            "# HELP crt_gateway_delivery_attempt_seconds_total Time spent in delivery attempts.\n",
        );
        out.push_str("# TYPE crt_gateway_delivery_attempt_seconds_total counter\n");
        if let Ok(attempts) = self.attempts.lock() {
            for ((target, outcome), (count, millis)) in attempts.iter() {
                let labels = format!("target=\"{target}\",outcome=\"{outcome}\"");
                let _ = writeln!(
                    out,
                    "crt_gateway_delivery_attempts_total{{{labels}}} {count}"
                );
                let _ = writeln!(
                    out,
                    "crt_gateway_delivery_attempt_seconds_total{{{labels}}} {}",
                    *millis as f64 / 1000.0
                );
            }
        }
        out.push_str("# HELP crt_gateway_deliveries Deliveries in the store by state.\n");
        out.push_str("# TYPE crt_gateway_deliveries gauge\n");
        for state in DeliveryState::ALL {
            let count = states
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, c)| *c);
            let _ = writeln!(out, "crt_gateway_deliveries{{state=\"{state}\"}} {count}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_cumulative_buckets_and_every_state() {
        let metrics = Metrics::default();
        metrics.intake_answered(202, 0.002);
        metrics.intake_answered(422, 0.0004);
        metrics.delivery_finished("journal", "delivered", 12);
        let text = metrics.render(&[(DeliveryState::Pending, 3)]);
        assert!(text.contains("crt_gateway_intake_requests_total{status=\"202\"} 1"));
        assert!(text.contains("crt_gateway_intake_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("crt_gateway_intake_seconds_bucket{le=\"0.0025\"} 2"));
        assert!(text.contains("crt_gateway_intake_seconds_count 2"));
        assert!(text.contains(
            "crt_gateway_delivery_attempts_total{target=\"journal\",outcome=\"delivered\"} 1"
        ));
        assert!(text.contains("crt_gateway_deliveries{state=\"pending\"} 3"));
        assert!(text.contains("crt_gateway_deliveries{state=\"dead\"} 0"));
    }
}
