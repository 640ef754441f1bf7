//! Signature verification: the only place a key meets a signature.

use crate::crypto::Hash;
use crate::error::AuthError;
use crate::jose::jwks::Key;
use crate::jose::jwt::{Algorithm, Jws};

/// Verifies `jws` with `key`. The key was chosen for the token's algorithm, so an RSA key is
/// never used with anything but an RSA algorithm.
pub fn verify(jws: &Jws, key: &Key) -> Result<(), AuthError> {
    match jws.algorithm {
        Algorithm::RS256 => verify_rs256(jws.signing_input.as_bytes(), &jws.signature, key),
    }
}

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256, see [`crate::crypto::rsa::pkcs1`]) of `signature` over the raw
/// bytes `message`: for a JWS, its signing input.
pub fn verify_rs256(message: &[u8], signature: &[u8], key: &Key) -> Result<(), AuthError> {
    // RFC 8017 §8.2.2: the signature is exactly as long as the modulus; a padded or truncated
    // one is refused instead of normalised.
    if signature.len() != key.modulus_bytes {
        return Err(AuthError::BadSignature);
    }
    key.rs256
        .verify_pkcs1(Hash::Sha256, message, signature)
        .map_err(|_| AuthError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key_for(pair: &devidp::KeyPair) -> Key {
        let parsed =
            crate::jose::jwks::parse(json!({"keys": [pair.public_jwk()]}).to_string().as_bytes());
        parsed
            .unwrap()
            .keys
            .find(Some(pair.kid()), Algorithm::RS256)
            .unwrap()
            .clone()
    }

    #[test]
    fn tokens_verify_only_with_their_own_key_and_signature() {
        let (signer, other) = (
            devidp::KeyPair::generate("a").unwrap(),
            devidp::KeyPair::generate("b").unwrap(),
        );
        let token = signer.mint(&json!({"sub": "x"})).unwrap();
        let jws = crate::jose::jwt::parse(&token, 8192, &[Algorithm::RS256]).unwrap();
        assert_eq!(verify(&jws, &key_for(&signer)), Ok(()));
        assert_eq!(verify(&jws, &key_for(&other)), Err(AuthError::BadSignature));

        let key = key_for(&signer);
        let message = jws.signing_input.as_bytes();
        let mut tampered = message.to_vec();
        tampered[3] ^= 1;
        assert_eq!(
            verify_rs256(&tampered, &jws.signature, &key),
            Err(AuthError::BadSignature)
        );
        let mut padded = vec![0];
        padded.extend_from_slice(&jws.signature);
        assert_eq!(
            verify_rs256(message, &padded, &key),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_rs256(message, &jws.signature[..255], &key),
            Err(AuthError::BadSignature)
        );
    }
}
