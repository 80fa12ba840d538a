//! The indicators as one flat list of figures (section, item, value), already written for
//! their audience: what the CSV, the spreadsheet and the external JSON are made of. For a
//! report that leaves the CRT ([`Audience::External`]), every count of people from 1 to 4
//! becomes "< 5": with so few, a reader who knows the territory could tell who they are.
//! Counts of actions, amounts and delays are not counts of people and stay as they are.

use serde::Serialize;

use super::compute::{Delay, Indicators};

/// Who the report is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The CRT's own team: every count as it is.
    Internal,
    /// The ARS, the CNSA, a steering committee: small counts hidden.
    External,
}

/// Below this, a count of people is not shown to an external reader.
pub const SMALL: usize = 5;

/// A value as the audience may read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Integer(u64),
    /// A mean, a median, a share: written with one decimal.
    Number(f64),
    Text(String),
    /// Nothing to measure (a delay over no accompaniment).
    Empty,
}

impl Cell {
    /// The cell as CSV and tables write it.
    pub fn text(&self) -> String {
        match self {
            Cell::Integer(n) => n.to_string(),
            Cell::Number(x) => format!("{x:.1}"),
            Cell::Text(text) => text.clone(),
            Cell::Empty => String::new(),
        }
    }
}

/// A count of people as `audience` may read it.
pub fn people(value: usize, audience: Audience) -> Cell {
    if audience == Audience::External && (1..SMALL).contains(&value) {
        Cell::Text(format!("< {SMALL}"))
    } else {
        Cell::Integer(value as u64)
    }
}

/// Whether a count of people would be hidden from `audience`.
pub fn hidden(value: usize, audience: Audience) -> bool {
    audience == Audience::External && (1..SMALL).contains(&value)
}

fn number(value: Option<f64>) -> Cell {
    value.map_or(Cell::Empty, Cell::Number)
}

fn integer(value: impl Into<u64>) -> Cell {
    Cell::Integer(value.into())
}

/// The mean occupancy, hidden with the maximum when that is a small count.
pub fn mean_occupancy(indicators: &Indicators, audience: Audience) -> Cell {
    if hidden(indicators.occupancy.max, audience) {
        Cell::Text(format!("< {SMALL}"))
    } else {
        Cell::Number(indicators.occupancy.mean)
    }
}

/// The qualified share, hidden when it would reveal a small count of people with or
/// without a qualified identity.
pub fn qualified_share(indicators: &Indicators, audience: Audience) -> Cell {
    let identity = &indicators.identity;
    if hidden(identity.qualified, audience)
        || hidden(identity.file_active - identity.qualified, audience)
    {
        Cell::Text("hidden (small counts)".into())
    } else {
        number(identity.qualified_percent)
    }
}

/// A name from a snake_case key: `moved_to_ehpad_or_usld` → `moved_to_ehpad_or_usld`
/// (as the formats write it).
pub fn key<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One figure of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub section: String,
    pub item: String,
    pub value: Cell,
}

struct Figures(Vec<Figure>);

impl Figures {
    fn push(&mut self, section: &str, item: impl Into<String>, value: Cell) {
        self.0.push(Figure {
            section: section.into(),
            item: item.into(),
            value,
        });
    }

    fn delay(&mut self, section: &str, name: &str, delay: &Delay, audience: Audience) {
        self.push(
            section,
            format!("{name}_median_days"),
            number(delay.median_days),
        );
        self.push(
            section,
            format!("{name}_mean_days"),
            number(delay.mean_days),
        );
        self.push(
            section,
            format!("{name}_longest_days"),
            delay
                .max_days
                .map_or(Cell::Empty, |d| Cell::Integer(d.max(0) as u64)),
        );
        self.push(
            section,
            format!("{name}_count"),
            people(delay.count, audience),
        );
    }
}

