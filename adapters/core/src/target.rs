//! What an adapter tells the gateway about the national service it delivers to: the name
//! of its sink and of its section under `[sinks]`, how to read that section, how to build
//! the sink, and how to start its simulator on loopback.
//!
//! The gateway keeps one list of targets and goes through it wherever it needs every
//! service (reading the configuration, building the sinks, starting the sandbox), so that
//! adding a service is its adapter crate and one line in that list.

use std::any::Any;
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::sink::{BoxFuture, RetryPolicy, Sink};
use crate::tls::CertificateIssuer;

/// A target's section of the configuration, as its adapter types it.
pub trait Section:
    Clone + Debug + Default + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Whether the gateway delivers to this target.
    fn enabled(&self) -> bool;

    /// Turns the target on or off (commands that need one service alone).
    fn set_enabled(&mut self, enabled: bool);

    /// How deliveries to this target are retried; its timeout bounds the engine's lease.
    fn retry(&self) -> &RetryPolicy;

    /// The keys the real service needs, each with whether it is missing: the
    /// configuration is refused when one is missing and the sandbox is off.
    fn required_for_service(&self) -> Vec<(&'static str, bool)> {
        Vec::new()
    }

    /// Rules between the section's values that types cannot express.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A section whatever its type, as the gateway holds it among the others.
pub trait AnySection: Debug + Send + Sync {
    fn enabled(&self) -> bool;
    fn set_enabled(&mut self, enabled: bool);
    fn retry(&self) -> &RetryPolicy;
    fn required_for_service(&self) -> Vec<(&'static str, bool)>;
    fn check(&self) -> Result<(), String>;
    fn as_any(&self) -> &dyn Any;
    fn clone_section(&self) -> Box<dyn AnySection>;
    /// The section as configuration files write it.
    fn to_json(&self) -> serde_json::Value;
}

impl<T: Section> AnySection for T {
    fn enabled(&self) -> bool {
        Section::enabled(self)
    }

    fn set_enabled(&mut self, enabled: bool) {
        Section::set_enabled(self, enabled)
    }

    fn retry(&self) -> &RetryPolicy {
        Section::retry(self)
    }

    fn required_for_service(&self) -> Vec<(&'static str, bool)> {
        Section::required_for_service(self)
    }

    fn check(&self) -> Result<(), String> {
        Section::check(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn clone_section(&self) -> Box<dyn AnySection> {
        Box::new(self.clone())
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl dyn AnySection + '_ {
    /// The section as its adapter's type, when it is one.
    pub fn get<T: Section>(&self) -> Option<&T> {
        self.as_any().downcast_ref::<T>()
    }
}

impl Clone for Box<dyn AnySection> {
    fn clone(&self) -> Self {
        self.clone_section()
    }
}

/// Why a target's sink could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

impl TargetError {
    /// `target: error`, as the gateway reports a sink it cannot build.
    pub fn of(target: &str, error: impl std::fmt::Display) -> Self {
        TargetError(format!("{target}: {error}"))
    }
}

/// A target's simulator, running on loopback.
pub struct Simulation {
    /// The target's section pointed at the simulator, with the test PKI's certificates.
    pub section: Box<dyn AnySection>,
    /// What the simulator holds, for whoever drives it (the demo, tests); its type is
    /// the adapter's.
    pub state: Arc<dyn Any + Send + Sync>,
    stop: Box<dyn FnOnce() + Send + Sync>,
}

impl Simulation {
    pub fn new(
        section: impl Section,
        state: Arc<dyn Any + Send + Sync>,
        stop: impl FnOnce() + Send + Sync + 'static,
    ) -> Simulation {
        Simulation {
            section: Box::new(section),
            state,
            stop: Box::new(stop),
        }
    }

    /// Stops the simulator's tasks.
    pub fn stop(self) {
        (self.stop)()
    }
}

impl Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("section", &self.section)
            .finish_non_exhaustive()
    }
}

/// A national service the gateway delivers to, as its adapter describes it.
pub trait Target: Send + Sync + 'static {
    /// The adapter's type for the target's section.
    type Config: Section;

    /// The name of its sink, stored with each delivery, and of its section under
    /// `[sinks]`.
    fn name(&self) -> &'static str;

    /// Builds its sink from its section. `issuer`, given in the sandbox, issues
    /// certificates to structures the section does not list.
    fn sink(
        &self,
        config: &Self::Config,
        issuer: Option<Arc<dyn CertificateIssuer>>,
    ) -> Result<Arc<dyn Sink>, TargetError>;

    /// Starts its simulator on loopback with the test PKI at `pki`, and gives its section
    /// pointed at it.
    fn simulate<'a>(
        &'a self,
        config: &'a Self::Config,
        pki: &'a Path,
    ) -> BoxFuture<'a, Result<Simulation, String>>;
}

/// A target whatever its section's type, as the gateway lists them.
pub trait AnyTarget: Send + Sync {
    fn name(&self) -> &'static str;

    /// Reads its section (`None`: absent from the configuration, its defaults apply).
    fn section(&self, value: Option<serde_json::Value>) -> Result<Box<dyn AnySection>, String>;

    fn sink(
        &self,
        section: &dyn AnySection,
        issuer: Option<Arc<dyn CertificateIssuer>>,
    ) -> Result<Arc<dyn Sink>, TargetError>;

    fn simulate<'a>(
        &'a self,
        section: &'a dyn AnySection,
        pki: &'a Path,
    ) -> BoxFuture<'a, Result<Simulation, String>>;
}

impl<T: Target> AnyTarget for T {
    fn name(&self) -> &'static str {
        Target::name(self)
    }

    fn section(&self, value: Option<serde_json::Value>) -> Result<Box<dyn AnySection>, String> {
        let section: T::Config = match value {
            Some(value) => serde_json::from_value(value).map_err(|e| e.to_string())?,
            None => T::Config::default(),
        };
        Ok(Box::new(section))
    }

    fn sink(
        &self,
        section: &dyn AnySection,
        issuer: Option<Arc<dyn CertificateIssuer>>,
    ) -> Result<Arc<dyn Sink>, TargetError> {
        Target::sink(self, own_section::<T>(self, section)?, issuer)
    }

    fn simulate<'a>(
        &'a self,
        section: &'a dyn AnySection,
        pki: &'a Path,
    ) -> BoxFuture<'a, Result<Simulation, String>> {
        match own_section::<T>(self, section) {
            Ok(config) => Target::simulate(self, config, pki),
            Err(e) => Box::pin(std::future::ready(Err(e.0))),
        }
    }
}

/// `section` as `T`'s, or the error of a target handed another's section.
fn own_section<'s, T: Target>(
    target: &T,
    section: &'s dyn AnySection,
) -> Result<&'s T::Config, TargetError> {
    section.get::<T::Config>().ok_or_else(|| {
        TargetError::of(
            Target::name(target),
            "the section given is not this target's",
        )
    })
}

/// The accessors of [`Section`] for a configuration whose `enabled` and `retry` fields
/// say whether it is on and how its deliveries are retried; written inside the
/// `impl Section` block.
#[macro_export]
macro_rules! enabled_and_retry {
    () => {
        fn enabled(&self) -> bool {
            self.enabled
        }

        fn set_enabled(&mut self, enabled: bool) {
            self.enabled = enabled;
        }

        fn retry(&self) -> &$crate::sink::RetryPolicy {
            &self.retry
        }
    };
}
