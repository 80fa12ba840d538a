//! Durable state: records, their deliveries, receipts and artifacts.
//!
//! The engine and the API speak to [`Store`] (one trait per concern); SQLite (embedded, the default) implements
//! it here, and other backends implement the same contract, so that intake, leasing and
//! settlement behave the same whatever the database.
//!
//! What the contract promises:
//! - [`DeliveryQueue::accept`] returns only once the record, its deliveries and its idempotency
//!   key are committed to disk, in one transaction: an acknowledged record is never lost,
//!   a refused one leaves nothing behind;
//! - [`DeliveryQueue::lease`] hands each ready delivery to one worker at a time; a lease that is
//!   not settled before it expires (a crashed worker) makes the delivery ready again;
//! - [`DeliveryQueue::complete`] applies a settlement only if the caller still holds the lease,
//!   so a worker that lost its lease cannot overwrite the outcome of the next attempt.

mod alerts;
mod calendars;
mod config;
#[cfg(test)]
pub(crate) mod contract;
mod postgres;
pub mod sealing;
mod sqlite;

use std::fmt;
use std::str::FromStr;

use crt_core::sink::{Artifact, BoxFuture, DeliveryError, Receipt, Work};
use serde::Serialize;
use uuid::Uuid;

pub use alerts::{
    AlertCall, AlertDuty, AlertFilter, AlertOriginal, AlertStatus, AlertStep, AlertStepOutcome,
    AlertView, Alerts, DutyKind, DutySettlement, KeptAlert, NewAlert,
};
pub use calendars::{CalendarLink, CalendarSubject, Calendars, NewCalendarLink};
pub use config::StorageConfig;
pub use postgres::{PostgresStore, shown as shown_url};
pub use sqlite::SqliteStore;

/// The store the configuration names: PostgreSQL when `storage.database_url` is set (several
/// instances may share it), the embedded SQLite file otherwise.
pub async fn open(
    storage: &crate::StorageConfig,
    sealer: Option<std::sync::Arc<sealing::Sealer>>,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    Ok(match &storage.database_url {
        Some(url) => {
            let store = PostgresStore::connect(url).await?;
            std::sync::Arc::new(match sealer {
                Some(sealer) => store.with_sealer(sealer),
                None => store,
            })
        }
        None => {
            let store = SqliteStore::open(&storage.database_path())?;
            std::sync::Arc::new(match sealer {
                Some(sealer) => store.with_sealer(sealer),
                None => store,
            })
        }
    })
}

/// Milliseconds since the Unix epoch, the store's unit of time.
pub type Millis = i64;

/// The newest record of a beneficiary (`?1` the CRT, `?2` the beneficiary), for both
/// backends.
pub(crate) const LATEST_RECORD: &str = "SELECT id, payload FROM records
  WHERE crt_finess_et = ?1 AND beneficiary_ref = ?2
  ORDER BY received_at DESC, id DESC LIMIT 1";

/// The newest record of each beneficiary of a CRT (`?1`), by beneficiary: the same
/// statement for both backends (window functions are in both).
pub(crate) const NEWEST_RECORDS: &str = "SELECT id, payload FROM (
         SELECT id, payload, beneficiary_ref, ROW_NUMBER() OVER (
                PARTITION BY beneficiary_ref ORDER BY received_at DESC, id DESC) AS rank
           FROM records WHERE crt_finess_et = ?1) AS newest
  WHERE rank = 1 ORDER BY beneficiary_ref";

pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("the storage writer has stopped")]
    WriterGone,
    #[error("stored data could not be read back: {0}")]
    Corrupt(String),
    #[error("cannot open the database at {path}: {reason}")]
    Open { path: String, reason: String },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Columns that hold JSON (works, receipts, errors) are written and read by these, in
/// every backend.
pub(crate) fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn parse_uuid(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("id {text:?}: {e}")))
}

/// The waiting list's order, the same in both backends: open requests first (accepted,
/// on the list by rank, received, new), then those that ended, oldest first within each.
pub(crate) const WAITING_ORDER: &str =
    "CASE status WHEN 'accepted' THEN 0 WHEN 'waiting_list' THEN 1
          WHEN 'received' THEN 2 WHEN 'new' THEN 3 ELSE 4 END,
     rank IS NULL, rank, received_at, request_id";

