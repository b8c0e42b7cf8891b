//! The password policy: the rules for a new one (NIST SP 800-63B: 10 to 128 characters,
//! not a common password, no composition rules). Hashing is [`super::hasher`].

use std::collections::HashSet;
use std::sync::LazyLock;

use super::fields::FieldError;

pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../assets/data/common-passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

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

/// Whether the password is on the embedded list of common passwords (case ignored).
pub fn is_common(raw: &str) -> bool {
    COMMON.contains(raw.to_lowercase().as_str())
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
            Some(FieldError::TooShort { min: 10 })
        );
        assert_eq!(
            Password::new_checked(&"x".repeat(129), &"x".repeat(129)).err(),
            Some(FieldError::TooLong { max: 128 })
        );
        for common in ["1234567890", "Senha12345", "QWERTYUIOP", "flamengo2024"] {
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
        // Ten characters counted as characters, not bytes; no composition rules.
        assert!(Password::new_checked("ááááábbbbb", "ááááábbbbb").is_ok());
        assert!(Password::new_checked("cavalo correto bateria", "cavalo correto bateria").is_ok());
    }
}
