//! `mssante package` and `mssante send`: the message the gateway would send for a record,
//! written to a file or sent to one address; `mssante import`: a message received, taken
//! in as the mailbox reader takes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crt_core::record::Channel;
use crt_core::sink::DeliveryTask;
use crt_mssante::simulator::MssanteSimulator;
use crt_mssante::{Address, MssanteConfig, MssanteSink};

use super::dmp::{Kind, read_record};
use super::{Status, failed, load_config};
use crate::certs::{StructureIssuer, files};
use crate::config::Config;
use crate::sandbox::TestPki;

/// A sink with the configured mailboxes, or in the sandbox the test PKI's certificates
/// issued on demand under `certs` and the operator at `smtp`.
fn sink(config: &Config, certs: &Path, smtp: Option<String>) -> Result<MssanteSink, String> {
    if !config.sandbox.enabled {
        return MssanteSink::new(&config.sinks.section::<MssanteConfig>())
            .map_err(|e| e.to_string());
    }
    let pki = TestPki::open(&config.sandbox.certs_dir).map_err(|e| e.to_string())?;
    let mssante = MssanteConfig {
        smtp: Some(smtp.unwrap_or_else(|| "smtps://localhost:465".into())),
        trust: Some(pki.path(files::CHAIN)),
        crl: Some(pki.path(crt_core::simulate::layout::CRL)),
        ..config
            .sinks
            .section::<MssanteConfig>()
            .with_sandbox_reference()
    };
    Ok(MssanteSink::new(&mssante)
        .map_err(|e| e.to_string())?
        .with_issuer(Arc::new(StructureIssuer::new(
            &config.sandbox.certs_dir,
            certs,
        ))))
}

fn task(record: crt_core::CrtRecord, kind: Kind) -> DeliveryTask {
    DeliveryTask::document(Arc::new(record), kind.into(), Channel::Mssante)
}

/// Writes the exact message that would be sent for `record`.
pub fn package(
    record: &Path,
    kind: Kind,
    out: &Path,
    archive: Option<&Path>,
    config: Option<PathBuf>,
) -> Status {
    let config = match load_config(config) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let record = match read_record(record) {
        Ok(record) => record,
        Err(status) => return status,
    };
    let certs = out.parent().unwrap_or(Path::new(".")).join(".certs");
    let sink = match sink(&config, &certs, None) {
        Ok(sink) => sink,
        Err(e) => return failed(e),
    };
    match sink.compose(&task(record, kind), kind.into()) {
        Ok(Some(composed)) => {
            let files = [
                Some((out, &composed.bytes)),
                archive.map(|a| (a, &composed.archive)),
            ];
            for (path, bytes) in files.into_iter().flatten() {
                if let Err(e) = std::fs::write(path, bytes) {
                    return failed(format!("{}: {e}", path.display()));
                }
            }
            println!(
                "{}: message {} from {} to {} recipient(s){}",
                out.display(),
                composed.message_id,
                composed.from,
                composed.recipients.len(),
                if composed.skipped.is_empty() {
                    String::new()
                } else {
                    format!(", {} address(es) left out", composed.skipped.len())
                }
            );
            for (address, reason) in &composed.skipped {
                println!("  left out {address}: {reason}");
            }
            Status::Ok
        }
        Ok(None) => {
            println!("nothing to send: no recipient the message may go to");
            Status::Found
        }
        Err(e) => failed(e.message),
    }
}

/// Sends the message for `record` to `to` only: to the operator configured, or in the
/// sandbox to an operator simulator started for the occasion.
pub async fn send(record: &Path, kind: Kind, to: &str, config: Option<PathBuf>) -> Status {
    let config = match load_config(config) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let record = match read_record(record) {
        Ok(record) => record,
        Err(status) => return status,
    };
    let to = match Address::parse(to, &config.sinks.section::<MssanteConfig>().allowed_domains) {
        Ok(to) => to,
        Err(e) => return failed(e),
    };
    crt_core::tls::install_default_provider();
    let (operator, sink) = match sending_sink(&config).await {
        Ok(started) => started,
        Err(status) => return status,
    };
    let task = task(record, kind);
    let composed = match sink.compose_for(&task, kind.into(), Some(vec![to]), None) {
        Ok(Some(composed)) => composed,
        Ok(None) => return failed("nothing to send"),
        Err(e) => return failed(e.message),
    };
    match sink.transmit(&composed).await {
        Ok(sent) => {
            println!(
                "sent {} to {}: {}",
                composed.message_id,
                sent.accepted
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                sent.answer
            );
            if let Some((simulator, _)) = &operator {
                let notifications = simulator.operator.mailbox(&composed.from.to_string());
                for message in notifications {
                    for ack in crt_mssante::ack::read(&message.bytes) {
                        println!(
                            "  {} from {}: {}",
                            ack.kind,
                            ack.recipient,
                            ack.status.as_str()
                        );
                    }
                }
            }
            Status::Ok
        }
        Err(e) => failed(format!("{}: {}", e.code, e.message)),
    }
}

