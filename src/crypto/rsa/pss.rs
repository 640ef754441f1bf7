//! RSASSA-PSS signature verification: the primitive of PS256, PS384 and PS512 (RFC 7518 §3.5,
//! RFC 8017 §8.1.2 and §9.1.2) under JOSE's profile: MGF1 with the message's hash, and a salt
//! exactly as long as the hash. A signature made with another salt length puts the 0x01 that
//! ends the padding elsewhere and is refused like any other inconsistent encoding.

use crate::crypto::Hash;
use crate::crypto::rsa::{PublicKey, SignatureError};

/// RFC 8017 §9.1.1 step 12: the encoded message ends with 0xbc.
const TRAILER: u8 = 0xbc;
/// RFC 8017 §9.1.1 step 5: `M'` starts with eight zero bytes.
const M_PRIME_ZEROS: usize = 8;
/// The largest digest (SHA-512).
const MAX_HASH_LEN: usize = 64;

impl PublicKey {
    /// RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) of `signature` over `message` with `hash`, MGF1 of
    /// `hash`, and a salt as long as the hash.
    pub fn verify_pss(
        &self,
        hash: Hash,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let representative = self.representative(signature)?;
        // §8.1.2 step 2c: EM = I2OSP(m, emLen) with emBits = modBits - 1. When modBits is one
        // more than a multiple of 8, emLen is one byte shorter than the modulus, and that
        // byte of m must be zero (else m is "too large" for emLen).
        let em_bits = self.modulus_bits() - 1;
        let (front, encoded) = representative
            .split_at_checked(representative.len() - em_bits.div_ceil(8))
            .ok_or(SignatureError::Mismatch)?;
        if front.iter().any(|&byte| byte != 0) {
            return Err(SignatureError::Mismatch);
        }
        verify_encoding(hash, hash.digest(message).as_ref(), encoded, em_bits)
    }
}

