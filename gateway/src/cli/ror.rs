//! `ror render|publish|pull`: a CRT porteur's offer file, its FHIR resources, and the ROR.
//!
//! In the sandbox the ROR is a simulator started for the command, which keeps what it was
//! sent in the data directory: publishing twice shows the second run writing nothing.

use std::path::{Path, PathBuf};

use crt_core::identity::INS_TARGET;
use crt_ror::client::RorClient;
use crt_ror::offer::{Offer, OfferError};
use crt_ror::publish::{Action, publish, pull};

use super::{Status, failed, load_config};
use crate::sandbox::Sandbox;

/// Largest offer file read.
const MAX_OFFER_BYTES: u64 = crt_ror::source::MAX_BYTES as u64;

/// Reads and checks an offer file, printing each problem with its line.
pub(super) fn read_offer(path: &Path) -> Result<Offer, Status> {
    let text = match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_OFFER_BYTES => {
            return Err(failed(format!(
                "{}: larger than {MAX_OFFER_BYTES} bytes",
                path.display()
            )));
        }
        Ok(_) => {
            std::fs::read_to_string(path).map_err(|e| failed(format!("{}: {e}", path.display())))?
        }
        Err(e) => return Err(failed(format!("{}: {e}", path.display()))),
    };
    Offer::read(&text).map_err(|e| {
        report_offer_problems(path, &e);
        Status::Found
    })
}

fn report_offer_problems(path: &Path, error: &OfferError) {
    let problems = error.problems();
    eprintln!(
        "{}: invalid offer, {} problem(s)",
        path.display(),
        problems.len()
    );
    for p in problems {
        let pointer = if p.pointer.is_empty() {
            "(file)"
        } else {
            &p.pointer
        };
        eprintln!(
            "  {}:{}: {pointer}: {} [{}]",
            path.display(),
            p.line,
            p.message,
            p.rule
        );
    }
}

/// `ror render OFFER -o bundle.json`.
pub fn render(offer: &Path, out: &Path) -> Status {
    let offer = match read_offer(offer) {
        Ok(offer) => offer,
        Err(status) => return status,
    };
    let bundle = match crt_ror::render::bundle(&offer) {
        Ok(bundle) => bundle,
        Err(e) => return failed(e),
    };
    let text = match serde_json::to_string_pretty(&bundle) {
        Ok(text) => text + "\n",
        Err(e) => return failed(e),
    };
    if let Err(e) = std::fs::write(out, text) {
        return failed(format!("{}: {e}", out.display()));
    }
    let entries = bundle["entry"].as_array().map_or(0, Vec::len);
    println!(
        "wrote {} ({entries} resources: the 2 Organization and the Location the ROR should hold, the 2 HealthcareService the gateway writes)",
        out.display()
    );
    Status::Ok
}

/// A client for the configured ROR, or for the sandbox's simulator; the simulator holds
/// the organisations and the place of `offer`, as the ROR does.
async fn client(
    config_file: Option<PathBuf>,
    offer: Option<&Offer>,
) -> Result<(RorClient, Option<Sandbox>), Status> {
    let mut config = load_config(config_file)?;
    crt_core::tls::install_default_provider();
    let sandbox = if config.sandbox.enabled {
        // Only the ROR is needed here.
        for target in [INS_TARGET, crt_dmp::sink::TARGET, crt_mssante::sink::TARGET] {
            config.sinks.set_enabled(target, false);
        }
        let mut sandbox = Sandbox::start(&config).await.map_err(failed)?;
        sandbox.start_ror().await.map_err(failed)?;
        if let Some(offer) = offer {
            sandbox.hold_ror_structure(offer).map_err(failed)?;
        }
        Some(sandbox)
    } else {
        None
    };
    let ror = Sandbox::in_use(&config, sandbox.as_ref()).ror;
    let client = RorClient::new(&ror).map_err(failed)?;
    println!(
        "ROR {}{}",
        client.base_url(),
        if sandbox.is_some() {
            " (sandbox simulator)"
        } else {
            ""
        }
    );
    Ok((client, sandbox))
}

/// `ror publish OFFER [--dry-run]`.
pub async fn publish_offer(offer: &Path, dry_run: bool, config: Option<PathBuf>) -> Status {
    let offer = match read_offer(offer) {
        Ok(offer) => offer,
        Err(status) => return status,
    };
    let (client, sandbox) = match client(config, Some(&offer)).await {
        Ok(pair) => pair,
        Err(status) => return status,
    };
    let result = publish(&client, &offer, dry_run).await;
    if let Some(sandbox) = sandbox {
        sandbox.stop();
    }
    let plan = match result {
        Ok(plan) => plan,
        Err(e) => return failed(e),
    };
    for step in &plan.steps {
        println!("{step}");
        // A dry run shows each request exactly as it would be sent.
        if dry_run && let Some(request) = step.request() {
            for line in request.to_string().lines() {
                println!("    {line}");
            }
        }
    }
    let count =
        |wanted: fn(&Action) -> bool| plan.steps.iter().filter(|s| wanted(&s.action)).count();
    let found = count(|a| matches!(a, Action::Found));
    let unchanged = count(|a| matches!(a, Action::Unchanged));
    if dry_run {
        println!(
            "dry run: {} write(s) to do, {found} found, {unchanged} unchanged",
            plan.writes()
        );
    } else {
        println!(
            "published: {} write(s), {found} found, {unchanged} unchanged",
            plan.writes()
        );
    }
    Status::Ok
}

/// `ror pull FINESS_ET [--since DATE] [-o FILE]`.
pub async fn pull_offer(
    finess_et: &str,
    since: Option<&str>,
    out: Option<&Path>,
    config: Option<PathBuf>,
) -> Status {
    if let Err(e) = crt_core::identifiers::check_finess(finess_et) {
        return failed(format!("{finess_et} is not a FINESS number: {e}"));
    }
    let (client, sandbox) = match client(config, None).await {
        Ok(pair) => pair,
        Err(status) => return status,
    };
    let result = pull(&client, finess_et, since).await;
    if let Some(sandbox) = sandbox {
        sandbox.stop();
    }
    let held = match result {
        Ok(held) => held,
        Err(e) => return failed(e),
    };
    if held.is_empty() {
        println!("the ROR holds nothing for FINESS ET {finess_et}");
    }
    for resource in &held {
        println!(
            "{}/{}  v{}  {}  {}",
            resource["resourceType"].as_str().unwrap_or_default(),
            resource["id"].as_str().unwrap_or_default(),
            resource["meta"]["versionId"].as_str().unwrap_or("-"),
            resource["meta"]["lastUpdated"].as_str().unwrap_or("-"),
            resource["name"].as_str().unwrap_or_default(),
        );
    }
    if let Some(out) = out {
        let entries: Vec<serde_json::Value> = held
            .into_iter()
            .map(|resource| serde_json::json!({ "resource": resource }))
            .collect();
        let mut bundle = serde_json::json!({ "resourceType": "Bundle", "type": "collection" });
        // FHIR JSON has no empty arrays.
        if !entries.is_empty() {
            bundle["entry"] = serde_json::Value::Array(entries);
        }
        let text = serde_json::to_string_pretty(&bundle).unwrap_or_default() + "\n";
        if let Err(e) = std::fs::write(out, text) {
            return failed(format!("{}: {e}", out.display()));
        }
        println!("wrote {}", out.display());
    }
    Status::Ok
}
