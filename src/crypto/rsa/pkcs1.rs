//! RSASSA-PKCS1-v1_5 signature verification with SHA-256: RS256's primitive (RFC 7518 §3.3,
//! RFC 8017 §8.2.2).
//!
//! Verification re-encodes instead of parsing (RFC 8017 §8.2.2 step 3-4): the expected encoded
//! message `EM = 0x00 || 0x01 || 0xFF..FF || 0x00 || DigestInfo(SHA-256, H)` is built from the
//! message and compared byte for byte with `s^e mod n`. Only this one DER encoding is accepted;
//! in particular the DigestInfo variant without the NULL algorithm parameters, which RFC 8017
//! §9.2 note 1 mentions as seen in the wild, is refused, as are BER variants and any other
//! padding. Nothing is parsed, so there is nothing for a forged signature to confuse.

use crate::crypto::rsa::montgomery::{Modulus, ModulusError};
use sha2::{Digest, Sha256};
use std::fmt;

/// DER of `DigestInfo` for SHA-256 up to the digest (RFC 8017 §9.2 note 1):
/// `SEQUENCE { SEQUENCE { OID 2.16.840.1.101.3.4.2.1, NULL }, OCTET STRING (32 bytes) }`.
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// RFC 8017 §9.2 step 3: at least eight bytes of 0xFF padding.
const MIN_PADDING: usize = 8;

/// An RSA public key ready for verification: the Montgomery constants of its modulus are
/// computed once, here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    modulus: Modulus,
    exponent: u32,
}

/// Why an RSA public key cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    Modulus(ModulusError),
    /// Even or below 3: not an RSA public exponent.
    Exponent,
    /// At least 2^32. RFC 7518 keys use 65537; larger ones are refused rather than supported.
    ExponentTooLarge,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Modulus(e) => e.fmt(f),
            Self::Exponent => f.write_str("public exponent must be odd and at least 3"),
            Self::ExponentTooLarge => f.write_str("public exponent must be less than 2^32"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// RFC 8017 §8.2.2 step 1: the signature is not exactly as long as the modulus.
    Length,
    /// RFC 8017 §5.2.2: the signature, as an integer, is not below the modulus.
    OutOfRange,
    /// `s^e mod n` is not the expected encoded message.
    Mismatch,
    /// The modulus is too short for a SHA-256 encoded message (never for the moduli a key set
    /// accepts).
    ModulusTooShort,
}

impl PublicKey {
    /// Takes `n` and `e` as big-endian unsigned integers (leading zero bytes are ignored).
    /// The modulus size is the caller's policy; any odd `n >= 3` is arithmetically fine.
    pub fn from_be_bytes(n: &[u8], e: &[u8]) -> Result<PublicKey, KeyError> {
        let significant = e.iter().skip_while(|&&b| b == 0);
        let mut exponent: u32 = 0;
        for &byte in significant {
            if exponent >> 24 != 0 {
                return Err(KeyError::ExponentTooLarge);
            }
            exponent = (exponent << 8) | u32::from(byte);
        }
        if exponent & 1 == 0 || exponent < 3 {
            return Err(KeyError::Exponent);
        }
        let modulus = Modulus::from_be_bytes(n).map_err(KeyError::Modulus)?;
        Ok(PublicKey { modulus, exponent })
    }

    /// Significant bits of the modulus.
    pub fn modulus_bits(&self) -> usize {
        self.modulus.bits()
    }

    /// Modulus length in bytes: the length of every signature.
    pub fn modulus_bytes(&self) -> usize {
        self.modulus.byte_len()
    }

    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    /// RSASSA-PKCS1-V1_5-VERIFY (RFC 8017 §8.2.2) of `signature` over `message` with SHA-256.
    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let k = self.modulus.byte_len();
        if signature.len() != k {
            return Err(SignatureError::Length);
        }
        let encoded = self
            .modulus
            .pow(signature, self.exponent)
            .ok_or(SignatureError::OutOfRange)?;
        let expected =
            encode_sha256(&Sha256::digest(message), k).ok_or(SignatureError::ModulusTooShort)?;
        if encoded == expected {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// EMSA-PKCS1-v1_5-ENCODE (RFC 8017 §9.2) of a SHA-256 digest into `k` bytes; `None` when `k`
/// leaves no room for the minimum padding (never for the moduli a key set accepts).
fn encode_sha256(digest: &[u8], k: usize) -> Option<Vec<u8>> {
    let t_len = SHA256_DIGEST_INFO_PREFIX.len() + digest.len();
    let padding = k.checked_sub(t_len + 3)?;
    if padding < MIN_PADDING {
        return None;
    }
    let mut encoded = Vec::with_capacity(k);
    encoded.extend_from_slice(&[0x00, 0x01]);
    encoded.resize(2 + padding, 0xff);
    encoded.push(0x00);
    encoded.extend_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    encoded.extend_from_slice(digest);
    Some(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::rsa::BigUint;
    use ::rsa::pkcs1v15::SigningKey;
    use ::rsa::signature::{SignatureEncoding, Signer};
    use ::rsa::traits::PublicKeyParts;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;
    use std::sync::OnceLock;

    struct Fixture {
        signing: SigningKey<Sha256>,
        n: Vec<u8>,
        key: PublicKey,
    }

    /// One 2048-bit key for every test here (deterministic: seeded).
    fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let private =
                ::rsa::RsaPrivateKey::new(&mut ChaCha8Rng::seed_from_u64(7), 2048).unwrap();
            let n = private.n().to_bytes_be();
            let key = PublicKey::from_be_bytes(&n, &private.e().to_bytes_be()).unwrap();
            Fixture {
                signing: SigningKey::new(private),
                n,
                key,
            }
        })
    }

