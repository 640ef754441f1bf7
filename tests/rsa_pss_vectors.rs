//! Every Wycheproof RSASSA-PSS vector (tests/fixtures/wycheproof/, see the README there)
//! through `rsa::PublicKey::verify_pss`: PS256, PS384 and PS512 as RFC 7518 §3.5 defines them,
//! MGF1 with the message's hash and a salt as long as the hash.
//!
//! Each group's key is built from its hex `publicKey` and checked against its
//! `publicKeyJwk`. `valid` must verify and `invalid` must not (these files have no
//! `acceptable` vectors). A group with another salt length or MGF1 hash would be outside
//! JOSE's profile: its valid vectors would count as refused by policy. Wycheproof's files for
//! PS256/384/512 have none; `verify_pss`'s own tests sign with other salt lengths.

mod vectors;

use jwt_authz::crypto::Hash;
use jwt_authz::crypto::rsa::{PublicKey, SignatureError};
use jwt_authz::jose::jwt::decode_base64url;
use serde_json::Value;
use std::collections::HashMap;
use vectors::{Counts, Expect, hex_field};

/// The salt length JOSE allows for `hash`, as a refusal reason when a group has another.
const OTHER_SALT_LENGTH: &str = "salt length other than the hash length (RFC 7518 §3.5)";

fn hash_named(name: &str) -> Hash {
    match name {
        "SHA-256" => Hash::Sha256,
        "SHA-384" => Hash::Sha384,
        "SHA-512" => Hash::Sha512,
        other => panic!("unexpected hash {other}"),
    }
}

fn group_key(group: &Value) -> PublicKey {
    let key = PublicKey::from_be_bytes(
        &hex_field(&group["publicKey"], "modulus"),
        &hex_field(&group["publicKey"], "publicExponent"),
    )
    .unwrap();
    let jwk = &group["publicKeyJwk"];
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
    let document = vectors::load(file, "RSASSA-PSS");
    let hash = hash_named(sha);
    let mut keys: HashMap<String, PublicKey> = HashMap::new();
    let counts = vectors::run(file, &document, |group, test, id| {
        assert_eq!(group["type"], "RsassaPssVerify");
        assert_eq!(group["sha"], sha);
        assert_eq!(group["mgf"], "MGF1");
        assert_eq!(group["mgfSha"], sha, "{id}: MGF1 with another hash");
        let key = keys
            .entry(group["publicKey"]["modulus"].to_string())
            .or_insert_with(|| group_key(group));
        let in_profile = group["sLen"].as_u64() == Some(hash.output_len() as u64);
        let expect = match test["result"].as_str().unwrap() {
            "valid" if in_profile => Expect::Accept,
            "valid" => Expect::RefuseByPolicy(OTHER_SALT_LENGTH),
            "invalid" => Expect::Refuse,
            other => panic!("{id}: no decision for result {other:?}"),
        };
        let verified = key.verify_pss(hash, &hex_field(test, "msg"), &hex_field(test, "sig"));
        let outcome = match verified {
            Ok(()) => Ok(()),
            // A salt of another length leaves a padding that is not zeros then 0x01.
            Err(SignatureError::Mismatch) if !in_profile => Err(OTHER_SALT_LENGTH.to_string()),
            Err(error) => Err(format!("{error:?}")),
        };
        (expect, outcome)
    });
    assert_eq!(counts, expected, "{file}");
}

#[test]
fn wycheproof_rsa_pss_2048_sha256() {
    run(
        "rsa_pss_2048_sha256_mgf1_32_test.json",
        "SHA-256",
        Counts::new(63, 45, 0),
    );
}

#[test]
fn wycheproof_rsa_pss_3072_sha256() {
    run(
        "rsa_pss_3072_sha256_mgf1_32_test.json",
        "SHA-256",
        Counts::new(63, 45, 0),
    );
}

#[test]
fn wycheproof_rsa_pss_4096_sha256() {
    run(
        "rsa_pss_4096_sha256_mgf1_32_test.json",
        "SHA-256",
        Counts::new(63, 45, 0),
    );
}

#[test]
fn wycheproof_rsa_pss_2048_sha384() {
    run(
        "rsa_pss_2048_sha384_mgf1_48_test.json",
        "SHA-384",
        Counts::new(95, 46, 0),
    );
}

#[test]
fn wycheproof_rsa_pss_4096_sha384() {
    run(
        "rsa_pss_4096_sha384_mgf1_48_test.json",
        "SHA-384",
        Counts::new(95, 46, 0),
    );
}

#[test]
fn wycheproof_rsa_pss_4096_sha512() {
    run(
        "rsa_pss_4096_sha512_mgf1_64_test.json",
        "SHA-512",
        Counts::new(132, 47, 0),
    );
}
