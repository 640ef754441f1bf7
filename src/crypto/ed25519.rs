//! Ed25519 signature verification (RFC 8032 §5.1.7): JOSE's `EdDSA` with `crv: Ed25519`
//! (RFC 8037) and RFC 9864's `Ed25519`, on ed25519-dalek's `verify_strict`.
//!
//! The rules, stricter than RFC 8032 where it leaves room, the same as Wycheproof's
//! expectations:
//! - a public key is exactly 32 bytes, the canonical encoding of a curve point (`y < p`, and
//!   not `x = 0` with the sign bit set: RFC 8032 §5.1.3), and not of small order. A point of
//!   order 1, 2, 4 or 8 is no one's key (a secret scalar times the base point never is one)
//!   and, with it, signatures can be made without any secret: such a key is refused when it
//!   is read, rather than failing every signature later.
//! - a signature is exactly 64 bytes, `R || S`, with `S < L` (no malleability, §5.1.7 step 1);
//! - verification is cofactorless, `[S]B = R + [k]A`, compared on the canonical encoding of
//!   `R` (so a non-canonical `R` never matches), and a small-order `R` is refused. RFC 8032
//!   allows the cofactored check as well; every signature an RFC 8032 signer makes passes
//!   both, and only crafted ones with small-order components tell them apart.

use ed25519_dalek::{Signature, VerifyingKey};
use std::fmt;

/// Bytes of an encoded public key (RFC 8032 §5.1.5).
pub const PUBLIC_KEY_LEN: usize = 32;
/// Bytes of a signature, `R || S` (RFC 8032 §5.1.6).
pub const SIGNATURE_LEN: usize = 64;

/// `L`, the order of the base point, little-endian (RFC 8032 §5.1).
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// An Ed25519 public key, its point decoded once (a copy is cheap: no heap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
}

/// Why 32 bytes are not an Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Not 32 bytes.
    Length(usize),
    /// No point of the curve has this `y`.
    NotAPoint,
    /// `y` is not below `p`, or `x = 0` with the sign bit set (RFC 8032 §5.1.3 steps 1 and 4):
    /// not the one encoding of a point.
    NotCanonical,
    /// A point of order 1, 2, 4 or 8.
    SmallOrder,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length(len) => write!(f, "Ed25519 public key of {len} bytes, not 32"),
            Self::NotAPoint => f.write_str("Ed25519 public key is not a point of the curve"),
            Self::NotCanonical => f.write_str("Ed25519 public key is not canonically encoded"),
            Self::SmallOrder => f.write_str("Ed25519 public key is a point of small order"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// Not 64 bytes.
    Length,
    /// `S` is not below `L` (RFC 8032 §5.1.7 step 1).
    ScalarOutOfRange,
    /// `R` does not decode to a point of large order, or the equation does not hold.
    Mismatch,
}

impl PublicKey {
    /// The key encoded as `x` (RFC 8037 §2: the 32 bytes of RFC 8032's encoding).
    pub fn from_bytes(x: &[u8]) -> Result<PublicKey, KeyError> {
        let bytes: &[u8; PUBLIC_KEY_LEN] = x.try_into().map_err(|_| KeyError::Length(x.len()))?;
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotAPoint)?;
        // The decoder reduces y mod p and accepts x = 0 with the sign bit set; the point's own
        // encoding differs from the input exactly when the input is one of those.
        if key.to_edwards().compress().as_bytes() != bytes {
            return Err(KeyError::NotCanonical);
        }
        if key.is_weak() {
            return Err(KeyError::SmallOrder);
        }
        Ok(PublicKey { key })
    }

    /// The key's canonical encoding.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        self.key.as_bytes()
    }

    /// Verifies an Ed25519 `signature` (`R || S`) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let bytes: &[u8; SIGNATURE_LEN] =
            signature.try_into().map_err(|_| SignatureError::Length)?;
        let s = bytes.last_chunk::<32>().ok_or(SignatureError::Length)?;
        if !less_than_order(s) {
            return Err(SignatureError::ScalarOutOfRange);
        }
        self.key
            .verify_strict(message, &Signature::from_bytes(bytes))
            .map_err(|_| SignatureError::Mismatch)
    }

    /// Bytes this key occupies (nothing on the heap).
    pub fn memory_bytes(&self) -> usize {
        size_of::<PublicKey>()
    }
}

