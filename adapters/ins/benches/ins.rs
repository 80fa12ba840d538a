//! `cargo bench -p crt-ins`: INS number checks, traits normalisation, request encoding
//! and answer parsing, on the identities of the example records.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crt_core::identity::traits;
use crt_core::record::{IdentityTraits, Sex};
use crt_ins::message::{LpsContext, Query};
use crt_ins::{InsNumber, encode};

const NUMBERS: [&str; 4] = [
    "238047218104592",
    "145062A00412392",
    "741019935002180",
    "279035121518989",
];

fn identities() -> Vec<IdentityTraits> {
    vec![
        IdentityTraits {
            birth_name: "Dupont".into(),
            used_name: Some("Lefèvre".into()),
            birth_given_names: vec!["Marie-Thérèse".into(), "Jeanne".into()],
            first_given_name: "Marie-Thérèse".into(),
            used_given_name: None,
            sex: Sex::Female,
            birth_date: "1938-04-12".into(),
            birth_place_code: Some("72181".into()),
        },
        IdentityTraits {
            birth_name: "N’Diaye".into(),
            used_name: None,
            birth_given_names: vec!["Jean-Pierre".into()],
            first_given_name: "Jean-Pierre".into(),
            used_given_name: None,
            sex: Sex::Male,
            birth_date: "1941-00-00".into(),
            birth_place_code: Some("99350".into()),
        },
        IdentityTraits {
            birth_name: "Le  Goff".into(),
            used_name: None,
            birth_given_names: vec!["René".into(), "Louis".into()],
            first_given_name: "René".into(),
            used_given_name: None,
            sex: Sex::Male,
            birth_date: "1945-06-03".into(),
            birth_place_code: Some("2A004".into()),
        },
    ]
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("ins");
    group.throughput(Throughput::Elements(NUMBERS.len() as u64));
    group.bench_function("nir_check", |b| {
        b.iter(|| {
            for number in NUMBERS {
                black_box(InsNumber::parse(black_box(number)).is_ok());
            }
        })
    });
    let people = identities();
    group.throughput(Throughput::Elements(people.len() as u64));
    group.bench_function("traits_normalisation", |b| {
        b.iter(|| {
            for person in &people {
                black_box(traits::normalise(black_box(person)).is_ok());
            }
        })
    });
    let context = LpsContext {
        idam: "IDAM".into(),
        software_name: "crt-gateway".into(),
        software_version: "0.1.0".into(),
        emitter: "crt".into(),
        instance: "1".into(),
    };
    let query = Query::Traits(traits::normalise(&people[0]).unwrap());
    group.throughput(Throughput::Elements(1));
    group.bench_function("insi_request_encoding", |b| {
        b.iter(|| {
            black_box(encode::request(
                black_box(&query),
                &context,
                uuid::Uuid::nil(),
            ))
        })
    });
    group.finish();
}

criterion_group!(ins, benches);
criterion_main!(ins);
