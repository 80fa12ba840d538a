use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/examples")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !p.to_string_lossy().ends_with(".errors.json"))
        .collect();
    files.sort();
    files
}

#[test]
fn published_schema_is_the_one_generated_from_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/crt-record.schema.json");
    let generated =
        serde_json::to_string_pretty(&record_schema()).expect("schema serialises") + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let published = String::from_utf8(read(&path)).expect("utf-8");
    assert!(
        published == generated,
        "schemas/crt-record.schema.json is out of date: run `UPDATE_SCHEMAS=1 cargo test -p crt-core published_schema`"
    );
}

#[test]
fn every_valid_example_is_accepted() {
    let validator = RecordValidator::new();
    let files = json_files(&examples_dir());
    assert!(files.len() >= 3, "expected the example records");
    for path in files {
        if let Err(e) = validator.parse(&read(&path)) {
            panic!("{} was refused: {e:?}", path.display());
        }
    }
}

#[test]
fn malformed_json_reports_its_position() {
    let validator = RecordValidator::new();
    match validator.parse(b"{\n  \"schema_version\": \"1.0\",\n  oops\n}") {
        Err(RecordError::Malformed {
            line,
            column,
            message,
        }) => {
            assert_eq!((line, column), (3, 3));
            assert!(message.contains("key must be a string"), "{message}");
        }
        other => panic!("expected a malformed-JSON error, got {other:?}"),
    }
}

#[test]
fn nesting_beyond_the_parser_limit_is_malformed_not_a_crash() {
    let validator = RecordValidator::new();
    let deep = "[".repeat(100_000);
    assert!(matches!(
        validator.parse(deep.as_bytes()),
        Err(RecordError::Malformed { .. })
    ));
}

#[test]
fn violations_name_the_field_and_what_was_expected() {
    let validator = RecordValidator::new();
    let mut record: Value = serde_json::from_slice(&read(
        &examples_dir().join("home-volet2-pays-de-la-loire.json"),
    ))
    .unwrap();
    record["crt"]["region"] = Value::from("99");
    record["beneficiary"]["identity"]["birth_place_code"] = Value::from("7218");
    let Err(RecordError::Invalid(violations)) = validator.validate_value(record) else {
        panic!("expected violations");
    };
    let region = violations
        .iter()
        .find(|v| v.pointer == "/crt/region")
        .expect("region violation");
    assert_eq!(region.rule, "enum");
    assert!(region.message.contains("\"52\""), "{}", region.message);
    let place = violations
        .iter()
        .find(|v| v.pointer == "/beneficiary/identity/birth_place_code")
        .expect("birth place violation");
    assert_eq!(place.rule, "pattern");
    assert!(place.message.contains("INSEE COG"), "{}", place.message);
}
