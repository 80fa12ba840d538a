//! Retries, the dead-letter state and replay, through a real failing target.

use std::time::Duration;

use crate::support::{Gateway, example, fix_journal, gateway_with_failing_journal};

#[test]
fn a_failing_target_ends_dead_and_replay_delivers_it_once_fixed() {
    let data = tempfile::tempdir().expect("temp dir");
    let (gateway, journal) = gateway_with_failing_journal(data.path(), "3");

    let id = gateway
        .post_record(&example("exit-normandie.json"), None)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(20));
    let delivery = &view["deliveries"][0];
    assert_eq!(delivery["state"], "dead", "{view}");
    assert_eq!(delivery["attempts"], 3);
    assert_eq!(delivery["last_error"]["code"], "io");
    assert!(
        delivery["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("gave up after 3 attempts")
    );
    let dead = gateway.get_json("/v1/deliveries?state=dead");
    assert_eq!(dead["deliveries"].as_array().unwrap().len(), 1);

    // Replaying a delivery that is not dead is refused.
    let delivery_id = delivery["id"].as_str().unwrap().to_string();
    fix_journal(&journal);
    let replay = gateway.request(
        "POST",
        &format!("/v1/deliveries/{delivery_id}/replay"),
        &[],
        b"",
    );
    assert_eq!(replay.status, 200, "{}", replay.text());
    let view = gateway.wait_settled(&id, Duration::from_secs(20));
    assert_eq!(view["deliveries"][0]["state"], "delivered");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 1);
    let again = gateway.request(
        "POST",
        &format!("/v1/deliveries/{delivery_id}/replay"),
        &[],
        b"",
    );
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["type"], "urn:crt-gateway:problem:not-dead");
}

#[test]
fn the_cli_submits_json_lines_and_reports_status() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let mut lines = Vec::new();
    for name in ["exit-normandie.json", "ehpad-emergency-room-occitanie.json"] {
        let value: serde_json::Value = serde_json::from_slice(&example(name)).unwrap();
        lines.push(serde_json::to_string(&value).unwrap());
    }
    lines.push("{\"schema_version\": \"1.0\"}".to_string());
    let input = data.path().join("batch.jsonl");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let url = format!("http://{}", gateway.addr);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_crt-gateway"))
        .args(["submit", input.to_str().unwrap(), "--url", &url])
        .env("CRT_GATEWAY_TOKEN", gateway.token())
        .output()
        .expect("submit runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "one record is rejected: {stdout}{stderr}"
    );
    assert!(
        stdout.contains("3 submitted: 2 accepted (0 already known), 1 rejected, 0 failed"),
        "{stdout}"
    );
    assert!(
        stderr.contains("document 3") && stderr.contains("/source"),
        "{stderr}"
    );

    // The same file again: the same idempotency keys, nothing stored twice.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_crt-gateway"))
        .args(["submit", input.to_str().unwrap(), "--url", &url])
        .env("CRT_GATEWAY_TOKEN", gateway.token())
        .output()
        .expect("submit runs");
    assert!(String::from_utf8_lossy(&output.stdout).contains("2 accepted (2 already known)"));

    let first = gateway.get_json("/v1/deliveries")["deliveries"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    gateway.wait_settled(&first, Duration::from_secs(20));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_crt-gateway"))
        .args(["status", &first, "--url", &url])
        .env("CRT_GATEWAY_TOKEN", gateway.token())
        .output()
        .expect("status runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("journal") && stdout.contains("delivered"),
        "{stdout}"
    );
}
