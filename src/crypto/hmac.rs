//! HMAC with SHA-256, SHA-384 or SHA-512: the primitive of HS256, HS384 and HS512 (RFC 7518
//! §3.2, RFC 2104), on RustCrypto's `hmac`.
//!
//! JOSE's profile: the secret is at least as long as the hash output, and a tag is exactly as
//! long as the hash output (no truncated tags). Unlike the other primitives this one handles a
//! secret: tags are compared in constant time (`hmac`'s `verify_slice`, on `subtle`), and
//! neither the secret nor anything derived from it is ever printed.

use crate::crypto::Hash;
use ::hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};
use std::fmt;

/// An HMAC key, its inner and outer hash states computed once (RFC 2104's `K xor ipad` and
/// `K xor opad` blocks already absorbed).
#[derive(Clone)]
pub struct Key {
    mac: Prepared,
}

#[derive(Clone)]
enum Prepared {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

/// Why a secret cannot be an HMAC key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// RFC 7518 §3.2: a key of the same size as the hash output or larger must be used.
    TooShort { hash: Hash, len: usize },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { hash, len } => write!(
                f,
                "HMAC secret of {len} bytes is shorter than the {}-byte {hash:?} output",
                hash.output_len()
            ),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a tag does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The tag is not exactly as long as the hash output (truncated tags are refused).
    Length,
    /// The tag is not the message's.
    Mismatch,
}

impl Key {
    /// An HMAC key for `hash` from `secret`, at least as long as the hash output.
    pub fn new(hash: Hash, secret: &[u8]) -> Result<Key, KeyError> {
        if secret.len() < hash.output_len() {
            return Err(KeyError::TooShort {
                hash,
                len: secret.len(),
            });
        }
        // HMAC takes keys of any length (longer ones are hashed first): `new_from_slice`
        // cannot fail here, and fails closed if it ever did.
        let too_short = |_| KeyError::TooShort {
            hash,
            len: secret.len(),
        };
        let mac = match hash {
            Hash::Sha256 => Prepared::Sha256(Hmac::new_from_slice(secret).map_err(too_short)?),
            Hash::Sha384 => Prepared::Sha384(Hmac::new_from_slice(secret).map_err(too_short)?),
            Hash::Sha512 => Prepared::Sha512(Hmac::new_from_slice(secret).map_err(too_short)?),
        };
        Ok(Key { mac })
    }

    /// The hash this key is for.
    pub fn hash(&self) -> Hash {
        match self.mac {
            Prepared::Sha256(_) => Hash::Sha256,
            Prepared::Sha384(_) => Hash::Sha384,
            Prepared::Sha512(_) => Hash::Sha512,
        }
    }

    /// Checks that `tag` is the HMAC of `message`, comparing in constant time.
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> Result<(), SignatureError> {
        if tag.len() != self.hash().output_len() {
            return Err(SignatureError::Length);
        }
        let verified = match &self.mac {
            Prepared::Sha256(mac) => mac.clone().chain_update(message).verify_slice(tag),
            Prepared::Sha384(mac) => mac.clone().chain_update(message).verify_slice(tag),
            Prepared::Sha512(mac) => mac.clone().chain_update(message).verify_slice(tag),
        };
        verified.map_err(|_| SignatureError::Mismatch)
    }

    /// Bytes this key occupies (the two hash states; nothing on the heap).
    pub fn memory_bytes(&self) -> usize {
        size_of::<Key>()
    }
}

