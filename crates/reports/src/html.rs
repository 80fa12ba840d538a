//! The one style of the HTML pages the gateway writes: activity reports and conformity
//! reports.

use crt_core::xml::escape;

/// A self-contained HTML page: a title, a generated-at line, and the body the caller
/// writes with [`Html::push`] (already escaped) and [`Html::text`].
pub struct Html {
    out: String,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;\
padding:0 1rem;color:#1d2733}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #c8d0d8;\
padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#eef2f5}\
.pass{color:#0b6b2e;font-weight:600}.fail{color:#a4161a;font-weight:600}\
.error{color:#7a4b00;font-weight:600}code,pre{font-family:ui-monospace,monospace;\
font-size:.85rem}pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:24rem;\
white-space:pre-wrap;word-break:break-all}details{margin:.25rem 0}.muted{color:#5b6773}\
.summary{font-size:1.1rem}";

impl Html {
    pub fn page(title: &str, subtitle: &str) -> Html {
        let mut html = Html { out: String::new() };
        html.push("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.push("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        html.push("<title>");
        html.text(title);
        html.push("</title><style>");
        html.push(STYLE);
        html.push("</style></head><body><h1>");
        html.text(title);
        html.push("</h1><p class=\"muted\">");
        html.text(subtitle);
        html.push("</p>");
        html
    }

    /// Appends markup as is: only for literals and what [`Html::text`] escaped.
    pub fn push(&mut self, markup: &str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// Appends text, escaped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape(text));
        self
    }

    /// A verdict badge: `pass`, `fail` or `error`, with its label.
    pub fn verdict(&mut self, class: &str, label: &str) -> &mut Self {
        self.push("<span class=\"")
            .push(class)
            .push("\">")
            .text(label)
            .push("</span>")
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</body></html>\n");
        self.out
    }
}
