//! The scenario files: one TOML file per suite in `conformance/suites/`, each scenario
//! stating the requirement it checks and where the requirement is written.
//!
//! ```toml
//! suite = "dmp"
//! title = "DMP: feeding a patient's DMP"
//!
//! [[scenario]]
//! id = "DMP-01"
//! requirement = "A DLU for a patient with a qualified INS is stored (ITI-41 Success)."
//! reference = "IHE ITI TF-2b 3.41; ANS CI-SIS, DMP feeding"
//! action = "deliver"
//! record = "schemas/examples/home-volet2-pays-de-la-loire.json"
//! target = "dmp"
//! document = "dlu"
//! expect = { outcome = "delivered" }
//! ```
//!
//! `action = "consult"` feeds the DMP, then reads it back as a professional
//! (`member`, `mode`, `reinforced`); `action = "receive"` sends the CRT's mailbox a
//! partner's message about a record and has the gateway read it (`as_partner`, `tamper`).

use std::path::{Path, PathBuf};

use crt_core::record::Change;
use serde::Deserialize;

/// The suites the gateway ships, in the order a campaign runs them: one per national
/// service it delivers to, named as its target ([`crate::targets::TARGETS`]), then the ROR
/// publication and the regional platform of the record's region.
pub fn suites() -> Vec<&'static str> {
    crate::targets::TARGETS
        .iter()
        .map(|target| target.name())
        .chain(["ror", "region"])
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub suite: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "scenario")]
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub id: String,
    /// What the target must do, in a sentence a non-developer reads.
    pub requirement: String,
    /// Where the requirement is written (specification, section).
    pub reference: String,
    pub step: Step,
    pub expect: Expect,
}

/// The common keys first, then the rest as the step its `action` names, so that a key no
/// step knows is refused (serde's `flatten` would accept it).
impl<'de> Deserialize<'de> for Scenario {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(deserializer)?;
        let mut take = |key: &'static str| {
            table
                .remove(key)
                .ok_or_else(|| D::Error::missing_field(key))
        };
        let text = |value: toml::Value, key: &str| match value {
            toml::Value::String(text) => Ok(text),
            other => Err(D::Error::custom(format!(
                "{key}: a string is expected, not {}",
                other.type_str()
            ))),
        };
        let id = text(take("id")?, "id")?;
        let requirement = text(take("requirement")?, "requirement")?;
        let reference = text(take("reference")?, "reference")?;
        let expect: Expect = take("expect")?
            .try_into()
            .map_err(|e| D::Error::custom(format!("scenario {id}: expect: {e}")))?;
        let step: Step = toml::Value::Table(table)
            .try_into()
            .map_err(|e| D::Error::custom(format!("scenario {id}: {e}")))?;
        Ok(Scenario {
            id,
            requirement,
            reference,
            step,
            expect,
        })
    }
}

/// What a scenario does.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Carries out a record's delivery to one target (with the deliveries it waits for,
    /// such as the INS check), as the gateway would.
    Deliver {
        /// A CRT record file, relative to the repository root.
        record: PathBuf,
        /// `ins`, `dmp`, `mssante`, `viatrajectoire`, or `region` (the platform of the
        /// record's region).
        target: String,
        /// For `dmp` and `mssante`: which document (`dlu`, `plan`), when the record sends
        /// several.
        #[serde(default)]
        document: Option<String>,
        /// Changes to the record before it is checked and delivered.
        #[serde(default)]
        changes: Vec<Change>,
        #[serde(default)]
        tamper: Option<TamperStep>,
        /// Deliver a second time with the same delivery id: the target must recognise it.
        #[serde(default)]
        again: bool,
    },
    /// Feeds the DMP a record's document as `deliver` does, then consults the DMP as one
    /// professional of the care circle would: ITI-18 FindDocuments, and ITI-43 for the
    /// document fed when the DMP lists it to them.
    Consult {
        record: PathBuf,
        /// The document fed first (`dlu`, `plan`); the DLU by default.
        #[serde(default)]
        document: Option<String>,
        #[serde(default)]
        changes: Vec<Change>,
        /// The care-circle member who consults (`care_circle[].id`).
        member: String,
        /// The access mode, TRE_R248's code: `normal` (the default), `bris_de_glace`,
        /// `centre_15`.
        #[serde(default)]
        mode: Option<String>,
        /// Authenticated strongly (Pro Santé Connect, a CPS card): true by default.
        #[serde(default)]
        reinforced: Option<bool>,
    },
    /// Sends the CRT's own mailbox a partner's message about a record (the document
    /// message the gateway composes for it, with a Message-ID of its own), through the
    /// operator, then has the gateway read the mailbox: the message is matched against the
    /// scenario's record as the CRT follows it, kept, and answered with the volet's MDN,
    /// which the operator carries back.
    Receive {
        /// The beneficiary the CRT follows; `changes` make the partner's view of them.
        record: PathBuf,
        /// The document the partner sends (`dlu`, `plan`); the DLU by default.
        #[serde(default)]
        document: Option<String>,
        #[serde(default)]
        changes: Vec<Change>,
        /// A defect in the message, after it is composed.
        #[serde(default)]
        tamper: Option<TamperStep>,
    },
    /// Publishes a CRT offer file to the ROR.
    PublishOffer {
        offer: PathBuf,
        /// A change to the offer file's text before it is read (the first occurrence of
        /// `find` becomes `replace`): an offer the ROR holds in another state.
        #[serde(default)]
        edit: Option<TamperStep>,
        #[serde(default)]
        tamper: Option<TamperStep>,
        /// Publish a second time: nothing must be written.
        #[serde(default)]
        again: bool,
    },
}

