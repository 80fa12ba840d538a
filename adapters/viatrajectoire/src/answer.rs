//! The CRT's answer to an admission request, as the *Suivi des décisions d'orientation*
//! guide (4.0.7) has a structure send where a person stands with it (flux 4): one
//! `POST Task` of profile `esms-task` per change (`status` completed, `intent` plan), the
//! structure (`idNat_Struct`, `nomESMS`), the status of JDV_J252 with its date
//! (`statutESMS`, `dateStatutESMS`), the reason of JDV_J251 (`motifESMS`) and the request
//! (`idDecision`, `idNat_Decision`) as `input`s.
//!
//! Two things are crt-gateway's (`schemas/viatrajectoire/README.md`): the rank on the
//! waiting list, an `input` typed `…viatrajectoire-parametre|rang` (the profile's slicing
//! is open; the guide has no rank), and `businessStatus`, the CRT's decision in the
//! waiting list's words, so that reading the Task back tells a refusal from a
//! cancellation, which J252 gives the same status (45, admission impossible).

use chrono::{DateTime, Utc};
use crt_core::record::{AdmissionAnswer, Date};
use crt_core::terminology;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::incoming::ID_NAT_STRUCT;

pub const ESMS_TASK: &str =
    "https://interop.esante.gouv.fr/ig/fhir/sdo/StructureDefinition/esms-task";
/// The guide's code system of the Task's input types.
pub const SDO_INPUT: &str =
    "https://interop.esante.gouv.fr/ig/fhir/sdo/CodeSystem/input-task-sdo-codesystem";
/// Statuses (TRE_R357, drawn on by J252) and reasons (TRE_R358, by J251).
pub const STATUS_SYSTEM: &str = "https://mos.esante.gouv.fr/NOS/TRE_R357-StatutPersonnePriseCharge/FHIR/TRE-R357-StatutPersonnePriseCharge";
pub const REASON_SYSTEM: &str = "https://mos.esante.gouv.fr/NOS/TRE_R358-MotifStatutPersonnePriseCharge/FHIR/TRE-R358-MotifStatutPersonnePriseCharge";
/// Code systems of this contract.
pub const PARAMETER: &str = "urn:crt-gateway:fhir:CodeSystem:viatrajectoire-parametre";
pub const DECISION: &str = "urn:crt-gateway:fhir:CodeSystem:viatrajectoire-statut";
/// The Task's identifier: the delivery, so that a repeated attempt finds the first Task.
pub const TASK_IDENTIFIER_SYSTEM: &str = "urn:ietf:rfc:3986";

/// The J252 status of each decision.
pub fn status_code(decision: AdmissionAnswer) -> &'static str {
    match decision {
        // Liste d'attente. En cours d'analyse, demande d'admission reçue dans l'ESMS
        AdmissionAnswer::Received => "42",
        // Liste d'attente. Admissible dans l'ESMS
        AdmissionAnswer::WaitingList => "72",
        // Liste d'attente. Admis dans l'ESMS
        AdmissionAnswer::Accepted => "71",
        // Usager entré
        AdmissionAnswer::Admitted => "47",
        // Admission impossible signalée
        AdmissionAnswer::Refused | AdmissionAnswer::Cancelled => "45",
    }
}

/// One answer, ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub delivery_id: Uuid,
    /// The CRT (`1` + FINESS ET) and its name.
    pub structure: String,
    pub name: String,
    /// ViaTrajectoire's identifiers of the request.
    pub request_id: String,
    pub decision: AdmissionAnswer,
    pub rank: Option<u32>,
    pub date: Option<Date>,
    pub reason: Option<String>,
}

fn input(code: &str, value: (&str, Value)) -> Value {
    let mut input = json!({"type": {"coding": [{"system": SDO_INPUT, "code": code}]}});
    input[value.0] = value.1;
    input
}

fn coded(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut coding = json!({"system": system, "code": code});
    if let Some(display) = display {
        coding["display"] = json!(display);
    }
    json!({"coding": [coding]})
}

