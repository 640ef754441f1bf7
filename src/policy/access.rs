//! What a verified identity must hold on a route: scopes (all of, or one of) and claim values
//! (exact, one of, or contained in an array claim: Auth0 roles, `gty`, `azp`).
//!
//! With several verified tokens (`requires_all`), what they grant together counts.

use crate::error::AuthError;
use crate::jose::claims;
use serde_json::{Map, Value};

/// The scope and claim requirements of one rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    /// Every one of these scopes must be granted.
    pub all_scopes: Vec<String>,
    /// At least one of these scopes must be granted (if any are listed).
    pub any_scopes: Vec<String>,
    pub claims: Vec<ClaimRequirement>,
}

/// A condition on one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRequirement {
    /// Top-level name (dots and slashes allowed) or a dotted path; see [`claims::lookup`].
    pub name: String,
    pub condition: ClaimCondition,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimCondition {
    /// The claim equals this value.
    Equals(Value),
    /// The claim equals one of these values.
    OneOf(Vec<Value>),
    /// The claim is an array with this value among its elements.
    Contains(Value),
}

impl Access {
    pub fn is_empty(&self) -> bool {
        self.all_scopes.is_empty() && self.any_scopes.is_empty() && self.claims.is_empty()
    }

    /// Checks the claims of every verified token; scopes first, then claims in order.
    pub fn check(&self, tokens: &[&Map<String, Value>]) -> Result<(), AuthError> {
        if self.is_empty() {
            return Ok(());
        }
        let granted: Vec<&str> = tokens
            .iter()
            .flat_map(|claims| claims::granted_scopes(claims))
            .collect();
        let is_granted = |scope: &String| granted.contains(&scope.as_str());
        if !self.all_scopes.iter().all(is_granted) {
            return Err(AuthError::InsufficientScope {
                scopes: self.all_scopes.clone(),
                any: false,
            });
        }
        if !self.any_scopes.is_empty() && !self.any_scopes.iter().any(is_granted) {
            return Err(AuthError::InsufficientScope {
                scopes: self.any_scopes.clone(),
                any: true,
            });
        }
        for requirement in &self.claims {
            let held = tokens
                .iter()
                .filter_map(|claims| claims::lookup(claims, &requirement.name))
                .any(|value| requirement.condition.holds(value));
            if !held {
                return Err(AuthError::ClaimMismatch(requirement.name.clone()));
            }
        }
        Ok(())
    }
}

impl ClaimCondition {
    fn holds(&self, claim: &Value) -> bool {
        match self {
            ClaimCondition::Equals(expected) => same(claim, expected),
            ClaimCondition::OneOf(options) => options.iter().any(|o| same(claim, o)),
            ClaimCondition::Contains(expected) => claim
                .as_array()
                .is_some_and(|items| items.iter().any(|item| same(item, expected))),
        }
    }
}

/// JSON equality, except that numbers compare by value (`1` equals `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
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

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn claim(name: &str, condition: ClaimCondition) -> ClaimRequirement {
        ClaimRequirement {
            name: name.into(),
            condition,
        }
    }

    fn m2m() -> Map<String, Value> {
        claims(json!({
            "scope": "read:messages write:messages",
            "permissions": ["admin:users"],
            "gty": "client-credentials",
            "azp": "client-1",
            "https://example.com/roles": ["admin", "support"],
            "org": {"tier": 3}
        }))
    }

    #[test]
    fn nothing_required_passes_even_without_tokens() {
        assert_eq!(Access::default().check(&[]), Ok(()));
    }

    #[test]
    fn all_scopes_must_be_granted_and_all_are_named() {
        let access = Access {
            all_scopes: strings(&["read:messages", "delete:messages"]),
            ..Access::default()
        };
        assert_eq!(
            access.check(&[&m2m()]),
            Err(AuthError::InsufficientScope {
                scopes: strings(&["read:messages", "delete:messages"]),
                any: false
            })
        );
        let access = Access {
            all_scopes: strings(&["read:messages", "admin:users"]),
            ..Access::default()
        };
        assert_eq!(access.check(&[&m2m()]), Ok(()));
    }

    #[test]
    fn one_of_the_any_scopes_is_enough() {
        let access = Access {
            any_scopes: strings(&["delete:messages", "write:messages"]),
            ..Access::default()
        };
        assert_eq!(access.check(&[&m2m()]), Ok(()));
        let access = Access {
            any_scopes: strings(&["delete:messages", "root"]),
            ..Access::default()
        };
        assert_eq!(
            access.check(&[&m2m()]),
            Err(AuthError::InsufficientScope {
                scopes: strings(&["delete:messages", "root"]),
                any: true
            })
        );
    }

    #[test]
    fn claim_conditions() {
        let token = m2m();
        let passes = |c: ClaimRequirement| {
            Access {
                claims: vec![c],
                ..Access::default()
            }
            .check(&[&token])
            .is_ok()
        };
        use ClaimCondition::*;
        assert!(passes(claim("gty", Equals(json!("client-credentials")))));
        assert!(!passes(claim("gty", Equals(json!("password")))));
        assert!(passes(claim(
            "azp",
            OneOf(vec![json!("client-0"), json!("client-1")])
        )));
        assert!(!passes(claim("azp", OneOf(vec![json!("client-2")]))));
        assert!(passes(claim(
            "https://example.com/roles",
            Contains(json!("admin"))
        )));
        assert!(!passes(claim(
            "https://example.com/roles",
            Contains(json!("owner"))
        )));
        assert!(
            !passes(claim("gty", Contains(json!("client-credentials")))),
            "not an array"
        );
        assert!(
            passes(claim("org.tier", Equals(json!(3.0)))),
            "numbers by value"
        );
        assert!(
            !passes(claim("org.tier", Equals(json!("3")))),
            "no type coercion"
        );
        assert!(
            !passes(claim("missing", Equals(json!(null)))),
            "absent is not null"
        );
    }

    #[test]
    fn failed_claim_is_named() {
        let access = Access {
            claims: vec![
                claim("gty", ClaimCondition::Equals(json!("client-credentials"))),
                claim(
                    "https://example.com/roles",
                    ClaimCondition::Contains(json!("owner")),
                ),
            ],
            ..Access::default()
        };
        assert_eq!(
            access.check(&[&m2m()]),
            Err(AuthError::ClaimMismatch("https://example.com/roles".into()))
        );
    }

    #[test]
    fn several_tokens_grant_together() {
        let user = claims(json!({"scope": "read:messages"}));
        let client = claims(json!({"scope": "write:messages", "gty": "client-credentials"}));
        let access = Access {
            all_scopes: strings(&["read:messages", "write:messages"]),
            claims: vec![claim(
                "gty",
                ClaimCondition::Equals(json!("client-credentials")),
            )],
            ..Access::default()
        };
        assert_eq!(access.check(&[&user, &client]), Ok(()));
        assert!(access.check(&[&user]).is_err());
    }

    #[test]
    fn scopes_are_checked_before_claims() {
        let access = Access {
            all_scopes: strings(&["root"]),
            claims: vec![claim("gty", ClaimCondition::Equals(json!("x")))],
            ..Access::default()
        };
        assert!(matches!(
            access.check(&[&m2m()]),
            Err(AuthError::InsufficientScope { .. })
        ));
    }
}
