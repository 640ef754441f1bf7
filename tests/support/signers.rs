//! Tests only: a signing key for every algorithm, from the reference crates (rsa, p256, p384,
//! p521, ed25519-dalek, hmac), with its JWK and tokens signed by it. Seeded: the same keys in
//! every run. Shared by the unit tests (as `jose::test_signers`) and the end-to-end tests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_authz::crypto::Hash;
use jwt_authz::crypto::ecdsa::Curve;
use jwt_authz::jose::algorithm::{Algorithm, KeyKind};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::RsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use std::sync::OnceLock;

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
            let n = rsa_key().n().to_bytes_be();
            json!({"kty": "RSA", "kid": kid, "n": b64(n), "e": "AQAB"})
        }
        KeyKind::Ec(curve) => {
            let (x, y) = ec_public(curve);
            json!({"kty": "EC", "kid": kid, "crv": curve.jwk_name(), "x": b64(x), "y": b64(y)})
        }
        KeyKind::Ed25519 => {
            let public = ed25519_key(Which::Published).verifying_key().to_bytes();
            json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(public)})
        }
        KeyKind::Hmac => json!({"kty": "oct", "kid": kid, "k": b64(HMAC_SECRET)}),
    }
}

/// Which of two test keys of a kind: the one the JWKs publish, or another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Published,
    Other,
}

/// The signature of `message` by `algorithm` with the published test key, in JOSE's form.
pub fn sign(algorithm: Algorithm, message: &[u8]) -> Vec<u8> {
    sign_with(Which::Published, algorithm, message)
}

/// The signature of `message` by `algorithm` with test key `which`, in JOSE's form.
pub fn sign_with(which: Which, algorithm: Algorithm, message: &[u8]) -> Vec<u8> {
    use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
    let private = || rsa_key_of(which).clone();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    match algorithm {
        Algorithm::RS256 => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private())
            .sign(message)
            .to_vec(),
        Algorithm::RS384 => rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(private())
            .sign(message)
            .to_vec(),
        Algorithm::RS512 => rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(private())
            .sign(message)
            .to_vec(),
        Algorithm::PS256 => rsa::pss::SigningKey::<sha2::Sha256>::new(private())
            .sign_with_rng(&mut rng, message)
            .to_vec(),
        Algorithm::PS384 => rsa::pss::SigningKey::<sha2::Sha384>::new(private())
            .sign_with_rng(&mut rng, message)
            .to_vec(),
        Algorithm::PS512 => rsa::pss::SigningKey::<sha2::Sha512>::new(private())
            .sign_with_rng(&mut rng, message)
            .to_vec(),
        Algorithm::ES256 => {
            let signature: p256::ecdsa::Signature = p256_key(which).sign(message);
            signature.to_bytes().to_vec()
        }
        Algorithm::ES384 => {
            let signature: p384::ecdsa::Signature = p384_key(which).sign(message);
            signature.to_bytes().to_vec()
        }
        Algorithm::ES512 => {
            use p521::ecdsa::signature::RandomizedSigner as _;
            let signature: p521::ecdsa::Signature =
                p521_key(which).sign_with_rng(&mut rng, message);
            signature.to_bytes().to_vec()
        }
        Algorithm::EdDSA | Algorithm::Ed25519 => {
            use ed25519_dalek::Signer as _;
            ed25519_key(which).sign(message).to_bytes().to_vec()
        }
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            use ::hmac::{Hmac, Mac};
            let secret = match which {
                Which::Published => HMAC_SECRET,
                Which::Other => [0x6b; 64],
            };
            fn tag<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8]) -> Vec<u8> {
                let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).unwrap();
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            match algorithm.hash() {
                Hash::Sha256 => tag::<Hmac<sha2::Sha256>>(&secret, message),
                Hash::Sha384 => tag::<Hmac<sha2::Sha384>>(&secret, message),
                Hash::Sha512 => tag::<Hmac<sha2::Sha512>>(&secret, message),
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
        Curve::P256 => p256_key(Which::Published)
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::P384 => p384_key(Which::Published)
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::P521 => {
            let key = p521::ecdsa::VerifyingKey::from(&p521_key(Which::Published));
            key.to_encoded_point(false).as_bytes().to_vec()
        }
    };
    // SEC 1 uncompressed: 0x04 || x || y.
    let coordinates = point.get(1..).unwrap_or_default();
    let (x, y) = coordinates.split_at(coordinates.len() / 2);
    (x.to_vec(), y.to_vec())
}

/// The published 2048-bit RSA key, from a seeded generator, made once per process.
pub fn rsa_key() -> &'static RsaPrivateKey {
    rsa_key_of(Which::Published)
}

fn rsa_key_of(which: Which) -> &'static RsaPrivateKey {
    static KEYS: [OnceLock<RsaPrivateKey>; 2] = [OnceLock::new(), OnceLock::new()];
    let (slot, seed) = match which {
        Which::Published => (&KEYS[0], 7),
        Which::Other => (&KEYS[1], 8),
    };
    slot.get_or_init(|| RsaPrivateKey::new(&mut ChaCha8Rng::seed_from_u64(seed), 2048).unwrap())
}

/// The secret scalar's repeated byte: distinct per curve and per key.
fn secret_byte(base: u8, which: Which) -> u8 {
    match which {
        Which::Published => base,
        Which::Other => base + 0x10,
    }
}

fn p256_key(which: Which) -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[secret_byte(0x21, which); 32]).unwrap()
}

fn p384_key(which: Which) -> p384::ecdsa::SigningKey {
    p384::ecdsa::SigningKey::from_slice(&[secret_byte(0x22, which); 48]).unwrap()
}

fn p521_key(which: Which) -> p521::ecdsa::SigningKey {
    let mut secret = [secret_byte(0x23, which); 66];
    secret[0] = 0;
    p521::ecdsa::SigningKey::from_slice(&secret).unwrap()
}

fn ed25519_key(which: Which) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[secret_byte(0x24, which); 32])
}
