//! `crt-gateway audit verify | export`: the access trace, read from the database.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::audit::{ChainCursor, TraceEvent};
use crate::store::Store;

use super::{Status, failed, load_config};

const PAGE: usize = 5000;

/// The trace is read as stored: no payload is opened, so no key is needed.
async fn open(config_file: Option<PathBuf>) -> Result<std::sync::Arc<dyn Store>, Status> {
    let config = load_config(config_file)?;
    crate::store::open(&config.storage, None)
        .await
        .map_err(failed)
}

/// Walks the whole chain; names the first line that does not hold.
pub async fn verify(config_file: Option<PathBuf>) -> Status {
    let store = match open(config_file).await {
        Ok(store) => store,
        Err(status) => return status,
    };
    let mut cursor = ChainCursor::default();
    let mut after = 0;
    loop {
        let lines = match store.trace_lines(after, PAGE).await {
            Ok(lines) => lines,
            Err(e) => return failed(e),
        };
        for line in &lines {
            if let Err(broken) = cursor.check(line) {
                eprintln!("audit verify: the trace was altered: {broken}");
                return Status::Failed;
            }
        }
        match lines.last() {
            Some(last) if lines.len() == PAGE => after = last.seq,
            _ => break,
        }
    }
    println!(
        "audit verify: {} line(s), the chain holds (last hash {})",
        cursor.next_seq - 1,
        cursor.prev
    );
    Status::Ok
}

/// The events between two instants (RFC 3339 or a date, `to` excluded) as JSON Lines.
pub async fn export(
    from: Option<&str>,
    to: Option<&str>,
    out: Option<&Path>,
    config_file: Option<PathBuf>,
) -> Status {
    let bound = |text: Option<&str>| -> Result<Option<String>, Status> {
        let Some(text) = text else { return Ok(None) };
        if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
            return Ok(Some(
                instant
                    .with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ));
        }
        match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => Ok(Some(format!("{date}T00:00:00.000Z"))),
            Err(_) => Err(failed(format!(
                "{text:?}: expected a date (2026-11-25) or an RFC 3339 instant"
            ))),
        }
    };
    let (from, to) = match (bound(from), bound(to)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(status), _) | (_, Err(status)) => return status,
    };
    let store = match open(config_file).await {
        Ok(store) => store,
        Err(status) => return status,
    };
    let mut output: Box<dyn Write> = match out {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Box::new(std::io::BufWriter::new(file)),
            Err(e) => return failed(format!("{}: {e}", path.display())),
        },
        None => Box::new(std::io::stdout().lock()),
    };
    let mut after = 0;
    let mut written = 0usize;
    loop {
        let lines = match store.trace_lines(after, PAGE).await {
            Ok(lines) => lines,
            Err(e) => return failed(e),
        };
        for line in &lines {
            let Ok(event) = serde_json::from_str::<TraceEvent>(&line.entry) else {
                return failed(format!(
                    "trace line {} is not a trace event: run `crt-gateway audit verify`",
                    line.seq
                ));
            };
            let inside = from.as_deref().is_none_or(|f| event.at.as_str() >= f)
                && to.as_deref().is_none_or(|t| event.at.as_str() < t);
            if !inside {
                continue;
            }
            let exported = serde_json::json!({
                "seq": line.seq,
                "event": event,
                "hash": line.hash,
            });
            if writeln!(output, "{exported}").is_err() {
                return failed("writing the export failed");
            }
            written += 1;
        }
        match lines.last() {
            Some(last) if lines.len() == PAGE => after = last.seq,
            _ => break,
        }
    }
    if output.flush().is_err() {
        return failed("writing the export failed");
    }
    if out.is_some() {
        eprintln!("audit export: {written} line(s)");
    }
    Status::Ok
}
