//! `cargo bench -p crt-documents`: CDA rendering of each model, XDS metadata, and the
//! CDA checks of `validate`, on the example records.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::CrtRecord;
use crt_core::identity::QualifiedIdentity;
use crt_documents::metadata::{Entry, Submission};
use crt_documents::{CdaModel, RenderContext, render};
use uuid::Uuid;

fn example(name: &str) -> CrtRecord {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/examples")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("example")).expect("record")
}

fn benches(c: &mut Criterion) {
    let record = example("home-volet2-pays-de-la-loire.json");
    let identity = QualifiedIdentity::of_record(&record).expect("INS");
    let context = RenderContext::for_record(&record, None);
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(1));
    for model in [CdaModel::DluEhpad, CdaModel::DluDom, CdaModel::Plan] {
        group.bench_function(model.slug(), |b| {
            b.iter(|| render(black_box(&record), model, &identity, &context).expect("rendered"))
        });
    }
    group.finish();

    let document = render(&record, CdaModel::DluDom, &identity, &context).expect("rendered");
    let mut group = c.benchmark_group("metadata");
    group.throughput(Throughput::Elements(1));
    group.bench_function("submit_objects_request", |b| {
        b.iter(|| {
            let entry = Entry::for_document(black_box(&document), &[]);
            let submission = Submission::new(
                Uuid::nil(),
                &context.oid_root,
                chrono::Utc::now(),
                &document,
                vec![entry],
            );
            let mut w = crt_core::xml::XmlWriter::new();
            submission.write(&mut w);
            w.finish()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("check");
    group.throughput(Throughput::Bytes(document.xml.len() as u64));
    group.bench_function("dlu-dom", |b| {
        b.iter(|| crt_documents::check::check(black_box(&document.xml)))
    });
    group.finish();

    // The official ANS example of DLU-EHPAD-DLU 2022.01 (1.1 MB, embedded PDF), when the
    // conformance kit is at hand: the header, sections and the model's schematron rules.
    let kit = std::env::var_os("CONFORMANCE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    if let Ok(official) = std::fs::read(kit.join("examples/DLU-EHPAD-DLU_2022.01.xml")) {
        let mut group = c.benchmark_group("check");
        group.throughput(Throughput::Bytes(official.len() as u64));
        group.bench_function("official-dlu-ehpad", |b| {
            b.iter(|| crt_documents::check::check(black_box(&official)))
        });
        group.finish();
    }
}

criterion_group!(documents, benches);
criterion_main!(documents);
