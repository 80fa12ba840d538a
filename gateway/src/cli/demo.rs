//! `demo`: the main job, end to end, on the sandbox.
//!
//! Starts a gateway on a free loopback port with a fresh embedded database and the
//! simulators, submits every example record over HTTP like a DUI would, waits until every
//! delivery has settled, prints what happened and writes each produced artifact under the
//! output directory (`<out>/<example>/<target>/<artifact>`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::records::{outcome, problem_text};
use super::{Status, failed, load_config, table};
use crate::client::ApiClient;
use crate::sandbox::{PSC_DUI_CLIENT, Sandbox};
use crate::server::Gateway;
use crt_ror::client::RorClient;
use crt_ror::config::RorConfig;
use crt_ror::publish::publish;
use crt_ror::simulator::{Registration, RorSimulator};

const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// The CRT physician of the example records (RPPS, profession, role).
const DEMO_PHYSICIAN: (&str, &str, &str) = ("810002345675", "physician", "crt_physician");

struct Submitted {
    example: String,
    id: Uuid,
}

pub async fn run(out: &Path, examples: Option<PathBuf>, config_file: Option<PathBuf>) -> Status {
    let mut config = match load_config(config_file) {
        Ok(config) => config,
        Err(status) => return status,
    };
    if std::env::var_os(crate::telemetry::ENV_LOG).is_none() {
        config.log.level = "warn".into();
    }
    crate::telemetry::init(&config.log);
    let examples = examples.unwrap_or_else(default_examples);
    let files = match example_files(&examples) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            return failed(format!(
                "no example records (*.json) in {}",
                examples.display()
            ));
        }
        Err(e) => return failed(format!("{}: {e}", examples.display())),
    };

    // A fresh embedded store for every run, beside the artifacts it produces.
    let data = out.join(".demo-data");
    if data.exists()
        && let Err(e) = std::fs::remove_dir_all(&data)
    {
        return failed(format!("cannot clear {}: {e}", data.display()));
    }
    config.server.listen = ([127, 0, 0, 1], 0).into();
    config.storage.data_dir = data.clone();
    let config_data_dir = data;
    config.storage.database = None;
    config.sinks.journal.directory = None;
    config.sandbox.enabled = true;
    if config.on_call.services.is_empty() {
        config.on_call = super::night::demo_rota();
    }

    let gateway = match Gateway::start(config).await {
        Ok(gateway) => gateway,
        Err(e) => return failed(e),
    };
    let token = match crate::security::auth::sandbox_token(&config_data_dir) {
        Ok(token) => token,
        Err(e) => return failed(e),
    };
    let status = drive(&gateway, &token, &files, out).await;
    gateway.stop().await;
    status
}

