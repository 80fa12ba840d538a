//! The INSi simulator: an HTTPS SOAP 1.2 server on loopback that speaks the teleservice's
//! protocol, for tests and the sandbox.
//!
//! It refuses what the real service refuses: a TLS client without a certificate from the
//! trusted chain (or a revoked or expired one) fails the handshake; a certificate whose CN
//! is not `INSI-AUTO` or `INSI-MANU` gets a fault; a request that breaks the message rules
//! ([`crate::rules::read_request`]), or whose `Emetteur` is not the structure of the client
//! certificate (its subject OU, as a structure's INSi certificate names it), gets a
//! `Sender` fault; SOAP 1.1 gets `VersionMismatch`.
//! Well-formed searches are answered from a fixture population. The subcodes of the faults
//! it raises for malformed requests (`sim_*`) are its own: the real codes for those cases
//! are not public.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
pub use crt_core::simulate::SimulatorTls;
use crt_core::simulate::{self, Peer};
use crt_core::tls::TlsError;
use crt_core::xml::XmlWriter;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::message::{Matricule, RESULTAT, SOAP12, VitaleQuery};
use crate::rules::{InsiRequest, RequestFault, read_request};
use crt_core::identity::traits::NormalisedTraits;

/// CNs the teleservice accepts on organisation certificates.
pub const ACCEPTED_CNS: [&str; 2] = ["INSI-AUTO", "INSI-MANU"];
const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub ins: String,
    pub oid: String,
    pub birth_name: String,
    pub given_names: Vec<String>,
    pub sex: String,
    pub birth_date: String,
    pub birth_place: Option<String>,
    #[serde(default)]
    pub history: Vec<FormerIns>,
    /// The insured person (*ouvrant droit*) whose Carte Vitale carries this person, when
    /// it is not her own.
    #[serde(default)]
    pub insured: Option<String>,
    /// Her rank on that card.
    #[serde(default = "first_rank")]
    pub birth_rank: u8,
    /// `unavailable`: answer a Receiver fault (service temporarily unavailable).
    #[serde(default)]
    pub fault: Option<String>,
}

fn first_rank() -> u8 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormerIns {
    pub ins: String,
    pub oid: String,
}

/// The identities the simulator knows.
#[derive(Debug, Clone, Deserialize)]
pub struct Population {
    pub people: Vec<Person>,
}

impl Population {
    /// The population shipped in `adapters/ins/fixtures/population.json`.
    pub fn sandbox() -> Population {
        serde_json::from_str(include_str!("../fixtures/population.json"))
            .expect("the shipped population is valid")
    }

    fn by_traits(&self, query: &NormalisedTraits) -> Vec<&Person> {
        self.people
            .iter()
            .filter(|p| {
                p.birth_name == query.birth_name
                    && p.sex == query.sex
                    && p.birth_date == query.birth_date
                    // `Prenom` names the first birth given name, or the whole list.
                    && (p.given_names.first().map(String::as_str) == Some(query.first_given_name())
                        || p.given_names.join(" ") == query.first_given_name())
                    && query
                        .birth_place
                        .as_ref()
                        .is_none_or(|place| p.birth_place.as_ref() == Some(place))
            })
            .collect()
    }

    /// A card finds the person by her own matricule when it carries one, else by the
    /// insured person's matricule and her birth date and rank on that card.
    fn by_vitale(&self, query: &VitaleQuery) -> Vec<&Person> {
        let individual = query.individual.as_ref().map(Matricule::joined);
        let insured = query.insured.as_ref().map(Matricule::joined);
        let rank = query.birth_rank.as_deref().unwrap_or("1");
        self.people
            .iter()
            .filter(|p| {
                let known_as =
                    |number: &str| p.ins == number || p.history.iter().any(|h| h.ins == number);
                let by_card = match (&individual, &insured) {
                    (Some(own), _) => known_as(own),
                    (None, Some(insured)) => {
                        let holder = p.insured.as_deref().is_none_or(|i| i == insured)
                            && (p.insured.is_some() || known_as(insured));
                        holder && p.birth_rank.to_string() == rank
                    }
                    (None, None) => false,
                };
                by_card
                    && p.birth_date == query.birth_date
                    && query
                        .birth_name
                        .as_ref()
                        .is_none_or(|name| *name == p.birth_name)
            })
            .collect()
    }
}

pub struct InsiSimulator {
    population: Arc<Population>,
    acceptor: TlsAcceptor,
}

/// A running simulator.
pub struct RunningInsi {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

impl RunningInsi {
    /// The teleservice URL to configure in the INS sink.
    pub fn url(&self) -> String {
        format!("https://localhost:{}/insi", self.addr.port())
    }
}

impl InsiSimulator {
    pub fn new(files: &SimulatorTls, population: Population) -> Result<Self, TlsError> {
        Ok(InsiSimulator {
            population: Arc::new(population),
            acceptor: files.acceptor()?,
        })
    }

