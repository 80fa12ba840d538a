//! Regional platforms through the real binary: a record with a care circle is shared with
//! its region's platform simulator (Parcours for Pays de la Loire, SPICO for Occitanie,
//! the generic e-parcours elsewhere), a partner writes in the beneficiary's liaison book
//! through the platform's API, and the entry comes back to the CRT.

use crt_core::oauth::FhirAccess;
use std::time::{Duration, Instant};

use crt_core::record::LiaisonKind;
use crt_regions::DIALECTS;
use crt_regions::PlatformConfig;
use crt_regions::client::FhirPlatform;
use crt_regions::simulator::{
    PARTNER_CLIENT_ID, PARTNER_CLIENT_SECRET, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET,
    partner_entry_bundle,
};
use serde_json::Value;

use crate::support::{Gateway, check_profiles, delivery_to, example, repo};

/// The platform's FHIR base, from its sink's readiness check ("… reachable at URL").
fn platform_base(gateway: &Gateway, platform: &str) -> String {
    let ready = gateway.get_json("/readyz");
    let detail = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == format!("sink:region:{platform}"))
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_else(|| panic!("a check for region:{platform}: {ready}"))
        .to_string();
    detail.rsplit(' ').next().unwrap().to_string()
}

/// A partner of the care circle writes an alert, through the platform's FHIR API.
fn partner_writes(base: &str, platform: &str, patient_system: &str, beneficiary: &str, text: &str) {
    let partner = client(base, platform, PARTNER_CLIENT_ID, PARTNER_CLIENT_SECRET);
    let bundle = partner_entry_bundle(
        patient_system,
        beneficiary,
        &format!("{platform}-visit-1"),
        LiaisonKind::Alert,
        text,
    );
    runtime()
        .block_on(partner.transaction(&bundle))
        .expect("the partner's entry is accepted");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A client of the platform's FHIR API, with the sandbox PKI and `client`'s credentials.
fn client(base: &str, platform: &str, client_id: &str, secret: &str) -> FhirPlatform {
    crt_core::tls::install_default_provider();
    let pki = repo().join("certs-example");
    let dialect = DIALECTS.into_iter().find(|d| d.name == platform).unwrap();
    let config = PlatformConfig {
        access: FhirAccess {
            base_url: Some(base.to_string()),
            token_url: Some(base.replace("/fhir", "/oauth/token")),
            client_id: Some(client_id.into()),
            client_secret: Some(secret.into()),
            client_certificate: Some(pki.join("crt/auth.pem")),
            client_key: Some(pki.join("crt/auth.key.pem")),
            trust: Some(pki.join("ca/chain.pem")),
            ..FhirAccess::default()
        },
        ..PlatformConfig::default()
    };
    FhirPlatform::new(dialect, &config).expect("platform client")
}

/// A record of `example` for `region`, asking to share with the region's platform.
fn record_for(example_name: &str, region: &str, record_ref: &str) -> Vec<u8> {
    let mut record: Value = serde_json::from_slice(&example(example_name)).unwrap();
    record["crt"]["region"] = region.into();
    record["source"]["record_ref"] = record_ref.into();
    record["actions"] = serde_json::json!([{"action": "share_with_region"}]);
    serde_json::to_vec(&record).unwrap()
}

#[test]
fn a_care_circle_is_shared_with_each_platform_and_partners_entries_come_back() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(
        data.path(),
        &[
            ("CRT_GATEWAY_REGIONS__PARCOURS__POLL_INTERVAL", "200"),
            ("CRT_GATEWAY_REGIONS__SPICO__POLL_INTERVAL", "200"),
            ("CRT_GATEWAY_REGIONS__EPARCOURS__POLL_INTERVAL", "200"),
            ("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false"),
        ],
    );
    let url = format!("http://{}", gateway.addr);
    for (platform, region) in [("parcours", "52"), ("spico", "76"), ("eparcours", "53")] {
        let body = record_for(
            "home-volet2-pays-de-la-loire.json",
            region,
            &format!("dossier-{platform}"),
        );
        let record: Value = serde_json::from_slice(&body).unwrap();
        let crt = record["crt"]["finess_et"].as_str().unwrap().to_string();
        let beneficiary = record["beneficiary"]["local_id"]
            .as_str()
            .unwrap()
            .to_string();

        let response = gateway.post_record(&body, None);
        assert_eq!(response.status, 202, "{}", response.text());
        let id = response.json()["id"].as_str().unwrap().to_string();
        let view = gateway.wait_settled(&id, Duration::from_secs(30));
        let delivery = delivery_to(&view, &format!("region:{platform}"));
        assert_eq!(delivery["state"], "delivered", "{delivery}");
        let details = &delivery["receipt"]["details"];
        assert_eq!(details["platform"], platform);
        assert_eq!(details["documents"], 2, "{details}");
        let team = gateway.artifact(&delivery, "care-circle.json").text();
        assert!(team.contains("cds-ihe-careteam"), "{team}");

        // The gateway's own entries do not come back; a partner's does.
        let text = format!("Passage du soir ({platform}) : douleur à la hanche, médecin prévenu.");
        partner_writes(
            &platform_base(&gateway, platform),
            platform,
            details["patient_system"].as_str().unwrap(),
            &beneficiary,
            &text,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let entry = loop {
            let book = gateway.get_json(&format!(
                "/v1/liaison-book?crt={crt}&beneficiary={beneficiary}"
            ));
            let found = book["entries"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["platform"] == platform)
                .cloned();
            if let Some(entry) = found {
                break entry;
            }
            assert!(
                Instant::now() < deadline,
                "no entry from {platform}: {book}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(entry["kind"], "alert");
        assert_eq!(entry["text"], text.as_str());
        assert_eq!(entry["crt_finess_et"], crt.as_str());

        let (code, output) = gateway.cli(&["liaison-book", "--crt", &crt, "--url", &url]);
        assert_eq!(code, Some(0), "{output}");
        assert!(output.contains(&text), "{output}");
    }
    // The CRT's own two entries were shared with each platform and did not come back.
    let crt: Value = serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    let book = gateway.get_json(&format!(
        "/v1/liaison-book?crt={}",
        crt["crt"]["finess_et"].as_str().unwrap()
    ));
    assert_eq!(book["entries"].as_array().unwrap().len(), 3, "{book}");
}

#[test]
fn an_opposition_keeps_the_record_off_the_platform() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(
        data.path(),
        &[("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false")],
    );
    let mut record: Value = serde_json::from_slice(&record_for(
        "home-volet2-pays-de-la-loire.json",
        "52",
        "oppose",
    ))
    .unwrap();
    record["consents"]["regional_platform"]["decision"] = "opposed".into();
    let response = gateway.post_record(&serde_json::to_vec(&record).unwrap(), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(30));
    let delivery = delivery_to(&view, "region:parcours");
    assert_eq!(delivery["receipt"]["outcome"], "declined", "{delivery}");

    let response = gateway.request("GET", "/v1/liaison-book", &[], b"");
    assert_eq!(response.status, 400, "the CRT is required");
}

/// What the gateway sends the platforms reads in an FHIR R4 parser that is not its own
/// (the contract's examples, which a test keeps equal to what the code produces).
#[test]
fn every_transaction_reads_in_an_independent_fhir_r4_parser() {
    let Some(python) = std::env::var_os("CRT_FHIR_PYTHON") else {
        eprintln!("CRT_FHIR_PYTHON is not set: the independent FHIR R4 parser is skipped");
        return;
    };
    let examples = repo().join("schemas/regions/examples");
    let output = std::process::Command::new(python)
        .arg(repo().join("tests/fhir/read_r4.py"))
        .args(
            [
                "care-circle.json",
                "summary.json",
                "liaison-book.json",
                "partner-entry.json",
                "planning.json",
            ]
            .map(|name| examples.join(name)),
        )
        .output()
        .expect("python runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("RelatedPerson, CareTeam"), "{text}");
    assert!(text.contains("EpisodeOfCare, DocumentReference"), "{text}");

    // The notes against the Cahier de liaison guide's own StructureDefinitions.
    let text = check_profiles(
        "regions",
        &["liaison-book.json", "partner-entry.json"].map(|name| examples.join(name)),
    );
    assert!(text.contains("cdl-document-reference"), "{text}");

    // The planning against the GAP guide's own StructureDefinitions.
    let text = check_profiles("regions", &[examples.join("planning.json")]);
    assert!(text.contains("gap-fr-appointment"), "{text}");
    assert!(text.contains("gap-fr-schedule"), "{text}");
}

/// The record's interventions become appointments in the shared agenda of the platform
/// (GAP), read back from the platform's FHIR API; an intervention the record then
/// cancels is cancelled there, the same appointment.
#[test]
fn interventions_are_appointments_on_the_platform_and_a_cancellation_follows() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(
        data.path(),
        &[("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false")],
    );
    let share = |record: &Value| {
        let response = gateway.post_record(&serde_json::to_vec(record).unwrap(), None);
        assert_eq!(response.status, 202, "{}", response.text());
        let id = response.json()["id"].as_str().unwrap().to_string();
        let view = gateway.wait_settled(&id, Duration::from_secs(30));
        let delivery = delivery_to(&view, "region:parcours");
        assert_eq!(delivery["state"], "delivered", "{delivery}");
        delivery
    };
    let mut record: Value = serde_json::from_slice(&record_for(
        "home-volet2-pays-de-la-loire.json",
        "52",
        "dossier-planning",
    ))
    .unwrap();
    let delivery = share(&record);
    let details = &delivery["receipt"]["details"];
    // Two professionals' schedules and two appointments, new to the platform.
    assert_eq!(details["planning"]["created"], 4, "{details}");

    // What was sent reads against the guide's StructureDefinitions.
    let sent = gateway.artifact(&delivery, "planning.json");
    assert_eq!(sent.status, 200);
    let file = data.path().join("planning.json");
    std::fs::write(&file, &sent.body).unwrap();
    check_profiles("regions", &[file]);

    // The platform holds the nurse's visit, booked, at the planned time.
    let base = platform_base(&gateway, "parcours");
    let platform = client(&base, "parcours", SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET);
    let patient_system = details["patient_system"].as_str().unwrap();
    let system = format!("{}.10", patient_system.trim_end_matches(".3"));
    let find = || {
        let found = runtime()
            .block_on(platform.find("Appointment", &system, "IPP-000417/int-002"))
            .expect("the platform answers");
        assert_eq!(found.len(), 1, "{found:?}");
        found[0].clone()
    };
    let appointment = find();
    assert_eq!(appointment["status"], "booked", "{appointment}");
    assert_eq!(appointment["start"], "2026-03-05T08:30:00+01:00");
    assert_eq!(appointment["end"], "2026-03-05T09:30:00+01:00");
    let actors: Vec<&str> = appointment["participant"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["actor"]["reference"].as_str())
        .collect();
    assert!(
        actors.iter().any(|a| a.starts_with("Patient/")),
        "{actors:?}"
    );
    assert!(
        actors.iter().any(|a| a.starts_with("PractitionerRole/")),
        "{actors:?}"
    );

    // The record cancels the visit: the same appointment is cancelled on the platform.
    record["interventions"][1]["status"] = "cancelled".into();
    record["source"]["updated_at"] = "2026-03-04T18:00:00+01:00".into();
    let delivery = share(&record);
    let planning = &delivery["receipt"]["details"]["planning"];
    assert_eq!(planning["created"], 0, "{planning}");
    assert_eq!(planning["updated"], 4, "{planning}");
    assert_eq!(find()["status"], "cancelled");
}
