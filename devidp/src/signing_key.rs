//! A signing key of any [`SigningAlgorithm`]: generation, its public JWK, and JOSE signatures
//! in their exact formats (ECDSA as fixed-length `r || s`, PSS with a salt as long as the hash,
//! Ed25519 per RFC 8032).

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rsa::rand_core::{OsRng, RngCore};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
use rsa::{pkcs1v15, pss};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::algorithm::SigningAlgorithm;
use crate::keys::KeyPair;

/// RFC 7518 §3.2: an HMAC key at least as long as the hash (32 bytes for HS256).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// A key with its id and the one algorithm it signs with. Debug output never shows private
/// material.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    algorithm: SigningAlgorithm,
    material: Material,
}

#[derive(Clone)]
enum Material {
    Rsa(Arc<KeyPair>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
    Hmac(Vec<u8>),
}

impl SigningKey {
    /// A fresh key for `algorithm` under `kid`: RSA-2048 (e = 65537) for RS256 and PS256, a
    /// random scalar on the curve for ES*, a random seed for EdDSA, 32 random bytes for HS256.
    pub fn generate(algorithm: SigningAlgorithm, kid: &str) -> Result<SigningKey, String> {
        let material = match algorithm {
            SigningAlgorithm::Rs256 | SigningAlgorithm::Ps256 => {
                Material::Rsa(Arc::new(KeyPair::generate(kid)?))
            }
            SigningAlgorithm::Es256 => Material::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            SigningAlgorithm::Es384 => Material::P384(p384::ecdsa::SigningKey::random(&mut OsRng)),
            SigningAlgorithm::Es512 => Material::P521(p521::ecdsa::SigningKey::random(&mut OsRng)),
            SigningAlgorithm::EdDsa => {
                let mut seed = [0u8; 32];
                OsRng.fill_bytes(&mut seed);
                Material::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            SigningAlgorithm::Hs256 => {
                let mut secret = vec![0u8; MIN_HMAC_SECRET_BYTES];
                OsRng.fill_bytes(&mut secret);
                Material::Hmac(secret)
            }
        };
        Ok(SigningKey {
            kid: kid.to_owned(),
            algorithm,
            material,
        })
    }

    /// A fresh asymmetric key whose kid is its RFC 7638 JWK thumbprint, so kids never repeat
    /// across restarts; an HS256 key (which has no public form) gets no kid.
    pub fn generate_with_thumbprint_kid(algorithm: SigningAlgorithm) -> Result<SigningKey, String> {
        let mut key = SigningKey::generate(algorithm, "")?;
        if let Some(thumbprint) = key.thumbprint() {
            key = key.with_kid(&thumbprint);
        }
        Ok(key)
    }

    /// An RSA key signing with RS256 or PS256; its kid is the key pair's.
    pub fn from_rsa(key: Arc<KeyPair>, algorithm: SigningAlgorithm) -> Result<SigningKey, String> {
        match algorithm {
            SigningAlgorithm::Rs256 | SigningAlgorithm::Ps256 => Ok(SigningKey {
                kid: key.kid().to_owned(),
                algorithm,
                material: Material::Rsa(key),
            }),
            other => Err(format!("an RSA key cannot sign {other}")),
        }
    }

    /// An HS256 key from a shared secret of at least [`MIN_HMAC_SECRET_BYTES`]; an empty `kid`
    /// leaves the `kid` header out, as Auth0's HS256 tokens do.
    pub fn hmac(kid: &str, secret: &[u8]) -> Result<SigningKey, String> {
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(format!(
                "an HS256 secret of {} bytes is too short: at least {MIN_HMAC_SECRET_BYTES} are needed",
                secret.len()
            ));
        }
        Ok(SigningKey {
            kid: kid.to_owned(),
            algorithm: SigningAlgorithm::Hs256,
            material: Material::Hmac(secret.to_vec()),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The RSA key pair behind an RS256 or PS256 key.
    pub fn key_pair(&self) -> Option<&Arc<KeyPair>> {
        match &self.material {
            Material::Rsa(key) => Some(key),
            _ => None,
        }
    }

    /// The key as a JWKS publishes it, with `kty`, `use`, `alg` and `kid`: RSA `n`/`e`, EC
    /// `crv`/`x`/`y` (each coordinate as long as the field), OKP Ed25519 `crv`/`x`. `None` for
    /// an HMAC secret, which is never published.
    pub fn public_jwk(&self) -> Option<Value> {
        let mut jwk = self.public_members()?;
        let members = jwk.as_object_mut()?;
        members.insert("use".into(), json!("sig"));
        members.insert("alg".into(), json!(self.algorithm.name()));
        members.insert("kid".into(), json!(self.kid));
        Some(jwk)
    }

    /// An HMAC key as a local JWKS holds it (`kty` `oct`, `k` base64url of the secret), for a
    /// verifier configured with the shared secret; `None` for asymmetric keys.
    pub fn secret_jwk(&self) -> Option<Value> {
        let Material::Hmac(secret) = &self.material else {
            return None;
        };
        let mut jwk = json!({"kty": "oct", "alg": self.algorithm.name(), "k": b64(secret)});
        if !self.kid.is_empty() {
            jwk["kid"] = json!(self.kid);
        }
        Some(jwk)
    }

    /// The signature over `signing_input` in its JOSE form.
    pub fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        match &self.material {
            // Signing with our own valid keys has no failure mode, hence the infallible
            // `Signer::sign` of each crate.
            Material::Rsa(key) if self.algorithm == SigningAlgorithm::Ps256 => {
                // `new` takes a salt as long as the hash, as RFC 7518 §3.5 requires.
                pss::SigningKey::<Sha256>::new(key.private_key().clone())
                    .sign_with_rng(&mut OsRng, signing_input)
                    .to_vec()
            }
            Material::Rsa(key) => pkcs1v15::SigningKey::<Sha256>::new(key.private_key().clone())
                .sign(signing_input)
                .to_vec(),
            Material::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(signing_input);
                signature.to_bytes().to_vec()
            }
            Material::P384(key) => {
                let signature: p384::ecdsa::Signature = key.sign(signing_input);
                signature.to_bytes().to_vec()
            }
            Material::P521(key) => {
                let signature: p521::ecdsa::Signature =
                    key.sign_with_rng(&mut OsRng, signing_input);
                signature.to_bytes().to_vec()
            }
            Material::Ed25519(key) => key.sign(signing_input).to_bytes().to_vec(),
            Material::Hmac(secret) => {
                // HMAC takes keys of any length, so `new_from_slice` cannot fail.
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                    unreachable!("HMAC accepts any key length")
                };
                mac.update(signing_input);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// An ECDSA signature in ASN.1 DER instead of JOSE's `r || s`, which verifiers must refuse;
    /// `None` for keys that are not ECDSA.
    pub fn sign_der(&self, signing_input: &[u8]) -> Option<Vec<u8>> {
        match &self.material {
            Material::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(signing_input);
                Some(signature.to_der().as_bytes().to_vec())
            }
            Material::P384(key) => {
                let signature: p384::ecdsa::Signature = key.sign(signing_input);
                Some(signature.to_der().as_bytes().to_vec())
            }
            Material::P521(key) => {
                let signature: p521::ecdsa::Signature =
                    key.sign_with_rng(&mut OsRng, signing_input);
                Some(signature.to_der().as_bytes().to_vec())
            }
            _ => None,
        }
    }

    /// Signs exactly the given header and payload text, for tests that need tokens no
    /// well-behaved encoder would produce.
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        let signing_input = format!("{}.{}", b64(header_json), b64(payload_json));
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(signature))
    }

