//! The on-call service's side of an alert: who is called, and what the regulation gets.
//!
//! Each alert carries its duty in the store ([`crate::store::AlertDuty`]); one task per
//! instance leases the duties that are due and does them:
//!
//! - **call**: a secure MSSanté message from the CRT's mailbox to the rota's next person
//!   ([`crate::rota::Rota::callees`]) with what the centre heard and, when the beneficiary's
//!   identity is qualified, their current DLU (IHE XDM and PDF), and an emergency entry in
//!   the regional liaison book (the Cahier de liaison's `cdl-ext-is-emergency`) when the
//!   CRT shares with its platform. The next person is due `take_within` later, until the
//!   alert is taken or nobody is left;
//! - **regulation**, once the alert is closed as needing the emergency services: the DLU
//!   and the alert's summary to the SAMU of the beneficiary's département, and a look at
//!   the DLU's delivery to the DMP, replayed if it had failed, so that the regulator finds
//!   the latest DLU there in *centre de régulation* mode.
//!
//! Every step is a line of the access trace. A failed send is retried with the MSSanté
//! sink's backoff; a person the message cannot reach is passed over.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crt_core::CrtRecord;
use crt_core::alert::{Alert, CalledKind};
use crt_core::identity::QualifiedIdentity;
use crt_core::record::{
    Action, Channel, DocumentKind, LiaisonEntry, LiaisonKind, LiaisonTopic, OnCallReason,
};
use crt_core::sink::{DeliveryError, DeliveryTask, ErrorClass, Work};
use crt_mssante::MssanteSink;
use crt_mssante::sink::Preface;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};
use uuid::Uuid;

use crate::audit::{Pseudonyms, TraceEvent};
use crate::registry::Registry;
use crate::rota::{self, Rota};
use crate::store::{
    AlertCall, AlertDuty, DeliveryState, DutyKind, DutySettlement, Store, now_millis,
};

/// Duties leased at once.
const BATCH: usize = 32;
/// How long a duty is held before another instance may do it (a crash).
const LEASE: Duration = Duration::from_secs(60);
/// Sends to one person tried this many times before the next person is called.
const ATTEMPTS_PER_PERSON: u32 = 3;

/// The on-call dispatcher of one instance.
pub struct OnCall {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    rota: Arc<Rota>,
    take_within: Duration,
    poll: Duration,
    pseudonyms: Arc<Pseudonyms>,
    wake: Arc<Notify>,
    owner: String,
}

