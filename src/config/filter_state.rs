//! `filter_state`: what the filter leaves in the request's filter state for Envoy's access
//! logs and later filters ([`crate::request::filter_state`]).

use super::reader::Object;
use super::{ConfigError, error};
use crate::request::filter_state::{CLAIM_PREFIX, ExposedClaim, FilterState, SUB};

/// The `filter_state` member of the top level; off when absent. Messages are fixed text
/// after the field's path: formatting each costs module size.
#[inline(never)]
pub(super) fn compile(top: &Object) -> Result<FilterState, ConfigError> {
    let Some(raw) = top.object("filter_state")? else {
        return Ok(FilterState::default());
    };
    let mut state = FilterState {
        identity: raw.bool("identity")?,
        failure: raw.bool("failure")?,
        ..FilterState::default()
    };
    if state.identity {
        // `sub` is written as the claims are.
        state.claims.push(ExposedClaim {
            property: SUB.into(),
            claim: "sub".into(),
            space_delimited: false,
        });
    }
    for element in raw.objects("claims")? {
        let entry = element.object()?;
        let name = entry.required_string("name")?;
        // The name ends up in access-log formats (`%FILTER_STATE(wasm.jwt_authz.claims.NAME:PLAIN)%`)
        // and CEL string literals: keep it to characters that need no quoting in either.
        let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        if name.is_empty() || !name.bytes().all(plain) {
            return Err(error(
                entry.at("name"),
                "must be letters, digits, `_` and `-` only",
            ));
        }
        let property = [CLAIM_PREFIX, &name].concat();
        if state.claims.iter().any(|c| c.property == property) {
            return Err(error(entry.at("name"), "is used twice"));
        }
        let claim = entry.required_string("claim_name")?;
        if claim.is_empty() {
            return Err(error(entry.at("claim_name"), "must not be empty"));
        }
        state.claims.push(ExposedClaim {
            property,
            claim,
            space_delimited: false,
        });
    }
    if let Some(normalize) = raw.object("normalize_payload_in_metadata")? {
        for claim in normalize.strings("space_delimited_claims")? {
            let mut named = false;
            for exposed in state.claims.iter_mut().filter(|c| c.claim == claim) {
                exposed.space_delimited = true;
                named = true;
            }
            if !named {
                return Err(error(
                    normalize.at("space_delimited_claims"),
                    "names a claim no filter_state.claims entry writes",
                ));
            }
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::request::filter_state::FilterState;
    use serde_json::{Value, json};

    fn with(filter_state: Value) -> Result<FilterState, String> {
        let config = json!({
            "rules": [{"match": {"prefix": "/"}}],
            "filter_state": filter_state
        });
        Config::from_json(config.to_string().as_bytes())
            .map(|c| c.filter_state)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn everything_can_be_asked_for() {
        let state = with(json!({
            "identity": true,
            "failure": true,
            "claims": [
                {"name": "tier", "claim_name": "tier"},
                {"name": "email", "claim_name": "https://example.com/email"},
                {"name": "roles", "claim_name": "roles"}
            ],
            "normalize_payload_in_metadata": {"space_delimited_claims": ["roles"]}
        }))
        .unwrap();
        assert!(state.identity && state.failure);
        let properties: Vec<&str> = state.claims.iter().map(|c| c.property.as_str()).collect();
        assert_eq!(
            properties,
            [
                "jwt_authz.sub",
                "jwt_authz.claims.tier",
                "jwt_authz.claims.email",
                "jwt_authz.claims.roles"
            ]
        );
        let normalized: Vec<bool> = state.claims.iter().map(|c| c.space_delimited).collect();
        assert_eq!(normalized, [false, false, false, true]);
    }

    #[test]
    fn absent_or_empty_asks_for_nothing() {
        assert_eq!(with(json!({})).unwrap(), FilterState::default());
        let config = json!({"rules": [{"match": {"prefix": "/"}}]});
        let config = Config::from_json(config.to_string().as_bytes()).unwrap();
        assert_eq!(config.filter_state, FilterState::default());
    }

    #[test]
    fn mistakes_name_their_field() {
        for (filter_state, expected) in [
            (
                json!({"identity": "yes"}),
                "filter_state.identity: must be a boolean",
            ),
            (
                json!({"failure": 1}),
                "filter_state.failure: must be a boolean",
            ),
            (
                json!({"sub": true}),
                "filter_state.sub: unknown field `sub`, expected one of `identity`",
            ),
            (
                json!({"claims": [{"name": "a b", "claim_name": "x"}]}),
                "filter_state.claims[0].name: must be letters, digits, `_` and `-` only",
            ),
            (
                json!({"claims": [{"name": "", "claim_name": "x"}]}),
                "filter_state.claims[0].name: must be letters",
            ),
            (
                json!({"claims": [{"name": "a:PLAIN", "claim_name": "x"}]}),
                "filter_state.claims[0].name: must be letters",
            ),
            (
                json!({"claims": [{"name": "t", "claim_name": "x"}, {"name": "t", "claim_name": "y"}]}),
                "filter_state.claims[1].name: is used twice",
            ),
            (
                json!({"claims": [{"name": "t", "claim_name": ""}]}),
                "filter_state.claims[0].claim_name: must not be empty",
            ),
            (
                json!({"claims": [{"name": "t"}]}),
                "filter_state.claims[0]: missing field `claim_name`",
            ),
            (
                json!({"normalize_payload_in_metadata": {"space_delimited_claims": ["scope"]}}),
                "filter_state.normalize_payload_in_metadata.space_delimited_claims: names a claim no filter_state.claims entry writes",
            ),
            (
                json!({"normalize_payload_in_metadata": {"space_delimited_claims": [3]}}),
                "filter_state.normalize_payload_in_metadata.space_delimited_claims[0]: must be a string",
            ),
            (json!(true), "filter_state: must be an object"),
        ] {
            let refused = with(filter_state.clone()).unwrap_err();
            assert!(
                refused.starts_with(expected),
                "{filter_state}: {refused} (expected {expected})"
            );
        }
    }
}
