//! Reads certificates (PEM or DER, from an untrusted file) and says what they are and
//! what is wrong with them for the role they are meant for.

use std::fmt;
use std::path::Path;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

/// Files larger than this are not certificates.
const MAX_FILE_BYTES: u64 = 1024 * 1024;
const EXPIRY_WARNING_DAYS: i64 = 30;

/// What a certificate is configured for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// TLS client authentication (IGC-Santé ORG AUTH_CLI).
    Client,
    /// TLS server.
    Server,
    /// Document and assertion signature (IGC-Santé ORG SIGN).
    Signing,
}

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} is larger than {MAX_FILE_BYTES} bytes: not a certificate file")]
    TooLarge { path: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CertificateReport {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub key: String,
    pub is_ca: bool,
    pub key_usages: Vec<String>,
    pub extended_key_usages: Vec<String>,
    pub subject_alt_names: Vec<String>,
    /// The structure's national identifier, read from the subject OU.
    pub id_nat_struct: Option<String>,
    /// What the identifier's prefix says it is (FINESS, SIRET…).
    pub structure_identifier: Option<String>,
    pub warnings: Vec<String>,
}

/// Inspects every certificate in a file. `role` adds the checks for that use.
pub fn inspect_file(
    path: &Path,
    role: Option<Role>,
) -> Result<Vec<CertificateReport>, InspectError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| InspectError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(InspectError::TooLarge { path: shown });
    }
    let bytes = std::fs::read(path).map_err(|e| InspectError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    inspect_bytes(&bytes, role).map_err(|reason| InspectError::Parse {
        path: shown,
        reason,
    })
}

/// PEM blocks of certificates, or the whole input as one DER certificate.
pub fn inspect_bytes(bytes: &[u8], role: Option<Role>) -> Result<Vec<CertificateReport>, String> {
    let ders: Vec<Vec<u8>> = if bytes.starts_with(b"-----BEGIN")
        || bytes.trim_ascii_start().starts_with(b"-----BEGIN")
    {
        x509_parser::pem::Pem::iter_from_buffer(bytes)
            .filter_map(|pem| match pem {
                Ok(pem) if pem.label == "CERTIFICATE" => Some(Ok(pem.contents)),
                Ok(_) => None,
                Err(e) => Some(Err(format!("bad PEM: {e}"))),
            })
            .collect::<Result<_, _>>()?
    } else {
        vec![bytes.to_vec()]
    };
    if ders.is_empty() {
        return Err("no certificate found (expected PEM CERTIFICATE blocks or DER)".into());
    }
    ders.iter()
        .enumerate()
        .map(|(i, der)| {
            let (rest, cert) = X509Certificate::from_der(der)
                .map_err(|e| format!("certificate {}: not X.509: {e}", i + 1))?;
            if !rest.is_empty() {
                return Err(format!(
                    "certificate {}: {} trailing bytes",
                    i + 1,
                    rest.len()
                ));
            }
            // Only the first certificate of a file is the one used; the rest is its chain.
            Ok(report(&cert, if i == 0 { role } else { None }))
        })
        .collect()
}

fn report(cert: &X509Certificate<'_>, role: Option<Role>) -> CertificateReport {
    let now = time::OffsetDateTime::now_utc();
    let not_after = cert.validity().not_after.to_datetime();
    let not_before = cert.validity().not_before.to_datetime();
    let days_left = (not_after - now).whole_days();
    let mut key_usages = Vec::new();
    let mut extended = Vec::new();
    let mut names = Vec::new();
    let mut is_ca = false;
    for extension in cert.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::KeyUsage(usage) => {
                key_usages = usage.to_string().split(", ").map(str::to_string).collect();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                for (flag, name) in [
                    (eku.server_auth, "serverAuth"),
                    (eku.client_auth, "clientAuth"),
                    (eku.email_protection, "emailProtection"),
                    (eku.code_signing, "codeSigning"),
                ] {
                    if flag {
                        extended.push(name.to_string());
                    }
                }
                extended.extend(eku.other.iter().map(|oid| oid.to_id_string()));
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    names.push(match name {
                        GeneralName::DNSName(dns) => format!("DNS:{dns}"),
                        GeneralName::IPAddress(ip) => format!("IP:{}", format_ip(ip)),
                        GeneralName::RFC822Name(mail) => format!("email:{mail}"),
                        GeneralName::URI(uri) => format!("URI:{uri}"),
                        other => format!("{other:?}"),
                    });
                }
            }
            ParsedExtension::BasicConstraints(constraints) => is_ca = constraints.ca,
            _ => {}
        }
    }
    let key = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {} bits", rsa.key_size()),
        Ok(PublicKey::EC(point)) => format!("EC {} bits", point.key_size()),
        Ok(_) => "other".to_string(),
        Err(_) => "unreadable".to_string(),
    };
    let id_nat_struct = crt_core::certificate::id_nat_struct(cert.subject());
    let structure_identifier = id_nat_struct.as_deref().map(describe_id_nat_struct);

    let mut warnings = Vec::new();
    if days_left < 0 {
        warnings.push(format!("expired {} day(s) ago", -days_left));
    } else if days_left < EXPIRY_WARNING_DAYS {
        warnings.push(format!("expires in {days_left} day(s)"));
    }
    if not_before > now {
        warnings.push("not valid yet".to_string());
    }
    if let Ok(PublicKey::RSA(rsa)) = cert.public_key().parsed()
        && rsa.key_size() < 2048
    {
        warnings.push(format!(
            "RSA key of {} bits; 2048 at least is expected",
            rsa.key_size()
        ));
    }
    if let Some(role) = role {
        warnings.extend(role_warnings(
            role,
            is_ca,
            &key_usages,
            &extended,
            id_nat_struct.is_some(),
        ));
    }
    CertificateReport {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string(),
        not_before: not_before.to_string(),
        not_after: not_after.to_string(),
        days_left,
        key,
        is_ca,
        key_usages,
        extended_key_usages: extended,
        subject_alt_names: names,
        id_nat_struct,
        structure_identifier,
        warnings,
    }
}

