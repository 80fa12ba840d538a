//! The project's CDA rules (`crt_documents::check`, what `crt-gateway validate` runs) and
//! the official ANS kit (CDA XSD + the CI-SIS DLU-EHPAD-DLU 2022.01 schematron, run by
//! `tests/conformance/check_cda.py`) must give the same verdict on a corpus:
//!
//! - the official example of the model and every document generated from the example
//!   records pass both;
//! - each document of `tests/conformance/mutations.toml` (the official example with one
//!   defect) fails both, and the project names the rule the mutation states.
//!
//! The official example comes from the kit (`CONFORMANCE_DIR`, or `../shared/conformance`);
//! its data carry no licence to copy them here. The official side runs when
//! `CRT_CDA_PYTHON` names a Python with the kit's requirements (`.ci/run` sets it up);
//! otherwise the test says it was skipped and checks the project's side alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crt_core::CrtRecord;
use crt_core::identity::{InsTraits, QualifiedIdentity};
use crt_core::record::{Ins, InsOid};
use crt_documents::{CdaModel, RenderContext, check, render};

#[derive(serde::Deserialize)]
struct Corpus {
    mutation: Vec<Mutation>,
}

#[derive(serde::Deserialize)]
struct Mutation {
    name: String,
    defect: String,
    reference: String,
    rule: String,
    official: String,
    #[serde(default)]
    after: Option<String>,
    find: String,
    replace: String,
}

impl Mutation {
    fn apply(&self, document: &str) -> String {
        let start = self
            .after
            .as_deref()
            .and_then(|after| document.find(after))
            .unwrap_or(0);
        let at = document[start..]
            .find(&self.find)
            .unwrap_or_else(|| panic!("mutation {}: {:?} not found", self.name, self.find))
            + start;
        format!(
            "{}{}{}",
            &document[..at],
            self.replace,
            &document[at + self.find.len()..]
        )
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kit() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("CONFORMANCE_DIR").map(PathBuf::from),
        Some(repo().join("../shared/conformance")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("validate_cda.py").is_file())
}

/// Documents rendered from the example records, named `<record>.<model>.xml`.
fn generated() -> Vec<(String, Vec<u8>)> {
    let mut documents = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("schemas/examples"))
        .expect("examples")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let record: CrtRecord =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("record");
        let identity = QualifiedIdentity {
            ins: record.beneficiary.ins.clone().unwrap_or(Ins {
                number: "279035121518989".into(),
                oid: InsOid::TestNir,
            }),
            traits: InsTraits::of_record(&record.beneficiary.identity).expect("INS form"),
        };
        let context = RenderContext::for_record(&record, None);
        let stem = path.file_stem().expect("stem").to_string_lossy();
        for model in [CdaModel::DluEhpad, CdaModel::DluDom, CdaModel::Plan] {
            if let Ok(document) = render(&record, model, &identity, &context) {
                documents.push((format!("{stem}.{}.xml", model.slug()), document.xml));
            }
        }
    }
    documents
}

/// What the official kit said of one file: passed, and its error lines.
struct Official {
    passed: bool,
    errors: Vec<String>,
}

/// The official kit's verdict per file name, from `check_cda.py`.
fn official_verdicts(python: &std::ffi::OsStr, dir: &Path) -> BTreeMap<String, Official> {
    let output = Command::new(python)
        .arg(repo().join("tests/conformance/check_cda.py"))
        .arg(dir)
        .output()
        .expect("run the checker");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_ne!(
        output.status.code(),
        Some(2),
        "the official kit could not run:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut verdicts = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        let verdict = if let Some(rest) = line.strip_prefix("ok ") {
            Some((true, rest))
        } else {
            line.strip_prefix("FAIL ").map(|rest| (false, rest))
        };
        if let Some((passed, rest)) = verdict
            && let Some((name, _)) = rest.trim_start().split_once(':')
        {
            verdicts.insert(
                name.to_string(),
                Official {
                    passed,
                    errors: Vec::new(),
                },
            );
            current = Some(name.to_string());
        } else if line.starts_with("ERROR")
            && let Some(official) = current.as_ref().and_then(|name| verdicts.get_mut(name))
        {
            official.errors.push(line.to_string());
        }
    }
    eprintln!("{stdout}");
    verdicts
}

