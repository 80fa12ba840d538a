//! Check keys of the national identifiers a record carries (FINESS, RPPS), and the form
//! of the OIDs that name things on the wire.
//!
//! FINESS and RPPS use the Luhn key. The INS key (modulo 97) belongs to the INS adapter.

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("expected {expected} characters, found {found}")]
    Length { expected: usize, found: usize },
    #[error("character {position} is {found:?}, expected a digit")]
    NotADigit { position: usize, found: char },
    #[error("check key is {given}, expected {expected}")]
    Key { given: u32, expected: u32 },
}

/// The Luhn check digit that completes `body`. Every character must be a digit.
fn luhn_key(body: &str) -> Result<u32, IdentifierError> {
    let mut sum = 0;
    // The rightmost digit of the body is doubled, since the key will follow it.
    for (index, (position, c)) in body.char_indices().rev().enumerate() {
        let digit = c.to_digit(10).ok_or(IdentifierError::NotADigit {
            position: position + 1,
            found: c,
        })?;
        sum += if index % 2 == 0 {
            let doubled = digit * 2;
            if doubled > 9 { doubled - 9 } else { doubled }
        } else {
            digit
        };
    }
    Ok((10 - sum % 10) % 10)
}

fn check_luhn(value: &str, length: usize) -> Result<(), IdentifierError> {
    let found = value.chars().count();
    if found != length {
        return Err(IdentifierError::Length {
            expected: length,
            found,
        });
    }
    let (body, key) = value.split_at(length - 1);
    let expected = luhn_key(body)?;
    let key_char = key.chars().next().unwrap_or('?');
    let given = key_char.to_digit(10).ok_or(IdentifierError::NotADigit {
        position: length,
        found: key_char,
    })?;
    if given != expected {
        return Err(IdentifierError::Key { given, expected });
    }
    Ok(())
}

/// Whether `value` is an OID in dotted form as XDS accepts it: numeric arcs without
/// leading zeros, at most 64 characters.
pub fn is_oid(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value.split('.').all(|arc| {
            !arc.is_empty()
                && arc.bytes().all(|b| b.is_ascii_digit())
                && (arc == "0" || !arc.starts_with('0'))
        })
}

/// Checks a FINESS number: 9 characters, Luhn key last. Corsican numbers (2A/2B) carry a
/// letter in the key's input, for which no public rule gives the digit: their format is
/// checked, their key is not.
pub fn check_finess(value: &str) -> Result<(), IdentifierError> {
    if value.starts_with("2A") || value.starts_with("2B") {
        let found = value.chars().count();
        if found != 9 {
            return Err(IdentifierError::Length { expected: 9, found });
        }
        return match value
            .char_indices()
            .skip(2)
            .find(|(_, c)| !c.is_ascii_digit())
        {
            Some((position, found)) => Err(IdentifierError::NotADigit {
                position: position + 1,
                found,
            }),
            None => Ok(()),
        };
    }
    check_luhn(value, 9)
}

/// Checks an RPPS number: 11 digits, Luhn key last.
pub fn check_rpps(value: &str) -> Result<(), IdentifierError> {
    check_luhn(value, 11)
}

/// Checks a SIRET number: 14 digits, Luhn key last. La Poste's establishments (SIREN
/// 356000000) follow INSEE's exception: the sum of the digits is a multiple of 5.
pub fn check_siret(value: &str) -> Result<(), IdentifierError> {
    let digits = value.len() == 14 && value.bytes().all(|b| b.is_ascii_digit());
    if digits && value.starts_with("356000000") {
        let given = u32::from(value.as_bytes()[13] - b'0');
        let rest: u32 = value.bytes().take(13).map(|b| u32::from(b - b'0')).sum();
        let expected = (5 - rest % 5) % 5;
        return if (rest + given).is_multiple_of(5) {
            Ok(())
        } else {
            Err(IdentifierError::Key { given, expected })
        };
    }
    check_luhn(value, 14)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siret_keys_are_checked() {
        assert_eq!(check_siret("73282932000074"), Ok(()));
        assert!(check_siret("73282932000075").is_err());
        assert!(check_siret("7328293200007").is_err());
        assert_eq!(check_siret("35600000000010"), Ok(()));
        assert!(check_siret("35600000000011").is_err());
    }

    #[test]
    fn finess_of_the_official_dlu_example_is_valid() {
        // idNat_Struct 1750803447 in the ANS DLU example = "1" + FINESS 750803447.
        assert_eq!(check_finess("750803447"), Ok(()));
    }

    #[test]
    fn finess_with_a_wrong_key_says_which_key_was_expected() {
        assert_eq!(
            check_finess("750803440"),
            Err(IdentifierError::Key {
                given: 0,
                expected: 7
            })
        );
    }

    #[test]
    fn finess_length_and_characters_are_reported() {
        assert_eq!(
            check_finess("75080344"),
            Err(IdentifierError::Length {
                expected: 9,
                found: 8
            })
        );
        assert_eq!(
            check_finess("75080X447"),
            Err(IdentifierError::NotADigit {
                position: 6,
                found: 'X'
            })
        );
    }

    #[test]
    fn corsican_finess_is_checked_for_form_only() {
        assert_eq!(check_finess("2A0000011"), Ok(()));
        assert!(check_finess("2A00000X1").is_err());
    }

    #[test]
    fn rpps_of_the_official_dlu_example_is_valid() {
        // IDNPS 801234567897 in the ANS DLU example = "8" + RPPS 01234567897.
        assert_eq!(check_rpps("01234567897"), Ok(()));
        assert!(matches!(
            check_rpps("01234567890"),
            Err(IdentifierError::Key { .. })
        ));
    }
}
