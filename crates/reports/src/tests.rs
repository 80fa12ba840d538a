//! A synthetic year of records for several CRTs, and each indicator checked against values
//! the test computes another way from what it generated (interval arithmetic where the
//! code walks days, sorting where it counts).

use crt_store::DeliveryQueue;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, TimeZone};
use crt_core::CrtRecord;
use crt_core::record::{
    AdmissionDecision, AdmissionStep, CallerKind, DecisionOutcome, Exit, ExitReason, GirAssessment,
    Intervention, InterventionKind, InterventionStatus, OnCallCall, OnCallOutcome, OnCallReason,
    Referral, ReferralSource, Volet2,
};

use super::{Activity, Period, Settings, compute};

/// A small deterministic generator (xorshift64*), so that the year is the same every run.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const SOURCES: [ReferralSource; 6] = [
    ReferralSource::GeneralPractitioner,
    ReferralSource::Hospital,
    ReferralSource::Dac,
    ReferralSource::Caregiver,
    ReferralSource::SocialServices,
    ReferralSource::Other,
];
const REASONS: [ExitReason; 5] = [
    ExitReason::HospitalisedOverThreeMonths,
    ExitReason::BeneficiaryChoice,
    ExitReason::MovedToEhpadOrUsld,
    ExitReason::CriteriaNoLongerMet,
    ExitReason::NoAddedValue,
];
const OUTCOMES: [OnCallOutcome; 4] = [
    OnCallOutcome::AdviceGiven,
    OnCallOutcome::HomeVisit,
    OnCallOutcome::EmergencyServices,
    OnCallOutcome::NoActionNeeded,
];

/// What the generator decided for one accompaniment: the truth the test checks against.
#[derive(Clone)]
struct Truth {
    crt: String,
    beneficiary: String,
    source: ReferralSource,
    referred: NaiveDate,
    visit: NaiveDate,
    decided: NaiveDate,
    outcome: DecisionOutcome,
    start: Option<NaiveDate>,
    exit: Option<(ExitReason, NaiveDate)>,
    gir: u8,
}

struct CallTruth {
    crt: String,
    on: NaiveDate,
    hour: u32,
    outcome: OnCallOutcome,
}

fn base() -> CrtRecord {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/examples/home-volet2-pays-de-la-loire.json"
    );
    serde_json::from_slice(&std::fs::read(path).expect("example")).expect("record")
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).expect("date") + Duration::days(n)
}

