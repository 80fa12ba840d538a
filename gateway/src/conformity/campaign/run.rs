//! Running scenarios against a target: the sandbox's simulators, or the platforms a
//! gateway configuration file names (URLs, certificates). A scenario goes through the
//! gateway's own sinks and clients, so what is tested is what the gateway sends; every
//! message exchanged is recorded ([`crt_core::transcript`]) for the report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crt_core::RecordValidator;
use crt_core::record::Action;
use crt_core::sink::{DeliveryError, DeliveryTask, Receipt, UpstreamReceipt, Work};
use crt_core::transcript::{self, Exchange, Tamper, Transcript};
use crt_ror::client::RorClient;
use serde_json::Value;
use uuid::Uuid;

use super::scenario::{Expect, Outcome, Scenario, Step, Suite, TamperStep};
use super::{ScenarioResult, Verdict};
use crate::config::Config;
use crate::registry::Registry;
use crate::sandbox::Sandbox;
use crt_core::record::Change;

/// No scenario may take longer than this, whatever the target does.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("sandbox: {0}")]
    Sandbox(#[from] crate::sandbox::SandboxError),
    #[error("{0}")]
    Registry(#[from] crate::registry::RegistryError),
    #[error("ror: {0}")]
    Ror(#[from] crt_ror::client::RorError),
    #[error("{path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where scenarios run: the sinks of a configuration, and the simulators when it is the
/// sandbox.
pub struct Environment {
    registry: Registry,
    ror: Option<RorClient>,
    sandbox: Option<Sandbox>,
    validator: RecordValidator,
    /// Where record and offer paths of the scenarios are read from.
    root: PathBuf,
    /// What the report names as the target.
    pub description: String,
}

impl Environment {
    /// The sandbox: every simulator on loopback, the test PKI, a scratch data directory.
    pub async fn sandbox(root: &Path, data_dir: &Path) -> Result<Environment, SetupError> {
        let mut config = Config::load(None, std::iter::empty())?;
        config.sandbox.enabled = true;
        config.storage.data_dir = data_dir.to_path_buf();
        if !config.sandbox.certs_dir.is_absolute() && !config.sandbox.certs_dir.exists() {
            config.sandbox.certs_dir = root.join(&config.sandbox.certs_dir);
        }
        std::fs::create_dir_all(data_dir).map_err(|source| SetupError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let mut sandbox = Sandbox::start(&config).await?;
        sandbox.start_ror().await?;
        let config = sandbox.configure(&config);
        let registry = Registry::from_config(&config, Some(sandbox.issuer()))?;
        let ror = RorClient::new(&config.ror)?;
        Ok(Environment {
            registry,
            ror: Some(ror),
            sandbox: Some(sandbox),
            validator: crate::registry::record_validator(),
            root: root.to_path_buf(),
            description: "the sandbox: the gateway's simulators of each service, on loopback"
                .into(),
        })
    }

    /// The platforms a gateway configuration names (`sandbox.enabled = false`).
    pub fn target(root: &Path, file: &Path) -> Result<Environment, SetupError> {
        let mut config = Config::load(Some(file), std::iter::empty())?;
        config.sandbox.enabled = false;
        crt_core::tls::install_default_provider();
        let registry = Registry::from_config(&config, None)?;
        let ror = match config.ror.access.base_url {
            Some(_) => Some(RorClient::new(&config.ror)?),
            None => None,
        };
        Ok(Environment {
            registry,
            ror,
            sandbox: None,
            validator: crate::registry::record_validator(),
            root: root.to_path_buf(),
            description: format!("the platforms named in {}", file.display()),
        })
    }

    pub fn stop(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.stop();
        }
    }

    /// Runs every scenario of `suite`, one after the other.
    pub async fn run_suite(&self, suite: &Suite) -> Vec<ScenarioResult> {
        let mut results = Vec::new();
        for scenario in &suite.scenarios {
            results.push(self.run(&suite.suite, scenario).await);
        }
        results
    }

    async fn run(&self, suite: &str, scenario: &Scenario) -> ScenarioResult {
        let tamper = match &scenario.step {
            Step::Deliver { tamper, .. } | Step::PublishOffer { tamper, .. } => tamper.clone(),
        };
        let recorder = Transcript::new(
            tamper
                .clone()
                .map(|TamperStep { find, replace }| Tamper { find, replace }),
        );
        let started = Instant::now();
        let observed = tokio::time::timeout(
            SCENARIO_TIMEOUT,
            transcript::recorded(recorder.clone(), self.step(&scenario.step)),
        )
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no outcome within {} s",
                SCENARIO_TIMEOUT.as_secs()
            ))
        });
        let (verdict, observed_text) = match observed {
            Err(problem) => (Verdict::Error, problem),
            Ok(_) if tamper.is_some() && !recorder.tamper_applied() => (
                Verdict::Error,
                "the defect to put into the request was not found in what was sent".into(),
            ),
            Ok(observation) => {
                let failures = observation.compare(&scenario.expect, &recorder.exchanges());
                let text = observation.describe();
                if failures.is_empty() {
                    (Verdict::Passed, text)
                } else {
                    (Verdict::Failed, format!("{text}. {}", failures.join(" ")))
                }
            }
        };
        ScenarioResult {
            suite: suite.to_string(),
            id: scenario.id.clone(),
            requirement: scenario.requirement.clone(),
            reference: scenario.reference.clone(),
            expected: describe_expect(&scenario.expect),
            observed: observed_text,
            verdict,
            duration_ms: started.elapsed().as_millis() as u64,
            exchanges: recorder.exchanges(),
        }
    }

    async fn step(&self, step: &Step) -> Result<Observation, String> {
        match step {
            Step::Deliver {
                record,
                target,
                document,
                changes,
                again,
                ..
            } => {
                self.deliver(record, target, document.as_deref(), changes, *again)
                    .await
            }
            Step::PublishOffer {
                offer, edit, again, ..
            } => self.publish(offer, edit.as_ref(), *again).await,
        }
    }

    async fn deliver(
        &self,
        path: &Path,
        target: &str,
        document: Option<&str>,
        changes: &[Change],
        again: bool,
    ) -> Result<Observation, String> {
        let record = self.record(path, changes)?;
        let target = if target == "region" {
            self.registry
                .region_target(record.crt.region)
                .ok_or_else(|| {
                    format!(
                        "no regional platform serves region {}",
                        record.crt.region.code()
                    )
                })?
                .to_string()
        } else {
            target.to_string()
        };
        let plan = crate::routing::plan(&record, None, &self.registry).map_err(|violations| {
            let violations: Vec<String> = violations
                .into_vec()
                .iter()
                .map(ToString::to_string)
                .collect();
            format!(
                "the gateway refuses the scenario's record: {}",
                violations.join("; ")
            )
        })?;
        let chosen = plan
            .iter()
            .find(|d| d.target == target && document.is_none_or(|kind| sends(&d.work, kind)))
            .ok_or_else(|| format!("the record asks for no delivery to {target}"))?;
        let record = Arc::new(record);
        let record_id = Uuid::now_v7();
        // The deliveries it waits for (the INS check) go first, as the engine would.
        let mut upstream = Vec::new();
        for dependency in plan.iter().filter(|d| chosen.depends_on.contains(&d.id)) {
            let task = task(
                dependency.id,
                record_id,
                &dependency.work,
                &record,
                Vec::new(),
            );
            match self.attempt(&dependency.target, &task).await? {
                Ok(receipt) => upstream.push(UpstreamReceipt {
                    target: dependency.target.clone(),
                    receipt,
                }),
                Err(error) => {
                    return Ok(Observation::refused(
                        &error,
                        format!("the {} delivery it waits for failed", dependency.target),
                    ));
                }
            }
        }
        let mut task = task(chosen.id, record_id, &chosen.work, &record, upstream);
        let first = Observation::of(self.attempt(&target, &task).await?);
        if !again {
            return Ok(first);
        }
        task.attempt = 2;
        let second = Observation::of(self.attempt(&target, &task).await?);
        Ok(first.then(second))
    }

    async fn attempt(
        &self,
        target: &str,
        task: &DeliveryTask,
    ) -> Result<Result<Receipt, DeliveryError>, String> {
        let sink = self
            .registry
            .get(target)
            .ok_or_else(|| format!("{target} is not enabled in this target's configuration"))?;
        Ok(sink.deliver(task).await)
    }

    /// The scenario's record, changed as it says, and checked as the API checks it.
    fn record(&self, path: &Path, changes: &[Change]) -> Result<crt_core::CrtRecord, String> {
        let file = self.root.join(path);
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
        for change in changes {
            change.apply(&mut value)?;
        }
        self.validator.validate_value(value).map_err(|e| {
            format!(
                "the scenario's record is not valid ({}): {e}",
                file.display()
            )
        })
    }

    async fn publish(
        &self,
        path: &Path,
        edit: Option<&TamperStep>,
        again: bool,
    ) -> Result<Observation, String> {
        let client = self
            .ror
            .as_ref()
            .ok_or("the target's configuration names no ROR ([ror] base_url)")?;
        let file = self.root.join(path);
        let mut text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        if let Some(TamperStep { find, replace }) = edit {
            if !text.contains(find.as_str()) {
                return Err(format!(
                    "{}: the edit's text {find:?} is not in it",
                    file.display()
                ));
            }
            text = text.replacen(find.as_str(), replace, 1);
        }
        let offer = crt_ror::offer::Offer::read(&text)
            .map_err(|e| format!("{}: not a valid offer: {e}", file.display()))?;
        if let Some(sandbox) = &self.sandbox {
            sandbox
                .hold_ror_structure(&offer)
                .map_err(|e| e.to_string())?;
        }
        let published =
            |result: Result<crt_ror::publish::Plan, crt_ror::publish::PublishError>| match result {
                Ok(plan) => Observation {
                    outcome: Outcome::Delivered,
                    code: None,
                    text: format!(
                        "published: {} write(s), {} found, {} unchanged",
                        plan.writes(),
                        plan.steps
                            .iter()
                            .filter(|s| matches!(s.action, crt_ror::publish::Action::Found))
                            .count(),
                        plan.steps
                            .iter()
                            .filter(|s| matches!(s.action, crt_ror::publish::Action::Unchanged))
                            .count()
                    ),
                    remote_id: None,
                    writes: Some(plan.writes()),
                    second: None,
                },
                Err(e) => Observation {
                    outcome: Outcome::Refused,
                    code: Some(publish_code(&e)),
                    text: e.to_string(),
                    remote_id: None,
                    writes: None,
                    second: None,
                },
            };
        let first = published(crt_ror::publish::publish(client, &offer, false).await);
        if !again {
            return Ok(first);
        }
        let second = published(crt_ror::publish::publish(client, &offer, false).await);
        Ok(first.then(second))
    }
}

