//! Reading FHIR JSON into a model the way a FHIR server reads it.
//!
//! Generated FHIR models (fhir-sdk's among them) ignore fields they do not know, and drop
//! empty arrays and strings; a FHIR server refuses both. [`read_strictly`] reads the JSON
//! into the model, writes it back, and reports every path of the input that did not
//! survive the round trip.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One element the model could not take, with a FHIRPath-like location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub path: String,
    pub problem: String,
}

/// Reads `value` into `T`; `at` names the value in the paths reported (`Task`,
/// `Bundle.entry[2].resource`…).
pub fn read_strictly<T: Serialize + DeserializeOwned>(
    value: &Value,
    at: &str,
) -> Result<T, Vec<Refused>> {
    let model: T = serde_json::from_value(value.clone()).map_err(|e| {
        vec![Refused {
            path: at.to_string(),
            problem: format!("not a FHIR R4 resource: {e}"),
        }]
    })?;
    let mut lost = Vec::new();
    if let Ok(kept) = serde_json::to_value(&model) {
        lost_paths(value, &kept, at, &mut lost);
    }
    if lost.is_empty() {
        Ok(model)
    } else {
        Err(lost)
    }
}

/// What a FHIR server's refusal says: each issue's location and diagnostics from its
/// `OperationOutcome`, or the start of the body when it is not one.
pub fn outcome_diagnostics(body: &[u8]) -> String {
    if let Ok(outcome) = serde_json::from_slice::<Value>(body)
        && let Some(issues) = outcome["issue"].as_array()
    {
        return issues
            .iter()
            .map(|i| {
                let at = i["expression"][0].as_str().unwrap_or_default();
                let text = i["diagnostics"].as_str().unwrap_or_default();
                if at.is_empty() {
                    text.to_string()
                } else {
                    format!("{at}: {text}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}

fn lost_paths(input: &Value, kept: &Value, at: &str, out: &mut Vec<Refused>) {
    match (input, kept) {
        (Value::Object(fields), Value::Object(kept)) => {
            for (key, value) in fields {
                let path = format!("{at}.{key}");
                match kept.get(key) {
                    Some(kept_value) => lost_paths(value, kept_value, &path, out),
                    None => out.push(Refused {
                        path,
                        problem: if is_empty(value) {
                            "is empty: FHIR JSON leaves out an element that has no value".into()
                        } else {
                            "is not an element of this FHIR R4 type".into()
                        },
                    }),
                }
            }
        }
        (Value::Array(items), Value::Array(kept)) => {
            for (i, (item, kept_item)) in items.iter().zip(kept).enumerate() {
                lost_paths(item, kept_item, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        Value::String(text) => text.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Serialize, Deserialize)]
    struct Thing {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    }

    #[test]
    fn diagnostics_come_from_the_operation_outcome() {
        let body = br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"required","diagnostics":"missing","expression":["HealthcareService.type"]}]}"#;
        assert_eq!(outcome_diagnostics(body), "HealthcareService.type: missing");
        assert_eq!(outcome_diagnostics(b"<html>"), "<html>");
    }

    #[test]
    fn unknown_and_empty_elements_are_reported_with_their_path() {
        assert!(read_strictly::<Thing>(&json!({"name": "x", "tags": ["a"]}), "Thing").is_ok());
        let lost = read_strictly::<Thing>(&json!({"name": "x", "tags": [], "colour": 1}), "Thing")
            .err()
            .unwrap();
        let paths: Vec<&str> = lost.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["Thing.colour", "Thing.tags"]);
        assert!(lost[1].problem.contains("empty"));
    }
}
