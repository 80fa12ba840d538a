//! Feeding the DMP through the real binary: the gateway renders the documents a record
//! asks for and submits them to its DMP simulator over mutual TLS, with a VIHF and a
//! submission-set signature, and keeps what it sent.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Gateway, cli, example};

fn dmp_deliveries(view: &Value) -> Vec<Value> {
    view["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["target"] == "dmp")
        .cloned()
        .collect()
}

fn submit(gateway: &Gateway, record: &Value) -> Value {
    let response = gateway.post_record(&serde_json::to_vec(record).unwrap(), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    gateway.wait_settled(&id, Duration::from_secs(30))
}

fn artifact(gateway: &Gateway, delivery: &Value, name: &str) -> String {
    let response = gateway.artifact(delivery, name);
    assert_eq!(response.status, 200, "{name}");
    response.text()
}

#[test]
fn the_dlu_and_the_plan_reach_the_dmp_and_a_resubmission_adds_nothing() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    let view = submit(&gateway, &record);
    let dmp = dmp_deliveries(&view);
    assert_eq!(dmp.len(), 2);
    for delivery in &dmp {
        assert_eq!(delivery["state"], "delivered", "{view}");
    }
    let dlu = &dmp[0];
    assert!(
        dlu["receipt"]["summary"]
            .as_str()
            .unwrap()
            .contains("DLU-DOM")
    );
    let xml = artifact(&gateway, dlu, "dlu.xml");
    assert!(xml.contains("<ClinicalDocument"));
    assert!(
        xml.contains("238047218104592"),
        "the INS is in the document"
    );
    let request = artifact(&gateway, dlu, "iti41-request.mime");
    assert!(request.contains("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"));
    assert!(request.contains("saml2:Assertion"));
    // The plan is version 2 and the DMP never had version 1: it goes in as new.
    let plan = &dmp[1];
    assert_eq!(
        plan["receipt"]["details"]["replaced_version_unknown_to_dmp"],
        true
    );

    let again = submit(&gateway, &record);
    let dmp_again = dmp_deliveries(&again);
    assert_eq!(dmp_again[0]["state"], "delivered", "{again}");
    assert_eq!(
        dmp_again[0]["receipt"]["details"]["unique_id"],
        dlu["receipt"]["details"]["unique_id"]
    );
    let warnings = dmp_again[0]["receipt"]["details"]["warnings"]
        .as_array()
        .unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["code"] == "XDSDocumentUniqueIdError"),
        "{again}"
    );
}

#[test]
fn opposition_declines_and_other_structures_get_sandbox_certificates() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    record["consents"]["dmp_feeding"] = serde_json::json!({
        "decision": "opposed",
        "recorded_at": "2026-03-01T10:00:00+01:00",
        "recorded_by": "pro-mt"
    });
    let view = submit(&gateway, &record);
    for delivery in dmp_deliveries(&view) {
        assert_eq!(delivery["state"], "declined", "{view}");
        assert!(delivery["artifacts"].as_array().is_none_or(Vec::is_empty));
    }

    let mut other: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    other["crt"]["finess_et"] = Value::from("720000025");
    let view = submit(&gateway, &other);
    for delivery in dmp_deliveries(&view) {
        assert_eq!(delivery["state"], "delivered", "{view}");
    }
    assert!(
        data.path()
            .join("sandbox-structures/1720000025/auth.pem")
            .is_file()
    );
}

