//! The gateway's configuration: one TOML file, every value overridable from the
//! environment, defaults that give the embedded run (SQLite under `./data`, sandboxes on).
//!
//! Environment variables are named after the key's path: `CRT_GATEWAY_` + the sections
//! and key in upper case, joined by `__`. `CRT_GATEWAY_SERVER__LISTEN=0.0.0.0:8080` sets
//! `[server] listen`, `CRT_GATEWAY_SINKS__JOURNAL__RETRY__MAX_ATTEMPTS=3` sets
//! `[sinks.journal.retry] max_attempts`. Values are read as TOML (`true`, `12`) and
//! otherwise as strings.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crt_core::target::{AnySection, AnyTarget, Section};

pub use crate::sinks::journal::{JOURNAL, JournalConfig};
use crate::targets::TARGETS;
pub use crate::telemetry::{LogConfig, LogFormat};
pub use crt_reports::ReportsConfig;
pub use crt_store::StorageConfig;
use serde::{Deserialize, Serialize};

/// The file read when no `--config` is given and it exists in the working directory.
pub const DEFAULT_FILE: &str = "gateway.toml";
pub const ENV_PREFIX: &str = "CRT_GATEWAY_";
/// Names the configuration file; not a configuration key.
pub const ENV_CONFIG_FILE: &str = "CRT_GATEWAY_CONFIG";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{origin}: {reason}")]
    Invalid { origin: String, reason: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub engine: EngineConfig,
    pub sandbox: SandboxConfig,
    pub log: LogConfig,
    pub sinks: SinksConfig,
    /// Publishing CRT offers to the ROR (`crt-gateway ror publish`).
    pub ror: crt_ror::config::RorConfig,
    /// The regional e-parcours platforms, one block each (`[regions.spico]`…).
    pub regions: crt_regions::RegionsConfig,
    /// The access trace.
    pub audit: AuditConfig,
    /// The activity reports.
    pub reports: ReportsConfig,
    /// Pro Santé Connect: professionals' tokens on the API and the login of `/ui/`.
    pub psc: crt_psc::PscConfig,
    /// The CRTs' on-call services: the rota, the delay to take an alert, the regulation.
    pub on_call: crate::rota::OnCallConfig,
}

/// `[audit]`: the access trace (every API access and every exchange, hash-chained).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The key beneficiaries' pseudonyms are made with; created when absent. Keep it
    /// apart from the database (and its backups): without it the trace names nobody.
    /// Defaults to `<data_dir>/audit/pseudonym.key`.
    pub pseudonym_key: Option<PathBuf>,
    /// How long trace lines are kept, in days; nothing younger is ever removed. The
    /// Occitanie framework asks for 20 years.
    pub retention_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            pseudonym_key: None,
            retention_days: 7300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Largest request body accepted; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Time allowed to read a request and write its answer.
    pub request_timeout_ms: u64,
    /// Deliveries not settled yet (all instances together) above which new records are
    /// refused with 429 and `Retry-After`, until the backlog comes down; 0: no limit.
    pub max_backlog: u64,
    /// Who may call the API.
    pub auth: AuthConfig,
    /// HTTPS for the API; with `client_trust`, every client presents an IGC-Santé
    /// certificate (mutual TLS) and the calling structure is read from it.
    pub tls: Option<ApiTlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1024 * 1024,
            request_timeout_ms: 30_000,
            max_backlog: 200_000,
            auth: AuthConfig::default(),
            tls: None,
        }
    }
}

/// `[server.auth]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Bearer tokens for local integrations (`crt-gateway token new` makes one).
    pub tokens: Vec<ApiToken>,
    /// Lets calls without credentials through (the health probes always are). Off.
    pub allow_anonymous: bool,
    /// The access policy; absent: the default one (`docs/security.md`).
    pub policy: Option<PathBuf>,
    /// Structures (idNat_Struct) whose client certificates belong to a DUI that
    /// authenticates its own users, and may therefore name the professional acting.
    /// Other certificates act as their structure's system.
    pub delegating_certificates: Vec<String>,
    /// Each CRT's own staff (by the CRT's FINESS ET): part of the care team of every
    /// beneficiary the CRT follows, besides the care circle of the beneficiary's record.
    pub staff: Vec<Staff>,
}

