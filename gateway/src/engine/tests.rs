//! The engine with the real INS sink against the INSi simulator over mutual TLS, and a
//! stand-in for a target that carries the INS: the carrier waits for the check and is
//! held unless the identity ends qualified.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crt_core::CrtRecord;
use crt_core::identity::qualified_ins;
use crt_core::record::{
    Action, Channel, DocumentKind, IdentityDocumentKind, IdentityEvidence, IdentityStatus,
};
use crt_core::sink::{
    Attempt, BoxFuture, DeliveryError, DeliveryTask, Health, Receipt, RetryPolicy, Sink,
};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use super::Engine;
use crate::config::{Config, EngineConfig};
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::routing;
use crate::sandbox::Sandbox;
use crate::store::{DeliveryState, Intake, NewRecord, SqliteStore, Store};

/// Stands for the DMP: records the INS it was allowed to send.
struct Carrier {
    retry: RetryPolicy,
    sent: Arc<AtomicUsize>,
}

impl Sink for Carrier {
    fn target(&self) -> &str {
        "dmp"
    }
    fn check(&self) -> BoxFuture<'_, Health> {
        Box::pin(async { Health::up("test carrier") })
    }
    fn deliver<'a>(&'a self, task: &'a DeliveryTask) -> Attempt<'a> {
        Box::pin(async move {
            let ins = qualified_ins(task)
                .ok_or_else(|| DeliveryError::final_error("no-ins", "no qualified INS"))?;
            self.sent.fetch_add(1, Ordering::SeqCst);
            Ok(Receipt::delivered("sent").with_remote_id(ins.number))
        })
    }
    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

pub(super) fn example(name: &str) -> CrtRecord {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas/examples")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("example")).expect("record")
}

struct Rig {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    sent: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
    _sandbox: Sandbox,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.sandbox.certs_dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs-example");
    config.storage.data_dir = dir.path().to_path_buf();
    config.sinks.journal.enabled = false;
    // The carrier and the INS check are what these tests follow.
    config
        .sinks
        .set_enabled(crt_core::directory::DIRECTORY_TARGET, false);
    let sandbox = Sandbox::start(&config).await.expect("sandbox");
    let sent = Arc::new(AtomicUsize::new(0));
    let registry = Registry::from_config(&sandbox.configure(&config), Some(sandbox.issuer()))
        .expect("registry")
        .with(Carrier {
            retry: RetryPolicy::default(),
            sent: sent.clone(),
        });
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("db")).expect("store"));
    Rig {
        store,
        registry: Arc::new(registry),
        sent,
        _dir: dir,
        _sandbox: sandbox,
    }
}

/// Accepts `record` like the API does.
async fn accept(rig: &Rig, record: &CrtRecord) -> Uuid {
    let deliveries = routing::plan(record, None, &rig.registry)
        .map_err(|v| v.into_vec())
        .expect("routed");
    let id = Uuid::now_v7();
    let payload = serde_json::to_vec(record).unwrap();
    rig.store
        .accept(Intake {
            record: NewRecord {
                id,
                received_at: 0,
                crt_finess_et: record.crt.finess_et.clone(),
                beneficiary_ref: record.beneficiary.local_id.clone(),
                source_ref: record.source.record_ref.clone(),
                body_sha256: crate::digest::sha256_hex(&payload),
                payload,
            },
            deliveries,
            idempotency_key: None,
            response: Vec::new(),
            trace: Vec::new(),
            consents: None,
        })
        .await
        .expect("stored");
    id
}

/// An engine on the rig's store and sinks that looks for work every 20 ms.
fn engine(rig: &Rig, workers: usize) -> Arc<Engine> {
    Arc::new(Engine::new(
        rig.store.clone(),
        rig.registry.clone(),
        EngineConfig {
            workers,
            poll_interval_ms: 20,
            ..Default::default()
        },
        Arc::new(Metrics::default()),
        Arc::new(Notify::new()),
    ))
}