/// Why the deliveries waiting on a settled one are held, if they are: the sink said so,
/// or the delivery was declined. Every backend holds them with this reason.
pub(crate) fn hold_reason(receipt: &Receipt) -> Option<String> {
    match (receipt.outcome, &receipt.hold_dependents) {
        (_, Some(reason)) => Some(reason.clone()),
        (crt_core::sink::Outcome::Declined, None) => Some(format!(
            "an upstream delivery was declined: {}",
            receipt.summary
        )),
        (crt_core::sink::Outcome::Delivered, None) => None,
    }
}

pub(crate) fn parse_state(text: &str) -> StoreResult<DeliveryState> {
    text.parse().map_err(StoreError::Corrupt)
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waits for the deliveries it depends on.
    Waiting,
    /// Ready, or scheduled for its next attempt.
    Pending,
    /// A worker holds it.
    Leased,
    /// The target accepted it; the receipt says what it answered.
    Delivered,
    /// Not sent, by rule; the receipt says why.
    Declined,
    /// Not started because an upstream delivery said so (an identity not qualified).
    Held,
    /// Failed for good or out of attempts; an operator may replay it.
    Dead,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 7] = [
        DeliveryState::Waiting,
        DeliveryState::Pending,
        DeliveryState::Leased,
        DeliveryState::Delivered,
        DeliveryState::Declined,
        DeliveryState::Held,
        DeliveryState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Waiting => "waiting",
            DeliveryState::Pending => "pending",
            DeliveryState::Leased => "leased",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Declined => "declined",
            DeliveryState::Held => "held",
            DeliveryState::Dead => "dead",
        }
    }

    /// Whether the delivery will not move without an operator or a new record.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            DeliveryState::Delivered
                | DeliveryState::Declined
                | DeliveryState::Held
                | DeliveryState::Dead
        )
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown delivery state {s:?}; expected one of {}",
                    DeliveryState::ALL.map(|s| s.as_str()).join(", ")
                )
            })
    }
}

/// A validated record about to be stored.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub id: Uuid,
    pub received_at: Millis,
    /// FINESS of the CRT establishment (not health data; used for reports and filters).
    pub crt_finess_et: String,
    /// The DUI's identifier of the beneficiary (pseudonymous).
    pub beneficiary_ref: String,
    /// The DUI's identifier of the record.
    pub source_ref: String,
    pub body_sha256: String,
    /// The JSON body as received.
    pub payload: Vec<u8>,
}

/// A delivery routing derived from a record.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: Uuid,
    pub target: String,
    pub work: Work,
    /// Deliveries of the same record that must be delivered before this one starts.
    pub depends_on: Vec<Uuid>,
}

/// Everything one accepted record writes, in one transaction.
#[derive(Debug, Clone)]
pub struct Intake {
    pub record: NewRecord,
    pub deliveries: Vec<NewDelivery>,
    pub idempotency_key: Option<String>,
    /// The answer given to the caller, replayed verbatim for a repeated idempotency key.
    pub response: Vec<u8>,
    /// Access-trace lines appended when the record is stored, and only then: the call's
    /// own line and the consent changes it brings. SQLite writes them in the record's own
    /// transaction (no second commit, and a stored record never lacks its trace);
    /// PostgreSQL appends them through its batching tracer right after the commit, so
    /// that intake does not hold the chain's lock, and logs a failure to do so.
    pub trace: Vec<crt_audit::TraceEvent>,
    /// The beneficiary's consents as this record states them (the caller's encoding),
    /// kept in a row of their own beside the record, so that the beneficiary's next record
    /// is compared with them without opening this one. `None` keeps no such row.
    pub consents: Option<Vec<u8>>,
}

/// What a beneficiary's consents were before a new record: where
/// [`DeliveryQueue::previous_consents`] found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousConsents {
    /// No record of the beneficiary is stored.
    None,
    /// The consents kept with the beneficiary's newest record, as given in
    /// [`Intake::consents`].
    Kept(Vec<u8>),
    /// The payload of the beneficiary's newest record, which was stored before consents
    /// had a row of their own: the caller reads them from it.
    InRecord(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    Stored,
    /// The key was seen with the same body: here is the first answer.
    Replayed {
        response: Vec<u8>,
    },
    /// The key was seen with another body.
    KeyConflict,
}

/// A delivery handed to a worker.
#[derive(Debug, Clone)]
pub struct LeasedDelivery {
    pub id: Uuid,
    pub record_id: Uuid,
    pub target: String,
    pub work: Work,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Proof of the lease, required to settle the delivery.
    pub lease: String,
    pub payload: Vec<u8>,
    /// Targets and receipts of the deliveries this one waited for.
    pub upstream: Vec<(String, Receipt)>,
}

