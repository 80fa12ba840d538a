//! Conformance rules for INS data, used by the gateway's validation and by the INSi
//! simulator (one source of truth for what a well-formed request is).

use crt_core::CrtRecord;
use crt_core::validation::{RecordRule, Violations};
use crt_core::xml::{self, Element, Limits};

use crate::message::{
    ACTION_TRAITS, ACTION_VITALE, CTXBAM, CTXLPS, Matricule, RECSANS, RECVIT, SOAP11, SOAP12,
    VitaleQuery, WSA,
};
use crate::number::InsNumber;
use crt_core::identity::traits::{self, NormalisedTraits, TraitError};

/// Record rules: the INS number's key and OID, and traits the INS can work with.
pub struct InsRecordRule;

impl RecordRule for InsRecordRule {
    fn check(&self, record: &CrtRecord, out: &mut Violations) {
        let beneficiary = &record.beneficiary;
        if let Some(ins) = &beneficiary.ins {
            match InsNumber::parse(&ins.number) {
                Ok(number) => {
                    if let Err(e) = number.check_oid(ins.oid) {
                        out.push("/beneficiary/ins/oid", "ins-oid", e.to_string());
                    }
                }
                Err(e) => out.push("/beneficiary/ins/number", "ins-number", e.to_string()),
            }
        }
        if let Some(card) = &beneficiary.carte_vitale {
            let numbers = std::iter::once(("insured_number", Some(&card.insured_number))).chain(
                std::iter::once(("beneficiary_number", card.beneficiary_number.as_ref())),
            );
            for (field, number) in numbers {
                if let Some(Err(e)) = number.map(|n| InsNumber::parse(n)) {
                    out.push(
                        format!("/beneficiary/carte_vitale/{field}"),
                        "ins-number",
                        e.to_string(),
                    );
                }
            }
        }
        // The INS knows two sexes: an identity of undetermined sex can be neither checked
        // with the teleservice nor qualified, so it is refused, not sent.
        let identity = &beneficiary.identity;
        if identity.sex == crt_core::record::Sex::Undetermined {
            out.push(
                "/beneficiary/identity/sex",
                "ins-sex",
                "the INS records the sex as M or F: an identity of undetermined sex (I) cannot be checked with the INSi teleservice nor qualified",
            );
        }
        // Names only: dates and places are the record rules' own checks.
        let names = std::iter::once(("birth_name".to_string(), &identity.birth_name))
            .chain(std::iter::once((
                "first_given_name".to_string(),
                &identity.first_given_name,
            )))
            .chain(
                identity
                    .birth_given_names
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (format!("birth_given_names/{i}"), name)),
            );
        for (field, value) in names {
            if let Err(e) = traits::normalise_name("name", value) {
                let reason = match e {
                    TraitError::Character { position, .. } => {
                        format!("character {position} is not a letter, space, apostrophe or hyphen")
                    }
                    TraitError::Empty(_) => "nothing is left once normalised".to_string(),
                    TraitError::Form { message, .. } => message.to_string(),
                };
                out.push(
                    format!("/beneficiary/identity/{field}"),
                    "ins-traits",
                    format!("cannot be put in the form the INS requires: {reason}"),
                );
            }
        }
    }
}

/// A request as the teleservice receives it.
#[derive(Clone)]
pub enum InsiRequest {
    Traits(NormalisedTraits),
    Vitale(VitaleQuery),
}

/// Why a request is refused: the fault the teleservice answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFault {
    /// SOAP 1.2 fault code: `VersionMismatch` or `Sender`.
    pub code: &'static str,
    pub reason: String,
}

fn sender(reason: impl Into<String>) -> RequestFault {
    RequestFault {
        code: "Sender",
        reason: reason.into(),
    }
}

