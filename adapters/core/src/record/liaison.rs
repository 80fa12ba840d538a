//! The liaison book (cahier de liaison): what the people around the beneficiary write for
//! each other, shared through the regional e-parcours platform.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{LOCAL_ID_PATTERN, Timestamp};

/// One entry written by a care-circle member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiaisonEntry {
    /// Local identifier, stable across updates of the record: a repeated share does not
    /// post the entry twice.
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub id: String,
    pub kind: LiaisonKind,
    pub topic: LiaisonTopic,
    /// The care-circle member who wrote it.
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub author: String,
    pub written_at: Timestamp,
    #[schemars(length(min = 1, max = 4000))]
    pub text: String,
}

/// A note is read when partners open the book; an alert asks for their attention now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LiaisonKind {
    Note,
    Alert,
}

impl LiaisonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LiaisonKind::Note => "note",
            LiaisonKind::Alert => "alert",
        }
    }

    pub fn parse(text: &str) -> Option<LiaisonKind> {
        [LiaisonKind::Note, LiaisonKind::Alert]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// What an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LiaisonTopic {
    Care,
    HealthChange,
    Fall,
    Medication,
    Nutrition,
    Behaviour,
    DailyLife,
    Caregiver,
    Coordination,
    Other,
}

impl LiaisonTopic {
    pub const ALL: [LiaisonTopic; 10] = [
        LiaisonTopic::Care,
        LiaisonTopic::HealthChange,
        LiaisonTopic::Fall,
        LiaisonTopic::Medication,
        LiaisonTopic::Nutrition,
        LiaisonTopic::Behaviour,
        LiaisonTopic::DailyLife,
        LiaisonTopic::Caregiver,
        LiaisonTopic::Coordination,
        LiaisonTopic::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LiaisonTopic::Care => "care",
            LiaisonTopic::HealthChange => "health_change",
            LiaisonTopic::Fall => "fall",
            LiaisonTopic::Medication => "medication",
            LiaisonTopic::Nutrition => "nutrition",
            LiaisonTopic::Behaviour => "behaviour",
            LiaisonTopic::DailyLife => "daily_life",
            LiaisonTopic::Caregiver => "caregiver",
            LiaisonTopic::Coordination => "coordination",
            LiaisonTopic::Other => "other",
        }
    }

    /// The French label shown to partners.
    pub fn label(self) -> &'static str {
        match self {
            LiaisonTopic::Care => "Soins",
            LiaisonTopic::HealthChange => "Évolution de l'état de santé",
            LiaisonTopic::Fall => "Chute",
            LiaisonTopic::Medication => "Traitement",
            LiaisonTopic::Nutrition => "Alimentation",
            LiaisonTopic::Behaviour => "Comportement",
            LiaisonTopic::DailyLife => "Vie quotidienne",
            LiaisonTopic::Caregiver => "Aidant",
            LiaisonTopic::Coordination => "Coordination",
            LiaisonTopic::Other => "Autre",
        }
    }

    pub fn parse(text: &str) -> Option<LiaisonTopic> {
        LiaisonTopic::ALL.into_iter().find(|t| t.as_str() == text)
    }
}