/// How an attempt ended, as the engine decided.
#[derive(Debug, Clone)]
pub enum Settlement {
    /// Delivered or declined, with the receipt.
    Done(Receipt),
    /// Failed; try again at the given time.
    Retry { error: DeliveryError, at: Millis },
    /// Failed for good.
    Dead(DeliveryError),
    /// Cannot go until a person resolves the reason: held, not retried.
    Held(DeliveryError),
}

#[derive(Debug, Clone)]
pub struct Completion {
    /// The access-trace line of the exchange, written with the outcome.
    pub trace: Option<crt_audit::TraceEvent>,
    pub delivery_id: Uuid,
    pub lease: String,
    pub attempt: u32,
    pub started_at: Millis,
    pub finished_at: Millis,
    pub settlement: Settlement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletionOutcome {
    /// False when the lease had been lost: nothing was written.
    pub applied: bool,
    /// Deliveries that became ready because this one was delivered.
    pub released: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    Replayed,
    NotFound,
    /// Only dead and held deliveries can be replayed.
    NotDead(DeliveryState),
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactInfo {
    pub name: String,
    pub media_type: String,
    pub size: usize,
}

/// A delivery as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub id: Uuid,
    pub record_id: Uuid,
    pub target: String,
    pub work: Work,
    pub state: DeliveryState,
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<DeliveryError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// The deliveries this one still waits for (not yet delivered), with their state.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactInfo>,
    /// What recipients' systems reported after delivery (MSSanté MDNs and DSNs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acknowledgements: Vec<AcknowledgementView>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// An acknowledgement as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcknowledgementView {
    pub recipient: String,
    /// `delivered`, `read` or `failed`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `mdn` or `dsn`.
    pub kind: String,
    pub received_at: Millis,
}

/// An acknowledgement read from a mailbox, for the delivery whose message it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAcknowledgement {
    pub delivery_id: Uuid,
    pub recipient: String,
    pub status: String,
    pub code: Option<String>,
    pub label: Option<String>,
    pub kind: String,
    /// The notification's Message-ID: the same notification is recorded once.
    pub notification_id: String,
    pub received_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcknowledgeOutcome {
    Recorded,
    /// Already recorded (the notification was read before).
    Duplicate,
    /// No such delivery here: the message was not sent by this gateway's database.
    UnknownDelivery,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    pub id: Uuid,
    pub target: String,
    pub state: DeliveryState,
}

/// A volet 2 admission request that reached a CRT through ViaTrajectoire, as the
/// waiting list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitingEntry {
    pub crt_finess_et: String,
    /// ViaTrajectoire's national identifier of the request: what an `answer_admission`
    /// action names.
    pub request_id: String,
    /// The request in ViaTrajectoire (`DocumentReference/<id>`).
    pub remote_id: String,
    /// `new` until the CRT answers, then the answer as ViaTrajectoire holds it
    /// (`received`, `waiting_list`, `accepted`, `admitted`, `refused`, `cancelled`).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When ViaTrajectoire last changed the request's status (its Task), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_at: Option<String>,
    /// ViaTrajectoire withdrew the request.
    pub withdrawn: bool,
    /// When the gateway first read the request, and last changed this entry.
    pub received_at: Millis,
    pub updated_at: Millis,
    /// The request as read (the person, the requester, the wished start).
    pub request: serde_json::Value,
}

/// A request as the gateway read it from ViaTrajectoire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdmissionRequest {
    pub crt_finess_et: String,
    pub request_id: String,
    pub remote_id: String,
    /// ViaTrajectoire's last change of the request: an older version is ignored.
    pub changed_at: String,
    pub withdrawn: bool,
    pub received_at: Millis,
    /// The request as JSON; sealed at rest, as it names the person.
    pub payload: Vec<u8>,
}

/// Where a request stands after a Task ViaTrajectoire holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionStanding {
    pub crt_finess_et: String,
    pub request_id: String,
    pub status: String,
    pub rank: Option<u32>,
    pub reason: Option<String>,
    /// The Task's change: an older one than the status kept is ignored.
    pub status_at: String,
    pub updated_at: Millis,
}

/// A volet 1 action as a DUI sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVolet1Action {
    pub crt_finess_et: String,
    /// The DUI's identifier of the action.
    pub source_ref: String,
    /// When the DUI last changed it: an older version than the one kept is ignored.
    pub updated_at: Millis,
    pub received_at: Millis,
    /// The JSON as received.
    pub payload: Vec<u8>,
}

