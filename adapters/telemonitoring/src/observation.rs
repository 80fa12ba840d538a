//! One telemonitoring observation, checked as a FHIR server holding the profiles would
//! check it, and read into the measures the thresholds are compared with.
//!
//! Every finding names the element (FHIRPath) and the rule with where it comes from (the
//! profile and element, or the bound value set), so that the platform's developers can
//! fix the sender without guessing.

use chrono::{DateTime, FixedOffset, NaiveDate};
use crt_core::fhir_json::read_strictly;
use serde::Serialize;
use serde_json::{Value, json};

use crate::profile::{Rules, SystemCode, TLSV_PROFILE, Units, rules};

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED_CT: &str = "http://snomed.info/sct";

/// One finding, shaped as an `OperationOutcome.issue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// FHIRPath of the element.
    pub expression: String,
    /// FHIR issue type: `structure`, `required`, `code-invalid`, `value`.
    pub code: &'static str,
    /// The rule broken, and the profile or value set it comes from.
    pub diagnostics: String,
}

impl Issue {
    fn new(expression: impl Into<String>, code: &'static str, diagnostics: String) -> Issue {
        Issue {
            expression: expression.into(),
            code,
            diagnostics,
        }
    }
}

/// The issues as an `OperationOutcome`.
pub fn outcome(issues: &[Issue]) -> Value {
    let issues: Vec<Value> = issues
        .iter()
        .map(|i| {
            json!({
                "severity": "error",
                "code": i.code,
                "diagnostics": i.diagnostics,
                "expression": [i.expression],
            })
        })
        .collect();
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// Whom the observation is about, as its `subject.identifier` names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub system: String,
    pub value: String,
}

/// One measured value, with the codes of what was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub codes: Vec<SystemCode>,
    /// The first display the sender gave, for the on-call message.
    pub display: Option<String>,
    pub value: f64,
    /// UCUM code of the unit.
    pub unit: String,
    /// FHIRPath of the value, for messages.
    pub at: String,
}

/// A checked observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The sender's identifier of the observation (its first `identifier`, else its `id`):
    /// the same observation sent twice raises one alert.
    pub id: Option<String>,
    pub subject: Subject,
    /// When it was measured (the start of a period).
    pub effective: DateTime<FixedOffset>,
    /// The measured values; none for an observation in error or cancelled.
    pub measures: Vec<Measure>,
}

/// Statuses whose values stand (`entered-in-error`, `cancelled`, `registered` and
/// `unknown` carry nothing to compare).
const STANDING: [&str; 4] = ["final", "amended", "corrected", "preliminary"];

/// Checks an observation and reads its measures.
pub fn check(value: &Value) -> Result<Measurement, Vec<Issue>> {
    let mut issues = Vec::new();
    if value["resourceType"] != "Observation" {
        return Err(vec![Issue::new(
            "Observation",
            "structure",
            format!(
                "expected resourceType Observation ({TLSV_PROFILE}), got {}",
                value["resourceType"]
            ),
        )]);
    }
    if let Err(refused) =
        read_strictly::<fhir_sdk::r4b::resources::Observation>(value, "Observation")
    {
        issues.extend(refused.into_iter().map(|r| {
            Issue::new(
                r.path,
                "structure",
                format!("FHIR R4 Observation: {}", r.problem),
            )
        }));
        return Err(issues);
    }
    let rules = rules();
    profile_elements(value, rules, &mut issues);
    vital_sign(value, rules, &mut issues);
    let subject = subject(value, &mut issues);
    let effective = effective(value, &mut issues);
    match (subject, effective) {
        (Some(subject), Some(effective)) if issues.is_empty() => Ok(Measurement {
            id: value["identifier"][0]["value"]
                .as_str()
                .or(value["id"].as_str())
                .map(str::to_string),
            subject,
            effective,
            measures: measures(value),
        }),
        _ => Err(issues),
    }
}

/// The keys an element takes in JSON (`effective[x]` is `effectiveDateTime`…).
fn keys_of<'a>(value: &'a Value, name: &str) -> Vec<&'a str> {
    let Some(object) = value.as_object() else {
        return Vec::new();
    };
    match name.strip_suffix("[x]") {
        Some(stem) => object
            .keys()
            .filter(|k| {
                k.strip_prefix(stem)
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(char::is_uppercase)
            })
            .map(String::as_str)
            .collect(),
        None => object
            .keys()
            .filter(|k| *k == name)
            .map(String::as_str)
            .collect(),
    }
}

