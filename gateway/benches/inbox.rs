//! `cargo bench -p crt-gateway --bench inbox`: what one message a partner sends a CRT's
//! mailbox costs the gateway once fetched: read (MIME, the XDM archive unpacked and its
//! hashes checked), matched to a beneficiary by INS, kept sealed in the embedded store,
//! and, when the message asks for one, its MDN composed and sent over SMTP with mutual TLS
//! to the operator simulator on loopback.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::CrtRecord;
use crt_core::record::{Channel, DocumentKind};
use crt_core::simulate::SimulatorTls;
use crt_core::sink::DeliveryTask;
use crt_gateway::inbox::matching::Beneficiaries;
use crt_gateway::inbox::{Imported, Importer};
use crt_gateway::store::StorageConfig;
use crt_mssante::config::MailboxCredentials;
use crt_mssante::simulator::MssanteSimulator;
use crt_mssante::{MssanteConfig, MssanteSink};

const MAILBOX: &str = "crt.tilleuls@ehpad-tilleuls.mssante.fr";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bench(c: &mut Criterion) {
    crt_core::tls::install_default_provider();
    let pki = repo().join("certs-example");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let operator = runtime.block_on(async {
        MssanteSimulator::new(&SimulatorTls::from_pki(&pki))
            .expect("simulator TLS")
            .start([127, 0, 0, 1].into())
            .await
            .expect("simulator starts")
    });
    let config = MssanteConfig {
        smtp: Some(operator.smtp_url()),
        imap: Some(operator.imaps_url()),
        trust: Some(pki.join("ca/chain.pem")),
        crl: Some(pki.join("ca/organisations.crl.pem")),
        mailboxes: vec![MailboxCredentials {
            address: MAILBOX.into(),
            client_certificate: pki.join("crt/auth.pem"),
            client_key: pki.join("crt/auth.key.pem"),
            oid_root: None,
        }],
        ..MssanteConfig::default().with_sandbox_reference()
    };
    let sink = MssanteSink::new(&config).expect("sink");
    let record: CrtRecord = serde_json::from_slice(
        &std::fs::read(repo().join("schemas/examples/home-volet2-pays-de-la-loire.json"))
            .expect("example"),
    )
    .expect("record");
    // What a partner sends: the DLU message the gateway itself composes for this record.
    let task = DeliveryTask::document(
        Arc::new(record.clone()),
        DocumentKind::Dlu,
        Channel::Mssante,
    );
    let composed = sink
        .compose(&task, DocumentKind::Dlu)
        .expect("composed")
        .expect("recipients");
    let sender = composed.sender.clone();
    let asking = String::from_utf8(composed.bytes.clone()).expect("ASCII message");
    let quiet: String = asking
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with("Disposition-Notification-To:"))
        .collect();
    assert_ne!(asking, quiet, "the message asks for an MDN");
    let original_id = task.delivery_id.to_string();

    let data = tempfile::tempdir().expect("temp dir");
    let storage = StorageConfig {
        data_dir: data.path().to_path_buf(),
        ..StorageConfig::default()
    };
    let store = runtime.block_on(async {
        let sealer = storage.sealer().expect("storage keys");
        crt_gateway::store::open(&storage, Some(Arc::new(sealer)))
            .await
            .expect("store")
    });
    let importer = Importer {
        store: store.as_ref(),
        sink: &sink,
        pseudonyms: None,
        caller: "bench",
    };
    // Each message its own Message-ID: the store keeps a message once per id.
    let import = |text: &str| {
        let bytes = text
            .replacen(&original_id, &uuid::Uuid::now_v7().to_string(), 1)
            .into_bytes();
        let mut beneficiaries = Some(Beneficiaries::of_records(
            std::slice::from_ref(&record),
            MAILBOX,
        ));
        let imported = runtime
            .block_on(importer.import(&sender, black_box(&bytes), &mut beneficiaries))
            .expect("imported");
        assert!(
            matches!(imported, Imported::Kept { answered: true, .. }),
            "{imported:?}"
        );
    };

    let mut group = c.benchmark_group("inbox");
    group.throughput(Throughput::Elements(1));
    group.bench_function("import_dlu_message", |b| b.iter(|| import(&quiet)));
    group.bench_function("import_dlu_message_and_send_its_mdn", |b| {
        b.iter(|| import(&asking))
    });
    group.finish();
    operator.abort();
}

criterion_group!(benches, bench);
criterion_main!(benches);
