//! `jwt-authz dpop`: a key pair for DPoP (RFC 9449) and proofs made with it, for curl and
//! scripts. ES256 on P-256, the algorithm DPoP clients use most. The key is kept as a private
//! JWK; its RFC 7638 thumbprint is computed by the filter's own code, so it is the `jkt` the
//! filter compares.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};

/// A DPoP key pair.
pub struct DpopKey {
    signing: SigningKey,
}

/// What a proof is for.
pub struct ProofFor<'a> {
    /// `htm`: the request method.
    pub method: &'a str,
    /// `htu`: the request URL; its query and fragment are left out, as RFC 9449 §4.2 says.
    pub url: &'a str,
    /// The access token the proof goes with (`ath`), for a request to a resource server.
    pub access_token: Option<&'a str>,
    /// A server nonce (`nonce`), when the server asked for one.
    pub nonce: Option<&'a str>,
    /// `iat`, seconds since the epoch.
    pub now: u64,
}

impl DpopKey {
    /// A new random key.
    pub fn generate() -> DpopKey {
        DpopKey {
            signing: SigningKey::random(&mut OsRng),
        }
    }

    /// The key of a private JWK (`kty` EC, `crv` P-256, with `d`).
    pub fn from_jwk(text: &str) -> Result<DpopKey, String> {
        let jwk: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
            return Err("not an EC P-256 JWK".into());
        }
        let d = jwk["d"]
            .as_str()
            .and_then(|d| URL_SAFE_NO_PAD.decode(d).ok())
            .ok_or("the JWK has no private key (d)")?;
        let signing = SigningKey::from_slice(&d).map_err(|_| "d is not a P-256 private key")?;
        let key = DpopKey { signing };
        if key.public_jwk()["x"] != jwk["x"] || key.public_jwk()["y"] != jwk["y"] {
            return Err("x and y are not the public key of d".into());
        }
        Ok(key)
    }

    /// The public JWK, as a proof's header carries it.
    pub fn public_jwk(&self) -> Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        let coordinate = |c: Option<&p256::FieldBytes>| {
            URL_SAFE_NO_PAD.encode(c.map(|c| c.as_slice()).unwrap_or_default())
        };
        json!({"kty": "EC", "crv": "P-256", "x": coordinate(point.x()), "y": coordinate(point.y())})
    }

    /// The private JWK, to keep in a file.
    pub fn private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk();
        jwk["d"] = URL_SAFE_NO_PAD.encode(self.signing.to_bytes()).into();
        jwk
    }

    /// The RFC 7638 thumbprint: the `cnf.jkt` of tokens bound to this key.
    pub fn thumbprint(&self) -> String {
        let jwk = self.public_jwk();
        jwk.as_object()
            .and_then(jwt_authz::proof::thumbprint::of)
            .unwrap_or_default()
    }

    /// A proof for `request`, with a random `jti`.
    pub fn proof(&self, request: &ProofFor) -> String {
        let input = self.signing_input(request);
        let signature: Signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// The part of a proof for `request` (with a random `jti`) that its ES256 signature
    /// signs: base64url header and claims, joined by a dot.
    pub fn signing_input(&self, request: &ProofFor) -> String {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.public_jwk()});
        let mut jti = [0u8; 16];
        OsRng.fill_bytes(&mut jti);
        let htu = request.url.split(['?', '#']).next().unwrap_or_default();
        let mut claims = json!({
            "htm": request.method,
            "htu": htu,
            "iat": request.now,
            "jti": URL_SAFE_NO_PAD.encode(jti),
        });
        if let Some(token) = request.access_token {
            let ath = jwt_authz::crypto::Hash::Sha256.digest(token.as_bytes());
            claims["ath"] = URL_SAFE_NO_PAD.encode(ath).into();
        }
        if let Some(nonce) = request.nonce {
            claims["nonce"] = nonce.into();
        }
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_authz::jose::algorithm::Algorithm;
    use jwt_authz::proof::dpop::{self, ProofRequest};
    use jwt_authz::proof::settings::{DpopMode, DpopSettings};

    const NOW: u64 = 1_700_000_000;

    fn checked(
        proof: &str,
        token: &str,
        uri: &str,
    ) -> Result<dpop::Proof, jwt_authz::error::ProofFault> {
        let settings = DpopSettings::new(DpopMode::Required, vec![Algorithm::ES256], 60, None);
        let access_token_hash = dpop::access_token_hash(token);
        let request = ProofRequest {
            method: "GET",
            uri: Some(uri),
            access_token_hash: &access_token_hash,
            now: NOW,
            clock_skew_seconds: 5,
            nonce_key: None,
            keys: None,
        };
        dpop::check(&[("dpop", proof)], &settings, &request)
    }

    #[test]
    fn the_filter_accepts_its_proofs_with_its_thumbprint() {
        let key = DpopKey::generate();
        let proof = key.proof(&ProofFor {
            method: "GET",
            url: "https://api.example.com/orders?page=2#top",
            access_token: Some("token"),
            nonce: None,
            now: NOW,
        });
        let passed = checked(&proof, "token", "https://api.example.com/orders").unwrap();
        assert_eq!(passed.thumbprint, key.thumbprint());
        assert!(checked(&proof, "another token", "https://api.example.com/orders").is_err());
        // Two proofs are never the same (a fresh jti each).
        let again = key.proof(&ProofFor {
            method: "GET",
            url: "https://api.example.com/orders",
            access_token: Some("token"),
            nonce: None,
            now: NOW,
        });
        assert_ne!(proof, again);
    }

    #[test]
    fn a_key_comes_back_from_its_private_jwk_and_nothing_else() {
        let key = DpopKey::generate();
        let text = key.private_jwk().to_string();
        let back = DpopKey::from_jwk(&text).unwrap();
        assert_eq!(back.thumbprint(), key.thumbprint());
        let other = DpopKey::generate().private_jwk();
        let mut mixed = key.private_jwk();
        mixed["d"] = other["d"].clone();
        for (bad, why) in [
            (
                key.public_jwk().to_string(),
                "the JWK has no private key (d)",
            ),
            ("{}".to_string(), "not an EC P-256 JWK"),
            (mixed.to_string(), "x and y are not the public key of d"),
        ] {
            assert_eq!(DpopKey::from_jwk(&bad).err().as_deref(), Some(why));
        }
    }
}
