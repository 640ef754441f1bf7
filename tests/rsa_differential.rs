//! The RSA arithmetic and RS256/384/512 and PS256/384/512 verification against an independent
//! implementation: the `rsa` crate and its big integers (`num-bigint-dig`), dev-dependencies
//! only.
//!
//! Everything random comes from ChaCha8 seeded with `RSA_TEST_SEED` (a default otherwise); the
//! seed is printed, so `RSA_TEST_SEED=<seed> cargo test --test rsa_differential -- --nocapture`
//! replays a failure.

use jwt_authz::crypto::Hash;
use jwt_authz::crypto::rsa::montgomery::Modulus;
use jwt_authz::crypto::rsa::{PublicKey, SignatureError};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer, Verifier};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey, pkcs1v15, pss};
use sha2::{Sha256, Sha384, Sha512};

const DEFAULT_SEED: u64 = 0x4a57_5f41_757a_0004;

fn rng(test: u64) -> ChaCha8Rng {
    let seed = match std::env::var("RSA_TEST_SEED") {
        Ok(text) => text.parse().expect("RSA_TEST_SEED is a u64"),
        Err(_) => DEFAULT_SEED,
    };
    println!("seed {seed} (RSA_TEST_SEED={seed} replays this run)");
    ChaCha8Rng::seed_from_u64(seed ^ test.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// A random number of exactly `bits` bits. Half the time the 32-bit limbs are drawn from
/// values that stress carries and borrows (0, 1, all ones, top bit only, ...) instead of
/// uniformly.
fn random_bits(rng: &mut ChaCha8Rng, bits: usize) -> BigUint {
    let limbs = bits.div_ceil(32);
    let structured = rng.next_u32() & 1 == 0;
    let mut bytes = Vec::with_capacity(4 * limbs);
    for _ in 0..limbs {
        let limb = if structured {
            match rng.next_u32() % 8 {
                0 => 0,
                1 => u32::MAX,
                2 => 1,
                3 => 0x8000_0000,
                4 => 0x7fff_ffff,
                5 => u32::MAX - 1,
                _ => rng.next_u32(),
            }
        } else {
            rng.next_u32()
        };
        bytes.extend(limb.to_be_bytes());
    }
    let mut value = BigUint::from_bytes_be(&bytes);
    let excess = 32 * limbs - bits;
    value >>= excess;
    value |= BigUint::from(1u8) << (bits - 1);
    value
}

fn random_odd_modulus(rng: &mut ChaCha8Rng, bits: usize) -> BigUint {
    random_bits(rng, bits) | BigUint::from(1u8)
}

/// A base below `n`: mostly random, sometimes one of the edge values.
fn random_base(rng: &mut ChaCha8Rng, n: &BigUint) -> BigUint {
    let one = BigUint::from(1u8);
    match rng.next_u32() % 16 {
        0 => BigUint::from(0u8),
        1 => one,
        2 => n - &one,
        3 => n - BigUint::from(2u8),
        4 => BigUint::from(2u8),
        _ => {
            let bits = 1 + (rng.next_u32() as usize) % n.bits();
            random_bits(rng, bits) % n
        }
    }
}

fn random_odd_u32(rng: &mut ChaCha8Rng) -> u32 {
    (rng.next_u32() | 1).max(3)
}

/// Our `base^e mod n` against `BigUint::modpow`, with the base given as a full-length
/// big-endian string (like a signature) or without leading zeros.
fn check(n: &BigUint, modulus: &Modulus, base: &BigUint, exponent: u32, full_length: bool) {
    let mut base_bytes = base.to_bytes_be();
    if full_length {
        let mut padded = vec![0; modulus.byte_len() - base_bytes.len()];
        padded.extend_from_slice(&base_bytes);
        base_bytes = padded;
    }
    let ours = modulus
        .pow(&base_bytes, exponent)
        .unwrap_or_else(|| panic!("refused a base below n: n = {n:x}, base = {base:x}"));
    assert_eq!(ours.len(), modulus.byte_len());
    let expected = base.modpow(&BigUint::from(exponent), n);
    assert_eq!(
        BigUint::from_bytes_be(&ours),
        expected,
        "n = {n:x}\nbase = {base:x}\ne = {exponent}"
    );
}

fn modpow_matches(test: u64, bits: usize, moduli: usize) -> usize {
    let mut rng = rng(test);
    let mut cases = 0;
    for i in 0..moduli {
        let n = random_odd_modulus(&mut rng, bits);
        let modulus = Modulus::from_be_bytes(&n.to_bytes_be()).unwrap();
        assert_eq!(modulus.bits(), bits);
        // Every modulus gets one of the RSA exponents, every fourth also a random odd one.
        let exponent = [3, 17, 65537][i % 3];
        let base = random_base(&mut rng, &n);
        check(&n, &modulus, &base, exponent, i % 2 == 0);
        cases += 1;
        if i % 4 == 0 {
            let base = random_base(&mut rng, &n);
            check(&n, &modulus, &base, random_odd_u32(&mut rng), i % 8 == 0);
            cases += 1;
        }
    }
    println!("{bits}-bit: {moduli} random odd moduli, {cases} exponentiations match BigUint");
    cases
}

#[test]
fn modpow_matches_biguint_for_random_2048_bit_moduli() {
    modpow_matches(2048, 2048, 1000);
}

#[test]
fn modpow_matches_biguint_for_random_3072_bit_moduli() {
    modpow_matches(3072, 3072, 300);
}

#[test]
fn modpow_matches_biguint_for_random_4096_bit_moduli() {
    modpow_matches(4096, 4096, 200);
}

/// The largest moduli a key set accepts: several chunks of products per column.
#[test]
fn modpow_matches_biguint_for_random_8192_bit_moduli() {
    modpow_matches(8192, 8192, 16);
}

/// The arithmetic is not tied to RSA sizes: every bit length up to a few limbs, and random
/// lengths beyond, including ones that are not a multiple of 8 or 32.
#[test]
fn modpow_matches_biguint_for_odd_moduli_of_any_size() {
    let mut rng = rng(1);
    let mut cases = 0;
    let sizes = (2..=200).chain((0..100).map(|_| 201 + rng.next_u32() as usize % 4000));
    let sizes: Vec<usize> = sizes.collect();
    for bits in sizes {
        let n = random_odd_modulus(&mut rng, bits);
        if n < BigUint::from(3u8) {
            continue;
        }
        let modulus = Modulus::from_be_bytes(&n.to_bytes_be()).unwrap();
        assert_eq!(modulus.bits(), bits);
        for exponent in [0, 1, 2, 3, 65537, rng.next_u32(), u32::MAX] {
            let base = random_base(&mut rng, &n);
            check(&n, &modulus, &base, exponent, exponent % 2 == 0);
            cases += 1;
        }
    }
    println!("any size: {cases} exponentiations match BigUint");
}

/// The six JOSE RSA algorithms: RS256/384/512 and PS256/384/512.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Pkcs1(Hash),
    Pss(Hash),
}

const SCHEMES: [Scheme; 6] = [
    Scheme::Pkcs1(Hash::Sha256),
    Scheme::Pkcs1(Hash::Sha384),
    Scheme::Pkcs1(Hash::Sha512),
    Scheme::Pss(Hash::Sha256),
    Scheme::Pss(Hash::Sha384),
    Scheme::Pss(Hash::Sha512),
];

/// `$body` with `$digest` the `sha2` type of `$hash`.
macro_rules! with_digest {
    ($hash:expr, $digest:ident => $body:expr) => {
        match $hash {
            Hash::Sha256 => {
                type $digest = Sha256;
                $body
            }
            Hash::Sha384 => {
                type $digest = Sha384;
                $body
            }
            Hash::Sha512 => {
                type $digest = Sha512;
                $body
            }
        }
    };
}

impl Scheme {
    fn ours(self, key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        match self {
            Scheme::Pkcs1(hash) => key.verify_pkcs1(hash, message, signature),
            Scheme::Pss(hash) => key.verify_pss(hash, message, signature),
        }
    }

    /// The `rsa` crate's verdict (PSS with a salt of the hash's length, JOSE's).
    fn reference(self, key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Scheme::Pkcs1(hash) => with_digest!(hash, D => {
                pkcs1v15::Signature::try_from(signature).is_ok_and(|signature| {
                    pkcs1v15::VerifyingKey::<D>::new(key.clone())
                        .verify(message, &signature)
                        .is_ok()
                })
            }),
            Scheme::Pss(hash) => with_digest!(hash, D => {
                pss::Signature::try_from(signature).is_ok_and(|signature| {
                    pss::VerifyingKey::<D>::new(key.clone())
                        .verify(message, &signature)
                        .is_ok()
                })
            }),
        }
    }

    /// A signature by the `rsa` crate; PSS with a random salt of `salt_len` bytes.
    fn sign(
        self,
        private: &RsaPrivateKey,
        rng: &mut ChaCha8Rng,
        message: &[u8],
        salt_len: usize,
    ) -> Vec<u8> {
        match self {
            Scheme::Pkcs1(hash) => with_digest!(hash, D => {
                pkcs1v15::SigningKey::<D>::new(private.clone()).sign(message).to_vec()
            }),
            Scheme::Pss(hash) => with_digest!(hash, D => {
                pss::SigningKey::<D>::new_with_salt_len(private.clone(), salt_len)
                    .sign_with_rng(rng, message)
                    .to_vec()
            }),
        }
    }

    fn hash(self) -> Hash {
        match self {
            Scheme::Pkcs1(hash) | Scheme::Pss(hash) => hash,
        }
    }
}

