//! Configuration → the sinks in use, by target name. Adding a target is one line here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crt_core::record::Region;
use crt_core::sink::Sink;

use crt_dmp::config::StructureCertificates;
use crt_dmp::{DmpClient, DmpConfig, DmpSink};
use crt_ins::config::InsStructure;
use crt_ins::{InsConfig, InsSink, InsiClient};
use crt_mssante::{MssanteConfig, MssanteSink};
use crt_regions::RegionSink;
use crt_regions::client::FhirPlatform;
use crt_regions::platform::RegionalPlatform;
use crt_viatrajectoire::ViatrajectoireSink;
use crt_viatrajectoire::client::ViatrajectoireClient;

use crate::certs::files;
use crate::config::Config;
use crate::sandbox::{DMP, INSI, MSSANTE, Sandbox, TestPki};
use crate::sinks::journal::JournalSink;

/// The record validator with the rules of every adapter.
pub fn record_validator() -> crt_core::RecordValidator {
    crt_core::RecordValidator::new()
        .with_rule(crt_ins::InsRecordRule)
        .with_rule(crt_dmp::DmpRecordRule)
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("journal: {0}")]
    Journal(std::io::Error),
    #[error("ins: {0}")]
    Ins(#[from] crt_ins::client::SetupError),
    #[error("dmp: {0}")]
    Dmp(#[from] crt_dmp::client::SetupError),
    #[error("{0}")]
    Mssante(#[from] crt_mssante::sink::SetupError),
    #[error("viatrajectoire: {0}")]
    Viatrajectoire(#[from] crt_viatrajectoire::client::ClientError),
    #[error("{0}")]
    Region(#[from] crt_core::oauth::AccessError),
    #[error("{0}: the sandbox did not start its simulator")]
    NoSimulator(&'static str),
}

/// The sinks this gateway delivers to.
#[derive(Default, Clone)]
pub struct Registry {
    sinks: BTreeMap<String, Arc<dyn Sink>>,
    /// Region → the target name of its e-parcours platform (`region:spico`…).
    regions: HashMap<Region, String>,
    mssante: Option<Arc<MssanteSink>>,
    /// The ViaTrajectoire client and how often to read statuses back, for the waiting list.
    viatrajectoire: Option<(Arc<ViatrajectoireClient>, std::time::Duration)>,
    /// The regional platforms and how often to read partners' entries back.
    platforms: Vec<(Arc<dyn RegionalPlatform>, std::time::Duration)>,
}

impl Registry {
    /// The sinks the configuration enables. With a sandbox, each national service's sink
    /// is pointed at its simulator and uses the test PKI.
    pub fn from_config(config: &Config, sandbox: Option<&Sandbox>) -> Result<Self, RegistryError> {
        let mut registry = Registry::default();
        if config.sinks.journal.enabled {
            let journal = JournalSink::new(config.journal_directory(), &config.sinks.journal)
                .map_err(RegistryError::Journal)?;
            registry = registry.with(journal);
        }
        if config.sinks.ins.enabled {
            let ins = Registry::ins_config(config, sandbox)?;
            let mut client = InsiClient::from_config(&ins)?;
            if let Some(sandbox) = sandbox {
                client = client.with_issuer(Arc::new(sandbox.structure_issuer()));
            }
            registry = registry.with(InsSink::new(client, &ins));
        }
        if config.sinks.dmp.enabled {
            let dmp = Registry::dmp_config(config, sandbox)?;
            let mut client = DmpClient::from_config(&dmp)?;
            if let Some(sandbox) = sandbox {
                client = client.with_issuer(Arc::new(sandbox.structure_issuer()));
            }
            registry = registry.with(DmpSink::new(client, &dmp));
        }
        if config.sinks.mssante.enabled {
            let mut sink = MssanteSink::new(&Registry::mssante_config(config, sandbox)?)?;
            if let Some(sandbox) = sandbox {
                sink = sink.with_issuer(Arc::new(sandbox.structure_issuer()));
            }
            let sink = Arc::new(sink);
            registry.mssante = Some(sink.clone());
            registry
                .sinks
                .insert(crt_mssante::sink::TARGET.to_string(), sink);
        }
        if config.sinks.viatrajectoire.enabled {
            let viatrajectoire = Registry::viatrajectoire_config(config, sandbox)?;
            let client = Arc::new(ViatrajectoireClient::new(&viatrajectoire)?);
            registry.viatrajectoire = Some((client.clone(), viatrajectoire.poll_interval));
            registry = registry.with(ViatrajectoireSink::new(client, &viatrajectoire));
        }
        for (dialect, platform) in config.regions.platforms() {
            if !platform.enabled {
                continue;
            }
            let platform = match sandbox {
                Some(sandbox) => {
                    let running = sandbox
                        .region(dialect.name)
                        .ok_or(RegistryError::NoSimulator(dialect.name))?;
                    sandbox.pki.region_config(running, platform)
                }
                None => platform.clone(),
            };
            let client: Arc<dyn RegionalPlatform> =
                Arc::new(FhirPlatform::new(dialect, &platform)?);
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

    /// The MSSanté configuration in use: as configured, or pointed at the sandbox's
    /// operator with the test PKI (mailboxes get certificates on demand).
    pub fn mssante_config(
        config: &Config,
        sandbox: Option<&Sandbox>,
    ) -> Result<MssanteConfig, RegistryError> {
        let Some(sandbox) = sandbox else {
            return Ok(config.sinks.mssante.clone());
        };
        let (_, running) = sandbox
            .mssante
            .as_ref()
            .ok_or(RegistryError::NoSimulator(MSSANTE))?;
        Ok(MssanteConfig {
            smtp: Some(running.smtp_url()),
            imap: Some(running.imaps_url()),
            trust: Some(sandbox.pki.path(files::CHAIN)),
            crl: Some(sandbox.pki.path(crt_core::simulate::layout::CRL)),
            poll_interval: config
                .sinks
                .mssante
                .poll_interval
                .min(std::time::Duration::from_secs(1)),
            ..config.sinks.mssante.clone()
        })
    }

    /// The MSSanté sink, whose mailboxes the acknowledgement reader reads.
    /// The ViaTrajectoire client and its poll interval, when the target is enabled.
    pub fn viatrajectoire(&self) -> Option<&(Arc<ViatrajectoireClient>, std::time::Duration)> {
        self.viatrajectoire.as_ref()
    }

    /// The regional platforms in use, with their poll intervals, for the liaison reader.
    pub fn platforms(&self) -> &[(Arc<dyn RegionalPlatform>, std::time::Duration)] {
        &self.platforms
    }

    pub fn mssante(&self) -> Option<&Arc<MssanteSink>> {
        self.mssante.as_ref()
    }

    /// The DMP configuration in use: as configured, or pointed at the sandbox's simulator
    /// with the example structure's certificates (others are issued on demand).
    pub fn dmp_config(
        config: &Config,
        sandbox: Option<&Sandbox>,
    ) -> Result<DmpConfig, RegistryError> {
        let Some(sandbox) = sandbox else {
            return Ok(config.sinks.dmp.clone());
        };
        let url = sandbox.url(DMP).ok_or(RegistryError::NoSimulator(DMP))?;
        Ok(sandbox_dmp_config(&config.sinks.dmp, &sandbox.pki, url))
    }

    /// The INS configuration in use: as configured, or pointed at the sandbox's simulator
    /// with the test PKI's INSi certificate (other structures get theirs from the
    /// sandbox's issuer).
    pub fn ins_config(
        config: &Config,
        sandbox: Option<&Sandbox>,
    ) -> Result<InsConfig, RegistryError> {
        let Some(sandbox) = sandbox else {
            return Ok(config.sinks.ins.clone());
        };
        let url = sandbox.url(INSI).ok_or(RegistryError::NoSimulator(INSI))?;
        Ok(InsConfig {
            endpoint: Some(url.to_string()),
            trust: Some(sandbox.pki.path(files::CHAIN)),
            structures: vec![InsStructure {
                client_certificate: sandbox.pki.path(files::INSI),
                client_key: sandbox.pki.path(files::INSI_KEY),
            }],
            ..config.sinks.ins.clone()
        })
    }

    /// The ROR configuration in use: as configured, or pointed at the sandbox's simulator.
    pub fn ror_config(
        config: &Config,
        sandbox: Option<&Sandbox>,
    ) -> Result<crt_ror::config::RorConfig, RegistryError> {
        let Some(sandbox) = sandbox else {
            return Ok(config.ror.clone());
        };
        let (_, running) = sandbox
            .ror
            .as_ref()
            .ok_or(RegistryError::NoSimulator(crate::sandbox::ROR))?;
        Ok(sandbox.pki.ror_config(running, &config.ror))
    }

    /// The ViaTrajectoire configuration: as configured, or pointed at the sandbox's
    /// simulator.
    pub fn viatrajectoire_config(
        config: &Config,
        sandbox: Option<&Sandbox>,
    ) -> Result<crt_viatrajectoire::ViatrajectoireConfig, RegistryError> {
        let Some(sandbox) = sandbox else {
            return Ok(config.sinks.viatrajectoire.clone());
        };
        let (_, running) = sandbox
            .viatrajectoire
            .as_ref()
            .ok_or(RegistryError::NoSimulator(crate::sandbox::VIATRAJECTOIRE))?;
        Ok(sandbox
            .pki
            .viatrajectoire_config(running, &config.sinks.viatrajectoire))
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

/// `base` pointed at the DMP at `url` with the test PKI's example structure.
pub fn sandbox_dmp_config(base: &DmpConfig, pki: &TestPki, url: &str) -> DmpConfig {
    DmpConfig {
        endpoint: Some(url.to_string()),
        trust: Some(pki.path(files::CHAIN)),
        structures: vec![StructureCertificates {
            client_certificate: pki.path(files::CLIENT),
            client_key: pki.path(files::CLIENT_KEY),
            signing_certificate: pki.path(files::SIGNING),
            signing_key: pki.path(files::SIGNING_KEY),
            oid_root: None,
        }],
        ..base.clone()
    }
}
