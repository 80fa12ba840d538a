//! The indicators as a page (charts with their numbers beside them, readable printed) and as
//! CSV (one row per figure, for spreadsheets and surveys). For a report that leaves the CRT
//! ([`Audience::External`]), counts from 1 to 4 are written "< 5": with so few, a reader who
//! knows the territory could tell who they are.

use serde::Serialize;

use super::chart::{self, Series};
use super::compute::Indicators;
use crate::conformity::report::Html;

/// Who the report is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The CRT's own team: every count as it is.
    Internal,
    /// The ARS, the CNSA, a steering committee: small counts hidden.
    External,
}

/// Below this, a count is not shown to an external reader.
const SMALL: usize = 5;

/// A count as the audience may read it.
pub fn count(value: usize, audience: Audience) -> String {
    if audience == Audience::External && (1..SMALL).contains(&value) {
        format!("< {SMALL}")
    } else {
        value.to_string()
    }
}

/// The mean occupancy, hidden with the maximum when that is a small count.
fn mean(indicators: &Indicators, audience: Audience) -> String {
    if audience == Audience::External && (1..SMALL).contains(&indicators.occupancy.max) {
        format!("< {SMALL}")
    } else {
        format!("{:.1}", indicators.occupancy.mean)
    }
}

fn days(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.1}"))
}

/// A name from a snake_case key: `moved_to_ehpad_or_usld` → `moved to ehpad or usld`.
fn words<T: Serialize>(key: &T) -> String {
    serde_json::to_value(key)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default()
}

/// Rows of (label, value) as a small table.
fn table(html: &mut Html, head: (&str, &str), rows: &[(String, String)]) {
    html.push("<table class=\"figures\"><thead><tr><th>")
        .text(head.0)
        .push("</th><th>")
        .text(head.1)
        .push("</th></tr></thead><tbody>");
    for (label, value) in rows {
        html.push("<tr><td>")
            .text(label)
            .push("</td><td class=\"number\">")
            .text(value)
            .push("</td></tr>");
    }
    html.push("</tbody></table>");
}

/// A chart and its numbers, side by side on screen, one under the other printed.
fn figure(html: &mut Html, svg: &str, head: (&str, &str), rows: &[(String, String)]) {
    html.push("<div class=\"figure\"><div class=\"chart\">")
        .push(svg)
        .push("</div><div class=\"numbers\">");
    table(html, head, rows);
    html.push("</div></div>");
}

const PRINT_STYLE: &str = "<style>.figure{display:flex;gap:1.5rem;align-items:flex-start;\
margin:1rem 0;break-inside:avoid}.figure .chart{flex:2}.figure .numbers{flex:1}\
svg.chart{width:100%;height:auto;font-family:system-ui,sans-serif}\
table.figures td.number{text-align:right;font-variant-numeric:tabular-nums}\
@media print{.figure{display:block}h2{break-after:avoid}}</style>";

