//! `report --crt FINESS --from DATE --to DATE`: a CRT's activity indicators from a running
//! gateway, as a table (default), JSON, an HTML page with charts, or CSV.

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
    };
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

fn headline(crt: &str, from: &str, to: &str, body: &serde_json::Value) -> Status {
    let i = &body["indicators"];
    let number = |value: &serde_json::Value| match (value.as_f64(), value.as_str()) {
        (Some(v), _) if v.fract() == 0.0 => format!("{v:.0}"),
        (Some(v), _) => format!("{v:.1}"),
        (None, Some(text)) => text.to_string(),
        _ => "-".into(),
    };
    let sum = |value: &serde_json::Value| {
        value
            .as_object()
            .map_or(0, |map| {
                map.values().filter_map(|v| v.as_u64()).sum::<u64>()
            })
            .to_string()
    };
    let rows = vec![
        vec![
            "file active (distinct beneficiaries)".into(),
            number(&i["file_active"]),
        ],
        vec!["admissions".into(), number(&i["admissions"])],
        vec!["exits".into(), sum(&i["exits"])],
        vec!["referrals".into(), sum(&i["referrals"])],
        vec![
            "median days, referral to start".into(),
            number(&i["delays"]["referral_to_start"]["median_days"]),
        ],
        vec![
            format!(
                "most accompanied at once (of {})",
                number(&i["occupancy"]["capacity"])
            ),
            number(&i["occupancy"]["max"]),
        ],
        vec![
            "mean accompanied at once".into(),
            number(&i["occupancy"]["mean"]),
        ],
        vec!["forfait (EUR)".into(), number(&i["forfait_total_eur"])],
        vec!["on-call calls".into(), number(&i["on_call"]["total"])],
        vec!["home visits".into(), number(&i["home_visits"]["total"])],
    ];
    println!("CRT {crt}, {from} to {to}");
    print!("{}", table::render(&["indicator", "value"], &rows));
    Status::Ok
}
