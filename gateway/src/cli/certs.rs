//! `certs generate` and `certs inspect`.

use std::path::Path;

use super::Status;
use crate::certs::{Role, generate as write_pki, inspect_file};

pub fn generate(out: &Path) -> Status {
    match write_pki(out, time::OffsetDateTime::now_utc()) {
        Ok(pki) => {
            println!(
                "wrote a test PKI shaped like IGC-Santé into {} (for tests only):",
                out.display()
            );
            for file in pki.files {
                println!("  {file}");
            }
            Status::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Status::Failed
        }
    }
}

pub fn inspect(file: &Path, role: Option<Role>) -> Status {
    match inspect_file(file, role) {
        Ok(reports) => {
            let mut warned = false;
            for (i, report) in reports.iter().enumerate() {
                if reports.len() > 1 {
                    println!(
                        "certificate {} of {}{}",
                        i + 1,
                        reports.len(),
                        if i == 0 { "" } else { " (chain)" }
                    );
                }
                print!("{report}");
                if i + 1 < reports.len() {
                    println!();
                }
                warned |= !report.warnings.is_empty();
            }
            if warned { Status::Found } else { Status::Ok }
        }
        Err(e) => {
            eprintln!("error: {e}");
            Status::Failed
        }
    }
}
