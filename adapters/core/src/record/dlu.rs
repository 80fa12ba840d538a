//! The content of the DLU (dossier de liaison d'urgence): what emergency services need to
//! know when the beneficiary is taken to hospital. The sections follow the CI-SIS DLU volet.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Address, Coding, Date, LOCAL_ID_PATTERN, PHONE_PATTERN, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DluContent {
    /// Version of the DLU, from 1; each new version replaces the previous document in the
    /// DMP.
    #[serde(default = "first_version")]
    #[schemars(range(min = 1))]
    pub version: u32,
    /// When the DLU content was last reviewed.
    pub updated_at: Timestamp,
    /// The care-circle member who reviewed it (a physician or nurse).
    #[schemars(pattern(LOCAL_ID_PATTERN))]
    pub author: String,
    /// Health facility the beneficiary prefers to be taken to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_facility: Option<Facility>,
    /// Current conditions (pathologies en cours).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub active_problems: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub medical_history: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub surgical_history: Vec<Condition>,
    /// Known allergies and intolerances; empty with `no_known_allergy` says none are known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub allergies: Vec<Allergy>,
    #[serde(default)]
    pub no_known_allergy: bool,
    /// Long-term treatments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub treatments: Vec<Treatment>,
    /// Whether the beneficiary receives palliative care.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub palliative_care: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_directives: Option<AdvanceDirectives>,
    /// Observations on the patient's state (JDV_ObservationEtatPatient_CISIS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 15))]
    pub patient_state: Vec<StateObservation>,
    /// Carrier of a multi-resistant bacterium (BMR), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiresistant_bacteria: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub vaccinations: Vec<Vaccination>,
    /// Medical devices in use at home (oxygen, pacemaker, hospital bed…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 30))]
    pub devices: Vec<MedicalDevice>,
    /// Handicaps and deficits (DLU-DOM).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 30))]
    pub impairments: Vec<Impairment>,
    /// Documents that travel with the DLU (the DLU checklist).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 14))]
    pub attached_documents: Vec<AttachedDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4000))]
    pub comments: Option<String>,
}

fn first_version() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Facility {
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// FINESS of the establishment, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::structure::FINESS_PATTERN))]
    pub finess: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone: Option<String>,
}

/// A condition: current problem or history item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[schemars(length(min = 1, max = 300))]
    pub label: String,
    /// Preferably CIM-10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Allergy {
    /// The substance or agent.
    #[schemars(length(min = 1, max = 300))]
    pub substance: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 300))]
    pub reaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Treatment {
    /// Product name as prescribed.
    #[schemars(length(min = 1, max = 300))]
    pub medication: String,
    /// CIS code of the product (7 or 8 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9]{7,8}$"))]
    pub cis_code: Option<String>,
    /// ATC code of the active substance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Z][0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?$"))]
    pub atc_code: Option<String>,
    /// Dosage in words ("1 comprimé matin et soir").
    #[schemars(length(min = 1, max = 500))]
    pub dosage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_on: Option<Date>,
}

/// Routes of administration (EDQM standard terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Oral,
    Sublingual,
    Cutaneous,
    Transdermal,
    Subcutaneous,
    Intramuscular,
    Intravenous,
    Inhalation,
    Nasal,
    Ocular,
    Rectal,
}

