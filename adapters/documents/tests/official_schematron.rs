//! Every document generated from the example records passes the official ANS kit: the
//! DLU-EHPAD-DLU schematron and the CDA XSD (`tests/conformance/check_cda.py`).
//!
//! Runs when `CRT_CDA_PYTHON` names a Python with the kit's requirements (`.ci/run` sets
//! it up); otherwise it says it was skipped.

use std::path::Path;
use std::process::Command;

use crt_core::CrtRecord;
use crt_core::record::{Ins, InsOid};
use crt_documents::{CdaModel, RenderContext, render};

#[test]
fn generated_documents_pass_the_official_kit() {
    let Some(python) = std::env::var_os("CRT_CDA_PYTHON") else {
        eprintln!("CRT_CDA_PYTHON is not set: official schematron check skipped (.ci/run runs it)");
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().expect("temp dir");
    let mut written = 0;
    for entry in std::fs::read_dir(repo.join("schemas/examples")).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let record: CrtRecord = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let ins = record.beneficiary.ins.clone().unwrap_or(Ins {
            number: "279035121518989".into(),
            oid: InsOid::TestNir,
        });
        let context = RenderContext::for_record(&record, None);
        for model in [CdaModel::DluEhpad, CdaModel::DluDom, CdaModel::Plan] {
            if let Ok(document) = render(&record, model, &ins, &context) {
                let stem = path.file_stem().unwrap().to_string_lossy();
                std::fs::write(
                    out.path().join(format!("{stem}.{}.xml", model.slug())),
                    &document.xml,
                )
                .unwrap();
                written += 1;
            }
        }
    }
    assert!(written >= 5, "documents from the examples");
    let status = Command::new(python)
        .arg(repo.join("tests/conformance/check_cda.py"))
        .arg(out.path())
        .status()
        .expect("run the checker");
    assert!(
        status.success(),
        "the official kit refused a generated document (see above)"
    );
}
