//! `dmp render` and `dmp envelope`: what the gateway would send to the DMP for a record,
//! produced offline; `dmp search` and `dmp get`: a beneficiary's DMP as a running gateway
//! shows it to a professional of the care team.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crt_core::CrtRecord;
use crt_core::record::DocumentKind;
use crt_dmp::DmpConfig;
use crt_dmp::sink::document_task;
use crt_dmp::{DmpClient, DmpSink};
use crt_documents::{CdaModel, RenderContext, render};

use super::{Status, failed, load_config, records, table};
use crate::certs::StructureIssuer;
use crate::client::ApiClient;
use crate::config::Config;
use crate::sandbox::TestPki;
use crate::security::care_team;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Dlu,
    Plan,
}

impl From<Kind> for DocumentKind {
    fn from(kind: Kind) -> DocumentKind {
        match kind {
            Kind::Dlu => DocumentKind::Dlu,
            Kind::Plan => DocumentKind::Plan,
        }
    }
}

/// The DLU model, when it should not follow the record's placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Model {
    Ehpad,
    Dom,
}

/// Reads and validates a record with the gateway's own rules.
pub(super) fn read_record(path: &Path) -> Result<CrtRecord, Status> {
    let bytes = std::fs::read(path).map_err(|e| failed(format!("{}: {e}", path.display())))?;
    crate::registry::record_validator()
        .parse(&bytes)
        .map_err(|e| {
            eprintln!("{}: {e}", path.display());
            if let crt_core::RecordError::Invalid(violations) = e {
                for violation in violations {
                    eprintln!("  {violation}");
                }
            }
            Status::Found
        })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Status> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| failed(format!("{}: {e}", parent.display())))?;
    }
    std::fs::write(path, bytes).map_err(|e| failed(format!("{}: {e}", path.display())))
}

pub fn render_document(
    record: &Path,
    kind: Kind,
    model: Option<Model>,
    oid_root: Option<&str>,
    out: &Path,
) -> Status {
    let record = match read_record(record) {
        Ok(record) => record,
        Err(status) => return status,
    };
    // The command renders without asking the teleservice: the record's traits in the INS
    // form stand for the reference traits.
    let Some(identity) = crt_core::identity::QualifiedIdentity::of_record(&record) else {
        return failed("the record has no INS: the documents identify the beneficiary by it");
    };
    if record.beneficiary.identity_status != crt_core::record::IdentityStatus::Qualified {
        eprintln!(
            "note: the identity is {}: the gateway sends this document only once it is qualified",
            record.beneficiary.identity_status.code()
        );
    }
    let model = match (kind, model) {
        (Kind::Plan, Some(_)) => return failed("--model applies to the DLU only"),
        (Kind::Dlu, Some(Model::Ehpad)) => CdaModel::DluEhpad,
        (Kind::Dlu, Some(Model::Dom)) => CdaModel::DluDom,
        (kind, None) => CdaModel::for_record(kind.into(), record.beneficiary.placement),
    };
    let context = RenderContext::for_record(&record, oid_root);
    let document = match render(&record, model, &identity, &context) {
        Ok(document) => document,
        Err(e) => return failed(e),
    };
    if let Err(status) = write(out, &document.xml) {
        return status;
    }
    println!(
        "{}: {} version {}, id {}, {} bytes",
        out.display(),
        model.slug(),
        document.version,
        document.id.xds(),
        document.xml.len()
    );
    Status::Ok
}

pub async fn envelope(
    record_path: &Path,
    kind: Kind,
    out: &Path,
    config: Option<PathBuf>,
) -> Status {
    let config = match load_config(config) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let record = match read_record(record_path) {
        Ok(record) => record,
        Err(status) => return status,
    };
    crt_core::tls::install_default_provider();
    let sink = match offline_sink(&config, out) {
        Ok(sink) => sink,
        Err(e) => return failed(e),
    };
    let task = document_task(Arc::new(record), kind.into());
    let (document, built) = match sink.envelope(&task, kind.into()) {
        Ok(Some(built)) => built,
        Ok(None) => {
            println!("nothing to send: the beneficiary opposed feeding the DMP");
            return Status::Found;
        }
        Err(e) => {
            println!("not sendable: {} ({})", e.message, e.code);
            return Status::Found;
        }
    };
    let request = match config.sinks.section::<DmpConfig>().transport {
        crt_dmp::config::Transport::Xds => "iti41-request.mime",
        crt_dmp::config::Transport::Mhd => "iti65-request.json",
    };
    let mut files = vec![
        (format!("{}.xml", document.model.slug()), document.xml),
        (request.to_string(), built.request.body),
        (
            format!("{request}.content-type"),
            built.request.content_type.into_bytes(),
        ),
    ];
    if let Some(signature) = built.signature {
        files.push(("submission-signature.xml".into(), signature));
    }
    for (name, bytes) in &files {
        if let Err(status) = write(&out.join(name), bytes) {
            return status;
        }
    }
    println!(
        "{}: {request} for submission set {} ({} files)",
        out.display(),
        built.submission_set,
        files.len()
    );
    Status::Ok
}

