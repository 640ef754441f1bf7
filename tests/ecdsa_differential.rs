//! ECDSA verification (ES256, ES384, ES512) against an independent implementation: the
//! RustCrypto `p256`, `p384` and `p521` crates, dev-dependencies only, verifying the same
//! P1363 (`r || s`) signatures with their `VerifyingKey`.
//!
//! Keys, messages and signatures are random, from ChaCha8 seeded with `ECDSA_TEST_SEED` (a
//! default otherwise); the seed is printed, so
//! `ECDSA_TEST_SEED=<seed> cargo test --test ecdsa_differential -- --nocapture` replays a
//! failure. Every valid signature must verify under both, and every corruption (flipped bits,
//! `r` or `s` set to 0, n - 1, n, n + 1 or all ones, `r` and `s` swapped, another message or
//! key) must get the same verdict from both; `n - s` (the other valid `s`, ECDSA has no
//! low-s rule) verifies under both.

use jwt_authz::crypto::ecdsa::{Coordinate, Curve, KeyError, PublicKey, SignatureError};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rsa::BigUint;

const DEFAULT_SEED: u64 = 0x4a57_5f45_4344_5341;

fn rng(test: u64) -> ChaCha8Rng {
    let seed = match std::env::var("ECDSA_TEST_SEED") {
        Ok(text) => text.parse().expect("ECDSA_TEST_SEED is a u64"),
        Err(_) => DEFAULT_SEED,
    };
    println!("seed {seed} (ECDSA_TEST_SEED={seed} replays this run)");
    ChaCha8Rng::seed_from_u64(seed ^ test.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// `value` as exactly `len` big-endian bytes (it must fit).
fn fixed(value: &BigUint, len: usize) -> Vec<u8> {
    let bytes = value.to_bytes_be();
    assert!(bytes.len() <= len, "{value:x} does not fit in {len} bytes");
    let mut out = vec![0; len - bytes.len()];
    out.extend(bytes);
    out
}

/// Signs a message with a random nonce (from the seeded generator), as `r || s`.
type Signer = Box<dyn Fn(&mut ChaCha8Rng, &[u8]) -> Vec<u8>>;

/// What one curve's reference crate offers the tests.
trait Reference {
    const CURVE: Curve;
    /// The field prime and the group order, hex (FIPS 186-5).
    const P: &'static str;
    const N: &'static str;
    /// A random key: its uncompressed coordinates and a signer of P1363 signatures.
    fn random_key(rng: &mut ChaCha8Rng) -> (Vec<u8>, Vec<u8>, Signer);
    /// The reference's verdict on a signature by the key `(x, y)`.
    fn verifies(x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> bool;
    /// Whether the reference takes `(x, y)` as a public key.
    fn accepts_key(x: &[u8], y: &[u8]) -> bool;
}

macro_rules! reference {
    ($name:ident, $krate:ident, $curve:expr, $p:expr, $n:expr) => {
        struct $name;
        impl Reference for $name {
            const CURVE: Curve = $curve;
            const P: &'static str = $p;
            const N: &'static str = $n;

            fn random_key(rng: &mut ChaCha8Rng) -> (Vec<u8>, Vec<u8>, Signer) {
                use $krate::ecdsa::signature::RandomizedSigner;
                let signing = $krate::ecdsa::SigningKey::random(rng);
                let point = $krate::ecdsa::VerifyingKey::from(&signing).to_encoded_point(false);
                let (x, y) = (point.x().unwrap().to_vec(), point.y().unwrap().to_vec());
                let sign = move |rng: &mut ChaCha8Rng, message: &[u8]| {
                    let signature: $krate::ecdsa::Signature = signing.sign_with_rng(rng, message);
                    signature.to_bytes().to_vec()
                };
                (x, y, Box::new(sign))
            }

            fn verifies(x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> bool {
                use $krate::ecdsa::signature::Verifier;
                let Some(key) = Self::key(x, y) else {
                    return false;
                };
                let Ok(signature) = $krate::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                key.verify(message, &signature).is_ok()
            }

            fn accepts_key(x: &[u8], y: &[u8]) -> bool {
                Self::key(x, y).is_some()
            }
        }

        impl $name {
            fn key(x: &[u8], y: &[u8]) -> Option<$krate::ecdsa::VerifyingKey> {
                let mut sec1 = vec![4];
                sec1.extend_from_slice(x);
                sec1.extend_from_slice(y);
                $krate::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).ok()
            }
        }
    };
}

reference!(
    RefP256,
    p256,
    Curve::P256,
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
);
reference!(
    RefP384,
    p384,
    Curve::P384,
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"
);
reference!(
    RefP521,
    p521,
    Curve::P521,
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
);

/// Our verdict and the reference's on one signature must agree; returns the verdict.
fn same_verdict<R: Reference>(
    key: &PublicKey,
    (x, y): (&[u8], &[u8]),
    message: &[u8],
    signature: &[u8],
    case: &str,
) -> Result<(), SignatureError> {
    let ours = key.verify(message, signature);
    let theirs = R::verifies(x, y, message, signature);
    assert_eq!(
        ours.is_ok(),
        theirs,
        "{:?} {case}: ours {ours:?}, reference {theirs}\nx = {x:02x?}\ny = {y:02x?}\nmessage = {message:02x?}\nsignature = {signature:02x?}",
        R::CURVE
    );
    ours
}

fn signatures_agree<R: Reference>(test: u64, keys: usize, messages: usize) {
    let mut rng = rng(test);
    let len = R::CURVE.coordinate_len();
    let n = BigUint::from_bytes_be(&hex(R::N));
    let one = BigUint::from(1u8);
    let mut cases = 0;
    let mut others: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for _ in 0..keys {
        let (x, y, sign) = R::random_key(&mut rng);
        let key = PublicKey::from_coordinates(R::CURVE, &x, &y).unwrap();
        assert_eq!(key.curve(), R::CURVE);
        assert_eq!(key.coordinates(), (x.clone(), y.clone()));
        let xy = (&x[..], &y[..]);
        for _ in 0..messages {
            let mut message = vec![0; (rng.next_u32() % 200) as usize];
            rng.fill_bytes(&mut message);
            let signature = sign(&mut rng, &message);
            assert_eq!(signature.len(), R::CURVE.signature_len());
            assert_eq!(
                same_verdict::<R>(&key, xy, &message, &signature, "valid"),
                Ok(())
            );
            let (r, s) = signature.split_at(len);
            let (r_int, s_int) = (BigUint::from_bytes_be(r), BigUint::from_bytes_be(s));

            // n - s signs the same message (the point -R has the same x).
            let mut high_s = r.to_vec();
            high_s.extend(fixed(&(&n - &s_int), len));
            assert_eq!(
                same_verdict::<R>(&key, xy, &message, &high_s, "n - s"),
                Ok(())
            );

            for _ in 0..4 {
                let mut flipped = signature.clone();
                let bit = rng.next_u32() as usize % (8 * flipped.len());
                flipped[bit / 8] ^= 1 << (bit % 8);
                assert!(same_verdict::<R>(&key, xy, &message, &flipped, "flipped bit").is_err());
            }
            let mut changed = message.clone();
            changed.push(0);
            assert_eq!(
                same_verdict::<R>(&key, xy, &changed, &signature, "other message"),
                Err(SignatureError::Mismatch)
            );
            let mut swapped = s.to_vec();
            swapped.extend_from_slice(r);
            assert!(same_verdict::<R>(&key, xy, &message, &swapped, "r, s swapped").is_err());

            // Out of range: 0, n, n + 1, all ones. In range but wrong: 1, n - 1.
            let all_ones = BigUint::from_bytes_be(&vec![0xff; len]);
            let out_of_range = [BigUint::from(0u8), n.clone(), &n + &one, all_ones];
            for (value, expected) in out_of_range
                .iter()
                .map(|v| (v, false))
                .chain([(&one, true), (&(&n - &one), true)])
            {
                let mut bad_r = fixed(value, len);
                bad_r.extend_from_slice(s);
                let verdict = same_verdict::<R>(&key, xy, &message, &bad_r, "r replaced");
                let expected_error = if expected {
                    SignatureError::Mismatch
                } else {
                    SignatureError::RangeR
                };
                assert_eq!(verdict, Err(expected_error), "r = {value:x}");
                let mut bad_s = r.to_vec();
                bad_s.extend(fixed(value, len));
                let verdict = same_verdict::<R>(&key, xy, &message, &bad_s, "s replaced");
                let expected_error = if expected {
                    SignatureError::Mismatch
                } else {
                    SignatureError::RangeS
                };
                assert_eq!(verdict, Err(expected_error), "s = {value:x}");
            }
            // r and s within range at their edges, with the other one valid: still wrong.
            assert!(r_int < n && s_int < n);

            // A signature by another key of the same curve.
            if let Some((ox, oy)) = others.last() {
                let other = PublicKey::from_coordinates(R::CURVE, ox, oy).unwrap();
                assert_eq!(
                    same_verdict::<R>(&other, (ox, oy), &message, &signature, "other key"),
                    Err(SignatureError::Mismatch)
                );
            }
            // Lengths other than r || s: DER-like, truncated, extended.
            for wrong in [signature.len() - 1, signature.len() + 1, 0, len, 72] {
                let mut resized = signature.clone();
                resized.resize(wrong, 0);
                assert_eq!(
                    key.verify(&message, &resized),
                    Err(SignatureError::Length {
                        curve: R::CURVE,
                        len: wrong
                    })
                );
            }
            cases += 1;
        }
        others.push((x, y));
    }
    println!(
        "{:?}: {keys} keys, {cases} signatures and their corruptions agree with the reference",
        R::CURVE
    );
}

#[test]
fn p256_signatures_agree_with_the_p256_crate() {
    signatures_agree::<RefP256>(256, 12, 8);
}

#[test]
fn p384_signatures_agree_with_the_p384_crate() {
    signatures_agree::<RefP384>(384, 8, 6);
}

#[test]
fn p521_signatures_agree_with_the_p521_crate() {
    signatures_agree::<RefP521>(521, 6, 5);
}

/// Keys at the edges: coordinates p and p - 1, points off the curve, (0, 0), wrong lengths.
fn keys_agree<R: Reference>(test: u64) {
    let mut rng = rng(test);
    let curve = R::CURVE;
    let len = curve.coordinate_len();
    let p = BigUint::from_bytes_be(&hex(R::P));
    let one = BigUint::from(1u8);
    let (x, y, _) = R::random_key(&mut rng);
    let p_bytes = fixed(&p, len);
    let p_minus_one = fixed(&(&p - &one), len);
    let y_plus_p_fits = BigUint::from_bytes_be(&y) + &p < (&one << (8 * len));

    let check = |x: &[u8], y: &[u8], expected: Result<(), KeyError>| {
        let ours = PublicKey::from_coordinates(curve, x, y).map(|_| ());
        assert_eq!(ours, expected, "{curve:?} x = {x:02x?} y = {y:02x?}");
        if x.len() == len && y.len() == len {
            assert_eq!(
                R::accepts_key(x, y),
                expected.is_ok(),
                "reference disagrees"
            );
        }
    };
    check(&x, &y, Ok(()));
    let not_in_field = |coordinate| Err(KeyError::NotInField { curve, coordinate });
    check(&p_bytes, &y, not_in_field(Coordinate::X));
    check(&x, &p_bytes, not_in_field(Coordinate::Y));
    check(&[0xff; 66][..len], &y, not_in_field(Coordinate::X));
    if y_plus_p_fits {
        // y + p is y modulo p: the same point, but not a canonical coordinate.
        let y_plus_p = fixed(&(BigUint::from_bytes_be(&y) + &p), len);
        check(&x, &y_plus_p, not_in_field(Coordinate::Y));
    }
    // p - 1 is in the field; whether (p - 1, y) is on the curve is the reference's to say.
    let off_curve = Err(KeyError::NotOnCurve { curve });
    check(&p_minus_one, &y, off_curve);
    check(&x, &p_minus_one, off_curve);
    let mut y_plus_one = BigUint::from_bytes_be(&y) + &one;
    if y_plus_one == p {
        y_plus_one = BigUint::from(0u8);
    }
    check(&x, &fixed(&y_plus_one, len), off_curve);
    check(&y, &x, off_curve);
    check(&vec![0; len], &vec![0; len], Err(KeyError::Identity));
    check(&vec![0; len], &y, off_curve);
    // -y: the negated point is a key too.
    let minus_y = fixed(&(&p - BigUint::from_bytes_be(&y)), len);
    check(&x, &minus_y, Ok(()));

    let length = |coordinate, got| {
        Err(KeyError::Length {
            curve,
            coordinate,
            len: got,
        })
    };
    let mut longer = vec![0];
    longer.extend_from_slice(&x);
    check(&longer, &y, length(Coordinate::X, len + 1));
    check(&x[1..], &y, length(Coordinate::X, len - 1));
    check(&x, &y[..0], length(Coordinate::Y, 0));
    check(&[], &[], length(Coordinate::X, 0));
}

#[test]
fn p256_keys_at_the_edges_agree_with_the_p256_crate() {
    keys_agree::<RefP256>(2560);
}

#[test]
fn p384_keys_at_the_edges_agree_with_the_p384_crate() {
    keys_agree::<RefP384>(3840);
}

#[test]
fn p521_keys_at_the_edges_agree_with_the_p521_crate() {
    keys_agree::<RefP521>(5210);
}
