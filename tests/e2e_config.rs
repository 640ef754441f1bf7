//! End to end: a configuration with a mistake is refused by the filter, so Envoy refuses it,
//! and the log line names the field.

mod support;

use jwt_authz::config::Config;
use serde_json::{Value, json};
use support::*;

#[test]
fn envoy_refuses_a_configuration_the_filter_refuses() {
    let cases = [
        (
            "unknown field",
            json!({"providers": {}, "rules": [{"match": {"prefix": "/"}}], "rule": []}),
            "configuration refused: rule: unknown field `rule`",
        ),
        (
            "unknown provider",
            json!({"rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "auth0"}}]}),
            "configuration refused: rules[0].requires.provider_name: no provider is called \"auth0\"",
        ),
        (
            "bad duration",
            json!({"providers": {"a": {"issuer": "https://i/", "audiences": ["x"], "remote_jwks": {"http_uri": {"uri": "https://i/jwks", "cluster": "idp", "timeout": "5"}}}}, "rules": [{"match": {"prefix": "/"}}]}),
            "configuration refused: providers.a.remote_jwks.http_uri.timeout: invalid duration \"5\"",
        ),
    ];
    for (case, filter, expected) in cases {
        let error = match Harness::start_with(start_idp(), &filter) {
            Ok(_) => panic!("{case}: Envoy accepted the configuration"),
            Err(error) => error,
        };
        assert!(
            error.contains(expected),
            "{case}: log does not contain {expected:?}:\n{error}"
        );
    }
}

#[test]
fn every_mistake_of_a_configuration_is_logged_at_once() {
    let filter = json!({
        "providers": {"a": {"issuer": "https://i/", "audiences": [], "local_jwks": {"inline_string": "{}"}}},
        "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "b"}}],
        "realm": "",
    });
    let error = match Harness::start_with(start_idp(), &filter) {
        Ok(_) => panic!("Envoy accepted the configuration"),
        Err(error) => error,
    };
    for expected in [
        "configuration refused: realm: ",
        "configuration refused: providers.a.",
        "configuration refused: rules[0].requires.provider_name: no provider is called \"b\"",
    ] {
        assert!(error.contains(expected), "log lacks {expected:?}:\n{error}");
    }
}

/// A remote provider with `extra` members merged in.
fn provider(extra: Value) -> Value {
    let mut p = json!({"issuer": "https://i/", "audiences": ["a"],
        "remote_jwks": {"http_uri": {"uri": "https://i/jwks", "cluster": "idp"}}});
    if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
        p.extend(extra);
    }
    p
}

/// Provider `p` with `extra`, and one catch-all rule.
fn with_provider(extra: Value) -> String {
    json!({"providers": {"p": provider(extra)}, "rules": [{"match": {"prefix": "/"}}]}).to_string()
}

fn remote(fields: Value) -> String {
    let mut remote = json!({"http_uri": {"uri": "https://i/jwks", "cluster": "idp"}});
    if let (Some(r), Value::Object(fields)) = (remote.as_object_mut(), fields) {
        r.extend(fields);
    }
    with_provider(json!({ "remote_jwks": remote }))
}

fn rule(rule: Value) -> String {
    json!({"providers": {"p": provider(json!({}))}, "rules": [rule]}).to_string()
}

/// One configuration per kind of mistake, and the exact refusal: field path, then reason.
fn mistakes() -> Vec<(&'static str, String, &'static str)> {
    let uri = |uri: &str| remote(json!({"http_uri": {"uri": uri, "cluster": "idp"}}));
    vec![
        ("not JSON", "providers: {}".into(), "(root): not valid JSON: expected value at line 1 column 1"),
        ("not an object", "[]".into(), "(root): must be a JSON object"),
        ("duplicate member", r#"{"rules": [], "rules": []}"#.into(), "(root): duplicate member name at line 1 column 21"),
        ("unknown field", with_provider(json!({"issuers": "x"})), "providers.p.issuers: unknown field `issuers`, expected one of `issuer`, `audiences`, `remote_jwks`, `oidc_discovery`, `local_jwks`, `from_headers`, `from_params`, `from_cookies`, `forward`, `clock_skew_seconds`, `algorithms`, `max_token_bytes`, `claim_to_headers`, `forward_payload_header`, `pad_forward_payload_header`, `jwt_cache_config`, `dpop`, `certificate_binding`, `subjects`, `max_lifetime`, `require_expiration`"),
        ("wrong type", json!({"realm": 1, "rules": [{"match": {"prefix": "/"}}]}).to_string(), "realm: must be a string, not a number"),
        ("realm that cannot be quoted", json!({"realm": "a\"b", "rules": [{"match": {"prefix": "/"}}]}).to_string(), "realm: must be non-empty printable ASCII without quotes or backslashes"),
        ("no rules", json!({"rules": []}).to_string(), "rules: at least one rule is required: without rules every request is refused"),
        ("provider name", json!({"providers": {"a b": provider(json!({}))}, "rules": [{"match": {"prefix": "/"}}]}).to_string(), "providers.a b: provider names are letters, digits, '_' and '-' (they become metric names)"),
        ("no issuer", json!({"providers": {"p": {"audiences": ["a"]}}, "rules": [{"match": {"prefix": "/"}}]}).to_string(), "providers.p: missing field `issuer`"),
        ("no audience", with_provider(json!({"audiences": []})), "providers.p.audiences: at least one audience is required, so that tokens minted for other APIs of the same issuer are refused"),
        ("no key source", json!({"providers": {"p": {"issuer": "https://i/", "audiences": ["a"]}}, "rules": [{"match": {"prefix": "/"}}]}).to_string(), "providers.p: one of remote_jwks, oidc_discovery or local_jwks is required"),
        ("two key sources", with_provider(json!({"oidc_discovery": {"cluster": "idp"}})), "providers.p: give only one of remote_jwks, oidc_discovery or local_jwks"),
        ("not an http URI", uri("ftp://i/jwks"), "providers.p.remote_jwks.http_uri.uri: \"ftp://i/jwks\" must start with https:// or http://"),
        ("header break in the host", uri("https://i\r\nx: 1/jwks"), "providers.p.remote_jwks.http_uri.uri: \"https://i\\r\\nx: 1/jwks\" has no valid host"),
        ("empty cluster", remote(json!({"http_uri": {"uri": "https://i/jwks", "cluster": ""}})), "providers.p.remote_jwks.http_uri.cluster: must not be empty"),
        ("duration without unit", remote(json!({"http_uri": {"uri": "https://i/jwks", "cluster": "idp", "timeout": "5"}})), "providers.p.remote_jwks.http_uri.timeout: invalid duration \"5\": expected seconds like \"5s\" or \"1.5s\""),
        ("duration in ms", remote(json!({"cache_duration": "500ms"})), "providers.p.remote_jwks.cache_duration: invalid duration \"500ms\": expected seconds like \"5s\" or \"1.5s\""),
        ("timeout too long", remote(json!({"http_uri": {"uri": "https://i/jwks", "cluster": "idp", "timeout": "61s"}})), "providers.p.remote_jwks.http_uri.timeout: must be at most 60s: requests wait for it"),
        ("zero cache duration", remote(json!({"cache_duration": "0s"})), "providers.p.remote_jwks.cache_duration: must be greater than zero"),
        ("refetch too often", remote(json!({"min_refetch_interval": "0.5s"})), "providers.p.remote_jwks.min_refetch_interval: must be at least 1s: unknown kids must not keep the issuer busy"),
        ("unusable inline key", json!({"providers": {"p": {"issuer": "https://i/", "audiences": ["a"], "local_jwks": {"inline_string": "{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"k\", \"n\": \"AQAB\", \"e\": \"AQAB\"}]}"}}}, "rules": [{"match": {"prefix": "/"}}]}).to_string(), "providers.p.local_jwks.inline_string: JWKS has no usable key: key 0 (kid \"k\") skipped: modulus of 17 bits is outside 2048..=8192"),
        ("HMAC", with_provider(json!({"algorithms": ["HS256"]})), "providers.p.algorithms[0]: HS256 needs local_jwks: an HMAC secret is never fetched over the network"),
        ("token size", with_provider(json!({"max_token_bytes": 0})), "providers.p.max_token_bytes: must be between 1 and 65536"),
        ("clock skew", with_provider(json!({"clock_skew_seconds": 90000})), "providers.p.clock_skew_seconds: must be at most 86400"),
        ("negative number", with_provider(json!({"clock_skew_seconds": -1})), "providers.p.clock_skew_seconds: must be a non-negative integer, not a number"),
        ("token cache size", with_provider(json!({"jwt_cache_config": {"jwt_cache_size": 100000}})), "providers.p.jwt_cache_config.jwt_cache_size: must be at most 65536"),
        ("query parameter name", with_provider(json!({"from_params": ["a=b"]})), "providers.p.from_params[0]: \"a=b\" is not a valid query parameter name"),
        ("identity in the token header", with_provider(json!({"claim_to_headers": [{"header_name": "authorization", "claim_name": "sub"}]})), "providers.p: header \"authorization\" cannot carry identity: the filter or Envoy owns it"),
        ("two path matchers", rule(json!({"match": {"prefix": "/", "path": "/x"}})), "rules[0].match: give exactly one of prefix, path or safe_regex"),
        ("relative prefix", rule(json!({"match": {"prefix": "api"}})), "rules[0].match.prefix: \"api\" must start with '/'"),
        ("bad regex", rule(json!({"match": {"safe_regex": {"regex": "/a("}}})), "rules[0].match.safe_regex.regex: invalid regex: found open group without closing ')'"),
        ("method", rule(json!({"match": {"prefix": "/", "methods": ["get"]}})), "rules[0].match.methods[0]: \"get\" is not a method name (upper-case letters, like \"GET\")"),
        ("matching an identity header", json!({"providers": {"p": provider(json!({"claim_to_headers": [{"header_name": "x-user", "claim_name": "sub"}]}))}, "rules": [{"match": {"prefix": "/", "headers": [{"name": "x-user", "present_match": true}]}}]}).to_string(), "rules[0].match.headers[0].name: \"x-user\" is an identity header the filter sets: matching on it would trust the client's copy"),
        ("unknown provider", rule(json!({"match": {"prefix": "/"}, "requires": {"provider_name": "auth0"}})), "rules[0].requires.provider_name: no provider is called \"auth0\""),
        ("two requirements", rule(json!({"match": {"prefix": "/"}, "requires": {"provider_name": "p", "allow_missing": {}}})), "rules[0].requires: give exactly one of provider_name, provider_and_audiences, requires_any, requires_all, allow_missing or allow_missing_or_failed"),
        ("scope", rule(json!({"match": {"prefix": "/"}, "requires": {"provider_name": "p"}, "required_scopes": ["a b"]})), "rules[0].required_scopes[0]: \"a b\" is not a valid scope (RFC 6749: printable ASCII, no spaces, quotes or backslashes)"),
        ("scopes without a verified token", rule(json!({"match": {"prefix": "/"}, "required_scopes": ["a"]})), "rules[0]: required_scopes, required_scopes_any and required_claims need a requirement that always verifies a token (not absent, allow_missing or allow_missing_or_failed)"),
        ("claim without a condition", rule(json!({"match": {"prefix": "/"}, "requires": {"provider_name": "p"}, "required_claims": [{"name": "gty"}]})), "rules[0].required_claims[0]: give exactly one of equals, one_of or contains"),
        ("cookie name", with_provider(json!({"from_cookies": ["a;b"]})), "providers.p.from_cookies[0]: \"a;b\" is not a valid cookie name"),
        ("two subject patterns", with_provider(json!({"subjects": {"exact": "a", "prefix": "b"}})), "providers.p.subjects: give exactly one of exact, prefix, suffix, contains or safe_regex"),
        ("lifetime in fractions", with_provider(json!({"max_lifetime": "0.5s"})), "providers.p.max_lifetime: must be whole seconds, at least 1s (token times are whole seconds)"),
        ("tokens that never expire", with_provider(json!({"require_expiration": false})), "providers.p.require_expiration: cannot be false: jwt-authz refuses every token without exp (a token that never expires cannot be revoked); remove the field or set it to true"),
        ("route name without a pattern", rule(json!({"match": {"route_name": {"ignore_case": true}}})), "rules[0].match.route_name: give exactly one of exact, prefix, suffix, contains or safe_regex"),
        ("requirement not in the map", rule(json!({"match": {"prefix": "/"}, "requirement_name": "staff"})), "rules[0].requirement_name: requirement_map has no requirement called \"staff\""),
        ("filter state without a name", json!({"filter_state_rules": {"requires": {"gold": {"allow_missing": {}}}}, "rules": [{"match": {"prefix": "/"}}]}).to_string(), "filter_state_rules: missing field `name`"),
    ]
}

#[test]
fn every_kind_of_mistake_is_refused_naming_the_field() {
    for (case, config, expected) in mistakes() {
        match Config::from_json(config.as_bytes()) {
            Ok(_) => panic!("{case}: accepted"),
            Err(error) => assert_eq!(error.to_string(), expected, "{case}"),
        }
    }
}

/// The same table through `envoy --mode validate`: the filter's refusal is Envoy's, with
/// the field in the log line.
#[test]
fn envoy_refuses_every_kind_of_mistake_with_its_log_line() {
    let idp = start_idp();
    let cases = mistakes();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = cases
            .chunks(cases.len().div_ceil(2))
            .map(|chunk| {
                let idp = &idp;
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for (case, config, expected) in chunk {
                        let filter = Value::String(config.clone());
                        let yaml = envoy_yaml_raw_filter(idp.addr(), &filter);
                        let line = format!("jwt-authz: configuration refused: {expected}");
                        match devstack::validate(&yaml) {
                            Ok(()) => failures.push(format!("{case}: Envoy accepted it")),
                            Err(log) if !log.contains(&line) => {
                                failures.push(format!("{case}: no {line:?} in\n{log}"));
                            }
                            Err(_) => {}
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("validate thread"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// An Envoy configuration whose filter configuration is the string `filter` as it is (not
/// necessarily JSON).
fn envoy_yaml_raw_filter(idp: std::net::SocketAddr, filter: &Value) -> String {
    let placeholder = json!({"placeholder": true});
    let yaml = envoy_yaml(1, 2, idp, idp, &placeholder);
    let quoted = serde_json::to_string(&placeholder.to_string()).expect("string");
    let raw = serde_json::to_string(filter.as_str().expect("a string")).expect("string");
    yaml.replace(&quoted, &raw)
}
