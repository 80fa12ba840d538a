//! Every ITI-41 request the gateway builds from the corpus of records (the example records
//! and the variants of `tests/conformance/corpus.toml`: masking, a non-clinical author, a
//! psychologist, physicians) draws its codes from the official value sets, read here from
//! the ANS files themselves (`schemas/terminology/`), with a reader of their own:
//!
//! - each document's `confidentialityCode`s are in JDV_J08, `N` always, with the masking
//!   codes the beneficiary asked for;
//! - the submission set's `contentTypeCode` is in JDV_J59;
//! - the VIHF's role values are in JDV_J65, the first a profession (or `AUTOMATE` for a
//!   system acting alone), followed by the specialty for a physician (TRE_R01) and the
//!   section for a pharmacist (TRE_G05).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crt_core::record::{DocumentKind, IdentityStatus, Ins, InsOid};
use crt_core::tls;
use crt_core::xml::{self, Element, Limits};
use crt_dmp::config::StructureCertificates;
use crt_dmp::sink::document_task;
use crt_dmp::{DmpClient, DmpConfig, DmpSink};

const CONFIDENTIALITY: &str = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f";
const CONTENT_TYPE: &str = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500";
const ROLE: &str = "urn:oasis:names:tc:xacml:2.0:subject:role";
const MASKING_SYSTEM: &str = "1.2.250.1.213.1.1.4.13";

/// Code systems whose concepts are professions (JDV_J65's first role value).
const PROFESSIONS: [&str; 6] = [
    "1.2.250.1.71.1.2.7",      // TRE_G15 ProfessionSante
    "1.2.250.1.71.1.2.8",      // TRE_G16 ProfessionFormation
    "1.2.250.1.213.1.6.1.109", // TRE_R95 UsagerTitre
    "1.2.250.1.213.1.6.1.4",   // TRE_R94 ProfessionSocial
    "1.2.250.1.213.1.6.1.140", // TRE_R291 AutreProfession
    "1.2.250.1.213.1.1.4.6",   // TRE_A00 ProducteurDocNonPS
];
const G15: &str = "1.2.250.1.71.1.2.7";
const R01: &str = "1.2.250.1.71.4.2.5";
const G05: &str = "1.2.250.1.71.4.2.6";

type Code = (String, String);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (system OID, code) of every concept of an ANS SVS file (`RetrieveValueSetResponse`).
fn svs(file: &str) -> BTreeSet<Code> {
    let bytes = std::fs::read(repo().join("schemas/terminology").join(file)).expect(file);
    let root = xml::parse(&bytes, Limits::default()).expect("SVS XML");
    let mut concepts = BTreeSet::new();
    collect(&root, &mut |e| {
        if e.name == "Concept" {
            let system = e.attribute("codeSystem").expect("codeSystem");
            let code = e.attribute("code").expect("code");
            concepts.insert((system.to_string(), code.to_string()));
        }
    });
    assert!(!concepts.is_empty(), "{file}");
    concepts
}

/// (system OID, code) of every concept of an NOS FHIR `ValueSet`: each include's concepts,
/// their system's OID given as a designation.
fn fhir_value_set(file: &str) -> BTreeSet<Code> {
    let bytes = std::fs::read(repo().join("schemas/terminology").join(file)).expect(file);
    let set: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    let mut concepts = BTreeSet::new();
    for include in set["compose"]["include"].as_array().expect("include") {
        for concept in include["concept"].as_array().expect("concept") {
            let oid = concept["designation"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|d| d["value"].as_str()?.strip_prefix("urn:oid:"))
                .expect("OID designation");
            let code = concept["code"].as_str().expect("code");
            concepts.insert((oid.to_string(), code.to_string()));
        }
    }
    assert!(!concepts.is_empty(), "{file}");
    concepts
}

fn collect<'a>(element: &'a Element, visit: &mut impl FnMut(&'a Element)) {
    visit(element);
    for child in &element.children {
        collect(child, visit);
    }
}

/// What one ITI-41 request says, read from its SOAP part.
#[derive(Default)]
struct Read {
    /// Per document entry, its confidentiality codes.
    confidentiality: Vec<Vec<Code>>,
    content_types: Vec<Code>,
    roles: Vec<Code>,
}

fn read(content_type: &str, body: &[u8]) -> Read {
    let parts = crt_core::multipart::parse(content_type, body, 16).expect("MTOM");
    let envelope = xml::parse(&parts[0].body, Limits::default()).expect("SOAP XML");
    let mut read = Read::default();
    let classification = |c: &Element| {
        let system = c
            .children
            .iter()
            .find(|s| s.name == "Slot" && s.attribute("name") == Some("codingScheme"))
            .and_then(|s| s.children.first())
            .and_then(|list| list.children.first())
            .map(|v| v.text.trim().to_string())
            .expect("codingScheme");
        let code = c
            .attribute("nodeRepresentation")
            .expect("nodeRepresentation");
        (system, code.to_string())
    };
    collect(&envelope, &mut |e| match e.name.as_str() {
        "ExtrinsicObject" => read.confidentiality.push(
            e.children
                .iter()
                .filter(|c| c.attribute("classificationScheme") == Some(CONFIDENTIALITY))
                .map(classification)
                .collect(),
        ),
        "RegistryPackage" => read.content_types.extend(
            e.children
                .iter()
                .filter(|c| c.attribute("classificationScheme") == Some(CONTENT_TYPE))
                .map(classification),
        ),
        "Attribute" if e.attribute("Name") == Some(ROLE) => {
            for value in &e.children {
                for role in value.children.iter().filter(|r| r.name == "Role") {
                    read.roles.push((
                        role.attribute("codeSystem")
                            .expect("codeSystem")
                            .to_string(),
                        role.attribute("code").expect("code").to_string(),
                    ));
                }
            }
        }
        _ => {}
    });
    read
}

