//! The on-call service's alerts through the real binary: a téléassistance centre's system
//! raises an alert, kept before it is answered and kept once however often it is posted;
//! the nurse on call takes it, a second professional is told who has it, and it is closed
//! with its outcome. An alert about someone the gateway holds no record of is kept too.

use std::time::Duration;

use serde_json::Value;

use crt_mssante::inbound::{self, Incoming, Reading};

use crate::inbound::Operator;
use crate::support::{Gateway, example, exported_trace, repo};

const JSON: (&str, &str) = ("Content-Type", "application/json");
const NURSE: [(&str, &str); 2] = [
    ("Crt-Actor-Id", "810003456786"),
    ("Crt-Actor-Profession", "nurse"),
];

fn alert_example() -> Value {
    let path = repo().join("schemas/examples/alerts/fall-at-night.json");
    serde_json::from_slice(&std::fs::read(path).expect("example")).expect("JSON")
}

#[test]
fn an_alert_is_kept_once_taken_once_and_closed_and_an_unknown_beneficiary_is_not_dropped() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let record = gateway.post_record(&example("home-volet2-pays-de-la-loire.json"), None);
    assert_eq!(record.status, 202, "{}", record.text());
    gateway.wait_settled(
        record.json()["id"].as_str().expect("id"),
        Duration::from_secs(30),
    );

    // The centre's system raises the alert; posting it again changes nothing.
    let body = serde_json::to_vec(&alert_example()).expect("JSON");
    let raised = gateway.request("POST", "/v1/alerts", &[JSON], &body);
    assert_eq!(raised.status, 202, "{}", raised.text());
    let alert = raised.json();
    assert_eq!(alert["status"], "open");
    assert_eq!(alert["beneficiary_ref"], "IPP-000417");
    assert_eq!(alert["reason"], "fall");
    let id = alert["id"].as_str().expect("id").to_string();
    let again = gateway.request("POST", "/v1/alerts", &[JSON], &body);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["id"], id.as_str());

    // A broken alert is refused with the field and the rule.
    let mut broken = alert_example();
    broken["beneficiary"] = serde_json::json!({ "birth_name": "Dupont" });
    broken["source"]["alert_id"] = "TAS-2026-120603".into();
    let refused = gateway.request(
        "POST",
        "/v1/alerts",
        &[JSON],
        &serde_json::to_vec(&broken).expect("JSON"),
    );
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(refused.json()["violations"][0]["pointer"], "/beneficiary");
    assert_eq!(refused.json()["violations"][0]["rule"], "beneficiary-named");

    // The nurse on call sees it, takes it; a second professional is told who has it.
    let listed = gateway.request("GET", "/v1/alerts?crt=720004563&status=open", &NURSE, b"");
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.json()["alerts"][0]["id"], id.as_str());
    let shown = gateway.request("GET", &format!("/v1/alerts/{id}"), &NURSE, b"");
    assert_eq!(shown.json()["alert"]["heard"], alert_example()["heard"]);
    let taken = gateway.request("POST", &format!("/v1/alerts/{id}/take"), &NURSE, b"");
    assert_eq!(taken.status, 200, "{}", taken.text());
    assert_eq!(taken.json()["taken_by"], "810003456786");
    let physician = [
        ("Crt-Actor-Id", "810002345675"),
        ("Crt-Actor-Profession", "physician"),
    ];
    let second = gateway.request("POST", &format!("/v1/alerts/{id}/take"), &physician, b"");
    assert_eq!(second.status, 409, "{}", second.text());
    assert!(second.text().contains("810003456786"), "{}", second.text());

    // Closed with its outcome.
    let mut headers = NURSE.to_vec();
    headers.push(JSON);
    let closed = gateway.request(
        "POST",
        &format!("/v1/alerts/{id}/close"),
        &headers,
        br#"{"outcome":"home_visit"}"#,
    );
    assert_eq!(closed.status, 200, "{}", closed.text());
    assert_eq!(closed.json()["status"], "closed");
    assert_eq!(closed.json()["outcome"], "home_visit");

    // Someone the gateway holds no record of: kept, with no beneficiary, never dropped.
    let mut stranger = alert_example();
    stranger["beneficiary"]["local_id"] = "IPP-999999".into();
    stranger["source"]["alert_id"] = "TAS-2026-120604".into();
    let kept = gateway.request(
        "POST",
        "/v1/alerts",
        &[JSON],
        &serde_json::to_vec(&stranger).expect("JSON"),
    );
    assert_eq!(kept.status, 202, "{}", kept.text());
    assert!(
        kept.json().get("beneficiary_ref").is_none(),
        "{}",
        kept.text()
    );

    // A home help may not read the alerts.
    let home_help = [
        ("Crt-Actor-Id", "810004567896"),
        ("Crt-Actor-Profession", "home_help"),
    ];
    let forbidden = gateway.request("GET", "/v1/alerts?crt=720004563", &home_help, b"");
    assert_eq!(forbidden.status, 403, "{}", forbidden.text());
}

