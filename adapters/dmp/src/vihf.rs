//! The VIHF (vecteur d'identification et d'habilitation formelles): a SAML 2.0 assertion
//! that tells the DMP who acts, for which structure and patient, with which software,
//! signed with the structure's signature certificate (IGC-Santé ORG SIGN).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use crt_core::record::{Ins, Professional, SourceAuthentication};
use crt_core::xml::XmlWriter;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crt_documents::terminology::Official;

use crate::dsig::{self, DsigError, SIGNATURE_MARK, Signer};

pub const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const HL7: &str = "urn:hl7-org:v3";
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// TRE_G15 (RPPS professions).
pub const PROFESSION_OID: &str = "1.2.250.1.71.1.2.7";
/// TRE_R01: a physician's specialty, the second role of a physician.
pub const SPECIALTY_OID: &str = "1.2.250.1.71.4.2.5";
/// TRE_G05: a pharmacist's section of the Ordre, the second role of a pharmacist.
pub const PHARMACIST_SECTION_OID: &str = "1.2.250.1.71.4.2.6";
/// TRE_A00: non-professional producers, `AUTOMATE` among them.
pub const PRODUCER_OID: &str = "1.2.250.1.213.1.1.4.6";
/// TRE_R95, TRE_R94, TRE_R291: titles, social professions, other staff.
pub const TITLE_OID: &str = "1.2.250.1.213.1.6.1.109";
pub const SOCIAL_OID: &str = "1.2.250.1.213.1.6.1.4";
pub const OTHER_OID: &str = "1.2.250.1.213.1.6.1.140";
/// TRE_R85: the role of staff TRE_R291 characterises by their role.
pub const ROLE_OID: &str = "1.2.250.1.213.1.6.1.107";

/// One value of the VIHF role attribute, a concept of JDV_J65 SubjectRole-DMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub code: String,
    pub system: &'static str,
}

impl Role {
    fn new(code: &str, system: &'static str) -> Role {
        Role {
            code: code.to_string(),
            system,
        }
    }

    /// The concept's name in JDV_J65, empty when the set does not hold it.
    pub fn display(&self) -> &'static str {
        Official::SubjectRole
            .set()
            .concept(self.system, &self.code)
            .map_or("", |c| c.display.as_str())
    }
}

/// Why the VIHF cannot state a professional's roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error(
        "the VIHF states a {0}'s {1} beside the profession: care_circle member {2:?} has no specialty"
    )]
    MissingSpecialty(&'static str, &'static str, String),
    #[error("{1}|{0} is not in JDV_J65 SubjectRole-DMP")]
    NotInValueSet(String, &'static str),
}

/// The roles the VIHF states for `professional` (JDV_J65, the ANS mapping of the VIHF): the
/// profession first, always (TRE_G15, or TRE_R95, TRE_R94, TRE_A00, TRE_R291 for those the
/// health code does not list); then a physician's specialty (TRE_R01) or a pharmacist's
/// section (TRE_G05), and the role of staff characterised by it (TRE_R85).
pub fn roles(professional: &Professional) -> Result<Vec<Role>, RoleError> {
    use crt_core::record::Profession as P;
    let g15 = |code: &str| Role::new(code, PROFESSION_OID);
    let specialty = |kind: &'static str, what: &'static str, system: &'static str| {
        professional
            .specialty
            .as_deref()
            .map(|code| Role::new(code, system))
            .ok_or_else(|| RoleError::MissingSpecialty(kind, what, professional.id.clone()))
    };
    let roles = match professional.profession {
        P::Physician => vec![
            g15("10"),
            specialty("physician", "specialty (TRE_R01)", SPECIALTY_OID)?,
        ],
        P::Pharmacist => vec![
            g15("21"),
            specialty("pharmacist", "section (TRE_G05)", PHARMACIST_SECTION_OID)?,
        ],
        P::Nurse => vec![g15("60")],
        P::Physiotherapist => vec![g15("70")],
        P::Podiatrist => vec![g15("80")],
        P::SpeechTherapist => vec![g15("91")],
        P::OccupationalTherapist => vec![g15("94")],
        P::Dietitian => vec![g15("95")],
        P::PsychomotorTherapist => vec![g15("96")],
        P::CareAssistant => vec![g15("35")],
        P::Psychologist => vec![Role::new("93", TITLE_OID)],
        P::SocialWorker => vec![Role::new("41", SOCIAL_OID)],
        P::Administrative => vec![Role::new("SECRETARIAT_MEDICAL", PRODUCER_OID)],
        P::HomeHelp => vec![Role::new("99", OTHER_OID), Role::new("350", ROLE_OID)],
        P::Coordinator => vec![Role::new("99", OTHER_OID), Role::new("312", ROLE_OID)],
    };
    let set = Official::SubjectRole.set();
    match roles.iter().find(|r| !set.contains(r.system, &r.code)) {
        Some(outside) => Err(RoleError::NotInValueSet(
            outside.code.clone(),
            outside.system,
        )),
        None => Ok(roles),
    }
}

