//! The project's CDA rules (`crt_documents::check`, what `crt-gateway validate` runs) and
//! the official ANS chain (the CDA XSD, the IHE, ModelesDeContenusCDA, StrucMin and
//! Modeles_ANS profiles, then the CI-SIS DLU-EHPAD-DLU 2022.01 schematron for that model, run
//! by `tests/conformance/check_cda.py`) must give the same verdict on a corpus:
//!
//! - every document the gateway renders from the example records and from the variants of
//!   `tests/conformance/corpus.toml` (records that exercise every optional part of the
//!   schema), in every model each allows, passes both with no error; the documents are
//!   rendered here, from the code, on every run;
//! - the official example of the model passes both;
//! - each document of `tests/conformance/mutations.toml` (the official example with one
//!   defect) fails both: the project names the rule the mutation states, and the chain
//!   reports the error in the profile and pattern it states.
//!
//! The official example comes from the kit (`CONFORMANCE_DIR`, or `../shared/conformance`);
//! its data carry no licence to copy them here. The official side runs when
//! `CRT_CDA_PYTHON` names a Python with the kit's requirements (`.ci/run` sets it up);
//! otherwise the test says it was skipped and checks the project's side alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crt_core::corpus::CorpusRecord;
use crt_core::identity::{InsTraits, QualifiedIdentity};
use crt_core::record::{Ins, InsOid};
use crt_documents::{CdaModel, RenderContext, check, render};

#[derive(serde::Deserialize)]
struct Mutations {
    mutation: Vec<Mutation>,
}

