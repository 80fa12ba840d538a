//! What Pro Santé Connect says of a professional: its userinfo document (field names as PSC
//! publishes them, mirroring the RASS extraction), and the identity the gateway keeps of it.
//!
//! Names are read but never kept: the gateway decides and traces by idNat_PS and profile.

use crt_core::record::Profession;
use serde::{Deserialize, Serialize};

/// The parts of the userinfo document the gateway uses; the others are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserInfo {
    /// idNat_PS: `8` + RPPS number (RPPS+ staff included), `0` + ADELI, `3` + FINESS/…
    #[serde(rename = "SubjectNameID", default)]
    pub subject_name_id: String,
    #[serde(rename = "SubjectRefPro", default)]
    pub ref_pro: RefPro,
    /// How the professional authenticated, when PSC says (`CARD` for a CPS card).
    #[serde(rename = "authMode", default)]
    pub auth_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RefPro {
    #[serde(default)]
    pub exercices: Vec<Exercice>,
}

/// One exercise of a profession (a professional may hold several).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exercice {
    /// TRE_G15 profession, or `99` for the staff RPPS+ registers by role.
    #[serde(default)]
    pub code_profession: String,
    /// TRE_R09: `C` civil, `E` student, `M` public agent.
    #[serde(default)]
    pub code_categorie_professionnelle: String,
    /// Specialty (TRE_R38, `SM26`…).
    #[serde(default)]
    pub code_savoir_faire: String,
    #[serde(default)]
    pub activities: Vec<Activity>,
}

/// Where the profession is exercised.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// The role in the structure; for RPPS+ staff, a TRE_R85 role.
    #[serde(default)]
    pub code_role: String,
    #[serde(default)]
    pub numero_finess_site: String,
    #[serde(default, rename = "numeroFinessetablissementJuridique")]
    pub numero_finess_etablissement_juridique: String,
}

/// Who is acting, as PSC established it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Professional {
    pub id_nat_ps: String,
    pub profession: Profession,
    /// The specialty of that exercise, when PSC gives one.
    pub specialty: Option<String>,
    /// FINESS numbers of the sites where they exercise.
    pub structures: Vec<String>,
    pub assurance: Assurance,
}

/// How strongly the person was authenticated, as PSC reports it: kept in the access trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assurance {
    /// The token's `acr` (`eidas1` for a CPS card or an e-CPS).
    pub acr: String,
    /// `CARD` (CPS card), the e-CPS value PSC reports, or `unknown`.
    pub mode: String,
}

impl Assurance {
    /// `eidas1/CARD`, for the trace.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.acr, self.mode)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the userinfo document has no SubjectNameID")]
    NoSubject,
    #[error(
        "SubjectNameID {0:?} is not an idNat_PS (a prefix digit and at most 40 letters or digits)"
    )]
    BadSubject(String),
    #[error("SubjectNameID {0} differs from the token's subject {1}")]
    SubjectMismatch(String, String),
    #[error("no exercise of the professional names a profession the gateway knows (codes {0})")]
    NoProfession(String),
}

impl UserInfo {
    /// The professional, by their first exercise whose profession the record schema knows.
    pub fn professional(&self, acr: &str) -> Result<Professional, IdentityError> {
        let id = self.subject_name_id.trim();
        if id.is_empty() {
            return Err(IdentityError::NoSubject);
        }
        if id.len() > 41 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdentityError::BadSubject(id.chars().take(48).collect()));
        }
        let exercised = self.ref_pro.exercices.iter().find_map(|exercice| {
            let role = exercice
                .activities
                .iter()
                .map(|a| a.code_role.as_str())
                .find(|r| !r.is_empty());
            Profession::from_directory_codes(&exercice.code_profession, role)
                .map(|profession| (exercice, profession))
        });
        let Some((exercice, profession)) = exercised else {
            let codes: Vec<&str> = self
                .ref_pro
                .exercices
                .iter()
                .map(|e| e.code_profession.as_str())
                .collect();
            return Err(IdentityError::NoProfession(codes.join(", ")));
        };
        let mut structures: Vec<String> = exercice
            .activities
            .iter()
            .map(|a| a.numero_finess_site.trim().to_string())
            .filter(|finess| !finess.is_empty())
            .collect();
        structures.dedup();
        Ok(Professional {
            id_nat_ps: id.to_string(),
            profession,
            specialty: Some(exercice.code_savoir_faire.clone()).filter(|s| !s.is_empty()),
            structures,
            assurance: Assurance {
                acr: if acr.is_empty() { "unknown" } else { acr }.to_string(),
                mode: self
                    .auth_mode
                    .clone()
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "unknown".into()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A userinfo document shaped as PSC's test environment answers (names changed).
    const PHYSICIAN: &str = r#"{
      "Secteur_Activite": "SA07^1.2.250.1.71.4.2.4",
      "sub": "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:810002345675",
      "email_verified": false, "SubjectOrganization": "EHPAD LES TILLEULS",
      "preferred_username": "810002345675", "given_name": "ANNE",
      "Acces_Regulation_Medicale": "FAUX", "UITVersion": "1.0",
      "SubjectRefPro": {"codeCivilite": "MME", "exercices": [{
        "codeProfession": "10", "codeCategorieProfessionnelle": "C",
        "codeCiviliteDexercice": "DR", "nomDexercice": "MOREAU", "prenomDexercice": "ANNE",
        "codeTypeSavoirFaire": "S", "codeSavoirFaire": "SM26",
        "activities": [{"codeModeExercice": "S", "codeSecteurDactivite": "SA17",
          "codeRole": "", "numeroFinessSite": "720004563",
          "numeroFinessetablissementJuridique": "720004555",
          "raisonSocialeSite": "EHPAD LES TILLEULS"}]}]},
      "SubjectRole": ["10^1.2.250.1.213.1.1.5.5"], "authMode": "CARD",
      "SubjectNameID": "810002345675", "family_name": "MOREAU"
    }"#;

    #[test]
    fn a_physician_is_read_from_psc_userinfo() {
        let info: UserInfo = serde_json::from_str(PHYSICIAN).unwrap();
        let professional = info.professional("eidas1").unwrap();
        assert_eq!(professional.id_nat_ps, "810002345675");
        assert_eq!(professional.profession, Profession::Physician);
        assert_eq!(professional.specialty.as_deref(), Some("SM26"));
        assert_eq!(professional.structures, ["720004563"]);
        assert_eq!(professional.assurance.describe(), "eidas1/CARD");
    }

    #[test]
    fn rpps_plus_staff_are_known_by_their_role() {
        let info: UserInfo = serde_json::from_value(serde_json::json!({
            "SubjectNameID": "810006789019",
            "SubjectRefPro": {"exercices": [{"codeProfession": "99",
                "activities": [{"codeRole": "330"}]}]}
        }))
        .unwrap();
        let professional = info.professional("").unwrap();
        assert_eq!(professional.profession, Profession::Coordinator);
        assert_eq!(professional.assurance.describe(), "unknown/unknown");
    }

    #[test]
    fn an_identity_the_gateway_cannot_use_is_refused_with_why() {
        let info: UserInfo = serde_json::from_str("{}").unwrap();
        assert_eq!(info.professional("eidas1"), Err(IdentityError::NoSubject));
        let info: UserInfo = serde_json::from_value(serde_json::json!({
            "SubjectNameID": "810006789019",
            "SubjectRefPro": {"exercices": [{"codeProfession": "28"}]}
        }))
        .unwrap();
        assert_eq!(
            info.professional("eidas1"),
            Err(IdentityError::NoProfession("28".into()))
        );
    }
}
