//! Messages packaged per second: render the CDA document, write the XDM archive and the
//! PDF, compose the MIME message; and messages read per second on the receiving side
//! (MIME, the archive checked, the patient named) (`cargo bench -p crt-mssante --bench
//! mssante`).

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::CrtRecord;
use crt_core::record::{Channel, DocumentKind};
use crt_core::sink::DeliveryTask;
use crt_mssante::config::MailboxCredentials;
use crt_mssante::{MssanteConfig, MssanteSink};

fn bench(c: &mut Criterion) {
    crt_core::tls::install_default_provider();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pki = root.join("certs-example");
    let record: CrtRecord = serde_json::from_slice(
        &std::fs::read(root.join("schemas/examples/home-volet2-pays-de-la-loire.json"))
            .expect("example"),
    )
    .expect("record");
    let sink = MssanteSink::new(&MssanteConfig {
        smtp: Some("smtps://localhost:465".into()),
        trust: Some(pki.join("ca/chain.pem")),
        mailboxes: vec![MailboxCredentials {
            address: record.crt.mssante_mailbox.clone().expect("mailbox"),
            client_certificate: pki.join("crt/auth.pem"),
            client_key: pki.join("crt/auth.key.pem"),
            oid_root: None,
        }],
        ..MssanteConfig::default().with_sandbox_reference()
    })
    .expect("sink");
    let task = DeliveryTask::document(Arc::new(record), DocumentKind::Dlu, Channel::Mssante);
    let mut group = c.benchmark_group("mssante");
    group.throughput(Throughput::Elements(1));
    group.bench_function("package_dlu_message", |b| {
        b.iter(|| {
            sink.compose(&task, DocumentKind::Dlu)
                .expect("composed")
                .expect("recipients")
        })
    });
    let composed = sink
        .compose(&task, DocumentKind::Dlu)
        .expect("composed")
        .expect("recipients");
    let document = composed.document.xml.clone();
    group.bench_function("pdf_of_dlu", |b| {
        b.iter(|| crt_mssante::pdf::render(&document).expect("pdf"))
    });
    let message = composed.bytes.clone();
    group.bench_function("read_received_dlu_message", |b| {
        b.iter(|| crt_mssante::inbound::read(&message).expect("readable"))
    });
    let archive = composed.archive;
    group.bench_function("check_xdm_archive", |b| {
        b.iter(|| crt_mssante::xdm::check(&archive))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
