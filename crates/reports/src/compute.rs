//! The indicators of one CRT over one period, from its [`Activity`]. Each definition is
//! written in `docs/indicators.md` with the text it implements; the doc comments here say
//! the same in short.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use crt_core::record::{
    DecisionOutcome, ExitReason, InterventionStatus, OnCallOutcome, ReferralSource,
};
use serde::Serialize;

use super::activity::{Accompaniment, Activity};
pub use super::period::{Delay, Period};
use super::services::{self, IdentityShare, TargetExchanges, WaitingList};
use super::volet1::{self, Volet1};
use crt_store::Millis;

/// The places of a CRT's volet 2: 25 people accompanied at the same time.
pub const CAPACITY: usize = 25;
/// The volet 2 forfait per beneficiary and month.
pub const FORFAIT_EUR: u32 = 900;
/// What the forfait of a full volet 2 comes to in a year (25 places, 12 months): the
/// allocation assumed for a CRT whose own is not configured.
pub const FULL_VOLET2_EUR: u64 = CAPACITY as u64 * FORFAIT_EUR as u64 * 12;

/// What a report is computed against, besides the activity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Places accompanied at the same time.
    pub capacity: usize,
    /// The part of the CRT's annual allocation earmarked for the volet 2 forfait, in EUR.
    pub volet2_allocation_eur: u64,
    /// When the report is made: open waiting-list requests are counted up to then.
    pub now: Millis,
}

impl Settings {
    /// The specification's figures: 25 places, a full year's forfait as the allocation.
    pub fn standard(now: Millis) -> Settings {
        Settings {
            capacity: CAPACITY,
            volet2_allocation_eur: FULL_VOLET2_EUR,
            now,
        }
    }
}

/// The delays of admission, for the accompaniments that started in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delays {
    pub referral_to_home_visit: Delay,
    pub home_visit_to_decision: Delay,
    pub decision_to_start: Delay,
    pub referral_to_start: Delay,
}

/// Accompaniments at the same time, day by day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occupancy {
    pub capacity: usize,
    /// One count per day of the period, in order.
    pub daily: Vec<usize>,
    pub max: usize,
    pub mean: f64,
    pub days_over_capacity: usize,
}

/// One calendar month of the period (the part of it inside the period).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    /// Beneficiaries accompanied at least one day of the month: the month's file active and
    /// its forfait beneficiary-months.
    pub beneficiaries: usize,
    pub admissions: usize,
    pub exits: usize,
    /// `beneficiaries` × the forfait.
    pub forfait_eur: u64,
}

/// Counts by hour of the day (local time) and by outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ByHour<K: Ord> {
    pub total: usize,
    pub by_hour: [usize; 24],
    pub by_outcome: BTreeMap<K, usize>,
}

/// Every indicator of one CRT over one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicators {
    pub period: Period,
    /// Distinct beneficiaries accompanied at least one day of the period: a person
    /// accompanied over two periods counts once.
    pub file_active: usize,
    /// Accompaniments that started in the period.
    pub admissions: usize,
    /// Accompaniments that ended in the period, by reason (the five exit cases).
    pub exits: BTreeMap<ExitReason, usize>,
    /// Referrals received in the period, by source.
    pub referrals: BTreeMap<ReferralSource, usize>,
    /// Decisions taken in the period, by outcome.
    pub decisions: BTreeMap<DecisionOutcome, usize>,
    pub delays: Delays,
    /// The file active by GIR level (`1`…`6`, `unknown`).
    pub gir: BTreeMap<String, usize>,
    pub occupancy: Occupancy,
    /// Month by month: file active, admissions, exits, forfait.
    pub months: Vec<Month>,
    pub forfait_total_eur: u64,
    /// The volet 2 allocation for the period: the annual one × the period's days ÷ 365.
    pub volet2_allocation_eur: u64,
    /// `forfait_total_eur` over `volet2_allocation_eur`, in percent.
    pub forfait_percent_of_allocation: Option<f64>,
    pub on_call: ByHour<OnCallOutcome>,
    pub on_call_by_reason: BTreeMap<crt_core::record::OnCallReason, usize>,
    pub home_visits: ByHour<InterventionStatus>,
    /// The file active whose identity is qualified.
    pub identity: IdentityShare,
    /// Deliveries to each national service created in the period.
    pub exchanges: BTreeMap<String, TargetExchanges>,
    /// Volet 2 admission requests through ViaTrajectoire.
    pub waiting_list: WaitingList,
    pub volet1: Volet1,
    /// The alerts the gateway routed to the on-call service.
    pub alerts: crate::alerts::AlertFigures,
}

const EXIT_REASONS: [ExitReason; 5] = [
    ExitReason::HospitalisedOverThreeMonths,
    ExitReason::BeneficiaryChoice,
    ExitReason::MovedToEhpadOrUsld,
    ExitReason::CriteriaNoLongerMet,
    ExitReason::NoAddedValue,
];

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days()
}

