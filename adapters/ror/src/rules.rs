//! The ROR profile rules the gateway implements, checked on FHIR JSON: used by
//! `crt-gateway validate` and by the ROR simulator, which refuses what breaks them with an
//! `OperationOutcome` as a FHIR server does.
//!
//! What is checked, per the guide's profiles (cardinalities and required bindings):
//! - every resource: it is a FHIR R4 resource (read into fhir-sdk's model), it declares
//!   its ROR profile, `ror-meta-creation-date` 1..1, the region tag from J237;
//! - Organization: identifier slices idNatSt, finess, numSIRET with their type, FINESS and
//!   SIRET keys, `type` codes from J199/J55;
//! - Location: `ror-commune-cog` 1..1 with a commune code of JDV_J124 (TRE_R13-CommuneOM);
//!   each capacity indicator with its required sub-extensions and codes;
//! - HealthcareService: identifier ≤ 1 and typed TRE_R355 (the ROR gives it), `type` 1..1
//!   (J20), category ≤ 1 (J238),
//!   operationalActivity 1..1 (J17), careMode 1..1 (J19), sensitive-unit 1..1,
//!   patient-type 1..1 with both age bounds, territorial divisions complete, each
//!   availableTime one day (daysOfWeek ≤ 1, the day-number extension 1–7 naming the same
//!   day) with its type of hours from J41;
//! - every `telecom`: a value, channel (J225) 1..1 and confidentiality (J222) 1..1.
//!
//! Codes are checked against the shipped subsets (`schemas/ror/code-systems.json`);
//! INSEE commune codes for form only.

use crt_core::fhir_json::read_strictly;
use crt_core::identifiers::{check_finess, check_siret};
use fhir_sdk::r4b::resources::Resource;
use serde::Serialize;
use serde_json::{Value, json};

