//! The mapping's rules, as the regional simulators check each transaction: FHIR R4 that a
//! strict reader accepts, conditional updates on the resource's own identifier, the
//! Cercle de soins profile rules for `CareTeam` and `RelatedPerson`, and the contract's
//! rules for the summary and the liaison book.

use std::collections::BTreeSet;

use base64::Engine;
use crt_core::fhir_json::read_strictly;
use crt_core::oauth::parse_form;
use fhir_sdk::r4b::resources::Resource;
use serde_json::Value;

use crate::share::{
    CARETEAM_PROFILE, CARETEAM_ROLES, LIAISON_KIND, LOINC, RELATED_PERSON_PROFILE, ROLE_CLASS,
};

/// What a transaction may hold.
pub const RESOURCE_TYPES: [&str; 9] = [
    "Patient",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "RelatedPerson",
    "CareTeam",
    "EpisodeOfCare",
    "DocumentReference",
    "Communication",
];

/// Largest liaison entry, in characters.
pub const MAX_ENTRY_CHARS: usize = 4000;

/// The `(system, value)` a conditional URL `Type?identifier=system|value` names.
pub fn conditional(url: &str) -> Option<(&str, String, String)> {
    let (kind, query) = url.split_once('?')?;
    let pairs = parse_form(query);
    let [(name, wanted)] = pairs.as_slice() else {
        return None;
    };
    if name != "identifier" {
        return None;
    }
    let (system, value) = wanted.split_once('|')?;
    Some((kind, system.to_string(), value.to_string()))
}

fn has_identifier(resource: &Value, system: &str, value: &str) -> bool {
    resource["identifier"].as_array().is_some_and(|ids| {
        ids.iter()
            .any(|i| i["system"] == system && i["value"] == value)
    })
}

fn codes<'a>(concept: &'a Value, system: &str) -> Vec<&'a str> {
    concept["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["system"] == system)
        .filter_map(|c| c["code"].as_str())
        .collect()
}

/// Every problem of a transaction, each with its path.
pub fn check_transaction(bundle: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(refused) = read_strictly::<Resource>(bundle, "Bundle") {
        problems.extend(
            refused
                .into_iter()
                .map(|r| format!("{}: {}", r.path, r.problem)),
        );
        return problems;
    }
    if bundle["type"] != "transaction" {
        problems.push("Bundle.type: expected transaction".into());
    }
    let Some(entries) = bundle["entry"].as_array().filter(|e| !e.is_empty()) else {
        problems.push("Bundle.entry: a transaction holds at least one entry".into());
        return problems;
    };
    let full_urls: BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e["fullUrl"].as_str())
        .collect();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("Bundle.entry[{i}]");
        let resource = &entry["resource"];
        let kind = resource["resourceType"].as_str().unwrap_or_default();
        if !RESOURCE_TYPES.contains(&kind) {
            problems.push(format!("{at}.resource: {kind} is not part of the contract"));
            continue;
        }
        if !entry["fullUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("urn:uuid:"))
        {
            problems.push(format!("{at}.fullUrl: expected urn:uuid:"));
        }
        if entry["request"]["method"] != "PUT" {
            problems.push(format!(
                "{at}.request.method: expected PUT (a conditional update on the resource's identifier)"
            ));
        }
        match entry["request"]["url"].as_str().and_then(conditional) {
            Some((url_kind, system, value)) => {
                if url_kind != kind {
                    problems.push(format!(
                        "{at}.request.url: names {url_kind}, the resource is {kind}"
                    ));
                }
                if !has_identifier(resource, &system, &value) {
                    problems.push(format!(
                        "{at}.request.url: the resource has no identifier {system}|{value}"
                    ));
                }
            }
            None => problems.push(format!(
                "{at}.request.url: expected {kind}?identifier=system|value"
            )),
        }
        references(
            resource,
            &format!("{at}.resource"),
            &full_urls,
            &mut problems,
        );
        let at = format!("{at}.resource");
        match kind {
            "CareTeam" => care_team(resource, &at, &mut problems),
            "RelatedPerson" => related_person(resource, &at, &mut problems),
            "Communication" => communication(resource, &at, &mut problems),
            "DocumentReference" => document_reference(resource, &at, &mut problems),
            "EpisodeOfCare" => {
                require(resource, "patient", &at, &mut problems);
                require(resource, "managingOrganization", &at, &mut problems);
            }
            _ => {}
        }
    }
    problems
}

fn require(resource: &Value, field: &str, at: &str, problems: &mut Vec<String>) {
    if resource[field].is_null() {
        problems.push(format!("{at}.{field}: required"));
    }
}

/// Each reference is to an entry of this transaction (`urn:uuid:`) or conditional
/// (`Type?identifier=system|value`) on a type of the contract.
fn references(value: &Value, at: &str, full_urls: &BTreeSet<&str>, problems: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (name, inner) in fields {
                if name == "reference"
                    && let Some(reference) = inner.as_str()
                {
                    let resolvable = if reference.starts_with("urn:uuid:") {
                        full_urls.contains(reference)
                    } else {
                        conditional(reference)
                            .is_some_and(|(kind, _, _)| RESOURCE_TYPES.contains(&kind))
                    };
                    if !resolvable {
                        problems.push(format!(
                            "{at}.reference: {reference:?} is neither an entry of the transaction nor Type?identifier=system|value"
                        ));
                    }
                } else {
                    references(inner, &format!("{at}.{name}"), full_urls, problems);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                references(item, &format!("{at}[{i}]"), full_urls, problems);
            }
        }
        _ => {}
    }
}

