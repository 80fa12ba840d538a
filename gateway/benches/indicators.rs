//! The activity report of a CRT for a year from 10,000 stored record versions (100
//! beneficiaries, each record sent 100 times as its DUI updates it, each version with its
//! four deliveries): the whole report read from a sealed SQLite store, then its steps
//! (reading the payloads, the activity, the indicators, the HTML page, the workbook)
//! (`cargo bench -p crt-gateway --bench indicators`).

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::CrtRecord;
use crt_gateway::indicators::{Activity, Audience, Period, Settings, compute, render};

mod support;

fn payloads() -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template: CrtRecord = serde_json::from_slice(
        &std::fs::read(root.join("schemas/examples/home-volet2-pays-de-la-loire.json"))
            .expect("example"),
    )
    .expect("record");
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).expect("date");
    let mut payloads = Vec::with_capacity(10_000);
    for version in 0..100 {
        for person in 0..100i64 {
            let mut record = template.clone();
            record.beneficiary.local_id = format!("B{person}");
            if let Some(volet2) = record.volet2.as_mut() {
                let referred = first + Duration::days(person * 3);
                volet2.referral.received_on = referred;
                if let Some(visit) = volet2.home_visit.as_mut() {
                    visit.date = referred + Duration::days(3);
                }
                if let Some(decision) = volet2.decision.as_mut() {
                    decision.decided_on = referred + Duration::days(5);
                }
                volet2.start_on = Some(referred + Duration::days(10 + version % 3));
                volet2.exit = None;
            }
            payloads.push(serde_json::to_vec(&record).expect("JSON"));
        }
    }
    payloads
}

fn bench(c: &mut Criterion) {
    let payloads = payloads();
    let bytes: usize = payloads.iter().map(Vec::len).sum();
    let period = Period {
        from: NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"),
        to: NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"),
    };
    let records: Vec<CrtRecord> = payloads
        .iter()
        .map(|p| serde_json::from_slice(p).expect("record"))
        .collect();
    let activity = Activity::from_versions(&records);
    let indicators = compute(&activity, period, &Settings::standard(0));

    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("whole_year_10000_versions", |b| {
        b.iter(|| {
            let records: Vec<CrtRecord> = payloads
                .iter()
                .map(|p| serde_json::from_slice(p).expect("record"))
                .collect();
            let indicators = compute(
                &Activity::from_versions(&records),
                period,
                &Settings::standard(0),
            );
            render::html("720004563", &indicators, Audience::External, "now")
        })
    });
    group.finish();

    let mut group = c.benchmark_group("report-steps");
    group.sample_size(10);
    group.bench_function("read_payloads", |b| {
        b.iter(|| {
            payloads
                .iter()
                .map(|p| serde_json::from_slice::<CrtRecord>(p).expect("record"))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("activity", |b| b.iter(|| Activity::from_versions(&records)));
    group.bench_function("indicators", |b| {
        b.iter(|| compute(&activity, period, &Settings::standard(0)))
    });
    group.bench_function("html", |b| {
        b.iter(|| render::html("720004563", &indicators, Audience::External, "now"))
    });
    group.bench_function("xlsx", |b| {
        b.iter(|| render::xlsx("720004563", &indicators, Audience::Internal).expect("workbook"))
    });
    group.finish();

    from_the_store(c, &payloads, period);
}

/// The report as the API makes it: every version and delivery read from a sealed store.
fn from_the_store(c: &mut Criterion, payloads: &[Vec<u8>], period: Period) {
    use crt_gateway::store::{Intake, NewRecord, SqliteStore, Store};

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(
        SqliteStore::open(&dir.path().join("gateway.db"))
            .expect("store")
            .with_sealer(support::sealer()),
    );
    runtime.block_on(async {
        for (n, payload) in payloads.iter().enumerate() {
            let record: CrtRecord = serde_json::from_slice(payload).expect("record");
            let deliveries = support::usual_deliveries();
            store
                .accept(Intake {
                    record: NewRecord {
                        id: uuid::Uuid::now_v7(),
                        received_at: 1_735_700_000_000 + n as i64 * 1_000,
                        crt_finess_et: record.crt.finess_et.clone(),
                        beneficiary_ref: record.beneficiary.local_id.clone(),
                        source_ref: record.source.record_ref.clone(),
                        body_sha256: n.to_string(),
                        payload: payload.clone(),
                    },
                    deliveries,
                    idempotency_key: None,
                    response: Vec::new(),
                    trace: Vec::new(),
                    consents: None,
                })
                .await
                .expect("stored");
        }
        // Every delivery settled with a receipt, as after a year of work.
        support::settle_all(store.clone(), 64).await;
    });
    let crt = serde_json::from_slice::<CrtRecord>(&payloads[0])
        .expect("record")
        .crt
        .finess_et;
    let mut group = c.benchmark_group("report-from-store");
    group.sample_size(10);
    group.bench_function("whole_year_10000_versions_40000_deliveries", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let indicators =
                    crt_gateway::indicators::for_crt(&*store, &crt, period, Settings::standard(0))
                        .await
                        .expect("report");
                render::html(&crt, &indicators, Audience::External, "now")
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
