//! End to end through a real Envoy: missing and repeated tokens, scopes, rules, token
//! locations, and what reaches the upstream when a request is allowed. Invalid tokens, each
//! with its exact refusal, are the attack corpus (tests/e2e_attacks.rs).

mod support;

use serde_json::json;
use support::*;

#[test]
fn missing_token_gets_the_bare_challenge() {
    let h = Harness::start(filter_config);
    for (case, headers) in [
        ("no header", vec![]),
        ("basic auth", vec![("authorization", "Basic dXNlcjpwYXNz")]),
        ("empty bearer", vec![("authorization", "Bearer ")]),
    ] {
        let response = h.get("/api/orders", &headers);
        assert_refused(
            case,
            &response,
            401,
            Some("Bearer realm=\"api\""),
            "missing_token",
            "Jwt is missing",
        );
    }
}

#[test]
fn two_tokens_are_a_bad_request() {
    let h = Harness::start(filter_config);
    let token = h.token(&[]);
    let path = format!("/api/orders?access_token={token}");
    let bearer = format!("Bearer {token}");
    let challenge = "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"Request carries more than one token\"";
    let in_header_and_query = h.get(&path, &[("authorization", &bearer)]);
    assert_refused(
        "header and query",
        &in_header_and_query,
        400,
        Some(challenge),
        "invalid_request",
        "Request carries more than one token",
    );
    let two_headers = h.get(
        "/api/orders",
        &[("authorization", &bearer), ("authorization", &bearer)],
    );
    assert_refused(
        "two headers",
        &two_headers,
        400,
        Some(challenge),
        "invalid_request",
        "Request carries more than one token",
    );
}

#[test]
fn missing_scope_is_forbidden_and_names_the_scope() {
    let h = Harness::start(filter_config);
    let response = h.get_with_token(
        "/scoped/messages",
        &h.token(&["read:messages-extra", "write:messages"]),
    );
    let challenge = "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt lacks required scope: read:messages\", scope=\"read:messages\"";
    assert_refused(
        "insufficient scope",
        &response,
        403,
        Some(challenge),
        "insufficient_scope",
        "Jwt lacks required scope: read:messages",
    );
    assert!(h.echo.requests().is_empty());
}

#[test]
fn scope_may_come_from_permissions() {
    let h = Harness::start(filter_config);
    let mut claims = h.claims();
    claims["scope"] = json!("openid");
    claims["permissions"] = json!(["read:messages"]);
    assert_eq!(
        h.get_with_token("/scoped/messages", &h.idp.mint(&claims))
            .status,
        200
    );
}

#[test]
fn request_matching_no_rule_is_refused() {
    let h = Harness::start(filter_config);
    let response = h.get_with_token("/other", &h.token(&["read:messages"]));
    assert_refused(
        "no rule",
        &response,
        403,
        None,
        "access_denied",
        "No rule matches this request",
    );
}

#[test]
fn valid_token_reaches_the_upstream_without_the_token() {
    let h = Harness::start(filter_config);
    let token = h.token(&["read:messages"]);
    for path in ["/api/orders", "/scoped/messages"] {
        let response = h.get_with_token(path, &token);
        assert_eq!(response.status, 200, "{path}: {}", response.text());
    }
    let seen = h.echo.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter().all(|r| r.header("authorization").is_none()),
        "forward: false removes the token"
    );
    assert_eq!(seen[0].path, "/api/orders");
}

#[test]
fn token_in_the_query_is_accepted_and_removed() {
    let h = Harness::start(filter_config);
    let token = h.token(&[]);
    let response = h.get(&format!("/api/orders?page=2&access_token={token}"), &[]);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(h.echo.requests()[0].path, "/api/orders?page=2");
}

#[test]
fn forward_true_keeps_the_token() {
    let h = Harness::start(|idp| {
        let mut config = filter_config(idp);
        config["providers"]["idp"]["forward"] = json!(true);
        config
    });
    let token = h.token(&[]);
    assert_eq!(h.get_with_token("/api/orders", &token).status, 200);
    assert_eq!(
        h.echo.requests()[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
}

#[test]
fn public_route_needs_no_token_and_ignores_a_bad_one() {
    let h = Harness::start(filter_config);
    assert_eq!(h.get("/public/status", &[]).status, 200);
    assert_eq!(h.get_with_token("/public/status", "garbage").status, 200);
    assert_eq!(h.idp.jwks_requests(), 0, "public routes never need keys");
}

#[test]
fn inline_jwks_needs_no_fetch() {
    let h = Harness::start(|idp| {
        let mut config = filter_config(idp);
        let provider = config["providers"]["idp"].as_object_mut().expect("object");
        provider.remove("remote_jwks");
        provider.insert(
            "local_jwks".into(),
            json!({"inline_string": idp.jwks().to_string()}),
        );
        config
    });
    assert_eq!(h.get_with_token("/api/orders", &h.token(&[])).status, 200);
    assert_eq!(h.idp.jwks_requests(), 0);
}

#[test]
fn custom_header_location_is_honoured() {
    let h = Harness::start(|idp| {
        let mut config = filter_config(idp);
        config["providers"]["idp"]["from_headers"] = json!([{"name": "x-api-token"}]);
        config
    });
    let token = h.token(&[]);
    assert_eq!(h.get("/api/orders", &[("x-api-token", &token)]).status, 200);
    assert!(h.echo.requests()[0].header("x-api-token").is_none());
    let bearer = h.get_with_token("/api/orders", &token);
    assert_refused(
        "bearer not configured",
        &bearer,
        401,
        Some("Bearer realm=\"api\""),
        "missing_token",
        "Jwt is missing",
    );
}
