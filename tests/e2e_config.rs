//! End to end: a configuration with a mistake is refused by the filter, so Envoy refuses it,
//! and the log line names the field.

mod support;

use serde_json::json;
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
