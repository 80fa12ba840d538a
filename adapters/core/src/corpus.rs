//! The corpus of records the conformance tests render and send: the example records of
//! `schemas/examples/` as they are, then the variants of `tests/conformance/corpus.toml`
//! (records that exercise every optional part of the schema, each derived from an example
//! by changes at JSON pointers). Several crates test against it, each from its side (the
//! documents against the official CDA chain, the DMP envelopes against the official value
//! sets); one reader keeps them on the same records.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::identity::InsTraits;
use crate::record::Change;
use crate::{CrtRecord, RecordValidator};

/// One record of the corpus.
pub struct CorpusRecord {
    /// The example's file stem, or the variant's name.
    pub name: String,
    pub record: CrtRecord,
    /// The traits INSi returned for the identity, when they are not the DUI's.
    pub ins_traits: Option<InsTraits>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    variant: Vec<Variant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Variant {
    name: String,
    description: String,
    record: PathBuf,
    #[serde(default)]
    changes: Vec<Change>,
    #[serde(default)]
    ins_traits: Option<InsTraits>,
}

/// Every record of the corpus, from the repository at `repo`, each valid as intake
/// validates it. The error names the file or variant at fault.
pub fn records(repo: &Path) -> Result<Vec<CorpusRecord>, String> {
    let validator = RecordValidator::new();
    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo.join("schemas/examples"))
        .map_err(|e| format!("schemas/examples: {e}"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut records = Vec::new();
    for path in paths {
        let record = validator
            .parse(&read(&path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        records.push(CorpusRecord {
            name,
            record,
            ins_traits: None,
        });
    }
    let text = std::fs::read_to_string(repo.join("tests/conformance/corpus.toml"))
        .map_err(|e| format!("corpus.toml: {e}"))?;
    let corpus: Corpus = toml::from_str(&text).map_err(|e| format!("corpus.toml: {e}"))?;
    for variant in corpus.variant {
        if variant.description.is_empty() {
            return Err(format!("variant {} says not what it is for", variant.name));
        }
        let mut value: serde_json::Value =
            serde_json::from_slice(&read(&repo.join(&variant.record))?)
                .map_err(|e| format!("variant {}: {e}", variant.name))?;
        for change in &variant.changes {
            change
                .apply(&mut value)
                .map_err(|e| format!("variant {}: {e}", variant.name))?;
        }
        let record = validator
            .validate_value(value)
            .map_err(|e| format!("variant {} is not a valid record: {e}", variant.name))?;
        records.push(CorpusRecord {
            name: variant.name,
            record,
            ins_traits: variant.ins_traits,
        });
    }
    Ok(records)
}
