//! The `mssante` sink against the operator simulator, over real sockets with the test PKI:
//! messages go out over STARTTLS and implicit TLS, are read back over IMAPS with their
//! XDM archive intact, acknowledgements come back, and what an operator refuses is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crt_core::CrtRecord;
use crt_core::record::{Channel, DocumentKind};
use crt_core::simulate::SimulatorTls;
use crt_core::sink::{DeliveryTask, ErrorClass, Outcome, Sink};
use crt_core::tls::{self, IdentityFiles};
use crt_mssante::config::MailboxCredentials;
use crt_mssante::simulator::{Behaviour, MssanteSimulator, RunningOperator};
use crt_mssante::{MssanteConfig, MssanteSink, ack, imap, smtp, xdm};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SENDER: &str = "crt.tilleuls@ehpad-tilleuls.mssante.fr";
const GP: &str = "luc.bernard@medecin.mssante.fr";

fn pki() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example")
}

fn example() -> CrtRecord {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/examples/home-volet2-pays-de-la-loire.json");
    serde_json::from_slice(&std::fs::read(path).expect("example")).expect("example record")
}

async fn operator() -> (MssanteSimulator, RunningOperator) {
    tls::install_default_provider();
    let simulator = MssanteSimulator::new(&SimulatorTls::from_pki(&pki())).expect("simulator TLS");
    let running = simulator
        .start([127, 0, 0, 1].into())
        .await
        .expect("simulator starts");
    (simulator, running)
}

fn identity(name: &str) -> IdentityFiles {
    IdentityFiles {
        certificate: pki().join(format!("{name}.pem")),
        key: pki().join(format!("{name}.key.pem")),
    }
}

fn config(smtp_url: String, running: &RunningOperator) -> MssanteConfig {
    config_for(smtp_url, Some(running.imaps_url()))
}

fn config_for(smtp_url: String, imap: Option<String>) -> MssanteConfig {
    MssanteConfig {
        smtp: Some(smtp_url),
        imap,
        trust: Some(pki().join("ca/chain.pem")),
        crl: Some(pki().join("ca/organisations.crl.pem")),
        mailboxes: vec![MailboxCredentials {
            address: SENDER.into(),
            client_certificate: pki().join("crt/auth.pem"),
            client_key: pki().join("crt/auth.key.pem"),
            oid_root: None,
        }],
        ..MssanteConfig::default().with_sandbox_reference()
    }
}

fn task(record: CrtRecord) -> DeliveryTask {
    DeliveryTask::document(Arc::new(record), DocumentKind::Dlu, Channel::Mssante)
}

fn client_tls(name: Option<&str>) -> Arc<rustls::ClientConfig> {
    tls::client_config_for(
        &crt_mssante::tls::policy(),
        &pki().join("ca/chain.pem"),
        None,
        name.map(identity).as_ref(),
    )
    .expect("client TLS")
}

async fn read_mailbox(running: &RunningOperator, mailbox: &str) -> Vec<Vec<u8>> {
    let endpoint = imap::Endpoint::parse(&running.imaps_url()).expect("url");
    let mut session = imap::Session::open(
        &endpoint,
        client_tls(Some("crt/auth")),
        mailbox,
        Duration::from_secs(5),
    )
    .await
    .expect("IMAP session");
    let mut messages = Vec::new();
    for uid in session.unseen().await.expect("search") {
        messages.push(session.fetch(uid).await.expect("fetch").expect("message"));
        session.mark_seen(uid).await.expect("store");
    }
    assert!(
        session.unseen().await.expect("search").is_empty(),
        "all seen"
    );
    assert_eq!(
        session.fetch(999_999).await.expect("fetch"),
        None,
        "a UID the mailbox does not hold is no message, not an error"
    );
    session.logout().await;
    messages
}

