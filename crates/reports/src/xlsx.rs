//! A workbook in the Office Open XML spreadsheet format (`.xlsx`, ECMA-376 / ISO/IEC 29500),
//! because survey answers are typed into spreadsheets: the smallest package a spreadsheet
//! program opens, sheets of text and numbers with a bold header row kept in view.
//!
//! Strings are written inline (`t="inlineStr"`) rather than in a shared-strings part: a
//! report has a few hundred cells, and inline strings keep each sheet self-contained.

use std::io::{Cursor, Write};

use crt_core::xml::XmlWriter;
use zip::write::SimpleFileOptions;

use super::figures::Cell;

const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const RELATIONSHIPS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const DOCUMENT_RELATIONSHIPS: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// Style indices of `styles.xml`: plain, bold (headers), one decimal (means, shares).
const STYLE_BOLD: &str = "1";
const STYLE_ONE_DECIMAL: &str = "2";

/// One sheet: a header row, then rows of cells.
pub struct Sheet {
    /// At most 31 characters, none of `[]:*?/\` (the format's rule for sheet names).
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Column widths, in characters.
    pub widths: Vec<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum XlsxError {
    #[error("sheet name {0:?}: at most 31 characters, none of []:*?/\\")]
    SheetName(String),
    #[error("writing the archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
}

/// The workbook's bytes.
pub fn workbook(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    for sheet in sheets {
        if sheet.name.is_empty()
            || sheet.name.chars().count() > 31
            || sheet.name.contains(['[', ']', ':', '*', '?', '/', '\\'])
        {
            return Err(XlsxError::SheetName(sheet.name.clone()));
        }
    }
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let mut part = |name: &str, bytes: &[u8]| -> Result<(), XlsxError> {
        zip.start_file(name, options)?;
        zip.write_all(bytes)?;
        Ok(())
    };
    part("[Content_Types].xml", &content_types(sheets.len()))?;
    part("_rels/.rels", &package_relationships())?;
    part("xl/workbook.xml", &workbook_part(sheets))?;
    part(
        "xl/_rels/workbook.xml.rels",
        &workbook_relationships(sheets.len()),
    )?;
    part("xl/styles.xml", STYLES.as_bytes())?;
    for (i, sheet) in sheets.iter().enumerate() {
        part(
            &format!("xl/worksheets/sheet{}.xml", i + 1),
            &worksheet(sheet),
        )?;
    }
    Ok(zip.finish()?.into_inner())
}

fn content_types(sheets: usize) -> Vec<u8> {
    let mut xml = XmlWriter::new();
    xml.declaration().open(
        "Types",
        &[(
            "xmlns",
            "http://schemas.openxmlformats.org/package/2006/content-types",
        )],
    );
    xml.empty(
        "Default",
        &[
            ("Extension", "rels"),
            (
                "ContentType",
                "application/vnd.openxmlformats-package.relationships+xml",
            ),
        ],
    )
    .empty(
        "Default",
        &[("Extension", "xml"), ("ContentType", "application/xml")],
    )
    .empty(
        "Override",
        &[
            ("PartName", "/xl/workbook.xml"),
            (
                "ContentType",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            ),
        ],
    )
    .empty(
        "Override",
        &[
            ("PartName", "/xl/styles.xml"),
            (
                "ContentType",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml",
            ),
        ],
    );
    for i in 1..=sheets {
        xml.empty(
            "Override",
            &[
                ("PartName", &format!("/xl/worksheets/sheet{i}.xml")),
                (
                    "ContentType",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
                ),
            ],
        );
    }
    xml.close("Types");
    xml.finish()
}

fn package_relationships() -> Vec<u8> {
    let mut xml = XmlWriter::new();
    xml.declaration()
        .open("Relationships", &[("xmlns", RELATIONSHIPS)])
        .empty(
            "Relationship",
            &[
                ("Id", "rId1"),
                ("Type", &format!("{DOCUMENT_RELATIONSHIPS}/officeDocument")),
                ("Target", "xl/workbook.xml"),
            ],
        )
        .close("Relationships");
    xml.finish()
}

fn workbook_part(sheets: &[Sheet]) -> Vec<u8> {
    let mut xml = XmlWriter::new();
    xml.declaration()
        .open(
            "workbook",
            &[("xmlns", MAIN), ("xmlns:r", DOCUMENT_RELATIONSHIPS)],
        )
        .open("sheets", &[]);
    for (i, sheet) in sheets.iter().enumerate() {
        let n = (i + 1).to_string();
        xml.empty(
            "sheet",
            &[
                ("name", &sheet.name),
                ("sheetId", &n),
                ("r:id", &format!("rId{n}")),
            ],
        );
    }
    xml.close("sheets").close("workbook");
    xml.finish()
}

fn workbook_relationships(sheets: usize) -> Vec<u8> {
    let mut xml = XmlWriter::new();
    xml.declaration()
        .open("Relationships", &[("xmlns", RELATIONSHIPS)]);
    for i in 1..=sheets {
        xml.empty(
            "Relationship",
            &[
                ("Id", &format!("rId{i}")),
                ("Type", &format!("{DOCUMENT_RELATIONSHIPS}/worksheet")),
                ("Target", &format!("worksheets/sheet{i}.xml")),
            ],
        );
    }
    xml.empty(
        "Relationship",
        &[
            ("Id", "rIdStyles"),
            ("Type", &format!("{DOCUMENT_RELATIONSHIPS}/styles")),
            ("Target", "styles.xml"),
        ],
    )
    .close("Relationships");
    xml.finish()
}

/// Fonts, fills and borders are required even when only the first of each is used.
const STYLES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    r#"<numFmts count="1"><numFmt numFmtId="164" formatCode="0.0"/></numFmts>"#,
    r#"<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>"#,
    r#"<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>"#,
    r#"<fills count="2"><fill><patternFill patternType="none"/></fill>"#,
    r#"<fill><patternFill patternType="gray125"/></fill></fills>"#,
    r#"<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
    r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
    r#"<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#,
    r#"<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#,
    r#"<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>"#,
    r#"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
    r#"</styleSheet>"#
);

