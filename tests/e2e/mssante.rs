//! MSSanté through the real binary: the plan of the home example is sent to the care
//! circle and the patient over SMTP with mutual TLS, the message kept is a sound XDM
//! message, and the MDNs the recipients' systems return, read over IMAPS, show on the
//! delivery.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Gateway, cli, delivery_to, example};

fn mssante_delivery(gateway: &Gateway, record: &str) -> Value {
    let view = gateway.get_json(&format!("/v1/records/{record}"));
    delivery_to(&view, "mssante")
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

#[test]
fn the_cli_packages_the_message_and_validates_messages_and_archives() {
    let out = tempfile::tempdir().expect("temp dir");
    let message = out.path().join("message.eml");
    let archive = out.path().join("IHE_XDM.zip");
    let (code, text) = cli(&[
        "mssante",
        "package",
        "schemas/examples/home-volet2-pays-de-la-loire.json",
        "--kind",
        "plan",
        "-o",
        message.to_str().unwrap(),
        "--archive",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("to 5 recipient(s)"), "{text}");

    let (code, text) = cli(&[
        "validate",
        message.to_str().unwrap(),
        archive.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("valid MSSanté message (1 document(s) in IHE_XDM.zip)"),
        "{text}"
    );
    assert!(
        text.contains("valid IHE XDM archive (1 document(s))"),
        "{text}"
    );

    let lying = out.path().join("lying.eml");
    let bytes = std::fs::read_to_string(&message).unwrap();
    std::fs::write(
        &lying,
        bytes.replace("X-MSS-CODECDA: 80788-3", "X-MSS-CODECDA: 11488-4"),
    )
    .unwrap();
    let truncated = out.path().join("truncated.zip");
    let zip = std::fs::read(&archive).unwrap();
    std::fs::write(&truncated, &zip[..zip.len() / 2]).unwrap();
    let (code, text) = cli(&[
        "validate",
        lying.to_str().unwrap(),
        truncated.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("X-MSS-CODECDA"), "{text}");
    assert!(text.contains("not a ZIP archive"), "{text}");
}
