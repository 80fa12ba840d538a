//! Volet 1 actions: what a CRT does for the older people, caregivers and professionals of its
//! territory (prevention workshops, advanced consultations, caregiver sessions, training),
//! with how many took part.
//!
//! The calls require "at least one action in each of the three fields" and count them in
//! the annual surveys; an action is about no one in particular, so the format carries
//! counts of participants, never who they were. A DUI posts one document per action
//! (`POST /v1/volet1/actions`) and posts it again when it changes: the newest version of
//! an action (its `source.record_ref`) replaces the earlier ones.
//!
//! The Rust types are the definition; `schemas/crt-volet1-action.schema.json` is generated
//! from them and a test keeps the two identical.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identifiers::check_finess;
use crate::record::{Crt, Date, SchemaVersion, Source, snake};
use crate::validation::{RecordError, SchemaChecker, Violations, parse_checked, published_schema};

/// The published identifier of the schema.
pub const SCHEMA_ID: &str = "urn:crt-gateway:schema:crt-volet1-action:1.0";

/// One volet 1 action of a CRT, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "CRT volet 1 action")]
pub struct Volet1Action {
    pub schema_version: SchemaVersion,
    /// The software that sent it; `record_ref` is its identifier of the action, stable
    /// across updates.
    pub source: Source,
    pub crt: Crt,
    /// Which of the three fields of intervention the action serves.
    pub field: Volet1Field,
    pub theme: Volet1Theme,
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
    pub status: Volet1Status,
    /// The day it takes place (its first day, for a cycle of sessions).
    pub held_on: Date,
    /// Number of sessions, for a cycle (a workshop held weekly, say); 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 500))]
    pub sessions: Option<u32>,
    /// Total length in minutes, all sessions together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100_000))]
    pub duration_minutes: Option<u32>,
    /// Whether free transport was offered to the older people living at home, as the
    /// calls require for every volet 1 action they may attend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_offered: Option<bool>,
    /// Who took part (distinct people over all sessions); zero for a planned action.
    #[serde(default)]
    pub participants: Participants,
    /// Partners who ran or hosted the action (EPS PA, PFR, CPTS, hôpital de proximité…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(length(min = 1, max = 200)))]
    pub partners: Vec<String>,
}

/// The three fields of intervention every CRT covers in its volet 1.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Volet1Field {
    /// Favoriser l'accès des personnes âgées aux soins et à la prévention.
    AccessToCareAndPrevention,
    /// Lutter contre l'isolement des personnes âgées et de leurs aidants.
    FightingIsolation,
    /// Contribuer à l'amélioration des pratiques professionnelles.
    ProfessionalPractices,
}

impl Volet1Field {
    pub const ALL: [Volet1Field; 3] = [
        Volet1Field::AccessToCareAndPrevention,
        Volet1Field::FightingIsolation,
        Volet1Field::ProfessionalPractices,
    ];
}

/// The themes the calls name for each field (the "socle de prestations" and the examples
/// given), plus `other`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Volet1Theme {
    /// Fall prevention: adapted physical activity, information on mobility aids.
    FallPrevention,
    /// The WHO ICOPE programme (integrated care for older people).
    Icope,
    /// Telemedicine and telecare.
    Telehealth,
    /// Specialist or paramedical consultations held in the EHPAD for people living at home.
    AdvancedConsultations,
    /// Mental-health workshops and prevention.
    MentalHealth,
    /// Cultural, recreational and sports activities.
    SocialActivities,
    /// Actions for caregivers, with the platform of respite (PFR).
    CaregiverSupport,
    /// Access to digital tools and help using them.
    DigitalInclusion,
    /// Training of the territory's professionals.
    ProfessionalTraining,
    /// Quality of working life of EHPAD and home-care staff.
    QualityOfWorkingLife,
    /// Sharing good practice (hygiene, ethics), with the EPS PA.
    GoodPracticeSharing,
    Other,
}

impl Volet1Theme {
    /// The field a theme belongs to; `None` for `other`, which may serve any.
    pub fn field(self) -> Option<Volet1Field> {
        use Volet1Field::*;
        use Volet1Theme::*;
        match self {
            FallPrevention | Icope | Telehealth | AdvancedConsultations | MentalHealth => {
                Some(AccessToCareAndPrevention)
            }
            SocialActivities | CaregiverSupport | DigitalInclusion => Some(FightingIsolation),
            ProfessionalTraining | QualityOfWorkingLife | GoodPracticeSharing => {
                Some(ProfessionalPractices)
            }
            Other => None,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Volet1Status {
    Planned,
    Held,
    Cancelled,
}

/// Counts of the people who took part, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Participants {
    /// Older people living at home.
    #[serde(default)]
    #[schemars(range(max = 100_000))]
    pub older_people_at_home: u32,
    /// EHPAD residents.
    #[serde(default)]
    #[schemars(range(max = 100_000))]
    pub ehpad_residents: u32,
    /// Family and other informal caregivers.
    #[serde(default)]
    #[schemars(range(max = 100_000))]
    pub caregivers: u32,
    /// Professionals of the territory.
    #[serde(default)]
    #[schemars(range(max = 100_000))]
    pub professionals: u32,
    /// Of the older people at home, how many are accompanied by the CRT's volet 2.
    #[serde(default)]
    #[schemars(range(max = 100_000))]
    pub volet2_beneficiaries: u32,
}

impl Participants {
    pub fn total(&self) -> u32 {
        self.older_people_at_home + self.ehpad_residents + self.caregivers + self.professionals
    }
}

/// The volet 1 action's JSON Schema, as published in `schemas/crt-volet1-action.schema.json`.
pub fn volet1_schema() -> Value {
    published_schema::<Volet1Action>(SCHEMA_ID)
}

fn checker() -> &'static SchemaChecker {
    static CHECKER: OnceLock<SchemaChecker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        // Generated from our own types: failing to compile is a defect of the program.
        SchemaChecker::new(&volet1_schema()).expect("the generated volet 1 schema compiles")
    })
}

