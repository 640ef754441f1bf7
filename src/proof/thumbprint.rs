//! RFC 7638: the SHA-256 thumbprint of a public JWK, which a DPoP-bound token carries as
//! `cnf.jkt` (RFC 9449 §6.1).

use crate::crypto::Hash;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The base64url SHA-256 thumbprint of `jwk`: its required members only, in lexicographic
/// order, without whitespace (RFC 7638 §3.2). `None` for a key type without a thumbprint
/// here or a required member that is not a string.
pub fn of(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        // Names need no escaping; values are written as JSON strings.
        canonical.push_str(&format!("\"{name}\":{}", Value::from(value)));
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(Hash::Sha256.digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_rfc_7638_example_key_has_its_thumbprint() {
        // RFC 7638 §3.1, with members the thumbprint leaves out.
        let jwk = object(json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }));
        assert_eq!(
            of(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn member_order_and_extra_members_do_not_change_it() {
        let a = object(json!({"kty": "EC", "crv": "P-256", "x": "ab", "y": "cd"}));
        let b = object(json!({"y": "cd", "use": "sig", "x": "ab", "crv": "P-256", "kty": "EC"}));
        assert_eq!(of(&a), of(&b));
        let c = object(json!({"kty": "EC", "crv": "P-256", "x": "ab", "y": "ce"}));
        assert_ne!(of(&a), of(&c));
    }

    #[test]
    fn unknown_types_and_missing_members_have_none() {
        assert_eq!(of(&object(json!({"kty": "oct", "k": "AA"}))), None);
        assert_eq!(
            of(&object(json!({"kty": "EC", "crv": "P-256", "x": "ab"}))),
            None
        );
        assert_eq!(
            of(&object(json!({"kty": "OKP", "crv": "Ed25519", "x": 1}))),
            None
        );
        assert_eq!(of(&object(json!({"crv": "Ed25519", "x": "ab"}))), None);
    }
}
