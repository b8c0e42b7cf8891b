//! Keyed fingerprints of the personal data that reveals duplicates: the phone, and the
//! name with surname and bairro. Normalised first (so "(12) 99876-5432" and
//! "+55 12 998765432" match, and "José  da Silva" matches "jose da silva"), then
//! HMAC-SHA256 with the server's secret, so that analysts can compare them without being
//! able to recover a phone number by hashing every possible one.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::accounts::fields::Phone;

/// The phone's digits as the sign-up form keeps them (area code and number, without
/// country code or trunk prefix); a number the form would refuse keeps its digits.
/// `None` when there are no digits.
pub fn normalise_phone(raw: &str) -> Option<String> {
    if let Ok(Some(p)) = Phone::parse_optional(raw) {
        return Some(p.as_str().to_owned());
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// Lower case, accents removed, runs of spaces (and punctuation) made one space.
pub fn fold(text: &str) -> String {
    let bare: String = text
        .nfd()
        .filter(|c| c.general_category() != GeneralCategory::NonspacingMark)
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    bare.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The fingerprints of one respondent: (phone, name + surname + bairro), hex.
pub fn fingerprints(
    key: &[u8],
    nome: &str,
    sobrenome: &str,
    bairro: &str,
    telefone: Option<&str>,
) -> (Option<String>, String) {
    let phone = telefone
        .and_then(normalise_phone)
        .map(|p| crate::crypto::hmac_hex(key, &[b"phone:", p.as_bytes()]));
    // The unit separator keeps "ana|souza x" and "ana souza|x" apart.
    let name = crate::crypto::hmac_hex(
        key,
        &[
            b"name:",
            fold(nome).as_bytes(),
            b"\x1f",
            fold(sobrenome).as_bytes(),
            b"\x1f",
            fold(bairro).as_bytes(),
        ],
    );
    (phone, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_with_country_code_or_trunk_prefix_match() {
        let want = Some("12998765432".to_string());
        for raw in [
            "(12) 99876-5432",
            "+55 12 99876-5432",
            "5512998765432",
            "012 99876 5432",
        ] {
            assert_eq!(normalise_phone(raw), want, "{raw}");
        }
        assert_eq!(normalise_phone("123"), Some("123".into()));
        assert_eq!(normalise_phone(" - "), None);
    }

    #[test]
    fn names_fold_case_accents_and_spaces() {
        assert_eq!(fold("  JOSÉ   da  Conceição "), "jose da conceicao");
        assert_eq!(fold("Jardim São José"), "jardim sao jose");
        assert_eq!(fold("D'Ávila"), "d avila");
    }

    #[test]
    fn fingerprints_are_keyed_and_normalised() {
        let a = fingerprints(b"k", "José", "Silva", "Centro", Some("(12) 99876-5432"));
        let b = fingerprints(b"k", "jose ", "SILVA", "centro", Some("+55 12 998765432"));
        assert_eq!(a, b);
        let other_key = fingerprints(b"x", "José", "Silva", "Centro", Some("(12) 99876-5432"));
        assert_ne!(a.0, other_key.0);
        assert_ne!(a.1, other_key.1);
        // Name and surname are kept apart.
        let moved = fingerprints(b"k", "José Silva", "", "Centro", None);
        assert_ne!(moved.1, a.1);
        assert_eq!(moved.0, None);
    }
}
