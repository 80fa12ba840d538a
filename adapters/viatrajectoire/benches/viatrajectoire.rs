//! Admission requests read, answers built and checked per second, and one answer sent to
//! the simulator (`cargo bench -p crt-viatrajectoire --bench viatrajectoire`).

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::CrtRecord;
use crt_core::record::{Action, AdmissionAnswer};
use crt_core::sink::{DeliveryTask, Sink, Work};
use crt_viatrajectoire::answer::{Answer, esms_task};
use crt_viatrajectoire::client::ViatrajectoireClient;
use crt_viatrajectoire::incoming::{self, NewRequest};
use crt_viatrajectoire::rules::check_task;
use crt_viatrajectoire::simulator::{
    SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ViatrajectoireSimulator,
};
use crt_viatrajectoire::{ViatrajectoireConfig, ViatrajectoireSink};
use uuid::Uuid;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let record: CrtRecord = serde_json::from_slice(
        &std::fs::read(root.join("schemas/examples/home-admission-occitanie.json"))
            .expect("example"),
    )
    .expect("record");
    let structure = record.crt.id_nat_struct();
    let requests: Vec<NewRequest> = serde_json::from_slice(
        &std::fs::read(root.join("schemas/viatrajectoire/examples/sandbox-requests.json"))
            .expect("requests"),
    )
    .expect("requests");
    let mut document = incoming::document(
        "1",
        "VT-GA-00000001",
        "D-1",
        &requests[0],
        "2026-03-02T09:30:00+01:00",
    );
    document["meta"] = serde_json::json!({"lastUpdated": "2026-03-02T08:30:00.000Z"});
    let answer = Answer {
        delivery_id: Uuid::now_v7(),
        structure: structure.clone(),
        name: record.crt.name.clone(),
        request_id: "VT-GA-00000001".into(),
        decision: AdmissionAnswer::WaitingList,
        rank: Some(1),
        date: None,
        reason: None,
    };
    let task_body = esms_task(&answer, chrono::Utc::now());

    let mut group = c.benchmark_group("viatrajectoire");
    group.throughput(Throughput::Elements(1));
    group.bench_function("read_admission_request", |b| {
        b.iter(|| incoming::read(&document).expect("request"))
    });
    group.bench_function("build_answer_task", |b| {
        b.iter(|| esms_task(&answer, chrono::Utc::now()))
    });
    group.bench_function("check_answer_task", |b| {
        b.iter(|| check_task(&task_body, &structure))
    });

    crt_core::tls::install_default_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pki = root.join("certs-example");
    let simulator = ViatrajectoireSimulator::new(&crt_core::simulate::SimulatorTls::from_pki(&pki))
        .expect("simulator");
    for request in &requests {
        simulator.platform().receive(request);
    }
    let running = runtime
        .block_on(simulator.start(([127, 0, 0, 1], 0).into()))
        .expect("starts");
    let config = ViatrajectoireConfig {
        access: running.fhir_access(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, &pki),
        ..ViatrajectoireConfig::default()
    };
    let sink = ViatrajectoireSink::new(
        Arc::new(ViatrajectoireClient::new(&config).expect("client")),
        &config,
    );
    let record = Arc::new(record);
    group.sample_size(30);
    group.bench_function("send_answer_to_simulator", |b| {
        b.iter(|| {
            let task = DeliveryTask {
                delivery_id: Uuid::now_v7(),
                record_id: Uuid::now_v7(),
                attempt: 1,
                work: Work::Action {
                    action: Action::AnswerAdmission {
                        request: "VT-GA-00000001".into(),
                        decision: AdmissionAnswer::Received,
                        rank: None,
                        date: None,
                        reason: None,
                    },
                },
                record: record.clone(),
                upstream: Vec::new(),
            };
            runtime.block_on(sink.deliver(&task)).expect("delivered")
        })
    });
    group.finish();
    running.task.abort();
}

criterion_group!(benches, bench);
criterion_main!(benches);
