//! Every Wycheproof HMAC vector (tests/fixtures/wycheproof/, see the README there) through
//! `hmac::Key`: HS256, HS384 and HS512.
//!
//! Each file has six groups: keys of the hash's output length, shorter, and 65 bytes, each with
//! full-length tags and tags truncated to half. `valid` must verify and `invalid` must not
//! (there are no `acceptable` vectors). Two kinds of valid vectors are outside JOSE's profile
//! and are refused by policy, each with its own error:
//! - a key shorter than the hash output: RFC 7518 §3.2 requires at least the output length
//!   (`Key::new` refuses the secret: `KeyError::TooShort`);
//! - a truncated tag: a JWS signature is the whole HMAC output (`verify` refuses it:
//!   `SignatureError::Length`).
//!
//! A vector with both counts under the key, which is refused first.

mod vectors;

use jwt_authz::crypto::Hash;
use jwt_authz::crypto::hmac::{Key, KeyError, SignatureError};
use vectors::{Counts, Expect, hex_field};

const SHORT_KEY: &str = "key shorter than the hash output (RFC 7518 §3.2)";
const TRUNCATED_TAG: &str = "tag shorter than the hash output (a JWS signature is all of it)";

fn run(file: &str, algorithm: &str, hash: Hash, expected: Counts) {
    let document = vectors::load(file, algorithm);
    let hash_bits = 8 * hash.output_len() as u64;
    let counts = vectors::run(file, &document, |group, test, id| {
        assert_eq!(group["type"], "MacTest");
        let key_bits = group["keySize"].as_u64().unwrap();
        let tag_bits = group["tagSize"].as_u64().unwrap();
        let (secret, message, tag) = (
            hex_field(test, "key"),
            hex_field(test, "msg"),
            hex_field(test, "tag"),
        );
        assert_eq!(8 * secret.len() as u64, key_bits, "{id}");
        assert_eq!(8 * tag.len() as u64, tag_bits, "{id}");
        let policy = if key_bits < hash_bits {
            Some(SHORT_KEY)
        } else if tag_bits < hash_bits {
            Some(TRUNCATED_TAG)
        } else {
            None
        };
        let expect = match (test["result"].as_str().unwrap(), policy) {
            ("valid", None) => Expect::Accept,
            ("valid", Some(reason)) => Expect::RefuseByPolicy(reason),
            ("invalid", _) => Expect::Refuse,
            (other, _) => panic!("{id}: no decision for result {other:?}"),
        };
        let outcome = match Key::new(hash, &secret) {
            Err(KeyError::TooShort { .. }) => Err(SHORT_KEY.to_string()),
            Ok(key) => match key.verify(&message, &tag) {
                Ok(()) => Ok(()),
                Err(SignatureError::Length) => Err(TRUNCATED_TAG.to_string()),
                Err(SignatureError::Mismatch) => Err("mismatch".to_string()),
            },
        };
        (expect, outcome)
    });
    assert_eq!(counts, expected, "{file}");
}

/// Per file: 27 + 27 valid and 54 + 54 invalid vectors with a key of the output length (full
/// and truncated tags), 3 + 3 valid with a shorter key, 3 + 3 valid with a 65-byte key.
fn counts() -> Counts {
    Counts::new(66, 108, 0)
        .with_policy(SHORT_KEY, 6)
        .with_policy(TRUNCATED_TAG, 27 + 3)
}

#[test]
fn wycheproof_hmac_sha256() {
    run(
        "hmac_sha256_test.json",
        "HMACSHA256",
        Hash::Sha256,
        counts(),
    );
}

#[test]
fn wycheproof_hmac_sha384() {
    run(
        "hmac_sha384_test.json",
        "HMACSHA384",
        Hash::Sha384,
        counts(),
    );
}

#[test]
fn wycheproof_hmac_sha512() {
    run(
        "hmac_sha512_test.json",
        "HMACSHA512",
        Hash::Sha512,
        counts(),
    );
}
