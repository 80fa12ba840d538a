//! The `dmp` sink: renders the document a record asks for, and feeds the beneficiary's DMP
//! with it (ITI-41), unless the beneficiary opposed it.

use chrono::Utc;
use crt_core::http::HttpAnswer;
use crt_core::identity::qualified_identity;
use crt_core::record::{Action, DocumentKind};
use crt_core::sink::{
    Artifact, Attempt, BoxFuture, DeliveryError, DeliveryTask, DmpChange, Health, Receipt,
    RetryPolicy, Sink, Work,
};
use crt_documents::cda::{RenderedDocument, derived_oid};
use crt_documents::metadata::{
    ARCHIVED, Coded, Entry, MetadataUpdate, StatusUpdate, Submission, entry_uuid, scheme, sha1_hex,
    xds_time,
};
use crt_documents::{CdaModel, DocumentSet, RenderContext, render};
use serde_json::json;
use uuid::Uuid;

use crate::answer::{DmpStatus, Found, Outcome};
use crate::client::{Acting, DmpClient};
use crate::config::{DmpConfig, Transport};
use crate::encode::{self, Attachment};
use crate::identity::StructureIdentity;
use crate::mhd;
use crate::vihf::Subject;
use crate::xades;

pub const TARGET: &str = "dmp";

/// The first attempt of sending a record's `document` to the DMP.
pub fn document_task(
    record: std::sync::Arc<crt_core::CrtRecord>,
    document: DocumentKind,
) -> DeliveryTask {
    DeliveryTask::document(record, document, crt_core::record::Channel::Dmp)
}

pub struct DmpSink {
    client: DmpClient,
    config: DmpConfig,
}

impl DmpSink {
    pub fn new(client: DmpClient, config: &DmpConfig) -> Self {
        DmpSink {
            client,
            config: config.clone(),
        }
    }

    pub fn client(&self) -> &DmpClient {
        &self.client
    }

    /// The document `task` is about, and who acts on it.
    fn prepare(&self, task: &DeliveryTask, kind: DocumentKind) -> Result<Prepared, DeliveryError> {
        let record = &task.record;
        let qualified = qualified_identity(task).ok_or_else(|| {
            DeliveryError::final_error(
                "identity-not-qualified",
                "no qualified INS for this beneficiary: the DMP is fed with a qualified INS only",
            )
        })?;
        let identity = self
            .client
            .identity(&record.crt.id_nat_struct())
            .map_err(|e| e.into_delivery_error())?;
        let model = CdaModel::for_record(kind, record.beneficiary.placement);
        let context = RenderContext::for_record(record, identity.oid_root.as_deref());
        let document = render(record, model, &qualified, &context)
            .map_err(|e| DeliveryError::final_error("render", e.to_string()))?;
        let sector = format!(
            "{}^{}",
            document.facility_type.code, document.facility_type.system
        );
        Ok(Prepared {
            ins: qualified.ins,
            identity,
            context,
            document,
            sector,
        })
    }

    /// The ITI-41 request this sink would send for `task`, built but not sent: what
    /// `dmp envelope` shows.
    pub fn envelope(
        &self,
        task: &DeliveryTask,
        kind: DocumentKind,
    ) -> Result<Option<(RenderedDocument, Built)>, DeliveryError> {
        if opposed(&task.record) {
            return Ok(None);
        }
        let prepared = self.prepare(task, kind)?;
        let entry = Entry::for_document(&prepared.document, &task.record.consents.dmp_masking);
        let built = prepared
            .submit(task)
            .build(&self.client, &self.config, entry)?;
        Ok(Some((prepared.document, built)))
    }