impl OnCall {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        rota: Arc<Rota>,
        config: &rota::OnCallConfig,
        pseudonyms: Arc<Pseudonyms>,
        wake: Arc<Notify>,
    ) -> OnCall {
        OnCall {
            store,
            registry,
            rota,
            take_within: Duration::from_secs(config.take_within_s),
            poll: Duration::from_millis(config.poll_interval_ms.max(10)),
            pseudonyms,
            wake,
            owner: format!("on-call-{}", Uuid::now_v7()),
        }
    }

    /// Runs until `shutdown`: due duties, then a nap until the next poll or a new alert.
    pub fn spawn(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.run_due().await {
                    Ok(0) => {}
                    // There may be more: go on without waiting.
                    Ok(_) => continue,
                    Err(e) => warn!(error = %e, "on-call duties could not be leased"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = self.wake.notified() => {}
                    _ = shutdown.changed() => return,
                }
            }
        })
    }

    /// Does the duties due now; how many there were.
    pub async fn run_due(&self) -> Result<usize, String> {
        let now = now_millis();
        let lease_until = now + LEASE.as_millis() as i64;
        let duties = self
            .store
            .lease_alert_duties(&self.owner, BATCH, now, lease_until)
            .await
            .map_err(|e| e.to_string())?;
        let count = duties.len();
        for duty in duties {
            let (id, lease, kind) = (duty.alert.id, duty.lease.clone(), duty.kind);
            let settlement = match kind {
                DutyKind::Call { position } => self.call(&duty, position).await,
                DutyKind::Regulation => self.regulate(&duty).await,
            };
            if let Err(e) = self
                .store
                .settle_alert_duty(id, lease, kind, settlement, now_millis())
                .await
            {
                warn!(alert = %id, error = %e, "an on-call duty could not be settled");
            }
        }
        Ok(count)
    }

    /// Calls the rota's person at `position`.
    async fn call(&self, duty: &AlertDuty, position: u32) -> DutySettlement {
        let view = &duty.alert;
        if view.status != crate::store::AlertStatus::Open {
            return DutySettlement::Finished;
        }
        let Ok(alert) = serde_json::from_slice::<Alert>(&duty.payload) else {
            warn!(alert = %view.id, "a kept alert no longer reads as one");
            return DutySettlement::Finished;
        };
        let raised = alert.raised_at.with_timezone(&Utc);
        let callees =
            self.rota
                .callees(&view.crt_finess_et, raised, view.beneficiary_ref.is_none());
        let Some(callee) = callees.get(position as usize) else {
            if position == 0 {
                warn!(alert = %view.id, crt = %view.crt_finess_et, "no on-call service or coordinator to call");
            }
            self.trace(duty, "alert.unanswered", format!("called:{position}"))
                .await;
            return DutySettlement::Finished;
        };
        let Some(sink) = self.registry.mssante() else {
            return retry(
                duty,
                "MSSanté is not enabled on this gateway: nobody can be called",
            );
        };
        let record = self.newest(duty).await.map(|newest| newest.record);
        let message = Message::of(duty.alert.id, position, &alert, record.as_deref(), callee);
        let sent = self
            .send(
                sink,
                &view.crt_finess_et,
                record.as_ref(),
                &callee.person.mailbox,
                &message,
            )
            .await;
        let next_due = now_millis() + self.take_within.as_millis() as i64;
        let next = (position as usize + 1 < callees.len()).then_some(next_due);
        let mut call = AlertCall {
            at: now_millis(),
            position,
            role: callee.role.to_string(),
            name: Some(callee.person.name.clone()),
            mailbox: callee.person.mailbox.clone(),
            message_id: None,
        };
        match sent {
            Ok(message_id) => {
                call.message_id = Some(message_id);
                // One entry per alert, with the first call.
                if let Some(record) = record.as_ref().filter(|_| position == 0) {
                    self.post_to_liaison_book(record, &alert, duty).await;
                }
                self.trace(duty, "alert.call", format!("called:{}", callee.role))
                    .await;
                info!(alert = %view.id, position, role = callee.role, "on-call professional called");
                DutySettlement::Called { call, next }
            }
            Err(e) if e.class == ErrorClass::Retryable && duty.attempt < ATTEMPTS_PER_PERSON => {
                retry(duty, &format!("{}: {}", e.code, e.message))
            }
            Err(e) => {
                // This person cannot be reached: the next one is called at once.
                self.trace(duty, "alert.call", format!("unreachable:{}", e.code))
                    .await;
                warn!(alert = %view.id, position, code = %e.code, "an on-call professional could not be reached");
                DutySettlement::Called {
                    call,
                    next: (position as usize + 1 < callees.len()).then(now_millis),
                }
            }
        }
    }

    /// Sends the DLU and the alert's summary to the regulation, and sees that the latest
    /// DLU is in the DMP.
    async fn regulate(&self, duty: &AlertDuty) -> DutySettlement {
        let view = &duty.alert;
        let Ok(alert) = serde_json::from_slice::<Alert>(&duty.payload) else {
            return DutySettlement::Finished;
        };
        let newest = self.newest(duty).await;
        let record = newest.as_ref().map(|newest| newest.record.clone());
        let departement = record
            .as_deref()
            .and_then(|r| r.beneficiary.address.as_ref())
            .and_then(|a| rota::departement_of(&a.postal_code));
        let Some(regulation) = self
            .rota
            .regulation(&view.crt_finess_et, departement.as_deref())
        else {
            self.trace(duty, "alert.regulation", "no-regulation-configured".into())
                .await;
            return DutySettlement::Regulated(json!({
                "sent": false,
                "reason": format!(
                    "no regulation is configured for département {}",
                    departement.as_deref().unwrap_or("(unknown)")
                ),
            }));
        };
        let Some(sink) = self.registry.mssante() else {
            return retry(duty, "MSSanté is not enabled on this gateway");
        };
        let callee = rota::Callee {
            role: "regulation",
            person: rota::Person {
                name: format!("SAMU {}", regulation.departement),
                mailbox: regulation.mailbox.clone(),
                id: None,
            },
        };
        let message = Message::of(view.id, u32::MAX, &alert, record.as_deref(), &callee);
        let message_id = match self
            .send(
                sink,
                &view.crt_finess_et,
                record.as_ref(),
                &regulation.mailbox,
                &message,
            )
            .await
        {
            Ok(id) => id,
            Err(e) if e.class == ErrorClass::Retryable => {
                return retry(duty, &format!("{}: {}", e.code, e.message));
            }
            Err(e) => {
                self.trace(duty, "alert.regulation", format!("failed:{}", e.code))
                    .await;
                return DutySettlement::Regulated(json!({
                    "sent": false,
                    "to": regulation.mailbox,
                    "reason": format!("{}: {}", e.code, e.message),
                }));
            }
        };
        let dmp = self.dlu_in_the_dmp(duty, newest.as_ref()).await;
        self.trace(duty, "alert.regulation", "sent".into()).await;
        DutySettlement::Regulated(json!({
            "sent": true,
            "to": regulation.mailbox,
            "departement": regulation.departement,
            "message_id": message_id,
            "with_dlu": message.with_dlu,
            "dmp": dmp,
        }))
    }

    /// Where the beneficiary's latest DLU stands in the DMP: the delivery of the newest
    /// record that sends it, replayed when it had failed.
    async fn dlu_in_the_dmp(&self, duty: &AlertDuty, newest: Option<&Newest>) -> Value {
        if duty.alert.beneficiary_ref.is_none() {
            return json!({"state": "unknown-beneficiary"});
        }
        let Some(newest) = newest else {
            return json!({"state": "no-record"});
        };
        let view = match self.store.record(newest.id).await {
            Ok(Some(view)) => view,
            _ => return json!({"state": "unknown"}),
        };
        let dlu = view.deliveries.iter().find(|d| {
            d.target == Channel::Dmp.as_str()
                && matches!(
                    &d.work,
                    Work::Action {
                        action: Action::SendDocument {
                            document: DocumentKind::Dlu,
                            ..
                        }
                    }
                )
        });
        let Some(dlu) = dlu else {
            return json!({"state": "not-sent", "record": newest.id});
        };
        let document = dlu
            .receipt
            .as_ref()
            .and_then(|r| r.details.get("document").cloned());
        if matches!(dlu.state, DeliveryState::Dead | DeliveryState::Held) {
            let replayed = self.store.replay(dlu.id, now_millis()).await.is_ok();
            return json!({
                "state": dlu.state.as_str(),
                "delivery": dlu.id,
                "replayed": replayed,
            });
        }
        json!({
            "state": dlu.state.as_str(),
            "delivery": dlu.id,
            "document": document,
        })
    }

    /// The beneficiary's newest record, when the gateway holds one.
    async fn newest(&self, duty: &AlertDuty) -> Option<Newest> {
        let local_id = duty.alert.beneficiary_ref.clone()?;
        let stored = self
            .store
            .latest_record(duty.alert.crt_finess_et.clone(), local_id)
            .await
            .ok()??;
        let record = serde_json::from_slice(&stored.payload).ok().map(Arc::new)?;
        Some(Newest {
            id: stored.id,
            record,
        })
    }

    /// Sends `message` to `to`: with the DLU when the record allows it, in words alone
    /// otherwise; the Message-ID sent.
    async fn send(
        &self,
        sink: &MssanteSink,
        crt: &str,
        record: Option<&Arc<CrtRecord>>,
        to: &str,
        message: &Message,
    ) -> Result<String, DeliveryError> {
        let recipient = crt_mssante::Address::parse(to, &sink.config().allowed_domains)
            .map_err(|e| DeliveryError::final_error("recipient", e.to_string()))?;
        if let Some(record) = record.filter(|r| message.with_dlu && r.dlu.is_some()) {
            let task = DeliveryTask {
                delivery_id: message.id,
                record_id: message.id,
                attempt: 1,
                work: Work::Action {
                    action: Action::SendDocument {
                        document: DocumentKind::Dlu,
                        to: vec![Channel::Mssante],
                    },
                },
                record: record.clone(),
                upstream: Vec::new(),
            };
            let composed = sink.compose_for(
                &task,
                DocumentKind::Dlu,
                Some(vec![recipient]),
                Some(&message.preface),
            );
            if let Ok(Some(composed)) = composed {
                sink.transmit(&composed).await?;
                return Ok(composed.message_id);
            }
        }
        let mailbox = match record.and_then(|r| r.crt.mssante_mailbox.clone()) {
            Some(mailbox) => mailbox,
            None => self.rota.mailbox(crt).map(str::to_string).ok_or_else(|| {
                DeliveryError::final_error("no-mailbox", "the CRT has no on-call mailbox")
            })?,
        };
        let sender = sink.mailbox(&mailbox, &format!("1{crt}"))?;
        let from_name = record.map(|r| r.crt.name.clone()).unwrap_or_default();
        let (message_id, bytes) =
            sink.compose_note(&sender, &from_name, to, &message.preface, message.id)?;
        sink.send_to_one(
            &sender,
            to,
            &bytes,
            message_id.trim_matches(|c| c == '<' || c == '>'),
        )
        .await?;
        Ok(message_id)
    }

    /// The alert as an emergency entry of the regional liaison book, when the beneficiary's
    /// record is shared with their region's platform. The entry's identifier comes from the alert: posted
    /// again (the next person of the rota), it is not added twice.
    async fn post_to_liaison_book(&self, record: &Arc<CrtRecord>, alert: &Alert, duty: &AlertDuty) {
        // The platform holds the beneficiary only when the record shares them with it.
        if !record.actions.contains(&Action::ShareWithRegion) {
            return;
        }
        let Some(target) = self.registry.region_target(record.crt.region) else {
            return;
        };
        let Some((platform, _)) = self
            .registry
            .platforms()
            .iter()
            .find(|(p, _)| crt_regions::sink::target(p.dialect().name) == target)
        else {
            return;
        };
        // The guide names a professional of the care team as the author: the CRT's own
        // physician or coordinator when the circle has one, else its first member.
        let author = record
            .care_circle
            .iter()
            .find(|m| {
                matches!(
                    m.role,
                    crt_core::record::CareRole::CrtPhysician
                        | crt_core::record::CareRole::CoordinatingPhysician
                )
            })
            .or(record.care_circle.first());
        let Some(author) = author else {
            return;
        };
        let mut with_entry = (**record).clone();
        with_entry.liaison_book = vec![LiaisonEntry {
            id: format!("alert-{}", duty.alert.id.simple()),
            kind: LiaisonKind::Alert,
            topic: topic_of(alert.reason),
            author: author.id.clone(),
            written_at: alert.raised_at,
            text: summary(alert),
        }];
        let share = match crt_regions::share::Share::new(
            Arc::new(with_entry),
            QualifiedIdentity::of_record(record),
        ) {
            Ok(share) => share,
            Err(e) => {
                warn!(alert = %duty.alert.id, error = %e, "the liaison entry could not be made");
                return;
            }
        };
        let outcome = match platform.post_entries(&share).await {
            Ok(_) => "posted".to_string(),
            Err(e) => {
                warn!(alert = %duty.alert.id, error = %e, "the liaison entry could not be posted");
                "failed".to_string()
            }
        };
        self.trace(duty, "alert.liaison-book", outcome).await;
    }

    async fn trace(&self, duty: &AlertDuty, action: &str, outcome: String) {
        let view = &duty.alert;
        let mut event = TraceEvent::now("on-call", action, "care-coordination");
        event.structure = Some(format!("1{}", view.crt_finess_et));
        event.beneficiary = view
            .beneficiary_ref
            .as_ref()
            .map(|local_id| self.pseudonyms.of(&view.crt_finess_et, local_id));
        event.object = Some(format!("alert:{}", view.id));
        event.outcome = outcome;
        if let Err(e) = self.store.trace(vec![event]).await {
            warn!(alert = %view.id, error = %e, "an on-call step could not be traced");
        }
    }
}

