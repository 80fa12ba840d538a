//! The `dmp` sink and client against the DMP simulator, over real sockets and mutual TLS
//! with the test PKI: documents go in and come back, repeated attempts are recognised,
//! versions replace each other, and everything the DMP refuses is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use crt_core::CrtRecord;
use crt_core::http::HttpsClient;
use crt_core::record::DmpMasking;
use crt_core::record::DocumentKind;
use crt_core::simulate::{Running, SimulatorTls};
use crt_core::sink::{
    DeliveryError, DeliveryTask, DmpChange, ErrorClass, Outcome, Receipt, Sink, Work,
};
use crt_core::tls;
use crt_dmp::client::Acting;
use crt_dmp::config::StructureCertificates;
use crt_dmp::simulator::{DmpSimulator, REPOSITORY};
use crt_dmp::sink::document_task;
use crt_dmp::vihf::{AccessMode, AuthenticationMode, Subject};
use crt_dmp::{DmpClient, DmpConfig, DmpSink};

const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";

fn pki() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example")
}

fn example() -> CrtRecord {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/examples/home-volet2-pays-de-la-loire.json");
    serde_json::from_slice(&std::fs::read(path).expect("example")).expect("example record")
}

async fn simulator() -> Running {
    tls::install_default_provider();
    let files = SimulatorTls::from_pki(&pki());
    DmpSimulator::new(&files)
        .expect("simulator TLS")
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator starts")
}

fn structure(client: &str, signing: &str) -> StructureCertificates {
    StructureCertificates {
        client_certificate: pki().join(format!("{client}.pem")),
        client_key: pki().join(format!("{client}.key.pem")),
        signing_certificate: pki().join(format!("{signing}.pem")),
        signing_key: pki().join(format!("{signing}.key.pem")),
        oid_root: None,
    }
}

fn config(sim: &Running, structures: Vec<StructureCertificates>) -> DmpConfig {
    DmpConfig {
        endpoint: Some(sim.url("")),
        trust: Some(pki().join("ca/chain.pem")),
        structures,
        ..DmpConfig::default()
    }
}

fn sink_with(config: &DmpConfig) -> DmpSink {
    DmpSink::new(DmpClient::from_config(config).expect("client"), config)
}

fn sink(sim: &Running) -> DmpSink {
    sink_with(&config(sim, vec![structure("crt/auth", "crt/sign")]))
}

fn task(record: CrtRecord, document: DocumentKind) -> DeliveryTask {
    document_task(Arc::new(record), document)
}

/// The task that brings the DMP's copy of `document` in line with the record's consents.
fn update_task(record: CrtRecord, document: DocumentKind, change: DmpChange) -> DeliveryTask {
    DeliveryTask {
        work: Work::DmpUpdate { document, change },
        ..task(record, document)
    }
}

fn detail<'a>(receipt: &'a Receipt, key: &str) -> &'a str {
    receipt.details[key].as_str().unwrap_or_default()
}

fn artifact<'a>(receipt: &'a Receipt, name: &str) -> &'a [u8] {
    &receipt
        .artifacts
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("artifact {name}"))
        .content
}

/// Reads back what the DMP holds for the example beneficiary.
struct Reader {
    client: DmpClient,
    record: CrtRecord,
    mode: AccessMode,
    authentication: AuthenticationMode,
}

impl Reader {
    fn new(sim: &Running) -> Reader {
        let config = config(sim, vec![structure("crt/auth", "crt/sign")]);
        // Reading the DMP back is a consultation: a professional authenticated strongly.
        Reader {
            client: DmpClient::from_config(&config).expect("client"),
            record: example(),
            mode: AccessMode::Normal,
            authentication: AuthenticationMode::IndirectReinforced,
        }
    }

