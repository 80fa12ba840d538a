//! IHE XDM media (ITI TF-1 §16, ITI-32) as MSSanté carries them: one `IHE_XDM.zip` per
//! message with `INDEX.HTM`, `README.TXT`, and one submission set in
//! `IHE_XDM/SUBSET01/` (`METADATA.XML` and the documents it lists).
//!
//! [`package`] writes the archive from the same XDS metadata the DMP receives; [`open`]
//! reads an untrusted archive with limits and reports every way it breaks the profile
//! (for the simulator, `crt-gateway validate` and messages received), with the files.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use crt_core::xml::{self, Element, Limits, XmlWriter};
use crt_documents::metadata::{LCM, RIM, Submission, sha1_hex};
use zip::write::SimpleFileOptions;

use crate::patient::NamedPatient;

/// The archive's name in a message.
pub const ARCHIVE_NAME: &str = "IHE_XDM.zip";
/// The one submission set of a gateway message.
pub const SUBSET: &str = "IHE_XDM/SUBSET01";
const HL7: &str = "urn:hl7-org:v3";

/// Bounds on an untrusted archive.
pub const MAX_ARCHIVE_BYTES: usize = 20 * 1024 * 1024;
const MAX_ENTRIES: usize = 200;
const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
const MAX_TOTAL_BYTES: u64 = 50 * 1024 * 1024;

/// A document to put in the archive: the bytes and the metadata entry that describes them.
pub struct Document<'a> {
    pub entry: crt_documents::metadata::Entry,
    pub content: &'a [u8],
}

/// What the README names: the sending software, as ITI-32 asks.
#[derive(Debug, Clone)]
pub struct Producer {
    pub software: String,
    pub version: String,
    pub contact: String,
}

#[derive(Debug, thiserror::Error)]
pub enum XdmError {
    #[error("writing the archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
}

/// The file name of the `n`th document (1-based) in the subset: 8.3 names, as XDM media
/// require.
pub fn document_name(n: usize) -> String {
    format!("DOC{n:04}.XML")
}

/// Writes the archive of `submission`, whose entries are replaced by those of `documents`
/// (each given its `URI`). Entries are deflated; times are the submission's, so the same
/// input gives the same bytes.
pub fn package(
    submission: &Submission,
    documents: Vec<Document<'_>>,
    producer: &Producer,
) -> Result<Vec<u8>, XdmError> {
    let mut submission = submission.clone();
    let mut files = Vec::with_capacity(documents.len());
    submission.entries = documents
        .into_iter()
        .enumerate()
        .map(|(i, document)| {
            let name = document_name(i + 1);
            files.push((name.clone(), document.content));
            crt_documents::metadata::Entry {
                uri: Some(name),
                ..document.entry
            }
        })
        .collect();
    let mut metadata = XmlWriter::new();
    metadata.declaration();
    submission.write(&mut metadata);
    let metadata = metadata.finish();

    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip_time(&submission.submission_time));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("INDEX.HTM", options)?;
    zip.write_all(index(&submission, &files).as_bytes())?;
    zip.start_file("README.TXT", options)?;
    zip.write_all(readme(producer).as_bytes())?;
    zip.start_file(format!("{SUBSET}/METADATA.XML"), options)?;
    zip.write_all(&metadata)?;
    for (name, content) in &files {
        zip.start_file(format!("{SUBSET}/{name}"), options)?;
        zip.write_all(content)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// `YYYYMMDDhhmmss` → a ZIP time (2 s precision); the epoch of ZIP if unreadable.
fn zip_time(xds_time: &str) -> zip::DateTime {
    let field =
        |range: std::ops::Range<usize>| -> Option<u16> { xds_time.get(range)?.parse().ok() };
    (|| {
        zip::DateTime::from_date_and_time(
            field(0..4)?,
            field(4..6)? as u8,
            field(6..8)? as u8,
            field(8..10)? as u8,
            field(10..12)? as u8,
            field(12..14)? as u8,
        )
        .ok()
    })()
    .unwrap_or_default()
}

fn index(submission: &Submission, files: &[(String, &[u8])]) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\r\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>IHE XDM</title></head><body>\r\n",
    );
    html.push_str(&format!(
        "<h1>{}</h1>\r\n<p>Lot de soumission {}</p>\r\n<ul>\r\n",
        xml::escape(&submission.title),
        xml::escape(&submission.unique_id)
    ));
    for ((name, _), entry) in files.iter().zip(&submission.entries) {
        html.push_str(&format!(
            "<li><a href=\"{SUBSET}/{name}\">{}</a> ({})</li>\r\n",
            xml::escape(&entry.title),
            xml::escape(&entry.type_code.display)
        ));
    }
    html.push_str(&format!(
        "</ul>\r\n<p><a href=\"README.TXT\">README.TXT</a> · <a href=\"{SUBSET}/METADATA.XML\">METADATA.XML</a></p>\r\n</body></html>\r\n"
    ));
    html
}