/// A beneficiary's newest stored record, read once per duty.
struct Newest {
    id: Uuid,
    record: Arc<CrtRecord>,
}

/// Try the duty again after the MSSanté sink's backoff.
fn retry(duty: &AlertDuty, error: &str) -> DutySettlement {
    let policy = crt_core::sink::RetryPolicy::default();
    let wait = policy.backoff(duty.attempt, rand::random::<f64>());
    DutySettlement::Retry {
        at: now_millis() + wait.as_millis() as i64,
        error: error.to_string(),
    }
}

/// The words of a call or of the regulation's message.
struct Message {
    /// The Message-ID's left part: one per (alert, person), the same at each attempt.
    id: Uuid,
    preface: Preface,
    /// Whether the beneficiary's DLU goes with it.
    with_dlu: bool,
}

impl Message {
    fn of(
        alert_id: Uuid,
        position: u32,
        alert: &Alert,
        record: Option<&CrtRecord>,
        callee: &rota::Callee,
    ) -> Message {
        let id = Uuid::new_v5(&alert_id, format!("{position}").as_bytes());
        let regulation = callee.role == "regulation";
        let who = match record {
            Some(record) => format!(
                "{} {}",
                record.beneficiary.identity.first_given_name,
                record.beneficiary.identity.birth_name
            ),
            None => {
                let b = &alert.beneficiary;
                match (&b.first_given_name, &b.birth_name) {
                    (Some(first), Some(birth)) => format!("{first} {birth} (inconnu du CRT)"),
                    _ => "une personne inconnue du CRT".to_string(),
                }
            }
        };
        let subject = if regulation {
            format!(
                "Demande de régulation – {} – {who}",
                reason_fr(alert.reason)
            )
        } else {
            format!("ALERTE astreinte CRT – {} – {who}", reason_fr(alert.reason))
        };
        let mut text = summary(alert);
        if !regulation {
            text.push_str(&format!(
                "\nPour prendre l'alerte : POST /v1/alerts/{alert_id}/take (ou la page /ui/ de la passerelle)."
            ));
        }
        Message {
            id,
            preface: Preface { subject, text },
            with_dlu: record.is_some(),
        }
    }
}