#[derive(serde::Deserialize)]
struct Mutation {
    name: String,
    defect: String,
    reference: String,
    rule: String,
    /// The stage of the official chain that reports it: `xsd`, a profile, or the model.
    profile: String,
    official: String,
    /// Other stages that report the same defect in their own words.
    #[serde(default)]
    also: Vec<String>,
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

/// Every document the corpus gives, named `<record>.<model>.xml`: the example records
/// as they are, then the variants of `corpus.toml`.
fn generated() -> Vec<(String, Vec<u8>)> {
    let records = crt_core::corpus::records(&repo()).unwrap_or_else(|e| panic!("{e}"));
    let mut documents = Vec::new();
    for CorpusRecord {
        name,
        record,
        ins_traits,
    } in records
    {
        let identity = QualifiedIdentity {
            ins: record.beneficiary.ins.clone().unwrap_or(Ins {
                number: "279035121518989".into(),
                oid: InsOid::TestNir,
            }),
            traits: ins_traits.unwrap_or_else(|| {
                InsTraits::of_record(&record.beneficiary.identity).expect("INS form")
            }),
        };
        let context = RenderContext::for_record(&record, None);
        for model in [CdaModel::DluEhpad, CdaModel::DluDom, CdaModel::Plan] {
            if let Ok(document) = render(&record, model, &identity, &context) {
                documents.push((format!("{name}.{}.xml", model.slug()), document.xml));
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

/// The official chain's verdict per file name, from `check_cda.py`; `cross_check` is also
/// run through `validate_cda.py --chain` itself, which must agree with the batch run.
fn official_verdicts(
    python: &std::ffi::OsStr,
    dir: &Path,
    cross_check: Option<&str>,
) -> BTreeMap<String, Official> {
    let mut command = Command::new(python);
    command
        .arg(repo().join("tests/conformance/check_cda.py"))
        .arg(dir);
    if let Some(name) = cross_check {
        command.arg("--cross-check").arg(dir.join(name));
    }
    let output = command.output().expect("run the checker");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_ne!(
        output.status.code(),
        Some(2),
        "the official chain could not run, or its batch run disagrees with validate_cda.py:\n{stdout}{}",
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

/// The stage of the chain an error line names: `ERROR   [StrucMin] …` gives `StrucMin`.
fn stage(line: &str) -> &str {
    line.split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map_or("", |(label, _)| label)
}

/// Why the chain's errors do not match what the mutation says, if they do not: the stage
/// it names reports the pattern it names, and no stage it does not name reports anything.
fn mismatch(mutation: &Mutation, errors: &[String]) -> Option<String> {
    let named = errors
        .iter()
        .any(|e| stage(e) == mutation.profile && e.contains(&mutation.official));
    let others: Vec<&String> = errors
        .iter()
        .filter(|e| stage(e) != mutation.profile && !mutation.also.iter().any(|a| a == stage(e)))
        .collect();
    (!named || !others.is_empty()).then(|| {
        format!(
            "expected [{}] with {:?}{}, the chain reported {errors:?}",
            mutation.profile,
            mutation.official,
            if mutation.also.is_empty() {
                String::new()
            } else {
                format!(" (and possibly {:?})", mutation.also)
            }
        )
    })
}

#[test]
fn project_rules_and_official_chain_agree() {
    let mutations: Mutations = toml::from_str(
        &std::fs::read_to_string(repo().join("tests/conformance/mutations.toml"))
            .expect("mutations.toml"),
    )
    .expect("mutations.toml is valid");
    let dir = tempfile::tempdir().expect("temp dir");
    // Each document and the mutation it carries, if any.
    let mut documents: Vec<(String, Vec<u8>, Option<&Mutation>)> = generated()
        .into_iter()
        .map(|(name, xml)| (name, xml, None))
        .collect();
    assert!(
        documents.len() >= 30,
        "the corpus gives {}",
        documents.len()
    );
    let mut cross_check = None;
    match kit() {
        Some(kit) => {
            let official = std::fs::read_to_string(kit.join("examples/DLU-EHPAD-DLU_2022.01.xml"))
                .expect("the official example")
                .replace("\r\n", "\n");
            for mutation in &mutations.mutation {
                assert!(
                    !mutation.defect.is_empty() && !mutation.reference.is_empty(),
                    "mutation {} states its defect and reference",
                    mutation.name
                );
                let name = format!("mutated-{}.dlu-ehpad.xml", mutation.name);
                documents.push((name, mutation.apply(&official).into_bytes(), Some(mutation)));
            }
            documents.push(("official.dlu-ehpad.xml".into(), official.into_bytes(), None));
            cross_check = Some("official.dlu-ehpad.xml");
        }
        None => eprintln!(
            "the conformance kit was not found: the official example and its mutations are skipped"
        ),
    }

    let mut disagreements = Vec::new();
    for (name, xml, mutation) in &documents {
        std::fs::write(dir.path().join(name), xml).expect("write");
        let report = check::check(xml);
        if report.problems.is_empty() != mutation.is_none() {
            disagreements.push(format!(
                "{name}: the project's rules say {}: {:?}",
                if mutation.is_none() {
                    "invalid"
                } else {
                    "valid"
                },
                report.problems
            ));
        }
        if let Some(mutation) = mutation
            && !report.problems.iter().any(|p| p.rule == mutation.rule)
        {
            disagreements.push(format!(
                "{name}: rule {} not reported, found {:?}",
                mutation.rule, report.problems
            ));
        }
    }

    match std::env::var_os("CRT_CDA_PYTHON") {
        Some(python) => {
            let verdicts = official_verdicts(&python, dir.path(), cross_check);
            for (name, _, mutation) in &documents {
                match (verdicts.get(name), mutation) {
                    (None, _) => disagreements.push(format!("{name}: no verdict from the chain")),
                    (Some(official), None) if !official.passed => disagreements.push(format!(
                        "{name}: the official chain says invalid: {:?}",
                        official.errors
                    )),
                    (Some(official), Some(_)) if official.passed => {
                        disagreements.push(format!("{name}: the official chain says valid"))
                    }
                    (Some(official), Some(mutation)) => {
                        if let Some(why) = mismatch(mutation, &official.errors) {
                            disagreements.push(format!("{name}: {why}"));
                        }
                    }
                    (Some(_), None) => {}
                }
            }
        }
        None => eprintln!(
            "CRT_CDA_PYTHON is not set: the official chain's side is skipped (.ci/run runs it)"
        ),
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
