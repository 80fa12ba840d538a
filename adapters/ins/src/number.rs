//! INS numbers: a 13-character matricule (NIR or NIA) and its 2-digit key.
//!
//! The key is 97 − (matricule mod 97), the matricule read as a number after replacing the
//! Corsican departments 2A by 19 and 2B by 18. The first digit tells the kind: 1 or 2 (and
//! 3 or 4 for people born abroad registered before 1980s rules) for a NIR, 7 or 8 for a NIA,
//! the temporary number given while a NIR is being attributed.

use std::fmt;

use crt_core::record::InsOid;

/// Why a number is not a valid INS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("expected 15 characters (13 for the matricule, 2 for the key), found {0}")]
    Length(usize),
    #[error("character {position} is not {expected}")]
    Character {
        position: usize,
        expected: &'static str,
    },
    #[error("first digit {0} is neither a NIR (1, 2, 3, 4) nor a NIA (7, 8)")]
    Kind(char),
    #[error("key is {given:02}, expected {expected:02}")]
    Key { given: u8, expected: u8 },
    #[error("OID {oid} is for {oid_kind}, but the matricule is a {kind}")]
    Oid {
        oid: &'static str,
        oid_kind: &'static str,
        kind: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatriculeKind {
    /// Numéro d'inscription au répertoire.
    Nir,
    /// Numéro d'identification d'attente.
    Nia,
}

impl MatriculeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatriculeKind::Nir => "NIR",
            MatriculeKind::Nia => "NIA",
        }
    }
}

/// A checked INS number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InsNumber {
    matricule: String,
    key: u8,
}

impl fmt::Debug for InsNumber {
    // An INS identifies a person: keep it out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InsNumber({})", self.kind().as_str())
    }
}

impl InsNumber {
    /// Parses the 15-character form: matricule then key.
    pub fn parse(value: &str) -> Result<InsNumber, NumberError> {
        let length = value.chars().count();
        if length != 15 || !value.is_ascii() {
            return Err(NumberError::Length(length));
        }
        let (matricule, key) = value.split_at(13);
        InsNumber::from_parts(matricule, key)
    }

    /// Builds from the matricule and key as the INSi teleservice returns them apart.
    pub fn from_parts(matricule: &str, key: &str) -> Result<InsNumber, NumberError> {
        let expected = expected_key(matricule)?;
        if key.len() != 2 || !key.bytes().all(|b| b.is_ascii_digit()) {
            let position = 14 + key.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(0);
            return Err(NumberError::Character {
                position,
                expected: "a digit of the key",
            });
        }
        let given: u8 = key.parse().unwrap_or(0);
        if given != expected {
            return Err(NumberError::Key { given, expected });
        }
        Ok(InsNumber {
            matricule: matricule.to_string(),
            key: given,
        })
    }

    pub fn matricule(&self) -> &str {
        &self.matricule
    }

    /// The key, two digits.
    pub fn key(&self) -> String {
        format!("{:02}", self.key)
    }

    pub fn kind(&self) -> MatriculeKind {
        match self.matricule.as_bytes()[0] {
            b'7' | b'8' => MatriculeKind::Nia,
            _ => MatriculeKind::Nir,
        }
    }

    /// The 15-character form.
    pub fn as_string(&self) -> String {
        format!("{}{:02}", self.matricule, self.key)
    }

    /// Checks that `oid` fits this kind of matricule. Test and demonstration NIR OIDs are
    /// accepted for a NIR: the qualification service itself returns the production OID for
    /// test identities, so the OID says nothing reliable about the environment.
    pub fn check_oid(&self, oid: InsOid) -> Result<(), NumberError> {
        let oid_kind = match oid {
            InsOid::Nia => MatriculeKind::Nia,
            InsOid::Nir | InsOid::TestNir | InsOid::DemoNir => MatriculeKind::Nir,
        };
        if oid_kind == self.kind() {
            Ok(())
        } else {
            Err(NumberError::Oid {
                oid: oid.as_str(),
                oid_kind: oid_kind.as_str(),
                kind: self.kind().as_str(),
            })
        }
    }
}

