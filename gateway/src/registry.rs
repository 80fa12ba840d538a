//! Configuration → the sinks in use, by target name: the journal, the targets of
//! [`crate::targets::TARGETS`] and the regional platforms of [`crt_regions::DIALECTS`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crt_core::record::Region;
use crt_core::sink::Sink;

use crt_core::target::TargetError;
use crt_core::tls::CertificateIssuer;
use crt_mssante::MssanteSink;
use crt_regions::RegionSink;
use crt_regions::client::FhirPlatform;
use crt_regions::platform::RegionalPlatform;
use crt_viatrajectoire::client::ViatrajectoireClient;
use crt_viatrajectoire::{ViatrajectoireConfig, ViatrajectoireSink};

use crate::config::Config;
use crate::sinks::journal::JournalSink;

/// The record validator with the rules of every adapter.
pub fn record_validator() -> crt_core::RecordValidator {
    crt_core::RecordValidator::new()
        .with_rule(crt_ins::InsRecordRule)
        .with_rule(crt_dmp::DmpRecordRule)
        .with_rule(crt_telemonitoring::ThresholdRecordRule)
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("journal: {0}")]
    Journal(std::io::Error),
    #[error("{0}")]
    Target(#[from] TargetError),
    #[error("{0}")]
    Region(#[from] crt_core::oauth::AccessError),
}

/// The sinks this gateway delivers to.
#[derive(Default, Clone)]
pub struct Registry {
    sinks: BTreeMap<String, Arc<dyn Sink>>,
    /// Region → the target name of its e-parcours platform (`region:spico`…).
    regions: HashMap<Region, String>,
    mssante: Option<Arc<MssanteSink>>,
    /// The DMP's sink, whose client consults the DMP for the care team.
    dmp: Option<Arc<crt_dmp::DmpSink>>,
    /// The ViaTrajectoire client and how often to read statuses back, for the waiting list.
    viatrajectoire: Option<(Arc<ViatrajectoireClient>, std::time::Duration)>,
    /// The regional platforms and how often to read partners' entries back.
    platforms: Vec<(Arc<dyn RegionalPlatform>, std::time::Duration)>,
}

impl Registry {
    /// The sinks the configuration enables: the journal, each enabled target of
    /// `[sinks]`, each enabled regional platform, as `config` describes them: the sandbox
    /// hands a configuration already pointed at its simulators, and `issuer`, which issues
    /// certificates to structures the configuration does not list. Nothing here knows of
    /// the simulators.
    pub fn from_config(
        config: &Config,
        issuer: Option<Arc<dyn CertificateIssuer>>,
    ) -> Result<Self, RegistryError> {
        let mut registry = Registry::default();
        if config.sinks.journal.enabled {
            let journal = JournalSink::new(config.journal_directory(), &config.sinks.journal)
                .map_err(RegistryError::Journal)?;
            registry = registry.with(journal);
        }
        for service in config.sinks.services() {
            if !service.section.enabled() {
                continue;
            }
            let sink = service.target.sink(&*service.section, issuer.clone())?;
            registry
                .sinks
                .insert(service.target.name().to_string(), sink);
        }
        registry.mssante = registry.sink_as::<MssanteSink>(crt_mssante::sink::TARGET);
        registry.dmp = registry.sink_as::<crt_dmp::DmpSink>(crt_dmp::sink::TARGET);
        registry.viatrajectoire = registry
            .sink_as::<ViatrajectoireSink>(crt_viatrajectoire::sink::TARGET)
            .map(|sink| {
                let section = config.sinks.section::<ViatrajectoireConfig>();
                (sink.client().clone(), section.poll_interval)
            });
        for (dialect, platform) in config.regions.platforms() {
            if !platform.enabled {
                continue;
            }
            let client: Arc<dyn RegionalPlatform> = Arc::new(FhirPlatform::new(dialect, platform)?);
            registry
                .platforms
                .push((client.clone(), platform.poll_interval));
            let sink = RegionSink::new(client, platform.retry.clone());
            for region in platform.regions_of(&dialect) {
                registry = registry.with_region(region, sink.target());
            }
            registry = registry.with(sink);
        }
        Ok(registry)
    }

    /// The sink of `target` as its own type, when it is one.
    fn sink_as<T: Sink>(&self, target: &str) -> Option<Arc<T>> {
        let sink = self.sinks.get(target)?.clone();
        sink.into_any().downcast::<T>().ok()
    }

    /// The ViaTrajectoire client and its poll interval, when the target is enabled.
    pub fn viatrajectoire(&self) -> Option<&(Arc<ViatrajectoireClient>, std::time::Duration)> {
        self.viatrajectoire.as_ref()
    }

    /// The regional platforms in use, with their poll intervals, for the liaison reader.
    pub fn platforms(&self) -> &[(Arc<dyn RegionalPlatform>, std::time::Duration)] {
        &self.platforms
    }

    /// The MSSanté sink, whose mailboxes the acknowledgement reader reads.
    pub fn mssante(&self) -> Option<&Arc<MssanteSink>> {
        self.mssante.as_ref()
    }

    /// The DMP's sink, when the target is enabled: consultation goes through its client.
    pub fn dmp(&self) -> Option<&Arc<crt_dmp::DmpSink>> {
        self.dmp.as_ref()
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

#[cfg(test)]
mod tests {
    //! The recipe of `docs/architecture.md`: a national service is an adapter that
    //! describes its target, and one line in the list of targets. The `echo` target below
    //! stands for such an adapter; the list it is added to is [`TARGETS`] plus its line.

    use std::path::Path;
    use std::sync::Arc;

    use crt_core::sink::{Attempt, BoxFuture, Health, Receipt, RetryPolicy, Sink};
    use crt_core::target::{AnyTarget, Section, Simulation, Target, TargetError};
    use crt_core::tls::CertificateIssuer;
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::config::SinksConfig;
    use crate::sandbox::Sandbox;
    use crate::targets::TARGETS;

    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct EchoConfig {
        enabled: bool,
        endpoint: Option<String>,
        retry: RetryPolicy,
    }

    impl Section for EchoConfig {
        crt_core::enabled_and_retry!();

        fn required_for_service(&self) -> Vec<(&'static str, bool)> {
            vec![("endpoint", self.endpoint.is_none())]
        }
    }

    struct EchoSink {
        endpoint: String,
        retry: RetryPolicy,
    }

    impl Sink for EchoSink {
        fn target(&self) -> &str {
            "echo"
        }

        fn check(&self) -> BoxFuture<'_, Health> {
            Box::pin(async { Health::up("echo") })
        }

        fn deliver<'a>(&'a self, _: &'a crt_core::sink::DeliveryTask) -> Attempt<'a> {
            Box::pin(async { Ok(Receipt::delivered(format!("echoed by {}", self.endpoint))) })
        }

        fn retry_policy(&self) -> &RetryPolicy {
            &self.retry
        }
    }

    /// The echo service's simulator holds how many times it was started.
    struct Echo;

    impl Target for Echo {
        type Config = EchoConfig;

        fn name(&self) -> &'static str {
            "echo"
        }

        fn sink(
            &self,
            config: &EchoConfig,
            _: Option<Arc<dyn CertificateIssuer>>,
        ) -> Result<Arc<dyn Sink>, TargetError> {
            let endpoint = config
                .endpoint
                .clone()
                .ok_or_else(|| TargetError::of("echo", "no endpoint"))?;
            Ok(Arc::new(EchoSink {
                endpoint,
                retry: config.retry.clone(),
            }))
        }

        fn simulate<'a>(
            &'a self,
            config: &'a EchoConfig,
            _pki: &'a Path,
        ) -> BoxFuture<'a, Result<Simulation, String>> {
            Box::pin(async move {
                let simulated = EchoConfig {
                    endpoint: Some("https://localhost/echo-simulator".into()),
                    ..config.clone()
                };
                Ok(Simulation::new(simulated, Arc::new("echo state"), || {}))
            })
        }
    }

    /// The targets of this build and the echo service's line.
    fn targets_with_echo() -> Vec<&'static dyn AnyTarget> {
        let mut targets = TARGETS.to_vec();
        targets.push(&Echo);
        targets
    }

    fn config_with_echo(echo: serde_json::Value, sandbox: bool) -> (Config, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.sandbox.enabled = sandbox;
        config.sandbox.certs_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs-example");
        config.storage.data_dir = dir.path().to_path_buf();
        for dialect in crt_regions::DIALECTS {
            if let Some(platform) = config.regions.platform_mut(dialect.name) {
                platform.enabled = false;
            }
        }
        let sections = serde_json::from_value(serde_json::json!({
            "journal": { "enabled": false },
            "ins": { "enabled": false },
            "dmp": { "enabled": false },
            "mssante": { "enabled": false },
            "viatrajectoire": { "enabled": false },
            "directory": { "enabled": false },
            "echo": echo,
        }))
        .expect("sections");
        config.sinks = SinksConfig::read(sections, &targets_with_echo()).expect("read");
        (config, dir)
    }

    #[test]
    fn a_target_added_to_the_list_has_its_section_read_and_its_sink_registered() {
        let (config, _dir) = config_with_echo(
            serde_json::json!({ "enabled": true, "endpoint": "https://echo.example" }),
            false,
        );
        let registry = Registry::from_config(&config, None).expect("registry");
        let echo = registry.get("echo").expect("the echo sink is registered");
        assert_eq!(echo.target(), "echo");
        assert_eq!(registry.sinks().count(), 1);

        let unknown = SinksConfig::read(
            serde_json::from_value(serde_json::json!({ "echo": {} })).expect("sections"),
            TARGETS,
        )
        .expect_err("without its line, the section is refused");
        assert!(unknown.contains("unknown sink `echo`"), "{unknown}");
        let misspelt = SinksConfig::read(
            serde_json::from_value(serde_json::json!({ "echo": { "endpont": "x" } }))
                .expect("sections"),
            &targets_with_echo(),
        )
        .expect_err("its own keys are checked by its section's type");
        assert!(
            misspelt.starts_with("echo: unknown field `endpont`"),
            "{misspelt}"
        );
    }

    #[tokio::test]
    async fn the_sandbox_starts_an_added_target_simulator_and_its_sink_is_pointed_at_it() {
        let (config, _dir) = config_with_echo(serde_json::json!({ "enabled": true }), true);
        let sandbox = Sandbox::start(&config).await.expect("sandbox");
        assert_eq!(
            sandbox.state::<&str>("echo").as_deref(),
            Some(&"echo state")
        );
        let config = sandbox.configure(&config);
        let section = config.sinks.section::<EchoConfig>();
        assert_eq!(
            section.endpoint.as_deref(),
            Some("https://localhost/echo-simulator")
        );
        let registry = Registry::from_config(&config, None).expect("registry");
        assert!(registry.contains("echo"));
        sandbox.stop();
    }
}
