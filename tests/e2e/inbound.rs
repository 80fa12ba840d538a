//! Receiving by MSSanté through the real binary: a partner sends the CRT's mailbox a
//! message with an XDM archive, over SMTP to the sandbox's operator; the gateway reads it
//! over IMAPS, matches the beneficiary by INS, keeps it, answers the MDN the volet asks
//! for, and the DUI lists it. A message about a patient the CRT does not follow waits in
//! the inbox with the volet's error MDN until someone attaches it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crt_mssante::{Address, ack, imap, smtp};
use serde_json::Value;

use crate::support::{Gateway, cli, cli_with, delivery_to, example, repo};

const CRT: &str = "720004563";
const BENEFICIARY: &str = "IPP-000417";
const CRT_MAILBOX: &str = "crt.tilleuls@ehpad-tilleuls.mssante.fr";
const GP: &str = "luc.bernard@medecin.mssante.fr";

/// The sandbox's MSSanté operator, as `sandbox-endpoints.json` gives it.
pub(crate) struct Operator {
    smtp: smtp::Endpoint,
    imap: imap::Endpoint,
    tls: Arc<rustls::ClientConfig>,
}

impl Operator {
    pub(crate) fn of(data: &Path) -> Operator {
        let text = std::fs::read_to_string(data.join("sandbox-endpoints.json")).expect("endpoints");
        let endpoints: Value = serde_json::from_str(&text).expect("JSON");
        let section = &endpoints["sinks"]["mssante"];
        crt_core::tls::install_default_provider();
        let pki = repo().join("certs-example");
        let tls = crt_core::tls::client_config_for(
            &crt_mssante::tls::policy(),
            &pki.join("ca/chain.pem"),
            None,
            Some(&crt_core::tls::IdentityFiles {
                certificate: pki.join("crt/auth.pem"),
                key: pki.join("crt/auth.key.pem"),
            }),
        )
        .expect("client TLS");
        Operator {
            smtp: smtp::Endpoint::parse(section["smtp"].as_str().expect("smtp")).expect("url"),
            imap: imap::Endpoint::parse(section["imap"].as_str().expect("imap")).expect("url"),
            tls,
        }
    }

    /// Sends `message` from the GP's mailbox to the CRT's, as the GP's software does.
    fn send_to_crt(&self, message: &[u8], id: &str) {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime
            .block_on(smtp::Sessions::default().send(
                &self.smtp,
                self.tls.clone(),
                "dpi.cabinet-bernard.localdomain",
                smtp::Envelope {
                    from: &Address::parse(GP, &[]).expect("address"),
                    recipients: &[Address::parse(CRT_MAILBOX, &[]).expect("address")],
                    id,
                },
                message,
                Duration::from_secs(10),
            ))
            .expect("the operator takes the partner's message");
    }

    /// The acknowledgements in the GP's mailbox.
    fn acknowledgements_to_gp(&self) -> Vec<ack::Acknowledgement> {
        self.unseen(GP)
            .iter()
            .flat_map(|message| ack::read(message))
            .collect()
    }

    /// The unread messages of `mailbox`, as its owner's mail client reads them.
    pub(crate) fn unseen(&self, mailbox: &str) -> Vec<Vec<u8>> {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let mut session = imap::Session::open(
                &self.imap,
                self.tls.clone(),
                mailbox,
                Duration::from_secs(10),
            )
            .await
            .expect("IMAP session");
            let mut found = Vec::new();
            for uid in session.unseen().await.expect("search") {
                if let Some(message) = session.fetch(uid).await.expect("fetch") {
                    found.push(message);
                }
            }
            session.logout().await;
            found
        })
    }
}

