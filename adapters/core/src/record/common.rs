//! Value types shared by several parts of the record: dates, codes, addresses, contacts.

use chrono::{DateTime, FixedOffset, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A calendar date (`YYYY-MM-DD`).
pub type Date = NaiveDate;

/// An instant with its UTC offset (RFC 3339, e.g. `2026-03-02T09:30:00+01:00`).
pub type Timestamp = DateTime<FixedOffset>;

/// A telephone number as dialled in France or in international form.
pub const PHONE_PATTERN: &str = r"^\+?[0-9][0-9 .\-]{5,19}$";

/// An INSEE COG commune code: 5 characters, Corsica as 2A/2B, `99xxx` for a country abroad.
pub const INSEE_COG_PATTERN: &str = r"^(?:[0-9]{2}|2A|2B)[0-9]{3}$";

/// A SIRET number (an establishment of a company): 14 digits, Luhn key last.
pub const SIRET_PATTERN: &str = r"^[0-9]{14}$";

/// A French postal code.
pub const POSTAL_CODE_PATTERN: &str = r"^[0-9]{5}$";

/// An e-mail address; MSSanté addresses are ordinary addresses on an MSSanté domain.
pub const EMAIL_PATTERN: &str = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+$";

/// A local identifier, unique within its list, used to refer to an item from elsewhere in
/// the record (a plan action naming its responsible professional, for instance).
pub const LOCAL_ID_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$";

/// A postal address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street lines, most specific first (number and street, then building, staircase…).
    #[schemars(length(min = 1, max = 3), inner(length(min = 1, max = 200)))]
    pub lines: Vec<String>,
    #[schemars(pattern(POSTAL_CODE_PATTERN))]
    pub postal_code: String,
    #[schemars(length(min = 1, max = 100))]
    pub city: String,
    /// INSEE COG code of the commune, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(INSEE_COG_PATTERN))]
    pub city_insee_code: Option<String>,
}

/// Terminologies the record may carry codes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Terminology {
    /// CIM-10 (ICD-10, French edition): diagnoses and problems.
    Cim10,
    /// SNOMED CT: findings, substances, procedures.
    SnomedCt,
    /// CIS (code identifiant de spécialité): a medicinal product in the French database.
    Cis,
    /// ATC: active substance classification.
    Atc,
    /// LOINC: observations and document types.
    Loinc,
    /// EDQM standard terms: routes of administration, dose forms.
    Edqm,
}

impl Terminology {
    /// The HL7 OID of the code system, as CDA documents carry it.
    pub fn oid(self) -> &'static str {
        match self {
            Terminology::Cim10 => "2.16.840.1.113883.6.3",
            Terminology::SnomedCt => "2.16.840.1.113883.6.96",
            Terminology::Cis => "1.2.250.1.213.2.3.1",
            Terminology::Atc => "2.16.840.1.113883.6.73",
            Terminology::Loinc => "2.16.840.1.113883.6.1",
            Terminology::Edqm => "0.4.0.127.0.16.1.1.2.1",
        }
    }

    /// The code-system name shown next to the OID.
    pub fn name(self) -> &'static str {
        match self {
            Terminology::Cim10 => "CIM-10",
            Terminology::SnomedCt => "SNOMED CT",
            Terminology::Cis => "CIS",
            Terminology::Atc => "ATC",
            Terminology::Loinc => "LOINC",
            Terminology::Edqm => "EDQM",
        }
    }
}

/// A code from a terminology with the label a reader sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Coding {
    pub system: Terminology,
    #[schemars(length(min = 1, max = 64))]
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 250))]
    pub display: Option<String>,
}

/// A person's name as used in contact lists (not an identity: identity traits live in
/// `beneficiary.identity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonName {
    #[schemars(length(min = 1, max = 100))]
    pub family_name: String,
    #[schemars(length(min = 1, max = 100))]
    pub given_name: String,
}

/// A value's snake_case name, as the published formats write it (an enum's variant).
pub fn snake<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
