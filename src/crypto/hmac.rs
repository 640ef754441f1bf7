//! HMAC with SHA-256, SHA-384 or SHA-512: the primitive of HS256, HS384 and HS512 (RFC 7518
//! §3.2), RFC 2104's construction over the SHA-2 the other algorithms hash with. Written here
//! rather than taken from RustCrypto's `hmac`, whose three inlined hash pipelines cost the
//! module 9 KB; Wycheproof's HMAC vectors prove it (`tests/hmac_vectors.rs`).
//!
//! JOSE's profile: the secret is at least as long as the hash output, and a tag is exactly as
//! long as the hash output (no truncated tags). Unlike the other primitives this one handles a
//! secret: tags are compared in constant time, and neither the secret nor anything derived
//! from it is ever printed.

use crate::crypto::{Digest64, Hash};
use std::fmt;

/// RFC 2104's inner and outer pad bytes.
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// An HMAC key: the secret, fitted to the hash's block, XORed with each pad once.
#[derive(Clone)]
pub struct Key {
    hash: Hash,
    /// `K xor ipad`, one block.
    inner_pad: Vec<u8>,
    /// `K xor opad`, one block.
    outer_pad: Vec<u8>,
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
        // RFC 2104 §2: a key longer than the block is hashed first; then zeros up to a block.
        let digest;
        let fitted = if secret.len() > hash.block_len() {
            digest = hash.digest(secret);
            digest.as_ref()
        } else {
            secret
        };
        let pad = |byte: u8| {
            let mut block = vec![byte; hash.block_len()];
            for (b, k) in block.iter_mut().zip(fitted) {
                *b ^= k;
            }
            block
        };
        Ok(Key {
            hash,
            inner_pad: pad(IPAD),
            outer_pad: pad(OPAD),
        })
    }

    /// The hash this key is for.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Checks that `tag` is the HMAC of `message`, comparing in constant time.
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> Result<(), SignatureError> {
        if tag.len() != self.hash.output_len() {
            return Err(SignatureError::Length);
        }
        if equal_in_constant_time(self.tag(message).as_ref(), tag) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// `H((K xor opad) || H((K xor ipad) || message))`.
    fn tag(&self, message: &[u8]) -> Digest64 {
        let mut inner = Vec::with_capacity(self.inner_pad.len() + message.len());
        inner.extend_from_slice(&self.inner_pad);
        inner.extend_from_slice(message);
        let inner = self.hash.digest(&inner);
        let mut outer = Vec::with_capacity(self.outer_pad.len() + self.hash.output_len());
        outer.extend_from_slice(&self.outer_pad);
        outer.extend_from_slice(inner.as_ref());
        self.hash.digest(&outer)
    }

    /// Bytes this key occupies: itself and its two pad blocks.
    pub fn memory_bytes(&self) -> usize {
        size_of::<Key>() + 2 * self.hash.block_len()
    }
}

/// Whether `a == b`, in a time that depends on their lengths only: every byte is looked at
/// whatever differs, so the time tells an attacker nothing about how much of a tag was right.
fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    difference == 0
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
    use ::hmac::{Hmac, Mac};
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use sha2::{Sha256, Sha384, Sha512};

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

    /// The construction against RustCrypto's `hmac`, with seeded random secrets (from the
    /// shortest allowed to past two blocks, where the secret is hashed first) and messages
    /// (empty, around a block, long).
    #[test]
    fn tags_match_a_reference_hmac() {
        let mut rng = ChaCha8Rng::seed_from_u64(2104);
        for hash in HASHES {
            let block = hash.block_len();
            let secret_lens = [
                hash.output_len(),
                block - 1,
                block,
                block + 1,
                2 * block + 3,
            ];
            let message_lens = [0, 1, block - 9, block, block + 1, 1000];
            for secret_len in secret_lens {
                for message_len in message_lens {
                    let mut secret = vec![0; secret_len];
                    let mut message = vec![0; message_len];
                    rng.fill_bytes(&mut secret);
                    rng.fill_bytes(&mut message);
                    let key = Key::new(hash, &secret).unwrap();
                    let reference = tag(hash, &secret, &message);
                    assert_eq!(
                        key.tag(&message).as_ref(),
                        reference,
                        "{hash:?} {secret_len} {message_len}"
                    );
                    assert_eq!(key.verify(&message, &reference), Ok(()));
                }
            }
        }
    }

    #[test]
    fn equality_looks_at_every_byte() {
        assert!(equal_in_constant_time(b"", b""));
        assert!(equal_in_constant_time(b"abc", b"abc"));
        assert!(!equal_in_constant_time(b"abc", b"abd"));
        assert!(!equal_in_constant_time(b"abc", b"xbc"));
        assert!(!equal_in_constant_time(b"abc", b"ab"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = *b"0123456789abcdef0123456789abcdef";
        let key = Key::new(Hash::Sha256, &secret).unwrap();
        let printed = format!("{key:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "hmac::Key { hash: Sha256, .. }");
        assert!(!printed.contains("0123"));
        assert!(!printed.contains("30 31"));
        assert!(key.memory_bytes() > 2 * 64 && key.memory_bytes() < 1024);
    }
}
