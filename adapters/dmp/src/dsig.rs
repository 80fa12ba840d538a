//! XML-DSig as the DMP uses it: RSA-SHA256 signatures, SHA-256 digests, exclusive
//! canonicalisation, the signer's certificate in `KeyInfo`.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crt_core::tls;
use crt_core::xml::{self, Element, Limits};
use ring::rand::SystemRandom;
use ring::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use rustls_pki_types::PrivateKeyDer;
use sha2::{Digest, Sha256};

use crate::c14n::{self, DSIG, Target};

pub const C14N_EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// Where [`sign_enveloped`] puts the signature.
pub const SIGNATURE_MARK: &str = "<!--crt:signature-->";
const SIGNATURE_VALUE_MARK: &str = "crt:signature-value";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsigError {
    #[error("signing key: {0}")]
    Key(String),
    #[error("canonicalisation: {0}")]
    C14n(#[from] c14n::C14nError),
    #[error("the document has no signature mark")]
    NoMark,
    #[error("signature: {0}")]
    Invalid(String),
}

/// A signing certificate and its key (IGC-Santé ORG SIGN).
pub struct Signer {
    key: RsaKeyPair,
    certificate: Vec<u8>,
}

impl Signer {
    pub fn from_files(certificate: &Path, key: &Path) -> Result<Signer, DsigError> {
        let certificate = tls::load_certificates(certificate)
            .map_err(|e| DsigError::Key(e.to_string()))?
            .remove(0)
            .to_vec();
        let key = match tls::load_private_key(key).map_err(|e| DsigError::Key(e.to_string()))? {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            _ => return Err(DsigError::Key("expected an RSA key in PKCS#8".into())),
        }
        .map_err(|e| DsigError::Key(e.to_string()))?;
        Ok(Signer { key, certificate })
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    pub fn certificate_base64(&self) -> String {
        STANDARD.encode(&self.certificate)
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, DsigError> {
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                data,
                &mut signature,
            )
            .map_err(|_| DsigError::Key("RSA signing failed".into()))?;
        Ok(signature)
    }
}

pub fn sha256_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

/// One `ds:Reference`: URI, optional Type, transforms, digest.
pub struct Reference<'a> {
    pub uri: &'a str,
    pub kind: Option<&'a str>,
    pub transforms: &'a [&'a str],
    pub digest: String,
}

/// `ds:SignedInfo` (with its namespace declared, as it is canonicalised on its own).
pub fn signed_info(references: &[Reference<'_>]) -> String {
    let mut xml = format!(
        "<ds:SignedInfo xmlns:ds=\"{DSIG}\"><ds:CanonicalizationMethod Algorithm=\"{C14N_EXC}\"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"{RSA_SHA256}\"></ds:SignatureMethod>"
    );
    for reference in references {
        let kind = reference
            .kind
            .map(|k| format!(" Type=\"{k}\""))
            .unwrap_or_default();
        xml.push_str(&format!(
            "<ds:Reference URI=\"{}\"{kind}>",
            xml::escape(reference.uri)
        ));
        if !reference.transforms.is_empty() {
            xml.push_str("<ds:Transforms>");
            for transform in reference.transforms {
                xml.push_str(&format!(
                    "<ds:Transform Algorithm=\"{transform}\"></ds:Transform>"
                ));
            }
            xml.push_str("</ds:Transforms>");
        }
        xml.push_str(&format!(
            "<ds:DigestMethod Algorithm=\"{SHA256}\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference>",
            reference.digest
        ));
    }
    xml.push_str("</ds:SignedInfo>");
    xml
}

/// Signs, in place, the element with `ID` = `id` of `document`: computes the digest of the
/// element without its signature, builds `ds:Signature` where [`SIGNATURE_MARK`] stands,
/// and signs the canonical `SignedInfo`.
pub fn sign_enveloped(document: &str, id: &str, signer: &Signer) -> Result<String, DsigError> {
    if !document.contains(SIGNATURE_MARK) {
        return Err(DsigError::NoMark);
    }
    let canonical = c14n::canonicalize(document.as_bytes(), Target::Id(id), true)?;
    let uri = format!("#{id}");
    let info = signed_info(&[Reference {
        uri: &uri,
        kind: None,
        transforms: &[ENVELOPED, C14N_EXC],
        digest: sha256_base64(&canonical),
    }]);
    let signature = format!(
        "<ds:Signature xmlns:ds=\"{DSIG}\">{info}<ds:SignatureValue>{SIGNATURE_VALUE_MARK}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        signer.certificate_base64()
    );
    let placed = document.replacen(SIGNATURE_MARK, &signature, 1);
    let canonical_info =
        c14n::canonicalize(placed.as_bytes(), Target::Named(DSIG, "SignedInfo"), false)?;
    let value = STANDARD.encode(signer.sign(&canonical_info)?);
    Ok(placed.replacen(SIGNATURE_VALUE_MARK, &value, 1))
}

/// What a verified signature says.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signer's certificate (DER), still to be checked against the trusted chain.
    pub certificate: Vec<u8>,
    /// The URIs of the references checked.
    pub references: Vec<String>,
}

