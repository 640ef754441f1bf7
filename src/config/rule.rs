//! `rules[]`: matches, requirements (jwt_authn's vocabulary), scopes and claim requirements.

use super::{ConfigError, Provider, error, is_quotable};
use crate::access::{Access, ClaimCondition, ClaimRequirement};
use crate::requirement::Requirement;
use crate::rules::{HeaderCondition, HeaderMatcher, PathMatch, RouteMatch, Rule};
use serde::Deserialize;
use serde_json::Value;

/// Longest `safe_regex` accepted: the compiled program grows with the pattern.
const MAX_REGEX_CHARS: usize = 1024;
/// Compiled regex programs beyond this are refused (bytes of regex-lite's program).
const MAX_REGEX_PROGRAM_BYTES: usize = 256 * 1024;
/// Requirements nest at most this deep.
const MAX_REQUIREMENT_DEPTH: usize = 8;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    #[serde(rename = "match")]
    matcher: RawMatch,
    requires: Option<RawRequirement>,
    #[serde(default)]
    required_scopes: Vec<String>,
    #[serde(default)]
    required_scopes_any: Vec<String>,
    #[serde(default)]
    required_claims: Vec<RawClaimRequirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    prefix: Option<String>,
    path: Option<String>,
    safe_regex: Option<RawRegex>,
    #[serde(default)]
    headers: Vec<RawHeaderMatcher>,
    #[serde(default)]
    methods: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegex {
    regex: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeaderMatcher {
    name: String,
    exact_match: Option<String>,
    prefix_match: Option<String>,
    present_match: Option<bool>,
    #[serde(default)]
    invert_match: bool,
}

/// Exactly one member, as in jwt_authn's `JwtRequirement` oneof.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    provider_name: Option<String>,
    provider_and_audiences: Option<RawProviderAndAudiences>,
    requires_any: Option<RawRequirementList>,
    requires_all: Option<RawRequirementList>,
    allow_missing: Option<RawEmpty>,
    allow_missing_or_failed: Option<RawEmpty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProviderAndAudiences {
    provider_name: String,
    audiences: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirementList {
    requirements: Vec<RawRequirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmpty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaimRequirement {
    name: String,
    equals: Option<Value>,
    one_of: Option<Vec<Value>>,
    contains: Option<Value>,
}

pub(super) fn compile(
    path: &str,
    raw: RawRule,
    providers: &[Provider],
) -> Result<Rule, ConfigError> {
    let matcher = compile_match(&format!("{path}.match"), raw.matcher)?;
    let requirement = raw
        .requires
        .map(|r| compile_requirement(&format!("{path}.requires"), r, providers, 1))
        .transpose()?;
    let access = Access {
        all_scopes: compile_scopes(&format!("{path}.required_scopes"), raw.required_scopes)?,
        any_scopes: compile_scopes(
            &format!("{path}.required_scopes_any"),
            raw.required_scopes_any,
        )?,
        claims: raw
            .required_claims
            .into_iter()
            .enumerate()
            .map(|(i, c)| compile_claim(&format!("{path}.required_claims[{i}]"), c))
            .collect::<Result<_, _>>()?,
    };
    if !access.is_empty() {
        let unverified_possible = requirement
            .as_ref()
            .is_none_or(Requirement::can_pass_without_token);
        if unverified_possible {
            return Err(error(
                path,
                "required_scopes, required_scopes_any and required_claims need a requirement that always verifies a token (not absent, allow_missing or allow_missing_or_failed)",
            ));
        }
    }
    Ok(Rule {
        matcher,
        requirement,
        access,
    })
}

fn compile_match(path: &str, raw: RawMatch) -> Result<RouteMatch, ConfigError> {
    let path_match = match (raw.prefix, raw.path, raw.safe_regex) {
        (Some(prefix), None, None) => PathMatch::Prefix(starts_with_slash(path, "prefix", prefix)?),
        (None, Some(exact), None) => PathMatch::Exact(starts_with_slash(path, "path", exact)?),
        (None, None, Some(regex)) => {
            compile_regex(&format!("{path}.safe_regex.regex"), &regex.regex)?
        }
        _ => {
            return Err(error(
                path,
                "give exactly one of prefix, path or safe_regex",
            ));
        }
    };
    let headers = raw
        .headers
        .into_iter()
        .enumerate()
        .map(|(i, h)| compile_header_matcher(&format!("{path}.headers[{i}]"), h))
        .collect::<Result<_, _>>()?;
    for (i, method) in raw.methods.iter().enumerate() {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(error(
                format!("{path}.methods[{i}]"),
                format!("{method:?} is not a method name (upper-case letters, like \"GET\")"),
            ));
        }
    }
    Ok(RouteMatch {
        path: path_match,
        headers,
        methods: raw.methods,
    })
}

fn starts_with_slash(path: &str, field: &str, value: String) -> Result<String, ConfigError> {
    if !value.starts_with('/') {
        return Err(error(
            format!("{path}.{field}"),
            format!("{value:?} must start with '/'"),
        ));
    }
    Ok(value)
}

/// `safe_regex` must match the whole path, as Envoy's does; regex-lite runs in linear time.
fn compile_regex(path: &str, pattern: &str) -> Result<PathMatch, ConfigError> {
    if pattern.is_empty() || pattern.chars().count() > MAX_REGEX_CHARS {
        return Err(error(
            path,
            format!("must be 1 to {MAX_REGEX_CHARS} characters"),
        ));
    }
    regex_lite::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(MAX_REGEX_PROGRAM_BYTES)
        .build()
        .map(PathMatch::Regex)
        .map_err(|e| error(path, format!("invalid regex: {e}")))
}

fn compile_header_matcher(path: &str, raw: RawHeaderMatcher) -> Result<HeaderMatcher, ConfigError> {
    let name = raw.name.to_ascii_lowercase();
    let bare = name.strip_prefix(':').unwrap_or(&name);
    if bare.is_empty() || !bare.bytes().all(super::is_header_name_byte) {
        return Err(error(
            format!("{path}.name"),
            format!("{:?} is not a valid header name", raw.name),
        ));
    }
    let (condition, invert) = match (raw.exact_match, raw.prefix_match, raw.present_match) {
        (Some(value), None, None) => (HeaderCondition::Exact(value), raw.invert_match),
        (None, Some(prefix), None) => (HeaderCondition::Prefix(prefix), raw.invert_match),
        // `present_match: false` means "absent", as in Envoy.
        (None, None, Some(present)) => (HeaderCondition::Present, raw.invert_match == present),
        _ => {
            return Err(error(
                path,
                "give exactly one of exact_match, prefix_match or present_match",
            ));
        }
    };
    Ok(HeaderMatcher {
        name,
        condition,
        invert,
    })
}

fn compile_requirement(
    path: &str,
    raw: RawRequirement,
    providers: &[Provider],
    depth: usize,
) -> Result<Requirement, ConfigError> {
    if depth > MAX_REQUIREMENT_DEPTH {
        return Err(error(
            path,
            format!("requirements nest at most {MAX_REQUIREMENT_DEPTH} deep"),
        ));
    }
    let provider_index = |field: String, name: &str| {
        providers
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| error(field, format!("no provider is called {name:?}")))
    };
    let list = |field: &str, list: RawRequirementList| -> Result<Vec<Requirement>, ConfigError> {
        if list.requirements.is_empty() {
            return Err(error(
                format!("{path}.{field}.requirements"),
                "must list at least one requirement",
            ));
        }
        list.requirements
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                compile_requirement(
                    &format!("{path}.{field}.requirements[{i}]"),
                    r,
                    providers,
                    depth + 1,
                )
            })
            .collect()
    };
    let RawRequirement {
        provider_name,
        provider_and_audiences,
        requires_any,
        requires_all,
        allow_missing,
        allow_missing_or_failed,
    } = raw;
    let given = [
        provider_name.is_some(),
        provider_and_audiences.is_some(),
        requires_any.is_some(),
        requires_all.is_some(),
        allow_missing.is_some(),
        allow_missing_or_failed.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(error(
            path,
            "give exactly one of provider_name, provider_and_audiences, requires_any, requires_all, allow_missing or allow_missing_or_failed",
        ));
    }
    if let Some(name) = provider_name {
        return Ok(Requirement::Provider {
            provider: provider_index(format!("{path}.provider_name"), &name)?,
            audiences: None,
        });
    }
    if let Some(p) = provider_and_audiences {
        let at = format!("{path}.provider_and_audiences");
        let provider = provider_index(format!("{at}.provider_name"), &p.provider_name)?;
        if p.audiences.is_empty() {
            return Err(error(
                format!("{at}.audiences"),
                "must list at least one audience",
            ));
        }
        if let Some(i) = p.audiences.iter().position(String::is_empty) {
            return Err(error(format!("{at}.audiences[{i}]"), "must not be empty"));
        }
        return Ok(Requirement::Provider {
            provider,
            audiences: Some(p.audiences),
        });
    }
    if let Some(any) = requires_any {
        return Ok(Requirement::Any(list("requires_any", any)?));
    }
    if let Some(all) = requires_all {
        return Ok(Requirement::All(list("requires_all", all)?));
    }
    if allow_missing.is_some() {
        return Ok(Requirement::AllowMissing);
    }
    Ok(Requirement::AllowMissingOrFailed)
}

