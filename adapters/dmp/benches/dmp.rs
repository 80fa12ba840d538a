//! `cargo bench -p crt-dmp`: what each DMP submission costs the gateway before the
//! network: the VIHF (one RSA signature), the submission-set signature (one more), and
//! the whole ITI-41 request (render, metadata, both signatures, MTOM), and the ITI-65
//! bundle (render, metadata, JSON, read back into the FHIR model).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::CrtRecord;
use crt_core::record::DocumentKind;
use crt_dmp::client::Acting;
use crt_dmp::config::StructureCertificates;
use crt_dmp::sink::document_task;
use crt_dmp::{DmpClient, DmpConfig, DmpSink, xades};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn benches(c: &mut Criterion) {
    crt_core::tls::install_default_provider();
    let pki = repo().join("certs-example");
    let config = DmpConfig {
        endpoint: Some("https://localhost:1".into()),
        trust: Some(pki.join("ca/chain.pem")),
        structures: vec![StructureCertificates {
            client_certificate: pki.join("crt/auth.pem"),
            client_key: pki.join("crt/auth.key.pem"),
            signing_certificate: pki.join("crt/sign.pem"),
            signing_key: pki.join("crt/sign.key.pem"),
            oid_root: None,
        }],
        ..DmpConfig::default()
    };
    let record: CrtRecord = serde_json::from_slice(
        &std::fs::read(repo().join("schemas/examples/home-volet2-pays-de-la-loire.json"))
            .expect("example"),
    )
    .expect("record");
    let client = DmpClient::from_config(&config).expect("client");
    let identity = client
        .identity(&record.crt.id_nat_struct())
        .expect("identity");
    let ins = record.beneficiary.ins.clone().expect("INS");
    let professional = record.professional("pro-med-crt").expect("author");
    let acting = Acting {
        professional,
        sector: "SA17^1.2.250.1.71.4.2.4",
        ins: &ins,
    };

    let mut group = c.benchmark_group("dmp");
    group.throughput(Throughput::Elements(1));
    group.bench_function("vihf", |b| {
        b.iter(|| client.vihf(&identity, black_box(&acting)).expect("signed"))
    });
    let document = vec![b'x'; 30_000];
    group.bench_function("submission_signature", |b| {
        b.iter(|| {
            xades::sign_submission(
                &[("1.2.3", black_box(&document))],
                identity.signer(),
                chrono::Utc::now(),
            )
            .expect("signed")
        })
    });
    let sink = DmpSink::new(DmpClient::from_config(&config).expect("client"), &config);
    let mhd_config = DmpConfig {
        transport: crt_dmp::config::Transport::Mhd,
        ..config.clone()
    };
    let mhd = DmpSink::new(
        DmpClient::from_config(&mhd_config).expect("client"),
        &mhd_config,
    );
    for kind in [DocumentKind::Dlu, DocumentKind::Plan] {
        let task = document_task(Arc::new(record.clone()), kind);
        group.bench_function(format!("iti41_envelope_{}", kind.as_str()), |b| {
            b.iter(|| sink.envelope(black_box(&task), kind).expect("built"))
        });
        group.bench_function(format!("iti65_bundle_{}", kind.as_str()), |b| {
            b.iter(|| mhd.envelope(black_box(&task), kind).expect("built"))
        });
    }
    group.finish();
}

criterion_group!(dmp, benches);
criterion_main!(dmp);
