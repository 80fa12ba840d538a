//! `report --crt FINESS --from DATE --to DATE`: a CRT's activity indicators from a running
//! gateway, as a table (default), JSON, an HTML page with charts, CSV or a workbook.

use std::path::Path;

use http::StatusCode;

use super::records::{fetch, problem_text};
use super::{Status, failed, table};
use crate::client::ApiClient;
use crate::indicators::Audience;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The headline figures, for a terminal.
    Table,
    Json,
    /// A page with charts and their numbers, readable printed.
    Html,
    /// `section,item,value`, for a spreadsheet.
    Csv,
    /// A workbook (figures, months, days), for the survey spreadsheets; needs `-o`.
    Xlsx,
}

pub struct Request<'a> {
    pub crt: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub format: Format,
    pub audience: Audience,
    pub out: Option<&'a Path>,
    pub url: &'a str,
}

pub async fn run(request: Request<'_>) -> Status {
    let encode = crt_core::oauth::encode;
    let format = match request.format {
        Format::Table | Format::Json => "json",
        Format::Html => "html",
        Format::Csv => "csv",
        Format::Xlsx => "xlsx",
    };
    if request.format == Format::Xlsx && request.out.is_none() {
        return failed("--format xlsx writes a file: give it with -o FILE");
    }
    let audience = match request.audience {
        Audience::Internal => "internal",
        Audience::External => "external",
    };
    let path = format!(
        "/v1/reports/activity?crt={}&from={}&to={}&format={format}&audience={audience}",
        encode(request.crt),
        encode(request.from),
        encode(request.to)
    );
    if request.format == Format::Table {
        return match fetch(request.url, &path, false).await {
            Ok(Some(body)) => headline(request.crt, request.from, request.to, &body),
            Ok(None) => Status::Ok,
            Err(status) => status,
        };
    }
    let client = match ApiClient::new(request.url) {
        Ok(client) => client,
        Err(e) => return failed(e),
    };
    let answer = match client.get(&path).await {
        Ok(answer) => answer,
        Err(e) => return failed(e),
    };
    if answer.status != StatusCode::OK {
        eprintln!("error: {}", problem_text(&answer.json(), answer.status));
        return Status::Failed;
    }
    match request.out {
        Some(out) => match std::fs::write(out, &answer.body) {
            Ok(()) => {
                println!("report: {}", out.display());
                Status::Ok
            }
            Err(e) => failed(format!("{}: {e}", out.display())),
        },
        None => {
            print!("{}", String::from_utf8_lossy(&answer.body));
            Status::Ok
        }
    }
}

/// The headline figures, read from the report's figures (already written for the
/// audience asked for).
fn headline(crt: &str, from: &str, to: &str, body: &serde_json::Value) -> Status {
    let figures = body["figures"].as_array().cloned().unwrap_or_default();
    let value = |section: &str, item: &str| {
        figures
            .iter()
            .find(|f| f["section"] == section && f["item"] == item)
            .map_or_else(
                || "-".to_string(),
                |f| match &f["value"] {
                    serde_json::Value::Number(n) if n.is_f64() => {
                        format!("{:.1}", n.as_f64().unwrap_or_default())
                    }
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::String(text) => text.clone(),
                    _ => "-".to_string(),
                },
            )
    };
    let rows: Vec<Vec<String>> = [
        (
            "file active (distinct beneficiaries)",
            "volet2",
            "file_active",
        ),
        ("admissions", "volet2", "admissions"),
        ("exits", "volet2", "exits"),
        ("referrals", "volet2", "referrals"),
        (
            "median days, referral to start",
            "delays",
            "referral_to_start_median_days",
        ),
        ("most accompanied at once (of 25)", "occupancy", "max"),
        ("mean accompanied at once", "occupancy", "mean"),
        ("forfait (EUR)", "forfait", "total_eur"),
        (
            "volet 2 allocation (EUR)",
            "forfait",
            "volet2_allocation_eur",
        ),
        ("on-call calls", "on_call", "total"),
        ("home visits", "home_visits", "total"),
        ("qualified identity (%)", "identity", "qualified_percent"),
        ("admission requests open now", "waiting_list", "open_now"),
        ("volet 1 actions held", "volet1", "held_actions"),
    ]
    .iter()
    .map(|(label, section, item)| vec![label.to_string(), value(section, item)])
    .collect();
    println!("CRT {crt}, {from} to {to}");
    print!("{}", table::render(&["indicator", "value"], &rows));
    Status::Ok
}
