//! The algorithm workloads' keys and tokens: one key per algorithm family (an RSA-2048 key for
//! RS* and PS*, one EC key per curve, an Ed25519 key, an HS256 secret), the key sets both
//! filters are configured with, and tokens signed in each algorithm's JOSE form.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devidp::{SigningAlgorithm, SigningKey};
use rsa::rand_core::OsRng;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, pkcs1v15, pss};
use serde_json::{Value, json};
use sha2::{Sha256, Sha384, Sha512};

/// The RSA modulus size of the RS* and PS* key, Auth0's.
const RSA_BITS: usize = 2048;

/// Where tokens of the HMAC provider go; everything else goes to the asymmetric one.
pub const HMAC_PATH: &str = "/hmac";

/// The issuer of the HMAC provider (the asymmetric one uses the dev IdP's).
pub const HMAC_ISSUER: &str = "https://hmac.bench.example/";

/// A signature algorithm with a fresh-token workload of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
    EdDsa,
    Hs256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 11] = [
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::EdDsa,
        Algorithm::Hs256,
    ];

    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Es512 => "ES512",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Hs256 => "HS256",
        }
    }

    /// The workload's name for `--workloads` (lower case).
    pub fn workload_name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "rs256",
            Algorithm::Rs384 => "rs384",
            Algorithm::Rs512 => "rs512",
            Algorithm::Ps256 => "ps256",
            Algorithm::Ps384 => "ps384",
            Algorithm::Ps512 => "ps512",
            Algorithm::Es256 => "es256",
            Algorithm::Es384 => "es384",
            Algorithm::Es512 => "es512",
            Algorithm::EdDsa => "eddsa",
            Algorithm::Hs256 => "hs256",
        }
    }

    /// The workload's label in tables.
    pub fn label(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "fresh RS256",
            Algorithm::Rs384 => "fresh RS384",
            Algorithm::Rs512 => "fresh RS512",
            Algorithm::Ps256 => "fresh PS256",
            Algorithm::Ps384 => "fresh PS384",
            Algorithm::Ps512 => "fresh PS512",
            Algorithm::Es256 => "fresh ES256",
            Algorithm::Es384 => "fresh ES384",
            Algorithm::Es512 => "fresh ES512",
            Algorithm::EdDsa => "fresh EdDSA",
            Algorithm::Hs256 => "fresh HS256",
        }
    }

    /// The `kid` of the key that verifies it.
    pub fn kid(self) -> &'static str {
        match self {
            Algorithm::Rs256
            | Algorithm::Rs384
            | Algorithm::Rs512
            | Algorithm::Ps256
            | Algorithm::Ps384
            | Algorithm::Ps512 => "rsa",
            Algorithm::Es256 => "p256",
            Algorithm::Es384 => "p384",
            Algorithm::Es512 => "p521",
            Algorithm::EdDsa => "ed25519",
            Algorithm::Hs256 => "secret",
        }
    }

    /// The request path its tokens are sent to (the rule picks the provider by it).
    pub fn path(self) -> &'static str {
        match self {
            Algorithm::Hs256 => HMAC_PATH,
            _ => "/",
        }
    }

    /// Whether the card stack (jsonwebtoken) implements it: every algorithm but ES512.
    pub fn in_card_stack(self) -> bool {
        self != Algorithm::Es512
    }

    /// The ratio to native this algorithm's fresh-token cost must stay under (issue 13).
    pub fn goal(self) -> f64 {
        match self {
            Algorithm::Rs256 => 1.5,
            _ => 2.0,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One key per family, generated at start.
pub struct Keys {
    rsa: RsaPrivateKey,
    p256: SigningKey,
    p384: SigningKey,
    p521: SigningKey,
    ed25519: SigningKey,
    hmac: SigningKey,
}

impl Keys {
    pub fn generate() -> Result<Keys, String> {
        let ec = |algorithm, kid: &str| SigningKey::generate(algorithm, kid);
        Ok(Keys {
            // e = 65537, as every issuer uses.
            rsa: RsaPrivateKey::new(&mut OsRng, RSA_BITS)
                .map_err(|e| format!("cannot generate an RSA key: {e}"))?,
            p256: ec(SigningAlgorithm::Es256, Algorithm::Es256.kid())?,
            p384: ec(SigningAlgorithm::Es384, Algorithm::Es384.kid())?,
            p521: ec(SigningAlgorithm::Es512, Algorithm::Es512.kid())?,
            ed25519: ec(SigningAlgorithm::EdDsa, Algorithm::EdDsa.kid())?,
            hmac: SigningKey::generate(SigningAlgorithm::Hs256, Algorithm::Hs256.kid())?,
        })
    }

    /// The public keys as one JWKS: the RSA key without `alg` (it verifies RS* and PS*), the
    /// others with theirs.
    pub fn asymmetric_jwks(&self) -> String {
        let rsa = json!({
            "kty": "RSA",
            "kid": Algorithm::Rs256.kid(),
            "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(self.rsa.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.rsa.e().to_bytes_be()),
        });
        let others = [&self.p256, &self.p384, &self.p521, &self.ed25519]
            .into_iter()
            .filter_map(SigningKey::public_jwk);
        let keys: Vec<Value> = std::iter::once(rsa).chain(others).collect();
        json!({ "keys": keys }).to_string()
    }

    /// The RSA public key's modulus, big-endian: the secret of an algorithm-confusion attack.
    pub fn rsa_modulus(&self) -> Vec<u8> {
        self.rsa.n().to_bytes_be()
    }

    /// The HMAC secret as a local JWKS (`kty` `oct`), for its own provider.
    pub fn hmac_jwks(&self) -> String {
        let keys: Vec<Value> = self.hmac.secret_jwk().into_iter().collect();
        json!({ "keys": keys }).to_string()
    }

    /// The signature over `input` in `algorithm`'s JOSE form.
    pub fn sign(&self, algorithm: Algorithm, input: &[u8]) -> Vec<u8> {
        let private = || self.rsa.clone();
        // Signing with our own valid keys has no failure mode, hence each crate's infallible
        // `sign`; `pss::SigningKey::new` takes a salt as long as the hash (RFC 7518 §3.5).
        match algorithm {
            Algorithm::Rs256 => pkcs1v15::SigningKey::<Sha256>::new(private())
                .sign(input)
                .to_vec(),
            Algorithm::Rs384 => pkcs1v15::SigningKey::<Sha384>::new(private())
                .sign(input)
                .to_vec(),
            Algorithm::Rs512 => pkcs1v15::SigningKey::<Sha512>::new(private())
                .sign(input)
                .to_vec(),
            Algorithm::Ps256 => pss::SigningKey::<Sha256>::new(private())
                .sign_with_rng(&mut OsRng, input)
                .to_vec(),
            Algorithm::Ps384 => pss::SigningKey::<Sha384>::new(private())
                .sign_with_rng(&mut OsRng, input)
                .to_vec(),
            Algorithm::Ps512 => pss::SigningKey::<Sha512>::new(private())
                .sign_with_rng(&mut OsRng, input)
                .to_vec(),
            Algorithm::Es256 => self.p256.sign(input),
            Algorithm::Es384 => self.p384.sign(input),
            Algorithm::Es512 => self.p521.sign(input),
            Algorithm::EdDsa => self.ed25519.sign(input),
            Algorithm::Hs256 => self.hmac.sign(input),
        }
    }

    /// A token of `algorithm` over `claims` (whose `iss` is replaced by the HMAC provider's
    /// for HS256) with a distinct `jti`.
    pub fn mint(&self, algorithm: Algorithm, claims: &Value, jti: &str) -> String {
        let header = json!({"alg": algorithm.name(), "typ": "JWT", "kid": algorithm.kid()});
        let mut claims = claims.clone();
        claims["jti"] = json!(jti);
        if algorithm == Algorithm::Hs256 {
            claims["iss"] = json!(HMAC_ISSUER);
        }
        let input = signing_input(&header, &claims);
        let signature = self.sign(algorithm, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// `count` tokens of `algorithm`, `jti` `{algorithm}-0` and on, signed on `threads` threads.
    pub fn mint_many(
        self: &Arc<Self>,
        algorithm: Algorithm,
        claims: &Value,
        count: usize,
        threads: usize,
    ) -> Vec<String> {
        let threads = threads.clamp(1, count.max(1));
        let chunk = count.div_ceil(threads);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let keys = Arc::clone(self);
                let claims = claims.clone();
                std::thread::spawn(move || {
                    (t * chunk..((t + 1) * chunk).min(count))
                        .map(|i| keys.mint(algorithm, &claims, &format!("{algorithm}-{i}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("minting thread panicked"))
            .collect()
    }
}

/// A JWS signing input: the header and the claims, each base64url JSON.
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn keys() -> Arc<Keys> {
        static KEYS: OnceLock<Arc<Keys>> = OnceLock::new();
        Arc::clone(KEYS.get_or_init(|| Arc::new(Keys::generate().unwrap())))
    }

    fn part(token: &str, index: usize) -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.split('.').nth(index).unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn signature_len(token: &str) -> usize {
        URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap()
            .len()
    }

    #[test]
    fn every_algorithm_mints_its_header_and_signature_length() {
        let keys = keys();
        let claims = json!({"iss": "https://idp/", "sub": "x"});
        let lengths = [256, 256, 256, 256, 256, 256, 64, 96, 132, 64, 32];
        for (algorithm, length) in Algorithm::ALL.into_iter().zip(lengths) {
            let token = keys.mint(algorithm, &claims, "j");
            assert_eq!(
                part(&token, 0),
                json!({"alg": algorithm.name(), "typ": "JWT", "kid": algorithm.kid()})
            );
            assert_eq!(signature_len(&token), length, "{algorithm}");
            let payload = part(&token, 1);
            assert_eq!(payload["jti"], "j");
            let issuer = if algorithm == Algorithm::Hs256 {
                HMAC_ISSUER
            } else {
                "https://idp/"
            };
            assert_eq!(payload["iss"], issuer, "{algorithm}");
        }
    }

    /// The RS and PS signatures really use their hash: checked with the rsa crate.
    #[test]
    fn rsa_signatures_verify_with_their_own_hash_only() {
        use rsa::signature::Verifier;
        let keys = keys();
        let public = keys.rsa.to_public_key();
        let input = b"header.payload";
        let pkcs = |a| pkcs1v15::Signature::try_from(keys.sign(a, input).as_slice()).unwrap();
        let v384 = pkcs1v15::VerifyingKey::<Sha384>::new(public.clone());
        assert!(v384.verify(input, &pkcs(Algorithm::Rs384)).is_ok());
        assert!(v384.verify(input, &pkcs(Algorithm::Rs512)).is_err());
        let v512 = pkcs1v15::VerifyingKey::<Sha512>::new(public.clone());
        assert!(v512.verify(input, &pkcs(Algorithm::Rs512)).is_ok());
        let pss = |a| pss::Signature::try_from(keys.sign(a, input).as_slice()).unwrap();
        let p384 = pss::VerifyingKey::<Sha384>::new(public.clone());
        assert!(p384.verify(input, &pss(Algorithm::Ps384)).is_ok());
        assert!(p384.verify(input, &pss(Algorithm::Ps512)).is_err());
        let p512 = pss::VerifyingKey::<Sha512>::new(public);
        assert!(p512.verify(input, &pss(Algorithm::Ps512)).is_ok());
    }

    #[test]
    fn the_key_sets_hold_one_key_per_family_and_the_secret_apart() {
        let keys = keys();
        let asymmetric: Value = serde_json::from_str(&keys.asymmetric_jwks()).unwrap();
        let kids: Vec<&str> = asymmetric["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, ["rsa", "p256", "p384", "p521", "ed25519"]);
        assert!(asymmetric["keys"][0].get("alg").is_none());
        assert_eq!(asymmetric["keys"][2]["alg"], "ES384");
        let hmac: Value = serde_json::from_str(&keys.hmac_jwks()).unwrap();
        assert_eq!(hmac["keys"][0]["kty"], "oct");
        assert_eq!(hmac["keys"][0]["kid"], "secret");
    }

    #[test]
    fn many_tokens_are_distinct_and_every_algorithm_has_a_workload_name() {
        let tokens = keys().mint_many(Algorithm::Es256, &json!({}), 5, 2);
        assert_eq!(tokens.len(), 5);
        assert_eq!(part(&tokens[4], 1)["jti"], "ES256-4");
        let mut names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.workload_name()).collect();
        names.dedup();
        assert_eq!(names.len(), 11);
        assert_eq!(Algorithm::Hs256.path(), HMAC_PATH);
        assert_eq!(Algorithm::Rs256.goal(), 1.5);
        assert_eq!(Algorithm::Es512.goal(), 2.0);
    }
}
