//! The sandbox: simulators of the national services, started on loopback so that the
//! default run (`serve`, `demo`) does the whole job on a machine without credentials.
//!
//! Each adapter brings its simulator; the sandbox starts the enabled ones with the test
//! PKI and gives the registry their addresses, so that each sink is pointed at its
//! simulator instead of the real service.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tokio::task::JoinHandle;

use crate::certs::files;
use crate::config::SandboxConfig;

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
}

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
    simulators: BTreeMap<&'static str, RunningSimulator>,
}

impl Sandbox {
    /// Starts every simulator the configuration enables.
    pub async fn start(config: &SandboxConfig) -> Result<Sandbox, SandboxError> {
        let pki = TestPki::open(&config.certs_dir)?;
        Ok(Sandbox {
            pki,
            simulators: BTreeMap::new(),
        })
    }

    /// The base URL of a running simulator.
    pub fn url(&self, name: &str) -> Option<&str> {
        self.simulators.get(name).map(|s| s.url.as_str())
    }

    pub fn simulators(&self) -> impl Iterator<Item = &RunningSimulator> {
        self.simulators.values()
    }

    pub fn add(&mut self, simulator: RunningSimulator) {
        self.simulators.insert(simulator.name, simulator);
    }

    pub fn stop(self) {
        for simulator in self.simulators.into_values() {
            simulator.task.abort();
        }
    }
}
