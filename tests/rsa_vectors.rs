//! Every Wycheproof RSASSA-PKCS1-v1_5 vector (tests/fixtures/wycheproof/, see the README there)
//! through `rsa::PublicKey::verify_pkcs1`, with SHA-256 (RS256), SHA-384 (RS384) and SHA-512
//! (RS512), for 2048-, 3072- and 4096-bit keys.
//!
//! Each group's key is built from its hex `publicKey` (whose modulus has a leading zero byte)
//! and checked against the group's `keyJwk`. For SHA-256 the JWK also goes through the JWKS
//! parser, exactly as a key from an issuer would, and each vector through
//! `verify::verify_rs256`, the function behind `verify::verify` for a token's signing input.
//! Messages are raw bytes, signed as the hash of those bytes.
//!
//! `valid` must verify and `invalid` must not. `acceptable` means the standard allows either
//! verdict; our profile is strict and refuses when in doubt:
//! - `MissingNull` (one per file): a DigestInfo without the NULL parameters of the hash's
//!   AlgorithmIdentifier. RFC 8017 §9.2 note 1 mentions the form; RFC 7518 producers (every
//!   JWT library) use the DER form with NULL, and accepting a second encoding only widens what
//!   a forger can aim at. Refused.
//! - Any other flag on an `acceptable` vector fails this test: a newer fixture must come with a
//!   decision here.

mod vectors;

use jwt_authz::crypto::Hash;
use jwt_authz::crypto::rsa::PublicKey;
use jwt_authz::jose::jwks::{self, Key};
use jwt_authz::jose::jwt::{Algorithm, decode_base64url};
use jwt_authz::jose::verify::verify_rs256;
use serde_json::{Value, json};
use std::collections::HashMap;
use vectors::{Counts, Expect, hex_field};

/// What our strict profile expects of a vector (see the module comment).
fn expect(test: &Value, id: &str) -> Expect {
    match (test["result"].as_str().unwrap(), &vectors::flags(test)[..]) {
        ("valid", _) => Expect::Accept,
        ("invalid", _) => Expect::Refuse,
        ("acceptable", ["MissingNull"]) => Expect::Refuse,
        (result, flags) => panic!("{id}: no decision for result {result:?} with flags {flags:?}"),
    }
}

fn hash_named(name: &str) -> Hash {
    match name {
        "SHA-256" => Hash::Sha256,
        "SHA-384" => Hash::Sha384,
        "SHA-512" => Hash::Sha512,
        other => panic!("unexpected hash {other}"),
    }
}

/// The group's key from its hex integers, checked against its JWK.
fn group_key(group: &Value, jwk: &Value) -> PublicKey {
    let (n, e) = (
        hex_field(&group["publicKey"], "modulus"),
        hex_field(&group["publicKey"], "publicExponent"),
    );
    let key = PublicKey::from_be_bytes(&n, &e).unwrap();
    let jwk_integer = |name: &str| decode_base64url(jwk[name].as_str().unwrap()).unwrap();
    assert_eq!(
        PublicKey::from_be_bytes(&jwk_integer("n"), &jwk_integer("e")).unwrap(),
        key,
        "JWK and hex key differ"
    );
    assert_eq!(
        key.modulus_bits(),
        group["keySize"].as_u64().unwrap() as usize
    );
    key
}

fn run(file: &str, sha: &str, expected: Counts) {
    let document = vectors::load(file, "RSASSA-PKCS1-v1_5");
    let hash = hash_named(sha);
    // Each group's key, built once: from hex, and for SHA-256 also by the JWKS parser.
    let mut keys: HashMap<String, (PublicKey, Option<Key>)> = HashMap::new();
    let counts = vectors::run(file, &document, |group, test, id| {
        assert_eq!(group["type"], "RsassaPkcs1Verify");
        assert_eq!(group["sha"], sha);
        let jwk = &group["keyJwk"];
        let (key, jwks_key) = keys.entry(jwk["n"].to_string()).or_insert_with(|| {
            let key = group_key(group, jwk);
            let jwks_key = (hash == Hash::Sha256).then(|| {
                let set = jwks::parse(json!({"keys": [jwk]}).to_string().as_bytes())
                    .unwrap_or_else(|e| panic!("{id}: group key refused: {e}"));
                assert!(set.skipped.is_empty());
                let parsed = set.keys.candidates(None, Algorithm::RS256)[0].clone();
                assert_eq!(parsed.rsa(), Some(&key), "{id}: JWKS and hex key differ");
                parsed
            });
            (key, jwks_key)
        });
        let message = hex_field(test, "msg");
        let signature = hex_field(test, "sig");
        let direct = key.verify_pkcs1(hash, &message, &signature);
        if let Some(jwks_key) = jwks_key {
            let through_jose = verify_rs256(&message, &signature, jwks_key);
            assert_eq!(through_jose.is_ok(), direct.is_ok(), "{id}: verify_rs256");
        }
        (expect(test, id), direct.map_err(|e| format!("{e:?}")))
    });
    // The fixtures are pinned: a different count means a different file.
    assert_eq!(counts, expected, "{file}");
}

#[test]
fn wycheproof_rsa_2048_sha256() {
    run(
        "rsa_signature_2048_sha256_test.json",
        "SHA-256",
        Counts::new(9, 249, 1),
    );
}

#[test]
fn wycheproof_rsa_3072_sha256() {
    run(
        "rsa_signature_3072_sha256_test.json",
        "SHA-256",
        Counts::new(8, 250, 1),
    );
}

#[test]
fn wycheproof_rsa_4096_sha256() {
    run(
        "rsa_signature_4096_sha256_test.json",
        "SHA-256",
        Counts::new(7, 250, 1),
    );
}

#[test]
fn wycheproof_rsa_2048_sha384() {
    run(
        "rsa_signature_2048_sha384_test.json",
        "SHA-384",
        Counts::new(7, 250, 1),
    );
}

#[test]
fn wycheproof_rsa_3072_sha384() {
    run(
        "rsa_signature_3072_sha384_test.json",
        "SHA-384",
        Counts::new(7, 251, 1),
    );
}

#[test]
fn wycheproof_rsa_4096_sha384() {
    run(
        "rsa_signature_4096_sha384_test.json",
        "SHA-384",
        Counts::new(7, 251, 1),
    );
}

#[test]
fn wycheproof_rsa_2048_sha512() {
    run(
        "rsa_signature_2048_sha512_test.json",
        "SHA-512",
        Counts::new(8, 250, 1),
    );
}

#[test]
fn wycheproof_rsa_3072_sha512() {
    run(
        "rsa_signature_3072_sha512_test.json",
        "SHA-512",
        Counts::new(8, 251, 1),
    );
}

#[test]
fn wycheproof_rsa_4096_sha512() {
    run(
        "rsa_signature_4096_sha512_test.json",
        "SHA-512",
        Counts::new(7, 251, 1),
    );
}