async fn drive(gateway: &Gateway, token: &str, files: &[PathBuf], out: &Path) -> Status {
    let client = match ApiClient::new(&format!("http://{}", gateway.addr())) {
        Ok(client) => client.with_token(token),
        Err(e) => return failed(e),
    };
    println!(
        "crt-gateway demo: gateway on {}, {} simulator(s), {} example record(s)\n",
        gateway.addr(),
        gateway.sandbox().map_or(0, Sandbox::simulator_count),
        files.len()
    );

    let mut submitted = Vec::new();
    let mut refused = 0;
    for file in files {
        let example = file
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().to_string());
        let body = match std::fs::read(file) {
            Ok(body) => Bytes::from(body),
            Err(e) => return failed(format!("{}: {e}", file.display())),
        };
        match client.post_record(body, None).await {
            Ok(answer) if answer.status == StatusCode::ACCEPTED => {
                let id = answer.json()["id"].as_str().and_then(|s| s.parse().ok());
                match id {
                    Some(id) => submitted.push(Submitted { example, id }),
                    None => return failed("the gateway accepted a record without giving its id"),
                }
            }
            Ok(answer) => {
                refused += 1;
                println!(
                    "{example}: refused: {}",
                    problem_text(&answer.json(), answer.status)
                );
            }
            Err(e) => return failed(e),
        }
    }

    let records = match wait_until_settled(&client, &submitted).await {
        Ok(records) => records,
        Err(e) => return failed(e),
    };

    let mut rows = Vec::new();
    let mut unsettled = 0;
    for (entry, record) in submitted.iter().zip(&records) {
        for delivery in record["deliveries"].as_array().into_iter().flatten() {
            let state = delivery["state"].as_str().unwrap_or("?");
            // Held is an outcome: the gateway keeps what may not leave yet (an INS that is
            // not qualified) until the DUI sends what releases it.
            if !matches!(state, "delivered" | "declined" | "held") {
                unsettled += 1;
            }
            rows.push(vec![
                entry.example.clone(),
                delivery["target"].as_str().unwrap_or("?").to_string(),
                state.to_string(),
                outcome(delivery),
            ]);
        }
    }
    print!(
        "{}",
        table::render(&["record", "target", "state", "receipt"], &rows)
    );

    // Artifacts hold health documents, which the access policy keeps from systems: the demo
    // reads them as the example CRTs' physician, with the access token the sandbox's Pro
    // Santé Connect gives the DUI she logged in with (or named by the DUI when it has none).
    let psc_token = gateway
        .sandbox()
        .and_then(|sandbox| sandbox.psc.as_ref())
        .and_then(|psc| psc.access_token(DEMO_PHYSICIAN.0, PSC_DUI_CLIENT.0, 600));
    let physician = match psc_token {
        Some(token) => client.clone().with_token(&token),
        None => {
            client
                .clone()
                .with_actor(DEMO_PHYSICIAN.0, DEMO_PHYSICIAN.1, Some(DEMO_PHYSICIAN.2))
        }
    };
    let written = match write_artifacts(&physician, &submitted, &records, out).await {
        Ok(written) => written,
        Err(e) => return failed(e),
    };
    println!(
        "\n{} record(s) accepted, {refused} refused; {} artifact(s) written under {}",
        submitted.len(),
        written,
        out.display()
    );
    if let Err(e) = activity_reports(&client, files, out).await {
        return failed(format!("activity reports: {e}"));
    }
    // The night plays with the example files beside the records (alerts, observations).
    if let Some(dir) = files.first().and_then(|f| f.parent())
        && super::night::playable(dir)
        && let Err(e) = super::night::play(&client, dir, out).await
    {
        return failed(format!("the night on call: {e}"));
    }
    let offer_status = match gateway.sandbox() {
        Some(sandbox) => match publish_example_offer(sandbox, out).await {
            Status::Ok => publish_example_card(sandbox, out).await,
            other => other,
        },
        None => Status::Ok,
    };
    if unsettled > 0 || refused > 0 {
        println!("{unsettled} delivery(ies) did not end delivered, declined or held");
        Status::Found
    } else {
        offer_status
    }
}

/// The porteur's side: the example offer published to a ROR simulator, then published
/// again to show that an unchanged offer writes nothing. Its FHIR bundle is written to
/// `<out>/offer/ror-bundle.json`.
async fn publish_example_offer(sandbox: &Sandbox, out: &Path) -> Status {
    let path = default_examples().join("offer.yaml");
    if !path.is_file() {
        return Status::Ok;
    }
    let offer = match super::ror::read_offer(&path) {
        Ok(offer) => offer,
        Err(status) => return status,
    };
    let tls = crt_core::simulate::SimulatorTls::from_pki(&sandbox.pki.dir);
    let simulator = match RorSimulator::new(&tls, vec![Registration::sandbox()]) {
        Ok(simulator) => simulator,
        Err(e) => return failed(e),
    };
    let directory = simulator.directory();
    let running = match simulator.start(([127, 0, 0, 1], 0).into()).await {
        Ok(running) => running,
        Err(e) => return failed(e),
    };
    if let Err(e) = directory.store.hold_structure(&offer) {
        running.task.abort();
        return failed(e);
    }
    let config = sandbox.pki.ror_config(&running, &RorConfig::default());
    let result = async {
        let client = RorClient::new(&config).map_err(|e| e.to_string())?;
        let first = publish(&client, &offer, false)
            .await
            .map_err(|e| e.to_string())?;
        let second = publish(&client, &offer, false)
            .await
            .map_err(|e| e.to_string())?;
        let bundle = crt_ror::render::bundle(&offer).map_err(|e| e.to_string())?;
        let dir = out.join("offer");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = dir.join("ror-bundle.json");
        let text = serde_json::to_vec_pretty(&bundle).map_err(|e| e.to_string())?;
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        Ok::<_, String>((first.writes(), second.writes(), file))
    }
    .await;
    running.task.abort();
    match result {
        Ok((first, second, file)) => {
            println!(
                "\nROR: {} published ({first} write(s): the two offers and the capacity), published again ({second} write(s)); FHIR bundle in {}",
                path.display(),
                file.display()
            );
            Status::Ok
        }
        Err(e) => failed(format!("ROR: {e}")),
    }
}

