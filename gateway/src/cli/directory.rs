//! `directory lookup`: a professional as the Annuaire Santé lists them (the sandbox's
//! simulator by default), for operators checking a care circle by hand.

use std::path::PathBuf;

use crt_annuaire::AnnuaireConfig;
use crt_annuaire::client::Directory;
use crt_core::directory::DIRECTORY_TARGET;

use super::{Status, failed, load_config};
use crate::sandbox::Sandbox;
use crate::targets::TARGETS;

/// Looks up `who`: an RPPS number (11 digits) or an idNat_PS (`8` + RPPS). Exit 0 when
/// listed, 1 when the directory does not know them.
pub async fn lookup(who: &str, config: Option<PathBuf>) -> Status {
    let who = who.trim();
    let id_nat_ps = match who.len() {
        11 if who.bytes().all(|b| b.is_ascii_digit()) => format!("8{who}"),
        _ => who.to_string(),
    };
    let mut config = match load_config(config) {
        Ok(config) => config,
        Err(status) => return status,
    };
    // Only the directory is needed here.
    config.sinks.journal.enabled = false;
    for target in TARGETS {
        config
            .sinks
            .set_enabled(target.name(), target.name() == DIRECTORY_TARGET);
    }
    let sandbox = if config.sandbox.enabled {
        match Sandbox::start(&config).await {
            Ok(sandbox) => Some(sandbox),
            Err(e) => return failed(e),
        }
    } else {
        None
    };
    let section = Sandbox::in_use(&config, sandbox.as_ref())
        .sinks
        .section::<AnnuaireConfig>();
    let directory = match Directory::from_config(&section) {
        Ok(directory) => directory,
        Err(e) => return failed(e),
    };
    println!(
        "Annuaire Santé {}{}",
        directory.base_url(),
        if sandbox.is_some() {
            " (sandbox simulator)"
        } else {
            ""
        }
    );
    let status = match directory.practitioner(&id_nat_ps).await {
        Ok(Some(entry)) => {
            println!(
                "{}: {}, professions (TRE_G15) {}",
                entry.id_nat_ps,
                if entry.active { "active" } else { "inactive" },
                if entry.professions.is_empty() {
                    "none listed".to_string()
                } else {
                    entry.professions.join(", ")
                }
            );
            for mailbox in &entry.mailboxes {
                println!(
                    "  MSSanté {} ({})",
                    mailbox.address,
                    mailbox.kind.as_deref().unwrap_or("type not given")
                );
            }
            Status::Ok
        }
        Ok(None) => {
            println!("{id_nat_ps}: not listed in the directory");
            Status::Found
        }
        Err(e) => failed(e),
    };
    if let Some(sandbox) = sandbox {
        sandbox.stop();
    }
    status
}