    async fn send(
        &self,
        task: &DeliveryTask,
        kind: DocumentKind,
    ) -> Result<Receipt, DeliveryError> {
        let record = &task.record;
        if opposed(record) {
            return Ok(Receipt::declined(
                "not sent: the beneficiary opposed feeding the DMP (consents.dmp_feeding)",
            )
            .with_details(json!({ "reason": "opposition" })));
        }
        let prepared = self.prepare(task, kind)?;
        let submit = prepared.submit(task);
        let document = &prepared.document;
        let model = document.model;
        let mut entry = Entry::for_document(document, &record.consents.dmp_masking);
        let mut replaced_unknown = false;
        if self.config.transport != Transport::Mhd {
            submit.check_dmp_status(&self.client).await?;
            // TD3.1b: a new version replaces the entry the DMP holds for the set, whatever
            // id the DMP gave it since (a metadata update gives the entry a new one).
            if entry.replaces.is_some() {
                match submit.current_in_dmp(&self.client, kind).await? {
                    Some((version, _)) if version == document.version => {}
                    Some((_, current)) => entry.replaces = Some(current.entry_uuid),
                    None => {
                        entry.replaces = None;
                        replaced_unknown = true;
                    }
                }
            }
        }
        let (sent, outcome) = match submit
            .send(&self.client, &self.config, entry.clone())
            .await?
        {
            (sent, Ok(outcome)) => (sent, outcome),
            // The DMP does not hold the version this one replaces (never sent, or removed
            // by the patient): this version then goes in as a new document.
            (_, Err(error)) if error.code == UNRESOLVED_REFERENCE && entry.replaces.is_some() => {
                replaced_unknown = true;
                let entry = Entry {
                    replaces: None,
                    ..entry.clone()
                };
                match submit.send(&self.client, &self.config, entry).await? {
                    (sent, Ok(outcome)) => (sent, outcome),
                    (_, Err(error)) => return Err(error),
                }
            }
            (_, Err(error)) => return Err(error),
        };
        let names = match self.config.transport {
            Transport::Xds => ("iti41-request.mime", "iti41-response.xml"),
            Transport::Mhd => ("iti65-request.json", "iti65-response.json"),
        };
        let warnings: Vec<_> = outcome
            .errors
            .iter()
            .map(|e| json!({ "code": e.code, "context": e.context }))
            .collect();
        let name = match model {
            CdaModel::DluEhpad | CdaModel::DluDom => "dlu.xml",
            CdaModel::Plan => "plan.xml",
        };
        let mut receipt = Receipt::delivered(format!(
            "{} stored in the DMP (version {})",
            model.name(),
            document.version
        ))
        .with_remote_id(entry.unique_id.clone())
        .with_details(json!({
            "unique_id": entry.unique_id,
            "entry_uuid": entry.entry_uuid,
            "set_id": document.set_id.xds(),
            "version": document.version,
            "replaces": if replaced_unknown { None } else { document.replaces.as_ref().map(|r| r.xds()) },
            "replaced_version_unknown_to_dmp": replaced_unknown,
            "submission_set": sent.built.submission_set,
            "warnings": warnings,
        }))
        .with_artifact(Artifact {
            name: name.into(),
            media_type: "text/xml".into(),
            content: document.xml.clone(),
        })
        .with_artifact(Artifact {
            name: names.0.into(),
            media_type: sent.built.request.content_type.clone(),
            content: sent.built.request.body,
        })
        .with_artifact(Artifact {
            name: names.1.into(),
            media_type: sent
                .answer
                .content_type
                .unwrap_or_else(|| "application/soap+xml".into()),
            content: sent.answer.body.to_vec(),
        });
        if let Some(bytes) = sent.built.signature {
            receipt = receipt.with_artifact(Artifact {
                name: "submission-signature.xml".into(),
                media_type: "text/xml".into(),
                content: bytes,
            });
        }
        Ok(receipt)
    }
}