/// A refusal's code: the HTTP status the ROR answered, or what kind of failure it was.
fn publish_code(error: &crt_ror::publish::PublishError) -> String {
    use crt_ror::client::RorError;
    match error {
        crt_ror::publish::PublishError::Ror(RorError::Refused { status, .. }) => status.to_string(),
        crt_ror::publish::PublishError::Ror(RorError::Http(e)) => e.code().to_string(),
        crt_ror::publish::PublishError::Ror(_) => "ror".into(),
        _ => "publish".into(),
    }
}

fn task(
    id: Uuid,
    record_id: Uuid,
    work: &Work,
    record: &Arc<crt_core::CrtRecord>,
    upstream: Vec<UpstreamReceipt>,
) -> DeliveryTask {
    DeliveryTask {
        delivery_id: id,
        record_id,
        attempt: 1,
        work: work.clone(),
        record: record.clone(),
        upstream,
    }
}

fn sends(work: &Work, kind: &str) -> bool {
    matches!(work, Work::Action { action: Action::SendDocument { document, .. } } if document.as_str() == kind)
}

/// What the target did.
#[derive(Debug, Clone)]
struct Observation {
    outcome: Outcome,
    code: Option<String>,
    text: String,
    remote_id: Option<String>,
    /// For a publication: the resources written.
    writes: Option<usize>,
    /// What the second attempt did, when the scenario asks for one.
    second: Option<Box<Observation>>,
}

