//! The token's confirmation claim (`cnf`, RFC 7800): what the token is bound to.

use crate::error::BindingFault;
use serde_json::{Map, Value};

/// What a token is bound to: nothing (a bearer token), a DPoP key, a client certificate, or
/// both, each of which must then be proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Binding<'c> {
    /// `cnf.jkt`: the RFC 7638 thumbprint of the key whose DPoP proofs it needs (RFC 9449 §6).
    pub key: Option<&'c str>,
    /// `cnf["x5t#S256"]`: the SHA-256 thumbprint of the client certificate it needs
    /// (RFC 8705 §3.1).
    pub certificate: Option<&'c str>,
}

/// The binding `claims` declare. A `cnf` this filter cannot hold the sender to (another
/// confirmation method, a malformed one) is a refusal, never a bearer token.
pub fn of(claims: &Map<String, Value>) -> Result<Binding<'_>, BindingFault> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(Binding::default());
    };
    let Value::Object(cnf) = cnf else {
        return Err(BindingFault::MalformedConfirmation);
    };
    if cnf.keys().any(|name| name != "jkt" && name != "x5t#S256") {
        return Err(BindingFault::UnsupportedConfirmation);
    }
    let member = |name: &str| match cnf.get(name) {
        None => Ok(None),
        Some(Value::String(value)) if !value.is_empty() => Ok(Some(value.as_str())),
        Some(_) => Err(BindingFault::MalformedConfirmation),
    };
    let binding = Binding {
        key: member("jkt")?,
        certificate: member("x5t#S256")?,
    };
    if binding == Binding::default() {
        return Err(BindingFault::MalformedConfirmation);
    }
    Ok(binding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binding(claims: Value) -> Result<Binding<'static>, BindingFault> {
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        of(Box::leak(Box::new(claims)))
    }

    fn bound(key: Option<&'static str>, certificate: Option<&'static str>) -> Binding<'static> {
        Binding { key, certificate }
    }

    #[test]
    fn each_confirmation_is_read_as_what_it_binds() {
        assert_eq!(binding(json!({"sub": "a"})), Ok(Binding::default()));
        assert_eq!(
            binding(json!({"cnf": {"jkt": "abc"}})),
            Ok(bound(Some("abc"), None))
        );
        assert_eq!(
            binding(json!({"cnf": {"x5t#S256": "abc"}})),
            Ok(bound(None, Some("abc")))
        );
        assert_eq!(
            binding(json!({"cnf": {"x5t#S256": "abc", "jkt": "k"}})),
            Ok(bound(Some("k"), Some("abc")))
        );
    }

    #[test]
    fn a_confirmation_that_cannot_be_held_to_is_refused() {
        for cnf in [
            json!({"jwk": {"kty": "EC"}}),
            json!({"jkt": "a", "kid": "b"}),
            json!({"x5t#S256": "a", "x5t": "b"}),
        ] {
            assert_eq!(
                binding(json!({"cnf": cnf})),
                Err(BindingFault::UnsupportedConfirmation),
                "{cnf}"
            );
        }
        for cnf in [
            json!("abc"),
            json!({}),
            json!({"jkt": 1}),
            json!({"jkt": ""}),
            json!({"x5t#S256": ["a"]}),
            json!({"x5t#S256": ""}),
            json!({"jkt": "a", "x5t#S256": null}),
            json!(null),
        ] {
            assert_eq!(
                binding(json!({"cnf": cnf})),
                Err(BindingFault::MalformedConfirmation),
                "{cnf}"
            );
        }
    }
}
