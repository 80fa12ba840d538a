//! The DLU body: the sections of the CI-SIS DLU volet, each with its narrative and coded
//! entries. The EHPAD model (DLU-EHPAD-DLU 2022.01) and the home model (DLU-DOM) share them;
//! the home model adds the handicaps and deficits.

use crt_core::CrtRecord;
use crt_core::identity::QualifiedIdentity;
use crt_core::record::{Condition, DocumentKind, Route, Terminology};

use super::write::{Cda, Header};
use super::{
    CHECKLIST, CdaModel, DocumentSet, RenderContext, RenderError, RenderedDocument, SNOMED, author,
    date, facility_type, practice_setting,
};

const CIS: &str = "1.2.250.1.213.2.3.1";
const ATC: &str = "2.16.840.1.113883.6.73";
const EDQM: &str = "0.4.0.127.0.16.1.1.2.1";

pub(super) fn render(
    record: &CrtRecord,
    model: CdaModel,
    identity: &QualifiedIdentity,
    context: &RenderContext,
) -> Result<RenderedDocument, RenderError> {
    let dlu = record.dlu.as_ref().ok_or(RenderError::Missing("dlu"))?;
    let author = author(record, &dlu.author)?;
    let gp = record
        .general_practitioner()
        .ok_or(RenderError::NoGeneralPractitioner)?;
    let local = &record.beneficiary.local_id;
    let versions = DocumentSet::of(record, DocumentKind::Dlu)?;
    let set_id = versions.set_id(context);
    let id = versions.version_id(context, dlu.version);
    let replaces = (dlu.version > 1).then(|| versions.version_id(context, dlu.version - 1));
    let local_patient_id = context.patient_id(local);
    let mut cda = Cda::new(&id);
    cda.header(&Header {
        model,
        record,
        identity,
        id: &id,
        set_id: &set_id,
        local_patient_id: &local_patient_id,
        version: dlu.version,
        effective_time: &dlu.updated_at,
        author,
        service_start: &dlu.updated_at,
        service_stop: Some(&dlu.updated_at),
        service_event: ("34117-2", "Historique et clinique"),
        general_practitioner: Some(gp),
        replaces: replaces.as_ref(),
    });
    body(&mut cda, record, model);
    cda.w.close("structuredBody").close("component");
    Ok(RenderedDocument {
        model,
        id,
        set_id,
        version: dlu.version,
        replaces,
        effective_time: dlu.updated_at,
        service_start: dlu.updated_at,
        service_stop: Some(dlu.updated_at),
        title: model.title().to_string(),
        author: author.clone(),
        structure_name: record.crt.name.clone(),
        structure_id_nat: record.crt.id_nat_struct(),
        practice_setting: practice_setting(),
        facility_type: facility_type(record.crt.porteur),
        ins: identity.ins.clone(),
        local_patient_id,
        patient: super::PatientInfo::of(identity),
        xml: cda.finish(),
    })
}

fn body(cda: &mut Cda, record: &CrtRecord, model: CdaModel) {
    let Some(dlu) = record.dlu.as_ref() else {
        return;
    };
    preferred_facility(cda, dlu);
    if !dlu.active_problems.is_empty() {
        let problems: Vec<&Condition> = dlu.active_problems.iter().collect();
        conditions(
            cda,
            &[
                "2.16.840.1.113883.10.20.1.11",
                "1.3.6.1.4.1.19376.1.5.3.1.3.6",
                "1.2.250.1.213.1.1.2.132",
            ],
            ("11450-4", "Liste des problèmes actifs"),
            "Pathologie en cours",
            "probleme",
            &problems,
        );
    }
    let history: Vec<&Condition> = dlu
        .medical_history
        .iter()
        .chain(&dlu.surgical_history)
        .collect();
    if !history.is_empty() {
        conditions(
            cda,
            &["1.3.6.1.4.1.19376.1.5.3.1.3.8", "1.2.250.1.213.1.1.2.134"],
            ("11348-0", "Antécédents médicaux"),
            "Antécédents médicaux et chirurgicaux",
            "antecedent",
            &history,
        );
    }
    if !dlu.allergies.is_empty() || dlu.no_known_allergy {
        allergies(cda, dlu);
    }
    treatments(cda, dlu);
    if let Some(palliative) = dlu.palliative_care {
        palliative_care(cda, palliative);
    }
    advance_directives(cda, dlu);
    observations(cda, dlu);
    multiresistant_bacteria(cda, dlu.multiresistant_bacteria);
    if !dlu.vaccinations.is_empty() {
        vaccinations(cda, dlu);
    }
    if !dlu.devices.is_empty() {
        let rows: Vec<String> = dlu.devices.iter().map(|d| d.label.clone()).collect();
        narrative_list(
            cda,
            &["1.3.6.1.4.1.19376.1.5.3.1.1.5.3.5"],
            ("46264-8", "Dispositifs médicaux"),
            "Dispositifs médicaux",
            &rows,
        );
    }
    if model == CdaModel::DluDom && !dlu.impairments.is_empty() {
        let rows: Vec<String> = dlu.impairments.iter().map(|i| i.label.clone()).collect();
        narrative_list(
            cda,
            &["1.3.6.1.4.1.19376.1.5.3.1.1.12.2.5"],
            ("46006-3", "Fonction physique"),
            "Handicaps - déficits",
            &rows,
        );
    }
    if let Some(comments) = &dlu.comments {
        cda.w.open("component", &[]).open("section", &[]);
        cda.templates(&[
            "2.16.840.1.113883.10.12.201",
            "1.3.6.1.4.1.19376.1.4.1.2.16",
            "1.2.250.1.213.1.1.2.73",
        ]);
        cda.loinc("code", "55112-7", "Commentaire");
        cda.w.leaf("title", &[], "Commentaires");
        cda.text(comments);
        cda.close_section();
    }
    attached_documents(cda, dlu);
}

