//! OpenID Connect discovery: the issuer's `/.well-known/openid-configuration` names its
//! `jwks_uri`, so a provider can be configured with the issuer alone.

use crate::json::{self, StrictJsonError};
use crate::keys::uri::Endpoint;
use serde_json::Value;

/// Discovery documents are a few KiB; anything much larger is not one.
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// The discovery document's location for `issuer` (OpenID Connect Discovery 1.0 §4).
pub fn document_uri(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// The JWKS endpoint named by a discovery document fetched from `from`. The document must be
/// about `issuer` (§4.3), and its `jwks_uri` must be on the same host, since the callout
/// goes through the same cluster.
pub fn jwks_endpoint(body: &[u8], issuer: &str, from: &Endpoint) -> Result<Endpoint, String> {
    if body.len() > MAX_DISCOVERY_BYTES {
        return Err(format!(
            "discovery document of {} bytes exceeds {MAX_DISCOVERY_BYTES}",
            body.len()
        ));
    }
    let document = json::parse_object(body).map_err(|e| match e {
        StrictJsonError::DuplicateMember => "discovery document has duplicate members".to_string(),
        _ => "discovery document is not a JSON object".to_string(),
    })?;
    match document.get("issuer") {
        Some(Value::String(found)) if found == issuer => {}
        Some(Value::String(_)) => {
            return Err(format!(
                "discovery document is for another issuer, not {issuer}"
            ));
        }
        _ => return Err("discovery document has no issuer".into()),
    }
    let Some(Value::String(jwks_uri)) = document.get("jwks_uri") else {
        return Err("discovery document has no jwks_uri".into());
    };
    let endpoint = Endpoint::parse(jwks_uri).map_err(|e| format!("jwks_uri {e}"))?;
    if !endpoint.same_origin(from) {
        return Err(format!(
            "jwks_uri is on {}, not on {} where the cluster goes: configure remote_jwks with its own cluster instead",
            endpoint.authority, from.authority
        ));
    }
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "https://tenant.auth0.com/";

    fn from() -> Endpoint {
        Endpoint::parse(&document_uri(ISSUER)).unwrap()
    }

    fn endpoint(document: serde_json::Value) -> Result<Endpoint, String> {
        jwks_endpoint(document.to_string().as_bytes(), ISSUER, &from())
    }

    #[test]
    fn document_lives_under_the_issuer() {
        assert_eq!(
            document_uri(ISSUER),
            "https://tenant.auth0.com/.well-known/openid-configuration"
        );
        assert_eq!(
            document_uri("https://login.example.com/realms/a"),
            "https://login.example.com/realms/a/.well-known/openid-configuration"
        );
    }

    #[test]
    fn auth0_document_gives_its_jwks_endpoint() {
        let e = endpoint(json!({
            "issuer": ISSUER,
            "jwks_uri": "https://tenant.auth0.com/.well-known/jwks.json",
            "token_endpoint": "https://tenant.auth0.com/oauth/token"
        }))
        .unwrap();
        assert_eq!(e.authority, "tenant.auth0.com");
        assert_eq!(e.path, "/.well-known/jwks.json");
    }

    #[test]
    fn document_for_another_issuer_is_refused() {
        let e =
            endpoint(json!({"issuer": "https://evil/", "jwks_uri": "https://tenant.auth0.com/k"}));
        assert_eq!(
            e,
            Err("discovery document is for another issuer, not https://tenant.auth0.com/".into())
        );
        let e = endpoint(json!({"jwks_uri": "https://tenant.auth0.com/k"}));
        assert_eq!(e, Err("discovery document has no issuer".into()));
    }

    #[test]
    fn jwks_uri_must_be_present_valid_and_on_the_same_host() {
        assert_eq!(
            endpoint(json!({"issuer": ISSUER})),
            Err("discovery document has no jwks_uri".into())
        );
        assert!(endpoint(json!({"issuer": ISSUER, "jwks_uri": 7})).is_err());
        assert!(endpoint(json!({"issuer": ISSUER, "jwks_uri": "file:///etc/passwd"})).is_err());
        let other =
            endpoint(json!({"issuer": ISSUER, "jwks_uri": "https://keys.example.com/jwks"}));
        assert!(other.unwrap_err().contains("not on tenant.auth0.com"));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        for body in [
            &b"<html>"[..],
            b"[]",
            b"{\"issuer\":1,\"issuer\":2}",
            &[0xff; 10],
        ] {
            assert!(jwks_endpoint(body, ISSUER, &from()).is_err());
        }
        let huge = vec![b' '; MAX_DISCOVERY_BYTES + 1];
        assert!(
            jwks_endpoint(&huge, ISSUER, &from())
                .unwrap_err()
                .contains("exceeds")
        );
    }
}
