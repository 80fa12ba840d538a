//! The INSi client against the simulator, over real sockets and mutual TLS with the test
//! PKI: every CodeCR, faults, and each certificate the teleservice refuses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crt_core::identity::traits::NormalisedTraits;
use crt_core::sink::ErrorClass;
use crt_core::tls::{self, IdentityFiles};
use crt_ins::InsConfig;
use crt_ins::client::{InsiClient, InsiError, SetupError, StructureClient};
use crt_ins::config::InsStructure;
use crt_ins::message::{InsiAnswer, Matricule, Query, VitaleQuery};
use crt_ins::simulator::{InsiSimulator, Population, RunningInsi, SimulatorTls};

fn pki() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example")
}

async fn simulator() -> RunningInsi {
    tls::install_default_provider();
    let files = SimulatorTls::from_pki(&pki());
    InsiSimulator::new(&files, Population::sandbox())
        .expect("simulator TLS")
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator starts")
}

/// The example structure's identifier, the subject OU of its certificates.
const STRUCTURE: &str = "1720004563";

fn client(sim: &RunningInsi, certificate: Option<(&str, &str)>, trust: &str) -> StructureClient {
    let identity = certificate.map(|(cert, key)| IdentityFiles {
        certificate: pki().join(cert),
        key: pki().join(key),
    });
    let config = tls::client_config(&pki().join(trust), identity.as_ref()).expect("client TLS");
    StructureClient::new(
        sim.url(),
        Arc::clone(&config),
        &InsConfig::default(),
        STRUCTURE.into(),
    )
}

fn insi_client(sim: &RunningInsi) -> StructureClient {
    client(
        sim,
        Some(("crt/insi-auto.pem", "crt/insi-auto.key.pem")),
        "ca/chain.pem",
    )
}

fn traits(name: &str, given: &[&str], sex: &'static str, date: &str, place: Option<&str>) -> Query {
    Query::Traits(NormalisedTraits {
        birth_name: name.into(),
        given_names: given.iter().map(|g| g.to_string()).collect(),
        sex,
        birth_date: date.into(),
        birth_place: place.map(str::to_string),
    })
}

#[tokio::test]
async fn each_code_cr_comes_back_over_mutual_tls() {
    let sim = simulator().await;
    let client = insi_client(&sim);
    let id = uuid::Uuid::now_v7();

    let found = client
        .search(
            &traits(
                "DUPONT",
                &["MARIE-THERESE", "JEANNE"],
                "F",
                "1938-04-12",
                None,
            ),
            id,
        )
        .await
        .expect("search");
    let InsiAnswer::Found(identity) = found.answer else {
        panic!("CR 00 expected")
    };
    assert_eq!(identity.ins.as_string(), "238047218104592");
    assert_eq!(identity.traits.given_names, "MARIE-THERESE JEANNE");
    assert!(String::from_utf8_lossy(&found.request).contains("RECSANSVITALE"));

    let none = client
        .search(
            &traits("INCONNU", &["PERSONNE"], "F", "1930-01-01", None),
            id,
        )
        .await
        .expect("search");
    assert_eq!(none.answer, InsiAnswer::NotFound);

    let homonyms = client
        .search(&traits("MARTIN", &["JEAN"], "M", "1950-01-01", None), id)
        .await
        .expect("search");
    assert_eq!(homonyms.answer, InsiAnswer::Several);
    let narrowed = client
        .search(
            &traits("MARTIN", &["JEAN"], "M", "1950-01-01", Some("69123")),
            id,
        )
        .await
        .expect("search");
    assert!(
        matches!(narrowed.answer, InsiAnswer::Found(_)),
        "the birth place tells them apart"
    );

    let history = client
        .search(&traits("LE GOFF", &["RENE"], "M", "1945-06-03", None), id)
        .await
        .expect("search");
    let InsiAnswer::Found(identity) = history.answer else {
        panic!("CR 00 expected")
    };
    assert_eq!(identity.history.len(), 1);

    let vitale = Query::Vitale(VitaleQuery {
        individual: Matricule::of("238047218104592"),
        insured: None,
        birth_name: Some("DUPONT".into()),
        birth_date: "1938-04-12".into(),
        birth_rank: Some("1".into()),
    });
    assert!(matches!(
        client.search(&vitale, id).await.expect("search").answer,
        InsiAnswer::Found(_)
    ));
}

#[tokio::test]
async fn a_beneficiary_on_someone_elses_card_is_found_by_her_rank_on_it() {
    let sim = simulator().await;
    let client = insi_client(&sim);
    // Gisèle Robin is on her husband's card: his matricule, her birth date and rank.
    let card = |rank: &str| {
        Query::Vitale(VitaleQuery {
            individual: None,
            insured: Matricule::of("136037218104629"),
            birth_name: Some("ROBIN".into()),
            birth_date: "1939-07-14".into(),
            birth_rank: Some(rank.into()),
        })
    };
    let found = client
        .search(&card("1"), uuid::Uuid::now_v7())
        .await
        .expect("search");
    let request = String::from_utf8_lossy(&found.request).to_string();
    assert!(request.contains("<vit:MatriculeOD>"), "{request}");
    assert!(!request.contains("<vit:MatriculeIndividu>"), "{request}");
    let InsiAnswer::Found(identity) = found.answer else {
        panic!("CR 00 expected")
    };
    assert_eq!(identity.ins.as_string(), "239077218102316");
    assert_eq!(identity.traits.given_names, "GISELE");
    // Another rank on the same card is someone else.
    let other = client
        .search(&card("2"), uuid::Uuid::now_v7())
        .await
        .expect("search");
    assert!(matches!(other.answer, InsiAnswer::NotFound));
}