fn preferred_facility(cda: &mut Cda, dlu: &crt_core::record::DluContent) {
    cda.w.open("component", &[]).open("section", &[]);
    cda.templates(&[
        "1.3.6.1.4.1.19376.1.5.3.1.1.13.2.10",
        "1.2.250.1.213.1.1.2.172",
    ]);
    cda.loinc("code", "11302-7", "Etablissement de santé de préférence");
    cda.w
        .leaf("title", &[], "Etablissement de santé de préférence");
    // The section and its FR-Disposition entry are both required: without a facility the
    // entry says so through its narrative, with no participant.
    let Some(facility) = &dlu.preferred_facility else {
        cda.w
            .open("text", &[])
            .leaf(
                "content",
                &[("ID", "etablissement")],
                "Aucun établissement de préférence indiqué.",
            )
            .close("text");
        open_disposition(cda);
        cda.w.close("act").close("entry");
        cda.close_section();
        return;
    };
    let mut lines = vec![facility.name.clone()];
    if let Some(address) = &facility.address {
        lines.extend(address.lines.iter().cloned());
        lines.push(format!("{} {}", address.postal_code, address.city));
    }
    if let Some(phone) = &facility.phone {
        lines.push(format!("Tél. {phone}"));
    }
    cda.w
        .open("text", &[])
        .leaf("content", &[("ID", "etablissement")], &lines.join(", "))
        .close("text");
    open_disposition(cda);
    cda.w.open("participant", &[("typeCode", "DST")]);
    cda.null("time", "NAV");
    cda.w.open("participantRole", &[("classCode", "ROL")]);
    if let Some(finess) = &facility.finess {
        cda.w.empty(
            "id",
            &[
                ("root", super::OID_ID_NAT_STRUCT),
                ("extension", &format!("1{finess}")),
            ],
        );
    }
    cda.address(facility.address.as_ref());
    if let Some(phone) = &facility.phone {
        cda.telecom_phone(phone, "WP");
    }
    cda.w
        .open("playingEntity", &[])
        .leaf("name", &[], &facility.name)
        .close("playingEntity")
        .close("participantRole")
        .close("participant")
        .close("act")
        .close("entry");
    cda.close_section();
}

/// Opens the FR-Disposition entry (`entry/act`) of the preferred facility section.
fn open_disposition(cda: &mut Cda) {
    cda.w
        .open("entry", &[])
        .open("act", &[("classCode", "ACT"), ("moodCode", "INT")]);
    cda.templates(&[
        "1.3.6.1.4.1.19376.1.5.3.1.1.10.4.2",
        "1.2.250.1.213.1.1.3.97",
    ]);
    cda.id("disposition");
    cda.loinc("code", "11302-7", "Etablissement de santé de préférence");
    cda.reference("etablissement");
    cda.w.empty("statusCode", &[("code", "normal")]);
    cda.null("effectiveTime", "NAV");
}

