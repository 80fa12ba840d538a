//! The certificates each structure acts with. The DMP knows a structure by the
//! certificate it authenticates with (ORG AUTH_CLI) and checks that the VIHF, signed with
//! its ORG SIGN certificate, names the same structure; a gateway that serves several CRTs
//! therefore holds one identity per structure and picks it by the record's structure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crt_core::certificate::id_nat_struct_of;
use crt_core::http::HttpsClient;
use crt_core::identifiers::is_oid;
use crt_core::tls::{self, CertificateIssuer, TlsError};
use crt_documents::cda::MAX_OID_ROOT_LEN;

use crate::config::StructureCertificates;
use crate::dsig::{DsigError, Signer};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{path}: {reason}")]
    Certificate { path: String, reason: String },
    #[error(
        "the authentication certificate is for structure {client} but the signing certificate for {signing}"
    )]
    Mismatch { client: String, signing: String },
    #[error(
        "oid_root {0:?} is not an OID of at most {MAX_OID_ROOT_LEN} characters (XDS unique ids are 64 at most)"
    )]
    OidRoot(String),
    #[error("two entries of sinks.dmp.structures are for structure {0}")]
    Duplicate(String),
    #[error(
        "no DMP certificate for structure {0}: add its certificates to sinks.dmp.structures, restart, then replay"
    )]
    Unknown(String),
    #[error("certificates for structure {id}: {reason}")]
    Issue { id: String, reason: String },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Signing(#[from] DsigError),
}

/// One structure, ready to call the DMP.
pub struct StructureIdentity {
    pub id_nat_struct: String,
    pub oid_root: Option<String>,
    pub(crate) http: HttpsClient,
    pub(crate) signer: Signer,
    /// Subject DN of the signing certificate, as the VIHF `Subject/NameID` carries it.
    pub(crate) subject_dn: String,
}

impl StructureIdentity {
    pub fn load(
        files: &StructureCertificates,
        trust: &Path,
        timeout: Duration,
        max_answer_bytes: usize,
    ) -> Result<StructureIdentity, IdentityError> {
        if let Some(root) = &files.oid_root
            && (!is_oid(root) || root.len() > MAX_OID_ROOT_LEN)
        {
            return Err(IdentityError::OidRoot(root.clone()));
        }
        let client = structure_of(&files.client_certificate)?;
        let signer = Signer::from_files(&files.signing_certificate, &files.signing_key)?;
        let (_, signing) = x509_parser::parse_x509_certificate(signer.certificate_der())
            .map_err(|e| certificate_error(&files.signing_certificate, e.to_string()))?;
        let signing_structure = crt_core::certificate::id_nat_struct(signing.subject())
            .ok_or_else(|| {
                certificate_error(
                    &files.signing_certificate,
                    "no idNat_Struct in the subject OU",
                )
            })?;
        if signing_structure != client {
            return Err(IdentityError::Mismatch {
                client,
                signing: signing_structure,
            });
        }
        let subject_dn = signing.subject().to_string();
        let tls = tls::client_config(trust, Some(&files.client_identity()))?;
        Ok(StructureIdentity {
            id_nat_struct: client,
            oid_root: files.oid_root.clone(),
            http: HttpsClient::new(tls, timeout, max_answer_bytes),
            signer,
            subject_dn,
        })
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }
}

fn certificate_error(path: &Path, reason: impl Into<String>) -> IdentityError {
    IdentityError::Certificate {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn structure_of(path: &Path) -> Result<String, IdentityError> {
    let chain = tls::load_certificates(path)?;
    id_nat_struct_of(&chain[0])
        .ok_or_else(|| certificate_error(path, "no idNat_Struct in the subject OU"))
}

/// Every structure's identity, by idNat_Struct.
pub struct Identities {
    known: RwLock<HashMap<String, Arc<StructureIdentity>>>,
    issuer: Option<Arc<dyn CertificateIssuer>>,
    trust: PathBuf,
    timeout: Duration,
    max_answer_bytes: usize,
}

impl Identities {
    pub fn load(
        structures: &[StructureCertificates],
        trust: &Path,
        timeout: Duration,
        max_answer_bytes: usize,
    ) -> Result<Identities, IdentityError> {
        let mut known = HashMap::new();
        for files in structures {
            let identity = StructureIdentity::load(files, trust, timeout, max_answer_bytes)?;
            let id = identity.id_nat_struct.clone();
            if known.insert(id.clone(), Arc::new(identity)).is_some() {
                return Err(IdentityError::Duplicate(id));
            }
        }
        Ok(Identities {
            known: RwLock::new(known),
            issuer: None,
            trust: trust.to_path_buf(),
            timeout,
            max_answer_bytes,
        })
    }

    pub fn with_issuer(mut self, issuer: Arc<dyn CertificateIssuer>) -> Self {
        self.issuer = Some(issuer);
        self
    }

    pub fn structures(&self) -> Vec<String> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<String> = known.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The identity of a structure; asks the issuer, if there is one, for a structure
    /// without certificates.
    pub fn get(&self, id_nat_struct: &str) -> Result<Arc<StructureIdentity>, IdentityError> {
        if let Some(identity) = self
            .known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id_nat_struct)
        {
            return Ok(identity.clone());
        }
        let Some(issuer) = &self.issuer else {
            return Err(IdentityError::Unknown(id_nat_struct.to_string()));
        };
        let files = issuer
            .organisation(id_nat_struct)
            .map(StructureCertificates::from)
            .map_err(|reason| IdentityError::Issue {
                id: id_nat_struct.to_string(),
                reason,
            })?;
        let identity = Arc::new(StructureIdentity::load(
            &files,
            &self.trust,
            self.timeout,
            self.max_answer_bytes,
        )?);
        if identity.id_nat_struct != id_nat_struct {
            return Err(IdentityError::Issue {
                id: id_nat_struct.to_string(),
                reason: format!("the issued certificate is for {}", identity.id_nat_struct),
            });
        }
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        Ok(known
            .entry(id_nat_struct.to_string())
            .or_insert(identity)
            .clone())
    }
}