/// Checks the signature of the element with `ID` = `id` (enveloped): algorithms, the
/// digest of the element, the RSA signature of `SignedInfo` by the key in `KeyInfo`.
pub fn verify_enveloped(document: &[u8], id: &str) -> Result<Verified, DsigError> {
    let tree =
        xml::parse(document, Limits::default()).map_err(|e| DsigError::Invalid(e.to_string()))?;
    verify_enveloped_in(document, &tree, id)
}

/// [`verify_enveloped`] for a document already parsed into `tree` (the same bytes), so
/// that a reader that has the tree does not parse the document a second time.
pub fn verify_enveloped_in(
    document: &[u8],
    tree: &Element,
    id: &str,
) -> Result<Verified, DsigError> {
    let element = find_by_id(tree, id)
        .ok_or_else(|| DsigError::Invalid(format!("no element with ID {id}")))?;
    let signature = element
        .child(DSIG, "Signature")
        .ok_or_else(|| DsigError::Invalid("no ds:Signature in the signed element".into()))?;
    let references = check_signed_info(signature)?;
    let [(uri, digest)] = references.as_slice() else {
        return Err(DsigError::Invalid("expected exactly one reference".into()));
    };
    if *uri != format!("#{id}") {
        return Err(DsigError::Invalid(format!(
            "the reference {uri} is not the signed element"
        )));
    }
    let canonical = c14n::canonicalize(document, Target::Id(id), true)?;
    if sha256_base64(&canonical) != *digest {
        return Err(DsigError::Invalid(
            "the digest does not match the signed element (altered content)".into(),
        ));
    }
    let certificate = check_signature_value(document, signature)?;
    Ok(Verified {
        certificate,
        references: vec![uri.clone()],
    })
}

/// Algorithms of `SignedInfo`, and its references `(URI, digest)`.
pub fn check_signed_info(signature: &Element) -> Result<Vec<(String, String)>, DsigError> {
    let info = signature
        .child(DSIG, "SignedInfo")
        .ok_or_else(|| DsigError::Invalid("no SignedInfo".into()))?;
    let algorithm = |name: &str| {
        info.child(DSIG, name)
            .and_then(|e| e.attribute("Algorithm"))
            .unwrap_or("")
    };
    if algorithm("CanonicalizationMethod") != C14N_EXC {
        return Err(DsigError::Invalid(
            "CanonicalizationMethod must be exclusive C14N".into(),
        ));
    }
    if algorithm("SignatureMethod") != RSA_SHA256 {
        return Err(DsigError::Invalid(
            "SignatureMethod must be RSA-SHA256".into(),
        ));
    }
    let mut references = Vec::new();
    for reference in info.children(DSIG, "Reference") {
        let method = reference
            .child(DSIG, "DigestMethod")
            .and_then(|m| m.attribute("Algorithm"));
        if method != Some(SHA256) {
            return Err(DsigError::Invalid("DigestMethod must be SHA-256".into()));
        }
        let uri = reference.attribute("URI").unwrap_or("").to_string();
        let digest = reference
            .child_text(DSIG, "DigestValue")
            .unwrap_or("")
            .to_string();
        references.push((uri, digest));
    }
    if references.is_empty() {
        return Err(DsigError::Invalid("SignedInfo has no reference".into()));
    }
    Ok(references)
}

