//! The on-call figures of the alerts the gateway took in and routed (`POST /v1/alerts`),
//! beside those the DUIs report in their records: how many, how many at night, how long
//! before a professional took them, how many went up the rota, how many ended with the
//! regulation informed.
//!
//! The night is the indicators' own (20:00 to 08:00), read in the local time the centre
//! gave the alert (`raised_at` carries its offset).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Timelike};
use crt_store::{AlertStatus, AlertView};
use serde::Serialize;

use crate::period::Period;

/// One alert as the figures need it.
#[derive(Debug, Clone)]
pub struct AlertFact {
    pub view: AlertView,
    /// When it was raised, in the centre's local time.
    pub raised: DateTime<FixedOffset>,
}

/// The on-call figures of the period's alerts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertFigures {
    /// Alerts raised in the period.
    pub total: usize,
    /// Of them, raised between 20:00 and 08:00.
    pub night: usize,
    /// Taken by a professional (then closed or not).
    pub taken: usize,
    /// Still open, nobody having taken them.
    pub open: usize,
    /// Alerts that went to more than the first person of the rota.
    pub escalated: usize,
    /// Calls after the first, all alerts together.
    pub escalations: usize,
    /// Closed with the regulation informed.
    pub regulated: usize,
    /// From receipt to take, in seconds.
    pub time_to_take_median_s: Option<f64>,
    pub time_to_take_p90_s: Option<f64>,
    pub by_reason: BTreeMap<String, usize>,
    pub by_outcome: BTreeMap<String, usize>,
}

/// The figures of the alerts raised in `period`.
pub fn figures(facts: &[AlertFact], period: Period) -> AlertFigures {
    let mut out = AlertFigures::default();
    let mut waits: Vec<f64> = Vec::new();
    for fact in facts
        .iter()
        .filter(|f| period.contains(f.raised.date_naive()))
    {
        let view = &fact.view;
        out.total += 1;
        if !(8..20).contains(&fact.raised.hour()) {
            out.night += 1;
        }
        if let Some(taken_at) = view.taken_at {
            out.taken += 1;
            waits.push((taken_at - view.received_at).max(0) as f64 / 1000.0);
        }
        if view.status == AlertStatus::Open {
            out.open += 1;
        }
        if view.escalations() > 0 {
            out.escalated += 1;
            out.escalations += view.escalations();
        }
        if view
            .regulation
            .as_ref()
            .is_some_and(|r| r.get("sent") == Some(&serde_json::Value::Bool(true)))
        {
            out.regulated += 1;
        }
        *out.by_reason.entry(view.reason.clone()).or_default() += 1;
        if let Some(outcome) = &view.outcome {
            *out.by_outcome.entry(outcome.clone()).or_default() += 1;
        }
    }
    waits.sort_by(f64::total_cmp);
    out.time_to_take_median_s = quantile(&waits, 0.5);
    out.time_to_take_p90_s = quantile(&waits, 0.9);
    out
}

/// The `q` quantile of sorted `values` (nearest rank).
fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use crt_store::AlertCall;
    use uuid::Uuid;

    fn fact(
        raised: &str,
        taken_after_s: Option<i64>,
        calls: usize,
        outcome: Option<&str>,
    ) -> AlertFact {
        let raised = DateTime::parse_from_rfc3339(raised).expect("time");
        let received_at = raised.timestamp_millis();
        let call = |position: usize| AlertCall {
            at: received_at,
            position: position as u32,
            role: "nurse".into(),
            name: None,
            mailbox: "ide@crt.mssante.fr".into(),
            message_id: None,
        };
        AlertFact {
            view: AlertView {
                id: Uuid::now_v7(),
                crt_finess_et: "720004563".into(),
                source: "TA".into(),
                alert_id: raised.to_rfc3339(),
                beneficiary_ref: None,
                reason: "fall".into(),
                status: match (taken_after_s, outcome) {
                    (_, Some(_)) => AlertStatus::Closed,
                    (Some(_), None) => AlertStatus::Taken,
                    (None, None) => AlertStatus::Open,
                },
                raised_at: received_at,
                received_at,
                taken_by: None,
                taken_at: taken_after_s.map(|s| received_at + s * 1000),
                outcome: outcome.map(str::to_string),
                closed_at: None,
                calls: (0..calls).map(call).collect(),
                duty: None,
                duty_due_at: None,
                last_error: None,
                regulation: (outcome == Some("emergency_services"))
                    .then(|| serde_json::json!({"sent": true})),
            },
            raised,
        }
    }

    #[test]
    fn the_periods_alerts_are_counted_with_their_night_waits_and_escalations() {
        let facts = [
            fact(
                "2026-12-06T02:14:00+01:00",
                Some(120),
                2,
                Some("home_visit"),
            ),
            fact(
                "2026-12-06T21:30:00+01:00",
                Some(60),
                1,
                Some("emergency_services"),
            ),
            fact("2026-12-07T10:00:00+01:00", Some(600), 1, None),
            fact("2026-12-08T03:00:00+01:00", None, 3, None),
            fact("2026-11-30T03:00:00+01:00", Some(5), 1, None),
        ];
        let december = Period {
            from: NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
            to: NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
        };
        let got = figures(&facts, december);
        assert_eq!(got.total, 4);
        assert_eq!(got.night, 3);
        assert_eq!(got.taken, 3);
        assert_eq!(got.open, 1);
        assert_eq!(got.escalated, 2);
        assert_eq!(got.escalations, 3);
        assert_eq!(got.regulated, 1);
        assert_eq!(got.time_to_take_median_s, Some(120.0));
        assert_eq!(got.time_to_take_p90_s, Some(600.0));
        assert_eq!(got.by_reason.get("fall"), Some(&4));
        assert_eq!(got.by_outcome.get("home_visit"), Some(&1));
    }
}
