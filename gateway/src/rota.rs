//! The on-call rota of each CRT: who answers an alert at a given time, in the order the
//! alert goes to them, and the hours of the week nobody covers.
//!
//! A shift is a role, a person and their MSSanté mailbox, the days it starts on and its
//! hours; a shift whose end is not after its start runs past midnight into the next day
//! (`20:00`–`08:00`), one whose end equals its start lasts 24 hours. At a given time the
//! alert goes first to the care assistants on call, then to the nurses, then to the
//! physicians (the order the volet 2 escalates in), each role in the order of the
//! configuration; after them to the CRT's coordinators. An alert about someone the
//! gateway holds no record of goes to the coordinators alone: they sort it out.
//!
//! The rota's hours are local time. France's metropolitan time (`Europe/Paris`) follows
//! the European summer time (from the last Sunday of March to the last Sunday of
//! October, 01:00 UTC both); overseas CRTs give their fixed offset (`+04:00` in La
//! Réunion).

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use crt_ror::offer::Day;
use serde::{Deserialize, Serialize};

/// Minutes in a week: the rota's resolution.
const WEEK: usize = 7 * 24 * 60;

/// `[on_call]`: the CRTs' on-call services.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnCallConfig {
    /// Seconds an alert may stay untaken before the next person of the rota is called.
    pub take_within_s: u64,
    /// The time zone of the rota's hours: `Europe/Paris`, or a fixed offset (`+04:00`).
    pub time_zone: String,
    /// How often due calls are looked for, in milliseconds (a new alert is called at once).
    pub poll_interval_ms: u64,
    /// One per CRT with an on-call service.
    pub services: Vec<OnCallService>,
    /// The regulation (SAMU – Centre 15) of each département, for alerts closed as
    /// needing the emergency services.
    pub regulation: Vec<Regulation>,
}

impl Default for OnCallConfig {
    fn default() -> Self {
        OnCallConfig {
            take_within_s: 600,
            time_zone: "Europe/Paris".into(),
            poll_interval_ms: 1_000,
            services: Vec::new(),
            regulation: Vec::new(),
        }
    }
}

/// `[[on_call.services]]`: one CRT's on-call service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnCallService {
    /// The CRT's FINESS ET, as alerts and records name it.
    pub crt: String,
    /// The CRT's MSSanté mailbox the calls go from.
    pub mailbox: String,
    /// The département whose regulation is informed when the beneficiary's address gives
    /// none (two characters: `72`, `2A`, `974`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departement: Option<String>,
    /// Who sorts out what the rota does not: alerts about unknown beneficiaries, alerts
    /// nobody on call took.
    #[serde(default)]
    pub coordinators: Vec<Person>,
    #[serde(default)]
    pub rota: Vec<Shift>,
}

/// Someone the on-call service calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    /// Their MSSanté mailbox.
    pub mailbox: String,
    /// idNat_PS (`8` + RPPS), when they have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `[[on_call.services.rota]]`: one person on call, by role, days and hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub role: OnCallRole,
    #[serde(flatten)]
    pub person: Person,
    /// The days the shift starts on (`mon` … `sun`); every day when empty.
    #[serde(default)]
    pub days: Vec<Day>,
    /// `HH:MM`, local time.
    pub from: String,
    pub to: String,
}

/// The roles of the on-call service, in the order an alert goes up them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnCallRole {
    CareAssistant,
    Nurse,
    Physician,
}

impl OnCallRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OnCallRole::CareAssistant => "care_assistant",
            OnCallRole::Nurse => "nurse",
            OnCallRole::Physician => "physician",
        }
    }
}

/// Monday is 0.
fn day_index(day: Day) -> usize {
    day as usize
}

fn day_name(index: usize) -> &'static str {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][index % 7]
}

/// `[[on_call.regulation]]`: a département's SAMU – Centre 15.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regulation {
    pub departement: String,
    /// The regulation's MSSanté mailbox.
    pub mailbox: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotaError {
    #[error("on_call.time_zone = {0:?}: expected Europe/Paris or an offset such as +04:00")]
    TimeZone(String),
    #[error("on_call.services[{service}].rota[{shift}].{field} = {value:?}: expected HH:MM")]
    Hour {
        service: usize,
        shift: usize,
        field: &'static str,
        value: String,
    },
    #[error("on_call.services[{service}].crt = {value:?}: expected a FINESS ET")]
    Finess { service: usize, value: String },
    #[error("on_call.services[{0}]: the CRT has two on-call services")]
    Twice(usize),
}

/// The time zone of the rota's hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Metropolitan France: UTC+1, UTC+2 in summer.
    EuropeParis,
    /// A fixed offset, in minutes east of UTC.
    Fixed(i32),
}

