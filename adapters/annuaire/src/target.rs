//! The care-circle check as a target of the gateway: its `[sinks.directory]` section, its
//! sink and its simulator.

use std::path::Path;
use std::sync::Arc;

use crt_core::directory::DIRECTORY_TARGET;
use crt_core::simulate::{SimulatorTls, layout};
use crt_core::sink::{BoxFuture, Sink};
use crt_core::target::{Section, Simulation, Target, TargetError};
use crt_core::tls::CertificateIssuer;

use crate::client::Directory;
use crate::config::AnnuaireConfig;
use crate::simulator::{AnnuaireSimulator, SANDBOX_API_KEY, sandbox_population};
use crate::sink::DirectorySink;

/// The Annuaire Santé (national directory of health professionals).
pub struct AnnuaireTarget;

impl Section for AnnuaireConfig {
    crt_core::enabled_and_retry!();

    /// The key may come from the environment instead of the file.
    fn required_for_service(&self) -> Vec<(&'static str, bool)> {
        vec![
            ("base_url", self.base_url.is_none()),
            ("api_key", self.resolved_api_key().is_none()),
            ("trust", self.trust.is_none()),
        ]
    }

    fn check(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        if self
            .base_url
            .as_deref()
            .is_some_and(|url| !url.starts_with("https://"))
        {
            return Err("sinks.directory.base_url must be an https:// URL".into());
        }
        if self.timeout_ms == 0 {
            return Err("sinks.directory.timeout_ms must be more than 0".into());
        }
        // One attempt must leave room for at least one search and the report.
        if self.timeout() + std::time::Duration::from_secs(1) >= self.retry.timeout {
            return Err(format!(
                "sinks.directory.retry.timeout ({} ms) must exceed timeout_ms ({}) by more than a second",
                self.retry.timeout.as_millis(),
                self.timeout_ms
            ));
        }
        Ok(())
    }
}

/// `base` pointed at the simulator at `base_url`, with the sandbox's key and the test
/// PKI's chain as trust.
pub fn sandbox_section(base: &AnnuaireConfig, pki: &Path, base_url: &str) -> AnnuaireConfig {
    AnnuaireConfig {
        base_url: Some(base_url.to_string()),
        api_key: Some(SANDBOX_API_KEY.into()),
        trust: Some(pki.join(layout::CHAIN)),
        ..base.clone()
    }
}

impl Target for AnnuaireTarget {
    type Config = AnnuaireConfig;

    fn name(&self) -> &'static str {
        DIRECTORY_TARGET
    }

    fn sink(
        &self,
        config: &AnnuaireConfig,
        _issuer: Option<Arc<dyn CertificateIssuer>>,
    ) -> Result<Arc<dyn Sink>, TargetError> {
        let directory =
            Directory::from_config(config).map_err(|e| TargetError::of(DIRECTORY_TARGET, e))?;
        Ok(Arc::new(DirectorySink::new(directory, config)))
    }

    /// The simulator's state is its [`crate::simulator::Population`], to which the
    /// sandbox may add the care circles of the records it loads.
    fn simulate<'a>(
        &'a self,
        config: &'a AnnuaireConfig,
        pki: &'a Path,
    ) -> BoxFuture<'a, Result<Simulation, String>> {
        Box::pin(async move {
            let simulator =
                AnnuaireSimulator::new(&SimulatorTls::from_pki(pki), sandbox_population())
                    .map_err(|e| e.to_string())?;
            let population = simulator.population();
            let running = simulator
                .start(([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| e.to_string())?;
            let section = sandbox_section(config, pki, &running.base_url());
            let task = running.task;
            Ok(Simulation::new(section, population, move || task.abort()))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crt_core::directory::MemberStatus;
    use crt_core::sink::{DeliveryTask, Work};
    use crt_core::target::AnyTarget;

    use super::*;
    use crate::simulator::tests::pki;

    #[test]
    fn the_section_names_what_the_service_needs() {
        let missing: Vec<&str> = AnnuaireConfig {
            api_key: Some("k".into()),
            ..AnnuaireConfig::default()
        }
        .required_for_service()
        .into_iter()
        .filter(|(_, missing)| *missing)
        .map(|(key, _)| key)
        .collect();
        assert_eq!(missing, ["base_url", "trust"]);
        assert!(Section::check(&AnnuaireConfig::default()).is_ok());
        let plain = AnnuaireConfig {
            base_url: Some("http://gateway.api.esante.gouv.fr/fhir/v2".into()),
            ..AnnuaireConfig::default()
        };
        assert!(Section::check(&plain).is_err());
        let cramped = AnnuaireConfig {
            timeout_ms: 60_000,
            ..AnnuaireConfig::default()
        };
        assert!(Section::check(&cramped).is_err());
        let off = AnnuaireConfig {
            enabled: false,
            ..cramped
        };
        assert!(Section::check(&off).is_ok());
    }

    #[test]
    fn reads_its_section_and_refuses_unknown_keys() {
        let target: &dyn AnyTarget = &AnnuaireTarget;
        assert_eq!(target.name(), "directory");
        let section = target
            .section(Some(
                serde_json::json!({"cache_seconds": 60, "retry": {"timeout": 30000}}),
            ))
            .expect("a section");
        let config = section.get::<AnnuaireConfig>().expect("its type");
        assert_eq!(config.cache_seconds, 60);
        assert_eq!(config.retry.timeout, Duration::from_secs(30));
        assert!(
            target
                .section(Some(serde_json::json!({"apikey": "x"})))
                .is_err()
        );
    }

    #[tokio::test]
    async fn the_sandbox_serves_its_people_to_the_sink_built_from_its_section() {
        crt_core::tls::install_default_provider();
        let simulation = Target::simulate(&AnnuaireTarget, &AnnuaireConfig::default(), &pki())
            .await
            .expect("the simulator starts");
        let section = simulation
            .section
            .get::<AnnuaireConfig>()
            .expect("its section")
            .clone();
        assert!(
            section
                .required_for_service()
                .iter()
                .all(|(_, missing)| !missing)
        );
        // The sink built from the section, with the sandbox's key whatever the
        // environment holds.
        let directory =
            Directory::with_api_key(&section, SANDBOX_API_KEY.into()).expect("a client");
        let sink = DirectorySink::new(directory, &section);
        assert!(sink.check().await.healthy);
        let mut record = crate::sink::tests::example_record();
        record.care_circle.retain(|m| m.id == "pro-idel");
        record.care_circle[0].mssante_address = None;
        let task = DeliveryTask {
            delivery_id: uuid::Uuid::now_v7(),
            record_id: uuid::Uuid::now_v7(),
            attempt: 1,
            work: Work::CheckCareCircle,
            record: Arc::new(record),
            upstream: Vec::new(),
        };
        let receipt = sink.deliver(&task).await.expect("delivered");
        assert_eq!(receipt.summary, "1 member checked: 1 known");
        let checks: Vec<crt_core::directory::MemberCheck> =
            serde_json::from_slice(&receipt.artifacts[0].content).expect("the report");
        assert_eq!(checks[0].status, MemberStatus::Known);
        assert_eq!(
            checks[0].mssante_from_directory.as_deref(),
            Some("julien.roux@infirmier.mssante.fr")
        );
        simulation.stop();
    }
}