/// A DMP sink that is only asked to build requests: the configured certificates, or in
/// the sandbox the test PKI's (issuing them to other structures under `out/.certs`).
fn offline_sink(config: &Config, out: &Path) -> Result<DmpSink, String> {
    let sandbox = config.sandbox.enabled;
    let dmp = if sandbox {
        let pki = TestPki::open(&config.sandbox.certs_dir).map_err(|e| e.to_string())?;
        let base = config.sinks.section::<DmpConfig>();
        crt_dmp::target::sandbox_section(&base, &pki.dir, "https://localhost/dmp")
    } else {
        config.sinks.section::<DmpConfig>()
    };
    let mut client = DmpClient::from_config(&dmp).map_err(|e| e.to_string())?;
    if sandbox {
        client = client.with_issuer(Arc::new(StructureIssuer::new(
            &config.sandbox.certs_dir,
            &out.join(".certs"),
        )));
    }
    Ok(DmpSink::new(client, &dmp))
}

/// Who consults a DMP through a running gateway, and in which mode.
#[derive(Debug, Clone, clap::Args)]
pub struct Access {
    /// An emergency access (*bris de glace*) outside the care team, and its reason.
    #[arg(long, value_name = "REASON")]
    emergency: Option<String>,
    /// The emergency is a medical regulation centre's (centre 15).
    #[arg(long, requires = "emergency")]
    regulation: bool,
    /// With a system's token: the professional who consults (idNat_PS).
    #[arg(long, value_name = "IDNAT_PS", requires = "profession")]
    actor: Option<String>,
    /// With `--actor`: their profession (physician, nurse...).
    #[arg(long, requires = "actor")]
    profession: Option<String>,
}

impl Access {
    /// The API client that says so: the token of `CRT_GATEWAY_TOKEN` (a Pro Santé Connect
    /// token names the professional itself), the professional named, the emergency.
    fn client(&self, url: &str) -> Result<ApiClient, Status> {
        let mut client = ApiClient::new(url).map_err(failed)?;
        if let (Some(id), Some(profession)) = (&self.actor, &self.profession) {
            client = client.with_actor(id, profession, None);
        }
        if let Some(reason) = &self.emergency {
            client = client.with_header(care_team::BREAK_GLASS, &crt_core::oauth::encode(reason));
            if self.regulation {
                client = client.with_header(care_team::EMERGENCY_MODE, "centre_15");
            }
        }
        Ok(client)
    }
}

/// The API path of a beneficiary's DMP.
fn dmp_path(crt: &str, beneficiary: &str) -> String {
    format!(
        "/v1/beneficiaries/{}/{}/dmp",
        crt_core::oauth::encode(crt),
        crt_core::oauth::encode(beneficiary)
    )
}

/// `dmp search`: the beneficiary's documents the DMP shows the professional (ITI-18).
pub async fn search(
    crt: &str,
    beneficiary: &str,
    type_code: Option<&str>,
    access: &Access,
    url: &str,
    json: bool,
) -> Status {
    let client = match access.client(url) {
        Ok(client) => client,
        Err(status) => return status,
    };
    let mut path = dmp_path(crt, beneficiary);
    if let Some(code) = type_code {
        path.push_str(&format!("?type={}", crt_core::oauth::encode(code)));
    }
    let body = match records::fetch_with(&client, &path, json).await {
        Ok(Some(body)) => body,
        Ok(None) => return Status::Ok,
        Err(status) => return status,
    };
    println!(
        "DMP of beneficiary {beneficiary} (CRT {crt}), access {}",
        body["mode"].as_str().unwrap_or("?")
    );
    let rows: Vec<Vec<String>> = body["documents"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let text = |key: &str| d[key].as_str().unwrap_or("").to_string();
            let confidentiality = d["confidentiality"]
                .as_array()
                .map(|codes| {
                    codes
                        .iter()
                        .filter_map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            vec![
                text("unique_id"),
                text("type_code"),
                text("version"),
                text("status"),
                confidentiality,
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &["unique id", "type", "version", "status", "confidentiality"],
            &rows
        )
    );
    Status::Ok
}

/// `dmp get`: one document of the beneficiary's DMP (ITI-43), written to `out` or to the
/// standard output.
pub async fn get(
    crt: &str,
    beneficiary: &str,
    unique_id: &str,
    access: &Access,
    url: &str,
    out: Option<&Path>,
) -> Status {
    let client = match access.client(url) {
        Ok(client) => client,
        Err(status) => return status,
    };
    let path = format!(
        "{}/{}",
        dmp_path(crt, beneficiary),
        crt_core::oauth::encode(unique_id)
    );
    let answer = match client.get(&path).await {
        Ok(answer) => answer,
        Err(e) => return failed(e),
    };
    if answer.status != http::StatusCode::OK {
        eprintln!(
            "error: {}",
            records::problem_text(&answer.json(), answer.status)
        );
        return if answer.status == http::StatusCode::NOT_FOUND {
            Status::Found
        } else {
            Status::Failed
        };
    }
    match out {
        Some(path) => match write(path, &answer.body) {
            Ok(()) => {
                println!("{}: {} bytes", path.display(), answer.body.len());
                Status::Ok
            }
            Err(status) => status,
        },
        None => {
            use std::io::Write;
            match std::io::stdout().write_all(&answer.body) {
                Ok(()) => Status::Ok,
                Err(e) => failed(e),
            }
        }
    }
}
