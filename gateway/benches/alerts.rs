//! `cargo bench -p crt-gateway --bench alerts`: the on-call path of a sandbox gateway in
//! this process, through its sockets.
//!
//! - **accepted**: alerts posted over HTTP by 16 clients at once (`POST /v1/alerts`, each
//!   validated and kept sealed in the embedded store before its `202`), per second;
//! - **alert → on-call message**: one alert at a time, the time from its receipt to the
//!   moment the MSSanté operator simulator accepted the call to the professional on call
//!   (the DLU rendered, packaged as IHE XDM with its PDF, sent over SMTP with mutual TLS),
//!   as the alert's `calls[0].at` minus its `received_at`: p50 and p99;
//! - the burst's calls: how long until the last of them went, calls per second.
//!
//! Not criterion: one run of each, printed, because the figures are a service's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crt_gateway::client::ApiClient;
use crt_gateway::config::Config;
use crt_gateway::rota::{OnCallConfig, OnCallRole, OnCallService, Person, Shift};
use crt_gateway::server::Gateway;
use crt_gateway::store::{AlertFilter, Store};
use serde_json::Value;

const CRT: &str = "720004563";
const BURST: usize = 1_000;
const CLIENTS: usize = 16;
const ONE_AT_A_TIME: usize = 100;

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn on_call() -> OnCallConfig {
    let shift = |role, name: &str, mailbox: &str| Shift {
        role,
        person: Person {
            name: name.into(),
            mailbox: mailbox.into(),
            id: None,
        },
        days: Vec::new(),
        from: "00:00".into(),
        to: "00:00".into(),
    };
    OnCallConfig {
        // No escalation during the run: each alert is one call.
        take_within_s: 3_600,
        poll_interval_ms: 1_000,
        services: vec![OnCallService {
            crt: CRT.into(),
            mailbox: "crt.tilleuls@ehpad-tilleuls.mssante.fr".into(),
            departement: Some("72".into()),
            coordinators: Vec::new(),
            rota: vec![
                shift(
                    OnCallRole::CareAssistant,
                    "Camille Lefort",
                    "camille.lefort@ehpad-tilleuls.mssante.fr",
                ),
                shift(
                    OnCallRole::Nurse,
                    "Sophie Petit",
                    "sophie.petit@ehpad-tilleuls.mssante.fr",
                ),
            ],
        }],
        ..OnCallConfig::default()
    }
}

fn alert(n: usize) -> Bytes {
    let mut alert: Value = serde_json::from_slice(
        &std::fs::read(repo().join("schemas/examples/alerts/fall-at-night.json")).expect("example"),
    )
    .expect("JSON");
    alert["source"]["alert_id"] = format!("BENCH-{n:06}").into();
    Bytes::from(serde_json::to_vec(&alert).expect("JSON"))
}

fn percentile(sorted: &[i64], q: f64) -> i64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Waits until every alert has its first call; the (received → called) waits, sorted.
async fn called(store: &Arc<dyn Store>, expected: usize) -> Vec<i64> {
    loop {
        let alerts = store
            .alerts(AlertFilter {
                crt: Some(CRT.into()),
                status: None,
                limit: usize::MAX >> 1,
            })
            .await
            .expect("alerts");
        let waits: Vec<i64> = alerts
            .iter()
            .filter_map(|a| a.calls.first().map(|c| c.at - a.received_at))
            .collect();
        if waits.len() >= expected {
            let mut waits = waits;
            waits.sort_unstable();
            return waits;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.storage.data_dir = data.path().to_path_buf();
        config.server.listen = ([127, 0, 0, 1], 0).into();
        config.sandbox.certs_dir = repo().join("certs-example");
        config.on_call = on_call();
        let gateway = Gateway::start(config).await.expect("gateway");
        let store = gateway.store();
        let token = std::fs::read_to_string(
            data.path()
                .join(crt_gateway::security::auth::SANDBOX_TOKEN_FILE),
        )
        .expect("sandbox token");
        let client = Arc::new(
            ApiClient::new(&format!("http://{}", gateway.addr()))
                .expect("client")
                .with_token(&token),
        );
        let record =
            std::fs::read(repo().join("schemas/examples/home-volet2-pays-de-la-loire.json"))
                .expect("record");
        let answer = client
            .post_record(record.into(), None)
            .await
            .expect("record");
        assert_eq!(answer.status, 202);

        // One alert at a time: the time to the on-call message.
        for n in 0..ONE_AT_A_TIME {
            let answer = client
                .post_json("/v1/alerts", alert(n), None)
                .await
                .expect("post");
            assert_eq!(
                answer.status,
                202,
                "{}",
                String::from_utf8_lossy(&answer.body)
            );
            called(&store, n + 1).await;
        }
        let waits = called(&store, ONE_AT_A_TIME).await;
        println!(
            "alert → on-call message, one at a time ({ONE_AT_A_TIME}): p50 {} ms, p99 {} ms",
            percentile(&waits, 0.5),
            percentile(&waits, 0.99)
        );

        // A burst: accepted per second, then the calls drained.
        let started = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(ONE_AT_A_TIME));
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            let client = client.clone();
            let next = next.clone();
            clients.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= ONE_AT_A_TIME + BURST {
                        return;
                    }
                    let answer = client
                        .post_json("/v1/alerts", alert(n), None)
                        .await
                        .expect("post");
                    assert_eq!(answer.status, 202);
                }
            }));
        }
        for handle in clients {
            handle.await.expect("client");
        }
        let accepted = started.elapsed();
        println!(
            "alerts accepted: {BURST} in {:.2} s, {:.0}/s ({CLIENTS} clients)",
            accepted.as_secs_f64(),
            BURST as f64 / accepted.as_secs_f64()
        );
        called(&store, ONE_AT_A_TIME + BURST).await;
        let drained = started.elapsed();
        println!(
            "burst calls: all {BURST} sent {:.2} s after the first post, {:.0} calls/s",
            drained.as_secs_f64(),
            BURST as f64 / drained.as_secs_f64(),
        );
        gateway.stop().await;
    });
}