/// Accepts `record` like the API does, runs the engine until its deliveries settle.
async fn run(
    rig: &Rig,
    record: &CrtRecord,
) -> Vec<(String, DeliveryState, Option<Receipt>, Option<String>)> {
    let id = accept(rig, record).await;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(engine(rig, EngineConfig::default().workers).run(stopped));
    let view = loop {
        let view = rig.store.record(id).await.unwrap().unwrap();
        if view.deliveries.iter().all(|d| d.state.is_settled()) {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = stop.send(true);
    let _ = task.await;
    view.deliveries
        .into_iter()
        .map(|d| (d.target, d.state, d.receipt, d.hold_reason))
        .collect()
}

fn with_dmp(mut record: CrtRecord) -> CrtRecord {
    record.actions = vec![Action::SendDocument {
        document: DocumentKind::Dlu,
        to: vec![Channel::Dmp],
    }];
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_but_unqualified_identity_holds_what_carries_the_ins() {
    let rig = rig().await;
    let record = with_dmp(example("ehpad-emergency-room-occitanie.json"));
    let settled = run(&rig, &record).await;
    let (_, state, receipt, _) = settled.iter().find(|d| d.0 == "ins").expect("INS check");
    assert_eq!(*state, DeliveryState::Delivered);
    let receipt = receipt.as_ref().unwrap();
    assert_eq!(receipt.details["status"], "RECUP");
    assert_eq!(receipt.details["answer_code"], "00");
    let (_, state, _, reason) = settled.iter().find(|d| d.0 == "dmp").expect("carrier");
    assert_eq!(*state, DeliveryState::Held);
    assert!(reason.as_deref().unwrap().contains("RECUP"));
    assert_eq!(
        rig.sent.load(Ordering::SeqCst),
        0,
        "nothing carried the INS out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checked_document_and_a_match_qualify_and_release_the_carrier() {
    let rig = rig().await;
    let mut record = with_dmp(example("ehpad-emergency-room-occitanie.json"));
    record.beneficiary.identity_evidence = Some(IdentityEvidence {
        document: IdentityDocumentKind::ResidencePermit,
        checked_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(),
        checked_by: Some("pro-ide".into()),
    });
    record.beneficiary.identity_status = IdentityStatus::Validated;
    let settled = run(&rig, &record).await;
    let ins = settled.iter().find(|d| d.0 == "ins").unwrap();
    assert_eq!(ins.2.as_ref().unwrap().details["status"], "QUAL");
    let carrier = settled.iter().find(|d| d.0 == "dmp").unwrap();
    assert_eq!(carrier.1, DeliveryState::Delivered);
    assert_eq!(
        carrier.2.as_ref().unwrap().remote_id.as_deref(),
        Some("741019935002180")
    );
    assert_eq!(rig.sent.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_identity_found_holds_with_the_reason() {
    let rig = rig().await;
    let mut record = with_dmp(example("ehpad-emergency-room-occitanie.json"));
    record.beneficiary.identity.birth_name = "Inconnu".into();
    let settled = run(&rig, &record).await;
    let ins = settled.iter().find(|d| d.0 == "ins").unwrap();
    assert_eq!(ins.2.as_ref().unwrap().details["answer_code"], "01");
    let carrier = settled.iter().find(|d| d.0 == "dmp").unwrap();
    assert_eq!(carrier.1, DeliveryState::Held);
    assert!(carrier.3.as_deref().unwrap().contains("CR 01"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qualified_record_goes_straight_to_the_carrier() {
    let rig = rig().await;
    let record = with_dmp(example("home-volet2-pays-de-la-loire.json"));
    let settled = run(&rig, &record).await;
    assert_eq!(settled.len(), 1, "no INS check for a qualified identity");
    assert_eq!(settled[0].1, DeliveryState::Delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_with_no_workers_delivers_nothing_and_stops_on_shutdown() {
    let rig = rig().await;
    let id = accept(
        &rig,
        &with_dmp(example("ehpad-emergency-room-occitanie.json")),
    )
    .await;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(engine(&rig, 0).run(stopped));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the engine stops on shutdown")
        .expect("joined");
    let view = rig.store.record(id).await.unwrap().unwrap();
    assert!(!view.deliveries.is_empty());
    assert!(
        view.deliveries
            .iter()
            .all(|d| d.attempts == 0 && !d.state.is_settled()),
        "{:?}",
        view.deliveries
    );
    assert_eq!(rig.sent.load(Ordering::SeqCst), 0);
}
