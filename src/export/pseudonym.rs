//! Pseudonymous response ids: HMAC-SHA256 keyed with the server secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The exported id of a response: the first 16 hex characters of
/// HMAC-SHA256(secret, "response:" + database id). Stable for a given secret, and
/// not reversible to the database id without it.
pub fn response_id(secret: &[u8], id: i64) -> String {
    Pseudonyms::new(secret).response_id(id)
}

/// [`response_id`] for many rows: the keyed MAC (its two padded key blocks already
/// hashed) is made once and cloned per row, so each id hashes only the message.
#[derive(Clone)]
pub struct Pseudonyms {
    keyed: Hmac<Sha256>,
}

impl Pseudonyms {
    pub fn new(secret: &[u8]) -> Pseudonyms {
        Pseudonyms {
            // HMAC accepts a key of any length, so this cannot fail.
            keyed: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length"),
        }
    }

    pub fn response_id(&self, id: i64) -> String {
        let mut mac = self.keyed.clone();
        mac.update(b"response:");
        mac.update(itoa::Buffer::new().format(id).as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hmac_sha256 as hmac_parts;

    fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
        hmac_parts(key, &[msg])
    }

    // RFC 4231 test cases 1, 2 and 6 (key longer than the block).
    #[test]
    fn rfc4231_vectors() {
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn response_ids_are_short_stable_and_keyed() {
        let a = response_id(b"k1", 1);
        assert_eq!(a.len(), 16);
        assert_eq!(a, response_id(b"k1", 1));
        assert_ne!(a, response_id(b"k2", 1));
        assert_ne!(a, response_id(b"k1", 2));
        assert_eq!(
            a,
            hex::encode(&hmac_sha256(b"k1", b"response:1")[..8]),
            "prefix of the full MAC"
        );
    }

    #[test]
    fn precomputed_key_gives_the_same_ids() {
        let long = [7u8; 100]; // longer than a block: hashed first
        for key in [&b"k1"[..], &b""[..], &[0x0b; 64][..], &long[..]] {
            let p = Pseudonyms::new(key);
            for id in [0, 1, 42, i64::MAX] {
                assert_eq!(
                    p.response_id(id),
                    hex::encode(&hmac_sha256(key, format!("response:{id}").as_bytes())[..8])
                );
            }
        }
    }
}
