//! The rules of the DLU volet (CI-SIS DLU-EHPAD-DLU 2022.01) on top of the common header
//! checks: the fixed header values, the cardinality of each top-level section, and the two
//! value sets the volet binds (the checklist of attached documents, the patient's state).
//!
//! They state what the official ANS schematron `CI-SIS_DLU-EHPAD-DLU_2022.01.sch` asserts,
//! so that `validate` and the official kit agree; `adapters/documents/tests/agreement.rs`
//! keeps them in step on a corpus of documents.

use crt_core::record::{AttachedDocumentKind, StateFinding};
use crt_core::xml::Element;

use super::{Checker, HL7, has_template, path, walk};
use crate::cda::{CHECKLIST, CdaModel, LOINC, SNOMED};

/// The DLU document code (LOINC "Dossier de liaison d'urgence").
const DLU_CODE: &str = "74207-2";
/// The templateId of a checklist entry (FR-Document-attache).
const CHECKLIST_ENTRY: &str = "1.2.250.1.213.1.1.3.48.18";
/// The section "Résultats d'évènements" and its observations (IHE Simple Observation).
const EVENTS_SECTION: &str = "1.3.6.1.4.1.19376.1.7.3.1.1.13.7";
const SIMPLE_OBSERVATION: &str = "1.3.6.1.4.1.19376.1.5.3.1.4.13";

/// A top-level section of the DLU-EHPAD body, by templateId, with its cardinality.
struct SectionRule {
    template: &'static str,
    name: &'static str,
    required: bool,
}

const SECTIONS: [SectionRule; 11] = [
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.1.13.2.10",
        name: "Dispositions : établissement de santé de préférence",
        required: true,
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.6",
        name: "Pathologies actives",
        required: false,
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.8",
        name: "Antécédents médicaux",
        required: false,
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.13",
        name: "Allergies et intolérances",
        required: false,
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.19",
        name: "Traitements",
        required: true,
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.35",
        name: "Directives anticipées",
        required: true,
    },
    SectionRule {
        template: EVENTS_SECTION,
        name: "Résultats d'évènements",
        required: true,
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.28",
        name: "Résultats d'examens (BMR)",
        required: true,
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.23",
        name: "Vaccinations",
        required: false,
    },
    SectionRule {
        template: "1.2.250.1.213.1.1.2.37",
        name: "Documents ajoutés",
        required: true,
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.4.1.2.16",
        name: "Commentaire non codé",
        required: false,
    },
];

/// Applies the DLU rules that fit `model` (the model read from the templateIds).
pub(super) fn check(c: &mut Checker, root: &Element, model: Option<&'static str>) {
    let ehpad = model == Some(CdaModel::DluEhpad.slug());
    let dom = model == Some(CdaModel::DluDom.slug());
    let is_dlu_code = root
        .child(HL7, "code")
        .is_some_and(|code| code.attribute("code") == Some(DLU_CODE));
    if is_dlu_code && !ehpad && !dom {
        c.problem(
            "/ClinicalDocument/templateId",
            "dlu-model",
            "a DLU (code 74207-2) names its model: templateId 1.2.250.1.213.1.1.1.22 (DLU-EHPAD) or 1.2.250.1.213.1.1.1.48 (DLU-DOM)",
        );
    }
    if ehpad {
        header(c, root);
        sections(c, root);
    }
    if ehpad || dom {
        value_sets(c, root);
    }
}

fn header(c: &mut Checker, root: &Element) {
    let at = "/ClinicalDocument";
    let code = root.child(HL7, "code");
    if code.and_then(|x| x.attribute("code")) != Some(DLU_CODE)
        || code.and_then(|x| x.attribute("codeSystem")) != Some(LOINC)
    {
        c.problem(
            &format!("{at}/code"),
            "dlu-header",
            format!("the DLU-EHPAD document code is {DLU_CODE} in LOINC ({LOINC})"),
        );
    }
    let participants: Vec<&Element> = root.children(HL7, "participant").collect();
    if !participants
        .iter()
        .any(|p| p.attribute("typeCode") == Some("INF"))
    {
        c.problem(
            &format!("{at}/participant"),
            "dlu-header",
            "the general practitioner is a participant with typeCode=\"INF\"",
        );
    }
    if !participants.iter().any(|p| {
        p.child(HL7, "functionCode")
            .is_some_and(|f| f.attribute("code") == Some("PCP"))
    }) {
        c.problem(
            &format!("{at}/participant/functionCode"),
            "dlu-header",
            "the informant's functionCode is PCP",
        );
    }
    let event_at = format!("{at}/documentationOf/serviceEvent");
    let events: Vec<&Element> = root
        .children(HL7, "documentationOf")
        .filter_map(|d| d.child(HL7, "serviceEvent"))
        .collect();
    if !events.iter().any(|e| {
        e.child(HL7, "code")
            .is_some_and(|code| code.attribute("code") == Some("34117-2"))
    }) {
        c.problem(
            &format!("{event_at}/code"),
            "dlu-header",
            "the service event code is 34117-2 (Historique et clinique)",
        );
    }
    let times: Vec<&Element> = events
        .iter()
        .filter_map(|e| e.child(HL7, "effectiveTime"))
        .collect();
    if times.is_empty() {
        c.problem(
            &format!("{event_at}/effectiveTime"),
            "dlu-header",
            "the date the service event started is required",
        );
    }
    let null_start = times.iter().any(|time| {
        time.attribute("nullFlavor").is_some()
            || time
                .child(HL7, "low")
                .is_some_and(|low| low.attribute("nullFlavor").is_some())
    });
    if null_start {
        c.problem(
            &format!("{event_at}/effectiveTime"),
            "dlu-header",
            "the date the service event started may not be a nullFlavor",
        );
    }
}

