//! The TLS MSSanté prescribes: TLS 1.2 only, with the ECDHE-RSA suites the referential
//! lists, for the client and for the simulator alike.
//!
//! The referential lists 0xC030, 0xC02F, 0xC028 and 0xC027. rustls implements the two
//! AES-GCM suites (0xC030, 0xC02F) and deliberately none of the CBC ones, so the gateway
//! offers the GCM pair: a server that follows the referential accepts them, and the CBC
//! suites are the ones security guidance asks to retire first.

use std::sync::Arc;

use crt_core::tls::Policy;
use rustls::crypto::ring::cipher_suite;

static TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// TLS 1.2 with TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 and
/// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.
pub fn policy() -> Policy {
    let base = crt_core::tls::provider();
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ],
        ..(*base).clone()
    };
    Policy {
        provider: Arc::new(provider),
        versions: TLS12_ONLY,
    }
}

/// The IANA numbers of the suites [`policy`] offers, as the referential names them.
pub const SUITES: [u16; 2] = [0xC030, 0xC02F];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_offers_tls12_gcm_suites_of_the_referential_only() {
        let policy = policy();
        let offered: Vec<u16> = policy
            .provider
            .cipher_suites
            .iter()
            .map(|s| u16::from(s.suite()))
            .collect();
        assert_eq!(offered, SUITES);
        assert_eq!(policy.versions.len(), 1);
        assert_eq!(policy.versions[0].version, rustls::ProtocolVersion::TLSv1_2);
    }
}
