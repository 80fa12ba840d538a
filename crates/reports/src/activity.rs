//! What the stored records say a CRT did, once each: the record versions a DUI sent over
//! time become one list of accompaniments (volet 2 periods), on-call calls and home visits.
//!
//! A DUI sends a beneficiary's record again whenever it changes; each version repeats what
//! the earlier ones said and may correct it. So the newest version of each thing wins: an
//! accompaniment is known by its referral (the beneficiary and the day the referral came
//! in), a call or an intervention by its id within the beneficiary's record. A person
//! accompanied twice (an exit, then a new referral) has two accompaniments: the record
//! carries one volet 2 at a time, the earlier versions keep the first.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use crt_core::CrtRecord;

use crt_core::record::{
    DecisionOutcome, ExitReason, IdentityStatus, InterventionKind, InterventionStatus,
    OnCallOutcome, OnCallReason, ReferralSource,
};
use crt_core::volet1::Volet1Action;
use crt_store::{Exchange, WaitingEntry};

/// One volet 2 period of one beneficiary, from its referral to its exit.
#[derive(Debug, Clone, PartialEq)]
pub struct Accompaniment {
    pub beneficiary: String,
    pub referral_source: ReferralSource,
    pub referred_on: NaiveDate,
    pub home_visit_on: Option<NaiveDate>,
    pub decision: Option<(DecisionOutcome, NaiveDate)>,
    pub start_on: Option<NaiveDate>,
    pub exit: Option<(ExitReason, NaiveDate)>,
    /// The GIR level the record gave (1 to 6), if it gave one.
    pub gir: Option<u8>,
}

impl Accompaniment {
    /// Whether the beneficiary was accompanied on `day`: from the start through the exit
    /// day, both included.
    pub fn covers(&self, day: NaiveDate) -> bool {
        match self.start_on {
            Some(start) => start <= day && self.exit.is_none_or(|(_, exit)| day <= exit),
            None => false,
        }
    }

    /// Whether the accompaniment covers at least one day of `[from, to]`.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        match self.start_on {
            Some(start) => start <= to && self.exit.is_none_or(|(_, exit)| exit >= from),
            None => false,
        }
    }
}

/// An on-call (astreinte) call, at the caller's local time.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub beneficiary: String,
    pub on: NaiveDate,
    pub hour: u32,
    pub reason: OnCallReason,
    pub outcome: OnCallOutcome,
}

/// A home visit (intervention of kind `home_visit`), at its local time: when it started,
/// or when it was planned.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub beneficiary: String,
    pub on: NaiveDate,
    pub hour: u32,
    pub status: InterventionStatus,
}

/// Everything one CRT's records say, each thing once, and what the gateway did with them.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub accompaniments: Vec<Accompaniment>,
    pub calls: Vec<Call>,
    pub visits: Vec<Visit>,
    /// The identity status the newest record of each beneficiary gives.
    pub identity: BTreeMap<String, IdentityStatus>,
    /// The CRT's volet 1 actions, the newest version of each.
    pub volet1: Vec<Volet1Action>,
    /// The deliveries of the CRT's records.
    pub exchanges: Vec<Exchange>,
    /// The volet 2 admission requests that reached the CRT, where each stands.
    pub waiting: Vec<WaitingEntry>,
    /// The alerts the gateway took in for the CRT's on-call service.
    pub alerts: Vec<crate::alerts::AlertFact>,
}

impl Activity {
    /// Reads record versions in the order they were received (oldest first): a later
    /// version replaces what an earlier one said of the same thing.
    pub fn from_versions<'a>(records: impl IntoIterator<Item = &'a CrtRecord>) -> Activity {
        use chrono::Timelike;
        let mut accompaniments = BTreeMap::new();
        let mut calls = BTreeMap::new();
        let mut visits = BTreeMap::new();
        let mut identity = BTreeMap::new();
        for record in records {
            let beneficiary = &record.beneficiary.local_id;
            identity.insert(beneficiary.clone(), record.beneficiary.identity_status);
            if let Some(volet2) = &record.volet2 {
                let key = (beneficiary.clone(), volet2.referral.received_on);
                accompaniments.insert(
                    key,
                    Accompaniment {
                        beneficiary: beneficiary.clone(),
                        referral_source: volet2.referral.source,
                        referred_on: volet2.referral.received_on,
                        home_visit_on: volet2.home_visit.as_ref().map(|step| step.date),
                        decision: volet2
                            .decision
                            .as_ref()
                            .map(|decision| (decision.outcome, decision.decided_on)),
                        start_on: volet2.start_on,
                        exit: volet2.exit.as_ref().map(|exit| (exit.reason, exit.date)),
                        gir: record.beneficiary.gir.as_ref().map(|gir| gir.level),
                    },
                );
            }
            for call in &record.on_call_calls {
                calls.insert(
                    (beneficiary.clone(), call.id.clone()),
                    Call {
                        beneficiary: beneficiary.clone(),
                        on: call.received_at.date_naive(),
                        hour: call.received_at.hour(),
                        reason: call.reason,
                        outcome: call.outcome,
                    },
                );
            }
            for intervention in &record.interventions {
                if intervention.kind != InterventionKind::HomeVisit {
                    continue;
                }
                let at = intervention.started_at.unwrap_or(intervention.planned_at);
                visits.insert(
                    (beneficiary.clone(), intervention.id.clone()),
                    Visit {
                        beneficiary: beneficiary.clone(),
                        on: at.date_naive(),
                        hour: at.hour(),
                        status: intervention.status,
                    },
                );
            }
        }
        Activity {
            accompaniments: accompaniments.into_values().collect(),
            calls: calls.into_values().collect(),
            visits: visits.into_values().collect(),
            identity,
            ..Activity::default()
        }
    }
}
