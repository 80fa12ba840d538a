//! The offer file: what a CRT porteur writes once to describe the CRT's offer, and what
//! the gateway turns into ROR resources.
//!
//! The file is for people, not developers: YAML (or JSON), French domain words where they
//! are names, and errors that give the line and the field. Its JSON Schema,
//! `schemas/crt-offer.schema.json`, is generated from these types and published for
//! editors that complete and check YAML as it is typed.
//!
//! Reading runs in three passes so that one run shows as much as possible:
//! 1. YAML/JSON syntax and structure ([`crate::source`]: field names, types);
//! 2. the generated schema (patterns, lengths, minimums such as the 25 simultaneous
//!    places the regional calls require);
//! 3. rules no schema expresses: FINESS and SIRET keys, codes from the shipped NOS
//!    subsets, the three volet 1 themes, opening hours in order.

use std::fmt;
use std::sync::OnceLock;

use crt_core::identifiers::{check_finess, check_siret};
use crt_core::record::{
    Address, Date, EMAIL_PATTERN, FINESS_PATTERN, INSEE_COG_PATTERN, PHONE_PATTERN,
    POSTAL_CODE_PATTERN, PorteurKind, Region, SIRET_PATTERN,
};
use crt_core::validation::{SchemaChecker, Violations, published_schema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::{CodeSystems, Lookup, system};
use crate::source::{Node, SourceError};

/// The published identifier of the offer schema.
pub const SCHEMA_ID: &str = "urn:crt-gateway:schema:crt-offer:1.0";

/// A time of day as `HH:MM`, 24-hour clock.
pub const TIME_PATTERN: &str = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$";

/// A CRT's offer, as its porteur describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// Version of this file format: `1.0`.
    #[schemars(pattern(r"^1\.0$"))]
    pub schema_version: String,
    pub porteur: Porteur,
    pub crt: CrtDescription,
    pub volet1: Volet1,
    pub volet2: Volet2,
    pub territory: Territory,
    /// When the CRT's staff can be reached for volet 1 (volet 2's on-call service runs
    /// round the clock regardless). The ROR holds one opening slot per offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<OpeningHours>,
    /// Structures the CRT works with (hospital, DAC, SSIAD, city professionals…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<Partner>,
}

/// The structure that carries the CRT: its legal entity (EJ) and the establishment (ET).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Porteur {
    pub kind: PorteurKind,
    /// FINESS category of the establishment (TRE_R66): `500` EHPAD, `209` SAAS,
    /// `354` SSIAD. Defaults to `500` for an EHPAD and `209` for a home-care service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Raison sociale of the legal entity.
    #[schemars(length(min = 1, max = 200))]
    pub legal_name: String,
    /// FINESS legal status of the legal entity (TRE_R72), e.g. `60` for an association.
    #[schemars(pattern(r"^[0-9]{2}$"))]
    pub legal_status: String,
    #[schemars(pattern(FINESS_PATTERN))]
    pub finess_ej: String,
    #[schemars(pattern(FINESS_PATTERN))]
    pub finess_et: String,
    #[schemars(pattern(SIRET_PATTERN))]
    pub siret: String,
    /// Name of the establishment (dénomination de l'ET).
    #[schemars(length(min = 1, max = 200))]
    pub site_name: String,
    /// Address of the establishment; the CRT's offer is delivered from there.
    pub address: Address,
}

/// The CRT itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrtDescription {
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    pub region: Region,
    /// The day the CRT started (date of creation of the offer in the ROR).
    pub created: Date,
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone: String,
    /// The CRT's organisational MSSanté mailbox.
    #[schemars(pattern(EMAIL_PATTERN))]
    pub mssante_mailbox: String,
    /// The code the GRADeS gave the CRT's place in the ROR: the place is found by its
    /// `idExterneSynchro`, `1<FINESS ET>/<code>`, and its bed capacity is updated there.
    #[serde(default = "CrtDescription::default_place_code")]
    #[schemars(pattern(PLACE_CODE_PATTERN))]
    pub place_code: String,
}

