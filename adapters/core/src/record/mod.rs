//! The CRT record: one JSON document a DUI posts for one beneficiary, holding what the
//! regional specifications require a CRT information system to keep, and what the
//! gateway is asked to do with it.
//!
//! The Rust types are the definition; `schemas/crt-record.schema.json` is generated from
//! them (see `validation::record_schema`) and a test keeps the two identical.

mod action;
mod beneficiary;
mod care;
mod change;
mod common;
mod consent;
mod dlu;
mod liaison;
mod monitoring;
mod plan;
mod structure;
mod volet2;

pub use action::{Action, AdmissionAnswer, Channel, DocumentKind};
pub use beneficiary::{
    BIRTH_DATE_PATTERN, Beneficiary, CarteVitale, Contact, ContactRole, GirAssessment,
    INS_NUMBER_PATTERN, IdentityDocumentKind, IdentityEvidence, IdentityStatus, IdentityTraits,
    Ins, InsOid, Placement, Relationship, Sex, TRAIT_PATTERN,
};
pub use care::{
    AuthorSpecialty, CallerKind, CareRole, Intervention, InterventionKind, InterventionStatus,
    OnCallCall, OnCallOutcome, OnCallReason, Profession, Professional, RPPS_PATTERN,
};
pub use change::Change;
pub use common::{
    Address, Coding, Date, EMAIL_PATTERN, INSEE_COG_PATTERN, LOCAL_ID_PATTERN, PHONE_PATTERN,
    POSTAL_CODE_PATTERN, PersonName, SIRET_PATTERN, Terminology, Timestamp, snake,
};
pub use consent::{ConsentChoice, ConsentDecision, Consents, DmpMasking};
pub use dlu::{
    AdvanceDirectives, Allergy, AttachedDocument, AttachedDocumentKind, Condition, DluContent,
    EmbeddedDocument, EmbeddedMediaType, Facility, Impairment, MedicalDevice, Route, StateFinding,
    StateObservation, Treatment, Vaccination,
};
pub use liaison::{LiaisonEntry, LiaisonKind, LiaisonTopic};
pub use monitoring::MonitoringThreshold;
pub use plan::{PersonalisedPlan, PlanAction, PlanActionStatus, PlanDomain, PlanGoal, PlanProblem};
pub use structure::{Crt, FINESS_PATTERN, PorteurKind, Region};
pub use volet2::{
    AdmissionDecision, AdmissionStep, DecisionOutcome, Exit, ExitReason, Referral, ReferralSource,
    Volet2,
};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A CRT record, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "CRT record")]
pub struct CrtRecord {
    /// Version of this format. Additions within a major version are optional fields only.
    pub schema_version: SchemaVersion,
    pub source: Source,
    pub crt: Crt,
    pub beneficiary: Beneficiary,
    /// Volet 2 accompaniment, from referral to exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volet2: Option<Volet2>,
    /// The personalised support plan (PPCS model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PersonalisedPlan>,
    /// Content of the DLU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlu: Option<DluContent>,
    /// Professionals around the beneficiary, including the general practitioner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub care_circle: Vec<Professional>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5000))]
    pub interventions: Vec<Intervention>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5000))]
    pub on_call_calls: Vec<OnCallCall>,
    /// Liaison-book entries and alerts for the partners on the regional platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5000))]
    pub liaison_book: Vec<LiaisonEntry>,
    /// Bounds of the measures a telemonitoring platform sends for the beneficiary: an
    /// observation outside them raises an on-call alert.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub telemonitoring: Vec<MonitoringThreshold>,
    #[serde(default)]
    pub consents: Consents,
    /// What the gateway is asked to do with the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub actions: Vec<Action>,
}

impl CrtRecord {
    /// The care-circle member with this local id.
    pub fn professional(&self, id: &str) -> Option<&Professional> {
        self.care_circle.iter().find(|p| p.id == id)
    }

    /// The beneficiary's general practitioner, if the care circle names one.
    pub fn general_practitioner(&self) -> Option<&Professional> {
        self.care_circle
            .iter()
            .find(|p| p.role == CareRole::GeneralPractitioner)
    }

    /// The trusted person (personne de confiance), if one is designated.
    pub fn trusted_person(&self) -> Option<&Contact> {
        self.beneficiary
            .contacts
            .iter()
            .find(|c| c.has_role(ContactRole::TrustedPerson))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SchemaVersion {
    #[serde(rename = "1.0")]
    V1_0,
}

/// The software that produced the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// DUI product name.
    #[schemars(length(min = 1, max = 100))]
    pub software: String,
    #[schemars(length(min = 1, max = 50))]
    pub software_version: String,
    /// The DUI's identifier for this record (stable across updates of the same record).
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub record_ref: String,
    /// When the DUI last changed the record.
    pub updated_at: Timestamp,
    /// How the record came to be sent: a professional signed in to the DUI, and how she
    /// authenticated there, or no one (a batch, a back-fill). The DMP's VIHF states it: a
    /// user's authentication, or a system acting alone. Absent, a user whose
    /// authentication the DUI does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<SourceAuthentication>,
}

/// How the person who sent the record from the DUI authenticated there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceAuthentication {
    /// A password (and a protected session).
    Password,
    /// A CPS card (or another smart card with a certificate).
    Smartcard,
    /// Pro Santé Connect with an e-CPS.
    ECps,
    /// No one: the DUI sent the record on its own.
    Automated,
}