impl Zone {
    pub fn parse(text: &str) -> Result<Zone, RotaError> {
        if text == "Europe/Paris" {
            return Ok(Zone::EuropeParis);
        }
        let bad = || RotaError::TimeZone(text.to_string());
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return Err(bad()),
        };
        let minutes = minutes_of(rest).ok_or_else(bad)?;
        Ok(Zone::Fixed(sign * minutes as i32))
    }

    /// The local time at `at`.
    pub fn local(self, at: DateTime<Utc>) -> NaiveDateTime {
        let offset = match self {
            Zone::Fixed(minutes) => minutes,
            Zone::EuropeParis if european_summer_time(at) => 120,
            Zone::EuropeParis => 60,
        };
        at.naive_utc() + Duration::minutes(i64::from(offset))
    }
}

/// Whether European summer time is in force at `at` (Directive 2000/84/EC: from 01:00 UTC
/// on the last Sunday of March to 01:00 UTC on the last Sunday of October).
fn european_summer_time(at: DateTime<Utc>) -> bool {
    let year = at.year();
    let start = last_sunday(year, 3).and_hms_opt(1, 0, 0);
    let end = last_sunday(year, 10).and_hms_opt(1, 0, 0);
    match (start, end) {
        (Some(start), Some(end)) => at.naive_utc() >= start && at.naive_utc() < end,
        _ => false,
    }
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let last = NaiveDate::from_ymd_opt(year, month + 1, 1)
        .and_then(|first| first.pred_opt())
        .unwrap_or_default();
    let back = last.weekday().num_days_from_sunday();
    last - Duration::days(i64::from(back))
}

/// `HH:MM` → minutes after midnight.
fn minutes_of(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

/// A shift's minutes of the week, for one of its days.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    length: usize,
}

impl Span {
    fn covers(self, minute: usize) -> bool {
        (minute + WEEK - self.start) % WEEK < self.length
    }
}

/// The rota, checked and ready to answer.
#[derive(Debug, Clone)]
pub struct Rota {
    zone: Zone,
    services: Vec<Service>,
    regulation: Vec<Regulation>,
}

#[derive(Debug, Clone)]
struct Service {
    config: OnCallService,
    /// Each shift's spans, in the order of `config.rota`.
    spans: Vec<Vec<Span>>,
}

/// Someone an alert goes to: a person of the rota (with their role) or a coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callee {
    /// `care_assistant`, `nurse`, `physician` or `coordinator`.
    pub role: &'static str,
    pub person: Person,
}

/// Hours of the week nobody of a CRT's rota covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub crt: String,
    /// `Mon 08:00–09:00`, local time.
    pub spans: Vec<String>,
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nobody on call for CRT {}: {}",
            self.crt,
            self.spans.join(", ")
        )
    }
}

