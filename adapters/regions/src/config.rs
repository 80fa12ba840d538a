//! `[regions.<platform>]`: one block per regional platform. Adding a platform is one
//! module (its [`Dialect`]) and one field here.

use std::time::Duration;

use crt_core::oauth::FhirAccess;
use crt_core::record::Region;
use crt_core::sink::RetryPolicy;
use serde::{Deserialize, Serialize};

use crate::dialect::Dialect;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegionsConfig {
    /// Pays de la Loire.
    pub parcours: PlatformConfig,
    /// Occitanie.
    pub spico: PlatformConfig,
    /// The generic Cercle de soins platform, for the other regions.
    pub eparcours: PlatformConfig,
}

impl RegionsConfig {
    /// Each platform with its block.
    pub fn platforms(&self) -> [(Dialect, &PlatformConfig); 3] {
        [
            (crate::parcours::DIALECT, &self.parcours),
            (crate::spico::DIALECT, &self.spico),
            (crate::eparcours::DIALECT, &self.eparcours),
        ]
    }

    /// Regions claimed by two enabled platforms: a region has one platform.
    pub fn conflicts(&self) -> Vec<(Region, &'static str, &'static str)> {
        let mut seen: Vec<(Region, &'static str)> = Vec::new();
        let mut conflicts = Vec::new();
        for (dialect, config) in self.platforms() {
            if !config.enabled {
                continue;
            }
            for region in config.regions_of(&dialect) {
                match seen.iter().find(|(r, _)| *r == region) {
                    Some((_, first)) => conflicts.push((region, *first, dialect.name)),
                    None => seen.push((region, dialect.name)),
                }
            }
        }
        conflicts
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformConfig {
    pub enabled: bool,
    /// The regions (INSEE codes) whose CRTs share with this platform. Absent: the
    /// platform's own (`52` for Parcours, `76` for SPICO, the others for eparcours).
    pub regions: Option<Vec<Region>>,
    /// Where the platform is and how the gateway is known to it (the secret: prefer the
    /// platform's environment variable, `CRT_SPICO_CLIENT_SECRET`…).
    #[serde(flatten)]
    pub access: FhirAccess,
    /// How often partners' liaison entries are read back.
    #[serde(with = "crt_core::sink::millis")]
    pub poll_interval: Duration,
    pub max_answer_bytes: usize,
    pub retry: RetryPolicy,
}

impl PlatformConfig {
    pub fn regions_of(&self, dialect: &Dialect) -> Vec<Region> {
        match &self.regions {
            Some(regions) => regions.clone(),
            None => dialect.regions.to_vec(),
        }
    }
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig {
            enabled: true,
            regions: None,
            access: FhirAccess::default(),
            poll_interval: Duration::from_secs(60),
            max_answer_bytes: 8 * 1024 * 1024,
            retry: RetryPolicy {
                max_attempts: 8,
                initial_backoff: Duration::from_secs(5),
                max_backoff: Duration::from_secs(900),
                timeout: Duration::from_secs(30),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_each_region_has_one_platform() {
        assert!(RegionsConfig::default().conflicts().is_empty());
    }

    #[test]
    fn a_region_claimed_twice_is_a_conflict() {
        let mut config = RegionsConfig::default();
        config.eparcours.regions = Some(vec![Region::Occitanie]);
        assert_eq!(
            config.conflicts(),
            vec![(Region::Occitanie, "spico", "eparcours")]
        );
    }
}