fn compile_scopes(path: &str, scopes: Vec<String>) -> Result<Vec<String>, ConfigError> {
    if let Some((i, scope)) = scopes.iter().enumerate().find(|(_, s)| !is_scope_token(s)) {
        return Err(error(
            format!("{path}[{i}]"),
            format!(
                "{scope:?} is not a valid scope (RFC 6749: printable ASCII, no spaces, quotes or backslashes)"
            ),
        ));
    }
    Ok(scopes)
}

fn compile_claim(path: &str, raw: RawClaimRequirement) -> Result<ClaimRequirement, ConfigError> {
    // The name appears in the 403's error_description, so it must be safe to quote there.
    if raw.name.is_empty() || !is_quotable(&raw.name) {
        return Err(error(
            format!("{path}.name"),
            "must be non-empty printable ASCII without quotes or backslashes",
        ));
    }
    let condition = match (raw.equals, raw.one_of, raw.contains) {
        (Some(value), None, None) => {
            ClaimCondition::Equals(scalar(&format!("{path}.equals"), value)?)
        }
        (None, Some(values), None) => {
            if values.is_empty() {
                return Err(error(
                    format!("{path}.one_of"),
                    "must list at least one value",
                ));
            }
            ClaimCondition::OneOf(
                values
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| scalar(&format!("{path}.one_of[{i}]"), v))
                    .collect::<Result<_, _>>()?,
            )
        }
        (None, None, Some(value)) => {
            ClaimCondition::Contains(scalar(&format!("{path}.contains"), value)?)
        }
        _ => {
            return Err(error(
                path,
                "give exactly one of equals, one_of or contains",
            ));
        }
    };
    Ok(ClaimRequirement {
        name: raw.name,
        condition,
    })
}

/// Claim values to compare with are strings, numbers or booleans.
fn scalar(path: &str, value: Value) -> Result<Value, ConfigError> {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(value),
        _ => Err(error(path, "must be a string, a number or a boolean")),
    }
}

/// RFC 6749 `scope-token`: %x21 / %x23-5B / %x5D-7E.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}