/// Real keys from the `rsa` crate, every JOSE RSA algorithm: signatures it makes verify under
/// their own algorithm and no other, and every change we make to a signature or message gets
/// the same verdict from us as from its verifier (refusal).
#[test]
fn real_rsa_keys_agree_with_the_rsa_crate() {
    let mut rng = rng(2);
    // Key generation dominates the time; the 4096-bit real keys are Wycheproof's
    // (rsa_vectors.rs, rsa_pss_vectors.rs). 2049 bits makes PSS's encoded message one byte
    // shorter than the modulus (emBits = modBits - 1 is a multiple of 8); 2055 leaves 7
    // bits of its top byte unused.
    let sizes = [2048; 10].into_iter().chain([2049, 2055, 3072]);
    let (mut keys, mut accepted, mut refused) = (0, 0, 0);
    for (index, bits) in sizes.enumerate() {
        let private = RsaPrivateKey::new(&mut rng, bits).unwrap();
        let n = private.n().to_bytes_be();
        let key = PublicKey::from_be_bytes(&n, &private.e().to_bytes_be()).unwrap();
        assert_eq!(
            (key.modulus_bits(), key.modulus_bytes()),
            (bits, bits.div_ceil(8))
        );
        let public = private.to_public_key();
        keys += 1;

        // Our verdict must be the reference's, and for anything modified, a refusal.
        let mut judge = |scheme: Scheme, message: &[u8], signature: &[u8], genuine: bool| {
            let ours = scheme.ours(&key, message, signature);
            let theirs = scheme.reference(&public, message, signature);
            assert_eq!(
                ours.is_ok(),
                theirs,
                "key {index}, {scheme:?}: {ours:?} vs {theirs}"
            );
            assert_eq!(ours.is_ok(), genuine, "key {index}, {scheme:?}: {ours:?}");
            if genuine {
                accepted += 1;
            } else {
                refused += 1;
            }
        };

        for scheme in SCHEMES {
            // The first key gets every single-bit flip of an RS256 signature and of its
            // message; the rest a random sample of each.
            let exhaustive = index == 0 && scheme == Scheme::Pkcs1(Hash::Sha256);
            let rounds = if exhaustive { 3 } else { 1 };
            for round in 0..rounds {
                // Empty messages included; the exhaustive round signs a 32-byte one.
                let length = match (exhaustive, round) {
                    (true, 0) => 32,
                    _ => (rng.next_u32() % 96) as usize,
                };
                let mut message = vec![0; length];
                rng.fill_bytes(&mut message);
                let signature =
                    scheme.sign(&private, &mut rng, &message, scheme.hash().output_len());
                assert_eq!(signature.len(), bits.div_ceil(8));
                judge(scheme, &message, &signature, true);
                // Under every other algorithm: refused by both.
                for other in SCHEMES.into_iter().filter(|&other| other != scheme) {
                    judge(other, &message, &signature, false);
                }
                let signature_bits = 8 * signature.len();
                let message_bits = 8 * message.len();
                let sample = |rng: &mut ChaCha8Rng, count: usize, bits: usize| -> Vec<usize> {
                    match bits {
                        0 => Vec::new(),
                        _ => (0..count).map(|_| rng.next_u32() as usize % bits).collect(),
                    }
                };
                let (signature_flips, message_flips) = if exhaustive && round == 0 {
                    ((0..signature_bits).collect(), (0..message_bits).collect())
                } else {
                    (
                        sample(&mut rng, 16, signature_bits),
                        sample(&mut rng, 8, message_bits),
                    )
                };
                for bit in signature_flips {
                    let mut flipped = signature.clone();
                    flipped[bit / 8] ^= 0x80 >> (bit % 8);
                    // A flip above the modulus's top bit makes the signature out of range:
                    // refused by both all the same.
                    judge(scheme, &message, &flipped, false);
                }
                for bit in message_flips {
                    let mut flipped = message.clone();
                    flipped[bit / 8] ^= 0x80 >> (bit % 8);
                    judge(scheme, &flipped, &signature, false);
                }
                // The signature of another message, and one byte more or less.
                let mut other = message.clone();
                other.push(round as u8);
                judge(scheme, &other, &signature, false);
                judge(
                    scheme,
                    &message[..message.len().saturating_sub(1)],
                    &signature,
                    message.is_empty(),
                );
            }
        }
    }
    println!(
        "{keys} real keys, 6 algorithms: {accepted} genuine signatures verified, \
         {refused} modified or misattributed refused"
    );
}

