//! Killing the gateway with SIGKILL while deliveries are in flight loses nothing and sends
//! nothing twice.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Gateway, JOURNAL_ONLY, example};

#[test]
fn sigkill_during_deliveries_then_restart_delivers_every_accepted_record_exactly_once() {
    let data = tempfile::tempdir().expect("temp dir");
    let journal = data.path().join("journal-target");
    let journal_dir = journal.to_string_lossy().to_string();
    let mut env = JOURNAL_ONLY.to_vec();
    env.extend([
        (
            "CRT_GATEWAY_SINKS__JOURNAL__DIRECTORY",
            journal_dir.as_str(),
        ),
        // Slow target: deliveries are in flight when the process dies.
        ("CRT_GATEWAY_SINKS__JOURNAL__DELAY_MS", "150"),
        ("CRT_GATEWAY_SINKS__JOURNAL__RETRY__TIMEOUT", "1000"),
        ("CRT_GATEWAY_ENGINE__WORKERS", "4"),
        // Short leases, so that deliveries held by the killed process come back quickly.
        ("CRT_GATEWAY_ENGINE__LEASE_MS", "1500"),
        ("CRT_GATEWAY_ENGINE__POLL_INTERVAL_MS", "100"),
    ]);
    let mut gateway = Gateway::start(data.path(), &env);

    let template: Value = serde_json::from_slice(&example("exit-normandie.json")).unwrap();
    let mut accepted = BTreeSet::new();
    for i in 0..40 {
        let mut record = template.clone();
        record["source"]["record_ref"] = Value::from(format!("crash-{i}"));
        let response = gateway.post_record(&serde_json::to_vec(&record).unwrap(), None);
        assert_eq!(response.status, 202);
        accepted.insert(response.json()["id"].as_str().unwrap().to_string());
    }

    // Kill once some, not all, deliveries are done.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = std::fs::read_dir(&journal).map(|d| d.count()).unwrap_or(0);
        if done >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "no delivery started");
        std::thread::sleep(Duration::from_millis(20));
    }
    gateway.kill();
    let done_before = journal_entries(&journal).len();
    assert!(
        done_before < accepted.len(),
        "the kill came too late to prove anything"
    );

    gateway.restart();
    for id in &accepted {
        let view = gateway.wait_settled(id, Duration::from_secs(60));
        assert_eq!(view["deliveries"][0]["state"], "delivered", "{view}");
    }

    let entries = journal_entries(&journal);
    let delivered: BTreeSet<String> = entries.iter().map(|(record, _)| record.clone()).collect();
    assert_eq!(
        entries.len(),
        accepted.len(),
        "one entry per record, no duplicate"
    );
    assert_eq!(delivered, accepted, "every accepted record, and only those");
}

/// (record id, delivery id) of each complete journal entry; partial files are not entries.
pub fn journal_entries(dir: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_dir(dir)
        .expect("journal")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if path.extension()? != "json" {
                return None;
            }
            let value: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
            Some((
                value["record_id"].as_str()?.to_string(),
                value["delivery_id"].as_str()?.to_string(),
            ))
        })
        .collect()
}