impl Route {
    /// EDQM standard-term code and French label.
    pub fn edqm(self) -> (&'static str, &'static str) {
        match self {
            Route::Oral => ("20053000", "voie orale"),
            Route::Sublingual => ("20073000", "voie sublinguale"),
            Route::Cutaneous => ("20003000", "voie cutanée"),
            Route::Transdermal => ("20070000", "voie transdermique"),
            Route::Subcutaneous => ("20066000", "voie sous-cutanée"),
            Route::Intramuscular => ("20035000", "voie intramusculaire"),
            Route::Intravenous => ("20045000", "voie intraveineuse"),
            Route::Inhalation => ("20020000", "voie inhalée"),
            Route::Nasal => ("20049000", "voie nasale"),
            Route::Ocular => ("20051000", "voie ophtalmique"),
            Route::Rectal => ("20061000", "voie rectale"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceDirectives {
    /// Whether the beneficiary has written advance directives.
    pub exist: bool,
    /// Where the directives are kept, when they exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 300))]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_on: Option<Date>,
}

/// One observation of the patient's state, present or absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateObservation {
    pub finding: StateFinding,
    pub present: bool,
}

/// The findings of JDV_ObservationEtatPatient_CISIS (1.2.250.1.213.1.1.5.514).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateFinding {
    AbleToCommunicate,
    WellOriented,
    Disoriented,
    Agitation,
    UncooperativeBehaviour,
    SuicidalBehaviour,
    PoorVision,
    HearingLoss,
    LanguageDisorder,
    Falls,
    Wandering,
    RunningAway,
    PhysicalRestraint,
    PressureUlcerRisk,
    FoodAspiration,
}

impl StateFinding {
    /// Every finding of the value set, in its order.
    pub const ALL: [StateFinding; 15] = [
        StateFinding::AbleToCommunicate,
        StateFinding::WellOriented,
        StateFinding::Disoriented,
        StateFinding::Agitation,
        StateFinding::UncooperativeBehaviour,
        StateFinding::SuicidalBehaviour,
        StateFinding::PoorVision,
        StateFinding::HearingLoss,
        StateFinding::LanguageDisorder,
        StateFinding::Falls,
        StateFinding::Wandering,
        StateFinding::RunningAway,
        StateFinding::PhysicalRestraint,
        StateFinding::PressureUlcerRisk,
        StateFinding::FoodAspiration,
    ];

    /// SNOMED CT code and the value set's French label.
    pub fn snomed(self) -> (&'static str, &'static str) {
        match self {
            StateFinding::AbleToCommunicate => ("288575003", "capable de communiquer"),
            StateFinding::WellOriented => ("247663003", "bien orienté"),
            StateFinding::Disoriented => ("62476001", "désorienté(e)"),
            StateFinding::Agitation => ("24199005", "sensation d'agitation"),
            StateFinding::UncooperativeBehaviour => ("248043008", "comportement non-conciliant"),
            StateFinding::SuicidalBehaviour => ("425104003", "comportement suicidaire"),
            StateFinding::PoorVision => ("397540003", "malvoyance"),
            StateFinding::HearingLoss => ("15188001", "perte auditive"),
            StateFinding::LanguageDisorder => ("62305002", "trouble du langage"),
            StateFinding::Falls => ("161898004", "chutes"),
            StateFinding::Wandering => ("50239007", "errance"),
            StateFinding::RunningAway => ("248046000", "fugue"),
            StateFinding::PhysicalRestraint => ("386423001", "contention physique"),
            StateFinding::PressureUlcerRisk => ("285304000", "à risque d'escarre"),
            StateFinding::FoodAspiration => ("249492002", "fausse route alimentaire"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vaccination {
    #[schemars(length(min = 1, max = 300))]
    pub vaccine: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9]{7,8}$"))]
    pub cis_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Z][0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?$"))]
    pub atc_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administered_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 50))]
    pub lot: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicalDevice {
    #[schemars(length(min = 1, max = 300))]
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Coding>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Impairment {
    #[schemars(length(min = 1, max = 300))]
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Coding>,
}

/// An entry of the DLU checklist: a document of this kind travels with the DLU. With
/// `content`, the document itself is embedded in the DLU (as the official DLU example
/// does); without it, the DLU says the document goes with the person but is not embedded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachedDocument {
    pub kind: AttachedDocumentKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<EmbeddedDocument>,
}

/// A document embedded in the DLU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedDocument {
    pub media_type: EmbeddedMediaType,
    /// The document's bytes in base64 (RFC 4648, standard alphabet, no line breaks).
    #[schemars(length(min = 8, max = 1_400_000), pattern(r"^[A-Za-z0-9+/]+={0,2}$"))]
    pub data: String,
}

/// The formats a DLU embeds: PDF, as the official DLU example does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EmbeddedMediaType {
    #[serde(rename = "application/pdf")]
    Pdf,
}

impl EmbeddedMediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            EmbeddedMediaType::Pdf => "application/pdf",
        }
    }
}

/// The codes of JDV_ChecklistDLU_CISIS (TA_ASIP 1.2.250.1.213.1.1.4.322).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachedDocumentKind {
    CarteVitaleCertificate,
    MutualInsuranceCertificate,
    IdentityCardCopy,
    AggirGrid,
    AdvanceDirectivesCopy,
    CurrentPrescriptions,
    MedicationAdministrationChart,
    RecentLaboratoryResults,
    LastHospitalisationReport,
    MultiresistantBacteriaSheet,
    CareFollowUpRecord,
    PacemakerRecord,
    BloodGroupCard,
    EhpadCareCapabilities,
}

impl AttachedDocumentKind {
    /// Every code of the checklist, in its order.
    pub const ALL: [AttachedDocumentKind; 14] = [
        Self::CarteVitaleCertificate,
        Self::MutualInsuranceCertificate,
        Self::IdentityCardCopy,
        Self::AggirGrid,
        Self::AdvanceDirectivesCopy,
        Self::CurrentPrescriptions,
        Self::MedicationAdministrationChart,
        Self::RecentLaboratoryResults,
        Self::LastHospitalisationReport,
        Self::MultiresistantBacteriaSheet,
        Self::CareFollowUpRecord,
        Self::PacemakerRecord,
        Self::BloodGroupCard,
        Self::EhpadCareCapabilities,
    ];

    /// Checklist code and its label in the value set.
    pub fn checklist_code(self) -> (&'static str, &'static str) {
        match self {
            Self::CarteVitaleCertificate => ("DLU_006", "Attestation de la carte vitale"),
            Self::MutualInsuranceCertificate => ("DLU_007", "Attestation de mutuelle"),
            Self::IdentityCardCopy => ("DLU_008", "Photocopie de la carte d’identité"),
            Self::AggirGrid => ("DLU_009", "Grille AGGIR (la plus récente)"),
            Self::AdvanceDirectivesCopy => ("DLU_010", "Photocopie des directives anticipées"),
            Self::CurrentPrescriptions => ("DLU_011", "Photocopies des ordonnances en cours"),
            Self::MedicationAdministrationChart => {
                ("DLU_012", "Tableau d’administration des médicaments")
            }
            Self::RecentLaboratoryResults => (
                "DLU_013",
                "Résultats récents de biologie (1 à 3 mois) avec clairance de la créatinine et INR (si AVK)",
            ),
            Self::LastHospitalisationReport => ("DLU_014", "CR de la dernière hospitalisation"),
            Self::MultiresistantBacteriaSheet => {
                ("DLU_015", "Fiche BMR (bactérie multi-résistante)")
            }
            Self::CareFollowUpRecord => (
                "DLU_016",
                "Fiche ou carnet de suivi des soins (glycémie, pansements, perfusion, ventilation, nutrition, etc.)",
            ),
            Self::PacemakerRecord => (
                "DLU_017",
                "Carnet de suivi du pacemaker ou du défibrilateur implentable",
            ),
            Self::BloodGroupCard => ("DLU_018", "Carte de groupe sanguin (si à jour)"),
            Self::EhpadCareCapabilities => ("DLU_019", "Liste des capacités en soins de l’EHPAD"),
        }
    }
}