/// The same offer as the CRT's directory card in the sandbox's ViaTrajectoire, published
/// twice (created, then unchanged); the card is written to
/// `<out>/offer/viatrajectoire-card.json`.
async fn publish_example_card(sandbox: &Sandbox, out: &Path) -> Status {
    use crt_viatrajectoire::directory::{CardOutcome, publish};
    let path = default_examples().join("offer.yaml");
    let Some(config) = sandbox
        .section(crt_viatrajectoire::sink::TARGET)
        .and_then(|section| section.get::<crt_viatrajectoire::ViatrajectoireConfig>())
        .cloned()
    else {
        return Status::Ok;
    };
    if !path.is_file() {
        return Status::Ok;
    }
    let offer = match super::ror::read_offer(&path) {
        Ok(offer) => offer,
        Err(status) => return status,
    };
    let result = async {
        let card = super::viatrajectoire::card_of(&offer)?;
        let client = crt_viatrajectoire::client::ViatrajectoireClient::new(&config)
            .map_err(|e| e.to_string())?;
        let structure = format!("1{}", offer.porteur.finess_et);
        let first = publish(&client, &card, &structure, false)
            .await
            .map_err(|e| e.to_string())?;
        let second = publish(&client, &card, &structure, false)
            .await
            .map_err(|e| e.to_string())?;
        let dir = out.join("offer");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = dir.join("viatrajectoire-card.json");
        let text = serde_json::to_vec_pretty(&card).map_err(|e| e.to_string())?;
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        Ok::<_, String>((first, second, file))
    }
    .await;
    match result {
        Ok((CardOutcome::Created, CardOutcome::Unchanged, file)) => {
            println!(
                "ViaTrajectoire: directory card created from {}, published again (unchanged); card in {}",
                path.display(),
                file.display()
            );
            Status::Ok
        }
        Ok((first, second, _)) => failed(format!(
            "ViaTrajectoire: the directory card was {first:?}, then {second:?}"
        )),
        Err(e) => failed(format!("ViaTrajectoire: {e}")),
    }
}

