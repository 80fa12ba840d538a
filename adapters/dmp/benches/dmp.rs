//! `cargo bench -p crt-dmp`: what each DMP submission costs the gateway before the
//! network: the VIHF (one RSA signature), the submission-set signature (one more), and
//! the whole ITI-41 request (render, metadata, both signatures, MTOM), and the ITI-65
//! bundle (render, metadata, JSON, read back into the FHIR model). And the envelope alone
//! (a rendered CDA to its MTOM request, signatures aside) against quick-xml writing the
//! same bytes, its reference. And a consultation (ITI-18, then ITI-43) against the DMP
//! simulator on loopback.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::CrtRecord;
use crt_core::record::DocumentKind;
use crt_dmp::client::Acting;
use crt_dmp::config::StructureCertificates;
use crt_dmp::sink::document_task;
use crt_dmp::vihf::Subject;
use crt_dmp::{DmpClient, DmpConfig, DmpSink, xades};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The sink's configuration for `endpoint`, with the test PKI's CRT certificates.
fn config(pki: &Path, endpoint: String) -> DmpConfig {
    DmpConfig {
        endpoint: Some(endpoint),
        trust: Some(pki.join("ca/chain.pem")),
        structures: vec![StructureCertificates {
            client_certificate: pki.join("crt/auth.pem"),
            client_key: pki.join("crt/auth.key.pem"),
            signing_certificate: pki.join("crt/sign.pem"),
            signing_key: pki.join("crt/sign.key.pem"),
            oid_root: None,
        }],
        ..DmpConfig::default()
    }
}

fn benches(c: &mut Criterion) {
    crt_core::tls::install_default_provider();
    let pki = repo().join("certs-example");
    let config = config(&pki, "https://localhost:1".into());
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
    let acting = Acting::feeding(
        Subject::User {
            professional,
            authentication: None,
        },
        "SA17^1.2.250.1.71.4.2.4",
        &ins,
    );

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
    envelope_against_quick_xml(c, &record, &client, &identity, &acting);
    consultation_round_trip(c, &record, &pki);
}

/// A care-team professional's consultation through the sink, against the DMP simulator on
/// loopback (mutual TLS, connections kept): ITI-18 FindDocuments alone, and the search
/// then ITI-43 retrieve of the DLU that `read` makes, each with its signed VIHF.
fn consultation_round_trip(c: &mut Criterion, record: &CrtRecord, pki: &Path) {
    use crt_core::simulate::SimulatorTls;
    use crt_dmp::consult::Consultation;
    use crt_dmp::simulator::DmpSimulator;
    use crt_dmp::vihf::AccessMode;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let simulator = runtime.block_on(async {
        DmpSimulator::new(&SimulatorTls::from_pki(pki))
            .expect("simulator TLS")
            .start(([127, 0, 0, 1], 0).into())
            .await
            .expect("simulator starts")
    });
    let config = config(pki, simulator.url(""));
    let sink = DmpSink::new(DmpClient::from_config(&config).expect("client"), &config);
    let fed = runtime
        .block_on(crt_core::sink::Sink::deliver(
            &sink,
            &document_task(Arc::new(record.clone()), DocumentKind::Dlu),
        ))
        .expect("the DLU is fed");
    let unique_id = fed.details["unique_id"]
        .as_str()
        .expect("uniqueId")
        .to_string();
    let nurse = record.professional("pro-ide-coord").expect("nurse");
    let consultation = Consultation {
        record,
        professional: nurse,
        mode: AccessMode::Normal,
        reinforced: true,
    };
    let mut group = c.benchmark_group("dmp_consultation");
    group.throughput(Throughput::Elements(1));
    group.bench_function("iti18_search", |b| {
        b.iter(|| {
            runtime
                .block_on(sink.search(black_box(&consultation)))
                .expect("listed")
        })
    });
    group.bench_function("iti18_search_then_iti43_read", |b| {
        b.iter(|| {
            runtime
                .block_on(sink.read(black_box(&consultation), &unique_id))
                .expect("read")
                .expect("the DLU")
        })
    });
    group.finish();
    simulator.task.abort();
}

