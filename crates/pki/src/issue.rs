//! Certificates for any structure, issued on demand by the test PKI's intermediate.
//!
//! The DMP knows a structure by its certificate, so a record of a structure the sandbox has
//! no certificate for could not be fed to the simulated DMP. The sandbox therefore issues
//! the structure an authentication and a signing certificate, with the example structure's
//! keys (no key generation, so issuance takes a millisecond), and keeps them under the
//! data directory.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rcgen::{Issuer, KeyPair};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::files;
use super::generate::{client_auth, intermediate_name, params, signing, structure_name};
use crt_core::tls::{CertificateIssuer, IdentityFiles, OrganisationCertificates};

pub struct StructureIssuer {
    pki: PathBuf,
    out: PathBuf,
    /// Deliveries of one structure run concurrently; one of them issues, the others wait
    /// and then find the files.
    issuing: Mutex<()>,
}

impl StructureIssuer {
    /// Issues with the intermediate of `pki` into `out/<idNat_Struct>/`.
    pub fn new(pki: &Path, out: &Path) -> StructureIssuer {
        StructureIssuer {
            pki: pki.to_path_buf(),
            out: out.to_path_buf(),
            issuing: Mutex::new(()),
        }
    }

    fn read(&self, file: &str) -> Result<String, String> {
        std::fs::read_to_string(self.pki.join(file))
            .map_err(|e| format!("{}: {e}", self.pki.join(file).display()))
    }

    fn key(&self, file: &str) -> Result<KeyPair, String> {
        KeyPair::from_pem_and_sign_algo(&self.read(file)?, &rcgen::PKCS_RSA_SHA256)
            .map_err(|e| format!("{file}: {e}"))
    }

    fn issue_files(&self, id_nat_struct: &str) -> Result<OrganisationCertificates, String> {
        if !crt_core::certificate::looks_like_id_nat_struct(id_nat_struct) {
            return Err(format!("{id_nat_struct} is not an idNat_Struct"));
        }
        let dir = self.out.join(id_nat_struct);
        let client_certificate = dir.join("auth.pem");
        let signing_certificate = dir.join("sign.pem");
        let files = OrganisationCertificates {
            authentication: IdentityFiles {
                certificate: client_certificate.clone(),
                key: self.pki.join(files::CLIENT_KEY),
            },
            signing: IdentityFiles {
                certificate: signing_certificate.clone(),
                key: self.pki.join(files::SIGNING_KEY),
            },
        };
        let _issuing = self
            .issuing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if client_certificate.is_file() && signing_certificate.is_file() {
            return Ok(files);
        }
        let (issuer, intermediate) = self.issuer()?;
        let (from, until) = validity();
        let serial = serial_for(id_nat_struct);
        let name = format!("CRT SANDBOX {id_nat_struct}");
        let auth = client_auth(params(
            structure_name(&name, id_nat_struct, "CRT-SANDBOX-GATEWAY"),
            serial,
            from,
            until,
        ))
        .signed_by(&self.key(files::CLIENT_KEY)?, &issuer)
        .map_err(|e| e.to_string())?;
        let sign = signing(params(
            structure_name(&name, id_nat_struct, "CRT-SANDBOX-SIGNATURE"),
            serial + 1,
            from,
            until,
        ))
        .signed_by(&self.key(files::SIGNING_KEY)?, &issuer)
        .map_err(|e| e.to_string())?;
        write_whole(&signing_certificate, &sign, &intermediate)?;
        write_whole(&client_certificate, &auth, &intermediate)?;
        Ok(files)
    }

