//! Every Wycheproof RSASSA-PKCS1-v1_5 / SHA-256 vector (tests/fixtures/wycheproof/, see the
//! README there) through the filter's RS256 verification.
//!
//! Each group's key goes through the JWKS parser (from the group's `keyJwk`), exactly as a key
//! from an issuer would, and is checked against the key built from the hex `publicKey`
//! (whose modulus has a leading zero byte). Each vector's message (raw bytes, signed as SHA-256
//! of those bytes) and signature then go through `verify::verify_rs256`, the function behind
//! `verify::verify` for a token's signing input, and through `pkcs1::PublicKey::verify_sha256`.
//!
//! `valid` must verify and `invalid` must not. `acceptable` means the standard allows either
//! verdict; our profile is strict and refuses when in doubt:
//! - `MissingNull`: a DigestInfo without the NULL parameters of the SHA-256 AlgorithmIdentifier.
//!   RFC 8017 §9.2 note 1 mentions the form; RFC 7518 producers (every JWT library) use the
//!   DER form with NULL, and accepting a second encoding only widens what a forger can aim at.
//!   Refused.
//! - Any other flag on an `acceptable` vector fails this test: a newer fixture must come with a
//!   decision here.

use jwt_authz::crypto::rsa::pkcs1::PublicKey;
use jwt_authz::jose::jwks;
use jwt_authz::jose::jwt::Algorithm;
use jwt_authz::jose::verify::verify_rs256;
use serde_json::{Value, json};
use std::fs;
use std::path::Path;

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Whether a vector must verify under our strict profile (see the module comment).
fn must_verify(result: &str, flags: &[&str], id: &str) -> bool {
    match (result, flags) {
        ("valid", _) => true,
        ("invalid", _) => false,
        ("acceptable", ["MissingNull"]) => false,
        _ => panic!("{id}: no decision for result {result:?} with flags {flags:?}"),
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

fn run(file: &str, expected: Counts) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wycheproof")
        .join(file);
    let document: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(document["algorithm"], "RSASSA-PKCS1-v1_5");
    let mut counts = Counts::default();
    let mut mismatches = Vec::new();
    let groups = document["testGroups"].as_array().unwrap();
    assert!(!groups.is_empty());
    for group in groups {
        assert_eq!(group["type"], "RsassaPkcs1Verify");
        assert_eq!(group["sha"], "SHA-256");
        let jwk = group["keyJwk"].clone();
        let parsed = jwks::parse(json!({"keys": [jwk]}).to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{file}: group key refused: {e}"));
        assert!(parsed.skipped.is_empty());
        let key = parsed.keys.find(None, Algorithm::RS256).unwrap().clone();
        let public = PublicKey::from_be_bytes(
            &hex(group["publicKey"]["modulus"].as_str().unwrap()),
            &hex(group["publicKey"]["publicExponent"].as_str().unwrap()),
        )
        .unwrap();
        assert_eq!(public, key.rs256, "{file}: JWK and hex key differ");
        let key_size = group["keySize"].as_u64().unwrap() as usize;
        assert_eq!(key.rs256.modulus_bits(), key_size);
        assert_eq!(key.modulus_bytes, key_size / 8);

        for test in group["tests"].as_array().unwrap() {
            let id = format!("{file} tcId {}", test["tcId"]);
            let result = test["result"].as_str().unwrap();
            let flags: Vec<&str> = test["flags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            match result {
                "valid" => counts.valid += 1,
                "invalid" => counts.invalid += 1,
                "acceptable" => counts.acceptable += 1,
                other => panic!("{id}: unknown result {other:?}"),
            }
            let expected = must_verify(result, &flags, &id);
            let message = hex(test["msg"].as_str().unwrap());
            let signature = hex(test["sig"].as_str().unwrap());
            let verified = verify_rs256(&message, &signature, &key).is_ok();
            let direct = public.verify_sha256(&message, &signature).is_ok();
            if verified != expected || direct != expected {
                mismatches.push(format!(
                    "{id} ({result}, {flags:?}, {:?}): verify_rs256 {verified}, pkcs1 {direct}",
                    test["comment"]
                ));
            }
        }
    }
    let total = counts.valid + counts.invalid + counts.acceptable;
    println!(
        "{file}: {} groups, {total} vectors, {counts:?}",
        groups.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(
        total as u64,
        document["numberOfTests"].as_u64().unwrap(),
        "{file}: numberOfTests"
    );
    // The fixtures are pinned: a different count means a different file.
    assert_eq!(counts, expected, "{file}");
}

#[test]
fn wycheproof_rsa_2048_sha256() {
    run(
        "rsa_signature_2048_sha256_test.json",
        Counts {
            valid: 9,
            invalid: 249,
            acceptable: 1,
        },
    );
}

#[test]
fn wycheproof_rsa_3072_sha256() {
    run(
        "rsa_signature_3072_sha256_test.json",
        Counts {
            valid: 8,
            invalid: 250,
            acceptable: 1,
        },
    );
}

#[test]
fn wycheproof_rsa_4096_sha256() {
    run(
        "rsa_signature_4096_sha256_test.json",
        Counts {
            valid: 7,
            invalid: 250,
            acceptable: 1,
        },
    );
}