/// A defect put into the first request sent: the first occurrence of `find` becomes
/// `replace`, after the gateway has built (and signed) the message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TamperStep {
    pub find: String,
    pub replace: String,
}

/// What the target must answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub outcome: Outcome,
    /// For a refusal: the error code (the service's code where it gives one).
    #[serde(default)]
    pub code: Option<String>,
    /// Text the receipt's summary or the refusal's message must contain.
    #[serde(default)]
    pub contains: Option<String>,
    /// Text one of the target's answers must contain, as it came over the wire (a fault
    /// code, an OperationOutcome).
    #[serde(default)]
    pub answer_contains: Option<String>,
    /// Nothing may be sent to the target (an opposition, for instance).
    #[serde(default)]
    pub sends_nothing: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The target accepted: a receipt.
    Delivered,
    /// Nothing was sent, for a reason the record gives (opposition, no recipient).
    Declined,
    /// The target refused.
    Refused,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("unknown suite {name:?}; the suites are {known:?}")]
    UnknownSuite {
        name: String,
        known: Vec<&'static str>,
    },
    #[error("{path}: scenario id {id} appears twice")]
    DuplicateId { path: PathBuf, id: String },
}

/// Reads `<dir>/<suite>.toml` for each suite asked for, or for every suite when none is.
pub fn load(dir: &Path, asked: &[String]) -> Result<Vec<Suite>, ScenarioError> {
    let known = suites();
    let names: Vec<&str> = if asked.is_empty() {
        known.clone()
    } else {
        asked.iter().map(String::as_str).collect()
    };
    let mut loaded = Vec::new();
    for name in names {
        if !known.contains(&name) {
            return Err(ScenarioError::UnknownSuite {
                name: name.to_string(),
                known,
            });
        }
        let path = dir.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).map_err(|source| ScenarioError::Read {
            path: path.clone(),
            source,
        })?;
        let suite: Suite = toml::from_str(&text).map_err(|e| ScenarioError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let mut ids: Vec<&str> = suite.scenarios.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(ScenarioError::DuplicateId {
                path,
                id: pair[0].to_string(),
            });
        }
        loaded.push(suite);
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_suites_read_and_state_their_requirements() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/suites");
        let suites = load(&dir, &[]).expect("the shipped suites");
        let names: Vec<&str> = suites.iter().map(|s| s.suite.as_str()).collect();
        assert_eq!(
            names,
            [
                "ins",
                "dmp",
                "mssante",
                "viatrajectoire",
                "directory",
                "ror",
                "region"
            ]
        );
        for suite in &suites {
            assert!(!suite.scenarios.is_empty(), "{}", suite.suite);
            for scenario in &suite.scenarios {
                assert!(
                    !scenario.requirement.trim().is_empty()
                        && !scenario.reference.trim().is_empty(),
                    "{}",
                    scenario.id
                );
            }
        }
    }

    #[test]
    fn an_unknown_suite_or_field_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(matches!(
            load(dir.path(), &["nope".into()]),
            Err(ScenarioError::UnknownSuite { .. })
        ));
        std::fs::write(
            dir.path().join("ins.toml"),
            "suite = \"ins\"\ntitle = \"t\"\n[[scenario]]\nid = \"A\"\nrequirement = \"r\"\nreference = \"x\"\naction = \"deliver\"\nrecord = \"r.json\"\ntarget = \"ins\"\ncolour = \"red\"\nexpect = { outcome = \"delivered\" }\n",
        )
        .expect("write");
        assert!(matches!(
            load(dir.path(), &["ins".into()]),
            Err(ScenarioError::Parse { .. })
        ));
    }
}