/// Names the hash only: the secret and the states derived from it stay out of logs.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("hmac::Key")
            .field("hash", &self.hash())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASHES: [Hash; 3] = [Hash::Sha256, Hash::Sha384, Hash::Sha512];

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 4231 test case 2 ("Jefe", "what do ya want for nothing?") has a 4-byte key: too
    /// short for JOSE. Test case 1 has a 20-byte key, also too short; test case 6 has a
    /// 131-byte key, long enough for every hash, and is used here.
    #[test]
    fn rfc_4231_test_case_6_verifies_for_every_hash() {
        let key = [0xaa; 131];
        let message = b"Test Using Larger Than Block-Size Key - Hash Key First";
        let tags = [
            (
                Hash::Sha256,
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                Hash::Sha384,
                "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
                 0c2ef6ab4030fe8296248df163f44952",
            ),
            (
                Hash::Sha512,
                "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
                 6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
            ),
        ];
        for (hash, tag) in tags {
            let key = Key::new(hash, &key).unwrap();
            assert_eq!(key.hash(), hash);
            assert_eq!(key.verify(message, &hex(tag)), Ok(()));
            assert_eq!(
                key.verify(
                    b"Test Using Larger Than Block-Size Key - Hash Key Firsu",
                    &hex(tag)
                ),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn a_secret_shorter_than_the_hash_is_refused() {
        for hash in HASHES {
            let len = hash.output_len();
            assert_eq!(
                Key::new(hash, &vec![1; len - 1]).map(|_| ()),
                Err(KeyError::TooShort { hash, len: len - 1 })
            );
            assert_eq!(
                Key::new(hash, &[]).map(|_| ()),
                Err(KeyError::TooShort { hash, len: 0 })
            );
            assert!(Key::new(hash, &vec![1; len]).is_ok());
            assert!(Key::new(hash, &vec![1; 1000]).is_ok());
        }
        assert_eq!(
            KeyError::TooShort {
                hash: Hash::Sha384,
                len: 20
            }
            .to_string(),
            "HMAC secret of 20 bytes is shorter than the 48-byte Sha384 output"
        );
    }

    fn tag(hash: Hash, secret: &[u8], message: &[u8]) -> Vec<u8> {
        match hash {
            Hash::Sha256 => Hmac::<Sha256>::new_from_slice(secret)
                .unwrap()
                .chain_update(message)
                .finalize()
                .into_bytes()
                .to_vec(),
            Hash::Sha384 => Hmac::<Sha384>::new_from_slice(secret)
                .unwrap()
                .chain_update(message)
                .finalize()
                .into_bytes()
                .to_vec(),
            Hash::Sha512 => Hmac::<Sha512>::new_from_slice(secret)
                .unwrap()
                .chain_update(message)
                .finalize()
                .into_bytes()
                .to_vec(),
        }
    }

    #[test]
    fn a_tag_must_be_exactly_the_hash_length() {
        for hash in HASHES {
            let secret = vec![0x5c; hash.output_len()];
            let key = Key::new(hash, &secret).unwrap();
            let good = tag(hash, &secret, b"m");
            assert_eq!(key.verify(b"m", &good), Ok(()));
            let half = &good[..good.len() / 2];
            assert_eq!(key.verify(b"m", half), Err(SignatureError::Length));
            assert_eq!(key.verify(b"m", &[]), Err(SignatureError::Length));
            let longer = [&good[..], &[0]].concat();
            assert_eq!(key.verify(b"m", &longer), Err(SignatureError::Length));
        }
    }

    #[test]
    fn every_bit_of_the_tag_and_the_key_counts() {
        let secret = [0x11; 32];
        let key = Key::new(Hash::Sha256, &secret).unwrap();
        let good = tag(Hash::Sha256, &secret, b"payload");
        for bit in 0..8 * good.len() {
            let mut flipped = good.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                key.verify(b"payload", &flipped),
                Err(SignatureError::Mismatch)
            );
        }
        let mut other_secret = secret;
        other_secret[31] ^= 1;
        let other = Key::new(Hash::Sha256, &other_secret).unwrap();
        assert_eq!(
            other.verify(b"payload", &good),
            Err(SignatureError::Mismatch)
        );
        // The prepared key is reused, not consumed: it verifies again.
        assert_eq!(key.verify(b"payload", &good), Ok(()));
        assert_eq!(key.clone().verify(b"payload", &good), Ok(()));
    }

    #[test]
    fn a_tag_verifies_only_with_its_own_hash() {
        let secret = [0x22; 64];
        for made in HASHES {
            let made_tag = tag(made, &secret, b"m");
            for hash in HASHES {
                let key = Key::new(hash, &secret).unwrap();
                assert_eq!(key.verify(b"m", &made_tag).is_ok(), hash == made);
            }
        }
        // SHA-384's tag cut to 32 bytes is not a SHA-256 tag either.
        let cut = &tag(Hash::Sha384, &secret, b"m")[..32];
        let key = Key::new(Hash::Sha256, &secret).unwrap();
        assert_eq!(key.verify(b"m", cut), Err(SignatureError::Mismatch));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = *b"0123456789abcdef0123456789abcdef";
        let key = Key::new(Hash::Sha256, &secret).unwrap();
        let printed = format!("{key:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "hmac::Key { hash: Sha256, .. }");
        assert!(!printed.contains("0123"));
        assert!(!printed.contains("30 31"));
        assert!(key.memory_bytes() > 0 && key.memory_bytes() < 1024);
    }
}
