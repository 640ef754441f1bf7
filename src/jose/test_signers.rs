//! Tests only: a signing key for every algorithm, from the reference crates (rsa, p256, p384,
//! p521, ed25519-dalek, hmac), with its JWK and tokens signed by it.

use crate::crypto::rsa::key::test_key;
use crate::jose::algorithm::{Algorithm, KeyKind};
use crate::crypto::Hash;
use crate::crypto::ecdsa::Curve;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::{Value, json};

/// A 64-byte HMAC secret: long enough for HS512.
pub const HMAC_SECRET: [u8; 64] = [0x5a; 64];

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The public JWK (for HMAC, the secret) of the test key for `algorithm`'s key kind, with
/// `kid` and no `alg`. The same seeded key every time.
pub fn jwk(kind: KeyKind, kid: &str) -> Value {
    match kind {
        KeyKind::Rsa => {
            let n = &test_key::get().n;
            json!({"kty": "RSA", "kid": kid, "n": b64(n), "e": "AQAB"})
        }
        KeyKind::Ec(curve) => {
            let (x, y) = ec_public(curve);
            json!({"kty": "EC", "kid": kid, "crv": curve.jwk_name(), "x": b64(x), "y": b64(y)})
        }
        KeyKind::Ed25519 => {
            let public = ed25519_key().verifying_key().to_bytes();
            json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(public)})
        }
        KeyKind::Hmac => json!({"kty": "oct", "kid": kid, "k": b64(HMAC_SECRET)}),
    }
}

/// The signature of `message` by `algorithm` with the test key, in JOSE's form.
pub fn sign(algorithm: Algorithm, message: &[u8]) -> Vec<u8> {
    use ::rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
    let private = || test_key::get().private.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    match algorithm {
        Algorithm::RS256 => ::rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private())
            .sign(message)
            .to_vec(),
        Algorithm::RS384 => ::rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(private())
            .sign(message)
            .to_vec(),
        Algorithm::RS512 => ::rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(private())
            .sign(message)
            .to_vec(),
        Algorithm::PS256 => ::rsa::pss::SigningKey::<sha2::Sha256>::new(private())
            .sign_with_rng(&mut rng, message)
            .to_vec(),
        Algorithm::PS384 => ::rsa::pss::SigningKey::<sha2::Sha384>::new(private())
            .sign_with_rng(&mut rng, message)
            .to_vec(),
        Algorithm::PS512 => ::rsa::pss::SigningKey::<sha2::Sha512>::new(private())
            .sign_with_rng(&mut rng, message)
            .to_vec(),
        Algorithm::ES256 => {
            let signature: p256::ecdsa::Signature = p256_key().sign(message);
            signature.to_bytes().to_vec()
        }
        Algorithm::ES384 => {
            let signature: p384::ecdsa::Signature = p384_key().sign(message);
            signature.to_bytes().to_vec()
        }
        Algorithm::ES512 => {
            use p521::ecdsa::signature::RandomizedSigner as _;
            let signature: p521::ecdsa::Signature = p521_key().sign_with_rng(&mut rng, message);
            signature.to_bytes().to_vec()
        }
        Algorithm::EdDSA | Algorithm::Ed25519 => {
            use ed25519_dalek::Signer as _;
            ed25519_key().sign(message).to_bytes().to_vec()
        }
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            use ::hmac::{Hmac, Mac};
            fn tag<M: Mac + hmac::digest::KeyInit>(message: &[u8]) -> Vec<u8> {
                let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(&HMAC_SECRET).unwrap();
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            match algorithm.hash() {
                Hash::Sha256 => tag::<Hmac<sha2::Sha256>>(message),
                Hash::Sha384 => tag::<Hmac<sha2::Sha384>>(message),
                Hash::Sha512 => tag::<Hmac<sha2::Sha512>>(message),
            }
        }
    }
}

/// A compact token with header `{"alg", "kid"}` and `claims`, signed by the test key.
pub fn token(algorithm: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let header = match kid {
        Some(kid) => json!({"alg": algorithm.name(), "kid": kid}),
        None => json!({"alg": algorithm.name()}),
    };
    let signing_input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = sign(algorithm, signing_input.as_bytes());
    format!("{signing_input}.{}", b64(signature))
}

fn ec_public(curve: Curve) -> (Vec<u8>, Vec<u8>) {
    let point = match curve {
        Curve::P256 => p256_key().verifying_key().to_encoded_point(false).as_bytes().to_vec(),
        Curve::P384 => p384_key().verifying_key().to_encoded_point(false).as_bytes().to_vec(),
        Curve::P521 => {
            let key = p521::ecdsa::VerifyingKey::from(&p521_key());
            key.to_encoded_point(false).as_bytes().to_vec()
        }
    };
    // SEC 1 uncompressed: 0x04 || x || y.
    let coordinates = point.get(1..).unwrap_or_default();
    let (x, y) = coordinates.split_at(coordinates.len() / 2);
    (x.to_vec(), y.to_vec())
}

fn p256_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x21; 32]).unwrap()
}

fn p384_key() -> p384::ecdsa::SigningKey {
    p384::ecdsa::SigningKey::from_slice(&[0x22; 48]).unwrap()
}

fn p521_key() -> p521::ecdsa::SigningKey {
    let mut secret = [0x23; 66];
    secret[0] = 0;
    p521::ecdsa::SigningKey::from_slice(&secret).unwrap()
}

fn ed25519_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[0x24; 32])
}
