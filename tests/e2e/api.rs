//! The HTTP contract of intake and the operator endpoints.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Gateway, example, repo};

#[test]
fn a_valid_record_is_stored_before_202_and_delivered_with_a_receipt() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let body = example("home-volet2-pays-de-la-loire.json");
    let response = gateway.post_record(&body, None);
    assert_eq!(response.status, 202, "{}", response.text());
    let accepted = response.json();
    let id = accepted["id"].as_str().expect("id");
    assert_eq!(
        response.header("location"),
        Some(format!("/v1/records/{id}").as_str())
    );
    assert_eq!(accepted["deliveries"][0]["target"], "journal");

    let view = gateway.wait_settled(id, Duration::from_secs(20));
    let delivery = &view["deliveries"][0];
    assert_eq!(delivery["state"], "delivered");
    assert_eq!(view["beneficiary_ref"], "IPP-000417");
    assert!(
        view.get("payload").is_none(),
        "the record's content is not echoed back"
    );
    assert!(
        delivery["receipt"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("journaled as")
    );

    let artifact = gateway.artifact(delivery, "record.json");
    assert_eq!(artifact.status, 200);
    let journaled = artifact.json();
    assert_eq!(journaled["record_id"], id);
    // The journal keeps the record in its canonical form: the same record, defaults written out.
    let sent: crt_core::CrtRecord = serde_json::from_slice(&body).unwrap();
    assert_eq!(journaled["record"], serde_json::to_value(&sent).unwrap());
}

#[test]
fn every_invalid_example_gets_422_with_its_violations_and_nothing_is_stored() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let dir = repo().join("schemas/examples/invalid");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("invalid examples") {
        let path = entry.expect("entry").path();
        let name = path.to_string_lossy().to_string();
        if !name.ends_with(".json") || name.ends_with(".errors.json") {
            continue;
        }
        let expected: Value =
            serde_json::from_slice(&std::fs::read(path.with_extension("errors.json")).unwrap())
                .unwrap();
        let response = gateway.post_record(
            &std::fs::read(&path).unwrap(),
            Some(&format!("key-{checked}")),
        );
        assert_eq!(response.status, 422, "{name}: {}", response.text());
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
        let problem = response.json();
        assert_eq!(problem["type"], "urn:crt-gateway:problem:invalid-record");
        let mut found: Vec<(String, String)> = problem["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                assert!(!v["message"].as_str().unwrap().is_empty());
                (
                    v["pointer"].as_str().unwrap().into(),
                    v["rule"].as_str().unwrap().into(),
                )
            })
            .collect();
        let mut wanted: Vec<(String, String)> = expected["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["pointer"].as_str().unwrap().into(),
                    v["rule"].as_str().unwrap().into(),
                )
            })
            .collect();
        found.sort();
        wanted.sort();
        assert_eq!(found, wanted, "{name}");
        checked += 1;
    }
    assert!(checked >= 10);
    let deliveries = gateway.get_json("/v1/deliveries");
    assert_eq!(
        deliveries["deliveries"].as_array().unwrap().len(),
        0,
        "nothing stored"
    );
    // The keys of refused records were not kept either: the same key works for a valid record.
    let response = gateway.post_record(&example("exit-normandie.json"), Some("key-0"));
    assert_eq!(response.status, 202, "{}", response.text());
}

#[test]
fn malformed_json_wrong_media_type_and_oversized_bodies_are_refused() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(
        data.path(),
        &[("CRT_GATEWAY_SERVER__MAX_BODY_BYTES", "65536")],
    );

    let response = gateway.post_record(b"{\"schema_version\": \"1.0\",", None);
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["type"],
        "urn:crt-gateway:problem:malformed-json"
    );

    let response = gateway.request(
        "POST",
        "/v1/records",
        &[("Content-Type", "text/plain")],
        b"{}",
    );
    assert_eq!(response.status, 415);

    let huge = vec![b' '; 200_000];
    let response = gateway.post_record(&huge, None);
    assert_eq!(response.status, 413);

    let deep = "[".repeat(10_000);
    let response = gateway.post_record(deep.as_bytes(), None);
    assert_eq!(
        response.status, 400,
        "nesting beyond the limit is malformed, not a crash"
    );
    assert_eq!(gateway.request("GET", "/healthz", &[], b"").status, 200);
}