/// A coded value of the record's terminology, or the label alone.
fn coded_value(
    cda: &mut Cda,
    element: &str,
    label: &str,
    code: Option<&crt_core::record::Coding>,
    reference: &str,
    type_cd: bool,
) {
    let reference = format!("#{reference}");
    let mut attributes: Vec<(&str, &str)> = Vec::new();
    if type_cd {
        attributes.push(("xsi:type", "CD"));
    }
    match code {
        Some(coding) => {
            attributes.extend([
                ("code", coding.code.as_str()),
                ("displayName", coding.display.as_deref().unwrap_or(label)),
                ("codeSystem", coding.system.oid()),
                ("codeSystemName", coding.system.name()),
            ]);
        }
        None => attributes.push(("nullFlavor", "OTH")),
    }
    cda.w
        .open(element, &attributes)
        .open("originalText", &[])
        .empty("reference", &[("value", &reference)])
        .close("originalText")
        .close(element);
}

fn conditions(
    cda: &mut Cda,
    templates: &[&str],
    code: (&str, &str),
    title: &str,
    prefix: &str,
    items: &[&Condition],
) {
    cda.open_section(templates, code, title);
    let rows: Vec<(Option<String>, Vec<String>)> = items
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                Some(format!("{prefix}-{}", i + 1)),
                vec![
                    c.label.clone(),
                    c.since
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default(),
                ],
            )
        })
        .collect();
    cda.table(&["Pathologie", "Depuis"], &rows);
    for (i, condition) in items.iter().enumerate() {
        let anchor = format!("{prefix}-{}", i + 1);
        let low = condition.since.map(|d| date(&d));
        open_concern(
            cda,
            ["1.3.6.1.4.1.19376.1.5.3.1.4.5.2", "1.2.250.1.213.1.1.3.39"],
            &anchor,
            low.as_deref(),
        );
        cda.w.open(
            "observation",
            &[
                ("classCode", "OBS"),
                ("moodCode", "EVN"),
                ("negationInd", "false"),
            ],
        );
        cda.templates(&[
            "2.16.840.1.113883.10.20.1.28",
            "1.3.6.1.4.1.19376.1.5.3.1.4.5",
            "1.2.250.1.213.1.1.3.37",
        ]);
        cda.id(&anchor);
        cda.w.empty(
            "code",
            &[
                ("code", "282291009"),
                ("displayName", "interprétation diagnostique"),
                ("codeSystem", SNOMED),
                ("codeSystemName", "SNOMED CT"),
            ],
        );
        cda.reference(&anchor);
        cda.status_completed();
        interval(cda, low.as_deref(), None);
        coded_value(
            cda,
            "value",
            &condition.label,
            condition.code.as_ref(),
            &anchor,
            true,
        );
        cda.w.close("observation");
        close_concern(cda);
    }
    cda.close_section();
}

/// Opens an IHE concern entry (`entry/act`, its `entryRelationship` open for the
/// observation), given the two templates that make it a problem or an allergy concern.
fn open_concern(cda: &mut Cda, kind: [&str; 2], anchor: &str, low: Option<&str>) {
    cda.w
        .open("entry", &[])
        .open("act", &[("classCode", "ACT"), ("moodCode", "EVN")]);
    cda.templates(&[
        "2.16.840.1.113883.10.20.1.27",
        "1.3.6.1.4.1.19376.1.5.3.1.4.5.1",
        kind[0],
        kind[1],
    ]);
    cda.id(&format!("{anchor}:concern"));
    cda.null("code", "NA");
    cda.status_completed();
    interval(cda, low, None);
    cda.w.open(
        "entryRelationship",
        &[("typeCode", "SUBJ"), ("inversionInd", "false")],
    );
}

/// Closes what [`open_concern`] opened.
fn close_concern(cda: &mut Cda) {
    cda.w.close("entryRelationship").close("act").close("entry");
}

/// `<effectiveTime><low/><high/></effectiveTime>` with unknown bounds as nullFlavor.
fn interval(cda: &mut Cda, low: Option<&str>, high: Option<&str>) {
    cda.w.open("effectiveTime", &[]);
    match low {
        Some(value) => cda.w.empty("low", &[("value", value)]),
        None => cda.w.empty("low", &[("nullFlavor", "UNK")]),
    };
    match high {
        Some(value) => cda.w.empty("high", &[("value", value)]),
        None => cda.w.empty("high", &[("nullFlavor", "NA")]),
    };
    cda.w.close("effectiveTime");
}

