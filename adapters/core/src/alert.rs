//! Alerts about a beneficiary of a CRT's volet 2, raised by a téléassistance centre (or a
//! telemonitoring platform) for the CRT's on-call service (astreinte).
//!
//! No national text says how a téléassistance centre hands an alert over to a CRT: the
//! alarm protocols (SCAIP, CEN/TS 50134-9) stop at the centre. This is the gateway's
//! contract, published as `schemas/crt-alert.schema.json`: the Rust types are its
//! definition and a test keeps the two identical. A centre posts each alert once
//! (`POST /v1/alerts`); posting the same `source.alert_id` again changes nothing.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identifiers::check_finess;
use crate::record::{
    Date, FINESS_PATTERN, Ins, LOCAL_ID_PATTERN, OnCallReason, PHONE_PATTERN, SchemaVersion,
    Timestamp,
};
use crate::validation::{RecordError, SchemaChecker, Violations, parse_checked, published_schema};

/// The published identifier of the schema.
pub const SCHEMA_ID: &str = "urn:crt-gateway:schema:crt-alert:1.0";

/// One alert, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "CRT alert")]
pub struct Alert {
    pub schema_version: SchemaVersion,
    /// Who raises it, and their identifier of the alert.
    pub source: AlertSource,
    /// FINESS of the establishment (ET) of the CRT whose on-call service answers.
    #[schemars(pattern(FINESS_PATTERN))]
    pub crt: String,
    pub beneficiary: AlertBeneficiary,
    /// When the centre received the call or the device's signal.
    pub raised_at: Timestamp,
    /// Why, in the words of the on-call indicators.
    pub reason: OnCallReason,
    /// What the centre's operator heard or saw, in a few sentences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2000))]
    pub heard: Option<String>,
    /// Whom the centre already called, and whether they answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub called: Vec<Called>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertSource {
    pub kind: AlertSourceKind,
    /// The centre or platform, as the CRT knows it.
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// The centre's identifier of the alert: the same alert posted twice is kept once.
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub alert_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertSourceKind {
    /// A téléassistance centre (a call, a pendant pressed, a fall detected).
    Teleassistance,
    /// A telemonitoring platform (an observation over a threshold).
    Telemonitoring,
}

/// Whom the alert is about: the CRT's identifier of the beneficiary, their INS, or both;
/// the traits let the on-call professional check they have the right person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertBeneficiary {
    /// The beneficiary's identifier in the CRT's DUI (`beneficiary.local_id` of records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub local_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ins: Option<Ins>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub birth_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub first_given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<Date>,
}

/// Someone the centre called before the CRT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Called {
    pub who: CalledKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone: Option<String>,
    /// Whether they answered.
    pub reached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalledKind {
    /// A family or other informal caregiver.
    Caregiver,
    /// A neighbour or another person on the centre's list.
    Neighbour,
    /// A professional (the GP, the home nurse).
    Professional,
    /// The SAMU (15) or the fire brigade (18, 112).
    EmergencyServices,
    Other,
}

/// The alert's JSON Schema, as published in `schemas/crt-alert.schema.json`.
pub fn alert_schema() -> Value {
    published_schema::<Alert>(SCHEMA_ID)
}

fn checker() -> &'static SchemaChecker {
    static CHECKER: OnceLock<SchemaChecker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        // Generated from our own types: failing to compile is a defect of the program.
        SchemaChecker::new(&alert_schema()).expect("the generated alert schema compiles")
    })
}

impl Alert {
    /// Parses untrusted bytes as an alert and checks it, with the rules `more` adds (an
    /// adapter's, such as the INS key): every violation at once, each with its JSON
    /// pointer, as for records.
    pub fn parse(
        bytes: &[u8],
        more: impl FnOnce(&Alert, &mut Violations),
    ) -> Result<Alert, RecordError> {
        parse_checked(bytes, checker(), |alert: &Alert, out: &mut Violations| {
            alert.check(out);
            more(alert, out);
        })
    }

    /// Rules no schema expresses.
    fn check(&self, out: &mut Violations) {
        if let Err(e) = check_finess(&self.crt) {
            out.push("/crt", "finess-key", format!("invalid FINESS: {e}"));
        }
        let beneficiary = &self.beneficiary;
        if beneficiary.local_id.is_none() && beneficiary.ins.is_none() {
            out.push(
                "/beneficiary",
                "beneficiary-named",
                "expected local_id or ins: the CRT finds the beneficiary by one of them",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../schemas/examples/alerts/fall-at-night.json"),
        )
        .expect("example")
    }

    #[test]
    fn the_published_schema_is_the_generated_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/crt-alert.schema.json");
        let generated = serde_json::to_string_pretty(&alert_schema()).expect("JSON") + "\n";
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &generated).expect("written");
        }
        let published = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            published == generated,
            "schemas/crt-alert.schema.json differs from the types; run with UPDATE_SCHEMAS=1"
        );
    }

    #[test]
    fn the_example_is_valid_and_each_rule_names_its_field() {
        let alert = Alert::parse(&example(), |_, _| {}).expect("the example is valid");
        assert_eq!(alert.reason, OnCallReason::Fall);
        let mut value: Value = serde_json::from_slice(&example()).expect("JSON");
        value["crt"] = "720004564".into();
        value["beneficiary"] = serde_json::json!({ "birth_name": "Dupont" });
        value["called"][0]["who"] = "cousin".into();
        let Err(RecordError::Invalid(violations)) =
            Alert::parse(&serde_json::to_vec(&value).expect("JSON"), |_, _| {})
        else {
            panic!("refused");
        };
        let pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/called/0/who"],
            "the schema first: {violations:?}"
        );
        value["called"][0]["who"] = "caregiver".into();
        let Err(RecordError::Invalid(violations)) =
            Alert::parse(&serde_json::to_vec(&value).expect("JSON"), |_, _| {})
        else {
            panic!("refused");
        };
        let found: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.pointer.as_str(), v.rule.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("/crt", "finess-key"),
                ("/beneficiary", "beneficiary-named")
            ]
        );
    }
}