/// Reads and checks a request: SOAP 1.2 envelope, context headers, WS-Addressing action,
/// body matching the action, traits in INS form.
pub fn read_request(bytes: &[u8], structure: Option<&str>) -> Result<InsiRequest, RequestFault> {
    let limits = Limits {
        max_bytes: 64 * 1024,
        max_depth: 16,
        max_elements: 200,
    };
    let envelope =
        xml::parse(bytes, limits).map_err(|e| sender(format!("unreadable request: {e}")))?;
    if envelope.is(SOAP11, "Envelope")
        || (envelope.name == "Envelope" && !envelope.is(SOAP12, "Envelope"))
    {
        return Err(RequestFault {
            code: "VersionMismatch",
            reason: "the envelope is not in the SOAP 1.2 namespace".into(),
        });
    }
    if !envelope.is(SOAP12, "Envelope") {
        return Err(sender("the root element is not a SOAP Envelope"));
    }
    let header = envelope
        .child(SOAP12, "Header")
        .ok_or_else(|| sender("SOAP Header missing"))?;
    for emitter in [check_bam(header)?, check_lps(header)?] {
        if let Some(structure) = structure
            && emitter != structure
        {
            return Err(sender(format!(
                "Emetteur {emitter} is not the structure of the client certificate ({structure})"
            )));
        }
    }
    let action = header
        .child_text(WSA, "Action")
        .ok_or_else(|| sender("wsa:Action missing"))?;
    if header
        .child_text(WSA, "MessageID")
        .is_none_or(str::is_empty)
    {
        return Err(sender("wsa:MessageID missing"));
    }
    let body = envelope
        .child(SOAP12, "Body")
        .ok_or_else(|| sender("SOAP Body missing"))?;
    let [payload] = body.children.as_slice() else {
        return Err(sender("the Body must hold exactly one element"));
    };
    match action {
        ACTION_TRAITS if payload.is(RECSANS, "RECSANSVITALE") => {
            traits_request(payload).map(InsiRequest::Traits)
        }
        ACTION_VITALE if payload.is(RECVIT, "RECVITALE") => {
            vitale_request(payload).map(InsiRequest::Vitale)
        }
        ACTION_TRAITS | ACTION_VITALE => Err(sender(format!(
            "the Body element {{{}}}{} does not match the action {action}",
            payload.namespace.as_deref().unwrap_or(""),
            payload.name
        ))),
        other => Err(sender(format!("unknown action {other}"))),
    }
}

/// Checks the `ContexteBAM` header; returns its `Emetteur`.
fn check_bam(header: &Element) -> Result<&str, RequestFault> {
    let bam = header
        .child(CTXBAM, "ContexteBAM")
        .ok_or_else(|| sender("ContexteBAM header missing"))?;
    if bam.attribute("Version") != Some("01_02") {
        return Err(sender("ContexteBAM Version must be 01_02"));
    }
    for field in ["Id", "Emetteur"] {
        if bam.child_text(CTXBAM, field).is_none_or(str::is_empty) {
            return Err(sender(format!("ContexteBAM/{field} missing")));
        }
    }
    check_time(bam.child_text(CTXBAM, "Temps"), "ContexteBAM/Temps")?;
    Ok(bam.child_text(CTXBAM, "Emetteur").unwrap_or_default())
}

/// Checks the `ContexteLPS` header; returns its `Emetteur`.
fn check_lps(header: &Element) -> Result<&str, RequestFault> {
    let lps = header
        .child(CTXLPS, "ContexteLPS")
        .ok_or_else(|| sender("ContexteLPS header missing"))?;
    if lps.attribute("Nature") != Some("CTXLPS") || lps.attribute("Version") != Some("01_00") {
        return Err(sender(
            "ContexteLPS must have Nature=\"CTXLPS\" and Version=\"01_00\"",
        ));
    }
    for field in ["Id", "Emetteur"] {
        if lps.child_text(CTXLPS, field).is_none_or(str::is_empty) {
            return Err(sender(format!("ContexteLPS/{field} missing")));
        }
    }
    check_time(lps.child_text(CTXLPS, "Temps"), "ContexteLPS/Temps")?;
    let software = lps
        .child(CTXLPS, "LPS")
        .ok_or_else(|| sender("ContexteLPS/LPS missing"))?;
    let idam = software
        .child(CTXLPS, "IDAM")
        .ok_or_else(|| sender("ContexteLPS/LPS/IDAM missing"))?;
    if idam.attribute("R") != Some("4") || idam.text.trim().is_empty() {
        return Err(sender(
            "ContexteLPS/LPS/IDAM must carry R=\"4\" and the authorisation number",
        ));
    }
    if software
        .child_text(CTXLPS, "Version")
        .is_none_or(str::is_empty)
    {
        return Err(sender("ContexteLPS/LPS/Version missing"));
    }
    if software
        .child_text(CTXLPS, "Instance")
        .is_none_or(|instance| uuid::Uuid::parse_str(instance).is_err())
    {
        return Err(sender(
            "ContexteLPS/LPS/Instance must be the UUID of the installation",
        ));
    }
    match software.child_text(CTXLPS, "Nom") {
        Some(name) if name.starts_with("urn:lps:") && name.len() > 8 => {
            Ok(lps.child_text(CTXLPS, "Emetteur").unwrap_or_default())
        }
        _ => Err(sender(
            "ContexteLPS/LPS/Nom must be urn:lps:<name>:<version>",
        )),
    }
}