impl DmpSink {
    /// ITI-57 (TD3.3) for a document the DMP already holds: new metadata carrying the
    /// record's masking, or its archiving after an opposition. The DMP is asked each time
    /// what it holds, so a repeated attempt finds the change made and ends there.
    async fn update(
        &self,
        task: &DeliveryTask,
        kind: DocumentKind,
        change: DmpChange,
    ) -> Result<Receipt, DeliveryError> {
        if self.config.transport == Transport::Mhd {
            return Err(DeliveryError::final_error(
                "unsupported-transport",
                "DMP metadata updates travel as ITI-57 (SOAP); the mhd transport has none",
            ));
        }
        let record = &task.record;
        let prepared = self.prepare(task, kind)?;
        let submit = prepared.submit(task);
        let document = &prepared.document;
        let Some((version, current)) = submit.current_in_dmp(&self.client, kind).await? else {
            // Archiving what is no longer approved is done already (a repeated attempt
            // whose answer was lost ends here).
            if change == DmpChange::Archive {
                return Ok(Receipt::delivered(
                    "nothing to archive: the DMP holds no approved version of this document",
                )
                .with_details(json!({ "change": "archive", "changed": false })));
            }
            return Ok(Receipt::declined(
                "nothing to update: the DMP holds no approved version of this document",
            )
            .with_details(json!({ "reason": "not-in-dmp" })));
        };
        let base = Entry::for_document(document, &record.consents.dmp_masking);
        let mut submission = Submission::new(
            task.delivery_id,
            &prepared.context.oid_root,
            Utc::now(),
            document,
            Vec::new(),
        );
        submission.patient_id = base.patient_id.clone();
        let summary = match change {
            DmpChange::Visibility => {
                let wanted: Vec<String> = base
                    .confidentiality
                    .iter()
                    .map(|c| c.code.clone())
                    .collect();
                if same_codes(&wanted, &current.confidentiality) {
                    return Ok(Receipt::delivered(
                        "the document in the DMP already has the visibility the consents ask",
                    )
                    .with_remote_id(current.unique_id.clone())
                    .with_details(json!({
                        "unique_id": current.unique_id,
                        "change": "visibility",
                        "changed": false,
                        "confidentiality": wanted,
                    })));
                }
                if version != document.version {
                    return Ok(Receipt::declined(format!(
                        "not updated: the DMP holds version {version} of this document and the record version {}, which carries the masking when it is sent",
                        document.version
                    ))
                    .with_details(json!({ "reason": "version-not-in-dmp", "dmp_version": version })));
                }
                // The new metadata describes the stored document: its hash and size stay.
                let size = current.size.parse().unwrap_or(base.size);
                submission.entries.push(Entry {
                    entry_uuid: format!("urn:uuid:{}", Uuid::now_v7()),
                    hash_sha1: current.hash.clone(),
                    size,
                    replaces: None,
                    update_of: Some(MetadataUpdate {
                        logical_id: current.logical_id.clone(),
                        previous_version: current.version.clone(),
                    }),
                    ..base
                });
                "visibility updated in the DMP"
            }
            DmpChange::Archive => {
                submission.status_updates.push(StatusUpdate {
                    entry_uuid: current.entry_uuid.clone(),
                    original: scheme::APPROVED.to_string(),
                    new: ARCHIVED.to_string(),
                });
                "archived in the DMP after the beneficiary's opposition"
            }
        };
        refuse_codes_outside_value_sets(&submission)?;
        let vihf = self
            .client
            .vihf(&prepared.identity, &submit.acting)
            .map_err(|e| DeliveryError::final_error("vihf", e.to_string()))?;
        let request = encode::update_document_set(
            &submission,
            &vihf,
            &self.client.registry_url(),
            Uuid::now_v7(),
        );
        let (outcome, answer) = self
            .client
            .update_document_set(&prepared.identity, &request)
            .await
            .map_err(|e| e.into_delivery_error())?;
        outcome.into_result()?;
        Ok(Receipt::delivered(format!("version {version} {summary}"))
            .with_remote_id(current.unique_id.clone())
            .with_details(json!({
                "unique_id": current.unique_id,
                "change": match change {
                    DmpChange::Visibility => "visibility",
                    DmpChange::Archive => "archive",
                },
                "changed": true,
                "previous_entry_uuid": current.entry_uuid,
                "entry_uuid": submission.entries.first().map(|e| e.entry_uuid.clone()),
                "confidentiality": submission.entries.first().map(|e| e.confidentiality.iter().map(|c| c.code.clone()).collect::<Vec<_>>()),
                "submission_set": submission.unique_id,
            }))
            .with_artifact(Artifact {
                name: "iti57-request.xml".into(),
                media_type: request.content_type,
                content: request.body,
            })
            .with_artifact(Artifact {
                name: "iti57-response.xml".into(),
                media_type: answer
                    .content_type
                    .unwrap_or_else(|| "application/soap+xml".into()),
                content: answer.body.to_vec(),
            }))
    }
}

/// Whether the beneficiary opposed feeding the DMP.
fn opposed(record: &crt_core::CrtRecord) -> bool {
    record
        .consents
        .dmp_feeding
        .as_ref()
        .is_some_and(|c| c.is_opposed())
}

/// The same confidentiality codes, in any order.
fn same_codes(a: &[String], b: &[String]) -> bool {
    let set = |codes: &[String]| {
        codes
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    set(a) == set(b)
}

/// What a submission is made of, once rendered.
struct Prepared {
    ins: crt_core::record::Ins,
    identity: std::sync::Arc<StructureIdentity>,
    context: RenderContext,
    document: RenderedDocument,
    /// `Secteur_Activite` of the VIHF: the document's facility type.
    sector: String,
}

impl Prepared {
    fn submit<'a>(&'a self, task: &'a DeliveryTask) -> Submit<'a> {
        Submit {
            task,
            identity: &self.identity,
            acting: Acting::feeding(
                Subject::for_source(
                    &self.document.author,
                    task.record.source.authentication,
                    self.document.model.name(),
                ),
                &self.sector,
                &self.ins,
            ),
            document: &self.document,
            context: &self.context,
        }
    }
}

/// The DMP's error for an association whose target it does not hold.
const UNRESOLVED_REFERENCE: &str = "UnresolvedReferenceException";

/// One ITI-41 exchange for a rendered document.
struct Submit<'a> {
    task: &'a DeliveryTask,
    identity: &'a StructureIdentity,
    acting: Acting<'a>,
    document: &'a RenderedDocument,
    context: &'a RenderContext,
}

