//! Each regional platform's sink against its simulator, over real sockets with the test
//! PKI: a record's care circle, summary, documents and liaison book are shared once
//! (a second share replaces, never adds), a partner's entry comes back, the gateway's own
//! entries do not, and what the mapping forbids is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crt_core::CrtRecord;
use crt_core::record::{Action, ConsentDecision, LiaisonKind};
use crt_core::simulate::{Running, SimulatorTls};
use crt_core::sink::{DeliveryTask, ErrorClass, Outcome, Sink, Work};
use crt_core::tls;
use crt_regions::client::FhirPlatform;
use crt_regions::platform::RegionalPlatform;
use crt_regions::simulator::{
    PARTNER_CLIENT_ID, PARTNER_CLIENT_SECRET, Platform, PlatformSimulator, SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET, partner_entry_bundle,
};
use crt_regions::sink::Shared;
use crt_regions::{DIALECTS, Dialect};
use crt_regions::{PlatformConfig, RegionSink};
use serde_json::json;
use uuid::Uuid;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn record() -> CrtRecord {
    let bytes = std::fs::read(root().join("schemas/examples/home-volet2-pays-de-la-loire.json"))
        .expect("example");
    let mut record: CrtRecord = serde_json::from_slice(&bytes).expect("record");
    record.actions = vec![Action::ShareWithRegion];
    record
}

async fn start(dialect: Dialect) -> (Arc<Platform>, Running) {
    tls::install_default_provider();
    let simulator = PlatformSimulator::new(
        dialect,
        &SimulatorTls::from_pki(&root().join("certs-example")),
    )
    .expect("simulator");
    let platform = simulator.platform();
    let running = simulator
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("starts");
    (platform, running)
}

fn config(running: &Running, client: (&str, &str)) -> PlatformConfig {
    let pki = root().join("certs-example");
    PlatformConfig {
        access: running.fhir_access(client.0, client.1, &pki),
        ..PlatformConfig::default()
    }
}

fn gateway_side(dialect: Dialect, running: &Running) -> Arc<FhirPlatform> {
    Arc::new(
        FhirPlatform::new(
            dialect,
            &config(running, (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)),
        )
        .expect("client"),
    )
}

fn task(record: CrtRecord) -> DeliveryTask {
    DeliveryTask {
        delivery_id: Uuid::now_v7(),
        record_id: Uuid::now_v7(),
        attempt: 1,
        work: Work::Action {
            action: Action::ShareWithRegion,
        },
        record: Arc::new(record),
        upstream: Vec::new(),
    }
}

#[tokio::test]
async fn each_platform_takes_the_care_circle_once_and_gives_back_partner_entries() {
    for dialect in DIALECTS {
        let (platform, running) = start(dialect).await;
        let client = gateway_side(dialect, &running);
        let sink = RegionSink::new(client.clone(), PlatformConfig::default().retry);
        assert_eq!(sink.target(), format!("region:{}", dialect.name));

        let receipt = sink.deliver(&task(record())).await.expect("shared");
        assert_eq!(receipt.outcome, Outcome::Delivered, "{}", receipt.summary);
        let shared: Shared = serde_json::from_value(receipt.details.clone()).unwrap();
        assert_eq!(shared.documents, 2, "the DLU and the plan");
        assert_eq!(shared.entries.created, 2);
        assert_eq!(shared.care_circle.updated, 0);

        let teams = platform.resources("CareTeam");
        assert_eq!(teams.len(), 1);
        let team = &teams[0];
        // Six professionals and the two relatives who can be reached.
        assert_eq!(team["participant"].as_array().unwrap().len(), 8);
        assert!(
            team["subject"]["reference"]
                .as_str()
                .unwrap()
                .starts_with("Patient/")
        );
        let roles = team.to_string();
        for code in ["\"MT\"", "\"PC\"", "\"AID\""] {
            assert!(roles.contains(code), "{code} in {roles}");
        }
        assert_eq!(
            platform.resources("DocumentReference").len(),
            4,
            "the two documents of the summary and the two notes"
        );
        // The CRT's alert, as the Cahier de liaison carries one: a note flagged urgent.
        let alert = platform
            .resources("DocumentReference")
            .into_iter()
            .find(|r| r["description"] == "Chute")
            .expect("the alert about the fall");
        assert_eq!(
            alert["meta"]["profile"][0],
            crt_regions::share::CDL_NOTE_PROFILE
        );
        assert_eq!(
            alert["extension"][0]["url"],
            crt_regions::share::CDL_IS_EMERGENCY
        );
        assert_eq!(alert["extension"][0]["valueBoolean"], true);
        assert_eq!(alert["type"]["coding"][0]["code"], "OBS");
        assert!(
            alert["author"][0]["reference"]
                .as_str()
                .unwrap()
                .starts_with("PractitionerRole/")
        );
        let episode = &platform.resources("EpisodeOfCare")[0];
        assert!(
            episode["team"][0]["reference"]
                .as_str()
                .unwrap()
                .starts_with("CareTeam/")
        );

        // Sharing the same record again replaces, never adds.
        let again = sink.deliver(&task(record())).await.expect("shared again");
        let shared: Shared = serde_json::from_value(again.details).unwrap();
        assert_eq!(
            shared.care_circle.created + shared.summary.created + shared.entries.created,
            0
        );
        let notes = platform
            .resources("DocumentReference")
            .into_iter()
            .filter(|r| r["meta"]["profile"][0] == crt_regions::share::CDL_NOTE_PROFILE)
            .count();
        assert_eq!(notes, 2, "the two notes, not added again");
        assert_eq!(platform.resources("Patient").len(), 1);

        // The gateway's own entries are not partners' entries.
        assert!(client.partner_entries(None).await.unwrap().is_empty());

        // A partner writes in the liaison book through the same API.
        let partner = FhirPlatform::new(
            dialect,
            &config(&running, (PARTNER_CLIENT_ID, PARTNER_CLIENT_SECRET)),
        )
        .expect("partner client");
        let bundle = partner_entry_bundle(
            &shared.patient_system,
            &shared.beneficiary,
            "visit-1",
            LiaisonKind::Alert,
            "Douleur à la hanche droite ce soir ; médecin traitant prévenu.",
        );
        partner.transaction(&bundle).await.expect("partner posts");
        let entries = client.partner_entries(None).await.unwrap();
        assert_eq!(entries.len(), 1, "{entries:?}");
        let entry = &entries[0];
        assert_eq!(entry.beneficiary, "IPP-000417");
        assert_eq!(entry.kind, LiaisonKind::Alert);
        assert!(entry.text.contains("hanche"));
        // Read after the cursor: nothing new.
        let later = client
            .partner_entries(Some(&entry.changed_at))
            .await
            .unwrap();
        assert!(later.is_empty());
        running.task.abort();
    }
}