/// The on-call service of the example CRT: a care assistant and a nurse every night, a
/// coordinator, and the SAMU of the Sarthe. Nobody is on call in the daytime: a gap.
const ON_CALL: &str = r#"
[on_call]
take_within_s = 2
poll_interval_ms = 100

[[on_call.services]]
crt = "720004563"
mailbox = "crt.tilleuls@ehpad-tilleuls.mssante.fr"
departement = "72"
coordinators = [{ name = "Nadia Faure", mailbox = "coordination@ehpad-tilleuls.mssante.fr" }]

[[on_call.services.rota]]
role = "nurse"
name = "Sophie Petit"
id = "810003456786"
mailbox = "sophie.petit@ehpad-tilleuls.mssante.fr"
from = "20:00"
to = "08:00"

[[on_call.services.rota]]
role = "care_assistant"
name = "Camille Lefort"
mailbox = "camille.lefort@ehpad-tilleuls.mssante.fr"
from = "20:00"
to = "08:00"

[[on_call.regulation]]
departement = "72"
mailbox = "samu72@ch-lemans.mssante.fr"
"#;

const CARE_ASSISTANT: &str = "camille.lefort@ehpad-tilleuls.mssante.fr";
const ON_CALL_NURSE: &str = "sophie.petit@ehpad-tilleuls.mssante.fr";
const SAMU: &str = "samu72@ch-lemans.mssante.fr";

