//! An Annuaire Santé FHIR API on loopback, for tests and the sandbox.
//!
//! It serves what the care-circle check asks for, as the API answers it: the
//! `ESANTE-API-KEY` header is required (401 otherwise), `GET /fhir/v2/Practitioner` by
//! `identifier` (idNat_PS or RPPS system, or none; `,` for OR) with or without
//! `_revinclude=PractitionerRole:practitioner` answers a searchset Bundle, empty when no
//! one matches, and a malformed parameter gets a 400 OperationOutcome. Resources follow the
//! public-data profiles (`as-dp-practitioner`, `as-dp-practitionerrole`): the profession
//! in `Practitioner.qualification`, the MSSanté mailbox on the PractitionerRole with its
//! email-type and metadata extensions; an inactive practitioner carries only its
//! identifiers and `active`, and no role.
//!
//! The real API runs behind an API gateway whose 401 body ANS does not document; the
//! simulator answers an OperationOutcome, and the client reads either. Like the real API,
//! it does not ask for client certificates.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use crt_core::oauth::parse_form;
use crt_core::record::Professional;
pub use crt_core::simulate::SimulatorTls;
use crt_core::simulate::fhir::{instant_now, refuse, resource, searchset};
use crt_core::simulate::{self, Peer};
use crt_core::tls::TlsError;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::codes::{
    API_KEY_HEADER, CATEGORY_SYSTEM, EMAIL_TYPE_EXTENSION, ID_NAT_PS_SYSTEM,
    IDENTIFIER_TYPE_SYSTEM, MAILBOX_KIND_SYSTEM, MAILBOX_METADATA_EXTENSION, MESSAGING_TYPE_SYSTEM,
    MSSANTE, PERSONAL_MAILBOX, PRACTITIONER_PROFILE, PRACTITIONER_ROLE_PROFILE, PROFESSION_SYSTEM,
    REVINCLUDE_ROLES, RPPS_SYSTEM,
};

/// The API key the simulator accepts.
pub const SANDBOX_API_KEY: &str = "sandbox-annuaire-api-key";
/// Where the API is served, as in production.
pub const BASE_PATH: &str = "/fhir/v2";
/// Values of one `identifier` parameter served (`a,b,c`).
const MAX_IDENTIFIERS: usize = 50;
const MAX_IDENTIFIER: usize = 20;
/// Where the live API says its data come from.
const SOURCE: &str = "https://annuaire.sante.fr";
const FR_CORE_PRACTITIONER: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner";
const FR_CORE_PRACTITIONER_ROLE: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner-role";

/// A practitioner the simulated directory lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// `8` + RPPS.
    pub id_nat_ps: String,
    pub family: String,
    pub given: String,
    /// TRE_G15; `None` for staff registered under other tables.
    pub profession_g15: Option<String>,
    pub active: bool,
    /// Their MSSanté mailbox (kind `PER`), on their role.
    pub mailbox: Option<String>,
}

impl Person {
    /// A care-circle member as the directory would list them: active, with the record's
    /// profession and mailbox. `None` without an RPPS.
    pub fn from_care_circle(member: &Professional) -> Option<Person> {
        let rpps = member
            .rpps
            .as_deref()
            .filter(|r| r.len() == 11 && r.bytes().all(|b| b.is_ascii_digit()))?;
        Some(Person {
            id_nat_ps: format!("8{rpps}"),
            family: member.family_name.to_uppercase(),
            given: member.given_name.clone(),
            profession_g15: member
                .profession
                .g15_code()
                .map(|(code, _)| code.to_string()),
            active: true,
            mailbox: member.mssante_address.clone(),
        })
    }

    fn rpps(&self) -> Option<&str> {
        self.id_nat_ps.strip_prefix('8')
    }

    fn practitioner_id(&self) -> String {
        format!("003-{}", self.id_nat_ps)
    }