fn allergies(cda: &mut Cda, dlu: &crt_core::record::DluContent) {
    cda.open_section(
        &[
            "2.16.840.1.113883.10.20.1.2",
            "1.3.6.1.4.1.19376.1.5.3.1.3.13",
            "1.2.250.1.213.1.1.2.137",
        ],
        ("48765-2", "Allergies et hypersensibilités"),
        "Allergies et hypersensibilités",
    );
    // IHE requires an Allergy Concern entry in the section: "no known allergy" is one
    // whose allergy observation is negated (negationInd="true"), with no substance.
    if dlu.allergies.is_empty() {
        cda.w
            .open("text", &[])
            .leaf(
                "content",
                &[("ID", "allergie-aucune")],
                "Aucune allergie connue.",
            )
            .close("text");
        allergy_entry(cda, "allergie-aucune", None, None);
        cda.close_section();
        return;
    }
    let rows: Vec<(Option<String>, Vec<String>)> = dlu
        .allergies
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                Some(format!("allergie-{}", i + 1)),
                vec![a.substance.clone(), a.reaction.clone().unwrap_or_default()],
            )
        })
        .collect();
    cda.table(&["Substance", "Réaction"], &rows);
    for (i, allergy) in dlu.allergies.iter().enumerate() {
        let anchor = format!("allergie-{}", i + 1);
        let low = allergy.since.map(|d| date(&d));
        allergy_entry(cda, &anchor, low.as_deref(), Some(allergy));
    }
    cda.close_section();
}

/// An Allergy Concern entry and its allergy observation: of `allergy`, or negated (no
/// known allergy) when there is none.
fn allergy_entry(
    cda: &mut Cda,
    anchor: &str,
    low: Option<&str>,
    allergy: Option<&crt_core::record::Allergy>,
) {
    open_concern(
        cda,
        ["1.3.6.1.4.1.19376.1.5.3.1.4.5.3", "1.2.250.1.213.1.1.3.40"],
        anchor,
        low,
    );
    let negation = if allergy.is_some() { "false" } else { "true" };
    cda.w.open(
        "observation",
        &[
            ("classCode", "OBS"),
            ("moodCode", "EVN"),
            ("negationInd", negation),
        ],
    );
    cda.templates(&[
        "2.16.840.1.113883.10.20.1.18",
        "2.16.840.1.113883.10.20.1.28",
        "1.3.6.1.4.1.19376.1.5.3.1.4.5",
        "1.3.6.1.4.1.19376.1.5.3.1.4.6",
        "1.2.250.1.213.1.1.3.41",
    ]);
    cda.id(anchor);
    cda.w.empty(
        "code",
        &[
            ("code", "420134006"),
            ("displayName", "propension à des réactions indésirables"),
            ("codeSystem", SNOMED),
            ("codeSystemName", "SNOMED CT"),
        ],
    );
    cda.reference(anchor);
    cda.status_completed();
    interval(cda, low, None);
    cda.w
        .open("value", &[("xsi:type", "CD"), ("nullFlavor", "NA")])
        .open("originalText", &[])
        .empty("reference", &[("value", &format!("#{anchor}"))])
        .close("originalText")
        .close("value");
    if let Some(allergy) = allergy {
        cda.w
            .open("participant", &[("typeCode", "CSM")])
            .open("participantRole", &[("classCode", "MANU")])
            .open("playingEntity", &[("classCode", "MMAT")]);
        coded_value(
            cda,
            "code",
            &allergy.substance,
            allergy.code.as_ref(),
            anchor,
            false,
        );
        cda.w
            .leaf("name", &[], &allergy.substance)
            .close("playingEntity")
            .close("participantRole")
            .close("participant");
    }
    cda.w.close("observation");
    close_concern(cda);
}

fn treatments(cda: &mut Cda, dlu: &crt_core::record::DluContent) {
    cda.open_section(
        &[
            "2.16.840.1.113883.10.20.1.8",
            "1.3.6.1.4.1.19376.1.5.3.1.3.19",
            "1.2.250.1.213.1.1.2.143",
        ],
        ("10160-0", "Historique de la prise médicamenteuse"),
        "Traitements au long cours",
    );
    // IHE requires a Medications entry in the section: "no long-term treatment" is one
    // that did not happen (negationInd="true"), its product not coded.
    if dlu.treatments.is_empty() {
        cda.w
            .open("text", &[])
            .leaf(
                "content",
                &[("ID", "traitement-aucun")],
                "Aucun traitement au long cours.",
            )
            .close("text");
        medication_entry(cda, "traitement-aucun", None);
        cda.close_section();
        return;
    }
    let rows: Vec<(Option<String>, Vec<String>)> = dlu
        .treatments
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                Some(format!("traitement-{}", i + 1)),
                vec![
                    t.medication.clone(),
                    t.dosage.clone(),
                    t.route.map(|r| r.edqm().1.to_string()).unwrap_or_default(),
                    t.started_on
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default(),
                    t.ends_on
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default(),
                ],
            )
        })
        .collect();
    cda.table(&["Médicament", "Posologie", "Voie", "Début", "Fin"], &rows);
    for (i, treatment) in dlu.treatments.iter().enumerate() {
        medication_entry(cda, &format!("traitement-{}", i + 1), Some(treatment));
    }
    cda.close_section();
}