/// The alert as it stands, once `done` says so (30 s at most).
fn wait_alert(gateway: &Gateway, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let alert = gateway
            .request("GET", &format!("/v1/alerts/{id}"), &NURSE, b"")
            .json();
        if done(&alert) || std::time::Instant::now() > deadline {
            return alert;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The messages of `mailbox` whose Message-ID is `message_id`, read as a mail client
/// with documents reads them.
fn received(operator: &Operator, mailbox: &str, message_id: &str) -> Vec<Incoming> {
    let wanted = message_id.trim_matches(|c| c == '<' || c == '>');
    operator
        .unseen(mailbox)
        .iter()
        .filter_map(|m| match inbound::read(m) {
            Ok(Reading::Documents(incoming)) => Some(*incoming),
            _ => None,
        })
        .filter(|m| m.message_id == wanted)
        .collect()
}

/// Whether the message's XDM archive holds a CDA document (its PDF rendering aside).
fn carries_a_cda(message: &Incoming) -> bool {
    message
        .documents
        .iter()
        .any(|d| d.unique_id.is_some() && d.media_type.contains("xml"))
}

#[test]
fn a_night_alert_goes_to_the_rota_escalates_is_taken_and_the_samu_gets_the_dlu() {
    let data = tempfile::tempdir().expect("temp dir");
    std::fs::write(data.path().join("gateway.toml"), ON_CALL).expect("config");
    let gateway = Gateway::start(data.path(), &[]);
    // The CRT shares the beneficiary with the Pays de la Loire platform.
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).expect("JSON");
    record["actions"]
        .as_array_mut()
        .expect("actions")
        .push(serde_json::json!({"action": "share_with_region"}));
    let record = gateway.post_record(&serde_json::to_vec(&record).expect("JSON"), None);
    assert_eq!(record.status, 202, "{}", record.text());
    let settled = gateway.wait_settled(
        record.json()["id"].as_str().expect("id"),
        Duration::from_secs(30),
    );
    let dlu_in_dmp = settled["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .find(|d| d["target"] == "dmp" && d["work"]["action"]["document"] == "dlu")
        .cloned()
        .expect("the DLU goes to the DMP");
    assert_eq!(dlu_in_dmp["state"], "delivered", "{dlu_in_dmp}");

    // The rota leaves the daytime uncovered: /readyz says so, and stays ready.
    let ready = gateway.request("GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 200, "{}", ready.text());
    let warnings = ready.json()["warnings"].clone();
    assert_eq!(warnings[0]["name"], "on-call:720004563", "{warnings}");
    assert!(
        warnings[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Mon 08:00–20:00")),
        "{warnings}"
    );

    // A fall at 02:14: the care assistant on call is called first, with the DLU at hand.
    let operator = Operator::of(data.path());
    let body = serde_json::to_vec(&alert_example()).expect("JSON");
    let raised = gateway.request("POST", "/v1/alerts", &[JSON], &body);
    assert_eq!(raised.status, 202, "{}", raised.text());
    let id = raised.json()["id"].as_str().expect("id").to_string();
    let first = wait_alert(&gateway, &id, |a| {
        a["calls"].as_array().is_some_and(|c| !c.is_empty())
    });
    let call = &first["calls"][0];
    assert_eq!(call["role"], "care_assistant", "{first}");
    assert_eq!(call["mailbox"], CARE_ASSISTANT);
    let message_id = call["message_id"].as_str().expect("message id");
    let messages = received(&operator, CARE_ASSISTANT, message_id);
    assert_eq!(
        messages.len(),
        1,
        "the care assistant's mailbox holds the call"
    );
    let message = &messages[0];
    assert!(
        message.subject.starts_with("ALERTE astreinte CRT – chute"),
        "{}",
        message.subject
    );
    let text = message.text.as_deref().unwrap_or_default();
    assert!(text.contains("est tombée dans sa salle de bain"), "{text}");
    assert!(carries_a_cda(message), "the DLU goes with the call");

    // Not taken within 2 s: the nurse, next on the rota, is called.
    let escalated = wait_alert(&gateway, &id, |a| {
        a["calls"].as_array().is_some_and(|c| c.len() >= 2)
    });
    let call = &escalated["calls"][1];
    assert_eq!(call["role"], "nurse", "{escalated}");
    assert_eq!(call["position"], 1);
    let message_id = call["message_id"].as_str().expect("message id");
    assert_eq!(received(&operator, ON_CALL_NURSE, message_id).len(), 1);

    // The nurse takes it: nobody else is called.
    let taken = gateway.request("POST", &format!("/v1/alerts/{id}/take"), &NURSE, b"");
    assert_eq!(taken.status, 200, "{}", taken.text());
    assert!(taken.json().get("duty").is_none(), "{}", taken.text());
    std::thread::sleep(Duration::from_secs(3));
    let after = wait_alert(&gateway, &id, |_| true);
    assert_eq!(
        after["calls"].as_array().map(Vec::len),
        Some(2),
        "the coordinator is not called once the alert is taken: {after}"
    );

    // A second alert, closed as needing the emergency services: the SAMU of the Sarthe
    // gets the DLU and the alert's summary, and the DLU is in the DMP.
    let mut second = alert_example();
    second["source"]["alert_id"] = "TAS-2026-120699".into();
    second["reason"] = "health_deterioration".into();
    let raised = gateway.request(
        "POST",
        "/v1/alerts",
        &[JSON],
        &serde_json::to_vec(&second).expect("JSON"),
    );
    assert_eq!(raised.status, 202, "{}", raised.text());
    let second_id = raised.json()["id"].as_str().expect("id").to_string();
    let mut headers = NURSE.to_vec();
    headers.push(JSON);
    let closed = gateway.request(
        "POST",
        &format!("/v1/alerts/{second_id}/close"),
        &headers,
        br#"{"outcome":"emergency_services"}"#,
    );
    assert_eq!(closed.status, 200, "{}", closed.text());
    let regulated = wait_alert(&gateway, &second_id, |a| a.get("regulation").is_some());
    let regulation = &regulated["regulation"];
    assert_eq!(regulation["sent"], true, "{regulated}");
    assert_eq!(regulation["to"], SAMU);
    assert_eq!(regulation["with_dlu"], true);
    assert_eq!(regulation["dmp"]["state"], "delivered", "{regulation}");
    assert_eq!(regulation["dmp"]["delivery"], dlu_in_dmp["id"]);
    let message_id = regulation["message_id"].as_str().expect("message id");
    let messages = received(&operator, SAMU, message_id);
    assert_eq!(messages.len(), 1, "the SAMU's mailbox holds the DLU");
    assert!(
        messages[0].subject.starts_with("Demande de régulation"),
        "{}",
        messages[0].subject
    );
    assert!(
        carries_a_cda(&messages[0]),
        "the DLU goes to the regulation"
    );

    // Someone the gateway holds no record of: the coordinator is called, in words alone.
    let mut stranger = alert_example();
    stranger["beneficiary"]["local_id"] = "IPP-999999".into();
    stranger["source"]["alert_id"] = "TAS-2026-120700".into();
    let raised = gateway.request(
        "POST",
        "/v1/alerts",
        &[JSON],
        &serde_json::to_vec(&stranger).expect("JSON"),
    );
    assert_eq!(raised.status, 202, "{}", raised.text());
    let stranger_id = raised.json()["id"].as_str().expect("id").to_string();
    let called = wait_alert(&gateway, &stranger_id, |a| a.get("calls").is_some());
    assert_eq!(called["calls"][0]["role"], "coordinator", "{called}");
    assert_eq!(
        called["calls"][0]["mailbox"],
        "coordination@ehpad-tilleuls.mssante.fr"
    );
    assert!(
        called.get("duty").is_none(),
        "nobody after the coordinator: {called}"
    );

    // The activity report counts them: three alerts, all at night, one escalated, two
    // taken (the second closed straight away), the SAMU informed once.
    let report =
        gateway.get_json("/v1/reports/activity?crt=720004563&from=2026-12-01&to=2026-12-31");
    let figures = &report["indicators"]["alerts"];
    assert_eq!(figures["total"], 3, "{figures}");
    assert_eq!(figures["night"], 3, "{figures}");
    assert_eq!(figures["taken"], 2, "{figures}");
    assert_eq!(figures["escalated"], 1, "{figures}");
    assert_eq!(figures["escalations"], 1, "{figures}");
    assert_eq!(figures["regulated"], 1, "{figures}");
    assert!(
        figures["time_to_take_median_s"].as_f64().is_some(),
        "{figures}"
    );

    // Every step is a line of the access trace, the beneficiary named by pseudonym; the
    // liaison book of the Pays de la Loire platform got the emergency entry.
    let mut gateway = gateway;
    gateway.kill();
    let trace = exported_trace(data.path());
    let steps: Vec<Value> = trace
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|line| line["event"].clone())
        .filter(|event| event["caller"] == "on-call")
        .collect();
    let actions: Vec<(&str, &str)> = steps
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap_or_default(),
                l["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("alert.call", "called:care_assistant")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("alert.call", "called:nurse")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("alert.liaison-book", "posted")),
        "{actions:?}\n{}",
        std::fs::read_to_string(data.path().join("gateway.log")).unwrap_or_default()
    );
    assert!(
        actions.contains(&("alert.regulation", "sent")),
        "{actions:?}"
    );
    assert!(!trace.contains("IPP-000417"), "the trace names nobody");
}

/// The bounds the CRT's physician set for the example beneficiary: a weight gain (heart
/// failure) and a heart rate.
fn with_thresholds(record: &mut Value) {
    record["telemonitoring"] = serde_json::json!([
        {"code": {"system": "loinc", "code": "29463-7", "display": "Poids"},
         "unit": "kg", "low": 55, "high": 71},
        {"code": {"system": "loinc", "code": "8867-4"}, "unit": "/min", "low": 45, "high": 110}
    ]);
}

#[test]
fn a_telemonitoring_measure_over_its_bound_becomes_an_alert_and_a_bad_unit_is_refused() {
    let data = tempfile::tempdir().expect("temp dir");
    std::fs::write(data.path().join("gateway.toml"), ON_CALL).expect("config");
    let gateway = Gateway::start(data.path(), &[]);
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).expect("JSON");
    // A threshold in a unit the vital-signs profile does not allow is refused first.
    record["telemonitoring"] = serde_json::json!([
        {"code": {"system": "loinc", "code": "29463-7"}, "unit": "[kg]", "high": 71}
    ]);
    let refused = gateway.post_record(&serde_json::to_vec(&record).expect("JSON"), None);
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(
        refused.json()["violations"][0]["pointer"],
        "/telemonitoring/0/unit"
    );
    with_thresholds(&mut record);
    let stored = gateway.post_record(&serde_json::to_vec(&record).expect("JSON"), None);
    assert_eq!(stored.status, 202, "{}", stored.text());
    gateway.wait_settled(
        stored.json()["id"].as_str().expect("id"),
        Duration::from_secs(30),
    );

    let path = "/v1/telemonitoring/720004563/Observation";
    let fhir = [("Content-Type", "application/fhir+json")];
    let observation: Value = serde_json::from_slice(
        &std::fs::read(repo().join("schemas/examples/telemonitoring/weight-over-bound.json"))
            .expect("example"),
    )
    .expect("JSON");

    // A unit outside the body-weight value set: refused with the element and the rule.
    let mut wrong = observation.clone();
    wrong["valueQuantity"]["code"] = "[kg]".into();
    let refused = gateway.request(
        "POST",
        path,
        &fhir,
        &serde_json::to_vec(&wrong).expect("JSON"),
    );
    assert_eq!(refused.status, 422, "{}", refused.text());
    let issue = &refused.json()["issue"][0];
    assert_eq!(issue["expression"][0], "Observation.valueQuantity.code");
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("http://hl7.org/fhir/ValueSet/ucum-bodyweight")),
        "{issue}"
    );

    // Within bounds: nothing kept.
    let mut light = observation.clone();
    light["identifier"][0]["value"] = "TLS-2026-88411".into();
    light["valueQuantity"]["value"] = 68.2.into();
    let fine = gateway.request(
        "POST",
        path,
        &fhir,
        &serde_json::to_vec(&light).expect("JSON"),
    );
    assert_eq!(fine.status, 200, "{}", fine.text());

    // 73.4 kg, over the 71 kg bound: an on-call alert, called at once to the care
    // assistant on call at 02:40, with the measure in the message.
    let body = serde_json::to_vec(&observation).expect("JSON");
    let raised = gateway.request("POST", path, &fhir, &body);
    assert_eq!(raised.status, 202, "{}", raised.text());
    let location = raised.header("location").expect("Location").to_string();
    let again = gateway.request("POST", path, &fhir, &body);
    assert_eq!(
        again.status,
        200,
        "the same observation is one alert: {}",
        again.text()
    );
    let id = location.trim_start_matches("/v1/alerts/").to_string();
    let alert = wait_alert(&gateway, &id, |a| {
        a["calls"].as_array().is_some_and(|c| !c.is_empty())
    });
    assert_eq!(alert["reason"], "health_deterioration", "{alert}");
    assert_eq!(alert["beneficiary_ref"], "IPP-000417");
    assert_eq!(alert["alert"]["source"]["kind"], "telemonitoring");
    let heard = alert["alert"]["heard"].as_str().unwrap_or_default();
    assert!(
        heard.contains("73.4 kg (above the high bound 71 kg)"),
        "{heard}"
    );
    let call = &alert["calls"][0];
    assert_eq!(call["role"], "care_assistant", "{alert}");
    let operator = Operator::of(data.path());
    let messages = received(
        &operator,
        CARE_ASSISTANT,
        call["message_id"].as_str().expect("id"),
    );
    assert_eq!(messages.len(), 1);
    let text = messages[0].text.as_deref().unwrap_or_default();
    assert!(text.contains("73.4 kg"), "{text}");

    // Someone the CRT does not follow: refused, naming the subject.
    let mut stranger = observation.clone();
    stranger["subject"]["identifier"]["value"] = "279035121518989".into();
    let unknown = gateway.request(
        "POST",
        path,
        &fhir,
        &serde_json::to_vec(&stranger).expect("JSON"),
    );
    assert_eq!(unknown.status, 422, "{}", unknown.text());
    assert_eq!(
        unknown.json()["issue"][0]["expression"][0],
        "Observation.subject.identifier"
    );
}