/// The `esms-task` of an answer made at `today`, which also dates the status when the
/// decision has no date of its own.
pub fn esms_task(answer: &Answer, today: DateTime<Utc>) -> Value {
    let status = status_code(answer.decision);
    let status_date = answer
        .date
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| today.format("%Y-%m-%d").to_string());
    let mut inputs = vec![
        input(
            "idNat_Struct",
            (
                "valueIdentifier",
                json!({"system": ID_NAT_STRUCT, "value": answer.structure}),
            ),
        ),
        input("nomESMS", ("valueString", json!(answer.name))),
        input(
            "statutESMS",
            (
                "valueCodeableConcept",
                coded(
                    STATUS_SYSTEM,
                    status,
                    terminology::display(terminology::admission_statuses(), status),
                ),
            ),
        ),
        input("dateStatutESMS", ("valueDate", json!(status_date))),
    ];
    if let Some(reason) = &answer.reason {
        inputs.push(input(
            "motifESMS",
            (
                "valueCodeableConcept",
                coded(
                    REASON_SYSTEM,
                    reason,
                    terminology::display(terminology::admission_reasons(), reason),
                ),
            ),
        ));
    }
    inputs.push(input(
        "idDecision",
        ("valueIdentifier", json!({"value": answer.request_id})),
    ));
    inputs.push(input(
        "idNat_Decision",
        (
            "valueIdentifier",
            json!({"use": "official", "system": crate::incoming::VIATRAJECTOIRE_OID, "value": answer.request_id}),
        ),
    ));
    if let Some(rank) = answer.rank {
        inputs.push(json!({
            "type": {"coding": [{"system": PARAMETER, "code": "rang"}]},
            "valueUnsignedInt": rank,
        }));
    }
    json!({
        "resourceType": "Task",
        // The profile requires meta.lastUpdated: when the answer was made.
        "meta": {
            "profile": [ESMS_TASK],
            "lastUpdated": today.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        },
        "identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": format!("urn:uuid:{}", answer.delivery_id)}],
        "status": "completed",
        "intent": "plan",
        "businessStatus": {"coding": [{"system": DECISION, "code": answer.decision.as_str()}]},
        "input": inputs,
    })
}

/// Where a request stands after a Task ViaTrajectoire holds: the CRT's own answers (read
/// back), and what ViaTrajectoire says of the request itself (flux 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub request_id: String,
    pub status: AdmissionAnswer,
    pub rank: Option<u32>,
    pub reason: Option<String>,
    /// ViaTrajectoire's change of the Task.
    pub changed_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{element}: {rule}")]
pub struct TaskProblem {
    pub element: String,
    pub rule: String,
}

fn task_problem(element: &str, rule: impl Into<String>) -> TaskProblem {
    TaskProblem {
        element: format!("Task.{element}"),
        rule: rule.into(),
    }
}

/// The input of a type (the guide's code system, or this contract's).
pub fn input_of<'a>(task: &'a Value, system: &str, code: &str) -> Option<&'a Value> {
    task["input"].as_array()?.iter().find(|i| {
        i["type"]["coding"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["system"] == system && c["code"] == code))
    })
}

/// The request a Task is about: its `idNat_Decision`.
pub fn request_of(task: &Value) -> Option<&str> {
    input_of(task, SDO_INPUT, "idNat_Decision")?["valueIdentifier"]["value"].as_str()
}

fn first_code(concept: &Value) -> Option<&str> {
    concept["coding"][0]["code"].as_str()
}

