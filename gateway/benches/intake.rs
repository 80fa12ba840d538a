//! What the intake of one record costs before the store: reading the JSON, the schema,
//! the model and the adapters' rules (`cargo bench -p crt-gateway --bench intake`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_gateway::registry::record_validator;

fn bench(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let record = std::fs::read(root.join("schemas/examples/home-volet2-pays-de-la-loire.json"))
        .expect("example");
    let validator = record_validator();
    validator.parse(&record).expect("the example is valid");
    let mut invalid: serde_json::Value = serde_json::from_slice(&record).expect("JSON");
    invalid["beneficiary"]["identity"]["birth_date"] = "31/12/1940".into();
    let invalid = serde_json::to_vec(&invalid).expect("JSON");
    validator
        .parse(&invalid)
        .expect_err("the changed record is refused");

    let mut group = c.benchmark_group("intake");
    group.throughput(Throughput::Bytes(record.len() as u64));
    group.bench_function("validate_record", |b| {
        b.iter(|| validator.parse(black_box(&record)).expect("valid"))
    });
    group.bench_function("refuse_record", |b| {
        b.iter(|| validator.parse(black_box(&invalid)).expect_err("refused"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
