//! JSON Web Tokens as Pro Santé Connect issues them: compact JWS (RFC 7515) signed with
//! RS256 or ES256 by a key of the provider's JWKS (RFC 7517).
//!
//! Only what an access or ID token needs is implemented, and nothing is trusted before the
//! signature is checked: the token's size is bounded before it is decoded, `alg` must be
//! one of the two asymmetric algorithms (never `none`, never a MAC whose secret would be a
//! key the provider publishes), and the key is chosen by `kid` among the provider's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A token longer than this is refused before it is decoded (PSC tokens are 1–3 KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLong,
    #[error("the token is not a compact JWS (three base64url parts separated by dots)")]
    NotCompact,
    #[error("the token's {0} is not base64url-encoded JSON")]
    Encoding(&'static str),
    #[error("the token is signed with {0:?}; RS256 or ES256 is expected")]
    Algorithm(String),
    #[error("no key of the provider has the token's key id {0:?}")]
    UnknownKey(String),
    #[error("the token's signature does not verify with the provider's key")]
    BadSignature,
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A token whose parts were decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct Unverified {
    pub header: Header,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}

/// Whether `text` has the shape of a compact JWS, so that a bearer token can be told from
/// the gateway's own opaque tokens before any work is done on it.
pub fn looks_like_jws(text: &str) -> bool {
    text.len() <= MAX_TOKEN_BYTES
        && text.split('.').count() == 3
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Decodes a compact JWS without trusting it.
pub fn decode(token: &str) -> Result<Unverified, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::TooLong);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::NotCompact);
    };
    let header: Header = json_part(header, "header")?;
    let claims: Map<String, Value> = json_part(payload, "payload")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Encoding("signature"))?;
    let signed_part = token.rfind('.').map_or(token, |dot| &token[..dot]);
    Ok(Unverified {
        signing_input: signed_part.to_string(),
        header,
        claims,
        signature,
    })
}

fn json_part<T: serde::de::DeserializeOwned>(
    part: &str,
    name: &'static str,
) -> Result<T, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Encoding(name))?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Encoding(name))
}

impl Unverified {
    /// The claims, once the signature verifies with the key of `keys` the header names.
    pub fn verify(self, keys: &Jwks) -> Result<Map<String, Value>, JwtError> {
        let kid = self.header.kid.clone().unwrap_or_default();
        let key = keys
            .keys
            .iter()
            .find(|k| k.kid.as_deref().unwrap_or_default() == kid)
            .ok_or(JwtError::UnknownKey(kid))?;
        let input = self.signing_input.as_bytes();
        let verified = match (self.header.alg.as_str(), key) {
            (
                "RS256",
                Jwk {
                    kty,
                    n: Some(n),
                    e: Some(e),
                    ..
                },
            ) if kty == "RSA" => {
                let (n, e) = (base64url(n)?, base64url(e)?);
                RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(
                        &signature::RSA_PKCS1_2048_8192_SHA256,
                        input,
                        &self.signature,
                    )
                    .is_ok()
            }
            (
                "ES256",
                Jwk {
                    kty,
                    x: Some(x),
                    y: Some(y),
                    ..
                },
            ) if kty == "EC" => {
                let mut point = vec![4u8];
                point.extend(base64url(x)?);
                point.extend(base64url(y)?);
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input, &self.signature)
                    .is_ok()
            }
            ("RS256" | "ES256", _) => false,
            (other, _) => return Err(JwtError::Algorithm(other.to_string())),
        };
        if verified {
            Ok(self.claims)
        } else {
            Err(JwtError::BadSignature)
        }
    }
}

fn base64url(text: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| JwtError::Encoding("key"))
}

/// A JSON Web Key Set, as the provider's `jwks_uri` serves it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One public key; members of other key types are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// An RS256 signer: the provider's side, for the simulator and the tests.
pub struct Signer {
    key: RsaKeyPair,
    kid: String,
}

impl Signer {
    /// From an RSA private key in PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8], kid: &str) -> Result<Signer, JwtError> {
        let key = RsaKeyPair::from_pkcs8(der).map_err(|e| JwtError::Signing(e.to_string()))?;
        Ok(Signer {
            key,
            kid: kid.to_string(),
        })
    }

    /// The public half, as a JWKS entry.
    pub fn jwk(&self) -> Jwk {
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(self.key.public());
        Jwk {
            kty: "RSA".into(),
            kid: Some(self.kid.clone()),
            alg: Some("RS256".into()),
            use_: Some("sig".into()),
            n: Some(URL_SAFE_NO_PAD.encode(&public.n)),
            e: Some(URL_SAFE_NO_PAD.encode(&public.e)),
            crv: None,
            x: None,
            y: None,
        }
    }

    /// A compact JWS of `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String, JwtError> {
        let header = Header {
            alg: "RS256".into(),
            kid: Some(self.kid.clone()),
            typ: Some("JWT".into()),
        };
        let input = format!("{}.{}", encode_json(&header)?, encode_json(claims)?);
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| JwtError::Signing(e.to_string()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

fn encode_json<T: Serialize>(value: &T) -> Result<String, JwtError> {
    serde_json::to_vec(value)
        .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
        .map_err(|e| JwtError::Signing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn test_signer() -> Signer {
        let pem = include_str!("../../../certs-example/server/localhost.key.pem");
        let der = pem_body(pem);
        Signer::from_pkcs8(&der, "test-key").expect("the example key")
    }

    fn pem_body(pem: &str) -> Vec<u8> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("PEM")
    }

    #[test]
    fn a_signed_token_verifies_with_the_published_key_and_with_no_other() {
        let signer = test_signer();
        let token = signer.sign(&json!({"sub": "899700218896"})).unwrap();
        assert!(looks_like_jws(&token));
        let keys = Jwks {
            keys: vec![signer.jwk()],
        };
        let claims = decode(&token).unwrap().verify(&keys).unwrap();
        assert_eq!(claims["sub"], "899700218896");

        let mut other = signer.jwk();
        other.kid = Some("other".into());
        assert_eq!(
            decode(&token).unwrap().verify(&Jwks { keys: vec![other] }),
            Err(JwtError::UnknownKey("test-key".into()))
        );
    }

    #[test]
    fn a_changed_payload_or_a_weaker_algorithm_is_refused() {
        let signer = test_signer();
        let keys = Jwks {
            keys: vec![signer.jwk()],
        };
        let token = signer.sign(&json!({"sub": "1"})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"2"}"#);
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert_eq!(
            decode(&tampered).unwrap().verify(&keys),
            Err(JwtError::BadSignature)
        );
        for alg in ["none", "HS256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"test-key"}}"#));
            let token = format!("{header}.{}.{}", parts[1], parts[2]);
            assert_eq!(
                decode(&token).unwrap().verify(&keys),
                Err(JwtError::Algorithm(alg.into()))
            );
        }
    }

    #[test]
    fn malformed_tokens_are_errors_not_panics() {
        assert_eq!(decode("abc").unwrap_err(), JwtError::NotCompact);
        assert_eq!(decode("a.b.c.d").unwrap_err(), JwtError::NotCompact);
        assert_eq!(
            decode("!!.e30.AA").unwrap_err(),
            JwtError::Encoding("header")
        );
        assert_eq!(
            decode(&"a".repeat(MAX_TOKEN_BYTES + 1)).unwrap_err(),
            JwtError::TooLong
        );
        assert!(!looks_like_jws("0123456789abcdef"));
    }
}
