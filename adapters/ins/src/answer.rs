//! Reading the teleservice's answers: results (`RESULTAT`) and SOAP faults.

use crt_core::soap::{self, SoapError};
use crt_core::xml::{Element, Limits};

use crate::message::{InsiAnswer, RESULTAT, ReturnedIdentity, ReturnedTraits};
use crate::number::{InsNumber, NumberError};

/// Answers are small; anything beyond this is not an INSi answer.
pub const LIMITS: Limits = Limits {
    max_bytes: 256 * 1024,
    max_depth: 32,
    max_elements: 2_000,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Soap(#[from] SoapError),
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    #[error("the answer carries an invalid INS: {0}")]
    Number(#[from] NumberError),
}

/// Parses an answer envelope.
pub fn parse(bytes: &[u8]) -> Result<InsiAnswer, AnswerError> {
    let body = soap::body(bytes, LIMITS)?;
    let result = body
        .child(RESULTAT, "RESULTAT")
        .ok_or_else(|| AnswerError::Unexpected(format!("no {{{RESULTAT}}}RESULTAT in the Body")))?;
    let code = result
        .child(RESULTAT, "CR")
        .and_then(|cr| cr.child_text(RESULTAT, "CodeCR"))
        .ok_or_else(|| AnswerError::Unexpected("no CR/CodeCR".into()))?;
    match code {
        "00" => {
            let individual = result
                .child(RESULTAT, "INDIVIDU")
                .ok_or_else(|| AnswerError::Unexpected("CodeCR 00 without INDIVIDU".into()))?;
            Ok(InsiAnswer::Found(Box::new(identity(individual)?)))
        }
        "01" => Ok(InsiAnswer::NotFound),
        "02" => Ok(InsiAnswer::Several),
        other => Err(AnswerError::Unexpected(format!("unknown CodeCR {other:?}"))),
    }
}

fn identity(individual: &Element) -> Result<ReturnedIdentity, AnswerError> {
    let active = individual
        .child(RESULTAT, "INSACTIF")
        .ok_or_else(|| AnswerError::Unexpected("INDIVIDU without INSACTIF".into()))?;
    let (ins, oid) = ins_of(active)?;
    let history = individual
        .children(RESULTAT, "INSHISTO")
        .map(ins_of)
        .collect::<Result<Vec<_>, _>>()?;
    let tiq = individual
        .child(RESULTAT, "TIQ")
        .ok_or_else(|| AnswerError::Unexpected("INDIVIDU without TIQ".into()))?;
    let required = |name: &str| {
        tiq.child_text(RESULTAT, name)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| AnswerError::Unexpected(format!("TIQ without {name}")))
    };
    let traits = ReturnedTraits {
        birth_name: required("NomNaissance")?,
        first_given_name: tiq.child_text(RESULTAT, "Prenom").map(str::to_string),
        given_names: required("ListePrenom")?,
        sex: required("Sexe")?,
        birth_date: required("DateNaissance")?,
        birth_place: tiq
            .child_text(RESULTAT, "LieuNaissance")
            .map(str::to_string),
    };
    Ok(ReturnedIdentity {
        ins,
        oid,
        history,
        traits,
    })
}

fn ins_of(element: &Element) -> Result<(InsNumber, String), AnswerError> {
    let id = element
        .child(RESULTAT, "IdIndividu")
        .ok_or_else(|| AnswerError::Unexpected(format!("{} without IdIndividu", element.name)))?;
    let missing = |name: &str| AnswerError::Unexpected(format!("IdIndividu without {name}"));
    let matricule = id
        .child_text(RESULTAT, "NumIdentifiant")
        .ok_or_else(|| missing("NumIdentifiant"))?;
    let key = id
        .child_text(RESULTAT, "Cle")
        .ok_or_else(|| missing("Cle"))?;
    let oid = element
        .child_text(RESULTAT, "OID")
        .ok_or_else(|| AnswerError::Unexpected(format!("{} without OID", element.name)))?;
    Ok((InsNumber::from_parts(matricule, key)?, oid.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers as the qualification teleservice sends them (both prefix styles seen).
    const FOUND: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><S:Body xmlns:S="http://www.w3.org/2003/05/soap-envelope"><RESULTAT xmlns:ns3="http://www.cnamts.fr/INSiRecVit" xmlns:ns2="http://www.cnamts.fr/INSiRecSans" xmlns="http://www.cnamts.fr/INSiResultat"><CR><CodeCR>00</CodeCR><LibelleCR>OK</LibelleCR></CR><INDIVIDU><INSACTIF><IdIndividu><NumIdentifiant>1090763220834</NumIdentifiant><Cle>89</Cle></IdIndividu><OID>1.2.250.1.213.1.4.8</OID></INSACTIF><INSHISTO><IdIndividu><NumIdentifiant>2090763220834</NumIdentifiant><Cle>39</Cle><TypeMatricule>NIR</TypeMatricule></IdIndividu><OID>1.2.250.1.213.1.4.8</OID></INSHISTO><TIQ><NomNaissance>ECETINSI</NomNaissance><Prenom>PIERRE-ALAIN</Prenom><ListePrenom>PIERRE-ALAIN MURIEL FLORIANT</ListePrenom><Sexe>M</Sexe><DateNaissance>2009-07-14</DateNaissance><LieuNaissance>63220</LieuNaissance></TIQ></INDIVIDU></RESULTAT></S:Body></soap:Envelope>"#;

    const SEVERAL: &str = r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><env:Body xmlns:env="http://www.w3.org/2003/05/soap-envelope"><ns2:RESULTAT xmlns:ns2="http://www.cnamts.fr/INSiResultat" xmlns="http://www.cnamts.fr/INSiRecSans"><ns2:CR><ns2:CodeCR>02</ns2:CodeCR><ns2:LibelleCR>Plusieurs identites trouvees</ns2:LibelleCR></ns2:CR></ns2:RESULTAT></env:Body></soap:Envelope>"#;

    const FAULT: &str = r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><env:Body xmlns:S="http://www.w3.org/2003/05/soap-envelope" xmlns:env="http://www.w3.org/2003/05/soap-envelope"><S:Fault><S:Code><S:Value>S:Receiver</S:Value><S:Subcode><S:Value>S:siram_40</S:Value></S:Subcode></S:Code><S:Reason><S:Text xml:lang="en">Le service est temporairement inaccessible.</S:Text></S:Reason><S:Detail><siram:Erreur severite="fatal" code="insi_102" xmlns:siram="urn:siram">L'appel au service renvoie une erreur technique.</siram:Erreur></S:Detail></S:Fault></env:Body></soap:Envelope>"#;

    #[test]
    fn code_00_gives_the_active_ins_its_history_and_traits() {
        let InsiAnswer::Found(identity) = parse(FOUND.as_bytes()).unwrap() else {
            panic!("expected an identity");
        };
        assert_eq!(identity.ins.as_string(), "109076322083489");
        assert_eq!(identity.oid, "1.2.250.1.213.1.4.8");
        assert_eq!(identity.history.len(), 1);
        assert_eq!(identity.history[0].0.as_string(), "209076322083439");
        assert_eq!(identity.traits.given_names, "PIERRE-ALAIN MURIEL FLORIANT");
        assert_eq!(identity.traits.birth_place.as_deref(), Some("63220"));
    }

    #[test]
    fn codes_01_and_02() {
        assert_eq!(parse(SEVERAL.as_bytes()).unwrap(), InsiAnswer::Several);
        let not_found = SEVERAL.replace(">02<", ">01<");
        assert_eq!(parse(not_found.as_bytes()).unwrap(), InsiAnswer::NotFound);
        let unknown = SEVERAL.replace(">02<", ">07<");
        assert!(matches!(
            parse(unknown.as_bytes()),
            Err(AnswerError::Unexpected(_))
        ));
    }

    #[test]
    fn faults_are_typed() {
        let Err(AnswerError::Soap(SoapError::Fault(fault))) = parse(FAULT.as_bytes()) else {
            panic!("expected a fault");
        };
        assert!(!fault.sender);
        assert_eq!(fault.subcode.as_deref(), Some("siram_40"));
        assert_eq!(fault.code.as_deref(), Some("insi_102"));
        let sender = FAULT.replace("S:Receiver", "S:Sender");
        let Err(AnswerError::Soap(SoapError::Fault(fault))) = parse(sender.as_bytes()) else {
            panic!("expected a fault");
        };
        assert!(fault.sender);
    }

    #[test]
    fn malformed_and_hostile_answers_are_errors() {
        let wrong_key = FOUND.replace("<Cle>89</Cle>", "<Cle>88</Cle>");
        assert!(matches!(
            parse(wrong_key.as_bytes()),
            Err(AnswerError::Number(_))
        ));
        let soap11 = FOUND.replace("http://www.w3.org/2003/05/soap-envelope", soap::SOAP11);
        assert!(matches!(
            parse(soap11.as_bytes()),
            Err(AnswerError::Soap(SoapError::Unexpected(_)))
        ));
        let other_ns = FOUND.replace(
            "http://www.cnamts.fr/INSiResultat",
            "http://example.org/other",
        );
        assert!(matches!(
            parse(other_ns.as_bytes()),
            Err(AnswerError::Unexpected(_))
        ));
        let no_tiq = FOUND.replace("<TIQ>", "<X>").replace("</TIQ>", "</X>");
        assert!(matches!(
            parse(no_tiq.as_bytes()),
            Err(AnswerError::Unexpected(_))
        ));
        let huge = format!("<a>{}</a>", "x".repeat(300 * 1024));
        assert!(matches!(
            parse(huge.as_bytes()),
            Err(AnswerError::Soap(SoapError::Xml(
                crt_core::xml::XmlError::TooLarge(_)
            )))
        ));
        let entity = format!("<!DOCTYPE a [<!ENTITY e \"x\">]>{FOUND}");
        assert!(matches!(
            parse(entity.as_bytes()),
            Err(AnswerError::Soap(SoapError::Xml(_)))
        ));
        assert!(parse(b"").is_err());
        assert!(parse(b"<html>502 Bad Gateway</html>").is_err());
    }
}
