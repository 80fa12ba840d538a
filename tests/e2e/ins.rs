//! The INS check through the real binary: the gateway talks to its INSi simulator over
//! mutual TLS and records the identity status it may assign.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Gateway, delivery_to, example, targets};

#[test]
fn a_provisional_identity_is_checked_with_the_insi_and_the_exchange_is_kept() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let response = gateway.post_record(&example("ehpad-emergency-room-occitanie.json"), None);
    assert_eq!(response.status, 202, "{}", response.text());
    assert_eq!(
        targets(&response.json()),
        ["journal", "dmp", "ins", "directory"]
    );
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(30));
    let ins = delivery_to(&view, "ins");
    assert_eq!(ins["state"], "delivered", "{view}");
    assert_eq!(ins["receipt"]["details"]["status"], "RECUP");
    assert_eq!(
        ins["receipt"]["details"]["ins"]["number"],
        "741019935002180"
    );
    assert_eq!(
        ins["receipt"]["details"]["ins"]["oid"],
        "1.2.250.1.213.1.4.9"
    );
    assert!(
        ins["receipt"]["hold_dependents"]
            .as_str()
            .unwrap()
            .contains("RECUP")
    );
    assert_eq!(delivery_to(&view, "dmp")["state"], "held", "{view}");

    let request = gateway.artifact(&ins, "insi-request.xml");
    assert_eq!(request.status, 200);
    let text = request.text();
    assert!(
        text.contains("<ins:NomNaissance>N&apos;DIAYE</ins:NomNaissance>")
            || text.contains("<ins:NomNaissance>N'DIAYE</ins:NomNaissance>"),
        "{text}"
    );
    assert!(text.contains("urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"));
    // The record's structure (FINESS 110010030) asks with its own INSi certificate, which
    // the sandbox issued it, and names itself as Emetteur.
    assert!(text.contains(">1110010030</ctxbam:Emetteur>"), "{text}");
    assert!(text.contains(">1110010030</ctxlps:Emetteur>"), "{text}");
    assert!(
        data.path()
            .join("sandbox-structures/1110010030/insi-auto.pem")
            .is_file()
    );
}

#[test]
fn a_qualified_identity_is_not_checked_again() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let response = gateway.post_record(&example("home-volet2-pays-de-la-loire.json"), None);
    assert_eq!(
        targets(&response.json()),
        ["journal", "dmp", "dmp", "mssante", "directory"],
        "no INS check"
    );
}

#[test]
fn an_unavailable_teleservice_is_retried_then_dead_with_its_fault() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(
        data.path(),
        &[
            ("CRT_GATEWAY_SINKS__INS__RETRY__MAX_ATTEMPTS", "2"),
            ("CRT_GATEWAY_SINKS__INS__RETRY__INITIAL_BACKOFF", "50"),
            ("CRT_GATEWAY_SINKS__INS__RETRY__MAX_BACKOFF", "100"),
        ],
    );
    let mut record: Value =
        serde_json::from_slice(&example("ehpad-emergency-room-occitanie.json")).unwrap();
    let identity = &mut record["beneficiary"]["identity"];
    identity["birth_name"] = Value::from("Indisponible");
    identity["birth_given_names"] = serde_json::json!(["Service"]);
    identity["first_given_name"] = Value::from("Service");
    identity["birth_date"] = Value::from("1936-03-01");
    identity["birth_place_code"] = Value::from("72181");
    let response = gateway.post_record(&serde_json::to_vec(&record).unwrap(), None);
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(30));
    let ins = delivery_to(&view, "ins");
    assert_eq!(ins["state"], "dead", "{view}");
    assert_eq!(ins["attempts"], 2);
    assert_eq!(ins["last_error"]["code"], "soap-fault:siram_40");
    assert_eq!(ins["last_error"]["class"], "retryable");
    let dmp = delivery_to(&view, "dmp");
    assert_eq!(
        dmp["state"], "waiting",
        "released by a replay of the check: {view}"
    );
}

#[test]
fn an_ins_with_a_wrong_key_is_refused_at_intake() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    record["beneficiary"]["ins"]["number"] = Value::from("238047218104593");
    let response = gateway.post_record(&serde_json::to_vec(&record).unwrap(), None);
    assert_eq!(response.status, 422);
    let violation = &response.json()["violations"][0];
    assert_eq!(violation["pointer"], "/beneficiary/ins/number");
    assert_eq!(violation["rule"], "ins-number");
    assert!(
        violation["message"]
            .as_str()
            .unwrap()
            .contains("expected 92")
    );
}