/// Runs the binary from the repository root; returns (exit code, stdout).
#[test]
fn the_cli_renders_checks_and_builds_what_would_be_sent() {
    let out = tempfile::tempdir().expect("temp dir");
    let record = "schemas/examples/home-volet2-pays-de-la-loire.json";
    let dlu = out.path().join("dlu.xml");
    let (code, text) = cli(&[
        "dmp",
        "render",
        "--kind",
        "dlu",
        "--model",
        "ehpad",
        record,
        "-o",
        dlu.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("dlu-ehpad version 1"), "{text}");

    let (code, text) = cli(&["validate", dlu.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("valid CDA document (dlu-ehpad)"), "{text}");
    let broken = out.path().join("broken.xml");
    let xml = std::fs::read_to_string(&dlu).unwrap();
    std::fs::write(&broken, xml.replacen("<realmCode code=\"FR\"/>", "", 1)).unwrap();
    let (code, text) = cli(&["validate", broken.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("/ClinicalDocument: realmCode"), "{text}");

    let envelope = out.path().join("envelope");
    let (code, text) = cli(&[
        "dmp",
        "envelope",
        record,
        "--kind",
        "plan",
        "-o",
        envelope.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    let body = std::fs::read_to_string(envelope.join("iti41-request.mime")).unwrap();
    assert!(body.contains("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"));
    assert!(envelope.join("plan.xml").is_file());
    assert!(envelope.join("submission-signature.xml").is_file());

    // The request validates as an ITI-41 submission: metadata, signature, documents.
    let request = envelope.join("iti41-request.mime");
    let (code, text) = cli(&["validate", request.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("valid ITI-41 Provide and Register"), "{text}");
    let tampered = out.path().join("tampered.mime");
    std::fs::write(&tampered, body.replacen("<title>", "<title>X", 1)).unwrap();
    let (code, page) = cli(&["validate", "--format", "html", tampered.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{page}");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains(">Invalid</span>"), "{page}");
    assert!(page.contains("does not match the document"), "{page}");
}

#[test]
fn the_mhd_transport_delivers_the_same_documents_as_a_fhir_bundle() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[("CRT_GATEWAY_SINKS__DMP__TRANSPORT", "mhd")]);
    let record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    let view = submit(&gateway, &record);
    for delivery in dmp_deliveries(&view) {
        assert_eq!(delivery["state"], "delivered", "{view}");
        let bundle: Value =
            serde_json::from_str(&artifact(&gateway, &delivery, "iti65-request.json")).unwrap();
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "transaction");
    }
}

#[test]
fn a_closed_dmp_holds_the_delivery_with_its_reason_until_replayed() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    // Jean Martin closed his DMP: TD0.2 says so, and the delivery waits, held, instead of
    // retrying a submission the DMP would refuse.
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    record["beneficiary"]["identity"] = serde_json::json!({
        "birth_name": "Martin",
        "birth_given_names": ["Jean"],
        "first_given_name": "Jean",
        "sex": "M",
        "birth_date": "1950-01-01",
        "birth_place_code": "75056"
    });
    record["beneficiary"]["ins"] = serde_json::json!({
        "number": "150017505612390",
        "oid": "1.2.250.1.213.1.4.10"
    });
    let view = submit(&gateway, &record);
    let dmp = dmp_deliveries(&view);
    assert!(!dmp.is_empty(), "{view}");
    for delivery in &dmp {
        assert_eq!(delivery["state"], "held", "{view}");
        assert_eq!(delivery["attempts"], 1, "not retried: {view}");
        assert!(
            delivery["hold_reason"].as_str().is_some_and(
                |r| r.contains("DMP is closed") && r.contains("FERMETURE_DEMANDE_PATIENT")
            ),
            "{view}"
        );
    }
    // An operator replays it once the DMP is open again; closed still, it is held again.
    let replay = gateway.request(
        "POST",
        &format!("/v1/deliveries/{}/replay", dmp[0]["id"].as_str().unwrap()),
        &[],
        b"",
    );
    assert_eq!(replay.status, 200, "{}", replay.text());
    let id = view["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let again = gateway.get_json(&format!("/v1/records/{id}"));
        let delivery = dmp_deliveries(&again)
            .into_iter()
            .find(|d| d["id"] == dmp[0]["id"])
            .unwrap();
        if delivery["state"] == "held" && delivery["attempts"] == 1 {
            assert!(delivery["hold_reason"].as_str().is_some(), "{again}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{again}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The DMP deliveries of `view` that update a document the DMP already holds.
fn dmp_updates(view: &Value) -> Vec<Value> {
    dmp_deliveries(view)
        .into_iter()
        .filter(|d| d["work"]["work"] == "dmp_update")
        .collect()
}

#[test]
fn a_changed_consent_updates_the_documents_the_dmp_already_holds() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    let first = submit(&gateway, &record);
    assert!(dmp_updates(&first).is_empty(), "nothing to update: {first}");

    // The beneficiary asks that professionals no longer see the documents: the DLU and the
    // plan already in the DMP get new metadata (ITI-57) once this record's sends are done.
    record["consents"]["dmp_masking"] = serde_json::json!(["hidden_from_professionals"]);
    let masked = submit(&gateway, &record);
    let updates = dmp_updates(&masked);
    assert_eq!(updates.len(), 2, "{masked}");
    for update in &updates {
        assert_eq!(update["state"], "delivered", "{masked}");
        assert_eq!(update["work"]["change"], "visibility");
        assert_eq!(update["receipt"]["details"]["changed"], true, "{masked}");
        let codes = update["receipt"]["details"]["confidentiality"].to_string();
        assert!(codes.contains("MASQUE_PS"), "{codes}");
        let request = artifact(&gateway, update, "iti57-request.xml");
        assert!(request.contains("urn:ihe:iti:2010:UpdateDocumentSet"));
    }

    // And back: visible again.
    record["consents"]
        .as_object_mut()
        .unwrap()
        .remove("dmp_masking");
    let unmasked = submit(&gateway, &record);
    for update in dmp_updates(&unmasked) {
        assert_eq!(update["state"], "delivered", "{unmasked}");
        assert_eq!(
            update["receipt"]["details"]["confidentiality"],
            serde_json::json!(["N"]),
            "{unmasked}"
        );
    }

    // An opposition after submission: nothing new goes in, what is there is archived.
    record["consents"]["dmp_feeding"] = serde_json::json!({
        "decision": "opposed",
        "recorded_at": "2026-03-02T10:00:00+01:00",
        "recorded_by": "pro-mt"
    });
    let opposed = submit(&gateway, &record);
    let updates = dmp_updates(&opposed);
    assert_eq!(updates.len(), 2, "{opposed}");
    for update in &updates {
        assert_eq!(update["work"]["change"], "archive");
        assert_eq!(update["state"], "delivered", "{opposed}");
        assert_eq!(update["receipt"]["details"]["changed"], true, "{opposed}");
    }
    for send in dmp_deliveries(&opposed)
        .iter()
        .filter(|d| d["work"]["work"] != "dmp_update")
    {
        assert_eq!(send["state"], "declined", "{opposed}");
    }
}
