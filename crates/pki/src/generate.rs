//! Writes a test PKI shaped like IGC-Santé.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SanType, SerialNumber,
};
use rsa::pkcs8::EncodePrivateKey;
use time::{Duration, OffsetDateTime};

use super::files;

/// The example structure the client and signing certificates are issued to.
pub const EXAMPLE_STRUCTURE: &str = "CRT EHPAD LES TILLEULS";
/// idNat_Struct of the example structure: `1` + its FINESS (ET) 720004563, as in the
/// example records.
pub const EXAMPLE_ID_NAT_STRUCT: &str = "1720004563";

pub(super) const ROOT_NAME: &str = "TEST AC RACINE IGC-SANTE ELEMENTAIRE (CRT-GATEWAY)";
pub(super) const INTERMEDIATE_NAME: &str =
    "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS (CRT-GATEWAY)";

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("key generation failed: {0}")]
    Key(String),
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

/// What was written.
pub struct GeneratedPki {
    pub files: Vec<String>,
}

struct Pki<'a> {
    out: &'a Path,
    written: Vec<String>,
}

impl Pki<'_> {
    fn write(&mut self, name: &str, content: impl AsRef<[u8]>) -> Result<(), GenerateError> {
        let path = self.out.join(name);
        let fail = |e: std::io::Error| GenerateError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        std::fs::write(&path, content).map_err(fail)?;
        self.written.push(name.to_string());
        Ok(())
    }

    /// Issues an end-entity certificate with a new key and writes it followed by its
    /// chain (`chain_pem`), and its key.
    fn leaf(
        &mut self,
        params: CertificateParams,
        issuer: &Issuer<'_, impl rcgen::SigningKey>,
        chain_pem: &str,
        (cert_file, key_file): (&str, &str),
    ) -> Result<rcgen::Certificate, GenerateError> {
        let key = rsa_key()?;
        let cert = params.signed_by(&key, issuer)?;
        self.write(cert_file, format!("{}{chain_pem}", cert.pem()))?;
        self.write(key_file, key.serialize_pem())?;
        Ok(cert)
    }
}

/// An RSA 2048 key, as IGC-Santé issues them.
pub(super) fn rsa_key() -> Result<KeyPair, GenerateError> {
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
        .map_err(|e| GenerateError::Key(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| GenerateError::Key(e.to_string()))?;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    Ok(KeyPair::from_pkcs8_der_and_sign_algo(
        &der,
        &rcgen::PKCS_RSA_SHA256,
    )?)
}

fn name(entries: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (kind, value) in entries {
        dn.push(kind.clone(), *value);
    }
    dn
}

pub(super) fn params(
    dn: DistinguishedName,
    serial: u64,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.serial_number = Some(SerialNumber::from(serial.to_be_bytes().to_vec()));
    params.not_before = not_before;
    params.not_after = not_after;
    params.key_identifier_method = KeyIdMethod::Sha256;
    params.use_authority_key_identifier_extension = true;
    params
}

/// The example structure's certificate subject, IGC-Santé style.
fn organisation(common_name: &str) -> DistinguishedName {
    structure_name(EXAMPLE_STRUCTURE, EXAMPLE_ID_NAT_STRUCT, common_name)
}

/// An organisation certificate's subject: O the structure's name, OU its idNat_Struct,
/// CN the application.
pub(super) fn structure_name(
    structure: &str,
    id_nat_struct: &str,
    common_name: &str,
) -> DistinguishedName {
    name(&[
        (DnType::CountryName, "FR"),
        (DnType::OrganizationName, structure),
        (DnType::OrganizationalUnitName, id_nat_struct),
        (DnType::CommonName, common_name),
    ])
}

/// The subject of the "organisations" intermediate.
pub(super) fn intermediate_name() -> DistinguishedName {
    name(&[
        (DnType::CountryName, "FR"),
        (DnType::OrganizationName, "CRT-GATEWAY TEST PKI"),
        (DnType::OrganizationalUnitName, "IGC-SANTE ELEMENTAIRE TEST"),
        (DnType::CommonName, INTERMEDIATE_NAME),
    ])
}

pub(super) fn client_auth(mut params: CertificateParams) -> CertificateParams {
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec!["http://127.0.0.1/crl/organisations.crl".into()],
    }];
    params
}

