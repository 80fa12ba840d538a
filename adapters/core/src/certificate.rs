//! What crt-gateway reads in an IGC-Santé organisation certificate: the structure it was
//! issued to. IGC-Santé puts the structure's national identifier (idNat_Struct: `1` +
//! FINESS, `3` + SIRET, `0` + ADELI rang, `4` + RPPS rang) in a subject OU.

use x509_parser::x509::X509Name;

/// Whether an OU value has the form of an idNat_Struct: a known one-digit prefix followed
/// by an alphanumeric identifier (FINESS of Corsica carry a letter).
pub fn looks_like_id_nat_struct(value: &str) -> bool {
    (9..=20).contains(&value.len())
        && value.starts_with(['0', '1', '3', '4'])
        && value.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The idNat_Struct of a subject, if one of its OUs carries one.
pub fn id_nat_struct(subject: &X509Name<'_>) -> Option<String> {
    subject
        .iter_organizational_unit()
        .filter_map(|a| a.as_str().ok())
        .find(|ou| looks_like_id_nat_struct(ou))
        .map(str::to_string)
}

/// The idNat_Struct of the structure a DER certificate was issued to.
pub fn id_nat_struct_of(der: &[u8]) -> Option<String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    id_nat_struct(certificate.subject())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_nat_struct_forms() {
        assert!(looks_like_id_nat_struct("1720004563"));
        assert!(looks_like_id_nat_struct("12A0001234"));
        assert!(looks_like_id_nat_struct("312345678900015"));
        assert!(!looks_like_id_nat_struct("IGC-SANTE ELEMENTAIRE TEST"));
        assert!(!looks_like_id_nat_struct("9720004563"));
        assert!(!looks_like_id_nat_struct("1720"));
    }

    #[test]
    fn garbage_has_no_structure() {
        assert_eq!(id_nat_struct_of(b"not a certificate"), None);
    }
}
