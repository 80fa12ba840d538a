//! The rules an observation is checked against, read from the official definitions
//! compiled in from `schemas/telemonitoring/` (their provenance is in the README there):
//!
//! - the ANS `tlsv-observation` StructureDefinition: which top-level elements are
//!   required, which types `effective[x]` may take, and its required bindings (the
//!   `TLSVCategory` value set for `category`);
//! - the FHIR R4 vital-signs StructureDefinitions (`vitalsigns` and one per measure): the
//!   LOINC code of each measure, the UCUM units its value may be in (a fixed code or a
//!   required value set), its components (blood pressure), and the `vital-signs`
//!   category every one of them carries. The `observation-vitalsignresult` value set
//!   says which codes make an observation a vital sign.

use std::sync::OnceLock;

use crt_core::terminology::listed_codes;
use serde_json::Value;

pub const TLSV_PROFILE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/telesurveillance/StructureDefinition/tlsv-observation";

const TLSV: &str =
    include_str!("../../../schemas/telemonitoring/StructureDefinition-tlsv-observation.json");

const VALUE_SETS: [&str; 6] = [
    include_str!("../../../schemas/telemonitoring/ValueSet-TLSVCategory.json"),
    include_str!("../../../schemas/telemonitoring/r4/ValueSet-observation-vitalsignresult.json"),
    include_str!("../../../schemas/telemonitoring/r4/ValueSet-ucum-bodylength.json"),
    include_str!("../../../schemas/telemonitoring/r4/ValueSet-ucum-bodytemp.json"),
    include_str!("../../../schemas/telemonitoring/r4/ValueSet-ucum-bodyweight.json"),
    include_str!("../../../schemas/telemonitoring/r4/ValueSet-ucum-vitals-common.json"),
];

const VITAL_SIGNS_BASE: &str =
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-vitalsigns.json");

const VITAL_SIGNS: [&str; 9] = [
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-bmi.json"),
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-bodyheight.json"),
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-bodytemp.json"),
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-bodyweight.json"),
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-bp.json"),
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-headcircum.json"),
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-heartrate.json"),
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-oxygensat.json"),
    include_str!("../../../schemas/telemonitoring/r4/StructureDefinition-resprate.json"),
];

const VITAL_SIGN_RESULTS: &str = "http://hl7.org/fhir/ValueSet/observation-vitalsignresult";

/// A code of a code system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemCode {
    pub system: String,
    pub code: String,
}

/// A value set the rules bind, with its codes.
#[derive(Debug, Clone)]
pub struct Bound {
    pub url: String,
    pub codes: Vec<SystemCode>,
}

impl Bound {
    pub fn contains(&self, system: &str, code: &str) -> bool {
        self.codes
            .iter()
            .any(|c| c.system == system && c.code == code)
    }

    /// The codes, for a message (`system|code, …`).
    pub fn listing(&self) -> String {
        self.codes
            .iter()
            .map(|c| format!("{}|{}", c.system, c.code))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A top-level element of the `tlsv-observation` profile, as its snapshot defines it.
#[derive(Debug, Clone)]
pub struct Element {
    /// The element's name (`status`, `effective[x]`).
    pub name: String,
    pub min: u64,
    /// The types it may take (`dateTime`, `Period`), when the profile narrows them.
    pub types: Vec<String>,
    /// Its required binding, when the value set is one of the shipped files.
    pub binding: Option<Bound>,
}

/// The UCUM units a measure may be written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    pub system: String,
    pub codes: Vec<String>,
    /// Where the rule comes from: the profile's fixed code or the bound value set.
    pub source: String,
}

/// One measure of the vital-signs profiles.
#[derive(Debug, Clone)]
pub struct VitalSign {
    /// The profile's canonical URL.
    pub profile: String,
    pub loinc: String,
    /// The units of `valueQuantity`; `None` when the value lives in components.
    pub units: Option<Units>,
    /// Required components (blood pressure: systolic and diastolic).
    pub components: Vec<Component>,
}

#[derive(Debug, Clone)]
pub struct Component {
    pub loinc: String,
    pub units: Units,
}

/// Everything an observation is checked against.
#[derive(Debug)]
pub struct Rules {
    pub tlsv: Vec<Element>,
    /// The codes that make an observation a vital sign.
    pub vital_sign_codes: Bound,
    /// The category every vital sign carries.
    pub vital_sign_category: SystemCode,
    pub vital_signs: Vec<VitalSign>,
}

impl Rules {
    /// The vital-sign profile of a LOINC code.
    pub fn vital_sign(&self, loinc: &str) -> Option<&VitalSign> {
        self.vital_signs.iter().find(|v| v.loinc == loinc)
    }