#[tokio::test]
async fn an_opposition_declines_the_share() {
    let dialect = crt_regions::spico::DIALECT;
    let (platform, running) = start(dialect).await;
    let sink = RegionSink::new(
        gateway_side(dialect, &running),
        PlatformConfig::default().retry,
    );
    let mut record = record();
    if let Some(choice) = record.consents.regional_platform.as_mut() {
        choice.decision = ConsentDecision::Opposed;
    }
    let receipt = sink.deliver(&task(record)).await.expect("declined");
    assert_eq!(receipt.outcome, Outcome::Declined);
    assert!(platform.resources("Patient").is_empty());
    running.task.abort();
}

#[tokio::test]
async fn the_simulator_refuses_what_the_mapping_forbids() {
    let dialect = crt_regions::parcours::DIALECT;
    let (platform, running) = start(dialect).await;
    let client = gateway_side(dialect, &running);

    // A wrong secret: refused, and a retry would not help.
    let wrong = FhirPlatform::new(dialect, &config(&running, (SANDBOX_CLIENT_ID, "wrong")))
        .expect("client");
    let share = crt_regions::share::Share::new(Arc::new(record()), None).unwrap();
    let refused = wrong.share_care_circle(&share).await.unwrap_err();
    assert_eq!(refused.into_delivery_error().class, ErrorClass::Final);

    // A CareTeam without its profile's required elements.
    let mut bundle = share.care_circle().clone();
    let entries = bundle["entry"].as_array_mut().unwrap();
    let team = entries.last_mut().unwrap();
    team["resource"].as_object_mut().unwrap().remove("period");
    team["resource"]["participant"][0]["role"] =
        json!([{"coding": [{"system": crt_regions::share::CARETEAM_ROLES, "code": "XX"}]}]);
    let error = client.transaction(&bundle).await.unwrap_err().to_string();
    assert!(error.contains("422"), "{error}");
    assert!(error.contains("period.start: required"), "{error}");
    assert!(error.contains("XX is not in careteam-roles-cs"), "{error}");

    // An element FHIR R4 does not have.
    let mut bundle = share.care_circle().clone();
    bundle["entry"][0]["resource"]["nickname"] = json!("Mamie");
    let error = client.transaction(&bundle).await.unwrap_err().to_string();
    assert!(error.contains("nickname"), "{error}");

    // An entry about a patient the platform does not know.
    let summary_first = client
        .transaction(share.summary())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        summary_first.contains("matches no resource"),
        "{summary_first}"
    );

    // Another client may not overwrite what the gateway wrote.
    client
        .transaction(share.care_circle())
        .await
        .expect("shared");
    let partner = FhirPlatform::new(
        dialect,
        &config(&running, (PARTNER_CLIENT_ID, PARTNER_CLIENT_SECRET)),
    )
    .expect("partner");
    let error = partner
        .transaction(share.care_circle())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("409"), "{error}");
    assert_eq!(platform.resources("CareTeam").len(), 1);
    running.task.abort();
}