/// The professionals of one CRT, by idNat_PS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Staff {
    /// The CRT's FINESS ET, as records name it (`crt.finess_et`).
    pub crt: String,
    /// idNat_PS of each member (`8` + RPPS).
    pub members: Vec<String>,
}

/// One API token, kept as its SHA-256 only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    pub name: String,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    /// The structure (idNat_Struct) the token's holder calls for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<String>,
    /// `automate`: requests that name no professional act as the system itself;
    /// `operator`: a person who runs the gateway (deliveries, replay, file validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// A DUI that authenticates its own users names them in `Crt-Actor-*` headers: the
    /// CRTs (FINESS ET, `*` for any) for whose beneficiaries it may. Without it, naming a
    /// professional with this token is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegates_for: Vec<String>,
}

/// `[server.tls]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTlsConfig {
    pub certificate: PathBuf,
    pub key: PathBuf,
    /// CA chain client certificates must chain to (IGC-Santé); absent: no client
    /// certificates, tokens only.
    #[serde(default)]
    pub client_trust: Option<PathBuf>,
    #[serde(default)]
    pub crl: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Deliveries in progress at once, all targets together. 0 turns delivery off in this
    /// instance: it takes records in and serves the API, and other instances sharing its
    /// database deliver (an intake-only replica).
    pub workers: usize,
    /// How long a worker holds a delivery before another may take it; longer than any
    /// sink's timeout.
    pub lease_ms: u64,
    /// Longest sleep between two looks at the store when nothing is due.
    pub poll_interval_ms: u64,
    /// Deliveries leased in one round trip to the store.
    pub lease_batch: usize,
    /// On shutdown, how long attempts in progress may take to finish; those still running
    /// then are stopped and their leases given back, for another instance to take at once.
    pub shutdown_grace_ms: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 32,
            lease_ms: 120_000,
            poll_interval_ms: 500,
            lease_batch: 64,
            shutdown_grace_ms: 20_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Start the simulators of the national services on loopback and point the sinks at
    /// them. Turn off in production.
    pub enabled: bool,
    /// The test PKI the simulators and the sinks use in the sandbox.
    pub certs_dir: PathBuf,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            enabled: true,
            certs_dir: PathBuf::from("certs-example"),
        }
    }
}

/// The `[sinks]` sections: the journal's, and one for each target of [`TARGETS`], read by
/// the target's adapter.
#[derive(Debug, Clone)]
pub struct SinksConfig {
    pub journal: JournalConfig,
    /// Each target's section, in the order of the list it was read with.
    services: Vec<Service>,
}

/// A target and its section.
#[derive(Clone)]
pub struct Service {
    pub target: &'static dyn AnyTarget,
    pub section: Box<dyn AnySection>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("target", &self.target.name())
            .field("section", &self.section)
            .finish()
    }
}

impl Default for SinksConfig {
    fn default() -> Self {
        SinksConfig::read(Default::default(), TARGETS).unwrap_or_else(|_| SinksConfig {
            journal: JournalConfig::default(),
            services: Vec::new(),
        })
    }
}

impl SinksConfig {
    /// The sections of `[sinks]` (by name, as the file holds them) for `targets`; an
    /// absent section takes its defaults, a name no target has is refused.
    pub fn read(
        mut sections: BTreeMap<String, serde_json::Value>,
        targets: &[&'static dyn AnyTarget],
    ) -> Result<SinksConfig, String> {
        let journal = match sections.remove(JOURNAL) {
            Some(value) => serde_json::from_value(value).map_err(|e| format!("{JOURNAL}: {e}"))?,
            None => JournalConfig::default(),
        };
        let mut services = Vec::with_capacity(targets.len());
        for target in targets {
            let section = target
                .section(sections.remove(target.name()))
                .map_err(|e| format!("{}: {e}", target.name()))?;
            services.push(Service {
                target: *target,
                section,
            });
        }
        if let Some(unknown) = sections.keys().next() {
            let known: Vec<&str> = std::iter::once(JOURNAL)
                .chain(targets.iter().map(|t| t.name()))
                .collect();
            return Err(format!(
                "unknown sink `{unknown}`, expected one of {}",
                known.join(", ")
            ));
        }
        Ok(SinksConfig { journal, services })
    }

    /// Each target with its section.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.iter()
    }

