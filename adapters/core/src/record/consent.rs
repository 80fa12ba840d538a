//! Consent and oppositions: what the beneficiary accepted or refused, by target.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{LOCAL_ID_PATTERN, Timestamp};

/// The beneficiary's choices, one per target the gateway can send to. A choice that is
/// absent means none was expressed; what that allows depends on the target (the DMP is
/// fed unless the person opposed it; sharing beyond the care team needs consent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consents {
    /// Feeding the DMP (Mon espace santé); the law gives a right of opposition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dmp_feeding: Option<ConsentChoice>,
    /// Visibility restrictions to apply to documents sent to the DMP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 3))]
    pub dmp_masking: Vec<DmpMasking>,
    /// Sharing with the regional e-parcours platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regional_platform: Option<ConsentChoice>,
    /// Messages to the beneficiary's own MSSanté mailbox (Mon espace santé).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mssante_to_patient: Option<ConsentChoice>,
    /// Sending the admission file through ViaTrajectoire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viatrajectoire: Option<ConsentChoice>,
}

/// One choice and who recorded it when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentChoice {
    pub decision: ConsentDecision,
    pub recorded_at: Timestamp,
    /// The care-circle member who recorded it.
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub recorded_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentDecision {
    Granted,
    Opposed,
}

impl ConsentChoice {
    pub fn is_opposed(&self) -> bool {
        self.decision == ConsentDecision::Opposed
    }
}

/// DMP visibility options (confidentiality codes 1.2.250.1.213.1.1.4.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DmpMasking {
    /// `MASQUE_PS`: hidden from professionals.
    HiddenFromProfessionals,
    /// `INVISIBLE_PATIENT`: not visible to the patient.
    InvisibleToPatient,
    /// `INVISIBLE_REPRESENTANTS_LEGAUX`: not visible to legal representatives.
    InvisibleToLegalRepresentatives,
}

impl DmpMasking {
    pub fn code(self) -> &'static str {
        match self {
            DmpMasking::HiddenFromProfessionals => "MASQUE_PS",
            DmpMasking::InvisibleToPatient => "INVISIBLE_PATIENT",
            DmpMasking::InvisibleToLegalRepresentatives => "INVISIBLE_REPRESENTANTS_LEGAUX",
        }
    }
}
