//! The receiving side of MSSanté: documents partners send to a structure's mailbox are
//! read, matched to a beneficiary, kept sealed, and answered with the MDN the volet asks
//! for.
//!
//! A message is kept before it is answered and before the mailbox forgets it: the
//! reader marks it seen only once it is kept and, when an MDN is owed, sent. A crash in
//! between reads it again; the store keeps it once and the MDN still owed goes then.
//! What cannot be integrated is kept too (`refused`, with the reason), so that an
//! operator sees every message the gateway took from a mailbox.

pub mod matching;

use crt_core::record::Action;
use crt_core::sink::Work;
use crt_mssante::MssanteSink;
use crt_mssante::inbound::{self, Failure, Incoming, Reading, Refusal};
use crt_mssante::mdn::{self, IntegrationError};
use crt_mssante::sink::Sender;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Pseudonyms, TraceEvent};
use crate::store::{
    KeptReceived, NewReceivedMessage, ReceivedStatus, ReceivedView, Store, now_millis,
};
use matching::{Beneficiaries, Match};

/// The `Reporting-UA` of the gateway's MDNs.
const REPORTING_UA: &str = concat!("crt-gateway ", env!("CARGO_PKG_VERSION"));

/// What reading one message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// Not documents: left in the mailbox for people.
    NotDocuments,
    /// Kept (now or before) with this status; `answered` when no MDN is still owed.
    Kept {
        id: Uuid,
        status: ReceivedStatus,
        answered: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("store: {0}")]
    Store(String),
    #[error("reading the structure's beneficiaries: {0}")]
    Beneficiaries(String),
}

/// Where the mailbox's messages go: the store, the sink that answers, the trace.
pub struct Importer<'a> {
    pub store: &'a dyn Store,
    pub sink: &'a MssanteSink,
    pub pseudonyms: Option<&'a Pseudonyms>,
    /// Who reads (`mailbox-reader`, `cli`), for the trace.
    pub caller: &'a str,
}

/// The decision about one message, before it is kept.
struct Decision {
    message_id: String,
    status: ReceivedStatus,
    crt: Option<String>,
    beneficiary: Option<String>,
    error: Option<IntegrationError>,
    reason: Option<String>,
    answers: Vec<String>,
    notify: Option<String>,
    subject: String,
    summary: serde_json::Value,
}

