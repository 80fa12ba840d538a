//! Turning untrusted bytes into a [`CrtRecord`], or into the full list of what is wrong.
//!
//! Validation runs in three passes so that a caller sees every problem at once:
//! 1. JSON syntax (serde_json, whose recursion limit bounds nesting depth);
//! 2. the JSON Schema generated from the record types (structure, types, codes, patterns),
//!    every violation collected with its JSON pointer;
//! 3. rules no schema can express (check keys, references between parts of the record,
//!    date order, identity status), in [`rules`].
//!
//! Adapters add their own rules (the INS key, for instance) through [`RecordRule`].

mod rules;
mod schema;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::record::CrtRecord;

pub use schema::record_schema;

/// One thing wrong with a record: where, which rule, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON pointer (RFC 6901) to the offending value, or to where a missing one belongs.
    pub pointer: String,
    /// Stable name of the rule: a JSON Schema keyword or a rule of this crate.
    pub rule: String,
    /// What was expected, for a person.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(record)"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {} [{}]", self.message, self.rule)
    }
}

/// Violations collected while checking one record.
#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    pub fn push(
        &mut self,
        pointer: impl Into<String>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.0.push(Violation {
            pointer: pointer.into(),
            rule: rule.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }
}

/// A rule over a whole, structurally valid record.
pub trait RecordRule: Send + Sync {
    fn check(&self, record: &CrtRecord, violations: &mut Violations);
}

/// Why bytes could not become a record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not JSON, or nested too deep.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not a valid record.
    #[error("{} violation(s), first: {}", .0.len(), .0[0])]
    Invalid(Vec<Violation>),
}

/// Parses and validates records. Build one and share it: compiling the schema is the
/// expensive part.
pub struct RecordValidator {
    schema: jsonschema::Validator,
    rules: Vec<Box<dyn RecordRule>>,
}

impl RecordValidator {
    /// A validator with the schema and the rules of this crate.
    pub fn new() -> Self {
        let schema = jsonschema::options()
            .should_validate_formats(true)
            .build(&record_schema())
            // The schema is generated from our own types at build time of the program;
            // failing to compile it is a bug, not an input error.
            .expect("the generated record schema compiles");
        RecordValidator {
            schema,
            rules: vec![Box::new(rules::CoreRules)],
        }
    }

    /// Adds a rule, run after the schema and the core rules.
    pub fn with_rule(mut self, rule: impl RecordRule + 'static) -> Self {
        self.rules.push(Box::new(rule));
        self
    }

    /// Parses bytes as a record and validates it.
    pub fn parse(&self, bytes: &[u8]) -> Result<CrtRecord, RecordError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed {
            line: e.line(),
            column: e.column(),
            message: malformed_message(&e),
        })?;
        self.validate_value(value)
    }

    /// Validates a parsed JSON value as a record.
    pub fn validate_value(&self, value: Value) -> Result<CrtRecord, RecordError> {
        let mut violations = Violations::default();
        for error in self.schema.iter_errors(&value) {
            schema::describe(&error, &mut violations);
        }
        if !violations.is_empty() {
            return Err(RecordError::Invalid(violations.into_vec()));
        }
        let record: CrtRecord = serde_json::from_value(value).map_err(|e| {
            // The schema accepted what serde refused: report it rather than panic.
            RecordError::Invalid(vec![Violation {
                pointer: String::new(),
                rule: "model".into(),
                message: e.to_string(),
            }])
        })?;
        for rule in &self.rules {
            rule.check(&record, &mut violations);
        }
        if violations.is_empty() {
            Ok(record)
        } else {
            Err(RecordError::Invalid(violations.into_vec()))
        }
    }
}

impl Default for RecordValidator {
    fn default() -> Self {
        Self::new()
    }
}

/// serde_json's message without the position, which [`RecordError::Malformed`] carries.
fn malformed_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests;