fn sections(c: &mut Checker, root: &Element) {
    let at = "/ClinicalDocument/component/structuredBody";
    let templates: Vec<&str> = root
        .child(HL7, "component")
        .and_then(|x| x.child(HL7, "structuredBody"))
        .into_iter()
        .flat_map(|body| body.children(HL7, "component"))
        .filter_map(|x| x.child(HL7, "section"))
        .flat_map(|section| section.children(HL7, "templateId"))
        .filter_map(|t| t.attribute("root"))
        .collect();
    for rule in &SECTIONS {
        let count = templates.iter().filter(|t| **t == rule.template).count();
        match (rule.required, count) {
            (true, 1) | (false, 0 | 1) => {}
            (true, 0) => c.problem(
                at,
                "dlu-sections",
                format!(
                    "the section \"{}\" ({}) is required once [1..1]",
                    rule.name, rule.template
                ),
            ),
            (required, n) => c.problem(
                at,
                "dlu-sections",
                format!(
                    "the section \"{}\" ({}) appears {n} times; it is allowed once [{}..1]",
                    rule.name,
                    rule.template,
                    u8::from(required)
                ),
            ),
        }
    }
}

fn value_sets(c: &mut Checker, root: &Element) {
    let checklist: Vec<&str> = AttachedDocumentKind::ALL
        .iter()
        .map(|kind| kind.checklist_code().0)
        .collect();
    let findings: Vec<&str> = StateFinding::ALL.iter().map(|f| f.snomed().0).collect();
    let mut found: Vec<(String, String)> = Vec::new();
    walk(root, &mut Vec::new(), &mut |element, trail| {
        if element.is(HL7, "observation")
            && has_template(element, CHECKLIST_ENTRY)
            && let Some(value) = element.child(HL7, "value")
            && let Some(problem) = outside(value, CHECKLIST, &checklist, "JDV_ChecklistDLU_CISIS")
        {
            found.push((format!("{}/value", path(root, trail)), problem));
        }
        if element.is(HL7, "section") && has_template(element, EVENTS_SECTION) {
            for (i, entry) in element.children(HL7, "entry").enumerate() {
                let Some(observation) = entry
                    .child(HL7, "observation")
                    .filter(|o| has_template(o, SIMPLE_OBSERVATION))
                else {
                    continue;
                };
                if let Some(code) = observation.child(HL7, "code")
                    && let Some(problem) =
                        outside(code, SNOMED, &findings, "JDV_ObservationEtatPatient_CISIS")
                {
                    found.push((
                        format!("{}/entry[{}]/observation/code", path(root, trail), i + 1),
                        problem,
                    ));
                }
            }
        }
    });
    for (at, problem) in found {
        c.problem(&at, "value-set", problem);
    }
}

/// Why a coded element is not in a value set, if it is not. Like the schematron, an
/// element of another type than CD/CE is not checked, and a nullFlavor is refused.
fn outside(element: &Element, system: &str, codes: &[&str], value_set: &str) -> Option<String> {
    if element
        .attribute("type")
        .is_some_and(|t| t != "CD" && t != "CE")
    {
        return None;
    }
    if element.attribute("nullFlavor").is_some() {
        return Some(format!(
            "a nullFlavor is not allowed; a code of {value_set} is expected"
        ));
    }
    let code = element.attribute("code").unwrap_or_default();
    let code_system = element.attribute("codeSystem").unwrap_or_default();
    (code_system != system || !codes.contains(&code))
        .then(|| format!("{code:?} in {code_system:?} is not in {value_set} (codes of {system})"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_code_outside_a_value_set_is_named_by_its_path() {
        let (_, document) = crate::cda::tests::example_documents()
            .into_iter()
            .find(|(name, _)| name.ends_with(".dlu-ehpad.xml"))
            .expect("a DLU-EHPAD");
        let xml = String::from_utf8(document.xml).expect("UTF-8");
        let broken = xml.replacen("code=\"DLU_0", "code=\"DLU_9", 1);
        let report = crate::check::check(broken.as_bytes());
        let problem = report
            .problems
            .iter()
            .find(|p| p.rule == "value-set")
            .expect("a value-set problem");
        assert!(
            problem
                .pointer
                .starts_with("/ClinicalDocument/component[1]/structuredBody[1]/component[")
                && problem.pointer.ends_with("]/observation[1]/value"),
            "{}",
            problem.pointer
        );
        assert!(problem.message.contains("JDV_ChecklistDLU_CISIS"));
    }
}