/// A Medications entry for `treatment`, or the negated one that says there is none.
fn medication_entry(cda: &mut Cda, anchor: &str, treatment: Option<&crt_core::record::Treatment>) {
    let negation = if treatment.is_some() { "false" } else { "true" };
    cda.w.open("entry", &[]).open(
        "substanceAdministration",
        &[
            ("classCode", "SBADM"),
            ("moodCode", "INT"),
            ("negationInd", negation),
        ],
    );
    cda.templates(&[
        "2.16.840.1.113883.10.20.1.24",
        "1.3.6.1.4.1.19376.1.5.3.1.4.7",
        "1.2.250.1.213.1.1.3.42",
        "1.3.6.1.4.1.19376.1.5.3.1.4.7.1",
    ]);
    cda.id(anchor);
    cda.reference(anchor);
    cda.status_completed();
    cda.w.open("effectiveTime", &[("xsi:type", "IVL_TS")]);
    match treatment.and_then(|t| t.started_on) {
        Some(d) => cda.w.empty("low", &[("value", &date(&d))]),
        None => cda.w.empty("low", &[("nullFlavor", "UNK")]),
    };
    match treatment.and_then(|t| t.ends_on) {
        Some(d) => cda.w.empty("high", &[("value", &date(&d))]),
        None => cda.w.empty("high", &[("nullFlavor", "UNK")]),
    };
    cda.w.close("effectiveTime");
    if let Some(route) = treatment.and_then(|t| t.route) {
        route_code(cda, route);
    }
    cda.w
        .open("consumable", &[("typeCode", "CSM")])
        .open("manufacturedProduct", &[]);
    cda.templates(&[
        "2.16.840.1.113883.10.20.1.53",
        "1.3.6.1.4.1.19376.1.5.3.1.4.7.2",
        "1.2.250.1.213.1.1.3.43",
    ]);
    cda.w.open("manufacturedMaterial", &[("classCode", "MMAT")]);
    match treatment {
        Some(treatment) => {
            product_code(
                cda,
                &treatment.medication,
                treatment.cis_code.as_deref(),
                treatment.atc_code.as_deref(),
                anchor,
            );
            cda.w.leaf("name", &[], &treatment.medication);
        }
        None => {
            cda.null("code", "NA");
            cda.null("name", "NA");
        }
    }
    cda.w
        .close("manufacturedMaterial")
        .close("manufacturedProduct")
        .close("consumable")
        .close("substanceAdministration")
        .close("entry");
}

fn route_code(cda: &mut Cda, route: Route) {
    let (code, display) = route.edqm();
    cda.w.empty(
        "routeCode",
        &[
            ("code", code),
            ("displayName", display),
            ("codeSystem", EDQM),
            ("codeSystemName", "EDQM"),
        ],
    );
}

/// A product by its CIS code, the only code system `manufacturedMaterial/code` takes (CI-SIS
/// entry FR-Produit-de-sante). An ATC code travels as a `translation`: beside the CIS code,
/// or under `nullFlavor="OTH"` when the product has no CIS code (coded, but not in the
/// system the element requires). A product known by its name only is `OTH` too.
fn product_code(cda: &mut Cda, name: &str, cis: Option<&str>, atc: Option<&str>, anchor: &str) {
    let reference = format!("#{anchor}");
    let attributes: Vec<(&str, &str)> = match cis {
        Some(cis) => vec![
            ("code", cis),
            ("displayName", name),
            ("codeSystem", CIS),
            ("codeSystemName", "CIS"),
        ],
        None => vec![("nullFlavor", "OTH")],
    };
    cda.w
        .open("code", &attributes)
        .open("originalText", &[])
        .empty("reference", &[("value", &reference)])
        .close("originalText");
    if let Some(atc) = atc {
        cda.w.empty(
            "translation",
            &[
                ("code", atc),
                ("displayName", name),
                ("codeSystem", ATC),
                ("codeSystemName", "ATC"),
            ],
        );
    }
    cda.w.close("code");
}

