//! The sandbox: simulators of the national services, started on loopback so that the
//! default run (`serve`, `demo`) does the whole job on a machine without credentials.
//!
//! Each adapter brings its simulator; the sandbox starts the enabled ones with the test
//! PKI and gives the registry their addresses, so that each sink is pointed at its
//! simulator instead of the real service.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tokio::task::JoinHandle;

use crt_core::simulate::Running;
use crt_dmp::simulator::DmpSimulator;
use crt_ins::simulator::{InsiSimulator, Population};
use crt_mssante::simulator::{MssanteSimulator, Operator, RunningOperator};
use crt_ror::config::RorConfig;
use crt_ror::simulator::{Directory, Registration, RorSimulator, Store};
use crt_viatrajectoire::ViatrajectoireConfig;
use crt_viatrajectoire::simulator::{
    Platform, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ViatrajectoireSimulator,
};

use crt_core::oauth::FhirAccess;
use crt_regions::Dialect;
use crt_regions::PlatformConfig;
use crt_regions::simulator::PlatformSimulator;

use crate::certs::{StructureIssuer, files};
use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "the test PKI is missing ({0}); run `crt-gateway certs generate --out certs-example` or set sandbox.certs_dir"
    )]
    MissingPki(String),
    #[error("simulator {name} did not start: {reason}")]
    Start { name: &'static str, reason: String },
}

/// Paths of the test PKI files the simulators and the sinks use in the sandbox.
#[derive(Debug, Clone)]
pub struct TestPki {
    pub dir: PathBuf,
}