impl Rota {
    pub fn new(config: &OnCallConfig) -> Result<Rota, RotaError> {
        let zone = Zone::parse(&config.time_zone)?;
        let mut services: Vec<Service> = Vec::with_capacity(config.services.len());
        for (index, service) in config.services.iter().enumerate() {
            if crt_core::identifiers::check_finess(&service.crt).is_err() {
                return Err(RotaError::Finess {
                    service: index,
                    value: service.crt.clone(),
                });
            }
            if services.iter().any(|s| s.config.crt == service.crt) {
                return Err(RotaError::Twice(index));
            }
            let mut spans = Vec::with_capacity(service.rota.len());
            for (number, shift) in service.rota.iter().enumerate() {
                let hour = |field: &'static str, value: &str| {
                    minutes_of(value).ok_or_else(|| RotaError::Hour {
                        service: index,
                        shift: number,
                        field,
                        value: value.to_string(),
                    })
                };
                let from = hour("from", &shift.from)? as usize;
                let to = hour("to", &shift.to)? as usize;
                let length = if to > from {
                    to - from
                } else {
                    to + 24 * 60 - from
                };
                let days: &[Day] = if shift.days.is_empty() {
                    &Day::ALL
                } else {
                    &shift.days
                };
                spans.push(
                    days.iter()
                        .map(|day| Span {
                            start: day_index(*day) * 24 * 60 + from,
                            length,
                        })
                        .collect(),
                );
            }
            services.push(Service {
                config: service.clone(),
                spans,
            });
        }
        Ok(Rota {
            zone,
            services,
            regulation: config.regulation.clone(),
        })
    }

    /// Whether the CRT has an on-call service here.
    pub fn serves(&self, crt: &str) -> bool {
        self.service(crt).is_some()
    }

    fn service(&self, crt: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.config.crt == crt)
    }

    /// The mailbox the CRT's calls go from.
    pub fn mailbox(&self, crt: &str) -> Option<&str> {
        self.service(crt).map(|s| s.config.mailbox.as_str())
    }

    /// Whom an alert raised `at` goes to, in order: the people on call by role, then the
    /// coordinators; the coordinators alone when the beneficiary is `unknown`.
    pub fn callees(&self, crt: &str, at: DateTime<Utc>, unknown: bool) -> Vec<Callee> {
        let Some(service) = self.service(crt) else {
            return Vec::new();
        };
        let minute = minute_of_week(self.zone.local(at));
        let mut on_call: Vec<(OnCallRole, usize)> = Vec::new();
        if !unknown {
            for (index, spans) in service.spans.iter().enumerate() {
                if spans.iter().any(|span| span.covers(minute)) {
                    on_call.push((service.config.rota[index].role, index));
                }
            }
        }
        // Stable: within a role, the configuration's order.
        on_call.sort_by_key(|(role, _)| *role);
        on_call
            .into_iter()
            .map(|(role, index)| Callee {
                role: role.as_str(),
                person: service.config.rota[index].person.clone(),
            })
            .chain(service.config.coordinators.iter().map(|person| Callee {
                role: "coordinator",
                person: person.clone(),
            }))
            .collect()
    }

    /// The hours of the week each CRT's rota leaves uncovered.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut gaps = Vec::new();
        for service in &self.services {
            let mut covered = vec![false; WEEK];
            for span in service.spans.iter().flatten() {
                for offset in 0..span.length {
                    covered[(span.start + offset) % WEEK] = true;
                }
            }
            let spans = uncovered(&covered);
            if !spans.is_empty() {
                gaps.push(Gap {
                    crt: service.config.crt.clone(),
                    spans,
                });
            }
        }
        gaps
    }

    /// The regulation's mailbox for a département, or for the CRT's own when the
    /// beneficiary's is not known.
    pub fn regulation(&self, crt: &str, departement: Option<&str>) -> Option<&Regulation> {
        let own = self
            .service(crt)
            .and_then(|s| s.config.departement.as_deref());
        let wanted = departement.or(own)?;
        self.regulation.iter().find(|r| r.departement == wanted)
    }

    /// Whether `at` falls in the night of the on-call indicators (20:00–08:00 local).
    pub fn is_night(&self, at: DateTime<Utc>) -> bool {
        let hour = self.zone.local(at).hour();
        !(8..20).contains(&hour)
    }
}

fn minute_of_week(local: NaiveDateTime) -> usize {
    local.weekday().num_days_from_monday() as usize * 24 * 60
        + local.hour() as usize * 60
        + local.minute() as usize
}

/// The uncovered runs of the week, as `Mon 08:00–09:00`; a run over Sunday midnight is
/// one run.
fn uncovered(covered: &[bool]) -> Vec<String> {
    let Some(first_covered) = covered.iter().position(|c| *c) else {
        return vec!["the whole week".to_string()];
    };
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    for step in 1..=WEEK {
        let minute = (first_covered + step) % WEEK;
        match (covered[minute], start) {
            (false, None) => start = Some(minute),
            (true, Some(from)) => {
                runs.push(format!("{}–{}", moment(from), clock(minute)));
                start = None;
            }
            _ => {}
        }
    }
    runs
}

fn moment(minute: usize) -> String {
    format!("{} {}", day_name(minute / (24 * 60)), clock(minute))
}

fn clock(minute: usize) -> String {
    let in_day = minute % (24 * 60);
    format!("{:02}:{:02}", in_day / 60, in_day % 60)
}