fn declares(resource: &Value, profile: &str) -> bool {
    resource["meta"]["profile"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p == profile))
}

/// `cds-ihe-careteam`.
fn care_team(team: &Value, at: &str, problems: &mut Vec<String>) {
    if !declares(team, CARETEAM_PROFILE) {
        problems.push(format!("{at}.meta.profile: expected {CARETEAM_PROFILE}"));
    }
    match team["identifier"].as_array() {
        Some(ids) if ids.len() == 1 && ids[0]["value"].is_string() => {}
        _ => problems.push(format!("{at}.identifier: exactly one, with a value")),
    }
    let status = team["status"].as_str().unwrap_or_default();
    if ![
        "proposed",
        "active",
        "suspended",
        "inactive",
        "entered-in-error",
    ]
    .contains(&status)
    {
        problems.push(format!(
            "{at}.status: required (proposed | active | suspended | inactive | entered-in-error)"
        ));
    }
    let subject = team["subject"]["reference"].as_str().unwrap_or_default();
    if subject.is_empty() {
        problems.push(format!("{at}.subject: a Patient is required"));
    }
    if !team["period"]["start"].is_string() {
        problems.push(format!("{at}.period.start: required"));
    }
    for (i, participant) in team["participant"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("{at}.participant[{i}]");
        if !participant["member"]["reference"].is_string() {
            problems.push(format!("{at}.member: required"));
        }
        if !participant["period"]["start"].is_string() {
            problems.push(format!("{at}.period.start: required"));
        }
        for (j, role) in participant["role"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            for code in codes(role, CARETEAM_ROLES) {
                if !["MT", "AID", "PC", "RL"].contains(&code) {
                    problems.push(format!(
                        "{at}.role[{j}]: {code} is not in careteam-roles-cs (MT, AID, PC, RL)"
                    ));
                }
            }
        }
    }
}

/// `cds-fr-related-person`.
fn related_person(person: &Value, at: &str, problems: &mut Vec<String>) {
    if !declares(person, RELATED_PERSON_PROFILE) {
        problems.push(format!(
            "{at}.meta.profile: expected {RELATED_PERSON_PROFILE}"
        ));
    }
    if person["identifier"].as_array().map(Vec::len) != Some(1) {
        problems.push(format!("{at}.identifier: exactly one"));
    }
    require(person, "patient", at, problems);
    match person["name"].as_array() {
        Some(names) if names.len() == 1 && names[0]["family"].is_string() => {}
        _ => problems.push(format!("{at}.name: exactly one, with a family name")),
    }
    if person["telecom"].as_array().is_none_or(Vec::is_empty) {
        problems.push(format!(
            "{at}.telecom: at least one way to reach the person"
        ));
    }
    let has_role = person["relationship"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| !codes(r, ROLE_CLASS).is_empty());
    if !has_role {
        problems.push(format!(
            "{at}.relationship: the person's role (TRE_R260) is required"
        ));
    }
}

fn communication(entry: &Value, at: &str, problems: &mut Vec<String>) {
    if entry["identifier"].as_array().is_none_or(Vec::is_empty) {
        problems.push(format!("{at}.identifier: required"));
    }
    let kinds: Vec<&str> = entry["category"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| codes(c, LIAISON_KIND))
        .collect();
    if kinds.len() != 1 || !["note", "alert"].contains(&kinds[0]) {
        problems.push(format!(
            "{at}.category: exactly one {LIAISON_KIND} code (note | alert)"
        ));
    }
    if kinds == ["alert"] && entry["priority"] != "urgent" {
        problems.push(format!("{at}.priority: an alert is urgent"));
    }
    for field in ["subject", "sent", "sender"] {
        require(entry, field, at, problems);
    }
    let text: Vec<&str> = entry["payload"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["contentString"].as_str())
        .collect();
    if text.is_empty() {
        problems.push(format!("{at}.payload: at least one contentString"));
    }
    if text.iter().map(|t| t.chars().count()).sum::<usize>() > MAX_ENTRY_CHARS {
        problems.push(format!(
            "{at}.payload: at most {MAX_ENTRY_CHARS} characters"
        ));
    }
}

fn document_reference(document: &Value, at: &str, problems: &mut Vec<String>) {
    if document["status"] != "current" {
        problems.push(format!("{at}.status: expected current"));
    }
    if codes(&document["type"], LOINC).is_empty() {
        problems.push(format!("{at}.type: a LOINC document type is required"));
    }
    require(document, "subject", at, problems);
    require(document, "masterIdentifier", at, problems);
    let contents = document["content"].as_array().cloned().unwrap_or_default();
    if contents.is_empty() {
        problems.push(format!("{at}.content: required"));
    }
    for (i, content) in contents.iter().enumerate() {
        let attachment = &content["attachment"];
        let at = format!("{at}.content[{i}].attachment");
        if attachment["contentType"] != "text/xml" {
            problems.push(format!(
                "{at}.contentType: expected text/xml (a CDA document)"
            ));
        }
        let cda = attachment["data"]
            .as_str()
            .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok());
        match cda {
            Some(xml) if xml.windows(17).any(|w| w == b"<ClinicalDocument") => {}
            _ => problems.push(format!("{at}.data: expected a base64 CDA document")),
        }
    }
}