fn readme(producer: &Producer) -> String {
    format!(
        "IHE XDM media\r\n\r\nProduced by: {} {}\r\nContact: {}\r\n\r\nINDEX.HTM lists the documents of this media. IHE_XDM/SUBSET01/METADATA.XML\r\ndescribes them (XDS metadata); the documents are in IHE_XDM/SUBSET01/.\r\n",
        producer.software, producer.version, producer.contact
    )
}

/// One way an archive breaks the profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file in the archive the problem is about (empty for the archive itself).
    pub path: String,
    pub rule: &'static str,
    pub message: String,
}

/// A document the archive carries, as its metadata and its bytes describe it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Described {
    pub path: String,
    pub unique_id: String,
    pub mime_type: String,
    pub size: usize,
    /// The CDA header's `code/@code`, for a CDA document.
    pub cda_code: Option<String>,
    /// Whether the CDA names its patient by an INS (matricule with its OID).
    pub ins: bool,
    /// The entry's title (`rim:Name`).
    pub title: Option<String>,
    /// The entry's `classCode`.
    pub class_code: Option<String>,
    /// The patient, from the CDA header and, for what it lacks, the entry's metadata.
    pub patient: NamedPatient,
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub documents: Vec<Described>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, path: &str, rule: &'static str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            rule,
            message: message.into(),
        });
    }
}

