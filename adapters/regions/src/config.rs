//! `[regions.<platform>]`: one block per regional platform of [`crate::DIALECTS`], by the
//! platform's name. Adding a platform is its module (its [`Dialect`]) and its line in
//! `DIALECTS`; its block is then read here.

use std::collections::BTreeMap;
use std::time::Duration;

use crt_core::oauth::FhirAccess;
use crt_core::record::Region;
use crt_core::sink::RetryPolicy;
use serde::{Deserialize, Serialize};

use crate::dialect::Dialect;

/// The block of each platform this build knows, in the order of [`crate::DIALECTS`].
#[derive(Debug, Clone, PartialEq)]
pub struct RegionsConfig {
    blocks: Vec<(Dialect, PlatformConfig)>,
}

impl Default for RegionsConfig {
    fn default() -> Self {
        RegionsConfig {
            blocks: crate::DIALECTS
                .iter()
                .map(|dialect| (*dialect, PlatformConfig::default()))
                .collect(),
        }
    }
}

impl<'de> Deserialize<'de> for RegionsConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut given = BTreeMap::<String, PlatformConfig>::deserialize(deserializer)?;
        let blocks = crate::DIALECTS
            .iter()
            .map(|dialect| (*dialect, given.remove(dialect.name).unwrap_or_default()))
            .collect();
        if let Some(unknown) = given.keys().next() {
            let known: Vec<&str> = crate::DIALECTS.iter().map(|d| d.name).collect();
            return Err(serde::de::Error::custom(format!(
                "unknown platform `{unknown}`, expected one of {}",
                known.join(", ")
            )));
        }
        Ok(RegionsConfig { blocks })
    }
}

impl Serialize for RegionsConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.blocks
                .iter()
                .map(|(dialect, block)| (dialect.name, block)),
        )
    }
}

impl RegionsConfig {
    /// Each platform with its block.
    pub fn platforms(&self) -> Vec<(Dialect, &PlatformConfig)> {
        self.blocks
            .iter()
            .map(|(dialect, block)| (*dialect, block))
            .collect()
    }

    /// The block of the platform named `name` (`spico`…).
    pub fn platform(&self, name: &str) -> Option<&PlatformConfig> {
        self.blocks
            .iter()
            .find(|(dialect, _)| dialect.name == name)
            .map(|(_, block)| block)
    }

    pub fn platform_mut(&mut self, name: &str) -> Option<&mut PlatformConfig> {
        self.blocks
            .iter_mut()
            .find(|(dialect, _)| dialect.name == name)
            .map(|(_, block)| block)
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
        if let Some(eparcours) = config.platform_mut("eparcours") {
            eparcours.regions = Some(vec![Region::Occitanie]);
        }
        assert_eq!(
            config.conflicts(),
            vec![(Region::Occitanie, "spico", "eparcours")]
        );
    }

    #[test]
    fn each_platform_of_the_list_has_a_block_and_no_other_name_is_read() {
        let config: RegionsConfig =
            serde_json::from_value(serde_json::json!({ "spico": { "enabled": false } }))
                .expect("read");
        let names: Vec<&str> = config.platforms().iter().map(|(d, _)| d.name).collect();
        let listed: Vec<&str> = crate::DIALECTS.iter().map(|d| d.name).collect();
        assert_eq!(names, listed);
        assert!(!config.platform("spico").expect("block").enabled);
        assert!(config.platform("parcours").expect("block").enabled);

        let error = serde_json::from_value::<RegionsConfig>(
            serde_json::json!({ "normandie": { "enabled": true } }),
        )
        .expect_err("refused");
        assert!(
            error.to_string().contains("unknown platform `normandie`"),
            "{error}"
        );
    }
}
