//! Offers read, bundles rendered and checked, diffs computed, per second
//! (`cargo bench -p crt-ror --bench ror`); and a whole publish against the simulator.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_ror::client::RorClient;
use crt_ror::config::RorConfig;
use crt_ror::offer::Offer;
use crt_ror::publish::{changes, publish};
use crt_ror::render::{Links, Part, bundle, render};
use crt_ror::rules;
use crt_ror::simulator::{Registration, RorSimulator};

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("schemas/examples/offer.yaml")).expect("offer");
    let offer = Offer::read(&text).expect("valid offer");
    let rendered = bundle(&offer).expect("bundle");
    let links = Links::in_bundle(&offer);
    let held = render(&offer, Part::Volet2, &links).expect("render");
    let changed = Offer::read(&text.replace(
        "emergency_temporary_rooms: 2",
        "emergency_temporary_rooms: 3",
    ))
    .expect("changed offer");
    let desired = render(&changed, Part::Volet2, &links).expect("render");

    let mut group = c.benchmark_group("ror");
    group.throughput(Throughput::Elements(1));
    group.bench_function("read_offer_yaml", |b| {
        b.iter(|| Offer::read(&text).expect("offer"))
    });
    group.bench_function("render_bundle", |b| {
        b.iter(|| bundle(&offer).expect("bundle"))
    });
    group.bench_function("read_and_render_bundle", |b| {
        b.iter(|| bundle(&Offer::read(&text).expect("offer")).expect("bundle"))
    });
    group.bench_function("check_bundle_rules", |b| b.iter(|| rules::check(&rendered)));
    group.bench_function("diff_offer", |b| b.iter(|| changes(&held, &desired)));

    crt_core::tls::install_default_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pki = root.join("certs-example");
    let tls = crt_core::simulate::SimulatorTls::from_pki(&pki);
    let simulator = RorSimulator::new(&tls, vec![Registration::sandbox()]).expect("simulator");
    simulator
        .directory()
        .store
        .hold_structure(&offer)
        .expect("structure held");
    let running = runtime
        .block_on(simulator.start(([127, 0, 0, 1], 0).into()))
        .expect("simulator starts");
    let sandbox = Registration::sandbox();
    let client = RorClient::new(&RorConfig {
        access: running.fhir_access(&sandbox.client_id, &sandbox.client_secret, &pki),
        capacity: crt_ror::config::CapacityConfig {
            base_url: Some(crt_ror::simulator::capacity_base(&running)),
            ..Default::default()
        },
        ..RorConfig::default()
    })
    .expect("client");
    runtime
        .block_on(publish(&client, &offer, false))
        .expect("first publish");
    group.sample_size(20);
    group.bench_function("republish_unchanged_offer", |b| {
        b.iter(|| {
            runtime
                .block_on(publish(&client, &offer, false))
                .expect("publish")
        })
    });
    group.finish();
    running.task.abort();
}

criterion_group!(benches, bench);
criterion_main!(benches);