/// An archive read: what [`check`] reports, and its files by path.
#[derive(Debug, Default)]
pub struct Opened {
    pub report: Report,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Opened {
    /// The bytes of a document the report describes.
    pub fn content(&self, document: &Described) -> Option<&[u8]> {
        self.files.get(&document.path).map(Vec::as_slice)
    }
}

/// Reads an untrusted archive and checks it: structure, metadata well-formed and listing
/// exactly the documents present, with their sizes and SHA-1 hashes.
pub fn check(archive: &[u8]) -> Report {
    open(archive).report
}

/// [`check`], keeping the files.
pub fn open(archive: &[u8]) -> Opened {
    let mut report = Report::default();
    let files = match read_files(archive) {
        Ok(files) => files,
        Err(message) => {
            report.problem("", "xdm-archive", message);
            return Opened {
                report,
                files: BTreeMap::new(),
            };
        }
    };
    for required in ["INDEX.HTM", "README.TXT"] {
        if !files.contains_key(required) {
            report.problem(
                required,
                "xdm-structure",
                format!("{required} is missing at the root"),
            );
        }
    }
    let subsets: Vec<&str> = files
        .keys()
        .filter_map(|name| name.strip_prefix("IHE_XDM/")?.strip_suffix("/METADATA.XML"))
        .collect();
    if subsets.is_empty() {
        report.problem(
            "IHE_XDM/",
            "xdm-structure",
            "no IHE_XDM/<subset>/METADATA.XML: the archive carries no submission set",
        );
    }
    for subset in subsets {
        check_subset(&files, &format!("IHE_XDM/{subset}"), &mut report);
    }
    Opened { report, files }
}

fn read_files(archive: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    if archive.len() > MAX_ARCHIVE_BYTES {
        return Err(format!("archive larger than {MAX_ARCHIVE_BYTES} bytes"));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(archive))
        .map_err(|e| format!("not a ZIP archive: {e}"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(format!("more than {MAX_ENTRIES} entries"));
    }
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).map_err(|e| format!("entry {i}: {e}"))?;
        if file.is_dir() {
            continue;
        }
        let name = file.name().to_string();
        if file.enclosed_name().is_none() || name.starts_with('/') || name.contains('\\') {
            return Err(format!(
                "{name:?}: entry names must be relative paths inside the archive"
            ));
        }
        let mut content = Vec::new();
        (&mut file)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut content)
            .map_err(|e| format!("{name}: {e}"))?;
        if content.len() as u64 > MAX_FILE_BYTES {
            return Err(format!(
                "{name}: larger than {MAX_FILE_BYTES} bytes once inflated"
            ));
        }
        total += content.len() as u64;
        if total > MAX_TOTAL_BYTES {
            return Err(format!("more than {MAX_TOTAL_BYTES} bytes once inflated"));
        }
        if files.insert(name.clone(), content).is_some() {
            return Err(format!("{name}: present twice"));
        }
    }
    Ok(files)
}

fn check_subset(files: &BTreeMap<String, Vec<u8>>, subset: &str, report: &mut Report) {
    let metadata_path = format!("{subset}/METADATA.XML");
    let Some(bytes) = files.get(&metadata_path) else {
        return;
    };
    let root = match xml::parse(bytes, Limits::default()) {
        Ok(root) => root,
        Err(e) => {
            report.problem(
                &metadata_path,
                "xdm-metadata",
                format!("not well-formed: {e}"),
            );
            return;
        }
    };
    if !root.is(LCM, "SubmitObjectsRequest") {
        report.problem(
            &metadata_path,
            "xdm-metadata",
            format!("root is {}, not lcm:SubmitObjectsRequest", root.name),
        );
        return;
    }
    let Some(list) = root.child(RIM, "RegistryObjectList") else {
        report.problem(&metadata_path, "xdm-metadata", "no rim:RegistryObjectList");
        return;
    };
    if list.child(RIM, "RegistryPackage").is_none() {
        report.problem(
            &metadata_path,
            "xdm-metadata",
            "no submission set (rim:RegistryPackage)",
        );
    }
    let mut listed = Vec::new();
    for object in list.children(RIM, "ExtrinsicObject") {
        let id = object.attribute("id").unwrap_or("?");
        let Some(uri) = slot(object, "URI") else {
            report.problem(
                &metadata_path,
                "xdm-uri",
                format!("document entry {id} has no URI slot"),
            );
            continue;
        };
        let path = format!("{subset}/{uri}");
        listed.push(path.clone());
        let Some(content) = files.get(&path) else {
            report.problem(
                &path,
                "xdm-uri",
                format!("document entry {id} names {uri}, which the archive does not hold"),
            );
            continue;
        };
        match slot(object, "size").map(|s| s.parse::<usize>()) {
            Some(Ok(size)) if size == content.len() => {}
            Some(Ok(size)) => report.problem(
                &path,
                "xdm-size",
                format!(
                    "metadata gives size {size}, the file has {} bytes",
                    content.len()
                ),
            ),
            _ => report.problem(
                &path,
                "xdm-size",
                format!("document entry {id} has no numeric size slot"),
            ),
        }
        match slot(object, "hash") {
            Some(hash) if hash.eq_ignore_ascii_case(&sha1_hex(content)) => {}
            Some(hash) => report.problem(
                &path,
                "xdm-hash",
                format!(
                    "metadata gives SHA-1 {hash}, the file's is {}",
                    sha1_hex(content)
                ),
            ),
            None => report.problem(
                &path,
                "xdm-hash",
                format!("document entry {id} has no hash slot"),
            ),
        }
        let unique_id = object
            .children(RIM, "ExternalIdentifier")
            .find(|e| {
                e.attribute("identificationScheme")
                    == Some(crt_documents::metadata::scheme::UNIQUE_ID)
            })
            .and_then(|e| e.attribute("value"))
            .unwrap_or_default()
            .to_string();
        let mime_type = object.attribute("mimeType").unwrap_or_default().to_string();
        let (cda_code, ins, cda_patient) = if mime_type == "text/xml" {
            match cda_header(content) {
                Ok(header) => header,
                Err(message) => {
                    report.problem(&path, "xdm-document", message);
                    (None, false, NamedPatient::default())
                }
            }
        } else {
            (None, false, NamedPatient::default())
        };
        let patient_id = object
            .children(RIM, "ExternalIdentifier")
            .find(|e| {
                e.attribute("identificationScheme")
                    == Some(crt_documents::metadata::scheme::PATIENT_ID)
            })
            .and_then(|e| e.attribute("value"));
        let source_patient_info = slot_values(object, "sourcePatientInfo");
        report.documents.push(Described {
            path,
            unique_id,
            mime_type,
            size: content.len(),
            cda_code,
            ins,
            title: object
                .child(RIM, "Name")
                .and_then(|n| n.child(RIM, "LocalizedString"))
                .and_then(|l| l.attribute("value"))
                .map(str::to_string),
            class_code: object
                .children(RIM, "Classification")
                .find(|c| {
                    c.attribute("classificationScheme")
                        == Some(crt_documents::metadata::scheme::CLASS_CODE)
                })
                .and_then(|c| c.attribute("nodeRepresentation"))
                .map(str::to_string),
            patient: cda_patient.or(NamedPatient::from_xds(patient_id, &source_patient_info)),
        });
    }
    for name in files.keys() {
        let in_subset = name
            .strip_prefix(subset)
            .is_some_and(|rest| rest.starts_with('/'));
        if in_subset && *name != metadata_path && !listed.contains(name) {
            report.problem(
                name,
                "xdm-uri",
                "file in the submission set that no document entry lists",
            );
        }
    }
}

