//! `status` and `replay`: a running gateway's view of a record or a delivery.

use http::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use super::{Status, failed, table};
use crate::client::ApiClient;

pub async fn status(id: Uuid, url: &str, json: bool) -> Status {
    let client = match ApiClient::new(url) {
        Ok(client) => client,
        Err(e) => return failed(e),
    };
    let answer = match client.get(&format!("/v1/records/{id}")).await {
        Ok(answer) => answer,
        Err(e) => return failed(e),
    };
    let body = answer.json();
    if answer.status != StatusCode::OK {
        eprintln!("error: {}", problem_text(&body, answer.status));
        return if answer.status == StatusCode::NOT_FOUND {
            Status::Found
        } else {
            Status::Failed
        };
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
        return Status::Ok;
    }
    println!(
        "record {id} (DUI record {}, beneficiary {}, CRT {})",
        body["source_ref"].as_str().unwrap_or("?"),
        body["beneficiary_ref"].as_str().unwrap_or("?"),
        body["crt_finess_et"].as_str().unwrap_or("?"),
    );
    let rows = delivery_rows(&body["deliveries"]);
    print!(
        "{}",
        table::render(
            &["delivery", "target", "state", "attempts", "outcome"],
            &rows
        )
    );
    Status::Ok
}

/// One row per delivery: id, target, state, attempts, and what happened.
pub fn delivery_rows(deliveries: &Value) -> Vec<Vec<String>> {
    deliveries
        .as_array()
        .map(|list| {
            list.iter()
                .map(|d| {
                    vec![
                        d["id"].as_str().unwrap_or("?").to_string(),
                        d["target"].as_str().unwrap_or("?").to_string(),
                        d["state"].as_str().unwrap_or("?").to_string(),
                        d["attempts"].to_string(),
                        outcome(d),
                    ]
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The receipt, the error or the reason a delivery is where it is.
pub fn outcome(delivery: &Value) -> String {
    if let Some(summary) = delivery["receipt"]["summary"].as_str() {
        return summary.to_string();
    }
    if let Some(reason) = delivery["hold_reason"].as_str() {
        return format!("held: {reason}");
    }
    if let Some(code) = delivery["last_error"]["code"].as_str() {
        return format!(
            "{code}: {}",
            delivery["last_error"]["message"].as_str().unwrap_or("")
        );
    }
    if let Some(waiting) = delivery["waiting_for"].as_array().filter(|w| !w.is_empty()) {
        let names: Vec<String> = waiting
            .iter()
            .map(|w| {
                format!(
                    "{} ({})",
                    w["target"].as_str().unwrap_or("?"),
                    w["state"].as_str().unwrap_or("?")
                )
            })
            .collect();
        return format!("waits for {}", names.join(", "));
    }
    String::new()
}

pub async fn replay(id: Uuid, url: &str) -> Status {
    let client = match ApiClient::new(url) {
        Ok(client) => client,
        Err(e) => return failed(e),
    };
    match client.post(&format!("/v1/deliveries/{id}/replay")).await {
        Ok(answer) if answer.status == StatusCode::OK => {
            println!("delivery {id} is pending again");
            Status::Ok
        }
        Ok(answer) => {
            eprintln!("error: {}", problem_text(&answer.json(), answer.status));
            Status::Found
        }
        Err(e) => failed(e),
    }
}

pub fn problem_text(body: &Value, status: StatusCode) -> String {
    match (body["title"].as_str(), body["detail"].as_str()) {
        (Some(title), Some(detail)) => format!("{title}: {detail}"),
        (Some(title), None) => title.to_string(),
        _ => format!("the gateway answered {status}"),
    }
}

/// GETs `path` from a running gateway: its JSON answer, or `Err` once the failure is
/// reported. With `json`, the answer is printed as it is and `Ok(None)` returned.
pub(super) async fn fetch(
    url: &str,
    path: &str,
    json: bool,
) -> Result<Option<serde_json::Value>, Status> {
    fetch_with(&ApiClient::new(url).map_err(failed)?, path, json).await
}

/// [`fetch`] with a client of the caller's (a professional named, an emergency).
pub(super) async fn fetch_with(
    client: &ApiClient,
    path: &str,
    json: bool,
) -> Result<Option<serde_json::Value>, Status> {
    let answer = client.get(path).await.map_err(failed)?;
    let body = answer.json();
    if answer.status != StatusCode::OK {
        eprintln!("error: {}", problem_text(&body, answer.status));
        return Err(Status::Failed);
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
        return Ok(None);
    }
    Ok(Some(body))
}

/// `waiting-list [--crt FINESS]`: the volet 2 waiting list a running gateway keeps.
pub async fn waiting_list(crt: Option<&str>, url: &str, json: bool) -> Status {
    let path = match crt {
        Some(crt) => format!("/v1/waiting-list?crt={}", crt_core::oauth::encode(crt)),
        None => "/v1/waiting-list".to_string(),
    };
    let body = match fetch(url, &path, json).await {
        Ok(Some(body)) => body,
        Ok(None) => return Status::Ok,
        Err(status) => return status,
    };
    let rows: Vec<Vec<String>> = body["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let text = |key: &str| e[key].as_str().unwrap_or("-").to_string();
                    let person = &e["request"]["person"];
                    let status = if e["withdrawn"] == true {
                        format!("{} (withdrawn)", text("status"))
                    } else {
                        text("status")
                    };
                    vec![
                        text("crt_finess_et"),
                        text("request_id"),
                        format!(
                            "{} {}",
                            person["family"].as_str().unwrap_or("-"),
                            person["given"].as_str().unwrap_or_default()
                        ),
                        e["request"]["requested_at"]
                            .as_str()
                            .unwrap_or("-")
                            .to_string(),
                        status,
                        e["rank"].as_u64().map_or("-".into(), |r| r.to_string()),
                        e["reason"].as_str().unwrap_or_default().to_string(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    if rows.is_empty() {
        println!("the waiting list is empty");
        return Status::Ok;
    }
    print!(
        "{}",
        table::render(
            &[
                "crt",
                "request",
                "person",
                "requested",
                "status",
                "rank",
                "reason"
            ],
            &rows
        )
    );
    Status::Ok
}

/// `liaison-book --crt FINESS [--beneficiary ID]`: partners' entries a running gateway
/// read back from the regional platform.
pub async fn liaison_book(crt: &str, beneficiary: Option<&str>, url: &str, json: bool) -> Status {
    let mut path = format!("/v1/liaison-book?crt={}", crt_core::oauth::encode(crt));
    if let Some(beneficiary) = beneficiary {
        path.push_str(&format!(
            "&beneficiary={}",
            crt_core::oauth::encode(beneficiary)
        ));
    }
    let body = match fetch(url, &path, json).await {
        Ok(Some(body)) => body,
        Ok(None) => return Status::Ok,
        Err(status) => return status,
    };
    let entries = body["entries"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        println!("no entry from partners yet");
        return Status::Ok;
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap_or("-").to_string();
            vec![
                text("written_at"),
                text("beneficiary_ref"),
                text("kind"),
                text("topic"),
                text("author"),
                text("platform"),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &[
                "written",
                "beneficiary",
                "kind",
                "topic",
                "author",
                "platform"
            ],
            &rows
        )
    );
    for entry in &entries {
        println!(
            "\n{} {} ({}):\n  {}",
            entry["written_at"].as_str().unwrap_or("-"),
            entry["author"].as_str().unwrap_or("-"),
            entry["kind"].as_str().unwrap_or("-"),
            entry["text"].as_str().unwrap_or_default()
        );
    }
    Status::Ok
}
