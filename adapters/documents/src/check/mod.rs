//! Structural and code checks of a CDA document, whoever produced it: what `validate
//! FILE.xml` reports. They cover the CI-SIS header rules the DMP relies on (identifiers,
//! codes, the INS and its OID, author and custodian structures, versioning) and the body's
//! sections; the official schematrons remain the reference for the DLU-EHPAD model (see
//! `tests/conformance/`).
//!
//! Each problem names where it is, as a path from the root (`/ClinicalDocument/author[1]/…`),
//! and the rule it breaks.

use crt_core::Violation;
use crt_core::identifiers::is_oid;
use crt_core::record::InsOid;
use crt_core::xml::{self, Element, Limits};

use crate::cda::{CdaModel, OID_ID_NAT_STRUCT, OID_RPPS};

mod dlu;
mod profiles;
pub mod xsd;

const HL7: &str = "urn:hl7-org:v3";
const LIMITS: Limits = Limits {
    max_bytes: 16 * 1024 * 1024,
    max_depth: 64,
    max_elements: 500_000,
};
const CONFIDENTIALITY: &str = "2.16.840.1.113883.5.25";

/// What the checks found: the model recognised from the templateIds, and the problems.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub model: Option<&'static str>,
    pub problems: Vec<Violation>,
}

struct Checker {
    problems: Vec<Violation>,
}

impl Checker {
    fn problem(&mut self, at: &str, rule: &str, message: impl Into<String>) {
        self.problems.push(Violation {
            pointer: at.to_string(),
            rule: rule.to_string(),
            message: message.into(),
        });
    }

    /// The one child `name` of `parent`, or a problem saying it is missing.
    fn required<'a>(&mut self, parent: &'a Element, at: &str, name: &str) -> Option<&'a Element> {
        let found = parent.child(HL7, name);
        if found.is_none() {
            self.problem(at, "required", format!("{name} is required"));
        }
        found
    }

    fn oid(&mut self, element: &Element, at: &str) {
        match element.attribute("root") {
            Some(root) if is_oid(root) || is_uuid(root) => {}
            Some(root) => self.problem(at, "oid", format!("root {root:?} is not an OID or a UUID")),
            None => self.problem(at, "oid", "root is required"),
        }
    }

    fn coded(&mut self, element: &Element, at: &str) {
        for attribute in ["code", "codeSystem"] {
            if element.attribute(attribute).is_none_or(str::is_empty) {
                self.problem(at, "coded", format!("{attribute} is required"));
            }
        }
        if let Some(system) = element.attribute("codeSystem")
            && !is_oid(system)
        {
            self.problem(at, "coded", format!("codeSystem {system:?} is not an OID"));
        }
    }

    fn time(&mut self, element: Option<&Element>, at: &str) {
        let Some(value) = element.and_then(|e| e.attribute("value")) else {
            self.problem(at, "time", "a value is required");
            return;
        };
        if !is_ts(value) {
            self.problem(
                at,
                "time",
                format!("{value:?} is not an HL7 timestamp (YYYYMMDD[HHMM[SS]][+ZZZZ])"),
            );
        }
    }
}

/// The elements from below the root down to the one visited.
pub(super) type Trail<'a> = Vec<&'a Element>;

/// Visits every element below `element`, depth first, with its trail. The trail becomes a
/// path only when a problem is found ([`path`]): most documents have none.
pub(super) fn walk<'a>(
    element: &'a Element,
    trail: &mut Trail<'a>,
    visit: &mut impl FnMut(&'a Element, &Trail<'a>),
) {
    for child in &element.children {
        trail.push(child);
        visit(child, trail);
        walk(child, trail, visit);
        trail.pop();
    }
}

/// The trail as a path from the root, each step with its rank among same-named siblings.
pub(super) fn path(root: &Element, trail: &Trail<'_>) -> String {
    let mut out = String::from("/ClinicalDocument");
    let mut parent = root;
    for element in trail {
        let rank = parent
            .children
            .iter()
            .take_while(|sibling| !std::ptr::eq(*sibling, *element))
            .filter(|sibling| sibling.name == element.name)
            .count()
            + 1;
        out.push_str(&format!("/{}[{rank}]", element.name));
        parent = element;
    }
    out
}

pub(super) fn has_template(element: &Element, root: &str) -> bool {
    element
        .children(HL7, "templateId")
        .any(|t| t.attribute("root") == Some(root))
}

