//! The demo's night on call: a téléassistance centre and a telemonitoring platform, both
//! simulated here as the clients they are, raise alerts about the example beneficiary;
//! the gateway calls the rota, escalates the alert nobody takes, the nurse takes it; the
//! second alert is closed as needing the emergency services and the SAMU gets the DLU.
//! What happened is printed and written to `<out>/night/alerts.json`.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use crate::client::ApiClient;
use crate::rota::{OnCallConfig, OnCallRole, OnCallService, Person, Regulation, Shift};

const CRT: &str = "720004563";
const NURSE: (&str, &str) = ("810003456786", "nurse");
const WAIT: Duration = Duration::from_secs(30);

/// The example CRT's on-call service for the demo: a care assistant then a nurse every
/// night, the coordinator, the SAMU of the Sarthe; an alert is escalated after 2 s so that
/// the demo shows it.
pub fn demo_rota() -> OnCallConfig {
    let night = |role, name: &str, mailbox: &str, id: Option<&str>| Shift {
        role,
        person: Person {
            name: name.into(),
            mailbox: mailbox.into(),
            id: id.map(str::to_string),
        },
        days: Vec::new(),
        from: "20:00".into(),
        to: "08:00".into(),
    };
    OnCallConfig {
        take_within_s: 2,
        poll_interval_ms: 200,
        services: vec![OnCallService {
            crt: CRT.into(),
            mailbox: "crt.tilleuls@ehpad-tilleuls.mssante.fr".into(),
            departement: Some("72".into()),
            coordinators: vec![Person {
                name: "Nadia Faure".into(),
                mailbox: "coordination@ehpad-tilleuls.mssante.fr".into(),
                id: None,
            }],
            rota: vec![
                night(
                    OnCallRole::CareAssistant,
                    "Camille Lefort",
                    "camille.lefort@ehpad-tilleuls.mssante.fr",
                    None,
                ),
                night(
                    OnCallRole::Nurse,
                    "Sophie Petit",
                    "sophie.petit@ehpad-tilleuls.mssante.fr",
                    Some("810003456786"),
                ),
            ],
        }],
        regulation: vec![Regulation {
            departement: "72".into(),
            mailbox: "samu72@ch-lemans.mssante.fr".into(),
        }],
        ..OnCallConfig::default()
    }
}

/// A téléassistance centre's system: posts the alerts its operators raise.
struct TeleassistanceCentre<'a> {
    client: &'a ApiClient,
}

impl TeleassistanceCentre<'_> {
    async fn raise(&self, alert: &Path) -> Result<String, String> {
        let body = std::fs::read(alert).map_err(|e| format!("{}: {e}", alert.display()))?;
        let answer = self
            .client
            .post_json("/v1/alerts", Bytes::from(body), None)
            .await
            .map_err(|e| e.to_string())?;
        created(&answer.json(), answer.status.as_u16(), "id")
    }
}

/// A telemonitoring platform: posts each observation as a FHIR create.
struct TelemonitoringPlatform<'a> {
    client: &'a ApiClient,
}

impl TelemonitoringPlatform<'_> {
    /// The alert the observation raised, if it crossed a bound.
    async fn observe(&self, observation: &Path) -> Result<Option<String>, String> {
        let body =
            std::fs::read(observation).map_err(|e| format!("{}: {e}", observation.display()))?;
        let answer = self
            .client
            .post_json(
                &format!("/v1/telemonitoring/{CRT}/Observation"),
                Bytes::from(body),
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
        match answer.status.as_u16() {
            200 => Ok(None),
            202 => Ok(answer
                .location
                .as_deref()
                .map(|l| l.trim_start_matches("/v1/alerts/").to_string())),
            status => Err(format!(
                "the observation was refused ({status}): {}",
                answer.json()
            )),
        }
    }
}