    /// The units a LOINC measure (a vital sign or one of its components) is written in.
    pub fn units_of(&self, loinc: &str) -> Option<&Units> {
        self.vital_signs.iter().find_map(|v| {
            if v.loinc == loinc {
                v.units.as_ref()
            } else {
                v.components
                    .iter()
                    .find(|c| c.loinc == loinc)
                    .map(|c| &c.units)
            }
        })
    }
}

/// The rules, read once from the compiled-in files.
pub fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let value_sets: Vec<Bound> = VALUE_SETS.iter().map(|text| bound(text)).collect();
        let find = |url: &str| {
            let url = url.split('|').next().unwrap_or(url);
            value_sets.iter().find(|v| v.url == url).cloned()
        };
        let base = parse(VITAL_SIGNS_BASE);
        let category = SystemCode {
            system: fixed(&base, "Observation.category:VSCat.coding.system"),
            code: fixed(&base, "Observation.category:VSCat.coding.code"),
        };
        Rules {
            tlsv: tlsv_elements(&parse(TLSV), &find),
            vital_sign_codes: find(VITAL_SIGN_RESULTS).unwrap_or(Bound {
                url: VITAL_SIGN_RESULTS.into(),
                codes: Vec::new(),
            }),
            vital_sign_category: category,
            vital_signs: VITAL_SIGNS
                .iter()
                .map(|text| vital_sign(&parse(text), &find))
                .collect(),
        }
    })
}

/// A compiled-in definition; the files are part of the program, so one that does not
/// parse is a defect the tests catch, and reads as empty.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_default()
}

fn bound(text: &str) -> Bound {
    let value = parse(text);
    let system = value["compose"]["include"][0]["system"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Bound {
        url: value["url"].as_str().unwrap_or_default().to_string(),
        codes: listed_codes(text)
            .into_iter()
            .map(|(code, _)| SystemCode {
                system: system.clone(),
                code,
            })
            .collect(),
    }
}

fn elements<'a>(definition: &'a Value, view: &str) -> impl Iterator<Item = &'a Value> {
    definition[view]["element"].as_array().into_iter().flatten()
}

/// The fixed value (`fixedUri`, `fixedCode`…) of the differential element `id`.
fn fixed(definition: &Value, id: &str) -> String {
    elements(definition, "differential")
        .find(|e| e["id"] == id)
        .and_then(|e| {
            e.as_object()?
                .iter()
                .find(|(key, _)| key.starts_with("fixed") || key.starts_with("pattern"))
                .and_then(|(_, value)| value.as_str())
        })
        .unwrap_or_default()
        .to_string()
}

fn tlsv_elements(definition: &Value, find: &dyn Fn(&str) -> Option<Bound>) -> Vec<Element> {
    elements(definition, "snapshot")
        .filter_map(|e| {
            let path = e["path"].as_str()?;
            let name = path.strip_prefix("Observation.")?;
            if name.contains('.') || e.get("sliceName").is_some() {
                return None;
            }
            let binding = (e["binding"]["strength"] == "required")
                .then(|| e["binding"]["valueSet"].as_str().and_then(find))
                .flatten();
            Some(Element {
                name: name.to_string(),
                min: e["min"].as_u64().unwrap_or(0),
                types: e["type"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["code"].as_str().map(str::to_string))
                    .collect(),
                binding,
            })
        })
        .collect()
}