/// Every figure of the report, in the order the CSV and the spreadsheet give them.
pub fn figures(crt: &str, indicators: &Indicators, audience: Audience) -> Vec<Figure> {
    let p = |value: usize| people(value, audience);
    let mut out = Figures(Vec::new());
    out.push("crt", "finess", Cell::Text(crt.into()));
    out.push(
        "period",
        "from",
        Cell::Text(indicators.period.from.to_string()),
    );
    out.push("period", "to", Cell::Text(indicators.period.to.to_string()));
    out.push("volet2", "file_active", p(indicators.file_active));
    out.push("volet2", "admissions", p(indicators.admissions));
    out.push("volet2", "exits", p(indicators.exits.values().sum()));
    out.push(
        "volet2",
        "referrals",
        p(indicators.referrals.values().sum()),
    );
    for (reason, n) in &indicators.exits {
        out.push("exits", key(reason), p(*n));
    }
    for (source, n) in &indicators.referrals {
        out.push("referrals", key(source), p(*n));
    }
    for (outcome, n) in &indicators.decisions {
        out.push("decisions", key(outcome), p(*n));
    }
    let delays = &indicators.delays;
    for (name, delay) in [
        ("referral_to_home_visit", &delays.referral_to_home_visit),
        ("home_visit_to_decision", &delays.home_visit_to_decision),
        ("decision_to_start", &delays.decision_to_start),
        ("referral_to_start", &delays.referral_to_start),
    ] {
        out.delay("delays", name, delay, audience);
    }
    for (level, n) in &indicators.gir {
        out.push("gir", level.clone(), p(*n));
    }
    let occupancy = &indicators.occupancy;
    out.push("occupancy", "capacity", integer(occupancy.capacity as u64));
    out.push("occupancy", "max", p(occupancy.max));
    out.push("occupancy", "mean", mean_occupancy(indicators, audience));
    out.push(
        "occupancy",
        "days_over_capacity",
        integer(occupancy.days_over_capacity as u64),
    );
    for month in &indicators.months {
        out.push(
            "month_file_active",
            month.month.clone(),
            p(month.beneficiaries),
        );
        out.push("month_admissions", month.month.clone(), p(month.admissions));
        out.push("month_exits", month.month.clone(), p(month.exits));
        out.push(
            "month_forfait_eur",
            month.month.clone(),
            integer(month.forfait_eur),
        );
    }
    out.push(
        "forfait",
        "total_eur",
        integer(indicators.forfait_total_eur),
    );
    out.push(
        "forfait",
        "volet2_allocation_eur",
        integer(indicators.volet2_allocation_eur),
    );
    out.push(
        "forfait",
        "percent_of_allocation",
        number(indicators.forfait_percent_of_allocation),
    );
    out.push("on_call", "total", p(indicators.on_call.total));
    for (hour, n) in indicators.on_call.by_hour.iter().enumerate() {
        out.push("on_call_by_hour", format!("{hour:02}"), p(*n));
    }
    for (outcome, n) in &indicators.on_call.by_outcome {
        out.push("on_call_by_outcome", key(outcome), p(*n));
    }
    for (reason, n) in &indicators.on_call_by_reason {
        out.push("on_call_by_reason", key(reason), p(*n));
    }
    let alerts = &indicators.alerts;
    out.push("alerts", "total", integer(alerts.total as u64));
    out.push("alerts", "night", integer(alerts.night as u64));
    out.push("alerts", "taken", integer(alerts.taken as u64));
    out.push("alerts", "open", integer(alerts.open as u64));
    out.push("alerts", "escalated", integer(alerts.escalated as u64));
    out.push("alerts", "escalations", integer(alerts.escalations as u64));
    out.push("alerts", "regulated", integer(alerts.regulated as u64));
    out.push(
        "alerts",
        "time_to_take_median_s",
        number(alerts.time_to_take_median_s),
    );
    out.push(
        "alerts",
        "time_to_take_p90_s",
        number(alerts.time_to_take_p90_s),
    );
    for (reason, n) in &alerts.by_reason {
        out.push("alerts_by_reason", reason.clone(), integer(*n as u64));
    }
    for (outcome, n) in &alerts.by_outcome {
        out.push("alerts_by_outcome", outcome.clone(), integer(*n as u64));
    }
    out.push("home_visits", "total", p(indicators.home_visits.total));
    for (status, n) in &indicators.home_visits.by_outcome {
        out.push("home_visits_by_status", key(status), p(*n));
    }

    let identity = &indicators.identity;
    out.push("identity", "file_active", p(identity.file_active));
    out.push("identity", "qualified", p(identity.qualified));
    out.push(
        "identity",
        "qualified_percent",
        qualified_share(indicators, audience),
    );
    for (target, counts) in &indicators.exchanges {
        let section = format!("exchanges_{target}");
        for (state, n) in [
            ("delivered", counts.delivered),
            ("declined", counts.declined),
            ("held", counts.held),
            ("dead", counts.dead),
            ("in_progress", counts.in_progress),
        ] {
            out.push(&section, state, p(n));
        }
        for (document, n) in &counts.documents {
            out.push(&section, format!("delivered_{document}"), p(*n));
        }
    }

    let waiting = &indicators.waiting_list;
    out.push("waiting_list", "open_now", p(waiting.open_now));
    for (status, n) in &waiting.by_status_now {
        out.push("waiting_list_now", status.clone(), p(*n));
    }
    out.push("waiting_list", "requested", p(waiting.requested));
    out.push("waiting_list", "admitted", p(waiting.admitted));
    out.delay(
        "waiting_list",
        "request_to_admission",
        &waiting.request_to_admission,
        audience,
    );
    out.delay(
        "waiting_list",
        "open_waiting",
        &waiting.open_waiting,
        audience,
    );

    let volet1 = &indicators.volet1;
    let held = |section: &str, item: &str, h: &super::volet1::Held, out: &mut Figures| {
        out.push(
            section,
            format!("{item}_actions"),
            integer(h.actions as u64),
        );
        out.push(
            section,
            format!("{item}_sessions"),
            integer(h.sessions as u64),
        );
        let who = &h.participants;
        for (kind, n) in [
            ("older_people_at_home", who.older_people_at_home),
            ("ehpad_residents", who.ehpad_residents),
            ("caregivers", who.caregivers),
            ("professionals", who.professionals),
            ("volet2_beneficiaries", who.volet2_beneficiaries),
        ] {
            out.push(section, format!("{item}_{kind}"), p(n as usize));
        }
    };
    held("volet1", "held", &volet1.held, &mut out);
    out.push("volet1", "planned_actions", integer(volet1.planned as u64));
    out.push(
        "volet1",
        "cancelled_actions",
        integer(volet1.cancelled as u64),
    );
    out.push("volet1", "hours", Cell::Number(volet1.hours));
    out.push(
        "volet1",
        "transport_offered_actions",
        integer(volet1.transport_offered as u64),
    );
    out.push(
        "volet1",
        "fields_covered",
        integer(volet1.fields_covered as u64),
    );
    for (field, h) in &volet1.by_field {
        held("volet1_field", &key(field), h, &mut out);
    }
    for (theme, h) in &volet1.by_theme {
        held("volet1_theme", &key(theme), h, &mut out);
    }
    out.0
}

/// The figures as CSV: `section,item,value`, one row per figure (RFC 4180, CRLF).
pub fn csv(figures: &[Figure]) -> String {
    let mut out = String::from("section,item,value\r\n");
    for figure in figures {
        out.push_str(&format!(
            "{},{},{}\r\n",
            field(&figure.section),
            field(&figure.item),
            field(&figure.value.text())
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

    #[test]
    fn small_counts_of_people_leave_the_crt_as_less_than_five() {
        assert_eq!(people(0, Audience::External), Cell::Integer(0));
        assert_eq!(people(3, Audience::External), Cell::Text("< 5".into()));
        assert_eq!(people(5, Audience::External), Cell::Integer(5));
        assert_eq!(people(3, Audience::Internal), Cell::Integer(3));
        assert_eq!(field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(Cell::Number(2.26).text(), "2.3");
        assert_eq!(
            serde_json::to_string(&[Cell::Empty, Cell::Integer(1)]).unwrap(),
            "[null,1]"
        );
    }
}
