//! ViaTrajectoire through the real binary: the sandbox's ViaTrajectoire holds a volet 2
//! admission request for the Occitanie example's CRT; the gateway reads it into the CRT's
//! waiting list, the DUI answers it with records (waiting list at a rank, then admitted),
//! each answer goes out as an esms-task and reads back into the list; requests that
//! arrive later, are withdrawn, or break the contract are read as such.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::support::{
    Gateway, check_profiles, cli_with, delivery_to, example, exported_trace, repo,
};

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
    base.replace("/fhir", "/test/requests")
}

/// A POST to the simulator's control endpoint, as ViaTrajectoire's users would act.
fn control(url: &str, body: Value) -> Value {
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = runtime
        .block_on(client.post(
            url,
            &[("content-type", "application/json")],
            Bytes::from(body.to_string()),
        ))
        .expect("control endpoint");
    assert!(
        answer.status == 200 || answer.status == 201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).expect("JSON")
}

/// Waits until the CRT's waiting list has the request in `status`; returns its entry.
fn wait_for(gateway: &Gateway, crt: &str, request: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = gateway.get_json(&format!("/v1/waiting-list?crt={crt}"));
        let entry = list["entries"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["request_id"] == request));
        if let Some(entry) = entry
            && entry["status"] == status
        {
            return entry.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{request} never {status}: {list}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The Occitanie example with its answer replaced, as a newer version.
fn answering(action: Value, updated_at: &str) -> Vec<u8> {
    let mut record: Value =
        serde_json::from_slice(&example("home-admission-occitanie.json")).unwrap();
    record["actions"][0] = action;
    record["source"]["updated_at"] = json!(updated_at);
    serde_json::to_vec(&record).unwrap()
}

fn answer_delivered(gateway: &Gateway, body: &[u8]) -> Value {
    let response = gateway.post_record(body, None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(30));
    let delivery = delivery_to(&view, "viatrajectoire");
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    delivery
}

#[test]
fn a_request_is_received_put_on_the_waiting_list_with_its_rank_then_admitted() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(
        data.path(),
        &[("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__POLL_INTERVAL", "200")],
    );
    let crt = "110008430";

    // The example answers the request the sandbox holds for its CRT: waiting list, rank 1.
    let delivery = answer_delivered(&gateway, &example("home-admission-occitanie.json"));
    let entry = wait_for(&gateway, crt, "VT-GA-00000001", "waiting_list");
    assert_eq!(entry["rank"], 1);
    assert_eq!(entry["request"]["person"]["family"], "Dupont");
    assert_eq!(entry["request"]["structure"], "1110008430");
    // The answer as sent, against the guide's ESMSTask StructureDefinition, read by a
    // checker written apart from the gateway.
    let task = gateway.artifact(&delivery, "esms-task.json").body;
    let file = data.path().join("esms-task.json");
    std::fs::write(&file, &task).unwrap();
    let text = check_profiles("viatrajectoire", &[file]);
    assert!(text.contains("esms-task"), "{text}");

    // A request made later shows as new, before any answer.
    let control_url = control_url(&gateway);
    let later = control(
        &control_url,
        json!({
            "structure": "1110008430",
            "person": {"family": "Roux", "given": "Paul", "birth_date": "1934-07-21", "gender": "male"},
            "requester": "Service social du CHU de Toulouse",
            "summary": "Sortie d'hospitalisation, vit seul.",
        }),
    );
    let later_id = later["identifier"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&gateway, crt, &later_id, "new");

    // Admitted, with its date.
    answer_delivered(
        &gateway,
        &answering(
            json!({"action": "answer_admission", "request": "VT-GA-00000001",
                   "decision": "admitted", "date": "2026-03-09"}),
            "2026-03-09T10:00:00+01:00",
        ),
    );
    wait_for(&gateway, crt, "VT-GA-00000001", "admitted");

    // ViaTrajectoire withdraws the later request: cancelled, and marked withdrawn.
    control(&format!("{control_url}/{later_id}/$withdraw"), json!({}));
    let entry = wait_for(&gateway, crt, &later_id, "cancelled");
    let deadline = Instant::now() + Duration::from_secs(20);
    while wait_for(&gateway, crt, &later_id, "cancelled")["withdrawn"] != true {
        assert!(Instant::now() < deadline, "never withdrawn: {entry}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let url = format!("http://{}", gateway.addr);
    let (code, text) = gateway.cli(&["waiting-list", "--crt", crt, "--url", &url]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("VT-GA-00000001"), "{text}");
    assert!(text.contains("admitted"), "{text}");

    let response = gateway.request("GET", "/v1/waiting-list?crt=123", &[], b"");
    assert_eq!(response.status, 400);
}

#[test]
fn a_request_outside_the_contract_is_kept_out_with_its_rule_in_the_trace() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut gateway = Gateway::start(
        data.path(),
        &[("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__POLL_INTERVAL", "200")],
    );
    let crt = "110008430";
    // A DocumentReference without the gender of the person, then a good request after it.
    let mut broken = json!({
        "resourceType": "DocumentReference",
        "contained": [{"resourceType": "Patient", "id": "patient",
                       "name": [{"family": "Roux", "given": ["Paul"]}], "birthDate": "1934-07-21"}],
        "identifier": [{"use": "official", "system": "urn:oid:1.2.250.1.213.8.1", "value": "VT-GA-BROKEN"}],
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "57830-2"}]},
        "subject": {"reference": "#patient"},
        "date": "2026-03-01T09:00:00+01:00",
        "author": [{"display": "Service social"}],
        "custodian": {"identifier": {"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "1110008430"}},
        "content": [{"attachment": {"contentType": "text/plain", "data": "UGF1bCBSb3V4"}}],
    });
    let control_url = control_url(&gateway);
    control(&format!("{control_url}/$raw"), broken.take());
    answer_delivered(&gateway, &example("home-admission-occitanie.json"));
    wait_for(&gateway, crt, "VT-GA-00000001", "waiting_list");
    let list = gateway.get_json(&format!("/v1/waiting-list?crt={crt}"));
    assert_eq!(list["entries"].as_array().unwrap().len(), 1, "{list}");
    gateway.kill();

    let lines = exported_trace(data.path());
    let rejected = lines
        .lines()
        .find(|l| l.contains("\"viatrajectoire.request\"") && l.contains("rejected:"))
        .unwrap_or_else(|| panic!("no rejection in {lines}"));
    assert!(rejected.contains("contained.gender"), "{rejected}");
    assert!(!lines.contains("Roux"), "the person's name in the trace");
}