/// An operator simulator started for one command, in the sandbox.
type CommandOperator = Option<(MssanteSimulator, crt_mssante::simulator::RunningOperator)>;

/// The sink a command sends with: to the configured operator, or in the sandbox to an
/// operator simulator started for the command (returned, to keep it running).
async fn sending_sink(config: &Config) -> Result<(CommandOperator, MssanteSink), Status> {
    let operator = if config.sandbox.enabled {
        let tls = crt_core::simulate::SimulatorTls::from_pki(&config.sandbox.certs_dir);
        let simulator = MssanteSimulator::new(&tls).map_err(failed)?;
        let running = simulator
            .start([127, 0, 0, 1].into())
            .await
            .map_err(failed)?;
        Some((simulator, running))
    } else {
        None
    };
    let smtp = operator.as_ref().map(|(_, running)| running.smtp_url());
    let certs = config.storage.data_dir.join("sandbox-structures");
    let sink = sink(config, &certs, smtp).map_err(failed)?;
    Ok((operator, sink))
}

/// Imports `message` as if read from `mailbox`: the same matching, keeping and MDN as the
/// mailbox reader. In the sandbox the MDN goes through an operator simulator started for
/// the occasion.
pub async fn import(message: &Path, mailbox: &str, config: Option<PathBuf>) -> Status {
    let config = match load_config(config) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let bytes = match read_message(message) {
        Ok(bytes) => bytes,
        Err(status) => return status,
    };
    crt_core::tls::install_default_provider();
    let sealer = match config.storage.sealer() {
        Ok(sealer) => sealer,
        Err(e) => return failed(e),
    };
    let store = match crate::store::open(&config.storage, Some(Arc::new(sealer))).await {
        Ok(store) => store,
        Err(e) => return failed(e),
    };
    let pseudonyms = match crate::audit::Pseudonyms::from_file(&config.pseudonym_key_path()) {
        Ok(pseudonyms) => pseudonyms,
        Err(e) => return failed(e),
    };
    let (operator, sink) = match sending_sink(&config).await {
        Ok(started) => started,
        Err(status) => return status,
    };
    let found =
        match crate::inbox::matching::Beneficiaries::of_mailbox(store.as_ref(), mailbox).await {
            Ok(found) => found,
            Err(e) => return failed(e),
        };
    let structures = found.crts.clone();
    let mut beneficiaries = Some(found);
    // The mailbox's certificate: configured, or in the sandbox issued to its CRT.
    let structure = structures
        .first()
        .map(|crt| format!("1{crt}"))
        .unwrap_or_default();
    let sender = match sink.mailbox(mailbox, &structure) {
        Ok(sender) => sender,
        Err(e) => return failed(format!("{mailbox}: {}", e.message)),
    };
    let importer = crate::inbox::Importer {
        store: store.as_ref(),
        sink: &sink,
        pseudonyms: Some(&pseudonyms),
        caller: "cli",
    };
    let imported = importer.import(&sender, &bytes, &mut beneficiaries).await;
    drop(operator);
    match imported {
        Ok(crate::inbox::Imported::NotDocuments) => {
            println!(
                "{}: no documents to import (a message for people, or a notification)",
                message.display()
            );
            Status::Ok
        }
        Ok(crate::inbox::Imported::Kept {
            id,
            status,
            answered,
        }) => {
            println!(
                "{}: kept as {id}, {}{}",
                message.display(),
                status.as_str(),
                if answered {
                    ""
                } else {
                    " (the MDN owed could not be sent)"
                }
            );
            Status::Ok
        }
        Err(e) => failed(e),
    }
}

/// A message file, bounded as a mailbox's messages are.
fn read_message(path: &Path) -> Result<Vec<u8>, Status> {
    let limit = crt_mssante::message::MAX_MESSAGE_BYTES as u64;
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > limit => {
            return Err(failed(format!(
                "{}: larger than {limit} bytes",
                path.display()
            )));
        }
        Ok(_) => {}
        Err(e) => return Err(failed(format!("{}: {e}", path.display()))),
    }
    std::fs::read(path).map_err(|e| failed(format!("{}: {e}", path.display())))
}
