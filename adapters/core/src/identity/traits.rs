//! Identity traits in the form the INS uses: upper case A–Z without diacritics, words
//! joined by one space, apostrophe or hyphen (two hyphens allowed in names, which joins
//! the parts of a double name).
//!
//! Normalisation folds what can be folded (é → E, œ → OE, ß → SS, curly apostrophes to
//! `'`, dashes to `-`, runs of spaces to one) and refuses the rest with an error naming
//! the trait and the position; it never drops a character silently. Errors do not quote
//! the value: they may travel to logs.

use crate::record::{IdentityTraits, Sex};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraitError {
    #[error("{0} is empty once normalised")]
    Empty(&'static str),
    #[error("{name}: character {position} is not a letter, space, apostrophe or hyphen")]
    Character { name: &'static str, position: usize },
    #[error("{name}: {message}")]
    Form {
        name: &'static str,
        message: &'static str,
    },
}

/// The traits the INSi teleservice is asked with and answers with.
#[derive(Clone, PartialEq, Eq)]
pub struct NormalisedTraits {
    pub birth_name: String,
    /// Birth given names in order; the first is the first given name.
    pub given_names: Vec<String>,
    pub sex: &'static str,
    /// `YYYY-MM-DD`, `00` for an unknown day or month.
    pub birth_date: String,
    /// INSEE COG code, when known.
    pub birth_place: Option<String>,
}

impl std::fmt::Debug for NormalisedTraits {
    // Identity traits stay out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NormalisedTraits(..)")
    }
}

impl NormalisedTraits {
    pub fn first_given_name(&self) -> &str {
        self.given_names.first().map(String::as_str).unwrap_or("")
    }

    /// The given names as the INSi `ListePrenom` carries them: one space between names.
    pub fn given_names_list(&self) -> String {
        self.given_names.join(" ")
    }
}

/// Normalises a record's traits.
pub fn normalise(traits: &IdentityTraits) -> Result<NormalisedTraits, TraitError> {
    let birth_name = normalise_name("birth_name", &traits.birth_name)?;
    let given_names = traits
        .birth_given_names
        .iter()
        .map(|name| normalise_name("birth_given_names", name))
        .collect::<Result<Vec<_>, _>>()?;
    if given_names.is_empty() {
        return Err(TraitError::Empty("birth_given_names"));
    }
    let first = normalise_name("first_given_name", &traits.first_given_name)?;
    if first != given_names[0] {
        return Err(TraitError::Form {
            name: "first_given_name",
            message: "must be the first birth given name",
        });
    }
    let birth_date = check_birth_date(&traits.birth_date)?;
    let birth_place = traits
        .birth_place_code
        .as_deref()
        .map(check_birth_place)
        .transpose()?;
    Ok(NormalisedTraits {
        birth_name,
        given_names,
        sex: sex_code(traits.sex),
        birth_date,
        birth_place,
    })
}

pub fn sex_code(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "M",
        Sex::Female => "F",
        Sex::Undetermined => "I",
    }
}