/// Record versions in the order a DUI would send them, and the truth behind them.
fn synthetic_year(seed: u64) -> (Vec<CrtRecord>, Vec<Truth>, Vec<CallTruth>) {
    let mut dice = Dice(seed);
    let template = base();
    let mut versions = Vec::new();
    let mut truths = Vec::new();
    let mut calls = Vec::new();
    let paris = FixedOffset::east_opt(3600).expect("offset");
    for crt in ["110008430", "310000013", "520000016"] {
        for person in 0..70 {
            let beneficiary = format!("B{crt}-{person}");
            // Referrals from mid-2024 to the end of 2025; one person in five comes back.
            let periods = if dice.below(5) == 0 { 2 } else { 1 };
            let mut referred = day(dice.below(540) as i64 - 180);
            for period in 0..periods {
                let visit = referred + Duration::days(1 + dice.below(10) as i64);
                let decided = visit + Duration::days(dice.below(8) as i64);
                let outcome = if dice.below(10) == 0 {
                    DecisionOutcome::Refused
                } else {
                    DecisionOutcome::Admitted
                };
                let start = (outcome == DecisionOutcome::Admitted)
                    .then(|| decided + Duration::days(dice.below(15) as i64));
                let exit = match (start, dice.below(3)) {
                    (Some(start), 0 | 1) => Some((
                        dice.pick(&REASONS),
                        start + Duration::days(20 + dice.below(200) as i64),
                    )),
                    _ => None,
                };
                let exit = if period + 1 < periods {
                    // A person who comes back has left first.
                    Some(exit.unwrap_or((
                        ExitReason::BeneficiaryChoice,
                        start.unwrap_or(decided) + Duration::days(30),
                    )))
                    .filter(|_| start.is_some())
                } else {
                    exit
                };
                let truth = Truth {
                    crt: crt.to_string(),
                    beneficiary: beneficiary.clone(),
                    source: dice.pick(&SOURCES),
                    referred,
                    visit,
                    decided,
                    outcome,
                    start,
                    exit,
                    gir: 1 + dice.below(6) as u8,
                };
                // The DUI sends a version at referral (nothing decided yet), then the full one.
                let mut early = template.clone();
                early.crt.finess_et = crt.to_string();
                early.beneficiary.local_id = beneficiary.clone();
                early.volet2 = Some(Volet2 {
                    referral: Referral {
                        source: ReferralSource::Other,
                        received_on: referred,
                        emergency: false,
                        after_hospital_discharge: false,
                        referrer: None,
                    },
                    home_visit: None,
                    medical_evaluation: None,
                    plan_drawn_up_on: None,
                    contract_signed_on: None,
                    decision: None,
                    start_on: None,
                    exit: None,
                });
                early.on_call_calls.clear();
                early.interventions.clear();
                versions.push(early);

                let mut full = template.clone();
                full.crt.finess_et = crt.to_string();
                full.beneficiary.local_id = beneficiary.clone();
                full.beneficiary.gir = Some(GirAssessment {
                    level: truth.gir,
                    assessed_on: visit,
                });
                full.volet2 = Some(Volet2 {
                    referral: Referral {
                        source: truth.source,
                        received_on: referred,
                        emergency: false,
                        after_hospital_discharge: false,
                        referrer: None,
                    },
                    home_visit: Some(AdmissionStep {
                        date: visit,
                        professionals: Vec::new(),
                    }),
                    medical_evaluation: None,
                    plan_drawn_up_on: None,
                    contract_signed_on: None,
                    decision: Some(AdmissionDecision {
                        outcome,
                        decided_on: decided,
                        reason: None,
                    }),
                    start_on: start,
                    exit: exit.map(|(reason, date)| Exit {
                        date,
                        reason,
                        relay: None,
                    }),
                });
                full.on_call_calls.clear();
                full.interventions.clear();
                if let Some(start) = start {
                    for n in 0..dice.below(4) {
                        let on = start + Duration::days(dice.below(60) as i64);
                        let hour = dice.below(24) as u32;
                        let outcome = dice.pick(&OUTCOMES);
                        let at = paris
                            .from_local_datetime(&on.and_hms_opt(hour, 15, 0).expect("time"))
                            .single()
                            .expect("time");
                        full.on_call_calls.push(OnCallCall {
                            id: format!("call-{period}-{n}"),
                            received_at: at,
                            caller: CallerKind::Caregiver,
                            reason: OnCallReason::Fall,
                            outcome,
                            answered_by: None,
                            visit_at: None,
                            closed_at: None,
                        });
                        calls.push(CallTruth {
                            crt: crt.to_string(),
                            on,
                            hour,
                            outcome,
                        });
                    }
                    let at = paris
                        .from_local_datetime(&visit.and_hms_opt(10, 0, 0).expect("time"))
                        .single()
                        .expect("time");
                    full.interventions.push(Intervention {
                        id: format!("visit-{period}"),
                        kind: InterventionKind::HomeVisit,
                        professional: "pro-ide-coord".into(),
                        planned_at: at,
                        planned_minutes: None,
                        started_at: None,
                        ended_at: None,
                        status: InterventionStatus::Done,
                    });
                }
                versions.push(full);
                truths.push(truth);
                referred = exit.map_or(decided, |(_, date)| date)
                    + Duration::days(10 + dice.below(30) as i64);
            }
        }
    }
    (versions, truths, calls)
}

fn median(mut values: Vec<i64>) -> Option<f64> {
    values.sort();
    let n = values.len();
    if n == 0 {
        None
    } else if n % 2 == 1 {
        Some(values[n / 2] as f64)
    } else {
        Some((values[n / 2 - 1] + values[n / 2]) as f64 / 2.0)
    }
}