impl Importer<'_> {
    /// Reads, keeps and answers one message of `sender`'s mailbox. `beneficiaries` is
    /// read from the store the first time a message needs it.
    pub async fn import(
        &self,
        sender: &Sender,
        bytes: &[u8],
        beneficiaries: &mut Option<Beneficiaries>,
    ) -> Result<Imported, ImportError> {
        let mailbox = sender.address.to_string();
        let decision = match inbound::read(bytes) {
            Ok(Reading::Other) => return Ok(Imported::NotDocuments),
            Ok(Reading::Reply(incoming)) => match self.request_answered(&incoming, &mailbox).await?
            {
                Some(request) => decide(&incoming, request.matched(), &[], Some(&request)),
                None => return Ok(Imported::NotDocuments),
            },
            Ok(Reading::Documents(incoming)) => {
                if let Some(request) = self.request_answered(&incoming, &mailbox).await? {
                    return self
                        .keep(
                            sender,
                            bytes,
                            decide(&incoming, request.matched(), &[], Some(&request)),
                        )
                        .await;
                }
                if beneficiaries.is_none() {
                    *beneficiaries = Some(
                        Beneficiaries::of_mailbox(self.store, &mailbox)
                            .await
                            .map_err(ImportError::Beneficiaries)?,
                    );
                }
                let known = beneficiaries.as_ref().map_or(&[][..], |b| &b.crts[..]);
                let found = beneficiaries
                    .as_ref()
                    .map(|b| b.find(&incoming.patient))
                    .unwrap_or(Match::None(IntegrationError::UNKNOWN_PATIENT, "no record"));
                decide(&incoming, found, known, None)
            }
            Err(refusal) => refused(&refusal, bytes, beneficiaries.as_ref()),
        };
        self.keep(sender, bytes, decision).await
    }

    /// The request of this gateway's that `incoming` answers, if any: a message id it
    /// names is one the gateway made for a prescription request (`<delivery@domain>`)
    /// sent from this very mailbox.
    async fn request_answered(
        &self,
        incoming: &Incoming,
        mailbox: &str,
    ) -> Result<Option<AnsweredRequest>, ImportError> {
        let store_error = |e: crate::store::StoreError| ImportError::Store(e.to_string());
        let domain = mailbox.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        for id in &incoming.answers {
            let Some((local, at)) = id.rsplit_once('@') else {
                continue;
            };
            let Ok(delivery) = Uuid::parse_str(local) else {
                continue;
            };
            if !at.eq_ignore_ascii_case(domain) {
                continue;
            }
            let Some(view) = self.store.delivery(delivery).await.map_err(store_error)? else {
                continue;
            };
            let Work::Action {
                action: Action::RequestPrescription { request, .. },
            } = &view.work
            else {
                continue;
            };
            let sent_from_here = view
                .receipt
                .as_ref()
                .and_then(|r| r.details["from"].as_str())
                .is_some_and(|from| from.eq_ignore_ascii_case(mailbox));
            if !sent_from_here {
                continue;
            }
            if let Some((crt, local_id)) = self
                .store
                .delivery_subject(delivery)
                .await
                .map_err(store_error)?
            {
                return Ok(Some(AnsweredRequest {
                    delivery,
                    request: request.clone(),
                    crt,
                    local_id,
                }));
            }
        }
        Ok(None)
    }

    /// Keeps one message as decided, then sends the MDN it is owed.
    async fn keep(
        &self,
        sender: &Sender,
        bytes: &[u8],
        decision: Decision,
    ) -> Result<Imported, ImportError> {
        let mailbox = sender.address.to_string();
        let id = Uuid::now_v7();
        let summary =
            serde_json::to_vec(&decision.summary).map_err(|e| ImportError::Store(e.to_string()))?;
        let kept = self
            .store
            .keep_received(NewReceivedMessage {
                id,
                mailbox: mailbox.clone(),
                message_id: decision.message_id.clone(),
                crt_finess_et: decision.crt.clone(),
                beneficiary_ref: decision.beneficiary.clone(),
                status: decision.status,
                reason: decision.reason.clone(),
                answers: decision.answers.clone(),
                answered: decision.notify.is_none(),
                summary,
                message: bytes.to_vec(),
                received_at: now_millis(),
            })
            .await
            .map_err(|e| ImportError::Store(e.to_string()))?;
        let (id, status, answered) = match kept {
            KeptReceived::Kept => {
                self.trace(id, &decision).await?;
                (id, decision.status, decision.notify.is_none())
            }
            KeptReceived::Duplicate(view) => {
                let ReceivedView {
                    id,
                    status,
                    answered,
                    ..
                } = *view;
                (id, status, answered)
            }
        };
        if answered {
            return Ok(Imported::Kept {
                id,
                status,
                answered,
            });
        }
        let Some(to) = decision.notify.as_deref() else {
            return Ok(Imported::Kept {
                id,
                status,
                answered: true,
            });
        };
        let answer = mdn::compose(&mdn::Disposition {
            reporting_ua: REPORTING_UA,
            recipient: &mailbox,
            to,
            original_message_id: &decision.message_id,
            subject: &decision.subject,
            error: decision.error,
            original: Some(bytes),
            product_reference: &self.sink.config().product_reference,
        });
        // An MDN the operator refuses for good (an address outside the trust space) is
        // given up, not owed forever; one that failed for now goes at the next reading.
        let sent = match self
            .sink
            .send_to_one(sender, to, &answer, &format!("mdn-{id}"))
            .await
        {
            Ok(_) => true,
            Err(e) if e.is_retryable() => {
                tracing::warn!(received = %id, error = %e.message, "the MDN could not be sent; it will be again");
                false
            }
            Err(e) => {
                tracing::warn!(received = %id, error = %e.message, "the MDN was refused; it is given up");
                true
            }
        };
        if sent {
            self.store
                .mark_answered(id)
                .await
                .map_err(|e| ImportError::Store(e.to_string()))?;
        }
        Ok(Imported::Kept {
            id,
            status,
            answered: sent,
        })
    }

    async fn trace(&self, id: Uuid, decision: &Decision) -> Result<(), ImportError> {
        let mut event = TraceEvent::now(self.caller, "mssante.receive", "care-coordination");
        event.structure = decision.crt.clone();
        event.beneficiary = match (&decision.crt, &decision.beneficiary, self.pseudonyms) {
            (Some(crt), Some(local_id), Some(pseudonyms)) => Some(pseudonyms.of(crt, local_id)),
            _ => None,
        };
        event.object = Some(format!("received:{id}"));
        event.outcome = decision.status.as_str().to_string();
        self.store
            .trace(vec![event])
            .await
            .map_err(|e| ImportError::Store(e.to_string()))
    }
}