/// The report as a self-contained page.
pub fn html(crt: &str, indicators: &Indicators, audience: Audience, generated_at: &str) -> String {
    let c = |value: usize| count(value, audience);
    let hide = (audience == Audience::External).then_some(SMALL as f64);
    let period = indicators.period;
    let mut html = Html::page(
        &format!("Activity of CRT {crt}"),
        &format!(
            "From {} to {}. Generated {generated_at} by crt-gateway {}. {}",
            period.from,
            period.to,
            env!("CARGO_PKG_VERSION"),
            match audience {
                Audience::Internal => "For the CRT's team: every count as it is.",
                Audience::External => "Counts from 1 to 4 are shown as \"< 5\".",
            }
        ),
    );
    html.push(PRINT_STYLE);

    let exits: usize = indicators.exits.values().sum();
    html.push("<h2>In short</h2>");
    table(
        &mut html,
        ("indicator", "value"),
        &[
            (
                "File active (distinct beneficiaries)".into(),
                c(indicators.file_active),
            ),
            ("Admissions".into(), c(indicators.admissions)),
            ("Exits".into(), c(exits)),
            (
                format!(
                    "Most accompanied at once (of {})",
                    indicators.occupancy.capacity
                ),
                c(indicators.occupancy.max),
            ),
            (
                "Mean accompanied at once".into(),
                mean(indicators, audience),
            ),
            (
                "Days over capacity".into(),
                indicators.occupancy.days_over_capacity.to_string(),
            ),
            (
                "Forfait (EUR)".into(),
                indicators.forfait_total_eur.to_string(),
            ),
            ("On-call calls".into(), c(indicators.on_call.total)),
            ("Home visits".into(), c(indicators.home_visits.total)),
        ],
    );

    let months: Vec<String> = indicators.months.iter().map(|m| m.month.clone()).collect();
    let active: Vec<f64> = indicators
        .months
        .iter()
        .map(|m| m.beneficiaries as f64)
        .collect();
    html.push("<h2>File active over the months</h2>");
    figure(
        &mut html,
        &chart::bars(&Series {
            title: "Beneficiaries accompanied in the month",
            labels: &months,
            values: &active,
            reference: Some((indicators.occupancy.capacity as f64, "25 places")),
            hide_below: hide,
        }),
        ("month", "beneficiaries"),
        &indicators
            .months
            .iter()
            .map(|m| (m.month.clone(), c(m.beneficiaries)))
            .collect::<Vec<_>>(),
    );

    html.push("<h2>Admissions and exits</h2>");
    let admissions: Vec<f64> = indicators
        .months
        .iter()
        .map(|m| m.admissions as f64)
        .collect();
    let exits_by_month: Vec<f64> = indicators.months.iter().map(|m| m.exits as f64).collect();
    figure(
        &mut html,
        &format!(
            "{}{}",
            chart::bars(&Series {
                title: "Admissions by month",
                labels: &months,
                values: &admissions,
                reference: None,
                hide_below: hide,
            }),
            chart::bars(&Series {
                title: "Exits by month",
                labels: &months,
                values: &exits_by_month,
                reference: None,
                hide_below: hide,
            })
        ),
        ("month", "admissions / exits"),
        &indicators
            .months
            .iter()
            .map(|m| {
                (
                    m.month.clone(),
                    format!("{} / {}", c(m.admissions), c(m.exits)),
                )
            })
            .collect::<Vec<_>>(),
    );
    table(
        &mut html,
        ("exit reason", "exits"),
        &indicators
            .exits
            .iter()
            .map(|(reason, n)| (words(reason), c(*n)))
            .collect::<Vec<_>>(),
    );
    table(
        &mut html,
        ("referral source", "referrals"),
        &indicators
            .referrals
            .iter()
            .map(|(source, n)| (words(source), c(*n)))
            .collect::<Vec<_>>(),
    );

    html.push("<h2>Accompanied at once, day by day</h2>");
    let day_labels: Vec<String> = indicators
        .period
        .days()
        .map(|d| d.format("%d/%m").to_string())
        .collect();
    let daily: Vec<f64> = indicators
        .occupancy
        .daily
        .iter()
        .map(|n| *n as f64)
        .collect();
    figure(
        &mut html,
        &chart::line(&Series {
            title: "Beneficiaries accompanied each day",
            labels: &day_labels,
            values: &daily,
            reference: Some((indicators.occupancy.capacity as f64, "25 places")),
            hide_below: hide,
        }),
        ("", ""),
        &[
            ("most".into(), c(indicators.occupancy.max)),
            ("mean".into(), mean(indicators, audience)),
            (
                "days over capacity".into(),
                indicators.occupancy.days_over_capacity.to_string(),
            ),
        ],
    );

    html.push("<h2>Admission delays (days)</h2>");
    let steps = [
        (
            "referral → home visit",
            &indicators.delays.referral_to_home_visit,
        ),
        (
            "home visit → decision",
            &indicators.delays.home_visit_to_decision,
        ),
        ("decision → start", &indicators.delays.decision_to_start),
        ("referral → start", &indicators.delays.referral_to_start),
    ];
    let step_labels: Vec<String> = steps.iter().map(|(name, _)| name.to_string()).collect();
    let medians: Vec<f64> = steps
        .iter()
        .map(|(_, delay)| delay.median_days.unwrap_or(0.0))
        .collect();
    figure(
        &mut html,
        &chart::bars(&Series {
            title: "Median delay of each step (days)",
            labels: &step_labels,
            values: &medians,
            reference: None,
            hide_below: None,
        }),
        ("step", "median / mean / longest (count)"),
        &steps
            .iter()
            .map(|(name, delay)| {
                (
                    name.to_string(),
                    format!(
                        "{} / {} / {} ({})",
                        days(delay.median_days),
                        days(delay.mean_days),
                        delay.max_days.map_or_else(|| "–".into(), |d| d.to_string()),
                        c(delay.count)
                    ),
                )
            })
            .collect::<Vec<_>>(),
    );

    html.push("<h2>On-call calls</h2>");
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let by_hour: Vec<f64> = indicators
        .on_call
        .by_hour
        .iter()
        .map(|n| *n as f64)
        .collect();
    figure(
        &mut html,
        &chart::bars(&Series {
            title: "On-call calls by hour of the day",
            labels: &hours,
            values: &by_hour,
            reference: None,
            hide_below: hide,
        }),
        ("outcome", "calls"),
        &indicators
            .on_call
            .by_outcome
            .iter()
            .map(|(outcome, n)| (words(outcome), c(*n)))
            .collect::<Vec<_>>(),
    );

    html.push("<h2>GIR of the file active</h2>");
    table(
        &mut html,
        ("GIR", "beneficiaries"),
        &indicators
            .gir
            .iter()
            .map(|(level, n)| (level.clone(), c(*n)))
            .collect::<Vec<_>>(),
    );
    html.finish()
}