/// What the centre said, in the on-call professional's words.
fn summary(alert: &Alert) -> String {
    let mut text = format!(
        "Alerte {} reçue de {} ({}) le {}.\nMotif : {}.",
        alert.source.alert_id,
        alert.source.name,
        match alert.source.kind {
            crt_core::alert::AlertSourceKind::Teleassistance => "téléassistance",
            crt_core::alert::AlertSourceKind::Telemonitoring => "télésurveillance",
        },
        alert.raised_at.format("%d/%m/%Y à %H:%M"),
        reason_fr(alert.reason)
    );
    if let Some(heard) = &alert.heard {
        text.push_str(&format!("\nCe que l'opérateur a entendu : {heard}"));
    }
    for called in &alert.called {
        let who = match called.who {
            CalledKind::Caregiver => "aidant",
            CalledKind::Neighbour => "voisin",
            CalledKind::Professional => "professionnel",
            CalledKind::EmergencyServices => "services d'urgence",
            CalledKind::Other => "autre",
        };
        let name = called.name.as_deref().unwrap_or_default();
        let answered = if called.reached { "joint" } else { "non joint" };
        text.push_str(&format!(
            "\nAppelé avant le CRT : {who} {name} – {answered}."
        ));
    }
    text
}

fn reason_fr(reason: OnCallReason) -> &'static str {
    match reason {
        OnCallReason::Fall => "chute",
        OnCallReason::HealthDeterioration => "dégradation de l'état de santé",
        OnCallReason::Anxiety => "anxiété",
        OnCallReason::CaregiverExhaustion => "épuisement de l'aidant",
        OnCallReason::CareContinuity => "continuité des soins",
        OnCallReason::TechnicalAlarm => "alarme technique",
        OnCallReason::Other => "autre motif",
    }
}

fn topic_of(reason: OnCallReason) -> LiaisonTopic {
    match reason {
        OnCallReason::Fall => LiaisonTopic::Fall,
        OnCallReason::HealthDeterioration => LiaisonTopic::HealthChange,
        OnCallReason::CaregiverExhaustion => LiaisonTopic::Caregiver,
        OnCallReason::CareContinuity => LiaisonTopic::Care,
        _ => LiaisonTopic::Other,
    }
}
