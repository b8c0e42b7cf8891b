//! The second factor of staff accounts: time-based one-time passwords (RFC 6238: HMAC-SHA1,
//! 6 digits, 30-second steps, one step of clock drift either way) and one-time recovery
//! codes. No web and no SQL: secrets, codes and their stored forms.
//!
//! The code arithmetic is the `totp-rs` crate's; this module adds what it leaves to the
//! caller: which time step a code matched (so a used step can be refused: no replay), the
//! sealing of the secret for storage, and the recovery codes.

use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

use crate::crypto;

/// Seconds per time step.
pub const STEP_SECS: u64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Bytes of a secret: 160 bits, the HMAC-SHA1 block the RFC recommends.
pub const SECRET_BYTES: usize = 20;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (without the dash): 10 base-32 digits, 50 bits.
const RECOVERY_CHARS: usize = 10;

/// A fresh random secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// The secret as authenticator apps take it typed: base 32 without padding.
pub fn base32(secret: &[u8]) -> String {
    totp(secret).get_secret_base32()
}

/// The secret from its base-32 text (as an authenticator app reads it), spaces ignored.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    totp_rs::Secret::Encoded(clean).to_bytes().ok()
}

/// The `otpauth://` URI a QR code carries (Google Authenticator's key-URI format).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let label = format!("{}:{}", uri_escape(issuer), uri_escape(account));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        base32(secret),
        uri_escape(issuer)
    )
}

/// Percent-encoding of everything but unreserved characters (RFC 3986).
fn uri_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn totp(secret: &[u8]) -> TOTP {
    // Unchecked: our secrets are always SECRET_BYTES long, and the digits fixed.
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 1, STEP_SECS, secret.to_vec())
}

/// The time step of Unix time `unix_secs`.
pub fn step_of(unix_secs: u64) -> i64 {
    (unix_secs / STEP_SECS) as i64
}

/// The code of a time step (for tests and the enrolment self-check).
pub fn code_at(secret: &[u8], step: i64) -> String {
    totp(secret).generate(step.max(0) as u64 * STEP_SECS)
}

/// A typed code in canonical form: six digits once spaces are removed, else `None`.
pub fn normalize_code(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The time step whose code `code` is, among the current one and one either side, that is
/// later than `last_used` (a step already used is refused: a code seen over a shoulder or
/// on the wire cannot be played again). `None` when no such step matches.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: u64, last_used: i64) -> Option<i64> {
    let code = normalize_code(code)?;
    let now = step_of(unix_secs);
    let otp = totp(secret);
    // Every candidate is computed and compared in constant time, whichever matches.
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        let candidate = otp.generate(step.max(0) as u64 * STEP_SECS);
        if crypto::constant_time_eq(&candidate, &code) && step > last_used && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The pad that seals a user's secret: HMAC of the server secret over the user and a
/// random salt, so the stored value is useless without the server secret, and two
/// enrolments of one user never share a pad.
fn pad(key: &[u8], user_id: i64, salt: &[u8]) -> [u8; 32] {
    crypto::hmac_sha256(key, &[b"totp-secret:", &user_id.to_be_bytes(), b":", salt])
}

/// The secret as stored: `salt:sealed`, both hex, the secret XORed with [`pad`]. A
/// database dump alone yields no usable secret; changing `session.secret` voids every
/// enrolment (`pesquisa admin reset-2fa` then lets each person enrol again).
pub fn seal(key: &[u8], user_id: i64, secret: &[u8]) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let pad = pad(key, user_id, &salt);
    let sealed: Vec<u8> = secret.iter().zip(pad.iter()).map(|(s, p)| s ^ p).collect();
    format!("{}:{}", hex::encode(salt), hex::encode(sealed))
}

/// The secret from its stored form; `None` if the text is not one [`seal`] wrote.
pub fn unseal(key: &[u8], user_id: i64, stored: &str) -> Option<Vec<u8>> {
    let (salt, sealed) = stored.split_once(':')?;
    let salt = hex::decode(salt).ok()?;
    let sealed = hex::decode(sealed).ok()?;
    if sealed.len() != SECRET_BYTES {
        return None;
    }
    let pad = pad(key, user_id, &salt);
    Some(sealed.iter().zip(pad.iter()).map(|(s, p)| s ^ p).collect())
}

