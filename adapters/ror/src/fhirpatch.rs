//! FHIRPath Patch (FHIR R4, `fhirpatch.html`): the one patch format the ROR takes
//! (`patchFormat` `application/fhir+json` in its CapabilityStatements), limited as the ROR
//! limits it to the top-level elements of a resource ("limitée aux attributs de premier
//! niveau", pages *Mise à jour de l'offre* and *Création et mise à jour du lieu de
//! réalisation de l'offre* of the guide).
//!
//! A patch is a `Parameters` resource with one `operation` per change. Three forms are
//! written and read here:
//!
//! - `add` at the resource (`path` = the resource type) of a top-level element `name`;
//! - `replace` and `delete` of a top-level element, or of one item of a repeating one
//!   (`HealthcareService.availableTime[2]`);
//! - on a Location's capacity, the ROR's own form: `path`
//!   `Location.extension.where(url='…ror-location-supported-capacity')`, narrowed for
//!   `replace` and `delete` by the codes that identify one indicator, and a `value` whose
//!   one part carries the extension under `extension` (scenarios 2, 2 BIS and 3 of the
//!   guide, and the ROR's API documentation, which show this shape).
//!
//! Values are typed as the FHIRPath Patch page says: a primitive or a data type as
//! `value[x]`, an extension or a backbone element (`availableTime`) as parts named after
//! its elements. Anything deeper than a top-level element is refused ([`PatchError::Deep`]).

use std::fmt;

use serde_json::{Map, Value, json};

use crate::fhir::extension::SUPPORTED_CAPACITY;

/// A path the ROR accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `HealthcareService.name`, or one item: `HealthcareService.extension[3]`.
    Element {
        element: String,
        index: Option<usize>,
    },
    /// The capacity indicators of a Location, optionally only the one whose
    /// sub-extensions carry these codes (sub-extension url, code).
    Capacity { keys: Vec<(String, String)> },
}

/// One operation of a patch.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Adds `value` as the top-level element `name` (appended when it repeats).
    Add {
        name: String,
        value: Value,
    },
    /// Adds a capacity indicator (the value is the extension).
    AddCapacity {
        value: Value,
    },
    Replace {
        target: Target,
        value: Value,
    },
    Delete {
        target: Target,
    },
}

/// A FHIRPath Patch on one resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    pub resource_type: String,
    pub operations: Vec<Operation>,
}

/// Why a patch was refused, with the HTTP status a FHIR server answers it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// Not a FHIRPath Patch `Parameters` (400).
    #[error("not a FHIRPath Patch: {0}")]
    Structure(String),
    /// A path below a top-level element (400).
    #[error(
        "{0}: the ROR patches top-level elements only (\"limitée aux attributs de premier niveau\")"
    )]
    Deep(String),
    /// The path selects nothing (404), with the expression that found nothing.
    #[error("nothing at {0}")]
    NotFound(String),
    /// The path selects several elements where one is expected (412).
    #[error("{0} selects several elements")]
    MultipleMatches(String),
    /// The operation cannot apply to the resource (422).
    #[error("{0}")]
    Processing(String),
}

impl PatchError {
    /// The HTTP status and `OperationOutcome` issue code a server answers with.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            PatchError::Structure(_) => (400, "structure"),
            PatchError::Deep(_) => (400, "not-supported"),
            PatchError::NotFound(_) => (404, "not-found"),
            PatchError::MultipleMatches(_) => (412, "multiple-matches"),
            PatchError::Processing(_) => (422, "processing"),
        }
    }
}

impl Target {
    /// The FHIRPath expression.
    pub fn expression(&self, resource_type: &str) -> String {
        match self {
            Target::Element {
                element,
                index: None,
            } => format!("{resource_type}.{element}"),
            Target::Element {
                element,
                index: Some(i),
            } => format!("{resource_type}.{element}[{i}]"),
            Target::Capacity { keys } => {
                let mut path =
                    format!("{resource_type}.extension.where(url='{SUPPORTED_CAPACITY}')");
                if !keys.is_empty() {
                    let conditions: Vec<String> = keys
                        .iter()
                        .map(|(url, code)| {
                            format!(
                                "extension.where(url = '{url}' and valueCodeableConcept.coding.code = '{code}')"
                            )
                        })
                        .collect();
                    path.push_str(&format!(".where({})", conditions.join(" and ")));
                }
                path
            }
        }
    }

