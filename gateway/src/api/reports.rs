//! `GET /v1/reports/activity?crt=FINESS&from=DATE&to=DATE`: a CRT's activity indicators
//! over a period (counts only: no beneficiary is named).

use chrono::NaiveDate;
use http::{Response, StatusCode};

use super::AppState;
use super::problem::{Body, Problem, bytes, json};
use crate::indicators::{self, Audience, Period, render};

/// What a report is asked for.
#[derive(Debug)]
struct Query {
    crt: String,
    period: Period,
    format: Format,
    audience: Audience,
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Json,
    Html,
    Csv,
    Xlsx,
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A report covers at most this many days (five years and a leap day).
const MAX_DAYS: i64 = 5 * 365 + 1;

pub async fn activity(query: Option<&str>, state: &AppState) -> Response<Body> {
    let Query {
        crt,
        period,
        format,
        audience,
    } = match parse(query.unwrap_or("")) {
        Ok(parsed) => parsed,
        Err(detail) => {
            return Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query")
                .detail(detail)
                .into_response();
        }
    };
    let settings = state.reports.settings(&crt, crate::store::now_millis());
    match indicators::for_crt(state.store.as_ref(), &crt, period, settings).await {
        Ok(indicators) => match format {
            // What leaves the CRT is the figures, small counts hidden; the CRT's own tools
            // also get every indicator as it is (the daily occupancy included).
            Format::Json if audience == Audience::External => json(
                StatusCode::OK,
                &serde_json::json!({
                    "crt": crt,
                    "audience": audience,
                    "period": indicators.period,
                    "figures": crate::indicators::figures::figures(&crt, &indicators, audience),
                }),
            ),
            Format::Json => json(
                StatusCode::OK,
                &serde_json::json!({
                    "crt": crt,
                    "audience": audience,
                    "period": indicators.period,
                    "figures": crate::indicators::figures::figures(&crt, &indicators, audience),
                    "indicators": indicators,
                }),
            ),
            Format::Html => {
                let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let page = render::html(&crt, &indicators, audience, &now);
                bytes(
                    StatusCode::OK,
                    "text/html; charset=utf-8",
                    page.into_bytes(),
                )
            }
            Format::Csv => bytes(
                StatusCode::OK,
                "text/csv; charset=utf-8",
                render::csv(&crt, &indicators, audience).into_bytes(),
            ),
            Format::Xlsx => match render::xlsx(&crt, &indicators, audience) {
                Ok(workbook) => bytes(StatusCode::OK, XLSX, workbook),
                Err(e) => Problem::internal(e).into_response(),
            },
        },
        Err(indicators::ReportError::Store(e)) => Problem::storage(e).into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

fn parse(query: &str) -> Result<Query, String> {
    let (mut crt, mut from, mut to) = (None, None, None);
    let mut format = Format::Json;
    let mut audience = Audience::Internal;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let date = || {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map_err(|_| format!("{key}={value}: expected a date YYYY-MM-DD"))
        };
        match key {
            "crt" => crt = Some(value.to_string()),
            "from" => from = Some(date()?),
            "to" => to = Some(date()?),
            "format" => {
                format = match value {
                    "json" => Format::Json,
                    "html" => Format::Html,
                    "csv" => Format::Csv,
                    "xlsx" => Format::Xlsx,
                    _ => {
                        return Err(format!("format={value}: expected json, html, csv or xlsx"));
                    }
                }
            }
            "audience" => {
                audience = match value {
                    "internal" => Audience::Internal,
                    "external" => Audience::External,
                    _ => return Err(format!("audience={value}: expected internal or external")),
                }
            }
            other => {
                return Err(format!(
                    "unknown parameter {other:?} (crt, from, to, format, audience)"
                ));
            }
        }
    }
    let crt = crt.ok_or("crt=FINESS is required")?;
    crt_core::identifiers::check_finess(&crt)
        .map_err(|e| format!("crt={crt}: expected the FINESS of the CRT's establishment: {e}"))?;
    let (from, to) = (
        from.ok_or("from=YYYY-MM-DD is required")?,
        to.ok_or("to=YYYY-MM-DD is required")?,
    );
    if to < from {
        return Err("to must not be before from".into());
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(format!("a report covers at most {MAX_DAYS} days"));
    }
    Ok(Query {
        crt,
        period: Period { from, to },
        format,
        audience,
    })
}

/// `GET /v1/reports/emergency-accesses?crt=FINESS`: every emergency access (*bris de
/// glace*, or a regulation centre's) to the CRT's beneficiaries, from the access trace,
/// for its physicians to review: when, who (idNat_PS and profile), which beneficiary
/// (pseudonym), what, why, in which mode.
pub async fn emergency_accesses(query: Option<&str>, state: &AppState) -> Response<Body> {
    let crt = crt_core::oauth::parse_form(query.unwrap_or(""))
        .into_iter()
        .find(|(key, _)| key == "crt")
        .map(|(_, value)| value);
    let Some(crt) = crt.filter(|crt| crt_core::identifiers::check_finess(crt).is_ok()) else {
        return Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query")
            .detail("crt: the CRT's FINESS ET (9 characters, valid key) is required")
            .into_response();
    };
    let prefix = format!("{}{crt}: ", super::EMERGENCY_PREFIX);
    let mut accesses = Vec::new();
    let mut after = 0;
    loop {
        let lines = match state.store.trace_lines(after, 1_000).await {
            Ok(lines) => lines,
            Err(e) => return Problem::storage(e).into_response(),
        };
        let Some(last) = lines.last() else { break };
        after = last.seq;
        for line in &lines {
            let Ok(event) = serde_json::from_str::<crate::audit::TraceEvent>(&line.entry) else {
                continue;
            };
            let mode = match event.action.as_str() {
                super::EMERGENCY_ACCESS => "bris_de_glace",
                super::REGULATION_ACCESS => "centre_15",
                _ => continue,
            };
            if let Some(reason) = event.purpose.strip_prefix(&prefix) {
                accesses.push(serde_json::json!({
                    "at": event.at,
                    "actor": event.actor,
                    "caller": event.caller,
                    "beneficiary": event.beneficiary,
                    "object": event.object,
                    "reason": reason,
                    "mode": mode,
                    "outcome": event.outcome,
                }));
            }
        }
    }
    json(
        StatusCode::OK,
        &serde_json::json!({ "crt": crt, "accesses": accesses }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_each_fault() {
        assert!(parse("crt=110008430&from=2025-01-01&to=2025-12-31").is_ok());
        assert!(
            parse("from=2025-01-01&to=2025-12-31")
                .unwrap_err()
                .contains("crt=")
        );
        assert!(
            parse("crt=12&from=2025-01-01&to=2025-12-31")
                .unwrap_err()
                .contains("FINESS")
        );
        assert!(
            parse("crt=110008430&from=2025-13-01&to=2025-12-31")
                .unwrap_err()
                .contains("from=")
        );
        assert!(
            parse("crt=110008430&from=2025-02-01&to=2025-01-01")
                .unwrap_err()
                .contains("before")
        );
        assert!(
            parse("crt=110008430&from=2000-01-01&to=2025-01-01")
                .unwrap_err()
                .contains("at most")
        );
        assert!(
            parse("crt=110008430&from=2025-01-01&to=2025-12-31&x=1")
                .unwrap_err()
                .contains("unknown")
        );
    }
}