/// What a document of the corpus must give: pass, or fail with the project's rule and the
/// kit's error a mutation names.
#[derive(Clone, Copy)]
struct Expected<'a> {
    pass: bool,
    named: Option<(&'a str, &'a str)>,
}

const PASSES: Expected<'static> = Expected {
    pass: true,
    named: None,
};

#[test]
fn project_rules_and_official_kit_agree() {
    let corpus: Corpus = toml::from_str(
        &std::fs::read_to_string(repo().join("tests/conformance/mutations.toml"))
            .expect("mutations.toml"),
    )
    .expect("mutations.toml is valid");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut expected: BTreeMap<String, Expected<'_>> = BTreeMap::new();
    let mut documents = generated();
    assert!(documents.len() >= 5, "documents from the examples");
    for (name, _) in &documents {
        expected.insert(name.clone(), PASSES);
    }
    match kit() {
        Some(kit) => {
            let official = std::fs::read_to_string(kit.join("examples/DLU-EHPAD-DLU_2022.01.xml"))
                .expect("the official example")
                .replace("\r\n", "\n");
            for mutation in &corpus.mutation {
                assert!(
                    !mutation.defect.is_empty() && !mutation.reference.is_empty(),
                    "mutation {} states its defect and reference",
                    mutation.name
                );
                let name = format!("mutated-{}.dlu-ehpad.xml", mutation.name);
                expected.insert(
                    name.clone(),
                    Expected {
                        pass: false,
                        named: Some((mutation.rule.as_str(), mutation.official.as_str())),
                    },
                );
                documents.push((name, mutation.apply(&official).into_bytes()));
            }
            expected.insert("official.dlu-ehpad.xml".into(), PASSES);
            documents.push(("official.dlu-ehpad.xml".into(), official.into_bytes()));
        }
        None => eprintln!(
            "the conformance kit was not found: the official example and its mutations are skipped"
        ),
    }

    let mut disagreements = Vec::new();
    for (name, xml) in &documents {
        std::fs::write(dir.path().join(name), xml).expect("write");
        let report = check::check(xml);
        let Expected { pass, named } = expected[name];
        if report.problems.is_empty() != pass {
            disagreements.push(format!(
                "{name}: the project's rules say {}: {:?}",
                if pass { "invalid" } else { "valid" },
                report.problems
            ));
        }
        if let Some((rule, _)) = named
            && !report.problems.iter().any(|p| p.rule == rule)
        {
            disagreements.push(format!(
                "{name}: rule {rule} not reported, found {:?}",
                report.problems
            ));
        }
    }

    match std::env::var_os("CRT_CDA_PYTHON") {
        Some(python) => {
            let verdicts = official_verdicts(&python, dir.path());
            for (name, Expected { pass, named }) in &expected {
                match verdicts.get(name) {
                    Some(official) if official.passed != *pass => disagreements.push(format!(
                        "{name}: the official kit says {}",
                        if *pass { "invalid" } else { "valid" }
                    )),
                    // One defect each: the kit reports one error, the one the mutation names.
                    Some(official) => {
                        if let Some((_, says)) = named
                            && (official.errors.len() != 1 || !official.errors[0].contains(says))
                        {
                            disagreements.push(format!(
                                "{name}: the official kit was expected to report one error with {says:?}, it reported {:?}",
                                official.errors
                            ));
                        }
                    }
                    None => disagreements.push(format!("{name}: no verdict from the official kit")),
                }
            }
        }
        None => eprintln!(
            "CRT_CDA_PYTHON is not set: the official kit's side is skipped (.ci/run runs it)"
        ),
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