fn profile_elements(value: &Value, rules: &Rules, issues: &mut Vec<Issue>) {
    for element in &rules.tlsv {
        let keys = keys_of(value, &element.name);
        let at = format!("Observation.{}", element.name);
        if element.min >= 1 && keys.is_empty() {
            issues.push(Issue::new(
                at.clone(),
                "required",
                format!(
                    "{} is required ({TLSV_PROFILE}: min {})",
                    element.name, element.min
                ),
            ));
        }
        if let Some(stem) = element.name.strip_suffix("[x]")
            && !element.types.is_empty()
        {
            for key in &keys {
                let kind = &key[stem.len()..];
                if !element.types.iter().any(|t| t.eq_ignore_ascii_case(kind)) {
                    issues.push(Issue::new(
                        format!("Observation.{key}"),
                        "structure",
                        format!(
                            "{} may only be {} ({TLSV_PROFILE})",
                            element.name,
                            element.types.join(" or ")
                        ),
                    ));
                }
            }
        }
        if let Some(bound) = &element.binding {
            let concepts = match &value[element.name.as_str()] {
                Value::Array(items) => items.iter().collect(),
                Value::Null => Vec::new(),
                one => vec![one],
            };
            for (i, concept) in concepts.into_iter().enumerate() {
                let codings = concept["coding"].as_array().into_iter().flatten();
                let known = codings.clone().any(|c| {
                    bound.contains(
                        c["system"].as_str().unwrap_or_default(),
                        c["code"].as_str().unwrap_or_default(),
                    )
                });
                if !known {
                    let given: Vec<String> = codings
                        .map(|c| {
                            format!(
                                "{}|{}",
                                c["system"].as_str().unwrap_or("?"),
                                c["code"].as_str().unwrap_or("?")
                            )
                        })
                        .collect();
                    issues.push(Issue::new(
                        format!("{at}[{i}]"),
                        "code-invalid",
                        format!(
                            "{} is not in the required value set {} (expected one of {})",
                            if given.is_empty() {
                                "no coding".to_string()
                            } else {
                                given.join(", ")
                            },
                            bound.url,
                            bound.listing()
                        ),
                    ));
                }
            }
        }
    }
}

fn codings(concept: &Value) -> impl Iterator<Item = (&str, &str)> {
    concept["coding"].as_array().into_iter().flatten().map(|c| {
        (
            c["system"].as_str().unwrap_or_default(),
            c["code"].as_str().unwrap_or_default(),
        )
    })
}

/// The vital-signs profiles, for an observation coded with one of their LOINC codes.
fn vital_sign(value: &Value, rules: &Rules, issues: &mut Vec<Issue>) {
    let Some(loinc) = codings(&value["code"])
        .find(|(system, code)| rules.vital_sign_codes.contains(system, code))
        .map(|(_, code)| code)
    else {
        return;
    };
    let category = &rules.vital_sign_category;
    let categorised = value["category"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| codings(c).any(|(s, k)| s == category.system && k == category.code));
    if !categorised {
        issues.push(Issue::new(
            "Observation.category",
            "required",
            format!(
                "LOINC {loinc} is a vital sign: category {}|{} is required (http://hl7.org/fhir/StructureDefinition/vitalsigns, slice VSCat)",
                category.system, category.code
            ),
        ));
    }
    let Some(sign) = rules.vital_sign(loinc) else {
        return;
    };
    if let Some(units) = &sign.units {
        quantity(value, "Observation", units, &sign.profile, issues);
    }
    let components = value["component"].as_array().cloned().unwrap_or_default();
    for part in &sign.components {
        let found = components
            .iter()
            .position(|c| codings(&c["code"]).any(|(s, k)| s == LOINC && k == part.loinc));
        match found {
            Some(i) => quantity(
                &components[i],
                &format!("Observation.component[{i}]"),
                &part.units,
                &sign.profile,
                issues,
            ),
            None => issues.push(Issue::new(
                "Observation.component",
                "required",
                format!(
                    "a component coded LOINC {} is required ({})",
                    part.loinc, sign.profile
                ),
            )),
        }
    }
}

/// The value of `element` is a quantity in one of `units`, unless a reason says why it
/// is absent.
fn quantity(element: &Value, at: &str, units: &Units, profile: &str, issues: &mut Vec<Issue>) {
    let others: Vec<&str> = keys_of(element, "value[x]")
        .into_iter()
        .filter(|k| *k != "valueQuantity")
        .collect();
    if let Some(other) = others.first() {
        issues.push(Issue::new(
            format!("{at}.{other}"),
            "structure",
            format!("the value is a Quantity ({profile})"),
        ));
        return;
    }
    let quantity = &element["valueQuantity"];
    if quantity.is_null() {
        if element["dataAbsentReason"].is_null() {
            issues.push(Issue::new(
                format!("{at}.value[x]"),
                "required",
                format!("a valueQuantity or a dataAbsentReason is required ({profile})"),
            ));
        }
        return;
    }
    let at = format!("{at}.valueQuantity");
    if !quantity["value"].is_number() {
        issues.push(Issue::new(
            format!("{at}.value"),
            "required",
            format!("the quantity's value is required ({profile})"),
        ));
    }
    if quantity["system"] != units.system.as_str() {
        issues.push(Issue::new(
            format!("{at}.system"),
            "value",
            format!(
                "expected {} ({profile}), got {}",
                units.system, quantity["system"]
            ),
        ));
    }
    let code = quantity["code"].as_str().unwrap_or_default();
    if !units.codes.iter().any(|u| u == code) {
        issues.push(Issue::new(
            format!("{at}.code"),
            "code-invalid",
            format!(
                "unit {code:?} is not allowed: expected {} ({})",
                units.codes.join(", "),
                units.source
            ),
        ));
    }
}

