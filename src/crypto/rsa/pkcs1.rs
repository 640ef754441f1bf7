//! RSASSA-PKCS1-v1_5 signature verification with SHA-256, SHA-384 or SHA-512: the primitive of
//! RS256, RS384 and RS512 (RFC 7518 §3.3, RFC 8017 §8.2.2).
//!
//! Verification re-encodes instead of parsing (RFC 8017 §8.2.2 steps 3-4): the expected encoded
//! message `EM = 0x00 || 0x01 || 0xFF..FF || 0x00 || DigestInfo(hash, H)` is built from the
//! message and compared byte for byte with `s^e mod n`. Only the one DER encoding of each
//! hash's DigestInfo is accepted; in particular the variant without the NULL algorithm
//! parameters, which RFC 8017 §9.2 note 1 mentions as seen in the wild, is refused, as are BER
//! variants, another hash's DigestInfo and any other padding. Nothing is parsed, so there is
//! nothing for a forged signature to confuse.

use crate::crypto::Hash;
use crate::crypto::rsa::{PublicKey, SignatureError};

/// RFC 8017 §9.2 step 3: at least eight bytes of 0xFF padding.
const MIN_PADDING: usize = 8;

/// DER of `DigestInfo` up to the digest (RFC 8017 §9.2 note 1): `SEQUENCE { SEQUENCE { OID
/// 2.16.840.1.101.3.4.2.n, NULL }, OCTET STRING (digest) }`; the hashes differ in the
/// sequence's length, the last byte of the OID and the digest's length.
const fn digest_info_prefix(hash: Hash) -> [u8; 19] {
    let (sequence_len, oid_last, digest_len) = match hash {
        Hash::Sha256 => (0x31, 0x01, 0x20),
        Hash::Sha384 => (0x41, 0x02, 0x30),
        Hash::Sha512 => (0x51, 0x03, 0x40),
    };
    [
        0x30,
        sequence_len,
        0x30,
        0x0d,
        0x06,
        0x09,
        0x60,
        0x86,
        0x48,
        0x01,
        0x65,
        0x03,
        0x04,
        0x02,
        oid_last,
        0x05,
        0x00,
        0x04,
        digest_len,
    ]
}