/// Normalises one name (birth name, given name, used name).
pub fn normalise_name(name: &'static str, value: &str) -> Result<String, TraitError> {
    let mut folded = String::with_capacity(value.len());
    for (index, c) in value.chars().enumerate() {
        match fold(c) {
            Some(Folded::Text(text)) => folded.push_str(text),
            Some(Folded::Char(c)) => folded.push(c),
            None => {
                return Err(TraitError::Character {
                    name,
                    position: index + 1,
                });
            }
        }
    }
    // Spaces around separators go; runs of spaces become one.
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        match c {
            ' ' if out.is_empty() || out.ends_with([' ', '-', '\'']) => {}
            '-' | '\'' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    let out = out.trim_matches(' ').to_string();
    if out.is_empty() {
        return Err(TraitError::Empty(name));
    }
    check_form(name, &out)?;
    Ok(out)
}

/// `^[A-Z]+(?:(?:-{1,2}|[' ])[A-Z]+)*$`, with the reason when it does not hold.
fn check_form(name: &'static str, value: &str) -> Result<(), TraitError> {
    let bytes = value.as_bytes();
    if !bytes[0].is_ascii_uppercase() || !bytes[bytes.len() - 1].is_ascii_uppercase() {
        return Err(TraitError::Form {
            name,
            message: "must start and end with a letter",
        });
    }
    let mut run = 0;
    let mut previous = b'A';
    for &b in bytes {
        if b.is_ascii_uppercase() {
            run = 0;
        } else {
            run += 1;
            let allowed = match (previous, b) {
                (b'-', b'-') => run == 2,
                _ => run == 1,
            };
            if !allowed {
                return Err(TraitError::Form {
                    name,
                    message: "separators may not follow one another (except two hyphens)",
                });
            }
        }
        previous = b;
    }
    Ok(())
}

enum Folded {
    Char(char),
    Text(&'static str),
}

/// The INS form of one character, or `None` when it has none.
fn fold(c: char) -> Option<Folded> {
    let simple = match c {
        'a'..='z' => Some(c.to_ascii_uppercase()),
        'A'..='Z' => Some(c),
        ' ' | '\u{a0}' | '\t' => Some(' '),
        '\'' | '’' | '‘' | '`' | '´' | 'ʼ' => Some('\''),
        '-' | '‐' | '‑' | '–' => Some('-'),
        _ => None,
    };
    if let Some(c) = simple {
        return Some(Folded::Char(c));
    }
    // Letters that do not decompose into a base letter and marks.
    let text = match c {
        'Æ' | 'æ' => "AE",
        'Œ' | 'œ' => "OE",
        'ß' | 'ẞ' => "SS",
        'Ø' | 'ø' => "O",
        'Đ' | 'đ' | 'Ð' | 'ð' => "D",
        'Ł' | 'ł' => "L",
        'Þ' | 'þ' => "TH",
        'ı' => "I",
        _ => "",
    };
    if !text.is_empty() {
        return Some(Folded::Text(text));
    }
    // Otherwise: canonical decomposition, keeping the base letter if it is A–Z and every
    // other part a combining mark.
    let mut parts = std::iter::once(c).nfd();
    let base = parts.next()?;
    let marks_only = parts.all(|m| ('\u{300}'..='\u{36f}').contains(&m));
    if marks_only && base.is_ascii_alphabetic() && base != c {
        Some(Folded::Char(base.to_ascii_uppercase()))
    } else {
        None
    }
}

fn check_birth_date(value: &str) -> Result<String, TraitError> {
    let form = TraitError::Form {
        name: "birth_date",
        message: "expected YYYY-MM-DD, 00 for an unknown day or month",
    };
    let bytes = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range.clone())
            .filter(|p| p.iter().all(u8::is_ascii_digit))?;
        value[range].parse::<u32>().ok()
    };
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(form);
    }
    match (digits(0..4), digits(5..7), digits(8..10)) {
        (Some(_), Some(month), Some(day))
            if month <= 12 && day <= 31 && !(month == 0 && day != 0) =>
        {
            Ok(value.to_string())
        }
        _ => Err(form),
    }
}

