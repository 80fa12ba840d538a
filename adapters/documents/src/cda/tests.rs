use std::path::Path;

use crt_core::CrtRecord;
use crt_core::identity::{InsTraits, QualifiedIdentity};
use crt_core::record::{Ins, InsOid};

use super::*;

pub(crate) fn example(name: &str) -> CrtRecord {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/examples")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("example")).expect("record")
}

/// The record's identity, qualified under a test INS whatever the record holds.
pub(crate) fn identity(record: &CrtRecord) -> QualifiedIdentity {
    QualifiedIdentity {
        ins: Ins {
            number: "238047218104592".into(),
            oid: InsOid::TestNir,
        },
        traits: InsTraits::of_record(&record.beneficiary.identity).expect("INS form"),
    }
}

#[test]
fn the_same_record_renders_the_same_bytes() {
    let record = example("home-volet2-pays-de-la-loire.json");
    let context = RenderContext::for_record(&record, None);
    let a = render(&record, CdaModel::DluDom, &identity(&record), &context).unwrap();
    let b = render(&record, CdaModel::DluDom, &identity(&record), &context).unwrap();
    assert_eq!(a.xml, b.xml);
    assert!(context.oid_root.starts_with("2.25."));
    assert!(a.id.root.starts_with(&format!("{}.1.", context.oid_root)));
    assert!(a.id.extension.is_none());
    assert!(a.replaces.is_none());
}

#[test]
fn rendering_needs_what_the_model_requires() {
    let mut record = example("home-volet2-pays-de-la-loire.json");
    let context = RenderContext::for_record(&record, Some("1.2.250.1.999"));
    record
        .care_circle
        .retain(|p| p.role != crt_core::record::CareRole::GeneralPractitioner);
    assert_eq!(
        render(&record, CdaModel::DluEhpad, &identity(&record), &context).unwrap_err(),
        RenderError::NoGeneralPractitioner
    );
    record.dlu = None;
    assert_eq!(
        render(&record, CdaModel::DluEhpad, &identity(&record), &context).unwrap_err(),
        RenderError::Missing("dlu")
    );
}

#[test]
fn a_new_version_replaces_the_previous_one() {
    let mut record = example("home-volet2-pays-de-la-loire.json");
    let context = RenderContext::for_record(&record, Some("1.2.250.1.999"));
    let plan = render(&record, CdaModel::Plan, &identity(&record), &context).unwrap();
    let previous = InstanceId::derived(&context, 1, "plan:IPP-000417:ppcs-000417:1");
    assert_eq!(plan.replaces.as_ref(), Some(&previous));
    let text = String::from_utf8(plan.xml).unwrap();
    assert!(text.contains(&format!(
        r#"<relatedDocument typeCode="RPLC"><parentDocument><id root="{}"/>"#,
        previous.root
    )));
    record.dlu.as_mut().unwrap().version = 3;
    let dlu = render(&record, CdaModel::DluEhpad, &identity(&record), &context).unwrap();
    assert_eq!(
        dlu.replaces.unwrap(),
        InstanceId::derived(&context, 1, "dlu:IPP-000417:2")
    );
    assert_eq!(dlu.id, InstanceId::derived(&context, 1, "dlu:IPP-000417:3"));
}

/// Writes every document of every example record under `CDA_OUT`, for the official
/// validator (see `tests/conformance`).
#[test]
fn write_generated_documents_when_asked() {
    let Some(out) = std::env::var_os("CDA_OUT") else {
        return;
    };
    let out = Path::new(&out);
    std::fs::create_dir_all(out).unwrap();
    for (name, document) in example_documents() {
        std::fs::write(out.join(name), &document.xml).unwrap();
    }
}

/// Every document each example record can give, with a file name
/// `<example>.<model>.xml`.
pub(crate) fn example_documents() -> Vec<(String, RenderedDocument)> {
    let mut documents = Vec::new();
    for name in [
        "home-volet2-pays-de-la-loire.json",
        "ehpad-emergency-room-occitanie.json",
        "exit-normandie.json",
    ] {
        let record = example(name);
        let context = RenderContext::for_record(&record, None);
        for model in [CdaModel::DluEhpad, CdaModel::DluDom, CdaModel::Plan] {
            if let Ok(document) = render(&record, model, &identity(&record), &context) {
                let stem = name.trim_end_matches(".json");
                documents.push((format!("{stem}.{}.xml", model.slug()), document));
            }
        }
    }
    documents
}
