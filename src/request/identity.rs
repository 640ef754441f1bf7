//! Identity to the upstream: claims copied into request headers (`claim_to_headers`) and the
//! verified payload forwarded whole (`forward_payload_header`), so services learn who called
//! without parsing the token again.

use crate::jose::claims;
use serde_json::{Map, Value};

/// A header value longer than this is not set: upstreams have header size limits too.
pub const MAX_HEADER_VALUE_BYTES: usize = 8 * 1024;

/// The identity headers one provider sets after its token verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityHeaders {
    pub claim_to_headers: Vec<ClaimToHeader>,
    /// Receives the base64url payload of the verified token.
    pub payload_header: Option<String>,
    /// Pad the forwarded payload with `=` to a multiple of four characters.
    pub pad_payload: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToHeader {
    /// Lower-case header name.
    pub header: String,
    /// Claim name or dotted path; see [`claims::lookup`].
    pub claim: String,
}

impl IdentityHeaders {
    /// Every header name this may set.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.claim_to_headers
            .iter()
            .map(|c| c.header.as_str())
            .chain(self.payload_header.as_deref())
    }

    /// The headers to set for a token with these claims and this base64url payload. Claims
    /// that are absent, objects, or not safe as a header value are left out.
    pub fn values(&self, claims: &Map<String, Value>, payload_b64: &str) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = self
            .claim_to_headers
            .iter()
            .filter_map(|c| {
                let value = header_value(claims::lookup(claims, &c.claim)?)?;
                Some((c.header.clone(), value))
            })
            .collect();
        if let Some(name) = &self.payload_header
            && payload_b64.len() <= MAX_HEADER_VALUE_BYTES
        {
            let mut payload = payload_b64.to_string();
            if self.pad_payload {
                while !payload.len().is_multiple_of(4) {
                    payload.push('=');
                }
            }
            headers.push((name.clone(), payload));
        }
        headers
    }
}

/// A claim as a header value: strings as they are, numbers and booleans as JSON text, arrays
/// of those joined with commas. Control characters (header injection) refuse the value.
pub(crate) fn header_value(claim: &Value) -> Option<String> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    let text = match claim {
        Value::Array(items) => items
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()?
            .join(","),
        other => scalar(other)?,
    };
    // Empty values are left out, as Envoy's jwt_authn does.
    let safe = !text.is_empty()
        && text.len() <= MAX_HEADER_VALUE_BYTES
        && text.chars().all(|c| c == '\t' || !c.is_control());
    safe.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn to(header: &str, claim: &str) -> ClaimToHeader {
        ClaimToHeader {
            header: header.into(),
            claim: claim.into(),
        }
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn claims_become_headers() {
        let identity = IdentityHeaders {
            claim_to_headers: vec![
                to("x-user-id", "sub"),
                to("x-email", "https://example.com/email"),
                to("x-permissions", "permissions"),
                to("x-country", "address.country"),
                to("x-level", "level"),
                to("x-verified", "email_verified"),
                to("x-missing", "nickname"),
                to("x-address", "address"),
            ],
            ..IdentityHeaders::default()
        };
        let c = claims(json!({
            "sub": "auth0|42",
            "https://example.com/email": "a@example.com",
            "permissions": ["read:messages", "write:messages"],
            "address": {"country": "NL"},
            "level": 3,
            "email_verified": true
        }));
        assert_eq!(
            identity.values(&c, "e30"),
            pairs(&[
                ("x-user-id", "auth0|42"),
                ("x-email", "a@example.com"),
                ("x-permissions", "read:messages,write:messages"),
                ("x-country", "NL"),
                ("x-level", "3"),
                ("x-verified", "true"),
            ])
        );
    }

    #[test]
    fn values_that_could_inject_headers_are_left_out() {
        let identity = IdentityHeaders {
            claim_to_headers: vec![
                to("x-a", "a"),
                to("x-b", "b"),
                to("x-c", "c"),
                to("x-d", "d"),
                to("x-e", "e"),
            ],
            ..IdentityHeaders::default()
        };
        let c = claims(json!({
            "a": "x\r\nx-admin: true",
            "b": ["ok", "x\u{0}"],
            "c": "x".repeat(MAX_HEADER_VALUE_BYTES + 1),
            "d": [["nested"]],
            "e": ""
        }));
        assert_eq!(identity.values(&c, "e30"), vec![]);
    }

    #[test]
    fn payload_is_forwarded_as_is_or_padded() {
        let mut identity = IdentityHeaders {
            payload_header: Some("x-jwt-payload".into()),
            ..IdentityHeaders::default()
        };
        let c = claims(json!({}));
        assert_eq!(
            identity.values(&c, "eyJhIjoxfQ"),
            pairs(&[("x-jwt-payload", "eyJhIjoxfQ")])
        );
        identity.pad_payload = true;
        assert_eq!(
            identity.values(&c, "eyJhIjoxfQ"),
            pairs(&[("x-jwt-payload", "eyJhIjoxfQ==")])
        );
    }

    #[test]
    fn names_lists_every_header_it_may_set() {
        let identity = IdentityHeaders {
            claim_to_headers: vec![to("x-user-id", "sub")],
            payload_header: Some("x-jwt-payload".into()),
            pad_payload: false,
        };
        assert_eq!(
            identity.names().collect::<Vec<_>>(),
            vec!["x-user-id", "x-jwt-payload"]
        );
    }
}
