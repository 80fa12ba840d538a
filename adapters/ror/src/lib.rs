//! ROR (Répertoire Opérationnel des Ressources).
pub mod codes;
pub mod offer;
pub mod source;
