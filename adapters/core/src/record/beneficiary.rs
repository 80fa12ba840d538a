//! The person the CRT accompanies: identity traits, INS, identity status, contacts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Address, Date, EMAIL_PATTERN, INSEE_COG_PATTERN, LOCAL_ID_PATTERN, PHONE_PATTERN,
};

/// Characters allowed in identity traits before normalisation: letters (with diacritics),
/// spaces, apostrophes and hyphens.
pub const TRAIT_PATTERN: &str = r"^[\p{L}][\p{L} '\-]*$";

/// A birth date as the INS carries it: `YYYY-MM-DD`, where an unknown day or month is `00`.
pub const BIRTH_DATE_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// An INS: the 13-character matricule (NIR or NIA, Corsica as 2A/2B) followed by its
/// 2-digit key.
pub const INS_NUMBER_PATTERN: &str = r"^[12378][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6}[0-9]{2}$";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Beneficiary {
    /// The DUI's own identifier for this person (IPP). It is how receipts, logs and the
    /// access trace refer to the person, so it must not contain identity traits.
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub local_id: String,
    pub identity: IdentityTraits,
    /// The INS, once the INSi teleservice has returned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ins: Option<Ins>,
    /// Identity status as the RNIV defines it.
    pub identity_status: IdentityStatus,
    /// The identity document checked by the structure, which VALI and QUAL require.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_evidence: Option<IdentityEvidence>,
    /// What the beneficiary's Carte Vitale says of her, as the DUI read it: the INS check
    /// then searches the teleservice by Carte Vitale before searching by traits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carte_vitale: Option<CarteVitale>,
    /// Where the person lives now; it chooses the DLU model (home or EHPAD).
    pub placement: Placement,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(PHONE_PATTERN)), length(max = 4))]
    pub phones: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gir: Option<GirAssessment>,
    /// Family, caregivers, trusted person, legal representative.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub contacts: Vec<Contact>,
}

/// Identity traits (traits stricts and traits complémentaires of the RNIV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityTraits {
    /// Birth name (nom de naissance).
    #[schemars(length(min = 1, max = 100), pattern(TRAIT_PATTERN))]
    pub birth_name: String,
    /// Used name (nom utilisé), when different from the birth name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100), pattern(TRAIT_PATTERN))]
    pub used_name: Option<String>,
    /// Birth given names, in civil-status order.
    #[schemars(
        length(min = 1, max = 10),
        inner(length(min = 1, max = 100), pattern(TRAIT_PATTERN))
    )]
    pub birth_given_names: Vec<String>,
    /// First birth given name (premier prénom de naissance): the first of
    /// `birth_given_names`.
    #[schemars(length(min = 1, max = 100), pattern(TRAIT_PATTERN))]
    pub first_given_name: String,
    /// Used given name (prénom utilisé), when different.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100), pattern(TRAIT_PATTERN))]
    pub used_given_name: Option<String>,
    pub sex: Sex,
    /// `YYYY-MM-DD`; `00` for an unknown day or month, as the INS allows.
    #[schemars(pattern(BIRTH_DATE_PATTERN))]
    pub birth_date: String,
    /// INSEE COG code of the birth place (`99xxx` for a country abroad).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(INSEE_COG_PATTERN))]
    pub birth_place_code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Sex {
    /// Male
    #[serde(rename = "M")]
    Male,
    /// Female
    #[serde(rename = "F")]
    Female,
    /// Undetermined (indéterminé)
    #[serde(rename = "I")]
    Undetermined,
}

/// The beneficiary as a Carte Vitale describes her: the card belongs to the insured person
/// (*ouvrant droit*), who may be someone else (the beneficiary is then an *ayant droit*,
/// known by her birth date and rank on that card, and by her own matricule when the card
/// carries it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CarteVitale {
    /// The insured person's matricule and key (15 characters), as the card gives them.
    #[schemars(pattern(INS_NUMBER_PATTERN))]
    pub insured_number: String,
    /// The beneficiary's own matricule and key, when the card carries it and she is not
    /// the insured person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(INS_NUMBER_PATTERN))]
    pub beneficiary_number: Option<String>,
    /// The beneficiary's birth date as the card holds it: `YYYY-MM-DD`, which may be a
    /// lunar date (a day or month that does not exist) where the civil one is unknown.
    #[schemars(pattern(BIRTH_DATE_PATTERN))]
    pub birth_date: String,
    /// The beneficiary's birth rank on the card (*rang de naissance*: 1, or 2 and more
    /// for twins of the same insured person).
    #[schemars(range(min = 1, max = 9))]
    pub birth_rank: u8,
}

/// An INS: the matricule with its key, and the OID saying which kind it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ins {
    /// 15 characters: 13 for the matricule, 2 for the key.
    #[schemars(pattern(INS_NUMBER_PATTERN))]
    pub number: String,
    pub oid: InsOid,
}

/// The OID qualifying an INS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum InsOid {
    /// INS-NIR
    #[serde(rename = "1.2.250.1.213.1.4.8")]
    Nir,
    /// INS-NIA (temporary number)
    #[serde(rename = "1.2.250.1.213.1.4.9")]
    Nia,
    /// INS-NIR of a test identity
    #[serde(rename = "1.2.250.1.213.1.4.10")]
    TestNir,
    /// INS-NIR of a demonstration identity
    #[serde(rename = "1.2.250.1.213.1.4.11")]
    DemoNir,
}