/// One delivery of a CRT's record, as the activity report counts exchanges.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub delivery_id: Uuid,
    pub beneficiary_ref: String,
    pub target: String,
    pub work: Work,
    pub state: DeliveryState,
    pub created_at: Millis,
    /// When it last changed (for a settled delivery: when it settled).
    pub updated_at: Millis,
    pub receipt: Option<Receipt>,
}

/// Where a received message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceivedStatus {
    /// Attached to a beneficiary.
    Attached,
    /// In the inbox: no beneficiary matched; someone attaches or rejects it.
    Unmatched,
    /// Kept aside: it cannot be integrated (a broken archive, a document that does not
    /// parse).
    Refused,
    /// Rejected from the inbox by an operator or the DUI.
    Rejected,
}

impl ReceivedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceivedStatus::Attached => "attached",
            ReceivedStatus::Unmatched => "unmatched",
            ReceivedStatus::Refused => "refused",
            ReceivedStatus::Rejected => "rejected",
        }
    }
}

impl FromStr for ReceivedStatus {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            ReceivedStatus::Attached,
            ReceivedStatus::Unmatched,
            ReceivedStatus::Refused,
            ReceivedStatus::Rejected,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt(format!("received message status {text:?}")))
    }
}

/// A message read from a mailbox, to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReceivedMessage {
    pub id: Uuid,
    pub mailbox: String,
    /// Without angle brackets.
    pub message_id: String,
    pub crt_finess_et: Option<String>,
    pub beneficiary_ref: Option<String>,
    pub status: ReceivedStatus,
    pub reason: Option<String>,
    pub answers: Vec<String>,
    /// No MDN is owed (none asked for, or it could not be sent automatically).
    pub answered: bool,
    /// What the gateway read of it (JSON); sealed at rest.
    pub summary: Vec<u8>,
    /// The message as received; sealed at rest.
    pub message: Vec<u8>,
    pub received_at: Millis,
}

/// How keeping a received message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptReceived {
    Kept,
    /// Kept before (read again after a crash or by another instance): the row kept.
    Duplicate(Box<ReceivedView>),
}

/// A received message as the API shows it; the original is read on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedView {
    pub id: Uuid,
    /// Its place in the event feed.
    pub seq: i64,
    pub mailbox: String,
    pub message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crt_finess_et: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beneficiary_ref: Option<String>,
    pub status: ReceivedStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    pub answered: bool,
    pub received_at: Millis,
    pub updated_at: Millis,
    /// What the gateway read of it: subject, sender, documents.
    pub summary: serde_json::Value,
}

/// A received message with the bytes it arrived as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedOriginal {
    pub view: ReceivedView,
    pub message: Vec<u8>,
}

/// Which received messages to list.
#[derive(Debug, Clone, Default)]
pub struct ReceivedFilter {
    pub crt: Option<String>,
    pub beneficiary: Option<String>,
    pub status: Option<ReceivedStatus>,
    /// Messages whose `seq` is after this one.
    pub after: Option<i64>,
    pub limit: usize,
}

/// What to do with a message of the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Attach {
        crt_finess_et: String,
        beneficiary_ref: String,
    },
    Reject {
        reason: String,
    },
}