    fn practitioner(&self) -> Value {
        let typed = |code: &str, system: &str, value: &str| {
            json!({
                "use": "official",
                "type": {"coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": code}]},
                "system": system,
                "value": value,
            })
        };
        let mut identifiers = vec![typed("IDNPS", ID_NAT_PS_SYSTEM, &self.id_nat_ps)];
        if let Some(rpps) = self.rpps() {
            identifiers.push(typed("RPPS", RPPS_SYSTEM, rpps));
        }
        let mut practitioner = json!({
            "resourceType": "Practitioner",
            "id": self.practitioner_id(),
            "meta": meta(FR_CORE_PRACTITIONER, PRACTITIONER_PROFILE),
            "identifier": identifiers,
            "active": self.active,
        });
        // The public data of a practitioner who left keep only what tells clients so.
        if !self.active {
            return practitioner;
        }
        practitioner["name"] =
            json!([{"use": "usual", "family": self.family, "given": [self.given]}]);
        if let Some(code) = &self.profession_g15 {
            practitioner["qualification"] = json!([{"code": {"coding": [
                {"system": PROFESSION_SYSTEM, "code": code},
                {"system": CATEGORY_SYSTEM, "code": "C"},
            ]}}]);
        }
        practitioner
    }

    /// Their one place of practice, where their mailbox is listed.
    fn role(&self) -> Option<Value> {
        if !self.active {
            return None;
        }
        let digits: String = self.id_nat_ps.chars().rev().take(9).collect();
        let situation: String = std::iter::once('1').chain(digits.chars().rev()).collect();
        let mut role = json!({
            "resourceType": "PractitionerRole",
            "id": format!("005-{}", self.id_nat_ps),
            "meta": meta(FR_CORE_PRACTITIONER_ROLE, PRACTITIONER_ROLE_PROFILE),
            "identifier": [{"system": RPPS_SYSTEM, "value": situation}],
            "active": true,
            "practitioner": {"reference": format!("Practitioner/{}", self.practitioner_id())},
        });
        if let Some(address) = &self.mailbox {
            role["telecom"] = json!([mailbox(address)]);
        }
        Some(role)
    }
}

fn meta(fr_core: &str, profile: &str) -> Value {
    json!({"lastUpdated": instant_now(), "source": SOURCE, "profile": [fr_core, profile]})
}

/// A personal MSSanté mailbox as `as-mailbox-mss` shapes it.
fn mailbox(address: &str) -> Value {
    json!({
        "extension": [
            {
                "url": EMAIL_TYPE_EXTENSION,
                "valueCoding": {"system": MESSAGING_TYPE_SYSTEM, "code": MSSANTE},
            },
            {
                "url": MAILBOX_METADATA_EXTENSION,
                "extension": [
                    {"url": "type", "valueCodeableConcept": {"coding": [
                        {"system": MAILBOX_KIND_SYSTEM, "code": PERSONAL_MAILBOX},
                    ]}},
                    {"url": "listeRouge", "valueBoolean": false},
                ],
            },
        ],
        "system": "email",
        "value": address,
        "rank": 1,
    })
}

/// People of the sandbox's directory beside those of the records it loads:
/// `(RPPS, family, given, TRE_G15, mailbox)`.
const SANDBOX_EXTRAS: &[(&str, &str, &str, &str, &str)] = &[
    // A home nurse whose mailbox the directory lists.
    (
        "10004567896",
        "ROUX",
        "Julien",
        "60",
        "julien.roux@infirmier.mssante.fr",
    ),
    // The home-care service nurse of the Occitanie example.
    (
        "10007890121",
        "VIDAL",
        "Marc",
        "60",
        "nurse.lauragais@sad-lauragais.mssante.fr",
    ),
];

/// The sandbox's directory before any record's care circle is added to it.
pub fn sandbox_population() -> Vec<Person> {
    SANDBOX_EXTRAS
        .iter()
        .map(|(rpps, family, given, g15, mailbox)| Person {
            id_nat_ps: format!("8{rpps}"),
            family: family.to_string(),
            given: given.to_string(),
            profession_g15: Some(g15.to_string()),
            active: true,
            mailbox: Some(mailbox.to_string()),
        })
        .collect()
}