fn check_birth_place(value: &str) -> Result<String, TraitError> {
    let bytes = value.as_bytes();
    let valid = bytes.len() == 5
        && (bytes[..2].iter().all(u8::is_ascii_digit)
            || value.starts_with("2A")
            || value.starts_with("2B"))
        && bytes[2..].iter().all(u8::is_ascii_digit);
    if valid {
        Ok(value.to_string())
    } else {
        Err(TraitError::Form {
            name: "birth_place_code",
            message: "expected an INSEE COG code: 5 characters, 2A/2B for Corsica, 99xxx abroad",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(value: &str) -> Result<String, TraitError> {
        normalise_name("birth_name", value)
    }

    #[test]
    fn accents_and_case_are_folded() {
        assert_eq!(n("Lefèvre").unwrap(), "LEFEVRE");
        assert_eq!(n("Marie-Thérèse").unwrap(), "MARIE-THERESE");
        assert_eq!(n("Françoise").unwrap(), "FRANCOISE");
        assert_eq!(n("Noël Ülkü Ñúñez").unwrap(), "NOEL ULKU NUNEZ");
        assert_eq!(n("Dvořák Łukasz").unwrap(), "DVORAK LUKASZ");
    }

    #[test]
    fn ligatures_become_two_letters() {
        assert_eq!(n("Lætitia").unwrap(), "LAETITIA");
        assert_eq!(n("Cœur").unwrap(), "COEUR");
        assert_eq!(n("Strauß").unwrap(), "STRAUSS");
    }

    #[test]
    fn apostrophes_and_hyphens_are_unified() {
        assert_eq!(n("N’Diaye").unwrap(), "N'DIAYE");
        assert_eq!(n("d'Aeion").unwrap(), "D'AEION");
        assert_eq!(n("Jean – Pierre").unwrap(), "JEAN-PIERRE");
        assert_eq!(n("D' Artagnan").unwrap(), "D'ARTAGNAN");
    }

    #[test]
    fn double_hyphen_of_double_names_is_kept_and_spaces_collapse() {
        assert_eq!(n("Dupont--Durand").unwrap(), "DUPONT--DURAND");
        assert_eq!(n("  le   Goff ").unwrap(), "LE GOFF");
        assert!(n("Dupont---Durand").is_err());
        assert!(n("Dupont-'Durand").is_err());
    }

    #[test]
    fn what_cannot_be_folded_is_an_error_naming_the_trait_and_position() {
        assert_eq!(
            n("Louis 14"),
            Err(TraitError::Character {
                name: "birth_name",
                position: 7
            })
        );
        assert_eq!(
            n("Ωmega"),
            Err(TraitError::Character {
                name: "birth_name",
                position: 1
            })
        );
        assert_eq!(
            n("J.-P."),
            Err(TraitError::Character {
                name: "birth_name",
                position: 2
            })
        );
        assert_eq!(
            n(" - "),
            Err(TraitError::Form {
                name: "birth_name",
                message: "must start and end with a letter"
            })
        );
        assert_eq!(n("   "), Err(TraitError::Empty("birth_name")));
        assert!(n("-Dupont").is_err());
    }

    #[test]
    fn record_traits_are_normalised_together() {
        let traits = IdentityTraits {
            birth_name: "N'Diaye".into(),
            used_name: None,
            birth_given_names: vec!["Jean-Pierre".into(), "Moussa".into()],
            first_given_name: "jean-pierre".into(),
            used_given_name: None,
            sex: Sex::Male,
            birth_date: "1941-00-00".into(),
            birth_place_code: Some("99350".into()),
        };
        let normalised = normalise(&traits).unwrap();
        assert_eq!(normalised.birth_name, "N'DIAYE");
        assert_eq!(normalised.given_names_list(), "JEAN-PIERRE MOUSSA");
        assert_eq!(normalised.first_given_name(), "JEAN-PIERRE");
        assert_eq!(normalised.sex, "M");
        assert_eq!(normalised.birth_date, "1941-00-00");

        let mut bad = traits.clone();
        bad.birth_date = "1941-00-12".into();
        assert!(matches!(
            normalise(&bad),
            Err(TraitError::Form {
                name: "birth_date",
                ..
            })
        ));
        let mut bad = traits.clone();
        bad.birth_place_code = Some("2C004".into());
        assert!(matches!(
            normalise(&bad),
            Err(TraitError::Form {
                name: "birth_place_code",
                ..
            })
        ));
        let mut bad = traits;
        bad.first_given_name = "Moussa".into();
        assert!(matches!(
            normalise(&bad),
            Err(TraitError::Form {
                name: "first_given_name",
                ..
            })
        ));
    }
}