#[tokio::test]
async fn a_service_fault_is_retryable_and_a_refused_request_is_not() {
    let sim = simulator().await;
    let client = insi_client(&sim);
    let error = client
        .search(
            &traits("INDISPONIBLE", &["SERVICE"], "M", "1936-03-01", None),
            uuid::Uuid::nil(),
        )
        .await
        .err()
        .expect("fault");
    let delivery = error.into_delivery_error();
    assert_eq!(delivery.class, ErrorClass::Retryable);
    assert_eq!(delivery.code, "soap-fault:siram_40");

    // The organisation's other certificate is valid TLS-wise but not an INSi one.
    let wrong_cn = client_with(&sim, "crt/auth.pem", "crt/auth.key.pem");
    let error = wrong_cn
        .search(
            &traits("DUPONT", &["MARIE-THERESE"], "F", "1938-04-12", None),
            uuid::Uuid::nil(),
        )
        .await
        .err()
        .expect("refused");
    match &error {
        InsiError::Answer(crt_ins::answer::AnswerError::Soap(
            crt_core::soap::SoapError::Fault(fault),
        )) => {
            assert!(fault.sender)
        }
        other => panic!("expected a Sender fault, got {other}"),
    }
    assert_eq!(error.into_delivery_error().class, ErrorClass::Final);
}

fn client_with(sim: &RunningInsi, cert: &str, key: &str) -> StructureClient {
    client(sim, Some((cert, key)), "ca/chain.pem")
}

#[tokio::test]
async fn certificates_the_teleservice_refuses_fail_the_handshake_as_final_errors() {
    let sim = simulator().await;
    let query = traits("DUPONT", &["MARIE-THERESE"], "F", "1938-04-12", None);
    let cases = [
        ("no certificate", client(&sim, None, "ca/chain.pem")),
        (
            "expired",
            client_with(&sim, "invalid/expired.pem", "invalid/expired.key.pem"),
        ),
        (
            "revoked",
            client_with(&sim, "invalid/revoked.pem", "invalid/revoked.key.pem"),
        ),
        (
            "other CA",
            client_with(
                &sim,
                "invalid/other-client.pem",
                "invalid/other-client.key.pem",
            ),
        ),
        // The client does not trust a server outside its trust bundle either.
        (
            "untrusted server",
            client(
                &sim,
                Some(("crt/insi-auto.pem", "crt/insi-auto.key.pem")),
                "invalid/other-root.pem",
            ),
        ),
    ];
    for (name, client) in cases {
        let error = client
            .search(&query, uuid::Uuid::nil())
            .await
            .err()
            .unwrap_or_else(|| panic!("{name}: accepted"));
        let delivery = error.into_delivery_error();
        assert_eq!(delivery.code, "tls", "{name}: {delivery}");
        assert_eq!(delivery.class, ErrorClass::Final, "{name}");
    }
}

#[tokio::test]
async fn the_emitter_is_the_structure_of_the_certificate() {
    let sim = simulator().await;
    let config = tls::client_config(
        &pki().join("ca/chain.pem"),
        Some(&IdentityFiles {
            certificate: pki().join("crt/insi-auto.pem"),
            key: pki().join("crt/insi-auto.key.pem"),
        }),
    )
    .expect("client TLS");
    let other = StructureClient::new(
        sim.url(),
        config,
        &InsConfig::default(),
        "1720000025".into(),
    );
    let query = traits("DUPONT", &["MARIE-THERESE"], "F", "1938-04-12", None);
    let error = other
        .search(&query, uuid::Uuid::now_v7())
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("Emetteur"), "{error}");
    assert_eq!(error.into_delivery_error().class, ErrorClass::Final);
}

#[tokio::test]
async fn each_structure_is_checked_with_its_own_certificate() {
    let sim = simulator().await;
    let structure = InsStructure {
        client_certificate: pki().join("crt/insi-auto.pem"),
        client_key: pki().join("crt/insi-auto.key.pem"),
    };
    let config = InsConfig {
        endpoint: Some(sim.url()),
        trust: Some(pki().join("ca/chain.pem")),
        structures: vec![structure.clone()],
        ..InsConfig::default()
    };
    let client = InsiClient::from_config(&config).expect("client");
    assert_eq!(client.structures(), [STRUCTURE]);
    let ours = client.structure(STRUCTURE).expect("configured");
    assert_eq!(ours.structure(), STRUCTURE);
    let query = traits("DUPONT", &["MARIE-THERESE"], "F", "1938-04-12", None);
    let exchange = ours
        .search(&query, uuid::Uuid::now_v7())
        .await
        .expect("search");
    let request = String::from_utf8_lossy(&exchange.request).to_string();
    assert!(
        request.contains(&format!("Emetteur>{STRUCTURE}<")),
        "{request}"
    );
    let unknown = client
        .structure("1720000025")
        .err()
        .expect("not configured");
    assert!(matches!(unknown, SetupError::Unknown(_)), "{unknown}");
    assert_eq!(unknown.into_delivery_error().code, "structure-certificate");

    let twice = InsConfig {
        structures: vec![structure.clone(), structure],
        ..config
    };
    assert!(matches!(
        InsiClient::from_config(&twice).err(),
        Some(SetupError::Duplicate(_))
    ));
}