    /// Reads a path; anything but the forms above is refused.
    pub fn parse(resource_type: &str, path: &str) -> Result<Target, PatchError> {
        let rest = path
            .strip_prefix(resource_type)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(|| {
                PatchError::Structure(format!("path {path:?} does not start at {resource_type}"))
            })?;
        let capacity = format!("extension.where(url='{SUPPORTED_CAPACITY}')");
        if let Some(filter) = rest.strip_prefix(&capacity) {
            return Ok(Target::Capacity {
                keys: capacity_keys(filter).ok_or_else(|| PatchError::Deep(path.into()))?,
            });
        }
        let (element, index) = match rest.split_once('[') {
            Some((element, tail)) => {
                let index = tail
                    .strip_suffix(']')
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or_else(|| PatchError::Deep(path.into()))?;
                (element, Some(index))
            }
            None => (rest, None),
        };
        if element.is_empty() || !element.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(PatchError::Deep(path.into()));
        }
        Ok(Target::Element {
            element: element.into(),
            index,
        })
    }
}

/// `.where(extension.where(url = 'a' and valueCodeableConcept.coding.code = '01') and …)`
/// → `[("a", "01"), …]`; an empty filter is no keys. `None` when the filter has another
/// form.
fn capacity_keys(filter: &str) -> Option<Vec<(String, String)>> {
    if filter.is_empty() {
        return Some(Vec::new());
    }
    let inner = filter.strip_prefix(".where(")?.strip_suffix(')')?;
    let mut keys = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let body = rest.strip_prefix("extension.where(")?;
        let close = body.find(')')?;
        let condition = &body[..close];
        let (url, code) = condition.split_once(" and ")?;
        let url = quoted(url.trim().strip_prefix("url")?.trim().strip_prefix('=')?)?;
        let code = quoted(
            code.trim()
                .strip_prefix("valueCodeableConcept.coding.code")?
                .trim()
                .strip_prefix('=')?,
        )?;
        keys.push((url, code));
        rest = body[close + 1..].trim();
        if let Some(next) = rest.strip_prefix("and") {
            rest = next.trim();
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(keys)
}

fn quoted(text: &str) -> Option<String> {
    let text = text.trim();
    Some(text.strip_prefix('\'')?.strip_suffix('\'')?.to_string())
}

/// How a top-level element's value is written in a patch.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `value[x]` with this type name (`valueString`, `valueCodeableConcept`).
    Typed(&'static str),
    /// An Extension, as parts.
    Extension,
    /// A backbone element, as parts typed by the table given.
    Backbone(&'static [(&'static str, Kind)]),
}

const AVAILABLE_TIME: &[(&str, Kind)] = &[
    ("extension", Kind::Extension),
    ("daysOfWeek", Kind::Typed("Code")),
    ("allDay", Kind::Typed("Boolean")),
    ("availableStartTime", Kind::Typed("Time")),
    ("availableEndTime", Kind::Typed("Time")),
];

const NOT_AVAILABLE: &[(&str, Kind)] = &[
    ("extension", Kind::Extension),
    ("description", Kind::Typed("String")),
    ("during", Kind::Typed("Period")),
];

/// The top-level elements of the resources the gateway patches, with how their values
/// are written (FHIR R4 types) and whether they repeat.
fn element(resource_type: &str, name: &str) -> Option<(Kind, bool)> {
    use Kind::*;
    let found = match (resource_type, name) {
        (_, "extension") => (Extension, true),
        (_, "identifier") => (Typed("Identifier"), true),
        (_, "name") => (Typed("String"), false),
        (_, "telecom") => (Typed("ContactPoint"), true),
        ("HealthcareService", "active") => (Typed("Boolean"), false),
        ("HealthcareService", "providedBy") => (Typed("Reference"), false),
        ("HealthcareService", "category" | "type" | "specialty" | "characteristic") => {
            (Typed("CodeableConcept"), true)
        }
        ("HealthcareService", "location" | "coverageArea" | "endpoint") => {
            (Typed("Reference"), true)
        }
        ("HealthcareService", "comment") => (Typed("String"), false),
        ("HealthcareService", "extraDetails") => (Typed("Markdown"), false),
        ("HealthcareService", "availableTime") => (Backbone(AVAILABLE_TIME), true),
        ("HealthcareService", "notAvailable") => (Backbone(NOT_AVAILABLE), true),
        ("HealthcareService", "availabilityExceptions") => (Typed("String"), false),
        ("Location", "alias") => (Typed("String"), true),
        ("Location", "description") => (Typed("String"), false),
        ("Location", "type") => (Typed("CodeableConcept"), true),
        ("Location", "address") => (Typed("Address"), false),
        ("Location", "managingOrganization" | "partOf") => (Typed("Reference"), false),
        _ => return None,
    };
    Some(found)
}