/// `A`, `B`, … `Z`, `AA`… for a 0-based column.
fn column_name(mut column: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (column % 26) as u8);
        if column < 26 {
            break;
        }
        column = column / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

fn worksheet(sheet: &Sheet) -> Vec<u8> {
    let mut xml = XmlWriter::new();
    xml.declaration().open("worksheet", &[("xmlns", MAIN)]);
    xml.open("sheetViews", &[])
        .open("sheetView", &[("workbookViewId", "0")])
        .empty(
            "pane",
            &[
                ("ySplit", "1"),
                ("topLeftCell", "A2"),
                ("activePane", "bottomLeft"),
                ("state", "frozen"),
            ],
        )
        .close("sheetView")
        .close("sheetViews");
    if !sheet.widths.is_empty() {
        xml.open("cols", &[]);
        for (i, width) in sheet.widths.iter().enumerate() {
            let n = (i + 1).to_string();
            xml.empty(
                "col",
                &[
                    ("min", &n),
                    ("max", &n),
                    ("width", &width.to_string()),
                    ("customWidth", "1"),
                ],
            );
        }
        xml.close("cols");
    }
    xml.open("sheetData", &[]);
    let header: Vec<Cell> = sheet.header.iter().cloned().map(Cell::Text).collect();
    for (r, row) in std::iter::once(&header).chain(&sheet.rows).enumerate() {
        let number = (r + 1).to_string();
        xml.open("row", &[("r", &number)]);
        let style = (r == 0).then_some(STYLE_BOLD);
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{number}", column_name(c));
            write_cell(&mut xml, &at, cell, style);
        }
        xml.close("row");
    }
    xml.close("sheetData").close("worksheet");
    xml.finish()
}

fn write_cell(xml: &mut XmlWriter, at: &str, cell: &Cell, style: Option<&str>) {
    let mut attributes = vec![("r", at)];
    match cell {
        Cell::Empty => {}
        Cell::Integer(n) => {
            attributes.extend(style.map(|s| ("s", s)));
            xml.open("c", &attributes)
                .leaf("v", &[], &n.to_string())
                .close("c");
        }
        Cell::Number(x) if x.is_finite() => {
            attributes.push(("s", style.unwrap_or(STYLE_ONE_DECIMAL)));
            xml.open("c", &attributes)
                .leaf("v", &[], &x.to_string())
                .close("c");
        }
        Cell::Number(_) => {}
        Cell::Text(text) => {
            attributes.push(("t", "inlineStr"));
            attributes.extend(style.map(|s| ("s", s)));
            xml.open("c", &attributes)
                .open("is", &[])
                .leaf("t", &[("xml:space", "preserve")], text)
                .close("is")
                .close("c");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_as_spreadsheets_name_them() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn a_workbook_holds_each_sheet_with_its_cells() {
        let sheet = Sheet {
            name: "Figures".into(),
            header: vec!["item".into(), "value".into()],
            rows: vec![
                vec![Cell::Text("file <active> & co".into()), Cell::Integer(31)],
                vec![Cell::Text("mean".into()), Cell::Number(12.5)],
                vec![Cell::Text("none".into()), Cell::Empty],
            ],
            widths: vec![30, 10],
        };
        let bytes = workbook(&[sheet]).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = archive.file_names().map(str::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "[Content_Types].xml",
                "_rels/.rels",
                "xl/_rels/workbook.xml.rels",
                "xl/styles.xml",
                "xl/workbook.xml",
                "xl/worksheets/sheet1.xml"
            ]
        );
        let mut sheet = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut sheet,
        )
        .unwrap();
        assert!(sheet.contains("<t xml:space=\"preserve\">file &lt;active&gt; &amp; co</t>"));
        assert!(sheet.contains("<c r=\"B2\"><v>31</v></c>"), "{sheet}");
        assert!(
            sheet.contains("<c r=\"B3\" s=\"2\"><v>12.5</v></c>"),
            "{sheet}"
        );
        assert!(!sheet.contains("B4"));
        for part in [
            "xl/worksheets/sheet1.xml",
            "xl/workbook.xml",
            "[Content_Types].xml",
        ] {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut archive.by_name(part).unwrap(), &mut text).unwrap();
            crt_core::xml::parse(text.as_bytes(), crt_core::xml::Limits::default())
                .unwrap_or_else(|e| panic!("{part} is not well-formed: {e}"));
        }
        assert!(
            workbook(&[Sheet {
                name: "a/b".into(),
                header: vec![],
                rows: vec![],
                widths: vec![]
            }])
            .is_err()
        );
    }
}