/// The practitioners the simulator lists, and how many requests it served (tests check
/// what the client's cache saves).
#[derive(Debug, Default)]
pub struct Population {
    people: Mutex<Vec<Person>>,
    requests: AtomicU64,
}

impl Population {
    pub fn new(people: Vec<Person>) -> Population {
        let population = Population::default();
        for person in people {
            population.add(person);
        }
        population
    }

    /// Lists a person, in place of whoever had the same idNat_PS.
    pub fn add(&self, person: Person) {
        let mut people = self
            .people
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        people.retain(|p| p.id_nat_ps != person.id_nat_ps);
        people.push(person);
    }

    /// Requests received, refused ones included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn matching(&self, wanted: &[Wanted]) -> Vec<Person> {
        let people = self
            .people
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        people
            .iter()
            .filter(|p| wanted.iter().any(|w| w.matches(p)))
            .cloned()
            .collect()
    }
}

/// One value of the `identifier` parameter.
enum Wanted {
    IdNatPs(String),
    Rpps(String),
    /// No system given: any identifier of the practitioner.
    Any(String),
    /// A system the directory does not give practitioners: matches no one.
    Other,
}

impl Wanted {
    fn matches(&self, person: &Person) -> bool {
        match self {
            Wanted::IdNatPs(id) => person.id_nat_ps == *id,
            Wanted::Rpps(rpps) => person.rpps() == Some(rpps),
            Wanted::Any(value) => {
                person.id_nat_ps == *value || person.rpps() == Some(value.as_str())
            }
            Wanted::Other => false,
        }
    }
}

/// `[system]|value` tokens separated by commas; the refusal's diagnostics otherwise.
fn identifiers(parameter: &str) -> Result<Vec<Wanted>, &'static str> {
    let tokens: Vec<&str> = parameter.split(',').collect();
    if tokens.len() > MAX_IDENTIFIERS {
        return Err("too many identifier values");
    }
    tokens
        .into_iter()
        .map(|token| {
            let (system, value) = match token.split_once('|') {
                Some((system, value)) => (system, value),
                None => ("", token),
            };
            if value.is_empty()
                || value.len() > MAX_IDENTIFIER
                || !value.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err("identifier: expected [system|]value, the value in letters and digits");
            }
            Ok(match system {
                "" => Wanted::Any(value.to_string()),
                ID_NAT_PS_SYSTEM => Wanted::IdNatPs(value.to_string()),
                RPPS_SYSTEM => Wanted::Rpps(value.to_string()),
                _ => Wanted::Other,
            })
        })
        .collect()
}

pub struct AnnuaireSimulator {
    population: Arc<Population>,
    acceptor: TlsAcceptor,
}

/// A running simulator.
pub struct RunningAnnuaire {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

impl RunningAnnuaire {
    /// The FHIR base to configure as `base_url`.
    pub fn base_url(&self) -> String {
        format!("https://localhost:{}{BASE_PATH}", self.addr.port())
    }
}

impl AnnuaireSimulator {
    /// A simulator presenting the server certificate of `files`, without asking clients
    /// for theirs.
    pub fn new(files: &SimulatorTls, people: Vec<Person>) -> Result<Self, TlsError> {
        let tls = crt_core::tls::server_config(&files.server, None)?;
        Ok(AnnuaireSimulator {
            population: Arc::new(Population::new(people)),
            acceptor: TlsAcceptor::from(tls),
        })
    }

    /// Who it lists; people added while it runs are served at once.
    pub fn population(&self) -> Arc<Population> {
        self.population.clone()
    }

    /// Listens on `addr` (port 0 for any free port) until the task is aborted.
    pub async fn start(self, addr: SocketAddr) -> std::io::Result<RunningAnnuaire> {
        let population = self.population;
        let running = simulate::serve(addr, self.acceptor, move |request, _peer: Arc<Peer>| {
            let population = population.clone();
            async move { answer(request, &population) }
        })
        .await?;
        Ok(RunningAnnuaire {
            addr: running.addr,
            task: running.task,
        })
    }
}

fn answer(request: Request<Incoming>, population: &Population) -> Response<Full<Bytes>> {
    population.requests.fetch_add(1, Ordering::Relaxed);
    let key = request
        .headers()
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok());
    if key != Some(SANDBOX_API_KEY) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "login",
            format!("a valid {API_KEY_HEADER} header is required"),
        );
    }
    if request.method() != Method::GET {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "not-supported",
            "only searches by GET are served",
        );
    }
    match request.uri().path().strip_prefix(BASE_PATH) {
        Some("/Practitioner") => search(request.uri().query().unwrap_or_default(), population),
        _ => refuse(
            StatusCode::NOT_FOUND,
            "not-supported",
            "this simulator serves Practitioner searches only",
        ),
    }
}

