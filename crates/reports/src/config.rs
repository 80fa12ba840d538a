//! `[reports]`: the figures a CRT's reports are measured against.

use serde::{Deserialize, Serialize};

/// `[reports]`: what the activity reports are measured against.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// The part of each CRT's annual allocation earmarked for the volet 2 forfait, in EUR,
    /// by FINESS of the CRT's establishment. A CRT not listed is measured against a full
    /// volet 2: 25 places × 900 EUR × 12 months = 270,000 EUR.
    pub volet2_allocation_eur: std::collections::BTreeMap<String, u64>,
}

impl ReportsConfig {
    /// The settings of a report on `crt` made at `now`.
    pub fn settings(&self, crt: &str, now: crt_store::Millis) -> crate::Settings {
        let mut settings = crate::Settings::standard(now);
        if let Some(allocation) = self.volet2_allocation_eur.get(crt) {
            settings.volet2_allocation_eur = *allocation;
        }
        settings
    }
}