#[test]
fn an_identity_insi_qualifies_reaches_the_dmp_with_the_traits_insi_returned() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    // The DUI spells the traits its own way (`N'Diaye`, `Jean-Pierre`) and checked an
    // identity document, so a match qualifies the identity.
    let mut record: Value =
        serde_json::from_slice(&example("ehpad-emergency-room-occitanie.json")).unwrap();
    record["beneficiary"]["identity_evidence"] =
        serde_json::json!({"document": "passport", "checked_on": "2026-03-04"});
    let response = gateway.post_record(&serde_json::to_vec(&record).unwrap(), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(30));

    let ins = delivery_to(&view, "ins");
    assert_eq!(ins["receipt"]["details"]["status"], "QUAL", "{view}");
    let traits = &ins["receipt"]["details"]["traits"];
    assert_eq!(traits["birth_name"], "N'DIAYE", "{ins}");
    assert_eq!(traits["given_names"], "JEAN-PIERRE", "{ins}");
    // The DUI reads them on the record itself, to update its copy of the identity.
    assert_eq!(view["identity"]["status"], "QUAL", "{view}");
    assert_eq!(
        view["identity"]["traits"]["birth_name"], "N'DIAYE",
        "{view}"
    );

    let dmp = delivery_to(&view, "dmp");
    assert_eq!(dmp["state"], "delivered", "{view}");
    let dlu = gateway.artifact(&dmp, "dlu.xml");
    assert_eq!(dlu.status, 200);
    let dlu = dlu.text();
    assert!(
        dlu.contains(r#"<family qualifier="BR">N&apos;DIAYE</family>"#)
            || dlu.contains(r#"<family qualifier="BR">N'DIAYE</family>"#),
        "the birth name as INSi returned it: {dlu}"
    );
    assert!(dlu.contains(r#"<given qualifier="BR">JEAN-PIERRE</given>"#));
    assert!(
        !dlu.contains(r#"qualifier="BR">N&apos;Diaye"#)
            && !dlu.contains(r#"qualifier="BR">N'Diaye"#),
        "not the DUI's spelling"
    );
}

#[test]
fn the_given_name_cascade_finds_a_beneficiary_by_her_second_given_name() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    // The teleservice knows her as CATARINA BELLA; the DUI has OLA CATARINA (the CNDA's
    // TCHITCHI case): OLA finds nobody, CATARINA finds her.
    let mut record: Value =
        serde_json::from_slice(&example("ehpad-emergency-room-occitanie.json")).unwrap();
    record["beneficiary"]["identity"] = serde_json::json!({
        "birth_name": "Tchitchi",
        "birth_given_names": ["Ola", "Catarina"],
        "first_given_name": "Ola",
        "sex": "F",
        "birth_date": "1936-06-21",
        "birth_place_code": "63220"
    });
    let response = gateway.post_record(&serde_json::to_vec(&record).unwrap(), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(30));

    let ins = delivery_to(&view, "ins");
    let details = &ins["receipt"]["details"];
    assert_eq!(details["answer_code"], "00", "{ins}");
    assert_eq!(details["traits"]["given_names"], "CATARINA BELLA", "{ins}");
    // Found, but her first given name differs from the DUI's: the INS is not recovered
    // until the DUI takes the teleservice's traits, which the receipt offers it.
    assert!(details["ins"].is_null(), "{ins}");
    assert!(
        details["mismatches"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m == "first given name")),
        "{ins}"
    );
    assert!(
        ins["receipt"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("search 2"),
        "{ins}"
    );
    let first = gateway.artifact(&ins, "insi-request-1.xml").text();
    assert!(first.contains("<ins:Prenom>OLA</ins:Prenom>"), "{first}");
    let deciding = gateway.artifact(&ins, "insi-request.xml").text();
    assert!(
        deciding.contains("<ins:Prenom>CATARINA</ins:Prenom>"),
        "{deciding}"
    );
}

#[test]
fn a_carte_vitale_is_searched_first_and_the_traits_after_it() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    // Gisèle Robin is on her husband's Carte Vitale, with rank 1.
    let mut record: Value =
        serde_json::from_slice(&example("ehpad-emergency-room-occitanie.json")).unwrap();
    record["beneficiary"]["identity"] = serde_json::json!({
        "birth_name": "Robin",
        "birth_given_names": ["Gisèle"],
        "first_given_name": "Gisèle",
        "sex": "F",
        "birth_date": "1939-07-14",
        "birth_place_code": "72181"
    });
    record["beneficiary"]["carte_vitale"] = serde_json::json!({
        "insured_number": "136037218104629",
        "birth_date": "1939-07-14",
        "birth_rank": 1
    });
    let check = |record: &Value| {
        let response = gateway.post_record(&serde_json::to_vec(record).unwrap(), None);
        assert_eq!(response.status, 202, "{}", response.text());
        let id = response.json()["id"].as_str().unwrap().to_string();
        let view = gateway.wait_settled(&id, Duration::from_secs(30));
        delivery_to(&view, "ins")
    };
    let ins = check(&record);
    assert_eq!(ins["receipt"]["details"]["answer_code"], "00", "{ins}");
    assert_eq!(
        ins["receipt"]["details"]["ins"]["number"], "239077218102316",
        "{ins}"
    );
    assert!(
        ins["receipt"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("by Carte Vitale"),
        "{ins}"
    );
    let request = gateway.artifact(&ins, "insi-request.xml").text();
    assert!(request.contains("<vit:MatriculeOD>"), "{request}");
    assert!(request.contains("<vit:RangNaissance>1<"), "{request}");

    // A rank the card does not hold finds nobody: the traits find her.
    record["beneficiary"]["carte_vitale"]["birth_rank"] = Value::from(2);
    let ins = check(&record);
    assert_eq!(ins["receipt"]["details"]["answer_code"], "00", "{ins}");
    let first = gateway.artifact(&ins, "insi-request-1.xml").text();
    assert!(first.contains("RECVITALE"), "{first}");
    let deciding = gateway.artifact(&ins, "insi-request.xml").text();
    assert!(deciding.contains("RECSANSVITALE"), "{deciding}");

    // A card number whose key is wrong is refused at intake, naming the field.
    record["beneficiary"]["carte_vitale"]["insured_number"] = Value::from("136037218104628");
    let response = gateway.post_record(&serde_json::to_vec(&record).unwrap(), None);
    assert_eq!(response.status, 422, "{}", response.text());
    assert!(
        response
            .text()
            .contains("/beneficiary/carte_vitale/insured_number"),
        "{}",
        response.text()
    );
}
