//! `conformance run`: a campaign of scenario suites against the sandbox or a target, and
//! its report.

use std::path::{Path, PathBuf};

use super::{Status, failed};
use crate::conformity::campaign::run::Environment;
use crate::conformity::campaign::{Campaign, SuiteResult, Verdict, scenario};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// A self-contained page: requirements and verdicts, the messages exchanged.
    Html,
    /// Everything, bodies included (text, or base64 for binary content).
    Json,
    /// JUnit XML: one test case per scenario.
    Junit,
}

/// The repository root: where scenario files name records and offers from.
fn root() -> PathBuf {
    if Path::new("conformance/suites").is_dir() {
        return PathBuf::from(".");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub async fn run(
    suites: &[String],
    target: Option<&Path>,
    format: Format,
    out: &Path,
    scenarios: Option<PathBuf>,
) -> Status {
    let root = root();
    let dir = scenarios.unwrap_or_else(|| root.join("conformance/suites"));
    let suites = match scenario::load(&dir, suites) {
        Ok(suites) => suites,
        Err(e) => return failed(e),
    };
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let data = std::env::temp_dir().join(format!("crt-conformance-{}", uuid::Uuid::now_v7()));
    let environment = match target {
        Some(file) => Environment::target(&root, file, &data),
        None => Environment::sandbox(&root, &data).await,
    };
    let environment = match environment {
        Ok(environment) => environment,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&data);
            return failed(e);
        }
    };
    println!("crt-gateway conformance: {}\n", environment.description);
    let mut campaign = Campaign {
        target: environment.description.clone(),
        started_at,
        gateway_version: env!("CARGO_PKG_VERSION"),
        suites: Vec::new(),
    };
    for suite in &suites {
        let scenarios = environment.run_suite(suite).await;
        campaign.suites.push(SuiteResult {
            suite: suite.suite.clone(),
            title: suite.title.clone(),
            description: suite.description.clone(),
            scenarios,
        });
    }
    environment.stop();
    let _ = std::fs::remove_dir_all(&data);
    print!("{}", campaign.summary());
    let report = match format {
        Format::Html => campaign.html(),
        Format::Junit => campaign.junit(),
        Format::Json => match serde_json::to_string_pretty(&campaign) {
            Ok(text) => text,
            Err(e) => return failed(e),
        },
    };
    if let Err(e) = std::fs::write(out, report) {
        return failed(format!("{}: {e}", out.display()));
    }
    println!("report: {}", out.display());
    if campaign.count(Verdict::Failed) > 0 || campaign.count(Verdict::Error) > 0 {
        Status::Found
    } else {
        Status::Ok
    }
}