/// The role of a system acting alone, for its structure.
pub fn automate() -> Role {
    Role::new("AUTOMATE", PRODUCER_OID)
}

/// The VIHF version, which DMP deployments differ on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VihfVersion {
    #[serde(rename = "3.0")]
    V3,
    #[serde(rename = "4.0")]
    V4,
}

impl VihfVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            VihfVersion::V3 => "3.0",
            VihfVersion::V4 => "4.0",
        }
    }
}

/// Who the assertion says is acting, as the ANS mapping of the VIHF puts it
/// (`ansforge/IG-hl7v2-volet-transmission-document-cda-r2`, mapping): a user, by her
/// national identifier, name, profession and the way she authenticated locally; or an
/// automated processing, by the identifier of the person responsible for it, the software
/// and the model, with the role `AUTOMATE`.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    User {
        professional: &'a Professional,
        authentication: Option<SourceAuthentication>,
    },
    Automated {
        /// The person responsible for the processing (the document's author).
        responsible: &'a Professional,
        /// The document model it sends (`DLU-DOM`…), named in subject-id.
        model: &'a str,
    },
}

impl<'a> Subject<'a> {
    /// The subject for a record sent from the DUI: automated when the record says no one
    /// sent it, else the author as the user.
    pub fn for_source(
        author: &'a Professional,
        authentication: Option<SourceAuthentication>,
        model: &'a str,
    ) -> Subject<'a> {
        match authentication {
            Some(SourceAuthentication::Automated) => Subject::Automated {
                responsible: author,
                model,
            },
            other => Subject::User {
                professional: author,
                authentication: other,
            },
        }
    }

    /// The professional named in the assertion.
    pub fn professional(&self) -> &'a Professional {
        match self {
            Subject::User { professional, .. } => professional,
            Subject::Automated { responsible, .. } => responsible,
        }
    }

    /// `AuthnContextClassRef` (SAML 2.0 authentication context classes): the user's local
    /// authentication, as the mapping asks; `unspecified` for an automated processing (as
    /// the ANS example shows) or when the DUI does not say.
    pub fn authn_context(&self) -> &'static str {
        match self {
            Subject::User {
                authentication: Some(SourceAuthentication::Password),
                ..
            } => "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            Subject::User {
                authentication: Some(SourceAuthentication::Smartcard),
                ..
            } => "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
            Subject::User {
                authentication: Some(SourceAuthentication::ECps),
                ..
            } => "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
            _ => "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified",
        }
    }

    /// The subject-id attribute: the user's name, or the software and the model.
    pub fn subject_id(&self) -> String {
        match self {
            Subject::User { professional, .. } => format!(
                "{} {}",
                professional.family_name.to_uppercase(),
                professional.given_name
            ),
            Subject::Automated { model, .. } => format!("crt-gateway, {model}"),
        }
    }

    /// The role attribute's values.
    pub fn roles(&self) -> Result<Vec<Role>, RoleError> {
        match self {
            Subject::User { professional, .. } => roles(professional),
            Subject::Automated { .. } => Ok(vec![automate()]),
        }
    }
}

/// The access mode (`purposeofuse`, TRE_R248 `1.2.250.1.213.1.1.4.248`): how the
/// professional reaches the patient's DMP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessMode {
    /// The patient's authorisation (or the care team's presumed consent) applies.
    Normal,
    /// *Bris de glace*: an emergency, without the authorisation; masked documents stay
    /// closed, and the patient may have opposed it.
    BreakGlass,
    /// A medical regulation centre (SAMU - centre 15).
    Regulation,
}

