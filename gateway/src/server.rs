//! Puts the pieces together: sandbox, store, registry, engine and API, and stops them in
//! order.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::info;

use crate::api::{self, AppState};
use crate::config::Config;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::sandbox::{Sandbox, SandboxError};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot prepare the sinks: {0}")]
    Sinks(#[from] crate::registry::RegistryError),
    #[error("API security: {0}")]
    Security(String),
    #[error("the pseudonym key {path}: {reason}")]
    PseudonymKey { path: String, reason: String },
    #[error(transparent)]
    Rota(#[from] crate::rota::RotaError),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
}

/// A running gateway.
pub struct Gateway {
    addr: SocketAddr,
    store: Arc<dyn Store>,
    shutdown: watch::Sender<bool>,
    api: JoinHandle<()>,
    engine: JoinHandle<()>,
    acknowledgements: Option<JoinHandle<()>>,
    /// Follows ViaTrajectoire statuses for the waiting lists.
    waiting: Option<JoinHandle<()>>,
    /// Brings partners' liaison entries back, one reader per regional platform.
    liaison: Vec<JoinHandle<()>>,
    /// Reads the backlog for back-pressure on intake.
    backlog: JoinHandle<()>,
    /// Calls the on-call professionals and informs the regulation.
    on_call: JoinHandle<()>,
    sandbox: Option<Sandbox>,
}

impl Gateway {
    pub async fn start(config: Config) -> Result<Gateway, StartError> {
        crt_core::tls::install_default_provider();
        let sandbox = if config.sandbox.enabled {
            let sandbox = Sandbox::start(&config).await?;
            sandbox.write_endpoints();
            Some(sandbox)
        } else {
            None
        };
        let sealer = config
            .storage
            .sealer()
            .map_err(|e| StartError::Security(e.to_string()))?;
        let store = crate::store::open(&config.storage, Some(Arc::new(sealer))).await?;
        let issuer = sandbox.as_ref().map(Sandbox::issuer);
        let config = Sandbox::in_use(&config, sandbox.as_ref());
        let registry = Arc::new(Registry::from_config(&config, issuer)?);
        let key_path = config.pseudonym_key_path();
        let pseudonyms = Arc::new(crate::audit::Pseudonyms::from_file(&key_path).map_err(|e| {
            StartError::PseudonymKey {
                path: key_path.display().to_string(),
                reason: e.to_string(),
            }
        })?);
        let listener =
            TcpListener::bind(config.server.listen)
                .await
                .map_err(|e| StartError::Listen {
                    addr: config.server.listen,
                    reason: e.to_string(),
                })?;
        let addr = listener.local_addr().map_err(|e| StartError::Listen {
            addr: config.server.listen,
            reason: e.to_string(),
        })?;
        let metrics = Arc::new(Metrics::default());
        let wake = Arc::new(Notify::new());
        let (shutdown, shutdown_rx) = watch::channel(false);

        let engine = Arc::new(
            Engine::new(
                store.clone(),
                registry.clone(),
                config.engine.clone(),
                metrics.clone(),
                wake.clone(),
            )
            .with_pseudonyms(pseudonyms.clone()),
        );
        let engine = tokio::spawn(engine.run(shutdown_rx.clone()));
        let acknowledgements = registry.mssante().and_then(|sink| {
            crate::acknowledgements::spawn(
                sink.clone(),
                store.clone(),
                pseudonyms.clone(),
                shutdown_rx.clone(),
            )
        });
        let waiting = registry.viatrajectoire().map(|(client, interval)| {
            crate::waiting::spawn(
                client.clone(),
                *interval,
                config
                    .sinks
                    .section::<crt_viatrajectoire::ViatrajectoireConfig>()
                    .structures,
                store.clone(),
                shutdown_rx.clone(),
            )
        });
        let liaison = registry
            .platforms()
            .iter()
            .map(|(platform, interval)| {
                crate::liaison::spawn(
                    platform.clone(),
                    *interval,
                    store.clone(),
                    shutdown_rx.clone(),
                )
            })
            .collect();
        let rota = Arc::new(crate::rota::Rota::new(&config.on_call)?);
        for gap in rota.gaps() {
            tracing::warn!(crt = %gap.crt, gap = %gap.spans.join(", "), "the on-call rota has a gap");
        }
        let on_call_wake = Arc::new(Notify::new());
        let on_call = Arc::new(crate::oncall::OnCall::new(
            store.clone(),
            registry.clone(),
            rota.clone(),
            &config.on_call,
            pseudonyms.clone(),
            on_call_wake.clone(),
        ))
        .spawn(shutdown_rx.clone());
        let backlog = crate::backlog::Backlog::new(config.server.max_backlog);
        let backlog_reader = backlog.spawn(store.clone(), shutdown_rx.clone());
        let security = api_security(&config)?;
        let state = Arc::new(AppState {
            store: store.clone(),
            registry: registry.clone(),
            validator: Arc::new(crate::registry::record_validator()),
            metrics,
            wake,
            config: config.server.clone(),
            pseudonyms,
            authenticator: security.authenticator,
            policy: security.policy,
            tls: security.tls,
            psc: security.psc,
            sessions: security.sessions,
            staff: config.server.auth.staff.clone(),
            reports: config.reports.clone(),
            backlog,
            rota,
            on_call_wake,
        });
        let api = tokio::spawn(api::serve(listener, state, shutdown_rx));
        info!(
            %addr,
            database = %config.storage.shown(),
            sandbox = config.sandbox.enabled,
            targets = ?registry.sinks().map(|s| s.target().to_string()).collect::<Vec<_>>(),
            "gateway listening"
        );
        if config.sandbox.enabled {
            info!(
                page = %format!("http://{addr}/ui/"),
                token = %config.storage.data_dir.join(crate::security::auth::SANDBOX_OPERATOR_TOKEN_FILE).display(),
                "operator page (its token is in the file named)"
            );
        }
        Ok(Gateway {
            addr,
            store,
            shutdown,
            api,
            engine,
            acknowledgements,
            waiting,
            liaison,
            backlog: backlog_reader,
            on_call,
            sandbox,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    pub fn sandbox(&self) -> Option<&Sandbox> {
        self.sandbox.as_ref()
    }

    /// Stops intake, lets attempts in progress settle, then stops the simulators.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.api.await;
        let _ = self.engine.await;
        if let Some(reader) = self.acknowledgements {
            let _ = reader.await;
        }
        if let Some(reader) = self.waiting {
            let _ = reader.await;
        }
        for reader in self.liaison {
            let _ = reader.await;
        }
        let _ = self.backlog.await;
        let _ = self.on_call.await;
        if let Some(sandbox) = self.sandbox {
            sandbox.stop();
        }
        info!("gateway stopped");
    }
}

/// Who may call the API, as [`api_security`] sets it up.
struct ApiSecurity {
    authenticator: crate::security::Authenticator,
    policy: crate::security::Policy,
    tls: Option<tokio_rustls::TlsAcceptor>,
    psc: Option<Arc<crt_psc::Provider>>,
    sessions: Arc<crate::security::session::Sessions>,
}

/// Who may call the API: the configured tokens (and the sandbox's), Pro Santé Connect and
/// the sessions of `/ui/`, the access policy, and the TLS acceptor when HTTPS is
/// configured.
fn api_security(config: &Config) -> Result<ApiSecurity, StartError> {
    let failed = |e: String| StartError::Security(e);
    let mut extra = Vec::new();
    if config.sandbox.enabled {
        let token = crate::security::auth::sandbox_token(&config.storage.data_dir)
            .map_err(|e| failed(format!("the sandbox API token: {e}")))?;
        extra.push(crate::config::ApiToken {
            name: "sandbox".into(),
            sha256: crate::security::auth::token_digest(&token),
            structure: None,
            actor: Some("automate".into()),
            // The sandbox stands for a DUI that authenticates its own users.
            delegates_for: vec!["*".into()],
        });
        let operator = crate::security::auth::sandbox_operator_token(&config.storage.data_dir)
            .map_err(|e| failed(format!("the sandbox operator token: {e}")))?;
        extra.push(crate::config::ApiToken {
            name: "sandbox-operator".into(),
            sha256: crate::security::auth::token_digest(&operator),
            structure: None,
            actor: Some("operator".into()),
            delegates_for: Vec::new(),
        });
    }
    let psc = if config.psc.enabled {
        let provider =
            crt_psc::Provider::new(&config.psc).map_err(|e| failed(format!("psc: {e}")))?;
        Some(Arc::new(provider))
    } else {
        None
    };
    let sessions = Arc::new(crate::security::session::Sessions::new());
    let authenticator = crate::security::Authenticator::new(
        &config.server.auth,
        extra,
        psc.clone(),
        sessions.clone(),
    );
    let policy = match &config.server.auth.policy {
        Some(path) => crate::security::Policy::load(path).map_err(|e| failed(e.to_string()))?,
        None => crate::security::Policy::default_policy(),
    };
    let tls = match &config.server.tls {
        None => None,
        Some(tls) => {
            let identity = crt_core::tls::IdentityFiles {
                certificate: tls.certificate.clone(),
                key: tls.key.clone(),
            };
            let client_trust = tls
                .client_trust
                .as_deref()
                .map(|trust| (trust, tls.crl.as_deref()));
            let server = crt_core::tls::server_config(&identity, client_trust)
                .map_err(|e| failed(format!("server.tls: {e}")))?;
            Some(tokio_rustls::TlsAcceptor::from(server))
        }
    };
    Ok(ApiSecurity {
        authenticator,
        policy,
        tls,
        psc,
        sessions,
    })
}

/// Runs until SIGINT or SIGTERM.
pub async fn run_until_signal(config: Config) -> Result<(), StartError> {
    let gateway = Gateway::start(config).await?;
    wait_for_signal().await;
    info!("shutdown requested");
    gateway.stop().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use crt_core::RecordError;
    use serde_json::Value;

    /// Each file of `schemas/examples/invalid/` gives exactly the violations its
    /// `.errors.json` lists, with every rule the gateway applies.
    #[test]
    fn every_invalid_example_gives_exactly_its_documented_violations() {
        let validator = crate::registry::record_validator();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/examples/invalid");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("invalid examples") {
            let path = entry.expect("entry").path();
            let name = path.to_string_lossy().to_string();
            if !name.ends_with(".json") || name.ends_with(".errors.json") {
                continue;
            }
            let expected: Value = serde_json::from_slice(
                &std::fs::read(path.with_extension("errors.json")).expect("errors file"),
            )
            .expect("errors file is JSON");
            let expected: BTreeSet<(String, String)> = expected["violations"]
                .as_array()
                .expect("violations")
                .iter()
                .map(|v| {
                    (
                        v["pointer"].as_str().unwrap().into(),
                        v["rule"].as_str().unwrap().into(),
                    )
                })
                .collect();
            let found: BTreeSet<(String, String)> =
                match validator.parse(&std::fs::read(&path).unwrap()) {
                    Err(RecordError::Invalid(violations)) => violations
                        .into_iter()
                        .map(|v| (v.pointer, v.rule))
                        .collect(),
                    other => panic!("{name}: expected violations, got {other:?}"),
                };
            assert_eq!(found, expected, "{name}");
            checked += 1;
        }
        assert!(checked >= 15, "{checked} invalid examples");
    }
}
