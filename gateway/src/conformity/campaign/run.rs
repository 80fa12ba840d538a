//! Running scenarios against a target: the sandbox's simulators, or the platforms a
//! gateway configuration file names (URLs, certificates). A scenario goes through the
//! gateway's own sinks and clients, so what is tested is what the gateway sends; every
//! message exchanged is recorded ([`crt_core::transcript`]) for the report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crt_core::RecordValidator;
use crt_core::record::{Action, Channel, DocumentKind};
use crt_core::sink::{DeliveryError, DeliveryTask, Receipt, UpstreamReceipt, Work};
use crt_core::transcript::{self, Exchange, Tamper, Transcript};
use crt_dmp::consult::{ConsultError, Consultation};
use crt_dmp::vihf::AccessMode;
use crt_mssante::ack;
use crt_ror::client::RorClient;
use serde_json::Value;
use uuid::Uuid;

use super::scenario::{Expect, Outcome, Scenario, Step, Suite, TamperStep};
use super::{ScenarioResult, Verdict};
use crate::config::Config;
use crate::inbox::Imported;
use crate::inbox::matching::Beneficiaries;
use crate::registry::Registry;
use crate::sandbox::Sandbox;
use crate::store::ReceivedStatus;
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
    /// Where a scenario keeps what it receives (a store of its own).
    scratch: PathBuf,
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
            scratch: data_dir.to_path_buf(),
            description: "the sandbox: the gateway's simulators of each service, on loopback"
                .into(),
        })
    }

    /// The platforms a gateway configuration names (`sandbox.enabled = false`).
    pub fn target(root: &Path, file: &Path, data_dir: &Path) -> Result<Environment, SetupError> {
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
            scratch: data_dir.to_path_buf(),
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
        // A received message's defect is put in by the step itself: it is not a request
        // the transcript sees leave.
        let tamper = match &scenario.step {
            Step::Deliver { tamper, .. } | Step::PublishOffer { tamper, .. } => tamper.clone(),
            Step::Consult { .. } | Step::Receive { .. } => None,
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
            Step::Consult {
                record,
                document,
                changes,
                member,
                mode,
                reinforced,
            } => {
                let mode = mode.as_deref().unwrap_or("normal");
                let mode = AccessMode::from_code(mode).ok_or_else(|| {
                    format!("mode {mode:?}: expected normal, bris_de_glace or centre_15")
                })?;
                let document = document.as_deref().unwrap_or("dlu");
                self.consult(
                    record,
                    document,
                    changes,
                    member,
                    mode,
                    reinforced.unwrap_or(true),
                )
                .await
            }
            Step::Receive {
                record,
                document,
                changes,
                tamper,
            } => {
                let document = document.as_deref().unwrap_or("dlu");
                self.receive(record, document, changes, tamper.as_ref())
                    .await
            }
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
        let mut task = match self.prepare(record, target, document).await? {
            Prepared::Ready(task) => task,
            Prepared::Stopped(observation) => return Ok(observation),
        };
        let target = task.target.clone();
        let first = Observation::of(self.attempt(&target, &task.task).await?);
        if !again {
            return Ok(first);
        }
        task.task.attempt = 2;
        let second = Observation::of(self.attempt(&target, &task.task).await?);
        Ok(first.then(second))
    }

    /// The delivery of `record` to `target` (of `document` when it sends several), after
    /// the deliveries it waits for went as the engine would send them.
    async fn prepare(
        &self,
        record: crt_core::CrtRecord,
        target: &str,
        document: Option<&str>,
    ) -> Result<Prepared, String> {
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
                    return Ok(Prepared::Stopped(Observation::refused(
                        &error,
                        format!("the {} delivery it waits for failed", dependency.target),
                    )));
                }
            }
        }
        Ok(Prepared::Ready(TargetTask {
            task: task(chosen.id, record_id, &chosen.work, &record, upstream),
            target,
        }))
    }

    /// Feeds the DMP `document`, then searches and reads it as care-circle member
    /// `member` would.
    async fn consult(
        &self,
        path: &Path,
        document: &str,
        changes: &[Change],
        member: &str,
        mode: AccessMode,
        reinforced: bool,
    ) -> Result<Observation, String> {
        let record = self.record(path, changes)?;
        let professional = record
            .professional(member)
            .cloned()
            .ok_or_else(|| format!("the record's care circle has no member {member:?}"))?;
        let dmp = self
            .registry
            .dmp()
            .cloned()
            .ok_or("dmp is not enabled in this target's configuration")?;
        let fed = match self.prepare(record.clone(), "dmp", Some(document)).await? {
            Prepared::Ready(task) => self.attempt("dmp", &task.task).await?,
            Prepared::Stopped(observation) => return Ok(observation),
        };
        let unique_id = match fed {
            Ok(receipt) => receipt.details["unique_id"]
                .as_str()
                .map(str::to_string)
                .ok_or("the DMP's receipt names no document uniqueId")?,
            Err(error) => {
                return Ok(Observation::refused(&error, "feeding the DMP first".into()));
            }
        };
        let consultation = Consultation {
            record: &record,
            professional: &professional,
            mode,
            reinforced,
        };
        let consulted = |error: ConsultError, step: &str| match error {
            ConsultError::Dmp(e) => Observation::refused(&e.into_delivery_error(), step.into()),
            other => Observation {
                outcome: Outcome::Refused,
                code: Some("identity-not-qualified".into()),
                text: format!("{step}: {other}"),
                remote_id: None,
                writes: None,
                second: None,
            },
        };
        let listed = match dmp.search(&consultation).await {
            Ok(listed) => listed,
            Err(e) => return Ok(consulted(e, "ITI-18")),
        };
        let mut text = format!("ITI-18 listed {} document(s)", listed.len());
        if !listed.iter().any(|found| found.unique_id == unique_id) {
            text.push_str(&format!("; {document} {unique_id} not listed"));
        } else {
            match dmp.read(&consultation, &unique_id).await {
                Ok(Some((media_type, content))) => text.push_str(&format!(
                    "; ITI-43 read {document} {unique_id} ({} bytes, {media_type})",
                    content.len()
                )),
                Ok(None) => text.push_str(&format!("; ITI-43 returned no {document}")),
                Err(e) => return Ok(consulted(e, &text)),
            }
        }
        Ok(Observation {
            outcome: Outcome::Delivered,
            code: None,
            text,
            remote_id: None,
            writes: None,
            second: None,
        })
    }

    /// Sends the CRT's mailbox the message a partner would send about `record` changed by
    /// `changes`, then reads the mailbox as the gateway does, with the record as the CRT
    /// follows it, and waits for the MDN to come back.
    async fn receive(
        &self,
        path: &Path,
        document: &str,
        changes: &[Change],
        tamper: Option<&TamperStep>,
    ) -> Result<Observation, String> {
        let followed = self.record(path, &[])?;
        let partner = self.record(path, changes)?;
        let sink = self
            .registry
            .mssante()
            .cloned()
            .ok_or("mssante is not enabled in this target's configuration")?;
        let kind = match document {
            "plan" => DocumentKind::Plan,
            _ => DocumentKind::Dlu,
        };
        let task = DeliveryTask::document(Arc::new(partner), kind, Channel::Mssante);
        let composed = match sink.compose(&task, kind) {
            Ok(Some(composed)) => composed,
            Ok(None) => return Err("the record gives the message no recipient".into()),
            Err(error) => return Ok(Observation::refused(&error, "composing".into())),
        };
        let mailbox = composed.from.to_string();
        let message_id = composed.message_id.trim_matches(['<', '>']).to_string();
        let mut bytes = composed.bytes.clone();
        if let Some(TamperStep { find, replace }) = tamper {
            let at = crt_core::multipart::find(&bytes, find.as_bytes(), 0)
                .ok_or("the defect to put into the message was not found in it")?;
            bytes.splice(at..at + find.len(), replace.bytes());
        }
        let sender = composed.sender.clone();
        if let Err(error) = sink
            .send_to_one(&sender, &mailbox, &bytes, &message_id)
            .await
        {
            return Ok(Observation::refused(&error, "the operator".into()));
        }
        let endpoint = sink
            .config()
            .imap
            .as_deref()
            .ok_or("the target's configuration names no IMAP server (mssante.imap)")?;
        let endpoint = crt_mssante::imap::Endpoint::parse(endpoint).map_err(|e| e.to_string())?;
        let storage = crate::store::StorageConfig {
            data_dir: self.scratch.join("received"),
            ..Default::default()
        };
        std::fs::create_dir_all(&storage.data_dir).map_err(|e| e.to_string())?;
        let sealer = storage.sealer().map_err(|e| e.to_string())?;
        let store = crate::store::open(&storage, Some(Arc::new(sealer)))
            .await
            .map_err(|e| e.to_string())?;
        let importer = crate::inbox::Importer {
            store: store.as_ref(),
            sink: &sink,
            pseudonyms: None,
            caller: "conformance",
        };
        let mut beneficiaries = Some(Beneficiaries::of_records(
            std::slice::from_ref(&followed),
            &mailbox,
        ));
        let timeout = Duration::from_secs(10);
        let received = mailbox_message(&endpoint, &sender, timeout, |message| {
            crt_core::multipart::find(message, message_id.as_bytes(), 0).is_some()
                && ack::read(message).is_empty()
        })
        .await?;
        let imported = importer
            .import(&sender, &received, &mut beneficiaries)
            .await
            .map_err(|e| e.to_string())?;
        let Imported::Kept { id, status, .. } = imported else {
            return Ok(Observation {
                outcome: Outcome::Declined,
                code: None,
                text: "read as a message for people: not imported".into(),
                remote_id: None,
                writes: None,
                second: None,
            });
        };
        let view = store
            .received_message(id)
            .await
            .map_err(|e| e.to_string())?
            .map(|original| original.view);
        let reason = view.as_ref().and_then(|v| v.reason.clone());
        let matched_by = view
            .as_ref()
            .and_then(|v| v.summary["matched_by"].as_str().map(str::to_string));
        let mdn = mailbox_message(&endpoint, &sender, timeout, |message| {
            ack::read(message)
                .iter()
                .any(|a| a.original_message_id == message_id)
        })
        .await
        .ok()
        .and_then(|message| {
            ack::read(&message)
                .into_iter()
                .find(|a| a.original_message_id == message_id)
        });
        let answered = match &mdn {
            Some(ack) => format!(
                "the MDN came back: {}{}",
                ack.status.as_str(),
                ack.code
                    .as_ref()
                    .map(|code| format!(" {code}"))
                    .unwrap_or_default()
            ),
            None => "no MDN came back".into(),
        };
        Ok(match status {
            ReceivedStatus::Attached => Observation {
                outcome: Outcome::Delivered,
                code: None,
                text: format!(
                    "attached (matched by {}); {answered}",
                    matched_by.as_deref().unwrap_or("?")
                ),
                remote_id: None,
                writes: None,
                second: None,
            },
            other => Observation {
                outcome: Outcome::Refused,
                code: reason
                    .as_deref()
                    .and_then(|r| r.split('^').next())
                    .map(str::to_string),
                text: format!(
                    "{}: {}; {answered}",
                    other.as_str(),
                    reason.as_deref().unwrap_or("no reason")
                ),
                remote_id: None,
                writes: None,
                second: None,
            },
        })
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

/// A delivery ready to go, or what stopped it before (a delivery it waits for failed).
enum Prepared {
    Ready(TargetTask),
    Stopped(Observation),
}

struct TargetTask {
    task: DeliveryTask,
    target: String,
}

/// The first unseen message of `sender`'s mailbox that `wanted` accepts, marked seen;
/// polled until `timeout`.
async fn mailbox_message(
    endpoint: &crt_mssante::imap::Endpoint,
    sender: &crt_mssante::sink::Sender,
    timeout: Duration,
    wanted: impl Fn(&[u8]) -> bool,
) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let mailbox = sender.address.to_string();
    loop {
        let mut session =
            crt_mssante::imap::Session::open(endpoint, sender.tls.clone(), &mailbox, timeout)
                .await
                .map_err(|e| e.to_string())?;
        for uid in session.unseen().await.map_err(|e| e.to_string())? {
            let Some(message) = session.fetch(uid).await.map_err(|e| e.to_string())? else {
                continue;
            };
            if wanted(&message) {
                session.mark_seen(uid).await.map_err(|e| e.to_string())?;
                session.logout().await;
                return Ok(message);
            }
        }
        session.logout().await;
        if Instant::now() > deadline {
            return Err(format!(
                "the message did not reach {mailbox} within {} s",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
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