impl TestPki {
    pub fn open(dir: &Path) -> Result<Self, SandboxError> {
        for required in [
            files::CHAIN,
            files::SERVER,
            files::SERVER_KEY,
            files::CLIENT,
            files::CLIENT_KEY,
        ] {
            if !dir.join(required).is_file() {
                return Err(SandboxError::MissingPki(
                    dir.join(required).display().to_string(),
                ));
            }
        }
        Ok(TestPki {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// A FHIR simulator's access as the gateway's client: its URLs, the client it
    /// registered, and the test PKI's client certificate and trust.
    fn fhir_access(&self, running: &Running, client_id: &str, client_secret: &str) -> FhirAccess {
        FhirAccess {
            base_url: Some(running.fhir_base()),
            token_url: Some(running.token_url()),
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
            client_certificate: Some(self.path(files::CLIENT)),
            client_key: Some(self.path(files::CLIENT_KEY)),
            trust: Some(self.path(files::CHAIN)),
            crl: Some(self.path(files::CRL)),
        }
    }

    /// `base` pointed at a ViaTrajectoire simulator, with the test PKI's client
    /// certificate.
    pub fn viatrajectoire_config(
        &self,
        running: &Running,
        base: &ViatrajectoireConfig,
    ) -> ViatrajectoireConfig {
        ViatrajectoireConfig {
            access: self.fhir_access(running, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET),
            ..base.clone()
        }
    }

    /// `base` pointed at a regional platform's simulator, as the gateway's client.
    pub fn region_config(&self, running: &Running, base: &PlatformConfig) -> PlatformConfig {
        PlatformConfig {
            access: self.fhir_access(
                running,
                crt_regions::simulator::SANDBOX_CLIENT_ID,
                crt_regions::simulator::SANDBOX_CLIENT_SECRET,
            ),
            ..base.clone()
        }
    }

    /// `base` pointed at a ROR simulator: its URLs, its registered client, and the test
    /// PKI's client certificate and trust.
    pub fn ror_config(&self, running: &Running, base: &RorConfig) -> RorConfig {
        let client = Registration::sandbox();
        RorConfig {
            access: self.fhir_access(running, &client.client_id, &client.client_secret),
            headers: client.headers,
            capacity: crt_ror::config::CapacityConfig {
                base_url: Some(crt_ror::simulator::capacity_base(running)),
                ..Default::default()
            },
            ..base.clone()
        }
    }
}

/// Name of the INSi teleservice simulator.
pub const INSI: &str = "insi";
/// Name of the DMP simulator.
pub const DMP: &str = "dmp";
/// Name of the MSSanté operator simulator.
pub const MSSANTE: &str = "mssante";
/// Name of the ROR simulator.
pub const ROR: &str = "ror";
/// Name of the ViaTrajectoire simulator.
pub const VIATRAJECTOIRE: &str = "viatrajectoire";
/// The admission requests waiting in the sandbox's ViaTrajectoire when it starts, one per
/// example CRT that answers one (`VT-GA-00000001`, `VT-GA-00000002`…, in this order).
const SANDBOX_REQUESTS: &str =
    include_str!("../../schemas/viatrajectoire/examples/sandbox-requests.json");
const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

/// A simulator that is running.
pub struct RunningSimulator {
    pub name: &'static str,
    /// Base URL the matching sink is pointed at.
    pub url: String,
    pub task: JoinHandle<()>,
}

/// The running simulators, by name.
pub struct Sandbox {
    pub pki: TestPki,
    /// Where certificates issued on demand to structures are kept.
    pub issued_dir: PathBuf,
    simulators: BTreeMap<&'static str, RunningSimulator>,
    /// The MSSanté operator: SMTP and IMAP rather than one HTTPS base URL.
    pub mssante: Option<(std::sync::Arc<Operator>, RunningOperator)>,
    /// The ROR: a FHIR base and a token endpoint; started by the commands that publish.
    pub ror: Option<(std::sync::Arc<Directory>, Running)>,
    /// ViaTrajectoire: a FHIR base, a token endpoint and a control endpoint.
    pub viatrajectoire: Option<(std::sync::Arc<Platform>, Running)>,
    /// The regional platforms, one simulator each.
    pub regions: Vec<(
        Dialect,
        std::sync::Arc<crt_regions::simulator::Platform>,
        Running,
    )>,
    /// The data directory, where the ROR simulator keeps what was published to it.
    data_dir: PathBuf,
}

impl Sandbox {
    /// Starts the simulator of every enabled sink, on free loopback ports.
    pub async fn start(config: &Config) -> Result<Sandbox, SandboxError> {
        crt_core::tls::install_default_provider();
        let pki = TestPki::open(&config.sandbox.certs_dir)?;
        let mut sandbox = Sandbox {
            pki,
            issued_dir: config.storage.data_dir.join("sandbox-structures"),
            simulators: BTreeMap::new(),
            mssante: None,
            ror: None,
            viatrajectoire: None,
            regions: Vec::new(),
            data_dir: config.storage.data_dir.clone(),
        };
        if config.sinks.ins.enabled {
            sandbox.start_insi().await?;
        }
        if config.sinks.dmp.enabled {
            sandbox.start_dmp().await?;
        }
        if config.sinks.mssante.enabled {
            sandbox.start_mssante().await?;
        }
        if config.sinks.viatrajectoire.enabled {
            sandbox.start_viatrajectoire().await?;
        }
        for (dialect, platform) in config.regions.platforms() {
            if platform.enabled {
                sandbox.start_region(dialect).await?;
            }
        }
        Ok(sandbox)
    }

    async fn start_mssante(&mut self) -> Result<(), SandboxError> {
        let fail = |reason: String| SandboxError::Start {
            name: MSSANTE,
            reason,
        };
        let tls = crt_core::simulate::SimulatorTls::from_pki(&self.pki.dir);
        let simulator = MssanteSimulator::new(&tls).map_err(|e| fail(e.to_string()))?;
        let running = simulator
            .start([127, 0, 0, 1].into())
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.mssante = Some((simulator.operator.clone(), running));
        Ok(())
    }

    async fn start_dmp(&mut self) -> Result<(), SandboxError> {
        let fail = |reason: String| SandboxError::Start { name: DMP, reason };
        let tls = crt_core::simulate::SimulatorTls::from_pki(&self.pki.dir);
        let running = DmpSimulator::new(&tls)
            .map_err(|e| fail(e.to_string()))?
            .start(LOOPBACK.into())
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.add(RunningSimulator {
            name: DMP,
            url: running.url(""),
            task: running.task,
        });
        Ok(())
    }

    async fn start_viatrajectoire(&mut self) -> Result<(), SandboxError> {
        let fail = |reason: String| SandboxError::Start {
            name: VIATRAJECTOIRE,
            reason,
        };
        let tls = crt_core::simulate::SimulatorTls::from_pki(&self.pki.dir);
        let simulator = ViatrajectoireSimulator::new(&tls).map_err(|e| fail(e.to_string()))?;
        let platform = simulator.platform();
        let requests: Vec<crt_viatrajectoire::incoming::NewRequest> =
            serde_json::from_str(SANDBOX_REQUESTS).map_err(|e| fail(e.to_string()))?;
        for request in &requests {
            platform.receive(request);
        }
        let running = simulator
            .start(LOOPBACK.into())
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.viatrajectoire = Some((platform, running));
        Ok(())
    }

    async fn start_region(&mut self, dialect: Dialect) -> Result<(), SandboxError> {
        let fail = |reason: String| SandboxError::Start {
            name: dialect.name,
            reason,
        };
        let tls = crt_core::simulate::SimulatorTls::from_pki(&self.pki.dir);
        let simulator = PlatformSimulator::new(dialect, &tls).map_err(|e| fail(e.to_string()))?;
        let platform = simulator.platform();
        let running = simulator
            .start(LOOPBACK.into())
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.regions.push((dialect, platform, running));
        Ok(())
    }

    /// The simulator of a regional platform, by its name.
    pub fn region(&self, name: &str) -> Option<&Running> {
        self.regions
            .iter()
            .find(|(d, _, _)| d.name == name)
            .map(|(_, _, running)| running)
    }

    /// Starts the ROR simulator. Its resources are kept in the data directory, so that
    /// successive `ror publish` runs see what earlier ones wrote.
    pub async fn start_ror(&mut self) -> Result<(), SandboxError> {
        let fail = |reason: String| SandboxError::Start { name: ROR, reason };
        let tls = crt_core::simulate::SimulatorTls::from_pki(&self.pki.dir);
        let store = Store::persistent(&self.data_dir.join("sandbox-ror.json"))
            .map_err(|e| fail(e.to_string()))?;
        let simulator = RorSimulator::with_store(&tls, vec![Registration::sandbox()], store)
            .map_err(|e| fail(e.to_string()))?;
        let directory = simulator.directory();
        let running = simulator
            .start(LOOPBACK.into())
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.ror = Some((directory, running));
        Ok(())
    }

    /// Gives the ROR simulator the organisations and the place of `offer`, as the national
    /// ROR holds them (from FINESS and the GRADeS) before a CRT publishes its offer.
    pub fn hold_ror_structure(&self, offer: &crt_ror::offer::Offer) -> Result<(), SandboxError> {
        let (directory, _) = self.ror.as_ref().ok_or(SandboxError::Start {
            name: ROR,
            reason: "the ROR simulator is not started".into(),
        })?;
        directory
            .store
            .hold_structure(offer)
            .map_err(|e| SandboxError::Start {
                name: ROR,
                reason: e.to_string(),
            })
    }

    /// Issues certificates to structures the sandbox has none for.
    pub fn structure_issuer(&self) -> StructureIssuer {
        StructureIssuer::new(&self.pki.dir, &self.issued_dir)
    }

    async fn start_insi(&mut self) -> Result<(), SandboxError> {
        let fail = |reason: String| SandboxError::Start { name: INSI, reason };
        let tls = crt_core::simulate::SimulatorTls::from_pki(&self.pki.dir);
        let running = InsiSimulator::new(&tls, Population::sandbox())
            .map_err(|e| fail(e.to_string()))?
            .start(LOOPBACK.into())
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.add(RunningSimulator {
            name: INSI,
            url: running.url(),
            task: running.task,
        });
        Ok(())
    }

    /// The base URL of a running simulator.
    pub fn url(&self, name: &str) -> Option<&str> {
        self.simulators.get(name).map(|s| s.url.as_str())
    }

    /// How many simulators run, the MSSanté operator included.
    pub fn simulator_count(&self) -> usize {
        self.simulators.len()
            + usize::from(self.mssante.is_some())
            + usize::from(self.ror.is_some())
            + usize::from(self.viatrajectoire.is_some())
            + self.regions.len()
    }

    pub fn add(&mut self, simulator: RunningSimulator) {
        self.simulators.insert(simulator.name, simulator);
    }

    pub fn stop(self) {
        for simulator in self.simulators.into_values() {
            simulator.task.abort();
        }
        if let Some((_, running)) = self.mssante {
            running.abort();
        }
        if let Some((_, running)) = self.ror {
            running.task.abort();
        }
        if let Some((_, running)) = self.viatrajectoire {
            running.task.abort();
        }
        for (_, _, running) in self.regions {
            running.task.abort();
        }
    }
}
