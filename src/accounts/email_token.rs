//! Secrets sent by e-mail: what each is for, how long it lives, and how it is hashed.
//!
//! A link carries 256 random bits; a sign-in code is 6 digits. Both are stored only as
//! HMAC-SHA256 under the server secret, so a copy of the database neither opens a link nor
//! lets anyone try the million codes offline. A code's hash also binds the account id, so
//! equal codes of two people never collide.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;

use crate::crypto;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Prove the sign-up address: 24 hours.
    Verify,
    /// Choose a new password: 1 hour.
    Reset,
    /// Sign in without a password: 10 minutes, 5 tries.
    SignIn,
    /// Prove a new address before it replaces the old one: 24 hours.
    ChangeEmail,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::SignIn => "sign_in",
            Purpose::ChangeEmail => "change_email",
        }
    }

    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Verify | Purpose::ChangeEmail => Duration::hours(24),
            Purpose::Reset => Duration::hours(1),
            Purpose::SignIn => Duration::minutes(10),
        }
    }
}

/// How many codes may be typed against one sign-in code before it is void.
pub const MAX_CODE_TRIES: i32 = 5;

/// A freshly made token: the secrets go into the e-mail, the hashes into the database.
#[derive(Debug, Clone)]
pub struct Issued {
    pub purpose: Purpose,
    /// The link's secret (hex), for `…?token=`.
    pub link: String,
    pub link_hash: String,
    /// The 6-digit code ([`Purpose::SignIn`] only).
    pub code: Option<String>,
    pub code_hash: Option<String>,
    pub expires_at: NaiveDateTime,
}

/// Make a token for `user_id` under the server `key`.
pub fn issue(key: &[u8], purpose: Purpose, user_id: i64, now: NaiveDateTime) -> Issued {
    let link = crypto::random_token();
    let link_hash = hash_link(key, purpose, &link);
    let code = (purpose == Purpose::SignIn)
        .then(|| format!("{:06}", rand::rng().random_range(0..1_000_000u32)));
    let code_hash = code.as_deref().map(|c| hash_code(key, user_id, c));
    Issued {
        purpose,
        link,
        link_hash,
        code,
        code_hash,
        expires_at: now + purpose.lifetime(),
    }
}

/// The stored form of a link secret; the purpose is bound in, so a link of one kind is
/// never accepted as another.
pub fn hash_link(key: &[u8], purpose: Purpose, link: &str) -> String {
    crypto::hmac_hex(
        key,
        &[
            b"email-link\0",
            purpose.as_str().as_bytes(),
            b"\0",
            link.as_bytes(),
        ],
    )
}

/// The stored form of a typed code (digits only, see [`normalize_code`]).
pub fn hash_code(key: &[u8], user_id: i64, code: &str) -> String {
    crypto::hmac_hex(
        key,
        &[b"email-code\0", &user_id.to_be_bytes(), code.as_bytes()],
    )
}

/// A typed code with spaces and dashes removed, if it is then exactly six digits.
pub fn normalize_code(typed: &str) -> Option<String> {
    let digits: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn links_are_random_and_bound_to_their_purpose() {
        let a = issue(b"k", Purpose::Reset, 1, now());
        let b = issue(b"k", Purpose::Reset, 1, now());
        assert_ne!(a.link, b.link);
        assert_eq!(a.link_hash, hash_link(b"k", Purpose::Reset, &a.link));
        assert_ne!(a.link_hash, hash_link(b"k", Purpose::Verify, &a.link));
        assert_ne!(a.link_hash, hash_link(b"other", Purpose::Reset, &a.link));
        assert_eq!(a.expires_at, now() + Duration::hours(1));
        assert!(a.code.is_none());
    }

    #[test]
    fn sign_in_codes_are_six_digits_bound_to_the_account() {
        let t = issue(b"k", Purpose::SignIn, 7, now());
        let code = t.code.clone().unwrap();
        assert_eq!(code.len(), 6);
        assert_eq!(t.code_hash.unwrap(), hash_code(b"k", 7, &code));
        assert_ne!(hash_code(b"k", 7, &code), hash_code(b"k", 8, &code));
        assert_eq!(t.expires_at, now() + Duration::minutes(10));
    }

    #[test]
    fn typed_codes_are_normalized() {
        assert_eq!(normalize_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize_code("123-456").as_deref(), Some("123456"));
        assert_eq!(normalize_code("12345"), None);
        assert_eq!(normalize_code("12345a"), None);
        assert_eq!(normalize_code("１２３４５６"), None);
    }
}
