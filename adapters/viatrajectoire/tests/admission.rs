//! The `viatrajectoire` client and sink against the simulator, over real sockets with the
//! test PKI: a volet 2 admission request reaches the CRT, is answered (received, waiting
//! list at a rank, accepted, admitted), each answer sent once and read back as the CRT
//! sent it; ViaTrajectoire's own word (withdrawn, admitted elsewhere) is read too; what
//! the guide and the contract forbid is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crt_core::CrtRecord;
use crt_core::record::{Action, AdmissionAnswer};
use crt_core::simulate::Running;
use crt_core::simulate::SimulatorTls;
use crt_core::sink::{DeliveryTask, Outcome, Sink, Work};
use crt_core::tls;
use crt_viatrajectoire::answer::standing;
use crt_viatrajectoire::client::{ClientError, ViatrajectoireClient};
use crt_viatrajectoire::incoming::{self, NewRequest, Person};
use crt_viatrajectoire::simulator::{
    Platform, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ViatrajectoireSimulator,
};
use crt_viatrajectoire::sink::Answered;
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
        access: running.fhir_access(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, &pki),
        ..ViatrajectoireConfig::default()
    }
}

fn new_request(structure: &str) -> NewRequest {
    NewRequest {
        structure: structure.into(),
        person: Person {
            family: "Bernard".into(),
            given: "Louis".into(),
            birth_date: "1931-11-02".into(),
            gender: "male".into(),
            ins: None,
        },
        requester: "Dr Claire Moreau, médecin traitant".into(),
        wished_start: Some("2026-12-15".into()),
        summary: "Troubles cognitifs débutants, épouse aidante.".into(),
    }
}

fn answer(
    request: &str,
    decision: AdmissionAnswer,
    rank: Option<u32>,
    reason: Option<&str>,
) -> Action {
    let date = matches!(
        decision,
        AdmissionAnswer::Accepted | AdmissionAnswer::Admitted
    )
    .then(|| chrono::NaiveDate::from_ymd_opt(2026, 12, 15).expect("date"));
    Action::AnswerAdmission {
        request: request.into(),
        decision,
        rank,
        date,
        reason: reason.map(str::to_string),
    }
}

fn task(record: CrtRecord, delivery_id: Uuid, action: Action) -> DeliveryTask {
    DeliveryTask {
        delivery_id,
        record_id: Uuid::now_v7(),
        attempt: 1,
        work: Work::Action { action },
        record: Arc::new(record),
        upstream: Vec::new(),
    }
}

#[tokio::test]
async fn a_request_is_read_answered_once_per_delivery_and_read_back() {
    let (platform, running) = start().await;
    let client = Arc::new(ViatrajectoireClient::new(&config(&running)).expect("client"));
    let sink = ViatrajectoireSink::new(client.clone(), &config(&running));
    let structure = record().crt.id_nat_struct();
    platform.receive(&new_request(&structure));
    platform.receive(&new_request("1750712184"));

    // Flux 1: only the CRT's own request, read whole.
    let ids = client.requests_since(None, &structure).await.unwrap();
    assert_eq!(ids.len(), 1);
    let document = client
        .read(&format!("DocumentReference/{}", ids[0]), &structure)
        .await
        .unwrap();
    let request = incoming::read(&document).expect("within the contract");
    assert_eq!(request.structure, structure);
    assert_eq!(request.person.family, "Bernard");
    let since = request.changed_at.clone();
    assert!(
        client
            .requests_since(Some(&since), &structure)
            .await
            .unwrap()
            .is_empty()
    );

    // Flux 4: each answer once, whatever the number of attempts.
    let mut since: Option<String> = None;
    for (decision, rank) in [
        (AdmissionAnswer::Received, None),
        (AdmissionAnswer::WaitingList, Some(4)),
        (AdmissionAnswer::WaitingList, Some(2)),
        (AdmissionAnswer::Accepted, None),
        (AdmissionAnswer::Admitted, None),
    ] {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let delivery = Uuid::now_v7();
        let action = answer(&request.request_id, decision, rank, None);
        let receipt = sink
            .deliver(&task(record(), delivery, action.clone()))
            .await
            .expect("delivered");
        assert_eq!(receipt.outcome, Outcome::Delivered);
        let again = sink
            .deliver(&task(record(), delivery, action))
            .await
            .expect("delivered");
        assert_eq!(again.remote_id, receipt.remote_id);
        let answered: Answered = serde_json::from_value(receipt.details.clone()).unwrap();
        assert_eq!(answered.decision, decision);

        // Flux 5: the answer reads back as sent.
        let changed = client
            .tasks_since(since.as_deref(), &structure)
            .await
            .unwrap();
        assert_eq!(changed.len(), 1, "one change since {since:?}");
        let read = standing(&changed[0], &structure)
            .unwrap()
            .expect("a standing");
        assert_eq!((read.status, read.rank), (decision, rank));
        since = changed[0]["meta"]["lastUpdated"]
            .as_str()
            .map(str::to_string);
    }
    assert_eq!(platform.tasks().len(), 5);

    // Admitted is final: a later answer is refused (409), as is an answer to a request
    // the CRT did not receive (404).
    for (request_id, status) in [(request.request_id.as_str(), 409), ("VT-GA-99999999", 404)] {
        let error = sink
            .deliver(&task(
                record(),
                Uuid::now_v7(),
                answer(request_id, AdmissionAnswer::Refused, None, Some("114")),
            ))
            .await
            .unwrap_err();
        assert!(
            error.message.contains(&status.to_string()),
            "{}",
            error.message
        );
    }
    // Another structure sees neither the request nor the answers.
    match client
        .read(&format!("DocumentReference/{}", ids[0]), "1750712184")
        .await
    {
        Err(ClientError::Refused { status: 404, .. }) => {}
        other => panic!("expected 404, got {other:?}"),
    }
    assert!(
        client
            .tasks_since(None, "1750712184")
            .await
            .unwrap()
            .is_empty()
    );
    running.task.abort();
}

