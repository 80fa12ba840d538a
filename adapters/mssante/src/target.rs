//! MSSanté as a target of the gateway: its `[sinks.mssante]` section, its sink and the
//! simulated operator.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crt_core::simulate::{SimulatorTls, layout};
use crt_core::sink::{BoxFuture, Sink};
use crt_core::target::{Section, Simulation, Target, TargetError};
use crt_core::tls::CertificateIssuer;

use crate::config::MssanteConfig;
use crate::simulator::MssanteSimulator;
use crate::sink::{MssanteSink, TARGET};

/// The MSSanté operator: SMTP to send, IMAP to read acknowledgements back.
pub struct Mssante;

impl Section for MssanteConfig {
    crt_core::enabled_and_retry!();

    fn required_for_service(&self) -> Vec<(&'static str, bool)> {
        vec![
            ("smtp", self.smtp.is_none()),
            ("imap", self.imap.is_none()),
            ("trust", self.trust.is_none()),
            ("mailboxes", self.mailboxes.is_empty()),
            (
                "product_reference",
                self.product_reference.trim().is_empty(),
            ),
        ]
    }
}

impl Target for Mssante {
    type Config = MssanteConfig;

    fn name(&self) -> &'static str {
        TARGET
    }

    fn sink(
        &self,
        config: &MssanteConfig,
        issuer: Option<Arc<dyn CertificateIssuer>>,
    ) -> Result<Arc<dyn Sink>, TargetError> {
        // The setup errors name the section's keys themselves.
        let mut sink = MssanteSink::new(config).map_err(|e| TargetError(e.to_string()))?;
        if let Some(issuer) = issuer {
            sink = sink.with_issuer(issuer);
        }
        Ok(Arc::new(sink))
    }

    /// The operator's state is its [`crate::simulator::Operator`]; the section names its
    /// SMTP and IMAP ports with the test PKI's trust, and reads acknowledgements at least
    /// every second (mailboxes get certificates on demand).
    fn simulate<'a>(
        &'a self,
        config: &'a MssanteConfig,
        pki: &'a Path,
    ) -> BoxFuture<'a, Result<Simulation, String>> {
        Box::pin(async move {
            let simulator =
                MssanteSimulator::new(&SimulatorTls::from_pki(pki)).map_err(|e| e.to_string())?;
            let running = simulator
                .start([127, 0, 0, 1].into())
                .await
                .map_err(|e| e.to_string())?;
            let section = MssanteConfig {
                smtp: Some(running.smtp_url()),
                imap: Some(running.imaps_url()),
                trust: Some(pki.join(layout::CHAIN)),
                crl: Some(pki.join(layout::CRL)),
                poll_interval: config.poll_interval.min(Duration::from_secs(1)),
                ..config.clone().with_sandbox_reference()
            };
            Ok(Simulation::new(
                section,
                simulator.operator.clone(),
                move || running.abort(),
            ))
        })
    }
}
