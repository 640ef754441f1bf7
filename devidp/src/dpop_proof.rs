//! DPoP at the token endpoint (RFC 9449 §5): a token request with a `DPoP` proof gets a token
//! bound to the proof's key (`cnf.jkt`, its RFC 7638 thumbprint). The dev IdP checks the proof
//! as an authorization server must (§4.3): one compact JWS of type `dpop+jwt`, signed ES256
//! or EdDSA by the public `jwk` in its header, for `POST` to this token endpoint, issued within
//! the last minute, with a `jti`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use serde_json::{Map, Value};

use crate::independent_verifier;
use crate::oauth_error::OAuthError;

/// How far a proof's `iat` may be from the IdP's clock, either way.
const MAX_AGE_SECS: u64 = 60;

/// Checks `proof` for a token request at `now` to the token endpoint, known by any of the URLs
/// `token_endpoints`; the thumbprint of its key.
pub fn bound_key(proof: &str, token_endpoints: &[&str], now: u64) -> Result<String, OAuthError> {
    let refuse = |why: &str| OAuthError::invalid_dpop_proof(format!("DPoP proof {why}"));
    let mut parts = proof.trim().split('.');
    let (Some(header_b64), Some(payload_b64), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse("is not a compact JWS"));
    };
    let object = |b64: &str| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    };
    let header = object(header_b64).ok_or_else(|| refuse("header is not a JSON object"))?;
    let claims = object(payload_b64).ok_or_else(|| refuse("payload is not a JSON object"))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(refuse("typ is not dpop+jwt"));
    }
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(refuse("header has no jwk"));
    };
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|m| jwk.contains_key(*m))
    {
        return Err(refuse("jwk holds private key material"));
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some(alg @ ("ES256" | "EdDSA")) => alg,
        _ => return Err(refuse("alg is not ES256 or EdDSA")),
    };
    independent_verifier::verify(&Value::Object(jwk.clone()), alg, proof.trim())
        .map_err(|_| refuse("signature does not verify with its jwk"))?;
    if claims.get("htm").and_then(Value::as_str) != Some("POST") {
        return Err(refuse("htm is not POST"));
    }
    let htu = claims.get("htu").and_then(Value::as_str);
    if !htu.is_some_and(|htu| token_endpoints.contains(&htu)) {
        return Err(refuse(&format!(
            "htu is not {}",
            token_endpoints.join(" or ")
        )));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or_else(|| refuse("has no iat"))?;
    if iat.abs_diff(now) > MAX_AGE_SECS {
        return Err(refuse("iat is not within a minute of now"));
    }
    if claims
        .get("jti")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(refuse("has no jti"));
    }
    thumbprint(jwk).ok_or_else(|| refuse("jwk is not an EC P-256 or OKP Ed25519 key"))
}

/// The RFC 7638 thumbprint (SHA-256, base64url) of an EC or OKP public JWK, the key types a
/// proof signed ES256 or EdDSA has.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    if !matches!(jwk.get("kty")?.as_str()?, "EC" | "OKP") {
        return None;
    }
    let jwk: Jwk = serde_json::from_value(Value::Object(jwk.clone())).ok()?;
    jwk.thumbprint(ThumbprintHash::SHA256).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use serde_json::json;

    const ENDPOINT: &str = "http://127.0.0.1:8081/oauth/token";
    const NOW: u64 = 1_700_000_000;

    fn key() -> SigningKey {
        SigningKey::from_slice(&[7; 32]).unwrap()
    }

    fn public_jwk(key: &SigningKey) -> Value {
        let point = key.verifying_key().to_encoded_point(false);
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        })
    }

    fn proof(header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: p256::ecdsa::Signature = key().sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    fn header() -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(&key())})
    }

    fn claims() -> Value {
        json!({"htm": "POST", "htu": ENDPOINT, "iat": NOW, "jti": "j1"})
    }

    #[test]
    fn a_proof_for_the_token_endpoint_binds_its_key() {
        let jkt = bound_key(&proof(header(), claims()), &[ENDPOINT], NOW + 30).unwrap();
        let jwk = public_jwk(&key());
        assert_eq!(Some(jkt), thumbprint(jwk.as_object().unwrap()));
        // The dev IdP binds to EC and OKP keys only; RFC 8037 §A.3's key and thumbprint.
        let rsa = json!({"kty": "RSA", "e": "AQAB", "n": "x"});
        assert_eq!(thumbprint(rsa.as_object().unwrap()), None);
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(
            thumbprint(okp.as_object().unwrap()).as_deref(),
            Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        );
    }

    #[test]
    fn each_check_refuses_on_its_own() {
        let with = |mut value: Value, member: &str, new: Value| {
            value[member] = new;
            value
        };
        let mut private = public_jwk(&key());
        private["d"] = json!("AAAA");
        let cases = [
            ("not a JWS".to_string(), "DPoP proof is not a compact JWS"),
            (
                proof(with(header(), "typ", json!("jwt")), claims()),
                "DPoP proof typ is not dpop+jwt",
            ),
            (
                proof(with(header(), "alg", json!("HS256")), claims()),
                "DPoP proof alg is not ES256 or EdDSA",
            ),
            (
                proof(with(header(), "jwk", private), claims()),
                "DPoP proof jwk holds private key material",
            ),
            (
                proof(header(), with(claims(), "htm", json!("GET"))),
                "DPoP proof htm is not POST",
            ),
            (
                proof(
                    header(),
                    with(claims(), "htu", json!("http://other/oauth/token")),
                ),
                "DPoP proof htu is not http://127.0.0.1:8081/oauth/token",
            ),
            (
                proof(header(), with(claims(), "iat", json!(NOW - 61))),
                "DPoP proof iat is not within a minute of now",
            ),
            (
                proof(header(), with(claims(), "jti", json!(""))),
                "DPoP proof has no jti",
            ),
        ];
        for (proof, expected) in cases {
            let error = bound_key(&proof, &[ENDPOINT], NOW).unwrap_err();
            assert_eq!(
                (error.status, error.error),
                (400, "invalid_dpop_proof"),
                "{expected}"
            );
            assert_eq!(error.description, expected);
        }
        let good = proof(header(), claims());
        let (input, signature) = good.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[3] ^= 1;
        let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            bound_key(&forged, &[ENDPOINT], NOW)
                .unwrap_err()
                .description,
            "DPoP proof signature does not verify with its jwk"
        );
    }
}