/// PSS signatures with a salt of another length are valid RSASSA-PSS, and the `rsa` crate
/// verifies them when told the length; RFC 7518 §3.5 fixes it at the hash length, and so do we
/// (and the reference told so).
#[test]
fn pss_salts_of_other_lengths_are_refused() {
    let mut rng = rng(4);
    let private = RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let key =
        PublicKey::from_be_bytes(&private.n().to_bytes_be(), &private.e().to_bytes_be()).unwrap();
    let public = private.to_public_key();
    let mut cases = 0;
    for hash in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
        let scheme = Scheme::Pss(hash);
        let h_len = hash.output_len();
        for salt_len in [0, 1, 20, h_len - 1, h_len + 1, 64, 2 * h_len] {
            if salt_len == h_len {
                continue;
            }
            let signature = scheme.sign(&private, &mut rng, b"m", salt_len);
            let told = with_digest!(hash, D => {
                pss::VerifyingKey::<D>::new_with_salt_len(public.clone(), salt_len)
                    .verify(b"m", &pss::Signature::try_from(&signature[..]).unwrap())
            });
            assert!(
                told.is_ok(),
                "{hash:?}, salt {salt_len}: the reference's own check"
            );
            assert!(!scheme.reference(&public, b"m", &signature));
            assert_eq!(
                scheme.ours(&key, b"m", &signature),
                Err(SignatureError::Mismatch),
                "{hash:?}, salt {salt_len}"
            );
            cases += 1;
        }
    }
    println!("{cases} PSS signatures with other salt lengths refused");
}