fn sink() -> DmpSink {
    tls::install_default_provider();
    let pki = repo().join("certs-example");
    let config = DmpConfig {
        endpoint: Some("https://localhost:1".into()),
        trust: Some(pki.join("ca/chain.pem")),
        structures: vec![StructureCertificates {
            client_certificate: pki.join("crt/auth.pem"),
            client_key: pki.join("crt/auth.key.pem"),
            signing_certificate: pki.join("crt/sign.pem"),
            signing_key: pki.join("crt/sign.key.pem"),
            oid_root: None,
        }],
        ..DmpConfig::default()
    };
    DmpSink::new(DmpClient::from_config(&config).expect("client"), &config)
}

#[test]
fn every_envelope_of_the_corpus_draws_its_codes_from_the_official_value_sets() {
    let j08 = svs("JDV_J08_XdsConfidentialityCode_CISIS.xml");
    let j59 = fhir_value_set("JDV_J59_ContentTypeCode_DMP.json");
    let j65 = fhir_value_set("JDV_J65_SubjectRole_DMP.json");
    let sink = sink();
    let records = crt_core::corpus::records(&repo()).unwrap_or_else(|e| panic!("{e}"));
    let mut first_roles = BTreeSet::new();
    let mut masked = 0;
    let mut envelopes = 0;
    for corpus in records {
        let mut record = corpus.record;
        // The test PKI holds one structure's certificates; the structure is not what is
        // read here. The identity is qualified as INSi would qualify it.
        record.crt.finess_et = "720004563".into();
        if record.beneficiary.identity_status != IdentityStatus::Qualified {
            record.beneficiary.identity_status = IdentityStatus::Qualified;
            record.beneficiary.ins.get_or_insert(Ins {
                number: "279035121518989".into(),
                oid: InsOid::TestNir,
            });
        }
        let masking: BTreeSet<Code> = record
            .consents
            .dmp_masking
            .iter()
            .map(|m| (MASKING_SYSTEM.to_string(), m.code().to_string()))
            .collect();
        let record = Arc::new(record);
        for kind in [DocumentKind::Dlu, DocumentKind::Plan] {
            let name = format!("{} {kind:?}", corpus.name);
            let task = document_task(record.clone(), kind);
            let built = match sink.envelope(&task, kind) {
                Ok(Some((_, built))) => built,
                Ok(None) => continue,
                // A record without the document (no plan) renders nothing.
                Err(error) if error.code == "render" => continue,
                Err(error) => panic!("{name}: {error}"),
            };
            envelopes += 1;
            let read = read(&built.request.content_type, &built.request.body);

            assert!(
                !read.confidentiality.is_empty(),
                "{name}: no document entry"
            );
            for codes in &read.confidentiality {
                for code in codes {
                    assert!(j08.contains(code), "{name}: {code:?} is not in JDV_J08");
                }
                let normal = ("2.16.840.1.113883.5.25".to_string(), "N".to_string());
                assert!(codes.contains(&normal), "{name}: {codes:?} lacks N");
            }
            let document: BTreeSet<Code> = read.confidentiality[0].iter().cloned().collect();
            assert!(
                masking.is_subset(&document),
                "{name}: asked {masking:?}, sent {document:?}"
            );
            if !masking.is_empty() {
                masked += 1;
            }

            assert_eq!(read.content_types.len(), 1, "{name}: one contentTypeCode");
            for code in &read.content_types {
                assert!(j59.contains(code), "{name}: {code:?} is not in JDV_J59");
            }

            let roles = &read.roles;
            assert!(!roles.is_empty(), "{name}: the VIHF has no role");
            for role in roles {
                assert!(j65.contains(role), "{name}: {role:?} is not in JDV_J65");
            }
            let (system, code) = &roles[0];
            assert!(
                PROFESSIONS.contains(&system.as_str()),
                "{name}: the first role {:?} is not a profession",
                roles[0]
            );
            let follows = |wanted: &str| roles[1..].iter().any(|(s, _)| s == wanted);
            if system == G15 && code == "10" {
                assert!(follows(R01), "{name}: a physician without specialty");
            }
            if system == G15 && code == "21" {
                assert!(follows(G05), "{name}: a pharmacist without section");
            }
            first_roles.insert(roles[0].clone());
        }
    }
    assert!(envelopes > 10, "{envelopes} envelopes");
    assert!(masked > 0, "the corpus has masking");
    // The corpus covers the authors the rules distinguish.
    let has = |system: &str, code: &str| first_roles.contains(&(system.into(), code.into()));
    assert!(has(G15, "10"), "a physician: {first_roles:?}");
    assert!(
        has("1.2.250.1.213.1.6.1.109", "93"),
        "a psychologist: {first_roles:?}"
    );
    assert!(
        first_roles.iter().any(|(s, _)| s != G15),
        "a non-clinical author: {first_roles:?}"
    );
    assert!(
        has("1.2.250.1.213.1.1.4.6", "AUTOMATE"),
        "a system acting alone: {first_roles:?}"
    );
}