/// Elements whose items are arrays in FHIR JSON, when read back from parts.
const REPEATING_PARTS: &[&str] = &["extension", "modifierExtension", "daysOfWeek"];

fn unknown(resource_type: &str, name: &str) -> PatchError {
    PatchError::Processing(format!(
        "{resource_type}.{name} is not an element the gateway patches"
    ))
}

/// `value` (an element as FHIR JSON) as the `value` parameter of an operation.
fn encode(kind: Kind, value: &Value) -> Result<Value, PatchError> {
    Ok(match kind {
        Kind::Typed(type_name) => {
            let mut part = Map::new();
            part.insert("name".into(), json!("value"));
            part.insert(format!("value{type_name}"), value.clone());
            Value::Object(part)
        }
        Kind::Extension => json!({"name": "value", "part": extension_parts(value)?}),
        Kind::Backbone(table) => json!({"name": "value", "part": backbone_parts(table, value)?}),
    })
}

fn extension_parts(extension: &Value) -> Result<Vec<Value>, PatchError> {
    let fields = extension
        .as_object()
        .ok_or_else(|| PatchError::Processing("an extension is not an object".into()))?;
    let mut parts = Vec::new();
    for (key, field) in fields {
        match key.as_str() {
            "url" => parts.push(json!({"name": "url", "valueUri": field})),
            "extension" => {
                for sub in field.as_array().map(Vec::as_slice).unwrap_or_default() {
                    parts.push(json!({"name": "extension", "part": extension_parts(sub)?}));
                }
            }
            key if key.starts_with("value") => {
                let mut part = Map::new();
                part.insert("name".into(), json!(key));
                part.insert(key.into(), field.clone());
                parts.push(Value::Object(part));
            }
            other => {
                return Err(PatchError::Processing(format!(
                    "an extension has an element {other}"
                )));
            }
        }
    }
    Ok(parts)
}