    /// The structure's INSi certificate (CN `INSI-AUTO`), with the example's INSi key.
    fn issue_insi(&self, id_nat_struct: &str) -> Result<IdentityFiles, String> {
        if !crt_core::certificate::looks_like_id_nat_struct(id_nat_struct) {
            return Err(format!("{id_nat_struct} is not an idNat_Struct"));
        }
        let certificate = self.out.join(id_nat_struct).join("insi-auto.pem");
        let files = IdentityFiles {
            certificate: certificate.clone(),
            key: self.pki.join(files::INSI_KEY),
        };
        let _issuing = self
            .issuing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if certificate.is_file() {
            return Ok(files);
        }
        let (issuer, intermediate) = self.issuer()?;
        let (from, until) = validity();
        let name = format!("CRT SANDBOX {id_nat_struct}");
        let insi = client_auth(params(
            structure_name(&name, id_nat_struct, "INSI-AUTO"),
            serial_for(id_nat_struct) + 2,
            from,
            until,
        ))
        .signed_by(&self.key(files::INSI_KEY)?, &issuer)
        .map_err(|e| e.to_string())?;
        write_whole(&certificate, &insi, &intermediate)?;
        Ok(files)
    }

    /// The test PKI's intermediate, as issuer and as PEM to append to each certificate.
    fn issuer(&self) -> Result<(Issuer<'static, KeyPair>, String), String> {
        let intermediate = self.read(files::INTERMEDIATE)?;
        let issuer = Issuer::new(
            params(
                intermediate_name(),
                2,
                OffsetDateTime::UNIX_EPOCH,
                OffsetDateTime::UNIX_EPOCH,
            ),
            self.key(files::INTERMEDIATE_KEY)?,
        );
        Ok((issuer, intermediate))
    }
}

/// From yesterday, for a year.
fn validity() -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::days(1), now + Duration::days(365))
}

/// Writes `certificate` and its chain so that the file appears whole (written aside, then
/// renamed): another gateway process sharing the data directory never reads half a
/// certificate.
fn write_whole(
    path: &Path,
    certificate: &rcgen::Certificate,
    intermediate: &str,
) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let partial = path.with_extension(format!("pem.{}.partial", std::process::id()));
    std::fs::write(&partial, format!("{}{intermediate}", certificate.pem()))
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A serial of its own for each structure, above those of `certs generate` and even (the
/// signing certificate takes the next one).
fn serial_for(id_nat_struct: &str) -> u64 {
    let digest = Sha256::digest(id_nat_struct.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    ((u64::from_be_bytes(bytes) >> 2) | (1 << 32)) & !1
}

/// Each structure gets certificates of its own, with the example structure's keys; the
/// INSi teleservice knows it by a separate `INSI-AUTO` certificate.
impl CertificateIssuer for StructureIssuer {
    fn organisation(&self, id_nat_struct: &str) -> Result<OrganisationCertificates, String> {
        self.issue_files(id_nat_struct)
    }

    fn insi(&self, id_nat_struct: &str) -> Result<IdentityFiles, String> {
        self.issue_insi(id_nat_struct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Role, inspect_file};

    fn committed_pki() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example")
    }

    #[test]
    fn issued_certificates_name_the_structure_and_chain_to_the_test_root() {
        let out = tempfile::tempdir().expect("temp dir");
        let issuer = StructureIssuer::new(&committed_pki(), out.path());
        let files = issuer.issue_files("1110010030").expect("issued");
        let report =
            inspect_file(&files.authentication.certificate, Some(Role::Client)).expect("read");
        assert_eq!(report[0].id_nat_struct.as_deref(), Some("1110010030"));
        assert!(report[0].warnings.is_empty(), "{:?}", report[0].warnings);
        let chain = crt_core::tls::load_certificates(&files.signing.certificate).expect("PEM");
        crt_dmp::rules::Trust::from_pem(&committed_pki().join(files::CHAIN))
            .expect("trust")
            .verify(&chain[0])
            .expect("chains to the test root");
        // A second request reuses what was issued.
        let again = issuer.issue_files("1110010030").expect("issued");
        assert_eq!(again, files);
        assert!(issuer.issue_files("../etc").is_err());
    }

    #[test]
    fn concurrent_requests_for_one_structure_all_read_whole_certificates() {
        let out = tempfile::tempdir().expect("temp dir");
        let issuer = StructureIssuer::new(&committed_pki(), out.path());
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| issuer.issue_files("1720000025")))
                .collect();
            for worker in workers {
                let files = worker.join().expect("no panic").expect("issued");
                crt_core::tls::load_certificates(&files.authentication.certificate)
                    .expect("whole PEM");
            }
        });
    }
}
