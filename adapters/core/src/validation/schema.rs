//! The record's JSON Schema: generated from the Rust types, and the wording of its errors.

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use super::Violations;
use crate::record::{
    BIRTH_DATE_PATTERN, CrtRecord, EMAIL_PATTERN, FINESS_PATTERN, INS_NUMBER_PATTERN,
    INSEE_COG_PATTERN, LOCAL_ID_PATTERN, PHONE_PATTERN, POSTAL_CODE_PATTERN, RPPS_PATTERN,
    SIRET_PATTERN, TRAIT_PATTERN,
};

/// The published identifier of the schema.
pub const SCHEMA_ID: &str = "urn:crt-gateway:schema:crt-record:1.0";

/// The JSON Schema (draft 2020-12) of a [`CrtRecord`], as published in
/// `schemas/crt-record.schema.json`.
///
/// Optional fields are described as "may be absent", never as "may be null": the record
/// format leaves a field out rather than writing `null`, and a schema without `null`
/// alternatives lets validators report errors inside optional objects instead of
/// "does not match any alternative".
pub fn record_schema() -> Value {
    published_schema::<CrtRecord>(SCHEMA_ID)
}

/// The JSON Schema (draft 2020-12) of a type, as crt-gateway publishes its input formats:
/// generated from the Rust type, `$id` first, written as [`record_schema`] explains.
pub fn published_schema<T: JsonSchema>(id: &str) -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut value = schema.to_value();
    strip_null_alternatives(&mut value);
    collapse_documented_enums(&mut value);
    if let Value::Object(root) = &mut value {
        let mut ordered = Map::new();
        ordered.insert(
            "$schema".into(),
            root.remove("$schema").unwrap_or(Value::Null),
        );
        ordered.insert("$id".into(), Value::String(id.into()));
        ordered.extend(std::mem::take(root));
        *root = ordered;
    }
    value
}

/// Removes `null` from `type` lists, `anyOf` pairs and `enum` lists that schemars adds
/// for `Option<T>`.
fn strip_null_alternatives(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(options)) = map.get_mut("enum") {
                options.retain(|o| !o.is_null());
            }
            let single_branch = match map.get_mut("anyOf") {
                Some(Value::Array(branches)) => {
                    branches.retain(|b| b.get("type").and_then(Value::as_str) != Some("null"));
                    (branches.len() == 1).then(|| branches.remove(0))
                }
                _ => None,
            };
            if let Some(Value::Object(branch)) = single_branch {
                map.remove("anyOf");
                for (key, val) in branch {
                    map.entry(key).or_insert(val);
                }
            }
            for child in map.values_mut() {
                strip_null_alternatives(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null_alternatives),
        _ => {}
    }
}

/// Rewrites the `oneOf` of `const` branches that schemars writes for enums with documented
/// variants into one `enum`, the variants' documentation moving into the description.
/// Validators then report "expected one of …" at the field instead of "no branch matched".
fn collapse_documented_enums(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let collapsed = match map.get("oneOf") {
                Some(Value::Array(branches)) if !branches.is_empty() => branches
                    .iter()
                    .map(|b| {
                        let constant = b.get("const")?;
                        let doc = b.get("description").and_then(Value::as_str);
                        Some((constant.clone(), doc.map(str::to_string)))
                    })
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            };
            if let Some(variants) = collapsed {
                map.remove("oneOf");
                let docs: Vec<String> = variants
                    .iter()
                    .filter_map(|(c, d)| {
                        d.as_ref()
                            .map(|d| format!("`{}`: {d}", c.as_str().unwrap_or_default()))
                    })
                    .collect();
                map.insert(
                    "enum".into(),
                    Value::Array(variants.into_iter().map(|(c, _)| c).collect()),
                );
                if !docs.is_empty() {
                    let lead = map
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let list = docs.join("; ");
                    let text = match lead {
                        Some(lead) => format!("{lead} {list}."),
                        None => format!("{list}."),
                    };
                    map.insert("description".into(), Value::String(text));
                }
            }
            map.values_mut().for_each(collapse_documented_enums);
        }
        Value::Array(items) => items.iter_mut().for_each(collapse_documented_enums),
        _ => {}
    }
}