fn role_warnings(
    role: Role,
    is_ca: bool,
    usages: &[String],
    extended: &[String],
    has_structure: bool,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let has = |list: &[String], name: &str| list.iter().any(|u| u == name);
    if is_ca {
        warnings.push("a CA certificate, not an end-entity one".to_string());
    }
    match role {
        Role::Client => {
            if !extended.is_empty() && !has(extended, "clientAuth") {
                warnings.push(
                    "no clientAuth extended key usage: TLS servers will refuse it as a client"
                        .into(),
                );
            }
            if !usages.is_empty() && !has(usages, "Digital Signature") {
                warnings.push(
                    "no digitalSignature key usage: it cannot authenticate a TLS client".into(),
                );
            }
            if !has_structure {
                warnings.push(
                    "no idNat_Struct in the subject OU: not an IGC-Santé organisation certificate"
                        .into(),
                );
            }
        }
        Role::Server => {
            if !extended.is_empty() && !has(extended, "serverAuth") {
                warnings.push(
                    "no serverAuth extended key usage: TLS clients will refuse it as a server"
                        .into(),
                );
            }
        }
        Role::Signing => {
            if !usages.is_empty()
                && !has(usages, "Non Repudiation")
                && !has(usages, "Digital Signature")
            {
                warnings.push("neither nonRepudiation nor digitalSignature: it cannot sign".into());
            }
            if !has_structure {
                warnings.push(
                    "no idNat_Struct in the subject OU: not an IGC-Santé organisation certificate"
                        .into(),
                );
            }
        }
    }
    warnings
}

fn describe_id_nat_struct(value: &str) -> String {
    let (prefix, rest) = value.split_at(1);
    match prefix {
        "1" => format!("FINESS {rest}"),
        "3" => format!("SIRET {rest}"),
        "0" => format!("ADELI rang {rest}"),
        "4" => format!("RPPS rang {rest}"),
        _ => format!("identifier {value}"),
    }
}

fn format_ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(octets).to_string()
        }
        _ => format!("{bytes:?}"),
    }
}

impl fmt::Display for CertificateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "subject:    {}", self.subject)?;
        writeln!(f, "issuer:     {}", self.issuer)?;
        writeln!(f, "serial:     {}", self.serial)?;
        writeln!(
            f,
            "validity:   {} to {} ({} day(s) left)",
            self.not_before,
            self.not_after,
            self.days_left.max(0)
        )?;
        writeln!(
            f,
            "key:        {}{}",
            self.key,
            if self.is_ca { ", CA" } else { "" }
        )?;
        if !self.key_usages.is_empty() {
            writeln!(f, "key usage:  {}", self.key_usages.join(", "))?;
        }
        if !self.extended_key_usages.is_empty() {
            writeln!(f, "ext. usage: {}", self.extended_key_usages.join(", "))?;
        }
        if !self.subject_alt_names.is_empty() {
            writeln!(f, "alt names:  {}", self.subject_alt_names.join(", "))?;
        }
        if let (Some(id), Some(kind)) = (&self.id_nat_struct, &self.structure_identifier) {
            writeln!(f, "structure:  idNat_Struct {id} ({kind})")?;
        }
        for warning in &self.warnings {
            writeln!(f, "WARNING:    {warning}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(inspect_bytes(b"not a certificate", None).is_err());
        assert!(
            inspect_bytes(
                b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                None
            )
            .is_err()
        );
        assert!(inspect_bytes(&[0x30, 0x82, 0xff, 0xff, 0x00], None).is_err());
        assert!(inspect_bytes(b"", None).is_err());
    }

    #[test]
    fn the_committed_pki_reads_as_igc_sante_shaped() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example");
        let client = inspect_file(&dir.join(super::super::files::CLIENT), Some(Role::Client))
            .expect("client");
        assert_eq!(client.len(), 2, "leaf and intermediate");
        assert_eq!(
            client[0].structure_identifier.as_deref(),
            Some("FINESS 720004563")
        );
        assert!(client[0].warnings.is_empty(), "{:?}", client[0].warnings);
        let server_as_client =
            inspect_file(&dir.join(super::super::files::SERVER), Some(Role::Client))
                .expect("server");
        assert!(
            server_as_client[0]
                .warnings
                .iter()
                .any(|w| w.contains("clientAuth"))
        );
        let expired = inspect_file(&dir.join(super::super::files::EXPIRED), None).expect("expired");
        assert!(expired[0].warnings.iter().any(|w| w.contains("expired")));
    }
}