#[tokio::test]
async fn a_dlu_goes_out_over_starttls_and_is_read_back_with_its_xdm_and_its_mdn() {
    let (_simulator, running) = operator().await;
    let sink = MssanteSink::new(&config(running.smtp_url(), &running)).expect("sink");
    let task = task(example());
    let receipt = sink.deliver(&task).await.expect("sent");
    assert_eq!(receipt.outcome, Outcome::Delivered, "{receipt:?}");
    let accepted = receipt.details["accepted"].as_array().expect("accepted");
    assert!(accepted.iter().any(|a| a == GP), "{accepted:?}");
    assert!(
        accepted
            .iter()
            .any(|a| a == "238047218104592@patient.mssante.fr"),
        "the patient mailbox, consent granted and INS qualified: {accepted:?}"
    );
    let message_id = receipt.details["message_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        message_id,
        format!("<{}@ehpad-tilleuls.mssante.fr>", task.delivery_id)
    );

    // The recipient reads it over IMAPS and finds the archive whole.
    let inbox = read_mailbox(&running, GP).await;
    assert_eq!(inbox.len(), 1);
    let inspected = crt_mssante::simulator::inspect(&inbox[0]).expect("a sound message");
    assert_eq!(inspected.pdf_attachments, 1);
    let report = inspected.xdm.expect("an archive");
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.documents.len(), 1);
    assert_eq!(report.documents[0].cda_code.as_deref(), Some("74207-2"));
    assert!(report.documents[0].ins);

    // The sender's mailbox holds one MDN per recipient, naming the message.
    let notifications = read_mailbox(&running, SENDER).await;
    let acks: Vec<ack::Acknowledgement> = notifications.iter().flat_map(|m| ack::read(m)).collect();
    assert_eq!(acks.len(), accepted.len());
    assert!(
        acks.iter()
            .all(|a| format!("<{}>", a.original_message_id) == message_id)
    );
    assert!(acks.iter().all(|a| a.status == ack::Status::Delivered));
}

#[tokio::test]
async fn messages_of_one_structure_share_a_session_and_a_closed_one_is_replaced() {
    let (simulator, running) = operator().await;
    let sink = MssanteSink::new(&config(running.smtps_url(), &running)).expect("sink");
    let operator = &simulator.operator;
    for _ in 0..3 {
        let receipt = sink.deliver(&task(example())).await.expect("sent");
        assert_eq!(receipt.outcome, Outcome::Delivered, "{receipt:?}");
    }
    assert_eq!(operator.smtp_sessions(), 1, "three messages, one session");
    // The server now ends each session after one message: the kept session carries the
    // next message and is closed; the one after finds it closed and opens another.
    operator.set_behaviour(Behaviour {
        one_message_per_session: true,
        ..Behaviour::default()
    });
    for _ in 0..2 {
        let receipt = sink.deliver(&task(example())).await.expect("sent");
        assert_eq!(receipt.outcome, Outcome::Delivered, "{receipt:?}");
    }
    assert_eq!(operator.smtp_sessions(), 2);
    assert_eq!(operator.accepted().len(), 5);
}

#[tokio::test]
async fn implicit_tls_works_and_bounces_and_integration_errors_come_back() {
    let (simulator, running) = operator().await;
    simulator.operator.set_behaviour(Behaviour {
        bouncing: [GP.to_string()].into(),
        integration_errors: ["anne.moreau@ehpad-tilleuls.mssante.fr".to_string()].into(),
        // Reading back then authenticates without an initial response.
        imap_without_sasl_ir: true,
        ..Behaviour::default()
    });
    let sink = MssanteSink::new(&config(running.smtps_url(), &running)).expect("sink");
    let receipt = sink.deliver(&task(example())).await.expect("sent");
    assert_eq!(receipt.outcome, Outcome::Delivered);
    let acks: Vec<ack::Acknowledgement> = read_mailbox(&running, SENDER)
        .await
        .iter()
        .flat_map(|m| ack::read(m))
        .collect();
    let of = |who: &str| acks.iter().find(|a| a.recipient == who).expect(who);
    assert_eq!(of(GP).status, ack::Status::Failed);
    assert_eq!(of(GP).kind, "dsn");
    assert_eq!(of(GP).code.as_deref(), Some("5.1.1"));
    let error = of("anne.moreau@ehpad-tilleuls.mssante.fr");
    assert_eq!(
        (error.status, error.code.as_deref()),
        (ack::Status::Failed, Some("902"))
    );
}

