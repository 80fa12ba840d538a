//! Visits as an iCalendar object (RFC 5545) a calendar application subscribes to: one
//! `VEVENT` per visit, times in UTC, text escaped and lines folded as the RFC says, so
//! that any conforming reader takes it.
//!
//! The properties follow the GAP guide's mapping of an Appointment onto iCalendar:
//! `UID` the appointment's identifier, `DTSTART`/`DTEND` its start and end, `STATUS` its
//! status (a cancelled visit stays in the feed as `CANCELLED`, so that calendars remove
//! it).

use chrono::{DateTime, Utc};

use super::Visit;

/// Longest content line, in octets, before folding (RFC 5545 §3.1).
const LINE_OCTETS: usize = 75;

/// Text escaped as a TEXT value (RFC 5545 §3.3.11).
fn text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Appends one content line, folded at 75 octets without splitting a character.
fn line(out: &mut String, content: &str) {
    let mut used = 0;
    for c in content.chars() {
        let width = c.len_utf8();
        if used + width > LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += width;
    }
    out.push_str("\r\n");
}

fn utc(at: &DateTime<impl chrono::TimeZone>) -> String {
    at.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string()
}

/// Who the events are for decides how they are titled: a professional's calendar names
/// the beneficiary, a beneficiary's the professional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Beneficiary,
    Professional,
}

/// The calendar named `name`, stamped `now`.
pub fn calendar(name: &str, visits: &[Visit], audience: Audience, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for fixed in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//crt-gateway//planning//FR",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        line(&mut out, fixed);
    }
    line(&mut out, &format!("X-WR-CALNAME:{}", text(name)));
    let stamp = utc(&now);
    for visit in visits {
        let whom = match audience {
            Audience::Beneficiary => &visit.professional.name,
            Audience::Professional => &visit.beneficiary.name,
        };
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", text(&visit.uid)));
        line(&mut out, &format!("DTSTAMP:{stamp}"));
        line(&mut out, &format!("DTSTART:{}", utc(&visit.start)));
        line(&mut out, &format!("DTEND:{}", utc(&visit.end)));
        line(
            &mut out,
            &format!("SUMMARY:{}", text(&format!("{} – {whom}", visit.label))),
        );
        if let Some(address) = &visit.address {
            line(&mut out, &format!("LOCATION:{}", text(address)));
        }
        line(
            &mut out,
            &format!(
                "DESCRIPTION:{}",
                text(&format!("{}\nCRT : {}", visit.label, visit.crt))
            ),
        );
        let status = if visit.cancelled {
            "CANCELLED"
        } else {
            "CONFIRMED"
        };
        line(&mut out, &format!("STATUS:{status}"));
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_long_lines_are_folded_between_characters() {
        assert_eq!(text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(60));
        line(&mut out, &long);
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= LINE_OCTETS, "{} octets", physical.len());
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, long);
    }
}
