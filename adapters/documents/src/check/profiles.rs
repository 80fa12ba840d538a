//! Rules of the generic profiles the official ANS chain applies to every CDA document,
//! whatever its model: IHE (PCC sections and entries), ModelesDeContenusCDA (the CI-SIS
//! entries), StrucMin (structuration minimale, the header) and Modeles_ANS (the ANS
//! sections and entries).
//!
//! Each rule states an assert of the kit's schematrons, named in its doc comment, so that
//! `validate` refuses what the chain refuses; `tests/conformance/mutations.toml` holds, for
//! each profile, documents that both must refuse with the rule named here.

use crt_core::xml::Element;

use super::{Checker, HL7, has_template, path, walk};
use crate::cda::{LOINC, SNOMED};

/// A section template the profiles constrain.
struct SectionRule {
    /// The templateId that makes a section what it is (the schematron rule's context).
    template: &'static str,
    /// The LOINC code the section carries.
    code: &'static str,
    /// Parent templates the section declares beside its own.
    parents: &'static [&'static str],
    /// An entry template found at least once in the section, when the profile asks for one.
    entry: Option<&'static str>,
    /// The schematron pattern that states it, for the message.
    source: &'static str,
}

const SECTIONS: &[SectionRule] = &[
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.6",
        code: "11450-4",
        parents: &["2.16.840.1.113883.10.20.1.11"],
        entry: Some("1.3.6.1.4.1.19376.1.5.3.1.4.5.2"),
        source: "IHE S_activeProblem",
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.13",
        code: "48765-2",
        parents: &["2.16.840.1.113883.10.20.1.2"],
        entry: Some("1.3.6.1.4.1.19376.1.5.3.1.4.5.3"),
        source: "IHE S_allergiesAndOtherAdverseReactions",
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.3.19",
        code: "10160-0",
        parents: &["2.16.840.1.113883.10.20.1.8"],
        entry: Some("1.3.6.1.4.1.19376.1.5.3.1.4.7"),
        source: "IHE S_medications",
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.7.3.1.1.13.7",
        code: "42545-4",
        parents: &["1.3.6.1.4.1.19376.1.5.3.1.1.21.2.9"],
        entry: Some("1.3.6.1.4.1.19376.1.5.3.1.4.13"),
        source: "IHE S_codedEventOutcome",
    },
    SectionRule {
        template: "1.3.6.1.4.1.19376.1.5.3.1.1.12.2.5",
        code: "46006-3",
        parents: &[],
        entry: None,
        source: "IHE S_physicalFunction",
    },
    SectionRule {
        template: "1.2.250.1.213.1.1.2.172",
        code: "11302-7",
        parents: &[],
        entry: Some("1.3.6.1.4.1.19376.1.5.3.1.1.10.4.2"),
        source: "Modeles_ANS S_dispositions_ANS",
    },
    SectionRule {
        template: "1.2.250.1.213.1.1.2.37",
        code: "55107-7",
        parents: &[],
        entry: Some(ATTACHED_DOCUMENT),
        source: "Modeles_ANS S_documentsAjoutes_ANS",
    },
];

/// FR-Document-attache (organizer).
const ATTACHED_DOCUMENT: &str = "1.2.250.1.213.1.1.3.18";
/// IHE Concern Entry.
const CONCERN: &str = "1.3.6.1.4.1.19376.1.5.3.1.4.5.1";
/// IHE Allergy and Intolerance (observation).
const ALLERGY: &str = "1.3.6.1.4.1.19376.1.5.3.1.4.6";
/// CIS, the only code system of a product's `manufacturedMaterial/code`.
const CIS: &str = "1.2.250.1.213.2.3.1";

pub(super) fn check(c: &mut Checker, root: &Element) {
    names(c, root);
    walk(root, &mut Vec::new(), &mut |element, trail| {
        let mut found: Vec<Found> = Vec::new();
        let templates: Vec<&str> = element
            .children(HL7, "templateId")
            .filter_map(|t| t.attribute("root"))
            .collect();
        if element.is(HL7, "section") {
            section(&mut found, element, &templates);
        }
        if templates.contains(&CONCERN) {
            concern(&mut found, element);
        }
        if templates.contains(&ALLERGY) {
            allergy(&mut found, element);
        }
        if templates.contains(&ATTACHED_DOCUMENT) {
            attached_document(&mut found, element);
        }
        if element.is(HL7, "manufacturedMaterial") {
            product(&mut found, element);
        }
        // The path is written only for an element with a problem: most have none.
        if !found.is_empty() {
            let at = path(root, trail);
            for (child, rule, message) in found {
                c.problem(&format!("{at}{child}"), rule, message);
            }
        }
    });
}

/// A problem found on an element: the child it is about (`""`, `/code`…), the rule, what
/// is expected.
type Found = (&'static str, &'static str, String);

fn has_descendant_template(element: &Element, template: &str) -> bool {
    element
        .children
        .iter()
        .any(|child| has_template(child, template) || has_descendant_template(child, template))
}

