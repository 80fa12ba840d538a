//! The submission-set signature: an XML-DSig signature whose manifest lists the digest of
//! every document of the submission, with XAdES signed properties (signing time, signing
//! certificate). It travels as a document of its own, linked to the submission set by a
//! `signs` association (IHE DSG as the DMP uses it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use crate::c14n::{self, DSIG, Target};
use crate::dsig::{self, C14N_EXC, DsigError, Reference, Signer};

pub const XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
const SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";
const MANIFEST_TYPE: &str = "http://www.w3.org/2000/09/xmldsig#Manifest";

/// The signature document over `documents` (unique id, bytes).
pub fn sign_submission(
    documents: &[(&str, &[u8])],
    signer: &Signer,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, DsigError> {
    let (_, certificate) = x509_parser::parse_x509_certificate(signer.certificate_der())
        .map_err(|e| DsigError::Key(format!("signing certificate: {e}")))?;
    let mut manifest = format!("<ds:Manifest xmlns:ds=\"{DSIG}\" Id=\"manifest\">");
    for (unique_id, bytes) in documents {
        manifest.push_str(&format!(
            "<ds:Reference URI=\"urn:oid:{unique_id}\"><ds:DigestMethod Algorithm=\"{}\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference>",
            dsig::SHA256,
            dsig::sha256_base64(bytes)
        ));
    }
    manifest.push_str("</ds:Manifest>");
    let properties = format!(
        "<xades:SignedProperties xmlns:xades=\"{XADES}\" xmlns:ds=\"{DSIG}\" Id=\"signed-properties\"><xades:SignedSignatureProperties><xades:SigningTime>{}</xades:SigningTime><xades:SigningCertificate><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm=\"{}\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></xades:CertDigest><xades:IssuerSerial><ds:X509IssuerName>{}</ds:X509IssuerName><ds:X509SerialNumber>{}</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate></xades:SignedSignatureProperties></xades:SignedProperties>",
        now.to_rfc3339_opts(SecondsFormat::Secs, true),
        dsig::SHA256,
        STANDARD.encode(Sha256::digest(signer.certificate_der())),
        crt_core::xml::escape(&certificate.issuer().to_string()),
        certificate
            .raw_serial_as_string()
            .replace(':', "")
            .trim_start_matches('0'),
    );
    // Digests of what the signature covers, each canonicalised where it will stand.
    let manifest_digest = dsig::sha256_base64(&c14n::canonicalize(
        manifest.as_bytes(),
        Target::Id("manifest"),
        false,
    )?);
    let properties_digest = dsig::sha256_base64(&c14n::canonicalize(
        properties.as_bytes(),
        Target::Id("signed-properties"),
        false,
    )?);
    let info = dsig::signed_info(&[
        Reference {
            uri: "#manifest",
            kind: Some(MANIFEST_TYPE),
            transforms: &[C14N_EXC],
            digest: manifest_digest,
        },
        Reference {
            uri: "#signed-properties",
            kind: Some(SIGNED_PROPERTIES_TYPE),
            transforms: &[C14N_EXC],
            digest: properties_digest,
        },
    ]);
    let canonical_info =
        c14n::canonicalize(info.as_bytes(), Target::Named(DSIG, "SignedInfo"), false)?;
    let value = STANDARD.encode(signer.sign(&canonical_info)?);
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ds:Signature xmlns:ds=\"{DSIG}\" Id=\"submission-signature\">{info}<ds:SignatureValue>{value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><ds:Object>{manifest}</ds:Object><ds:Object><xades:QualifyingProperties xmlns:xades=\"{XADES}\" Target=\"#submission-signature\">{properties}</xades:QualifyingProperties></ds:Object></ds:Signature>",
        signer.certificate_base64()
    );
    Ok(document.into_bytes())
}

/// Checks a submission-set signature: its own signature, the digests of the manifest and
/// the signed properties, and that the manifest covers exactly `documents` with their
/// digests. Returns the signer's certificate.
pub fn verify_submission(
    signature: &[u8],
    documents: &[(&str, &[u8])],
) -> Result<Vec<u8>, DsigError> {
    let tree = crt_core::xml::parse(signature, crt_core::xml::Limits::default())
        .map_err(|e| DsigError::Invalid(e.to_string()))?;
    if !tree.is(DSIG, "Signature") {
        return Err(DsigError::Invalid(
            "the signature document is not a ds:Signature".into(),
        ));
    }
    for (uri, digest) in dsig::check_signed_info(&tree)? {
        let id = uri
            .strip_prefix('#')
            .ok_or_else(|| DsigError::Invalid(format!("reference {uri} is not local")))?;
        let canonical = c14n::canonicalize(signature, Target::Id(id), false)?;
        if dsig::sha256_base64(&canonical) != digest {
            return Err(DsigError::Invalid(format!(
                "the digest of {uri} does not match"
            )));
        }
    }
    let certificate = dsig::check_signature_value(signature, &tree)?;
    let manifest = tree
        .children(DSIG, "Object")
        .find_map(|object| object.child(DSIG, "Manifest"))
        .ok_or_else(|| DsigError::Invalid("no manifest".into()))?;
    let listed: Vec<(String, String)> = manifest
        .children(DSIG, "Reference")
        .map(|r| {
            (
                r.attribute("URI").unwrap_or("").to_string(),
                r.child_text(DSIG, "DigestValue").unwrap_or("").to_string(),
            )
        })
        .collect();
    if listed.len() != documents.len() {
        return Err(DsigError::Invalid(format!(
            "the manifest lists {} document(s), the submission holds {}",
            listed.len(),
            documents.len()
        )));
    }
    for (unique_id, bytes) in documents {
        let uri = format!("urn:oid:{unique_id}");
        let digest = dsig::sha256_base64(bytes);
        if !listed.iter().any(|(u, d)| *u == uri && *d == digest) {
            return Err(DsigError::Invalid(format!(
                "the manifest does not cover {uri} with its digest"
            )));
        }
    }
    Ok(certificate)
}