impl Resolution {
    /// The status, CRT, beneficiary and reason a message of the inbox takes (`None`
    /// keeps what the row holds).
    pub(crate) fn outcome(
        &self,
    ) -> (
        ReceivedStatus,
        Option<String>,
        Option<String>,
        Option<String>,
    ) {
        match self {
            Resolution::Attach {
                crt_finess_et,
                beneficiary_ref,
            } => (
                ReceivedStatus::Attached,
                Some(crt_finess_et.clone()),
                Some(beneficiary_ref.clone()),
                None,
            ),
            Resolution::Reject { reason } => {
                (ReceivedStatus::Rejected, None, None, Some(reason.clone()))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveOutcome {
    Resolved(Box<ReceivedView>),
    NotFound,
    /// Only a message in the inbox (`unmatched`) is resolved; this one is not.
    NotInInbox(ReceivedStatus),
}

/// An entry a partner wrote in a beneficiary's liaison book on a regional platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerEntry {
    pub platform: String,
    pub remote_id: String,
    pub crt_finess_et: String,
    pub beneficiary_ref: String,
    /// `note` or `alert`.
    pub kind: String,
    pub topic: String,
    pub author: String,
    pub written_at: String,
    pub text: String,
    /// When the platform last changed it.
    pub changed_at: String,
    pub received_at: Millis,
}

/// Which partner entries to list.
#[derive(Debug, Clone, Default)]
pub struct PartnerEntryFilter {
    pub crt: Option<String>,
    pub beneficiary: Option<String>,
    pub limit: usize,
}

/// A stored record's identifier and its payload as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub id: Uuid,
    pub payload: Vec<u8>,
}

/// A stored record's metadata and deliveries; the payload itself is not shown.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub id: Uuid,
    pub received_at: Millis,
    pub crt_finess_et: String,
    pub beneficiary_ref: String,
    pub source_ref: String,
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub target: Option<String>,
    /// Deliveries created after this one (keyset pagination by id).
    pub after: Option<Uuid>,
    pub limit: usize,
}

/// The storage contract (see the module documentation), one trait per concern so that a
/// part of the gateway names the concern it uses. Every backend implements them all.
pub trait Store:
    DeliveryQueue + AccessTrace + FollowUps + ReportReads + Inbox + Alerts + Calendars
{
}

impl<T: DeliveryQueue + AccessTrace + FollowUps + ReportReads + Inbox + Alerts + Calendars> Store
    for T
{
}

/// Records and their deliveries: intake, leasing, settlement, replay, and what the API
/// reads of them.
pub trait DeliveryQueue: Send + Sync + 'static {
    fn accept(&self, intake: Intake) -> BoxFuture<'_, StoreResult<IntakeOutcome>>;

    /// Leases up to `limit` ready deliveries until `lease_until`.
    fn lease(
        &self,
        owner: &str,
        limit: usize,
        now: Millis,
        lease_until: Millis,
    ) -> BoxFuture<'_, StoreResult<Vec<LeasedDelivery>>>;

    fn complete(&self, completion: Completion) -> BoxFuture<'_, StoreResult<CompletionOutcome>>;