/// A place's code in the ROR: letters, digits, `-` and `_`.
const PLACE_CODE_PATTERN: &str = "^[A-Za-z0-9_-]{1,40}$";

impl CrtDescription {
    fn default_place_code() -> String {
        "CRT".into()
    }
}

/// Volet 1: support to the territory's professionals and the elderly at home.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volet1 {
    /// The services offered, each under one of the three themes of the cahier des
    /// charges; every theme has at least one.
    #[schemars(length(min = 3))]
    pub services: Vec<Volet1Service>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volet1Service {
    pub theme: Theme,
    #[schemars(length(min = 1, max = 500))]
    pub description: String,
}

/// The three themes of volet 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Access to care, prevention and health promotion.
    AccessToCareAndPrevention,
    /// Fighting isolation, support to carers.
    Isolation,
    /// Professional practices: training, expertise, shared resources.
    ProfessionalPractices,
}

impl Theme {
    pub const ALL: [Theme; 3] = [
        Theme::AccessToCareAndPrevention,
        Theme::Isolation,
        Theme::ProfessionalPractices,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Theme::AccessToCareAndPrevention => "access_to_care_and_prevention",
            Theme::Isolation => "isolation",
            Theme::ProfessionalPractices => "professional_practices",
        }
    }

    /// How the theme reads in French, in the ROR.
    pub fn label(self) -> &'static str {
        match self {
            Theme::AccessToCareAndPrevention => "Accès aux soins, prévention",
            Theme::Isolation => "Lutte contre l'isolement, soutien aux aidants",
            Theme::ProfessionalPractices => "Appui aux pratiques professionnelles",
        }
    }
}

/// Volet 2: reinforced support at home, as an alternative to moving into an EHPAD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volet2 {
    pub public: Public,
    /// People supported at the same time; the cahier des charges asks at least 25.
    #[schemars(range(min = 25))]
    pub simultaneous_places: u32,
    /// People supported over a year; the cahier des charges asks at least 30.
    #[schemars(range(min = 30))]
    pub places_per_year: u32,
    /// Whether the 24/7 on-call service is in place (required).
    pub on_call_24_7: bool,
    /// Rooms kept for emergency temporary stays.
    pub emergency_temporary_rooms: u32,
}

/// Who volet 2 is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Public {
    /// GIR levels accepted (1 to 4).
    #[schemars(length(min = 1, max = 4), inner(range(min = 1, max = 4)))]
    pub gir: Vec<u8>,
    #[schemars(range(min = 0, max = 120))]
    pub age_min: u32,
    #[serde(default = "Public::default_age_max")]
    #[schemars(range(min = 0, max = 130))]
    pub age_max: u32,
}

impl Public {
    fn default_age_max() -> u32 {
        120
    }
}

/// Where the CRT's teams go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Territory {
    /// INSEE COG codes of the communes served.
    #[schemars(length(min = 1), inner(pattern(INSEE_COG_PATTERN)))]
    pub communes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(POSTAL_CODE_PATTERN)))]
    pub postal_codes: Vec<String>,
    /// Longest travel time from the CRT to a person served, in minutes.
    #[schemars(range(min = 1, max = 180))]
    pub max_travel_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    #[schemars(length(min = 1, max = 7))]
    pub days: Vec<Day>,
    #[schemars(pattern(TIME_PATTERN))]
    pub from: String,
    #[schemars(pattern(TIME_PATTERN))]
    pub to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    /// The week, Monday first.
    pub const ALL: [Day; 7] = [
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Day::Mon => "mon",
            Day::Tue => "tue",
            Day::Wed => "wed",
            Day::Thu => "thu",
            Day::Fri => "fri",
            Day::Sat => "sat",
            Day::Sun => "sun",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(FINESS_PATTERN))]
    pub finess: Option<String>,
    /// What the partner does with the CRT, in a few words.
    #[schemars(length(min = 1, max = 200))]
    pub role: String,
}

impl Porteur {
    /// The FINESS category (TRE_R66) of the establishment.
    pub fn category(&self) -> &str {
        match (&self.category, self.kind) {
            (Some(category), _) => category,
            (None, PorteurKind::Ehpad) => "500",
            (None, PorteurKind::HomeCareService) => "209",
        }
    }
}

