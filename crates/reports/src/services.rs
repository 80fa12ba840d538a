//! What a CRT exchanged with the national services, from the deliveries of its records:
//! documents sent to the DMP, MSSanté messages, INS checks and the share of the file active
//! whose identity is qualified, ViaTrajectoire requests and the waiting list they make.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use crt_core::record::IdentityStatus;
use crt_core::sink::Work;
use serde::Serialize;

use super::period::{Delay, Period};
use crt_store::{DeliveryState, Exchange, Millis, WaitingEntry};

/// The deliveries to one target created in the period, by where they stand now.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TargetExchanges {
    pub delivered: usize,
    pub declined: usize,
    pub held: usize,
    pub dead: usize,
    /// Not settled yet (waiting, pending, leased).
    pub in_progress: usize,
    /// Delivered, by document (`dlu`, `plan`), for the targets that carry documents.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub documents: BTreeMap<String, usize>,
}

/// The UTC day of a store time.
pub(super) fn day_of(at: Millis) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_millis(at).map(|t| t.date_naive())
}

/// The deliveries of the CRT's records created in the period, by target; the gateway's own
/// journal is left out: it is not an exchange.
pub fn exchanges(list: &[Exchange], period: Period) -> BTreeMap<String, TargetExchanges> {
    let mut by_target: BTreeMap<String, TargetExchanges> = BTreeMap::new();
    for exchange in list {
        if exchange.work == Work::Journal
            || !day_of(exchange.created_at).is_some_and(|day| period.contains(day))
        {
            continue;
        }
        let counts = by_target.entry(exchange.target.clone()).or_default();
        match exchange.state {
            DeliveryState::Delivered => {
                counts.delivered += 1;
                if let Some(document) = document_of(&exchange.work) {
                    *counts.documents.entry(document.into()).or_default() += 1;
                }
            }
            DeliveryState::Declined => counts.declined += 1,
            DeliveryState::Held => counts.held += 1,
            DeliveryState::Dead => counts.dead += 1,
            DeliveryState::Waiting | DeliveryState::Pending | DeliveryState::Leased => {
                counts.in_progress += 1
            }
        }
    }
    by_target
}

fn document_of(work: &Work) -> Option<&'static str> {
    match work {
        Work::Action {
            action: crt_core::record::Action::SendDocument { document, .. },
        } => Some(document.as_str()),
        _ => None,
    }
}

/// How many of the file active have a qualified identity (INS usable on the DMP, by
/// MSSanté and on the regional platform).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentityShare {
    pub file_active: usize,
    pub qualified: usize,
    /// `qualified` over `file_active`, in percent; absent for an empty file active.
    pub qualified_percent: Option<f64>,
}

/// A beneficiary's identity counts as qualified when the newest record says so, or when an
/// INS check of the gateway qualified it by the end of the period.
pub fn identity_share(
    file_active: &BTreeSet<&str>,
    record_status: &BTreeMap<String, IdentityStatus>,
    list: &[Exchange],
    period: Period,
) -> IdentityShare {
    let checked: BTreeSet<&str> = list
        .iter()
        .filter(|e| e.work == Work::VerifyIdentity && e.state == DeliveryState::Delivered)
        .filter(|e| day_of(e.updated_at).is_some_and(|day| day <= period.to))
        .filter(|e| {
            e.receipt
                .as_ref()
                .is_some_and(|r| r.details["status"] == IdentityStatus::Qualified.code())
        })
        .map(|e| e.beneficiary_ref.as_str())
        .collect();
    let qualified = file_active
        .iter()
        .filter(|person| {
            checked.contains(*person)
                || record_status.get(**person) == Some(&IdentityStatus::Qualified)
        })
        .count();
    IdentityShare {
        file_active: file_active.len(),
        qualified,
        qualified_percent: (!file_active.is_empty())
            .then(|| qualified as f64 * 100.0 / file_active.len() as f64),
    }
}

/// The statuses of a request that is still on its way to an admission.
const OPEN: [&str; 4] = ["new", "received", "waiting_list", "accepted"];

/// When a request was made: as ViaTrajectoire dates it, else when the gateway read it.
fn requested_at(entry: &WaitingEntry) -> Millis {
    entry.request["requested_at"]
        .as_str()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map_or(entry.received_at, |at| at.timestamp_millis())
}

/// The volet 2 admission requests that reached the CRT through ViaTrajectoire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitingList {
    /// Requests still open when the report was made (ViaTrajectoire gives the current
    /// status only, so this is "now", not the end of the period).
    pub open_now: usize,
    /// Every request of the CRT by its current status.
    pub by_status_now: BTreeMap<String, usize>,
    /// Requests made in the period.
    pub requested: usize,
    /// Requests admitted in the period.
    pub admitted: usize,
    /// Days from the request to the admission, for those admitted in the period.
    pub request_to_admission: Delay,
    /// Days the open requests have waited so far.
    pub open_waiting: Delay,
}

pub fn waiting_list(entries: &[WaitingEntry], period: Period, now: Millis) -> WaitingList {
    let mut by_status_now: BTreeMap<String, usize> = OPEN
        .iter()
        .chain(&["refused", "cancelled", "admitted"])
        .map(|s| (s.to_string(), 0))
        .collect();
    let mut admitted = Vec::new();
    let mut open = Vec::new();
    let mut requested = 0;
    let days = |from: Millis, to: Millis| (to - from).div_euclid(86_400_000);
    for entry in entries {
        *by_status_now.entry(entry.status.clone()).or_default() += 1;
        let requested_at = requested_at(entry);
        if day_of(requested_at).is_some_and(|day| period.contains(day)) {
            requested += 1;
        }
        let changed = entry
            .status_at
            .as_deref()
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.timestamp_millis());
        if entry.status == "admitted"
            && let Some(at) = changed
            && day_of(at).is_some_and(|day| period.contains(day))
        {
            admitted.push(days(requested_at, at));
        }
        if OPEN.contains(&entry.status.as_str()) {
            open.push(days(requested_at, now));
        }
    }
    WaitingList {
        open_now: open.len(),
        by_status_now,
        requested,
        admitted: admitted.len(),
        request_to_admission: Delay::of(admitted),
        open_waiting: Delay::of(open),
    }
}
