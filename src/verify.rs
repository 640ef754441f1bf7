//! Signature verification: the only place a key meets a signature.

use crate::error::AuthError;
use crate::jwks::Key;
use crate::jwt::{Algorithm, Jws};
use rsa::pkcs1v15::Signature;
use rsa::signature::Verifier;

/// Verifies `jws` with `key`. The key was chosen for the token's algorithm, so an RSA key is
/// never used with anything but an RSA algorithm.
pub fn verify(jws: &Jws, key: &Key) -> Result<(), AuthError> {
    match jws.algorithm {
        Algorithm::RS256 => {
            // RFC 8017 §8.2.2: the signature is exactly as long as the modulus; a padded or
            // truncated one is refused instead of normalised.
            if jws.signature.len() != key.modulus_bytes {
                return Err(AuthError::BadSignature);
            }
            let signature = Signature::try_from(jws.signature.as_slice())
                .map_err(|_| AuthError::BadSignature)?;
            key.rs256
                .verify(jws.signing_input.as_bytes(), &signature)
                .map_err(|_| AuthError::BadSignature)
        }
    }
}
