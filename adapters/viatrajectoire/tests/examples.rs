//! The contract's examples in `schemas/viatrajectoire/examples/` are what the code reads
//! and writes: a request as ViaTrajectoire serves it (flux 1) and an answer as the gateway
//! sends it (flux 4). `UPDATE_SCHEMAS=1` rewrites them after a deliberate change.

use std::path::{Path, PathBuf};

use chrono::TimeZone;
use crt_core::record::AdmissionAnswer;
use crt_viatrajectoire::answer::{Answer, esms_task};
use crt_viatrajectoire::incoming::{self, NewRequest};
use serde_json::{Value, json};
use uuid::Uuid;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/viatrajectoire/examples")
}

fn same_as_file(name: &str, value: &Value) {
    let path = examples().join(name);
    let text = serde_json::to_string_pretty(value).expect("JSON") + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &text).expect("written");
        return;
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        kept,
        text,
        "{} is not what the code produces; rerun with UPDATE_SCHEMAS=1 if the change is meant",
        path.display()
    );
}

#[test]
fn the_examples_are_what_the_code_reads_and_writes() {
    let requests: Vec<NewRequest> = serde_json::from_slice(
        &std::fs::read(examples().join("sandbox-requests.json")).expect("requests"),
    )
    .expect("requests");
    let mut request = incoming::document(
        "1",
        "VT-GA-00000001",
        "D-1",
        &requests[0],
        "2026-03-02T09:30:00+01:00",
    );
    request["meta"] = json!({"versionId": "1", "lastUpdated": "2026-03-02T08:30:00.000Z"});
    let read = incoming::read(&request).expect("the example request is within the contract");
    assert_eq!(read.request_id, "VT-GA-00000001");
    same_as_file("request.json", &request);

    let answer = Answer {
        delivery_id: Uuid::parse_str("0193c1a2-7b4e-7c3a-9d2e-5f1a2b3c4d5e").expect("uuid"),
        structure: "1110008430".into(),
        name: "CRT Résidence du Lac".into(),
        request_id: read.request_id,
        decision: AdmissionAnswer::WaitingList,
        rank: Some(1),
        date: None,
        reason: None,
    };
    let today = chrono::Utc
        .with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
        .single()
        .expect("instant");
    let task = esms_task(&answer, today);
    assert!(crt_viatrajectoire::rules::check_task(&task, "1110008430").is_empty());
    same_as_file("answer-waiting-list.json", &task);

    let refused = Answer {
        decision: AdmissionAnswer::Refused,
        rank: None,
        reason: Some("114".into()),
        ..answer
    };
    let task = esms_task(&refused, today);
    assert!(crt_viatrajectoire::rules::check_task(&task, "1110008430").is_empty());
    same_as_file("answer-refused.json", &task);
}
