//! The NOS code-system subsets the ROR resources are written with, shipped in
//! `schemas/ror/code-systems.json` so that rendering and validation work offline.
//!
//! The file is compiled in: a gateway validating a bundle must not depend on what happens
//! to be on disk next to it.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

const SHIPPED: &str = include_str!("../../../schemas/ror/code-systems.json");

/// The ROR value sets copied unchanged from the ANS terminology releases
/// (`schemas/ror/terminology/`, with their provenance): a code of their systems is valid
/// where the guide binds the set when the set lists it.
const OFFICIAL_VALUE_SETS: [&str; 6] = [
    include_str!("../../../schemas/ror/terminology/ValueSet-JDV-J187-NatureCapacite-ROR.json"),
    include_str!("../../../schemas/ror/terminology/ValueSet-JDV-J188-TypeStatutCapacite-ROR.json"),
    include_str!("../../../schemas/ror/terminology/ValueSet-JDV-J189-TemporaliteCapacite-ROR.json"),
    include_str!("../../../schemas/ror/terminology/ValueSet-JDV-J190-GenreCapacite-ROR.json"),
    include_str!("../../../schemas/ror/terminology/ValueSet-JDV-J193-TypeSourceCapacite-ROR.json"),
    include_str!(
        "../../../schemas/ror/terminology/ValueSet-JDV-J195-AffectationTemporaire-ROR.json"
    ),
];

/// What is read of an official ValueSet: the codes its `compose` lists.
#[derive(Deserialize)]
struct ValueSet {
    compose: Compose,
}

#[derive(Deserialize)]
struct Compose {
    include: Vec<Include>,
}

#[derive(Deserialize)]
struct Include {
    system: String,
    #[serde(default)]
    concept: Vec<Concept>,
}

/// Canonical URLs of the code systems used, by their NOS names.
pub mod system {
    const NOS: &str = "https://mos.esante.gouv.fr/NOS";
    macro_rules! nos {
        ($($name:ident = $tre:literal, $fhir:literal;)*) => {
            $(pub const $name: &str = concat!(
                "https://mos.esante.gouv.fr/NOS/", $tre, "/FHIR/", $fhir
            );)*
        };
    }
    nos! {
        CATEGORIE_ORGANISATION = "TRE_R244-CategorieOrganisation", "TRE-R244-CategorieOrganisation";
        CHAMP_ACTIVITE = "TRE_R227-ChampActivite", "TRE-R227-ChampActivite";
        ACTIVITE_OPERATIONNELLE = "TRE_R211-ActiviteOperationnelle", "TRE-R211-ActiviteOperationnelle";
        MODE_PRISE_EN_CHARGE = "TRE_R213-ModePriseEnCharge", "TRE-R213-ModePriseEnCharge";
        PUBLIC_PRIS_EN_CHARGE = "TRE_R239-PublicPrisEnCharge", "TRE-R239-PublicPrisEnCharge";
        TYPE_DIVISION_TERRITORIALE = "TRE_R201-TypeDivisionTerritoriale", "TRE-R201-TypeDivisionTerritoriale";
        REGION = "TRE_R30-RegionOM", "TRE-R30-RegionOM";
        CANAL_COMMUNICATION = "TRE_R200-CanalCommunication", "TRE-R200-CanalCommunication";
        NIVEAU_CONFIDENTIALITE = "TRE_R283-NiveauConfidentialite", "TRE-R283-NiveauConfidentialite";
        CATEGORIE_ETABLISSEMENT = "TRE_R66-CategorieEtablissement", "TRE-R66-CategorieEtablissement";
        STATUT_JURIDIQUE = "TRE_R72-FinessStatutJuridique", "TRE-R72-FinessStatutJuridique";
        TYPE_IDENTIFIANT_STRUCTURE = "TRE_G07-TypeIdentifiantStructure", "TRE-G07-TypeIdentifiantStructure";
        TYPE_IDENTIFIANT_OFFRE = "TRE_R355-TypeIdentifiantOffre", "TRE-R355-TypeIdentifiantOffre";
        TYPE_IDENTIFIANT_LIEU = "TRE_R354-TypeIdentifiantRessourceOperationnelle", "TRE-R354-TypeIdentifiantRessourceOperationnelle";
        TYPE_HORAIRE = "TRE_R252-TypeHoraire", "TRE-R252-TypeHoraire";
        NATURE_CAPACITE = "TRE_R329-NatureCapacite", "TRE-R329-NatureCapacite";
        TYPE_STATUT_CAPACITE = "TRE_R330-TypeStatutCapacite", "TRE-R330-TypeStatutCapacite";
        TEMPORALITE_CAPACITE = "TRE_R331-TemporaliteCapacite", "TRE-R331-TemporaliteCapacite";
        GENRE_CAPACITE = "TRE_R332-GenreCapacite", "TRE-R332-GenreCapacite";
        TYPE_SOURCE_CAPACITE = "TRE_R335-TypeSourceCapacite", "TRE-R335-TypeSourceCapacite";
        AFFECTATION_TEMPORAIRE = "TRE_R337-AffectationTemporaire", "TRE-R337-AffectationTemporaire";
    }
    /// Communes with their overseas ones (TRE_R13-CommuneOM), the code system JDV_J124-Commune
    /// draws from (its current codes, those without `dateFin`). Too large to ship (35,000
    /// codes): codes from it are checked for form only.
    pub const COMMUNE: &str = concat!(
        "https://mos.esante.gouv.fr/NOS/",
        "TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
    );
    /// TRE_R13-Commune, which JDV_J124 does not draw from: refused where J124 binds.
    pub const COMMUNE_WITHOUT_OVERSEAS: &str = concat!(
        "https://mos.esante.gouv.fr/NOS/",
        "TRE_R13-Commune/FHIR/TRE-R13-Commune"
    );

