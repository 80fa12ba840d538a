//! ROR (Répertoire Opérationnel des Ressources).
pub mod source;
