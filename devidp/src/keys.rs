//! RSA signing keys: generation, their public JWK/PEM forms, and RS256 signing. (Every
//! algorithm, PS256 with these keys included: [`crate::SigningKey`].)

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::forge;

/// Same size as Auth0's tenant signing keys.
const KEY_BITS: usize = 2048;

/// An RS256 signing key with its key id. Debug output never shows private material.
#[derive(Clone)]
pub struct KeyPair {
    kid: String,
    private: RsaPrivateKey,
    /// PKCS#1 DER of the private key: the form jsonwebtoken's `EncodingKey` takes.
    private_der: Vec<u8>,
    n: BigUint,
    e: BigUint,
    public_pem: String,
}

impl KeyPair {
    /// Generates a fresh RSA-2048 key (e = 65537) published under `kid`.
    pub fn generate(kid: &str) -> Result<KeyPair, String> {
        let private = RsaPrivateKey::new(&mut OsRng, KEY_BITS)
            .map_err(|e| format!("RSA key generation failed: {e}"))?;
        let private_der = private
            .to_pkcs1_der()
            .map_err(|e| format!("cannot encode private key as PKCS#1 DER: {e}"))?
            .as_bytes()
            .to_vec();
        let public = private.to_public_key();
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode public key as PEM: {e}"))?;
        Ok(KeyPair {
            kid: kid.to_owned(),
            n: public.n().clone(),
            e: public.e().clone(),
            private,
            private_der,
            public_pem,
        })
    }

    /// Generates a key whose kid is its RFC 7638 JWK thumbprint, so kids never
    /// repeat across restarts (a cached old key can't be mistaken for a new one).
    pub fn generate_with_thumbprint_kid() -> Result<KeyPair, String> {
        let mut key = KeyPair::generate("")?;
        key.kid = key.thumbprint();
        Ok(key)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The same key under another kid.
    pub(crate) fn with_kid(mut self, kid: &str) -> KeyPair {
        kid.clone_into(&mut self.kid);
        self
    }

    /// `{"kty":"RSA","use":"sig","alg":"RS256","kid","n","e"}`, base64url without padding.
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": self.modulus_b64(),
            "e": self.exponent_b64(),
        })
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    /// Base64url (no padding) of the big-endian modulus: the JWK `n`.
    pub fn modulus_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.n.to_bytes_be())
    }

    /// Base64url (no padding) of the big-endian public exponent: the JWK `e`.
    pub fn exponent_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.e.to_bytes_be())
    }

    /// Signs exactly the given header and payload text with RS256, for tests
    /// that need tokens no well-behaved encoder would produce (other algorithms:
    /// [`crate::SigningKey`] and [`crate::forge`]).
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        forge::forge(header_json, payload_json, forge::Signer::Rs256(self))
    }

    /// The private key, for [`crate::forge`] to sign with other schemes.
    pub(crate) fn private_key(&self) -> &RsaPrivateKey {
        &self.private
    }

    /// Encodes `claims` with jsonwebtoken (an independent encoder) under the header
    /// `{"alg":"RS256","typ":"JWT","kid"}`.
    pub fn mint(&self, claims: &Value) -> Result<String, String> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let key = jsonwebtoken::EncodingKey::from_rsa_der(&self.private_der);
        jsonwebtoken::encode(&header, claims, &key).map_err(|e| format!("cannot sign token: {e}"))
    }

    /// RFC 7638 thumbprint: SHA-256 over the canonical `{"e","kty","n"}` JSON.
    fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            self.exponent_b64(),
            self.modulus_b64()
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use std::sync::OnceLock;

    /// Key generation takes a moment; the tests share one key.
    fn key() -> &'static KeyPair {
        static KEY: OnceLock<KeyPair> = OnceLock::new();
        KEY.get_or_init(|| KeyPair::generate("test-kid").unwrap())
    }

    fn decoding_key_from_jwk(jwk: &Value) -> DecodingKey {
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap()
    }

    fn verify(token: &str) -> jsonwebtoken::TokenData<Value> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(
            token,
            &decoding_key_from_jwk(&key().public_jwk()),
            &validation,
        )
        .unwrap()
    }

    fn decode_segment(segment: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn public_jwk_has_the_auth0_shape() {
        let jwk = key().public_jwk();
        let fields: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields.len(), 6, "{jwk}");
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["kid"], "test-kid");
        assert_eq!(jwk["e"], "AQAB");
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256, "2048-bit modulus without a leading zero byte");
    }

    #[test]
    fn public_key_pem_is_spki() {
        let pem = key().public_key_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        assert!(pem.trim_end().ends_with("-----END PUBLIC KEY-----"));
        let parsed =
            <rsa::RsaPublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_pem(&pem).unwrap();
        assert_eq!(parsed.n(), &key().n);
    }

    #[test]
    fn minted_token_verifies_with_the_public_jwk() {
        let claims = json!({"sub": "someone", "n": 1});
        let token = key().mint(&claims).unwrap();
        let data = verify(&token);
        assert_eq!(data.claims, claims);
        assert_eq!(data.header.kid.as_deref(), Some("test-kid"));
    }

    #[test]
    fn minted_header_is_alg_typ_kid() {
        let token = key().mint(&json!({})).unwrap();
        let header = decode_segment(token.split('.').next().unwrap());
        assert_eq!(
            header,
            json!({"alg": "RS256", "typ": "JWT", "kid": "test-kid"})
        );
    }

    #[test]
    fn sign_raw_keeps_the_exact_bytes_and_verifies() {
        let header = r#"{"alg":"RS256","kid":"test-kid",  "x":1}"#;
        let payload = r#"{"sub":"raw" }"#;
        let token = key().sign_raw(header, payload);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[0]).unwrap(), header.as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD.decode(parts[1]).unwrap(),
            payload.as_bytes()
        );
        assert_eq!(verify(&token).claims, json!({"sub": "raw"}));
    }

    #[test]
    fn tampered_payload_fails_verification() {
        let token = key().sign_raw(r#"{"alg":"RS256"}"#, r#"{"sub":"a"}"#);
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(r#"{"sub":"b"}"#),
            parts[2]
        );
        let validation = {
            let mut v = Validation::new(Algorithm::RS256);
            v.validate_exp = false;
            v.required_spec_claims.clear();
            v
        };
        let decoding_key = decoding_key_from_jwk(&key().public_jwk());
        assert!(jsonwebtoken::decode::<Value>(&forged, &decoding_key, &validation).is_err());
    }

    #[test]
    fn thumbprint_kid_is_stable_for_the_key_and_urlsafe() {
        let kid = key().thumbprint();
        assert_eq!(kid, key().thumbprint());
        assert_eq!(kid.len(), 43, "base64url of 32 bytes");
        assert!(
            kid.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn debug_output_hides_private_material() {
        assert_eq!(format!("{:?}", key()), r#"KeyPair { kid: "test-kid", .. }"#);
    }
}