fn palliative_care(cda: &mut Cda, palliative: bool) {
    cda.open_section(
        &[
            "2.16.840.1.113883.10.20.1.10",
            "1.3.6.1.4.1.19376.1.5.3.1.3.36",
            "1.2.250.1.213.1.1.2.158",
        ],
        ("18776-5", "Plan de soins"),
        "Soins palliatifs",
    );
    cda.w
        .open("text", &[])
        .leaf(
            "content",
            &[("ID", "palliatif")],
            if palliative {
                "Le patient bénéficie de soins palliatifs."
            } else {
                "Le patient ne bénéficie pas de soins palliatifs."
            },
        )
        .close("text");
    let negation = if palliative { "false" } else { "true" };
    cda.w.open("entry", &[]).open(
        "procedure",
        &[
            ("classCode", "PROC"),
            ("moodCode", "EVN"),
            ("negationInd", negation),
        ],
    );
    cda.templates(&[
        "1.3.6.1.4.1.19376.1.5.3.1.4.19",
        "2.16.840.1.113883.10.20.1.29",
        "1.2.250.1.213.1.1.3.62",
    ]);
    cda.id("palliatif");
    cda.w.empty(
        "code",
        &[
            ("code", "103735009"),
            ("displayName", "Soins palliatifs"),
            ("codeSystem", SNOMED),
            ("codeSystemName", "SNOMED CT"),
        ],
    );
    cda.reference("palliatif");
    cda.w.empty("statusCode", &[("code", "active")]);
    cda.null("effectiveTime", "UNK");
    cda.w.close("procedure").close("entry");
    cda.close_section();
}

fn advance_directives(cda: &mut Cda, dlu: &crt_core::record::DluContent) {
    cda.open_section(
        &[
            "2.16.840.1.113883.10.20.1.1",
            "1.3.6.1.4.1.19376.1.5.3.1.3.34",
            "1.3.6.1.4.1.19376.1.5.3.1.3.35",
            "1.2.250.1.213.1.1.2.157",
        ],
        ("42348-3", "Directives anticipées"),
        "Directives anticipées",
    );
    let (exist, narrative) = match &dlu.advance_directives {
        Some(d) if d.exist => (
            Some(true),
            format!(
                "Le patient a rédigé des directives anticipées{}.",
                d.location
                    .as_ref()
                    .map(|l| format!(" : {l}"))
                    .unwrap_or_default()
            ),
        ),
        Some(_) => (
            Some(false),
            "Le patient n'a pas rédigé de directives anticipées.".to_string(),
        ),
        None => (
            None,
            "Existence de directives anticipées non renseignée.".to_string(),
        ),
    };
    cda.w
        .open("text", &[])
        .leaf("content", &[("ID", "directives")], &narrative)
        .close("text");
    cda.w
        .open("entry", &[])
        .open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")]);
    cda.templates(&[
        "2.16.840.1.113883.10.20.1.17",
        "1.3.6.1.4.1.19376.1.5.3.1.4.13",
        "1.3.6.1.4.1.19376.1.5.3.1.4.13.7",
        "1.2.250.1.213.1.1.3.54",
    ]);
    cda.id("directives");
    cda.loinc("code", "42348-3", "Directives anticipées");
    cda.reference("directives");
    cda.status_completed();
    match dlu.advance_directives.as_ref().and_then(|d| d.written_on) {
        Some(written) => {
            let value = date(&written);
            cda.w
                .open("effectiveTime", &[])
                .empty("low", &[("value", &value)])
                .close("effectiveTime");
        }
        None => {
            cda.null("effectiveTime", "UNK");
        }
    }
    cda.boolean_value(exist);
    cda.w.close("observation").close("entry");
    cda.close_section();
}

fn observations(cda: &mut Cda, dlu: &crt_core::record::DluContent) {
    cda.open_section(
        &[
            "1.3.6.1.4.1.19376.1.5.3.1.1.21.2.9",
            "1.3.6.1.4.1.19376.1.7.3.1.1.13.7",
            "1.2.250.1.213.1.1.2.163",
        ],
        ("42545-4", "Evènements observés"),
        "Observations",
    );
    if dlu.patient_state.is_empty() {
        cda.text("Aucune observation renseignée.");
        cda.close_section();
        return;
    }
    let rows: Vec<(Option<String>, Vec<String>)> = dlu
        .patient_state
        .iter()
        .enumerate()
        .map(|(i, o)| {
            (
                Some(format!("etat-{}", i + 1)),
                vec![o.finding.snomed().1.to_string(), yes_no(o.present)],
            )
        })
        .collect();
    cda.table(&["Observation", "Constatée"], &rows);
    for (i, observation) in dlu.patient_state.iter().enumerate() {
        let anchor = format!("etat-{}", i + 1);
        let (code, display) = observation.finding.snomed();
        cda.w
            .open("entry", &[])
            .open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")]);
        cda.templates(&["1.3.6.1.4.1.19376.1.5.3.1.4.13", "1.2.250.1.213.1.1.3.48"]);
        cda.id(&anchor);
        cda.w.empty(
            "code",
            &[
                ("code", code),
                ("displayName", display),
                ("codeSystem", SNOMED),
                ("codeSystemName", "SNOMED CT"),
            ],
        );
        cda.reference(&anchor);
        cda.status_completed();
        cda.null("effectiveTime", "NA");
        cda.boolean_value(Some(observation.present));
        cda.w.close("observation").close("entry");
    }
    cda.close_section();
}