/// An ITI-41 request, ready to send.
pub struct Built {
    pub submission_set: String,
    pub request: encode::Request,
    /// The submission-set signature document, when configured.
    pub signature: Option<Vec<u8>>,
}

/// What was sent and answered.
struct Sent {
    built: Built,
    answer: HttpAnswer,
}

impl Submit<'_> {
    /// TD3.1b: the newest version of the document's set that the DMP holds approved, found
    /// by ITI-18 among the patient's documents by the unique id of each version.
    async fn current_in_dmp(
        &self,
        client: &DmpClient,
        kind: DocumentKind,
    ) -> Result<Option<(u32, Found)>, DeliveryError> {
        let set = DocumentSet::of(&self.task.record, kind)
            .map_err(|e| DeliveryError::final_error("render", e.to_string()))?;
        let found = client
            .find(self.identity, &self.acting)
            .await
            .map_err(|e| e.into_delivery_error())?;
        Ok(set
            .version_ids(self.context)
            .into_iter()
            .find_map(|(version, id)| {
                let id = id.xds();
                found
                    .iter()
                    .find(|f| f.unique_id == id && f.status == scheme::APPROVED)
                    .map(|f| (version, f.clone()))
            }))
    }

    /// TD0.2 before feeding: a DMP that is closed, or that the patient does not have, holds
    /// the delivery with the reason; trying again cannot change it, a person can.
    async fn check_dmp_status(&self, client: &DmpClient) -> Result<(), DeliveryError> {
        match client
            .dmp_status(self.identity, &self.acting, &self.context.oid_root)
            .await
            .map_err(|e| e.into_delivery_error())?
        {
            DmpStatus::Open => Ok(()),
            DmpStatus::Closed { reason } => Err(DeliveryError::held(
                "dmp-closed",
                format!("the beneficiary's DMP is closed ({reason}); replay once it is open again"),
            )),
            DmpStatus::Absent => Err(DeliveryError::held(
                "dmp-absent",
                "the beneficiary has no DMP; replay once it exists",
            )),
        }
    }

    /// The request for `entry` (and the submission-set signature when configured).
    fn build(
        &self,
        client: &DmpClient,
        config: &DmpConfig,
        entry: Entry,
    ) -> Result<Built, DeliveryError> {
        let now = Utc::now();
        let document = self.document;
        if config.transport == Transport::Mhd {
            let submission = Submission::new(
                self.task.delivery_id,
                &self.context.oid_root,
                now,
                document,
                vec![entry.clone()],
            );
            refuse_codes_outside_value_sets(&submission)?;
            let bundle = mhd::provide_bundle(&submission, document, &entry, self.context);
            let body = serde_json::to_vec(&bundle)
                .map_err(|e| DeliveryError::final_error("mhd", e.to_string()))?;
            // What leaves is what fhir-sdk's R4B model reads.
            mhd::read_bundle(&body)
                .map_err(|e| DeliveryError::final_error("mhd", e.to_string()))?;
            return Ok(Built {
                submission_set: submission.unique_id,
                request: encode::Request {
                    content_type: "application/fhir+json".into(),
                    body,
                },
                signature: None,
            });
        }
        let mut entries = vec![entry.clone()];
        let mut signature = None;
        if config.sign_submission {
            let bytes = xades::sign_submission(
                &[(&entry.unique_id, &document.xml)],
                self.identity.signer(),
                planned_at(self.task),
            )
            .map_err(|e| DeliveryError::final_error("signature", e.to_string()))?;
            let signature_entry = signature_entry(document, &bytes, self.context, self.task);
            signature = Some((signature_entry.entry_uuid.clone(), bytes));
            entries.push(signature_entry);
        }
        let mut submission = Submission::new(
            self.task.delivery_id,
            &self.context.oid_root,
            now,
            document,
            entries,
        );
        submission.signature = signature.as_ref().map(|(uuid, _)| uuid.clone());
        refuse_codes_outside_value_sets(&submission)?;
        let mut attachments = vec![Attachment {
            entry_uuid: &entry.entry_uuid,
            mime_type: "text/xml",
            bytes: &document.xml,
        }];
        if let Some((uuid, bytes)) = &signature {
            attachments.push(Attachment {
                entry_uuid: uuid,
                mime_type: "text/xml",
                bytes,
            });
        }
        let vihf = client
            .vihf(self.identity, &self.acting)
            .map_err(|e| DeliveryError::final_error("vihf", e.to_string()))?;
        // A new WS-Addressing MessageID for each attempt: a message is one attempt; the
        // documents' ids are what stays the same across attempts.
        let request = encode::provide_and_register(
            &submission,
            &attachments,
            &vihf,
            &client.repository_url(),
            Uuid::now_v7(),
        );
        Ok(Built {
            submission_set: submission.unique_id.clone(),
            request,
            signature: signature.map(|(_, bytes)| bytes),
        })
    }

    /// Sends `entry`. The outer error is a failure to exchange; the inner one, the DMP's
    /// refusal.
    async fn send(
        &self,
        client: &DmpClient,
        config: &DmpConfig,
        entry: Entry,
    ) -> Result<(Sent, Result<Outcome, DeliveryError>), DeliveryError> {
        let built = self.build(client, config, entry)?;
        let exchange = match config.transport {
            Transport::Xds => {
                client
                    .provide_and_register(self.identity, &built.request)
                    .await
            }
            Transport::Mhd => client.provide_bundle(self.identity, &built.request).await,
        };
        let (outcome, answer) = exchange.map_err(|e| e.into_delivery_error())?;
        Ok((Sent { built, answer }, outcome.into_result()))
    }
}

