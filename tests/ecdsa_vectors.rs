//! Every Wycheproof ECDSA vector for the JOSE curves, signatures in P1363 form (`r || s`, as
//! JWS carries them): P-256 with SHA-256 (ES256), P-384 with SHA-384 (ES384), P-521 with
//! SHA-512 (ES512). See tests/fixtures/wycheproof/README.md.
//!
//! Each group's key is taken from its hex `publicKey` (`wx`, `wy`: integers, sometimes with a
//! leading zero byte, written here at the curve's exact coordinate length) and checked against
//! its `publicKeyJwk` where the group has one. Each vector's message (raw bytes, hashed by the
//! verification) and signature then go through `PublicKey::verify`.
//!
//! `valid` must verify and `invalid` must not. These files have no `acceptable` vector (a
//! DER-free P1363 encoding leaves nothing to be lenient about); one in a newer fixture fails
//! this test until it comes with a decision here. The counts are pinned.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_authz::crypto::ecdsa::{Curve, PublicKey, SignatureError};
use serde_json::Value;
use std::fs;
use std::path::Path;

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A big-endian integer at exactly `len` bytes.
fn exact(bytes: Vec<u8>, len: usize) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let significant = &bytes[start..];
    assert!(
        significant.len() <= len,
        "coordinate wider than {len} bytes"
    );
    let mut out = vec![0; len - significant.len()];
    out.extend_from_slice(significant);
    out
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

fn run(file: &str, curve: Curve, sha: &str, expected: Counts) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wycheproof")
        .join(file);
    let document: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(document["algorithm"], "ECDSA");
    let len = curve.coordinate_len();
    let mut counts = Counts::default();
    let mut mismatches = Vec::new();
    let mut refusals = std::collections::BTreeMap::<String, usize>::new();
    let groups = document["testGroups"].as_array().unwrap();
    for group in groups {
        assert_eq!(group["type"], "EcdsaP1363Verify");
        assert_eq!(group["sha"], sha);
        let public = &group["publicKey"];
        assert_eq!(public["curve"], file.split('_').nth(1).unwrap());
        let x = exact(hex(public["wx"].as_str().unwrap()), len);
        let y = exact(hex(public["wy"].as_str().unwrap()), len);
        if let Some(jwk) = group.get("publicKeyJwk") {
            assert_eq!(
                Curve::from_jwk_name(jwk["crv"].as_str().unwrap()),
                Some(curve)
            );
            let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap());
            assert_eq!(
                (coordinate("x").unwrap(), coordinate("y").unwrap()),
                (x.clone(), y.clone())
            );
        }
        let key = PublicKey::from_coordinates(curve, &x, &y)
            .unwrap_or_else(|e| panic!("{file}: group key refused: {e}"));

        for test in group["tests"].as_array().unwrap() {
            let id = format!("{file} tcId {}", test["tcId"]);
            let result = test["result"].as_str().unwrap();
            let must_verify = match result {
                "valid" => {
                    counts.valid += 1;
                    true
                }
                "invalid" => {
                    counts.invalid += 1;
                    false
                }
                other => panic!("{id}: no decision for result {other:?}"),
            };
            let message = hex(test["msg"].as_str().unwrap());
            let signature = hex(test["sig"].as_str().unwrap());
            let verdict = key.verify(&message, &signature);
            if verdict.is_ok() != must_verify {
                mismatches.push(format!(
                    "{id} ({result}, {:?}, {}): {verdict:?}",
                    test["flags"], test["comment"]
                ));
            }
            if let Err(error) = verdict {
                let kind = match error {
                    SignatureError::Length { .. } => "length",
                    SignatureError::RangeR => "r out of range",
                    SignatureError::RangeS => "s out of range",
                    SignatureError::Mismatch => "mismatch",
                };
                *refusals.entry(kind.to_string()).or_default() += 1;
            }
        }
    }
    let total = counts.valid + counts.invalid + counts.acceptable;
    println!(
        "{file}: {} groups, {total} vectors, {counts:?}; refusals {refusals:?}",
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
fn wycheproof_ecdsa_p256_sha256_p1363() {
    run(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        Curve::P256,
        "SHA-256",
        Counts {
            valid: 173,
            invalid: 89,
            acceptable: 0,
        },
    );
}

#[test]
fn wycheproof_ecdsa_p384_sha384_p1363() {
    run(
        "ecdsa_secp384r1_sha384_p1363_test.json",
        Curve::P384,
        "SHA-384",
        Counts {
            valid: 193,
            invalid: 87,
            acceptable: 0,
        },
    );
}

#[test]
fn wycheproof_ecdsa_p521_sha512_p1363() {
    run(
        "ecdsa_secp521r1_sha512_p1363_test.json",
        Curve::P521,
        "SHA-512",
        Counts {
            valid: 231,
            invalid: 87,
            acceptable: 0,
        },
    );
}
