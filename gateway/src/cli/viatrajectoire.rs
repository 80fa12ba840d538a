//! `viatrajectoire publish-card OFFER`: the CRT's directory card in ViaTrajectoire, drawn
//! from the same offer file as the ROR (`schemas/viatrajectoire/README.md`).
//!
//! In the sandbox ViaTrajectoire is a simulator started for the command.

use std::path::{Path, PathBuf};

use crt_viatrajectoire::ViatrajectoireConfig;
use crt_viatrajectoire::client::ViatrajectoireClient;
use crt_viatrajectoire::directory::{self, CardOutcome};

use super::{Status, failed, load_config, only_target};

/// The card of an offer file: its volet 2 offer as the ROR models it.
pub fn card_of(offer: &crt_ror::offer::Offer) -> Result<serde_json::Value, String> {
    use crt_ror::render::{Links, Part, render};
    let offer_resource =
        render(offer, Part::Volet2, &Links::in_bundle(offer)).map_err(|e| e.to_string())?;
    Ok(directory::card(
        &offer_resource,
        &offer.porteur.finess_et,
        &offer.crt.name,
    ))
}

/// `viatrajectoire publish-card OFFER [--dry-run]`.
pub async fn publish(offer: &Path, dry_run: bool, config_file: Option<PathBuf>) -> Status {
    let offer = match super::ror::read_offer(offer) {
        Ok(offer) => offer,
        Err(status) => return status,
    };
    let card = match card_of(&offer) {
        Ok(card) => card,
        Err(e) => return failed(e),
    };
    let config = match load_config(config_file) {
        Ok(config) => config,
        Err(status) => return status,
    };
    crt_core::tls::install_default_provider();
    let (config, sandbox) = match only_target(config, crt_viatrajectoire::sink::TARGET).await {
        Ok(pointed) => pointed,
        Err(status) => return status,
    };
    let result = async {
        let settings = config.sinks.section::<ViatrajectoireConfig>();
        let client = ViatrajectoireClient::new(&settings).map_err(|e| e.to_string())?;
        println!(
            "ViaTrajectoire {}{}",
            client.base_url(),
            if sandbox.is_some() {
                " (sandbox simulator)"
            } else {
                ""
            }
        );
        let struct_idnat = format!("1{}", offer.porteur.finess_et);
        directory::publish(&client, &card, &struct_idnat, dry_run)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    if let Some(sandbox) = sandbox {
        sandbox.stop();
    }
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => return failed(e),
    };
    let what = match outcome {
        CardOutcome::Created => "created",
        CardOutcome::Updated => "updated",
        CardOutcome::Unchanged => "unchanged",
    };
    if dry_run {
        println!("dry run: the directory card would be {what}");
        if outcome != CardOutcome::Unchanged {
            println!(
                "    PUT HealthcareService?identifier={}|1{}",
                crt_viatrajectoire::incoming::ID_NAT_STRUCT,
                offer.porteur.finess_et
            );
            let text = serde_json::to_string_pretty(&card).unwrap_or_default();
            for line in text.lines() {
                println!("    {line}");
            }
        }
    } else {
        println!("directory card {what}");
    }
    Status::Ok
}