#[test]
fn the_directory_card_is_published_from_the_offer_file() {
    let offer = repo().join("schemas/examples/offer.yaml");
    let offer = offer.to_str().unwrap();
    let data = tempfile::tempdir().expect("temp dir");
    let env = [(
        "CRT_GATEWAY_STORAGE__DATA_DIR",
        data.path().to_str().unwrap(),
    )];
    let (code, text) = cli_with(
        &["viatrajectoire", "publish-card", offer, "--dry-run"],
        &env,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("would be created"), "{text}");
    assert!(text.contains("PUT HealthcareService?identifier="), "{text}");
    assert!(text.contains("\"providedBy\""), "{text}");
    let (code, text) = cli_with(&["viatrajectoire", "publish-card", offer], &env);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("directory card created"), "{text}");

    // An offer the guide forbids is refused with its line and rule, before any exchange.
    let broken = data.path().join("offer.yaml");
    let text = std::fs::read_to_string(repo().join("schemas/examples/offer.yaml")).unwrap();
    std::fs::write(
        &broken,
        text.replacen("finess_et: 720003011", "finess_et: 720003012", 1),
    )
    .unwrap();
    let (code, text) = cli_with(
        &["viatrajectoire", "publish-card", broken.to_str().unwrap()],
        &env,
    );
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("invalid offer"), "{text}");
}
