//! Logging. Events carry identifiers (record, delivery, target) and never identity traits
//! or health data: handlers log ids, not payloads, and errors are written so that they do
//! not quote the input they refuse.

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

/// Overrides `[log] level` (a tracing filter).
pub const ENV_LOG: &str = "CRT_GATEWAY_LOG";

/// The `[log]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `crt_gateway=debug`…
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber, writing to standard error. Safe to call twice.
pub fn init(config: &LogConfig) {
    let filter = std::env::var(ENV_LOG)
        .ok()
        .and_then(|level| EnvFilter::try_new(level).ok())
        .or_else(|| EnvFilter::try_new(&config.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log line that cannot be written (standard error on a full disk) is dropped:
        // reporting it would write to standard error again, and `eprintln!` panics there,
        // taking the request being answered with it.
        .log_internal_errors(false)
        .with_target(false);
    let _ = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