/// Verifies `SignatureValue` over the canonical `SignedInfo` with the `KeyInfo`
/// certificate's key; returns that certificate.
pub fn check_signature_value(document: &[u8], signature: &Element) -> Result<Vec<u8>, DsigError> {
    let value = signature
        .child_text(DSIG, "SignatureValue")
        .map(|v| v.split_whitespace().collect::<String>())
        .ok_or_else(|| DsigError::Invalid("no SignatureValue".into()))?;
    let value = STANDARD
        .decode(value)
        .map_err(|_| DsigError::Invalid("SignatureValue is not base64".into()))?;
    let certificate = signature
        .child(DSIG, "KeyInfo")
        .and_then(|k| k.child(DSIG, "X509Data"))
        .and_then(|d| d.child_text(DSIG, "X509Certificate"))
        .map(|c| c.split_whitespace().collect::<String>())
        .ok_or_else(|| DsigError::Invalid("no X509Certificate in KeyInfo".into()))?;
    let certificate = STANDARD
        .decode(certificate)
        .map_err(|_| DsigError::Invalid("X509Certificate is not base64".into()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&certificate)
        .map_err(|e| DsigError::Invalid(format!("unreadable certificate: {e}")))?;
    let key = parsed.public_key().subject_public_key.data.to_vec();
    let canonical_info = c14n::canonicalize(document, Target::Named(DSIG, "SignedInfo"), false)?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(&canonical_info, &value)
        .map_err(|_| {
            DsigError::Invalid(
                "the signature value does not verify with the certificate's key".into(),
            )
        })?;
    Ok(certificate)
}

fn find_by_id<'a>(element: &'a Element, id: &str) -> Option<&'a Element> {
    if ["ID", "Id", "id"]
        .iter()
        .any(|name| element.attribute(name) == Some(id))
    {
        return Some(element);
    }
    element
        .children
        .iter()
        .find_map(|child| find_by_id(child, id))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn signer() -> Signer {
        let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example");
        Signer::from_files(&pki.join("crt/sign.pem"), &pki.join("crt/sign.key.pem"))
            .expect("signer")
    }

    const DOC: &str = "<r:Root xmlns:r=\"urn:r\"><r:A ID=\"a1\"><r:Issuer>me</r:Issuer><!--crt:signature--><r:Data k=\"v\">payload &amp; more</r:Data></r:A></r:Root>";

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let signed = sign_enveloped(DOC, "a1", &signer()).unwrap();
        let verified = verify_enveloped(signed.as_bytes(), "a1").unwrap();
        assert_eq!(verified.certificate, signer().certificate_der());
        let altered = signed.replace("payload", "PAYLOAD");
        assert!(
            verify_enveloped(altered.as_bytes(), "a1")
                .unwrap_err()
                .to_string()
                .contains("digest")
        );
        let reordered = signed.replace("k=\"v\"", "k=\"w\"");
        assert!(verify_enveloped(reordered.as_bytes(), "a1").is_err());
        let value_start = signed.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
        let mut forged = signed.clone();
        forged.replace_range(value_start..value_start + 4, "AAAA");
        assert!(
            verify_enveloped(forged.as_bytes(), "a1")
                .unwrap_err()
                .to_string()
                .contains("does not verify")
        );
    }

    #[test]
    fn prefixes_do_not_matter_to_the_signature() {
        let signed = sign_enveloped(DOC, "a1", &signer()).unwrap();
        // A receiver that writes the same document with another prefix for urn:r.
        let renamed = signed.replace("r:", "x:").replace("xmlns:r=", "xmlns:x=");
        assert!(
            verify_enveloped(renamed.as_bytes(), "a1").is_err(),
            "prefixes are part of exc-c14n output"
        );
        let wrapped = format!(
            "<w:Wrap xmlns:w=\"urn:w\">{}</w:Wrap>",
            signed.replace(
                "<r:Root xmlns:r=\"urn:r\">",
                "<r:Root xmlns:r=\"urn:r\" xmlns:unused=\"urn:u\">"
            )
        );
        assert!(
            verify_enveloped(wrapped.as_bytes(), "a1").is_ok(),
            "ancestors and unused namespaces do not matter"
        );
    }
}

#[cfg(test)]
mod external {
    use super::tests::signer;
    use super::*;

    /// The signature verifies with an independent implementation (Python signxml, on lxml's
    /// canonicalisation), when `CRT_CDA_PYTHON` has it.
    #[test]
    fn signxml_verifies_our_signatures() {
        let Some(python) = std::env::var_os("CRT_CDA_PYTHON") else {
            eprintln!("CRT_CDA_PYTHON is not set: independent signature check skipped");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let document = "<s:Envelope xmlns:s=\"urn:s\"><s:Header><a:A xmlns:a=\"urn:a\" ID=\"_x1\"><a:Issuer>i &amp; j</a:Issuer><!--crt:signature--><a:V k=\"1\">v</a:V></a:A></s:Header></s:Envelope>";
        let signed = sign_enveloped(document, "_x1", &signer()).unwrap();
        std::fs::write(dir.path().join("signed.xml"), &signed).unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            signer().certificate_base64()
        );
        std::fs::write(dir.path().join("cert.pem"), pem).unwrap();
        let script = r#"
import sys
from lxml import etree
from signxml import XMLVerifier
root = etree.parse(sys.argv[1]).getroot()
node = root.find('.//{urn:a}A')
XMLVerifier().verify(node, x509_cert=open(sys.argv[2]).read(), id_attribute='ID')
print('verified')
"#;
        let output = std::process::Command::new(python)
            .args(["-c", script])
            .arg(dir.path().join("signed.xml"))
            .arg(dir.path().join("cert.pem"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        if text.contains("No module named 'signxml'") {
            eprintln!("signxml is not installed: independent signature check skipped");
            return;
        }
        assert!(
            output.status.success() && text.contains("verified"),
            "{text}"
        );
    }
}