impl PublicKey {
    /// RSASSA-PKCS1-V1_5-VERIFY (RFC 8017 §8.2.2) of `signature` over `message` with `hash`.
    pub fn verify_pkcs1(
        &self,
        hash: Hash,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let encoded = self.representative(signature)?;
        let expected = encode(hash, hash.digest(message).as_ref(), encoded.len())
            .ok_or(SignatureError::ModulusTooShort)?;
        if encoded == expected {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// EMSA-PKCS1-v1_5-ENCODE (RFC 8017 §9.2) of a `hash` digest into `k` bytes; `None` when `k`
/// leaves no room for the minimum padding (never for the moduli a key set accepts).
fn encode(hash: Hash, digest: &[u8], k: usize) -> Option<Vec<u8>> {
    let prefix = digest_info_prefix(hash);
    let t_len = prefix.len() + digest.len();
    let padding = k.checked_sub(t_len + 3)?;
    if padding < MIN_PADDING {
        return None;
    }
    let mut encoded = Vec::with_capacity(k);
    encoded.extend_from_slice(&[0x00, 0x01]);
    encoded.resize(2 + padding, 0xff);
    encoded.push(0x00);
    encoded.extend_from_slice(&prefix);
    encoded.extend_from_slice(digest);
    Some(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa::key::test_key;
    use ::rsa::BigUint;
    use ::rsa::pkcs1v15::SigningKey;
    use ::rsa::signature::{SignatureEncoding, Signer};
    use sha2::{Sha256, Sha384, Sha512};

    const HASHES: [Hash; 3] = [Hash::Sha256, Hash::Sha384, Hash::Sha512];

    fn sign(hash: Hash, message: &[u8]) -> Vec<u8> {
        let private = test_key::get().private.clone();
        match hash {
            Hash::Sha256 => SigningKey::<Sha256>::new(private).sign(message).to_vec(),
            Hash::Sha384 => SigningKey::<Sha384>::new(private).sign(message).to_vec(),
            Hash::Sha512 => SigningKey::<Sha512>::new(private).sign(message).to_vec(),
        }
    }

    #[test]
    fn a_real_signature_verifies_and_a_modified_one_does_not() {
        let key = &test_key::get().public;
        for hash in HASHES {
            let signature = sign(hash, b"header.payload");
            assert_eq!(
                key.verify_pkcs1(hash, b"header.payload", &signature),
                Ok(())
            );
            assert_eq!(
                key.verify_pkcs1(hash, b"header.payloae", &signature),
                Err(SignatureError::Mismatch)
            );
            let mut flipped = signature.clone();
            flipped[100] ^= 0x10;
            assert_eq!(
                key.verify_pkcs1(hash, b"header.payload", &flipped),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn a_signature_verifies_only_with_the_hash_it_was_made_with() {
        let key = &test_key::get().public;
        for signed in HASHES {
            let signature = sign(signed, b"m");
            for hash in HASHES.into_iter().filter(|&h| h != signed) {
                assert_eq!(
                    key.verify_pkcs1(hash, b"m", &signature),
                    Err(SignatureError::Mismatch),
                    "{signed:?} signature checked as {hash:?}"
                );
            }
        }
    }

    #[test]
    fn signature_length_must_be_the_modulus_length() {
        let key = &test_key::get().public;
        let signature = sign(Hash::Sha384, b"m");
        let mut padded = vec![0];
        padded.extend_from_slice(&signature);
        for wrong in [&padded[..], &signature[1..], &[]] {
            assert_eq!(
                key.verify_pkcs1(Hash::Sha384, b"m", wrong),
                Err(SignatureError::Length)
            );
        }
    }

    #[test]
    fn signature_representative_must_be_below_the_modulus() {
        let test_key = test_key::get();
        let (key, n) = (&test_key.public, &test_key.n);
        // s + n for a valid s: the same value mod n, still refused.
        let signature = sign(Hash::Sha512, b"m");
        let shifted = BigUint::from_bytes_be(&signature) + BigUint::from_bytes_be(n);
        let shifted = shifted.to_bytes_be();
        if shifted.len() == 256 {
            assert_eq!(
                key.verify_pkcs1(Hash::Sha512, b"m", &shifted),
                Err(SignatureError::OutOfRange)
            );
        }
        assert_eq!(
            key.verify_pkcs1(Hash::Sha256, b"m", n),
            Err(SignatureError::OutOfRange)
        );
    }

    #[test]
    fn trivial_signatures_are_refused() {
        let test_key = test_key::get();
        let mut one = vec![0; 256];
        one[255] = 1;
        let mut n_minus_one = test_key.n.clone();
        n_minus_one[255] -= 1; // n is odd
        for s in [vec![0; 256], one, n_minus_one] {
            for hash in HASHES {
                assert_eq!(
                    test_key.public.verify_pkcs1(hash, b"", &s),
                    Err(SignatureError::Mismatch),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn encoding_is_the_exact_der_form() {
        let digest = [0xab; 32];
        let encoded = encode(Hash::Sha256, &digest, 256).unwrap();
        assert_eq!(encoded.len(), 256);
        assert_eq!(&encoded[..2], &[0, 1]);
        assert!(encoded[2..204].iter().all(|&b| b == 0xff));
        assert_eq!(encoded[204], 0);
        assert_eq!(
            encoded[205..224],
            [
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20
            ]
        );
        assert_eq!(&encoded[224..], &digest);
        // 51 bytes of DigestInfo + 3 + 8 bytes of padding at least.
        assert!(encode(Hash::Sha256, &digest, 62).is_some());
        assert!(encode(Hash::Sha256, &digest, 61).is_none());
        assert!(encode(Hash::Sha256, &digest, 0).is_none());
    }

    /// The prefixes against RFC 8017 §9.2 note 1, as printed there.
    #[test]
    fn digest_info_prefixes_are_rfc_8017s() {
        let rfc = [
            (Hash::Sha256, "3031300d060960864801650304020105000420"),
            (Hash::Sha384, "3041300d060960864801650304020205000430"),
            (Hash::Sha512, "3051300d060960864801650304020305000440"),
        ];
        for (hash, hex) in rfc {
            let prefix: String = digest_info_prefix(hash)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(prefix, hex, "{hash:?}");
            // The sequence covers the rest: 17 bytes of algorithm and octet-string header and
            // the digest.
            assert_eq!(
                usize::from(digest_info_prefix(hash)[1]),
                17 + hash.output_len()
            );
        }
        let digest = [0x5a; 64];
        for hash in HASHES {
            let encoded = encode(hash, &digest[..hash.output_len()], 512).unwrap();
            assert_eq!(encoded.len(), 512);
            assert!(encoded.ends_with(&digest[..hash.output_len()]));
        }
    }
}
