//! The INSi teleservice's messages (WSDL 1.5.0 of `ServiceIdentiteCertifiee`): names,
//! namespaces and the types both the client and the simulator speak.

use crate::number::InsNumber;
use crt_core::identity::InsTraits;
use crt_core::identity::traits::NormalisedTraits;

pub use crt_core::soap::{SIRAM, SOAP11, SOAP12, WSA};
pub const RECSANS: &str = "http://www.cnamts.fr/INSiRecSans";
pub const RECVIT: &str = "http://www.cnamts.fr/INSiRecVit";
pub const RESULTAT: &str = "http://www.cnamts.fr/INSiResultat";
pub const CTXBAM: &str = "urn:siram:bam:ctxbam";
pub const CTXLPS: &str = "urn:siram:lps:ctxlps";

pub const ACTION_TRAITS: &str =
    "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite";
pub const ACTION_VITALE: &str = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale";

/// The software's identity in the `ContexteLPS` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LpsContext {
    /// Authorisation number the CNAM gives the software (IDAM, `R="4"`).
    pub idam: String,
    pub software_name: String,
    pub software_version: String,
    /// Who sends (`Emetteur`): the structure its INSi certificate is for (the subject
    /// OU, its idNat_Struct).
    pub emitter: String,
    /// This installation (`Instance`).
    pub instance: String,
}

/// A search by Carte Vitale data (`RECVITALE`): the matricules the card gives (the
/// beneficiary's own, `MatriculeIndividu`, when it has one; the insured person's,
/// `MatriculeOD`), with the beneficiary's birth name, birth date and birth rank. Each
/// matricule is the 13-character number and its 2-digit key.
#[derive(Clone, PartialEq, Eq)]
pub struct VitaleQuery {
    pub individual: Option<Matricule>,
    pub insured: Option<Matricule>,
    pub birth_name: Option<String>,
    pub birth_date: String,
    pub birth_rank: Option<String>,
}

/// A matricule as RECVITALE carries it: `NumIdentifiant` and `Cle`.
#[derive(Clone, PartialEq, Eq)]
pub struct Matricule {
    pub number: String,
    pub key: String,
}

impl Matricule {
    /// Splits a 15-character matricule-and-key.
    pub fn of(number_and_key: &str) -> Option<Matricule> {
        let split = number_and_key.len().checked_sub(2)?;
        let (number, key) = (number_and_key.get(..split)?, number_and_key.get(split..)?);
        Some(Matricule {
            number: number.to_string(),
            key: key.to_string(),
        })
    }

    pub fn joined(&self) -> String {
        format!("{}{}", self.number, self.key)
    }
}

/// What is asked.
#[derive(Clone, PartialEq, Eq)]
pub enum Query {
    Traits(NormalisedTraits),
    Vitale(VitaleQuery),
}

impl Query {
    pub fn action(&self) -> &'static str {
        match self {
            Query::Traits(_) => ACTION_TRAITS,
            Query::Vitale(_) => ACTION_VITALE,
        }
    }
}

/// The traits the teleservice holds (`TIQ`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ReturnedTraits {
    pub birth_name: String,
    /// `Prenom`: the first given name.
    pub first_given_name: Option<String>,
    /// `ListePrenom`: the birth given names, separated by spaces.
    pub given_names: String,
    pub sex: String,
    pub birth_date: String,
    pub birth_place: Option<String>,
}

impl ReturnedTraits {
    /// The traits as the gateway keeps them, unchanged but for the first given name,
    /// which an answer without `Prenom` gives only as the head of `ListePrenom`.
    pub fn reference(&self) -> InsTraits {
        let first_given_name = match &self.first_given_name {
            Some(first) => first.clone(),
            None => self
                .given_names
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_string(),
        };
        InsTraits {
            birth_name: self.birth_name.clone(),
            given_names: self.given_names.clone(),
            first_given_name,
            sex: self.sex.clone(),
            birth_date: self.birth_date.clone(),
            birth_place: self.birth_place.clone(),
        }
    }
}

/// An identity found: the active INS, the former ones, the traits.
#[derive(Clone, PartialEq, Eq)]
pub struct ReturnedIdentity {
    pub ins: InsNumber,
    pub oid: String,
    pub history: Vec<(InsNumber, String)>,
    pub traits: ReturnedTraits,
}

/// The outcome of a search (`CR/CodeCR`).
#[derive(Clone, PartialEq, Eq)]
pub enum InsiAnswer {
    /// `00`: exactly one identity.
    Found(Box<ReturnedIdentity>),
    /// `01`: "Aucune identite trouvee".
    NotFound,
    /// `02`: "Plusieurs identites trouvees".
    Several,
}

impl InsiAnswer {
    pub fn code(&self) -> &'static str {
        match self {
            InsiAnswer::Found(_) => "00",
            InsiAnswer::NotFound => "01",
            InsiAnswer::Several => "02",
        }
    }
}

impl std::fmt::Debug for InsiAnswer {
    // Returned identities are identity data: only the code shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InsiAnswer(CR {})", self.code())
    }
}