/// One problem of an offer file: line, field, rule, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: usize,
    pub pointer: String,
    pub rule: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(file)"
        } else {
            &self.pointer
        };
        write!(
            f,
            "line {}, {pointer}: {} [{}]",
            self.line, self.message, self.rule
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error("{0}")]
    Unreadable(#[from] SourceError),
    #[error("{}", .0.iter().map(Problem::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl OfferError {
    /// Every problem, located.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            OfferError::Unreadable(e) => vec![Problem {
                line: e.line,
                pointer: e.pointer.clone(),
                rule: "structure".into(),
                message: e.message.clone(),
            }],
            OfferError::Invalid(problems) => problems.clone(),
        }
    }
}

/// The offer file's JSON Schema, as published in `schemas/crt-offer.schema.json`.
pub fn offer_schema() -> serde_json::Value {
    published_schema::<Offer>(SCHEMA_ID)
}

fn checker() -> &'static SchemaChecker {
    static CHECKER: OnceLock<SchemaChecker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        // Generated from our own types: failing to compile is a defect of the program.
        SchemaChecker::new(&offer_schema()).expect("the generated offer schema compiles")
    })
}

impl Offer {
    /// Reads an offer file (YAML or JSON) and checks it.
    pub fn read(text: &str) -> Result<Offer, OfferError> {
        let node = Node::parse(text)?;
        let offer: Offer = node.deserialize()?;
        let mut violations = Violations::default();
        // The typed offer serialises back to the file's structure, so the schema's
        // pointers are the file's.
        match serde_json::to_value(&offer) {
            Ok(value) => checker().check(&value, &mut violations),
            Err(e) => violations.push("", "model", e.to_string()),
        }
        offer.check(&mut violations);
        if violations.is_empty() {
            return Ok(offer);
        }
        let problems = violations
            .into_vec()
            .into_iter()
            .map(|v| Problem {
                line: node.line_of(&v.pointer),
                pointer: v.pointer,
                rule: v.rule,
                message: v.message,
            })
            .collect();
        Err(OfferError::Invalid(problems))
    }