/// `message` as the GP's software would send it: from the GP to the CRT, with a
/// Message-ID of its own, answering `answers`, asking for an MDN.
fn from_gp(message: &[u8], message_id: &str, answers: &str) -> Vec<u8> {
    let text = String::from_utf8(message.to_vec()).expect("ASCII message");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers");
    let mut headers: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if line.starts_with([' ', '\t']) {
            // A folded header line goes with the header it continues.
            if let Some(last) = headers.last_mut()
                && !last.is_empty()
            {
                last.push_str("\r\n");
                last.push_str(line);
            }
            continue;
        }
        headers.push(match name.as_str() {
            "from" => format!("From: Dr Luc Bernard <{GP}>"),
            "to" => format!("To: <{CRT_MAILBOX}>"),
            "message-id" => format!("Message-ID: <{message_id}>"),
            "disposition-notification-to" => format!("Disposition-Notification-To: {GP}"),
            _ => line.to_string(),
        });
    }
    headers.push(format!("In-Reply-To: {answers}"));
    format!("{}\r\n\r\n{body}", headers.join("\r\n")).into_bytes()
}

fn wait_for(gateway: &Gateway, path: &str, key: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = gateway.get_json(path)[key]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_for_acknowledgement(operator: &Operator, message_id: &str) -> ack::Acknowledgement {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = operator
            .acknowledgements_to_gp()
            .into_iter()
            .find(|a| a.original_message_id == message_id)
        {
            return found;
        }
        assert!(Instant::now() < deadline, "no MDN for {message_id}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_partners_message_is_matched_kept_answered_and_listed_and_an_unknown_patient_waits_in_the_inbox()
 {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    // The CRT follows the beneficiary and sends their DLU: the care circle has it.
    let response = gateway.post_record(&example("home-volet2-pays-de-la-loire.json"), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let record = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&record, Duration::from_secs(30));
    let sent = gateway.artifact(&delivery_to(&view, "mssante"), "message.eml");
    assert_eq!(sent.status, 200);
    let sent_id = delivery_to(&view, "mssante")["receipt"]["details"]["message_id"]
        .as_str()
        .expect("message id")
        .to_string();

    // The GP's software answers with a document about the same person.
    let operator = Operator::of(data.path());
    let answer = from_gp(&sent.body, "answer-1@cabinet-bernard.mssante.fr", &sent_id);
    operator.send_to_crt(&answer, "answer-1@cabinet-bernard.mssante.fr");
    let documents_path = format!("/v1/beneficiaries/{CRT}/{BENEFICIARY}/documents");
    let messages = wait_for(&gateway, &documents_path, "messages", 1);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message["status"], "attached");
    assert_eq!(message["summary"]["matched_by"], "ins");
    assert_eq!(message["summary"]["from"], GP);
    assert_eq!(
        message["answers"][0].as_str().map(|a| format!("<{a}>")),
        Some(sent_id.clone()),
        "the answer names the message it answers"
    );
    let documents = message["summary"]["documents"]
        .as_array()
        .expect("documents");
    assert_eq!(documents[0]["carrier"], "archive");
    assert_eq!(documents[0]["media_type"], "text/xml");
    let id = message["id"].as_str().expect("id");
    let cda = gateway.request("GET", &format!("{documents_path}/{id}/files/0"), &[], b"");
    assert_eq!(cda.status, 200);
    assert!(cda.text().contains("ClinicalDocument"));
    let original = gateway.request("GET", &format!("{documents_path}/{id}/message"), &[], b"");
    assert_eq!(original.header("content-type"), Some("message/rfc822"));

    // The GP's software gets `processed`.
    let mdn = wait_for_acknowledgement(&operator, "answer-1@cabinet-bernard.mssante.fr");
    assert_eq!(mdn.status, ack::Status::Delivered, "{mdn:?}");
    assert_eq!(mdn.recipient, CRT_MAILBOX);

    // A document about a patient the CRT does not follow: the volet's 902, the inbox.
    let stranger = data.path().join("stranger.json");
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).expect("JSON");
    record["beneficiary"]["ins"]["number"] = Value::from(valid_nir("2380472181099"));
    record["beneficiary"]["local_id"] = Value::from("IPP-999");
    std::fs::write(&stranger, serde_json::to_vec(&record).unwrap()).unwrap();
    let packaged = data.path().join("stranger.eml");
    let (code, text) = cli(&[
        "mssante",
        "package",
        stranger.to_str().unwrap(),
        "-o",
        packaged.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    let unknown = from_gp(
        &std::fs::read(&packaged).unwrap(),
        "answer-2@cabinet-bernard.mssante.fr",
        &sent_id,
    );
    operator.send_to_crt(&unknown, "answer-2@cabinet-bernard.mssante.fr");
    let inbox = wait_for(&gateway, &format!("/v1/inbox?crt={CRT}"), "messages", 1);
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert!(
        inbox[0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("902^Identifiant patient inconnu")),
        "{}",
        inbox[0]
    );
    let mdn = wait_for_acknowledgement(&operator, "answer-2@cabinet-bernard.mssante.fr");
    assert_eq!(mdn.status, ack::Status::Failed);
    assert_eq!(mdn.code.as_deref(), Some("902"));

    // Someone who knows attaches it; the feed shows the arrival, then the attachment.
    let inbox_id = inbox[0]["id"].as_str().expect("id");
    let attached = gateway.request(
        "POST",
        &format!("/v1/inbox/{inbox_id}/attach"),
        &[("Content-Type", "application/json")],
        format!(r#"{{"crt":"{CRT}","local_id":"{BENEFICIARY}"}}"#).as_bytes(),
    );
    assert_eq!(attached.status, 200, "{}", attached.text());
    assert_eq!(attached.json()["status"], "attached");
    let again = gateway.request(
        "POST",
        &format!("/v1/inbox/{inbox_id}/reject"),
        &[("Content-Type", "application/json")],
        br#"{"reason":"twice"}"#,
    );
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(wait_for(&gateway, &documents_path, "messages", 2).len(), 2);
    let feed = gateway.get_json(&format!("/v1/events?crt={CRT}"));
    let events = feed["events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "each message once, at its latest change");
    assert_eq!(events.last().unwrap()["id"], inbox_id);
    let last = feed["last"].as_i64().expect("last");
    let after = gateway.get_json(&format!("/v1/events?crt={CRT}&after={last}"));
    assert!(after["events"].as_array().unwrap().is_empty());

    // The same message imported again from a mailbox export is kept once; a broken one
    // is kept aside with the volet's "other" error.
    let replay = data.path().join("answer-1.eml");
    std::fs::write(&replay, &answer).unwrap();
    let data_dir = data.path().to_str().unwrap();
    let env = [("CRT_GATEWAY_STORAGE__DATA_DIR", data_dir)];
    let (code, text) = cli_with(
        &[
            "mssante",
            "import",
            replay.to_str().unwrap(),
            "--mailbox",
            CRT_MAILBOX,
        ],
        &env,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("kept as {id}, attached")), "{text}");
    let broken = data.path().join("broken.eml");
    let text = String::from_utf8(answer.clone()).unwrap();
    let cut = text.find("UEsDB").expect("the archive's first bytes");
    let broken_text = format!("{}AAAA{}", &text[..cut], &text[cut + 40..])
        .replace("answer-1@cabinet-bernard", "answer-3@cabinet-bernard");
    std::fs::write(&broken, broken_text).unwrap();
    let (code, text) = cli_with(
        &[
            "mssante",
            "import",
            broken.to_str().unwrap(),
            "--mailbox",
            CRT_MAILBOX,
        ],
        &env,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("refused"), "{text}");
    let refused = gateway.get_json(&format!("/v1/inbox?crt={CRT}&status=refused"));
    let reason = refused["messages"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.starts_with("906^Erreur 'Autre': invalid-archive"),
        "{refused}"
    );

    // Nobody outside the care team reads them.
    let outsider = gateway.request(
        "GET",
        &documents_path,
        &[
            ("Crt-Actor-Id", "810009876544"),
            ("Crt-Actor-Profession", "physician"),
        ],
        b"",
    );
    assert_eq!(outsider.status, 403, "{}", outsider.text());
}

#[test]
fn a_prescription_request_goes_to_the_gp_and_the_answer_comes_back_to_the_beneficiary() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    // The coordinating nurse asks the GP for a prescription, from the CRT's DUI.
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).expect("JSON");
    record["actions"]
        .as_array_mut()
        .expect("actions")
        .push(serde_json::json!({
            "action": "request_prescription",
            "request": "ORD-2026-0042",
            "to": "pro-mt",
            "requested_by": "pro-ide-coord",
            "text": "Soins infirmiers à domicile : pansement quotidien, un mois."
        }));
    let response = gateway.post_record(&serde_json::to_vec(&record).unwrap(), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(30));
    let request = view["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .find(|d| d["work"]["action"]["action"] == "request_prescription")
        .cloned()
        .unwrap_or_else(|| panic!("no request delivery in {view}"));
    assert_eq!(request["target"], "mssante");
    assert_eq!(request["state"], "delivered", "{request}");
    let details = &request["receipt"]["details"];
    assert_eq!(details["to"], GP);
    assert_eq!(details["from"], CRT_MAILBOX);
    assert_eq!(details["request"], "ORD-2026-0042");
    let request_id = details["message_id"]
        .as_str()
        .expect("message id")
        .to_string();
    let sent = gateway.artifact(&request, "message.eml");
    assert_eq!(sent.status, 200);
    let sent = String::from_utf8_lossy(&sent.body).to_string();
    assert!(
        !sent.contains("IHE_XDM.ZIP"),
        "a request carries no document"
    );
    assert!(!sent.contains("X-MSS-CODECDA"), "{sent}");

    // The GP's software answers it with the prescription as a PDF, naming no patient.
    let operator = Operator::of(data.path());
    let answer = format!(
        "From: Dr Luc Bernard <{GP}>\r\n\
         To: <{CRT_MAILBOX}>\r\n\
         Subject: Re: Demande d'ordonnance\r\n\
         Date: Sun, 06 Dec 2026 10:00:00 +0100\r\n\
         X-MSS-NIL: DPI-CABINET-0001\r\n\
         Message-ID: <rx-1@cabinet-bernard.mssante.fr>\r\n\
         In-Reply-To: {request_id}\r\n\
         Disposition-Notification-To: {GP}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"rx\"\r\n\
         \r\n\
         --rx\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Voici l'ordonnance demandee.\r\n\
         --rx\r\n\
         Content-Type: application/pdf; name=\"ordonnance.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"ordonnance.pdf\"\r\n\
         \r\n\
         %PDF-1.4\r\n%%EOF\r\n\
         --rx--\r\n"
    );
    operator.send_to_crt(answer.as_bytes(), "rx-1@cabinet-bernard.mssante.fr");
    let documents_path = format!("/v1/beneficiaries/{CRT}/{BENEFICIARY}/documents");
    let messages = wait_for(&gateway, &documents_path, "messages", 1);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message["status"], "attached", "{message}");
    assert_eq!(message["summary"]["matched_by"], "answer");
    assert_eq!(
        message["summary"]["in_reply_to"]["request"],
        "ORD-2026-0042"
    );
    assert_eq!(
        message["summary"]["in_reply_to"]["delivery"], request["id"],
        "{message}"
    );
    assert_eq!(
        message["summary"]["documents"][0]["media_type"],
        "application/pdf"
    );
    assert!(
        message["summary"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Voici l'ordonnance")),
        "{message}"
    );
    let mdn = wait_for_acknowledgement(&operator, "rx-1@cabinet-bernard.mssante.fr");
    assert_eq!(mdn.status, ack::Status::Delivered, "{mdn:?}");
}

/// An INS-NIR: 13 digits and their key (97 − n mod 97).
fn valid_nir(digits: &str) -> String {
    let n: u64 = digits.parse().expect("13 digits");
    format!("{digits}{:02}", 97 - n % 97)
}