/// When the delivery was planned, read from its UUIDv7. The submission-set signature is
/// dated with it so that a repeated attempt produces the same bytes, which the DMP
/// recognises as the document it already holds rather than a conflicting one.
fn planned_at(task: &DeliveryTask) -> chrono::DateTime<Utc> {
    task.delivery_id
        .get_timestamp()
        .and_then(|t| {
            let (seconds, nanos) = t.to_unix();
            chrono::DateTime::from_timestamp(i64::try_from(seconds).ok()?, nanos)
        })
        .unwrap_or_else(Utc::now)
}

/// The DocumentEntry of the submission-set signature (IHE DSG).
/// A code the DMP's value sets do not hold would be refused there: it is refused here,
/// before anything is signed or sent, naming the attribute and the value set.
fn refuse_codes_outside_value_sets(submission: &Submission) -> Result<(), DeliveryError> {
    let problems = submission.code_problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DeliveryError::final_error(
            "metadata-value-set",
            problems.join("; "),
        ))
    }
}

fn signature_entry(
    document: &RenderedDocument,
    bytes: &[u8],
    context: &RenderContext,
    task: &DeliveryTask,
) -> Entry {
    let unique_id = derived_oid(
        &context.oid_root,
        5,
        &format!("submission-signature:{}", task.delivery_id),
    );
    Entry {
        entry_uuid: entry_uuid(&unique_id),
        unique_id,
        mime_type: "text/xml".into(),
        title: "Signature du lot de soumission".into(),
        creation_time: xds_time(&planned_at(task)),
        service_start: None,
        service_stop: None,
        hash_sha1: sha1_hex(bytes),
        size: bytes.len(),
        class_code: Coded::new("urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "URN", "Signature"),
        type_code: Coded::new("E1762", "ASTM", "Full Document"),
        format_code: Coded::new("http://www.w3.org/2000/09/xmldsig#", "URN", "Signature"),
        event_codes: vec![Coded::new(
            "1.2.840.10065.1.12.1.14",
            "1.2.840.10065.1.12",
            "Source",
        )],
        replaces: None,
        legal_authenticator: None,
        uri: None,
        // Patient, author, facility and practice: those of the document signed.
        ..Entry::for_document(document, &[])
    }
}

impl DmpSink {
    /// Hands a task to the job it asks for: sending a document, or updating one already sent.
    async fn route(&self, task: &DeliveryTask) -> Result<Receipt, DeliveryError> {
        match &task.work {
            Work::Action {
                action: Action::SendDocument { document, .. },
            } => self.send(task, *document).await,
            Work::DmpUpdate { document, change } => self.update(task, *document, *change).await,
            other => Err(DeliveryError::unsupported("DMP", other)),
        }
    }
}

impl Sink for DmpSink {
    fn target(&self) -> &str {
        TARGET
    }

    fn check(&self) -> BoxFuture<'_, Health> {
        Box::pin(crt_core::http::reachable("DMP", self.client.endpoint()))
    }

    fn deliver<'a>(&'a self, task: &'a DeliveryTask) -> Attempt<'a> {
        Box::pin(self.route(task))
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.config.retry
    }
}
