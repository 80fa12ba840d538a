//! The GAP profiles' rules the platform simulators check on `Schedule` and `Appointment`,
//! read from the guide's StructureDefinitions (`gap-fr-appointment`, `gap-fr-schedule`
//! 3.0.0, their snapshots carrying FR Core 2.0.1 and base R4, vendored in
//! `schemas/regions/structure-definitions/`): the elements the snapshot requires
//! (`min` ≥ 1, under each occurrence of their parent), those it forbids (`max` 0), and
//! the resource types a reference may target. The invariants the snapshot states as
//! FHIRPath (`app-1` to `app-4`) are written here; a test checks the snapshot still
//! states exactly those.

use std::sync::OnceLock;

use serde_json::Value;

const APPOINTMENT: &str = include_str!(
    "../../../schemas/regions/structure-definitions/StructureDefinition-gap-fr-appointment.json"
);
const SCHEDULE: &str = include_str!(
    "../../../schemas/regions/structure-definitions/StructureDefinition-gap-fr-schedule.json"
);

/// One profile's rules.
#[derive(Debug, Default)]
pub struct Profile {
    pub url: String,
    /// Paths below the resource (`status`, `participant.status`).
    pub required: Vec<String>,
    pub forbidden: Vec<String>,
    /// A reference path and the resource types it may target.
    pub targets: Vec<(String, Vec<String>)>,
    /// The snapshot's invariants, `key` and FHIRPath.
    pub invariants: Vec<(String, String)>,
}

/// `fr-core-related-person` → `RelatedPerson`; `…/StructureDefinition/Device` → `Device`.
fn resource_type(profile: &str) -> String {
    let name = profile.rsplit('/').next().unwrap_or_default();
    match name.strip_prefix("fr-core-") {
        Some(kebab) => kebab
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect(),
        None => name.to_string(),
    }
}

fn read(text: &str) -> Profile {
    let definition: Value = serde_json::from_str(text).unwrap_or_default();
    let kind = definition["type"].as_str().unwrap_or_default().to_string();
    let mut profile = Profile {
        url: definition["url"].as_str().unwrap_or_default().to_string(),
        ..Profile::default()
    };
    let elements = definition["snapshot"]["element"]
        .as_array()
        .into_iter()
        .flatten();
    for element in elements {
        let path = element["path"].as_str().unwrap_or_default();
        for constraint in element["constraint"].as_array().into_iter().flatten() {
            let key = constraint["key"].as_str().unwrap_or_default();
            let own = kind.get(..3).map(str::to_ascii_lowercase);
            if own.is_some_and(|own| key.starts_with(&own)) {
                profile.invariants.push((
                    key.to_string(),
                    constraint["expression"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
        }
        let Some(below) = path.strip_prefix(&format!("{kind}.")) else {
            continue;
        };
        // Slices, extensions and the elements every resource has are not the profile's.
        if element.get("sliceName").is_some()
            || below
                .split('.')
                .any(|p| p.contains("xtension") || p == "id")
        {
            continue;
        }
        if element["min"].as_u64().unwrap_or(0) >= 1 {
            profile.required.push(below.to_string());
        }
        if element["max"] == "0" {
            profile.forbidden.push(below.to_string());
        }
        let targets: Vec<String> = element["type"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["code"] == "Reference")
            .flat_map(|t| t["targetProfile"].as_array().into_iter().flatten())
            .filter_map(|p| p.as_str().map(resource_type))
            .collect();
        if !targets.is_empty() && !targets.iter().any(|t| t == "Resource") {
            profile.targets.push((below.to_string(), targets));
        }
    }
    profile
}

pub fn appointment() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| read(APPOINTMENT))
}

pub fn schedule() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| read(SCHEDULE))
}

/// The values at `path` below `value`, arrays flattened, with their FHIRPath.
fn at_path<'a>(value: &'a Value, path: &[&str], at: String, out: &mut Vec<(String, &'a Value)>) {
    let Some((first, rest)) = path.split_first() else {
        out.push((at, value));
        return;
    };
    match &value[*first] {
        Value::Null => {}
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at_path(item, rest, format!("{at}.{first}[{i}]"), out);
            }
        }
        one => at_path(one, rest, format!("{at}.{first}"), out),
    }
}