    async fn with_acting<T>(
        &self,
        call: impl AsyncFnOnce(&DmpClient, &crt_dmp::identity::StructureIdentity, &Acting<'_>) -> T,
    ) -> T {
        let identity = self
            .client
            .identity(&self.record.crt.id_nat_struct())
            .expect("identity");
        let professional = self.record.professional("pro-med-crt").expect("author");
        let ins = self.record.beneficiary.ins.clone().expect("INS");
        let acting = Acting {
            subject: Subject::User {
                professional,
                authentication: None,
            },
            sector: "SA17^1.2.250.1.71.4.2.4",
            ins: &ins,
            mode: self.mode,
            authentication: self.authentication,
        };
        call(&self.client, &identity, &acting).await
    }

    /// (unique id, status) of every document entry of the beneficiary.
    async fn entries(&self) -> Vec<(String, String)> {
        self.found()
            .await
            .into_iter()
            .map(|found| {
                assert_eq!(found.repository, REPOSITORY);
                (found.unique_id, found.status)
            })
            .collect()
    }

    /// Every approved entry as ITI-18 describes it.
    async fn found(&self) -> Vec<crt_dmp::answer::Found> {
        self.try_found().await.expect("ITI-18")
    }

    async fn try_found(&self) -> Result<Vec<crt_dmp::answer::Found>, String> {
        self.with_acting(async |client, identity, acting| {
            client
                .find(identity, acting)
                .await
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// The approved entry of `unique_id`.
    async fn entry(&self, unique_id: &str) -> Option<crt_dmp::answer::Found> {
        self.found()
            .await
            .into_iter()
            .find(|f| f.unique_id == unique_id)
    }

    async fn retrieve(&self, unique_id: &str) -> Result<Vec<u8>, String> {
        self.with_acting(async |client, identity, acting| {
            client
                .retrieve(identity, acting, REPOSITORY, &[unique_id])
                .await
                .map_err(|e| e.to_string())
                .map(|mut documents| documents.remove(0).2)
        })
        .await
    }
}

#[tokio::test]
async fn a_dlu_goes_in_signed_and_comes_back_byte_for_byte() {
    let sim = simulator().await;
    let receipt = sink(&sim)
        .deliver(&task(example(), DocumentKind::Dlu))
        .await
        .expect("delivered");
    assert_eq!(receipt.outcome, Outcome::Delivered);
    assert!(receipt.summary.contains("DLU-DOM"), "{}", receipt.summary);
    let unique_id = detail(&receipt, "unique_id").to_string();
    assert_eq!(receipt.remote_id.as_deref(), Some(unique_id.as_str()));
    let signature = artifact(&receipt, "submission-signature.xml");
    assert!(signature.starts_with(b"<?xml"));

    let reader = Reader::new(&sim);
    let entries = reader.entries().await;
    assert_eq!(entries.len(), 2, "the DLU and the submission-set signature");
    assert!(entries.contains(&(unique_id.clone(), APPROVED.to_string())));
    let back = reader.retrieve(&unique_id).await.expect("ITI-43");
    assert_eq!(back, artifact(&receipt, "dlu.xml"));
    sim.task.abort();
}

#[tokio::test]
async fn a_repeated_attempt_is_recognised_and_stored_once() {
    let sim = simulator().await;
    let sink = sink(&sim);
    let mut task = task(example(), DocumentKind::Dlu);
    let first = sink.deliver(&task).await.expect("first attempt");
    task.attempt = 2;
    let second = sink.deliver(&task).await.expect("second attempt");
    assert_eq!(second.outcome, Outcome::Delivered);
    assert_eq!(
        detail(&first, "unique_id"),
        detail(&second, "unique_id"),
        "the same document"
    );
    let warnings = second.details["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .all(|w| w["code"] == "XDSDocumentUniqueIdError"),
        "{warnings:?}"
    );
    assert_eq!(Reader::new(&sim).entries().await.len(), 2);
    sim.task.abort();
}

#[tokio::test]
async fn a_new_plan_version_replaces_the_previous_one() {
    let sim = simulator().await;
    let sink = sink(&sim);
    let mut record = example();
    let plan = record.plan.as_mut().expect("plan");
    plan.version = 1;
    let first = sink
        .deliver(&task(record.clone(), DocumentKind::Plan))
        .await
        .expect("version 1");
    assert_eq!(first.details["replaces"], serde_json::Value::Null);

    record.plan.as_mut().expect("plan").version = 2;
    let second = sink
        .deliver(&task(record, DocumentKind::Plan))
        .await
        .expect("version 2");
    assert_eq!(detail(&second, "replaces"), detail(&first, "unique_id"));
    assert_eq!(second.details["replaced_version_unknown_to_dmp"], false);

    // FindDocuments asks for approved entries: the replaced version is deprecated.
    let approved: Vec<String> = Reader::new(&sim)
        .entries()
        .await
        .into_iter()
        .map(|(unique_id, _)| unique_id)
        .collect();
    assert!(!approved.iter().any(|id| id == detail(&first, "unique_id")));
    assert!(approved.iter().any(|id| id == detail(&second, "unique_id")));
    sim.task.abort();
}

#[tokio::test]
async fn a_version_whose_predecessor_the_dmp_lacks_goes_in_as_new() {
    let sim = simulator().await;
    let receipt = sink(&sim)
        .deliver(&task(example(), DocumentKind::Plan))
        .await
        .expect("delivered");
    assert_eq!(receipt.details["version"], 2);
    assert_eq!(receipt.details["replaces"], serde_json::Value::Null);
    assert_eq!(receipt.details["replaced_version_unknown_to_dmp"], true);
    sim.task.abort();
}

fn refused(result: Result<Receipt, DeliveryError>) -> DeliveryError {
    match result {
        Ok(receipt) => panic!("accepted: {}", receipt.summary),
        Err(error) => error,
    }
}

#[tokio::test]
async fn opposition_and_unqualified_identities_send_nothing() {
    let sim = simulator().await;
    let sink = sink(&sim);
    let mut opposed = example();
    opposed.consents.dmp_feeding = serde_json::from_value(serde_json::json!({
        "decision": "opposed",
        "recorded_at": "2026-01-16T11:00:00+01:00",
        "recorded_by": "pro-ide-coord"
    }))
    .expect("consent");
    let receipt = sink
        .deliver(&task(opposed, DocumentKind::Dlu))
        .await
        .expect("declined");
    assert_eq!(receipt.outcome, Outcome::Declined);

    let mut provisional = example();
    provisional.beneficiary.identity_status = crt_core::record::IdentityStatus::Provisional;
    let error = refused(sink.deliver(&task(provisional, DocumentKind::Dlu)).await);
    assert_eq!(error.code, "identity-not-qualified");
    assert_eq!(error.class, ErrorClass::Final);
    assert!(Reader::new(&sim).entries().await.is_empty());
    sim.task.abort();
}

/// A valid NIR key for a 13-character body (Corsican departments excluded).
fn with_key(body: &str) -> String {
    let number: u64 = body.parse().expect("digits");
    format!("{body}{:02}", 97 - number % 97)
}

#[tokio::test]
async fn a_patient_without_a_dmp_is_held_after_td02_and_nothing_is_submitted() {
    let sim = simulator().await;
    let mut record = example();
    record.beneficiary.ins.as_mut().expect("INS").number = with_key("2380472181046");
    let error = refused(sink(&sim).deliver(&task(record, DocumentKind::Dlu)).await);
    assert_eq!(error.code, "dmp-absent");
    assert_eq!(error.class, ErrorClass::Held);
    assert!(Reader::new(&sim).entries().await.is_empty());
    sim.task.abort();
}

#[tokio::test]
async fn a_structure_without_certificates_is_a_final_error_naming_it() {
    let sim = simulator().await;
    let mut record = example();
    record.crt.finess_et = "720000033".into();
    let error = refused(sink(&sim).deliver(&task(record, DocumentKind::Dlu)).await);
    assert_eq!(error.code, "structure-certificate");
    assert!(error.message.contains("1720000033"), "{}", error.message);
    sim.task.abort();
}

#[tokio::test]
async fn certificates_the_dmp_does_not_trust_are_refused() {
    let sim = simulator().await;
    // TLS client certificate from another CA: the handshake fails.
    let other_tls = sink_with(&config(
        &sim,
        vec![structure("invalid/other-client", "crt/sign")],
    ));
    refused(other_tls.deliver(&task(example(), DocumentKind::Dlu)).await);
    // Revoked TLS client certificate.
    let revoked = sink_with(&config(
        &sim,
        vec![structure("invalid/revoked", "crt/sign")],
    ));
    refused(revoked.deliver(&task(example(), DocumentKind::Dlu)).await);
    // VIHF and submission signed with a certificate of another CA.
    let other_signer = sink_with(&config(
        &sim,
        vec![structure("crt/auth", "invalid/other-client")],
    ));
    let error = refused(
        other_signer
            .deliver(&task(example(), DocumentKind::Dlu))
            .await,
    );
    assert!(error.message.contains("VIHF"), "{}", error.message);
    assert_eq!(error.class, ErrorClass::Final);
    assert!(Reader::new(&sim).entries().await.is_empty());
    sim.task.abort();
}

#[test]
fn certificates_of_two_structures_in_one_entry_are_a_setup_error() {
    tls::install_default_provider();
    let config = DmpConfig {
        endpoint: Some("https://localhost:1".into()),
        trust: Some(pki().join("ca/chain.pem")),
        structures: vec![
            structure("crt/auth", "crt/sign"),
            structure("crt/insi-auto", "crt/sign"),
        ],
        ..DmpConfig::default()
    };
    let error = DmpClient::from_config(&config).err().expect("duplicate");
    assert!(error.to_string().contains("1720004563"), "{error}");
}

/// An HTTPS client with the example structure's TLS certificate, for raw requests.
fn structure_client() -> HttpsClient {
    let identity = tls::IdentityFiles {
        certificate: pki().join("crt/auth.pem"),
        key: pki().join("crt/auth.key.pem"),
    };
    HttpsClient::new(
        tls::client_config(&pki().join("ca/chain.pem"), Some(&identity)).expect("TLS"),
        std::time::Duration::from_secs(10),
        1 << 20,
    )
}

/// Posts a recorded request again after `tamper` changed it.
async fn replay_tampered(
    sim: &Running,
    receipt: &Receipt,
    tamper: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let request = receipt
        .artifacts
        .iter()
        .find(|a| a.name == "iti41-request.mime")
        .expect("request");
    let mut body = request.content.clone();
    tamper(&mut body);
    let answer = structure_client()
        .post(
            &sim.url("/repository"),
            &[("content-type", &request.media_type)],
            Bytes::from(body),
        )
        .await
        .expect("answer");
    answer.body.to_vec()
}

fn replace_after(body: &mut [u8], anchor: &[u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len(), "same length keeps the MIME framing");
    let start = find(body, anchor, 0).expect("anchor");
    let at = find(body, from, start).expect("text to change");
    body[at..at + from.len()].copy_from_slice(to);
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[tokio::test]
async fn tampered_submissions_are_refused() {
    let sim = simulator().await;
    let mut record = example();
    record.dlu.as_mut().expect("dlu").version = 1;
    let receipt = sink(&sim)
        .deliver(&task(record, DocumentKind::Dlu))
        .await
        .expect("delivered");
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();

    // A document changed after its hash was computed.
    let answer = text(
        replay_tampered(&sim, &receipt, |body| {
            replace_after(body, b"<ClinicalDocument", b"Tilleuls", b"Tilleulz")
        })
        .await,
    );
    assert!(answer.contains("Failure"), "{answer}");
    // A VIHF attribute changed after signing.
    let answer = text(
        replay_tampered(&sim, &receipt, |body| {
            replace_after(body, b"<saml2:Assertion", b"INDIRECTE", b"DIRECTE__")
        })
        .await,
    );
    assert!(answer.contains("sim_vihf_signature"), "{answer}");
    // Metadata changed after the submission-set signature: the registry holds hashes
    // of what it stores, so a changed hash no longer matches the document.
    let answer = text(
        replay_tampered(&sim, &receipt, |body| {
            let start = find(body, b"name=\"hash\"", 0).expect("hash slot");
            let digit = find(body, b"<rim:Value>", start).expect("value") + 11;
            body[digit] = if body[digit] == b'0' { b'1' } else { b'0' };
        })
        .await,
    );
    assert!(answer.contains("Failure"), "{answer}");
    // The real request, untouched, is the same document again: accepted with a warning.
    let answer = text(replay_tampered(&sim, &receipt, |_| {}).await);
    assert!(answer.contains("PartialSuccess"), "{answer}");
    sim.task.abort();
}

fn mhd_sink(sim: &Running) -> DmpSink {
    sink_with(&DmpConfig {
        transport: crt_dmp::config::Transport::Mhd,
        ..config(sim, vec![structure("crt/auth", "crt/sign")])
    })
}

#[tokio::test]
async fn an_mhd_bundle_is_stored_like_an_iti41_submission() {
    let sim = simulator().await;
    let sink = mhd_sink(&sim);
    let mut task = task(example(), DocumentKind::Dlu);
    let receipt = sink.deliver(&task).await.expect("delivered");
    assert_eq!(receipt.outcome, Outcome::Delivered);
    let bundle: serde_json::Value =
        serde_json::from_slice(artifact(&receipt, "iti65-request.json")).expect("JSON");
    assert_eq!(bundle["type"], "transaction");
    assert_eq!(bundle["entry"].as_array().map(Vec::len), Some(3));
    let unique_id = detail(&receipt, "unique_id").to_string();
    let reader = Reader::new(&sim);
    assert!(
        reader
            .entries()
            .await
            .contains(&(unique_id.clone(), APPROVED.to_string()))
    );
    assert_eq!(
        reader.retrieve(&unique_id).await.expect("ITI-43"),
        artifact(&receipt, "dlu.xml")
    );

    task.attempt = 2;
    let again = sink.deliver(&task).await.expect("second attempt");
    assert_eq!(
        again.details["warnings"][0]["code"],
        "XDSDocumentUniqueIdError"
    );

    let mut unknown = example();
    unknown.beneficiary.ins.as_mut().expect("INS").number = with_key("2380472181046");
    let error = refused(sink.deliver(&self::task(unknown, DocumentKind::Dlu)).await);
    assert_eq!(error.code, "XDSUnknownPatientId");
    sim.task.abort();
}

#[tokio::test]
async fn a_tampered_mhd_bundle_is_refused() {
    let sim = simulator().await;
    let receipt = mhd_sink(&sim)
        .deliver(&task(example(), DocumentKind::Plan))
        .await
        .expect("delivered");
    let request = artifact(&receipt, "iti65-request.json");
    let post = async |body: Vec<u8>| {
        structure_client()
            .post(
                &sim.url("/fhir"),
                &[("content-type", "application/fhir+json")],
                Bytes::from(body),
            )
            .await
            .expect("answer")
    };
    let mut bundle: serde_json::Value = serde_json::from_slice(request).expect("JSON");
    bundle["entry"][1]["resource"]["content"][0]["attachment"]["hash"] =
        serde_json::Value::from("AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let answer = post(serde_json::to_vec(&bundle).unwrap()).await;
    assert_eq!(answer.status.as_u16(), 400);
    assert!(String::from_utf8_lossy(&answer.body).contains("hash is not the SHA-1"));

    let mut bundle: serde_json::Value = serde_json::from_slice(request).expect("JSON");
    bundle["type"] = serde_json::Value::from("batch");
    bundle["entry"][1]["resource"]["type"]["coding"][0]["code"] =
        serde_json::Value::from("99999-9");
    let answer = post(serde_json::to_vec(&bundle).unwrap()).await;
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    assert!(
        text.contains("type transaction") && text.contains("typeCode"),
        "{text}"
    );

    let answer = post(b"{\"resourceType\": \"Bundle\", \"entry\": [".to_vec()).await;
    assert_eq!(answer.status.as_u16(), 400);
    sim.task.abort();
}

#[tokio::test]
async fn masking_and_unmasking_update_the_metadata_the_dmp_holds() {
    let sim = simulator().await;
    let sink = sink(&sim);
    let reader = Reader::new(&sim);
    let sent = sink
        .deliver(&task(example(), DocumentKind::Dlu))
        .await
        .expect("delivered");
    let unique_id = detail(&sent, "unique_id").to_string();
    let before = reader.entry(&unique_id).await.expect("in the DMP");
    assert_eq!(before.confidentiality, ["N"]);

    let mut masked = example();
    masked.consents.dmp_masking = vec![DmpMasking::HiddenFromProfessionals];
    let update = update_task(masked.clone(), DocumentKind::Dlu, DmpChange::Visibility);
    let receipt = sink.deliver(&update).await.expect("ITI-57");
    assert_eq!(receipt.outcome, Outcome::Delivered, "{}", receipt.summary);
    assert_eq!(receipt.details["changed"], true);
    let request = String::from_utf8_lossy(artifact(&receipt, "iti57-request.xml")).to_string();
    assert!(
        request.contains("urn:ihe:iti:2010:UpdateDocumentSet"),
        "{request}"
    );
    assert!(request.contains("PreviousVersion"), "{request}");
    let after = reader.entry(&unique_id).await.expect("still in the DMP");
    assert_eq!(after.logical_id, before.logical_id, "the same document");
    assert_ne!(
        after.entry_uuid, before.entry_uuid,
        "new metadata, new entry"
    );
    assert_eq!(after.version, "2");
    assert_eq!(after.hash, before.hash);
    assert!(after.confidentiality.contains(&"MASQUE_PS".to_string()));
    assert!(after.confidentiality.contains(&"N".to_string()));

    // Asked again, the DMP already says so: nothing is sent.
    let again = sink.deliver(&update).await.expect("repeated");
    assert_eq!(again.details["changed"], false);
    assert!(again.artifacts.is_empty());

    let unmask = update_task(example(), DocumentKind::Dlu, DmpChange::Visibility);
    let receipt = sink.deliver(&unmask).await.expect("unmasked");
    assert_eq!(receipt.details["changed"], true);
    let last = reader.entry(&unique_id).await.expect("still in the DMP");
    assert_eq!(last.confidentiality, ["N"]);
    assert_eq!(last.version, "3");
    sim.task.abort();
}

#[tokio::test]
async fn a_new_version_replaces_the_entry_the_dmp_holds_after_a_metadata_update() {
    let sim = simulator().await;
    let sink = sink(&sim);
    let reader = Reader::new(&sim);
    let mut record = example();
    record.plan.as_mut().expect("plan").version = 1;
    let first = sink
        .deliver(&task(record.clone(), DocumentKind::Plan))
        .await
        .expect("version 1");
    record.consents.dmp_masking = vec![DmpMasking::HiddenFromProfessionals];
    sink.deliver(&update_task(
        record.clone(),
        DocumentKind::Plan,
        DmpChange::Visibility,
    ))
    .await
    .expect("masked");
    let current = reader
        .entry(detail(&first, "unique_id"))
        .await
        .expect("version 1 in the DMP");
    assert_ne!(current.entry_uuid, detail(&first, "entry_uuid"));

    record.plan.as_mut().expect("plan").version = 2;
    let second = sink
        .deliver(&task(record, DocumentKind::Plan))
        .await
        .expect("version 2");
    assert_eq!(second.details["replaced_version_unknown_to_dmp"], false);
    let request = String::from_utf8_lossy(artifact(&second, "iti41-request.mime")).to_string();
    assert!(
        request.contains(&current.entry_uuid),
        "RPLC targets the entry the DMP holds now"
    );
    let plans: Vec<_> = reader
        .found()
        .await
        .into_iter()
        .filter(|f| f.type_code == current.type_code)
        .map(|f| f.unique_id)
        .collect();
    assert_eq!(plans, [detail(&second, "unique_id")], "one approved plan");
    sim.task.abort();
}

#[tokio::test]
async fn an_opposition_after_submission_archives_the_document() {
    let sim = simulator().await;
    let sink = sink(&sim);
    let sent = sink
        .deliver(&task(example(), DocumentKind::Dlu))
        .await
        .expect("delivered");
    let archive = update_task(example(), DocumentKind::Dlu, DmpChange::Archive);
    let receipt = sink.deliver(&archive).await.expect("archived");
    assert_eq!(receipt.details["changed"], true, "{}", receipt.summary);
    let request = String::from_utf8_lossy(artifact(&receipt, "iti57-request.xml")).to_string();
    assert!(request.contains("UpdateAvailabilityStatus"), "{request}");
    let reader = Reader::new(&sim);
    assert!(reader.entry(detail(&sent, "unique_id")).await.is_none());
    // A repeated attempt finds nothing left to archive.
    let again = sink.deliver(&archive).await.expect("repeated");
    assert_eq!(again.outcome, Outcome::Delivered);
    assert_eq!(again.details["changed"], false);
    sim.task.abort();
}

#[tokio::test]
async fn updating_a_document_the_dmp_does_not_hold_is_declined() {
    let sim = simulator().await;
    let receipt = sink(&sim)
        .deliver(&update_task(
            example(),
            DocumentKind::Dlu,
            DmpChange::Visibility,
        ))
        .await
        .expect("answered");
    assert_eq!(receipt.outcome, Outcome::Declined);
    assert_eq!(receipt.details["reason"], "not-in-dmp");
    sim.task.abort();
}

#[tokio::test]
async fn a_record_no_one_sent_goes_in_as_an_automated_processing() {
    let sim = simulator().await;
    let mut record = example();
    record.source.authentication = Some(crt_core::record::SourceAuthentication::Automated);
    let receipt = sink(&sim)
        .deliver(&task(record, DocumentKind::Dlu))
        .await
        .expect("delivered");
    let request = String::from_utf8_lossy(artifact(&receipt, "iti41-request.mime")).to_string();
    assert!(request.contains(r#"code="AUTOMATE""#), "the role");
    assert!(request.contains("crt-gateway, DLU-DOM"), "the subject-id");
    assert!(
        request.contains("urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"),
        "no local authentication"
    );
    assert!(request.contains("<saml2:NameID"), "the person responsible");
    sim.task.abort();
}

#[tokio::test]
async fn consulting_needs_a_strongly_authenticated_professional_and_emergencies_leave_masked_documents_closed()
 {
    let sim = simulator().await;
    let mut masked = example();
    masked.consents.dmp_masking = vec![DmpMasking::HiddenFromProfessionals];
    let sent = sink(&sim)
        .deliver(&task(masked, DocumentKind::Dlu))
        .await
        .expect("delivered");
    let unique_id = detail(&sent, "unique_id").to_string();
    let reader = Reader::new(&sim);
    let entry = reader
        .entry(&unique_id)
        .await
        .expect("its author's structure sees it");
    assert!(entry.confidentiality.contains(&"MASQUE_PS".to_string()));

    // Bris de glace, and a regulation centre, do not open a masked document.
    for mode in [AccessMode::BreakGlass, AccessMode::Regulation] {
        let emergency = Reader {
            mode,
            ..Reader::new(&sim)
        };
        assert!(emergency.entry(&unique_id).await.is_none(), "{mode:?}");
        assert!(emergency.retrieve(&unique_id).await.is_err(), "{mode:?}");
    }

    // On the structure's word alone (INDIRECTE), no document is opened.
    let indirect = Reader {
        authentication: AuthenticationMode::Indirect,
        ..Reader::new(&sim)
    };
    let refused = indirect.retrieve(&unique_id).await.expect_err("refused");
    assert!(
        refused.contains("sim_consultation_needs_reinforced_authentication"),
        "{refused}"
    );
    // Nor does an emergency on the structure's word alone.
    let indirect_emergency = Reader {
        authentication: AuthenticationMode::Indirect,
        mode: AccessMode::BreakGlass,
        ..Reader::new(&sim)
    };
    assert!(indirect_emergency.try_found().await.is_err());
    sim.task.abort();
}
