//! `directory lookup`: a professional as the Annuaire Santé lists them (the sandbox's
//! simulator by default), for operators checking a care circle by hand.

use std::path::PathBuf;

use crt_annuaire::AnnuaireConfig;
use crt_annuaire::client::Directory;
use crt_core::directory::DIRECTORY_TARGET;

use super::{Status, failed, load_config, only_target};

/// Looks up `who`: an RPPS number (11 digits) or an idNat_PS (`8` + RPPS). Exit 0 when
/// listed, 1 when the directory does not know them.
pub async fn lookup(who: &str, config: Option<PathBuf>) -> Status {
    let who = who.trim();
    let id_nat_ps = match who.len() {
        11 if who.bytes().all(|b| b.is_ascii_digit()) => format!("8{who}"),
        _ => who.to_string(),
    };
    let config = match load_config(config) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let (config, sandbox) = match only_target(config, DIRECTORY_TARGET).await {
        Ok(pointed) => pointed,
        Err(status) => return status,
    };
    let section = config.sinks.section::<AnnuaireConfig>();
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
