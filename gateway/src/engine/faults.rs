//! Faults of a target, over real sockets: the INS sink against the INSi simulator behind a
//! relay the test turns off (nothing listens), slows down, or turns on again; and a TLS
//! handshake the simulator refuses. A target that is down is retried until it returns; a
//! slow one times out without holding the other deliveries back; a refused handshake is a
//! final error after one attempt, not a storm of retries.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crt_core::sink::{
    Attempt, BoxFuture, DeliveryTask, ErrorClass, Health, Receipt, RetryPolicy, Sink, Work,
};
use crt_ins::{InsSink, InsiClient};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use super::Engine;
use super::tests::example;
use crate::certs::files;
use crate::config::{Config, EngineConfig};
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::sandbox::Sandbox;
use crate::store::{
    DeliveryState, DeliveryView, Intake, NewDelivery, NewRecord, SqliteStore, Store,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Nothing listens: connections are refused.
    Down,
    Up,
    /// Each connection waits this long before it is relayed.
    Slow(Duration),
}

/// A TCP relay in front of a target, whose mode the test sets.
struct Relay {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: SocketAddr, mode: Mode) -> Relay {
        // Bound once to learn a free port; the loop binds it again whenever it is up.
        let addr = TcpListener::bind(SocketAddr::new(upstream.ip(), 0))
            .await
            .expect("bind")
            .local_addr()
            .expect("address");
        let mode = Arc::new(Mutex::new(mode));
        let current = mode.clone();
        let task = tokio::spawn(async move {
            let mut listener: Option<TcpListener> = None;
            loop {
                let now = *current.lock().expect("mode");
                if now == Mode::Down {
                    listener = None;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                if listener.is_none() {
                    listener = TcpListener::bind(addr).await.ok();
                }
                let Some(bound) = &listener else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let Ok(Ok((mut inbound, _))) =
                    tokio::time::timeout(Duration::from_millis(20), bound.accept()).await
                else {
                    continue;
                };
                tokio::spawn(async move {
                    if let Mode::Slow(delay) = now {
                        tokio::time::sleep(delay).await;
                    }
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Relay { addr, mode, task }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A target that answers at once: the deliveries a slow target must not hold back.
struct Quick(RetryPolicy);

impl Sink for Quick {
    fn target(&self) -> &str {
        "quick"
    }
    fn check(&self) -> BoxFuture<'_, Health> {
        Box::pin(async { Health::up("quick") })
    }
    fn deliver<'a>(&'a self, _: &'a DeliveryTask) -> Attempt<'a> {
        Box::pin(async { Ok(Receipt::delivered("at once")) })
    }
    fn retry_policy(&self) -> &RetryPolicy {
        &self.0
    }
}

struct Bench {
    store: Arc<dyn Store>,
    stop: watch::Sender<bool>,
    engine: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
    _sandbox: Sandbox,
}

impl Bench {
    /// The INS sink in front of the sandbox's simulator, reached through `relay` when
    /// given, with `retry`, and `client_certificate` instead of the structure's INSi one.
    async fn start(
        relay: Option<Mode>,
        retry: RetryPolicy,
        client_certificate: Option<&str>,
    ) -> (Bench, Option<Relay>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.sandbox.certs_dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs-example");
        config.storage.data_dir = dir.path().to_path_buf();
        let sandbox = Sandbox::start(&config).await.expect("sandbox");
        let mut ins = sandbox
            .configure(&config)
            .sinks
            .section::<crt_ins::InsConfig>();
        ins.retry = retry.clone();
        let endpoint = ins.endpoint.clone().expect("simulator URL");
        let uri: http::Uri = endpoint.parse().expect("URL");
        let upstream: SocketAddr = tokio::net::lookup_host(format!(
            "{}:{}",
            uri.host().expect("host"),
            uri.port_u16().expect("port")
        ))
        .await
        .expect("the simulator's address")
        .next()
        .expect("an address");
        let relay = match relay {
            Some(mode) => Some(Relay::start(upstream, mode).await),
            None => None,
        };
        if let Some(relay) = &relay {
            ins.endpoint = Some(endpoint.replace(
                &format!(":{}", upstream.port()),
                &format!(":{}", relay.addr.port()),
            ));
        }
        if let Some(certificate) = client_certificate {
            ins.structures = vec![crt_ins::config::InsStructure {
                client_certificate: sandbox.pki.path(certificate),
                client_key: sandbox.pki.path(&certificate.replace(".pem", ".key.pem")),
            }];
        }
        let client = InsiClient::from_config(&ins).expect("INSi client");
        let registry = Registry::default()
            .with(InsSink::new(client, &ins))
            .with(Quick(RetryPolicy::default()));
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("db")).expect("store"));
        let (stop, stopped) = watch::channel(false);
        let engine = Arc::new(Engine::new(
            store.clone(),
            Arc::new(registry),
            EngineConfig {
                workers: 4,
                poll_interval_ms: 20,
                ..Default::default()
            },
            Arc::new(Metrics::default()),
            Arc::new(Notify::new()),
        ));
        let engine = tokio::spawn(engine.run(stopped));
        let bench = Bench {
            store,
            stop,
            engine,
            _dir: dir,
            _sandbox: sandbox,
        };
        (bench, relay)
    }

    /// A record whose one delivery goes to `target`.
    async fn submit(&self, target: &str, work: Work) -> Uuid {
        let mut record = example("ehpad-emergency-room-occitanie.json");
        // The structure of the test PKI's certificates, which the faults replace.
        record.crt.finess_et = "720004563".into();
        let payload = serde_json::to_vec(&record).expect("JSON");
        let id = Uuid::now_v7();
        self.store
            .accept(Intake {
                record: NewRecord {
                    id,
                    received_at: crate::store::now_millis(),
                    crt_finess_et: record.crt.finess_et.clone(),
                    beneficiary_ref: record.beneficiary.local_id.clone(),
                    source_ref: record.source.record_ref.clone(),
                    body_sha256: crate::digest::sha256_hex(&payload),
                    payload,
                },
                deliveries: vec![NewDelivery {
                    id: Uuid::now_v7(),
                    target: target.into(),
                    work,
                    depends_on: Vec::new(),
                }],
                idempotency_key: None,
                response: Vec::new(),
                trace: Vec::new(),
                consents: None,
            })
            .await
            .expect("stored");
        id
    }

    async fn delivery(&self, record: Uuid) -> DeliveryView {
        let view = self
            .store
            .record(record)
            .await
            .expect("read")
            .expect("record");
        view.deliveries.into_iter().next().expect("a delivery")
    }

    /// Waits (within a minute) until the record's delivery satisfies `done`.
    async fn until(&self, record: Uuid, done: impl Fn(&DeliveryView) -> bool) -> DeliveryView {
        for _ in 0..3000 {
            let delivery = self.delivery(record).await;
            if done(&delivery) {
                return delivery;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("record {record}: {:?}", self.delivery(record).await);
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.engine.await;
    }
}

fn quick_retries(max_attempts: u32, timeout: Duration) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        timeout,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_down_for_a_while_is_retried_until_it_returns() {
    let (bench, relay) = Bench::start(
        Some(Mode::Down),
        quick_retries(50, Duration::from_secs(5)),
        None,
    )
    .await;
    let relay = relay.expect("relay");
    let record = bench.submit("ins", Work::VerifyIdentity).await;
    // Between two attempts: waiting for the next one, the last one's error kept.
    let failing = bench
        .until(record, |d| {
            d.attempts >= 3 && d.state == DeliveryState::Pending
        })
        .await;
    assert_eq!(
        failing.last_error.as_ref().map(|e| e.code.as_str()),
        Some("connect")
    );
    assert!(
        failing
            .last_error
            .as_ref()
            .is_some_and(|e| e.class == ErrorClass::Retryable)
    );

    relay.set(Mode::Up);
    let delivered = bench.until(record, |d| d.state.is_settled()).await;
    assert_eq!(delivered.state, DeliveryState::Delivered, "{delivered:?}");
    assert!(delivered.attempts >= 4, "retried, then delivered");
    bench.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_target_times_out_without_holding_other_deliveries_back() {
    let (bench, _relay) = Bench::start(
        Some(Mode::Slow(Duration::from_secs(5))),
        quick_retries(2, Duration::from_millis(400)),
        None,
    )
    .await;
    // More slow deliveries than workers would starve the quick ones if attempts had no end.
    let mut slow = Vec::new();
    for _ in 0..6 {
        slow.push(bench.submit("ins", Work::VerifyIdentity).await);
    }
    let mut quick = Vec::new();
    for _ in 0..20 {
        quick.push(bench.submit("quick", Work::Journal).await);
    }
    for record in &quick {
        let delivery = bench.until(*record, |d| d.state.is_settled()).await;
        assert_eq!(delivery.state, DeliveryState::Delivered);
    }
    for record in &slow {
        let delivery = bench.until(*record, |d| d.state.is_settled()).await;
        assert_eq!(delivery.state, DeliveryState::Dead, "{delivery:?}");
        assert_eq!(delivery.attempts, 2);
        assert_eq!(
            delivery.last_error.as_ref().map(|e| e.code.as_str()),
            Some("timeout")
        );
    }
    bench.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_tls_handshake_is_final_after_one_attempt() {
    // The simulator refuses an expired client certificate, as the teleservice does.
    let (bench, _) = Bench::start(
        None,
        quick_retries(8, Duration::from_secs(5)),
        Some(files::EXPIRED),
    )
    .await;
    let record = bench.submit("ins", Work::VerifyIdentity).await;
    let delivery = bench.until(record, |d| d.state.is_settled()).await;
    assert_eq!(delivery.state, DeliveryState::Dead, "{delivery:?}");
    assert_eq!(delivery.attempts, 1, "no retry storm");
    let error = delivery.last_error.expect("the error");
    assert_eq!(error.code, "tls", "{error:?}");
    assert_eq!(error.class, ErrorClass::Final);
    bench.stop().await;
}
