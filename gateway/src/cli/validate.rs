//! `validate FILE…`: offline checks of any file the gateway exchanges
//! ([`crate::conformity::inspect`]), reported as text, JSON, JUnit XML or an HTML page.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::conformity::inspect::{self, FileReport, MAX_FILE_BYTES};
use crate::conformity::report;

use super::Status;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// JUnit XML: one test case per file, its violations as the failure; CI servers and
    /// test-campaign tools read it.
    Junit,
    /// A self-contained HTML page: a summary, then each file's verdict and violations.
    Html,
}

pub fn run(files: &[PathBuf], format: Format) -> Status {
    let validator = crate::registry::record_validator();
    let reports: Vec<FileReport> = files
        .iter()
        .map(|file| {
            let name = file.display().to_string();
            match read(file) {
                Ok(bytes) => inspect::inspect(&name, &bytes, &validator),
                Err(error) => FileReport::unreadable(&name, error),
            }
        })
        .collect();
    match format {
        Format::Junit => println!("{}", report::junit_files(&reports)),
        Format::Html => print!(
            "{}",
            report::html_files(
                &reports,
                &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        ),
        Format::Json => match serde_json::to_string_pretty(&reports) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: {e}"),
        },
        Format::Text => print!("{}", report::text(&reports)),
    }
    if reports.iter().any(|r| r.error.is_some()) {
        Status::Failed
    } else if reports.iter().any(|r| !r.valid) {
        Status::Found
    } else {
        Status::Ok
    }
}

/// The file's bytes, refusing a file larger than the limit before reading it whole.
fn read(file: &Path) -> Result<Vec<u8>, String> {
    let handle = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    handle
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(bytes)
}