#[test]
fn every_indicator_matches_an_independent_count_on_a_synthetic_year() {
    let (versions, truths, calls) = synthetic_year(0x5EED_2025);
    let period = Period {
        from: day(0),
        to: day(364),
    };
    for crt in ["110008430", "310000013", "520000016"] {
        let activity = Activity::from_versions(versions.iter().filter(|r| r.crt.finess_et == crt));
        let got = compute(&activity, period, &Settings::standard(0));
        let mine: Vec<&Truth> = truths.iter().filter(|t| t.crt == crt).collect();
        let (from, to) = (period.from, period.to);
        let accompanied_in = |t: &Truth, a: NaiveDate, b: NaiveDate| {
            t.start
                .is_some_and(|s| s <= b && t.exit.is_none_or(|(_, e)| e >= a))
        };

        // File active: people with an interval meeting the period, each once.
        let people: BTreeSet<&str> = mine
            .iter()
            .filter(|t| accompanied_in(t, from, to))
            .map(|t| t.beneficiary.as_str())
            .collect();
        assert_eq!(got.file_active, people.len(), "{crt} file active");
        let returning = mine.iter().filter(|t| accompanied_in(t, from, to)).count();
        assert!(
            returning > people.len(),
            "the year has people with two periods"
        );

        assert_eq!(
            got.admissions,
            mine.iter()
                .filter(|t| t.start.is_some_and(|s| period.contains(s)))
                .count()
        );
        for reason in REASONS {
            let expected = mine
                .iter()
                .filter(|t| {
                    t.exit
                        .is_some_and(|(r, d)| r == reason && period.contains(d))
                })
                .count();
            assert_eq!(got.exits[&reason], expected, "{crt} exits {reason:?}");
        }
        for source in SOURCES {
            let expected = mine
                .iter()
                .filter(|t| t.source == source && period.contains(t.referred))
                .count();
            assert_eq!(got.referrals.get(&source).copied().unwrap_or(0), expected);
        }
        let refused = mine
            .iter()
            .filter(|t| t.outcome == DecisionOutcome::Refused && period.contains(t.decided))
            .count();
        assert_eq!(
            got.decisions
                .get(&DecisionOutcome::Refused)
                .copied()
                .unwrap_or(0),
            refused
        );

        // Delays over the accompaniments that started in the period.
        let started: Vec<&&Truth> = mine
            .iter()
            .filter(|t| t.start.is_some_and(|s| period.contains(s)))
            .collect();
        let referral_to_start: Vec<i64> = started
            .iter()
            .map(|t| (t.start.unwrap() - t.referred).num_days())
            .collect();
        assert_eq!(
            got.delays.referral_to_start.median_days,
            median(referral_to_start.clone())
        );
        assert_eq!(
            got.delays.referral_to_start.max_days,
            referral_to_start.iter().copied().max()
        );
        let visit_to_decision: Vec<i64> = started
            .iter()
            .map(|t| (t.decided - t.visit).num_days())
            .collect();
        assert_eq!(
            got.delays.home_visit_to_decision.median_days,
            median(visit_to_decision)
        );

        // GIR of each person of the file active: their latest accompaniment's.
        let mut gir: BTreeMap<String, usize> = BTreeMap::new();
        for person in &people {
            let latest = mine
                .iter()
                .filter(|t| t.beneficiary == *person && accompanied_in(t, from, to))
                .max_by_key(|t| t.start)
                .expect("a period");
            *gir.entry(latest.gir.to_string()).or_default() += 1;
        }
        for (level, count) in &gir {
            assert_eq!(got.gir[level], *count, "{crt} GIR {level}");
        }

        // Occupancy by a sweep over start and exit events rather than day by day.
        let mut events: BTreeMap<NaiveDate, i64> = BTreeMap::new();
        for t in &mine {
            if let Some(start) = t.start {
                *events.entry(start).or_default() += 1;
                if let Some((_, exit)) = t.exit {
                    *events.entry(exit + Duration::days(1)).or_default() -= 1;
                }
            }
        }
        let mut running = 0;
        let mut max = 0;
        let mut sum = 0;
        let mut over = 0;
        let mut cursor = events.iter().peekable();
        for today in period.days() {
            while let Some((when, delta)) = cursor.peek() {
                if **when > today {
                    break;
                }
                running += **delta;
                cursor.next();
            }
            max = max.max(running);
            sum += running;
            if running > 25 {
                over += 1;
            }
        }
        assert_eq!(got.occupancy.max as i64, max, "{crt} occupancy max");
        assert!((got.occupancy.mean - sum as f64 / 365.0).abs() < 1e-9);
        assert_eq!(got.occupancy.days_over_capacity, over);
        assert_eq!(got.occupancy.daily.len(), 365);

        // Forfait: a person counts in a month when one of their intervals meets it.
        let mut total = 0u64;
        for month in 1..=12u32 {
            let first = NaiveDate::from_ymd_opt(2025, month, 1).unwrap();
            let last = if month == 12 {
                NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()
            } else {
                NaiveDate::from_ymd_opt(2025, month + 1, 1).unwrap() - Duration::days(1)
            };
            let count = mine
                .iter()
                .filter(|t| accompanied_in(t, first, last))
                .map(|t| t.beneficiary.as_str())
                .collect::<BTreeSet<_>>()
                .len();
            let got_month = &got.months[(month - 1) as usize];
            assert_eq!(got_month.month, format!("2025-{month:02}"));
            assert_eq!(got_month.beneficiaries, count, "{crt} forfait {month}");
            let admitted = mine
                .iter()
                .filter(|t| t.start.is_some_and(|s| s >= first && s <= last))
                .count();
            assert_eq!(got_month.admissions, admitted, "{crt} admissions {month}");
            let left = mine
                .iter()
                .filter(|t| t.exit.is_some_and(|(_, e)| e >= first && e <= last))
                .count();
            assert_eq!(got_month.exits, left, "{crt} exits {month}");
            total += count as u64 * 900;
        }
        assert_eq!(got.forfait_total_eur, total);

        // On-call calls by hour and outcome.
        let my_calls: Vec<&CallTruth> = calls
            .iter()
            .filter(|c| c.crt == crt && period.contains(c.on))
            .collect();
        assert_eq!(got.on_call.total, my_calls.len());
        for hour in 0..24u32 {
            assert_eq!(
                got.on_call.by_hour[hour as usize],
                my_calls.iter().filter(|c| c.hour == hour).count()
            );
        }
        for outcome in OUTCOMES {
            assert_eq!(
                got.on_call.by_outcome.get(&outcome).copied().unwrap_or(0),
                my_calls.iter().filter(|c| c.outcome == outcome).count()
            );
        }
        // One home visit per accompaniment that started, on its visit day, at 10:00.
        let visits = mine
            .iter()
            .filter(|t| t.start.is_some() && period.contains(t.visit))
            .count();
        assert_eq!(got.home_visits.total, visits);
        assert_eq!(got.home_visits.by_hour[10], visits);
        assert_eq!(got.period.from.year(), 2025);
    }
}

