//! The CRT structure the record comes from.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Address, EMAIL_PATTERN, PHONE_PATTERN};

/// A FINESS number: 9 characters, department first (2A/2B for Corsica), Luhn key last.
pub const FINESS_PATTERN: &str = r"^(?:[0-9]{2}|2A|2B)[0-9]{7}$";

/// The CRT: the structure that carries the mission and sends the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Crt {
    /// FINESS of the legal entity (entité juridique) of the porteur.
    #[schemars(pattern(FINESS_PATTERN))]
    pub finess_ej: String,
    /// FINESS of the establishment (établissement) that carries the CRT mission; the
    /// structure's idNat_Struct is `1` followed by this number.
    #[schemars(pattern(FINESS_PATTERN))]
    pub finess_et: String,
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    pub porteur: PorteurKind,
    pub region: Region,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone: Option<String>,
    /// The structure's MSSanté mailbox (organisational mailbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(EMAIL_PATTERN))]
    pub mssante_mailbox: Option<String>,
}

impl Crt {
    /// The structure's national identifier (idNat_Struct) as IGC-Santé, the DMP and the CDA
    /// headers carry it: `1` + FINESS of the establishment.
    pub fn id_nat_struct(&self) -> String {
        format!("1{}", self.finess_et)
    }
}

/// Which kind of structure carries the CRT mission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PorteurKind {
    /// An EHPAD (établissement d'hébergement pour personnes âgées dépendantes).
    Ehpad,
    /// A home-care service (SAD, SSIAD, SPASAD).
    HomeCareService,
}

/// The region, by its INSEE code. It selects the regional e-parcours platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Region {
    /// Guadeloupe
    #[serde(rename = "01")]
    Guadeloupe,
    /// Martinique
    #[serde(rename = "02")]
    Martinique,
    /// Guyane
    #[serde(rename = "03")]
    Guyane,
    /// La Réunion
    #[serde(rename = "04")]
    LaReunion,
    /// Mayotte
    #[serde(rename = "06")]
    Mayotte,
    /// Île-de-France
    #[serde(rename = "11")]
    IleDeFrance,
    /// Centre-Val de Loire
    #[serde(rename = "24")]
    CentreValDeLoire,
    /// Bourgogne-Franche-Comté
    #[serde(rename = "27")]
    BourgogneFrancheComte,
    /// Normandie
    #[serde(rename = "28")]
    Normandie,
    /// Hauts-de-France
    #[serde(rename = "32")]
    HautsDeFrance,
    /// Grand Est
    #[serde(rename = "44")]
    GrandEst,
    /// Pays de la Loire
    #[serde(rename = "52")]
    PaysDeLaLoire,
    /// Bretagne
    #[serde(rename = "53")]
    Bretagne,
    /// Nouvelle-Aquitaine
    #[serde(rename = "75")]
    NouvelleAquitaine,
    /// Occitanie
    #[serde(rename = "76")]
    Occitanie,
    /// Auvergne-Rhône-Alpes
    #[serde(rename = "84")]
    AuvergneRhoneAlpes,
    /// Provence-Alpes-Côte d'Azur
    #[serde(rename = "93")]
    ProvenceAlpesCoteDAzur,
    /// Corse
    #[serde(rename = "94")]
    Corse,
}

impl Region {
    pub const ALL: [Region; 18] = [
        Region::Guadeloupe,
        Region::Martinique,
        Region::Guyane,
        Region::LaReunion,
        Region::Mayotte,
        Region::IleDeFrance,
        Region::CentreValDeLoire,
        Region::BourgogneFrancheComte,
        Region::Normandie,
        Region::HautsDeFrance,
        Region::GrandEst,
        Region::PaysDeLaLoire,
        Region::Bretagne,
        Region::NouvelleAquitaine,
        Region::Occitanie,
        Region::AuvergneRhoneAlpes,
        Region::ProvenceAlpesCoteDAzur,
        Region::Corse,
    ];

    /// The INSEE region code.
    pub fn code(self) -> &'static str {
        match self {
            Region::Guadeloupe => "01",
            Region::Martinique => "02",
            Region::Guyane => "03",
            Region::LaReunion => "04",
            Region::Mayotte => "06",
            Region::IleDeFrance => "11",
            Region::CentreValDeLoire => "24",
            Region::BourgogneFrancheComte => "27",
            Region::Normandie => "28",
            Region::HautsDeFrance => "32",
            Region::GrandEst => "44",
            Region::PaysDeLaLoire => "52",
            Region::Bretagne => "53",
            Region::NouvelleAquitaine => "75",
            Region::Occitanie => "76",
            Region::AuvergneRhoneAlpes => "84",
            Region::ProvenceAlpesCoteDAzur => "93",
            Region::Corse => "94",
        }
    }
}