fn check_time(value: Option<&str>, field: &str) -> Result<(), RequestFault> {
    match value {
        Some(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok() => Ok(()),
        Some(_) => Err(sender(format!("{field} is not a date-time (RFC 3339)"))),
        None => Err(sender(format!("{field} missing"))),
    }
}

const RECSANS_FIELDS: [&str; 5] = [
    "NomNaissance",
    "Prenom",
    "Sexe",
    "DateNaissance",
    "LieuNaissance",
];

fn traits_request(payload: &Element) -> Result<NormalisedTraits, RequestFault> {
    if let Some(unknown) = payload.children.iter().find(|c| {
        c.namespace.as_deref() != Some(RECSANS) || !RECSANS_FIELDS.contains(&c.name.as_str())
    }) {
        return Err(sender(format!(
            "unexpected element {} in RECSANSVITALE",
            unknown.name
        )));
    }
    let one = |name: &str| {
        let mut values = payload.children(RECSANS, name);
        match (values.next(), values.next()) {
            (Some(value), None) => Ok(value.text.trim().to_string()),
            (None, _) => Err(sender(format!("RECSANSVITALE/{name} missing"))),
            (Some(_), Some(_)) => Err(sender(format!("RECSANSVITALE/{name} repeated"))),
        }
    };
    let birth_name = in_ins_form("NomNaissance", &one("NomNaissance")?)?;
    let given_names = payload
        .children(RECSANS, "Prenom")
        .map(|p| in_ins_form("Prenom", p.text.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    if given_names.is_empty() {
        return Err(sender("RECSANSVITALE/Prenom missing"));
    }
    let sex = match one("Sexe")?.as_str() {
        "M" => "M",
        "F" => "F",
        "I" => "I",
        _ => return Err(sender("RECSANSVITALE/Sexe must be M, F or I")),
    };
    let birth_date = one("DateNaissance")?;
    let place = payload
        .child_text(RECSANS, "LieuNaissance")
        .map(str::to_string);
    // The record-side checks of dates and places apply to the wire as they are.
    let probe = crt_core::record::IdentityTraits {
        birth_name: birth_name.clone(),
        used_name: None,
        birth_given_names: given_names.clone(),
        first_given_name: given_names[0].clone(),
        used_given_name: None,
        sex: crt_core::record::Sex::Male,
        birth_date,
        birth_place_code: place,
    };
    let checked = traits::normalise(&probe).map_err(|e| sender(format!("RECSANSVITALE: {e}")))?;
    Ok(NormalisedTraits { sex, ..checked })
}

/// Names on the wire must already be in INS form: the teleservice does not guess.
fn in_ins_form(field: &str, value: &str) -> Result<String, RequestFault> {
    match traits::normalise_name("name", value) {
        Ok(normalised) if normalised == value => Ok(normalised),
        _ => Err(sender(format!(
            "RECSANSVITALE/{field} is not in INS form (upper-case A-Z, space, apostrophe, hyphen)"
        ))),
    }
}

fn vitale_request(payload: &Element) -> Result<VitaleQuery, RequestFault> {
    let matricule = |name: &str| -> Result<Option<Matricule>, RequestFault> {
        let Some(element) = payload.child(RECVIT, name) else {
            return Ok(None);
        };
        let number = element.child_text(RECVIT, "NumIdentifiant").unwrap_or("");
        let key = element.child_text(RECVIT, "Cle").unwrap_or("");
        InsNumber::from_parts(number, key).map_err(|e| sender(format!("RECVITALE/{name}: {e}")))?;
        Ok(Some(Matricule {
            number: number.to_string(),
            key: key.to_string(),
        }))
    };
    let individual = matricule("MatriculeIndividu")?;
    let insured = matricule("MatriculeOD")?;
    if individual.is_none() && insured.is_none() {
        return Err(sender("RECVITALE needs MatriculeIndividu or MatriculeOD"));
    }
    let birth_date = payload
        .child_text(RECVIT, "DateNaissance")
        .ok_or_else(|| sender("RECVITALE/DateNaissance missing"))?;
    Ok(VitaleQuery {
        individual,
        insured,
        birth_name: payload
            .child_text(RECVIT, "NomNaissance")
            .map(str::to_string),
        birth_date: birth_date.to_string(),
        birth_rank: payload
            .child_text(RECVIT, "RangNaissance")
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode;
    use crate::message::{LpsContext, Query};

    fn context() -> LpsContext {
        LpsContext {
            idam: "IDAM-1".into(),
            software_name: "crt-gateway".into(),
            software_version: "0.1.0".into(),
            emitter: "crt@example".into(),
            instance: "6f1b2c2e-5c7a-4f3e-9d0b-2a8e4c1d7b90".into(),
        }
    }

    fn traits() -> NormalisedTraits {
        NormalisedTraits {
            birth_name: "D'AEION".into(),
            given_names: vec!["COEUR".into()],
            sex: "M",
            birth_date: "1987-01-25".into(),
            birth_place: None,
        }
    }

    fn request() -> String {
        String::from_utf8(encode::request(
            &Query::Traits(traits()),
            &context(),
            uuid::Uuid::nil(),
        ))
        .unwrap()
    }

    #[test]
    fn the_client_request_is_what_the_service_accepts() {
        match read_request(request().as_bytes(), None) {
            Ok(InsiRequest::Traits(read)) => assert_eq!(read, traits()),
            Ok(_) => panic!("wrong kind"),
            Err(fault) => panic!("{fault:?}"),
        }
        let vitale = Query::Vitale(VitaleQuery {
            individual: Matricule::of("279035121518989"),
            insured: None,
            birth_name: Some("PAT-TROIS".into()),
            birth_date: "1979-03-28".into(),
            birth_rank: Some("1".into()),
        });
        let bytes = encode::request(&vitale, &context(), uuid::Uuid::nil());
        assert!(matches!(
            read_request(&bytes, None),
            Ok(InsiRequest::Vitale(_))
        ));
    }

    #[test]
    fn each_defect_gets_a_fault() {
        let good = request();
        let cases = [
            (good.replace(SOAP12, SOAP11), "VersionMismatch"),
            (
                good.replace("Version=\"01_02\"", "Version=\"01_01\""),
                "Sender",
            ),
            (
                good.replace("ctxlps:ContexteLPS", "ctxlps:AutreContexte"),
                "Sender",
            ),
            (good.replace("R=\"4\"", "R=\"3\""), "Sender"),
            (
                good.replace(RECSANS, "http://www.cnamts.fr/Autre"),
                "Sender",
            ),
            (good.replace(">1987-01-25<", ">25/01/1987<"), "Sender"),
            (good.replace(">D'AEION<", ">d'Aeion<"), "Sender"),
            (good.replace(">M<", ">X<"), "Sender"),
            (good.replace(ACTION_TRAITS, ACTION_VITALE), "Sender"),
            (good.replace("wsa:MessageID", "wsa:RelatesTo"), "Sender"),
            (
                good.replace("<ins:Sexe>", "<ins:Autre>x</ins:Autre><ins:Sexe>"),
                "Sender",
            ),
        ];
        for (request, code) in cases {
            let fault = match read_request(request.as_bytes(), None) {
                Err(fault) => fault,
                Ok(_) => panic!("accepted: {request}"),
            };
            assert_eq!(fault.code, code, "{}", fault.reason);
        }
    }
}