    /// A compact JWS of `claims` under the header `{"alg","typ":"JWT","kid"}` (no `kid` when
    /// the key has none).
    pub fn mint(&self, claims: &Value) -> Result<String, String> {
        let mut header = json!({"alg": self.algorithm.name(), "typ": "JWT"});
        if !self.kid.is_empty() {
            header["kid"] = json!(self.kid);
        }
        let payload =
            serde_json::to_string(claims).map_err(|e| format!("cannot encode claims: {e}"))?;
        Ok(self.sign_raw(&header.to_string(), &payload))
    }

    fn with_kid(self, kid: &str) -> SigningKey {
        let material = match self.material {
            // The key pair carries its own kid, which must stay the same as ours.
            Material::Rsa(key) => Material::Rsa(Arc::new(key.as_ref().clone().with_kid(kid))),
            other => other,
        };
        SigningKey {
            kid: kid.to_owned(),
            algorithm: self.algorithm,
            material,
        }
    }

    /// `kty` and the public key's members, without `use`, `alg` or `kid`.
    fn public_members(&self) -> Option<Value> {
        let ec = |crv: &str, point: &[u8]| {
            // Uncompressed SEC1: 0x04 || x || y, each coordinate as long as the field.
            let coordinates = &point[1..];
            let (x, y) = coordinates.split_at(coordinates.len() / 2);
            json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y)})
        };
        Some(match &self.material {
            Material::Rsa(key) => {
                json!({"kty": "RSA", "n": key.modulus_b64(), "e": key.exponent_b64()})
            }
            Material::P256(key) => ec(
                "P-256",
                key.verifying_key().to_encoded_point(false).as_bytes(),
            ),
            Material::P384(key) => ec(
                "P-384",
                key.verifying_key().to_encoded_point(false).as_bytes(),
            ),
            Material::P521(key) => ec(
                "P-521",
                p521::ecdsa::VerifyingKey::from(key)
                    .to_encoded_point(false)
                    .as_bytes(),
            ),
            Material::Ed25519(key) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(key.verifying_key().as_bytes())})
            }
            Material::Hmac(_) => return None,
        })
    }

    /// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, without
    /// whitespace. `None` for HMAC keys.
    fn thumbprint(&self) -> Option<String> {
        let jwk = self.public_members()?;
        let text = |name: &str| jwk[name].as_str().unwrap_or_default().to_owned();
        let canonical = match text("kty").as_str() {
            "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, text("e"), text("n")),
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                text("crv"),
                text("x"),
                text("y")
            ),
            _ => format!(
                r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
                text("crv"),
                text("x")
            ),
        };
        Some(b64(Sha256::digest(canonical.as_bytes())))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::independent_verifier;
    use rsa::signature::Verifier;
    use std::collections::HashMap;
    use std::sync::OnceLock;

    /// One key per algorithm, shared by the tests (RSA keys take a moment).
    fn key(algorithm: SigningAlgorithm) -> &'static SigningKey {
        static KEYS: OnceLock<HashMap<SigningAlgorithm, SigningKey>> = OnceLock::new();
        &KEYS.get_or_init(|| {
            SigningAlgorithm::ALL
                .into_iter()
                .map(|a| (a, SigningKey::generate(a, &format!("kid-{a}")).unwrap()))
                .collect()
        })[&algorithm]
    }

    fn decode(segment: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(segment).unwrap()
    }

    /// The claims, if jsonwebtoken or p521 accepts the token with the served JWK (or the
    /// secret JWK for HS256).
    fn verify(key: &SigningKey, token: &str) -> Result<Value, String> {
        let jwk = key.public_jwk().or_else(|| key.secret_jwk()).unwrap();
        independent_verifier::verify(&jwk, key.algorithm().name(), token)
    }

    #[test]
    fn every_algorithm_mints_tokens_an_independent_verifier_accepts() {
        let claims = json!({"sub": "someone", "n": 1});
        for algorithm in SigningAlgorithm::ALL {
            let key = key(algorithm);
            let token = key.mint(&claims).unwrap();
            let header: Value =
                serde_json::from_slice(&decode(token.split('.').next().unwrap())).unwrap();
            assert_eq!(
                header,
                json!({"alg": algorithm.name(), "typ": "JWT", "kid": format!("kid-{algorithm}")})
            );
            assert_eq!(verify(key, &token), Ok(claims.clone()), "{algorithm}");
        }
    }

    #[test]
    fn the_independent_verifiers_refuse_a_changed_token() {
        for algorithm in SigningAlgorithm::ALL {
            let key = key(algorithm);
            let token = key.sign_raw(&format!(r#"{{"alg":"{algorithm}"}}"#), r#"{"sub":"a"}"#);
            let (input, signature) = token.rsplit_once('.').unwrap();
            let other_payload = crate::forge::b64(r#"{"sub":"b"}"#);
            let header = input.split('.').next().unwrap();
            let changed = format!("{header}.{other_payload}.{signature}");
            assert!(verify(key, &token).is_ok(), "{algorithm}");
            assert!(verify(key, &changed).is_err(), "{algorithm}");
        }
    }

    #[test]
    fn signatures_have_their_jose_lengths() {
        let lengths = [
            (SigningAlgorithm::Rs256, 256),
            (SigningAlgorithm::Ps256, 256),
            (SigningAlgorithm::Es256, 64),
            (SigningAlgorithm::Es384, 96),
            (SigningAlgorithm::Es512, 132),
            (SigningAlgorithm::EdDsa, 64),
            (SigningAlgorithm::Hs256, 32),
        ];
        for (algorithm, length) in lengths {
            assert_eq!(key(algorithm).sign(b"input").len(), length, "{algorithm}");
        }
    }

    #[test]
    fn public_jwks_have_each_key_type_s_members_at_fixed_lengths() {
        let expected = [
            (SigningAlgorithm::Rs256, "RSA", None, &["n", "e"][..], 0),
            (SigningAlgorithm::Ps256, "RSA", None, &["n", "e"][..], 0),
            (
                SigningAlgorithm::Es256,
                "EC",
                Some("P-256"),
                &["x", "y"][..],
                32,
            ),
            (
                SigningAlgorithm::Es384,
                "EC",
                Some("P-384"),
                &["x", "y"][..],
                48,
            ),
            (
                SigningAlgorithm::Es512,
                "EC",
                Some("P-521"),
                &["x", "y"][..],
                66,
            ),
            (
                SigningAlgorithm::EdDsa,
                "OKP",
                Some("Ed25519"),
                &["x"][..],
                32,
            ),
        ];
        for (algorithm, kty, crv, members, length) in expected {
            let jwk = key(algorithm).public_jwk().unwrap();
            let mut names: Vec<&str> = jwk
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            names.sort_unstable();
            let mut want = vec!["kty", "use", "alg", "kid"];
            want.extend(members);
            want.extend(crv.map(|_| "crv"));
            want.sort_unstable();
            assert_eq!(names, want, "{jwk}");
            assert_eq!(jwk["kty"], kty);
            assert_eq!(jwk["alg"], algorithm.name());
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["kid"], format!("kid-{algorithm}"));
            if let Some(crv) = crv {
                assert_eq!(jwk["crv"], crv);
                for member in members {
                    let bytes = decode(jwk[*member].as_str().unwrap());
                    assert_eq!(bytes.len(), length, "{algorithm} {member}");
                }
            }
        }
    }

    #[test]
    fn an_hmac_secret_is_never_a_public_jwk() {
        let key = key(SigningAlgorithm::Hs256);
        assert_eq!(key.public_jwk(), None);
        let jwk = key.secret_jwk().unwrap();
        assert_eq!(jwk["kty"], "oct");
        assert_eq!(decode(jwk["k"].as_str().unwrap()).len(), 32);
        assert_eq!(self::key(SigningAlgorithm::Es256).secret_jwk(), None);
    }

    #[test]
    fn hmac_secrets_shorter_than_the_hash_are_refused() {
        assert_eq!(
            SigningKey::hmac("", &[7; 31]).unwrap_err(),
            "an HS256 secret of 31 bytes is too short: at least 32 are needed"
        );
        let key = SigningKey::hmac("", &[7; 32]).unwrap();
        let header: Value = serde_json::from_slice(&decode(
            key.mint(&json!({})).unwrap().split('.').next().unwrap(),
        ))
        .unwrap();
        assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}), "no kid");
    }

    #[test]
    fn pss_salt_is_as_long_as_the_hash() {
        // The rsa crate's verifier with an explicit 32-byte salt accepts it; one expecting a
        // 20-byte salt (the PSS default elsewhere) refuses it.
        let key = key(SigningAlgorithm::Ps256);
        let public = key.key_pair().unwrap().private_key().to_public_key();
        let signature = pss::Signature::try_from(&key.sign(b"input")[..]).unwrap();
        let with_salt = |salt| pss::VerifyingKey::<Sha256>::new_with_salt_len(public.clone(), salt);
        assert!(with_salt(32).verify(b"input", &signature).is_ok());
        assert!(with_salt(20).verify(b"input", &signature).is_err());
    }

    #[test]
    fn ed25519_matches_rfc_8032_test_1() {
        let seed: [u8; 32] =
            hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .try_into()
                .unwrap();
        let key = SigningKey {
            kid: String::new(),
            algorithm: SigningAlgorithm::EdDsa,
            material: Material::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)),
        };
        assert_eq!(
            decode(key.public_jwk().unwrap()["x"].as_str().unwrap()),
            hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
        assert_eq!(
            key.sign(b""),
            hex(concat!(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
                "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            ))
        );
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn der_signatures_are_not_jose_signatures() {
        let key = key(SigningAlgorithm::Es256);
        let der = key.sign_der(b"input").unwrap();
        assert_eq!(der[0], 0x30, "an ASN.1 SEQUENCE");
        let signature = p256::ecdsa::Signature::from_der(&der).unwrap();
        let verifying_key = key_p256(key).verifying_key().to_owned();
        assert!(verifying_key.verify(b"input", &signature).is_ok());
        assert_eq!(self::key(SigningAlgorithm::Rs256).sign_der(b"input"), None);
    }

    fn key_p256(key: &SigningKey) -> &p256::ecdsa::SigningKey {
        match &key.material {
            Material::P256(key) => key,
            _ => panic!("not a P-256 key"),
        }
    }

    #[test]
    fn thumbprint_kids_are_urlsafe_and_follow_rfc_7638() {
        for algorithm in SigningAlgorithm::ALL {
            let key = SigningKey::generate_with_thumbprint_kid(algorithm).unwrap();
            if algorithm.is_symmetric() {
                assert_eq!(key.kid(), "");
                continue;
            }
            assert_eq!(key.kid().len(), 43, "{algorithm}: base64url of 32 bytes");
            assert_eq!(key.public_jwk().unwrap()["kid"], key.kid());
            if let Some(pair) = key.key_pair() {
                assert_eq!(pair.kid(), key.kid(), "the key pair's kid follows");
            }
        }
        // RFC 7638 §3.1's example key and thumbprint.
        let rsa_example = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let canonical = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{rsa_example}"}}"#);
        assert_eq!(
            b64(Sha256::digest(canonical.as_bytes())),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn an_rsa_key_signs_only_rsa_algorithms() {
        let pair = Arc::clone(key(SigningAlgorithm::Rs256).key_pair().unwrap());
        let ps = SigningKey::from_rsa(Arc::clone(&pair), SigningAlgorithm::Ps256).unwrap();
        assert_eq!(
            (ps.kid(), ps.algorithm()),
            ("kid-RS256", SigningAlgorithm::Ps256)
        );
        assert_eq!(
            SigningKey::from_rsa(pair, SigningAlgorithm::Es256).unwrap_err(),
            "an RSA key cannot sign ES256"
        );
    }

    #[test]
    fn debug_output_hides_private_material() {
        assert_eq!(
            format!("{:?}", key(SigningAlgorithm::Hs256)),
            r#"SigningKey { kid: "kid-HS256", algorithm: Hs256, .. }"#
        );
    }
}
