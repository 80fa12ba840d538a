//! The sandbox: simulators of the national services, started on loopback so that the
//! default run (`serve`, `demo`) does the whole job on a machine without credentials.
//!
//! Each adapter brings its simulator; the sandbox starts the enabled ones with the test
//! PKI and gives the registry their addresses, so that each sink is pointed at its
//! simulator instead of the real service.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use crt_core::simulate::Running;
use crt_core::target::{AnySection, Simulation};
use crt_core::tls::CertificateIssuer;
use crt_ror::config::RorConfig;
use crt_ror::simulator::{Directory, Registration, RorSimulator, Store};

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

    /// A FHIR simulator's access as the gateway's client, with this PKI's files.
    fn fhir_access(&self, running: &Running, client_id: &str, client_secret: &str) -> FhirAccess {
        running.fhir_access(client_id, client_secret, &self.dir)
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

/// Name of the ROR simulator.
pub const ROR: &str = "ror";
const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

/// The running simulators, by name.
pub struct Sandbox {
    pub pki: TestPki,
    /// Where certificates issued on demand to structures are kept.
    pub issued_dir: PathBuf,
    /// The simulators of the targets of `[sinks]`, by target name.
    simulations: BTreeMap<&'static str, Simulation>,
    /// The ROR: a FHIR base and a token endpoint; started by the commands that publish.
    pub ror: Option<(std::sync::Arc<Directory>, Running)>,
    /// The regional platforms, one simulator each.
    pub regions: Vec<(
        Dialect,
        std::sync::Arc<crt_regions::simulator::Platform>,
        Running,
    )>,
    /// Pro Santé Connect, for the professionals' logins and tokens.
    pub psc: Option<crt_psc::simulator::PscSimulator>,
    /// The data directory, where the ROR simulator keeps what was published to it.
    data_dir: PathBuf,
}

/// Where the sandbox writes its simulators' addresses, in the data directory.
pub const ENDPOINTS_FILE: &str = "sandbox-endpoints.json";

/// The gateway's client at the sandbox's Pro Santé Connect (the login of `/ui/`).
pub const PSC_CLIENT: (&str, &str) = ("crt-gateway-sandbox", "sandbox-psc-secret");
/// A DUI's client there: a DUI that logs its users in with PSC and calls the API with
/// their access tokens, which the sandbox's gateway accepts.
pub const PSC_DUI_CLIENT: (&str, &str) = ("dui-sandbox", "dui-sandbox-secret");
/// The example records' CRTs (FINESS ET): the sandbox's test professionals are their
/// staff, as `[[server.auth.staff]]` would declare them.
const EXAMPLE_CRTS: [&str; 3] = ["720004563", "110010030", "140009879"];
/// The example records, whose people the directory's simulator knows.
const EXAMPLE_RECORDS: [&str; 4] = [
    include_str!("../../schemas/examples/home-volet2-pays-de-la-loire.json"),
    include_str!("../../schemas/examples/home-admission-occitanie.json"),
    include_str!("../../schemas/examples/ehpad-emergency-room-occitanie.json"),
    include_str!("../../schemas/examples/exit-normandie.json"),
];

impl Sandbox {
    /// Starts the simulator of every enabled sink, on free loopback ports.
    pub async fn start(config: &Config) -> Result<Sandbox, SandboxError> {
        crt_core::tls::install_default_provider();
        let pki = TestPki::open(&config.sandbox.certs_dir)?;
        let mut sandbox = Sandbox {
            pki,
            issued_dir: config.storage.data_dir.join("sandbox-structures"),
            simulations: BTreeMap::new(),
            ror: None,
            regions: Vec::new(),
            psc: None,
            data_dir: config.storage.data_dir.clone(),
        };
        let psc = crt_psc::simulator::PscSimulator::start(
            LOOPBACK.into(),
            &sandbox.pki.dir,
            [PSC_CLIENT, PSC_DUI_CLIENT]
                .iter()
                .map(|(id, secret)| (id.to_string(), secret.to_string()))
                .collect(),
        )
        .await
        .map_err(|e| SandboxError::Start {
            name: "psc",
            reason: e.to_string(),
        })?;
        sandbox.psc = Some(psc);
        for service in config.sinks.services() {
            if !service.section.enabled() {
                continue;
            }
            let name = service.target.name();
            let simulation = service
                .target
                .simulate(&*service.section, &sandbox.pki.dir)
                .await
                .map_err(|reason| SandboxError::Start { name, reason })?;
            sandbox.simulations.insert(name, simulation);
        }
        for (dialect, platform) in config.regions.platforms() {
            if platform.enabled {
                sandbox.start_region(dialect).await?;
            }
        }
        sandbox.people_the_directory_knows();
        Ok(sandbox)
    }

    /// Writes where the simulators listen (`sandbox-endpoints.json` in the data directory:
    /// each target's section as the sandbox points it), so that a person or a test can
    /// speak to the sandbox's services with their own tools: send a message to a
    /// structure's mailbox as a partner would, read a partner's mailbox. Rewritten at each
    /// start of the server (a command's own sandbox does not write it); the ports change.
    pub fn write_endpoints(&self) {
        let sinks: serde_json::Map<String, serde_json::Value> = self
            .simulations
            .iter()
            .map(|(name, simulation)| (name.to_string(), simulation.section.to_json()))
            .collect();
        let endpoints = serde_json::json!({
            "sinks": sinks,
            "psc": self.psc.as_ref().map(|psc| psc.issuer()),
        });
        let path = self.data_dir.join(ENDPOINTS_FILE);
        let written = serde_json::to_vec_pretty(&endpoints)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                std::fs::create_dir_all(&self.data_dir)?;
                std::fs::write(&path, bytes)
            });
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "the sandbox's endpoints were not written");
        }
    }

    /// The directory's simulator knows the professionals of the example records' care
    /// circles, as the Annuaire Santé knows every registered professional.
    fn people_the_directory_knows(&self) {
        let Some(population) = self
            .state::<crt_annuaire::simulator::Population>(crt_core::directory::DIRECTORY_TARGET)
        else {
            return;
        };
        for text in EXAMPLE_RECORDS {
            let Ok(record) = serde_json::from_str::<crt_core::CrtRecord>(text) else {
                continue;
            };
            for member in &record.care_circle {
                if let Some(person) = crt_annuaire::simulator::Person::from_care_circle(member) {
                    population.add(person);
                }
            }
        }
        for person in crt_annuaire::simulator::sandbox_population() {
            population.add(person);
        }
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

    /// The configuration in use: `config` as it is, or pointed at the sandbox's
    /// simulators when there is one.
    pub fn in_use(config: &Config, sandbox: Option<&Sandbox>) -> Config {
        match sandbox {
            Some(sandbox) => sandbox.configure(config),
            None => config.clone(),
        }
    }

    /// The issuer the sinks are given in the sandbox.
    pub fn issuer(&self) -> Arc<dyn CertificateIssuer> {
        Arc::new(self.structure_issuer())
    }

    /// Issues certificates to structures the sandbox has none for.
    pub fn structure_issuer(&self) -> StructureIssuer {
        StructureIssuer::new(&self.pki.dir, &self.issued_dir)
    }

    /// `config` with every service the sandbox simulates pointed at its simulator and the
    /// test PKI: the targets of `[sinks]`, the regional platforms, and the ROR when it is
    /// started. Whoever builds clients from the result needs to know nothing of the
    /// sandbox.
    pub fn configure(&self, config: &Config) -> Config {
        let mut pointed = config.clone();
        for (target, simulation) in &self.simulations {
            pointed
                .sinks
                .replace_section(target, simulation.section.clone());
        }
        for (dialect, _, running) in &self.regions {
            if let Some(platform) = pointed.regions.platform_mut(dialect.name) {
                *platform = self.pki.region_config(running, platform);
            }
        }
        if let Some((_, running)) = &self.ror {
            pointed.ror = self.pki.ror_config(running, &config.ror);
        }
        if let Some(psc) = &self.psc {
            pointed.psc = crt_psc::PscConfig {
                enabled: true,
                issuer: Some(psc.issuer()),
                authorization_endpoint: Some(psc.authorization_endpoint()),
                client_id: Some(PSC_CLIENT.0.into()),
                client_secret: Some(PSC_CLIENT.1.into()),
                accepted_clients: vec![PSC_DUI_CLIENT.0.into()],
                trust: Some(self.pki.path(files::CHAIN)),
                ..config.psc.clone()
            };
        }
        if pointed.server.auth.staff.is_empty() {
            let members: Vec<String> = crt_psc::simulator::CRT_STAFF
                .iter()
                .map(|user| user.id_nat_ps.to_string())
                .collect();
            pointed.server.auth.staff = EXAMPLE_CRTS
                .iter()
                .map(|crt| crate::config::Staff {
                    crt: crt.to_string(),
                    members: members.clone(),
                })
                .collect();
        }
        pointed
    }

    /// A target's section pointed at its simulator, when the sandbox started it.
    pub fn section(&self, target: &str) -> Option<&dyn AnySection> {
        self.simulations.get(target).map(|s| &*s.section)
    }

    /// What a target's simulator holds (its type is the adapter's: the MSSanté
    /// operator, ViaTrajectoire's platform…), when the sandbox started it.
    pub fn state<T: std::any::Any + Send + Sync>(&self, target: &str) -> Option<Arc<T>> {
        let state = self.simulations.get(target)?.state.clone();
        state.downcast::<T>().ok()
    }

    /// How many simulators run.
    pub fn simulator_count(&self) -> usize {
        self.simulations.len() + usize::from(self.ror.is_some()) + self.regions.len()
    }

    pub fn stop(self) {
        for simulation in self.simulations.into_values() {
            simulation.stop();
        }
        if let Some((_, running)) = self.ror {
            running.task.abort();
        }
        for (_, _, running) in self.regions {
            running.task.abort();
        }
        if let Some(psc) = self.psc {
            psc.stop();
        }
    }
}