use crate::codes::{CodeSystems, Lookup, system};
use crate::fhir::{extension, identifier_system, profile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, shaped as an `OperationOutcome.issue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    /// FHIR issue type: `structure`, `required`, `code-invalid`, `value`, `invariant`.
    pub code: &'static str,
    /// FHIRPath of the element.
    pub expression: String,
    pub diagnostics: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} [{}]",
            self.expression, self.diagnostics, self.code
        )
    }
}

/// The findings of one check.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub issues: Vec<Issue>,
}

impl Report {
    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }

    pub fn is_valid(&self) -> bool {
        self.errors().next().is_none()
    }

    fn error(
        &mut self,
        code: &'static str,
        expression: impl Into<String>,
        diagnostics: impl Into<String>,
    ) {
        self.issues.push(Issue {
            severity: Severity::Error,
            code,
            expression: expression.into(),
            diagnostics: diagnostics.into(),
        });
    }

    /// The report as an `OperationOutcome`.
    pub fn outcome(&self) -> Value {
        let issues: Vec<Value> = if self.issues.is_empty() {
            vec![
                json!({"severity": "information", "code": "informational", "diagnostics": "valid"}),
            ]
        } else {
            self.issues
                .iter()
                .map(|i| {
                    json!({
                        "severity": i.severity,
                        "code": i.code,
                        "diagnostics": i.diagnostics,
                        "expression": [i.expression],
                    })
                })
                .collect()
        };
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }
}

/// Checks a resource or a Bundle of resources.
pub fn check(value: &Value) -> Report {
    let mut report = Report::default();
    if value["resourceType"] != "Bundle" {
        check_resource(value, "", &mut report);
        return report;
    }
    let entries = value["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let at = |i: usize| format!("Bundle.entry[{i}].resource");
    match read_strictly::<Resource>(value, "Bundle") {
        // The whole bundle reads: each entry's profile rules, without reading it again.
        Ok(_) => {
            for (i, entry) in entries.iter().enumerate() {
                check_rules(&entry["resource"], &at(i), &mut report);
            }
        }
        // Located per entry when an entry is at fault, else at the bundle's level.
        Err(refused) => {
            for (i, entry) in entries.iter().enumerate() {
                check_resource(&entry["resource"], &at(i), &mut report);
            }
            if report.is_valid() {
                for r in refused {
                    report.error("structure", r.path, r.problem);
                }
            }
        }
    }
    report
}

/// Checks one resource; `at` prefixes the expressions (empty at the top level).
pub fn check_resource(value: &Value, at: &str, report: &mut Report) {
    let path = if at.is_empty() {
        value["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    } else {
        at.to_string()
    };
    // The model ignores what it does not know; a FHIR server refuses it.
    if let Err(refused) = read_strictly::<Resource>(value, &path) {
        for r in refused {
            report.error("structure", r.path, r.problem);
        }
        return;
    }
    check_rules(value, at, report);
}

/// The profile rules of one resource already read as FHIR R4.
fn check_rules(value: &Value, at: &str, report: &mut Report) {
    let kind = value["resourceType"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let path = |element: &str| -> String {
        let base = if at.is_empty() {
            kind.clone()
        } else {
            at.to_string()
        };
        if element.is_empty() {
            base
        } else {
            format!("{base}.{element}")
        }
    };
    let expected_profile = match kind.as_str() {
        "Organization" => profile::ORGANIZATION,
        "Location" => profile::LOCATION,
        "HealthcareService" => profile::HEALTHCARE_SERVICE,
        other => {
            report.error(
                "not-supported",
                path(""),
                format!("{other} is not one of the ROR resources published here (Organization, Location, HealthcareService)"),
            );
            return;
        }
    };
    let r = Resource_ { value, path: &path };
    if !r
        .all("meta.profile")
        .iter()
        .any(|p| p.as_str() == Some(expected_profile))
    {
        report.error(
            "required",
            path("meta.profile"),
            format!("expected the profile {expected_profile}"),
        );
    }
    for (i, tag) in r.all("meta.tag").iter().enumerate() {
        if tag["system"] == system::REGION {
            code_in(
                tag,
                system::REGION,
                &path(&format!("meta.tag[{i}]")),
                report,
            );
        }
    }
    let creation = r.extensions(extension::META_CREATION_DATE);
    if creation.len() != 1 || creation.iter().any(|e| !e["valueDateTime"].is_string()) {
        report.error(
            "required",
            path("extension"),
            "expected exactly one ror-meta-creation-date with a valueDateTime",
        );
    }
    for (i, telecom) in r.all("telecom").iter().enumerate() {
        check_telecom(telecom, &path(&format!("telecom[{i}]")), report);
    }
    match kind.as_str() {
        "Organization" => organization(&r, report),
        "Location" => location(&r, report),
        _ => healthcare_service(&r, report),
    }
}

#[allow(non_camel_case_types)]
struct Resource_<'a> {
    value: &'a Value,
    path: &'a dyn Fn(&str) -> String,
}

impl Resource_<'_> {
    /// Every value at a dotted path, arrays flattened.
    fn all(&self, dotted: &str) -> Vec<&Value> {
        let mut current = vec![self.value];
        for key in dotted.split('.') {
            current = current
                .into_iter()
                .flat_map(|v| match &v[key] {
                    Value::Array(items) => items.iter().collect(),
                    Value::Null => Vec::new(),
                    other => vec![other],
                })
                .collect();
        }
        current
    }

    fn extensions(&self, url: &str) -> Vec<&Value> {
        sub_extensions(self.value, url)
    }

    fn at(&self, element: &str) -> String {
        (self.path)(element)
    }
}

fn sub_extensions<'a>(value: &'a Value, url: &str) -> Vec<&'a Value> {
    value["extension"]
        .as_array()
        .map(|all| all.iter().filter(|e| e["url"] == url).collect())
        .unwrap_or_default()
}

/// One *horaire* as RORHealthcareService profiles it: `daysOfWeek` 0..1, the day's
/// number (`ror-available-time-number-days-of-week`, 1 to 7) 0..1 and the same day when
/// both are given, the type of hours (`ror-available-time-type-of-time`, J41) 0..1.
fn check_horaire(slot: &Value, at: &str, report: &mut Report) {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let days = slot["daysOfWeek"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if days.len() > 1 {
        report.error(
            "cardinality",
            format!("{at}.daysOfWeek"),
            "an horaire is one day: daysOfWeek 0..1 (one availableTime per day)",
        );
    }
    let numbers = sub_extensions(slot, extension::AVAILABLE_DAY_NUMBER);
    if numbers.len() > 1 {
        report.error(
            "cardinality",
            format!("{at}.extension"),
            "ror-available-time-number-days-of-week 0..1",
        );
    }
    if let Some(number) = numbers.first() {
        match number["valueInteger"].as_i64() {
            Some(n @ 1..=7) => {
                let named = days.first().and_then(Value::as_str);
                if let [_] = days
                    && named != Some(DAYS[(n - 1) as usize])
                {
                    report.error(
                        "invariant",
                        format!("{at}.daysOfWeek"),
                        format!("day number {n} and daysOfWeek {named:?} name different days"),
                    );
                }
            }
            _ => report.error(
                "value",
                format!("{at}.extension"),
                "ror-available-time-number-days-of-week is a valueInteger from 1 (Monday) to 7 (Sunday)",
            ),
        }
    }
    let types = sub_extensions(slot, extension::AVAILABLE_TYPE_OF_TIME);
    if types.len() > 1 {
        report.error(
            "cardinality",
            format!("{at}.extension"),
            "ror-available-time-type-of-time 0..1",
        );
    }
    for kind in types {
        for coding in kind["valueCodeableConcept"]["coding"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            code_in(
                coding,
                system::TYPE_HORAIRE,
                &format!("{at}.extension"),
                report,
            );
        }
    }
}

/// Checks that a Coding's code belongs to the shipped subset of `expected_system`.
fn code_in(coding: &Value, expected_system: &str, at: &str, report: &mut Report) {
    let system = coding["system"].as_str().unwrap_or_default();
    let code = coding["code"].as_str().unwrap_or_default();
    if system != expected_system {
        report.error(
            "code-invalid",
            at,
            format!("expected a code from {expected_system}, found system {system:?}"),
        );
        return;
    }
    if expected_system == system::COMMUNE {
        let valid = code.len() == 5
            && (code[..2].bytes().all(|b| b.is_ascii_digit())
                || code.starts_with("2A")
                || code.starts_with("2B"))
            && code[2..].bytes().all(|b| b.is_ascii_digit());
        if !valid {
            report.error(
                "code-invalid",
                at,
                format!("{code:?} is not an INSEE commune code"),
            );
        }
        return;
    }
    let codes = CodeSystems::shipped();
    if !matches!(codes.lookup(system, code), Lookup::Known(_)) {
        report.error(
            "code-invalid",
            at,
            format!(
                "{code:?} is not in {system} (expected one of {})",
                codes.codes(system).join(", ")
            ),
        );
    }
}

/// The codings of a CodeableConcept from one system.
fn codings_of<'a>(concept: &'a Value, system: &str) -> Vec<&'a Value> {
    concept["coding"]
        .as_array()
        .map(|c| c.iter().filter(|c| c["system"] == system).collect())
        .unwrap_or_default()
}

/// A CodeableConcept slot bound (required) to one system, with `min..=max` occurrences.
fn bound_slot(
    concepts: &[&Value],
    bound: &str,
    element: &str,
    min: usize,
    max: usize,
    r: &Resource_<'_>,
    report: &mut Report,
) {
    let matching: Vec<(usize, &Value)> = concepts
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            codings_of(c, bound)
                .into_iter()
                .map(move |coding| (i, coding))
        })
        .collect();
    if matching.len() < min || matching.len() > max {
        let wanted = if min == max {
            format!("exactly {min}")
        } else {
            format!("{min} to {max}")
        };
        report.error(
            "required",
            r.at(element),
            format!(
                "expected {wanted} code(s) from {bound}, found {}",
                matching.len()
            ),
        );
    }
    for (i, coding) in matching {
        code_in(coding, bound, &r.at(&format!("{element}[{i}]")), report);
    }
}

fn check_telecom(telecom: &Value, at: &str, report: &mut Report) {
    if !telecom["value"].is_string() {
        report.error(
            "required",
            format!("{at}.value"),
            "a ROR telecom has a value",
        );
    }
    for (url, bound, name) in [
        (
            extension::TELECOM_CHANNEL,
            system::CANAL_COMMUNICATION,
            "channel",
        ),
        (
            extension::TELECOM_CONFIDENTIALITY,
            system::NIVEAU_CONFIDENTIALITE,
            "confidentiality level",
        ),
    ] {
        let found = sub_extensions(telecom, url);
        if found.len() != 1 {
            report.error(
                "required",
                format!("{at}.extension"),
                format!("expected exactly one {name} extension ({url})"),
            );
            continue;
        }
        match found[0]["valueCodeableConcept"]["coding"].get(0) {
            Some(coding) => code_in(coding, bound, &format!("{at}.extension"), report),
            None => report.error(
                "required",
                format!("{at}.extension"),
                format!("the {name} has no code"),
            ),
        }
    }
}

fn organization(r: &Resource_<'_>, report: &mut Report) {
    let identifiers = r.all("identifier");
    if identifiers.is_empty() {
        report.error(
            "required",
            r.at("identifier"),
            "an organization is identified (idNatSt, FINESS…)",
        );
    }
    for (i, identifier) in identifiers.iter().enumerate() {
        let at = r.at(&format!("identifier[{i}]"));
        let value = identifier["value"].as_str().unwrap_or_default();
        let checked = match identifier["system"].as_str() {
            Some(identifier_system::FINESS) => {
                Some(check_finess(value).map_err(|e| format!("FINESS {value:?}: {e}")))
            }
            Some(identifier_system::SIRET) => {
                Some(check_siret(value).map_err(|e| format!("SIRET {value:?}: {e}")))
            }
            Some(identifier_system::ID_NAT_STRUCT) => Some(match value.strip_prefix('1') {
                Some(finess) => check_finess(finess).map_err(|e| format!("idNatSt {value:?}: {e}")),
                None => Ok(()),
            }),
            _ => None,
        };
        if let Some(result) = checked {
            if let Err(message) = result {
                report.error("value", format!("{at}.value"), message);
            }
            match codings_of(&identifier["type"], system::TYPE_IDENTIFIANT_STRUCTURE).first() {
                Some(coding) => code_in(
                    coding,
                    system::TYPE_IDENTIFIANT_STRUCTURE,
                    &format!("{at}.type"),
                    report,
                ),
                None => report.error(
                    "required",
                    format!("{at}.type"),
                    "this identifier slice requires its type (TRE_G07)",
                ),
            }
        }
    }
    for (i, concept) in r.all("type").iter().enumerate() {
        for coding in concept["coding"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let system = coding["system"].as_str().unwrap_or_default();
            if system == system::STATUT_JURIDIQUE || system == system::CATEGORIE_ETABLISSEMENT {
                code_in(coding, system, &r.at(&format!("type[{i}]")), report);
            }
        }
    }
}

fn location(r: &Resource_<'_>, report: &mut Report) {
    let cog = r.extensions(extension::COMMUNE_COG);
    if cog.len() != 1 {
        report.error(
            "required",
            r.at("extension"),
            "expected exactly one ror-commune-cog",
        );
        return;
    }
    match cog[0]["valueCodeableConcept"]["coding"].get(0) {
        Some(coding) => code_in(coding, system::COMMUNE, &r.at("extension"), report),
        None => report.error("required", r.at("extension"), "ror-commune-cog has no code"),
    }
    for capacity in r.extensions(extension::SUPPORTED_CAPACITY) {
        check_capacity(capacity, &r.at("extension"), report);
    }
}

/// The sub-extensions of `ror-location-supported-capacity` that are coded and required,
/// with their code system.
const CAPACITY_CODED: [(&str, &str); 6] = [
    ("capacityType", system::NATURE_CAPACITE),
    ("capacityStatus", system::TYPE_STATUT_CAPACITE),
    ("temporalityCapacity", system::TEMPORALITE_CAPACITE),
    ("capacitySourceType", system::TYPE_SOURCE_CAPACITE),
    ("temporaryAssignement", system::AFFECTATION_TEMPORAIRE),
    ("genderCapacityAvailable", system::GENRE_CAPACITE),
];

/// One capacity indicator: its required sub-extensions once each (the gender is optional),
/// codes from their sets, a count that is not negative and the date of the count.
pub fn check_capacity(capacity: &Value, at: &str, report: &mut Report) {
    let subs = capacity["extension"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let named = |url: &str| subs.iter().filter(|s| s["url"] == url).collect::<Vec<_>>();
    for (url, code_system) in CAPACITY_CODED {
        let found = named(url);
        let optional = url == "genderCapacityAvailable";
        if found.len() > 1 || (found.is_empty() && !optional) {
            report.error(
                "cardinality",
                at,
                format!(
                    "ror-location-supported-capacity takes {url} {}",
                    if optional {
                        "at most once"
                    } else {
                        "exactly once"
                    }
                ),
            );
            continue;
        }
        if let Some(sub) = found.first() {
            match sub["valueCodeableConcept"]["coding"].get(0) {
                Some(coding) => code_in(coding, code_system, at, report),
                None => report.error("required", at, format!("{url} has no code")),
            }
        }
    }
    match named("nbCapacity").as_slice() {
        [count] if count["valueInteger"].as_i64().is_some_and(|n| n >= 0) => {}
        _ => report.error(
            "required",
            at,
            "ror-location-supported-capacity takes one nbCapacity, a valueInteger ≥ 0",
        ),
    }
    match named("capacityUpdateDate").as_slice() {
        [date] if date["valueDateTime"].is_string() => {}
        _ => report.error(
            "required",
            at,
            "ror-location-supported-capacity takes one capacityUpdateDate (valueDateTime)",
        ),
    }
    if capacity.get("value").is_some()
        || capacity
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k.starts_with("value")))
    {
        report.error(
            "cardinality",
            at,
            "ror-location-supported-capacity has no value[x]",
        );
    }
}

fn healthcare_service(r: &Resource_<'_>, report: &mut Report) {
    // identifiantOffre is the ROR's (TRE_R355 35): a resource the ROR holds has it, an
    // offer to create has none yet.
    let identifiers = r.all("identifier");
    if identifiers.len() > 1 {
        report.error(
            "cardinality",
            r.at("identifier"),
            "expected at most one identifier (identifiantOffre, given by the ROR)",
        );
    }
    for (i, identifier) in identifiers.iter().enumerate() {
        match codings_of(&identifier["type"], system::TYPE_IDENTIFIANT_OFFRE).first() {
            Some(coding) => code_in(
                coding,
                system::TYPE_IDENTIFIANT_OFFRE,
                &r.at(&format!("identifier[{i}].type")),
                report,
            ),
            None => report.error(
                "required",
                r.at(&format!("identifier[{i}].type")),
                "identifiantOffre is typed TRE_R355 35",
            ),
        }
    }
    bound_slot(
        &r.all("type"),
        system::CHAMP_ACTIVITE,
        "type",
        1,
        1,
        r,
        report,
    );
    bound_slot(
        &r.all("category"),
        system::CATEGORIE_ORGANISATION,
        "category",
        0,
        1,
        r,
        report,
    );
    bound_slot(
        &r.all("specialty"),
        system::ACTIVITE_OPERATIONNELLE,
        "specialty",
        1,
        1,
        r,
        report,
    );
    bound_slot(
        &r.all("characteristic"),
        system::MODE_PRISE_EN_CHARGE,
        "characteristic",
        1,
        1,
        r,
        report,
    );
    for (i, slot) in r.all("availableTime").into_iter().enumerate() {
        check_horaire(slot, &r.at(&format!("availableTime[{i}]")), report);
    }
    let sensitive = r.extensions(extension::SENSITIVE_UNIT);
    if sensitive.len() != 1 || !sensitive[0]["valueBoolean"].is_boolean() {
        report.error(
            "required",
            r.at("extension"),
            "expected exactly one ror-healthcareservice-sensitive-unit with a valueBoolean",
        );
    }
    let patient = r.extensions(extension::PATIENT_TYPE);
    if patient.len() != 1 {
        report.error(
            "required",
            r.at("extension"),
            "expected exactly one ror-healthcareservice-patient-type",
        );
    } else {
        let ages = sub_extensions(patient[0], "ageRange");
        let bounded = ages.len() == 1
            && ages[0]["valueRange"]["low"]["value"].is_number()
            && ages[0]["valueRange"]["high"]["value"].is_number();
        if !bounded {
            report.error(
                "required",
                r.at("extension"),
                "patient-type requires one ageRange with low and high",
            );
        }
        for info in sub_extensions(patient[0], "supportedPatientInfo") {
            match info["valueCodeableConcept"]["coding"].get(0) {
                Some(coding) => code_in(
                    coding,
                    system::PUBLIC_PRIS_EN_CHARGE,
                    &r.at("extension"),
                    report,
                ),
                None => report.error(
                    "required",
                    r.at("extension"),
                    "supportedPatientInfo has no code",
                ),
            }
        }
    }
    for division in r.extensions(extension::TERRITORIAL_DIVISION) {
        for (part, bound) in [
            (
                "typeTerritorialDivision",
                system::TYPE_DIVISION_TERRITORIALE,
            ),
            ("codeTerritorialDivision", system::COMMUNE),
        ] {
            let found = sub_extensions(division, part);
            match found
                .first()
                .and_then(|f| f["valueCodeableConcept"]["coding"].get(0))
            {
                Some(coding) if found.len() == 1 => {
                    code_in(coding, bound, &r.at("extension"), report)
                }
                _ => report.error(
                    "required",
                    r.at("extension"),
                    format!("ror-territorial-division requires exactly one coded {part}"),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offer::tests::example_offer as offer;
    use crate::render::{Links, Part, bundle, render};

    #[test]
    fn the_rendered_bundle_follows_the_rules() {
        let report = check(&bundle(&offer()).unwrap());
        assert!(report.issues.is_empty(), "{:?}", report.issues);
    }

    fn issues_of(mut mutate: impl FnMut(&mut Value), part: Part) -> Vec<Issue> {
        let offer = offer();
        let mut value = render(&offer, part, &Links::in_bundle(&offer)).unwrap();
        mutate(&mut value);
        check(&value).issues
    }

    #[test]
    fn broken_resources_are_refused_with_a_path() {
        let issues = issues_of(
            |v| {
                v["extension"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|e| e["url"] != extension::PATIENT_TYPE)
            },
            Part::Volet1,
        );
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert!(issues[0].diagnostics.contains("patient-type"));

        let issues = issues_of(
            |v| v["category"][0]["coding"][0]["code"] = json!("999"),
            Part::Volet2,
        );
        assert_eq!(issues[0].code, "code-invalid");
        assert_eq!(issues[0].expression, "HealthcareService.category[0]");

        let issues = issues_of(
            |v| drop(v["telecom"][0].as_object_mut().unwrap().remove("extension")),
            Part::Volet2,
        );
        assert_eq!(issues.len(), 2, "{issues:?}");

        let issues = issues_of(|v| v["telecom"][0]["extension"] = json!([]), Part::Volet2);
        assert!(issues[0].diagnostics.contains("empty"), "{issues:?}");

        // An horaire is one day, its number and its name the same day.
        let issues = issues_of(
            |v| v["availableTime"][0]["daysOfWeek"] = json!(["mon", "tue"]),
            Part::Volet2,
        );
        assert_eq!(issues[0].code, "cardinality", "{issues:?}");
        assert_eq!(
            issues[0].expression,
            "HealthcareService.availableTime[0].daysOfWeek"
        );
        let issues = issues_of(
            |v| v["availableTime"][0]["daysOfWeek"] = json!(["sun"]),
            Part::Volet2,
        );
        assert!(
            issues[0].diagnostics.contains("different days"),
            "{issues:?}"
        );
        let issues = issues_of(
            |v| v["availableTime"][0]["extension"][0]["valueInteger"] = json!(8),
            Part::Volet2,
        );
        assert!(
            issues[0].diagnostics.contains("1 (Monday) to 7"),
            "{issues:?}"
        );

        let issues = issues_of(
            |v| v["identifier"][1]["value"] = json!("720003012"),
            Part::Establishment,
        );
        assert_eq!(issues[0].expression, "Organization.identifier[1].value");

        let issues = issues_of(
            |v| drop(v.as_object_mut().unwrap().remove("extension")),
            Part::Location,
        );
        assert_eq!(issues.len(), 2, "{issues:?}");

        let issues = issues_of(|v| v["bogus"] = json!(1), Part::Volet2);
        assert_eq!(issues[0].code, "structure");

        let issues = issues_of(|v| v["meta"]["profile"] = json!([]), Part::LegalEntity);
        assert_eq!(issues[0].expression, "Organization.meta.profile");
    }

    #[test]
    fn the_outcome_is_an_operation_outcome() {
        let offer = offer();
        let mut value = render(&offer, Part::Volet2, &Links::in_bundle(&offer)).unwrap();
        value["type"][0]["coding"][0]["code"] = json!("01x");
        let outcome = check(&value).outcome();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["severity"], "error");
        assert!(serde_json::from_value::<Resource>(outcome).is_ok());
    }
}
