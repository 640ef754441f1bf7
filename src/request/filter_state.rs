//! Identity for what comes after the filter (`filter_state` in the configuration): Envoy's
//! access logs, RBAC and CEL policies, and Lua filters read these values from the request's
//! filter state, where the filter writes them with `proxy_set_property` (Envoy keeps each
//! under `wasm.` + its name). What is written is decided here; `filter::host` only writes it.
//!
//! Nothing is decided, and no host call made, unless the configuration asks: a filter
//! without `filter_state` costs what it did before.

use super::identity;
use crate::jose::claims;
use serde_json::{Map, Value};

/// The names the values are written under (Envoy prefixes each with `wasm.`).
pub const PROVIDER: &str = "jwt_authz.provider";
pub const SUB: &str = "jwt_authz.sub";
pub const SCOPES: &str = "jwt_authz.scopes";
pub const STATUS: &str = "jwt_authz.status";
pub const REASON: &str = "jwt_authz.reason";
/// Configured claims go under this prefix and their chosen name.
pub const CLAIM_PREFIX: &str = "jwt_authz.claims.";

/// What the configuration asks to be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterState {
    /// A verified request's provider, `sub` and granted scopes.
    pub identity: bool,
    /// Claims of the verified token, each under `jwt_authz.claims.<name>`.
    pub claims: Vec<ExposedClaim>,
    /// A refused request's status and reason.
    pub failure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposedClaim {
    /// The full property name, `jwt_authz.claims.<name>`.
    pub property: String,
    /// Claim name or dotted path; see [`claims::lookup`].
    pub claim: String,
    /// The claim holds a space-delimited list (`normalize_payload_in_metadata`): written as
    /// a list, like an array.
    pub space_delimited: bool,
}

impl FilterState {
    /// Whether anything is written for a verified request.
    pub fn for_verified(&self) -> bool {
        self.identity || !self.claims.is_empty()
    }

    /// Hands `write` each value to write for a request whose first verified token came from
    /// `provider` with `claims`. Absent claims, objects and unsafe values (see
    /// [`identity::header_value`]) are left out.
    pub fn verified(
        &self,
        provider: &str,
        claims: &Map<String, Value>,
        write: &mut dyn FnMut(&str, &str),
    ) {
        if self.identity {
            write(PROVIDER, provider);
            // Auth0 grants a scope in both `scope` and `permissions`: each once.
            let mut scopes: Vec<&str> = Vec::new();
            for scope in claims::granted_scopes(claims) {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
            if let Some(scopes) = list_value(&scopes) {
                write(SCOPES, &scopes);
            }
        }
        for exposed in &self.claims {
            let value = match claims::lookup(claims, &exposed.claim) {
                Some(Value::String(text)) if exposed.space_delimited => {
                    let items: Vec<&str> = text.split_ascii_whitespace().collect();
                    list_value(&items)
                }
                Some(claim) => identity::header_value(claim),
                None => None,
            };
            if let Some(value) = value {
                write(&exposed.property, &value);
            }
        }
    }

    /// The values to write for a request refused with `status` (three digits) and `reason`.
    pub fn refused(&self, status: u32, reason: &'static str) -> Option<[(&'static str, &str); 2]> {
        // Every status a refusal has (a test holds this to `AuthError::status`).
        let status = match status {
            400 => "400",
            403 => "403",
            503 => "503",
            _ => "401",
        };
        self.failure.then_some([(STATUS, status), (REASON, reason)])
    }
}

