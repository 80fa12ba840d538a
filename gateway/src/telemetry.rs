//! Logging. Events carry identifiers (record, delivery, target) and never identity traits
//! or health data: handlers log ids, not payloads, and errors are written so that they do
//! not quote the input they refuse.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Overrides `[log] level` (a tracing filter).
pub const ENV_LOG: &str = "CRT_GATEWAY_LOG";

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
