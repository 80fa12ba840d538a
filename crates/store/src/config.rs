//! `[storage]`: where the records are kept and how they are sealed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory for the embedded database and the journal.
    pub data_dir: PathBuf,
    /// SQLite database file; defaults to `<data_dir>/crt-gateway.db`.
    pub database: Option<PathBuf>,
    /// A PostgreSQL database (`postgres://user:password@host:5432/crt_gateway`), used
    /// instead of SQLite when set: several gateway instances can share it. Every
    /// instance then needs the same storage keys and pseudonym key.
    pub database_url: Option<String>,
    /// The keys record payloads and artifacts are sealed with (AES-256-GCM), lines of
    /// `<id> <64 hex digits>`, the first sealing; created when absent. Defaults to
    /// `<data_dir>/storage.keys`; the `CRT_GATEWAY_STORAGE_KEYS` variable, when set,
    /// holds the same lines instead (`;` between them). Keep it apart from backups.
    pub keys: Option<PathBuf>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("data"),
            database: None,
            database_url: None,
            keys: None,
        }
    }
}

impl StorageConfig {
    pub fn keys_path(&self) -> PathBuf {
        self.keys
            .clone()
            .unwrap_or_else(|| self.data_dir.join("storage.keys"))
    }

    /// The sealer of payloads and artifacts at rest.
    pub fn sealer(&self) -> Result<crate::sealing::Sealer, crate::sealing::SealError> {
        match std::env::var("CRT_GATEWAY_STORAGE_KEYS") {
            Ok(text) => crate::sealing::Sealer::parse(&text.replace(';', "\n")),
            Err(_) => crate::sealing::Sealer::from_file(&self.keys_path()),
        }
    }

    /// The database, as logs may name it (a PostgreSQL URL without its password).
    pub fn shown(&self) -> String {
        match &self.database_url {
            Some(url) => crate::shown_url(url),
            None => self.database_path().display().to_string(),
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.database
            .clone()
            .unwrap_or_else(|| self.data_dir.join("crt-gateway.db"))
    }
}
