//! The store contract against PostgreSQL. Needs a server: `CRT_TEST_POSTGRES_URL`
//! (`.ci/run` starts one on loopback); each test works in a schema of its own.

use crate::DeliveryQueue;
use std::sync::Arc;

use super::PostgresStore;
use crate::contract;

/// A store on a fresh schema of the test server, or `None` (the test is skipped) when no
/// server is configured outside CI.
async fn store() -> Option<PostgresStore> {
    let Some(url) = std::env::var_os("CRT_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CRT_TEST_POSTGRES_URL is missing: .ci/run starts a PostgreSQL server"
        );
        eprintln!("CRT_TEST_POSTGRES_URL is not set: the PostgreSQL tests are skipped");
        return None;
    };
    let url = url.to_string_lossy().to_string();
    let schema = format!("test_{}", uuid::Uuid::now_v7().simple());
    let config: tokio_postgres::Config = url.parse().expect("CRT_TEST_POSTGRES_URL");
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("the test server answers");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("a schema");
    let mut config = config;
    config.options(format!("-c search_path={schema}"));
    Some(
        PostgresStore::connect_with(config, "test server")
            .await
            .expect("connect"),
    )
}

/// The contract's store, on a schema of its own.
async fn open() -> Option<((), PostgresStore)> {
    store().await.map(|store| ((), store))
}

contract::contract_suite!(open);

#[tokio::test]
async fn the_same_key_posted_at_once_stores_one_record() {
    let Some(store) = store().await else { return };
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .accept(contract::intake(
                    &[("journal", &[])],
                    Some("same"),
                    "same body",
                ))
                .await
                .expect("accept")
        }));
    }
    let mut stored = 0;
    for task in tasks {
        match task.await.expect("task") {
            crate::IntakeOutcome::Stored => stored += 1,
            crate::IntakeOutcome::Replayed { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(stored, 1);
    let leased = store.lease("w", 100, 2_000, 60_000).await.unwrap();
    assert_eq!(leased.len(), 1, "one record, one delivery");
}

#[tokio::test]
async fn instances_leasing_at_once_never_share_a_delivery() {
    let Some(store) = store().await else { return };
    let store = Arc::new(store);
    for n in 0..200 {
        store
            .accept(contract::intake(
                &[("journal", &[])],
                None,
                &format!("record {n}"),
            ))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let leased = store
                    .lease(&format!("w{worker}"), 7, 2_000, 60_000)
                    .await
                    .unwrap();
                if leased.is_empty() {
                    return mine;
                }
                mine.extend(leased.into_iter().map(|l| l.id));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let distinct: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(all.len(), 200);
    assert_eq!(distinct.len(), 200, "no delivery leased twice");
}