pub(super) fn signing(mut params: CertificateParams) -> CertificateParams {
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    params
}

/// Generates the whole PKI into `out`. Validity starts at `not_before`; leaves last ten
/// years so that committed certificates outlive the tests that use them.
pub fn generate(out: &Path, not_before: OffsetDateTime) -> Result<GeneratedPki, GenerateError> {
    let mut pki = Pki {
        out,
        written: Vec::new(),
    };
    let leaf_until = not_before + Duration::days(3652);

    // Root and the "organisations" intermediate.
    let root_key = rsa_key()?;
    let mut root = params(
        name(&[
            (DnType::CountryName, "FR"),
            (DnType::OrganizationName, "CRT-GATEWAY TEST PKI"),
            (DnType::OrganizationalUnitName, "IGC-SANTE ELEMENTAIRE TEST"),
            (DnType::CommonName, ROOT_NAME),
        ]),
        1,
        not_before,
        not_before + Duration::days(7305),
    );
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_cert = root.self_signed(&root_key)?;
    let root_issuer = Issuer::new(root, &root_key);

    let intermediate_key = rsa_key()?;
    let mut intermediate = params(
        intermediate_name(),
        2,
        not_before,
        not_before + Duration::days(5479),
    );
    intermediate.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    intermediate.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let intermediate_cert = intermediate.signed_by(&intermediate_key, &root_issuer)?;
    let issuer = Issuer::new(intermediate, &intermediate_key);

    pki.write(files::ROOT, root_cert.pem())?;
    pki.write(files::ROOT_KEY, root_key.serialize_pem())?;
    pki.write(files::INTERMEDIATE, intermediate_cert.pem())?;
    pki.write(files::INTERMEDIATE_KEY, intermediate_key.serialize_pem())?;
    pki.write(
        files::CHAIN,
        format!("{}{}", intermediate_cert.pem(), root_cert.pem()),
    )?;

    // Server certificate for the simulators on loopback.
    let chain = intermediate_cert.pem();
    let mut server = params(
        name(&[
            (DnType::CountryName, "FR"),
            (DnType::OrganizationName, "CRT-GATEWAY SANDBOX"),
            (DnType::CommonName, "localhost"),
        ]),
        100,
        not_before,
        leaf_until,
    );
    server.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into()?),
        SanType::IpAddress([127, 0, 0, 1].into()),
    ];
    server.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    pki.leaf(server, &issuer, &chain, (files::SERVER, files::SERVER_KEY))?;

    // The example structure: authentication (AUTH_CLI), signature (SIGN), INSi.
    let organisation_leaf = |cn: &str, serial: u64| {
        client_auth(params(organisation(cn), serial, not_before, leaf_until))
    };
    let auth = pki.leaf(
        organisation_leaf("CRT-TILLEULS-GATEWAY", 101),
        &issuer,
        &chain,
        (files::CLIENT, files::CLIENT_KEY),
    )?;
    pki.write(files::CLIENT_DER, auth.der())?;

    let sign = signing(params(
        organisation("CRT-TILLEULS-SIGNATURE"),
        102,
        not_before,
        leaf_until,
    ));
    pki.leaf(sign, &issuer, &chain, (files::SIGNING, files::SIGNING_KEY))?;
    pki.leaf(
        organisation_leaf("INSI-AUTO", 103),
        &issuer,
        &chain,
        (files::INSI, files::INSI_KEY),
    )?;

    // Certificates every simulator must refuse.
    let expired_from = not_before - Duration::days(800);
    let expired = client_auth(params(
        organisation("CRT-TILLEULS-EXPIRED"),
        104,
        expired_from,
        expired_from + Duration::days(365),
    ));
    pki.leaf(
        expired,
        &issuer,
        &chain,
        (files::EXPIRED, files::EXPIRED_KEY),
    )?;
    pki.leaf(
        organisation_leaf("CRT-TILLEULS-REVOKED", 105),
        &issuer,
        &chain,
        (files::REVOKED, files::REVOKED_KEY),
    )?;

    let crl = CertificateRevocationListParams {
        this_update: not_before,
        next_update: leaf_until,
        crl_number: SerialNumber::from(1u64.to_be_bytes().to_vec()),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(105u64.to_be_bytes().to_vec()),
            revocation_time: not_before + Duration::days(1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)?;
    pki.write(files::CRL, crl.pem()?)?;

    let other_root_key = rsa_key()?;
    let mut other_root = params(
        name(&[
            (DnType::CountryName, "FR"),
            (DnType::OrganizationName, "NOT IGC-SANTE"),
            (DnType::CommonName, "UNTRUSTED TEST ROOT"),
        ]),
        1,
        not_before,
        not_before + Duration::days(7305),
    );
    other_root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    other_root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let other_root_cert = other_root.self_signed(&other_root_key)?;
    let other_issuer = Issuer::new(other_root, &other_root_key);
    pki.write(files::OTHER_ROOT, other_root_cert.pem())?;
    pki.leaf(
        organisation_leaf("CRT-TILLEULS-GATEWAY", 200),
        &other_issuer,
        "",
        (files::OTHER_CLIENT, files::OTHER_CLIENT_KEY),
    )?;

    pki.write("README.md", README)?;
    Ok(GeneratedPki { files: pki.written })
}

