//! Passwords: the rules for a new one (NIST SP 800-63B: 10 to 128 characters, not a
//! common password, no composition rules) and argon2id hashing off the async workers.
//!
//! Hashing is CPU-bound for tens of milliseconds, so it runs on the blocking pool and at
//! most `max_concurrent` at once: a burst of log-ins queues for a permit instead of taking
//! every core away from page serving. Unknown e-mails are verified against a dummy hash,
//! so a log-in costs the same whether or not the account exists.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::PasswordVerifier;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, Version};
use tokio::sync::Semaphore;

use super::fields::FieldError;
use crate::config::PasswordSettings;

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

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Whether the password is on the embedded list of common passwords (case ignored).
pub fn is_common(raw: &str) -> bool {
    COMMON.contains(raw.to_lowercase().as_str())
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Valid { needs_rehash: bool },
    Invalid,
}

/// Hashes and verifies with the configured argon2id parameters.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl Hasher {
    pub fn new(settings: &PasswordSettings) -> Result<Hasher, HashError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| HashError(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        // The dummy hash uses the current parameters so that its cost matches a real one.
        let dummy = argon
            .hash_password(b"dummy password for unknown accounts")
            .map_err(|e| HashError(e.to_string()))?
            .to_string();
        let permits = settings.max_concurrent.max(1);
        Ok(Hasher {
            params,
            permits: Arc::new(Semaphore::new(permits)),
            dummy: dummy.into(),
        })
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string (`$argon2id$v=19$m=…`) for storage.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        let argon = self.argon();
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            argon
                .hash_password(password.bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError(e.to_string()))
        })
        .await
        .map_err(|e| HashError(e.to_string()))?
    }

    /// Check `password` against `stored`, or against the dummy hash when there is no
    /// account, so both cases take the same time.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Verified {
        let exists = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy).to_string();
        let Ok(_permit) = self.permits.acquire().await else {
            return Verified::Invalid;
        };
        let argon = self.argon();
        let wanted = self.params.clone();
        let password = password.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Verified::Invalid;
            };
            // Verification uses the parameters inside the stored hash, not ours.
            if argon.verify_password(password.bytes(), &parsed).is_err() {
                return Verified::Invalid;
            }
            let current = Params::try_from(&parsed).ok();
            let same = parsed.algorithm.as_str() == "argon2id"
                && current.is_some_and(|p| {
                    p.m_cost() == wanted.m_cost()
                        && p.t_cost() == wanted.t_cost()
                        && p.p_cost() == wanted.p_cost()
                });
            Verified::Valid {
                needs_rehash: !same,
            }
        })
        .await
        .unwrap_or(Verified::Invalid);
        if exists { outcome } else { Verified::Invalid }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> PasswordSettings {
        PasswordSettings {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        }
    }

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

    #[tokio::test(flavor = "multi_thread")]
    async fn hashes_are_argon2id_and_verify() {
        let h = Hasher::new(&fast()).expect("hasher");
        let pw = Password::any("cavalo correto bateria");
        let stored = h.hash(&pw).await.expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{stored}"
        );
        assert_eq!(
            h.verify(&pw, Some(&stored)).await,
            Verified::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            h.verify(&Password::any("outra senha qualquer"), Some(&stored))
                .await,
            Verified::Invalid
        );
        assert_eq!(h.verify(&pw, None).await, Verified::Invalid);
        assert_eq!(h.verify(&pw, Some("not a hash")).await, Verified::Invalid);

        let stronger = Hasher::new(&PasswordSettings {
            memory_kib: 2048,
            ..fast()
        })
        .expect("hasher");
        assert_eq!(
            stronger.verify(&pw, Some(&stored)).await,
            Verified::Valid { needs_rehash: true }
        );
    }
}
