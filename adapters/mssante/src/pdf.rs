//! A PDF rendering of a CDA document, attached to each message for readers without a CDA
//! viewer: the header (title, patient, author, structure) and the narrative of every
//! section, as text.
//!
//! The PDF uses the standard Helvetica fonts with WinAnsi encoding, so it embeds no font
//! and stays a few kilobytes; characters outside WinAnsi (rare in French text) print as
//! `?`. The narrative block is the attested content of a CDA document (the machine-readable
//! entries repeat it), so the rendering shows exactly what a CDA viewer would show, without
//! its styling.

use crt_core::xml::{self, Element, Limits};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const HL7: &str = "urn:hl7-org:v3";
const PAGE: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 50.0;
const BODY_SIZE: f32 = 10.0;
const LEADING: f32 = 13.0;
/// Characters per line at 10 pt Helvetica over the text width (about 5 pt a character).
const WRAP: usize = 95;

#[derive(Debug, thiserror::Error)]
#[error("the document is not a readable CDA: {0}")]
pub struct PdfError(String);

/// A line of the rendering and its style.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Title(String),
    Heading(String),
    Text(String),
    Blank,
}

/// Renders the CDA document `cda` as a PDF.
pub fn render(cda: &[u8]) -> Result<Vec<u8>, PdfError> {
    let root = xml::parse(cda, Limits::default()).map_err(|e| PdfError(e.to_string()))?;
    if !root.is(HL7, "ClinicalDocument") {
        return Err(PdfError(format!("root element is {}", root.name)));
    }
    let title = root.child_text(HL7, "title").unwrap_or("Document");
    Ok(write(title, &layout(&root, title)))
}

fn layout(root: &Element, title: &str) -> Vec<Line> {
    let mut lines = vec![Line::Title(title.to_string())];
    let patient = root
        .child(HL7, "recordTarget")
        .and_then(|t| t.child(HL7, "patientRole"))
        .and_then(|r| r.child(HL7, "patient"));
    if let Some(patient) = patient {
        let name = patient
            .child(HL7, "name")
            .map(person_name)
            .unwrap_or_default();
        let birth = patient
            .child(HL7, "birthTime")
            .and_then(|b| b.attribute("value"))
            .map(display_date)
            .unwrap_or_default();
        lines.push(Line::Text(format!("Patient : {name}   Né(e) le : {birth}")));
    }
    if let Some(author) = root
        .child(HL7, "author")
        .and_then(|a| a.child(HL7, "assignedAuthor"))
    {
        let person = author
            .child(HL7, "assignedPerson")
            .and_then(|p| p.child(HL7, "name"))
            .map(person_name)
            .unwrap_or_default();
        let organisation = author
            .child(HL7, "representedOrganization")
            .and_then(|o| o.child_text(HL7, "name"))
            .unwrap_or_default();
        lines.push(Line::Text(format!("Auteur : {person}   {organisation}")));
    }
    if let Some(time) = root
        .child(HL7, "effectiveTime")
        .and_then(|t| t.attribute("value"))
    {
        lines.push(Line::Text(format!(
            "Date du document : {}",
            display_date(time)
        )));
    }
    lines.push(Line::Blank);
    let body = root
        .child(HL7, "component")
        .and_then(|c| c.child(HL7, "structuredBody"));
    if let Some(body) = body {
        for component in body.children(HL7, "component") {
            if let Some(section) = component.child(HL7, "section") {
                section_lines(section, &mut lines);
            }
        }
    }
    lines
}

fn section_lines(section: &Element, lines: &mut Vec<Line>) {
    if let Some(title) = section.child_text(HL7, "title") {
        lines.push(Line::Heading(title.to_string()));
    }
    if let Some(text) = section.child(HL7, "text") {
        narrative(text, lines);
    }
    for component in section.children(HL7, "component") {
        if let Some(sub) = component.child(HL7, "section") {
            section_lines(sub, lines);
        }
    }
    lines.push(Line::Blank);
}

/// The narrative block as lines: paragraphs and list items on lines of their own, table
/// rows with their cells separated by ` | `.
fn narrative(element: &Element, lines: &mut Vec<Line>) {
    let own = collapse(&element.text);
    match element.name.as_str() {
        "tr" => {
            let cells: Vec<String> = element.children.iter().map(flat).collect();
            push_wrapped(lines, &cells.join(" | "));
            return;
        }
        "item" => {
            push_wrapped(lines, &format!("• {}", flat(element)));
            return;
        }
        "paragraph" | "caption" => {
            push_wrapped(lines, &flat(element));
            return;
        }
        _ => {}
    }
    if !own.is_empty() {
        push_wrapped(lines, &own);
    }
    for child in &element.children {
        narrative(child, lines);
    }
}

