//! Volet 2 (reinforced home support): admission steps and exit, as the regional
//! specifications describe them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Date, LOCAL_ID_PATTERN};

/// The accompaniment of one beneficiary in volet 2, from referral to exit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volet2 {
    pub referral: Referral,
    /// Home visit, multidisciplinary where possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_visit: Option<AdmissionStep>,
    /// Medical evaluation by the coordinating physician, with the GP where possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medical_evaluation: Option<AdmissionStep>,
    /// Date the personalised plan was drawn up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_drawn_up_on: Option<Date>,
    /// Date the support contract was signed by the beneficiary and the CRT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_signed_on: Option<Date>,
    /// The porteur director's decision, on the team's advice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<AdmissionDecision>,
    /// First day of the accompaniment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
}

/// Who referred the person, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Referral {
    pub source: ReferralSource,
    pub received_on: Date,
    /// Admission advised as an emergency.
    #[serde(default)]
    pub emergency: bool,
    /// Referral on discharge from hospital.
    #[serde(default)]
    pub after_hospital_discharge: bool,
    /// The referring professional, when in the care circle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub referrer: Option<String>,
}

/// Referral sources named by the regional specifications.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReferralSource {
    GeneralPractitioner,
    Hospital,
    /// Dispositif d'appui à la coordination.
    Dac,
    /// Communauté professionnelle territoriale de santé.
    Cpts,
    /// Maison de santé pluriprofessionnelle.
    Msp,
    /// Hospitalisation à domicile.
    Had,
    Ehpad,
    /// Service autonomie à domicile (SAD, SSIAD, SAAD).
    HomeCareService,
    /// Social workers of the département, CCAS, CLIC.
    SocialServices,
    /// The person themself.
    SelfReferral,
    Caregiver,
    Other,
}

/// A dated admission step and who took part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdmissionStep {
    pub date: Date,
    /// Care-circle members who took part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(LOCAL_ID_PATTERN)), length(max = 20))]
    pub professionals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdmissionDecision {
    pub outcome: DecisionOutcome,
    pub decided_on: Date,
    /// Why the admission was refused (required when refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub reason: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    Admitted,
    Refused,
}

/// The end of the accompaniment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exit {
    pub date: Date,
    pub reason: ExitReason,
    /// Who takes over (a common-law service, the DAC…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub relay: Option<String>,
}

/// The five exit cases of the national specification.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// Hospitalised for more than three months.
    HospitalisedOverThreeMonths,
    /// The beneficiary wishes to leave.
    BeneficiaryChoice,
    /// Moved to an EHPAD or a USLD.
    MovedToEhpadOrUsld,
    /// No longer meets the criteria assessed by the CRT coordinator.
    CriteriaNoLongerMet,
    /// Reinforced support no longer adds value for the beneficiary.
    NoAddedValue,
}
