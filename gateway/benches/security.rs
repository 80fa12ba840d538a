//! What security costs per request: authenticating a bearer token, naming the actor,
//! a Pro Santé Connect token (its signature alone, and a professional already verified),
//! deciding by the policy, the care-team check, sealing and opening a record at rest,
//! hashing a trace line (`cargo bench -p crt-gateway --bench security`).

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
            delegates_for: vec!["*".into()],
        }],
        None,
        Default::default(),
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
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
        b.iter(|| {
            runtime
                .block_on(authenticator.authenticate(&headers, &peer))
                .expect("caller")
        })
    });
    let caller = runtime
        .block_on(authenticator.authenticate(&headers, &peer))
        .expect("caller");

    // Pro Santé Connect: the sandbox's simulator signs; the gateway verifies.
    let pki = root.join("certs-example");
    let (simulator, provider) = runtime.block_on(async {
        crt_core::tls::install_default_provider();
        let simulator = crt_psc::simulator::PscSimulator::start(
            "127.0.0.1:0".parse().expect("address"),
            &pki,
            vec![("bench".into(), "secret".into())],
        )
        .await
        .expect("PSC simulator");
        let provider = crt_psc::Provider::new(&crt_psc::PscConfig {
            enabled: true,
            issuer: Some(simulator.issuer()),
            authorization_endpoint: Some(simulator.authorization_endpoint()),
            client_id: Some("bench".into()),
            trust: Some(pki.join("ca/chain.pem")),
            identity_cache_seconds: 3_600,
            ..Default::default()
        })
        .expect("provider");
        (simulator, provider)
    });
    let psc_token = simulator
        .access_token("810002345675", "bench", 3_600)
        .expect("token");
    let keys = runtime.block_on(async {
        provider
            .professional(&psc_token)
            .await
            .expect("professional");
        crt_psc::jwt::Jwks {
            keys: vec![signer_jwk(&pki)],
        }
    });
    group.bench_function("psc_token_signature_rs256", |b| {
        b.iter(|| {
            crt_psc::jwt::decode(&psc_token)
                .expect("decoded")
                .verify(&keys)
                .expect("verified")
        })
    });
    group.bench_function("psc_token_professional_known", |b| {
        b.iter(|| {
            runtime
                .block_on(provider.professional(&psc_token))
                .expect("professional")
        })
    });
    let staff = vec![crt_gateway::config::Staff {
        crt: "720004563".into(),
        members: vec!["810009999990".into()],
    }];
    group.bench_function("care_team_check_8_7_kb_record", |b| {
        b.iter(|| {
            let circle = crt_gateway::security::care_team::care_circle_of(&record);
            crt_gateway::security::care_team::standing(&caller, "720004563", &circle, &staff)
        })
    });
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
    simulator.stop();
}

/// The public key the sandbox's PSC signs with, as its JWKS publishes it.
fn signer_jwk(pki: &std::path::Path) -> crt_psc::jwt::Jwk {
    let key = crt_core::tls::load_private_key(&pki.join("server/localhost.key.pem")).expect("key");
    crt_psc::jwt::Signer::from_pkcs8(key.secret_der(), "psc-sandbox")
        .expect("signer")
        .jwk()
}

criterion_group!(benches, bench);
criterion_main!(benches);
