//! Calendar links: a secret URL per subscriber (a professional's calendar, a caregiver's
//! phone) that serves a beneficiary's or a professional's planned interventions as
//! iCalendar. The secret itself is never stored, only its SHA-256; a link is revoked, not
//! deleted, so that the trace's mentions of it keep a meaning.

use std::str::FromStr;

use crt_core::sink::BoxFuture;
use serde::Serialize;
use uuid::Uuid;

use crate::{Millis, StoreError, StoreResult};

/// Whose interventions a link gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarSubject {
    /// One beneficiary's: for them and their caregivers.
    Beneficiary,
    /// One professional's, across the CRT's beneficiaries.
    Professional,
}

impl CalendarSubject {
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarSubject::Beneficiary => "beneficiary",
            CalendarSubject::Professional => "professional",
        }
    }
}

impl FromStr for CalendarSubject {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [CalendarSubject::Beneficiary, CalendarSubject::Professional]
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| StoreError::Corrupt(format!("calendar subject {text:?}")))
    }
}

/// A link about to be kept.
#[derive(Debug, Clone)]
pub struct NewCalendarLink {
    pub id: Uuid,
    pub crt_finess_et: String,
    pub subject: CalendarSubject,
    /// The beneficiary's local id, or the professional's (care-circle id or RPPS).
    pub subject_ref: String,
    /// Who subscribes, for the CRT's list (`Marie Martin, daughter`).
    pub label: String,
    pub secret_sha256: String,
    pub created_by: String,
    pub created_at: Millis,
}

/// A link as the API shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarLink {
    pub id: Uuid,
    pub crt_finess_et: String,
    pub subject: CalendarSubject,
    pub subject_ref: String,
    pub label: String,
    pub created_by: String,
    pub created_at: Millis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Millis>,
}

/// The planning's calendar links.
pub trait Calendars: Send + Sync + 'static {
    fn keep_calendar_link(&self, link: NewCalendarLink)
    -> BoxFuture<'_, StoreResult<CalendarLink>>;

    /// A CRT's links, newest first, revoked ones included.
    fn calendar_links(
        &self,
        crt_finess_et: String,
    ) -> BoxFuture<'_, StoreResult<Vec<CalendarLink>>>;

    /// The link whose secret has this SHA-256, revoked or not.
    fn calendar_link_by_secret(
        &self,
        secret_sha256: String,
    ) -> BoxFuture<'_, StoreResult<Option<CalendarLink>>>;

    /// Revokes a link; `None` when there is none with this id. Revoking twice keeps the
    /// first time.
    fn revoke_calendar_link(
        &self,
        id: Uuid,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<Option<CalendarLink>>>;
}
