//! MSSanté addresses: who a message may be sent to.
//!
//! The MSSanté trust space is the `mssante.fr` domain and its subdomains; Mon espace santé
//! gives every person a mailbox `<INS>@patient.mssante.fr`. A message never leaves for
//! another domain unless the configuration lists it (an operator's domain outside
//! `mssante.fr` that the trust-space directory publishes).

use std::fmt;

/// The domain of the trust space.
pub const TRUST_DOMAIN: &str = "mssante.fr";
/// The domain of patients' mailboxes (Mon espace santé).
pub const PATIENT_DOMAIN: &str = "patient.mssante.fr";
/// RFC 5321 limit on a whole path.
const MAX_ADDRESS_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

/// A syntactically valid address, lower-cased domain, on an allowed domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    local: String,
    domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("{0:?} is not an e-mail address (local@domain, ASCII, at most 254 characters)")]
    Syntax(String),
    #[error(
        "{0:?} is not on an MSSanté domain (mssante.fr) nor on a domain the configuration allows"
    )]
    OutsideTrustSpace(String),
    #[error(
        "{0:?}: a patient mailbox is named after a 15-character INS (digits, 2A or 2B for a Corsican department)"
    )]
    PatientMailbox(String),
}

impl Address {
    /// Parses `text` and checks it against the trust space and `allowed` extra domains.
    pub fn parse(text: &str, allowed: &[String]) -> Result<Address, AddressError> {
        let address = Address::syntax(text)?;
        if address.domain == PATIENT_DOMAIN && !is_ins(&address.local) {
            return Err(AddressError::PatientMailbox(text.to_string()));
        }
        let trusted = address.domain == TRUST_DOMAIN
            || address.domain.ends_with(&format!(".{TRUST_DOMAIN}"))
            || allowed
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&address.domain));
        if !trusted {
            return Err(AddressError::OutsideTrustSpace(text.to_string()));
        }
        Ok(address)
    }

    /// Syntax only (RFC 5321 dot-atoms, ASCII): what the simulator needs before applying
    /// its own directory.
    pub fn syntax(text: &str) -> Result<Address, AddressError> {
        let error = || AddressError::Syntax(text.to_string());
        if text.len() > MAX_ADDRESS_LEN || !text.is_ascii() {
            return Err(error());
        }
        let (local, domain) = text.rsplit_once('@').ok_or_else(error)?;
        let atom = |part: &str, extra: &[u8]| {
            !part.is_empty()
                && !part.starts_with('.')
                && !part.ends_with('.')
                && !part.contains("..")
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || extra.contains(&b))
        };
        if local.len() > MAX_LOCAL_LEN
            || !atom(local, b"!#$%&'*+/=?^_`{|}~-")
            || !atom(domain, b"-")
            || !domain.contains('.')
        {
            return Err(error());
        }
        Ok(Address {
            local: local.to_string(),
            domain: domain.to_ascii_lowercase(),
        })
    }

    /// The Mon espace santé mailbox of the person with INS `number` (15 digits).
    pub fn patient(number: &str) -> Result<Address, AddressError> {
        Address::parse(&format!("{number}@{PATIENT_DOMAIN}"), &[])
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn local(&self) -> &str {
        &self.local
    }

    pub fn is_patient(&self) -> bool {
        self.domain == PATIENT_DOMAIN
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// Whether `local` is an INS as a patient mailbox is named: 15 characters, digits but for
/// the department of birth (characters 6 and 7), which is `2A` or `2B` for Corsica.
fn is_ins(local: &str) -> bool {
    let bytes = local.as_bytes();
    bytes.len() == 15
        && bytes.iter().enumerate().all(|(i, b)| {
            b.is_ascii_digit()
                || (i == 6 && bytes[5] == b'2' && b.eq_ignore_ascii_case(&b'a'))
                || (i == 6 && bytes[5] == b'2' && b.eq_ignore_ascii_case(&b'b'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corsican_ins_names_a_patient_mailbox() {
        assert!(Address::patient("297022A02077878").is_ok());
        assert!(Address::patient("181122B12345612").is_ok());
        assert!(Address::patient("238047218104592").is_ok());
        for bad in [
            "297023A02077878",
            "2970A2A02077878",
            "29702AA0207787",
            "2970220207787",
        ] {
            assert!(Address::patient(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_on_the_trust_space_or_an_allowed_domain_only() {
        let ok = Address::parse("Luc.Bernard@Medecin.MSSante.fr", &[]).expect("valid");
        assert_eq!(ok.to_string(), "Luc.Bernard@medecin.mssante.fr");
        assert!(Address::parse("x@mssante.fr", &[]).is_ok());
        assert_eq!(
            Address::parse("luc@gmail.com", &[]),
            Err(AddressError::OutsideTrustSpace("luc@gmail.com".into()))
        );
        assert!(Address::parse("luc@fakemssante.fr", &[]).is_err());
        assert!(Address::parse("luc@operator.example", &["operator.example".into()]).is_ok());
        for bad in [
            "no-at",
            "@medecin.mssante.fr",
            "a..b@medecin.mssante.fr",
            "a b@medecin.mssante.fr",
            "élodie@medecin.mssante.fr",
            "a@localhost",
        ] {
            assert!(
                matches!(Address::parse(bad, &[]), Err(AddressError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn patient_mailboxes_are_named_after_an_ins() {
        let mailbox = Address::patient("279035121518989").expect("valid");
        assert!(mailbox.is_patient());
        assert_eq!(mailbox.to_string(), "279035121518989@patient.mssante.fr");
        assert!(matches!(
            Address::parse("jean@patient.mssante.fr", &[]),
            Err(AddressError::PatientMailbox(_))
        ));
    }
}