fn slot<'a>(object: &'a Element, name: &str) -> Option<&'a str> {
    slot_values(object, name).into_iter().next()
}

fn slot_values<'a>(object: &'a Element, name: &str) -> Vec<&'a str> {
    object
        .children(RIM, "Slot")
        .find(|s| s.attribute("name") == Some(name))
        .and_then(|s| s.child(RIM, "ValueList"))
        .map(|list| list.children(RIM, "Value").map(|v| v.text.trim()).collect())
        .unwrap_or_default()
}

/// The CDA `code/@code`, whether the patient is named by an INS, and the patient.
fn cda_header(content: &[u8]) -> Result<(Option<String>, bool, NamedPatient), String> {
    let root =
        xml::parse(content, Limits::default()).map_err(|e| format!("not well-formed: {e}"))?;
    if !root.is(HL7, "ClinicalDocument") {
        return Ok((None, false, NamedPatient::default()));
    }
    let code = root
        .child(HL7, "code")
        .and_then(|c| c.attribute("code"))
        .map(str::to_string);
    let ins = root
        .child(HL7, "recordTarget")
        .and_then(|t| t.child(HL7, "patientRole"))
        .is_some_and(|role| {
            role.children(HL7, "id").any(|id| {
                id.attribute("root")
                    .is_some_and(|root| crt_core::record::InsOid::from_oid(root).is_some())
                    && id.attribute("extension").is_some_and(|e| !e.is_empty())
            })
        });
    Ok((code, ins, NamedPatient::from_cda(&root)))
}
