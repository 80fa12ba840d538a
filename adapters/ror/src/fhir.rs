//! Typed helpers over fhir-sdk's R4B models for what the ROR guide adds to FHIR: its
//! profiles, its extensions, and NOS codings.
//!
//! fhir-sdk models extensions generically (a URL and a value); these helpers give each
//! ROR extension a function whose arguments are the extension's meaning, so a caller
//! cannot build a patient-type extension without its age range, which the guide makes
//! mandatory. R4B is JSON-compatible with FHIR 4.0.1 for the resources used here
//! (Organization, HealthcareService, Location, Bundle, OperationOutcome).

use fhir_sdk::BuilderError;
use fhir_sdk::r4b::codes::ContactPointSystem;
use fhir_sdk::r4b::types::{
    CodeableConcept, Coding, ContactPoint, Extension, ExtensionValue, Identifier, Meta, Quantity,
    Range, Reference,
};

use crate::codes::{CodeSystems, system};

/// The ROR implementation guide's canonical base.
pub const IG: &str = "https://interop.esante.gouv.fr/ig/fhir/ror";

macro_rules! ror_urls {
    ($($name:ident = $id:literal;)*) => {
        $(pub const $name: &str = concat!("https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/", $id);)*
    };
}

/// Profiles of the ROR guide.
pub mod profile {
    ror_urls! {
        ORGANIZATION = "ror-organization";
        HEALTHCARE_SERVICE = "ror-healthcareservice";
        LOCATION = "ror-location";
    }
}

/// Extensions of the ROR guide.
pub mod extension {
    ror_urls! {
        META_CREATION_DATE = "ror-meta-creation-date";
        SENSITIVE_UNIT = "ror-healthcareservice-sensitive-unit";
        PATIENT_TYPE = "ror-healthcareservice-patient-type";
        TERRITORIAL_DIVISION = "ror-territorial-division";
        COMMUNE_COG = "ror-commune-cog";
        TELECOM_CHANNEL = "ror-telecom-communication-channel";
        TELECOM_CONFIDENTIALITY = "ror-telecom-confidentiality-level";
        AVAILABLE_DAY_NUMBER = "ror-available-time-number-days-of-week";
        AVAILABLE_TYPE_OF_TIME = "ror-available-time-type-of-time";
        SUPPORTED_CAPACITY = "ror-location-supported-capacity";
    }
}

/// Identifier systems.
pub mod identifier_system {
    /// idNat_Struct: "1" + FINESS, "3" + SIRET… (CI-SIS).
    pub const ID_NAT_STRUCT: &str = "urn:oid:1.2.250.1.71.4.2.2";
    pub const FINESS: &str = "https://finess.esante.gouv.fr";
    /// SIRET, as the `numSIRET` slice of `ror-organization` 0.7.0 fixes it (`patternUri`;
    /// some of the guide's narrative examples write `http://`).
    pub const SIRET: &str = "https://sirene.fr";
}

#[derive(Debug, thiserror::Error)]
#[error("FHIR model: {0}")]
pub struct ModelError(String);

impl ModelError {
    pub fn from_message(message: String) -> Self {
        ModelError(message)
    }
}