fn search(query: &str, population: &Population) -> Response<Full<Bytes>> {
    let bad = |diagnostics: &str| refuse(StatusCode::BAD_REQUEST, "invalid", diagnostics);
    let mut wanted = None;
    let mut with_roles = false;
    for (name, value) in parse_form(query) {
        match name.as_str() {
            "identifier" if wanted.is_some() => {
                return bad("identifier is given once (a comma separates values)");
            }
            "identifier" => match identifiers(&value) {
                Ok(values) => wanted = Some(values),
                Err(diagnostics) => return bad(diagnostics),
            },
            "_revinclude" if value == REVINCLUDE_ROLES => with_roles = true,
            "_revinclude" => return bad("_revinclude: only PractitionerRole:practitioner"),
            "_format" | "_pretty" | "_count" | "_total" => {}
            _ => return bad("unknown search parameter"),
        }
    }
    let Some(wanted) = wanted else {
        return bad("this simulator serves searches by identifier only");
    };
    let people = population.matching(&wanted);
    let roles = if with_roles {
        people.iter().filter_map(Person::role).collect()
    } else {
        Vec::new()
    };
    let practitioners = people.iter().map(Person::practitioner).collect();
    resource(StatusCode::OK, &searchset(practitioners, roles))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::{Path, PathBuf};

    use crt_core::http::HttpsClient;
    use crt_core::simulate::layout;
    use crt_core::tls;

    use super::*;
    use crate::config::AnnuaireConfig;

    pub(crate) fn pki() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example")
    }

    /// A simulator listing `people`, on a free port.
    pub(crate) async fn running(people: Vec<Person>) -> (RunningAnnuaire, Arc<Population>) {
        tls::install_default_provider();
        let simulator =
            AnnuaireSimulator::new(&SimulatorTls::from_pki(&pki()), people).expect("TLS files");
        let population = simulator.population();
        let running = simulator
            .start(([127, 0, 0, 1], 0).into())
            .await
            .expect("listening");
        (running, population)
    }

    /// The section pointed at a running simulator.
    pub(crate) fn sandbox_config(sim: &RunningAnnuaire) -> AnnuaireConfig {
        AnnuaireConfig {
            base_url: Some(sim.base_url()),
            api_key: Some(SANDBOX_API_KEY.into()),
            trust: Some(pki().join(layout::CHAIN)),
            ..AnnuaireConfig::default()
        }
    }

    async fn get(sim: &RunningAnnuaire, path_and_query: &str, key: &str) -> (u16, Value) {
        let tls = tls::client_config(&pki().join(layout::CHAIN), None).expect("trust");
        let http = HttpsClient::new(tls, std::time::Duration::from_secs(5), 1 << 20);
        let url = format!("{}{path_and_query}", sim.base_url());
        let answer = http
            .send(Method::GET, &url, &[(API_KEY_HEADER, key)], Bytes::new())
            .await
            .expect("an answer");
        let body = serde_json::from_slice(&answer.body).expect("JSON");
        (answer.status.as_u16(), body)
    }

    #[tokio::test]
    async fn answers_the_search_with_the_roles_included() {
        let (sim, _) = running(sandbox_population()).await;
        let (status, bundle) = get(
            &sim,
            "/Practitioner?identifier=urn%3Aoid%3A1.2.250.1.71.4.2.1%7C810007890121&_revinclude=PractitionerRole%3Apractitioner",
            SANDBOX_API_KEY,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(bundle["type"], "searchset");
        assert_eq!(bundle["total"], 1);
        let practitioner = &bundle["entry"][0]["resource"];
        assert_eq!(practitioner["identifier"][1]["value"], "10007890121");
        assert_eq!(
            practitioner["qualification"][0]["code"]["coding"][0]["code"],
            "60"
        );
        let role = &bundle["entry"][1];
        assert_eq!(role["search"]["mode"], "include");
        assert_eq!(
            role["resource"]["practitioner"]["reference"],
            "Practitioner/003-810007890121"
        );
        assert_eq!(
            role["resource"]["telecom"][0]["value"],
            "nurse.lauragais@sad-lauragais.mssante.fr"
        );
        // Without _revinclude, by RPPS: the practitioner alone.
        let (_, alone) = get(
            &sim,
            "/Practitioner?identifier=10004567896",
            SANDBOX_API_KEY,
        )
        .await;
        assert_eq!(alone["entry"].as_array().map(Vec::len), Some(1));
        sim.task.abort();
    }

    #[tokio::test]
    async fn refuses_what_the_api_refuses() {
        let (sim, population) = running(sandbox_population()).await;
        let (status, outcome) = get(&sim, "/Practitioner?identifier=1", "wrong").await;
        assert_eq!(status, 401);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        for query in [
            "/Practitioner?identifier=",
            "/Practitioner?identifier=urn%3Aoid%3A1.2.250.1.71.4.2.1%7C",
            "/Practitioner?identifier=8100%20x",
            "/Practitioner?identifier=1&identifier=2",
            "/Practitioner?identifier=1&_revinclude=PractitionerRole%3Aorganization",
            "/Practitioner?name=ROUX",
        ] {
            let (status, outcome) = get(&sim, query, SANDBOX_API_KEY).await;
            assert_eq!(status, 400, "{query}");
            assert_eq!(outcome["resourceType"], "OperationOutcome");
        }
        let (status, _) = get(&sim, "/Organization?identifier=1", SANDBOX_API_KEY).await;
        assert_eq!(status, 404);
        let (status, empty) = get(
            &sim,
            "/Practitioner?identifier=https%3A%2F%2Fadeli.esante.gouv.fr%7C10004567896",
            SANDBOX_API_KEY,
        )
        .await;
        assert_eq!((status, empty["total"].clone()), (200, json!(0)));
        assert_eq!(population.requests(), 9);
        sim.task.abort();
    }

    #[tokio::test]
    async fn an_inactive_practitioner_has_no_role_and_few_elements() {
        let (sim, _) = running(vec![Person {
            id_nat_ps: "810000000002".into(),
            family: "LEFT".into(),
            given: "Someone".into(),
            profession_g15: Some("10".into()),
            active: false,
            mailbox: Some("left@site.mssante.fr".into()),
        }])
        .await;
        let (_, bundle) = get(
            &sim,
            "/Practitioner?identifier=810000000002&_revinclude=PractitionerRole%3Apractitioner",
            SANDBOX_API_KEY,
        )
        .await;
        let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["resource"]["active"], false);
        assert!(entries[0]["resource"]["name"].is_null());
        sim.task.abort();
    }

    #[test]
    fn people_from_a_care_circle() {
        let record = crate::sink::tests::example_record();
        let people: Vec<Person> = record
            .care_circle
            .iter()
            .filter_map(Person::from_care_circle)
            .collect();
        assert_eq!(people.len(), record.care_circle.len());
        let nurse = people
            .iter()
            .find(|p| p.id_nat_ps == "810004567896")
            .cloned()
            .expect("the home nurse");
        assert_eq!(nurse.profession_g15.as_deref(), Some("60"));
        let coordinator = people
            .iter()
            .find(|p| p.id_nat_ps == "810006789019")
            .expect("the RPPS+ coordinator");
        assert_eq!(coordinator.profession_g15, None);
        let population = Population::new(people);
        population.add(Person {
            active: false,
            ..nurse
        });
        assert_eq!(
            population
                .matching(&[Wanted::Rpps("10004567896".into())])
                .len(),
            1
        );
    }
}