fn subject(value: &Value, issues: &mut Vec<Issue>) -> Option<Subject> {
    let identifier = &value["subject"]["identifier"];
    match (identifier["system"].as_str(), identifier["value"].as_str()) {
        (Some(system), Some(id)) if !system.is_empty() && !id.is_empty() => Some(Subject {
            system: system.to_string(),
            value: id.to_string(),
        }),
        _ => {
            if !value["subject"].is_null() {
                issues.push(Issue::new(
                    "Observation.subject.identifier",
                    "required",
                    "the gateway finds the beneficiary by subject.identifier (system and value): the INS (urn:oid:1.2.250.1.213.1.4.8) or the CRT's identifier of the beneficiary".to_string(),
                ));
            }
            None
        }
    }
}

fn effective(value: &Value, issues: &mut Vec<Issue>) -> Option<DateTime<FixedOffset>> {
    let (text, at) = match value["effectiveDateTime"].as_str() {
        Some(text) => (text, "Observation.effectiveDateTime"),
        None => (
            value["effectivePeriod"]["start"].as_str()?,
            "Observation.effectivePeriod.start",
        ),
    };
    let parsed = DateTime::parse_from_rfc3339(text).ok().or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().fixed_offset())
    });
    if parsed.is_none() {
        issues.push(Issue::new(
            at,
            "value",
            format!(
                "expected a date (YYYY-MM-DD) or a date and time with its offset, got {text:?}"
            ),
        ));
    }
    parsed
}