/// The key a 13-character matricule must carry.
pub fn expected_key(matricule: &str) -> Result<u8, NumberError> {
    let bytes = matricule.as_bytes();
    if bytes.len() != 13 || !matricule.is_ascii() {
        return Err(NumberError::Length(matricule.chars().count() + 2));
    }
    let mut digits = String::with_capacity(13);
    for (i, &b) in bytes.iter().enumerate() {
        let position = i + 1;
        match (position, b) {
            (1, b'1' | b'2' | b'3' | b'4' | b'7' | b'8') => digits.push(b as char),
            (1, c) if c.is_ascii_digit() => return Err(NumberError::Kind(c as char)),
            // Department: 2A / 2B for Corsica.
            (6, b'2') if matches!(bytes[6], b'A' | b'B') => digits.push('1'),
            (7, b'A') if bytes[5] == b'2' => digits.push('9'),
            (7, b'B') if bytes[5] == b'2' => digits.push('8'),
            (_, c) if c.is_ascii_digit() => digits.push(c as char),
            (6 | 7, _) => {
                return Err(NumberError::Character {
                    position,
                    expected: "a digit of the department (or 2A/2B)",
                });
            }
            _ => {
                return Err(NumberError::Character {
                    position,
                    expected: "a digit",
                });
            }
        }
    }
    let number: u64 = digits.parse().map_err(|_| NumberError::Character {
        position: 1,
        expected: "a digit",
    })?;
    Ok((97 - number % 97) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_known_numbers() {
        // From the domain notes (checked values).
        assert_eq!(expected_key("2790351215189"), Ok(89));
        assert_eq!(expected_key("1090763220888"), Ok(35));
        assert!(InsNumber::parse("279035121518989").is_ok());
    }

    #[test]
    fn corsica_2a_2b_are_replaced_by_19_18() {
        // 297022A020778 returned by the INSi qualification service with key 78.
        assert_eq!(expected_key("297022A020778"), Ok(78));
        let number = InsNumber::from_parts("297022A020778", "78").unwrap();
        assert_eq!(number.as_string(), "297022A02077878");
        assert_eq!(expected_key("145062A004123"), Ok(92));
        let b = expected_key("145062B004123").unwrap();
        assert_ne!(b, 92, "2B and 2A give different keys");
    }

    #[test]
    fn wrong_keys_say_which_was_expected() {
        assert_eq!(
            InsNumber::parse("279035121518988"),
            Err(NumberError::Key {
                given: 88,
                expected: 89
            })
        );
    }

    #[test]
    fn bad_forms_say_what_is_wrong() {
        assert_eq!(
            InsNumber::parse("27903512151898"),
            Err(NumberError::Length(14))
        );
        assert_eq!(
            InsNumber::parse("2790351215189890"),
            Err(NumberError::Length(16))
        );
        assert!(matches!(
            InsNumber::parse("2790X5121518989"),
            Err(NumberError::Character { position: 5, .. })
        ));
        assert!(matches!(
            InsNumber::parse("279032C21518989"),
            Err(NumberError::Character {
                position: 6 | 7,
                ..
            })
        ));
        assert_eq!(
            InsNumber::parse("579035121518989"),
            Err(NumberError::Kind('5'))
        );
        assert!(matches!(
            InsNumber::parse("2790351215189AB"),
            Err(NumberError::Character { position: 14, .. })
        ));
        assert_eq!(
            InsNumber::parse("2790351215189é9"),
            Err(NumberError::Length(15))
        );
    }

    #[test]
    fn nia_is_told_from_nir_and_oids_must_agree() {
        let nia_matricule = "7790351215189";
        let key = expected_key(nia_matricule).unwrap();
        let nia = InsNumber::from_parts(nia_matricule, &format!("{key:02}")).unwrap();
        assert_eq!(nia.kind(), MatriculeKind::Nia);
        assert!(nia.check_oid(InsOid::Nia).is_ok());
        assert!(nia.check_oid(InsOid::Nir).is_err());
        let nir = InsNumber::parse("279035121518989").unwrap();
        assert_eq!(nir.kind(), MatriculeKind::Nir);
        assert!(nir.check_oid(InsOid::TestNir).is_ok());
        assert!(matches!(
            nir.check_oid(InsOid::Nia),
            Err(NumberError::Oid { .. })
        ));
    }

    #[test]
    fn debug_output_does_not_show_the_number() {
        let nir = InsNumber::parse("279035121518989").unwrap();
        assert_eq!(format!("{nir:?}"), "InsNumber(NIR)");
    }
}