#[tokio::test]
async fn the_patient_mailbox_needs_a_qualified_ins_and_no_opposition() {
    let (_simulator, running) = operator().await;
    let sink = MssanteSink::new(&config(running.smtp_url(), &running)).expect("sink");
    let mut record = example();
    record.consents.mssante_to_patient = record.consents.mssante_to_patient.map(|mut c| {
        c.decision = crt_core::record::ConsentDecision::Opposed;
        c
    });
    let receipt = sink.deliver(&task(record)).await.expect("sent");
    let accepted = receipt.details["accepted"].as_array().expect("accepted");
    assert!(!accepted.iter().any(|a| {
        a.as_str()
            .is_some_and(|a| a.ends_with("@patient.mssante.fr"))
    }));
    assert!(receipt.details["skipped"].to_string().contains("opposed"));

    let mut provisional = example();
    provisional.beneficiary.identity_status = crt_core::record::IdentityStatus::Provisional;
    let error = sink.deliver(&task(provisional)).await.expect_err("refused");
    assert_eq!(error.code, "identity-not-qualified");
}

async fn send_raw(
    url: String,
    tls_config: Arc<rustls::ClientConfig>,
    message: &[u8],
) -> Result<smtp::Sent, smtp::SmtpError> {
    let endpoint = smtp::Endpoint::parse(&url).expect("url");
    smtp::Sessions::default()
        .send(
            &endpoint,
            tls_config,
            "test.localdomain",
            smtp::Envelope {
                from: &crt_mssante::Address::parse(SENDER, &[]).expect("address"),
                recipients: &[crt_mssante::Address::parse(GP, &[]).expect("address")],
                id: "raw@test.localdomain",
            },
            message,
            Duration::from_secs(5),
        )
        .await
}

fn composed_message(sink: &MssanteSink) -> Vec<u8> {
    sink.compose(&task(example()), DocumentKind::Dlu)
        .expect("composed")
        .expect("recipients")
        .bytes
}