impl Observation {
    fn of(result: Result<Receipt, DeliveryError>) -> Observation {
        match result {
            Ok(receipt) => Observation {
                outcome: match receipt.outcome {
                    crt_core::sink::Outcome::Delivered => Outcome::Delivered,
                    crt_core::sink::Outcome::Declined => Outcome::Declined,
                },
                code: None,
                text: receipt.summary,
                remote_id: receipt.remote_id,
                writes: None,
                second: None,
            },
            Err(error) => Observation::refused(&error, String::new()),
        }
    }

    fn refused(error: &DeliveryError, context: String) -> Observation {
        let text = if context.is_empty() {
            error.message.clone()
        } else {
            format!("{context}: {}", error.message)
        };
        Observation {
            outcome: Outcome::Refused,
            code: Some(error.code.clone()),
            text,
            remote_id: None,
            writes: None,
            second: None,
        }
    }

    fn then(mut self, second: Observation) -> Observation {
        self.second = Some(Box::new(second));
        self
    }

    fn describe(&self) -> String {
        let mut text = match (&self.outcome, &self.code) {
            (Outcome::Refused, Some(code)) => format!("refused [{code}]: {}", self.text),
            (outcome, _) => format!("{}: {}", outcome_word(*outcome), self.text),
        };
        if let Some(id) = &self.remote_id {
            text.push_str(&format!(" (id {id})"));
        }
        if let Some(second) = &self.second {
            text.push_str(&format!("; second attempt {}", second.describe()));
        }
        text
    }