impl InsOid {
    pub const ALL: [InsOid; 4] = [InsOid::Nir, InsOid::Nia, InsOid::TestNir, InsOid::DemoNir];

    /// The INS OID written `oid`, if it is one.
    pub fn from_oid(oid: &str) -> Option<InsOid> {
        InsOid::ALL.into_iter().find(|known| known.as_str() == oid)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InsOid::Nir => "1.2.250.1.213.1.4.8",
            InsOid::Nia => "1.2.250.1.213.1.4.9",
            InsOid::TestNir => "1.2.250.1.213.1.4.10",
            InsOid::DemoNir => "1.2.250.1.213.1.4.11",
        }
    }
}

/// Identity status (RNIV; FR Core code system `fr-core-cs-v2-0445`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum IdentityStatus {
    /// Provisional identity: no INS yet, no document checked.
    #[serde(rename = "PROV")]
    Provisional,
    /// Recovered identity: the INSi teleservice returned the INS.
    #[serde(rename = "RECUP")]
    Recovered,
    /// Validated identity: an identity document was checked.
    #[serde(rename = "VALI")]
    Validated,
    /// Qualified identity: INS recovered and identity document checked. Only a qualified
    /// INS may be sent to the DMP, by MSSanté or to a regional platform.
    #[serde(rename = "QUAL")]
    Qualified,
}

impl IdentityStatus {
    pub fn code(self) -> &'static str {
        match self {
            IdentityStatus::Provisional => "PROV",
            IdentityStatus::Recovered => "RECUP",
            IdentityStatus::Validated => "VALI",
            IdentityStatus::Qualified => "QUAL",
        }
    }
}

/// The identity document the structure checked (RNIV: high-trust documents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityEvidence {
    pub document: IdentityDocumentKind,
    pub checked_on: Date,
    /// The care-circle member who checked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub checked_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityDocumentKind {
    Passport,
    NationalIdentityCard,
    ResidencePermit,
    /// Birth certificate extract or family record book, for people without another document.
    BirthCertificate,
}

/// Where the beneficiary lives now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// At home (volet 2 accompaniment).
    Home,
    /// In a temporary place of the EHPAD.
    EhpadTemporaryStay,
    /// In the emergency room the CRT keeps at the EHPAD.
    EhpadEmergencyRoom,
}

/// A GIR level from the AGGIR grid, with the date of the assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GirAssessment {
    #[schemars(range(min = 1, max = 6))]
    pub level: u8,
    pub assessed_on: Date,
}

/// Someone close to the beneficiary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub id: String,
    #[schemars(length(min = 1, max = 100))]
    pub family_name: String,
    #[schemars(length(min = 1, max = 100))]
    pub given_name: String,
    pub relationship: Relationship,
    /// What this person is for the beneficiary; one person may hold several roles, and at
    /// most one contact is the trusted person.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4))]
    pub roles: Vec<ContactRole>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(PHONE_PATTERN)), length(max = 4))]
    pub phones: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(EMAIL_PATTERN))]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl Contact {
    pub fn has_role(&self, role: ContactRole) -> bool {
        self.roles.contains(&role)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    /// Personne de confiance (CASF L.311-5-1 / CSP L.1111-6).
    TrustedPerson,
    /// Aidant: a relative who helps in daily life.
    Caregiver,
    /// Person to call first in an emergency.
    EmergencyContact,
    /// Guardian or curator (mesure de protection).
    LegalRepresentative,
}

/// Relationship to the beneficiary; each maps to an HL7 RoleCode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Spouse,
    Partner,
    Son,
    Daughter,
    Brother,
    Sister,
    Grandchild,
    Nephew,
    Niece,
    OtherFamily,
    Friend,
    Neighbour,
    /// A professional guardian or curator (mandataire judiciaire).
    ProfessionalGuardian,
    Other,
}

impl Relationship {
    /// The HL7 v3 RoleCode (2.16.840.1.113883.5.111) and its French label; `None` for
    /// `other`, which documents carry as `nullFlavor="OTH"`.
    pub fn role_code(self) -> Option<(&'static str, &'static str)> {
        let code = match self {
            Relationship::Spouse => ("SPS", "Conjoint"),
            Relationship::Partner => ("DOMPART", "Concubin"),
            Relationship::Son => ("SON", "Fils"),
            Relationship::Daughter => ("DAU", "Fille"),
            Relationship::Brother => ("BRO", "Frère"),
            Relationship::Sister => ("SIS", "Soeur"),
            Relationship::Grandchild => ("GRNDCHILD", "Petit-enfant"),
            Relationship::Nephew => ("NEPHEW", "Neveu"),
            Relationship::Niece => ("NIECE", "Nièce"),
            Relationship::OtherFamily => ("FAMMEMB", "Membre de la famille"),
            Relationship::Friend => ("FRND", "Ami"),
            Relationship::Neighbour => ("NBOR", "Voisin"),
            Relationship::ProfessionalGuardian => ("GUARD", "Tuteur"),
            Relationship::Other => return None,
        };
        Some(code)
    }
}