#[test]
fn a_later_version_replaces_an_earlier_one_and_two_periods_stay_two() {
    let (versions, truths, _) = synthetic_year(7);
    let crt = "110008430";
    let activity = Activity::from_versions(versions.iter().filter(|r| r.crt.finess_et == crt));
    let expected = truths.iter().filter(|t| t.crt == crt).count();
    // Each accompaniment was sent twice (at referral, then in full): kept once, as sent last.
    assert_eq!(activity.accompaniments.len(), expected);
    assert!(
        activity
            .accompaniments
            .iter()
            .all(|a| a.home_visit_on.is_some())
    );
}

fn millis(day: NaiveDate, hour: u32) -> crt_store::Millis {
    day.and_hms_opt(hour, 0, 0)
        .expect("time")
        .and_utc()
        .timestamp_millis()
}

#[test]
fn exchanges_identity_waiting_list_and_volet1_match_an_independent_count() {
    use crt_core::record::{Action, Channel, DocumentKind, IdentityStatus};
    use crt_core::sink::{Receipt, Work};
    use crt_core::volet1::{Participants, Volet1Action, Volet1Field, Volet1Status, Volet1Theme};
    use crt_store::{DeliveryState, Exchange, WaitingEntry};

    let (versions, _, _) = synthetic_year(0xE8C4_A26E);
    let crt = "310000013";
    let period = Period {
        from: day(0),
        to: day(364),
    };
    let mut dice = Dice(99);
    let mut activity = Activity::from_versions(versions.iter().filter(|r| r.crt.finess_et == crt));
    let file_active: BTreeSet<String> = activity
        .accompaniments
        .iter()
        .filter(|a| a.overlaps(period.from, period.to))
        .map(|a| a.beneficiary.clone())
        .collect();
    assert!(file_active.len() > 30);

    // Identity: the newest record says QUAL for some; an INS check qualifies others, some of
    // them only after the period, which must not count.
    let mut qualified = 0;
    let mut exchanges = Vec::new();
    let works = [
        ("dmp", Some(DocumentKind::Dlu)),
        ("dmp", Some(DocumentKind::Plan)),
        ("mssante", Some(DocumentKind::Dlu)),
        ("viatrajectoire", None),
        ("region:spico", None),
    ];
    let states = [
        DeliveryState::Delivered,
        DeliveryState::Delivered,
        DeliveryState::Declined,
        DeliveryState::Held,
        DeliveryState::Dead,
        DeliveryState::Pending,
    ];
    // (target, state, document, in period): the truth of each delivery.
    let mut truth: Vec<(String, DeliveryState, Option<DocumentKind>, bool)> = Vec::new();
    for person in activity.identity.keys().cloned().collect::<Vec<_>>() {
        let by_record = dice.below(4) == 0;
        let status = if by_record {
            IdentityStatus::Qualified
        } else {
            IdentityStatus::Provisional
        };
        activity.identity.insert(person.clone(), status);
        let check = dice.below(3);
        let checked_on = if check == 2 { day(400) } else { day(100) };
        exchanges.push(Exchange {
            delivery_id: uuid::Uuid::now_v7(),
            beneficiary_ref: person.clone(),
            target: "ins".into(),
            work: Work::VerifyIdentity,
            state: DeliveryState::Delivered,
            created_at: millis(checked_on, 9),
            updated_at: millis(checked_on, 9),
            receipt: Some(
                Receipt::delivered("checked").with_details(serde_json::json!({
                    "status": if check == 1 { "RECUP" } else { "QUAL" }
                })),
            ),
        });
        truth.push((
            "ins".into(),
            DeliveryState::Delivered,
            None,
            period.contains(checked_on),
        ));
        if file_active.contains(&person) && (by_record || check == 0) {
            qualified += 1;
        }
        for _ in 0..dice.below(5) {
            let (target, document) = dice.pick(&works);
            let state = dice.pick(&states);
            let on = day(dice.below(420) as i64 - 30);
            let work = match document {
                Some(document) => Work::Action {
                    action: Action::SendDocument {
                        document,
                        to: vec![if target == "dmp" {
                            Channel::Dmp
                        } else {
                            Channel::Mssante
                        }],
                    },
                },
                None if target == "viatrajectoire" => Work::Action {
                    action: Action::AnswerAdmission {
                        request: "VT-GA-00000001".into(),
                        decision: crt_core::record::AdmissionAnswer::Received,
                        rank: None,
                        date: None,
                        reason: None,
                    },
                },
                None => Work::Action {
                    action: Action::ShareWithRegion,
                },
            };
            exchanges.push(Exchange {
                delivery_id: uuid::Uuid::now_v7(),
                beneficiary_ref: person.clone(),
                target: target.into(),
                work,
                state,
                created_at: millis(on, 12),
                updated_at: millis(on, 13),
                receipt: None,
            });
            truth.push((target.into(), state, document, period.contains(on)));
        }
        // The journal is the gateway's own: never an exchange.
        exchanges.push(Exchange {
            delivery_id: uuid::Uuid::now_v7(),
            beneficiary_ref: person.clone(),
            target: "journal".into(),
            work: Work::Journal,
            state: DeliveryState::Delivered,
            created_at: millis(day(10), 8),
            updated_at: millis(day(10), 8),
            receipt: None,
        });
    }
    activity.exchanges = exchanges;

    // Waiting list: requests made over the year and after, in every status.
    let statuses = [
        "new",
        "received",
        "waiting_list",
        "accepted",
        "refused",
        "cancelled",
        "admitted",
    ];
    let now = millis(day(420), 12);
    let mut requests = Vec::new();
    for n in 0..80 {
        let requested = day(dice.below(400) as i64 - 20);
        let status = dice.pick(&statuses);
        let changed = requested + Duration::days(dice.below(90) as i64);
        requests.push((requested, status, changed));
        activity.waiting.push(WaitingEntry {
            crt_finess_et: crt.into(),
            request_id: format!("VT-GA-{n:08}"),
            remote_id: format!("DocumentReference/{n}"),
            status: status.into(),
            rank: None,
            reason: None,
            status_at: (status != "new").then(|| format!("{changed}T14:00:00+01:00")),
            withdrawn: false,
            received_at: now,
            updated_at: now,
            request: serde_json::json!({
                "requested_at": chrono::DateTime::from_timestamp_millis(millis(requested, 10))
                    .map(|at| at.to_rfc3339())
            }),
        });
    }

    // Volet 1: actions in each status and field, some outside the period.
    let themes = [
        (
            Volet1Field::AccessToCareAndPrevention,
            Volet1Theme::FallPrevention,
        ),
        (
            Volet1Field::AccessToCareAndPrevention,
            Volet1Theme::Telehealth,
        ),
        (
            Volet1Field::FightingIsolation,
            Volet1Theme::CaregiverSupport,
        ),
        (
            Volet1Field::ProfessionalPractices,
            Volet1Theme::ProfessionalTraining,
        ),
    ];
    let template: Volet1Action = serde_json::from_str(
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/examples/volet1/actions.jsonl"
        ))
        .expect("examples")
        .lines()
        .next()
        .expect("one"),
    )
    .expect("action");
    let mut held_actions = 0;
    let mut held_people = 0u32;
    let mut caregivers = 0u32;
    let mut by_field: BTreeMap<Volet1Field, usize> = BTreeMap::new();
    let mut planned = 0;
    let mut minutes = 0u32;
    for n in 0..60 {
        let (field, theme) = dice.pick(&themes);
        let status = dice.pick(&[
            Volet1Status::Held,
            Volet1Status::Held,
            Volet1Status::Planned,
        ]);
        let on = day(dice.below(400) as i64 - 20);
        let participants = if status == Volet1Status::Held {
            Participants {
                older_people_at_home: dice.below(12) as u32,
                ehpad_residents: dice.below(5) as u32,
                caregivers: dice.below(6) as u32,
                professionals: dice.below(9) as u32,
                volet2_beneficiaries: 0,
            }
        } else {
            Participants::default()
        };
        let length = 30 * (1 + dice.below(8) as u32);
        if period.contains(on) {
            match status {
                Volet1Status::Held => {
                    held_actions += 1;
                    held_people += participants.older_people_at_home
                        + participants.ehpad_residents
                        + participants.caregivers
                        + participants.professionals;
                    caregivers += participants.caregivers;
                    *by_field.entry(field).or_default() += 1;
                    minutes += length;
                }
                _ => planned += 1,
            }
        }
        activity.volet1.push(Volet1Action {
            field,
            theme,
            status,
            held_on: on,
            participants,
            duration_minutes: Some(length),
            sessions: None,
            title: format!("action {n}"),
            ..template.clone()
        });
    }

    let got = compute(&activity, period, &Settings::standard(now));

    assert_eq!(got.identity.file_active, file_active.len());
    assert_eq!(got.identity.qualified, qualified);
    let percent = got.identity.qualified_percent.expect("a share");
    assert!((percent - qualified as f64 * 100.0 / file_active.len() as f64).abs() < 1e-9);

    assert!(!got.exchanges.contains_key("journal"));
    for target in ["ins", "dmp", "mssante", "viatrajectoire", "region:spico"] {
        let mine = || {
            truth
                .iter()
                .filter(move |(t, _, _, inside)| t == target && *inside)
        };
        let counted = &got.exchanges[target];
        let state = |s: DeliveryState| mine().filter(|(_, st, _, _)| *st == s).count();
        assert_eq!(
            counted.delivered,
            state(DeliveryState::Delivered),
            "{target}"
        );
        assert_eq!(counted.declined, state(DeliveryState::Declined), "{target}");
        assert_eq!(counted.held, state(DeliveryState::Held), "{target}");
        assert_eq!(counted.dead, state(DeliveryState::Dead), "{target}");
        assert_eq!(
            counted.in_progress,
            state(DeliveryState::Pending),
            "{target}"
        );
        for document in [DocumentKind::Dlu, DocumentKind::Plan] {
            let delivered = mine()
                .filter(|(_, st, d, _)| *st == DeliveryState::Delivered && *d == Some(document))
                .count();
            assert_eq!(
                counted
                    .documents
                    .get(document.as_str())
                    .copied()
                    .unwrap_or(0),
                delivered,
                "{target} {document:?}"
            );
        }
    }

    let open = ["new", "received", "waiting_list", "accepted"];
    let waiting = &got.waiting_list;
    assert_eq!(
        waiting.open_now,
        requests.iter().filter(|(_, s, _)| open.contains(s)).count()
    );
    for status in statuses {
        assert_eq!(
            waiting.by_status_now[status],
            requests.iter().filter(|(_, s, _)| *s == status).count()
        );
    }
    assert_eq!(
        waiting.requested,
        requests
            .iter()
            .filter(|(r, _, _)| period.contains(*r))
            .count()
    );
    let admitted: Vec<i64> = requests
        .iter()
        .filter(|(_, s, c)| *s == "admitted" && period.contains(*c))
        .map(|(r, _, c)| (*c - *r).num_days())
        .collect();
    assert_eq!(waiting.admitted, admitted.len());
    assert_eq!(waiting.request_to_admission.median_days, median(admitted));
    let waited: Vec<i64> = requests
        .iter()
        .filter(|(_, s, _)| open.contains(s))
        .map(|(r, _, _)| (day(420) - *r).num_days())
        .collect();
    assert_eq!(waiting.open_waiting.max_days, waited.iter().copied().max());

    let volet1 = &got.volet1;
    assert_eq!(volet1.held.actions, held_actions);
    assert_eq!(volet1.held.participants.total(), held_people);
    assert_eq!(volet1.held.participants.caregivers, caregivers);
    assert_eq!(volet1.planned, planned);
    assert!((volet1.hours - f64::from(minutes) / 60.0).abs() < 1e-9);
    for field in Volet1Field::ALL {
        assert_eq!(
            volet1.by_field[&field].actions,
            by_field.get(&field).copied().unwrap_or(0)
        );
    }
    assert_eq!(volet1.fields_covered, by_field.len());

    // Forfait against the allocation: a full volet 2 over 365 days is the year's 270,000.
    assert_eq!(got.volet2_allocation_eur, 270_000);
    let share = got.forfait_percent_of_allocation.expect("a share");
    assert!((share - got.forfait_total_eur as f64 / 2_700.0).abs() < 1e-9);
}