/// `s < L` for a little-endian `s`.
fn less_than_order(s: &[u8; 32]) -> bool {
    for (byte, order) in s.iter().rev().zip(ORDER.iter().rev()) {
        if byte != order {
            return byte < order;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn public(seed: u8) -> PublicKey {
        PublicKey::from_bytes(signing_key(seed).verifying_key().as_bytes()).unwrap()
    }

    /// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte).
    #[test]
    fn rfc_8032_test_vectors_verify() {
        let vectors = [
            (
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                 5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
                 085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
        ];
        for (key, message, signature) in vectors {
            let key = PublicKey::from_bytes(&hex(key)).unwrap();
            assert_eq!(key.verify(&hex(message), &hex(signature)), Ok(()));
            assert_eq!(
                key.verify(b"x", &hex(signature)),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn a_real_signature_verifies_and_a_modified_one_does_not() {
        let signer = signing_key(1);
        let key = public(1);
        let signature = signer.sign(b"header.payload").to_bytes();
        assert_eq!(key.verify(b"header.payload", &signature), Ok(()));
        assert_eq!(
            key.verify(b"header.payloae", &signature),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            public(2).verify(b"header.payload", &signature),
            Err(SignatureError::Mismatch)
        );
        // Every bit of R and of S below its top bits.
        for bit in 0..8 * SIGNATURE_LEN {
            let mut flipped = signature;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                key.verify(b"header.payload", &flipped).is_err(),
                "bit {bit}"
            );
        }
    }

    #[test]
    fn a_signature_is_exactly_64_bytes() {
        let key = public(1);
        let signature = signing_key(1).sign(b"m").to_bytes();
        for wrong in [&signature[..63], &[0; 65], &[], &signature[..32]] {
            assert_eq!(key.verify(b"m", wrong), Err(SignatureError::Length));
        }
        let longer = [&signature[..], &[0]].concat();
        assert_eq!(key.verify(b"m", &longer), Err(SignatureError::Length));
    }

    /// RFC 8032 §5.1.7: S + L is the same scalar mod L, but not the signature.
    #[test]
    fn s_must_be_below_the_group_order() {
        let key = public(3);
        let signature = signing_key(3).sign(b"m").to_bytes();
        let mut s_plus_l = signature;
        let mut carry = 0u16;
        for (byte, order) in s_plus_l[32..].iter_mut().zip(ORDER) {
            let sum = u16::from(*byte) + u16::from(order) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0, "S + L fits in 253 bits");
        assert_eq!(
            key.verify(b"m", &s_plus_l),
            Err(SignatureError::ScalarOutOfRange)
        );
        assert!(less_than_order(&{
            let mut below = ORDER;
            below[0] -= 1;
            below
        }));
        assert!(!less_than_order(&ORDER));
        assert!(!less_than_order(&[0xff; 32]));
        assert!(less_than_order(&[0; 32]));
    }

    /// The eight points of order 1, 2, 4 and 8, canonically encoded.
    const SMALL_ORDER: [&str; 8] = [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    ];

    #[test]
    fn small_order_keys_are_refused() {
        for encoded in SMALL_ORDER {
            assert_eq!(
                PublicKey::from_bytes(&hex(encoded)),
                Err(KeyError::SmallOrder),
                "{encoded}"
            );
        }
    }

    /// With a small-order key, (R = identity, S = 0) satisfies the cofactored equation for any
    /// message, and the cofactorless one for every message whose k makes [k]A the identity:
    /// why such keys are refused up front.
    #[test]
    fn small_order_r_is_refused() {
        let key = public(4);
        for encoded in SMALL_ORDER {
            let signature = [hex(encoded), vec![0; 32]].concat();
            assert_eq!(
                key.verify(b"m", &signature),
                Err(SignatureError::Mismatch),
                "{encoded}"
            );
        }
    }

    #[test]
    fn key_encodings_must_be_canonical_points() {
        for len in [0, 31, 33, 64] {
            assert_eq!(
                PublicKey::from_bytes(&vec![1; len]),
                Err(KeyError::Length(len))
            );
        }
        // x = 0 with the sign bit set: the identity's y with a "negative zero" x.
        let mut negative_zero = hex(SMALL_ORDER[0]);
        negative_zero[31] |= 0x80;
        assert_eq!(
            PublicKey::from_bytes(&negative_zero),
            Err(KeyError::NotCanonical)
        );
        // y = p + k for k = 0..18: not canonical, whatever point y = k would be. At least one
        // of them reduces to a point of large order, which a lenient decoder would take.
        let mut large_order = 0;
        for k in 0u8..19 {
            let mut encoded = [0xff; 32];
            encoded[0] = 0xed + k;
            encoded[31] = 0x7f;
            let mut reduced = [0u8; 32];
            reduced[0] = k;
            match PublicKey::from_bytes(&reduced) {
                Ok(_) => {
                    large_order += 1;
                    assert_eq!(
                        PublicKey::from_bytes(&encoded),
                        Err(KeyError::NotCanonical),
                        "y = p + {k}"
                    );
                }
                Err(error) => assert!(PublicKey::from_bytes(&encoded).is_err(), "{error:?}"),
            }
        }
        assert!(large_order > 0);
        // y = 2 is on no point of the curve (x^2 would be a non-square).
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(
            PublicKey::from_bytes(&not_a_point),
            Err(KeyError::NotAPoint)
        );
        assert_eq!(
            KeyError::SmallOrder.to_string(),
            "Ed25519 public key is a point of small order"
        );
    }

    #[test]
    fn keys_are_small_and_keep_their_encoding() {
        let key = public(5);
        assert_eq!(key.as_bytes(), signing_key(5).verifying_key().as_bytes());
        let copy = key;
        assert_eq!(copy, key);
        assert!(key.memory_bytes() <= 256, "{}", key.memory_bytes());
    }
}