    /// Rules no schema expresses.
    fn check(&self, out: &mut Violations) {
        let p = &self.porteur;
        for (pointer, value) in [
            ("/porteur/finess_ej", &p.finess_ej),
            ("/porteur/finess_et", &p.finess_et),
        ] {
            if let Err(e) = check_finess(value) {
                out.push(
                    pointer,
                    "finess-key",
                    format!("not a valid FINESS number: {e}"),
                );
            }
        }
        if let Err(e) = check_siret(&p.siret) {
            out.push(
                "/porteur/siret",
                "siret-key",
                format!("not a valid SIRET number: {e}"),
            );
        }
        for (i, partner) in self.partners.iter().enumerate() {
            if let Some(finess) = &partner.finess
                && let Err(e) = check_finess(finess)
            {
                out.push(
                    format!("/partners/{i}/finess"),
                    "finess-key",
                    format!("not a valid FINESS number: {e}"),
                );
            }
        }
        let codes = CodeSystems::shipped();
        let coded = [
            (
                "/porteur/category",
                system::CATEGORIE_ETABLISSEMENT,
                p.category(),
            ),
            (
                "/porteur/legal_status",
                system::STATUT_JURIDIQUE,
                p.legal_status.as_str(),
            ),
        ];
        for (pointer, url, code) in coded {
            if !matches!(codes.lookup(url, code), Lookup::Known(_)) {
                out.push(
                    pointer,
                    "code",
                    format!("expected one of {}", codes.codes(url).join(", ")),
                );
            }
        }
        if p.address.city_insee_code.is_none() {
            out.push(
                "/porteur/address/city_insee_code",
                "required",
                "is required: the ROR locates the offer by its commune's INSEE code",
            );
        }
        for theme in Theme::ALL {
            if !self.volet1.services.iter().any(|s| s.theme == theme) {
                out.push(
                    "/volet1/services",
                    "volet1-themes",
                    format!(
                        "expected at least one service under the theme {}",
                        theme.name()
                    ),
                );
            }
        }
        let v2 = &self.volet2;
        if !v2.on_call_24_7 {
            out.push(
                "/volet2/on_call_24_7",
                "volet2-on-call",
                "expected true: volet 2 includes a 24/7 on-call service",
            );
        }
        if v2.places_per_year < v2.simultaneous_places {
            out.push(
                "/volet2/places_per_year",
                "volet2-capacity",
                "expected at least as many places per year as simultaneous places",
            );
        }
        if v2.public.age_max < v2.public.age_min {
            out.push(
                "/volet2/public/age_max",
                "age-range",
                "expected age_max ≥ age_min",
            );
        }
        if let Some(hours) = &self.opening_hours
            && hours.from >= hours.to
        {
            out.push(
                "/opening_hours/to",
                "opening-hours",
                format!("expected a time after {}", hours.from),
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    /// The annotated example offer, read.
    pub(crate) fn example_offer() -> Offer {
        Offer::read(&example()).expect("the example offer is valid")
    }

    fn example() -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/examples/offer.yaml"),
        )
        .expect("example offer")
    }

    #[test]
    fn published_schema_is_the_one_generated_from_the_types() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/crt-offer.schema.json");
        let generated = serde_json::to_string_pretty(&offer_schema()).expect("schema") + "\n";
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &generated).expect("write schema");
        }
        let published = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            published == generated,
            "schemas/crt-offer.schema.json is out of date: run `UPDATE_SCHEMAS=1 cargo test -p crt-ror published_schema`"
        );
    }

    #[test]
    fn the_example_offer_is_accepted() {
        let offer = Offer::read(&example()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(offer.porteur.category(), "500");
        assert_eq!(offer.volet2.simultaneous_places, 25);
    }

    #[test]
    fn the_example_reads_the_same_as_json() {
        let offer = Offer::read(&example()).unwrap();
        let json = serde_json::to_string_pretty(&offer).unwrap();
        assert_eq!(Offer::read(&json).unwrap(), offer);
    }

    fn problems(text: &str) -> Vec<Problem> {
        Offer::read(text).expect_err("refused").problems()
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .expect("needle")
            + 1
    }

    #[test]
    fn schema_rules_name_the_line_and_field() {
        let text = example().replace("simultaneous_places: 25", "simultaneous_places: 12");
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/volet2/simultaneous_places");
        assert_eq!(found[0].line, line_of(&text, "simultaneous_places"));
        assert!(found[0].message.contains("at least 25"), "{}", found[0]);

        let text = example().replace("siret: 44123456000015", "siret: 4412345600001X");
        let found = problems(&text);
        assert_eq!(found[0].pointer, "/porteur/siret");
    }

    #[test]
    fn business_rules_name_the_line_and_field() {
        let original = example();
        let finess = Offer::read(&original).unwrap().porteur.finess_et;
        let broken = format!("{}{}", &finess[..8], (finess.as_bytes()[8] - b'0' + 1) % 10);
        let text = original.replace(&finess, &broken);
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|p| p.pointer == "/porteur/finess_et" && p.rule == "finess-key"),
            "{found:?}"
        );

        let text = original.replace("on_call_24_7: true", "on_call_24_7: false");
        let found = problems(&text);
        assert_eq!(found[0].pointer, "/volet2/on_call_24_7");
        assert_eq!(found[0].line, line_of(&text, "on_call_24_7"));

        let text = original.replace("theme: isolation", "theme: professional_practices");
        let found = problems(&text);
        assert!(found[0].message.contains("isolation"), "{found:?}");
    }

    #[test]
    fn structural_errors_name_the_line_and_field() {
        let text = example().replace("places_per_year: 30", "places_per_year: thirty");
        let found = problems(&text);
        assert_eq!(found[0].pointer, "/volet2/places_per_year");
        assert_eq!(found[0].line, line_of(&text, "places_per_year"));

        let text = example().replace("schema_version", "version");
        assert!(
            problems(&text)[0]
                .message
                .contains("unknown field `version`")
        );
    }
}
