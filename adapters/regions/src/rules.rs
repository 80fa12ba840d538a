//! The mapping's rules, as the regional simulators check each transaction: FHIR R4 that a
//! strict reader accepts, conditional updates on the resource's own identifier, the
//! Cercle de soins profile rules for `CareTeam` and `RelatedPerson`, the contract's rules
//! for the summary, and the Cahier de liaison guide's for the notes of the liaison book
//! (`cdl-document-reference` in a `cdl-bundle-creation-note`, codes from the official
//! J23 and J110 files under `schemas/regions/terminology/`).

use std::collections::BTreeSet;

use base64::Engine;
use crt_core::fhir_json::read_strictly;
use crt_core::oauth::parse_form;
use fhir_sdk::r4b::resources::Resource;
use serde_json::Value;

use crate::share::{
    CARETEAM_PROFILE, CARETEAM_ROLES, CDL_CREATION_BUNDLE_PROFILE, CDL_IS_EMERGENCY,
    CDL_NOTE_PROFILE, LOINC, RELATED_PERSON_PROFILE, ROLE_CLASS,
};

/// What a transaction may hold.
pub const RESOURCE_TYPES: [&str; 10] = [
    "Patient",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "RelatedPerson",
    "CareTeam",
    "EpisodeOfCare",
    "DocumentReference",
    "Schedule",
    "Appointment",
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

/// Whether `system|value` is one of the resource's identifiers, its `masterIdentifier`
/// included (the `identifier` search parameter of a DocumentReference covers both).
fn has_identifier(resource: &Value, system: &str, value: &str) -> bool {
    let master = &resource["masterIdentifier"];
    (master["system"] == system && master["value"] == value)
        || resource["identifier"].as_array().is_some_and(|ids| {
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
        if declares(resource, CDL_NOTE_PROFILE) {
            note_entry(bundle, entries.len(), entry, &at, &mut problems);
        } else if entry["request"]["method"] != "PUT" {
            problems.push(format!(
                "{at}.request.method: expected PUT (a conditional update on the resource's identifier)"
            ));
        }
        let url = match entry["request"]["ifNoneExist"].as_str() {
            Some(criteria) => Some(format!("{kind}?{criteria}")),
            None => entry["request"]["url"].as_str().map(str::to_string),
        };
        match url.as_deref().and_then(conditional) {
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
            "DocumentReference" if declares(resource, CDL_NOTE_PROFILE) => {
                note(resource, &at, &mut problems)
            }
            "DocumentReference" => document_reference(resource, &at, &mut problems),
            "Appointment" => {
                crate::gap::check(crate::gap::appointment(), resource, &at, &mut problems)
            }
            "Schedule" => crate::gap::check(crate::gap::schedule(), resource, &at, &mut problems),
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

/// A note's place in its transaction: alone in a `cdl-bundle-creation-note` (one
/// DocumentReference, created with `POST`, flux 1c), as a conditional create on its
/// `masterIdentifier` so that sending it again adds nothing.
fn note_entry(bundle: &Value, entries: usize, entry: &Value, at: &str, problems: &mut Vec<String>) {
    if !declares(bundle, CDL_CREATION_BUNDLE_PROFILE) {
        problems.push(format!(
            "Bundle.meta.profile: a note is sent in a {CDL_CREATION_BUNDLE_PROFILE}"
        ));
    }
    if entries != 1 {
        problems.push("Bundle.entry: a cdl-bundle-creation-note holds one note".into());
    }
    if entry["request"]["method"] != "POST" || entry["request"]["url"] != "DocumentReference" {
        problems.push(format!(
            "{at}.request: a note is created with POST DocumentReference (cdl-bundle-creation-note)"
        ));
    }
    if !entry["request"]["ifNoneExist"].is_string() {
        problems.push(format!(
            "{at}.request.ifNoneExist: identifier=system|value of the note's masterIdentifier"
        ));
    }
}

/// The note types (JDV_J23) and visibility statuses (JDV_J110), from the official files.
fn official_codes(text: &str) -> Vec<(String, String)> {
    let value_set: Value = serde_json::from_str(text).unwrap_or_default();
    value_set["compose"]["include"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|include| {
            let system = include["system"].as_str().unwrap_or_default().to_string();
            include["concept"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(move |c| Some((system.clone(), c["code"].as_str()?.to_string())))
        })
        .collect()
}

fn note_types() -> &'static [(String, String)] {
    static CODES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    CODES.get_or_init(|| {
        official_codes(include_str!(
            "../../../schemas/regions/terminology/ValueSet-JDV-J23-TypeNoteCahierLiaison-CISIS.json"
        ))
    })
}

fn visibility_statuses() -> &'static [(String, String)] {
    static CODES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    CODES.get_or_init(|| {
        official_codes(include_str!(
            "../../../schemas/regions/terminology/ValueSet-JDV-J110-StatutVisibiliteDocument-CISIS.json"
        ))
    })
}

/// Whether a concept has a coding from `codes`.
fn coded_from(concept: &Value, codes: &[(String, String)]) -> bool {
    concept["coding"].as_array().is_some_and(|codings| {
        codings.iter().any(|c| {
            codes
                .iter()
                .any(|(system, code)| c["system"] == system.as_str() && c["code"] == code.as_str())
        })
    })
}

/// `cdl-document-reference` (Cahier de liaison 3.0.0).
fn note(note: &Value, at: &str, problems: &mut Vec<String>) {
    if !note["masterIdentifier"]["value"].is_string() {
        problems.push(format!(
            "{at}.masterIdentifier: the note's identifier in the system that wrote it"
        ));
    }
    if !["current", "superseded", "entered-in-error"]
        .contains(&note["status"].as_str().unwrap_or_default())
    {
        problems.push(format!(
            "{at}.status: current | superseded | entered-in-error"
        ));
    }
    for forbidden in ["docStatus", "authenticator", "custodian"] {
        if !note[forbidden].is_null() {
            problems.push(format!("{at}.{forbidden}: not allowed (0..0)"));
        }
    }
    if !coded_from(&note["type"], note_types()) {
        problems.push(format!(
            "{at}.type: a code of JDV_J23-TypeNoteCahierLiaison-CISIS is required"
        ));
    }
    if !note["securityLabel"].is_null() {
        match note["securityLabel"].as_array().map(Vec::as_slice) {
            Some([label]) if coded_from(label, visibility_statuses()) => {}
            _ => problems.push(format!(
                "{at}.securityLabel: at most one, from JDV_J110-StatutVisibiliteDocument-CISIS"
            )),
        }
    }
    require(note, "subject", at, problems);
    if note["author"].as_array().is_none_or(Vec::is_empty) {
        problems.push(format!("{at}.author: at least one"));
    }
    let emergency: Vec<&Value> = note["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["url"] == CDL_IS_EMERGENCY)
        .collect();
    if emergency.len() > 1 || emergency.iter().any(|e| !e["valueBoolean"].is_boolean()) {
        problems.push(format!(
            "{at}.extension: at most one cdl-ext-is-emergency, a valueBoolean"
        ));
    }
    let contents = note["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if contents.is_empty() {
        problems.push(format!("{at}.content: at least one attachment"));
    }
    let mut characters = 0;
    for (i, content) in contents.iter().enumerate() {
        let attachment = &content["attachment"];
        match (attachment["data"].as_str(), attachment["url"].as_str()) {
            (Some(data), _) => match base64::engine::general_purpose::STANDARD.decode(data) {
                Ok(bytes) => characters += String::from_utf8_lossy(&bytes).chars().count(),
                Err(_) => problems.push(format!("{at}.content[{i}].attachment.data: not base64")),
            },
            (None, Some(_)) => {}
            (None, None) => problems.push(format!("{at}.content[{i}].attachment: data or url")),
        }
    }
    if characters > MAX_ENTRY_CHARS {
        problems.push(format!(
            "{at}.content: at most {MAX_ENTRY_CHARS} characters"
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