fn is_uuid(value: &str) -> bool {
    uuid::Uuid::parse_str(value).is_ok() && value.len() == 36
}

fn is_ts(value: &str) -> bool {
    let (stamp, zone) = match value.find(['+', '-']) {
        Some(i) => value.split_at(i),
        None => (value, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    matches!(stamp.len(), 4 | 6 | 8 | 10 | 12 | 14)
        && digits(stamp)
        && (zone.is_empty() || (zone.len() == 5 && digits(&zone[1..])))
}

/// The NIR key: 97 − (number mod 97), with 2A/2B read as 19/18.
fn ins_key_is_valid(number: &str) -> bool {
    if number.len() != 15 || !number.is_ascii() {
        return false;
    }
    let (body, key) = number.split_at(13);
    let body = body.replace("2A", "19").replace("2B", "18");
    match (body.parse::<u64>(), key.parse::<u64>()) {
        (Ok(body), Ok(key)) => 97 - body % 97 == key,
        _ => false,
    }
}

/// Checks `bytes` as a CDA R2 document of the French CI-SIS.
pub fn check(bytes: &[u8]) -> Report {
    let mut checker = Checker {
        problems: Vec::new(),
    };
    let root = match xml::parse(bytes, LIMITS) {
        Ok(root) => root,
        Err(e) => {
            checker.problem("", "xml", format!("not readable XML: {e}"));
            return Report {
                model: None,
                problems: checker.problems,
            };
        }
    };
    if !root.is(HL7, "ClinicalDocument") {
        checker.problem(
            &format!("/{}", root.name),
            "root",
            "the root must be ClinicalDocument in the urn:hl7-org:v3 namespace",
        );
        return Report {
            model: None,
            problems: checker.problems,
        };
    }
    for problem in xsd::validate(bytes) {
        checker.problem(&problem.at, "xsd", problem.message);
    }
    let model = header(&mut checker, &root);
    body(&mut checker, &root);
    profiles::check(&mut checker, &root);
    dlu::check(&mut checker, &root, model);
    Report {
        model,
        problems: checker.problems,
    }
}

fn header(c: &mut Checker, root: &Element) -> Option<&'static str> {
    let at = "/ClinicalDocument";
    if root
        .child(HL7, "realmCode")
        .and_then(|r| r.attribute("code"))
        != Some("FR")
    {
        c.problem(at, "realm", "realmCode code=\"FR\" is required");
    }
    let type_id = root.child(HL7, "typeId");
    if type_id.and_then(|t| t.attribute("root")) != Some("2.16.840.1.113883.1.3")
        || type_id.and_then(|t| t.attribute("extension")) != Some("POCD_HD000040")
    {
        c.problem(
            &format!("{at}/typeId"),
            "type-id",
            "typeId root=\"2.16.840.1.113883.1.3\" extension=\"POCD_HD000040\" is required",
        );
    }
    let templates: Vec<&str> = root
        .children(HL7, "templateId")
        .filter_map(|t| t.attribute("root"))
        .collect();
    if !templates.contains(&"1.2.250.1.213.1.1.1.1") {
        c.problem(
            &format!("{at}/templateId"),
            "ci-sis-header",
            "the CI-SIS header templateId 1.2.250.1.213.1.1.1.1 is required",
        );
    }
    let model = [CdaModel::DluEhpad, CdaModel::DluDom]
        .into_iter()
        .find(|m| templates.contains(&m.template().0))
        .map(CdaModel::slug);
    if let Some(id) = c.required(root, at, "id") {
        c.oid(id, &format!("{at}/id"));
    }
    if let Some(code) = c.required(root, at, "code") {
        c.coded(code, &format!("{at}/code"));
    }
    if root
        .child(HL7, "title")
        .is_none_or(|t| t.text.trim().is_empty())
    {
        c.problem(at, "required", "a non-empty title is required");
    }
    c.time(
        root.child(HL7, "effectiveTime"),
        &format!("{at}/effectiveTime"),
    );
    if let Some(confidentiality) = c.required(root, at, "confidentialityCode")
        && (confidentiality.attribute("codeSystem") != Some(CONFIDENTIALITY)
            || !matches!(confidentiality.attribute("code"), Some("N" | "R" | "V")))
    {
        c.problem(
            &format!("{at}/confidentialityCode"),
            "confidentiality",
            format!("code N, R or V in {CONFIDENTIALITY} is expected"),
        );
    }
    if root
        .child(HL7, "languageCode")
        .and_then(|l| l.attribute("code"))
        != Some("fr-FR")
    {
        c.problem(at, "language", "languageCode code=\"fr-FR\" is required");
    }
    if let Some(set_id) = c.required(root, at, "setId") {
        c.oid(set_id, &format!("{at}/setId"));
    }
    let version = root
        .child(HL7, "versionNumber")
        .and_then(|v| v.attribute("value"))
        .and_then(|v| v.parse::<u32>().ok());
    match version {
        None | Some(0) => c.problem(
            at,
            "version",
            "versionNumber with a value from 1 is required",
        ),
        Some(v) if v > 1 && root.child(HL7, "relatedDocument").is_none() => c.problem(
            at,
            "version",
            format!("version {v} must name the version it replaces (relatedDocument RPLC)"),
        ),
        _ => {}
    }
    patient(c, root);
    for (i, author) in root.children(HL7, "author").enumerate() {
        let at = format!("{at}/author[{}]", i + 1);
        c.time(author.child(HL7, "time"), &format!("{at}/time"));
        let assigned = author.child(HL7, "assignedAuthor");
        match assigned.and_then(|a| a.child(HL7, "id")) {
            Some(id) if id.attribute("root") == Some(OID_RPPS) => {
                if !id
                    .attribute("extension")
                    .is_some_and(|e| e.len() == 12 && e.starts_with('8'))
                {
                    c.problem(
                        &format!("{at}/assignedAuthor/id"),
                        "author",
                        "an RPPS author id is 8 followed by the 11-digit RPPS",
                    );
                }
            }
            _ => c.problem(
                &format!("{at}/assignedAuthor/id"),
                "author",
                format!("the author is identified by its RPPS ({OID_RPPS})"),
            ),
        }
        structure(
            c,
            assigned.and_then(|a| a.child(HL7, "representedOrganization")),
            &format!("{at}/assignedAuthor/representedOrganization"),
        );
    }
    if root.child(HL7, "author").is_none() {
        c.problem(at, "required", "author is required");
    }
    structure(
        c,
        root.child(HL7, "custodian")
            .and_then(|x| x.child(HL7, "assignedCustodian"))
            .and_then(|x| x.child(HL7, "representedCustodianOrganization")),
        &format!("{at}/custodian/assignedCustodian/representedCustodianOrganization"),
    );
    if root
        .child(HL7, "documentationOf")
        .and_then(|d| d.child(HL7, "serviceEvent"))
        .is_none()
    {
        c.problem(at, "required", "documentationOf/serviceEvent is required");
    }
    model
}

fn patient(c: &mut Checker, root: &Element) {
    let at = "/ClinicalDocument/recordTarget/patientRole";
    let Some(role) = root
        .child(HL7, "recordTarget")
        .and_then(|r| r.child(HL7, "patientRole"))
    else {
        c.problem(
            "/ClinicalDocument",
            "required",
            "recordTarget/patientRole is required",
        );
        return;
    };
    let ins = role.children(HL7, "id").find(|id| {
        id.attribute("root")
            .is_some_and(|r| InsOid::from_oid(r).is_some())
    });
    match ins.and_then(|id| id.attribute("extension")) {
        Some(number) if ins_key_is_valid(number) => {}
        Some(number) => c.problem(
            &format!("{at}/id"),
            "ins",
            format!("{number:?} is not a 15-character INS with a valid key"),
        ),
        None => c.problem(
            &format!("{at}/id"),
            "ins",
            "the patient is identified by the INS (root 1.2.250.1.213.1.4.8 for a NIR, .9 for a NIA; .10 and .11 in tests)",
        ),
    }
    let Some(patient) = role.child(HL7, "patient") else {
        c.problem(at, "required", "patient is required");
        return;
    };
    let at = format!("{at}/patient");
    let birth_name = patient.children(HL7, "name").any(|name| {
        name.children(HL7, "family")
            .any(|f| f.attribute("qualifier") == Some("BR"))
    });
    if !birth_name {
        c.problem(
            &format!("{at}/name"),
            "ins-traits",
            "the birth name (family qualifier=\"BR\") is required",
        );
    }
    if !matches!(
        patient
            .child(HL7, "administrativeGenderCode")
            .and_then(|g| g.attribute("code")),
        Some("M" | "F" | "U")
    ) {
        c.problem(
            &format!("{at}/administrativeGenderCode"),
            "ins-traits",
            "code M, F or U is required",
        );
    }
    c.time(patient.child(HL7, "birthTime"), &format!("{at}/birthTime"));
}

fn structure(c: &mut Checker, organisation: Option<&Element>, at: &str) {
    let id = organisation.and_then(|o| o.child(HL7, "id"));
    let valid = id.is_some_and(|id| {
        id.attribute("root") == Some(OID_ID_NAT_STRUCT)
            && id
                .attribute("extension")
                .is_some_and(crt_core::certificate::looks_like_id_nat_struct)
    });
    if !valid {
        c.problem(
            &format!("{at}/id"),
            "structure",
            format!("the structure is identified by its idNat_Struct ({OID_ID_NAT_STRUCT})"),
        );
    }
}

fn body(c: &mut Checker, root: &Element) {
    let at = "/ClinicalDocument/component/structuredBody";
    let Some(body) = root
        .child(HL7, "component")
        .and_then(|x| x.child(HL7, "structuredBody"))
    else {
        c.problem(
            "/ClinicalDocument/component",
            "required",
            "structuredBody is required",
        );
        return;
    };
    let sections: Vec<&Element> = body
        .children(HL7, "component")
        .filter_map(|x| x.child(HL7, "section"))
        .collect();
    if sections.is_empty() {
        c.problem(at, "sections", "at least one section is required");
    }
    for (i, section) in sections.iter().enumerate() {
        let at = format!("{at}/component[{}]/section", i + 1);
        match section.child(HL7, "code") {
            Some(code) => c.coded(code, &format!("{at}/code")),
            None => c.problem(&at, "required", "a section has a code"),
        }
        if section
            .child(HL7, "title")
            .is_none_or(|t| t.text.trim().is_empty())
        {
            c.problem(&at, "required", "a section has a title");
        }
        let narrative = section.child(HL7, "text");
        if narrative.is_none_or(|t| t.text.trim().is_empty() && t.children.is_empty()) {
            c.problem(&at, "narrative", "a section has a human-readable text");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> Vec<Vec<u8>> {
        crate::cda::tests::example_documents()
            .into_iter()
            .map(|(_, document)| document.xml)
            .collect()
    }

    #[test]
    fn generated_documents_have_no_problem() {
        for xml in rendered() {
            let report = check(&xml);
            assert!(report.problems.is_empty(), "{:?}", report.problems);
        }
    }

    #[test]
    fn each_problem_names_its_place_and_rule() {
        let xml = String::from_utf8(rendered().remove(0)).expect("UTF-8");
        let broken = xml
            .replacen("<languageCode code=\"fr-FR\"/>", "", 1)
            .replacen(
                "1.2.250.1.71.4.2.1\" extension=\"8",
                "1.2.250.1.71.4.2.1\" extension=\"X",
                1,
            )
            .replacen("<realmCode code=\"FR\"/>", "<realmCode code=\"US\"/>", 1);
        let report = check(broken.as_bytes());
        let rules: Vec<&str> = report.problems.iter().map(|p| p.rule.as_str()).collect();
        assert!(rules.contains(&"language"), "{rules:?}");
        assert!(rules.contains(&"realm"), "{rules:?}");
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.rule == "author" && p.pointer.ends_with("/assignedAuthor/id")),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn a_wrong_ins_key_is_found() {
        let xml = String::from_utf8(rendered().remove(0)).expect("UTF-8");
        let broken = xml.replacen("238047218104592", "238047218104593", 1);
        let report = check(broken.as_bytes());
        assert!(
            report.problems.iter().any(|p| p.rule == "ins"),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn hostile_or_foreign_xml_is_a_problem_not_a_panic() {
        let entities = b"<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>";
        assert_eq!(check(entities).problems[0].rule, "xml");
        let deep = "<a>".repeat(100_000);
        assert_eq!(check(deep.as_bytes()).problems[0].rule, "xml");
        assert_eq!(check(b"<html/>").problems[0].rule, "root");
        assert!(ins_key_is_valid("145062A00412392"));
        assert!(is_ts("20260302093000+0100") && is_ts("19380412") && !is_ts("2026-03-02"));
    }
}
