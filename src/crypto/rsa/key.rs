//! An RSA public key and the step every RSA signature scheme shares: RSAVP1 (RFC 8017 §5.2.2),
//! the signature raised to the public exponent. The encodings that give the result its meaning
//! are [`super::pkcs1`] and [`super::pss`].

use crate::crypto::rsa::montgomery::{Modulus, ModulusError};
use std::fmt;

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
    /// RFC 8017 §8.1.2 and §8.2.2 step 1: the signature is not exactly as long as the modulus.
    Length,
    /// RFC 8017 §5.2.2: the signature, as an integer, is not below the modulus.
    OutOfRange,
    /// `s^e mod n` is not an encoding of the message: not the exact PKCS#1 v1.5 one, or not a
    /// consistent PSS one with a salt as long as the hash.
    Mismatch,
    /// The modulus is too short for an encoded message of this hash (never for the moduli a
    /// key set accepts).
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

    /// RSAVP1 (RFC 8017 §5.2.2) of a signature exactly as long as the modulus: `s^e mod n`,
    /// as many big-endian bytes as the modulus has.
    pub(super) fn representative(&self, signature: &[u8]) -> Result<Vec<u8>, SignatureError> {
        if signature.len() != self.modulus.byte_len() {
            return Err(SignatureError::Length);
        }
        self.modulus
            .pow(signature, self.exponent)
            .ok_or(SignatureError::OutOfRange)
    }
}

/// One seeded 2048-bit key from the `rsa` crate, shared by the tests of every RSA scheme.
#[cfg(test)]
pub(crate) mod test_key {
    use super::PublicKey;
    use ::rsa::RsaPrivateKey;
    use ::rsa::traits::PublicKeyParts;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;
    use std::sync::OnceLock;

    pub struct TestKey {
        pub private: RsaPrivateKey,
        pub n: Vec<u8>,
        pub public: PublicKey,
    }

    pub fn get() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let private = RsaPrivateKey::new(&mut ChaCha8Rng::seed_from_u64(7), 2048).unwrap();
            let n = private.n().to_bytes_be();
            let public = PublicKey::from_be_bytes(&n, &private.e().to_bytes_be()).unwrap();
            TestKey { private, n, public }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::rsa::BigUint;

    #[test]
    fn modulus_leading_zero_bytes_do_not_change_the_key() {
        let test_key = test_key::get();
        let mut padded = vec![0, 0];
        padded.extend_from_slice(&test_key.n);
        let key = PublicKey::from_be_bytes(&padded, &[0, 1, 0, 1]).unwrap();
        assert_eq!(&key, &test_key.public);
        assert_eq!((key.modulus_bits(), key.modulus_bytes()), (2048, 256));
        assert_eq!(key.exponent(), 65537);
    }

    #[test]
    fn exponents_are_odd_between_3_and_2_to_the_32() {
        let n = &test_key::get().n;
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
    fn representative_needs_exactly_the_modulus_length() {
        let key = &test_key::get().public;
        assert_eq!(key.representative(&[]), Err(SignatureError::Length));
        assert_eq!(key.representative(&[1; 255]), Err(SignatureError::Length));
        assert_eq!(key.representative(&[1; 257]), Err(SignatureError::Length));
        let mut two = vec![0; 256];
        two[255] = 2;
        let power = BigUint::from(2u8).modpow(
            &BigUint::from(65537u32),
            &BigUint::from_bytes_be(&test_key::get().n),
        );
        let representative = key.representative(&two).unwrap();
        assert_eq!(representative.len(), 256);
        assert_eq!(BigUint::from_bytes_be(&representative), power);
    }

    #[test]
    fn representative_must_be_below_the_modulus() {
        let test_key = test_key::get();
        let key = &test_key.public;
        // s = n and s = n + 1 (= 1 mod n, which would otherwise "decrypt" like s = 1).
        assert_eq!(
            key.representative(&test_key.n),
            Err(SignatureError::OutOfRange)
        );
        let n_plus_one = (BigUint::from_bytes_be(&test_key.n) + 1u8).to_bytes_be();
        assert_eq!(
            key.representative(&n_plus_one),
            Err(SignatureError::OutOfRange)
        );
        assert_eq!(
            key.representative(&[0xff; 256]),
            Err(SignatureError::OutOfRange)
        );
        let mut n_minus_one = test_key.n.clone();
        n_minus_one[255] -= 1; // n is odd
        assert!(key.representative(&n_minus_one).is_ok());
    }
}
