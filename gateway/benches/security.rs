//! What security costs per request: authenticating a bearer token, naming the actor,
//! deciding by the policy, sealing and opening a record at rest, hashing a trace line
//! (`cargo bench -p crt-gateway --bench security`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::simulate::Peer;
use crt_gateway::audit::{TraceEvent, chain_hash};
use crt_gateway::config::{ApiToken, AuthConfig};
use crt_gateway::security::auth::token_digest;
use crt_gateway::security::{Access, Authenticator, Policy, Resource};
use crt_gateway::store::sealing::Sealer;
use http::HeaderMap;

fn bench(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let record = std::fs::read(root.join("schemas/examples/home-volet2-pays-de-la-loire.json"))
        .expect("example");
    let authenticator = Authenticator::new(
        &AuthConfig::default(),
        vec![ApiToken {
            name: "dui".into(),
            sha256: token_digest("a-token-of-64-hex-digits"),
            structure: None,
            actor: Some("automate".into()),
        }],
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        "Bearer a-token-of-64-hex-digits".parse().unwrap(),
    );
    headers.insert("crt-actor-id", "810003456786".parse().unwrap());
    headers.insert("crt-actor-profession", "nurse".parse().unwrap());
    headers.insert("crt-actor-role", "nurse_coordinator".parse().unwrap());
    let peer = Peer::default();
    let policy = Policy::default_policy();
    let sealer =
        Sealer::parse("1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .expect("key");
    let sealed = sealer.seal("record:x", &record).expect("sealed");
    let mut event = TraceEvent::now("token:dui", "api.write", "care-coordination");
    event.outcome = "202".into();
    let entry = serde_json::to_string(&event).expect("event");

    let mut group = c.benchmark_group("security");
    group.throughput(Throughput::Elements(1));
    group.bench_function("authenticate_token_and_actor", |b| {
        b.iter(|| authenticator.authenticate(&headers, &peer).expect("caller"))
    });
    let caller = authenticator.authenticate(&headers, &peer).expect("caller");
    group.bench_function("policy_decision", |b| {
        b.iter(|| policy.decide(&caller.actor, Resource::Dlu, Access::Read))
    });
    group.bench_function("seal_record_8_7_kb", |b| {
        b.iter(|| sealer.seal("record:x", &record).expect("sealed"))
    });
    group.bench_function("open_record_8_7_kb", |b| {
        b.iter(|| sealer.open("record:x", sealed.clone()).expect("opened"))
    });
    group.bench_function("trace_line_hash", |b| {
        b.iter(|| chain_hash(crt_gateway::audit::GENESIS, &entry))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