/// A request of the gateway's that a received message answers.
struct AnsweredRequest {
    delivery: Uuid,
    /// The DUI's identifier of the request.
    request: String,
    crt: String,
    local_id: String,
}

impl AnsweredRequest {
    /// An answer belongs to the beneficiary the request was about.
    fn matched(&self) -> Match {
        Match::Beneficiary {
            crt: self.crt.clone(),
            local_id: self.local_id.clone(),
            by: "answer",
        }
    }
}

/// Where a readable message goes, by whom it names or the request it answers.
fn decide(
    incoming: &Incoming,
    found: Match,
    crts: &[String],
    answering: Option<&AnsweredRequest>,
) -> Decision {
    let documents: Vec<serde_json::Value> = incoming
        .documents
        .iter()
        .enumerate()
        .map(|(index, d)| {
            json!({
                "index": index,
                "name": d.name,
                "media_type": d.media_type,
                "size": d.content.len(),
                "title": d.title,
                "code": d.code,
                "unique_id": d.unique_id,
                "carrier": d.carrier,
            })
        })
        .collect();
    let (status, crt, beneficiary, error, reason, matched_by) = match found {
        Match::Beneficiary { crt, local_id, by } => (
            ReceivedStatus::Attached,
            Some(crt),
            Some(local_id),
            None,
            None,
            Some(by),
        ),
        Match::None(error, why) => (
            ReceivedStatus::Unmatched,
            only(crts),
            None,
            Some(error),
            Some(format!("{}^{}: {why}", error.code, error.label)),
            None,
        ),
    };
    Decision {
        message_id: incoming.message_id.clone(),
        status,
        crt,
        beneficiary,
        error,
        reason,
        answers: incoming.answers.clone(),
        notify: incoming.notify.clone(),
        subject: incoming.subject.clone(),
        summary: json!({
            "subject": incoming.subject,
            "from": incoming.from,
            "text": incoming.text,
            "documents": documents,
            "matched_by": matched_by,
            "in_reply_to": answering.map(|a| json!({
                "delivery": a.delivery,
                "action": "request_prescription",
                "request": a.request,
            })),
        }),
    }
}

/// A message that cannot be integrated: kept aside with the reason, answered with the
/// volet's "other" error and the details.
fn refused(refusal: &Refusal, bytes: &[u8], beneficiaries: Option<&Beneficiaries>) -> Decision {
    let error = IntegrationError::OTHER;
    // A message without Message-ID is still kept once: its digest names it.
    let message_id = refusal
        .message_id
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", crate::audit::digest::sha256_hex(bytes)));
    let failure = match refusal.failure {
        Failure::UnreadableMessage => "unreadable-message",
        Failure::InvalidArchive => "invalid-archive",
        Failure::UnreadableDocument => "unreadable-document",
        Failure::SeveralPatients => "several-patients",
        Failure::UnknownPatient => "unknown-patient",
    };
    Decision {
        message_id,
        status: ReceivedStatus::Refused,
        crt: beneficiaries.and_then(|b| only(&b.crts)),
        beneficiary: None,
        error: Some(error),
        reason: Some(format!(
            "{}^{}: {failure}: {}",
            error.code, error.label, refusal.detail
        )),
        answers: Vec::new(),
        notify: refusal.notify.clone(),
        subject: refusal.subject.clone().unwrap_or_default(),
        summary: json!({
            "subject": refusal.subject,
            "from": refusal.from,
            "documents": [],
            "failure": failure,
        }),
    }
}

/// The CRT when there is exactly one.
fn only(crts: &[String]) -> Option<String> {
    match crts {
        [crt] => Some(crt.clone()),
        _ => None,
    }
}