/// StrucMin (CI-SISRecordTarget): a patient's name parts take no qualifier but `BR` (birth
/// name) and `CL` (used name, RNIV).
fn names(c: &mut Checker, root: &Element) {
    let Some(patient) = root
        .child(HL7, "recordTarget")
        .and_then(|r| r.child(HL7, "patientRole"))
        .and_then(|r| r.child(HL7, "patient"))
    else {
        return;
    };
    for (i, name) in patient.children(HL7, "name").enumerate() {
        for part in &name.children {
            if let Some(qualifier) = part.attribute("qualifier")
                && !matches!(qualifier, "BR" | "CL")
            {
                c.problem(
                    &format!(
                        "/ClinicalDocument/recordTarget/patientRole/patient/name[{}]/{}",
                        i + 1,
                        part.name
                    ),
                    "name-qualifier",
                    format!(
                        "qualifier {qualifier:?}: only BR (birth name) and CL (used name) are allowed (StrucMin, CI-SISRecordTarget)"
                    ),
                );
            }
        }
    }
}

fn section(found: &mut Vec<Found>, section: &Element, templates: &[&str]) {
    for rule in SECTIONS.iter().filter(|r| templates.contains(&r.template)) {
        let code = section.child(HL7, "code");
        if code.and_then(|c| c.attribute("code")) != Some(rule.code)
            || code.and_then(|c| c.attribute("codeSystem")) != Some(LOINC)
        {
            found.push((
                "/code",
                "section-code",
                format!(
                    "a section {} has the LOINC code {} ({})",
                    rule.template, rule.code, rule.source
                ),
            ));
        }
        for parent in rule.parents {
            if !templates.contains(parent) {
                found.push((
                    "",
                    "section-template",
                    format!(
                        "a section {} also declares the templateId {parent} ({})",
                        rule.template, rule.source
                    ),
                ));
            }
        }
        if let Some(entry) = rule.entry
            && !has_descendant_template(section, entry)
        {
            found.push((
                "",
                "section-entry",
                format!(
                    "a section {} holds at least one entry {entry} ({})",
                    rule.template, rule.source
                ),
            ));
        }
    }
}

/// IHE E_concernEntry_int and CI-SIS E_problemConcernEntry_fr: a concern's own code is
/// `nullFlavor="NA"`; what it is about is in its observations.
fn concern(found: &mut Vec<Found>, concern: &Element) {
    if concern
        .child(HL7, "code")
        .and_then(|c| c.attribute("nullFlavor"))
        != Some("NA")
    {
        found.push((
            "/code",
            "concern-entry",
            "a concern entry's code is nullFlavor=\"NA\" (IHE E_concernEntry_int)".into(),
        ));
    }
}

/// CI-SIS E_allergiesAndIntolerances_fr: the allergy observation's code is SNOMED CT.
fn allergy(found: &mut Vec<Found>, observation: &Element) {
    if observation
        .child(HL7, "code")
        .and_then(|c| c.attribute("codeSystem"))
        != Some(SNOMED)
    {
        found.push((
            "/code",
            "allergy-entry",
            format!(
                "an allergy observation's code is in SNOMED CT ({SNOMED}) (ModelesDeContenusCDA E_allergiesAndIntolerances_fr)"
            ),
        ));
    }
}

/// CI-SIS E_produitDeSante_fr: a product is coded in CIS (other systems go in a
/// translation) and named, or its name is `nullFlavor="NA"`.
fn product(found: &mut Vec<Found>, material: &Element) {
    if let Some(system) = material
        .child(HL7, "code")
        .and_then(|c| c.attribute("codeSystem"))
        && system != CIS
    {
        found.push((
            "/code",
            "product-code",
            format!(
                "codeSystem {system}: a product is coded in CIS ({CIS}), other codes as a translation (ModelesDeContenusCDA E_produitDeSante_fr)"
            ),
        ));
    }
    let names: Vec<&Element> = material.children(HL7, "name").collect();
    if names.len() != 1
        && !names
            .iter()
            .any(|n| n.attribute("nullFlavor") == Some("NA"))
    {
        found.push((
            "",
            "product-name",
            "a product has one name, or a name with nullFlavor=\"NA\" (ModelesDeContenusCDA E_produitDeSante_fr)".into(),
        ));
    }
}

/// ANS E_organizerDocumentAttache_ANS: a CLUSTER organizer, completed, with a simple
/// observation and the document itself (or a null value) in an observationMedia.
fn attached_document(found: &mut Vec<Found>, organizer: &Element) {
    let rule = "attached-document";
    if !organizer.is(HL7, "organizer")
        || organizer.attribute("classCode") != Some("CLUSTER")
        || organizer.attribute("moodCode") != Some("EVN")
    {
        found.push((
            "",
            rule,
            "an attached document is an organizer classCode=\"CLUSTER\" moodCode=\"EVN\" (Modeles_ANS E_organizerDocumentAttache_ANS)".into(),
        ));
    }
    if organizer
        .child(HL7, "statusCode")
        .and_then(|s| s.attribute("code"))
        != Some("completed")
    {
        found.push((
            "/statusCode",
            rule,
            "an attached document's statusCode is completed (Modeles_ANS E_organizerDocumentAttache_ANS)".into(),
        ));
    }
    let media = organizer
        .children(HL7, "component")
        .filter_map(|component| component.child(HL7, "observationMedia"))
        .filter(|media| {
            media.attribute("classCode") == Some("OBS")
                && media.attribute("moodCode") == Some("EVN")
        })
        .filter_map(|media| media.child(HL7, "value"))
        .any(|value| {
            (value.attribute("mediaType").is_some()
                && value.attribute("representation") == Some("B64"))
                || value.attribute("nullFlavor").is_some()
        });
    if !media {
        found.push((
            "",
            rule,
            "an attached document holds an observationMedia classCode=\"OBS\" moodCode=\"EVN\" whose value is the document in base64, or null (Modeles_ANS E_organizerDocumentAttache_ANS)".into(),
        ));
    }
}