fn multiresistant_bacteria(cda: &mut Cda, carrier: Option<bool>) {
    cda.open_section(
        &[
            "1.3.6.1.4.1.19376.1.5.3.1.3.27",
            "1.3.6.1.4.1.19376.1.5.3.1.3.28",
            "1.2.250.1.213.1.1.2.151",
        ],
        ("30954-2", "Résultats d'examens"),
        "Résultats d'examens",
    );
    let answer = match carrier {
        Some(true) => "oui",
        Some(false) => "non",
        None => "inconnu",
    };
    cda.table(
        &["Question", "Réponse"],
        &[(
            Some("bmr".to_string()),
            vec![
                "Le patient porte-t-il une bactérie multirésistante ?".into(),
                answer.into(),
            ],
        )],
    );
    cda.w
        .open("entry", &[])
        .open("procedure", &[("classCode", "PROC"), ("moodCode", "EVN")]);
    cda.templates(&[
        "1.3.6.1.4.1.19376.1.5.3.1.4.19",
        "2.16.840.1.113883.10.20.1.29",
        "1.2.250.1.213.1.1.3.62",
    ]);
    cda.id("bmr:procedure");
    cda.null("code", "NA");
    cda.reference("bmr");
    cda.status_completed();
    cda.w.close("procedure").close("entry");
    cda.w
        .open("entry", &[])
        .open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")]);
    cda.templates(&["1.3.6.1.4.1.19376.1.5.3.1.4.13", "1.2.250.1.213.1.1.3.48"]);
    cda.id("bmr");
    cda.w.empty(
        "code",
        &[
            ("code", "U83.71"),
            ("displayName", "Bactérie multirésistante [BMR]"),
            ("codeSystem", Terminology::Cim10.oid()),
            ("codeSystemName", "CIM-10"),
        ],
    );
    cda.reference("bmr");
    cda.status_completed();
    cda.null("effectiveTime", "NASK");
    cda.boolean_value(carrier);
    cda.w.close("observation").close("entry");
    cda.close_section();
}

fn vaccinations(cda: &mut Cda, dlu: &crt_core::record::DluContent) {
    cda.open_section(
        &[
            "2.16.840.1.113883.10.20.1.6",
            "1.3.6.1.4.1.19376.1.5.3.1.3.23",
            "1.2.250.1.213.1.1.2.147",
        ],
        ("11369-6", "Historique des vaccinations"),
        "Vaccinations du patient",
    );
    let rows: Vec<(Option<String>, Vec<String>)> = dlu
        .vaccinations
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                Some(format!("vaccin-{}", i + 1)),
                vec![
                    v.vaccine.clone(),
                    v.administered_on
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default(),
                ],
            )
        })
        .collect();
    cda.table(&["Vaccin", "Date"], &rows);
    for (i, vaccination) in dlu.vaccinations.iter().enumerate() {
        let anchor = format!("vaccin-{}", i + 1);
        cda.w.open("entry", &[]).open(
            "substanceAdministration",
            &[
                ("classCode", "SBADM"),
                ("moodCode", "EVN"),
                ("negationInd", "false"),
            ],
        );
        cda.templates(&[
            "2.16.840.1.113883.10.20.1.24",
            "1.3.6.1.4.1.19376.1.5.3.1.4.12",
            "1.2.250.1.213.1.1.3.45",
        ]);
        cda.id(&anchor);
        cda.w.empty(
            "code",
            &[
                ("code", "IMMUNIZ"),
                ("displayName", "Immunization"),
                ("codeSystem", "2.16.840.1.113883.5.4"),
                ("codeSystemName", "ActCode"),
            ],
        );
        cda.reference(&anchor);
        cda.status_completed();
        match vaccination.administered_on {
            Some(d) => cda.w.empty("effectiveTime", &[("value", &date(&d))]),
            None => cda.w.empty("effectiveTime", &[("nullFlavor", "NASK")]),
        };
        cda.w
            .open("consumable", &[("typeCode", "CSM")])
            .open("manufacturedProduct", &[("classCode", "MANU")]);
        cda.templates(&[
            "2.16.840.1.113883.10.20.1.53",
            "1.3.6.1.4.1.19376.1.5.3.1.4.7.2",
            "1.2.250.1.213.1.1.3.43",
        ]);
        cda.w.open("manufacturedMaterial", &[]);
        product_code(
            cda,
            &vaccination.vaccine,
            vaccination.cis_code.as_deref(),
            vaccination.atc_code.as_deref(),
            &anchor,
        );
        cda.w.leaf("name", &[], &vaccination.vaccine);
        if let Some(lot) = &vaccination.lot {
            cda.w.leaf("lotNumberText", &[], lot);
        }
        cda.w
            .close("manufacturedMaterial")
            .close("manufacturedProduct")
            .close("consumable")
            .close("substanceAdministration")
            .close("entry");
    }
    cda.close_section();
}

