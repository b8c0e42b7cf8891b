//! Sign-up and profile fields, parsed rather than validated: a value of these types is
//! known to be well-formed. Errors are codes; the views turn them into words.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Whether `s` holds a Unicode format character (category Cf).
fn has_format_characters(s: &str) -> bool {
    s.chars()
        .any(|c| c.general_category() == GeneralCategory::Format)
}

/// Why a field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    Required,
    TooLong {
        max: usize,
    },
    TooShort {
        min: usize,
    },
    InvalidEmail,
    /// Unicode format characters (category Cf: zero-width spaces, direction marks), which
    /// make two different strings look the same.
    InvisibleCharacters,
    InvalidPhone,
    UnknownBairro,
    PasswordCommon,
    PasswordMismatch,
    PasswordWrong,
    MustAccept,
}

/// An e-mail address in canonical form: Unicode NFKC (full-width and other compatibility
/// letters become the ordinary ones), lower case, trimmed; format characters refused.
/// Every look-up and every counter uses this form, so look-alike spellings of one
/// address are one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, FieldError> {
        if has_format_characters(raw) {
            return Err(FieldError::InvisibleCharacters);
        }
        let s = raw.trim().nfkc().collect::<String>().to_lowercase();
        if s.is_empty() {
            return Err(FieldError::Required);
        }
        if s.chars().count() > 254 {
            return Err(FieldError::TooLong { max: 254 });
        }
        let (local, domain) = s.rsplit_once('@').ok_or(FieldError::InvalidEmail)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let no_space = !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if local_ok && domain_ok && no_space && !s.contains(['<', '>', '"', ',', ';']) {
            Ok(Email(s))
        } else {
            Err(FieldError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A first name or surname: trimmed, 1 to 80 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX: usize = 80;

    pub fn parse(raw: &str) -> Result<PersonName, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::Required);
        }
        if s.chars().count() > Self::MAX {
            return Err(FieldError::TooLong { max: Self::MAX });
        }
        if s.chars().any(char::is_control) {
            return Err(FieldError::Required);
        }
        if has_format_characters(s) {
            return Err(FieldError::InvisibleCharacters);
        }
        Ok(PersonName(
            s.split_whitespace().collect::<Vec<_>>().join(" "),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Brazilian phone number with area code, kept as 10 (landline) or 11 (mobile) digits.
/// Accepts the usual ways of writing it: `(12) 99876-5432`, `12 3921 0000`, `+55 12 …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// `Ok(None)` for an empty field: the phone is optional.
    pub fn parse_optional(raw: &str) -> Result<Option<Phone>, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_digit() || " ()-+.".contains(c))
        {
            return Err(FieldError::InvalidPhone);
        }
        let mut digits: String = s.chars().filter(char::is_ascii_digit).collect();
        if s.starts_with('+') {
            digits = digits
                .strip_prefix("55")
                .ok_or(FieldError::InvalidPhone)?
                .to_string();
        } else if digits.len() > 11 && digits.starts_with("55") {
            digits = digits[2..].to_string();
        }
        if digits.starts_with('0') {
            // Trunk prefix "0" before the area code, as in 012 99876-5432.
            digits.remove(0);
        }
        let area_ok = digits.len() >= 2 && !digits.starts_with('0') && &digits[1..2] != "0";
        let len_ok = match digits.len() {
            11 => digits.as_bytes()[2] == b'9',
            10 => matches!(digits.as_bytes()[2], b'2'..=b'5'),
            _ => false,
        };
        if area_ok && len_ok {
            Ok(Some(Phone(digits)))
        } else {
            Err(FieldError::InvalidPhone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The configured list of neighbourhoods a respondent may live in.
#[derive(Debug, Clone)]
pub struct Bairros(Vec<String>);

impl Bairros {
    /// One name per line; blank lines and `#` comments ignored.
    pub fn from_lines(text: &str) -> Bairros {
        Bairros(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect(),
        )
    }

    /// The list compiled into the binary (east zone of São José dos Campos, SP).
    pub fn embedded() -> Bairros {
        Bairros::from_lines(include_str!("../../assets/data/bairros.txt"))
    }

    /// `accounts.bairros_file` when set, else the embedded list; the error names the key.
    pub fn configured(file: Option<&std::path::Path>) -> anyhow::Result<Bairros> {
        match file {
            Some(path) => Ok(Bairros::from_lines(
                &std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("accounts.bairros_file: cannot read {}: {e}", path.display())
                })?,
            )),
            None => Ok(Bairros::embedded()),
        }
    }

    pub fn all(&self) -> &[String] {
        &self.0
    }

    pub fn parse(&self, raw: &str) -> Result<String, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::Required);
        }
        self.0
            .iter()
            .find(|b| b.as_str() == s)
            .cloned()
            .ok_or(FieldError::UnknownBairro)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_addresses_are_one_address_and_invisible_characters_are_refused() {
        for same in [
            "ｖｉｃｔｉｍ@ｘ.com",
            "VICTIM@X.COM",
            "  victim@x.com ",
            "\u{FF56}ictim@x.com",
        ] {
            assert_eq!(
                Email::parse(same).map(|e| e.0),
                Ok("victim@x.com".into()),
                "{same:?}"
            );
        }
        for hidden in [
            "vic\u{200B}tim@x.com",
            "\u{202E}victim@x.com",
            "victim@x.com\u{FEFF}",
        ] {
            assert_eq!(
                Email::parse(hidden),
                Err(FieldError::InvisibleCharacters),
                "{hidden:?}"
            );
        }
        assert_eq!(
            PersonName::parse("Ana\u{200D}Maria").map(|n| n.0),
            Err(FieldError::InvisibleCharacters)
        );
        // Accented letters are letters: kept, and a different address.
        assert_eq!(
            Email::parse("vìctim@x.com").map(|e| e.0),
            Ok("vìctim@x.com".into())
        );
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Maria.Silva@Exemplo.COM.br ").map(|e| e.0),
            Ok("maria.silva@exemplo.com.br".into())
        );
        for bad in [
            "",
            "maria",
            "maria@",
            "@x.com",
            "a b@x.com",
            "a@x",
            "a@x..com",
            "a..b@x.com",
            "<a@x.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Email::parse(&format!("{}@x.com", "a".repeat(260))),
            Err(FieldError::TooLong { max: 254 })
        );
    }

    #[test]
    fn phones_normalise_to_digits_with_area_code() {
        let ok = |s: &str| Phone::parse_optional(s).map(|p| p.map(|p| p.0));
        assert_eq!(ok("(12) 99876-5432"), Ok(Some("12998765432".into())));
        assert_eq!(ok("+55 12 99876 5432"), Ok(Some("12998765432".into())));
        assert_eq!(ok("012 3921-0000"), Ok(Some("1239210000".into())));
        assert_eq!(ok("12 3921.0000"), Ok(Some("1239210000".into())));
        assert_eq!(ok(""), Ok(None));
        for bad in [
            "99876-5432",
            "12 8876 54321",
            "(12) 1234-5678",
            "abc",
            "+1 212 555 0100",
            "00 99876 5432",
            "1299876543210",
        ] {
            assert_eq!(ok(bad), Err(FieldError::InvalidPhone), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("  Ana   Maria ").map(|n| n.0),
            Ok("Ana Maria".into())
        );
        assert_eq!(PersonName::parse("   "), Err(FieldError::Required));
        assert_eq!(
            PersonName::parse(&"é".repeat(81)),
            Err(FieldError::TooLong { max: 80 })
        );
        assert!(PersonName::parse(&"é".repeat(80)).is_ok());
    }

    #[test]
    fn bairro_must_be_on_the_list() {
        let list = Bairros::embedded();
        assert_eq!(list.all().len(), 36);
        assert_eq!(list.parse("JARDIM SÃO JOSÉ"), Ok("JARDIM SÃO JOSÉ".into()));
        assert_eq!(list.parse("Centro"), Err(FieldError::UnknownBairro));
        assert_eq!(list.parse(""), Err(FieldError::Required));
    }
}
