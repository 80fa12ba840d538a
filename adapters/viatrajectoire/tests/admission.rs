//! The `viatrajectoire` sink against the simulator, over real sockets with the test PKI: a
//! volet 2 admission request goes in once, moves through every status, and what the
//! contract forbids is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crt_core::CrtRecord;
use crt_core::record::Action;
use crt_core::simulate::Running;
use crt_core::simulate::SimulatorTls;
use crt_core::sink::{DeliveryTask, Outcome, Sink, Work};
use crt_core::tls;
use crt_viatrajectoire::client::{ClientError, ViatrajectoireClient};
use crt_viatrajectoire::simulator::{
    Platform, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ViatrajectoireSimulator,
};
use crt_viatrajectoire::sink::Submitted;
use crt_viatrajectoire::status::{Standing, Status};
use crt_viatrajectoire::{ViatrajectoireConfig, ViatrajectoireSink};
use uuid::Uuid;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn record() -> CrtRecord {
    let bytes = std::fs::read(root().join("schemas/examples/home-volet2-pays-de-la-loire.json"))
        .expect("example");
    serde_json::from_slice(&bytes).expect("record")
}

async fn start() -> (Arc<Platform>, Running) {
    tls::install_default_provider();
    let simulator =
        ViatrajectoireSimulator::new(&SimulatorTls::from_pki(&root().join("certs-example")))
            .expect("simulator");
    let platform = simulator.platform();
    let running = simulator
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("starts");
    (platform, running)
}

fn config(running: &Running) -> ViatrajectoireConfig {
    let pki = root().join("certs-example");
    ViatrajectoireConfig {
        base_url: Some(running.fhir_base()),
        token_url: Some(running.token_url()),
        client_id: Some(SANDBOX_CLIENT_ID.into()),
        client_secret: Some(SANDBOX_CLIENT_SECRET.into()),
        client_certificate: Some(pki.join("crt/auth.pem")),
        client_key: Some(pki.join("crt/auth.key.pem")),
        trust: Some(pki.join("ca/chain.pem")),
        crl: Some(pki.join("ca/organisations.crl.pem")),
        ..ViatrajectoireConfig::default()
    }
}

fn task(record: CrtRecord, delivery_id: Uuid) -> DeliveryTask {
    DeliveryTask {
        delivery_id,
        record_id: Uuid::now_v7(),
        attempt: 1,
        work: Work::Action {
            action: Action::RequestAdmission,
        },
        record: Arc::new(record),
        upstream: Vec::new(),
    }
}

#[tokio::test]
async fn a_request_goes_in_once_and_moves_through_every_status() {
    let (platform, running) = start().await;
    let client = Arc::new(ViatrajectoireClient::new(&config(&running)).expect("client"));
    let sink = ViatrajectoireSink::new(client.clone(), &config(&running));
    let delivery = Uuid::now_v7();
    let receipt = sink
        .deliver(&task(record(), delivery))
        .await
        .expect("delivered");
    assert_eq!(receipt.outcome, Outcome::Delivered);
    let submitted: Submitted = serde_json::from_value(receipt.details.clone()).unwrap();
    let kept = String::from_utf8(receipt.artifacts[0].content.clone()).unwrap();
    assert!(
        !kept.contains("Problèmes de santé"),
        "the medical answers are not kept"
    );

    // A second attempt of the same delivery finds the same request.
    let again = sink
        .deliver(&task(record(), delivery))
        .await
        .expect("delivered");
    assert_eq!(again.remote_id, receipt.remote_id);
    assert_eq!(platform.tasks().len(), 1);

    let structure = record().crt.id_nat_struct();
    let tasks = client.tasks_since(None, &structure).await.unwrap();
    assert_eq!(Standing::of_task(&tasks[0]).unwrap().status, Status::Sent);
    let id = submitted.task.trim_start_matches("Task/");
    let mut since = tasks[0]["meta"]["lastUpdated"]
        .as_str()
        .unwrap()
        .to_string();
    for standing in [
        Standing {
            status: Status::Received,
            rank: None,
            reason: None,
        },
        Standing {
            status: Status::WaitingList,
            rank: Some(4),
            reason: None,
        },
        Standing {
            status: Status::WaitingList,
            rank: Some(2),
            reason: None,
        },
        Standing {
            status: Status::AdmissionProposed,
            rank: None,
            reason: None,
        },
        Standing {
            status: Status::Accepted,
            rank: None,
            reason: None,
        },
        Standing {
            status: Status::Admitted,
            rank: None,
            reason: None,
        },
    ] {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        platform.advance(id, &standing).expect("advance");
        let changed = client.tasks_since(Some(&since), &structure).await.unwrap();
        assert_eq!(changed.len(), 1, "one change since {since}");
        assert_eq!(Standing::of_task(&changed[0]).unwrap(), standing);
        since = changed[0]["meta"]["lastUpdated"]
            .as_str()
            .unwrap()
            .to_string();
    }
    assert!(
        platform
            .advance(
                id,
                &Standing {
                    status: Status::Cancelled,
                    rank: None,
                    reason: None
                }
            )
            .is_err()
    );

    // The medical part is not readable through the API; another structure sees nothing.
    let task = client.read(&submitted.task, &structure).await.unwrap();
    let medical = task["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"]["coding"][0]["code"] == "volet-medical")
        .unwrap()["valueReference"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    match client.read(&medical, &structure).await {
        Err(ClientError::Refused { status: 403, .. }) => {}
        other => panic!("expected 403, got {other:?}"),
    }
    match client.read(&submitted.task, "1750712184").await {
        Err(ClientError::Refused { status: 404, .. }) => {}
        other => panic!("expected 404, got {other:?}"),
    }
    running.task.abort();
}

#[tokio::test]
async fn opposition_declines_and_bad_credentials_are_refused() {
    let (platform, running) = start().await;
    let mut record = record();
    record.consents.viatrajectoire = Some(crt_core::record::ConsentChoice {
        decision: crt_core::record::ConsentDecision::Opposed,
        recorded_at: chrono::Utc::now().fixed_offset(),
        recorded_by: "pro-ide-coord".into(),
    });
    let client = Arc::new(ViatrajectoireClient::new(&config(&running)).expect("client"));
    let sink = ViatrajectoireSink::new(client, &config(&running));
    let receipt = sink
        .deliver(&task(record, Uuid::now_v7()))
        .await
        .expect("receipt");
    assert_eq!(receipt.outcome, Outcome::Declined);
    assert!(platform.tasks().is_empty());

    let mut wrong = config(&running);
    wrong.client_secret = Some("guess".into());
    let client = Arc::new(ViatrajectoireClient::new(&wrong).expect("client"));
    let sink = ViatrajectoireSink::new(client, &wrong);
    let error = sink
        .deliver(&task(self::record(), Uuid::now_v7()))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("invalid_client"),
        "{}",
        error.message
    );
    running.task.abort();
}
