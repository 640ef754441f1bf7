//! The whole decision natively (no Envoy): real keys, real tokens, injected time.

use devidp::KeyPair;
use jwt_authz::authn::{Allowed, Decision, Request, authorize};
use jwt_authz::config::Config;
use jwt_authz::error::AuthError;
use jwt_authz::extract::Removal;
use jwt_authz::keyring::Keyring;
use serde_json::{Value, json};
use std::time::Duration;

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://tenant.example.auth0.com/";
const AUDIENCE: &str = "https://api.example.com";

struct Fixture {
    key: KeyPair,
    config: Config,
}

fn fixture() -> Fixture {
    let key = KeyPair::generate("k1").expect("key");
    let jwks = json!({"keys": [key.public_jwk()]}).to_string();
    let config = json!({
        "providers": {"auth0": {"issuer": ISSUER, "audiences": [AUDIENCE], "local_jwks": {"inline_string": jwks}}},
        "rules": [
            {"match": {"path": "/healthz"}},
            {"match": {"prefix": "/messages"}, "requires": {"provider_name": "auth0"}, "required_scopes": ["read:messages"]},
            {"match": {"prefix": "/api"}, "requires": {"provider_name": "auth0"}}
        ]
    });
    let config = Config::from_json(config.to_string().as_bytes()).expect("valid config");
    Fixture { key, config }
}

fn claims() -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "client@clients", "iat": NOW, "exp": NOW + 3600, "scope": "read:messages"})
}

impl Fixture {
    fn decide(&self, path: &str, token: Option<&str>, now: u64) -> Decision {
        let headers: Vec<(String, String)> = token
            .map(|t| ("authorization".into(), format!("Bearer {t}")))
            .into_iter()
            .collect();
        let mut keyring = Keyring::new(&self.config);
        authorize(
            &self.config,
            Request {
                path,
                headers: &headers,
            },
            &mut keyring,
            Duration::from_secs(now),
        )
    }

    fn token(&self, claims: &Value) -> String {
        self.key.mint(claims).expect("mint")
    }
}

fn allowed_with_header_removed() -> Decision {
    Decision::Allow(Allowed {
        remove_token: Some(Removal::Header("authorization".into())),
        provider: Some(0),
    })
}

#[test]
fn valid_token_is_allowed_and_removed() {
    let f = fixture();
    assert_eq!(
        f.decide("/api/x", Some(&f.token(&claims())), NOW),
        allowed_with_header_removed()
    );
    assert_eq!(
        f.decide("/messages", Some(&f.token(&claims())), NOW),
        allowed_with_header_removed()
    );
}

#[test]
fn expiry_is_judged_at_the_injected_time() {
    let f = fixture();
    let token = f.token(&claims());
    assert_eq!(
        f.decide("/api/x", Some(&token), NOW + 3600 + 59),
        allowed_with_header_removed()
    );
    assert_eq!(
        f.decide("/api/x", Some(&token), NOW + 3600 + 60),
        Decision::Deny(AuthError::Expired)
    );
}

#[test]
fn unprotected_rule_allows_without_looking_at_tokens() {
    let f = fixture();
    assert_eq!(
        f.decide("/healthz", Some("junk"), NOW),
        Decision::Allow(Allowed::default())
    );
}

#[test]
fn checks_run_cheapest_first() {
    let f = fixture();
    let other = KeyPair::generate("k1").expect("key");
    let mut expired = claims();
    expired["exp"] = json!(NOW - 3600);
    // Forged and expired: refused as expired, before any signature work.
    let forged_expired = other.mint(&expired).expect("mint");
    assert_eq!(
        f.decide("/api/x", Some(&forged_expired), NOW),
        Decision::Deny(AuthError::Expired)
    );
    let forged = other.mint(&claims()).expect("mint");
    assert_eq!(
        f.decide("/api/x", Some(&forged), NOW),
        Decision::Deny(AuthError::BadSignature)
    );
}

#[test]
fn scope_is_checked_only_after_the_signature() {
    let f = fixture();
    let mut no_scope = claims();
    no_scope["scope"] = json!("write:messages");
    let forged = KeyPair::generate("k1")
        .expect("key")
        .mint(&no_scope)
        .expect("mint");
    assert_eq!(
        f.decide("/messages", Some(&forged), NOW),
        Decision::Deny(AuthError::BadSignature)
    );
    assert_eq!(
        f.decide("/messages", Some(&f.token(&no_scope)), NOW),
        Decision::Deny(AuthError::InsufficientScope(vec!["read:messages".into()]))
    );
}

#[test]
fn unknown_kid_with_inline_keys_is_refused_at_once() {
    let f = fixture();
    let stranger = KeyPair::generate("k2")
        .expect("key")
        .mint(&claims())
        .expect("mint");
    assert_eq!(
        f.decide("/api/x", Some(&stranger), NOW),
        Decision::Deny(AuthError::UnknownKey)
    );
}

#[test]
fn remote_keys_make_the_first_request_wait() {
    let config = json!({
        "providers": {"auth0": {"issuer": ISSUER, "audiences": [AUDIENCE],
            "remote_jwks": {"http_uri": {"uri": "https://tenant.example.auth0.com/.well-known/jwks.json", "cluster": "auth0"}}}},
        "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "auth0"}}]
    });
    let config = Config::from_json(config.to_string().as_bytes()).expect("valid config");
    let token = fixture().token(&claims());
    let headers = vec![("authorization".to_string(), format!("Bearer {token}"))];
    let mut keyring = Keyring::new(&config);
    let decision = authorize(
        &config,
        Request {
            path: "/x",
            headers: &headers,
        },
        &mut keyring,
        Duration::from_secs(NOW),
    );
    assert_eq!(decision, Decision::Wait(0));
    assert!(
        keyring
            .cache_mut(0)
            .expect("remote")
            .fetch_due(Duration::from_secs(NOW))
    );
}
