//! ROR (Répertoire Opérationnel des Ressources).
pub mod codes;
pub mod fhir;
pub mod offer;
pub mod render;
pub mod rules;
pub mod source;
