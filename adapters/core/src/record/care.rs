//! The care circle and what it does at home: interventions and on-call (astreinte) calls.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{EMAIL_PATTERN, LOCAL_ID_PATTERN, PHONE_PATTERN, Timestamp};

/// An RPPS number: 11 digits, Luhn key last. Professionals registered in RPPS+
/// (non-clinical staff) receive numbers of the same form.
pub const RPPS_PATTERN: &str = r"^[0-9]{11}$";

/// A member of the care circle (cercle de soins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Professional {
    /// Local identifier, referred to by the plan, interventions and steps.
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub id: String,
    /// RPPS (or RPPS+) number; required to author documents sent to the DMP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(RPPS_PATTERN))]
    pub rpps: Option<String>,
    #[schemars(length(min = 1, max = 100))]
    pub family_name: String,
    #[schemars(length(min = 1, max = 100))]
    pub given_name: String,
    pub profession: Profession,
    /// A physician's specialty (TRE_R01 code, `SM26` for general practice) or a
    /// pharmacist's section of the Ordre (TRE_G05, `A` for a community pharmacy owner):
    /// the DMP's VIHF states it beside the profession, so a physician or pharmacist who
    /// authors a document sent to the DMP needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 10), pattern(r"^[A-Z0-9]+$"))]
    pub specialty: Option<String>,
    pub role: CareRole,
    /// Organisation the professional works for, when not the CRT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub organisation: Option<String>,
    /// MSSanté address; messages to the care circle go there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(EMAIL_PATTERN))]
    pub mssante_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone: Option<String>,
}

/// Profession, as registered in the RPPS (health professions, TRE_G15) or RPPS+.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Profession {
    Physician,
    Pharmacist,
    Nurse,
    Physiotherapist,
    Podiatrist,
    SpeechTherapist,
    OccupationalTherapist,
    Dietitian,
    PsychomotorTherapist,
    Psychologist,
    /// Aide-soignant.
    CareAssistant,
    /// Assistant de service social, conseiller en économie sociale et familiale…
    SocialWorker,
    /// Aide à domicile, auxiliaire de vie.
    HomeHelp,
    /// Non-clinical coordinator (RPPS+).
    Coordinator,
    /// Administrative staff (RPPS+).
    Administrative,
}

impl Profession {
    /// Every profession, in the schema's order.
    pub const ALL: [Profession; 15] = [
        Profession::Physician,
        Profession::Pharmacist,
        Profession::Nurse,
        Profession::Physiotherapist,
        Profession::Podiatrist,
        Profession::SpeechTherapist,
        Profession::OccupationalTherapist,
        Profession::Dietitian,
        Profession::PsychomotorTherapist,
        Profession::Psychologist,
        Profession::CareAssistant,
        Profession::SocialWorker,
        Profession::HomeHelp,
        Profession::Coordinator,
        Profession::Administrative,
    ];

    /// The profession a national directory entry states: its profession code (TRE_G15 for
    /// the health code's professions, `69` psychiatric nurses counted as nurses) or, for the
    /// staff RPPS+ registers by role, the role code (TRE_R85, TRE_R94, TRE_R95) of the
    /// [`author_specialty`](Self::author_specialty) concepts.
    pub fn from_directory_codes(profession: &str, role: Option<&str>) -> Option<Profession> {
        let by_profession = |code: &str| {
            Profession::ALL.into_iter().find(|p| {
                p.g15_code().is_some_and(|(g15, _)| g15 == code)
                    || (p.g15_code().is_none() && p.author_specialty().code == code)
            })
        };
        let by_role = |code: &str| {
            Profession::ALL
                .into_iter()
                .find(|p| p.g15_code().is_none() && p.author_specialty().code == code)
        };
        match profession {
            "69" => Some(Profession::Nurse),
            code => by_profession(code).or_else(|| role.and_then(by_role)),
        }
    }

