//! The journal: a file per delivered record, written atomically, in a directory.
//!
//! It is the gateway's own archive of what it accepted, and the simplest target on which
//! to see the delivery path work end to end. Writes are idempotent: the file is named after
//! the delivery, so a repeated attempt finds the file of the first one and says so instead
//! of writing twice.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crt_core::sink::{
    Artifact, Attempt, BoxFuture, DeliveryError, DeliveryTask, Health, Receipt, RetryPolicy, Sink,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::digest::sha256_hex;

/// The journal's target name.
pub const JOURNAL: &str = "journal";

/// The journal keeps a copy of every accepted record as a file: the gateway's own archive,
/// and the simplest target to watch the pipeline work.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    pub enabled: bool,
    /// Defaults to `<data_dir>/journal`.
    pub directory: Option<PathBuf>,
    /// Pause before each write, to watch deliveries in flight (tests, demonstrations).
    pub delay_ms: u64,
    pub retry: RetryPolicy,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            enabled: true,
            directory: None,
            delay_ms: 0,
            retry: RetryPolicy::default(),
        }
    }
}

pub struct JournalSink {
    directory: PathBuf,
    delay: Duration,
    retry: RetryPolicy,
}

impl JournalSink {
    pub fn new(directory: PathBuf, config: &JournalConfig) -> std::io::Result<Self> {
        std::fs::create_dir_all(&directory)?;
        Ok(JournalSink {
            directory,
            delay: Duration::from_millis(config.delay_ms),
            retry: config.retry.clone(),
        })
    }

    fn entry(task: &DeliveryTask) -> Result<Vec<u8>, DeliveryError> {
        let entry = json!({
            "record_id": task.record_id,
            "delivery_id": task.delivery_id,
            "record": &*task.record,
        });
        let mut bytes = serde_json::to_vec_pretty(&entry)
            .map_err(|e| DeliveryError::final_error("encode", e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Writes `bytes` to `path` so that the file is either absent or complete, and durable.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

impl Sink for JournalSink {
    fn target(&self) -> &str {
        JOURNAL
    }

    fn check(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move {
            match tokio::fs::metadata(&self.directory).await {
                Ok(meta) if meta.is_dir() && !meta.permissions().readonly() => {
                    Health::up(format!("writing to {}", self.directory.display()))
                }
                Ok(_) => Health::down(format!(
                    "{} is not a writable directory",
                    self.directory.display()
                )),
                Err(e) => Health::down(format!("{}: {e}", self.directory.display())),
            }
        })
    }

    fn deliver<'a>(&'a self, task: &'a DeliveryTask) -> Attempt<'a> {
        Box::pin(async move {
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            let bytes = Self::entry(task)?;
            let name = format!("{}.json", task.delivery_id);
            let path = self.directory.join(&name);
            let digest = sha256_hex(&bytes);
            let existing = tokio::fs::read(&path).await.ok();
            let replayed = match existing {
                Some(previous) if previous == bytes => true,
                Some(_) => {
                    return Err(DeliveryError::final_error(
                        "journal-conflict",
                        format!("{name} exists with other content"),
                    ));
                }
                None => {
                    let (target, content) = (path.clone(), bytes.clone());
                    tokio::task::spawn_blocking(move || write_atomically(&target, &content))
                        .await
                        .map_err(|e| DeliveryError::retryable("io", e.to_string()))?
                        .map_err(|e| {
                            DeliveryError::retryable("io", format!("{}: {e}", path.display()))
                        })?;
                    false
                }
            };
            let summary = if replayed {
                format!("already journaled as {name}")
            } else {
                format!("journaled as {name}")
            };
            Ok(Receipt::delivered(summary)
                .with_remote_id(name)
                .with_details(
                    json!({ "sha256": digest, "bytes": bytes.len(), "replayed": replayed }),
                )
                .with_artifact(Artifact {
                    name: "record.json".into(),
                    media_type: "application/json".into(),
                    content: bytes,
                }))
        })
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}
