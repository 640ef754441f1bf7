//! `rules[]`: matches, requirements (jwt_authn's vocabulary), scopes and claim requirements.

use super::fields::REQUIREMENT;
use super::reader::{Element, Object};
use super::{ConfigError, Provider, error, is_quotable, keep, keep_all, unknown_provider};
use crate::policy::access::{Access, ClaimCondition, ClaimRequirement};
use crate::policy::matcher::{Pattern, StringMatch};
use crate::policy::requirement::Requirement;
use crate::policy::rules::{HeaderCondition, HeaderMatcher, PathMatch, RouteMatch, Rule};
use serde_json::Value;

/// Longest `safe_regex` accepted: the compiled program grows with the pattern.
const MAX_REGEX_CHARS: usize = 1024;
/// Compiled regex programs beyond this are refused (bytes of regex-lite's program).
const MAX_REGEX_PROGRAM_BYTES: usize = 256 * 1024;
/// Requirements nest at most this deep.
const MAX_REQUIREMENT_DEPTH: usize = 8;

/// A rule, or every error found in it: the match, the requirement, the scopes and each
/// claim requirement are checked even when another part is refused (the first mistake
/// within each).
pub(super) fn compile(
    element: &Element,
    providers: &[Provider],
    requirement_map: &[(String, Requirement)],
) -> Result<Rule, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let path = &element.path;
    let raw = element
        .object_collecting(&mut errors)
        .map_err(|e| vec![e])?;
    let raw_match = raw.required_object("match");
    let matcher = keep(&mut errors, raw_match).and_then(|raw_match| {
        compile_match(&raw_match, providers)
            .map_err(|refusals| errors.extend(refusals))
            .ok()
    });
    let requirement = keep(
        &mut errors,
        compile_rule_requirement(&raw, providers, requirement_map),
    );
    let all_scopes = keep(&mut errors, compile_scopes(&raw, "required_scopes"));
    let any_scopes = keep(&mut errors, compile_scopes(&raw, "required_scopes_any"));
    let claims = keep(&mut errors, raw.objects("required_claims"))
        .and_then(|claims| keep_all(&mut errors, claims.iter().map(compile_claim)));
    let (Some(matcher), Some(requirement), Some(all_scopes), Some(any_scopes), Some(claims)) =
        (matcher, requirement, all_scopes, any_scopes, claims)
    else {
        return Err(errors);
    };
    let access = Access {
        all_scopes,
        any_scopes,
        claims,
    };
    if !access.is_empty()
        && requirement
            .as_ref()
            .is_none_or(Requirement::can_pass_without_token)
    {
        errors.push(error(
            path,
            "required_scopes, required_scopes_any and required_claims need a requirement that always verifies a token (not absent, allow_missing or allow_missing_or_failed)",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Rule {
        matcher,
        requirement,
        access,
    })
}

/// A rule's `requires`, or the requirement of `requirement_map` its `requirement_name` names
/// (jwt_authn's `RequirementRule` oneof); neither lets the request through.
fn compile_rule_requirement(
    raw: &Object,
    providers: &[Provider],
    requirement_map: &[(String, Requirement)],
) -> Result<Option<Requirement>, ConfigError> {
    let requires = raw.object("requires")?;
    match (requires, raw.string("requirement_name")?) {
        (Some(requires), None) => compile_requirement(&requires, providers, 1).map(Some),
        (None, Some(name)) => requirement_map
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, requirement)| Some(requirement.clone()))
            .ok_or_else(|| {
                error(
                    raw.at("requirement_name"),
                    format!("requirement_map has no requirement called {name:?}"),
                )
            }),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(error(
            raw.path(),
            "give requires or requirement_name, not both",
        )),
    }
}

/// The route match, or every error found in it.
fn compile_match(raw: &Object, providers: &[Provider]) -> Result<RouteMatch, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let route_name = keep(&mut errors, optional_string_match(raw, "route_name"));
    let virtual_host_name = keep(&mut errors, optional_string_match(raw, "virtual_host_name"));
    let names_route = raw.has("route_name") || raw.has("virtual_host_name");
    let path = keep(&mut errors, compile_path_match(raw, names_route));
    let headers = keep(&mut errors, raw.objects("headers")).and_then(|headers| {
        keep_all(
            &mut errors,
            headers
                .iter()
                .map(|header| compile_header_matcher(header, providers)),
        )
    });
    let methods = keep(&mut errors, compile_methods(raw));
    match (path, headers, methods, route_name, virtual_host_name) {
        (Some(path), Some(headers), Some(methods), Some(route_name), Some(virtual_host_name))
            if errors.is_empty() =>
        {
            Ok(RouteMatch {
                path,
                headers,
                methods,
                route_name,
                virtual_host_name,
            })
        }
        _ => Err(errors),
    }
}

