//! Telemonitoring at home: what a telemonitoring platform measures for the beneficiary
//! and the bounds the CRT's physician set for each measure. An observation outside its
//! bounds becomes an on-call alert.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Coding;

/// The bounds of one measure. At least one bound; both are inclusive limits of what is
/// expected (a value below `low` or above `high` raises an alert).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringThreshold {
    /// The measure as observations code it: a LOINC vital sign (`29463-7` body weight,
    /// `8867-4` heart rate, `8480-6` systolic blood pressure…) or another LOINC or SNOMED
    /// CT code the platform sends.
    pub code: Coding,
    /// The UCUM unit the bounds are written in (`kg`, `/min`, `mm[Hg]`, `%`, `Cel`).
    #[schemars(length(min = 1, max = 32))]
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
}

impl MonitoringThreshold {
    /// Whether `value` (in the threshold's unit) lies outside the bounds.
    pub fn crossed_by(&self, value: f64) -> bool {
        self.low.is_some_and(|low| value < low) || self.high.is_some_and(|high| value > high)
    }
}
