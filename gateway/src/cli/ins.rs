//! `ins check-nir` and `ins search`.

use std::path::PathBuf;

use crt_core::identity::{INS_TARGET, traits};
use crt_core::record::{IdentityTraits, InsOid, Sex};
use crt_ins::InsConfig;
use crt_ins::message::{InsiAnswer, Query};
use crt_ins::{InsNumber, InsiClient, verify};

use super::{Status, failed, load_config, only_target};

pub fn check_nir(number: &str, oid: Option<&str>) -> Status {
    let parsed = match InsNumber::parse(number.trim()) {
        Ok(parsed) => parsed,
        Err(e) => {
            println!("invalid: {e}");
            return Status::Found;
        }
    };
    if let Some(oid) = oid {
        let known: Option<InsOid> =
            serde_json::from_value(serde_json::Value::String(oid.to_string())).ok();
        match known.map(|oid| parsed.check_oid(oid)) {
            None => {
                println!("invalid: {oid} is not an INS OID (1.2.250.1.213.1.4.8 to .11)");
                return Status::Found;
            }
            Some(Err(e)) => {
                println!("invalid: {e}");
                return Status::Found;
            }
            Some(Ok(())) => {}
        }
    }
    println!(
        "valid {}: matricule {}, key {}",
        parsed.kind().as_str(),
        parsed.matricule(),
        parsed.key()
    );
    Status::Ok
}

/// Traits as typed on the command line.
pub struct SearchArgs {
    pub birth_name: String,
    pub given_names: Vec<String>,
    pub sex: String,
    pub birth_date: String,
    pub birth_place: Option<String>,
    pub document_checked: bool,
    /// The structure whose INSi certificate the search goes with (idNat_Struct); the
    /// only one configured when not given.
    pub structure: Option<String>,
    pub config: Option<PathBuf>,
}

pub async fn search(args: SearchArgs) -> Status {
    let sex = match args.sex.to_ascii_uppercase().as_str() {
        "M" => Sex::Male,
        "F" => Sex::Female,
        "I" => Sex::Undetermined,
        _ => return failed("--sex must be M, F or I"),
    };
    let identity = IdentityTraits {
        birth_name: args.birth_name,
        used_name: None,
        first_given_name: args.given_names.first().cloned().unwrap_or_default(),
        birth_given_names: args.given_names,
        used_given_name: None,
        sex,
        birth_date: args.birth_date,
        birth_place_code: args.birth_place,
    };
    let normalised = match traits::normalise(&identity) {
        Ok(normalised) => normalised,
        Err(e) => return failed(format!("the traits cannot be used with the INS: {e}")),
    };
    let config = match load_config(args.config) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let (config, sandbox) = match only_target(config, INS_TARGET).await {
        Ok(pointed) => pointed,
        Err(status) => return status,
    };
    let ins_config = config.sinks.section::<InsConfig>();
    let mut client = match InsiClient::from_config(&ins_config) {
        Ok(client) => client,
        Err(e) => return failed(e),
    };
    if let Some(sandbox) = &sandbox {
        client = client.with_issuer(std::sync::Arc::new(sandbox.structure_issuer()));
    }
    let structure = match (args.structure, client.structures().as_slice()) {
        (Some(structure), _) => structure,
        (None, [only]) => only.clone(),
        (None, configured) => {
            return failed(format!(
                "--structure is needed: sinks.ins.structures has {}",
                if configured.is_empty() {
                    "none".to_string()
                } else {
                    configured.join(", ")
                }
            ));
        }
    };
    let client = match client.structure(&structure) {
        Ok(client) => client,
        Err(e) => return failed(e),
    };
    println!(
        "INSi {} for structure {}{}",
        ins_config.endpoint.as_deref().unwrap_or_default(),
        client.structure(),
        if sandbox.is_some() {
            " (sandbox simulator)"
        } else {
            ""
        }
    );
    let exchange = match client
        .search(&Query::Traits(normalised.clone()), uuid::Uuid::now_v7())
        .await
    {
        Ok(exchange) => exchange,
        Err(e) => return failed(e),
    };
    match &exchange.answer {
        InsiAnswer::Found(identity) => {
            println!("CR 00: one identity found");
            println!(
                "  INS:          {} ({})",
                identity.ins.as_string(),
                identity.oid
            );
            for (former, oid) in &identity.history {
                println!("  former INS:   {} ({oid})", former.as_string());
            }
            let t = &identity.traits;
            println!("  birth name:   {}", t.birth_name);
            println!("  given names:  {}", t.given_names);
            println!("  sex:          {}", t.sex);
            println!("  birth date:   {}", t.birth_date);
            println!(
                "  birth place:  {}",
                t.birth_place.as_deref().unwrap_or("-")
            );
        }
        InsiAnswer::NotFound => println!("CR 01: no identity found"),
        InsiAnswer::Several => println!("CR 02: several identities found"),
    }
    let decision = verify::decide(&normalised, None, args.document_checked, &exchange.answer);
    println!(
        "status the gateway would assign: {}",
        decision.status.code()
    );
    if let Some(reason) = &decision.reason {
        println!("  {reason}");
    }
    if let Some(sandbox) = sandbox {
        sandbox.stop();
    }
    if matches!(exchange.answer, InsiAnswer::Found(_)) && decision.mismatches.is_empty() {
        Status::Ok
    } else {
        Status::Found
    }
}
