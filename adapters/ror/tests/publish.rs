//! Publishing against the ROR simulator, over real sockets with the test PKI: a ROR that
//! holds the organisations and the place (found, never created); a first publish creates
//! the two offers and the capacity, a second writes nothing, a change is one FHIRPath
//! Patch; and what the ROR refuses is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crt_core::oauth::FhirAccess;
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

/// A ROR that holds the example offer's organisations and place.
async fn ror() -> (Arc<Directory>, Running) {
    let (directory, running) = empty_ror().await;
    let offer = Offer::read(&offer_text()).expect("offer");
    directory.store.hold_structure(&offer).expect("held");
    (directory, running)
}

async fn empty_ror() -> (Arc<Directory>, Running) {
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
        access: running.fhir_access(
            &Registration::sandbox().client_id,
            &Registration::sandbox().client_secret,
            &pki,
        ),
        capacity: crt_ror::config::CapacityConfig {
            base_url: Some(crt_ror::simulator::capacity_base(running)),
            ..Default::default()
        },
        ..RorConfig::default()
    }
}

#[tokio::test]
async fn publish_finds_the_structure_creates_the_offers_then_patches_one_field() {
    let (directory, running) = ror().await;
    let client = RorClient::new(&config(&running)).expect("client");
    let offer = Offer::read(&offer_text()).expect("offer");

    let dry = publish(&client, &offer, true).await.expect("dry run");
    assert_eq!(
        dry.writes(),
        3,
        "two offers and the capacity: {:?}",
        dry.steps
    );
    assert!(
        directory.store.writes().is_empty(),
        "a dry run writes nothing"
    );
    let found: Vec<_> = dry
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Found))
        .collect();
    assert_eq!(found.len(), 3, "EJ, ET and the place are found");

    let first = publish(&client, &offer, false)
        .await
        .expect("first publish");
    let writes = directory.store.writes();
    assert_eq!(first.writes(), 3);
    assert_eq!(
        writes
            .iter()
            .map(|w| (w.interaction, w.resource_type.as_str()))
            .collect::<Vec<_>>(),
        [
            ("create", "HealthcareService"),
            ("create", "HealthcareService"),
            ("patch", "Location")
        ]
    );
    // The ROR gave each offer its identifier.
    for write in &writes[..2] {
        let offer = directory
            .store
            .read("HealthcareService", &write.id)
            .expect("offer");
        assert_eq!(offer["identifier"][0]["type"]["coding"][0]["code"], "35");
        assert!(
            offer["identifier"][0]["value"]
                .as_str()
                .unwrap()
                .starts_with("52/")
        );
    }
    let place = directory
        .store
        .read("Location", &writes[2].id)
        .expect("place");
    assert_eq!(crt_ror::capacity::held(&place), Some(2));

    let second = publish(&client, &offer, false)
        .await
        .expect("second publish");
    assert_eq!(second.writes(), 0, "{:?}", second.steps);
    assert_eq!(directory.store.writes().len(), 3);

    let changed = Offer::read(&offer_text().replace(
        "emergency_temporary_rooms: 2",
        "emergency_temporary_rooms: 3",
    ))
    .expect("changed offer");
    let dry = publish(&client, &changed, true).await.expect("dry run");
    assert_eq!(
        dry.writes(),
        2,
        "the volet 2 offer and the capacity: {:?}",
        dry.steps
    );
    let patch = dry
        .steps
        .iter()
        .find_map(|s| match &s.action {
            Action::Patch(request) => Some(request.clone()),
            _ => None,
        })
        .expect("a patch");
    assert_eq!(patch.method, "PATCH");
    assert_eq!(patch.body["resourceType"], "Parameters");
    assert_eq!(
        patch.body["parameter"][0]["part"][1]["valueString"], "HealthcareService.extraDetails",
        "{}",
        patch.body
    );
    let third = publish(&client, &changed, false)
        .await
        .expect("third publish");
    assert_eq!(third.writes(), 2, "{:?}", third.steps);
    let writes = directory.store.writes();
    assert_eq!(writes.len(), 5);
    assert_eq!(writes[3].interaction, "patch");
    assert_eq!(writes[3].resource_type, "HealthcareService");
    let patched = directory
        .store
        .read("HealthcareService", &writes[3].id)
        .expect("patched offer");
    assert!(
        patched["extraDetails"]
            .as_str()
            .unwrap()
            .contains("temporaire : 3")
    );
    assert_eq!(patched["meta"]["versionId"], "2");
    let place = directory
        .store
        .read("Location", &writes[4].id)
        .expect("place");
    assert_eq!(crt_ror::capacity::held(&place), Some(3));
    assert_eq!(
        place["extension"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["url"] == crt_ror::fhir::extension::SUPPORTED_CAPACITY)
            .count(),
        1,
        "the indicator was replaced, not added again"
    );

    let held = pull(&client, &offer.porteur.finess_et, None)
        .await
        .expect("pull");
    assert_eq!(held.len(), 5, "EJ, ET, place and the two offers");
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
async fn a_ror_without_the_structure_is_not_written_to() {
    let (directory, running) = empty_ror().await;
    let client = RorClient::new(&config(&running)).expect("client");
    let offer = Offer::read(&offer_text()).expect("offer");
    match publish(&client, &offer, false).await {
        Err(PublishError::NotInRor {
            what, identifier, ..
        }) => {
            assert!(what.contains("establishment"), "{what}");
            assert_eq!(identifier, offer.porteur.finess_et);
        }
        other => panic!("expected the establishment to be missing, got {other:?}"),
    }
    assert!(directory.store.writes().is_empty());

    // The guide reserves these to the ROR: 403.
    let establishment = crt_ror::render::render(
        &offer,
        crt_ror::render::Part::Establishment,
        &crt_ror::render::Links::in_bundle(&offer),
    )
    .expect("render");
    match client.create("Organization", &establishment).await {
        Err(RorError::Refused {
            status: 403,
            diagnostics,
        }) => {
            assert!(diagnostics.contains("spécifique serveur"), "{diagnostics}");
        }
        other => panic!("expected 403, got {other:?}"),
    }
    running.task.abort();
}

