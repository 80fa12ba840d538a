//! The patient a received document names, read from its CDA header or its XDS metadata:
//! what the gateway matches against the beneficiaries a structure follows.

use crt_core::record::{InsOid, Sex};
use crt_core::xml::Element;
use serde::Serialize;

const HL7: &str = "urn:hl7-org:v3";

/// An INS as a document names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedIns {
    pub number: String,
    pub oid: InsOid,
}

/// What a document says of its patient; any part may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NamedPatient {
    pub ins: Option<NamedIns>,
    /// The birth name (CDA `family` qualified `BR`, else the first `family`; XDS PID-5.1).
    pub family: Option<String>,
    /// The first given name.
    pub given: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub sex: Option<Sex>,
}

impl NamedPatient {
    /// Whether nothing at all names the patient.
    pub fn is_empty(&self) -> bool {
        *self == NamedPatient::default()
    }

    /// The patient of a CDA document's `recordTarget/patientRole`.
    pub fn from_cda(root: &Element) -> NamedPatient {
        let Some(role) = root
            .child(HL7, "recordTarget")
            .and_then(|t| t.child(HL7, "patientRole"))
        else {
            return NamedPatient::default();
        };
        let ins = role.children(HL7, "id").find_map(|id| {
            let oid = InsOid::from_oid(id.attribute("root")?)?;
            let number = id.attribute("extension")?.trim();
            (!number.is_empty()).then(|| NamedIns {
                number: number.to_string(),
                oid,
            })
        });
        let patient = role.child(HL7, "patient");
        let name = patient.and_then(|p| p.child(HL7, "name"));
        let family = name.and_then(|name| {
            let families: Vec<&Element> = name.children(HL7, "family").collect();
            families
                .iter()
                .find(|f| f.attribute("qualifier") == Some("BR"))
                .or(families.first())
                .map(|f| f.text.trim().to_string())
        });
        NamedPatient {
            ins,
            family: family.filter(|f| !f.is_empty()),
            given: name
                .and_then(|n| n.child_text(HL7, "given"))
                .filter(|g| !g.is_empty())
                .map(str::to_string),
            birth_date: patient
                .and_then(|p| p.child(HL7, "birthTime"))
                .and_then(|b| b.attribute("value"))
                .and_then(date_of),
            sex: patient
                .and_then(|p| p.child(HL7, "administrativeGenderCode"))
                .and_then(|g| g.attribute("code"))
                .and_then(sex_of),
        }
    }

    /// The patient of an XDS document entry: `patientId` (CX) and the `sourcePatientInfo`
    /// values (`PID-5|FAMILY^GIVEN^…`, `PID-7|YYYYMMDD`, `PID-8|F`).
    pub fn from_xds(patient_id: Option<&str>, source_patient_info: &[&str]) -> NamedPatient {
        let field = |name: &str| {
            source_patient_info
                .iter()
                .find_map(|value| value.strip_prefix(name)?.strip_prefix('|'))
        };
        let name: Vec<&str> = field("PID-5")
            .map(|n| n.split('^').collect())
            .unwrap_or_default();
        let part = |i: usize| {
            name.get(i)
                .map(|p| p.trim())
                .filter(|p| !p.is_empty())
                .map(str::to_string)
        };
        NamedPatient {
            ins: patient_id
                .and_then(ins_of_cx)
                .or_else(|| field("PID-3").and_then(ins_of_cx)),
            family: part(0),
            given: part(1),
            birth_date: field("PID-7").and_then(date_of),
            sex: field("PID-8").and_then(sex_of),
        }
    }

    /// This patient, with what it lacks taken from `other`.
    pub fn or(self, other: NamedPatient) -> NamedPatient {
        NamedPatient {
            ins: self.ins.or(other.ins),
            family: self.family.or(other.family),
            given: self.given.or(other.given),
            birth_date: self.birth_date.or(other.birth_date),
            sex: self.sex.or(other.sex),
        }
    }
}

/// The INS of a CX value `NUMBER^^^&OID&ISO^NH`, when the assigning authority is an INS
/// OID.
fn ins_of_cx(cx: &str) -> Option<NamedIns> {
    let mut components = cx.split('^');
    let number = components.next()?.trim();
    let authority = components.nth(2)?;
    let oid = InsOid::from_oid(authority.split('&').nth(1)?)?;
    (!number.is_empty()).then(|| NamedIns {
        number: number.to_string(),
        oid,
    })
}

/// `YYYYMMDD…` → `YYYY-MM-DD`.
fn date_of(value: &str) -> Option<String> {
    let digits = value.trim().get(..8)?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..]))
}

/// HL7 administrative gender (`M`, `F`, `U`/`UN`) as the record's sex.
fn sex_of(code: &str) -> Option<Sex> {
    match code.trim() {
        "M" => Some(Sex::Male),
        "F" => Some(Sex::Female),
        "U" | "UN" | "I" => Some(Sex::Undetermined),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crt_core::xml::{Limits, parse};

    #[test]
    fn a_cda_header_names_its_patient() {
        let cda = br#"<ClinicalDocument xmlns="urn:hl7-org:v3"><recordTarget><patientRole>
            <id root="1.2.250.1.213.1.4.10" extension="248039263001064"/>
            <id root="1.2.250.1.999" extension="local-1"/>
            <patient><name><given>Marie</given><family qualifier="SP">MARTIN</family><family qualifier="BR">DUPONT</family></name>
            <administrativeGenderCode code="F"/><birthTime value="19380317"/></patient>
            </patientRole></recordTarget></ClinicalDocument>"#;
        let root = parse(cda, Limits::default()).expect("xml");
        let patient = NamedPatient::from_cda(&root);
        assert_eq!(
            patient.ins,
            Some(NamedIns {
                number: "248039263001064".into(),
                oid: InsOid::TestNir
            })
        );
        assert_eq!(patient.family.as_deref(), Some("DUPONT"));
        assert_eq!(patient.given.as_deref(), Some("Marie"));
        assert_eq!(patient.birth_date.as_deref(), Some("1938-03-17"));
        assert_eq!(patient.sex, Some(Sex::Female));
    }

    #[test]
    fn xds_metadata_names_its_patient() {
        let patient = NamedPatient::from_xds(
            Some("248039263001064^^^&1.2.250.1.213.1.4.10&ISO^NH"),
            &["PID-5|DUPONT^MARIE^^^^^L", "PID-7|19380317", "PID-8|F"],
        );
        assert_eq!(
            patient.ins.map(|i| i.oid),
            Some(InsOid::TestNir),
            "the INS OID qualifies the number"
        );
        assert_eq!(patient.given.as_deref(), Some("MARIE"));
        let local = NamedPatient::from_xds(Some("P-1^^^&1.2.250.1.999&ISO^PI"), &[]);
        assert!(local.ins.is_none(), "a local identifier is not an INS");
        assert!(local.is_empty());
    }
}