#[tokio::test]
async fn viatrajectoire_withdrawals_and_admissions_elsewhere_end_the_request() {
    let (platform, running) = start().await;
    let client = Arc::new(ViatrajectoireClient::new(&config(&running)).expect("client"));
    let structure = record().crt.id_nat_struct();
    let withdrawn = incoming::read(&platform.receive(&new_request(&structure))).unwrap();
    let elsewhere = incoming::read(&platform.receive(&new_request(&structure))).unwrap();
    platform.withdraw(&withdrawn.request_id).expect("withdrawn");
    platform
        .admitted_elsewhere(&elsewhere.request_id, "1110010030")
        .expect("admitted elsewhere");
    let tasks = client.tasks_since(None, &structure).await.unwrap();
    let read: Vec<(String, AdmissionAnswer)> = tasks
        .iter()
        .filter_map(|t| standing(t, &structure).unwrap())
        .map(|s| (s.request_id, s.status))
        .collect();
    assert_eq!(
        read,
        [
            (withdrawn.request_id.clone(), AdmissionAnswer::Cancelled),
            (elsewhere.request_id.clone(), AdmissionAnswer::Cancelled),
        ]
    );
    let document = client.read(&withdrawn.remote_id, &structure).await.unwrap();
    assert!(incoming::read(&document).unwrap().withdrawn);
    running.task.abort();
}

#[tokio::test]
async fn opposition_declines_and_bad_credentials_are_refused() {
    let (platform, running) = start().await;
    let structure = record().crt.id_nat_struct();
    let request = incoming::read(&platform.receive(&new_request(&structure))).unwrap();
    let action = || answer(&request.request_id, AdmissionAnswer::Received, None, None);
    let mut record = record();
    record.consents.viatrajectoire = Some(crt_core::record::ConsentChoice {
        decision: crt_core::record::ConsentDecision::Opposed,
        recorded_at: chrono::Utc::now().fixed_offset(),
        recorded_by: "pro-ide-coord".into(),
    });
    let client = Arc::new(ViatrajectoireClient::new(&config(&running)).expect("client"));
    let sink = ViatrajectoireSink::new(client, &config(&running));
    let receipt = sink
        .deliver(&task(record, Uuid::now_v7(), action()))
        .await
        .expect("receipt");
    assert_eq!(receipt.outcome, Outcome::Declined);
    assert!(platform.tasks().is_empty());

    let mut wrong = config(&running);
    wrong.access.client_secret = Some("guess".into());
    let client = Arc::new(ViatrajectoireClient::new(&wrong).expect("client"));
    let sink = ViatrajectoireSink::new(client, &wrong);
    let error = sink
        .deliver(&task(self::record(), Uuid::now_v7(), action()))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("invalid_client"),
        "{}",
        error.message
    );
    running.task.abort();
}

#[tokio::test]
async fn the_directory_card_is_written_once_and_only_when_it_changes() {
    use crt_viatrajectoire::directory::{CardOutcome, card, publish};
    let (platform, running) = start().await;
    let client = ViatrajectoireClient::new(&config(&running)).expect("client");
    let structure = record().crt.id_nat_struct();
    let finess = record().crt.finess_et;
    let offer = serde_json::json!({
        "resourceType": "HealthcareService",
        "name": "CRT EHPAD Les Tilleuls, accompagnement renforcé à domicile",
        "telecom": [{"system": "phone", "value": "02 43 00 00 00"}],
    });
    let first = card(&offer, &finess, "CRT EHPAD Les Tilleuls");
    let plan = publish(&client, &first, &structure, true).await.unwrap();
    assert_eq!(plan, CardOutcome::Created);
    assert!(platform.cards().is_empty(), "a dry run writes nothing");
    assert_eq!(
        publish(&client, &first, &structure, false).await.unwrap(),
        CardOutcome::Created
    );
    assert_eq!(
        publish(&client, &first, &structure, false).await.unwrap(),
        CardOutcome::Unchanged
    );
    let mut changed = first.clone();
    changed["telecom"][0]["value"] = "02 43 11 11 11".into();
    assert_eq!(
        publish(&client, &changed, &structure, false).await.unwrap(),
        CardOutcome::Updated
    );
    let cards = platform.cards();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0]["meta"]["versionId"], "2");

    // Another structure's card, or a card outside the contract, is refused.
    match client.put_card(&first, "1110008430").await {
        Err(ClientError::Refused { status: 422, .. }) => {}
        other => panic!("expected 422, got {other:?}"),
    }
    let mut silent = first;
    silent["telecom"] = serde_json::json!([]);
    match client.put_card(&silent, &structure).await {
        Err(ClientError::Refused {
            status: 422,
            diagnostics,
        }) => {
            assert!(diagnostics.contains("telecom"), "{diagnostics}")
        }
        other => panic!("expected 422, got {other:?}"),
    }
    running.task.abort();
}
