//! Request envelopes, byte for byte what is sent.

use chrono::{SecondsFormat, Utc};
use crt_core::xml::XmlWriter;
use uuid::Uuid;

use crate::message::{CTXBAM, CTXLPS, LpsContext, Query, RECSANS, RECVIT, SOAP12, WSA};

/// The SOAP 1.2 envelope of a search. `message_id` names the exchange in the WS-Addressing
/// and context headers.
pub fn request(query: &Query, context: &LpsContext, message_id: Uuid) -> Vec<u8> {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let id = message_id.to_string();
    let mut w = XmlWriter::new();
    w.declaration().open(
        "soap:Envelope",
        &[
            ("xmlns:soap", SOAP12),
            ("xmlns:ctxbam", CTXBAM),
            ("xmlns:ctxlps", CTXLPS),
            ("xmlns:wsa", WSA),
        ],
    );
    w.open("soap:Header", &[]);
    w.open("ctxbam:ContexteBAM", &[("Version", "01_02")])
        .leaf("ctxbam:Id", &[], &id)
        .leaf("ctxbam:Temps", &[], &now)
        .leaf("ctxbam:Emetteur", &[], &context.emitter)
        .empty("ctxbam:COUVERTURE", &[])
        .close("ctxbam:ContexteBAM");
    w.open(
        "ctxlps:ContexteLPS",
        &[("Nature", "CTXLPS"), ("Version", "01_00")],
    )
    .leaf("ctxlps:Id", &[], &id)
    .leaf("ctxlps:Temps", &[], &now)
    .leaf("ctxlps:Emetteur", &[], &context.emitter)
    .open("ctxlps:LPS", &[])
    .leaf("ctxlps:IDAM", &[("R", "4")], &context.idam)
    .leaf("ctxlps:Version", &[], &context.software_version)
    .leaf("ctxlps:Instance", &[], &context.instance)
    .leaf(
        "ctxlps:Nom",
        &[],
        &format!(
            "urn:lps:{}:{}",
            context.software_name, context.software_version
        ),
    )
    .close("ctxlps:LPS")
    .close("ctxlps:ContexteLPS");
    w.leaf("wsa:Action", &[], query.action())
        .leaf("wsa:MessageID", &[], &format!("uuid:{id}"))
        .close("soap:Header");
    w.open("soap:Body", &[]);
    match query {
        Query::Traits(traits) => {
            w.open("ins:RECSANSVITALE", &[("xmlns:ins", RECSANS)])
                .leaf("ins:NomNaissance", &[], &traits.birth_name)
                .leaf("ins:Prenom", &[], traits.first_given_name())
                .leaf("ins:Sexe", &[], traits.sex)
                .leaf("ins:DateNaissance", &[], &traits.birth_date);
            if let Some(place) = &traits.birth_place {
                w.leaf("ins:LieuNaissance", &[], place);
            }
            w.close("ins:RECSANSVITALE");
        }
        Query::Vitale(vitale) => {
            w.open("vit:RECVITALE", &[("xmlns:vit", RECVIT)]);
            for (element, matricule) in [
                ("vit:MatriculeIndividu", &vitale.individual),
                ("vit:MatriculeOD", &vitale.insured),
            ] {
                if let Some(matricule) = matricule {
                    w.open(element, &[])
                        .leaf("vit:NumIdentifiant", &[], &matricule.number)
                        .leaf("vit:Cle", &[], &matricule.key)
                        .leaf("vit:TypeMatricule", &[], "NIR")
                        .close(element);
                }
            }
            if let Some(name) = &vitale.birth_name {
                w.leaf("vit:NomNaissance", &[], name);
            }
            w.leaf("vit:DateNaissance", &[], &vitale.birth_date);
            if let Some(rank) = &vitale.birth_rank {
                w.leaf("vit:RangNaissance", &[], rank);
            }
            w.close("vit:RECVITALE");
        }
    }
    w.close("soap:Body").close("soap:Envelope");
    w.finish()
}

/// The `Content-Type` of a SOAP 1.2 request carries its action.
pub fn content_type(query: &Query) -> String {
    format!(
        "application/soap+xml; charset=utf-8; action=\"{}\"",
        query.action()
    )
}
