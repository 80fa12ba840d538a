//! The VIHF (vecteur d'identification et d'habilitation formelles): a SAML 2.0 assertion
//! that tells the DMP who acts, for which structure and patient, with which software,
//! signed with the structure's signature certificate (IGC-Santé ORG SIGN).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use crt_core::record::{Ins, Professional};
use crt_core::xml::XmlWriter;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dsig::{self, DsigError, SIGNATURE_MARK, Signer};

pub const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const HL7: &str = "urn:hl7-org:v3";
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// TRE_G15 (RPPS professions).
pub const PROFESSION_OID: &str = "1.2.250.1.71.1.2.7";

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

/// What the assertion states.
pub struct Vihf<'a> {
    pub version: VihfVersion,
    /// The professional acting (the document's author).
    pub professional: &'a Professional,
    pub structure_id_nat: &'a str,
    /// `SAxx^1.2.250.1.71.4.2.4`.
    pub sector: &'a str,
    pub ins: &'a Ins,
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
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let rpps = self.professional.rpps.as_deref().unwrap_or_default();
        let mut w = XmlWriter::new();
        w.open(
            "saml2:Assertion",
            &[
                ("xmlns:saml2", SAML),
                ("xmlns:xsi", XSI),
                ("ID", &id),
                ("IssueInstant", &time(self.now)),
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
                ("NotBefore", &time(self.now - Duration::minutes(5))),
                ("NotOnOrAfter", &time(self.now + Duration::hours(1))),
            ],
        );
        w.open("saml2:AuthnStatement", &[("AuthnInstant", &time(self.now))])
            .open("saml2:AuthnContext", &[])
            .leaf(
                "saml2:AuthnContextClassRef",
                &[],
                "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient",
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
        if let Some((code, display)) = self.professional.profession.g15_code() {
            w.open("saml2:Attribute", &[("Name", attribute::ROLE)])
                .open("saml2:AttributeValue", &[])
                .empty(
                    "Role",
                    &[
                        ("xmlns", HL7),
                        ("xsi:type", "CE"),
                        ("code", code),
                        ("codeSystem", PROFESSION_OID),
                        ("displayName", display),
                    ],
                )
                .close("saml2:AttributeValue")
                .close("saml2:Attribute");
        }
        text(
            &mut w,
            attribute::SUBJECT,
            &format!(
                "{} {}",
                self.professional.family_name.to_uppercase(),
                self.professional.given_name
            ),
        );
        w.open("saml2:Attribute", &[("Name", attribute::PURPOSE)])
            .open("saml2:AttributeValue", &[])
            .empty(
                "PurposeOfUse",
                &[
                    ("xmlns", HL7),
                    ("xsi:type", "CE"),
                    ("code", "normal"),
                    ("codeSystem", "1.2.250.1.213.1.1.4.248"),
                    ("displayName", "Accès normal"),
                ],
            )
            .close("saml2:AttributeValue")
            .close("saml2:Attribute");
        text(&mut w, attribute::RESOURCE, &self.resource_id());
        text(&mut w, attribute::RESOURCE_URN, "urn:dmp");
        text(&mut w, attribute::AUTHENTICATION, "INDIRECTE");
        text(&mut w, attribute::LPS_NAME, self.lps_name);
        text(&mut w, attribute::LPS_VERSION, self.lps_version);
        text(&mut w, attribute::LPS_ID, self.lps_id);
        text(&mut w, attribute::HOMOLOGATION, self.homologation);
        w.close("saml2:AttributeStatement").close("saml2:Assertion");
        let unsigned =
            String::from_utf8(w.finish()).map_err(|e| DsigError::Invalid(e.to_string()))?;
        let xml = dsig::sign_enveloped(&unsigned, &id, signer)?;
        Ok(SignedVihf { id, xml })
    }
}