const README: &str = "# Test PKI (for tests only)

These certificates and keys were generated by `crt-gateway certs generate --out certs-example`.
They are shaped like IGC-Santé certificates so that the gateway and its simulators are
tested with the same kind of chain the national services use. **They protect nothing**: the
private keys are public. Never trust this root outside tests and the sandbox.

| file | what it is |
|---|---|
| `ca/root.pem` | test root, \"TEST AC RACINE IGC-SANTE ELEMENTAIRE (CRT-GATEWAY)\" |
| `ca/organisations.pem` | intermediate, \"TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS (CRT-GATEWAY)\" |
| `ca/chain.pem` | intermediate + root, the trust bundle the simulators and the gateway use |
| `ca/organisations.crl.pem` | CRL of the intermediate; revokes `invalid/revoked.pem` |
| `server/localhost.pem` | server certificate of the simulators (localhost, 127.0.0.1), with its chain |
| `crt/auth.pem`, `crt/auth.der` | client authentication (ORG AUTH_CLI) of the example structure |
| `crt/sign.pem` | signature (ORG SIGN) of the example structure, for VIHF and XAdES |
| `crt/insi-auto.pem` | client authentication named `INSI-AUTO`, as the INSi teleservice requires |
| `invalid/expired.pem` | client certificate that expired |
| `invalid/revoked.pem` | client certificate listed in the CRL |
| `invalid/other-root.pem`, `invalid/other-client.pem` | a chain from another CA, which every simulator refuses |

Organisation subjects carry the structure the IGC-Santé way: `O` = its name, `OU` = its
idNat_Struct (`1720004563`: `1` + FINESS 720004563), `CN` = the application name.
Keys are PKCS#8 PEM (`*.key.pem`); certificate files hold the leaf then its intermediate.
`crt/auth.der` is the leaf alone in DER, the form lettre's rustls identity needs.

Regenerate with `cargo run --release -- certs generate --out certs-example` and inspect any
file with `cargo run --release -- certs inspect FILE [--role client|server|signing]`.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pki_has_every_file_and_a_working_chain() {
        let dir = tempfile::tempdir().expect("temp dir");
        let now = OffsetDateTime::now_utc();
        let pki = generate(dir.path(), now).expect("generated");
        for file in [
            files::CHAIN,
            files::SERVER,
            files::CLIENT,
            files::CRL,
            files::OTHER_CLIENT,
        ] {
            assert!(pki.files.iter().any(|f| f == file), "{file} missing");
        }
        let report =
            crate::inspect_file(&dir.path().join(files::CLIENT), Some(crate::Role::Client))
                .expect("inspected");
        let leaf = &report[0];
        assert_eq!(leaf.id_nat_struct.as_deref(), Some(EXAMPLE_ID_NAT_STRUCT));
        assert!(leaf.warnings.is_empty(), "{:?}", leaf.warnings);
        let expired =
            crate::inspect_file(&dir.path().join(files::EXPIRED), None).expect("inspected");
        assert!(expired[0].warnings.iter().any(|w| w.contains("expired")));
    }
}
