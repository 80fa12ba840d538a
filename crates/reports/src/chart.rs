//! Two kinds of chart as inline SVG: bars (one per label) and a line (one point per label)
//! with an optional reference line (the 25 places). Written by hand rather than with a
//! charting crate: four simple charts, text that stays text (printable, searchable, read by
//! screen readers), and nothing more to build.

use crt_core::xml::escape;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 44.0;

/// A chart's data: one value per label, and a horizontal reference line if any.
pub struct Series<'a> {
    pub title: &'a str,
    pub labels: &'a [String],
    pub values: &'a [f64],
    pub reference: Option<(f64, &'a str)>,
    /// Values above zero and below this are not drawn: a report that leaves the CRT does
    /// not show small counts, in its charts either.
    pub hide_below: Option<f64>,
}

fn scale_max(series: &Series<'_>) -> f64 {
    // A hidden value counts as the limit, so that the scale does not tell it either.
    let shown = |value: f64| match series.hide_below {
        Some(limit) if value > 0.0 && value < limit => limit,
        _ => value,
    };
    let max = series
        .values
        .iter()
        .map(|value| shown(*value))
        .chain(series.reference.map(|(value, _)| value))
        .fold(0.0_f64, f64::max);
    if max <= 0.0 {
        return 1.0;
    }
    // A round top: 1, 2 or 5 times a power of ten.
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|top| *top >= max)
        .unwrap_or(max)
}

fn open(out: &mut String, title: &str) {
    out.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        escape(title),
        escape(title)
    ));
    out.push_str(&format!(
        "<text x=\"{LEFT}\" y=\"16\" font-size=\"13\" font-weight=\"600\">{}</text>",
        escape(title)
    ));
}

/// The axes, the grid and the labels: every `step`-th label is written.
fn frame(out: &mut String, series: &Series<'_>, top: f64) {
    let plot_height = HEIGHT - TOP - BOTTOM;
    for i in 0..=4 {
        let value = top * f64::from(i) / 4.0;
        let y = TOP + plot_height - plot_height * f64::from(i) / 4.0;
        out.push_str(&format!(
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#d5dbe1\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 4.0,
            y + 3.0,
            format_value(value)
        ));
    }
    let n = series.labels.len().max(1);
    let step = n.div_ceil(12);
    let slot = (WIDTH - LEFT - RIGHT) / n as f64;
    for (i, label) in series
        .labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0)
    {
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            LEFT + slot * (i as f64 + 0.5),
            HEIGHT - BOTTOM + 14.0,
            escape(label)
        ));
    }
    if let Some((value, name)) = series.reference {
        let y = TOP + plot_height - plot_height * value / top;
        out.push_str(&format!(
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#a4161a\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#a4161a\">{}</text>",
            WIDTH - RIGHT,
            WIDTH - RIGHT,
            y - 4.0,
            escape(name)
        ));
    }
}

fn format_value(value: f64) -> String {
    if value.fract().abs() < 1e-9 {
        format!("{value:.0}")
    } else if (value * 10.0).fract().abs() < 1e-9 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A chart begun: its title, axes and labels written, and its geometry.
struct Plot {
    out: String,
    /// The value at the top of the scale.
    top: f64,
    plot_height: f64,
    /// Points (or bars) in the chart, at least 1.
    n: usize,
    /// The width given to each.
    slot: f64,
}

fn begin(series: &Series<'_>) -> Plot {
    let mut out = String::new();
    open(&mut out, series.title);
    let top = scale_max(series);
    frame(&mut out, series, top);
    let n = series.values.len().max(1);
    Plot {
        out,
        top,
        plot_height: HEIGHT - TOP - BOTTOM,
        n,
        slot: (WIDTH - LEFT - RIGHT) / n as f64,
    }
}

/// One bar per label, its value written above it.
pub fn bars(series: &Series<'_>) -> String {
    let Plot {
        mut out,
        top,
        plot_height,
        n,
        slot,
    } = begin(series);
    for (i, value) in series.values.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        if let Some(limit) = series.hide_below
            && *value > 0.0
            && *value < limit
        {
            if n <= 31 {
                out.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">&lt; {}</text>",
                    x + slot * 0.35,
                    TOP + plot_height - 2.0,
                    format_value(limit)
                ));
            }
            continue;
        }
        let height = plot_height * value / top;
        let y = TOP + plot_height - height;
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"#2f6690\"/>",
            slot * 0.7
        ));
        if n <= 31 && *value > 0.0 {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
                x + slot * 0.35,
                y - 2.0,
                format_value(*value)
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// A line through one point per label.
pub fn line(series: &Series<'_>) -> String {
    let Plot {
        mut out,
        top,
        plot_height,
        slot,
        ..
    } = begin(series);
    let point = |i: usize, value: f64| {
        format!(
            "{:.1},{:.1}",
            LEFT + slot * (i as f64 + 0.5),
            TOP + plot_height - plot_height * value / top
        )
    };
    if let Some(limit) = series.hide_below {
        let band = plot_height * limit / top;
        out.push_str(&format!(
            "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{band:.1}\" fill=\"#e6e9ed\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">fewer than {} (not shown)</text>",
            TOP + plot_height - band,
            WIDTH - LEFT - RIGHT,
            LEFT + 4.0,
            TOP + plot_height - 3.0,
            format_value(limit)
        ));
    }
    // One polyline per run of shown points.
    let mut runs: Vec<Vec<String>> = vec![Vec::new()];
    for (i, value) in series.values.iter().enumerate() {
        let hidden = series
            .hide_below
            .is_some_and(|limit| *value > 0.0 && *value < limit);
        match runs.last_mut() {
            Some(run) if !hidden => run.push(point(i, *value)),
            Some(run) if !run.is_empty() => runs.push(Vec::new()),
            _ => {}
        }
    }
    for run in runs.iter().filter(|run| !run.is_empty()) {
        out.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"#2f6690\" stroke-width=\"2\" points=\"{}\"/>",
            run.join(" ")
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_svg_with_their_text() {
        let labels: Vec<String> = (0..24).map(|h| format!("{h:02}h")).collect();
        let values: Vec<f64> = (0..24).map(f64::from).collect();
        let series = Series {
            title: "Calls <by> hour",
            labels: &labels,
            values: &values,
            reference: Some((25.0, "25 places")),
            hide_below: None,
        };
        for svg in [bars(&series), line(&series)] {
            crt_core::xml::parse(svg.as_bytes(), crt_core::xml::Limits::default())
                .expect("well-formed");
            assert!(svg.contains("Calls &lt;by&gt; hour"));
            assert!(svg.contains("25 places"));
        }
        assert_eq!(scale_max(&series), 50.0);
        let empty = Series {
            title: "none",
            labels: &[],
            values: &[],
            reference: None,
            hide_below: None,
        };
        assert!(bars(&empty).ends_with("</svg>"));
        let hidden = Series {
            hide_below: Some(5.0),
            ..series
        };
        let svg = bars(&hidden);
        assert_eq!(
            svg.matches("<rect").count(),
            24 - 4,
            "0 draws an empty bar, 1 to 4 none"
        );
        assert!(svg.contains("&lt; 5"));
        let svg = line(&hidden);
        assert_eq!(
            svg.matches("<polyline").count(),
            2,
            "the run stops where values are hidden"
        );
    }
}
