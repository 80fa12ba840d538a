//! `mssante package` and `mssante send`: the message the gateway would send for a record,
//! written to a file or sent to one address.

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
    let mut operator = None;
    let smtp = if config.sandbox.enabled {
        let tls = crt_core::simulate::SimulatorTls::from_pki(&config.sandbox.certs_dir);
        let simulator = match MssanteSimulator::new(&tls) {
            Ok(simulator) => simulator,
            Err(e) => return failed(e),
        };
        let running = match simulator.start([127, 0, 0, 1].into()).await {
            Ok(running) => running,
            Err(e) => return failed(e),
        };
        let url = running.smtp_url();
        operator = Some((simulator, running));
        Some(url)
    } else {
        None
    };
    let certs = config.storage.data_dir.join("sandbox-structures");
    let sink = match sink(&config, &certs, smtp) {
        Ok(sink) => sink,
        Err(e) => return failed(e),
    };
    let task = task(record, kind);
    let composed = match sink.compose_for(&task, kind.into(), Some(vec![to])) {
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