    /// The TRE_G15 code of the professions of the health code (aide-soignant included);
    /// `None` for those registered under other tables (psychologists are TRE_R95).
    pub fn g15_code(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Profession::Physician => ("10", "Médecin"),
            Profession::Pharmacist => ("21", "Pharmacien"),
            Profession::Nurse => ("60", "Infirmier"),
            Profession::Physiotherapist => ("70", "Masseur-Kinésithérapeute"),
            Profession::Podiatrist => ("80", "Pédicure-Podologue"),
            Profession::SpeechTherapist => ("91", "Orthophoniste"),
            Profession::OccupationalTherapist => ("94", "Ergothérapeute"),
            Profession::Dietitian => ("95", "Diététicien"),
            Profession::PsychomotorTherapist => ("96", "Psychomotricien"),
            Profession::CareAssistant => ("35", "Aide-soignant"),
            _ => return None,
        })
    }

    /// The profession as an author specialty of JDV_J01 (XdsAuthorSpecialty-CISIS), the
    /// value set that CDA `assignedAuthor/code` and XDS `authorSpecialty` draw from: TRE_G15
    /// in its CI-SIS form (`G15_xx`, 1.2.250.1.213.1.1.4.5) for the professions of the
    /// health code, TRE_R95 for psychologists, TRE_R94 for social workers, TRE_R85 for the
    /// other staff RPPS+ registers. Every profession has one.
    pub fn author_specialty(self) -> AuthorSpecialty {
        const G15: &str = "1.2.250.1.213.1.1.4.5";
        const R85: &str = "1.2.250.1.213.1.6.1.107";
        let (code, system, display) = match self {
            Profession::Physician => ("G15_10", G15, "Médecin"),
            Profession::Pharmacist => ("G15_21", G15, "Pharmacien"),
            Profession::Nurse => ("G15_60", G15, "Infirmier"),
            Profession::Physiotherapist => ("G15_70", G15, "Masseur-Kinésithérapeute"),
            Profession::Podiatrist => ("G15_80", G15, "Pédicure-Podologue"),
            Profession::SpeechTherapist => ("G15_91", G15, "Orthophoniste"),
            Profession::OccupationalTherapist => ("G15_94", G15, "Ergothérapeute"),
            Profession::Dietitian => ("G15_95", G15, "Diététicien"),
            Profession::PsychomotorTherapist => ("G15_96", G15, "Psychomotricien"),
            Profession::CareAssistant => ("G15_35", G15, "Aide-soignant"),
            Profession::Psychologist => ("93", "1.2.250.1.213.1.6.1.109", "Psychologue"),
            Profession::SocialWorker => {
                ("41", "1.2.250.1.213.1.6.1.4", "Assistant de service social")
            }
            Profession::HomeHelp => ("350", R85, "Aide à domicile"),
            Profession::Coordinator => ("330", R85, "Coordonnateur de parcours"),
            Profession::Administrative => {
                ("331", R85, "Secrétaire assistante médico-administrative")
            }
        };
        AuthorSpecialty {
            code,
            system,
            display,
        }
    }
}

/// A concept of JDV_J01 (XdsAuthorSpecialty-CISIS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorSpecialty {
    pub code: &'static str,
    /// The OID of the code system the concept comes from.
    pub system: &'static str,
    pub display: &'static str,
}

/// The part a member plays for this beneficiary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CareRole {
    /// Médecin traitant.
    GeneralPractitioner,
    /// The CRT's own physician (médecin du dispositif).
    CrtPhysician,
    /// Médecin coordonnateur of the EHPAD.
    CoordinatingPhysician,
    /// Infirmier coordinateur of the CRT.
    NurseCoordinator,
    Nurse,
    CareAssistant,
    HomeHelp,
    SocialWorker,
    Psychologist,
    Therapist,
    Pharmacist,
    /// Coordinator of the DAC (dispositif d'appui à la coordination).
    DacCoordinator,
    HospitalPhysician,
    Other,
}

