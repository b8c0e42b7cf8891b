//! Passwords: the rules for a new one (NIST SP 800-63B: 10 to 128 characters, not a
//! common password, no composition rules) and argon2id hashing off the async workers.
//!
//! Hashing is CPU-bound for tens of milliseconds, so it runs on the blocking pool and at
//! most `max_concurrent` at once: a burst of log-ins queues for a permit instead of taking
//! every core away from page serving. Unknown e-mails are verified against a dummy hash,
//! so a log-in costs the same whether or not the account exists.
//!
//! A verification's working memory (19 MiB at the default cost) is kept for the next one
//! instead of being allocated each time: freshly mapped memory costs a page fault per
//! 4 KiB page, and the static (musl) build's allocator maps and unmaps blocks that large
//! on every call, which measured at a third of the log-in rate the argon2 ceiling allows.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher as _, Version};
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
    /// Working memory of finished verifications, at most one per permit.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
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
            memory: Arc::default(),
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
        let wanted = self.params.clone();
        let password = password.clone();
        let pool = self.memory.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Verified::Invalid;
            };
            // Verification uses the parameters inside the stored hash, not ours.
            let mut memory = pool
                .lock()
                .map(|mut free| free.pop())
                .ok()
                .flatten()
                .unwrap_or_default();
            let valid = verify_with(&mut memory, password.bytes(), &parsed);
            // Kept only at the configured size: an old hash's larger cost is not held on.
            if memory.len() == wanted.block_count()
                && let Ok(mut free) = pool.lock()
            {
                free.push(memory);
            }
            if !valid {
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

/// Whether `password` gives the hash stored in `parsed` (its algorithm, version, cost and
/// salt), computed in `memory`, which is grown to the size the cost needs.
fn verify_with(memory: &mut Vec<Block>, password: &[u8], parsed: &PasswordHash) -> bool {
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(parsed) else {
        return false;
    };
    let expected = expected.as_bytes();
    let mut out = [0u8; 64];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() != blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory[..])
        .is_ok()
        && crate::session::constant_time_eq_bytes(out, expected)
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

    #[tokio::test(flavor = "multi_thread")]
    async fn verification_agrees_with_argon2_and_reuses_its_memory() {
        let h = Hasher::new(&fast()).expect("hasher");
        let pw = Password::any("cavalo correto bateria");
        // Hashes made by the argon2 crate itself: other variants, versions, costs, lengths.
        for (alg, version, m, t, len) in [
            (Algorithm::Argon2id, Version::V0x13, 1024, 1, 32),
            (Algorithm::Argon2id, Version::V0x13, 2048, 2, 64),
            (Algorithm::Argon2i, Version::V0x13, 1024, 1, 32),
            (Algorithm::Argon2d, Version::V0x10, 1024, 1, 16),
        ] {
            let params = Params::new(m, t, 1, Some(len)).expect("params");
            let stored = Argon2::new(alg, version, params)
                .hash_password(pw.bytes())
                .expect("hash")
                .to_string();
            assert!(
                matches!(h.verify(&pw, Some(&stored)).await, Verified::Valid { .. }),
                "{stored}"
            );
            let wrong = Password::any("cavalo correto bateriA");
            assert_eq!(h.verify(&wrong, Some(&stored)).await, Verified::Invalid);
            // A tampered digest (last character) is refused.
            let mut tampered = stored.clone();
            let last = tampered.pop().expect("char");
            tampered.push(if last == 'A' { 'B' } else { 'A' });
            assert_eq!(h.verify(&pw, Some(&tampered)).await, Verified::Invalid);
        }
        // Only working memory of the configured size is kept, at most one per permit.
        let kept = h.memory.lock().expect("lock");
        assert!(!kept.is_empty() && kept.len() <= 2, "{} kept", kept.len());
        let configured = Params::new(1024, 1, 1, None).expect("params").block_count();
        assert!(kept.iter().all(|m| m.len() == configured));
    }
}