    /// The section of the target whose adapter types it as `T` (its defaults when this
    /// configuration has no such target).
    pub fn section<T: Section>(&self) -> T {
        self.services
            .iter()
            .find_map(|service| service.section.get::<T>())
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces a target's section (the sandbox points it at the simulator).
    pub fn replace_section(&mut self, target: &str, section: Box<dyn AnySection>) {
        for service in &mut self.services {
            if service.target.name() == target {
                service.section = section.clone();
            }
        }
    }

    /// Turns a target on or off, for commands that need one service alone.
    pub fn set_enabled(&mut self, target: &str, enabled: bool) {
        for service in &mut self.services {
            if service.target.name() == target {
                service.section.set_enabled(enabled);
            }
        }
    }

    /// `(name, timeout)` of every enabled sink, for checks against the lease.
    fn timeouts(&self) -> Vec<(&'static str, u64)> {
        let journal = self
            .journal
            .enabled
            .then_some((JOURNAL, self.journal.retry.timeout.as_millis() as u64));
        let services = self
            .services
            .iter()
            .filter(|service| service.section.enabled())
            .map(|service| {
                let timeout = service.section.retry().timeout.as_millis() as u64;
                (service.target.name(), timeout)
            });
        journal.into_iter().chain(services).collect()
    }
}

impl<'de> Deserialize<'de> for SinksConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let sections = BTreeMap::<String, serde_json::Value>::deserialize(deserializer)?;
        SinksConfig::read(sections, TARGETS).map_err(serde::de::Error::custom)
    }
}

impl Serialize for SinksConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1 + self.services.len()))?;
        map.serialize_entry(JOURNAL, &self.journal)?;
        for service in &self.services {
            map.serialize_entry(service.target.name(), &service.section.to_json())?;
        }
        map.end()
    }
}

