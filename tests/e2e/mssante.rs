//! MSSanté through the real binary: the plan of the home example is sent to the care
//! circle and the patient over SMTP with mutual TLS, the message kept is a sound XDM
//! message, and the MDNs the recipients' systems return, read over IMAPS, show on the
//! delivery.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Gateway, example};

fn mssante_delivery(gateway: &Gateway, record: &str) -> Value {
    let view = gateway.get_json(&format!("/v1/records/{record}"));
    view["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["target"] == "mssante")
        .cloned()
        .expect("an mssante delivery")
}

#[test]
fn the_plan_is_sent_by_mssante_and_the_mdns_update_the_delivery() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let response = gateway.post_record(&example("home-volet2-pays-de-la-loire.json"), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    gateway.wait_settled(&id, Duration::from_secs(30));

    let delivery = mssante_delivery(&gateway, &id);
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    let accepted: Vec<String> = delivery["receipt"]["details"]["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(accepted.contains(&"luc.bernard@medecin.mssante.fr".to_string()));
    assert!(accepted.contains(&"238047218104592@patient.mssante.fr".to_string()));

    // The message kept is the one the operator accepted: a sound XDM message.
    let message = gateway.artifact(&delivery, "message.eml");
    assert_eq!(message.status, 200);
    let inspected = crt_mssante::simulator::inspect(&message.body).expect("a sound message");
    let xdm = inspected.xdm.expect("an archive");
    assert!(xdm.is_valid(), "{:?}", xdm.problems);
    assert_eq!(xdm.documents[0].cda_code.as_deref(), Some("80788-3"));

    // One MDN per recipient comes back through the structure's mailbox.
    let deadline = Instant::now() + Duration::from_secs(30);
    let acknowledgements = loop {
        let delivery = mssante_delivery(&gateway, &id);
        let acknowledgements = delivery["acknowledgements"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if acknowledgements.len() >= accepted.len() || Instant::now() > deadline {
            break acknowledgements;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        acknowledgements.len(),
        accepted.len(),
        "{acknowledgements:?}"
    );
    assert!(
        acknowledgements
            .iter()
            .all(|a| a["status"] == "delivered" && a["kind"] == "mdn")
    );
}
