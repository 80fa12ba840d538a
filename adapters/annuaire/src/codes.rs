//! The identifiers, code systems and extensions of the Annuaire Santé's FHIR resources
//! (profiles `as-dp-practitioner`, `as-dp-practitionerrole`, `as-mailbox-mss` of the ANS
//! IG `https://interop.esante.gouv.fr/ig/fhir/annuaire`, on FR Core), shared by the reader
//! of its answers and the simulator that writes them.

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "ESANTE-API-KEY";

/// idNat_PS (`8` + RPPS, or `0` + ADELI): the `idNatPs` identifier slice.
pub const ID_NAT_PS_SYSTEM: &str = "urn:oid:1.2.250.1.71.4.2.1";
/// RPPS number (11 digits): the `rpps` slice of Practitioner; also the system of a
/// PractitionerRole's activity identifier.
pub const RPPS_SYSTEM: &str = "https://rpps.esante.gouv.fr";
/// The identifier types of FR Core (`IDNPS`, `RPPS`).
pub const IDENTIFIER_TYPE_SYSTEM: &str =
    "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203";

/// Health professions (TRE_G15), in `Practitioner.qualification` since version 2 of the
/// API (no longer on PractitionerRole).
pub const PROFESSION_SYSTEM: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante";
/// Professional categories (TRE_R09): `C` civil, beside the profession.
pub const CATEGORY_SYSTEM: &str = "https://mos.esante.gouv.fr/NOS/TRE_R09-CategorieProfessionnelle/FHIR/TRE-R09-CategorieProfessionnelle";

/// The extension telling an MSSanté mailbox from a plain email address.
pub const EMAIL_TYPE_EXTENSION: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type";
/// Messaging types (TRE_R256).
pub const MESSAGING_TYPE_SYSTEM: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R256-TypeMessagerie/FHIR/TRE-R256-TypeMessagerie";
/// The TRE_R256 code of MSSanté.
pub const MSSANTE: &str = "MSSANTE";
/// The mailbox's metadata: sub-extensions `type`, `description`, `service`, `listeRouge`.
pub const MAILBOX_METADATA_EXTENSION: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata";
/// Mailbox kinds (TRE_R257): `PER` personal, `ORG` organisational, `APP` applicative,
/// `CAB` practice.
pub const MAILBOX_KIND_SYSTEM: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R257-TypeBAL/FHIR/TRE-R257-TypeBAL";
/// A professional's own mailbox.
pub const PERSONAL_MAILBOX: &str = "PER";

/// The search parameter that adds a practitioner's roles to the Bundle of a Practitioner
/// search (the only `_revinclude` the API's CapabilityStatement gives Practitioner).
pub const REVINCLUDE_ROLES: &str = "PractitionerRole:practitioner";

/// The profiles of the public data.
pub const PRACTITIONER_PROFILE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitioner";
pub const PRACTITIONER_ROLE_PROFILE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitionerrole";