/// The report as CSV: `section,item,value`, one row per figure.
pub fn csv(crt: &str, indicators: &Indicators, audience: Audience) -> String {
    let c = |value: usize| count(value, audience);
    let mut rows: Vec<(String, String, String)> = vec![
        ("crt".into(), "finess".into(), crt.into()),
        (
            "period".into(),
            "from".into(),
            indicators.period.from.to_string(),
        ),
        (
            "period".into(),
            "to".into(),
            indicators.period.to.to_string(),
        ),
        (
            "volet2".into(),
            "file_active".into(),
            c(indicators.file_active),
        ),
        (
            "volet2".into(),
            "admissions".into(),
            c(indicators.admissions),
        ),
    ];
    for (reason, n) in &indicators.exits {
        rows.push(("exits".into(), words(reason), c(*n)));
    }
    for (source, n) in &indicators.referrals {
        rows.push(("referrals".into(), words(source), c(*n)));
    }
    for (outcome, n) in &indicators.decisions {
        rows.push(("decisions".into(), words(outcome), c(*n)));
    }
    for (name, delay) in [
        (
            "referral_to_home_visit",
            &indicators.delays.referral_to_home_visit,
        ),
        (
            "home_visit_to_decision",
            &indicators.delays.home_visit_to_decision,
        ),
        ("decision_to_start", &indicators.delays.decision_to_start),
        ("referral_to_start", &indicators.delays.referral_to_start),
    ] {
        rows.push((
            "delay_median_days".into(),
            name.into(),
            days(delay.median_days),
        ));
    }
    for (level, n) in &indicators.gir {
        rows.push(("gir".into(), level.clone(), c(*n)));
    }
    rows.push((
        "occupancy".into(),
        "max".into(),
        c(indicators.occupancy.max),
    ));
    rows.push((
        "occupancy".into(),
        "mean".into(),
        mean(indicators, audience),
    ));
    rows.push((
        "occupancy".into(),
        "days_over_capacity".into(),
        indicators.occupancy.days_over_capacity.to_string(),
    ));
    for month in &indicators.months {
        rows.push((
            "month_file_active".into(),
            month.month.clone(),
            c(month.beneficiaries),
        ));
        rows.push((
            "month_admissions".into(),
            month.month.clone(),
            c(month.admissions),
        ));
        rows.push(("month_exits".into(), month.month.clone(), c(month.exits)));
        rows.push((
            "month_forfait_eur".into(),
            month.month.clone(),
            month.forfait_eur.to_string(),
        ));
    }
    rows.push((
        "forfait".into(),
        "total_eur".into(),
        indicators.forfait_total_eur.to_string(),
    ));
    for (hour, n) in indicators.on_call.by_hour.iter().enumerate() {
        rows.push(("on_call_by_hour".into(), format!("{hour:02}"), c(*n)));
    }
    for (outcome, n) in &indicators.on_call.by_outcome {
        rows.push(("on_call_by_outcome".into(), words(outcome), c(*n)));
    }
    for (status, n) in &indicators.home_visits.by_outcome {
        rows.push(("home_visits_by_status".into(), words(status), c(*n)));
    }
    let mut out = String::from("section,item,value\r\n");
    for (section, item, value) in rows {
        out.push_str(&format!(
            "{},{},{}\r\n",
            field(&section),
            field(&item),
            field(&value)
        ));
    }
    out
}

/// A CSV field, quoted when it must be (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::{Activity, Period, compute};

    fn indicators() -> Indicators {
        let period = Period {
            from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            to: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        };
        let record: crt_core::CrtRecord = serde_json::from_slice(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../schemas/examples/home-volet2-pays-de-la-loire.json"
            ))
            .unwrap(),
        )
        .unwrap();
        compute(&Activity::from_versions([&record]), period, 25)
    }

    #[test]
    fn small_counts_leave_the_crt_as_less_than_five() {
        assert_eq!(count(0, Audience::External), "0");
        assert_eq!(count(3, Audience::External), "< 5");
        assert_eq!(count(5, Audience::External), "5");
        assert_eq!(count(3, Audience::Internal), "3");
        let csv = csv("110008430", &indicators(), Audience::External);
        assert!(csv.contains("volet2,file_active,< 5\r\n"), "{csv}");
        let csv = super::csv("110008430", &indicators(), Audience::Internal);
        assert!(csv.contains("volet2,file_active,1\r\n"), "{csv}");
        assert_eq!(field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    #[test]
    fn the_page_has_its_charts_and_their_numbers() {
        let page = html(
            "110008430",
            &indicators(),
            Audience::External,
            "2026-11-25T10:00:00Z",
        );
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.matches("<svg").count() >= 5, "{page}");
        assert!(page.contains("File active over the months"));
        assert!(page.contains("&lt; 5"));
    }
}