fn backbone_parts(table: &[(&str, Kind)], element: &Value) -> Result<Vec<Value>, PatchError> {
    let fields = element
        .as_object()
        .ok_or_else(|| PatchError::Processing("a backbone element is not an object".into()))?;
    let mut parts = Vec::new();
    for (key, field) in fields {
        let (_, kind) = table
            .iter()
            .find(|(name, _)| name == key)
            .ok_or_else(|| PatchError::Processing(format!("no element {key} here")))?;
        let items: Vec<&Value> = match field {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        for item in items {
            let mut part = encode(*kind, item)?;
            part["name"] = json!(key);
            parts.push(part);
        }
    }
    Ok(parts)
}

/// Parts back into FHIR JSON.
fn decode_parts(parts: &[Value]) -> Result<Value, PatchError> {
    let mut object = Map::new();
    for part in parts {
        let name = part["name"]
            .as_str()
            .ok_or_else(|| PatchError::Structure("a part has no name".into()))?;
        let value = part_value(part)?;
        if REPEATING_PARTS.contains(&name) {
            match object
                .entry(name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(items) => items.push(value),
                _ => return Err(PatchError::Structure(format!("{name} given twice"))),
            }
        } else if object.insert(name.to_string(), value).is_some() {
            return Err(PatchError::Structure(format!("{name} given twice")));
        }
    }
    Ok(Value::Object(object))
}

/// The value a parameter or part carries: its one `value[x]`, or its parts.
fn part_value(part: &Value) -> Result<Value, PatchError> {
    let fields = part
        .as_object()
        .ok_or_else(|| PatchError::Structure("a part is not an object".into()))?;
    let mut values = fields.iter().filter(|(k, _)| k.starts_with("value"));
    match (values.next(), values.next(), fields.get("part")) {
        (Some((_, value)), None, None) => Ok(value.clone()),
        (None, None, Some(Value::Array(parts))) => decode_parts(parts),
        _ => Err(PatchError::Structure(
            "a value is one value[x] or parts".into(),
        )),
    }
}

impl Patch {
    pub fn new(resource_type: &str) -> Patch {
        Patch {
            resource_type: resource_type.into(),
            operations: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// The `Parameters` resource sent to the ROR.
    pub fn to_parameters(&self) -> Result<Value, PatchError> {
        let t = &self.resource_type;
        let mut parameters = Vec::new();
        for operation in &self.operations {
            let parts = match operation {
                Operation::Add { name, value } => {
                    let (kind, _) = element(t, name).ok_or_else(|| unknown(t, name))?;
                    vec![
                        json!({"name": "type", "valueCode": "add"}),
                        json!({"name": "path", "valueString": t}),
                        json!({"name": "name", "valueString": name}),
                        encode(kind, value)?,
                    ]
                }
                Operation::AddCapacity { value } => vec![
                    json!({"name": "type", "valueCode": "add"}),
                    json!({"name": "path", "valueString": Target::Capacity { keys: Vec::new() }.expression(t)}),
                    capacity_value(value),
                ],
                Operation::Replace { target, value } => {
                    let value = match target {
                        Target::Capacity { .. } => capacity_value(value),
                        Target::Element { element: name, .. } => {
                            let (kind, _) = element(t, name).ok_or_else(|| unknown(t, name))?;
                            encode(kind, value)?
                        }
                    };
                    vec![
                        json!({"name": "type", "valueCode": "replace"}),
                        json!({"name": "path", "valueString": target.expression(t)}),
                        value,
                    ]
                }
                Operation::Delete { target } => vec![
                    json!({"name": "type", "valueCode": "delete"}),
                    json!({"name": "path", "valueString": target.expression(t)}),
                ],
            };
            parameters.push(json!({"name": "operation", "part": parts}));
        }
        Ok(json!({"resourceType": "Parameters", "parameter": parameters}))
    }

    /// Reads a `Parameters` body as a patch of `resource_type`.
    pub fn from_parameters(resource_type: &str, body: &Value) -> Result<Patch, PatchError> {
        if body["resourceType"] != "Parameters" {
            return Err(PatchError::Structure(
                "the body is not a Parameters resource".into(),
            ));
        }
        let parameters = body["parameter"]
            .as_array()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| PatchError::Structure("no operation".into()))?;
        let mut patch = Patch::new(resource_type);
        for parameter in parameters {
            if parameter["name"] != "operation" {
                return Err(PatchError::Structure(format!(
                    "parameter {} is not an operation",
                    parameter["name"]
                )));
            }
            let parts = parameter["part"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let part = |name: &str| parts.iter().find(|p| p["name"] == name);
            let text = |name: &str| -> Option<String> {
                let p = part(name)?;
                p["valueCode"]
                    .as_str()
                    .or(p["valueString"].as_str())
                    .map(str::to_string)
            };
            let kind = text("type")
                .ok_or_else(|| PatchError::Structure("an operation has no type".into()))?;
            let path = text("path")
                .ok_or_else(|| PatchError::Structure("an operation has no path".into()))?;
            let value = || -> Result<Value, PatchError> {
                let p = part("value").ok_or_else(|| {
                    PatchError::Structure(format!("the {kind} at {path} has no value"))
                })?;
                part_value(p)
            };
            let operation = match kind.as_str() {
                "add" if path == resource_type => {
                    let name = text("name")
                        .ok_or_else(|| PatchError::Structure("an add has no name".into()))?;
                    if element(resource_type, &name).is_none() {
                        return Err(unknown(resource_type, &name));
                    }
                    Operation::Add {
                        name,
                        value: value()?,
                    }
                }
                "add" => match Target::parse(resource_type, &path)? {
                    Target::Capacity { keys } if keys.is_empty() => Operation::AddCapacity {
                        value: capacity_extension(part("value"))?,
                    },
                    _ => return Err(PatchError::Deep(path)),
                },
                "replace" => {
                    let target = Target::parse(resource_type, &path)?;
                    let value = match target {
                        Target::Capacity { .. } => capacity_extension(part("value"))?,
                        Target::Element { .. } => value()?,
                    };
                    Operation::Replace { target, value }
                }
                "delete" => Operation::Delete {
                    target: Target::parse(resource_type, &path)?,
                },
                other => {
                    return Err(PatchError::Structure(format!(
                        "operation type {other} is not one the ROR takes (add, replace, delete)"
                    )));
                }
            };
            patch.operations.push(operation);
        }
        Ok(patch)
    }

    /// Applies the patch to `resource`, all or nothing.
    pub fn apply(&self, resource: &Value) -> Result<Value, PatchError> {
        let mut patched = resource.clone();
        let t = self.resource_type.as_str();
        for operation in &self.operations {
            let fields = patched
                .as_object_mut()
                .ok_or_else(|| PatchError::Processing("the resource is not an object".into()))?;
            match operation {
                Operation::Add { name, value } => {
                    let (_, repeats) = element(t, name).ok_or_else(|| unknown(t, name))?;
                    if repeats {
                        match fields
                            .entry(name.clone())
                            .or_insert_with(|| Value::Array(Vec::new()))
                        {
                            Value::Array(items) => items.push(value.clone()),
                            _ => {
                                return Err(PatchError::Processing(format!(
                                    "{t}.{name} is not a list"
                                )));
                            }
                        }
                    } else if fields.contains_key(name) {
                        return Err(PatchError::Processing(format!(
                            "{t}.{name} is present: replace it"
                        )));
                    } else {
                        fields.insert(name.clone(), value.clone());
                    }
                }
                Operation::AddCapacity { value } => match fields
                    .entry("extension")
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(items) => items.push(value.clone()),
                    _ => {
                        return Err(PatchError::Processing(format!(
                            "{t}.extension is not a list"
                        )));
                    }
                },
                Operation::Replace { target, value } => {
                    *select(fields, t, target)? = value.clone();
                }
                Operation::Delete { target } => remove(fields, t, target)?,
            }
        }
        Ok(patched)
    }
}

/// The ROR's form of a capacity value: one part holding the extension under `extension`.
fn capacity_value(extension: &Value) -> Value {
    json!({"name": "value", "part": [{"extension": [extension]}]})
}

/// The extension a capacity `value` parameter carries (see [`capacity_value`]).
fn capacity_extension(value: Option<&Value>) -> Result<Value, PatchError> {
    let extension = match value.map(|v| &v["part"]) {
        Some(Value::Array(parts)) if parts.len() == 1 => match &parts[0]["extension"] {
            Value::Array(extensions) if extensions.len() == 1 => extensions[0].clone(),
            _ => Value::Null,
        },
        _ => Value::Null,
    };
    if extension["url"] != SUPPORTED_CAPACITY {
        return Err(PatchError::Structure(format!(
            "a capacity value is one {SUPPORTED_CAPACITY} extension"
        )));
    }
    Ok(extension)
}

/// The items of `extension` a capacity target selects, by index.
fn capacity_matches(fields: &Map<String, Value>, keys: &[(String, String)]) -> Vec<usize> {
    fields
        .get("extension")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, e)| e["url"] == SUPPORTED_CAPACITY)
        .filter(|(_, e)| {
            keys.iter().all(|(url, code)| {
                e["extension"].as_array().is_some_and(|subs| {
                    subs.iter().any(|s| {
                        s["url"] == url.as_str()
                            && s["valueCodeableConcept"]["coding"]
                                .as_array()
                                .is_some_and(|c| c.iter().any(|c| c["code"] == code.as_str()))
                    })
                })
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// The one element a target selects.
fn select<'a>(
    fields: &'a mut Map<String, Value>,
    t: &str,
    target: &Target,
) -> Result<&'a mut Value, PatchError> {
    let expression = target.expression(t);
    match target {
        Target::Element { element, index } => {
            let field = fields
                .get_mut(element)
                .ok_or(PatchError::NotFound(expression.clone()))?;
            let count = field.as_array().map(Vec::len);
            match (index, count) {
                (None, Some(1)) => Ok(&mut field[0]),
                (None, Some(_)) => Err(PatchError::MultipleMatches(expression)),
                (None, None) => Ok(field),
                (Some(i), Some(n)) if *i < n => Ok(&mut field[*i]),
                (Some(_), _) => Err(PatchError::NotFound(expression)),
            }
        }
        Target::Capacity { keys } => {
            let matches = capacity_matches(fields, keys);
            match matches.as_slice() {
                [] => Err(PatchError::NotFound(expression)),
                [i] => Ok(&mut fields["extension"][*i]),
                _ => Err(PatchError::MultipleMatches(expression)),
            }
        }
    }
}

fn remove(fields: &mut Map<String, Value>, t: &str, target: &Target) -> Result<(), PatchError> {
    let expression = target.expression(t);
    match target {
        // Deleting what is not there is no error (fhirpatch.html).
        Target::Element {
            element,
            index: None,
        } => match fields.get(element) {
            Some(Value::Array(items)) if items.len() > 1 => {
                Err(PatchError::MultipleMatches(expression))
            }
            _ => {
                fields.remove(element);
                Ok(())
            }
        },
        Target::Element {
            element,
            index: Some(i),
        } => {
            if let Some(Value::Array(items)) = fields.get_mut(element)
                && *i < items.len()
            {
                items.remove(*i);
                if items.is_empty() {
                    fields.remove(element);
                }
            }
            Ok(())
        }
        Target::Capacity { keys } => {
            let matches = capacity_matches(fields, keys);
            if matches.len() > 1 {
                return Err(PatchError::MultipleMatches(expression));
            }
            if let (Some(i), Some(Value::Array(items))) =
                (matches.first(), fields.get_mut("extension"))
            {
                items.remove(*i);
            }
            Ok(())
        }
    }
}

impl fmt::Display for Patch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_parameters() {
            Ok(parameters) => write!(
                f,
                "{}",
                serde_json::to_string_pretty(&parameters).unwrap_or_default()
            ),
            Err(e) => write!(f, "(unwritable patch: {e})"),
        }
    }
}

/// The operations that turn `held` into `desired`, over the top-level elements listed in
/// `elements`: a single-valued element is added, replaced or deleted; for a repeating one,
/// the items `held` has and `desired` lacks are deleted (last first, so that the indexes
/// stay right) and the items `desired` has and `held` lacks are added. Order within a list
/// is not a change.
pub fn diff(resource_type: &str, held: &Value, desired: &Value, elements: &[&str]) -> Patch {
    let mut patch = Patch::new(resource_type);
    let mut additions = Vec::new();
    for name in elements {
        let (old, new) = (held.get(*name), desired.get(*name));
        if old == new {
            continue;
        }
        let empty = Vec::new();
        let old_items = old.and_then(Value::as_array);
        let new_items = new.and_then(Value::as_array);
        if old_items.is_some() || new_items.is_some() {
            let old_items = old_items.unwrap_or(&empty);
            let new_items = new_items.unwrap_or(&empty);
            let mut kept = vec![false; new_items.len()];
            for (i, item) in old_items.iter().enumerate().rev() {
                match new_items
                    .iter()
                    .enumerate()
                    .position(|(j, n)| !kept[j] && n == item)
                {
                    Some(j) => kept[j] = true,
                    None => patch.operations.push(Operation::Delete {
                        target: Target::Element {
                            element: (*name).into(),
                            index: Some(i),
                        },
                    }),
                }
            }
            for (j, item) in new_items.iter().enumerate() {
                if !kept[j] {
                    additions.push(Operation::Add {
                        name: (*name).into(),
                        value: item.clone(),
                    });
                }
            }
        } else {
            let target = Target::Element {
                element: (*name).into(),
                index: None,
            };
            patch.operations.push(match (old, new) {
                (Some(_), Some(value)) => Operation::Replace {
                    target,
                    value: value.clone(),
                },
                (None, Some(value)) => Operation::Add {
                    name: (*name).into(),
                    value: value.clone(),
                },
                _ => Operation::Delete { target },
            });
        }
    }
    patch.operations.extend(additions);
    patch
}
