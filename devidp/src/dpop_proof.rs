//! DPoP at the token endpoint (RFC 9449 §5): a token request with a `DPoP` proof gets a token
//! bound to the proof's key (`cnf.jkt`, its RFC 7638 thumbprint). The dev IdP checks the proof
//! as an authorization server must (§4.3): one compact JWS of type `dpop+jwt`, signed ES256
//! or EdDSA by the public `jwk` in its header, for `POST` to this token endpoint, issued within
//! the last minute, with a `jti`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::oauth_error::OAuthError;

/// How far a proof's `iat` may be from the IdP's clock, either way.
const MAX_AGE_SECS: u64 = 60;

/// Checks `proof` for a token request to `token_endpoint` at `now`; the thumbprint of its key.
pub fn bound_key(proof: &str, token_endpoint: &str, now: u64) -> Result<String, OAuthError> {
    let refuse = |why: &str| OAuthError::invalid_dpop_proof(format!("DPoP proof {why}"));
    let mut parts = proof.trim().split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
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
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| refuse("signature is not base64url"))?;
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
    let signing_input = format!("{header_b64}.{payload_b64}");
    let verified = match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => verify_es256(jwk, signing_input.as_bytes(), &signature),
        Some("EdDSA") => verify_ed25519(jwk, signing_input.as_bytes(), &signature),
        _ => return Err(refuse("alg is not ES256 or EdDSA")),
    };
    verified.map_err(|why| refuse(&why))?;
    if claims.get("htm").and_then(Value::as_str) != Some("POST") {
        return Err(refuse("htm is not POST"));
    }
    if claims.get("htu").and_then(Value::as_str) != Some(token_endpoint) {
        return Err(refuse(&format!("htu is not {token_endpoint}")));
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

/// The RFC 7638 thumbprint of an EC or OKP public JWK: SHA-256 of its required members in
/// lexical order, base64url.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for name in members {
        canonical.insert((*name).to_string(), Value::from(jwk.get(*name)?.as_str()?));
    }
    // serde_json's map is ordered by name: the JSON text is the canonical one.
    let text = Value::Object(canonical).to_string();
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes())))
}

fn coordinate(jwk: &Map<String, Value>, name: &str, len: usize) -> Result<Vec<u8>, String> {
    jwk.get(name)
        .and_then(Value::as_str)
        .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
        .filter(|bytes| bytes.len() == len)
        .ok_or_else(|| format!("jwk {name} is not {len} bytes of base64url"))
}

fn verify_es256(jwk: &Map<String, Value>, message: &[u8], signature: &[u8]) -> Result<(), String> {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    if jwk.get("kty").and_then(Value::as_str) != Some("EC")
        || jwk.get("crv").and_then(Value::as_str) != Some("P-256")
    {
        return Err("jwk is not an EC P-256 key".into());
    }
    let point = [
        vec![4],
        coordinate(jwk, "x", 32)?,
        coordinate(jwk, "y", 32)?,
    ]
    .concat();
    let key = VerifyingKey::from_sec1_bytes(&point).map_err(|_| "jwk is not a P-256 point")?;
    let signature = Signature::from_slice(signature).map_err(|_| "signature is not r||s")?;
    key.verify(message, &signature)
        .map_err(|_| "signature does not verify with its jwk".into())
}

fn verify_ed25519(
    jwk: &Map<String, Value>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    use ed25519_dalek::{Signature, VerifyingKey};
    if jwk.get("kty").and_then(Value::as_str) != Some("OKP")
        || jwk.get("crv").and_then(Value::as_str) != Some("Ed25519")
    {
        return Err("jwk is not an OKP Ed25519 key".into());
    }
    let x: [u8; 32] = coordinate(jwk, "x", 32)?.try_into().map_err(|_| "jwk x")?;
    let key = VerifyingKey::from_bytes(&x).map_err(|_| "jwk is not an Ed25519 point")?;
    let signature = Signature::from_slice(signature).map_err(|_| "signature is not 64 bytes")?;
    key.verify_strict(message, &signature)
        .map_err(|_| "signature does not verify with its jwk".into())
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
        let jkt = bound_key(&proof(header(), claims()), ENDPOINT, NOW + 30).unwrap();
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
            let error = bound_key(&proof, ENDPOINT, NOW).unwrap_err();
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
            bound_key(&forged, ENDPOINT, NOW).unwrap_err().description,
            "DPoP proof signature does not verify with its jwk"
        );
    }
}