    /// Whether `url` is a NOS canonical URL.
    pub fn is_nos(url: &str) -> bool {
        url.starts_with(NOS)
    }
}

#[derive(Deserialize)]
struct Shipped {
    code_systems: Vec<ShippedSystem>,
}

#[derive(Deserialize)]
struct ShippedSystem {
    url: String,
    concepts: Vec<Concept>,
}

#[derive(Deserialize)]
struct Concept {
    code: String,
    #[serde(default)]
    display: Option<String>,
}

/// What the shipped subsets say of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Known, with its NOS display when the subset records one.
    Known(Option<&'a str>),
    /// The system is shipped but this code is not in its subset.
    UnknownCode,
    /// The system is not one of the shipped subsets.
    UnknownSystem,
}

/// The shipped subsets, read once.
pub struct CodeSystems {
    systems: HashMap<String, HashMap<String, Option<String>>>,
}

impl CodeSystems {
    /// The subsets compiled into the program.
    pub fn shipped() -> &'static CodeSystems {
        static SHIPPED_SYSTEMS: OnceLock<CodeSystems> = OnceLock::new();
        SHIPPED_SYSTEMS.get_or_init(|| {
            // The file is part of the program's source; a malformed copy is a build defect.
            let shipped: Shipped =
                serde_json::from_str(SHIPPED).expect("schemas/ror/code-systems.json is valid");
            let mut systems: HashMap<String, HashMap<String, Option<String>>> = shipped
                .code_systems
                .into_iter()
                .map(|s| {
                    let concepts = s
                        .concepts
                        .into_iter()
                        .map(|c| (c.code, c.display))
                        .collect();
                    (s.url, concepts)
                })
                .collect();
            for text in OFFICIAL_VALUE_SETS {
                // Part of the program's source, as above.
                let value_set: ValueSet =
                    serde_json::from_str(text).expect("schemas/ror/terminology is valid");
                for include in value_set.compose.include {
                    systems
                        .entry(include.system)
                        .or_default()
                        .extend(include.concept.into_iter().map(|c| (c.code, c.display)));
                }
            }
            CodeSystems { systems }
        })
    }

    pub fn lookup(&self, system: &str, code: &str) -> Lookup<'_> {
        match self.systems.get(system) {
            None => Lookup::UnknownSystem,
            Some(concepts) => match concepts.get(code) {
                Some(display) => Lookup::Known(display.as_deref()),
                None => Lookup::UnknownCode,
            },
        }
    }

    /// The display of a known code.
    pub fn display(&self, system: &str, code: &str) -> Option<&str> {
        match self.lookup(system, code) {
            Lookup::Known(display) => display,
            _ => None,
        }
    }

    /// The codes of a shipped system, sorted, for error messages.
    pub fn codes(&self, system: &str) -> Vec<&str> {
        let mut codes: Vec<&str> = self
            .systems
            .get(system)
            .map(|c| c.keys().map(String::as_str).collect())
            .unwrap_or_default();
        codes.sort_unstable();
        codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_named_in_code_is_shipped() {
        let codes = CodeSystems::shipped();
        for url in [
            system::CATEGORIE_ORGANISATION,
            system::CHAMP_ACTIVITE,
            system::ACTIVITE_OPERATIONNELLE,
            system::MODE_PRISE_EN_CHARGE,
            system::PUBLIC_PRIS_EN_CHARGE,
            system::TYPE_DIVISION_TERRITORIALE,
            system::REGION,
            system::CANAL_COMMUNICATION,
            system::NIVEAU_CONFIDENTIALITE,
            system::CATEGORIE_ETABLISSEMENT,
            system::STATUT_JURIDIQUE,
            system::TYPE_IDENTIFIANT_STRUCTURE,
            system::TYPE_IDENTIFIANT_OFFRE,
            system::TYPE_IDENTIFIANT_LIEU,
        ] {
            assert!(!codes.codes(url).is_empty(), "{url} is not shipped");
        }
        assert_eq!(
            codes.display(system::CATEGORIE_ORGANISATION, "136"),
            Some("Centre de ressources territorial (CRT)")
        );
        assert_eq!(codes.lookup(system::REGION, "99"), Lookup::UnknownCode);
        assert_eq!(codes.lookup("urn:x", "1"), Lookup::UnknownSystem);
    }
}