/// All the text under `element`, spaces collapsed.
fn flat(element: &Element) -> String {
    let mut parts = vec![collapse(&element.text)];
    parts.extend(element.children.iter().map(flat));
    parts.retain(|p| !p.is_empty());
    parts.join(" ")
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn push_wrapped(lines: &mut Vec<Line>, text: &str) {
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > WRAP {
            lines.push(Line::Text(std::mem::take(&mut current)));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(Line::Text(current));
    }
}

fn person_name(name: &Element) -> String {
    let given: Vec<&str> = name.children(HL7, "given").map(|g| g.text.trim()).collect();
    let family = name.child_text(HL7, "family").unwrap_or_default();
    format!("{} {}", given.join(" "), family.to_uppercase())
        .trim()
        .to_string()
}

/// `YYYYMMDD…` → `DD/MM/YYYY`, or the value as given.
fn display_date(value: &str) -> String {
    match (value.get(0..4), value.get(4..6), value.get(6..8)) {
        (Some(y), Some(m), Some(d)) => format!("{d}/{m}/{y}"),
        _ => value.to_string(),
    }
}

/// WinAnsiEncoding of `text`; `?` for what it cannot encode.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            'Œ' => 0x8C,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9C,
            'Ÿ' => 0x9F,
            _ => b'?',
        })
        .collect()
}

fn write(title: &str, lines: &[Line]) -> Vec<u8> {
    let usable = PAGE.1 - 2.0 * MARGIN;
    let per_page = (usable / LEADING) as usize;
    let pages: Vec<&[Line]> = lines.chunks(per_page.max(1)).collect();

    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    let page_refs: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(10 + 2 * i as i32))
        .collect();
    pdf.pages(tree)
        .kids(page_refs.iter().copied())
        .count(pages.len() as i32);
    for (i, chunk) in pages.iter().enumerate() {
        let page = page_refs[i];
        let contents = Ref::new(11 + 2 * i as i32);
        let mut writer = pdf.page(page);
        writer
            .media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .parent(tree)
            .contents(contents);
        writer
            .resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        writer.finish();
        let mut content = Content::new();
        let mut y = PAGE.1 - MARGIN;
        for line in *chunk {
            let (font, size, text) = match line {
                Line::Title(t) => (Name(b"F2"), 14.0, t.as_str()),
                Line::Heading(t) => (Name(b"F2"), 11.0, t.as_str()),
                Line::Text(t) => (Name(b"F1"), BODY_SIZE, t.as_str()),
                Line::Blank => {
                    y -= LEADING;
                    continue;
                }
            };
            content.begin_text();
            content.set_font(font, size);
            content.next_line(MARGIN, y);
            content.show(Str(&win_ansi(text)));
            content.end_text();
            y -= LEADING;
        }
        pdf.stream(contents, &content.finish());
    }
    for (id, name) in [(regular, &b"Helvetica"[..]), (bold, &b"Helvetica-Bold"[..])] {
        pdf.type1_font(id)
            .base_font(Name(name))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("crt-gateway"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDA: &str = r#"<ClinicalDocument xmlns="urn:hl7-org:v3"><title>DOCUMENT DE LIAISON D'URGENCE</title>
<effectiveTime value="20260115103000+0100"/>
<recordTarget><patientRole><patient><name><given>Marie</given><family>Dupont</family></name><birthTime value="19400312"/></patient></patientRole></recordTarget>
<component><structuredBody><component><section><title>Traitements</title><text>
<table><tr><th>Médicament</th><th>Posologie</th></tr><tr><td>Paracétamol</td><td>1 g × 3 / jour</td></tr></table>
<list><item>Allergie : pénicilline</item></list><paragraph>Œdème des chevilles — surveiller</paragraph></text></section></component></structuredBody></component>
</ClinicalDocument>"#;

    #[test]
    fn the_header_and_the_narrative_become_lines_of_a_pdf() {
        let root = xml::parse(CDA.as_bytes(), Limits::default()).expect("CDA");
        let lines = layout(&root, "DOCUMENT DE LIAISON D'URGENCE");
        assert_eq!(
            lines[0],
            Line::Title("DOCUMENT DE LIAISON D'URGENCE".into())
        );
        assert!(lines.contains(&Line::Text(
            "Patient : Marie DUPONT   Né(e) le : 12/03/1940".into()
        )));
        assert!(lines.contains(&Line::Heading("Traitements".into())));
        assert!(lines.contains(&Line::Text("Paracétamol | 1 g × 3 / jour".into())));
        assert!(lines.contains(&Line::Text("• Allergie : pénicilline".into())));
        assert!(lines.contains(&Line::Text("Œdème des chevilles — surveiller".into())));

        let pdf = render(CDA.as_bytes()).expect("rendered");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/WinAnsiEncoding"));
        assert!(render(b"<html/>").is_err());
    }

    #[test]
    fn french_text_is_encoded_in_win_ansi() {
        assert_eq!(win_ansi("é€œ—∑"), vec![0xE9, 0x80, 0x9C, 0x97, b'?']);
    }

    #[test]
    fn long_text_wraps_and_long_documents_paginate() {
        let mut lines = Vec::new();
        push_wrapped(&mut lines, &"mot ".repeat(100));
        assert!(lines.len() >= 4);
        let many: Vec<Line> = (0..200).map(|i| Line::Text(format!("ligne {i}"))).collect();
        let pdf = String::from_utf8_lossy(&write("t", &many)).into_owned();
        assert!(pdf.contains("/Count 4"), "200 lines at 57 a page");
    }
}