/// The CRT's side: the example volet 1 actions posted, then each CRT's activity report
/// for the year of its records written as a page for the ARS (small counts hidden) and as
/// a workbook for the CRT's team: `<out>/reports/<FINESS>-<year>.{html,xlsx}`.
async fn activity_reports(client: &ApiClient, files: &[PathBuf], out: &Path) -> Result<(), String> {
    let actions = default_examples().join("volet1/actions.jsonl");
    let mut posted = 0;
    if let Ok(text) = std::fs::read_to_string(&actions) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let answer = client
                .post_json("/v1/volet1/actions", Bytes::from(line.to_string()), None)
                .await
                .map_err(|e| e.to_string())?;
            if answer.status != StatusCode::OK {
                return Err(problem_text(&answer.json(), answer.status));
            }
            posted += 1;
        }
    }
    // Each CRT of the examples, over the calendar year its records were last updated in.
    let mut crts = std::collections::BTreeMap::new();
    for file in files {
        let Ok(record) = std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string()))
        else {
            continue;
        };
        let (Some(crt), Some(year)) = (
            record["crt"]["finess_et"].as_str(),
            record["source"]["updated_at"]
                .as_str()
                .and_then(|t| t.get(..4)),
        ) else {
            continue;
        };
        let entry = crts
            .entry(crt.to_string())
            .or_insert_with(|| year.to_string());
        if year > entry.as_str() {
            *entry = year.to_string();
        }
    }
    let dir = out.join("reports");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (crt, year) in &crts {
        for (format, audience, extension) in
            [("html", "external", "html"), ("xlsx", "internal", "xlsx")]
        {
            let answer = client
                .get(&format!(
                    "/v1/reports/activity?crt={crt}&from={year}-01-01&to={year}-12-31&format={format}&audience={audience}"
                ))
                .await
                .map_err(|e| e.to_string())?;
            if answer.status != StatusCode::OK {
                return Err(problem_text(&answer.json(), answer.status));
            }
            let path = dir.join(format!("{crt}-{year}.{extension}"));
            std::fs::write(&path, &answer.body).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    println!(
        "
{posted} volet 1 action(s) posted; activity reports of {} CRT(s) (page for the ARS, workbook for the team) in {}",
        crts.len(),
        dir.display()
    );
    Ok(())
}

/// Polls every record until none of its deliveries can still move on its own.
async fn wait_until_settled(
    client: &ApiClient,
    submitted: &[Submitted],
) -> Result<Vec<Value>, String> {
    let started = Instant::now();
    loop {
        let mut records = Vec::with_capacity(submitted.len());
        for entry in submitted {
            let answer = client
                .get(&format!("/v1/records/{}", entry.id))
                .await
                .map_err(|e| e.to_string())?;
            records.push(answer.json());
        }
        let moving = records
            .iter()
            .flat_map(|r| r["deliveries"].as_array().cloned().unwrap_or_default())
            .filter(|d| !settled(d))
            .count();
        if moving == 0 {
            return Ok(records);
        }
        if started.elapsed() > SETTLE_TIMEOUT {
            return Err(format!(
                "{moving} delivery(ies) still in progress after {} s",
                SETTLE_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Settled, or waiting behind something that will not move by itself.
fn settled(delivery: &Value) -> bool {
    match delivery["state"].as_str() {
        Some("delivered" | "declined" | "held" | "dead") => true,
        Some("waiting") => delivery["waiting_for"].as_array().is_some_and(|w| {
            w.iter()
                .any(|d| matches!(d["state"].as_str(), Some("dead" | "held" | "declined")))
        }),
        _ => false,
    }
}

async fn write_artifacts(
    client: &ApiClient,
    submitted: &[Submitted],
    records: &[Value],
    out: &Path,
) -> Result<usize, String> {
    let mut written = 0;
    let mut summary = Vec::new();
    for (entry, record) in submitted.iter().zip(records) {
        for delivery in record["deliveries"].as_array().into_iter().flatten() {
            let target = artifact_dir(delivery);
            let id = delivery["id"].as_str().unwrap_or_default();
            for artifact in delivery["artifacts"].as_array().into_iter().flatten() {
                let name = artifact["name"].as_str().unwrap_or_default();
                if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                    continue;
                }
                let answer = client
                    .get(&format!("/v1/deliveries/{id}/artifacts/{name}"))
                    .await
                    .map_err(|e| e.to_string())?;
                if answer.status != StatusCode::OK {
                    return Err(format!(
                        "artifact {name}: {}",
                        problem_text(&answer.json(), answer.status)
                    ));
                }
                let dir = out.join(&entry.example).join(&target);
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(name);
                std::fs::write(&path, &answer.body)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                written += 1;
            }
        }
        summary.push(json!({ "example": entry.example, "record": record }));
    }
    let path = out.join("summary.json");
    let text = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(written)
}

/// `<target>`, or `<target>-<document>` for a document, so that the deliveries of one
/// record to one target do not write over each other.
fn artifact_dir(delivery: &Value) -> String {
    let target = delivery["target"].as_str().unwrap_or("unknown");
    let name = match delivery["work"]["action"]["document"].as_str() {
        Some(document) => format!("{target}-{document}"),
        None => target.to_string(),
    };
    name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
}

fn default_examples() -> PathBuf {
    let here = PathBuf::from("schemas/examples");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/examples")
}

fn example_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files)
}