impl Config {
    /// Reads the configuration: the file (explicit, or `gateway.toml` if present), then
    /// the environment on top.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let file = file.map(Path::to_path_buf).or_else(|| {
            env.iter()
                .find(|(k, _)| k == ENV_CONFIG_FILE)
                .map(|(_, v)| PathBuf::from(v))
        });
        let (mut table, origin) = match file {
            Some(path) => (read_table(&path)?, path.display().to_string()),
            None if Path::new(DEFAULT_FILE).exists() => (
                read_table(Path::new(DEFAULT_FILE))?,
                DEFAULT_FILE.to_string(),
            ),
            None => (toml::Table::new(), "defaults".to_string()),
        };
        for (key, value) in env {
            if key == ENV_CONFIG_FILE || key == crate::telemetry::ENV_LOG {
                continue;
            }
            if let Some(path) = key.strip_prefix(ENV_PREFIX) {
                set_path(&mut table, path, &value).map_err(|reason| ConfigError::Invalid {
                    origin: key.clone(),
                    reason,
                })?;
            }
        }
        let config: Config =
            table
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    origin: format!("{origin} (with CRT_GATEWAY_* overrides)"),
                    reason: e.message().to_string(),
                })?;
        config
            .check()
            .map_err(|reason| ConfigError::Invalid { origin, reason })?;
        Ok(config)
    }

    /// Rules between values that types cannot express.
    fn check(&self) -> Result<(), String> {
        if self.storage.database_url.is_some() {
            // Instances sharing a database must open each other's payloads and name the
            // same beneficiary with the same pseudonym: keys made per instance would not.
            if self.storage.keys.is_none() && std::env::var_os("CRT_GATEWAY_STORAGE_KEYS").is_none()
            {
                return Err("storage.database_url is set: give every instance the same storage keys (storage.keys or CRT_GATEWAY_STORAGE_KEYS)".into());
            }
            if self.audit.pseudonym_key.is_none() {
                return Err(
                    "storage.database_url is set: give every instance the same audit.pseudonym_key"
                        .into(),
                );
            }
        }
        for crt in self.reports.volet2_allocation_eur.keys() {
            crt_core::identifiers::check_finess(crt).map_err(|e| {
                format!("reports.volet2_allocation_eur: {crt:?} is not a FINESS number: {e}")
            })?;
        }
        if self.engine.lease_batch == 0 {
            return Err("engine.lease_batch must be at least 1".into());
        }
        for service in self.sinks.services() {
            service.section.check()?;
        }
        let regions = self
            .regions
            .platforms()
            .into_iter()
            .filter(|(_, platform)| platform.enabled)
            .map(|(dialect, platform)| {
                (dialect.section, platform.retry.timeout.as_millis() as u64)
            });
        for (sink, timeout) in self.sinks.timeouts().into_iter().chain(regions) {
            if self.engine.lease_ms <= timeout {
                return Err(format!(
                    "engine.lease_ms ({}) must exceed every sink's retry.timeout ({sink}: {timeout})",
                    self.engine.lease_ms
                ));
            }
        }
        if let Some((region, first, second)) = self.regions.conflicts().first() {
            return Err(format!(
                "region {} is served by two platforms (regions.{first} and regions.{second}): give each region one",
                region.code()
            ));
        }
        if !self.sandbox.enabled {
            for service in self.sinks.services().filter(|s| s.section.enabled()) {
                let name = service.target.name();
                for (key, missing) in service.section.required_for_service() {
                    if missing {
                        return Err(format!(
                            "sinks.{name}.{key} is required when the sandbox is off (or set sinks.{name}.enabled = false)"
                        ));
                    }
                }
            }
        }
        for staff in &self.server.auth.staff {
            crt_core::identifiers::check_finess(&staff.crt).map_err(|e| {
                format!(
                    "server.auth.staff: {:?} is not a FINESS number: {e}",
                    staff.crt
                )
            })?;
        }
        if self.psc.enabled && !self.sandbox.enabled {
            for (key, missing) in [
                ("issuer", self.psc.issuer.is_none()),
                (
                    "authorization_endpoint",
                    self.psc.authorization_endpoint.is_none(),
                ),
                ("client_id", self.psc.client_id.is_none()),
                ("trust", self.psc.trust.is_none()),
            ] {
                if missing {
                    return Err(format!(
                        "psc.{key} is required when psc.enabled is true and the sandbox is off"
                    ));
                }
            }
        }
        if self.server.max_body_bytes < 1024 {
            return Err("server.max_body_bytes must be at least 1024".into());
        }
        Ok(())
    }

    pub fn pseudonym_key_path(&self) -> PathBuf {
        self.audit
            .pseudonym_key
            .clone()
            .unwrap_or_else(|| self.storage.data_dir.join("audit/pseudonym.key"))
    }

    pub fn journal_directory(&self) -> PathBuf {
        self.sinks
            .journal
            .directory
            .clone()
            .unwrap_or_else(|| self.storage.data_dir.join("journal"))
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e: toml::de::Error| ConfigError::Invalid {
        origin: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Sets `SECTION__KEY` (upper case, `__`-separated) in the table.
fn set_path(table: &mut toml::Table, path: &str, raw: &str) -> Result<(), String> {
    let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
    if keys.iter().any(String::is_empty) {
        return Err("empty key in the variable name".into());
    }
    let (last, sections) = keys.split_last().ok_or("empty variable name")?;
    let mut current = table;
    for section in sections {
        current = current
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("{section} is a value, not a section"))?;
    }
    current.insert(last.clone(), parse_scalar(raw));
    Ok(())
}

fn parse_scalar(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_give_the_embedded_run() {
        let config = Config::load(None, env(&[])).expect("defaults load");
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.storage.database_path(),
            PathBuf::from("data/crt-gateway.db")
        );
        assert!(config.sandbox.enabled);
        assert!(config.sinks.journal.enabled);
    }

    #[test]
    fn environment_overrides_any_value() {
        let config = Config::load(
            None,
            env(&[
                ("CRT_GATEWAY_SERVER__LISTEN", "0.0.0.0:9000"),
                ("CRT_GATEWAY_SINKS__JOURNAL__RETRY__MAX_ATTEMPTS", "3"),
                ("CRT_GATEWAY_SANDBOX__ENABLED", "false"),
                ("CRT_GATEWAY_SINKS__INS__ENABLED", "false"),
                ("CRT_GATEWAY_SINKS__DMP__ENABLED", "false"),
                ("CRT_GATEWAY_SINKS__MSSANTE__ENABLED", "false"),
                ("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false"),
                ("CRT_GATEWAY_SINKS__DIRECTORY__ENABLED", "false"),
                ("CRT_GATEWAY_STORAGE__DATA_DIR", "/var/lib/crt"),
                ("UNRELATED", "x"),
            ]),
        )
        .expect("overrides load");
        assert_eq!(config.server.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.sinks.journal.retry.max_attempts, 3);
        assert!(!config.sandbox.enabled);
        assert_eq!(config.storage.data_dir, PathBuf::from("/var/lib/crt"));
    }

    #[test]
    fn the_example_file_is_valid_and_unknown_keys_are_named() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway.example.toml");
        Config::load(Some(&example), env(&[])).expect("the shipped example loads");

        let error = Config::load(None, env(&[("CRT_GATEWAY_SERVER__LISEN", "x")]))
            .expect_err("misspelt key refused");
        assert!(error.to_string().contains("lisen"), "{error}");
    }

    #[test]
    fn fhir_services_take_their_access_keys_at_the_top_of_their_block() {
        let config = Config::load(
            None,
            env(&[
                ("CRT_GATEWAY_ROR__BASE_URL", "https://ror.example/fhir"),
                ("CRT_GATEWAY_ROR__TIMEOUT", "1000"),
                (
                    "CRT_GATEWAY_SINKS__VIATRAJECTOIRE__CLIENT_ID",
                    "crt-gateway",
                ),
                ("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__POLL_INTERVAL", "5000"),
                ("CRT_GATEWAY_REGIONS__SPICO__TRUST", "/etc/crt/chain.pem"),
                ("CRT_GATEWAY_REGIONS__SPICO__MAX_ANSWER_BYTES", "4096"),
            ]),
        )
        .expect("loads");
        let ror = &config.ror;
        assert_eq!(
            ror.access.base_url.as_deref(),
            Some("https://ror.example/fhir")
        );
        assert_eq!(ror.timeout, std::time::Duration::from_secs(1));
        let viatrajectoire = config
            .sinks
            .section::<crt_viatrajectoire::ViatrajectoireConfig>();
        assert_eq!(
            viatrajectoire.access.client_id.as_deref(),
            Some("crt-gateway")
        );
        assert_eq!(viatrajectoire.poll_interval.as_millis(), 5000);
        let spico = config.regions.platform("spico").expect("SPICO's block");
        assert_eq!(
            spico.access.trust,
            Some(PathBuf::from("/etc/crt/chain.pem"))
        );
        assert_eq!(spico.max_answer_bytes, 4096);

        for key in [
            "CRT_GATEWAY_ROR__BASE_URI",
            "CRT_GATEWAY_SINKS__VIATRAJECTOIRE__CLIENT_IDENT",
            "CRT_GATEWAY_REGIONS__SPICO__TRUSTED",
        ] {
            let error = Config::load(None, env(&[(key, "x")])).expect_err("misspelt key refused");
            let misspelt = key.rsplit("__").next().unwrap_or(key).to_lowercase();
            assert!(error.to_string().contains(&misspelt), "{key}: {error}");
        }
    }

    #[test]
    fn production_needs_the_endpoints_and_certificates_of_each_service() {
        let error = Config::load(None, env(&[("CRT_GATEWAY_SANDBOX__ENABLED", "false")]))
            .expect_err("refused");
        assert!(error.to_string().contains("sinks.ins.endpoint"), "{error}");
        let error = Config::load(
            None,
            env(&[
                ("CRT_GATEWAY_SANDBOX__ENABLED", "false"),
                ("CRT_GATEWAY_SINKS__INS__ENABLED", "false"),
                ("CRT_GATEWAY_SINKS__DMP__ENDPOINT", "https://dmp.example"),
                ("CRT_GATEWAY_SINKS__DMP__TRUST", "/etc/crt/igc-sante.pem"),
            ]),
        )
        .expect_err("refused");
        assert!(
            error.to_string().contains("sinks.dmp.structures"),
            "{error}"
        );
        let error = Config::load(
            None,
            env(&[
                ("CRT_GATEWAY_SANDBOX__ENABLED", "false"),
                ("CRT_GATEWAY_SINKS__INS__ENABLED", "false"),
                ("CRT_GATEWAY_SINKS__DMP__ENABLED", "false"),
                (
                    "CRT_GATEWAY_SINKS__MSSANTE__SMTP",
                    "smtps://smtp.operator.example:465",
                ),
            ]),
        )
        .expect_err("refused");
        assert!(error.to_string().contains("sinks.mssante.imap"), "{error}");
    }

    #[test]
    fn lease_shorter_than_a_timeout_is_refused() {
        let error = Config::load(None, env(&[("CRT_GATEWAY_ENGINE__LEASE_MS", "1000")]))
            .expect_err("refused");
        assert!(error.to_string().contains("lease_ms"), "{error}");
    }
}