/// EMSA-PSS-VERIFY (RFC 8017 §9.1.2) of `encoded` (emLen bytes) against the digest `m_hash`,
/// with a salt of the hash's length.
fn verify_encoding(
    hash: Hash,
    m_hash: &[u8],
    encoded: &[u8],
    em_bits: usize,
) -> Result<(), SignatureError> {
    let h_len = hash.output_len();
    let s_len = h_len;
    // Step 3: emLen >= hLen + sLen + 2, so DB has room for the 0x01 and the salt after it.
    let db_len = encoded
        .len()
        .checked_sub(h_len + 1)
        .filter(|&db_len| db_len > s_len)
        .ok_or(SignatureError::ModulusTooShort)?;
    // Steps 4-5: EM = maskedDB || H || 0xbc.
    let (masked_db, rest) = encoded
        .split_at_checked(db_len)
        .ok_or(SignatureError::Mismatch)?;
    let (h, trailer) = rest
        .split_at_checked(h_len)
        .ok_or(SignatureError::Mismatch)?;
    if trailer != [TRAILER] {
        return Err(SignatureError::Mismatch);
    }
    // Step 6: the leftmost 8 * emLen - emBits bits of maskedDB are zero.
    let unused_bits = (8 * encoded.len()).saturating_sub(em_bits);
    let top_mask = 0xffu8.checked_shr(unused_bits as u32).unwrap_or(0);
    if masked_db.first().is_some_and(|&top| top & !top_mask != 0) {
        return Err(SignatureError::Mismatch);
    }
    // Steps 7-9: DB = maskedDB xor MGF1(H), with those bits cleared.
    let mut db = masked_db.to_vec();
    mgf1_xor(hash, h, &mut db);
    if let Some(top) = db.first_mut() {
        *top &= top_mask;
    }
    // Step 10: DB = 0x00..00 || 0x01 || salt, the salt sLen bytes.
    let (padding, rest) = db
        .split_at_checked(db_len - s_len - 1)
        .ok_or(SignatureError::Mismatch)?;
    let (separator, salt) = rest.split_first().ok_or(SignatureError::Mismatch)?;
    if padding.iter().any(|&byte| byte != 0) || *separator != 0x01 {
        return Err(SignatureError::Mismatch);
    }
    // Steps 12-14: H = Hash(0x00 * 8 || mHash || salt).
    let mut m_prime = [0u8; M_PRIME_ZEROS + 2 * MAX_HASH_LEN];
    let m_prime_len = M_PRIME_ZEROS + h_len + s_len;
    let (digest_part, salt_part) = m_prime
        .get_mut(M_PRIME_ZEROS..m_prime_len)
        .ok_or(SignatureError::Mismatch)?
        .split_at_mut(h_len);
    digest_part.copy_from_slice(m_hash);
    salt_part.copy_from_slice(salt);
    let m_prime = m_prime.get(..m_prime_len).ok_or(SignatureError::Mismatch)?;
    if hash.digest(m_prime).as_ref() == h {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// `out ^= MGF1(seed)` (RFC 8017 §B.2.1), as many bytes of the mask as `out` has.
fn mgf1_xor(hash: Hash, seed: &[u8], out: &mut [u8]) {
    let mut input = [0u8; MAX_HASH_LEN + 4];
    let seed_len = seed.len().min(MAX_HASH_LEN);
    if let Some(seed_part) = input.get_mut(..seed_len) {
        seed_part.copy_from_slice(seed.get(..seed_len).unwrap_or_default());
    }
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(hash.output_len())) {
        if let Some(counter_part) = input.get_mut(seed_len..seed_len + 4) {
            counter_part.copy_from_slice(&counter.to_be_bytes());
        }
        let mask = hash.digest(input.get(..seed_len + 4).unwrap_or_default());
        for (byte, mask) in chunk.iter_mut().zip(mask.as_ref()) {
            *byte ^= mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa::key::test_key;
    use ::rsa::pss::SigningKey;
    use ::rsa::signature::{RandomizedSigner, SignatureEncoding};
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;
    use sha2::{Sha256, Sha384, Sha512};

    const HASHES: [Hash; 3] = [Hash::Sha256, Hash::Sha384, Hash::Sha512];

    fn sign_with_salt(hash: Hash, salt_len: usize, message: &[u8]) -> Vec<u8> {
        let private = test_key::get().private.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(salt_len as u64);
        match hash {
            Hash::Sha256 => SigningKey::<Sha256>::new_with_salt_len(private, salt_len)
                .sign_with_rng(&mut rng, message)
                .to_vec(),
            Hash::Sha384 => SigningKey::<Sha384>::new_with_salt_len(private, salt_len)
                .sign_with_rng(&mut rng, message)
                .to_vec(),
            Hash::Sha512 => SigningKey::<Sha512>::new_with_salt_len(private, salt_len)
                .sign_with_rng(&mut rng, message)
                .to_vec(),
        }
    }

    fn sign(hash: Hash, message: &[u8]) -> Vec<u8> {
        sign_with_salt(hash, hash.output_len(), message)
    }

    #[test]
    fn a_real_signature_verifies_and_a_modified_one_does_not() {
        let key = &test_key::get().public;
        for hash in HASHES {
            let signature = sign(hash, b"header.payload");
            assert_eq!(key.verify_pss(hash, b"header.payload", &signature), Ok(()));
            assert_eq!(
                key.verify_pss(hash, b"header.payloae", &signature),
                Err(SignatureError::Mismatch)
            );
            let mut flipped = signature.clone();
            flipped[7] ^= 1;
            assert_eq!(
                key.verify_pss(hash, b"header.payload", &flipped),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn a_salt_other_than_the_hash_length_is_refused() {
        let key = &test_key::get().public;
        for hash in HASHES {
            let h_len = hash.output_len();
            for salt_len in [0, 20, h_len - 1, h_len + 1, 2 * h_len] {
                let signature = sign_with_salt(hash, salt_len, b"m");
                assert_eq!(
                    key.verify_pss(hash, b"m", &signature),
                    Err(SignatureError::Mismatch),
                    "{hash:?} with a {salt_len}-byte salt"
                );
            }
        }
    }

    #[test]
    fn a_signature_verifies_only_with_its_hash_and_scheme() {
        let key = &test_key::get().public;
        for signed in HASHES {
            let signature = sign(signed, b"m");
            for hash in HASHES {
                assert_eq!(
                    key.verify_pss(hash, b"m", &signature).is_ok(),
                    hash == signed
                );
                assert_eq!(
                    key.verify_pkcs1(hash, b"m", &signature),
                    Err(SignatureError::Mismatch)
                );
            }
        }
    }

    #[test]
    fn signature_length_and_range_come_first() {
        let test_key = test_key::get();
        let key = &test_key.public;
        let signature = sign(Hash::Sha256, b"m");
        assert_eq!(
            key.verify_pss(Hash::Sha256, b"m", &signature[1..]),
            Err(SignatureError::Length)
        );
        assert_eq!(
            key.verify_pss(Hash::Sha256, b"m", &test_key.n),
            Err(SignatureError::OutOfRange)
        );
        for trivial in [vec![0; 256], [vec![0; 255], vec![1]].concat()] {
            assert_eq!(
                key.verify_pss(Hash::Sha256, b"m", &trivial),
                Err(SignatureError::Mismatch)
            );
        }
    }

    /// An encoded message built by RFC 8017 §9.1.1 from a digest and salt, for `em_bits`.
    fn encode(hash: Hash, m_hash: &[u8], salt: &[u8], em_bits: usize) -> Vec<u8> {
        let em_len = em_bits.div_ceil(8);
        let h_len = hash.output_len();
        let m_prime = [&[0u8; 8][..], m_hash, salt].concat();
        let h = hash.digest(&m_prime);
        let mut db = vec![0u8; em_len - h_len - 1];
        let separator = db.len() - salt.len() - 1;
        db[separator] = 1;
        db[separator + 1..].copy_from_slice(salt);
        mgf1_xor(hash, h.as_ref(), &mut db);
        db[0] &= 0xff >> (8 * em_len - em_bits);
        [db, h.as_ref().to_vec(), vec![TRAILER]].concat()
    }

    #[test]
    fn an_encoding_built_by_the_rfc_verifies() {
        for hash in HASHES {
            let m_hash = hash.digest(b"message");
            let salt = vec![0x42; hash.output_len()];
            for em_bits in [2047, 2048, 2049, 2055, 4095] {
                let encoded = encode(hash, m_hash.as_ref(), &salt, em_bits);
                assert_eq!(encoded.len(), em_bits.div_ceil(8));
                assert_eq!(
                    verify_encoding(hash, m_hash.as_ref(), &encoded, em_bits),
                    Ok(()),
                    "{hash:?}, emBits {em_bits}"
                );
            }
        }
    }

    #[test]
    fn each_part_of_the_encoding_is_checked() {
        let hash = Hash::Sha256;
        let m_hash = hash.digest(b"message");
        let m_hash = m_hash.as_ref();
        let salt = [7u8; 32];
        let em_bits = 2047;
        let good = encode(hash, m_hash, &salt, em_bits);
        let check = |encoded: &[u8]| verify_encoding(hash, m_hash, encoded, em_bits);
        assert_eq!(check(&good), Ok(()));

        let mut trailer = good.clone();
        *trailer.last_mut().unwrap() = 0xbd;
        assert_eq!(check(&trailer), Err(SignatureError::Mismatch));

        // The bit above emBits is set: refused even though unmasking would clear it.
        let mut top_bit = good.clone();
        top_bit[0] |= 0x80;
        assert_eq!(check(&top_bit), Err(SignatureError::Mismatch));
        // With a whole byte of room (emBits = 8 * emLen) the same bit is significant.
        let full = encode(hash, m_hash, &salt, 2048);
        assert_eq!(verify_encoding(hash, m_hash, &full, 2048), Ok(()));

        // Any byte of maskedDB or H changed.
        for index in [0, 1, 100, 190, 191, 192, 222, 223, 224, 254] {
            let mut changed = good.clone();
            changed[index] ^= 0x01;
            assert_eq!(
                check(&changed),
                Err(SignatureError::Mismatch),
                "byte {index}"
            );
        }
        // Another digest.
        assert_eq!(
            verify_encoding(hash, hash.digest(b"other").as_ref(), &good, em_bits),
            Err(SignatureError::Mismatch)
        );
        // Too short for hLen + sLen + 2 bytes.
        assert_eq!(
            verify_encoding(hash, m_hash, &good[..65], 65 * 8),
            Err(SignatureError::ModulusTooShort)
        );
        assert_eq!(
            verify_encoding(hash, m_hash, &[], 0),
            Err(SignatureError::ModulusTooShort)
        );
    }

    #[test]
    fn padding_must_be_zeros_then_one() {
        let hash = Hash::Sha256;
        let m_hash = hash.digest(b"message");
        let m_hash = m_hash.as_ref();
        let em_bits = 2047;
        // Take a good encoding apart: unmask DB, change it, mask it again with the same H.
        let good = encode(hash, m_hash, &[9u8; 32], em_bits);
        let (masked_db, h) = good[..good.len() - 1].split_at(good.len() - 33);
        let remask = |change: &dyn Fn(&mut Vec<u8>)| {
            let mut db = masked_db.to_vec();
            mgf1_xor(hash, h, &mut db);
            db[0] &= 0x7f;
            change(&mut db);
            mgf1_xor(hash, h, &mut db);
            db[0] &= 0x7f;
            [db, h.to_vec(), vec![TRAILER]].concat()
        };
        assert_eq!(
            verify_encoding(hash, m_hash, &remask(&|_| {}), em_bits),
            Ok(())
        );
        let separator = 256 - 32 - 1 - 32 - 1;
        for change in [
            &(|db: &mut Vec<u8>| db[separator] = 0x02) as &dyn Fn(&mut Vec<u8>),
            &|db| db[separator - 1] = 0x01,
            &|db| db[0] = 0x01,
            &|db| db[separator] = 0x00,
        ] {
            assert_eq!(
                verify_encoding(hash, m_hash, &remask(change), em_bits),
                Err(SignatureError::Mismatch)
            );
        }
    }

    /// RFC 8017 §B.2.1 by hand for two blocks of SHA-256: Hash(seed || 0), Hash(seed || 1).
    #[test]
    fn mgf1_is_the_hash_of_seed_and_counter() {
        let seed = b"seed";
        let mut mask = vec![0u8; 40];
        mgf1_xor(Hash::Sha256, seed, &mut mask);
        let first = Hash::Sha256.digest(b"seed\0\0\0\0");
        let second = Hash::Sha256.digest(b"seed\0\0\0\x01");
        assert_eq!(&mask[..32], first.as_ref());
        assert_eq!(&mask[32..], &second.as_ref()[..8]);
    }
}