/// Items joined with commas, as [`identity::header_value`] writes an array, and with its
/// checks.
fn list_value(items: &[&str]) -> Option<String> {
    identity::header_value(&Value::String(items.join(",")))
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

    fn exposed(name: &str, claim: &str) -> ExposedClaim {
        ExposedClaim {
            property: format!("{CLAIM_PREFIX}{name}"),
            claim: claim.into(),
            space_delimited: false,
        }
    }

    /// `identity` as the configuration sets it: `sub` is one of the claims.
    fn identity() -> FilterState {
        FilterState {
            identity: true,
            claims: vec![ExposedClaim {
                property: SUB.into(),
                claim: "sub".into(),
                space_delimited: false,
            }],
            ..FilterState::default()
        }
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// What `state` writes for a token of provider `idp` with `claims`.
    fn written(state: &FilterState, claims: &Map<String, Value>) -> Vec<(String, String)> {
        let mut values = Vec::new();
        state.verified("idp", claims, &mut |name: &str, value: &str| {
            values.push((name.to_string(), value.to_string()))
        });
        values
    }

    fn user() -> Map<String, Value> {
        claims(json!({
            "sub": "auth0|42",
            "scope": "read:messages write:messages",
            "permissions": ["admin", "read:messages"],
            "tier": "gold",
            "roles": "editor viewer",
            "groups": ["a", "b"],
            "address": {"country": "NL"},
            "level": 3
        }))
    }

    #[test]
    fn nothing_is_written_unless_asked() {
        let off = FilterState::default();
        assert!(!off.for_verified());
        assert_eq!(written(&off, &user()), vec![]);
        assert_eq!(off.refused(401, "expired"), None);
    }

    #[test]
    fn identity_is_provider_sub_and_granted_scopes() {
        let state = identity();
        assert!(state.for_verified());
        assert_eq!(
            written(&state, &user()),
            pairs(&[
                ("jwt_authz.provider", "idp"),
                ("jwt_authz.scopes", "read:messages,write:messages,admin"),
                ("jwt_authz.sub", "auth0|42"),
            ])
        );
        // No scopes: the provider and sub.
        assert_eq!(
            written(&state, &claims(json!({"sub": 7, "scope": ""}))),
            pairs(&[("jwt_authz.provider", "idp"), ("jwt_authz.sub", "7")])
        );
        assert_eq!(
            written(&state, &claims(json!({}))),
            pairs(&[("jwt_authz.provider", "idp")])
        );
    }

    #[test]
    fn configured_claims_are_written_under_their_names() {
        let state = FilterState {
            claims: vec![
                exposed("tier", "tier"),
                exposed("country", "address.country"),
                exposed("groups", "groups"),
                exposed("level", "level"),
                exposed("roles", "roles"),
                exposed("missing", "nickname"),
                exposed("address", "address"),
            ],
            ..FilterState::default()
        };
        assert_eq!(
            written(&state, &user()),
            pairs(&[
                ("jwt_authz.claims.tier", "gold"),
                ("jwt_authz.claims.country", "NL"),
                ("jwt_authz.claims.groups", "a,b"),
                ("jwt_authz.claims.level", "3"),
                ("jwt_authz.claims.roles", "editor viewer"),
            ])
        );
    }

    #[test]
    fn space_delimited_claims_are_written_as_lists() {
        let mut roles = exposed("roles", "roles");
        roles.space_delimited = true;
        let mut tier = exposed("tier", "tier");
        tier.space_delimited = true;
        let state = FilterState {
            claims: vec![roles, tier],
            ..FilterState::default()
        };
        assert_eq!(
            written(&state, &user()),
            pairs(&[
                ("jwt_authz.claims.roles", "editor,viewer"),
                ("jwt_authz.claims.tier", "gold"),
            ])
        );
    }

    #[test]
    fn values_that_could_forge_log_lines_are_left_out() {
        let mut state = identity();
        state.claims.push(exposed("note", "note"));
        let c = claims(json!({"sub": "a\nb", "note": "x\r\ny", "scope": "ok"}));
        assert_eq!(
            written(&state, &c),
            pairs(&[("jwt_authz.provider", "idp"), ("jwt_authz.scopes", "ok")])
        );
    }

    #[test]
    fn a_refusal_leaves_its_status_and_reason() {
        let state = FilterState {
            failure: true,
            ..FilterState::default()
        };
        assert!(!state.for_verified());
        assert_eq!(
            state.refused(401, "expired"),
            Some([("jwt_authz.status", "401"), ("jwt_authz.reason", "expired")])
        );
        for error in crate::error::AuthError::every_kind() {
            let written = state.refused(error.status(), error.reason());
            let [(_, status), (_, reason)] = written.unwrap();
            assert_eq!(status, error.status().to_string());
            assert_eq!(reason, error.reason());
        }
    }
}