fn created(body: &Value, status: u16, field: &str) -> Result<String, String> {
    match (status, body[field].as_str()) {
        (200 | 202, Some(id)) => Ok(id.to_string()),
        _ => Err(format!("refused ({status}): {body}")),
    }
}

/// The alert as it stands once `done` says so.
async fn wait_for(
    client: &ApiClient,
    id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Result<Value, String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let alert = client
            .get(&format!("/v1/alerts/{id}"))
            .await
            .map_err(|e| e.to_string())?
            .json();
        if done(&alert) {
            return Ok(alert);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "alert {id}: {what} did not happen within {WAIT:?}: {alert}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn call_line(call: &Value) -> String {
    format!(
        "called {} ({}) at {} by MSSanté",
        call["name"].as_str().unwrap_or("?"),
        call["role"].as_str().unwrap_or("?"),
        call["mailbox"].as_str().unwrap_or("?"),
    )
}

fn calls(alert: &Value) -> usize {
    alert["calls"].as_array().map_or(0, Vec::len)
}

const ALERT: &str = "alerts/fall-at-night.json";
const OBSERVATION: &str = "telemonitoring/weight-over-bound.json";

/// Whether `examples` holds what the night plays.
pub fn playable(examples: &Path) -> bool {
    examples.join(ALERT).is_file() && examples.join(OBSERVATION).is_file()
}

/// Plays the night; `examples` is the directory of the example files.
pub async fn play(client: &ApiClient, examples: &Path, out: &Path) -> Result<(), String> {
    let nurse = client.clone().with_actor(NURSE.0, NURSE.1, None);
    let centre = TeleassistanceCentre { client };
    let platform = TelemonitoringPlatform { client };
    println!("\nThe night on call (CRT {CRT}, rota: care assistant, then nurse; 2 s to take):");

    let fall = centre.raise(&examples.join(ALERT)).await?;
    let first = wait_for(client, &fall, "the first call", |a| calls(a) >= 1).await?;
    println!(
        "  02:14 téléassistance, a fall: {}",
        call_line(&first["calls"][0])
    );
    let second = wait_for(client, &fall, "the escalation", |a| calls(a) >= 2).await?;
    println!(
        "        not taken in time: {}",
        call_line(&second["calls"][1])
    );
    let taken = nurse
        .post(&format!("/v1/alerts/{fall}/take"))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "        taken by {} ({})",
        taken.json()["taken_by"].as_str().unwrap_or("?"),
        taken.status
    );

    let observation = examples.join(OBSERVATION);
    let Some(weight) = platform.observe(&observation).await? else {
        return Err("the weight over its bound raised no alert".into());
    };
    let raised = wait_for(client, &weight, "the call", |a| calls(a) >= 1).await?;
    println!(
        "  04:40 telemonitoring, {}: {}",
        raised["alert"]["heard"].as_str().unwrap_or("?"),
        call_line(&raised["calls"][0])
    );
    let closed = nurse
        .post_json(
            &format!("/v1/alerts/{weight}/close"),
            Bytes::from_static(br#"{"outcome":"emergency_services"}"#),
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "        closed by the nurse as needing the emergency services ({})",
        closed.status
    );
    let regulated = wait_for(client, &weight, "the regulation", |a| {
        !a["regulation"].is_null()
    })
    .await?;
    let regulation = &regulated["regulation"];
    println!(
        "        SAMU informed at {}: DLU sent {}, DLU in the DMP: {}",
        regulation["to"].as_str().unwrap_or("?"),
        regulation["with_dlu"],
        regulation["dmp"]["state"].as_str().unwrap_or("?"),
    );

    let dir = out.join("night");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut alerts = Vec::new();
    for id in [&fall, &weight] {
        let answer = client
            .get(&format!("/v1/alerts/{id}"))
            .await
            .map_err(|e| e.to_string())?;
        alerts.push(answer.json());
    }
    let text = serde_json::to_vec_pretty(&alerts).map_err(|e| e.to_string())?;
    let file = dir.join("alerts.json");
    std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(())
}
