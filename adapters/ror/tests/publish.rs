//! Publishing against the ROR simulator, over real sockets with the test PKI: a first
//! publish creates the five resources, a second writes nothing, one changed field is one
//! patch, and what the ROR refuses is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crt_core::simulate::Running;
use crt_core::simulate::SimulatorTls;
use crt_core::tls;
use crt_ror::client::{RorClient, RorError};
use crt_ror::config::RorConfig;
use crt_ror::offer::Offer;
use crt_ror::publish::{Action, PublishError, publish, pull};
use crt_ror::simulator::{Directory, Registration, RorSimulator};
use serde_json::json;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn offer_text() -> String {
    std::fs::read_to_string(root().join("schemas/examples/offer.yaml")).expect("example offer")
}

async fn ror() -> (Arc<Directory>, Running) {
    tls::install_default_provider();
    let tls = SimulatorTls::from_pki(&root().join("certs-example"));
    let simulator = RorSimulator::new(&tls, vec![Registration::sandbox()]).expect("simulator");
    let directory = simulator.directory();
    let running = simulator
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("starts");
    (directory, running)
}

fn config(running: &Running) -> RorConfig {
    let pki = root().join("certs-example");
    RorConfig {
        base_url: Some(running.fhir_base()),
        token_url: Some(running.token_url()),
        client_id: Some(Registration::sandbox().client_id),
        client_secret: Some(Registration::sandbox().client_secret),
        client_certificate: Some(pki.join("crt/auth.pem")),
        client_key: Some(pki.join("crt/auth.key.pem")),
        trust: Some(pki.join("ca/chain.pem")),
        crl: Some(pki.join("ca/organisations.crl.pem")),
        ..RorConfig::default()
    }
}

#[tokio::test]
async fn publish_creates_then_writes_nothing_then_patches_one_field() {
    let (directory, running) = ror().await;
    let client = RorClient::new(&config(&running)).expect("client");
    let offer = Offer::read(&offer_text()).expect("offer");

    let dry = publish(&client, &offer, true).await.expect("dry run");
    assert_eq!(dry.writes(), 5);
    assert!(
        directory.store.writes().is_empty(),
        "a dry run writes nothing"
    );

    let first = publish(&client, &offer, false)
        .await
        .expect("first publish");
    assert!(
        first
            .steps
            .iter()
            .all(|s| matches!(s.action, Action::Create))
    );
    assert_eq!(directory.store.writes().len(), 5);

    let second = publish(&client, &offer, false)
        .await
        .expect("second publish");
    assert_eq!(second.writes(), 0, "{:?}", second.steps);
    assert_eq!(directory.store.writes().len(), 5);

    let changed = Offer::read(&offer_text().replace(
        "emergency_temporary_rooms: 2",
        "emergency_temporary_rooms: 3",
    ))
    .expect("changed offer");
    let dry = publish(&client, &changed, true).await.expect("dry run");
    assert_eq!(dry.writes(), 1, "{:?}", dry.steps);
    let third = publish(&client, &changed, false)
        .await
        .expect("third publish");
    assert_eq!(third.writes(), 1, "{:?}", third.steps);
    let writes = directory.store.writes();
    assert_eq!(writes.len(), 6);
    assert_eq!(writes[5].interaction, "patch");
    assert_eq!(writes[5].resource_type, "HealthcareService");
    let patched = directory
        .store
        .read("HealthcareService", &writes[5].id)
        .expect("patched offer");
    assert!(
        patched["extraDetails"]
            .as_str()
            .unwrap()
            .contains("temporaire : 3")
    );
    assert_eq!(patched["meta"]["versionId"], "2");

    let held = pull(&client, &offer.porteur.finess_et, None)
        .await
        .expect("pull");
    assert_eq!(held.len(), 5, "EJ, ET, location and the two offers");
    let recent = pull(&client, &offer.porteur.finess_et, Some("2999-01-01"))
        .await
        .expect("pull");
    assert_eq!(
        recent.len(),
        2,
        "only the two organisations, which `_lastUpdated` does not filter"
    );
    running.task.abort();
}

