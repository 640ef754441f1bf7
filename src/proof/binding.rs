//! The token's confirmation claim (`cnf`, RFC 7800): what the token is bound to.

use crate::error::BindingFault;
use serde_json::{Map, Value};

/// What a token is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding<'c> {
    /// No `cnf`: a bearer token.
    Unbound,
    /// `cnf.jkt`: the RFC 7638 thumbprint of the key whose DPoP proofs it needs.
    Key(&'c str),
    /// `cnf["x5t#S256"]`: the client certificate it needs (RFC 8705 §3).
    Certificate,
}

/// The binding `claims` declare. A `cnf` this filter cannot hold the sender to (another
/// confirmation method, a malformed one) is a refusal, never a bearer token.
pub fn of(claims: &Map<String, Value>) -> Result<Binding<'_>, BindingFault> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(Binding::Unbound);
    };
    let Value::Object(cnf) = cnf else {
        return Err(BindingFault::MalformedConfirmation);
    };
    if cnf.contains_key("x5t#S256") {
        return Ok(Binding::Certificate);
    }
    if cnf.keys().any(|name| name != "jkt") {
        return Err(BindingFault::UnsupportedConfirmation);
    }
    match cnf.get("jkt") {
        Some(Value::String(jkt)) if !jkt.is_empty() => Ok(Binding::Key(jkt)),
        _ => Err(BindingFault::MalformedConfirmation),
    }
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

    #[test]
    fn each_confirmation_is_read_as_what_it_binds() {
        assert_eq!(binding(json!({"sub": "a"})), Ok(Binding::Unbound));
        assert_eq!(
            binding(json!({"cnf": {"jkt": "abc"}})),
            Ok(Binding::Key("abc"))
        );
        assert_eq!(
            binding(json!({"cnf": {"x5t#S256": "abc"}})),
            Ok(Binding::Certificate)
        );
        assert_eq!(
            binding(json!({"cnf": {"x5t#S256": "abc", "jkt": "k"}})),
            Ok(Binding::Certificate)
        );
    }

    #[test]
    fn a_confirmation_that_cannot_be_held_to_is_refused() {
        for cnf in [
            json!({"jwk": {"kty": "EC"}}),
            json!({"jkt": "a", "kid": "b"}),
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