/// Adds the violations one schema error stands for, worded for a developer integrating a
/// DUI: where, which keyword, and what was expected.
pub(crate) fn describe(error: &ValidationError<'_>, out: &mut Violations) {
    let pointer = error.instance_path().as_str().to_string();
    let kind = error.kind();
    let rule = match kind {
        // Not a keyword: the schema forbids the field outright.
        ValidationErrorKind::FalseSchema => "not-allowed".to_string(),
        _ => kind.keyword().to_string(),
    };
    let message = match kind {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            out.push(join(&pointer, name), rule, "is required");
            return;
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                out.push(
                    join(&pointer, name),
                    rule.clone(),
                    "is not a field of this object",
                );
            }
            return;
        }
        ValidationErrorKind::FalseSchema => "is not allowed here".to_string(),
        ValidationErrorKind::Enum { options } => format!("expected one of {}", list(options)),
        ValidationErrorKind::Constant { expected_value } => format!("expected {expected_value}"),
        ValidationErrorKind::Type { kind } => format!("expected {}", type_name(kind)),
        ValidationErrorKind::Pattern { pattern } => {
            format!("expected {}", pattern_meaning(pattern))
        }
        ValidationErrorKind::Format { format } => format!("expected {}", format_meaning(format)),
        ValidationErrorKind::MinLength { limit } => {
            format!("expected at least {limit} character(s)")
        }
        ValidationErrorKind::MaxLength { limit } => format!("expected at most {limit} characters"),
        ValidationErrorKind::MinItems { limit } => format!("expected at least {limit} item(s)"),
        ValidationErrorKind::MaxItems { limit } => format!("expected at most {limit} items"),
        ValidationErrorKind::Minimum { limit } => format!("expected a value of at least {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("expected a value of at most {limit}"),
        ValidationErrorKind::UniqueItems => "expected each item only once".to_string(),
        _ => error.to_string(),
    };
    out.push(pointer, rule, message);
}

/// Appends one reference token to a JSON pointer, escaped as RFC 6901 says.
pub(crate) fn join(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", token.replace('~', "~0").replace('/', "~1"))
}

fn list(options: &Value) -> String {
    match options {
        Value::Array(items) => items
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn type_name(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => format!("a value of type {t}"),
        TypeKind::Multiple(ts) => format!("a value of type {ts:?}"),
    }
}

fn format_meaning(format: &str) -> String {
    match format {
        "date" => "a date as YYYY-MM-DD".into(),
        "date-time" => "a date and time with offset, as 2026-01-31T14:05:00+01:00".into(),
        "uint8" | "uint32" => "a non-negative integer".into(),
        other => format!("a value in the {other} format"),
    }
}

/// Says in words what the record's own patterns mean.
fn pattern_meaning(pattern: &str) -> String {
    let words = match pattern {
        p if p == FINESS_PATTERN => "a FINESS number: 9 characters, 2A/2B for Corsica",
        p if p == RPPS_PATTERN => "an RPPS number: 11 digits",
        p if p == INS_NUMBER_PATTERN => {
            "an INS: 13-character matricule (2A/2B for Corsica) and 2-digit key"
        }
        p if p == BIRTH_DATE_PATTERN => {
            "a birth date as YYYY-MM-DD (00 for an unknown day or month)"
        }
        p if p == TRAIT_PATTERN => "letters, spaces, apostrophes and hyphens only",
        p if p == PHONE_PATTERN => "a telephone number",
        p if p == INSEE_COG_PATTERN => {
            "an INSEE COG code: 5 characters, 2A/2B for Corsica, 99xxx abroad"
        }
        p if p == POSTAL_CODE_PATTERN => "a 5-digit postal code",
        p if p == SIRET_PATTERN => "a SIRET number: 14 digits",
        p if p == EMAIL_PATTERN => "an e-mail address",
        p if p == LOCAL_ID_PATTERN => "an identifier of 1 to 64 letters, digits, '.', '_' or '-'",
        _ => return format!("a value matching {pattern}"),
    };
    words.to_string()
}