#[tokio::test]
async fn the_store_gives_each_crt_its_own_records_in_order() {
    use crt_store::{Intake, NewRecord, SqliteStore};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("gateway.db")).expect("open");
    let (versions, _, _) = synthetic_year(0x5707E);
    for (n, record) in versions.iter().enumerate() {
        store
            .accept(Intake {
                record: NewRecord {
                    id: uuid::Uuid::now_v7(),
                    received_at: 1_000 + n as i64,
                    crt_finess_et: record.crt.finess_et.clone(),
                    beneficiary_ref: record.beneficiary.local_id.clone(),
                    source_ref: record.source.record_ref.clone(),
                    body_sha256: format!("{n}"),
                    payload: serde_json::to_vec(record).expect("JSON"),
                },
                deliveries: Vec::new(),
                idempotency_key: None,
                response: Vec::new(),
                trace: Vec::new(),
                consents: None,
            })
            .await
            .expect("stored");
    }
    let period = Period {
        from: day(0),
        to: day(364),
    };
    let settings = Settings::standard(0);
    for crt in ["110008430", "310000013", "520000016"] {
        let from_store = super::for_crt(&store, crt, period, settings)
            .await
            .expect("report");
        let in_memory = compute(
            &Activity::from_versions(versions.iter().filter(|r| r.crt.finess_et == crt)),
            period,
            &settings,
        );
        assert_eq!(from_store, in_memory, "{crt}");
        assert!(from_store.file_active > 0);
    }
}
