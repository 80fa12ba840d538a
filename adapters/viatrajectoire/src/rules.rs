//! The rules of flux 4 (`esms-task`, *Suivi des décisions d'orientation* 4.0.7) and of
//! this contract, as the simulator checks each Task it is sent: FHIR R4 read strictly,
//! `status` completed and `intent` plan, the inputs the profile requires once each, codes
//! from the official J252 and J251 files, the unit's inputs when a unit status is given
//! (`regle-StatutUnite`), a reason with an impossible admission, and the structure of the
//! `struct_idnat` header.

use crt_core::fhir_json::read_strictly;
use crt_core::terminology;
use fhir_sdk::r4b::resources::Resource;
use serde_json::Value;

use crate::answer::{PARAMETER, SDO_INPUT, input_of};

/// Inputs the profile requires (1..1), and the ones it allows at most once.
const REQUIRED: [&str; 4] = ["idNat_Struct", "nomESMS", "idDecision", "idNat_Decision"];
const AT_MOST_ONCE: [&str; 16] = [
    "idNat_Struct",
    "nomESMS",
    "statutESMS",
    "motifESMS",
    "dateStatutESMS",
    "idUnite",
    "nomUnite",
    "categorieOrganisation",
    "temporaliteAccueil",
    "accueilSequentiel",
    "modePriseCharge",
    "statutUnite",
    "dateStatutUnite",
    "motifUnite",
    "idDecision",
    "idNat_Decision",
];
/// What `regle-StatutUnite` requires with a unit status.
const UNIT: [&str; 5] = [
    "idUnite",
    "nomUnite",
    "categorieOrganisation",
    "modePriseCharge",
    "dateStatutUnite",
];

fn count(task: &Value, code: &str) -> usize {
    task["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| {
            i["type"]["coding"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["system"] == SDO_INPUT && c["code"] == code)
            })
        })
        .count()
}

/// Every breach in a Task sent by the structure `struct_idnat`, each naming its element.
pub fn check_task(task: &Value, struct_idnat: &str) -> Vec<String> {
    if let Err(refused) = read_strictly::<Resource>(task, "Task") {
        return refused
            .into_iter()
            .map(|r| format!("{}: {}", r.path, r.problem))
            .collect();
    }
    let mut problems = Vec::new();
    if task["resourceType"] != "Task" {
        problems.push("resourceType: expected Task".to_string());
        return problems;
    }
    if task["status"] != "completed" {
        problems.push("Task.status: esms-task fixes completed".into());
    }
    if task["intent"] != "plan" {
        problems.push("Task.intent: esms-task fixes plan".into());
    }
    if task["input"].as_array().map_or(0, Vec::len) < 4 {
        problems.push("Task.input: at least 4 (esms-task)".into());
    }
    for code in REQUIRED {
        if count(task, code) == 0 {
            problems.push(format!("Task.input[{code}]: required (1..1)"));
        }
    }
    for code in AT_MOST_ONCE {
        if count(task, code) > 1 {
            problems.push(format!("Task.input[{code}]: at most once"));
        }
    }
    let value = |code: &str, kind: &str| input_of(task, SDO_INPUT, code).map(|i| &i[kind]);
    for (code, kind) in [
        ("idNat_Struct", "valueIdentifier"),
        ("idDecision", "valueIdentifier"),
        ("idNat_Decision", "valueIdentifier"),
        ("nomESMS", "valueString"),
        ("dateStatutESMS", "valueDate"),
    ] {
        if let Some(v) = value(code, kind)
            && v.is_null()
        {
            problems.push(format!("Task.input[{code}]: {kind} expected"));
        }
    }
    match value("idNat_Struct", "valueIdentifier").and_then(|v| v["value"].as_str()) {
        Some(structure) if structure != struct_idnat => problems.push(format!(
            "Task.input[idNat_Struct]: {structure} is not the structure of the struct_idnat header ({struct_idnat})"
        )),
        _ => {}
    }
    let code_of = |code: &str| {
        value(code, "valueCodeableConcept").and_then(|c| c["coding"][0]["code"].as_str())
    };
    let status = code_of("statutESMS");
    if let Some(status) = status
        && terminology::display(terminology::admission_statuses(), status).is_none()
    {
        problems.push(format!(
            "Task.input[statutESMS]: {status} is not a code of JDV_J252"
        ));
    }
    let reason = code_of("motifESMS");
    if let Some(reason) = reason
        && terminology::display(terminology::admission_reasons(), reason).is_none()
    {
        problems.push(format!(
            "Task.input[motifESMS]: {reason} is not a code of JDV_J251"
        ));
    }
    if status == Some("45") && reason.is_none() {
        problems
            .push("Task.input[motifESMS]: an impossible admission (45) gives its reason".into());
    }
    if count(task, "statutUnite") > 0 {
        for code in UNIT {
            if count(task, code) == 0 {
                problems.push(format!(
                    "Task.input[{code}]: required with statutUnite (regle-StatutUnite)"
                ));
            }
        }
    }
    if let Some(rank) = input_of(task, PARAMETER, "rang")
        && rank["valueUnsignedInt"].as_u64().is_none_or(|r| r < 1)
    {
        problems.push("Task.input[rang]: valueUnsignedInt ≥ 1".into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{Answer, esms_task};
    use crt_core::record::AdmissionAnswer;
    use serde_json::json;

    fn task(decision: AdmissionAnswer, reason: Option<&str>) -> Value {
        esms_task(
            &Answer {
                delivery_id: uuid::Uuid::nil(),
                structure: "1720003011".into(),
                name: "CRT du Perche".into(),
                request_id: "VT-1".into(),
                decision,
                rank: None,
                date: None,
                reason: reason.map(str::to_string),
            },
            chrono::Utc::now(),
        )
    }

    #[test]
    fn what_the_gateway_sends_keeps_the_rules() {
        assert_eq!(
            check_task(&task(AdmissionAnswer::Refused, Some("114")), "1720003011"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_breach_is_named() {
        let refused_without_reason = task(AdmissionAnswer::Refused, None);
        assert!(check_task(&refused_without_reason, "1720003011")[0].contains("motifESMS"));
        let unknown_reason = task(AdmissionAnswer::Refused, Some("9999"));
        assert!(check_task(&unknown_reason, "1720003011")[0].contains("JDV_J251"));
        let mut requested = task(AdmissionAnswer::Received, None);
        requested["status"] = json!("requested");
        assert!(check_task(&requested, "1720003011")[0].contains("completed"));
        let other = task(AdmissionAnswer::Received, None);
        assert!(check_task(&other, "1720000025")[0].contains("struct_idnat"));
    }
}