#[tokio::test]
async fn the_ror_takes_fhirpath_patch_on_top_level_elements_only() {
    let (directory, running) = ror().await;
    let client = RorClient::new(&config(&running)).expect("client");
    let offer = Offer::read(&offer_text()).expect("offer");
    publish(&client, &offer, false).await.expect("published");
    let id = directory.store.writes()[0].id.clone();
    let path = format!("HealthcareService/{id}");

    let deep = json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
        {"name": "type", "valueCode": "replace"},
        {"name": "path", "valueString": "HealthcareService.availableTime[0].availableEndTime"},
        {"name": "value", "valueTime": "18:00:00"}
    ]}]});
    match client.patch(&path, &deep).await {
        Err(RorError::Refused {
            status: 400,
            diagnostics,
        }) => {
            assert!(diagnostics.contains("top-level"), "{diagnostics}");
        }
        other => panic!("expected 400, got {other:?}"),
    }
    let top = json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
        {"name": "type", "valueCode": "replace"},
        {"name": "path", "valueString": "HealthcareService.name"},
        {"name": "value", "valueString": "CRT du Perche"}
    ]}]});
    let patched = client.patch(&path, &top).await.expect("patched");
    assert_eq!(patched["name"], "CRT du Perche");
    // The next publish puts the offer file's name back, with one operation.
    let plan = publish(&client, &offer, false).await.expect("published");
    assert_eq!(plan.writes(), 1, "{:?}", plan.steps);

    let organization = directory.store.all("Organization")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    match client
        .patch(&format!("Organization/{organization}"), &top)
        .await
    {
        Err(RorError::Refused { status: 403, .. }) => {}
        other => panic!("expected 403, got {other:?}"),
    }
    running.task.abort();
}

#[tokio::test]
async fn the_ror_refuses_bad_credentials_headers_and_resources() {
    let (directory, running) = ror().await;
    let offer = Offer::read(&offer_text()).expect("offer");

    let mut wrong_secret = config(&running);
    wrong_secret.access.client_secret = Some("guess".into());
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
    no_certificate.access.client_certificate = None;
    no_certificate.access.client_key = None;
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
    let mut by_certificate = config(&running);
    by_certificate.access.client_secret = None;
    let client = RorClient::new(&by_certificate).expect("client");
    let offer = Offer::read(&offer_text()).expect("offer");
    publish(&client, &offer, false).await.expect("published");
    assert_eq!(directory.store.writes().len(), 3);

    // Neither a secret nor a certificate: nothing to authenticate with.
    let mut neither = config(&running);
    neither.access = FhirAccess {
        client_secret: None,
        client_certificate: None,
        client_key: None,
        ..neither.access
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
    let mut by_other_certificate = config(&other);
    by_other_certificate.access.client_secret = None;
    let client = RorClient::new(&by_other_certificate).expect("client");
    assert!(matches!(
        publish(&client, &offer, false).await,
        Err(PublishError::Ror(RorError::Token(_)))
    ));
}
