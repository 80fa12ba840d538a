//! Shares built and checked per second, and one record shared with a platform simulator
//! (`cargo bench -p crt-regions --bench regions`).

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::CrtRecord;
use crt_core::record::Action;
use crt_core::sink::{DeliveryTask, Sink, Work};
use crt_regions::client::FhirPlatform;
use crt_regions::rules::check_transaction;
use crt_regions::share::Share;
use crt_regions::simulator::{PlatformSimulator, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET};
use crt_regions::{PlatformConfig, RegionSink};
use uuid::Uuid;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let record: CrtRecord = serde_json::from_slice(
        &std::fs::read(root.join("schemas/examples/home-volet2-pays-de-la-loire.json"))
            .expect("example"),
    )
    .expect("record");
    let record = Arc::new(record);
    let identity = crt_core::identity::QualifiedIdentity::of_record(&record);
    let share = Share::new(record.clone(), identity.clone()).expect("share");
    let care_circle = share.build_care_circle();

    let mut group = c.benchmark_group("regions");
    group.throughput(Throughput::Elements(1));
    group.bench_function("build_share_with_documents", |b| {
        b.iter(|| {
            let share = Share::new(record.clone(), identity.clone()).expect("share");
            (
                share.care_circle().clone(),
                share.summary().clone(),
                share.entries().to_vec(),
            )
        })
    });
    group.bench_function("build_care_circle", |b| {
        b.iter(|| share.build_care_circle())
    });
    group.bench_function("check_care_circle", |b| {
        b.iter(|| check_transaction(&care_circle))
    });

    crt_core::tls::install_default_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pki = root.join("certs-example");
    let dialect = crt_regions::spico::DIALECT;
    let running = runtime
        .block_on(
            PlatformSimulator::new(dialect, &crt_core::simulate::SimulatorTls::from_pki(&pki))
                .expect("simulator")
                .start(([127, 0, 0, 1], 0).into()),
        )
        .expect("starts");
    let config = PlatformConfig {
        access: running.fhir_access(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, &pki),
        ..PlatformConfig::default()
    };
    let sink = RegionSink::new(
        Arc::new(FhirPlatform::new(dialect, &config).expect("client")),
        config.retry.clone(),
    );
    group.sample_size(20);
    group.bench_function("share_record_with_simulator", |b| {
        b.iter(|| {
            let task = DeliveryTask {
                delivery_id: Uuid::now_v7(),
                record_id: Uuid::now_v7(),
                attempt: 1,
                work: Work::Action {
                    action: Action::ShareWithRegion,
                },
                record: record.clone(),
                upstream: Vec::new(),
            };
            runtime.block_on(sink.deliver(&task)).expect("shared")
        })
    });
    group.finish();
    running.task.abort();
}

criterion_group!(benches, bench);
criterion_main!(benches);