/// Reads a Task ViaTrajectoire gives: `None` when it says nothing the waiting list shows
/// (another ESMS's progress that does not end the request for the CRT).
pub fn standing(task: &Value, structure: &str) -> Result<Option<Standing>, TaskProblem> {
    let request_id = request_of(task)
        .ok_or_else(|| task_problem("input[idNat_Decision]", "required (1..1)"))?
        .to_string();
    let changed_at = task["meta"]["lastUpdated"]
        .as_str()
        .ok_or_else(|| task_problem("meta.lastUpdated", "required (1..1)"))?
        .to_string();
    let status = input_of(task, SDO_INPUT, "statutESMS")
        .and_then(|i| first_code(&i["valueCodeableConcept"]))
        .ok_or_else(|| task_problem("input[statutESMS]", "a code of JDV_J252"))?;
    if terminology::display(terminology::admission_statuses(), status).is_none() {
        return Err(task_problem(
            "input[statutESMS]",
            format!("{status} is not a code of JDV_J252"),
        ));
    }
    let reason = input_of(task, SDO_INPUT, "motifESMS")
        .and_then(|i| first_code(&i["valueCodeableConcept"]))
        .map(str::to_string);
    let from = input_of(task, SDO_INPUT, "idNat_Struct")
        .and_then(|i| i["valueIdentifier"]["value"].as_str())
        .unwrap_or_default();
    let own = task["businessStatus"]["coding"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["system"] == DECISION))
        .and_then(|c| c["code"].as_str());
    let decision = match own {
        // The CRT's own answer: its decision, as it sent it.
        Some(code) if from == structure => AdmissionAnswer::parse(code).ok_or_else(|| {
            task_problem(
                "businessStatus",
                format!("{code} is not a decision of this contract ({DECISION})"),
            )
        })?,
        _ => match status {
            // Décision d'orientation annulée, notification annulée: the request is withdrawn.
            "37" | "49" => AdmissionAnswer::Cancelled,
            // Admission impossible entérinée.
            "46" => AdmissionAnswer::Refused,
            // The person entered another structure: the request ends for the CRT.
            "47" if from != structure => AdmissionAnswer::Cancelled,
            _ => return Ok(None),
        },
    };
    let rank = input_of(task, PARAMETER, "rang")
        .and_then(|i| i["valueUnsignedInt"].as_u64())
        .and_then(|r| u32::try_from(r).ok());
    Ok(Some(Standing {
        request_id,
        status: decision,
        rank,
        reason,
        changed_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(decision: AdmissionAnswer) -> Answer {
        Answer {
            delivery_id: Uuid::nil(),
            structure: "1720003011".into(),
            name: "CRT du Perche".into(),
            request_id: "VT-GA-00000017".into(),
            decision,
            rank: (decision == AdmissionAnswer::WaitingList).then_some(3),
            date: None,
            reason: matches!(decision, AdmissionAnswer::Refused).then(|| "114".into()),
        }
    }

    #[test]
    fn every_answer_reads_back_as_it_was_given() {
        for decision in AdmissionAnswer::ALL {
            let mut task = esms_task(&answer(decision), Utc::now());
            task["meta"]["lastUpdated"] = json!("2026-12-05T10:00:00.000Z");
            let read = standing(&task, "1720003011").unwrap().unwrap();
            assert_eq!(read.status, decision);
            assert_eq!(read.request_id, "VT-GA-00000017");
        }
        let mut task = esms_task(&answer(AdmissionAnswer::WaitingList), Utc::now());
        task["meta"]["lastUpdated"] = json!("2026-12-05T10:00:00.000Z");
        assert_eq!(
            standing(&task, "1720003011").unwrap().unwrap().rank,
            Some(3)
        );
    }

    #[test]
    fn another_structures_progress_ends_the_request_or_says_nothing() {
        let mut task = esms_task(&answer(AdmissionAnswer::Admitted), Utc::now());
        task["meta"]["lastUpdated"] = json!("2026-12-05T10:00:00.000Z");
        // Seen from another CRT: the person entered elsewhere.
        let read = standing(&task, "1720000025").unwrap().unwrap();
        assert_eq!(read.status, AdmissionAnswer::Cancelled);
        let mut task = esms_task(&answer(AdmissionAnswer::WaitingList), Utc::now());
        task["meta"]["lastUpdated"] = json!("2026-12-05T10:00:00.000Z");
        assert_eq!(standing(&task, "1720000025").unwrap(), None);
    }
}