fn optional_string_match(raw: &Object, name: &str) -> Result<Option<StringMatch>, ConfigError> {
    raw.object(name)?
        .map(|matcher| compile_string_match(&matcher))
        .transpose()
}

/// An Envoy `StringMatcher` (`subjects`, `route_name`, `virtual_host_name`).
pub(super) fn compile_string_match(raw: &Object) -> Result<StringMatch, ConfigError> {
    let ignore_case = raw.bool("ignore_case")?;
    let mut given = ["exact", "prefix", "suffix", "contains", "safe_regex"]
        .into_iter()
        .filter(|name| raw.has(name));
    let (Some(name), None) = (given.next(), given.next()) else {
        return Err(error(
            raw.path(),
            "give exactly one of exact, prefix, suffix, contains or safe_regex",
        ));
    };
    if name == "safe_regex" {
        if ignore_case {
            return Err(error(
                raw.at("ignore_case"),
                "does not apply to safe_regex: write (?i) in the pattern",
            ));
        }
        let regex = raw.required_object("safe_regex")?;
        let at = regex.at("regex");
        return Ok(StringMatch {
            pattern: Pattern::Regex(anchored_regex(&at, &regex.required_string("regex")?)?),
            ignore_case,
        });
    }
    let mut text = raw.required_string(name)?;
    if text.is_empty() {
        return Err(error(raw.at(name), "must not be empty"));
    }
    if ignore_case {
        text.make_ascii_lowercase();
    }
    let pattern = match name {
        "exact" => Pattern::Exact(text),
        "prefix" => Pattern::Prefix(text),
        "suffix" => Pattern::Suffix(text),
        _ => Pattern::Contains(text),
    };
    Ok(StringMatch {
        pattern,
        ignore_case,
    })
}

/// The path condition; none at all matches any path, but only in a match that names a route
/// or virtual host.
fn compile_path_match(raw: &Object, names_route: bool) -> Result<PathMatch, ConfigError> {
    let regex = raw.object("safe_regex")?;
    match (raw.string("prefix")?, raw.string("path")?, regex) {
        (None, None, None) if names_route => Ok(PathMatch::Prefix(String::new())),
        (Some(prefix), None, None) => {
            Ok(PathMatch::Prefix(starts_with_slash(raw, "prefix", prefix)?))
        }
        (None, Some(exact), None) => Ok(PathMatch::Exact(starts_with_slash(raw, "path", exact)?)),
        (None, None, Some(regex)) => Ok(PathMatch::Regex(anchored_regex(
            &regex.at("regex"),
            &regex.required_string("regex")?,
        )?)),
        (None, None, None) => Err(error(
            raw.path(),
            "give exactly one of prefix, path or safe_regex (or none, with route_name or virtual_host_name)",
        )),
        _ => Err(error(
            raw.path(),
            "give exactly one of prefix, path or safe_regex",
        )),
    }
}

fn compile_methods(raw: &Object) -> Result<Vec<String>, ConfigError> {
    let methods = raw.strings("methods")?;
    for (i, method) in methods.iter().enumerate() {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(error(
                raw.at_index("methods", i),
                format!("{method:?} is not a method name (upper-case letters, like \"GET\")"),
            ));
        }
    }
    Ok(methods)
}

fn starts_with_slash(raw: &Object, field: &str, value: String) -> Result<String, ConfigError> {
    if !value.starts_with('/') {
        return Err(error(
            raw.at(field),
            format!("{value:?} must start with '/'"),
        ));
    }
    Ok(value)
}

/// `safe_regex` must match the whole value, as Envoy's does; regex-lite runs in linear time.
fn anchored_regex(path: &str, pattern: &str) -> Result<regex_lite::Regex, ConfigError> {
    if pattern.is_empty() || pattern.chars().count() > MAX_REGEX_CHARS {
        return Err(error(
            path,
            format!("must be 1 to {MAX_REGEX_CHARS} characters"),
        ));
    }
    // Compiled alone first: "/a)|(.*" must not escape the anchors added below.
    regex_lite::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_PROGRAM_BYTES)
        .build()
        .map_err(|e| error(path, format!("invalid regex: {e}")))?;
    regex_lite::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(MAX_REGEX_PROGRAM_BYTES)
        .build()
        .map_err(|e| error(path, format!("invalid regex: {e}")))
}

