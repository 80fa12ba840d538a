//! The `crt-gateway` command line.
//!
//! Exit codes: 0 success; 1 the command ran and found something wrong (an invalid record,
//! a rejected submission, a certificate warning); 2 it could not run (unreadable input,
//! gateway unreachable, start-up failure).

mod audit;
mod certs;
mod conformance;
mod demo;
mod directory;
mod dmp;
mod ins;
mod mssante;
mod night;
mod records;
mod report;
mod ror;
mod submit;
mod table;
mod validate;
mod viatrajectoire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use uuid::Uuid;

use crate::client::{DEFAULT_URL, ENV_URL};
use crate::config::Config;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// The command ran and found a problem.
    Found,
    /// The command could not do its job.
    Failed,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        match status {
            Status::Ok => ExitCode::SUCCESS,
            Status::Found => ExitCode::from(1),
            Status::Failed => ExitCode::from(2),
        }
    }
}

#[derive(Parser)]
#[command(
    name = "crt-gateway",
    version,
    about = "Interoperability gateway between CRT software and the French e-health services",
    long_about = "Takes CRT records in over HTTP, stores them durably, and delivers what each asks \
                  for to the INSi, the DMP, MSSanté, the ROR, ViaTrajectoire and the regional \
                  platforms, with receipts, retries and a dead-letter state. By default every \
                  national service is a local simulator (the sandbox)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (HTTP API and delivery engine).
    Serve {
        /// Address to listen on (overrides [server] listen).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<SocketAddr>,
        /// Data directory (overrides [storage] data_dir).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Configuration file (default: ./gateway.toml if present).
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run the whole job on the sandbox: submit the example records, wait for every
    /// delivery, print the outcome and write what was produced.
    Demo {
        /// Where to write the produced artifacts.
        #[arg(long, value_name = "DIR", default_value = "out")]
        out: PathBuf,
        /// Directory of example records (default: schemas/examples).
        #[arg(long, value_name = "DIR")]
        examples: Option<PathBuf>,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Submit records to a running gateway: one JSON document, or JSON Lines.
    Submit {
        /// File to read, or `-` for standard input.
        input: String,
        /// Gateway base URL.
        #[arg(long, env = ENV_URL, default_value = DEFAULT_URL)]
        url: String,
        /// Records in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// The documents are volet 1 actions (`crt-volet1-action.schema.json`), not records.
        #[arg(long)]
        volet1: bool,
    },
    /// Show a record's deliveries, states and receipts.
    Status {
        /// Record id, as the gateway returned it.
        id: Uuid,
        #[arg(long, env = ENV_URL, default_value = DEFAULT_URL)]
        url: String,
        /// Print the gateway's JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// The volet 2 waiting list: each admission request that reached the CRT through
    /// ViaTrajectoire, and where it stands after the CRT's answers.
    WaitingList {
        /// FINESS of the CRT's establishment (every CRT when absent).
        #[arg(long)]
        crt: Option<String>,
        #[arg(long, env = ENV_URL, default_value = DEFAULT_URL)]
        url: String,
        /// Print the gateway's JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// A CRT's activity indicators over a period, from the records its DUIs sent (file
    /// active, admissions and exits, delays, occupancy, forfait months, on-call calls).
    Report {
        /// FINESS of the CRT's establishment.
        #[arg(long)]
        crt: String,
        /// First day of the period (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// Last day of the period, included (YYYY-MM-DD).
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value = "table")]
        format: report::Format,
        /// Who reads it: `external` (the ARS, the CNSA) shows counts from 1 to 4 as "< 5".
        #[arg(long, value_enum, default_value = "internal")]
        audience: crate::indicators::Audience,
        /// Write the report to this file (html, csv, json) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, env = ENV_URL, default_value = DEFAULT_URL)]
        url: String,
    },
    /// What partners wrote in the liaison books on the regional platform, as the gateway
    /// read it back (newest first).
    LiaisonBook {
        /// FINESS of the CRT's establishment.
        #[arg(long)]
        crt: String,
        /// The DUI's local id of one beneficiary.
        #[arg(long)]
        beneficiary: Option<String>,
        #[arg(long, env = ENV_URL, default_value = DEFAULT_URL)]
        url: String,
        /// Print the gateway's JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// Put a dead delivery back in the queue.
    Replay {
        /// Delivery id.
        id: Uuid,
        #[arg(long, env = ENV_URL, default_value = DEFAULT_URL)]
        url: String,
    },
    /// Validate files offline: CRT records (JSON), CDA documents (XML), ITI-41 requests
    /// (SOAP or MTOM), INSi requests and answers, IHE XDM archives (ZIP), MSSanté messages
    /// (.eml), offer files (.yaml) and FHIR resources or bundles against the ROR rules.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: validate::Format,
    },
    /// Conformity campaigns: run scenario suites against the sandbox or a platform and
    /// write a report (HTML for people, JSON, JUnit for CI servers).
    Conformance {
        #[command(subcommand)]
        command: ConformanceCommand,
    },
    /// DMP: the documents and the request the gateway would send for a record.
    Dmp {
        #[command(subcommand)]
        command: DmpCommand,
    },
    /// MSSanté: the message the gateway would send for a record, or send it to one
    /// address.
    Mssante {
        #[command(subcommand)]
        command: MssanteCommand,
    },
    /// A new API token for a local integration, and the configuration block that
    /// accepts it (only its SHA-256 is kept).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The access trace: check that no line was changed or removed, export a period.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// ROR: a CRT's offer file as FHIR resources, published to the ROR (the sandbox
    /// simulator by default).
    Ror {
        #[command(subcommand)]
        command: RorCommand,
    },
    /// ViaTrajectoire: the CRT's directory card (fiche annuaire), from its offer file (the
    /// sandbox simulator by default).
    Viatrajectoire {
        #[command(subcommand)]
        command: ViatrajectoireCommand,
    },
    /// The Annuaire Santé: look up a professional.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// INS: check an INS number, search the INSi teleservice.
    Ins {
        #[command(subcommand)]
        command: InsCommand,
    },
    /// The test PKI and certificate inspection.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// Print the JSON Schema of a CRT record.
    #[command(hide = true)]
    Schema,
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// A professional as the Annuaire Santé lists them (the sandbox simulator by default):
    /// active or not, professions, MSSanté mailboxes. Exit 1 when not listed.
    Lookup {
        /// RPPS number (11 digits) or idNat_PS.
        who: String,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum InsCommand {
    /// Check an INS number (13-character matricule + 2-digit key); exit 1 if invalid.
    CheckNir {
        number: String,
        /// Also check that the OID fits the kind of matricule.
        #[arg(long)]
        oid: Option<String>,
    },
    /// Search the INSi teleservice by identity traits (the sandbox simulator by default)
    /// and show the status the gateway would assign.
    Search {
        #[arg(long)]
        birth_name: String,
        /// Birth given names in order, comma-separated or repeated.
        #[arg(long, required = true, num_args = 1.., value_delimiter = ',')]
        given_names: Vec<String>,
        /// M, F or I.
        #[arg(long)]
        sex: String,
        /// YYYY-MM-DD, 00 for an unknown day or month.
        #[arg(long)]
        birth_date: String,
        /// INSEE COG code of the birth place.
        #[arg(long)]
        birth_place: Option<String>,
        /// An identity document was checked (RNIV): QUAL instead of RECUP on a match.
        #[arg(long)]
        document_checked: bool,
        /// The structure (idNat_Struct) whose INSi certificate the search goes with; the
        /// only one configured when not given.
        #[arg(long)]
        structure: Option<String>,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ViatrajectoireCommand {
    /// Publish the CRT's directory card from its offer file (the same as for the ROR):
    /// written only when it differs from the card ViaTrajectoire holds.
    PublishCard {
        offer: PathBuf,
        /// Only read ViaTrajectoire and print what would be written.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RorCommand {
    /// Write the FHIR resources of an offer file (YAML or JSON) as a collection Bundle.
    Render {
        offer: PathBuf,
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Publish an offer: create what the ROR lacks, patch only what differs.
    Publish {
        offer: PathBuf,
        /// Only read the ROR and print what would be written.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Show what the ROR holds for an establishment (FINESS ET).
    Pull {
        finess_et: String,
        /// Only the offers and locations changed since this date or instant
        /// (`_lastUpdated`).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Also write them as a Bundle.
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum MssanteCommand {
    /// Import one message as if read from a structure's mailbox: matched to a
    /// beneficiary, kept, answered with its MDN (for replays, tests and mailbox exports).
    Import {
        message: PathBuf,
        /// The structure's mailbox that received it.
        #[arg(long, value_name = "ADDRESS")]
        mailbox: String,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Write the exact message (MIME, with IHE_XDM.zip and the PDF) that would be sent.
    Package {
        record: PathBuf,
        #[arg(long, value_enum, default_value = "dlu")]
        kind: dmp::Kind,
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
        /// Also write the message's IHE_XDM.zip here.
        #[arg(long, value_name = "FILE")]
        archive: Option<PathBuf>,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Send the message to one address (in the sandbox, through an operator simulator
    /// started for the occasion, whose acknowledgements are shown).
    Send {
        record: PathBuf,
        #[arg(long, value_enum, default_value = "dlu")]
        kind: dmp::Kind,
        #[arg(long, value_name = "ADDRESS")]
        to: String,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ConformanceCommand {
    /// Run scenario suites. Each scenario states the requirement it checks; the report
    /// shows, per requirement, whether the target met it, with the messages exchanged.
    /// Exit code 0 when every requirement is met, 1 when one is not, 2 when the campaign
    /// could not run.
    Run {
        /// Suites to run, comma-separated; every suite when omitted: one per national
        /// service (ins, dmp, mssante, viatrajectoire, directory), then ror and region.
        #[arg(long, value_delimiter = ',')]
        suite: Vec<String>,
        /// A gateway configuration naming the platforms to test (URLs, certificates);
        /// without it, the sandbox's simulators.
        #[arg(long, value_name = "FILE")]
        target: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "html")]
        format: conformance::Format,
        /// Where to write the report.
        #[arg(
            short,
            long,
            value_name = "FILE",
            default_value = "conformance-report.html"
        )]
        out: PathBuf,
        /// The directory of the scenario files (`<suite>.toml`).
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DmpCommand {
    /// Write the CDA document of a record (the DLU or the personalised plan).
    Render {
        record: PathBuf,
        #[arg(long, value_enum)]
        kind: dmp::Kind,
        /// DLU model; by default EHPAD for a place in an EHPAD, DOM at home.
        #[arg(long, value_enum)]
        model: Option<dmp::Model>,
        /// The structure's OID root (default: derived from its FINESS).
        #[arg(long, value_name = "OID")]
        oid_root: Option<String>,
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write the exact ITI-41 multipart body (with its VIHF and submission-set signature)
    /// that would be sent for a record, with the document and the signature beside it.
    Envelope {
        record: PathBuf,
        #[arg(long, value_enum, default_value = "dlu")]
        kind: dmp::Kind,
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// A beneficiary's documents in their DMP, as a running gateway shows them to the
    /// professional who asks (ITI-18): a Pro Santé Connect token in `CRT_GATEWAY_TOKEN`,
    /// or a system's token with `--actor`.
    Search {
        /// FINESS ET of the CRT that follows the beneficiary.
        #[arg(long)]
        crt: String,
        /// The beneficiary's identifier in the CRT's DUI (`local_id`).
        #[arg(long)]
        beneficiary: String,
        /// Only documents of this type (LOINC).
        #[arg(long = "type", value_name = "LOINC")]
        type_code: Option<String>,
        #[command(flatten)]
        access: dmp::Access,
        #[arg(long, env = ENV_URL, default_value = DEFAULT_URL)]
        url: String,
        /// Print the gateway's JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// One document of a beneficiary's DMP (ITI-43), through a running gateway.
    Get {
        #[arg(long)]
        crt: String,
        #[arg(long)]
        beneficiary: String,
        /// The document's uniqueId, as `dmp search` lists it.
        unique_id: String,
        #[command(flatten)]
        access: dmp::Access,
        #[arg(long, env = ENV_URL, default_value = DEFAULT_URL)]
        url: String,
        /// Where to write it (the standard output otherwise).
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    New {
        /// A name for the token's holder, as the access trace shows it.
        #[arg(long)]
        name: String,
        /// The structure (idNat_Struct: 1 + FINESS) the holder calls for.
        #[arg(long)]
        structure: Option<String>,
        /// Requests that name no professional act as the system itself.
        #[arg(long, conflicts_with = "operator")]
        automate: bool,
        /// The holder runs the gateway: deliveries, replay, file validation (`/ui/`), no
        /// health content.
        #[arg(long)]
        operator: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain of the whole trace; fails naming the first altered line.
    Verify {
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// The trace lines of a period as JSON Lines (`--to` excluded).
    Export {
        /// A date (2026-11-01) or an RFC 3339 instant.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, value_name = "FILE", env = "CRT_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CertsCommand {
    /// Write a test PKI shaped like IGC-Santé (tests and sandbox only).
    Generate {
        #[arg(long, value_name = "DIR", default_value = "certs-example")]
        out: PathBuf,
    },
    /// Describe certificates (PEM or DER) and warn about what is wrong with them.
    Inspect {
        file: PathBuf,
        /// The use the certificate is configured for, to check its usages.
        #[arg(long, value_enum)]
        role: Option<crate::certs::Role>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let status = match cli.command {
        Command::Validate { files, format } => validate::run(&files, format),
        Command::Certs { command } => match command {
            CertsCommand::Generate { out } => certs::generate(&out),
            CertsCommand::Inspect { file, role } => certs::inspect(&file, role),
        },
        Command::Ins {
            command: InsCommand::CheckNir { number, oid },
        } => ins::check_nir(&number, oid.as_deref()),
        Command::Dmp {
            command:
                DmpCommand::Render {
                    record,
                    kind,
                    model,
                    oid_root,
                    out,
                },
        } => dmp::render_document(&record, kind, model, oid_root.as_deref(), &out),
        Command::Mssante {
            command:
                MssanteCommand::Package {
                    record,
                    kind,
                    out,
                    archive,
                    config,
                },
        } => mssante::package(&record, kind, &out, archive.as_deref(), config),
        Command::Ror {
            command: RorCommand::Render { offer, out },
        } => ror::render(&offer, &out),
        Command::Token {
            command:
                TokenCommand::New {
                    name,
                    structure,
                    automate,
                    operator,
                },
        } => new_token(&name, structure.as_deref(), automate, operator),
        Command::Schema => {
            match serde_json::to_string_pretty(&crt_core::validation::record_schema()) {
                Ok(text) => {
                    println!("{text}");
                    Status::Ok
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Status::Failed
                }
            }
        }
        command => runtime(command),
    };
    status.into()
}

/// Commands that need the async runtime.
fn runtime(command: Command) -> Status {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return Status::Failed;
        }
    };
    runtime.block_on(async move {
        match command {
            Command::Serve {
                listen,
                data,
                config,
            } => serve(listen, data, config).await,
            Command::Demo {
                out,
                examples,
                config,
            } => demo::run(&out, examples, config).await,
            Command::Conformance {
                command:
                    ConformanceCommand::Run {
                        suite,
                        target,
                        format,
                        out,
                        scenarios,
                    },
            } => conformance::run(&suite, target.as_deref(), format, &out, scenarios).await,
            Command::Submit {
                input,
                url,
                concurrency,
                volet1,
            } => {
                let kind = if volet1 {
                    submit::Kind::Volet1Action
                } else {
                    submit::Kind::Record
                };
                submit::run(&input, &url, concurrency, kind).await
            }
            Command::Status { id, url, json } => records::status(id, &url, json).await,
            Command::Replay { id, url } => records::replay(id, &url).await,
            Command::WaitingList { crt, url, json } => {
                records::waiting_list(crt.as_deref(), &url, json).await
            }
            Command::Report {
                crt,
                from,
                to,
                format,
                audience,
                out,
                url,
            } => {
                report::run(report::Request {
                    crt: &crt,
                    from: &from,
                    to: &to,
                    format,
                    audience,
                    out: out.as_deref(),
                    url: &url,
                })
                .await
            }
            Command::LiaisonBook {
                crt,
                beneficiary,
                url,
                json,
            } => records::liaison_book(&crt, beneficiary.as_deref(), &url, json).await,
            Command::Dmp {
                command:
                    DmpCommand::Envelope {
                        record,
                        kind,
                        out,
                        config,
                    },
            } => dmp::envelope(&record, kind, &out, config).await,
            Command::Dmp {
                command:
                    DmpCommand::Search {
                        crt,
                        beneficiary,
                        type_code,
                        access,
                        url,
                        json,
                    },
            } => {
                dmp::search(
                    &crt,
                    &beneficiary,
                    type_code.as_deref(),
                    &access,
                    &url,
                    json,
                )
                .await
            }
            Command::Dmp {
                command:
                    DmpCommand::Get {
                        crt,
                        beneficiary,
                        unique_id,
                        access,
                        url,
                        out,
                    },
            } => {
                dmp::get(
                    &crt,
                    &beneficiary,
                    &unique_id,
                    &access,
                    &url,
                    out.as_deref(),
                )
                .await
            }
            Command::Mssante {
                command:
                    MssanteCommand::Send {
                        record,
                        kind,
                        to,
                        config,
                    },
            } => mssante::send(&record, kind, &to, config).await,
            Command::Mssante {
                command:
                    MssanteCommand::Import {
                        message,
                        mailbox,
                        config,
                    },
            } => mssante::import(&message, &mailbox, config).await,
            Command::Audit {
                command: AuditCommand::Verify { config },
            } => audit::verify(config).await,
            Command::Audit {
                command:
                    AuditCommand::Export {
                        from,
                        to,
                        out,
                        config,
                    },
            } => audit::export(from.as_deref(), to.as_deref(), out.as_deref(), config).await,
            Command::Ror {
                command:
                    RorCommand::Publish {
                        offer,
                        dry_run,
                        config,
                    },
            } => ror::publish_offer(&offer, dry_run, config).await,
            Command::Viatrajectoire {
                command:
                    ViatrajectoireCommand::PublishCard {
                        offer,
                        dry_run,
                        config,
                    },
            } => viatrajectoire::publish(&offer, dry_run, config).await,
            Command::Ror {
                command:
                    RorCommand::Pull {
                        finess_et,
                        since,
                        out,
                        config,
                    },
            } => ror::pull_offer(&finess_et, since.as_deref(), out.as_deref(), config).await,
            Command::Directory {
                command: DirectoryCommand::Lookup { who, config },
            } => directory::lookup(&who, config).await,
            Command::Ins {
                command:
                    InsCommand::Search {
                        birth_name,
                        given_names,
                        sex,
                        birth_date,
                        birth_place,
                        document_checked,
                        structure,
                        config,
                    },
            } => {
                ins::search(ins::SearchArgs {
                    birth_name,
                    given_names,
                    sex,
                    birth_date,
                    birth_place,
                    document_checked,
                    structure,
                    config,
                })
                .await
            }
            Command::Validate { .. }
            | Command::Certs { .. }
            | Command::Schema
            | Command::Ins {
                command: InsCommand::CheckNir { .. },
            }
            | Command::Dmp {
                command: DmpCommand::Render { .. },
            }
            | Command::Mssante {
                command: MssanteCommand::Package { .. },
            }
            | Command::Token { .. }
            | Command::Ror {
                command: RorCommand::Render { .. },
            } => Status::Failed,
        }
    })
}

/// Reports why a command could not run.
/// `token new`: the token on stdout's first line, then the block to configure.
fn new_token(name: &str, structure: Option<&str>, automate: bool, operator: bool) -> Status {
    let token = match crate::security::auth::new_token() {
        Ok(token) => token,
        Err(e) => return failed(e),
    };
    println!("{token}");
    println!();
    println!("# Give the token above to its holder; configure only this:");
    println!("[[server.auth.tokens]]");
    println!("name = {name:?}");
    println!("sha256 = {:?}", crate::security::auth::token_digest(&token));
    if let Some(structure) = structure {
        println!("structure = {structure:?}");
    }
    if operator {
        println!("actor = \"operator\"");
    }
    if automate {
        println!("actor = \"automate\"");
    }
    Status::Ok
}

fn failed(error: impl std::fmt::Display) -> Status {
    eprintln!("error: {error}");
    Status::Failed
}

/// For a command that talks to one target: the configuration with that target alone on and
/// pointed at its simulator when the sandbox is on (then started, and returned to be
/// stopped), or as given otherwise.
async fn only_target(
    mut config: Config,
    target: &str,
) -> Result<(Config, Option<crate::sandbox::Sandbox>), Status> {
    config.sinks.journal.enabled = false;
    for each in crate::targets::TARGETS {
        config.sinks.set_enabled(each.name(), each.name() == target);
    }
    let sandbox = if config.sandbox.enabled {
        Some(
            crate::sandbox::Sandbox::start(&config)
                .await
                .map_err(failed)?,
        )
    } else {
        None
    };
    let pointed = crate::sandbox::Sandbox::in_use(&config, sandbox.as_ref());
    Ok((pointed, sandbox))
}

fn load_config(file: Option<PathBuf>) -> Result<Config, Status> {
    Config::load(file.as_deref(), std::env::vars()).map_err(|e| {
        eprintln!("error: configuration: {e}");
        Status::Failed
    })
}

async fn serve(listen: Option<SocketAddr>, data: Option<PathBuf>, file: Option<PathBuf>) -> Status {
    let mut config = match load_config(file) {
        Ok(config) => config,
        Err(status) => return status,
    };
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    if let Some(data) = data {
        config.storage.data_dir = data;
    }
    crate::telemetry::init(&config.log);
    match crate::server::run_until_signal(config).await {
        Ok(()) => Status::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            Status::Failed
        }
    }
}
