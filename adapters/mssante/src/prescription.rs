//! A prescription request: a plain message from the structure's mailbox to a physician of
//! the care circle. It carries no document and names the beneficiary by their traits, as
//! a letter would; the physician answers it from their own software, and the answer's
//! `In-Reply-To` (the request's Message-ID) links it back to the request.

use crt_core::CrtRecord;
use crt_core::record::Professional;
use crt_core::xml::escape;

/// The words of a request.
pub struct Wording {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What the physician reads: who asks, for whom, what, and how to answer.
pub fn wording(
    record: &CrtRecord,
    physician: &Professional,
    requested_by: Option<&Professional>,
    request: &str,
    asked: &str,
) -> Wording {
    let identity = &record.beneficiary.identity;
    let (named, birth) = crate::message::patient_in_words(identity);
    let patient = format!("{named}, né(e) le {birth}");
    let asker = match requested_by {
        Some(member) => format!(
            "{} {} ({})",
            member.given_name, member.family_name, record.crt.name
        ),
        None => record.crt.name.clone(),
    };
    let greeting = format!("Bonjour Docteur {},", physician.family_name);
    let closing = format!(
        "Merci de répondre à ce message en joignant l'ordonnance : votre réponse est rattachée à la demande {request} du dossier de la personne."
    );
    Wording {
        subject: format!(
            "Demande d'ordonnance {} {} {birth}",
            identity.birth_name.to_uppercase(),
            identity.first_given_name
        ),
        text: format!(
            "{greeting}\r\n\r\n{asker} vous demande une ordonnance pour {patient} :\r\n\r\n{}\r\n\r\n{closing}\r\n",
            asked.replace("\r\n", "\n").replace('\n', "\r\n")
        ),
        html: format!(
            "<p>{}</p><p>{} vous demande une ordonnance pour {} :</p><blockquote>{}</blockquote><p>{}</p>",
            escape(&greeting),
            escape(&asker),
            escape(&patient),
            escape(asked).replace('\n', "<br/>"),
            escape(&closing)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_the_patient_the_asker_and_the_request_and_escapes_html() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/examples/home-volet2-pays-de-la-loire.json");
        let mut record: CrtRecord =
            serde_json::from_slice(&std::fs::read(path).expect("example")).expect("record");
        record.beneficiary.identity.birth_date = "1938-04-17".into();
        let physician = record.professional("pro-mt").expect("GP").clone();
        let nurse = record.professional("pro-ide-coord").cloned();
        let words = wording(
            &record,
            &physician,
            nurse.as_ref(),
            "ORD-42",
            "Soins infirmiers <pansements>\nun mois",
        );
        assert!(words.subject.starts_with("Demande d'ordonnance "));
        assert!(words.subject.ends_with("17/04/1938"));
        assert!(words.text.contains("Bonjour Docteur Bernard,"));
        assert!(words.text.contains("Sophie Petit"));
        assert!(words.text.contains("ORD-42"));
        assert!(words.text.contains("<pansements>\r\nun mois"));
        assert!(words.html.contains("&lt;pansements&gt;<br/>un mois"));
        assert!(!words.html.contains("<pansements>"));
    }
}
