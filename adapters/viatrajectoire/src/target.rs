//! ViaTrajectoire as a target of the gateway: its `[sinks.viatrajectoire]` section, its
//! sink and its simulator.

use std::path::Path;
use std::sync::Arc;

use crt_core::simulate::SimulatorTls;
use crt_core::sink::{BoxFuture, Sink};
use crt_core::target::{Section, Simulation, Target, TargetError};
use crt_core::tls::CertificateIssuer;

use crate::client::ViatrajectoireClient;
use crate::config::ViatrajectoireConfig;
use crate::incoming::NewRequest;
use crate::simulator::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ViatrajectoireSimulator};
use crate::sink::{TARGET, ViatrajectoireSink};

/// The admission requests waiting in the sandbox's ViaTrajectoire when it starts, one per
/// example CRT that answers one (`VT-GA-00000001`, `VT-GA-00000002`…, in this order).
const SANDBOX_REQUESTS: &str =
    include_str!("../../../schemas/viatrajectoire/examples/sandbox-requests.json");

/// ViaTrajectoire: answers to volet 2 admission requests, and the waiting lists.
pub struct Viatrajectoire;

impl Section for ViatrajectoireConfig {
    crt_core::enabled_and_retry!();

    fn required_for_service(&self) -> Vec<(&'static str, bool)> {
        let access = &self.access;
        vec![
            ("base_url", access.base_url.is_none()),
            ("token_url", access.token_url.is_none()),
            ("client_id", access.client_id.is_none()),
            ("client_certificate", access.client_certificate.is_none()),
            ("client_key", access.client_key.is_none()),
            ("trust", access.trust.is_none()),
        ]
    }
}

impl Target for Viatrajectoire {
    type Config = ViatrajectoireConfig;

    fn name(&self) -> &'static str {
        TARGET
    }

    fn sink(
        &self,
        config: &ViatrajectoireConfig,
        _issuer: Option<Arc<dyn CertificateIssuer>>,
    ) -> Result<Arc<dyn Sink>, TargetError> {
        let client = ViatrajectoireClient::new(config).map_err(|e| TargetError::of(TARGET, e))?;
        Ok(Arc::new(ViatrajectoireSink::new(Arc::new(client), config)))
    }

    /// The simulator's state is its [`crate::simulator::Platform`], holding the example
    /// requests; the section names its FHIR base and token endpoint, the client it
    /// registered and the test PKI's example certificate.
    fn simulate<'a>(
        &'a self,
        config: &'a ViatrajectoireConfig,
        pki: &'a Path,
    ) -> BoxFuture<'a, Result<Simulation, String>> {
        Box::pin(async move {
            let simulator = ViatrajectoireSimulator::new(&SimulatorTls::from_pki(pki))
                .map_err(|e| e.to_string())?;
            let platform = simulator.platform();
            let requests: Vec<NewRequest> =
                serde_json::from_str(SANDBOX_REQUESTS).map_err(|e| e.to_string())?;
            for request in &requests {
                platform.receive(request);
            }
            let running = simulator
                .start(([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| e.to_string())?;
            let section = ViatrajectoireConfig {
                access: running.fhir_access(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, pki),
                ..config.clone()
            };
            let task = running.task;
            Ok(Simulation::new(section, platform, move || task.abort()))
        })
    }
}
