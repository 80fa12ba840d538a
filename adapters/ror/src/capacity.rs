//! The bed capacity of the CRT's place ("patch capacitaire"): the rooms volet 2 keeps for
//! emergency temporary stays, as one `ror-location-supported-capacity` indicator on the
//! ROR Location the GRADeS named for the CRT.
//!
//! The guide's *[BED MANAGEMENT]* scenarios (page *Création et mise à jour du lieu de
//! réalisation de l'offre*) are the only writes it opens to a client on a Location, and
//! the ROR's API documentation adds how to use them: send `replace` first, and `add` when
//! the ROR answers that the Location has no such indicator yet (404 on the extension).
//! An indicator is identified by its status, temporality, gender and temporary
//! assignment codes, the conditions the guide's `replace` path selects it with.

use chrono::{DateTime, SecondsFormat, Utc};
use fhir_sdk::r4b::types::{Extension, ExtensionValue};
use serde_json::Value;

use crate::codes::system;
use crate::fhir::{self, ModelError, Result, extension::SUPPORTED_CAPACITY};
use crate::fhirpatch::{Operation, Patch, Target};

/// The codes of the indicator the gateway keeps, by sub-extension, from the ROR's value
/// sets: beds (J187 01 Lit), installed (J188 01 Installé), current (J189 01 Courant), fed
/// by software (J193 02 Bed management), no temporary assignment (J195 01 Aucune). The
/// gender is left out (0..1): the guide's examples write 03 Indifférencié, which TRE_R332
/// ended in 2025 and J190 no longer lists.
const CODES: [(&str, &str, &str); 5] = [
    ("capacityType", system::NATURE_CAPACITE, "01"),
    ("capacityStatus", system::TYPE_STATUT_CAPACITE, "01"),
    ("temporalityCapacity", system::TEMPORALITE_CAPACITE, "01"),
    ("capacitySourceType", system::TYPE_SOURCE_CAPACITE, "02"),
    ("temporaryAssignement", system::AFFECTATION_TEMPORAIRE, "01"),
];

/// The sub-extensions that identify one indicator in a `replace` or `delete` path: those
/// of the guide's scenario 2 BIS without the gender, and the kind of capacity, which tells
/// beds from places.
const KEYS: [&str; 4] = [
    "capacityType",
    "capacityStatus",
    "temporalityCapacity",
    "temporaryAssignement",
];

/// The indicator's identifying codes, for a path.
pub fn keys() -> Vec<(String, String)> {
    CODES
        .iter()
        .filter(|(url, _, _)| KEYS.contains(url))
        .map(|(url, _, code)| ((*url).to_string(), (*code).to_string()))
        .collect()
}

/// The indicator as FHIR JSON: `beds` rooms, as of `updated`.
pub fn indicator(beds: u32, updated: DateTime<Utc>) -> Result<Value> {
    let mut parts = Vec::new();
    for (url, code_system, code) in CODES {
        parts.push(fhir::simple(
            url,
            ExtensionValue::CodeableConcept(fhir::concept(code_system, code)?),
        )?);
    }
    parts.push(fhir::simple(
        "nbCapacity",
        ExtensionValue::Integer(i32::try_from(beds).unwrap_or(i32::MAX)),
    )?);
    let instant = updated
        .to_rfc3339_opts(SecondsFormat::Secs, true)
        .parse()
        .map_err(|e| ModelError::from_message(format!("capacity date: {e:?}")))?;
    parts.push(fhir::simple(
        "capacityUpdateDate",
        ExtensionValue::DateTime(instant),
    )?);
    let extension: Extension = fhir::complex(SUPPORTED_CAPACITY, parts)?;
    serde_json::to_value(extension).map_err(|e| ModelError::from_message(e.to_string()))
}

/// The number of rooms the ROR holds for the indicator on `location`, if it has one.
pub fn held(location: &Value) -> Option<i64> {
    let mut matching = location["extension"]
        .as_array()?
        .iter()
        .filter(|e| e["url"] == SUPPORTED_CAPACITY)
        .filter(|e| {
            keys().iter().all(|(url, code)| {
                sub(e, url).is_some_and(|s| {
                    s["valueCodeableConcept"]["coding"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|c| c["code"] == code.as_str()))
                })
            })
        });
    let found = matching.next()?;
    sub(found, "nbCapacity")?["valueInteger"].as_i64()
}

fn sub<'a>(extension: &'a Value, url: &str) -> Option<&'a Value> {
    extension["extension"]
        .as_array()?
        .iter()
        .find(|s| s["url"] == url)
}

/// `replace` of the indicator.
pub fn replace(indicator: Value) -> Patch {
    Patch {
        resource_type: "Location".into(),
        operations: vec![Operation::Replace {
            target: Target::Capacity { keys: keys() },
            value: indicator,
        }],
    }
}

/// `add` of the indicator, when the Location has none.
pub fn add(indicator: Value) -> Patch {
    Patch {
        resource_type: "Location".into(),
        operations: vec![Operation::AddCapacity { value: indicator }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replace_then_read_back() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let location = json!({"resourceType": "Location", "id": "9"});
        assert_eq!(held(&location), None);
        let added = add(indicator(2, at).unwrap()).apply(&location).unwrap();
        assert_eq!(held(&added), Some(2));
        let replaced = replace(indicator(3, at).unwrap()).apply(&added).unwrap();
        assert_eq!(held(&replaced), Some(3));
        assert_eq!(replaced["extension"].as_array().unwrap().len(), 1);
        // `replace` where there is no indicator is the ROR's 404 on the extension.
        let error = replace(indicator(3, at).unwrap())
            .apply(&location)
            .unwrap_err();
        assert_eq!(error.status().0, 404);
    }

    #[test]
    fn the_patch_has_the_guides_shape_and_reads_back() {
        let at = Utc::now();
        let patch = replace(indicator(2, at).unwrap());
        let body = patch.to_parameters().unwrap();
        let path = body["parameter"][0]["part"][1]["valueString"]
            .as_str()
            .unwrap();
        assert!(path.starts_with(
            "Location.extension.where(url='https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-location-supported-capacity').where(extension.where(url = 'capacityType' and valueCodeableConcept.coding.code = '01') and "
        ), "{path}");
        let value = &body["parameter"][0]["part"][2];
        assert_eq!(value["name"], "value");
        assert_eq!(value["part"][0]["extension"][0]["url"], SUPPORTED_CAPACITY);
        assert_eq!(Patch::from_parameters("Location", &body).unwrap(), patch);
    }
}
