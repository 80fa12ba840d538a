//! A beneficiary's or a professional's planned interventions, as the planning shows them:
//! read from the newest record of each beneficiary of the CRT, in time order, for the
//! week view (`GET /v1/planning`) and the calendar links' iCalendar feeds
//! ([`ical`]).
//!
//! A visit's identity is the one the regional platform's Appointment carries (GAP):
//! `<local_id>/<intervention id>` under the structure's arc 10, so that a calendar and the
//! shared agenda name the same visit the same way.

pub mod ical;

use chrono::{DateTime, FixedOffset};
use crt_core::CrtRecord;
use crt_core::record::{Intervention, InterventionStatus, Professional, snake};
use crt_documents::RenderContext;
use serde::Serialize;

use crate::store::CalendarSubject;

/// One planned intervention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visit {
    /// Unique and stable: the GAP appointment's identifier, qualified by the structure.
    pub uid: String,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    /// `planned`, `done`, `cancelled`, `missed`.
    pub status: String,
    /// The record's `kind`, and what it means in French.
    pub kind: String,
    pub label: String,
    pub beneficiary: Person,
    pub professional: Person,
    /// Where: the beneficiary's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The CRT's name.
    pub crt: String,
    #[serde(skip)]
    pub cancelled: bool,
}

/// Who, as the planning names them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub id: String,
    pub name: String,
}

fn professional_person(professional: &Professional) -> Person {
    Person {
        id: professional.id.clone(),
        name: format!("{} {}", professional.given_name, professional.family_name),
    }
}

fn beneficiary_person(record: &CrtRecord) -> Person {
    let identity = &record.beneficiary.identity;
    let family = identity
        .used_name
        .as_deref()
        .unwrap_or(&identity.birth_name);
    let given = identity
        .used_given_name
        .as_deref()
        .unwrap_or(&identity.first_given_name);
    Person {
        id: record.beneficiary.local_id.clone(),
        name: format!("{given} {family}"),
    }
}

fn visit(
    record: &CrtRecord,
    root: &str,
    intervention: &Intervention,
    professional: &Professional,
) -> Visit {
    let address = record
        .beneficiary
        .address
        .as_ref()
        .map(|a| format!("{}, {} {}", a.lines.join(", "), a.postal_code, a.city));
    Visit {
        uid: format!(
            "{}/{}@{root}.10",
            record.beneficiary.local_id, intervention.id
        ),
        start: intervention.planned_at,
        end: intervention.planned_end(),
        status: snake(&intervention.status),
        kind: snake(&intervention.kind),
        label: intervention.kind.label().to_string(),
        beneficiary: beneficiary_person(record),
        professional: professional_person(professional),
        address,
        crt: record.crt.name.clone(),
        cancelled: intervention.status == InterventionStatus::Cancelled,
    }
}

/// Whether `professional` is the one `reference` names: their care-circle id or RPPS.
fn is(professional: &Professional, reference: &str) -> bool {
    professional.id == reference || professional.rpps.as_deref() == Some(reference)
}

/// The visits of `subject` among `records` (newest record per beneficiary), by start.
pub fn visits(records: &[CrtRecord], subject: CalendarSubject, reference: &str) -> Vec<Visit> {
    let mut visits: Vec<Visit> = records
        .iter()
        .filter(|record| {
            subject == CalendarSubject::Professional || record.beneficiary.local_id == reference
        })
        .flat_map(|record| {
            // The structure's OID root, once per record: a visit's uid is under it.
            let root = RenderContext::for_record(record, None).oid_root;
            record
                .interventions
                .iter()
                .filter_map(|intervention| {
                    let professional = record.professional(&intervention.professional)?;
                    let wanted =
                        subject == CalendarSubject::Beneficiary || is(professional, reference);
                    wanted.then(|| visit(record, &root, intervention, professional))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    visits.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.uid.cmp(&b.uid)));
    visits
}

/// Whether `subject` is someone of `records`: a beneficiary, or a care-circle member of
/// one of them.
pub fn knows(records: &[CrtRecord], subject: CalendarSubject, reference: &str) -> bool {
    records.iter().any(|record| match subject {
        CalendarSubject::Beneficiary => record.beneficiary.local_id == reference,
        CalendarSubject::Professional => record.care_circle.iter().any(|p| is(p, reference)),
    })
}