/// The units `prefix.valueQuantity` may take in a vital-sign profile.
fn units(definition: &Value, prefix: &str, find: &dyn Fn(&str) -> Option<Bound>) -> Option<Units> {
    let system = fixed(definition, &format!("{prefix}.valueQuantity.system"));
    let code_id = format!("{prefix}.valueQuantity.code");
    let code = elements(definition, "differential").find(|e| e["id"] == code_id.as_str())?;
    let profile = definition["url"].as_str().unwrap_or_default();
    if let Some(fixed) = code["fixedCode"].as_str() {
        return Some(Units {
            system,
            codes: vec![fixed.to_string()],
            source: format!("{profile} ({code_id} fixed)"),
        });
    }
    let bound = code["binding"]["valueSet"].as_str().and_then(find)?;
    Some(Units {
        system,
        codes: bound.codes.iter().map(|c| c.code.clone()).collect(),
        source: bound.url,
    })
}

fn vital_sign(definition: &Value, find: &dyn Fn(&str) -> Option<Bound>) -> VitalSign {
    let mut loinc = String::new();
    let mut components = Vec::new();
    for element in elements(definition, "differential") {
        let id = element["id"].as_str().unwrap_or_default();
        let Some(code) = element["fixedCode"].as_str() else {
            continue;
        };
        if id.starts_with("Observation.code.coding:") && id.ends_with(".code") {
            loinc = code.to_string();
        } else if let Some(rest) = id.strip_prefix("Observation.component:")
            && rest.contains(".code.coding:")
            && rest.ends_with(".code")
        {
            let slice = rest.split('.').next().unwrap_or_default();
            let prefix = format!("Observation.component:{slice}");
            if let Some(units) = units(definition, &prefix, find) {
                components.push(Component {
                    loinc: code.to_string(),
                    units,
                });
            }
        }
    }
    VitalSign {
        profile: definition["url"].as_str().unwrap_or_default().to_string(),
        loinc,
        units: units(definition, "Observation", find),
        components,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_files_give_every_rule() {
        let rules = rules();
        let required: Vec<&str> = rules
            .tlsv
            .iter()
            .filter(|e| e.min >= 1)
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(required, ["status", "code", "subject", "effective[x]"]);
        let effective = rules.tlsv.iter().find(|e| e.name == "effective[x]");
        assert_eq!(
            effective.map(|e| e.types.clone()),
            Some(vec!["dateTime".to_string(), "Period".to_string()])
        );
        let category = rules.tlsv.iter().find(|e| e.name == "category");
        let category = category.and_then(|e| e.binding.as_ref()).expect("bound");
        assert!(category.contains(
            "http://terminology.hl7.org/CodeSystem/observation-category",
            "vital-signs"
        ));
        assert_eq!(category.codes.len(), 3);

        assert_eq!(rules.vital_sign_category.code, "vital-signs");
        assert_eq!(rules.vital_signs.len(), 9);
        let weight = rules.vital_sign("29463-7").expect("body weight");
        let units = weight.units.as_ref().expect("units");
        assert_eq!(units.system, "http://unitsofmeasure.org");
        assert_eq!(units.codes, ["kg", "[lb_av]", "g"]);
        assert_eq!(
            rules.units_of("8867-4").map(|u| u.codes.clone()),
            Some(vec!["/min".into()])
        );
        let pressure = rules.vital_sign("85354-9").expect("blood pressure");
        let parts: Vec<&str> = pressure
            .components
            .iter()
            .map(|c| c.loinc.as_str())
            .collect();
        assert_eq!(parts, ["8480-6", "8462-4"]);
        assert_eq!(
            rules.units_of("8480-6").map(|u| u.codes.clone()),
            Some(vec!["mm[Hg]".into()])
        );
        assert!(
            rules
                .vital_sign_codes
                .contains("http://loinc.org", "2708-6")
        );
        for sign in &rules.vital_signs {
            assert!(!sign.loinc.is_empty(), "{}", sign.profile);
            assert!(
                sign.units.is_some() || !sign.components.is_empty(),
                "{}",
                sign.profile
            );
        }
    }
}
