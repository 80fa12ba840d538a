//! TLS for every adapter and simulator, with one crypto provider (ring) for the whole
//! program: two providers compiled in make rustls refuse to pick one at run time.
//!
//! Certificates and keys come from PEM files (IGC-Santé delivers PKCS#12, which operators
//! convert once; see the README). Files are read with a size limit.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

/// PEM files larger than this are refused.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The process-wide crypto provider.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Installs [`provider`] as the process default; later calls do nothing.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let file_error = |reason: String| TlsError::File {
        path: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| file_error(e.to_string()))?;
    if meta.len() > MAX_PEM_BYTES {
        return Err(file_error(format!("larger than {MAX_PEM_BYTES} bytes")));
    }
    std::fs::read(path).map_err(|e| file_error(e.to_string()))
}

/// Every certificate in a PEM file, leaf first.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_pem(path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::File {
            path: path.display().to_string(),
            reason: format!("bad PEM: {e}"),
        })?;
    if certificates.is_empty() {
        return Err(TlsError::File {
            path: path.display().to_string(),
            reason: "no CERTIFICATE block".into(),
        });
    }
    Ok(certificates)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::File {
        path: path.display().to_string(),
        reason: format!("no usable private key: {e}"),
    })
}

/// The CRLs of a PEM file.
pub fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let pem = read_pem(path)?;
    CertificateRevocationListDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::File {
            path: path.display().to_string(),
            reason: format!("bad CRL: {e}"),
        })
}

/// A trust store from a PEM bundle. The last certificate of a chain file is its root; every
/// certificate of the bundle is added, so a bundle of intermediates and roots works.
pub fn root_store(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in load_certificates(path)? {
        roots.add(certificate).map_err(|e| TlsError::File {
            path: path.display().to_string(),
            reason: format!("unusable trust anchor: {e}"),
        })?;
    }
    Ok(roots)
}

/// Files of a certificate (with its chain) and its key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdentityFiles {
    pub certificate: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// An organisation's two IGC-Santé certificates: authentication (ORG AUTH) for the TLS
/// client, signing (ORG SIGN) for what it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationCertificates {
    pub authentication: IdentityFiles,
    pub signing: IdentityFiles,
}

/// Issues certificates to a structure the configuration does not list. Only the sandbox
/// does, with its test CA, so that any record can be sent to the simulators.
pub trait CertificateIssuer: Send + Sync {
    /// The structure's authentication and signing certificates.
    fn organisation(&self, id_nat_struct: &str) -> Result<OrganisationCertificates, String>;

    /// The structure's `INSI-AUTO` certificate, by which the INSi teleservice knows it.
    fn insi(&self, id_nat_struct: &str) -> Result<IdentityFiles, String>;
}

/// Which protocol versions and cipher suites a connection may use. Most services take
/// rustls' safe defaults; MSSanté prescribes its own (see the `crt-mssante` crate).
#[derive(Debug, Clone)]
pub struct Policy {
    pub provider: Arc<CryptoProvider>,
    pub versions: &'static [&'static SupportedProtocolVersion],
}

impl Policy {
    /// TLS 1.2 and 1.3 with rustls' default cipher suites.
    pub fn standard() -> Policy {
        Policy {
            provider: provider(),
            versions: rustls::DEFAULT_VERSIONS,
        }
    }
}

/// A client configuration that trusts `trust` and, if given, authenticates with `identity`
/// (mutual TLS). TLS 1.2 and 1.3 only.
pub fn client_config(
    trust: &Path,
    identity: Option<&IdentityFiles>,
) -> Result<Arc<ClientConfig>, TlsError> {
    client_config_for(&Policy::standard(), trust, None, identity)
}

/// [`client_config`] under `policy`, refusing servers whose certificate the CRLs in `crl`
/// revoke. The whole chain of `identity` is presented, so a server that only knows the
/// root can still verify it.
pub fn client_config_for(
    policy: &Policy,
    trust: &Path,
    crl: Option<&Path>,
    identity: Option<&IdentityFiles>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let crls = match crl {
        Some(path) => load_crls(path)?,
        None => Vec::new(),
    };
    let verifier = WebPkiServerVerifier::builder_with_provider(
        Arc::new(root_store(trust)?),
        policy.provider.clone(),
    )
    .with_crls(crls)
    .build()
    .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = ClientConfig::builder_with_provider(policy.provider.clone())
        .with_protocol_versions(policy.versions)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_webpki_verifier(verifier);
    let config = match identity {
        Some(files) => builder
            .with_client_auth_cert(
                load_certificates(&files.certificate)?,
                load_private_key(&files.key)?,
            )
            .map_err(|e| TlsError::Config(format!("client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// A server configuration presenting `identity`. With `client_trust`, every client must
/// present a certificate chaining to it and absent from the CRLs.
pub fn server_config(
    identity: &IdentityFiles,
    client_trust: Option<(&Path, Option<&Path>)>,
) -> Result<Arc<ServerConfig>, TlsError> {
    server_config_for(&Policy::standard(), identity, client_trust)
}

/// [`server_config`] under `policy`.
pub fn server_config_for(
    policy: &Policy,
    identity: &IdentityFiles,
    client_trust: Option<(&Path, Option<&Path>)>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let builder = ServerConfig::builder_with_provider(policy.provider.clone())
        .with_protocol_versions(policy.versions)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match client_trust {
        Some((roots, crl)) => {
            let crls = match crl {
                Some(path) => load_crls(path)?,
                None => Vec::new(),
            };
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(root_store(roots)?),
                policy.provider.clone(),
            )
            .with_crls(crls)
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(
            load_certificates(&identity.certificate)?,
            load_private_key(&identity.key)?,
        )
        .map_err(|e| TlsError::Config(format!("server certificate: {e}")))?;
    Ok(Arc::new(config))
}
