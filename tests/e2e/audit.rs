//! The access trace through the binary: every API access and every exchange leaves a
//! line that names the beneficiary by pseudonym only; `audit verify` holds on an
//! untouched trace and names the line an edit or a deletion broke.

use std::time::Duration;

use crate::support::{Gateway, cli_with, example, exported_trace};

fn edit(database: &std::path::Path, sql: &str) {
    let conn = rusqlite::Connection::open(database).expect("database");
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS audit_trail_append_only_update; DROP TRIGGER IF EXISTS audit_trail_append_only_delete;",
    )
    .expect("the triggers can be dropped by someone with the file");
    conn.execute_batch(sql).expect("edit");
}

#[test]
fn every_access_and_exchange_is_traced_and_an_edit_is_found() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut gateway = Gateway::start(data.path(), &[]);
    let body = example("home-volet2-pays-de-la-loire.json");
    let response = gateway.post_record(&body, None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    gateway.wait_settled(&id, Duration::from_secs(30));
    // The same beneficiary, now opposed to the regional platform: the change is traced.
    let mut changed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    changed["consents"]["regional_platform"]["decision"] = "opposed".into();
    changed["source"]["updated_at"] = "2026-03-10T09:00:00+01:00".into();
    let response = gateway.post_record(&serde_json::to_vec(&changed).unwrap(), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let second = response.json()["id"].as_str().unwrap().to_string();
    gateway.wait_settled(&second, Duration::from_secs(30));
    gateway.kill();

    let data_dir = data.path().to_str().unwrap();
    let env = [("CRT_GATEWAY_STORAGE__DATA_DIR", data_dir)];
    let (code, text) = cli_with(&["audit", "verify"], &env);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("the chain holds"), "{text}");

    let lines = exported_trace(data.path());
    for expected in [
        "\"api.write\"",
        "\"api.read\"",
        "\"exchange.dmp\"",
        "\"exchange.mssante\"",
        "\"beneficiary\":\"p-",
    ] {
        assert!(lines.contains(expected), "{expected} in {lines}");
    }
    // The consents: recorded with the first record, the opposition traced with the second.
    let consents: Vec<&str> = lines
        .lines()
        .filter(|l| l.contains("\"consent.regional_platform\""))
        .collect();
    assert_eq!(consents.len(), 2, "{consents:?}");
    assert!(
        consents[0].contains("\"outcome\":\"granted"),
        "{}",
        consents[0]
    );
    assert!(
        consents[1].contains("\"outcome\":\"opposed"),
        "{}",
        consents[1]
    );
    assert!(
        consents[1].contains("\"actor\":\"810003456786\""),
        "{}",
        consents[1]
    );
    // Pseudonyms only: no name, no INS, no local id.
    for trait_ in ["Lefèvre", "LEFEVRE", "238047218104592", "IPP-000417"] {
        assert!(!lines.contains(trait_), "{trait_} in the trace");
    }
    let database = data.path().join("crt-gateway.db");

    // One line edited: verify fails and names it.
    edit(
        &database,
        "UPDATE audit_trail SET entry = entry || ' ' WHERE seq = 1;",
    );
    let (code, text) = cli_with(&["audit", "verify"], &env);
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("trace line 1"), "{text}");

    // A line removed further on is named too.
    edit(
        &database,
        "UPDATE audit_trail SET entry = substr(entry, 1, length(entry) - 1) WHERE seq = 1; DELETE FROM audit_trail WHERE seq = 3;",
    );
    let (code, text) = cli_with(&["audit", "verify"], &env);
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("trace line 3: missing"), "{text}");
}