fn compile_header_matcher(
    element: &Element,
    providers: &[Provider],
) -> Result<HeaderMatcher, ConfigError> {
    let raw = element.object()?;
    let given_name = raw.required_string("name")?;
    let name = given_name.to_ascii_lowercase();
    let bare = name.strip_prefix(':').unwrap_or(&name);
    if bare.is_empty() || !bare.bytes().all(super::is_header_name_byte) {
        return Err(error(
            raw.at("name"),
            format!("{given_name:?} is not a valid header name"),
        ));
    }
    // Rules are matched before identity headers are cleaned: the client's copy would decide.
    let dashed = name.replace('_', "-");
    if providers
        .iter()
        .any(|p| p.identity.names().any(|n| n == dashed))
    {
        return Err(error(
            raw.at("name"),
            format!(
                "{given_name:?} is an identity header the filter sets: matching on it would trust the client's copy"
            ),
        ));
    }
    let invert_match = raw.bool("invert_match")?;
    let present_match = match raw.get("present_match") {
        None => None,
        Some(_) => Some(raw.bool("present_match")?),
    };
    let exact = raw.string("exact_match")?;
    let prefix = raw.string("prefix_match")?;
    // No header value carries a control character (bytes that are not UTF-8 read as NUL): a
    // matcher holding one could only ever match those.
    for (field, value) in [("exact_match", &exact), ("prefix_match", &prefix)] {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().any(char::is_control))
        {
            return Err(error(raw.at(field), "must not contain control characters"));
        }
    }
    let (condition, invert) = match (exact, prefix, present_match) {
        (Some(value), None, None) => (HeaderCondition::Exact(value), invert_match),
        (None, Some(prefix), None) => (HeaderCondition::Prefix(prefix), invert_match),
        // `present_match: false` means "absent", as in Envoy.
        (None, None, Some(present)) => (HeaderCondition::Present, invert_match == present),
        _ => {
            return Err(error(
                raw.path(),
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

/// One `JwtRequirement`: exactly one member, as in jwt_authn's oneof.
pub(super) fn compile_requirement(
    raw: &Object,
    providers: &[Provider],
    depth: usize,
) -> Result<Requirement, ConfigError> {
    let path = raw.path();
    if depth > MAX_REQUIREMENT_DEPTH {
        return Err(error(
            path,
            format!("requirements nest at most {MAX_REQUIREMENT_DEPTH} deep"),
        ));
    }
    let given: Vec<&str> = REQUIREMENT
        .iter()
        .map(|kind| kind.name)
        .filter(|kind| raw.has(kind))
        .collect();
    let [kind] = given.as_slice() else {
        return Err(error(
            path,
            "give exactly one of provider_name, provider_and_audiences, requires_any, requires_all, allow_missing or allow_missing_or_failed",
        ));
    };
    let provider_index = |at: String, name: &str| {
        providers
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| error(at, unknown_provider(name)))
    };
    let list = |field: &str| -> Result<Vec<Requirement>, ConfigError> {
        let list = raw.required_object(field)?;
        let items = list.objects("requirements")?;
        if items.is_empty() {
            return Err(error(
                list.at("requirements"),
                "must list at least one requirement",
            ));
        }
        items
            .into_iter()
            .map(|item| compile_requirement(&item.object()?, providers, depth + 1))
            .collect()
    };
    match *kind {
        "provider_name" => Ok(Requirement::Provider {
            provider: provider_index(
                raw.at("provider_name"),
                &raw.required_string("provider_name")?,
            )?,
            audiences: None,
        }),
        "provider_and_audiences" => {
            let p = raw.required_object("provider_and_audiences")?;
            let provider =
                provider_index(p.at("provider_name"), &p.required_string("provider_name")?)?;
            let audiences = p.strings("audiences")?;
            if audiences.is_empty() {
                return Err(error(p.at("audiences"), "must list at least one audience"));
            }
            if let Some(i) = audiences.iter().position(String::is_empty) {
                return Err(error(p.at_index("audiences", i), "must not be empty"));
            }
            Ok(Requirement::Provider {
                provider,
                audiences: Some(audiences),
            })
        }
        "requires_any" => Ok(Requirement::Any(list("requires_any")?)),
        "requires_all" => Ok(Requirement::All(list("requires_all")?)),
        "allow_missing" => {
            raw.required_object("allow_missing")?;
            Ok(Requirement::AllowMissing)
        }
        _ => {
            raw.required_object("allow_missing_or_failed")?;
            Ok(Requirement::AllowMissingOrFailed)
        }
    }
}

fn compile_scopes(rule: &Object, field: &str) -> Result<Vec<String>, ConfigError> {
    let scopes = rule.strings(field)?;
    if let Some((i, scope)) = scopes.iter().enumerate().find(|(_, s)| !is_scope_token(s)) {
        return Err(error(
            rule.at_index(field, i),
            format!(
                "{scope:?} is not a valid scope (RFC 6749: printable ASCII, no spaces, quotes or backslashes)"
            ),
        ));
    }
    Ok(scopes)
}

fn compile_claim(element: &Element) -> Result<ClaimRequirement, ConfigError> {
    let path = &element.path;
    let raw = element.object()?;
    let name = raw.required_string("name")?;
    // The name appears in the 403's error_description, so it must be safe to quote there.
    if name.is_empty() || !is_quotable(&name) {
        return Err(error(
            raw.at("name"),
            "must be non-empty printable ASCII without quotes or backslashes",
        ));
    }
    let one_of = raw.has("one_of").then(|| raw.array("one_of")).transpose()?;
    let condition = match (raw.get("equals"), one_of, raw.get("contains")) {
        (Some(value), None, None) => ClaimCondition::Equals(scalar(raw.at("equals"), value)?),
        (None, Some(values), None) => {
            if values.is_empty() {
                return Err(error(raw.at("one_of"), "must list at least one value"));
            }
            ClaimCondition::OneOf(
                values
                    .into_iter()
                    .map(|(at, v)| scalar(at, v))
                    .collect::<Result<_, _>>()?,
            )
        }
        (None, None, Some(value)) => ClaimCondition::Contains(scalar(raw.at("contains"), value)?),
        _ => {
            return Err(error(
                path,
                "give exactly one of equals, one_of or contains",
            ));
        }
    };
    Ok(ClaimRequirement { name, condition })
}

/// Claim values to compare with are strings, numbers or booleans.
fn scalar(path: String, value: &Value) -> Result<Value, ConfigError> {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(value.clone()),
        _ => Err(error(path, "must be a string, a number or a boolean")),
    }
}

/// RFC 6749 `scope-token`: %x21 / %x23-5B / %x5D-7E.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};
    use crate::policy::access::ClaimCondition;
    use crate::policy::requirement::Requirement;
    use crate::policy::rules::{HeaderCondition, PathMatch};
    use serde_json::{Value, json};

    fn config(rules: Value) -> Result<Config, ConfigError> {
        let jwks = crate::config::tests::inline_jwks();
        let provider = |issuer: &str| json!({"issuer": issuer, "audiences": ["a"], "local_jwks": {"inline_string": jwks}});
        let json = json!({
            "providers": {"customers": provider("https://c/"), "staff": provider("https://s/")},
            "rules": rules
        });
        Config::from_json(json.to_string().as_bytes())
    }

    fn refused(rule: Value) -> ConfigError {
        config(json!([rule])).expect_err("rule should be refused")
    }

    #[test]
    fn requirements_compile_to_the_tree() {
        let c = config(json!([{"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [
            {"provider_name": "customers"},
            {"requires_all": {"requirements": [
                {"provider_and_audiences": {"provider_name": "staff", "audiences": ["https://admin"]}},
                {"allow_missing": {}}
            ]}},
            {"allow_missing_or_failed": {}}
        ]}}}]))
        .unwrap();
        assert_eq!(
            c.rules[0].requirement,
            Some(Requirement::Any(vec![
                Requirement::Provider {
                    provider: 0,
                    audiences: None
                },
                Requirement::All(vec![
                    Requirement::Provider {
                        provider: 1,
                        audiences: Some(vec!["https://admin".into()])
                    },
                    Requirement::AllowMissing
                ]),
                Requirement::AllowMissingOrFailed
            ]))
        );
    }

    #[test]
    fn a_requirement_has_exactly_one_kind() {
        let e = refused(json!({"match": {"prefix": "/"}, "requires": {}}));
        assert_eq!(e.path, "rules[0].requires");
        assert!(
            e.message.starts_with("give exactly one of provider_name"),
            "{e}"
        );
        let e = refused(
            json!({"match": {"prefix": "/"}, "requires": {"provider_name": "customers", "allow_missing": {}}}),
        );
        assert_eq!(e.path, "rules[0].requires");
        let e = refused(json!({"match": {"prefix": "/"}, "requires": {"allow_missing": {"x": 1}}}));
        assert_eq!(e.path, "rules[0].requires.allow_missing.x");
    }

    #[test]
    fn nested_errors_name_their_path() {
        let e = refused(
            json!({"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [
            {"provider_name": "customers"}, {"provider_name": "nobody"}]}}}),
        );
        assert_eq!(
            e.path,
            "rules[0].requires.requires_any.requirements[1].provider_name"
        );
        assert_eq!(e.message, "no provider is called \"nobody\"");
        let e = refused(
            json!({"match": {"prefix": "/"}, "requires": {"requires_all": {"requirements": []}}}),
        );
        assert_eq!(e.path, "rules[0].requires.requires_all.requirements");
        let e = refused(
            json!({"match": {"prefix": "/"}, "requires": {"provider_and_audiences": {
            "provider_name": "customers", "audiences": []}}}),
        );
        assert_eq!(e.path, "rules[0].requires.provider_and_audiences.audiences");
    }

    #[test]
    fn nesting_is_bounded() {
        let mut requirement = json!({"provider_name": "customers"});
        for _ in 0..9 {
            requirement = json!({"requires_any": {"requirements": [requirement]}});
        }
        let e = refused(json!({"match": {"prefix": "/"}, "requires": requirement}));
        assert!(e.message.contains("nest at most 8 deep"), "{e}");
    }

    #[test]
    fn scopes_and_claims_need_a_requirement_that_always_verifies() {
        for requires in [
            Value::Null,
            json!({"allow_missing": {}}),
            json!({"requires_any": {"requirements": [{"provider_name": "customers"}, {"allow_missing_or_failed": {}}]}}),
        ] {
            let mut rule = json!({"match": {"prefix": "/"}, "required_scopes": ["read"]});
            if !requires.is_null() {
                rule["requires"] = requires;
            }
            let e = refused(rule);
            assert_eq!(e.path, "rules[0]");
            assert!(e.message.contains("always verifies a token"), "{e}");
        }
        let e = refused(
            json!({"match": {"prefix": "/"}, "required_claims": [{"name": "gty", "equals": "x"}]}),
        );
        assert!(e.message.contains("always verifies a token"), "{e}");
    }

    #[test]
    fn scopes_must_be_scope_tokens() {
        let e = refused(
            json!({"match": {"prefix": "/"}, "requires": {"provider_name": "customers"},
            "required_scopes_any": ["ok", "read messages"]}),
        );
        assert_eq!(e.path, "rules[0].required_scopes_any[1]");
    }

    #[test]
    fn matches_compile() {
        let c = config(json!([{"match": {
            "safe_regex": {"regex": "/users/[0-9]+"},
            "headers": [
                {"name": "X-Tenant", "exact_match": "staff"},
                {"name": ":authority", "prefix_match": "admin."},
                {"name": "x-debug", "present_match": false}
            ],
            "methods": ["GET", "POST"]
        }}]))
        .unwrap();
        let m = &c.rules[0].matcher;
        assert!(matches!(m.path, PathMatch::Regex(_)));
        assert_eq!(m.headers[0].name, "x-tenant");
        assert_eq!(
            m.headers[0].condition,
            HeaderCondition::Exact("staff".into())
        );
        assert_eq!(m.headers[1].name, ":authority");
        assert_eq!(m.headers[2].condition, HeaderCondition::Present);
        assert!(m.headers[2].invert, "present_match: false means absent");
        assert_eq!(m.methods, vec!["GET", "POST"]);
    }

    #[test]
    fn match_refusals_name_the_field() {
        for (matcher, path, message) in [
            (
                json!({"prefix": "/", "path": "/x"}),
                "rules[0].match",
                "give exactly one of prefix, path or safe_regex",
            ),
            (
                json!({}),
                "rules[0].match",
                "give exactly one of prefix, path or safe_regex",
            ),
            (
                json!({"prefix": "api"}),
                "rules[0].match.prefix",
                "must start with '/'",
            ),
            (
                json!({"safe_regex": {"regex": "(unclosed"}}),
                "rules[0].match.safe_regex.regex",
                "invalid regex",
            ),
            (
                json!({"safe_regex": {"regex": ""}}),
                "rules[0].match.safe_regex.regex",
                "1 to 1024 characters",
            ),
            (
                json!({"safe_regex": {"regex": "a".repeat(1025)}}),
                "rules[0].match.safe_regex.regex",
                "1 to 1024 characters",
            ),
            (
                json!({"prefix": "/", "methods": ["get"]}),
                "rules[0].match.methods[0]",
                "not a method name",
            ),
            (
                json!({"prefix": "/", "headers": [{"name": "x"}]}),
                "rules[0].match.headers[0]",
                "give exactly one of exact_match",
            ),
            (
                json!({"prefix": "/", "headers": [{"name": "a b", "exact_match": "x"}]}),
                "rules[0].match.headers[0].name",
                "not a valid header name",
            ),
            (
                json!({"prefix": "/", "headers": [{"name": "x", "exact_match": "a\u{0}"}]}),
                "rules[0].match.headers[0].exact_match",
                "must not contain control characters",
            ),
            (
                json!({"prefix": "/", "headers": [{"name": "x", "prefix_match": "\t"}]}),
                "rules[0].match.headers[0].prefix_match",
                "must not contain control characters",
            ),
            (
                json!({"prefix": "/", "case_sensitive": false}),
                "rules[0].match.case_sensitive",
                "unknown field `case_sensitive`",
            ),
        ] {
            let e = refused(json!({"match": matcher}));
            assert_eq!(e.path, path, "{matcher}");
            assert!(e.message.contains(message), "{matcher}: {e}");
        }
    }

    #[test]
    fn an_unbalanced_regex_cannot_escape_the_whole_path_anchors() {
        let e = refused(json!({"match": {"safe_regex": {"regex": "/public)|(.*"}}}));
        assert_eq!(e.path, "rules[0].match.safe_regex.regex");
        assert!(e.message.contains("invalid regex"), "{e}");
    }

    #[test]
    fn rules_cannot_match_on_identity_headers() {
        let jwks = crate::config::tests::inline_jwks();
        let json = json!({
            "providers": {"p": {"issuer": "https://p/", "audiences": ["a"], "local_jwks": {"inline_string": jwks},
                "claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"}]}},
            "rules": [{"match": {"prefix": "/", "headers": [{"name": "X_User_Id", "present_match": true}]}}]
        });
        let e = Config::from_json(json.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.path, "rules[0].match.headers[0].name");
        assert!(e.message.contains("identity header"), "{e}");
    }

    #[test]
    fn a_regex_too_big_to_compile_is_refused() {
        let e = refused(json!({"match": {"safe_regex": {"regex": "(a{1000}){1000}"}}}));
        assert_eq!(e.path, "rules[0].match.safe_regex.regex");
        assert!(e.message.contains("invalid regex"), "{e}");
    }

    #[test]
    fn claim_requirements_compile_and_refuse() {
        let c = config(
            json!([{"match": {"prefix": "/"}, "requires": {"provider_name": "customers"},
            "required_claims": [
                {"name": "https://example.com/roles", "contains": "admin"},
                {"name": "azp", "one_of": ["a", "b"]},
                {"name": "tier", "equals": 3}
            ]}]),
        )
        .unwrap();
        let claims = &c.rules[0].access.claims;
        assert_eq!(
            claims[0].condition,
            ClaimCondition::Contains(json!("admin"))
        );
        assert_eq!(
            claims[1].condition,
            ClaimCondition::OneOf(vec![json!("a"), json!("b")])
        );
        assert_eq!(claims[2].condition, ClaimCondition::Equals(json!(3)));

        for (claim, path, message) in [
            (
                json!({"name": "gty"}),
                "rules[0].required_claims[0]",
                "give exactly one of equals",
            ),
            (
                json!({"name": "gty", "equals": "a", "contains": "b"}),
                "rules[0].required_claims[0]",
                "give exactly one of equals",
            ),
            (
                json!({"name": "a\"b", "equals": "x"}),
                "rules[0].required_claims[0].name",
                "without quotes",
            ),
            (
                json!({"name": "gty", "equals": {"a": 1}}),
                "rules[0].required_claims[0].equals",
                "string, a number or a boolean",
            ),
            (
                json!({"name": "gty", "one_of": []}),
                "rules[0].required_claims[0].one_of",
                "at least one value",
            ),
            (
                json!({"name": "gty", "one_of": ["a", null]}),
                "rules[0].required_claims[0].one_of[1]",
                "string, a number or a boolean",
            ),
        ] {
            let e = refused(
                json!({"match": {"prefix": "/"}, "requires": {"provider_name": "customers"},
                "required_claims": [claim]}),
            );
            assert_eq!(e.path, path, "{claim}");
            assert!(e.message.contains(message), "{claim}: {e}");
        }
    }
}