/// The indicators of `activity` over `period`.
pub fn compute(activity: &Activity, period: Period, settings: &Settings) -> Indicators {
    let capacity = settings.capacity;
    let accompanied: Vec<&Accompaniment> = activity
        .accompaniments
        .iter()
        .filter(|a| a.overlaps(period.from, period.to))
        .collect();

    // One GIR per person: the one of their latest accompaniment in the period.
    let mut people: BTreeMap<&str, &Accompaniment> = BTreeMap::new();
    for accompaniment in &accompanied {
        let entry = people
            .entry(&accompaniment.beneficiary)
            .or_insert(accompaniment);
        if accompaniment.start_on > entry.start_on {
            *entry = accompaniment;
        }
    }
    let mut gir: BTreeMap<String, usize> = (1..=6).map(|level| (level.to_string(), 0)).collect();
    gir.insert("unknown".into(), 0);
    for person in people.values() {
        let key = person
            .gir
            .map_or_else(|| "unknown".to_string(), |level| level.to_string());
        *gir.entry(key).or_default() += 1;
    }

    let started: Vec<&Accompaniment> = activity
        .accompaniments
        .iter()
        .filter(|a| a.start_on.is_some_and(|day| period.contains(day)))
        .collect();
    let mut exits: BTreeMap<ExitReason, usize> = EXIT_REASONS.iter().map(|r| (*r, 0)).collect();
    for (reason, _) in activity
        .accompaniments
        .iter()
        .filter_map(|a| a.exit)
        .filter(|(_, day)| period.contains(*day))
    {
        *exits.entry(reason).or_default() += 1;
    }
    let mut referrals = BTreeMap::new();
    let mut decisions = BTreeMap::new();
    for accompaniment in &activity.accompaniments {
        if period.contains(accompaniment.referred_on) {
            *referrals.entry(accompaniment.referral_source).or_default() += 1;
        }
        if let Some((outcome, day)) = accompaniment.decision
            && period.contains(day)
        {
            *decisions.entry(outcome).or_default() += 1;
        }
    }

    let delay = |step: fn(&Accompaniment) -> Option<i64>| {
        Delay::of(started.iter().filter_map(|a| step(a)).collect())
    };
    let delays = Delays {
        referral_to_home_visit: delay(|a| a.home_visit_on.map(|d| days_between(a.referred_on, d))),
        home_visit_to_decision: delay(|a| Some(days_between(a.home_visit_on?, a.decision?.1))),
        decision_to_start: delay(|a| Some(days_between(a.decision?.1, a.start_on?))),
        referral_to_start: delay(|a| a.start_on.map(|d| days_between(a.referred_on, d))),
    };

    let daily: Vec<usize> = period
        .days()
        .map(|day| {
            accompanied
                .iter()
                .filter(|a| a.covers(day))
                .map(|a| a.beneficiary.as_str())
                .collect::<BTreeSet<_>>()
                .len()
        })
        .collect();
    let occupancy = Occupancy {
        capacity,
        max: daily.iter().copied().max().unwrap_or(0),
        mean: if daily.is_empty() {
            0.0
        } else {
            daily.iter().sum::<usize>() as f64 / daily.len() as f64
        },
        days_over_capacity: daily.iter().filter(|count| **count > capacity).count(),
        daily,
    };

    let mut months: BTreeMap<(i32, u32), BTreeSet<&str>> = BTreeMap::new();
    for day in period.days() {
        let month = months.entry((day.year(), day.month())).or_default();
        for accompaniment in accompanied.iter().filter(|a| a.covers(day)) {
            month.insert(&accompaniment.beneficiary);
        }
    }
    let month_of = |day: NaiveDate| format!("{:04}-{:02}", day.year(), day.month());
    let months: Vec<Month> = months
        .into_iter()
        .map(|((year, month), beneficiaries)| {
            let name = format!("{year:04}-{month:02}");
            Month {
                admissions: started
                    .iter()
                    .filter(|a| a.start_on.is_some_and(|d| month_of(d) == name))
                    .count(),
                exits: activity
                    .accompaniments
                    .iter()
                    .filter_map(|a| a.exit)
                    .filter(|(_, d)| period.contains(*d) && month_of(*d) == name)
                    .count(),
                beneficiaries: beneficiaries.len(),
                forfait_eur: beneficiaries.len() as u64 * u64::from(FORFAIT_EUR),
                month: name,
            }
        })
        .collect();
    let forfait_total_eur: u64 = months.iter().map(|m| m.forfait_eur).sum();
    let period_days = period.days().count() as u64;
    let volet2_allocation_eur = (settings.volet2_allocation_eur * period_days + 182) / 365;

    let mut on_call = ByHour {
        total: 0,
        by_hour: [0; 24],
        by_outcome: BTreeMap::new(),
    };
    let mut on_call_by_reason = BTreeMap::new();
    for call in activity.calls.iter().filter(|c| period.contains(c.on)) {
        on_call.total += 1;
        on_call.by_hour[call.hour as usize] += 1;
        *on_call.by_outcome.entry(call.outcome).or_default() += 1;
        *on_call_by_reason.entry(call.reason).or_default() += 1;
    }
    let mut home_visits = ByHour {
        total: 0,
        by_hour: [0; 24],
        by_outcome: BTreeMap::new(),
    };
    for visit in activity.visits.iter().filter(|v| period.contains(v.on)) {
        home_visits.total += 1;
        home_visits.by_hour[visit.hour as usize] += 1;
        *home_visits.by_outcome.entry(visit.status).or_default() += 1;
    }

    let file_active: BTreeSet<&str> = people.keys().copied().collect();
    Indicators {
        period,
        file_active: people.len(),
        admissions: started.len(),
        exits,
        referrals,
        decisions,
        delays,
        gir,
        occupancy,
        months,
        forfait_total_eur,
        volet2_allocation_eur,
        forfait_percent_of_allocation: (volet2_allocation_eur > 0)
            .then(|| forfait_total_eur as f64 * 100.0 / volet2_allocation_eur as f64),
        on_call,
        on_call_by_reason,
        home_visits,
        identity: services::identity_share(
            &file_active,
            &activity.identity,
            &activity.exchanges,
            period,
        ),
        exchanges: services::exchanges(&activity.exchanges, period),
        waiting_list: services::waiting_list(&activity.waiting, period, settings.now),
        volet1: volet1::volet1(&activity.volet1, period),
        alerts: crate::alerts::figures(&activity.alerts, period),
    }
}