/// Alphabet of recovery codes: base 32 without 0/1/8/9 look-alikes of O/I/B/g.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// New recovery codes, as shown to the person once: `xxxxx-xxxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String = (0..RECOVERY_CHARS)
                .map(|_| RECOVERY_ALPHABET[(rng.next_u32() % 32) as usize] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A typed recovery code in canonical form (lower case, no dash or spaces), if it has the
/// shape of one.
pub fn normalize_recovery(typed: &str) -> Option<String> {
    let c: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (c.len() == RECOVERY_CHARS && c.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(c)
}

/// The stored form of a recovery code. A code has 50 random bits, so no slow password
/// hash is needed (there is no dictionary to try); keyed with the server secret and bound
/// to the user, so a database dump cannot even be used to test guesses.
pub fn hash_recovery(key: &[u8], user_id: i64, canonical: &str) -> String {
    crypto::hmac_hex(
        key,
        &[
            b"totp-recovery:",
            &user_id.to_be_bytes(),
            b":",
            canonical.as_bytes(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1: the 8-digit values' last six digits.
    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (t, eight) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(code_at(secret, step_of(t)), eight[2..], "t = {t}");
        }
    }

    #[test]
    fn one_step_of_drift_and_no_replay() {
        let secret = new_secret();
        let t = 1_700_000_000u64;
        let now = step_of(t);
        for step in [now - 1, now, now + 1] {
            assert_eq!(
                matching_step(&secret, &code_at(&secret, step), t, 0),
                Some(step)
            );
        }
        assert_eq!(
            matching_step(&secret, &code_at(&secret, now - 2), t, 0),
            None
        );
        assert_eq!(
            matching_step(&secret, &code_at(&secret, now + 2), t, 0),
            None
        );
        assert_eq!(
            matching_step(&secret, &code_at(&secret, now), t, now),
            None,
            "a used step is refused"
        );
        let spaced = code_at(&secret, now);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(matching_step(&secret, &spaced, t, 0), Some(now));
        assert_eq!(matching_step(&secret, "12345", t, 0), None);
        assert_eq!(matching_step(&secret, "abcdef", t, 0), None);
    }

    #[test]
    fn sealed_secrets_need_the_key_and_user() {
        let key = b"k".repeat(32);
        let secret = new_secret();
        let stored = seal(&key, 7, &secret);
        assert!(!stored.contains(&hex::encode(&secret)));
        assert_eq!(unseal(&key, 7, &stored), Some(secret.clone()));
        assert_ne!(unseal(&b"j".repeat(32), 7, &stored), Some(secret.clone()));
        assert_ne!(unseal(&key, 8, &stored), Some(secret.clone()));
        assert_ne!(seal(&key, 7, &secret), stored, "a fresh salt each time");
        assert_eq!(unseal(&key, 7, "zz:00"), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_parse_back() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut canon: Vec<String> = codes
            .iter()
            .map(|c| normalize_recovery(&c.to_uppercase()).expect("parses"))
            .collect();
        canon.dedup();
        assert_eq!(canon.len(), RECOVERY_CODES);
        assert_eq!(normalize_recovery("123456"), None);
        let key = b"k".repeat(32);
        assert_ne!(
            hash_recovery(&key, 1, &canon[0]),
            hash_recovery(&key, 2, &canon[0])
        );
    }

    #[test]
    fn uri_names_issuer_and_account() {
        let uri = otpauth_uri(&[0u8; 20], "Pesquisa de mercado", "ana@x.br");
        assert!(uri.starts_with("otpauth://totp/Pesquisa%20de%20mercado:ana%40x.br?secret="));
        assert!(uri.contains("&period=30"));
        let secret = new_secret();
        assert_eq!(from_base32(&base32(&secret).to_lowercase()), Some(secret));
    }
}