impl From<BuilderError> for ModelError {
    fn from(e: BuilderError) -> Self {
        ModelError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, ModelError>;

/// A NOS coding, with the display the shipped subset records.
pub fn coding(system: &str, code: &str) -> Result<Coding> {
    let builder = Coding::builder().system(system.into()).code(code.into());
    let builder = match CodeSystems::shipped().display(system, code) {
        Some(display) => builder.display(display.into()),
        None => builder,
    };
    Ok(builder.build()?)
}

pub fn concept(system: &str, code: &str) -> Result<CodeableConcept> {
    Ok(CodeableConcept::builder()
        .coding(vec![Some(coding(system, code)?)])
        .build()?)
}

/// An identifier with its type coding and system.
pub fn identifier(
    type_system: &str,
    type_code: &str,
    system: Option<&str>,
    value: &str,
) -> Result<Identifier> {
    let builder = Identifier::builder()
        .r#type(concept(type_system, type_code)?)
        .value(value.into());
    let builder = match system {
        Some(system) => builder.system(system.into()),
        None => builder,
    };
    Ok(builder.build()?)
}

pub fn reference(target: &str) -> Result<Reference> {
    Ok(Reference::builder().reference(target.into()).build()?)
}

/// `meta` of a ROR resource: its profile and the source region (J237).
pub fn meta(profile: &str, region: &str) -> Result<Meta> {
    Ok(Meta::builder()
        .profile(vec![Some(profile.into())])
        .tag(vec![Some(coding(system::REGION, region)?)])
        .build()?)
}

pub(crate) fn simple(url: &str, value: ExtensionValue) -> Result<Extension> {
    Ok(Extension::builder().url(url.into()).value(value).build()?)
}

pub(crate) fn complex(url: &str, parts: Vec<Extension>) -> Result<Extension> {
    Ok(Extension::builder()
        .url(url.into())
        .extension(parts)
        .build()?)
}

/// `ror-available-time-number-days-of-week`: the day of an *horaire*, 1 (Monday) to 7,
/// which the ROR prefers to the native `daysOfWeek`.
pub fn available_day_number(day: i32) -> Result<Extension> {
    simple(
        extension::AVAILABLE_DAY_NUMBER,
        ExtensionValue::Integer(day),
    )
}

/// `ror-available-time-type-of-time`: what the hours are (JDV_J41, TRE_R252).
pub fn available_type_of_time(code: &str) -> Result<Extension> {
    simple(
        extension::AVAILABLE_TYPE_OF_TIME,
        ExtensionValue::CodeableConcept(concept(system::TYPE_HORAIRE, code)?),
    )
}

/// `ror-meta-creation-date` (1..1 on every ROR resource): when the object was created.
pub fn meta_creation_date(date: chrono::NaiveDate) -> Result<Extension> {
    let value = date
        .format("%Y-%m-%d")
        .to_string()
        .parse()
        .map_err(|e| ModelError(format!("creation date: {e:?}")))?;
    simple(
        extension::META_CREATION_DATE,
        ExtensionValue::DateTime(value),
    )
}

/// `ror-healthcareservice-sensitive-unit` (1..1): whether the whole offer is confidential.
pub fn sensitive_unit(sensitive: bool) -> Result<Extension> {
    simple(
        extension::SENSITIVE_UNIT,
        ExtensionValue::Boolean(sensitive),
    )
}

/// `ror-healthcareservice-patient-type` (1..1): the public (J29 codes) and the age range,
/// which the guide requires with both bounds.
pub fn patient_type(publics: &[&str], age_min: u32, age_max: u32) -> Result<Extension> {
    let age = |years: u32| -> Result<Quantity> {
        Ok(Quantity::builder()
            .value(f64::from(years))
            .unit("a".into())
            .system("http://unitsofmeasure.org".into())
            .code("a".into())
            .build()?)
    };
    let range = Range::builder()
        .low(age(age_min)?)
        .high(age(age_max)?)
        .build()?;
    let mut parts = vec![simple("ageRange", ExtensionValue::Range(range))?];
    for code in publics {
        parts.push(simple(
            "supportedPatientInfo",
            ExtensionValue::CodeableConcept(concept(system::PUBLIC_PRIS_EN_CHARGE, code)?),
        )?);
    }
    complex(extension::PATIENT_TYPE, parts)
}

/// `ror-territorial-division`: one commune (J223 type 3, INSEE code) of the area served.
pub fn territorial_division_commune(insee: &str) -> Result<Extension> {
    complex(
        extension::TERRITORIAL_DIVISION,
        vec![
            simple(
                "typeTerritorialDivision",
                ExtensionValue::CodeableConcept(concept(system::TYPE_DIVISION_TERRITORIALE, "3")?),
            )?,
            simple(
                "codeTerritorialDivision",
                ExtensionValue::CodeableConcept(concept(system::COMMUNE, insee)?),
            )?,
        ],
    )
}

/// `ror-commune-cog` (1..1 on a Location): the commune where the place is.
pub fn commune_cog(insee: &str) -> Result<Extension> {
    simple(
        extension::COMMUNE_COG,
        ExtensionValue::CodeableConcept(concept(system::COMMUNE, insee)?),
    )
}

/// A ROR telecom: the value with the channel (J225) and confidentiality (J222) extensions
/// that every ROR `telecom` requires.
pub fn telecom(kind: ContactPointSystem, channel: &str, value: &str) -> Result<ContactPoint> {
    Ok(ContactPoint::builder()
        .extension(vec![
            simple(
                extension::TELECOM_CHANNEL,
                ExtensionValue::CodeableConcept(concept(system::CANAL_COMMUNICATION, channel)?),
            )?,
            simple(
                extension::TELECOM_CONFIDENTIALITY,
                ExtensionValue::CodeableConcept(concept(system::NIVEAU_CONFIDENTIALITE, "1")?),
            )?,
        ])
        .system(kind)
        .value(value.into())
        .build()?)
}

/// Channel codes (TRE_R200) used.
pub mod channel {
    pub const MOBILE: &str = "1";
    pub const LANDLINE: &str = "2";
    pub const EMAIL: &str = "3";
}