/// The rules of `profile` on `resource` (at `at`, for messages).
pub fn check(profile: &Profile, resource: &Value, at: &str, problems: &mut Vec<String>) {
    let declared = resource["meta"]["profile"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p == profile.url.as_str()));
    if !declared {
        problems.push(format!("{at}.meta.profile: expected {}", profile.url));
    }
    for path in &profile.required {
        let steps: Vec<&str> = path.split('.').collect();
        let (last, parents) = steps.split_last().unwrap_or((&"", &[]));
        let mut owners = Vec::new();
        at_path(resource, parents, at.to_string(), &mut owners);
        for (owner_at, owner) in owners {
            let present = match &owner[*last] {
                Value::Null => false,
                Value::Array(items) => !items.is_empty(),
                _ => true,
            };
            if !present {
                problems.push(format!("{owner_at}.{last}: required ({})", profile.url));
            }
        }
    }
    for path in &profile.forbidden {
        let steps: Vec<&str> = path.split('.').collect();
        let mut found = Vec::new();
        at_path(resource, &steps, at.to_string(), &mut found);
        for (found_at, _) in found {
            problems.push(format!(
                "{found_at}: not allowed (max 0 in {})",
                profile.url
            ));
        }
    }
    for (path, types) in &profile.targets {
        let mut steps: Vec<&str> = path.split('.').collect();
        steps.push("reference");
        let mut found = Vec::new();
        at_path(resource, &steps, at.to_string(), &mut found);
        for (found_at, reference) in found {
            let reference = reference.as_str().unwrap_or_default();
            // `Type?identifier=…`, `Type/id` or `https://…/Type/id`.
            let kind = match reference.split_once('?') {
                Some((kind, _)) => kind,
                None => reference.rsplit('/').nth(1).unwrap_or_default(),
            };
            if !reference.starts_with("urn:uuid:") && !types.iter().any(|t| t == kind) {
                problems.push(format!(
                    "{found_at}: a {kind} may not be referenced here (expected {})",
                    types.join(", ")
                ));
            }
        }
    }
    if resource["resourceType"] == "Appointment" {
        appointment_invariants(resource, at, problems);
    }
}

/// app-1 to app-4, as the snapshot states them.
fn appointment_invariants(appointment: &Value, at: &str, problems: &mut Vec<String>) {
    let status = appointment["status"].as_str().unwrap_or_default();
    let has = |field: &str| !appointment[field].is_null();
    for (i, participant) in appointment["participant"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if participant["type"].is_null() && participant["actor"].is_null() {
            problems.push(format!(
                "{at}.participant[{i}]: app-1, a participant has a type or an actor"
            ));
        }
    }
    if has("start") != has("end") {
        problems.push(format!("{at}: app-2, start and end go together"));
    }
    let timed = has("start") && has("end");
    if !timed && !["proposed", "cancelled", "waitlist"].contains(&status) {
        problems.push(format!(
            "{at}: app-3, a {status} appointment has a start and an end"
        ));
    }
    if has("cancelationReason") && !["noshow", "cancelled"].contains(&status) {
        problems.push(format!(
            "{at}.cancelationReason: app-4, only for a cancelled or no-show appointment"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/regions/structure-definitions/examples")
            .join(name);
        serde_json::from_slice(&std::fs::read(path).expect("example")).expect("JSON")
    }

    #[test]
    fn the_snapshots_give_the_rules() {
        let appointment = appointment();
        assert!(appointment.url.ends_with("/gap-fr-appointment"));
        assert_eq!(
            appointment.required,
            ["status", "participant", "participant.status"]
        );
        let actor = appointment
            .targets
            .iter()
            .find(|(p, _)| p == "participant.actor");
        let types = &actor.expect("participant.actor").1;
        for kind in [
            "Patient",
            "Practitioner",
            "PractitionerRole",
            "RelatedPerson",
            "HealthcareService",
            "Location",
            "Device",
        ] {
            assert!(types.iter().any(|t| t == kind), "{kind} in {types:?}");
        }
        assert!(!types.iter().any(|t| t == "Organization"));
        let mut keys: Vec<&str> = appointment
            .invariants
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["app-1", "app-2", "app-3", "app-4"],
            "the invariants written here are the snapshot's"
        );
        let schedule = schedule();
        assert!(schedule.required.contains(&"actor".to_string()));
        assert!(schedule.forbidden.contains(&"serviceType".to_string()));
    }

    #[test]
    fn the_guides_examples_pass() {
        for (profile, name) in [
            (appointment(), "Appointment-example-req-appointment.json"),
            (schedule(), "Schedule-example.json"),
        ] {
            let mut problems = Vec::new();
            check(profile, &example(name), "Resource", &mut problems);
            assert!(problems.is_empty(), "{name}: {problems:?}");
        }
    }

    #[test]
    fn broken_appointments_are_named() {
        let mut broken = example("Appointment-example-req-appointment.json");
        broken["status"] = "booked".into();
        broken["participant"][0]["status"] = Value::Null;
        broken["participant"][1]["actor"]["reference"] = "Organization/1".into();
        broken["cancelationReason"] = serde_json::json!({"text": "?"});
        let mut problems = Vec::new();
        check(appointment(), &broken, "Appointment", &mut problems);
        let text = problems.join("\n");
        assert!(
            text.contains("Appointment.participant[0].status: required"),
            "{text}"
        );
        assert!(
            text.contains("Appointment.participant[1].actor.reference: a Organization"),
            "{text}"
        );
        assert!(text.contains("app-3"), "{text}");
        assert!(text.contains("app-4"), "{text}");
    }
}