#[tokio::test]
async fn the_ror_refuses_bad_credentials_headers_and_resources() {
    let (directory, running) = ror().await;
    let offer = Offer::read(&offer_text()).expect("offer");

    let mut wrong_secret = config(&running);
    wrong_secret.client_secret = Some("guess".into());
    let client = RorClient::new(&wrong_secret).expect("client");
    match publish(&client, &offer, false).await {
        Err(PublishError::Ror(RorError::Token(crt_core::oauth::TokenError::Refused {
            status: 401,
            ..
        }))) => {}
        other => panic!("expected the token to be refused, got {other:?}"),
    }

    let mut wrong_headers = config(&running);
    wrong_headers.headers.role_code = "MEDECIN".into();
    let client = RorClient::new(&wrong_headers).expect("client");
    match publish(&client, &offer, false).await {
        Err(PublishError::Ror(RorError::Refused {
            status: 403,
            diagnostics,
        })) => {
            assert!(
                diagnostics.contains("Ror-Role-Metier-Code"),
                "{diagnostics}"
            );
        }
        other => panic!("expected the headers to be refused, got {other:?}"),
    }

    let client = RorClient::new(&config(&running)).expect("client");
    let mut broken = crt_ror::render::render(
        &offer,
        crt_ror::render::Part::Volet2,
        &crt_ror::render::Links::in_bundle(&offer),
    )
    .expect("render");
    broken["specialty"] = json!([{"coding": [{"system": "urn:x", "code": "1"}]}]);
    match client.create("HealthcareService", &broken).await {
        Err(RorError::Refused {
            status: 422,
            diagnostics,
        }) => {
            assert!(
                diagnostics.contains("HealthcareService.specialty"),
                "{diagnostics}"
            );
        }
        other => panic!("expected an OperationOutcome, got {other:?}"),
    }
    assert!(directory.store.writes().is_empty());

    let mut no_certificate = config(&running);
    no_certificate.client_certificate = None;
    no_certificate.client_key = None;
    let client = RorClient::new(&no_certificate).expect("client");
    assert!(matches!(
        publish(&client, &offer, false).await,
        Err(PublishError::Ror(RorError::Token(
            crt_core::oauth::TokenError::Http(crt_core::http::HttpError::Tls { .. })
        )))
    ));
    running.task.abort();
}

#[tokio::test]
async fn a_client_with_a_certificate_needs_no_secret() {
    let (directory, running) = ror().await;
    // Access profiles 1 to 4: the IGC-Santé certificate authenticates the client (RFC 8705).
    let by_certificate = RorConfig {
        client_secret: None,
        ..config(&running)
    };
    let client = RorClient::new(&by_certificate).expect("client");
    let offer = Offer::read(&offer_text()).expect("offer");
    publish(&client, &offer, false).await.expect("published");
    assert_eq!(directory.store.writes().len(), 5);

    // Neither a secret nor a certificate: nothing to authenticate with.
    let neither = RorConfig {
        client_secret: None,
        client_certificate: None,
        client_key: None,
        ..config(&running)
    };
    let error = RorClient::new(&neither).err().expect("refused");
    assert!(error.to_string().contains("client_secret"), "{error}");

    // A certificate of another structure than the one registered: no token.
    let mut registration = Registration::sandbox();
    registration.certificate_structure = Some("1720000025".into());
    let tls = SimulatorTls::from_pki(&root().join("certs-example"));
    let other = RorSimulator::new(&tls, vec![registration])
        .expect("simulator")
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("starts");
    let client = RorClient::new(&RorConfig {
        client_secret: None,
        ..config(&other)
    })
    .expect("client");
    assert!(matches!(
        publish(&client, &offer, false).await,
        Err(PublishError::Ror(RorError::Token(_)))
    ));
}