/// A planned or completed intervention at the beneficiary's home.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Intervention {
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub id: String,
    pub kind: InterventionKind,
    /// The care-circle member who intervenes.
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub professional: String,
    pub planned_at: Timestamp,
    /// How long the visit is planned to last, in minutes (60 when not said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 720))]
    pub planned_minutes: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    pub status: InterventionStatus,
}

impl Intervention {
    /// The planned duration when the record does not give one.
    pub const DEFAULT_MINUTES: u16 = 60;

    /// When the visit is planned to end.
    pub fn planned_end(&self) -> Timestamp {
        let minutes = self.planned_minutes.unwrap_or(Self::DEFAULT_MINUTES);
        self.planned_at + chrono::Duration::minutes(i64::from(minutes))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InterventionKind {
    HomeVisit,
    NursingCare,
    PersonalCare,
    HomeHelp,
    Teleconsultation,
    Assessment,
    CoordinationMeeting,
    CaregiverRespite,
    Other,
}

impl InterventionKind {
    /// What the visit is for, in the words of a French planning.
    pub fn label(self) -> &'static str {
        match self {
            InterventionKind::HomeVisit => "Visite à domicile",
            InterventionKind::NursingCare => "Soins infirmiers",
            InterventionKind::PersonalCare => "Aide à la toilette",
            InterventionKind::HomeHelp => "Aide à domicile",
            InterventionKind::Teleconsultation => "Téléconsultation",
            InterventionKind::Assessment => "Évaluation",
            InterventionKind::CoordinationMeeting => "Réunion de coordination",
            InterventionKind::CaregiverRespite => "Répit de l'aidant",
            InterventionKind::Other => "Intervention",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InterventionStatus {
    Planned,
    Done,
    Cancelled,
    Missed,
}

/// A call received by the CRT's 24/7 on-call service (astreinte).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnCallCall {
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub id: String,
    pub received_at: Timestamp,
    pub caller: CallerKind,
    pub reason: OnCallReason,
    pub outcome: OnCallOutcome,
    /// The care-circle member who answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub answered_by: Option<String>,
    /// When someone reached the home, if the call led to a visit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    Beneficiary,
    Caregiver,
    Professional,
    /// An alarm or telecare device.
    Device,
    Other,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OnCallReason {
    Fall,
    HealthDeterioration,
    Anxiety,
    CaregiverExhaustion,
    CareContinuity,
    TechnicalAlarm,
    Other,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OnCallOutcome {
    AdviceGiven,
    HomeVisit,
    /// The emergency services (SAMU, 15) were called.
    EmergencyServices,
    Hospitalisation,
    /// Another professional (GP, nurse, SAD) was sent.
    ProfessionalDispatched,
    /// Temporary room at the EHPAD.
    EmergencyRoom,
    NoActionNeeded,
}

#[cfg(test)]
mod tests {
    use super::Profession;

    #[test]
    fn directory_codes_name_the_profession_by_code_or_by_role() {
        assert_eq!(
            Profession::from_directory_codes("10", None),
            Some(Profession::Physician)
        );
        assert_eq!(
            Profession::from_directory_codes("60", Some("")),
            Some(Profession::Nurse)
        );
        assert_eq!(
            Profession::from_directory_codes("99", Some("330")),
            Some(Profession::Coordinator)
        );
        assert_eq!(
            Profession::from_directory_codes("99", Some("350")),
            Some(Profession::HomeHelp)
        );
        assert_eq!(Profession::from_directory_codes("28", None), None);
        for profession in Profession::ALL {
            let code = profession
                .g15_code()
                .map_or(profession.author_specialty().code, |(code, _)| code);
            let role = profession.author_specialty().code;
            assert_eq!(
                Profession::from_directory_codes(code, Some(role)),
                Some(profession)
            );
        }
    }
}
