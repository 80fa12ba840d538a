//! The official value sets (ANS *jeux de valeurs*) and code systems the documents and the
//! DMP exchanges draw their codes from, read from the files the ANS publishes, vendored
//! under `schemas/terminology/` with their source and version (its README). The gateway's
//! rules, the DMP simulator and `validate` all read them here: a code typed by hand would
//! agree with our own mistakes, not with the DMP.
//!
//! Two formats are read: the SVS XML of the ANS kits (`RetrieveValueSetResponse`) and the
//! FHIR JSON of the NOS (a `ValueSet` whose concepts carry their code system's OID as a
//! designation, or a `CodeSystem` with its OID as identifier). A retired concept (a
//! `dateFin`) is not part of the set.

use std::sync::OnceLock;

use crt_core::xml::{self, Limits};

/// A code and the OID of its code system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concept {
    pub code: String,
    /// The code system's OID, or `URN` for TRE_A10's URNs (as XDS writes their scheme).
    pub system: String,
    pub display: String,
}

/// A value set or code system, as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSet {
    /// The ANS name (`JDV_J08-XdsConfidentialityCode-CISIS`).
    pub name: &'static str,
    /// The file it was read from, under `schemas/terminology/`.
    pub file: &'static str,
    pub concepts: Vec<Concept>,
}

impl ValueSet {
    pub fn contains(&self, system: &str, code: &str) -> bool {
        self.concept(system, code).is_some()
    }

    pub fn concept(&self, system: &str, code: &str) -> Option<&Concept> {
        self.concepts
            .iter()
            .find(|c| c.code == code && c.system == system)
    }
}

/// The published sets the gateway uses. For the DMP's metadata, the DMP's own value sets
/// (JDV_J57 to J66) where the NOS holds them; the CI-SIS ones where the DMP binds those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Official {
    /// JDV_J01 XdsAuthorSpecialty-CISIS (CDA author code, XDS authorSpecialty).
    AuthorSpecialty,
    /// JDV_J04 XdsPracticeSettingCode-CISIS. The NOS copy of the DMP's JDV_J62 (2020)
    /// predates the `ESSMS` setting J04 added since; J04 (2024) is the current text.
    PracticeSetting,
    /// JDV_J08 XdsConfidentialityCode-CISIS (N/R/V and the DMP's masking codes).
    Confidentiality,
    /// JDV_J57 ClassCode-DMP.
    ClassCode,
    /// JDV_J59 ContentTypeCode-DMP (the submission set's content type).
    ContentType,
    /// JDV_J60 FormatCode-DMP.
    FormatCode,
    /// JDV_J61 HealthcareFacilityTypeCode-DMP.
    HealthcareFacilityType,
    /// JDV_J66 TypeCode-DMP.
    TypeCode,
    /// JDV_J65 SubjectRole-DMP: the values of the VIHF role attribute (professions of
    /// TRE_G15, TRE_R95, TRE_R94, TRE_R291 and TRE_A00, physicians' specialties TRE_R01,
    /// pharmacists' sections TRE_G05, roles TRE_R85).
    SubjectRole,
}

struct Source {
    name: &'static str,
    file: &'static str,
    text: &'static str,
}

impl Official {
    pub const ALL: [Official; 9] = [
        Official::AuthorSpecialty,
        Official::PracticeSetting,
        Official::Confidentiality,
        Official::ClassCode,
        Official::ContentType,
        Official::FormatCode,
        Official::HealthcareFacilityType,
        Official::TypeCode,
        Official::SubjectRole,
    ];

    fn source(self) -> Source {
        macro_rules! file {
            ($name:literal, $file:literal) => {
                Source {
                    name: $name,
                    file: $file,
                    text: include_str!(concat!("../../../schemas/terminology/", $file)),
                }
            };
        }
        match self {
            Official::AuthorSpecialty => file!(
                "JDV_J01-XdsAuthorSpecialty-CISIS",
                "JDV_J01_XdsAuthorSpecialty_CISIS.xml"
            ),
            Official::PracticeSetting => file!(
                "JDV_J04-XdsPracticeSettingCode-CISIS",
                "JDV_J04_XdsPracticeSettingCode_CISIS.xml"
            ),
            Official::Confidentiality => file!(
                "JDV_J08-XdsConfidentialityCode-CISIS",
                "JDV_J08_XdsConfidentialityCode_CISIS.xml"
            ),
            Official::ClassCode => file!("JDV_J57-ClassCode-DMP", "JDV_J57_ClassCode_DMP.json"),
            Official::ContentType => file!(
                "JDV_J59-ContentTypeCode-DMP",
                "JDV_J59_ContentTypeCode_DMP.json"
            ),
            Official::FormatCode => file!("JDV_J60-FormatCode-DMP", "JDV_J60_FormatCode_DMP.json"),
            Official::HealthcareFacilityType => file!(
                "JDV_J61-HealthcareFacilityTypeCode-DMP",
                "JDV_J61_HealthcareFacilityTypeCode_DMP.json"
            ),
            Official::TypeCode => file!("JDV_J66-TypeCode-DMP", "JDV_J66_TypeCode_DMP.json"),
            Official::SubjectRole => {
                file!("JDV_J65-SubjectRole-DMP", "JDV_J65_SubjectRole_DMP.json")
            }
        }
    }
    /// The set, read once per process from the file compiled into the binary.
    pub fn set(self) -> &'static ValueSet {
        static SETS: [OnceLock<ValueSet>; 9] = [const { OnceLock::new() }; 9];
        let index = Official::ALL
            .iter()
            .position(|o| *o == self)
            .unwrap_or_default();
        SETS[index].get_or_init(|| {
            let source = self.source();
            let concepts = read(source.text).unwrap_or_else(|e| {
                // The files are compiled in and read by a test of every set: a failure here
                // is a build that shipped a broken file, not an input to recover from.
                panic!("{}: {e}", source.file)
            });
            ValueSet {
                name: source.name,
                file: source.file,
                concepts,
            }
        })
    }
}