fn narrative_list(
    cda: &mut Cda,
    templates: &[&str],
    code: (&str, &str),
    title: &str,
    items: &[String],
) {
    cda.open_section(templates, code, title);
    cda.w.open("text", &[]).open("list", &[]);
    for item in items {
        cda.w.leaf("item", &[], item);
    }
    cda.w.close("list").close("text");
    cda.close_section();
}

fn attached_documents(cda: &mut Cda, dlu: &crt_core::record::DluContent) {
    cda.w.open("component", &[]).open("section", &[]);
    cda.template("1.2.250.1.213.1.1.2.37");
    cda.id("section:55107-7");
    cda.loinc("code", "55107-7", "Documents ajoutés");
    cda.w
        .leaf("title", &[], "Checklist des documents annexés au DLU");
    if dlu.attached_documents.is_empty() {
        cda.text("Aucun document annexé.");
        cda.close_section();
        return;
    }
    let rows: Vec<(Option<String>, Vec<String>)> = dlu
        .attached_documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let annexed = match d.content {
                Some(_) => "oui, joint au DLU",
                None => "oui, non joint au DLU",
            };
            (
                Some(format!("doc-{}", i + 1)),
                vec![d.kind.checklist_code().1.to_string(), annexed.into()],
            )
        })
        .collect();
    cda.table(&["Document", "Annexé au DLU"], &rows);
    for (i, document) in dlu.attached_documents.iter().enumerate() {
        let anchor = format!("doc-{}", i + 1);
        let (code, display) = document.kind.checklist_code();
        cda.w.open("entry", &[]).open(
            "organizer",
            &[("classCode", "CLUSTER"), ("moodCode", "EVN")],
        );
        cda.template("1.2.250.1.213.1.1.3.18");
        cda.id(&format!("{anchor}:organizer"));
        cda.loinc("code", "55107-7", "Document attaché");
        cda.status_completed();
        cda.w
            .open("component", &[])
            .open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")]);
        cda.templates(&[
            "1.3.6.1.4.1.19376.1.5.3.1.4.13",
            "1.2.250.1.213.1.1.3.48",
            "1.2.250.1.213.1.1.3.48.18",
        ]);
        cda.id(&anchor);
        cda.loinc("code", "69764-9", "Type de document");
        cda.reference(&anchor);
        cda.status_completed();
        cda.null("effectiveTime", "NA");
        cda.w.empty(
            "value",
            &[
                ("xsi:type", "CD"),
                ("code", code),
                ("displayName", display),
                ("codeSystem", CHECKLIST),
                ("codeSystemName", "TA_ASIP"),
            ],
        );
        cda.w.close("observation").close("component");
        // The document itself (FR-Document-attache: one observationMedia), or a value
        // that says it goes with the person without being embedded.
        let media_id = format!("{anchor}-fichier");
        cda.w.open("component", &[]).open(
            "observationMedia",
            &[("classCode", "OBS"), ("moodCode", "EVN"), ("ID", &media_id)],
        );
        match &document.content {
            Some(content) => cda.w.leaf(
                "value",
                &[
                    ("mediaType", content.media_type.as_str()),
                    ("representation", "B64"),
                ],
                &content.data,
            ),
            None => cda.w.empty("value", &[("nullFlavor", "NAV")]),
        };
        cda.w
            .close("observationMedia")
            .close("component")
            .close("organizer")
            .close("entry");
    }
    cda.close_section();
}

fn yes_no(value: bool) -> String {
    if value { "oui" } else { "non" }.to_string()
}
