//! The INS check as a target of the gateway: its `[sinks.ins]` section, its sink and its
//! simulator.

use std::path::Path;
use std::sync::Arc;

use crt_core::identity::INS_TARGET;
use crt_core::simulate::{SimulatorTls, layout};
use crt_core::sink::{BoxFuture, Sink};
use crt_core::target::{Section, Simulation, Target, TargetError};
use crt_core::tls::CertificateIssuer;

use crate::InsiClient;
use crate::config::{InsConfig, InsStructure};
use crate::simulator::{InsiSimulator, Population};
use crate::sink::InsSink;

/// The INSi teleservice.
pub struct Ins;

impl Section for InsConfig {
    crt_core::enabled_and_retry!();

    fn required_for_service(&self) -> Vec<(&'static str, bool)> {
        vec![
            ("endpoint", self.endpoint.is_none()),
            ("trust", self.trust.is_none()),
            ("structures", self.structures.is_empty()),
        ]
    }

    fn check(&self) -> Result<(), String> {
        if self.enabled && uuid::Uuid::parse_str(&self.instance).is_err() {
            return Err(format!(
                "sinks.ins.instance must be a UUID (the LPS context's Instance), not {:?}",
                self.instance
            ));
        }
        Ok(())
    }
}

/// `base` pointed at the INSi simulator at `url`, with the test PKI's `INSI-AUTO`
/// certificate (other structures get theirs from the sandbox's issuer).
pub fn sandbox_section(base: &InsConfig, pki: &Path, url: &str) -> InsConfig {
    InsConfig {
        endpoint: Some(url.to_string()),
        trust: Some(pki.join(layout::CHAIN)),
        structures: vec![InsStructure {
            client_certificate: pki.join(layout::INSI),
            client_key: pki.join(layout::INSI_KEY),
        }],
        ..base.clone()
    }
}

impl Target for Ins {
    type Config = InsConfig;

    fn name(&self) -> &'static str {
        INS_TARGET
    }

    fn sink(
        &self,
        config: &InsConfig,
        issuer: Option<Arc<dyn CertificateIssuer>>,
    ) -> Result<Arc<dyn Sink>, TargetError> {
        let mut client =
            InsiClient::from_config(config).map_err(|e| TargetError::of(INS_TARGET, e))?;
        if let Some(issuer) = issuer {
            client = client.with_issuer(issuer);
        }
        Ok(Arc::new(InsSink::new(client, config)))
    }

    fn simulate<'a>(
        &'a self,
        config: &'a InsConfig,
        pki: &'a Path,
    ) -> BoxFuture<'a, Result<Simulation, String>> {
        Box::pin(async move {
            let population = Population::sandbox();
            let running = InsiSimulator::new(&SimulatorTls::from_pki(pki), population)
                .map_err(|e| e.to_string())?
                .start(([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| e.to_string())?;
            let section = sandbox_section(config, pki, &running.url());
            let task = running.task;
            Ok(Simulation::new(section, Arc::new(()), move || task.abort()))
        })
    }
}
