//! The on-call service's alerts through the real binary: a téléassistance centre's system
//! raises an alert, kept before it is answered and kept once however often it is posted;
//! the nurse on call takes it, a second professional is told who has it, and it is closed
//! with its outcome. An alert about someone the gateway holds no record of is kept too.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Gateway, example, repo};

const JSON: (&str, &str) = ("Content-Type", "application/json");
const NURSE: [(&str, &str); 2] = [
    ("Crt-Actor-Id", "810003456786"),
    ("Crt-Actor-Profession", "nurse"),
];

fn alert_example() -> Value {
    let path = repo().join("schemas/examples/alerts/fall-at-night.json");
    serde_json::from_slice(&std::fs::read(path).expect("example")).expect("JSON")
}

#[test]
fn an_alert_is_kept_once_taken_once_and_closed_and_an_unknown_beneficiary_is_not_dropped() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let record = gateway.post_record(&example("home-volet2-pays-de-la-loire.json"), None);
    assert_eq!(record.status, 202, "{}", record.text());
    gateway.wait_settled(
        record.json()["id"].as_str().expect("id"),
        Duration::from_secs(30),
    );

    // The centre's system raises the alert; posting it again changes nothing.
    let body = serde_json::to_vec(&alert_example()).expect("JSON");
    let raised = gateway.request("POST", "/v1/alerts", &[JSON], &body);
    assert_eq!(raised.status, 202, "{}", raised.text());
    let alert = raised.json();
    assert_eq!(alert["status"], "open");
    assert_eq!(alert["beneficiary_ref"], "IPP-000417");
    assert_eq!(alert["reason"], "fall");
    let id = alert["id"].as_str().expect("id").to_string();
    let again = gateway.request("POST", "/v1/alerts", &[JSON], &body);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["id"], id.as_str());

    // A broken alert is refused with the field and the rule.
    let mut broken = alert_example();
    broken["beneficiary"] = serde_json::json!({ "birth_name": "Dupont" });
    broken["source"]["alert_id"] = "TAS-2026-120603".into();
    let refused = gateway.request(
        "POST",
        "/v1/alerts",
        &[JSON],
        &serde_json::to_vec(&broken).expect("JSON"),
    );
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(refused.json()["violations"][0]["pointer"], "/beneficiary");
    assert_eq!(refused.json()["violations"][0]["rule"], "beneficiary-named");

    // The nurse on call sees it, takes it; a second professional is told who has it.
    let listed = gateway.request("GET", "/v1/alerts?crt=720004563&status=open", &NURSE, b"");
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.json()["alerts"][0]["id"], id.as_str());
    let shown = gateway.request("GET", &format!("/v1/alerts/{id}"), &NURSE, b"");
    assert_eq!(shown.json()["alert"]["heard"], alert_example()["heard"]);
    let taken = gateway.request("POST", &format!("/v1/alerts/{id}/take"), &NURSE, b"");
    assert_eq!(taken.status, 200, "{}", taken.text());
    assert_eq!(taken.json()["taken_by"], "810003456786");
    let physician = [
        ("Crt-Actor-Id", "810002345675"),
        ("Crt-Actor-Profession", "physician"),
    ];
    let second = gateway.request("POST", &format!("/v1/alerts/{id}/take"), &physician, b"");
    assert_eq!(second.status, 409, "{}", second.text());
    assert!(second.text().contains("810003456786"), "{}", second.text());

    // Closed with its outcome.
    let mut headers = NURSE.to_vec();
    headers.push(JSON);
    let closed = gateway.request(
        "POST",
        &format!("/v1/alerts/{id}/close"),
        &headers,
        br#"{"outcome":"home_visit"}"#,
    );
    assert_eq!(closed.status, 200, "{}", closed.text());
    assert_eq!(closed.json()["status"], "closed");
    assert_eq!(closed.json()["outcome"], "home_visit");

    // Someone the gateway holds no record of: kept, with no beneficiary, never dropped.
    let mut stranger = alert_example();
    stranger["beneficiary"]["local_id"] = "IPP-999999".into();
    stranger["source"]["alert_id"] = "TAS-2026-120604".into();
    let kept = gateway.request(
        "POST",
        "/v1/alerts",
        &[JSON],
        &serde_json::to_vec(&stranger).expect("JSON"),
    );
    assert_eq!(kept.status, 202, "{}", kept.text());
    assert!(
        kept.json().get("beneficiary_ref").is_none(),
        "{}",
        kept.text()
    );

    // A home help may not read the alerts.
    let home_help = [
        ("Crt-Actor-Id", "810004567896"),
        ("Crt-Actor-Profession", "home_help"),
    ];
    let forbidden = gateway.request("GET", "/v1/alerts?crt=720004563", &home_help, b"");
    assert_eq!(forbidden.status, 403, "{}", forbidden.text());
}
