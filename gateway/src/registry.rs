//! Configuration → the sinks in use, by target name. Adding a target is one line here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crt_core::record::Region;
use crt_core::sink::Sink;

use crate::config::Config;
use crate::sinks::journal::JournalSink;

/// The sinks this gateway delivers to.
#[derive(Default, Clone)]
pub struct Registry {
    sinks: BTreeMap<String, Arc<dyn Sink>>,
    /// Region → the target name of its e-parcours platform (`region:spico`…).
    regions: HashMap<Region, String>,
}

impl Registry {
    /// The sinks the configuration enables.
    pub fn from_config(config: &Config) -> std::io::Result<Self> {
        let mut registry = Registry::default();
        if config.sinks.journal.enabled {
            registry = registry.with(JournalSink::new(
                config.journal_directory(),
                &config.sinks.journal,
            )?);
        }
        Ok(registry)
    }

    /// Adds (or replaces) the sink for its target.
    pub fn with(mut self, sink: impl Sink) -> Self {
        self.sinks.insert(sink.target().to_string(), Arc::new(sink));
        self
    }

    /// Declares which target serves a region's platform.
    pub fn with_region(mut self, region: Region, target: impl Into<String>) -> Self {
        self.regions.insert(region, target.into());
        self
    }

    pub fn get(&self, target: &str) -> Option<&Arc<dyn Sink>> {
        self.sinks.get(target)
    }

    pub fn contains(&self, target: &str) -> bool {
        self.sinks.contains_key(target)
    }

    pub fn region_target(&self, region: Region) -> Option<&str> {
        self.regions
            .get(&region)
            .map(String::as_str)
            .filter(|target| self.contains(target))
    }

    pub fn sinks(&self) -> impl Iterator<Item = &Arc<dyn Sink>> {
        self.sinks.values()
    }

    /// The longest time one attempt may take, whatever the target.
    pub fn longest_timeout(&self) -> std::time::Duration {
        self.sinks
            .values()
            .map(|s| s.retry_policy().timeout)
            .max()
            .unwrap_or_default()
    }
}
