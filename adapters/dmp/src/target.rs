//! Feeding the DMP as a target of the gateway: its `[sinks.dmp]` section, its sink and its
//! simulator.

use std::path::Path;
use std::sync::Arc;

use crt_core::simulate::{SimulatorTls, layout};
use crt_core::sink::{BoxFuture, Sink};
use crt_core::target::{Section, Simulation, Target, TargetError};
use crt_core::tls::CertificateIssuer;

use crate::DmpClient;
use crate::config::{DmpConfig, StructureCertificates};
use crate::simulator::DmpSimulator;
use crate::sink::{DmpSink, TARGET};

/// The DMP (ITI-41 and the updates of documents already sent).
pub struct Dmp;

impl Section for DmpConfig {
    crt_core::enabled_and_retry!();

    fn required_for_service(&self) -> Vec<(&'static str, bool)> {
        vec![
            ("endpoint", self.endpoint.is_none()),
            ("trust", self.trust.is_none()),
            ("structures", self.structures.is_empty()),
        ]
    }
}

/// `base` pointed at the DMP at `url` with the test PKI's example structure (others are
/// issued certificates on demand).
pub fn sandbox_section(base: &DmpConfig, pki: &Path, url: &str) -> DmpConfig {
    DmpConfig {
        endpoint: Some(url.to_string()),
        trust: Some(pki.join(layout::CHAIN)),
        structures: vec![StructureCertificates {
            client_certificate: pki.join(layout::CLIENT),
            client_key: pki.join(layout::CLIENT_KEY),
            signing_certificate: pki.join(layout::SIGNING),
            signing_key: pki.join(layout::SIGNING_KEY),
            oid_root: None,
        }],
        ..base.clone()
    }
}

impl Target for Dmp {
    type Config = DmpConfig;

    fn name(&self) -> &'static str {
        TARGET
    }

    fn sink(
        &self,
        config: &DmpConfig,
        issuer: Option<Arc<dyn CertificateIssuer>>,
    ) -> Result<Arc<dyn Sink>, TargetError> {
        let mut client = DmpClient::from_config(config).map_err(|e| TargetError::of(TARGET, e))?;
        if let Some(issuer) = issuer {
            client = client.with_issuer(issuer);
        }
        Ok(Arc::new(DmpSink::new(client, config)))
    }

    fn simulate<'a>(
        &'a self,
        config: &'a DmpConfig,
        pki: &'a Path,
    ) -> BoxFuture<'a, Result<Simulation, String>> {
        Box::pin(async move {
            let running = DmpSimulator::new(&SimulatorTls::from_pki(pki))
                .map_err(|e| e.to_string())?
                .start(([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| e.to_string())?;
            let section = sandbox_section(config, pki, &running.url(""));
            let task = running.task;
            Ok(Simulation::new(section, Arc::new(()), move || task.abort()))
        })
    }
}