#[tokio::test]
async fn clear_text_mail_is_refused_before_starttls() {
    let (_simulator, running) = operator().await;
    let mut tcp = tokio::net::TcpStream::connect(running.submission)
        .await
        .expect("connect");
    let mut buffer = vec![0; 512];
    let n = tcp.read(&mut buffer).await.expect("greeting");
    assert!(buffer[..n].starts_with(b"220"));
    tcp.write_all(b"EHLO test\r\nMAIL FROM:<crt@x.mssante.fr>\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    while !answer.contains("530") {
        let n = tcp.read(&mut buffer).await.expect("answer");
        assert!(n > 0, "closed before refusing: {answer}");
        answer.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert!(answer.contains("STARTTLS"), "{answer}");
    assert!(answer.contains("530 5.7.0"), "{answer}");
}

#[tokio::test]
async fn a_client_without_certificate_or_from_another_ca_is_refused() {
    let (_simulator, running) = operator().await;
    let sink = MssanteSink::new(&config(running.smtp_url(), &running)).expect("sink");
    let message = composed_message(&sink);
    for url in [running.smtp_url(), running.smtps_url()] {
        let error = send_raw(url.clone(), client_tls(None), &message)
            .await
            .expect_err("no certificate");
        assert!(!error.is_transient(), "{error}");
        let other = send_raw(
            url.clone(),
            client_tls(Some("invalid/other-client")),
            &message,
        )
        .await
        .expect_err("another CA");
        assert!(
            matches!(
                other,
                smtp::SmtpError::Handshake(..) | smtp::SmtpError::Protocol(_)
            ),
            "{other}"
        );
        send_raw(url, client_tls(Some("crt/auth")), &message)
            .await
            .expect("the structure's certificate");
    }
    let revoked = send_raw(
        running.smtps_url(),
        client_tls(Some("invalid/revoked")),
        &message,
    )
    .await;
    assert!(revoked.is_err(), "a revoked certificate is refused");
}

#[tokio::test]
async fn tls_other_than_1_2_is_refused() {
    let (_simulator, running) = operator().await;
    // TLS 1.3 only: the operator speaks TLS 1.2 only.
    let tls13 = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(tls::root_store(&pki().join("ca/chain.pem")).expect("roots"))
        .with_client_auth_cert(
            tls::load_certificates(&pki().join("crt/auth.pem")).expect("cert"),
            tls::load_private_key(&pki().join("crt/auth.key.pem")).expect("key"),
        )
        .expect("client auth");
    let sink = MssanteSink::new(&config(running.smtp_url(), &running)).expect("sink");
    let error = send_raw(
        running.smtps_url(),
        Arc::new(tls13),
        &composed_message(&sink),
    )
    .await
    .expect_err("TLS 1.3 refused");
    assert!(matches!(error, smtp::SmtpError::Handshake(..)), "{error}");

    // A TLS 1.1 ClientHello (rustls cannot speak it; these are its bytes) gets an alert.
    let mut hello = vec![0x01, 0x00, 0x00, 0x2d, 0x03, 0x02];
    hello.extend_from_slice(&[7; 32]);
    hello.extend_from_slice(&[0x00, 0x00, 0x04, 0xc0, 0x13, 0xc0, 0x14, 0x01, 0x00]);
    let length = hello.len() - 4;
    hello[3] = length as u8;
    let mut record = vec![0x16, 0x03, 0x02, 0x00, hello.len() as u8];
    record.extend_from_slice(&hello);
    let mut tcp = tokio::net::TcpStream::connect(running.smtps)
        .await
        .expect("connect");
    tcp.write_all(&record).await.expect("hello");
    let mut answer = [0u8; 7];
    let n = tcp.read(&mut answer).await.unwrap_or(0);
    assert!(
        n == 0 || answer[0] == 0x15,
        "an alert or a closed connection, not a handshake: {answer:?}"
    );
}

#[tokio::test]
async fn a_message_whose_archive_is_broken_or_whose_headers_lie_is_refused() {
    let (_simulator, running) = operator().await;
    let sink = MssanteSink::new(&config(running.smtp_url(), &running)).expect("sink");
    let composed = sink
        .compose(&task(example()), DocumentKind::Dlu)
        .expect("composed")
        .expect("recipients");
    let text = String::from_utf8(composed.bytes.clone()).expect("ASCII message");

    // The CDA code announced does not match the archive's document.
    let lying = text.replace("X-MSS-CODECDA: 74207-2", "X-MSS-CODECDA: 11488-4");
    let error = send_raw(
        running.smtp_url(),
        client_tls(Some("crt/auth")),
        lying.as_bytes(),
    )
    .await
    .expect_err("refused");
    assert!(error.to_string().contains("X-MSS-CODECDA"), "{error}");
    assert!(!error.is_transient());

    // An archive with a document its metadata does not describe.
    let mut report = xdm::check(&composed.archive);
    assert!(report.is_valid(), "{:?}", report.problems);
    let tampered = tamper(&composed.archive);
    report = xdm::check(&tampered);
    assert!(
        report.problems.iter().any(|p| p.rule == "xdm-hash"),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| p.rule == "xdm-size"),
        "{:?}",
        report.problems
    );
    assert!(xdm::check(b"not a zip").problems[0].rule == "xdm-archive");

    // Without the product reference, nothing is accepted.
    let anonymous = text.replace("X-MSS-NIL: CRT-GATEWAY-SANDBOX\r\n", "");
    let error = send_raw(
        running.smtp_url(),
        client_tls(Some("crt/auth")),
        anonymous.as_bytes(),
    )
    .await
    .expect_err("refused");
    assert!(error.to_string().contains("X-MSS-NIL"), "{error}");
}

