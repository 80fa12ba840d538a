//! The indicators as a page (charts with their numbers beside them, readable printed) and as
//! CSV (one row per figure, for spreadsheets and surveys). For a report that leaves the CRT
//! ([`Audience::External`]), counts from 1 to 4 are written "< 5": with so few, a reader who
//! knows the territory could tell who they are.

use serde::Serialize;

use super::chart::{self, Series};
use super::compute::Indicators;
use super::figures::{self, Audience, SMALL};
use crate::html::Html;

/// A count of people as the audience may read it.
fn count(value: usize, audience: Audience) -> String {
    figures::people(value, audience).text()
}

fn mean(indicators: &Indicators, audience: Audience) -> String {
    figures::mean_occupancy(indicators, audience).text()
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
            (
                "Volet 2 allocation for the period (EUR)".into(),
                indicators.volet2_allocation_eur.to_string(),
            ),
            (
                "Forfait, share of the allocation (%)".into(),
                days(indicators.forfait_percent_of_allocation),
            ),
            (
                "File active with a qualified identity (%)".into(),
                figures::qualified_share(indicators, audience).text(),
            ),
            (
                "Admission requests open now (ViaTrajectoire)".into(),
                c(indicators.waiting_list.open_now),
            ),
            (
                "Volet 1 actions held".into(),
                indicators.volet1.held.actions.to_string(),
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

    exchanges_section(&mut html, indicators, audience, hide);
    waiting_section(&mut html, indicators, audience);
    volet1_section(&mut html, indicators, audience);

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

/// What was sent to each national service, and the INS qualified share.
fn exchanges_section(
    html: &mut Html,
    indicators: &Indicators,
    audience: Audience,
    hide: Option<f64>,
) {
    let c = |value: usize| count(value, audience);
    html.push("<h2>Exchanges with the national services</h2>");
    let targets: Vec<String> = indicators.exchanges.keys().cloned().collect();
    let delivered: Vec<f64> = indicators
        .exchanges
        .values()
        .map(|e| e.delivered as f64)
        .collect();
    let mut rows: Vec<(String, String)> = Vec::new();
    for (target, e) in &indicators.exchanges {
        rows.push((
            target.clone(),
            format!(
                "{} / {} / {} / {} / {}",
                c(e.delivered),
                c(e.declined),
                c(e.held),
                c(e.dead),
                c(e.in_progress)
            ),
        ));
        for (document, n) in &e.documents {
            rows.push((format!("{target}: {document} delivered"), c(*n)));
        }
    }
    figure(
        html,
        &chart::bars(&Series {
            title: "Deliveries accepted by each service",
            labels: &targets,
            values: &delivered,
            reference: None,
            hide_below: hide,
        }),
        (
            "service",
            "delivered / declined / held / dead / in progress",
        ),
        &rows,
    );
    let identity = &indicators.identity;
    table(
        html,
        ("identity (INS)", "beneficiaries"),
        &[
            ("file active".into(), c(identity.file_active)),
            ("qualified identity".into(), c(identity.qualified)),
            (
                "share qualified (%)".into(),
                figures::qualified_share(indicators, audience).text(),
            ),
        ],
    );
}

/// The ViaTrajectoire admission requests: where they stand now, and how long they wait.
fn waiting_section(html: &mut Html, indicators: &Indicators, audience: Audience) {
    let c = |value: usize| count(value, audience);
    let waiting = &indicators.waiting_list;
    html.push("<h2>Waiting list (ViaTrajectoire)</h2>");
    let mut rows: Vec<(String, String)> = vec![
        ("requests made in the period".into(), c(waiting.requested)),
        ("admitted in the period".into(), c(waiting.admitted)),
        ("open now".into(), c(waiting.open_now)),
    ];
    rows.extend(
        waiting
            .by_status_now
            .iter()
            .map(|(status, n)| (format!("now {}", status.replace('_', " ")), c(*n))),
    );
    table(html, ("requests", "count"), &rows);
    table(
        html,
        ("days", "median / mean / longest (count)"),
        &[
            (
                "request → admission".into(),
                delay_text(&waiting.request_to_admission, audience),
            ),
            (
                "open requests, waiting so far".into(),
                delay_text(&waiting.open_waiting, audience),
            ),
        ],
    );
}

/// The volet 1 actions by field and theme, with their participants.
fn volet1_section(html: &mut Html, indicators: &Indicators, audience: Audience) {
    let c = |value: u32| count(value as usize, audience);
    let volet1 = &indicators.volet1;
    html.push("<h2>Volet 1: actions for the territory</h2>");
    let fields: Vec<String> = volet1.by_field.keys().map(words).collect();
    let held: Vec<f64> = volet1.by_field.values().map(|h| h.actions as f64).collect();
    figure(
        html,
        &chart::bars(&Series {
            title: "Actions held in each field",
            labels: &fields,
            values: &held,
            reference: None,
            hide_below: None,
        }),
        ("field", "actions / sessions / participants"),
        &volet1
            .by_field
            .iter()
            .map(|(field, h)| {
                (
                    words(field),
                    format!(
                        "{} / {} / {}",
                        h.actions,
                        h.sessions,
                        c(h.participants.total())
                    ),
                )
            })
            .collect::<Vec<_>>(),
    );
    let who = &volet1.held.participants;
    table(
        html,
        ("volet 1", "value"),
        &[
            (
                "fields covered (of 3)".into(),
                volet1.fields_covered.to_string(),
            ),
            ("actions held".into(), volet1.held.actions.to_string()),
            ("sessions".into(), volet1.held.sessions.to_string()),
            ("hours".into(), format!("{:.1}", volet1.hours)),
            ("planned".into(), volet1.planned.to_string()),
            ("cancelled".into(), volet1.cancelled.to_string()),
            (
                "offered free transport".into(),
                volet1.transport_offered.to_string(),
            ),
            ("older people at home".into(), c(who.older_people_at_home)),
            ("EHPAD residents".into(), c(who.ehpad_residents)),
            ("caregivers".into(), c(who.caregivers)),
            ("professionals".into(), c(who.professionals)),
            (
                "of whom volet 2 beneficiaries".into(),
                c(who.volet2_beneficiaries),
            ),
        ],
    );
    table(
        html,
        ("theme", "actions / participants"),
        &volet1
            .by_theme
            .iter()
            .map(|(theme, h)| {
                (
                    words(theme),
                    format!("{} / {}", h.actions, c(h.participants.total())),
                )
            })
            .collect::<Vec<_>>(),
    );
}

fn delay_text(delay: &super::period::Delay, audience: Audience) -> String {
    format!(
        "{} / {} / {} ({})",
        days(delay.median_days),
        days(delay.mean_days),
        delay.max_days.map_or_else(|| "–".into(), |d| d.to_string()),
        count(delay.count, audience)
    )
}

/// The report as a spreadsheet: every figure (as the CSV), the months, the days.
pub fn xlsx(
    crt: &str,
    indicators: &Indicators,
    audience: Audience,
) -> Result<Vec<u8>, super::xlsx::XlsxError> {
    use super::figures::{Cell, people};
    use super::xlsx::{Sheet, workbook};
    let figures = figures::figures(crt, indicators, audience)
        .into_iter()
        .map(|f| vec![Cell::Text(f.section), Cell::Text(f.item), f.value])
        .collect();
    let months = indicators
        .months
        .iter()
        .map(|m| {
            vec![
                Cell::Text(m.month.clone()),
                people(m.beneficiaries, audience),
                people(m.admissions, audience),
                people(m.exits, audience),
                Cell::Integer(m.forfait_eur),
            ]
        })
        .collect();
    let daily = indicators
        .period
        .days()
        .zip(&indicators.occupancy.daily)
        .map(|(day, n)| vec![Cell::Text(day.to_string()), people(*n, audience)])
        .collect();
    let header = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
    workbook(&[
        Sheet {
            name: "Figures".into(),
            header: header(&["section", "item", "value"]),
            rows: figures,
            widths: vec![26, 40, 14],
        },
        Sheet {
            name: "Months".into(),
            header: header(&[
                "month",
                "file active",
                "admissions",
                "exits",
                "forfait (EUR)",
            ]),
            rows: months,
            widths: vec![10, 12, 12, 8, 14],
        },
        Sheet {
            name: "Daily occupancy".into(),
            header: header(&["day", "accompanied"]),
            rows: daily,
            widths: vec![12, 12],
        },
    ])
}

/// The report as CSV: `section,item,value`, one row per figure.
pub fn csv(crt: &str, indicators: &Indicators, audience: Audience) -> String {
    figures::csv(&figures::figures(crt, indicators, audience))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activity, Period, compute};

    fn indicators() -> Indicators {
        let period = Period {
            from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            to: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        };
        let record: crt_core::CrtRecord = serde_json::from_slice(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../schemas/examples/home-volet2-pays-de-la-loire.json"
            ))
            .unwrap(),
        )
        .unwrap();
        compute(
            &Activity::from_versions([&record]),
            period,
            &crate::Settings::standard(0),
        )
    }

    #[test]
    fn small_counts_leave_the_crt_as_less_than_five() {
        let csv = csv("110008430", &indicators(), Audience::External);
        assert!(csv.contains("volet2,file_active,< 5\r\n"), "{csv}");
        let csv = super::csv("110008430", &indicators(), Audience::Internal);
        assert!(csv.contains("volet2,file_active,1\r\n"), "{csv}");
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