/// The concepts of a published file, in either format.
fn read(text: &str) -> Result<Vec<Concept>, String> {
    if text.trim_start().starts_with('<') {
        read_svs(text)
    } else {
        read_fhir(text)
    }
}

fn read_svs(text: &str) -> Result<Vec<Concept>, String> {
    let limits = Limits {
        max_bytes: 4 * 1024 * 1024,
        max_depth: 16,
        max_elements: 100_000,
    };
    let root = xml::parse(text.as_bytes(), limits).map_err(|e| e.to_string())?;
    let svs = "urn:ihe:iti:svs:2008";
    let list = root
        .child(svs, "ValueSet")
        .and_then(|v| v.child(svs, "ConceptList"))
        .ok_or("no ValueSet/ConceptList")?;
    Ok(list
        .children(svs, "Concept")
        .filter(|c| c.attribute("dateFin").is_none_or(str::is_empty))
        .filter_map(|c| {
            Some(Concept {
                code: c.attribute("code")?.to_string(),
                system: c.attribute("codeSystem")?.to_string(),
                display: c.attribute("displayName").unwrap_or_default().to_string(),
            })
        })
        .collect())
}

fn read_fhir(text: &str) -> Result<Vec<Concept>, String> {
    use serde_json::Value;
    let resource: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let oid = |value: &str| value.strip_prefix("urn:oid:").unwrap_or(value).to_string();
    let concept = |c: &Value, system: &str| -> Option<Concept> {
        Some(Concept {
            code: c["code"].as_str()?.to_string(),
            system: system.to_string(),
            display: c["display"].as_str().unwrap_or_default().to_string(),
        })
    };
    let retired = |c: &Value| {
        c["property"].as_array().is_some_and(|properties| {
            properties
                .iter()
                .any(|p| p["code"] == "dateFin" && p["valueDateTime"].is_string())
        })
    };
    match resource["resourceType"].as_str() {
        Some("CodeSystem") => {
            let system = resource["identifier"]
                .as_array()
                .and_then(|ids| ids.iter().find_map(|id| id["value"].as_str()))
                .map(oid)
                .ok_or("a CodeSystem without an OID identifier")?;
            Ok(resource["concept"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| !retired(c))
                .filter_map(|c| concept(c, &system))
                .collect())
        }
        Some("ValueSet") => {
            let mut concepts = Vec::new();
            for include in resource["compose"]["include"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for c in include["concept"].as_array().into_iter().flatten() {
                    // The NOS names each concept's code system by its OID in a designation;
                    // a concept without one cannot be matched against XDS metadata.
                    let designated = c["designation"].as_array().and_then(|ds| {
                        ds.iter()
                            .find(|d| d["use"]["code"] == "OID")
                            .and_then(|d| d["value"].as_str())
                    });
                    let Some(system) = designated.map(oid) else {
                        return Err(format!("concept {:?} names no OID", c["code"]));
                    };
                    if let Some(concept) = concept(c, &system) {
                        concepts.push(concept);
                    }
                }
            }
            Ok(concepts)
        }
        other => Err(format!("not a ValueSet or CodeSystem: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_published_set_reads_and_holds_codes() {
        for official in Official::ALL {
            let set = official.set();
            assert!(!set.concepts.is_empty(), "{}", set.file);
        }
    }

    #[test]
    fn retired_concepts_are_not_part_of_a_set() {
        // TRE_R95 as the 2.41 kit publishes it: Psychologue was 193 until 2020, then 93.
        let svs = r#"<RetrieveValueSetResponse xmlns="urn:ihe:iti:svs:2008"><ValueSet id="1.2.250.1.213.1.6.1.109"><ConceptList>
            <Concept code="193" codeSystem="1.2.250.1.213.1.6.1.109" dateFin="20200529120000" displayName="Psychologue"/>
            <Concept code="93" codeSystem="1.2.250.1.213.1.6.1.109" dateFin="" displayName="Psychologue"/>
            </ConceptList></ValueSet></RetrieveValueSetResponse>"#;
        let concepts = read(svs).expect("SVS");
        assert_eq!(concepts.len(), 1);
        assert_eq!(concepts[0].code, "93");
        let fhir = r#"{"resourceType": "CodeSystem", "identifier": [{"value": "urn:oid:1.2.3"}],
            "concept": [{"code": "950", "property": [{"code": "dateFin", "valueDateTime": "2020-05-29T12:00:00+01:00"}]}, {"code": "99"}]}"#;
        let concepts = read(fhir).expect("FHIR");
        assert_eq!(concepts.len(), 1);
        assert_eq!(
            (concepts[0].system.as_str(), concepts[0].code.as_str()),
            ("1.2.3", "99")
        );
    }

    #[test]
    fn the_masking_codes_are_those_of_jdv_j08() {
        let j08 = Official::Confidentiality.set();
        for code in [
            "MASQUE_PS",
            "INVISIBLE_PATIENT",
            "INVISIBLE_REPRESENTANTS_LEGAUX",
        ] {
            assert!(j08.contains("1.2.250.1.213.1.1.4.13", code), "{code}");
        }
        assert!(j08.contains("2.16.840.1.113883.5.25", "N"));
        assert!(!j08.contains("1.2.250.1.213.1.1.4.13", "INVISIBLE_REP_LEGAUX"));
    }
}