    /// What differs from the expectation, one sentence each.
    fn compare(&self, expect: &Expect, exchanges: &[Exchange]) -> Vec<String> {
        let mut failures = Vec::new();
        if self.outcome != expect.outcome {
            failures.push(format!(
                "Expected {}, observed {}.",
                outcome_word(expect.outcome),
                outcome_word(self.outcome)
            ));
        }
        if let Some(code) = &expect.code
            && self.code.as_deref() != Some(code.as_str())
        {
            failures.push(format!("Expected code {code}."));
        }
        if let Some(needle) = &expect.contains
            && !self.text.contains(needle.as_str())
        {
            failures.push(format!("Expected the answer to mention {needle:?}."));
        }
        if let Some(needle) = &expect.answer_contains {
            let found = exchanges.iter().any(|e| {
                crt_core::multipart::find(&e.response_body, needle.as_bytes(), 0).is_some()
            });
            if !found {
                failures.push(format!("Expected an answer containing {needle:?}."));
            }
        }
        if expect.sends_nothing && !exchanges.is_empty() {
            failures.push(format!(
                "Expected nothing to be sent; {} message(s) were.",
                exchanges.len()
            ));
        }
        if let Some(second) = &self.second {
            if second.outcome != self.outcome {
                failures.push(format!(
                    "The second attempt was {} where the first was {}.",
                    outcome_word(second.outcome),
                    outcome_word(self.outcome)
                ));
            }
            if self.remote_id.is_some() && second.remote_id != self.remote_id {
                failures.push(
                    "The second attempt was not recognised as the same delivery (another id)."
                        .into(),
                );
            }
            if second.writes.is_some_and(|w| w > 0) {
                failures.push("The second publication wrote again.".into());
            }
        }
        failures
    }
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Delivered => "accepted",
        Outcome::Declined => "not sent",
        Outcome::Refused => "refused",
    }
}

fn describe_expect(expect: &Expect) -> String {
    let mut text = outcome_word(expect.outcome).to_string();
    if let Some(code) = &expect.code {
        text.push_str(&format!(" [{code}]"));
    }
    if let Some(needle) = &expect.contains {
        text.push_str(&format!(", mentioning {needle:?}"));
    }
    if let Some(needle) = &expect.answer_contains {
        text.push_str(&format!(", an answer containing {needle:?}"));
    }
    if expect.sends_nothing {
        text.push_str(", nothing sent");
    }
    text
}