/// The archive with its document replaced by other bytes.
fn tamper(archive: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut input = zip::ZipArchive::new(std::io::Cursor::new(archive)).expect("zip");
    let mut output = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..input.len() {
        let mut file = input.by_index(i).expect("entry");
        let name = file.name().to_string();
        let mut content = Vec::new();
        file.read_to_end(&mut content).expect("read");
        if name.ends_with("DOC0001.XML") {
            content = b"<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>".to_vec();
        }
        output
            .start_file(name, zip::write::SimpleFileOptions::default())
            .expect("start");
        output.write_all(&content).expect("write");
    }
    output.finish().expect("finish").into_inner()
}

#[tokio::test]
async fn a_sender_outside_the_configuration_is_refused_without_an_issuer() {
    let (_simulator, running) = operator().await;
    let sink = MssanteSink::new(&config(running.smtp_url(), &running)).expect("sink");
    let mut record = example();
    record.crt.mssante_mailbox = Some("other@autre-structure.mssante.fr".into());
    let error = sink
        .deliver(&task(record))
        .await
        .expect_err("no certificate");
    assert_eq!(error.code, "mailbox-not-configured");
    assert_eq!(error.class, ErrorClass::Final);
}

#[test]
fn a_received_message_gives_its_documents_and_its_patient() {
    use crt_mssante::inbound::{self, Carrier, Failure, Reading};
    tls::install_default_provider();
    let sink = MssanteSink::new(&MssanteConfig {
        imap: None,
        ..config_for("smtps://localhost:465".into(), None)
    })
    .expect("sink");
    let record = example();
    let composed = sink
        .compose(&task(record.clone()), DocumentKind::Dlu)
        .expect("composed")
        .expect("recipients");
    let Ok(Reading::Documents(incoming)) = inbound::read(&composed.bytes) else {
        panic!("documents expected");
    };
    assert_eq!(
        format!("<{}>", incoming.message_id),
        composed.message_id,
        "the Message-ID without brackets"
    );
    assert_eq!(incoming.from, SENDER);
    assert_eq!(incoming.notify.as_deref(), Some(SENDER));
    let carriers: Vec<Carrier> = incoming.documents.iter().map(|d| d.carrier).collect();
    assert_eq!(carriers, [Carrier::Archive, Carrier::Attachment]);
    assert_eq!(incoming.documents[0].code.as_deref(), Some("74207-2"));
    assert_eq!(incoming.documents[1].media_type, "application/pdf");
    let ins = record.beneficiary.ins.as_ref().expect("INS");
    let named = incoming.patient.ins.as_ref().expect("the INS of the CDA");
    assert_eq!(
        (named.number.as_str(), named.oid),
        (ins.number.as_str(), ins.oid)
    );
    assert_eq!(
        incoming.patient.birth_date.as_deref(),
        Some(record.beneficiary.identity.birth_date.as_str())
    );

    // A tampered archive refuses the whole message, naming what broke.
    let text = String::from_utf8(composed.bytes.clone()).expect("ASCII message");
    let encoded = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    assert!(text.contains(&encoded(&composed.archive)[..60]));
    let broken = rewrap_archive(&text, &composed.archive, &tamper(&composed.archive));
    let refusal = inbound::read(broken.as_bytes()).expect_err("refused");
    assert_eq!(refusal.failure, Failure::InvalidArchive);
    assert!(
        refusal.detail.contains("SHA-1") || refusal.detail.contains("size"),
        "{}",
        refusal.detail
    );
    assert_eq!(
        refusal.notify.as_deref(),
        Some(SENDER),
        "it can still be answered"
    );

    // People's mail and notifications are not the gateway's to integrate.
    assert!(matches!(
        inbound::read(b"From: a@b.mssante.fr\r\nMessage-ID: <1@b>\r\nSubject: hello\r\n\r\nbody"),
        Ok(Reading::Other)
    ));
}

/// The message with its archive's base64 replaced by that of `replacement`.
fn rewrap_archive(text: &str, archive: &[u8], replacement: &[u8]) -> String {
    use base64::Engine;
    let wrap = |bytes: &[u8]| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        encoded
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let original = wrap(archive);
    assert!(text.contains(&original), "the archive as lettre wraps it");
    text.replace(&original, &wrap(replacement))
}