impl AccessMode {
    /// `code` and `displayName` in TRE_R248.
    pub fn code(self) -> (&'static str, &'static str) {
        match self {
            AccessMode::Normal => ("normal", "Accès normal"),
            AccessMode::BreakGlass => ("bris_de_glace", "Accès en bris de glace"),
            AccessMode::Regulation => ("centre_15", "Accès par un centre de régulation médicale"),
        }
    }

    pub fn from_code(code: &str) -> Option<AccessMode> {
        [
            AccessMode::Normal,
            AccessMode::BreakGlass,
            AccessMode::Regulation,
        ]
        .into_iter()
        .find(|mode| mode.code().0 == code)
    }
}

/// The TRE_R248 code system of access modes.
pub const ACCESS_MODE_OID: &str = "1.2.250.1.213.1.1.4.248";

/// How the professional was authenticated (`Authentification_Mode`): by the structure
/// only (its certificate vouches for a user it authenticated its own way), or by the
/// structure after a strong authentication of the person (AIR: a CPS card or e-CPS,
/// through Pro Santé Connect). The DMP lets only the second consult documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthenticationMode {
    #[serde(rename = "INDIRECTE")]
    Indirect,
    #[serde(rename = "INDIRECTE_RENFORCEE")]
    IndirectReinforced,
}

impl AuthenticationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticationMode::Indirect => "INDIRECTE",
            AuthenticationMode::IndirectReinforced => "INDIRECTE_RENFORCEE",
        }
    }
}

/// What the assertion states.
pub struct Vihf<'a> {
    pub version: VihfVersion,
    pub subject: Subject<'a>,
    pub structure_id_nat: &'a str,
    /// `SAxx^1.2.250.1.71.4.2.4`.
    pub sector: &'a str,
    pub ins: &'a Ins,
    pub mode: AccessMode,
    pub authentication: AuthenticationMode,
    pub lps_name: &'a str,
    pub lps_version: &'a str,
    pub lps_id: &'a str,
    pub homologation: &'a str,
    pub now: DateTime<Utc>,
}

/// Attribute names, as the DMP reads them.
pub mod attribute {
    pub const VERSION: &str = "VIHF_Version";
    pub const STRUCTURE: &str = "Identifiant_Structure";
    pub const SECTOR: &str = "Secteur_Activite";
    pub const ROLE: &str = "urn:oasis:names:tc:xacml:2.0:subject:role";
    pub const SUBJECT: &str = "urn:oasis:names:tc:xspa:1.0:subject:subject-id";
    pub const PURPOSE: &str = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse";
    pub const RESOURCE: &str = "urn:oasis:names:tc:xacml:2.0:resource:resource-id";
    pub const RESOURCE_URN: &str = "Ressource_URN";
    pub const AUTHENTICATION: &str = "Authentification_Mode";
    pub const LPS_NAME: &str = "LPS_Nom";
    pub const LPS_VERSION: &str = "LPS_Version";
    pub const LPS_ID: &str = "LPS_ID";
    pub const HOMOLOGATION: &str = "LPS_ID_HOMOLOGATION_DMP";
}

/// The signed assertion and its ID.
pub struct SignedVihf {
    pub id: String,
    pub xml: String,
}

