//! ViaTrajectoire through the real binary: a record asking for a volet 2 admission is sent
//! to the ViaTrajectoire simulator, which then moves the request through its statuses as
//! its users would; the gateway reads each change back into the CRT's waiting list.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::support::{Gateway, delivery_to, example, repo};

/// The simulator's control endpoint, from the sink's readiness check
/// ("ViaTrajectoire reachable at https://localhost:PORT/fhir").
fn control_url(gateway: &Gateway) -> String {
    let ready = gateway.get_json("/readyz");
    let detail = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sink:viatrajectoire")
        .and_then(|c| c["detail"].as_str())
        .expect("a viatrajectoire check")
        .to_string();
    let base = detail.rsplit(' ').next().unwrap().to_string();
    base.replace("/fhir", "/test")
}

fn advance(control: &str, task: &str, standing: Value) {
    crt_core::tls::install_default_provider();
    let pki = repo().join("certs-example");
    let tls = crt_core::tls::client_config_for(
        &crt_core::tls::Policy::standard(),
        &pki.join("ca/chain.pem"),
        None,
        Some(&crt_core::tls::IdentityFiles {
            certificate: pki.join("crt/auth.pem"),
            key: pki.join("crt/auth.key.pem"),
        }),
    )
    .expect("TLS");
    let client = crt_core::http::HttpsClient::new(tls, Duration::from_secs(10), 1 << 20);
    let url = format!("{control}/{task}/$advance");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = runtime
        .block_on(client.post(
            &url,
            &[("content-type", "application/json")],
            Bytes::from(standing.to_string()),
        ))
        .expect("control endpoint");
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
}

fn wait_for(gateway: &Gateway, crt: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = gateway.get_json(&format!("/v1/waiting-list?crt={crt}"));
        if let Some(entry) = list["entries"].as_array().and_then(|e| e.first())
            && entry["status"] == status
        {
            return entry.clone();
        }
        assert!(Instant::now() < deadline, "never {status}: {list}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A gateway with a fast status reader, and the Occitanie example (which asks for an
/// admission) sent and settled: the gateway, the CRT, the record and its ViaTrajectoire
/// delivery.
fn submit_admission(data: &std::path::Path) -> (Gateway, String, Value, Value) {
    let gateway = Gateway::start(
        data,
        &[("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__POLL_INTERVAL", "200")],
    );
    let record: Value = serde_json::from_slice(&example("home-admission-occitanie.json")).unwrap();
    let crt = record["crt"]["finess_et"].as_str().unwrap().to_string();
    let response = gateway.post_record(&example("home-admission-occitanie.json"), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(30));
    let delivery = delivery_to(&view, "viatrajectoire");
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    (gateway, crt, record, delivery)
}

#[test]
fn an_admission_request_goes_through_every_status_to_the_waiting_list() {
    let data = tempfile::tempdir().expect("temp dir");
    let (gateway, crt, record, delivery) = submit_admission(data.path());
    let task = delivery["receipt"]["remote_id"]
        .as_str()
        .unwrap()
        .to_string();

    let entry = wait_for(&gateway, &crt, "sent");
    assert_eq!(entry["task"], task.as_str());
    assert_eq!(entry["source_ref"], record["source"]["record_ref"]);

    let control = control_url(&gateway);
    for (standing, status) in [
        (json!({"status": "received"}), "received"),
        (json!({"status": "waiting_list", "rank": 3}), "waiting_list"),
        (
            json!({"status": "admission_proposed"}),
            "admission_proposed",
        ),
        (json!({"status": "accepted"}), "accepted"),
        (json!({"status": "admitted"}), "admitted"),
    ] {
        advance(&control, &task, standing);
        let entry = wait_for(&gateway, &crt, status);
        if status == "waiting_list" {
            assert_eq!(entry["rank"], 3);
        }
    }

    let url = format!("http://{}", gateway.addr);
    let (code, text) = gateway.cli(&["waiting-list", "--crt", &crt, "--url", &url]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("admitted"), "{text}");

    // What the gateway kept of the request leaves the medical answers out.
    let kept = gateway.artifact(&delivery, "admission-request.json").text();
    assert!(kept.contains("cerfa-14732-03-administratif"));
    assert!(!kept.contains("Traitements en cours"), "{kept}");
}

#[test]
fn a_refusal_carries_its_reason_and_a_bad_query_is_refused() {
    let data = tempfile::tempdir().expect("temp dir");
    let (gateway, crt, _, delivery) = submit_admission(data.path());
    let task = delivery["receipt"]["remote_id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&gateway, &crt, "sent");
    advance(
        &control_url(&gateway),
        &task,
        json!({"status": "refused", "reason": "hors zone d'intervention"}),
    );
    let entry = wait_for(&gateway, &crt, "refused");
    assert_eq!(entry["reason"], "hors zone d'intervention");

    let response = gateway.request("GET", "/v1/waiting-list?crt=123", &[], b"");
    assert_eq!(response.status, 400);
}