    fn sign(message: &[u8]) -> Vec<u8> {
        fixture().signing.sign(message).to_vec()
    }

    #[test]
    fn a_real_signature_verifies_and_a_modified_one_does_not() {
        let key = &fixture().key;
        assert_eq!((key.modulus_bits(), key.modulus_bytes()), (2048, 256));
        assert_eq!(key.exponent(), 65537);
        let signature = sign(b"header.payload");
        assert_eq!(key.verify_sha256(b"header.payload", &signature), Ok(()));
        assert_eq!(
            key.verify_sha256(b"header.payloae", &signature),
            Err(SignatureError::Mismatch)
        );
        let mut flipped = signature.clone();
        flipped[100] ^= 0x10;
        assert_eq!(
            key.verify_sha256(b"header.payload", &flipped),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn signature_length_must_be_the_modulus_length() {
        let key = &fixture().key;
        let signature = sign(b"m");
        let mut padded = vec![0];
        padded.extend_from_slice(&signature);
        assert_eq!(
            key.verify_sha256(b"m", &padded),
            Err(SignatureError::Length)
        );
        assert_eq!(
            key.verify_sha256(b"m", &signature[1..]),
            Err(SignatureError::Length)
        );
        assert_eq!(key.verify_sha256(b"m", &[]), Err(SignatureError::Length));
    }

    #[test]
    fn signature_representative_must_be_below_the_modulus() {
        let Fixture { key, n, .. } = fixture();
        // s = n and s = n + 1 (= 1 mod n, which would otherwise "decrypt" like s = 1).
        assert_eq!(key.verify_sha256(b"m", n), Err(SignatureError::OutOfRange));
        let n_plus_one = (BigUint::from_bytes_be(n) + 1u8).to_bytes_be();
        assert_eq!(
            key.verify_sha256(b"m", &n_plus_one),
            Err(SignatureError::OutOfRange)
        );
        assert_eq!(
            key.verify_sha256(b"m", &[0xff; 256]),
            Err(SignatureError::OutOfRange)
        );
        // s + n for a valid s: same value mod n, still refused.
        let signature = sign(b"m");
        let shifted = BigUint::from_bytes_be(&signature) + BigUint::from_bytes_be(n);
        let shifted = shifted.to_bytes_be();
        if shifted.len() == 256 {
            assert_eq!(
                key.verify_sha256(b"m", &shifted),
                Err(SignatureError::OutOfRange)
            );
        }
    }

    #[test]
    fn trivial_signatures_are_refused() {
        let Fixture { key, n, .. } = fixture();
        let mut one = vec![0; 256];
        one[255] = 1;
        let mut n_minus_one = n.clone();
        n_minus_one[255] -= 1; // n is odd
        for s in [vec![0; 256], one, n_minus_one] {
            assert_eq!(
                key.verify_sha256(b"", &s),
                Err(SignatureError::Mismatch),
                "{s:?}"
            );
        }
    }

    #[test]
    fn modulus_leading_zero_bytes_do_not_change_the_key() {
        let Fixture { n, .. } = fixture();
        let mut padded = vec![0, 0];
        padded.extend_from_slice(n);
        let key = PublicKey::from_be_bytes(&padded, &[0, 1, 0, 1]).unwrap();
        assert_eq!(&key, &fixture().key);
        assert_eq!(key.modulus_bytes(), 256);
        assert_eq!(key.verify_sha256(b"m", &sign(b"m")), Ok(()));
    }

    #[test]
    fn exponents_are_odd_between_3_and_2_to_the_32() {
        let n = &fixture().n;
        for e in [
            &[][..],
            &[0],
            &[1],
            &[2],
            &[0, 2],
            &[1, 0, 0],
            &[0xff, 0xfe],
        ] {
            assert_eq!(
                PublicKey::from_be_bytes(n, e),
                Err(KeyError::Exponent),
                "{e:?}"
            );
        }
        for e in [&[1, 0, 0, 0, 1][..], &[1, 0, 0, 0, 0], &[0xff; 5], &[1; 9]] {
            assert_eq!(
                PublicKey::from_be_bytes(n, e),
                Err(KeyError::ExponentTooLarge),
                "{e:?}"
            );
        }
        for (e, value) in [
            (&[3][..], 3),
            (&[0, 0, 0, 0, 0, 3], 3),
            (&[1, 0, 1], 65537),
            (&[0xff, 0xff, 0xff, 0xff], u32::MAX),
        ] {
            assert_eq!(PublicKey::from_be_bytes(n, e).unwrap().exponent(), value);
        }
        assert_eq!(
            PublicKey::from_be_bytes(&[0x10, 0], &[3]),
            Err(KeyError::Modulus(ModulusError::Even))
        );
        assert_eq!(
            KeyError::ExponentTooLarge.to_string(),
            "public exponent must be less than 2^32"
        );
    }

    #[test]
    fn encoding_is_the_exact_der_form() {
        let digest = [0xab; 32];
        let encoded = encode_sha256(&digest, 256).unwrap();
        assert_eq!(encoded.len(), 256);
        assert_eq!(&encoded[..2], &[0, 1]);
        assert!(encoded[2..204].iter().all(|&b| b == 0xff));
        assert_eq!(encoded[204], 0);
        assert_eq!(&encoded[205..224], &SHA256_DIGEST_INFO_PREFIX);
        assert_eq!(&encoded[224..], &digest);
        // 51 bytes of DigestInfo + 3 + 8 bytes of padding at least.
        assert!(encode_sha256(&digest, 62).is_some());
        assert!(encode_sha256(&digest, 61).is_none());
        assert!(encode_sha256(&digest, 0).is_none());
    }
}