impl Vihf<'_> {
    /// The resource id: the patient's INS in HL7 v2 CX form.
    pub fn resource_id(&self) -> String {
        format!("{}^^^&{}&ISO^NH", self.ins.number, self.ins.oid.as_str())
    }

    pub fn sign(&self, signer: &Signer, subject_dn: &str) -> Result<SignedVihf, DsigError> {
        let id = format!("_{}", Uuid::now_v7().simple());
        let unsigned = self.render(&id, self.now, subject_dn)?;
        let xml = dsig::sign_enveloped(&unsigned, &id, signer)?;
        Ok(SignedVihf { id, xml })
    }

    /// What the assertion states apart from its ID and its times: two VIHFs with the same
    /// statement say the same thing of the same people, and one can stand for the other
    /// while it is valid.
    pub fn statement(&self, subject_dn: &str) -> Result<String, DsigError> {
        self.render("_", DateTime::<Utc>::UNIX_EPOCH, subject_dn)
    }

    /// The unsigned assertion, with `id` and issued at `now`.
    fn render(&self, id: &str, now: DateTime<Utc>, subject_dn: &str) -> Result<String, DsigError> {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let rpps = self
            .subject
            .professional()
            .rpps
            .as_deref()
            .unwrap_or_default();
        let mut w = XmlWriter::new();
        w.open(
            "saml2:Assertion",
            &[
                ("xmlns:saml2", SAML),
                ("xmlns:xsi", XSI),
                ("ID", id),
                ("IssueInstant", &time(now)),
                ("Version", "2.0"),
            ],
        );
        w.leaf(
            "saml2:Issuer",
            &[(
                "Format",
                "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
            )],
            subject_dn,
        );
        w.raw(SIGNATURE_MARK);
        w.open("saml2:Subject", &[])
            .leaf(
                "saml2:NameID",
                &[(
                    "Format",
                    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                )],
                &format!("8{rpps}"),
            )
            .empty(
                "saml2:SubjectConfirmation",
                &[("Method", "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches")],
            )
            .close("saml2:Subject");
        w.empty(
            "saml2:Conditions",
            &[
                ("NotBefore", &time(now - Duration::minutes(5))),
                ("NotOnOrAfter", &time(now + VALIDITY)),
            ],
        );
        w.open("saml2:AuthnStatement", &[("AuthnInstant", &time(now))])
            .open("saml2:AuthnContext", &[])
            .leaf(
                "saml2:AuthnContextClassRef",
                &[],
                self.subject.authn_context(),
            )
            .close("saml2:AuthnContext")
            .close("saml2:AuthnStatement");
        w.open("saml2:AttributeStatement", &[]);
        let text = |w: &mut XmlWriter, name: &str, value: &str| {
            w.open("saml2:Attribute", &[("Name", name)])
                .leaf("saml2:AttributeValue", &[], value)
                .close("saml2:Attribute");
        };
        text(&mut w, attribute::VERSION, self.version.as_str());
        text(&mut w, attribute::STRUCTURE, self.structure_id_nat);
        text(&mut w, attribute::SECTOR, self.sector);
        let roles = self
            .subject
            .roles()
            .map_err(|e| DsigError::Invalid(e.to_string()))?;
        w.open("saml2:Attribute", &[("Name", attribute::ROLE)]);
        for role in &roles {
            w.open("saml2:AttributeValue", &[])
                .empty(
                    "Role",
                    &[
                        ("xmlns", HL7),
                        ("xsi:type", "CE"),
                        ("code", &role.code),
                        ("codeSystem", role.system),
                        ("displayName", role.display()),
                    ],
                )
                .close("saml2:AttributeValue");
        }
        w.close("saml2:Attribute");
        text(&mut w, attribute::SUBJECT, &self.subject.subject_id());
        let (mode, mode_display) = self.mode.code();
        w.open("saml2:Attribute", &[("Name", attribute::PURPOSE)])
            .open("saml2:AttributeValue", &[])
            .empty(
                "PurposeOfUse",
                &[
                    ("xmlns", HL7),
                    ("xsi:type", "CE"),
                    ("code", mode),
                    ("codeSystem", ACCESS_MODE_OID),
                    ("codeSystemName", "mode acces VIHF 2.0"),
                    ("displayName", mode_display),
                ],
            )
            .close("saml2:AttributeValue")
            .close("saml2:Attribute");
        text(&mut w, attribute::RESOURCE, &self.resource_id());
        text(&mut w, attribute::RESOURCE_URN, "urn:dmp");
        text(
            &mut w,
            attribute::AUTHENTICATION,
            self.authentication.as_str(),
        );
        text(&mut w, attribute::LPS_NAME, self.lps_name);
        text(&mut w, attribute::LPS_VERSION, self.lps_version);
        text(&mut w, attribute::LPS_ID, self.lps_id);
        text(&mut w, attribute::HOMOLOGATION, self.homologation);
        w.close("saml2:AttributeStatement").close("saml2:Assertion");
        String::from_utf8(w.finish()).map_err(|e| DsigError::Invalid(e.to_string()))
    }
}

