//! Every Wycheproof Ed25519 vector (tests/fixtures/wycheproof/, see the README there) through
//! `ed25519::PublicKey`: JOSE's `EdDSA` with `crv: Ed25519` (RFC 8037), RFC 9864's `Ed25519`.
//!
//! Each group's key is read from its hex `pk` and checked against its `publicKeyJwk` (`x`,
//! base64url). `valid` must verify and `invalid` must not; the file has no `acceptable`
//! vectors, and none of its keys is of small order or non-canonical, so no vector is refused
//! by our key policy (`ed25519`'s own tests cover those keys). The invalid vectors include
//! truncated and padded signatures, `S` at or above `L` (`S + L`, `S + 2L`, ...: RFC 8032
//! §5.1.7), `R` with flipped bits and non-canonical or small-order `R`: refused by the
//! cofactorless check on the canonical encoding of `R`, which agrees with every vector here.

mod vectors;

use jwt_authz::crypto::ed25519::{PublicKey, SignatureError};
use jwt_authz::jose::jwt::decode_base64url;
use vectors::{Counts, Expect, hex_field};

#[test]
fn wycheproof_ed25519() {
    let file = "ed25519_test.json";
    let document = vectors::load(file, "EDDSA");
    let (mut out_of_range, mut wrong_length) = (0, 0);
    let counts = vectors::run(file, &document, |group, test, id| {
        assert_eq!(group["type"], "EddsaVerify");
        assert_eq!(group["publicKey"]["curve"], "edwards25519");
        let pk = hex_field(&group["publicKey"], "pk");
        let jwk = &group["publicKeyJwk"];
        assert_eq!(
            (&jwk["kty"], &jwk["crv"]),
            (&"OKP".into(), &"Ed25519".into())
        );
        assert_eq!(decode_base64url(jwk["x"].as_str().unwrap()).unwrap(), pk);
        let key = PublicKey::from_bytes(&pk).unwrap_or_else(|e| panic!("{id}: key {e}"));
        let expect = match test["result"].as_str().unwrap() {
            "valid" => Expect::Accept,
            "invalid" => Expect::Refuse,
            other => panic!("{id}: no decision for result {other:?}"),
        };
        let verified = key.verify(&hex_field(test, "msg"), &hex_field(test, "sig"));
        match verified {
            Err(SignatureError::ScalarOutOfRange) => out_of_range += 1,
            Err(SignatureError::Length) => wrong_length += 1,
            _ => {}
        }
        (expect, verified.map_err(|e| format!("{e:?}")))
    });
    assert_eq!(counts, Counts::new(88, 63, 0));
    // Refused before any arithmetic: 12 signatures not 64 bytes long, and 17 with S >= L: eight
    // "special values for r and s", S + L, S + 2L, S + 4L, S + 8L, S + 2^253, S + 2^254,
    // S + 2^255, S + p, and one S just above L.
    assert_eq!((wrong_length, out_of_range), (12, 17));
}