/// A rendered CDA to its ITI-41 request (metadata, SOAP envelope with the signed VIHF,
/// MTOM), against two references framed in the same MIME bytes: quick-xml writing the
/// same root part from its elements, attributes and text as plain strings (what a
/// hand-written envelope writer would do, escaping included), and quick-xml replaying
/// already escaped events (a floor, close to a memory copy). Both sides start from the
/// same inputs: the document, its XDS entry (hash included) and the signed VIHF, made
/// once outside the loop; the SHA-1 and the two RSA signatures are benched apart.
fn envelope_against_quick_xml(
    c: &mut Criterion,
    record: &CrtRecord,
    client: &DmpClient,
    identity: &crt_dmp::identity::StructureIdentity,
    acting: &Acting<'_>,
) {
    use crt_dmp::encode::{self, Attachment};
    use crt_documents::metadata::{Entry, Submission};
    use crt_documents::{CdaModel, RenderContext};

    let qualified = crt_core::identity::QualifiedIdentity::of_record(record).expect("INS");
    let context = RenderContext::for_record(record, None);
    let document =
        crt_documents::render(record, CdaModel::DluDom, &qualified, &context).expect("rendered");
    let vihf = client.vihf(identity, acting).expect("signed");
    let key = uuid::Uuid::now_v7();
    let time = chrono::Utc::now();
    let entry = Entry::for_document(&document, &[]);
    let build = |entry: Entry| {
        let submission = Submission::new(key, &context.oid_root, time, &document, vec![entry]);
        let attachments = [Attachment {
            entry_uuid: &submission.entries[0].entry_uuid,
            mime_type: "text/xml",
            bytes: &document.xml,
        }];
        encode::provide_and_register(
            &submission,
            &attachments,
            &vihf,
            "https://dmp.example/repository",
            key,
        )
    };

    // The references' input: the root part as events, and the MIME bytes around it.
    let request = build(entry.clone());
    let parts =
        crt_core::multipart::parse(&request.content_type, &request.body, 8).expect("multipart");
    let root = &parts[0].body;
    let start = crt_core::multipart::find(&request.body, root, 0).expect("root in body");
    let (prefix, suffix) = (&request.body[..start], &request.body[start + root.len()..]);
    let events = reference::events(root);
    let nodes = reference::nodes(&events);
    let frame = |xml: Vec<u8>| {
        let mut body = Vec::with_capacity(prefix.len() + xml.len() + suffix.len());
        body.extend_from_slice(prefix);
        body.extend_from_slice(&xml);
        body.extend_from_slice(suffix);
        body
    };
    let from_strings = || frame(reference::write_nodes(&nodes, root.len()));
    let replay = || frame(reference::replay(&events, root.len()));
    assert_eq!(replay(), request.body, "the replay writes the same bytes");
    assert_eq!(
        from_strings(),
        request.body,
        "the writer from strings writes the same bytes"
    );

    let mut group = c.benchmark_group("iti41_envelope");
    group.throughput(Throughput::Bytes(request.body.len() as u64));
    group.bench_function("gateway", |b| {
        b.iter(|| black_box(build(black_box(entry.clone()))))
    });
    group.bench_function("gateway_with_entry", |b| {
        b.iter(|| black_box(build(Entry::for_document(black_box(&document), &[]))))
    });
    group.bench_function("quick_xml_from_strings", |b| {
        b.iter(|| black_box(from_strings()))
    });
    group.bench_function("quick_xml_replay", |b| b.iter(|| black_box(replay())));
    group.finish();
}

/// The references of the envelope bench, written with quick-xml alone.
mod reference {
    use quick_xml::Writer;
    use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};

    /// One piece of the root part as plain strings: names, unescaped values and text.
    pub enum Node {
        Other(Event<'static>),
        Start(String, Vec<(String, String)>),
        Empty(String, Vec<(String, String)>),
        End(String),
        Text(String),
    }

    pub fn events(xml: &[u8]) -> Vec<Event<'static>> {
        let mut reader = quick_xml::Reader::from_reader(xml);
        let mut events = Vec::new();
        loop {
            match reader.read_event().expect("root part reads") {
                Event::Eof => return events,
                event => events.push(event.into_owned()),
            }
        }
    }

    fn element(start: &BytesStart<'_>) -> (String, Vec<(String, String)>) {
        let name = start.name().as_ref().to_string();
        let attributes = start
            .attributes()
            .map(|a| {
                let a = a.expect("attribute");
                let key = a.key.as_ref().to_string();
                let value = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .expect("value")
                    .into_owned();
                (key, value)
            })
            .collect();
        (name, attributes)
    }

    /// The events as nodes of plain strings; a run of text and references becomes one
    /// unescaped text.
    pub fn nodes(events: &[Event<'static>]) -> Vec<Node> {
        let mut nodes = Vec::new();
        for event in events {
            let piece = match event {
                Event::Text(text) => Some(text.to_string()),
                Event::GeneralRef(reference) => Some(
                    crt_core::xml::resolve_reference(reference)
                        .expect("a predefined entity")
                        .to_string(),
                ),
                _ => None,
            };
            if let Some(piece) = piece {
                match nodes.last_mut() {
                    Some(Node::Text(text)) => text.push_str(&piece),
                    _ => nodes.push(Node::Text(piece)),
                }
                continue;
            }
            nodes.push(match event {
                Event::Start(start) => {
                    let (name, attributes) = element(start);
                    Node::Start(name, attributes)
                }
                Event::Empty(start) => {
                    let (name, attributes) = element(start);
                    Node::Empty(name, attributes)
                }
                Event::End(end) => Node::End(end.name().as_ref().to_string()),
                other => Node::Other(other.clone()),
            });
        }
        nodes
    }

    fn start<'a>(name: &'a str, attributes: &'a [(String, String)]) -> BytesStart<'a> {
        let mut start = BytesStart::new(name);
        for (key, value) in attributes {
            start.push_attribute((key.as_str(), value.as_str()));
        }
        start
    }

    pub fn write_nodes(nodes: &[Node], capacity: usize) -> Vec<u8> {
        let mut writer = Writer::new(Vec::with_capacity(capacity));
        for node in nodes {
            let event = match node {
                Node::Start(name, attributes) => Event::Start(start(name, attributes)),
                Node::Empty(name, attributes) => Event::Empty(start(name, attributes)),
                Node::End(name) => Event::End(BytesEnd::new(name.as_str())),
                Node::Text(text) => Event::Text(BytesText::new(text)),
                Node::Other(event) => event.borrow(),
            };
            writer.write_event(event).expect("written");
        }
        writer.into_inner()
    }

    pub fn replay(events: &[Event<'static>], capacity: usize) -> Vec<u8> {
        let mut writer = Writer::new(Vec::with_capacity(capacity));
        for event in events {
            writer.write_event(event.borrow()).expect("written");
        }
        writer.into_inner()
    }
}

criterion_group!(dmp, benches);
criterion_main!(dmp);