    /// Gives a lease back before it expires (an instance shutting down): the delivery is
    /// ready again at once, its attempt counted. `false` when the lease was no longer held.
    fn release(
        &self,
        delivery_id: Uuid,
        lease: String,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<bool>>;

    /// Puts a dead delivery back to pending with a fresh attempt count.
    fn replay(&self, delivery_id: Uuid, now: Millis) -> BoxFuture<'_, StoreResult<ReplayOutcome>>;

    /// Records what a recipient's system said about a delivery; idempotent.
    fn acknowledge(
        &self,
        ack: NewAcknowledgement,
    ) -> BoxFuture<'_, StoreResult<AcknowledgeOutcome>>;

    fn record(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<RecordView>>>;

    /// The beneficiary's newest stored record, if any: what a record about to be stored
    /// is compared with, and what the beneficiary is known by.
    fn latest_record(
        &self,
        crt_finess_et: String,
        beneficiary_ref: String,
    ) -> BoxFuture<'_, StoreResult<Option<StoredRecord>>>;

    /// The consents stated by the beneficiary's newest stored record: what a record about
    /// to be stored is compared with. One small row read, not the record's payload.
    fn previous_consents(
        &self,
        crt_finess_et: String,
        beneficiary_ref: String,
    ) -> BoxFuture<'_, StoreResult<PreviousConsents>>;

    /// The newest stored record of each beneficiary of a CRT: what the CRT's beneficiaries
    /// look like now (the planning of a professional who visits several, for instance).
    fn newest_records(
        &self,
        crt_finess_et: String,
    ) -> BoxFuture<'_, StoreResult<Vec<StoredRecord>>>;

    /// The stored payload of a record, as received.
    fn record_payload(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<Vec<u8>>>>;

    /// The CRTs (FINESS ET) whose records the gateway holds.
    fn crts(&self) -> BoxFuture<'_, StoreResult<Vec<String>>>;

    fn deliveries(&self, filter: DeliveryFilter) -> BoxFuture<'_, StoreResult<Vec<DeliveryView>>>;

    fn artifact(
        &self,
        delivery_id: Uuid,
        name: String,
    ) -> BoxFuture<'_, StoreResult<Option<Artifact>>>;

    /// One delivery, as [`DeliveryQueue::deliveries`] shows it.
    fn delivery(&self, delivery_id: Uuid) -> BoxFuture<'_, StoreResult<Option<DeliveryView>>>;

    /// Whose record a delivery carries: the CRT (FINESS ET) and the DUI's reference of the
    /// beneficiary, for deciding who may read what the delivery kept.
    fn delivery_subject(
        &self,
        delivery_id: Uuid,
    ) -> BoxFuture<'_, StoreResult<Option<(String, String)>>>;

    fn state_counts(&self) -> BoxFuture<'_, StoreResult<Vec<(DeliveryState, u64)>>>;

    /// When the next pending delivery is due or the next lease expires, if any.
    fn next_due(&self) -> BoxFuture<'_, StoreResult<Option<Millis>>>;

    /// A cheap round trip, for readiness probes.
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;
}

/// The access trace: every API access and every exchange, appended in order and chained.
pub trait AccessTrace: Send + Sync + 'static {
    /// Appends events to the access trace, in order, chained by hash.
    fn trace(&self, events: Vec<crt_audit::TraceEvent>) -> BoxFuture<'_, StoreResult<()>>;

    /// Trace lines after sequence number `after`, in order.
    fn trace_lines(
        &self,
        after: i64,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<crt_audit::TraceLine>>>;
}

/// What the gateway keeps of the exchanges that follow a delivery or come without one:
/// ViaTrajectoire's admission requests (the waiting list), partners' liaison entries and
/// the CRTs' volet 1 actions.
pub trait FollowUps: Send + Sync + 'static {
    /// Keeps an admission request read from ViaTrajectoire; a version older than the one
    /// kept (`changed_at`) is ignored. `true` when it is new or changed.
    fn keep_admission_request(
        &self,
        request: NewAdmissionRequest,
    ) -> BoxFuture<'_, StoreResult<bool>>;

    /// Records where an admission request stands; `false` when the request is unknown.
    /// A standing older than the one kept (`status_at`) is ignored.
    fn update_standing(&self, standing: AdmissionStanding) -> BoxFuture<'_, StoreResult<bool>>;

    /// A CRT's waiting list (every CRT's when `crt` is `None`): requests still open first
    /// (accepted, on the list by rank, received, new), then those that ended.
    fn waiting_list(&self, crt: Option<String>) -> BoxFuture<'_, StoreResult<Vec<WaitingEntry>>>;

    /// Keeps a partner's entry; a newer version (`changed_at`) replaces the one kept.
    /// `true` when the entry is new or changed.
    fn keep_partner_entry(&self, entry: PartnerEntry) -> BoxFuture<'_, StoreResult<bool>>;

    /// Partners' entries, newest written first.
    fn partner_entries(
        &self,
        filter: PartnerEntryFilter,
    ) -> BoxFuture<'_, StoreResult<Vec<PartnerEntry>>>;

    /// Keeps a volet 1 action; a version older than the one kept (`updated_at`) is
    /// ignored. `true` when it was kept.
    fn keep_volet1_action(&self, action: NewVolet1Action) -> BoxFuture<'_, StoreResult<bool>>;

    /// The newest version of each of a CRT's volet 1 actions, as received.
    fn volet1_actions(&self, crt_finess_et: String) -> BoxFuture<'_, StoreResult<Vec<Vec<u8>>>>;
}

/// Messages partners send to the structures' mailboxes: kept once, attached to a
/// beneficiary or waiting for someone to resolve them, listed in the order the DUI's event
/// feed reads them.
pub trait Inbox: Send + Sync + 'static {
    /// Keeps a message read from a mailbox; the same (mailbox, Message-ID) is kept once.
    fn keep_received(
        &self,
        message: NewReceivedMessage,
    ) -> BoxFuture<'_, StoreResult<KeptReceived>>;

    /// Records that the sender has had its MDN.
    fn mark_answered(&self, id: Uuid) -> BoxFuture<'_, StoreResult<()>>;

    /// Received messages, in feed order (`seq`).
    fn received(&self, filter: ReceivedFilter) -> BoxFuture<'_, StoreResult<Vec<ReceivedView>>>;

    /// One received message and its original bytes.
    fn received_message(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<ReceivedOriginal>>>;

    /// Attaches a message waiting in the inbox to a beneficiary, or rejects it.
    fn resolve_received(
        &self,
        id: Uuid,
        resolution: Resolution,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<ResolveOutcome>>;
}

/// What the activity reports read: every exchange and every record version of a CRT.
pub trait ReportReads: Send + Sync + 'static {
    /// Every delivery of a CRT's records, oldest first.
    fn crt_exchanges(&self, crt_finess_et: String) -> BoxFuture<'_, StoreResult<Vec<Exchange>>>;

    /// Every record version a CRT's DUIs sent, oldest first: what the activity indicators
    /// are computed from.
    fn crt_record_payloads(
        &self,
        crt_finess_et: String,
    ) -> BoxFuture<'_, StoreResult<Vec<Vec<u8>>>>;
}
