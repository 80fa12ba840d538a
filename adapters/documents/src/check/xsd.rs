//! The CDA R2 schema check: the document against `CDA_extended.xsd`, the schema the ANS
//! conformance kit validates with (vendored, byte for byte, under `schemas/cda/`).
//!
//! A hand-written structural check agrees with our own reading of CDA and nothing else: an
//! element the schema does not allow where it stands, an attribute outside its vocabulary,
//! a data type's lexical form — the schema knows them all, so the schema decides. The
//! schema is compiled once per process (about 0.1 s) from the copy compiled into the binary,
//! so `validate` needs no kit at run time.

use xsd_schema::validation::{
    CollectingValidationSink, SchemaValidator, SchemaValidity, ValidationFlags, drive_quick_xml,
};
use xsd_schema::{SchemaError, SchemaLoader, SchemaResult, SchemaSet, SchemaSetBuilder};

/// Where the embedded schema documents appear to live; only [`Embedded`] reads under it.
const BASE: &str = "crt-gateway-cda:/";

/// The schema documents, by their path in the kit's `infrastructure/cda/`.
const DOCUMENTS: &[(&str, &str)] = &[
    (
        "CDA_extended.xsd",
        include_str!("../../../../schemas/cda/CDA_extended.xsd"),
    ),
    (
        "POCD_MT000040_extended_pharmacy.xsd",
        include_str!("../../../../schemas/cda/POCD_MT000040_extended_pharmacy.xsd"),
    ),
    (
        "general/NarrativeBlock.xsd",
        include_str!("../../../../schemas/cda/general/NarrativeBlock.xsd"),
    ),
    (
        "general/datatypes-base.xsd",
        include_str!("../../../../schemas/cda/general/datatypes-base.xsd"),
    ),
    (
        "general/datatypes.xsd",
        include_str!("../../../../schemas/cda/general/datatypes.xsd"),
    ),
    (
        "general/infrastructureRoot.xsd",
        include_str!("../../../../schemas/cda/general/infrastructureRoot.xsd"),
    ),
    (
        "general/voc.xsd",
        include_str!("../../../../schemas/cda/general/voc.xsd"),
    ),
    (
        "sdtc/SDTC.xsd",
        include_str!("../../../../schemas/cda/sdtc/SDTC.xsd"),
    ),
    (
        "dicom/DICOM.xsd",
        include_str!("../../../../schemas/cda/dicom/DICOM.xsd"),
    ),
    (
        "ihelab/ihelab.xsd",
        include_str!("../../../../schemas/cda/ihelab/ihelab.xsd"),
    ),
    (
        "pharmacy/COCT_MT230100UV_ext_pharmacy.xsd",
        include_str!("../../../../schemas/cda/pharmacy/COCT_MT230100UV_ext_pharmacy.xsd"),
    ),
];

/// Directives of the kit's files that name documents the kit does not use (see
/// `schemas/cda/README.md`): the XSLT namespace nothing in CDA refers to, and an include
/// whose components the import beside it supplies.
const UNREAD: &[&str] = &[
    "schema/schema-for-xslt20.xsd",
    "../coreschemas/infrastructureRoot.xsd",
];

/// Serves the embedded documents, and nothing else.
#[derive(Debug)]
struct Embedded;

impl SchemaLoader for Embedded {
    fn load(&self, location: &str) -> SchemaResult<String> {
        location
            .strip_prefix(BASE)
            .and_then(|path| DOCUMENTS.iter().find(|(name, _)| *name == path))
            .map(|(_, text)| text.to_string())
            .ok_or_else(|| {
                SchemaError::resolution(format!("{location} is not part of the CDA schema"))
            })
    }

    fn can_load(&self, location: &str) -> bool {
        location.starts_with(BASE)
    }
}

/// One problem the schema found: where (a path of element names with positions) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    pub at: String,
    pub message: String,
}

fn compile() -> Result<SchemaSet, String> {
    let compiled = SchemaSetBuilder::with_loader(Box::new(Embedded))
        .add(HL7_NAMESPACE, &format!("{BASE}CDA_extended.xsd"))
        .and_then(SchemaSetBuilder::compile)
        .map_err(|e| format!("the CDA schema does not compile: {e}"))?;
    let unexpected: Vec<String> = compiled
        .directive_failures()
        .iter()
        .filter_map(|failure| failure.schema_location())
        .filter(|location| !UNREAD.contains(location))
        .map(str::to_string)
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "the CDA schema names documents it lacks: {}",
            unexpected.join(", ")
        ));
    }
    Ok(compiled.into_schema_set())
}

const HL7_NAMESPACE: &str = "urn:hl7-org:v3";

thread_local! {
    static SCHEMA: Result<SchemaSet, String> = compile();
}

/// Validates `bytes` against the CDA schema. The document has been read by the bounded
/// reader first, so its size and depth are already within the check's limits.
pub fn validate(bytes: &[u8]) -> Vec<SchemaProblem> {
    SCHEMA.with(|schema| match schema {
        Ok(schema) => validate_with(schema, bytes),
        Err(message) => vec![SchemaProblem {
            at: String::new(),
            message: message.clone(),
        }],
    })
}

fn validate_with(schema: &SchemaSet, bytes: &[u8]) -> Vec<SchemaProblem> {
    let validator = SchemaValidator::new(
        schema,
        ValidationFlags::default() - ValidationFlags::BUILD_PSVI_TYPED_VALUES,
    );
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let mut runtime = validator.start_run(CollectingValidationSink {
        errors: &mut errors,
        warnings: &mut warnings,
    });
    let outcome = drive_quick_xml(bytes, &mut runtime, schema);
    drop(runtime);
    let mut problems: Vec<SchemaProblem> = errors
        .iter()
        .map(|error| SchemaProblem {
            at: error
                .instance_path()
                .map(|path| local_path(&path.to_string()))
                .unwrap_or_default(),
            message: format!("[{}] {}", error.constraint, error.message),
        })
        .collect();
    match outcome {
        Err(e) => problems.push(SchemaProblem {
            at: String::new(),
            message: format!("not readable XML: {e}"),
        }),
        Ok(outcome)
            if problems.is_empty() && outcome.root_validity != Some(SchemaValidity::Valid) =>
        {
            problems.push(SchemaProblem {
                at: String::new(),
                message: "the document is not valid against the CDA schema".into(),
            })
        }
        Ok(_) => {}
    }
    problems
}

/// `/Q{urn:hl7-org:v3}ClinicalDocument[1]/Q{urn:hl7-org:v3}title[1]` as
/// `/ClinicalDocument[1]/title[1]`: CDA elements by their local name, others as written.
fn local_path(path: &str) -> String {
    path.replace(&format!("Q{{{HL7_NAMESPACE}}}"), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_compiles_from_the_embedded_copy() {
        assert_eq!(compile().err(), None);
    }

    #[test]
    fn an_element_the_schema_does_not_allow_is_named_with_its_place() {
        let (_, document) = crate::cda::tests::example_documents().remove(0);
        let xml = String::from_utf8(document.xml).expect("UTF-8");
        assert!(validate(xml.as_bytes()).is_empty());
        let broken = xml.replacen("</title>", "</title><bogus/>", 1);
        let problems = validate(broken.as_bytes());
        assert!(
            problems
                .iter()
                .any(|p| p.at == "/ClinicalDocument[1]/bogus[1]"),
            "{problems:?}"
        );
    }
}
