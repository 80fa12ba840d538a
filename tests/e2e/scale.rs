//! Several gateway instances on one PostgreSQL database: deliveries are shared out by
//! leases, an instance killed mid-flight loses nothing (its leases expire and another
//! instance takes them), and every record reaches the idempotent target exactly once.
//! Needs `CRT_TEST_POSTGRES_URL` (`.ci/run` starts a server).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::crash::journal_entries;
use crate::support::{Gateway, JOURNAL_ONLY, cli_with, example};

/// A fresh database on the test server, and its URL; `None` outside CI without a server.
fn fresh_database() -> Option<String> {
    let Some(url) = std::env::var_os("CRT_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CRT_TEST_POSTGRES_URL is missing: .ci/run starts a PostgreSQL server"
        );
        eprintln!("CRT_TEST_POSTGRES_URL is not set: the PostgreSQL test is skipped");
        return None;
    };
    let url = url.to_string_lossy().to_string();
    let name = format!("scale_{}", uuid::Uuid::now_v7().simple());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("the test server answers");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("a database");
    });
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    Some(format!("{base}/{name}"))
}

#[test]
fn three_instances_share_one_database_and_a_killed_one_loses_nothing() {
    let Some(database) = fresh_database() else {
        return;
    };
    let shared = tempfile::tempdir().expect("temp dir");
    let journal = shared.path().join("journal-target");
    let keys = shared.path().join("storage.keys");
    let pseudonym = shared.path().join("pseudonym.key");
    std::fs::write(
        &keys,
        "1 8f1e4c2a9b7d6e5f0a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778\n",
    )
    .unwrap();
    std::fs::write(&pseudonym, "a-pseudonym-key-every-instance-shares").unwrap();
    let (journal_dir, keys, pseudonym) = (
        journal.to_string_lossy().to_string(),
        keys.to_string_lossy().to_string(),
        pseudonym.to_string_lossy().to_string(),
    );
    let mut env = JOURNAL_ONLY.to_vec();
    env.extend([
        ("CRT_GATEWAY_STORAGE__DATABASE_URL", database.as_str()),
        ("CRT_GATEWAY_STORAGE__KEYS", keys.as_str()),
        ("CRT_GATEWAY_AUDIT__PSEUDONYM_KEY", pseudonym.as_str()),
        (
            "CRT_GATEWAY_SINKS__JOURNAL__DIRECTORY",
            journal_dir.as_str(),
        ),
        // A slow target, so that deliveries are in flight when an instance dies.
        ("CRT_GATEWAY_SINKS__JOURNAL__DELAY_MS", "100"),
        ("CRT_GATEWAY_SINKS__JOURNAL__RETRY__TIMEOUT", "1000"),
        ("CRT_GATEWAY_ENGINE__WORKERS", "4"),
        ("CRT_GATEWAY_ENGINE__LEASE_MS", "1500"),
        ("CRT_GATEWAY_ENGINE__POLL_INTERVAL_MS", "100"),
    ]);
    let data: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut gateways: Vec<Gateway> = data
        .iter()
        .map(|d| Gateway::start(d.path(), &env))
        .collect();

    // Records come in through every instance.
    let template: Value = serde_json::from_slice(&example("exit-normandie.json")).unwrap();
    let mut accepted = BTreeSet::new();
    for i in 0..90 {
        let mut record = template.clone();
        record["source"]["record_ref"] = Value::from(format!("scale-{i}"));
        let response = gateways[i % 3].post_record(&serde_json::to_vec(&record).unwrap(), None);
        assert_eq!(response.status, 202, "{}", response.text());
        accepted.insert(response.json()["id"].as_str().unwrap().to_string());
    }

    // One instance dies while deliveries are in flight.
    let deadline = Instant::now() + Duration::from_secs(30);
    while journal_entries_or_none(&journal) < 6 {
        assert!(Instant::now() < deadline, "no delivery started");
        std::thread::sleep(Duration::from_millis(20));
    }
    gateways[1].kill();
    assert!(
        journal_entries_or_none(&journal) < accepted.len(),
        "the kill came too late to prove anything"
    );

    // The two left deliver everything, the killed instance's leases included.
    for id in &accepted {
        let view = gateways[0].wait_settled(id, Duration::from_secs(90));
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
    // Both instances left delivered some: the work was shared.
    for gateway in [&gateways[0], &gateways[2]] {
        assert!(
            delivered_by(gateway) > 0,
            "instance {} delivered nothing",
            gateway.addr
        );
    }

    // One access trace for all, its chain whole although three instances appended to it.
    let (code, text) = cli_with(
        &["audit", "verify"],
        &[
            ("CRT_GATEWAY_STORAGE__DATABASE_URL", database.as_str()),
            ("CRT_GATEWAY_STORAGE__KEYS", keys.as_str()),
            ("CRT_GATEWAY_AUDIT__PSEUDONYM_KEY", pseudonym.as_str()),
        ],
    );
    assert_eq!(code, Some(0), "{text}");
}

fn journal_entries_or_none(journal: &std::path::Path) -> usize {
    if journal.is_dir() {
        journal_entries(journal).len()
    } else {
        0
    }
}

/// Journal deliveries this instance settled as delivered, from its metrics.
fn delivered_by(gateway: &Gateway) -> u64 {
    let metrics = gateway.request("GET", "/metrics", &[], b"").text();
    metrics
        .lines()
        .find(|line| {
            line.starts_with("crt_gateway_delivery_attempts_total{")
                && line.contains("target=\"journal\"")
                && line.contains("outcome=\"delivered\"")
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}
