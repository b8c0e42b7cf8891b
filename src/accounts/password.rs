//! The password policy: the rules for a new one (NIST SP 800-63B: 12 to 128 characters,
//! not a breached or common password, no composition rules). Hashing is
//! [`super::hasher`].

use std::collections::HashSet;
use std::io::Read;
use std::sync::LazyLock;

use super::fields::FieldError;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

/// The hand-kept list of passwords common in Brazil (plain text, easy to add to).
const BRAZILIAN: &str = include_str!("../../assets/data/common-passwords.txt");

/// About 19,500 breached passwords, gzip-compressed (83 KB instead of 190 KB in the
/// binary): zxcvbn's "passwords" list (MIT licence, (c) 2012 Dropbox, Inc.), the most
/// frequent passwords of Mark Burnett's 10-million-password corpus from public breaches,
/// taken from Debian's python3-zxcvbn by `scripts/make-breached-passwords.sh` (which says
/// which entries are kept).
const BREACHED_GZ: &[u8] = include_bytes!("../../assets/data/breached-passwords.txt.gz");

/// Both lists, lower case, decompressed once (`serve` loads it before it listens).
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut breached = String::new();
    // Embedded at build time and read by the unit tests, so it cannot be corrupt here.
    flate2::read::GzDecoder::new(BREACHED_GZ)
        .read_to_string(&mut breached)
        .expect("embedded breached-password list decompresses");
    BRAZILIAN
        .lines()
        .chain(breached.lines())
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_lowercase)
        .collect()
});

/// Load the password lists now, so the first sign-up does not wait for it.
pub fn load_lists() -> usize {
    COMMON.len()
}

/// Runs of keys people type as a password: the alphabet, the digits and the keyboard's
/// letter rows, each doubled so that a run wrapping around ("7890123456") is found too.
const SEQUENCES: &[&str] = &[
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "0123456789012345678901234567890123456789",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
];

/// A password as typed; never printed.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Any submitted password, for log-in (no rules: the stored hash decides).
    pub fn any(raw: &str) -> Password {
        Password(raw.to_string())
    }

    /// A new password: length rules, common-list check, and the confirmation matching.
    pub fn new_checked(raw: &str, confirm: &str) -> Result<Password, FieldError> {
        let n = raw.chars().count();
        if n == 0 {
            return Err(FieldError::Required);
        }
        if n < MIN_CHARS {
            return Err(FieldError::TooShort { min: MIN_CHARS });
        }
        if n > MAX_CHARS {
            return Err(FieldError::TooLong { max: MAX_CHARS });
        }
        if is_common(raw) {
            return Err(FieldError::PasswordCommon);
        }
        if raw != confirm {
            return Err(FieldError::PasswordMismatch);
        }
        Ok(Password(raw.to_string()))
    }

    pub(super) fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Whether the password is breached or common (case ignored): on the embedded lists, or
/// one of them with digits and symbols added before or after ("dragon2024!!"), a unit
/// repeated ("monkeymonkey"), or a run of keys ("123456789012", "qwertyuiopas").
pub fn is_common(raw: &str) -> bool {
    let lower = raw.to_lowercase();
    // What is left after the digits and symbols people pad a common word with.
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    COMMON.contains(&lower)
        || (!core.is_empty() && COMMON.contains(core))
        || is_repeated(&lower)
        || is_key_run(&lower)
}

/// The same unit typed again and again ("abcabcabcabc", "aaaaaaaaaaaa").
fn is_repeated(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    (1..=n / 2).any(|unit| n % unit == 0 && chars.chunks(unit).all(|c| c == &chars[..unit]))
}

/// A run along one of [`SEQUENCES`], forwards or backwards.
fn is_key_run(s: &str) -> bool {
    let reversed: String = s.chars().rev().collect();
    SEQUENCES
        .iter()
        .any(|seq| seq.contains(s) || seq.contains(reversed.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_password_rules() {
        assert_eq!(
            Password::new_checked("", "").err(),
            Some(FieldError::Required)
        );
        assert_eq!(
            Password::new_checked("curtinha", "curtinha").err(),
            Some(FieldError::TooShort { min: 12 })
        );
        assert_eq!(
            Password::new_checked(&"x".repeat(129), &"x".repeat(129)).err(),
            Some(FieldError::TooLong { max: 128 })
        );
        for common in [
            "123456789012",
            "Senha1234567",
            "QWERTYUIOPAS",
            "flamengo2024",
        ] {
            assert_eq!(
                Password::new_checked(common, common).err(),
                Some(FieldError::PasswordCommon),
                "{common}"
            );
        }
        assert_eq!(
            Password::new_checked("cavalo correto bateria", "cavalo correto grampo").err(),
            Some(FieldError::PasswordMismatch)
        );
        // Twelve characters counted as characters, not bytes; no composition rules.
        assert!(Password::new_checked("ááááábbbbbcd", "ááááábbbbbcd").is_ok());
        assert!(Password::new_checked("cavalo correto bateria", "cavalo correto bateria").is_ok());
    }

    #[test]
    fn minimum_length_12_and_a_large_breached_password_list() {
        for short in ["onze caract", "dez chars!"] {
            assert_eq!(
                Password::new_checked(short, short).err(),
                Some(FieldError::TooShort { min: 12 }),
                "{short}"
            );
        }
        // Long entries of the breached-password list, and common ones padded with digits
        // or symbols, as people do to pass a length rule.
        for breached in [
            "123456789012",
            "qwertyuiopasdfghjkl",
            "iloveyou123456",
            "password123456",
            "dragon2024!!!!",
            "monkeymonkey",
        ] {
            assert_eq!(
                Password::new_checked(breached, breached).err(),
                Some(FieldError::PasswordCommon),
                "{breached}"
            );
        }
        assert!(COMMON.len() > 20_000, "{} entries", COMMON.len());
        // Passphrases, the advice the form gives, pass.
        for phrase in [
            "cavalo correto bateria grampo",
            "feira de domingo no bairro",
            "relatorio de mercado 2026",
            "uma frase nova bem longa",
        ] {
            assert!(Password::new_checked(phrase, phrase).is_ok(), "{phrase}");
        }
    }

    #[test]
    fn the_length_rule_shown_is_the_one_enforced() {
        use crate::i18n::Lang;
        let range = |lang: Lang| {
            let hint = lang.t().field_password_hint;
            hint.contains(&MIN_CHARS.to_string()) && hint.contains(&MAX_CHARS.to_string())
        };
        assert!(range(Lang::Pt) && range(Lang::En));
    }
}