fn measure(element: &Value, at: String) -> Option<Measure> {
    let quantity = &element["valueQuantity"];
    Some(Measure {
        codes: codings(&element["code"])
            .map(|(system, code)| SystemCode {
                system: system.to_string(),
                code: code.to_string(),
            })
            .collect(),
        display: element["code"]["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|c| c["display"].as_str())
            .or(element["code"]["text"].as_str())
            .map(str::to_string),
        value: quantity["value"].as_f64()?,
        unit: quantity["code"]
            .as_str()
            .or(quantity["unit"].as_str())
            .unwrap_or_default()
            .to_string(),
        at: format!("{at}.valueQuantity"),
    })
}

fn measures(value: &Value) -> Vec<Measure> {
    if !STANDING.contains(&value["status"].as_str().unwrap_or_default()) {
        return Vec::new();
    }
    let components = value["component"].as_array().into_iter().flatten();
    measure(value, "Observation".into())
        .into_iter()
        .chain(
            components
                .enumerate()
                .filter_map(|(i, c)| measure(c, format!("Observation.component[{i}]"))),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn weight(value: f64, unit: &str) -> Value {
        json!({
            "resourceType": "Observation",
            "meta": {"profile": [TLSV_PROFILE]},
            "identifier": [{"system": "urn:example:platform", "value": "obs-1"}],
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Poids corporel"}]},
            "subject": {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "248039263001064"}},
            "effectiveDateTime": "2026-03-02T06:40:00+01:00",
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
        })
    }

    #[test]
    fn a_weight_in_kilograms_is_read() {
        let measurement = check(&weight(71.5, "kg")).expect("valid");
        assert_eq!(measurement.id.as_deref(), Some("obs-1"));
        assert_eq!(measurement.subject.value, "248039263001064");
        assert_eq!(measurement.measures.len(), 1);
        assert_eq!(measurement.measures[0].value, 71.5);
        assert_eq!(measurement.measures[0].unit, "kg");
    }

    #[test]
    fn a_unit_outside_the_value_set_is_refused_with_the_element_and_the_rule() {
        let issues = check(&weight(62.0, "[kg]")).expect_err("refused");
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].expression, "Observation.valueQuantity.code");
        assert!(
            issues[0]
                .diagnostics
                .contains("http://hl7.org/fhir/ValueSet/ucum-bodyweight")
        );
        assert!(issues[0].diagnostics.contains("kg, [lb_av], g"));
    }

    #[test]
    fn the_profile_rules_name_their_element() {
        let mut value = weight(71.5, "kg");
        value["category"][0]["coding"][0]["code"] = "laboratory".into();
        value.as_object_mut().map(|o| o.remove("effectiveDateTime"));
        let issues = check(&value).expect_err("refused");
        let at: Vec<&str> = issues.iter().map(|i| i.expression.as_str()).collect();
        assert!(at.contains(&"Observation.category[0]"), "{at:?}");
        assert!(at.contains(&"Observation.effective[x]"), "{at:?}");
        assert!(
            at.contains(&"Observation.category"),
            "vital sign category: {at:?}"
        );
        let category = issues
            .iter()
            .find(|i| i.expression == "Observation.category[0]");
        assert!(category.is_some_and(|i| i.diagnostics.contains("TLSVCategory")));

        let mut value = weight(71.5, "kg");
        value["effectiveInstant"] = "2026-03-02T06:40:00+01:00".into();
        assert!(check(&value).is_err());
        let mut value = weight(71.5, "kg");
        value["subject"] = json!({"reference": "Patient/1"});
        let issues = check(&value).expect_err("no identifier");
        assert_eq!(issues[0].expression, "Observation.subject.identifier");
        let mut value = weight(71.5, "kg");
        value["colour"] = "blue".into();
        assert!(check(&value).is_err(), "an unknown element is refused");
    }

    #[test]
    fn blood_pressure_has_both_components_in_millimetres_of_mercury() {
        let pressure = json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
            "subject": {"identifier": {"system": "urn:oid:1.2.3.3", "value": "IPP-1"}},
            "effectivePeriod": {"start": "2026-03-02T06:40:00+01:00"},
            "component": [
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                 "valueQuantity": {"value": 182, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                 "valueQuantity": {"value": 95, "system": "http://unitsofmeasure.org", "code": "cm[Hg]"}}
            ]
        });
        let issues = check(&pressure).expect_err("diastolic unit");
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            issues[0].expression,
            "Observation.component[1].valueQuantity.code"
        );
        let mut fixed = pressure.clone();
        fixed["component"][1]["valueQuantity"]["code"] = "mm[Hg]".into();
        let measurement = check(&fixed).expect("valid");
        assert_eq!(measurement.measures.len(), 2);
        assert_eq!(measurement.measures[0].codes[0].code, "8480-6");
        fixed["component"].as_array_mut().map(|c| c.pop());
        let issues = check(&fixed).expect_err("diastolic missing");
        assert!(issues[0].diagnostics.contains("8462-4"));
    }

    #[test]
    fn a_questionnaire_answer_is_not_a_vital_sign() {
        let answer = json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
            "code": {"coding": [{"system": LOINC, "code": "65502-7"}]},
            "subject": {"identifier": {"system": "urn:oid:1.2.3.3", "value": "IPP-1"}},
            "effectiveDateTime": "2026-03-02",
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA14809-0"}]}
        });
        let measurement = check(&answer).expect("valid");
        assert!(measurement.measures.is_empty());
        assert_eq!(
            measurement.effective.to_rfc3339(),
            "2026-03-02T00:00:00+00:00"
        );
    }

    #[test]
    fn an_observation_in_error_measures_nothing() {
        let mut value = weight(120.0, "kg");
        value["status"] = "entered-in-error".into();
        assert!(check(&value).expect("valid").measures.is_empty());
    }
}

#[cfg(test)]
mod official_examples {
    use super::*;

    fn example(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/telemonitoring/examples")
            .join(name);
        serde_json::from_slice(&std::fs::read(path).expect("example")).expect("JSON")
    }

    /// The guide's weight example fails the body-weight profile for the two reasons the
    /// guide's own QA gives (unit `[kg]`, no `vital-signs` category), and our contract's
    /// subject rule (it names the patient by reference).
    #[test]
    fn the_guides_weight_example_is_refused_as_its_qa_refuses_it() {
        let issues =
            check(&example("Observation-TLSVObservationExample04.json")).expect_err("refused");
        let at: Vec<&str> = issues.iter().map(|i| i.expression.as_str()).collect();
        assert_eq!(
            at,
            [
                "Observation.category",
                "Observation.valueQuantity.code",
                "Observation.subject.identifier"
            ],
            "{issues:?}"
        );
    }

    /// A questionnaire answer passes the profile; only the subject rule is ours.
    #[test]
    fn the_guides_questionnaire_example_breaks_no_profile_rule() {
        let mut value = example("Observation-TLSVObservationExample01.json");
        let issues = check(&value).expect_err("subject by reference");
        assert_eq!(issues.len(), 1, "{issues:?}");
        value["subject"] = json!({"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "248039263001064"}});
        assert!(check(&value).is_ok());
    }
}