    /// Listens on `addr` (port 0 for any free port) until the task is aborted.
    pub async fn start(self, addr: SocketAddr) -> std::io::Result<RunningInsi> {
        let population = self.population;
        let running = simulate::serve(addr, self.acceptor, move |request, peer: Arc<Peer>| {
            let population = population.clone();
            async move {
                let authorised = peer
                    .common_name()
                    .is_some_and(|cn| ACCEPTED_CNS.contains(&cn.as_str()));
                let structure = peer.id_nat_struct();
                answer(request, authorised, structure.as_deref(), &population).await
            }
        })
        .await?;
        Ok(RunningInsi {
            addr: running.addr,
            task: running.task,
        })
    }
}

async fn answer(
    request: Request<Incoming>,
    authorised: bool,
    structure: Option<&str>,
    population: &Population,
) -> Response<Full<Bytes>> {
    if request.method() != Method::POST {
        return fault_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "Sender",
            "sim_method",
            "only POST is served",
        );
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !content_type.starts_with("application/soap+xml") {
        return fault_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "VersionMismatch",
            "sim_content_type",
            "SOAP 1.2 requests are application/soap+xml",
        );
    }
    if !authorised {
        return fault_response(
            StatusCode::FORBIDDEN,
            "Sender",
            "sim_certificate",
            "the client certificate is not an INSi certificate (CN INSI-AUTO or INSI-MANU)",
        );
    }
    let body = match Limited::new(request.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return fault_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Sender",
                "sim_size",
                "request too large",
            );
        }
    };
    let matches = match read_request(&body, structure) {
        Ok(InsiRequest::Traits(query)) => population.by_traits(&query),
        Ok(InsiRequest::Vitale(query)) => population.by_vitale(&query),
        Err(RequestFault { code, reason }) => {
            let status = if code == "Sender" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            return fault_response(status, code, "sim_request", &reason);
        }
    };
    match matches.as_slice() {
        [person] if person.fault.as_deref() == Some("unavailable") => fault_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Receiver",
            "siram_40",
            "Le service est temporairement inaccessible. Veuillez renouveler votre demande ultérieurement.",
        ),
        [person] => soap_response(StatusCode::OK, found(person)),
        [] => soap_response(StatusCode::OK, result_code("01", "Aucune identite trouvee")),
        _ => soap_response(
            StatusCode::OK,
            result_code("02", "Plusieurs identites trouvees"),
        ),
    }
}

fn envelope(body: impl FnOnce(&mut XmlWriter)) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.declaration()
        .open("soap:Envelope", &[("xmlns:soap", SOAP12)])
        .open("soap:Body", &[]);
    body(&mut w);
    w.close("soap:Body").close("soap:Envelope");
    w.finish()
}

fn result_code(code: &str, label: &str) -> Vec<u8> {
    envelope(|w| {
        w.open("RESULTAT", &[("xmlns", RESULTAT)])
            .open("CR", &[])
            .leaf("CodeCR", &[], code)
            .leaf("LibelleCR", &[], label)
            .close("CR")
            .close("RESULTAT");
    })
}

/// The answer for one identity found (`CodeCR 00`), as the teleservice writes it.
pub fn found(person: &Person) -> Vec<u8> {
    envelope(|w| {
        w.open("RESULTAT", &[("xmlns", RESULTAT)])
            .open("CR", &[])
            .leaf("CodeCR", &[], "00")
            .leaf("LibelleCR", &[], "OK")
            .close("CR")
            .open("INDIVIDU", &[]);
        w.open("INSACTIF", &[]);
        id_individu(w, &person.ins, false);
        w.leaf("OID", &[], &person.oid).close("INSACTIF");
        for former in &person.history {
            w.open("INSHISTO", &[]);
            id_individu(w, &former.ins, true);
            w.leaf("OID", &[], &former.oid).close("INSHISTO");
        }
        w.open("TIQ", &[])
            .leaf("NomNaissance", &[], &person.birth_name)
            .leaf(
                "Prenom",
                &[],
                person.given_names.first().map_or("", String::as_str),
            )
            .leaf("ListePrenom", &[], &person.given_names.join(" "))
            .leaf("Sexe", &[], &person.sex)
            .leaf("DateNaissance", &[], &person.birth_date);
        if let Some(place) = &person.birth_place {
            w.leaf("LieuNaissance", &[], place);
        }
        w.close("TIQ").close("INDIVIDU").close("RESULTAT");
    })
}

fn id_individu(w: &mut XmlWriter, ins: &str, typed: bool) {
    let (matricule, key) = ins.split_at(ins.len().min(13));
    w.open("IdIndividu", &[])
        .leaf("NumIdentifiant", &[], matricule)
        .leaf("Cle", &[], key);
    if typed {
        w.leaf("TypeMatricule", &[], "NIR");
    }
    w.close("IdIndividu");
}

fn fault_response(
    status: StatusCode,
    code: &str,
    subcode: &str,
    reason: &str,
) -> Response<Full<Bytes>> {
    soap_response(
        status,
        crt_core::soap::fault_envelope(code, subcode, reason, Some(subcode)),
    )
}

fn soap_response(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/soap+xml; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}