/// How long an assertion is valid after it is issued (`NotOnOrAfter`).
const VALIDITY: Duration = Duration::minutes(60);
/// Assertions kept for reuse at most; past it, the expired are dropped, then all.
const MAX_KEPT: usize = 4096;

/// Signed assertions kept for reuse. The DMP takes a VIHF as valid for its `Conditions`
/// window (an hour here), and nothing in it is tied to one request: requests that state
/// the same thing (same structure and signer, same acting person and roles, same patient,
/// same mode; see [`Vihf::statement`]) within `reuse` of its issue carry the same
/// assertion instead of an RSA signature each. A document's TD0.2 check and its ITI-41
/// submission, or a record's DLU and plan, then share one. `reuse` is kept well inside the
/// validity so a reused assertion is never near its end when the DMP reads it; zero signs
/// one per request.
pub struct Issued {
    reuse: std::time::Duration,
    kept: std::sync::Mutex<HashMap<String, (std::time::Instant, Arc<SignedVihf>)>>,
}

impl Issued {
    pub fn new(reuse: std::time::Duration) -> Issued {
        let validity = VALIDITY.to_std().unwrap_or_default();
        Issued {
            reuse: reuse.min(validity / 2),
            kept: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The assertion for `vihf`: one kept from less than `reuse` ago that states the same,
    /// or a new one, signed and kept.
    pub fn get_or_sign(
        &self,
        vihf: &Vihf<'_>,
        signer: &Signer,
        subject_dn: &str,
    ) -> Result<Arc<SignedVihf>, DsigError> {
        if self.reuse.is_zero() {
            return vihf.sign(signer, subject_dn).map(Arc::new);
        }
        let statement = vihf.statement(subject_dn)?;
        let now = std::time::Instant::now();
        let fresh = |issued: std::time::Instant| now.duration_since(issued) < self.reuse;
        if let Some((issued, kept)) = self.lock().get(&statement)
            && fresh(*issued)
        {
            return Ok(kept.clone());
        }
        // Signed outside the lock: two requests may both sign; the later one is kept.
        let signed = Arc::new(vihf.sign(signer, subject_dn)?);
        let mut kept = self.lock();
        if kept.len() >= MAX_KEPT {
            kept.retain(|_, (issued, _)| fresh(*issued));
            if kept.len() >= MAX_KEPT {
                kept.clear();
            }
        }
        kept.insert(statement, (now, signed.clone()));
        Ok(signed)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (std::time::Instant, Arc<SignedVihf>)>> {
        // A panic while holding it leaves a map that is still whole.
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use crt_core::record::{CareRole, Profession};

    use super::*;

    fn professional(profession: Profession, specialty: Option<&str>) -> Professional {
        Professional {
            id: "pro".into(),
            rpps: Some("10001234565".into()),
            family_name: "Martin".into(),
            given_name: "Anne".into(),
            profession,
            specialty: specialty.map(str::to_string),
            role: CareRole::Other,
            organisation: None,
            mssante_address: None,
            phone: None,
        }
    }

    fn codes(profession: Profession, specialty: Option<&str>) -> Vec<(String, &'static str)> {
        roles(&professional(profession, specialty))
            .expect("roles")
            .into_iter()
            .map(|r| (r.code, r.system))
            .collect()
    }

    #[test]
    fn every_profession_has_its_roles_in_jdv_j65() {
        use Profession as P;
        for profession in [
            P::Nurse,
            P::Physiotherapist,
            P::Podiatrist,
            P::SpeechTherapist,
            P::OccupationalTherapist,
            P::Dietitian,
            P::PsychomotorTherapist,
            P::Psychologist,
            P::CareAssistant,
            P::SocialWorker,
            P::HomeHelp,
            P::Coordinator,
            P::Administrative,
        ] {
            let roles = roles(&professional(profession, None)).expect("roles");
            assert!(
                roles.iter().all(|r| !r.display().is_empty()),
                "{profession:?}"
            );
        }
        assert_eq!(
            codes(P::Physician, Some("SM26")),
            [
                ("10".into(), PROFESSION_OID),
                ("SM26".into(), SPECIALTY_OID)
            ]
        );
        assert_eq!(
            codes(P::Pharmacist, Some("A")),
            [
                ("21".into(), PROFESSION_OID),
                ("A".into(), PHARMACIST_SECTION_OID)
            ]
        );
        assert_eq!(codes(P::Psychologist, None), [("93".into(), TITLE_OID)]);
        assert_eq!(
            codes(P::CareAssistant, None),
            [("35".into(), PROFESSION_OID)]
        );
        assert_eq!(
            codes(P::Coordinator, None),
            [("99".into(), OTHER_OID), ("312".into(), ROLE_OID)]
        );
        assert!(!automate().display().is_empty());
    }

    #[test]
    fn a_physician_without_specialty_or_with_one_outside_j65_has_no_roles() {
        assert!(matches!(
            roles(&professional(Profession::Physician, None)),
            Err(RoleError::MissingSpecialty(..))
        ));
        assert!(matches!(
            roles(&professional(Profession::Physician, Some("XX99"))),
            Err(RoleError::NotInValueSet(..))
        ));
    }

    #[test]
    fn the_subject_says_who_acts_and_how_she_authenticated() {
        let author = professional(Profession::Nurse, None);
        let user = Subject::for_source(&author, Some(SourceAuthentication::ECps), "DLU-DOM");
        assert_eq!(
            user.authn_context(),
            "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered"
        );
        assert_eq!(user.subject_id(), "MARTIN Anne");
        assert_eq!(user.roles().expect("roles")[0].code, "60");
        let unknown = Subject::for_source(&author, None, "DLU-DOM");
        assert!(unknown.authn_context().ends_with(":unspecified"));

        // No one sent it: the system acts, under its author's responsibility.
        let system = Subject::for_source(&author, Some(SourceAuthentication::Automated), "DLU-DOM");
        assert!(system.authn_context().ends_with(":unspecified"));
        assert_eq!(system.subject_id(), "crt-gateway, DLU-DOM");
        let roles = system.roles().expect("roles");
        assert_eq!(roles.len(), 1);
        assert_eq!(
            (roles[0].code.as_str(), roles[0].system),
            ("AUTOMATE", PRODUCER_OID)
        );
        assert_eq!(system.professional().rpps, author.rpps);
    }

    #[test]
    fn an_assertion_serves_the_requests_that_state_the_same_while_it_is_fresh() {
        let signer = crate::dsig::tests::signer();
        let author = professional(Profession::Nurse, None);
        let ins = |number: &str| Ins {
            number: number.into(),
            oid: crt_core::record::InsOid::TestNir,
        };
        let (first, other) = (ins("255069999999934"), ins("180036699999927"));
        let vihf = |ins, now| Vihf {
            version: VihfVersion::V3,
            subject: Subject::for_source(&author, None, "DLU-DOM"),
            structure_id_nat: "1720004563",
            sector: "SA41^1.2.250.1.71.4.2.4",
            ins,
            mode: AccessMode::Normal,
            authentication: AuthenticationMode::Indirect,
            lps_name: "crt-gateway",
            lps_version: "1",
            lps_id: "crt-gateway-1",
            homologation: "SANDBOX",
            now,
        };
        let issued = Issued::new(std::time::Duration::from_secs(300));
        let sign = |ins, at: DateTime<Utc>| {
            issued
                .get_or_sign(&vihf(ins, at), &signer, "CN=CRT")
                .expect("signed")
        };
        let one = sign(&first, Utc::now());
        // The same statement a moment later: the same assertion, not a new signature.
        let again = sign(&first, Utc::now() + Duration::seconds(2));
        assert!(Arc::ptr_eq(&one, &again));
        // Another patient is another statement.
        let two = sign(&other, Utc::now());
        assert_ne!(one.id, two.id);
        // Without reuse, each request has its own.
        let each = Issued::new(std::time::Duration::ZERO);
        let a = each.get_or_sign(&vihf(&first, Utc::now()), &signer, "CN=CRT");
        let b = each.get_or_sign(&vihf(&first, Utc::now()), &signer, "CN=CRT");
        assert_ne!(a.expect("a").id, b.expect("b").id);
    }
}
