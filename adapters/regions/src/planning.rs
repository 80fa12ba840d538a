//! The beneficiary's planned interventions as the ANS *Gestion d'agendas partagés* guide
//! (GAP 3.0.0) models them, for the regional platform acting as its *gestionnaire
//! d'agenda*, the gateway being the *déclarant rendez-vous*:
//!
//! - one `Appointment` (`gap-fr-appointment`) per intervention, on a business identifier
//!   (the guide's key for updates, flux 6b), `booked` while planned, then `fulfilled`,
//!   `noshow` or `cancelled` as the record says; no slot: the guide lets a declared
//!   appointment name its participants directly (rule C2): the patient, the
//!   professional's `PractitionerRole` and `Practitioner` (the guide wants both,
//!   referencing each other), each `accepted`; the CRT as the operator
//!   (`fr-core-appointment-operator`);
//! - one `Schedule` (`gap-fr-schedule`) per professional who comes, its actor the
//!   professional: the agenda the platform draws busy slots from.
//!
//! Every entry is a conditional update in one transaction, like the rest of the share,
//! so a change in the record replaces what the platform holds.

use chrono::SecondsFormat;
use crt_core::record::{Intervention, InterventionStatus, Professional, snake};
use serde_json::{Value, json};

use crate::share::{Business, Share, arc, entry, transaction};

pub const GAP_APPOINTMENT: &str =
    "https://interop.esante.gouv.fr/ig/fhir/gap/StructureDefinition/gap-fr-appointment";
pub const GAP_SCHEDULE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/gap/StructureDefinition/gap-fr-schedule";
/// FR Core's extension naming who created, changed or cancelled an appointment.
pub const APPOINTMENT_OPERATOR: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-appointment-operator";
/// What an intervention is for: the service type (the guide's binding is an example).
pub const INTERVENTION_KIND: &str = "urn:crt-gateway:fhir:CodeSystem:intervention-kind";

/// The appointment status of an intervention's status (FHIR `appointmentstatus`).
pub fn appointment_status(status: InterventionStatus) -> &'static str {
    match status {
        InterventionStatus::Planned => "booked",
        InterventionStatus::Done => "fulfilled",
        InterventionStatus::Cancelled => "cancelled",
        InterventionStatus::Missed => "noshow",
    }
}

fn instant(at: &crt_core::record::Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, false)
}

impl Share {
    pub(crate) fn appointment_id(&self, intervention: &Intervention) -> Business {
        self.business(arc::APPOINTMENT, self.member_value(&intervention.id))
    }

    fn schedule_id(&self, professional: &Professional) -> Business {
        self.business(arc::SCHEDULE, self.member_value(&professional.id))
    }

    fn schedule(&self, professional: &Professional) -> Value {
        let mut identifier = self.schedule_id(professional).json();
        identifier["use"] = json!("usual");
        json!({
            "resourceType": "Schedule",
            "meta": {"profile": [GAP_SCHEDULE]},
            "identifier": [identifier],
            "active": true,
            "actor": [
                {"reference": self.role_id(&professional.id).search("PractitionerRole"),
                 "display": format!("{} {}", professional.given_name, professional.family_name)},
                {"reference": self.practitioner_id(professional).search("Practitioner")},
            ],
            "comment": format!("Interventions à domicile, {}", self.record.crt.name),
        })
    }

    fn appointment(&self, intervention: &Intervention, professional: &Professional) -> Value {
        let kind = intervention.kind;
        let accepted = |reference: String| json!({"actor": {"reference": reference}, "required": "required", "status": "accepted"});
        json!({
            "resourceType": "Appointment",
            "meta": {"profile": [GAP_APPOINTMENT]},
            "extension": [{
                "url": APPOINTMENT_OPERATOR,
                "valueReference": {"reference": self.organization_id().search("Organization")},
            }],
            "identifier": [self.appointment_id(intervention).json()],
            "status": appointment_status(intervention.status),
            "serviceType": [{"coding": [{"system": INTERVENTION_KIND, "code": snake(&kind),
                                         "display": kind.label()}]}],
            "description": kind.label(),
            "start": instant(&intervention.planned_at),
            "end": instant(&intervention.planned_end()),
            "minutesDuration": intervention.planned_minutes.unwrap_or(Intervention::DEFAULT_MINUTES),
            "participant": [
                accepted(self.patient_id().search("Patient")),
                accepted(self.role_id(&professional.id).search("PractitionerRole")),
                accepted(self.practitioner_id(professional).search("Practitioner")),
            ],
        })
    }

    /// The planning transaction, or `None` when the record plans nothing.
    pub(crate) fn build_planning(&self) -> Option<Value> {
        let record = &self.record;
        let mut schedules: Vec<&Professional> = Vec::new();
        let mut appointments = Vec::new();
        for intervention in &record.interventions {
            // The record's rules make every intervention name a care-circle member.
            let Some(professional) = record.professional(&intervention.professional) else {
                continue;
            };
            if !schedules.iter().any(|p| p.id == professional.id) {
                schedules.push(professional);
            }
            appointments.push(entry(
                "Appointment",
                &self.appointment_id(intervention),
                self.appointment(intervention, professional),
            ));
        }
        if appointments.is_empty() {
            return None;
        }
        let mut entries: Vec<Value> = schedules
            .into_iter()
            .map(|p| entry("Schedule", &self.schedule_id(p), self.schedule(p)))
            .collect();
        entries.extend(appointments);
        Some(transaction(entries))
    }
}
