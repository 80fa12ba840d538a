//! The contract an admission request follows (`schemas/viatrajectoire/README.md`), checked
//! by the simulator on every transaction it receives.

use crt_core::fhir_json::read_strictly;
use fhir_sdk::r4b::resources::Resource;
use serde_json::Value;

use crate::request::{
    ADMINISTRATIVE, CONFIDENTIALITY, ID_NAT_STRUCT, MEDICAL, TASK_CODE, TASK_CODE_SYSTEM,
    TASK_IDENTIFIER_SYSTEM,
};
use crate::status::PARAMETER;

/// Every breach of the contract in a submitted transaction, each naming its element.
/// `struct_idnat` is the header the request came with.
pub fn check_request(bundle: &Value, struct_idnat: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(refused) = read_strictly::<Resource>(bundle, "Bundle") {
        return refused
            .into_iter()
            .map(|r| format!("{}: {}", r.path, r.problem))
            .collect();
    }
    if bundle["type"] != "transaction" {
        problems.push("Bundle.type: expected transaction".to_string());
    }
    let entries = bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let find = |url: &str| {
        entries
            .iter()
            .position(|e| e["fullUrl"] == url)
            .map(|i| (i, &entries[i]["resource"]))
    };
    let tasks: Vec<(usize, &Value)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e["resource"]["resourceType"] == "Task")
        .map(|(i, e)| (i, &e["resource"]))
        .collect();
    let [(i, task)] = tasks.as_slice() else {
        problems.push(format!(
            "Bundle.entry: expected one Task, found {}",
            tasks.len()
        ));
        return problems;
    };
    let at = format!("Bundle.entry[{i}].resource");
    let has_identifier = task["identifier"].as_array().is_some_and(|ids| {
        ids.iter()
            .any(|id| id["system"] == TASK_IDENTIFIER_SYSTEM && id["value"].is_string())
    });
    if !has_identifier {
        problems.push(format!(
            "{at}.identifier: the request's identifier ({TASK_IDENTIFIER_SYSTEM}) is required"
        ));
    }
    if entries[*i]["request"]["ifNoneExist"].as_str().is_none() {
        problems.push(format!("Bundle.entry[{i}].request.ifNoneExist: the Task is created conditionally on its identifier"));
    }
    if task["status"] != "requested" || task["intent"] != "order" {
        problems.push(format!(
            "{at}: a new request has status requested and intent order"
        ));
    }
    let coded = task["code"]["coding"].as_array().is_some_and(|codings| {
        codings
            .iter()
            .any(|c| c["system"] == TASK_CODE_SYSTEM && c["code"] == TASK_CODE)
    });
    if !coded {
        problems.push(format!(
            "{at}.code: expected {TASK_CODE_SYSTEM}|{TASK_CODE}"
        ));
    }
    for party in ["requester", "owner"] {
        let identifier = &task[party]["identifier"];
        if identifier["system"] != ID_NAT_STRUCT || identifier["value"] != struct_idnat {
            problems.push(format!(
                "{at}.{party}: expected the structure of the struct_idnat header ({struct_idnat})"
            ));
        }
    }
    match task["for"]["reference"].as_str().and_then(find) {
        Some((_, patient)) if patient["resourceType"] == "Patient" => {
            if patient["name"].as_array().is_none_or(Vec::is_empty)
                || !patient["birthDate"].is_string()
            {
                problems.push("Patient: name and birthDate are required".to_string());
            }
        }
        _ => problems.push(format!(
            "{at}.for: expected a reference to the Patient in the bundle"
        )),
    }
    for (part, canonical, label) in [
        ("volet-administratif", ADMINISTRATIVE, "N"),
        ("volet-medical", MEDICAL, "R"),
    ] {
        let reference = task["input"].as_array().and_then(|inputs| {
            inputs
                .iter()
                .find(|input| {
                    input["type"]["coding"][0]["system"] == PARAMETER
                        && input["type"]["coding"][0]["code"] == part
                })
                .and_then(|input| input["valueReference"]["reference"].as_str())
        });
        let Some((j, response)) = reference.and_then(find) else {
            problems.push(format!(
                "{at}.input: the {part} is required, as a QuestionnaireResponse in the bundle"
            ));
            continue;
        };
        let at = format!("Bundle.entry[{j}].resource");
        if response["resourceType"] != "QuestionnaireResponse"
            || response["questionnaire"] != canonical
        {
            problems.push(format!(
                "{at}: expected a QuestionnaireResponse to {canonical}"
            ));
        }
        let labelled = response["meta"]["security"]
            .as_array()
            .is_some_and(|labels| {
                labels
                    .iter()
                    .any(|l| l["system"] == CONFIDENTIALITY && l["code"] == label)
            });
        if !labelled {
            problems.push(format!(
                "{at}.meta.security: the {part} is labelled {label} ({CONFIDENTIALITY})"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::admission_bundle;
    use serde_json::json;

    fn bundle() -> (Value, String) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/examples/home-volet2-pays-de-la-loire.json");
        let record: crt_core::CrtRecord =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let bundle =
            admission_bundle(&record, uuid::Uuid::nil(), None, chrono::Utc::now()).unwrap();
        (bundle, record.crt.id_nat_struct())
    }

    #[test]
    fn the_gateways_request_follows_the_contract() {
        let (bundle, structure) = bundle();
        assert_eq!(check_request(&bundle, &structure), Vec::<String>::new());
    }

    #[test]
    fn breaches_name_their_element() {
        let (mut bundle, structure) = bundle();
        assert!(check_request(&bundle, "1999999999")[0].contains("requester"));
        bundle["entry"][2]["resource"]["meta"]["security"][0]["code"] = json!("N");
        let problems = check_request(&bundle, &structure);
        assert!(
            problems[0].contains("volet-medical is labelled R"),
            "{problems:?}"
        );
        bundle["entry"][3]["resource"]["bogus"] = json!(true);
        assert!(check_request(&bundle, &structure)[0].contains("bogus"));
    }
}