/// The département of a French postal code: `72` for 72000, `2A`/`2B` in Corsica, three
/// digits overseas (`974`).
pub fn departement_of(postal_code: &str) -> Option<String> {
    let digits = postal_code.get(..2)?;
    match digits {
        "20" => {
            let number: u32 = postal_code.parse().ok()?;
            Some(if number < 20200 { "2A" } else { "2B" }.to_string())
        }
        "97" | "98" => postal_code.get(..3).map(str::to_string),
        _ => Some(digits.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shift(role: OnCallRole, name: &str, days: &[Day], from: &str, to: &str) -> Shift {
        Shift {
            role,
            person: Person {
                name: name.into(),
                mailbox: format!("{}@crt.mssante.fr", name.to_lowercase()),
                id: None,
            },
            days: days.to_vec(),
            from: from.into(),
            to: to.into(),
        }
    }

    fn config(rota: Vec<Shift>) -> OnCallConfig {
        OnCallConfig {
            services: vec![OnCallService {
                crt: "720004563".into(),
                mailbox: "astreinte@crt.mssante.fr".into(),
                departement: Some("72".into()),
                coordinators: vec![Person {
                    name: "Coordination".into(),
                    mailbox: "coordination@crt.mssante.fr".into(),
                    id: None,
                }],
                rota,
            }],
            regulation: vec![Regulation {
                departement: "72".into(),
                mailbox: "samu72@ch-lemans.mssante.fr".into(),
            }],
            ..OnCallConfig::default()
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_alert_goes_up_the_roles_then_to_the_coordinators() {
        let rota = Rota::new(&config(vec![
            shift(OnCallRole::Physician, "Medecin", &[], "20:00", "08:00"),
            shift(OnCallRole::CareAssistant, "Lea", &[], "20:00", "08:00"),
            shift(OnCallRole::Nurse, "Ines", &[], "20:00", "08:00"),
            shift(OnCallRole::Nurse, "Jour", &[], "08:00", "20:00"),
        ]))
        .unwrap();
        // 02:14 in Le Mans on a Sunday of December is 01:14 UTC.
        let called = rota.callees("720004563", at("2026-12-06T01:14:00Z"), false);
        let names: Vec<&str> = called.iter().map(|c| c.person.name.as_str()).collect();
        assert_eq!(names, ["Lea", "Ines", "Medecin", "Coordination"]);
        assert_eq!(called[0].role, "care_assistant");
        let unknown = rota.callees("720004563", at("2026-12-06T01:14:00Z"), true);
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].role, "coordinator");
        assert!(
            rota.callees("330000001", at("2026-12-06T01:14:00Z"), false)
                .is_empty()
        );
        assert!(rota.gaps().is_empty());
    }

    #[test]
    fn summer_time_moves_the_local_hour() {
        // 19:30 UTC is 21:30 in Paris in July and 20:30 in December.
        let july = Zone::EuropeParis.local(at("2026-07-01T19:30:00Z"));
        let december = Zone::EuropeParis.local(at("2026-12-01T19:30:00Z"));
        assert_eq!((july.hour(), december.hour()), (21, 20));
        // The change happens at 01:00 UTC on the last Sunday of March (29 March 2026).
        assert_eq!(
            Zone::EuropeParis.local(at("2026-03-29T00:59:00Z")).hour(),
            1
        );
        assert_eq!(
            Zone::EuropeParis.local(at("2026-03-29T01:00:00Z")).hour(),
            3
        );
        assert_eq!(Zone::parse("+04:00"), Ok(Zone::Fixed(240)));
        assert!(Zone::parse("Europe/Berlin").is_err());
        assert_eq!(july.weekday(), chrono::Weekday::Wed);
    }

    #[test]
    fn a_gap_in_the_week_is_named() {
        let rota = Rota::new(&config(vec![
            shift(OnCallRole::Nurse, "Nuit", &[], "20:00", "08:00"),
            shift(
                OnCallRole::Nurse,
                "Jour",
                &[Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri],
                "09:00",
                "20:00",
            ),
        ]))
        .unwrap();
        let gaps = rota.gaps();
        assert_eq!(gaps.len(), 1);
        assert_eq!(
            gaps[0].spans,
            [
                "Mon 08:00–09:00",
                "Tue 08:00–09:00",
                "Wed 08:00–09:00",
                "Thu 08:00–09:00",
                "Fri 08:00–09:00",
                "Sat 08:00–20:00",
                "Sun 08:00–20:00"
            ]
        );
        assert!(
            gaps[0]
                .to_string()
                .starts_with("nobody on call for CRT 720004563")
        );
    }

    #[test]
    fn a_bad_rota_is_refused_with_its_place() {
        let error = Rota::new(&config(vec![shift(
            OnCallRole::Nurse,
            "Nuit",
            &[],
            "20h",
            "08:00",
        )]))
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "on_call.services[0].rota[0].from = \"20h\": expected HH:MM"
        );
    }

    #[test]
    fn the_regulation_is_the_beneficiarys_departement_else_the_crts() {
        let rota = Rota::new(&config(Vec::new())).unwrap();
        assert_eq!(departement_of("72000").as_deref(), Some("72"));
        assert_eq!(departement_of("20090").as_deref(), Some("2A"));
        assert_eq!(departement_of("97400").as_deref(), Some("974"));
        let samu = rota.regulation("720004563", None).unwrap();
        assert_eq!(samu.mailbox, "samu72@ch-lemans.mssante.fr");
        assert!(rota.regulation("720004563", Some("53")).is_none());
        assert_eq!(
            rota.gaps()[0].spans,
            ["the whole week"],
            "no rota at all is one gap"
        );
    }
}
