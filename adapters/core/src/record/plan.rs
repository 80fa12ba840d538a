//! The personalised support plan, on the model of the PPCS (plan personnalisé de
//! coordination en santé): problems, goals, actions and who is responsible.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Coding, Date, LOCAL_ID_PATTERN};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalisedPlan {
    /// Stable identifier of the plan in the DUI; a new version keeps it.
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub id: String,
    /// Version of the plan, from 1; each new version replaces the previous document.
    #[schemars(range(min = 1))]
    pub version: u32,
    pub drawn_up_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_on: Option<Date>,
    /// The care-circle member who wrote the plan (usually the nurse coordinator).
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub author: String,
    #[schemars(length(min = 1, max = 50))]
    pub problems: Vec<PlanProblem>,
    #[schemars(length(min = 1, max = 100))]
    pub goals: Vec<PlanGoal>,
    #[schemars(length(min = 1, max = 200))]
    pub actions: Vec<PlanAction>,
}

/// A need or problem the plan addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanProblem {
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub id: String,
    pub domain: PlanDomain,
    #[schemars(length(min = 1, max = 500))]
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Coding>,
}

/// Domains of a multidimensional assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanDomain {
    Health,
    Autonomy,
    Nutrition,
    Mobility,
    Cognition,
    Mood,
    SocialLife,
    Housing,
    Caregiver,
    Safety,
    Administrative,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanGoal {
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub id: String,
    #[schemars(length(min = 1, max = 500))]
    pub label: String,
    /// The problems this goal answers.
    #[schemars(length(min = 1), inner(pattern(LOCAL_ID_PATTERN)))]
    pub problems: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_on: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanAction {
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub id: String,
    #[schemars(length(min = 1, max = 500))]
    pub label: String,
    /// The goals this action serves.
    #[schemars(length(min = 1), inner(pattern(LOCAL_ID_PATTERN)))]
    pub goals: Vec<String>,
    /// The care-circle member responsible for the action.
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub responsible: String,
    /// How often, in words ("twice a week").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub frequency: Option<String>,
    pub start_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_on: Option<Date>,
    pub status: PlanActionStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanActionStatus {
    Planned,
    InProgress,
    Done,
    Cancelled,
}
