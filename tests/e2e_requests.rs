//! End to end through a real Envoy: every refusal with its exact status, challenge and body,
//! and what reaches the upstream when a request is allowed.

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devidp::KeyPair;
use serde_json::{Value, json};
use support::*;

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn with(mut claims: Value, field: &str, value: Value) -> String {
    claims[field] = value;
    claims.to_string()
}

fn without(mut claims: Value, field: &str) -> String {
    claims.as_object_mut().expect("object").remove(field);
    claims.to_string()
}

#[test]
fn every_invalid_token_is_refused_with_its_reason() {
    let h = Harness::start(filter_config);
    let kid = h.idp.current_key().kid().to_string();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string();
    let claims = h.claims();
    let now = now();
    let valid = h.idp.sign_raw(&header, &claims.to_string());
    let (signing_input, signature) = valid.rsplit_once('.').expect("three parts");
    let signature_bytes = URL_SAFE_NO_PAD
        .decode(signature)
        .expect("base64url signature");
    let attacker = KeyPair::generate("attacker").expect("key");
    let public_pem = h.idp.current_key().public_key_pem();
    let hs256 = |secret: &[u8]| {
        let input = format!(
            "{}.{}",
            b64(json!({"alg": "HS256", "kid": kid}).to_string()),
            b64(claims.to_string())
        );
        let mac = hmac_sha256(secret, input.as_bytes());
        format!("{input}.{}", b64(mac))
    };

    let cases: Vec<(&str, String, &str)> = vec![
        ("not three parts", "abc.def".into(), "Jwt is not in the form of Header.Payload.Signature"),
        ("oversized", format!("{}.{}.{}", "a".repeat(4000), "b".repeat(4000), "c".repeat(400)), "Jwt exceeds the size limit"),
        ("header not base64url", format!("*.{}.{}", b64("{}"), b64("s")), "Jwt header is not base64url encoded"),
        ("padded signature", format!("{valid}="), "Jwt signature is not base64url encoded"),
        ("alg none", format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(claims.to_string())), "Jwt algorithm is not allowed"),
        ("alg None", format!("{}.{}.", b64(r#"{"alg":"None"}"#), b64(claims.to_string())), "Jwt algorithm is not allowed"),
        ("HS256 keyed with the public PEM", hs256(public_pem.as_bytes()), "Jwt algorithm is not allowed"),
        ("RS384", h.idp.sign_raw(&json!({"alg": "RS384", "kid": kid}).to_string(), &claims.to_string()), "Jwt algorithm is not allowed"),
        ("crit", h.idp.sign_raw(&json!({"alg": "RS256", "kid": kid, "crit": ["exp"], "exp": 1}).to_string(), &claims.to_string()), "Jwt header has a crit member that is not understood"),
        ("duplicate header member", h.idp.sign_raw(&format!(r#"{{"alg":"RS256","kid":"{kid}","kid":"{kid}"}}"#), &claims.to_string()), "Jwt has duplicate JSON member names"),
        ("duplicate payload member", h.idp.sign_raw(&header, &format!(r#"{{"sub":"admin",{}"#, &claims.to_string()[1..])), "Jwt has duplicate JSON member names"),
        ("expired", h.idp.sign_raw(&header, &with(claims.clone(), "exp", json!(now - 120))), "Jwt is expired"),
        ("not yet valid", h.idp.sign_raw(&header, &with(claims.clone(), "nbf", json!(now + 3600))), "Jwt is not yet valid"),
        ("issued in the future", h.idp.sign_raw(&header, &with(claims.clone(), "iat", json!(now + 3600))), "Jwt iat is in the future"),
        ("no exp", h.idp.sign_raw(&header, &without(claims.clone(), "exp")), "Jwt has no exp claim"),
        ("exp as a string", h.idp.sign_raw(&header, &with(claims.clone(), "exp", json!((now + 600).to_string()))), "Jwt exp claim is not a number"),
        ("wrong issuer", h.idp.sign_raw(&header, &with(claims.clone(), "iss", json!("https://evil.example/"))), "Jwt issuer is not allowed"),
        ("wrong audience", h.idp.sign_raw(&header, &with(claims.clone(), "aud", json!("https://other.example.com"))), "Jwt audience is not allowed"),
        ("audience as a number", h.idp.sign_raw(&header, &with(claims.clone(), "aud", json!(7))), "Jwt aud claim is not a string or an array of strings"),
        ("unknown kid", attacker.sign_raw(&json!({"alg": "RS256", "kid": "attacker"}).to_string(), &claims.to_string()), "Jwks doesn't have key to match kid or alg from Jwt"),
        ("jku to an attacker key", attacker.sign_raw(&json!({"alg": "RS256", "kid": "attacker", "jku": "http://127.0.0.1:1/jwks.json", "jwk": attacker.public_jwk()}).to_string(), &claims.to_string()), "Jwks doesn't have key to match kid or alg from Jwt"),
        ("right kid, another key's signature", attacker.sign_raw(&header, &claims.to_string()), "Jwt verification fails"),
        ("tampered payload", format!("{}.{}.{signature}", signing_input.split('.').next().unwrap_or_default(), b64(with(claims.clone(), "sub", json!("admin")))), "Jwt verification fails"),
        ("truncated signature", format!("{signing_input}.{}", b64(&signature_bytes[1..])), "Jwt verification fails"),
        ("signature with a leading zero byte", format!("{signing_input}.{}", b64([&[0u8][..], &signature_bytes].concat())), "Jwt verification fails"),
    ];
    for (case, token, description) in &cases {
        let response = h.get_with_token("/api/orders", token);
        assert_invalid_token(case, &response, description);
    }
    assert!(
        h.echo.requests().is_empty(),
        "no refused request reached the upstream"
    );
    let log = h.envoy.log();
    for (case, token, _) in &cases {
        assert!(
            !log.contains(token.as_str()),
            "{case}: the token appears in Envoy's log"
        );
    }
}

/// HMAC-SHA256 for the algorithm-confusion case (RFC 2104, with SHA-256 from the rsa stack).
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

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