/// With modBits = 8k + 1 the encoded message is one byte shorter than the modulus, and the
/// byte in front must be zero (RFC 8017 §8.1.2 step 2c: "integer too large"). A representative
/// with that byte set and a correct encoding after it is refused. (The `rsa` crate 0.9 skips
/// the byte and accepts it: only the key's owner can make one, but it is not a PSS signature.)
#[test]
fn pss_representative_wider_than_the_encoded_message_is_refused() {
    let mut rng = rng(5);
    let private = RsaPrivateKey::new(&mut rng, 2049).unwrap();
    let key =
        PublicKey::from_be_bytes(&private.n().to_bytes_be(), &private.e().to_bytes_be()).unwrap();
    let (n, e, d) = (private.n(), private.e(), private.d());
    let scheme = Scheme::Pss(Hash::Sha256);
    let signature = scheme.sign(&private, &mut rng, b"m", 32);
    assert_eq!(scheme.ours(&key, b"m", &signature), Ok(()));
    // m + 2^2048: the same 256 bytes of encoded message, a 1 in the byte in front.
    let m = BigUint::from_bytes_be(&signature).modpow(e, n);
    let wider = &m + (BigUint::from(1u8) << 2048usize);
    assert!(&wider < n, "n has its top bit at 2048");
    let forged = wider.modpow(d, n).to_bytes_be();
    let mut forged_full = vec![0; 257 - forged.len()];
    forged_full.extend_from_slice(&forged);
    assert_eq!(
        scheme.ours(&key, b"m", &forged_full),
        Err(SignatureError::Mismatch)
    );
    println!(
        "the rsa crate's verdict on it: {}",
        scheme.reference(&private.to_public_key(), b"m", &forged_full)
    );
}

/// About one RSA signature in 256 starts with a zero byte; it is still exactly as long as the
/// modulus and must verify (a length check on the integer instead of the string would fail it).
#[test]
fn signatures_with_leading_zero_bytes_verify() {
    let mut rng = rng(3);
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let key =
        PublicKey::from_be_bytes(&private.n().to_bytes_be(), &private.e().to_bytes_be()).unwrap();
    let signer = SigningKey::<Sha256>::new(private);
    let mut found = 0;
    for counter in 0u32..20_000 {
        let message = counter.to_be_bytes();
        let signature = signer.sign(&message).to_vec();
        if signature[0] == 0 {
            assert_eq!(key.verify_pkcs1(Hash::Sha256, &message, &signature), Ok(()));
            // Without the zero byte it is one byte short: refused, not normalised.
            assert_eq!(
                key.verify_pkcs1(Hash::Sha256, &message, &signature[1..]),
                Err(SignatureError::Length)
            );
            found += 1;
            if found == 3 {
                break;
            }
        }
    }
    assert_eq!(
        found, 3,
        "no signature with a leading zero byte in 20000 tries"
    );
}