#[test]
fn idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let body = example("exit-normandie.json");
    let first = gateway.post_record(&body, Some("dui-42-v1"));
    assert_eq!(first.status, 202);
    let again = gateway.post_record(&body, Some("dui-42-v1"));
    assert_eq!(again.status, 202);
    assert_eq!(again.body, first.body, "the first answer, byte for byte");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    let other = gateway.post_record(
        &example("ehpad-emergency-room-occitanie.json"),
        Some("dui-42-v1"),
    );
    assert_eq!(other.status, 409);
    assert_eq!(
        other.json()["type"],
        "urn:crt-gateway:problem:idempotency-key-reused"
    );

    let bad_key = gateway.post_record(&body, Some("espace interdit"));
    assert_eq!(bad_key.status, 400);

    let list = gateway.get_json("/v1/deliveries");
    // The journal and the care circle's check, once.
    assert_eq!(
        list["deliveries"].as_array().unwrap().len(),
        2,
        "stored once"
    );
}

#[test]
fn operator_endpoints_answer_and_unknown_routes_are_problems() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let id = gateway
        .post_record(&example("exit-normandie.json"), None)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    gateway.wait_settled(&id, Duration::from_secs(20));

    let ready = gateway.request("GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert!(ready.text().contains("sink:journal"));

    let metrics = gateway.request("GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("crt_gateway_intake_requests_total{status=\"202\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crt_gateway_deliveries{state=\"delivered\"} 2"),
        "{metrics}"
    );

    let filtered = gateway.get_json("/v1/deliveries?state=delivered&target=journal&limit=10");
    assert_eq!(filtered["deliveries"].as_array().unwrap().len(), 1);
    let bad = gateway.request("GET", "/v1/deliveries?state=lost", &[], b"");
    assert_eq!(bad.status, 400);

    let missing = gateway.request("GET", "/v1/records/not-an-id", &[], b"");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
    let nowhere = gateway.request("GET", "/v2/anything", &[], b"");
    assert_eq!(nowhere.status, 404);
    let wrong_method = gateway.request("DELETE", "/v1/records", &[], b"");
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
}

#[test]
fn logs_of_a_run_hold_no_identity_trait_or_health_data() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[("CRT_GATEWAY_LOG", "debug")]);
    let mut ids = Vec::new();
    for name in [
        "home-volet2-pays-de-la-loire.json",
        "ehpad-emergency-room-occitanie.json",
    ] {
        ids.push(
            gateway.post_record(&example(name), None).json()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // A refused record too: its errors must not quote it.
    let mut invalid: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    invalid["beneficiary"]["identity"]["first_given_name"] = Value::from("Jeannette");
    gateway.post_record(&serde_json::to_vec(&invalid).unwrap(), None);
    for id in &ids {
        gateway.wait_settled(id, Duration::from_secs(20));
    }
    drop(gateway);
    let log = std::fs::read_to_string(data.path().join("gateway.log")).expect("log");
    assert!(log.contains("gateway listening"), "debug logs were written");
    for secret in [
        "Dupont",
        "DUPONT",
        "Marie-Thérèse",
        "Lefèvre",
        "Jeannette",
        "238047218104592",
        "1938-04-12",
        "N'Diaye",
        "Jean-Pierre",
        "Insuffisance",
        "FUROSEMIDE",
        "Pénicillines",
        "Diabète",
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}");
        // At rest, payloads and artifacts are sealed: the database files do not hold them.
        // (The INS is kept in clear in the identity check's receipt and in MSSanté's
        // recipient list, which the deliveries downstream read.)
        if secret == "238047218104592" {
            continue;
        }
        for file in ["crt-gateway.db", "crt-gateway.db-wal"] {
            let bytes = std::fs::read(data.path().join(file)).unwrap_or_default();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{file} holds {secret:?} in clear"
            );
        }
    }
}
