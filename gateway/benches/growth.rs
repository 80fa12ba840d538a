//! Cost growth: what a record costs the store as the store grows from a thousand records
//! to a million (`cargo bench -p crt-gateway --bench growth -- [MAX_RECORDS]`, 1,000,000
//! by default).
//!
//! A sealed SQLite store (the embedded default, durable commit) takes records in rounds of
//! 1,000: each round's records are accepted 64 at a time, as concurrent requests are (so
//! they share commits), each after reading its beneficiary's consents and with the four
//! deliveries of the sandbox's usual plan and its consents row, and
//! then every delivery of the round is leased and settled with a receipt, as the engine
//! does. At each power of ten the table gives the time per record of the rounds just
//! before it: intake, settling its four deliveries, and the database's size.
//!
//! Not a criterion bench: the figure is a curve over one growing store, not a repeated
//! sample of one operation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crt_core::CrtRecord;
use crt_gateway::audit::TraceEvent;
use crt_gateway::store::{DeliveryQueue, Intake, NewRecord, SqliteStore};
use tokio::task::JoinSet;

mod support;

const ROUND: usize = 1_000;
const IN_FLIGHT: usize = 64;

fn main() {
    let max = std::env::args()
        .skip(1)
        .find_map(|arg| arg.replace('_', "").parse::<usize>().ok())
        .unwrap_or(1_000_000)
        .max(ROUND);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let payload = std::fs::read(root.join("schemas/examples/home-volet2-pays-de-la-loire.json"))
        .expect("example record");
    let record: CrtRecord = serde_json::from_slice(&payload).expect("record");

    let dir = tempfile::tempdir_in(root.join("target")).expect("temp dir");
    let path = dir.path().join("gateway.db");
    let store = Arc::new(
        SqliteStore::open(&path)
            .expect("store")
            .with_sealer(support::sealer()),
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    println!(
        "record {} bytes, {} deliveries each, rounds of {ROUND}, {IN_FLIGHT} intakes in flight",
        payload.len(),
        support::usual_deliveries().len()
    );
    println!(
        "| records in the store | intake per record | settling per record (4 deliveries) | database |"
    );
    println!("|---|---|---|---|");
    let mut stored = 0usize;
    let mut window = Window::default();
    let mut next_report = ROUND;
    while stored < max {
        let (intake, settle) = runtime.block_on(round(&store, &record, &payload, stored));
        stored += ROUND;
        window.add(intake, settle);
        if stored == next_report {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
                + std::fs::metadata(path.with_extension("db-wal"))
                    .map(|m| m.len())
                    .unwrap_or(0);
            println!(
                "| {stored} | {:.1} µs | {:.1} µs | {} MB |",
                window.per_record(window.intake),
                window.per_record(window.settle),
                size / 1_000_000
            );
            window = Window::default();
            next_report *= 10;
        }
    }
}

/// The rounds measured since the last line of the table (at most the last ten).
#[derive(Default)]
struct Window {
    rounds: Vec<(Duration, Duration)>,
    intake: Duration,
    settle: Duration,
}

impl Window {
    fn add(&mut self, intake: Duration, settle: Duration) {
        self.rounds.push((intake, settle));
        if self.rounds.len() > 10 {
            self.rounds.remove(0);
        }
        self.intake = self.rounds.iter().map(|r| r.0).sum();
        self.settle = self.rounds.iter().map(|r| r.1).sum();
    }

    fn per_record(&self, total: Duration) -> f64 {
        total.as_secs_f64() * 1e6 / (self.rounds.len() * ROUND) as f64
    }
}

/// The access-trace line an intake writes with its record, as the API does.
fn access_line(n: usize) -> TraceEvent {
    let mut event = TraceEvent::now("token:bench", "api.write", "care-coordination");
    event.object = Some("POST /v1/records".into());
    event.beneficiary = Some(format!("{n:032x}"));
    event.outcome = "202".into();
    event
}

/// One round: `ROUND` records accepted, then their deliveries settled.
async fn round(
    store: &Arc<SqliteStore>,
    record: &CrtRecord,
    payload: &[u8],
    stored: usize,
) -> (Duration, Duration) {
    let started = Instant::now();
    let mut running = JoinSet::new();
    for n in stored..stored + ROUND {
        if running.len() == IN_FLIGHT {
            running.join_next().await.expect("a task").expect("joined");
        }
        let intake = Intake {
            record: NewRecord {
                id: uuid::Uuid::now_v7(),
                received_at: 1_735_700_000_000 + n as i64,
                crt_finess_et: record.crt.finess_et.clone(),
                beneficiary_ref: format!("B{}", n % 10_000),
                source_ref: format!("R{n}"),
                body_sha256: format!("{n:064x}"),
                payload: payload.to_vec(),
            },
            deliveries: support::usual_deliveries(),
            idempotency_key: Some(format!("key-{n}")),
            response: b"{}".to_vec(),
            trace: vec![access_line(n)],
            consents: Some(serde_json::to_vec(&record.consents).expect("consents")),
        };
        let store = store.clone();
        running.spawn(async move {
            // As the API does: the beneficiary's consents before, then the record.
            store
                .previous_consents(
                    intake.record.crt_finess_et.clone(),
                    intake.record.beneficiary_ref.clone(),
                )
                .await
                .expect("consents read");
            store.accept(intake).await.expect("stored");
        });
    }
    while let Some(joined) = running.join_next().await {
        joined.expect("joined");
    }
    let intake = started.elapsed();

    let started = Instant::now();
    support::settle_all(store.clone(), IN_FLIGHT).await;
    (intake, started.elapsed())
}