impl Volet1Action {
    /// Parses untrusted bytes as an action and checks it: every violation at once, each
    /// with its JSON pointer, as for records.
    pub fn parse(bytes: &[u8]) -> Result<Volet1Action, RecordError> {
        parse_checked(bytes, checker(), Volet1Action::check)
    }

    /// Rules no schema expresses.
    fn check(&self, out: &mut Violations) {
        for (pointer, value) in [
            ("/crt/finess_ej", &self.crt.finess_ej),
            ("/crt/finess_et", &self.crt.finess_et),
        ] {
            if let Err(e) = check_finess(value) {
                out.push(pointer, "finess-key", format!("invalid FINESS: {e}"));
            }
        }
        if let Some(field) = self.theme.field()
            && field != self.field
        {
            out.push(
                "/theme",
                "theme-field",
                format!(
                    "theme {} belongs to the field {}, not {}",
                    snake(&self.theme),
                    snake(&field),
                    snake(&self.field)
                ),
            );
        }
        let p = &self.participants;
        if p.volet2_beneficiaries > p.older_people_at_home {
            out.push(
                "/participants/volet2_beneficiaries",
                "volet2-at-home",
                format!(
                    "expected at most older_people_at_home ({}): volet 2 beneficiaries live at home",
                    p.older_people_at_home
                ),
            );
        }
        if self.status != Volet1Status::Held && p.total() > 0 {
            out.push(
                "/participants",
                "participants-held",
                "expected no participants: only an action held (status held) has them",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Violation;

    const EXAMPLES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/examples/volet1/actions.jsonl"
    );

    fn example() -> String {
        std::fs::read_to_string(EXAMPLES)
            .expect("example actions")
            .lines()
            .next()
            .expect("one action")
            .to_string()
    }

    #[test]
    fn published_schema_is_the_one_generated_from_the_types() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/crt-volet1-action.schema.json"
        );
        let generated = serde_json::to_string_pretty(&volet1_schema()).unwrap() + "\n";
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(path).unwrap_or_default(),
            generated,
            "schemas/crt-volet1-action.schema.json is out of date: run `UPDATE_SCHEMAS=1 cargo test -p crt-core published_schema`"
        );
    }

    #[test]
    fn every_example_action_is_valid() {
        let text = std::fs::read_to_string(EXAMPLES).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Err(e) = Volet1Action::parse(line.as_bytes()) {
                panic!("example line {}: {e}", n + 1);
            }
        }
    }

    fn violations(change: impl FnOnce(&mut Value)) -> Vec<Violation> {
        let mut value: Value = serde_json::from_str(&example()).unwrap();
        change(&mut value);
        match Volet1Action::parse(value.to_string().as_bytes()) {
            Err(RecordError::Invalid(v)) => v,
            other => panic!("expected violations, got {other:?}"),
        }
    }

    #[test]
    fn each_fault_is_named_at_its_field() {
        let v = violations(|a| a["theme"] = "professional_training".into());
        assert_eq!(
            (v[0].pointer.as_str(), v[0].rule.as_str()),
            ("/theme", "theme-field")
        );
        assert!(v[0].message.contains("professional_practices"), "{}", v[0]);

        let v = violations(|a| a["participants"]["volet2_beneficiaries"] = 99.into());
        assert_eq!(v[0].pointer, "/participants/volet2_beneficiaries");

        let v = violations(|a| a["status"] = "planned".into());
        assert_eq!(v[0].rule, "participants-held");

        let v = violations(|a| a["crt"]["finess_et"] = "110008431".into());
        assert_eq!(v[0].rule, "finess-key");

        let v = violations(|a| a["field"] = "gardening".into());
        assert_eq!(v[0].pointer, "/field");

        let v = violations(|a| a["participants"]["patients"] = 1.into());
        assert_eq!(v[0].pointer, "/participants/patients");

        assert!(matches!(
            Volet1Action::parse(b"{\"schema_version\":"),
            Err(RecordError::Malformed { .. })
        ));
    }

    #[test]
    fn each_theme_but_other_belongs_to_one_field() {
        let schema = volet1_schema();
        let names: Vec<&str> = schema["$defs"]["Volet1Theme"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|branch| {
                branch["const"].as_str().into_iter().chain(
                    branch["enum"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str),
                )
            })
            .collect();
        assert_eq!(names.len(), 12, "{names:?}");
        let themes: Vec<Volet1Theme> = names
            .iter()
            .map(|name| serde_json::from_value(Value::from(*name)).unwrap())
            .collect();
        for theme in &themes {
            assert_eq!(theme.field().is_none(), *theme == Volet1Theme::Other);
        }
        for field in Volet1Field::ALL {
            assert!(themes.iter().any(|t| t.field() == Some(field)));
        }
    }
}
