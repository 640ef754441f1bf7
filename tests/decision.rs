//! The whole decision natively (no Envoy): real keys, real tokens, injected time.

use devidp::KeyPair;
use jwt_authz::authn::{Allowed, Decision, Request, authorize};
use jwt_authz::config::Config;
use jwt_authz::error::{AuthError, Malformation, UnreadablePart};
use jwt_authz::keys::keyring::Keyring;
use jwt_authz::policy::requirement::Failure;
use serde_json::{Value, json};
use std::time::Duration;

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://tenant.example.auth0.com/";
const STAFF_ISSUER: &str = "https://staff.example.auth0.com/";
const AUDIENCE: &str = "https://api.example.com";

struct Fixture {
    key: KeyPair,
    staff_key: KeyPair,
    config: Config,
}

fn provider(issuer: &str, key: &KeyPair, extra: Value) -> Value {
    let mut p = json!({
        "issuer": issuer,
        "audiences": [AUDIENCE],
        "local_jwks": {"inline_string": json!({"keys": [key.public_jwk()]}).to_string()}
    });
    if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
        p.extend(extra);
    }
    p
}

fn fixture_with(rules: Value, customers_extra: Value, top_level: Value) -> Fixture {
    let key = KeyPair::generate("k1").expect("key");
    let staff_key = KeyPair::generate("s1").expect("key");
    let mut config = json!({
        "providers": {
            "customers": provider(ISSUER, &key, customers_extra),
            "staff": provider(STAFF_ISSUER, &staff_key, json!({}))
        },
        "rules": rules
    });
    if let (Some(c), Value::Object(extra)) = (config.as_object_mut(), top_level) {
        c.extend(extra);
    }
    let config = Config::from_json(config.to_string().as_bytes()).expect("valid config");
    Fixture {
        key,
        staff_key,
        config,
    }
}

fn fixture() -> Fixture {
    fixture_with(
        json!([
            {"match": {"path": "/healthz"}},
            {"match": {"prefix": "/messages"}, "requires": {"provider_name": "customers"}, "required_scopes": ["read:messages"]},
            {"match": {"prefix": "/either"}, "requires": {"requires_any": {"requirements": [
                {"provider_name": "customers"}, {"provider_name": "staff"}]}}},
            {"match": {"prefix": "/both"}, "requires": {"requires_all": {"requirements": [
                {"provider_name": "customers"}, {"provider_name": "staff"}]}}},
            {"match": {"prefix": "/optional"}, "requires": {"allow_missing": {}}},
            {"match": {"prefix": "/anything"}, "requires": {"allow_missing_or_failed": {}}},
            {"match": {"prefix": "/admin-api"}, "requires": {"provider_and_audiences": {
                "provider_name": "customers", "audiences": ["https://admin.example.com"]}}},
            {"match": {"prefix": "/api"}, "requires": {"provider_name": "customers"}}
        ]),
        json!({}),
        json!({}),
    )
}

fn claims() -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "client@clients", "iat": NOW, "exp": NOW + 3600, "scope": "read:messages"})
}

fn staff_claims() -> Value {
    let mut c = claims();
    c["iss"] = json!(STAFF_ISSUER);
    c["sub"] = json!("staff|7");
    c
}

impl Fixture {
    fn decide_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        now: u64,
    ) -> Decision<'_> {
        let mut all = vec![(":method", method), (":path", path)];
        all.extend(headers);
        let mut keyring = Keyring::new(&self.config);
        authorize(
            &self.config,
            Request::from_headers(&all),
            &mut keyring,
            Duration::from_secs(now),
        )
    }

    fn decide(&self, path: &str, token: Option<&str>, now: u64) -> Decision<'_> {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| ("authorization", b))
            .into_iter()
            .collect();
        self.decide_request("GET", path, &headers, now)
    }

    fn token(&self, claims: &Value) -> String {
        self.key.mint(claims).expect("mint")
    }

    fn staff_token(&self) -> String {
        self.staff_key.mint(&staff_claims()).expect("mint")
    }
}

fn allowed_by(providers: &[usize]) -> Decision<'static> {
    Decision::Allow(Allowed {
        remove_headers: vec!["authorization".into()],
        verified_by: providers.to_vec(),
        ..Allowed::default()
    })
}

fn denied(error: AuthError, provider: Option<usize>) -> Decision<'static> {
    Decision::Deny(Failure { error, provider })
}

const CUSTOMERS: usize = 0;
const STAFF: usize = 1;

#[test]
fn valid_token_is_allowed_and_removed() {
    let f = fixture();
    assert_eq!(
        f.decide("/api/x", Some(&f.token(&claims())), NOW),
        allowed_by(&[CUSTOMERS])
    );
    assert_eq!(
        f.decide("/messages", Some(&f.token(&claims())), NOW),
        allowed_by(&[CUSTOMERS])
    );
}

#[test]
fn expiry_is_judged_at_the_injected_time() {
    let f = fixture();
    let token = f.token(&claims());
    assert_eq!(
        f.decide("/api/x", Some(&token), NOW + 3600 + 59),
        allowed_by(&[CUSTOMERS])
    );
    assert_eq!(
        f.decide("/api/x", Some(&token), NOW + 3600 + 60),
        denied(AuthError::Expired, Some(CUSTOMERS))
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
        denied(AuthError::Expired, Some(CUSTOMERS))
    );
    let forged = other.mint(&claims()).expect("mint");
    assert_eq!(
        f.decide("/api/x", Some(&forged), NOW),
        denied(AuthError::BadSignature, Some(CUSTOMERS))
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
        denied(AuthError::BadSignature, Some(CUSTOMERS))
    );
    assert_eq!(
        f.decide("/messages", Some(&f.token(&no_scope)), NOW),
        denied(
            AuthError::InsufficientScope {
                scopes: vec!["read:messages".into()],
                any: false
            },
            Some(CUSTOMERS)
        )
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
        denied(AuthError::UnknownKey, Some(CUSTOMERS))
    );
}

#[test]
fn requires_any_chooses_the_provider_by_issuer() {
    let f = fixture();
    assert_eq!(
        f.decide("/either", Some(&f.token(&claims())), NOW),
        allowed_by(&[CUSTOMERS])
    );
    assert_eq!(
        f.decide("/either", Some(&f.staff_token()), NOW),
        allowed_by(&[STAFF])
    );
    // A staff-issued token signed with the customers' key: staff is the only candidate (the
    // issuer is not the customers'), and staff has no such key.
    let confused = f.key.mint(&staff_claims()).expect("mint");
    assert_eq!(
        f.decide("/either", Some(&confused), NOW),
        denied(AuthError::UnknownKey, Some(STAFF))
    );
    let forged = KeyPair::generate("s1")
        .expect("key")
        .mint(&staff_claims())
        .expect("mint");
    assert_eq!(
        f.decide("/either", Some(&forged), NOW),
        denied(AuthError::BadSignature, Some(STAFF))
    );
    let mut stranger = claims();
    stranger["iss"] = json!("https://evil.example.com/");
    assert_eq!(
        f.decide("/either", Some(&f.token(&stranger)), NOW),
        denied(AuthError::IssuerNotAllowed, None)
    );
    assert_eq!(
        f.decide("/either", None, NOW),
        denied(AuthError::Missing, None)
    );
}

#[test]
fn provider_and_audiences_overrides_the_audience_for_the_route() {
    let f = fixture();
    let token = f.token(&claims());
    assert_eq!(
        f.decide("/admin-api", Some(&token), NOW),
        denied(AuthError::AudienceNotAllowed, Some(CUSTOMERS))
    );
    let mut admin = claims();
    admin["aud"] = json!(["https://admin.example.com"]);
    assert_eq!(
        f.decide("/admin-api", Some(&f.token(&admin)), NOW),
        allowed_by(&[CUSTOMERS])
    );
    assert_eq!(
        f.decide("/api", Some(&f.token(&admin)), NOW),
        denied(AuthError::AudienceNotAllowed, Some(CUSTOMERS))
    );
}

#[test]
fn requires_all_needs_a_token_for_each_provider() {
    let f = fixture_with(
        json!([{"match": {"prefix": "/"}, "requires": {"requires_all": {"requirements": [
            {"provider_name": "customers"}, {"provider_name": "staff"}]}}}]),
        json!({"from_headers": [{"name": "x-customer-token"}]}),
        json!({}),
    );
    let customer = f.token(&claims());
    let staff = format!("Bearer {}", f.staff_token());
    let both = [
        ("x-customer-token", customer.as_str()),
        ("authorization", staff.as_str()),
    ];
    assert_eq!(
        f.decide_request("GET", "/", &both, NOW),
        Decision::Allow(Allowed {
            remove_headers: vec!["x-customer-token".into(), "authorization".into()],
            verified_by: vec![CUSTOMERS, STAFF],
            ..Allowed::default()
        })
    );
    assert_eq!(
        f.decide_request("GET", "/", &both[1..], NOW),
        denied(AuthError::Missing, Some(CUSTOMERS))
    );
}

#[test]
fn allow_missing_passes_no_token_but_refuses_a_bad_one() {
    let f = fixture();
    assert_eq!(
        f.decide("/optional", None, NOW),
        Decision::Allow(Allowed::default())
    );
    assert_eq!(
        f.decide("/optional", Some(&f.staff_token()), NOW),
        allowed_by(&[STAFF])
    );
    let forged = KeyPair::generate("k1")
        .expect("key")
        .mint(&claims())
        .expect("mint");
    assert_eq!(
        f.decide("/optional", Some(&forged), NOW),
        denied(AuthError::BadSignature, Some(CUSTOMERS))
    );
    assert_eq!(
        f.decide("/optional", Some("junk"), NOW),
        denied(
            AuthError::Malformed(Malformation::NotCompact),
            Some(CUSTOMERS)
        )
    );
}

#[test]
fn allow_missing_or_failed_passes_everything_but_forwards_only_verified_identity() {
    let f = fixture();
    let forged = KeyPair::generate("k1")
        .expect("key")
        .mint(&claims())
        .expect("mint");
    assert_eq!(
        f.decide("/anything", Some(&forged), NOW),
        Decision::Allow(Allowed::default())
    );
    assert_eq!(
        f.decide("/anything", None, NOW),
        Decision::Allow(Allowed::default())
    );
    assert_eq!(
        f.decide("/anything", Some(&f.token(&claims())), NOW),
        allowed_by(&[CUSTOMERS])
    );
}

#[test]
fn identity_headers_are_stripped_everywhere_and_set_from_verified_claims() {
    let f = fixture_with(
        json!([
            {"match": {"prefix": "/public"}},
            {"match": {"prefix": "/api"}, "requires": {"provider_name": "customers"}}
        ]),
        json!({
            "forward": true,
            "claim_to_headers": [
                {"header_name": "x-user-id", "claim_name": "sub"},
                {"header_name": "x-email", "claim_name": "https://example.com/email"},
                {"header_name": "x-roles", "claim_name": "https://example.com/roles"}
            ],
            "forward_payload_header": "x-jwt-payload"
        }),
        json!({}),
    );
    // Client-sent identity headers leave every request let through, public ones too; the
    // filter removes those the request carries (each removal is a host call).
    let spoofed = [
        ("x-user-id", "admin"),
        ("x-jwt-payload", "e30"),
        ("x-other", "1"),
    ];
    assert_eq!(
        f.decide_request("GET", "/public", &spoofed, NOW),
        Decision::Allow(Allowed {
            remove_headers: vec!["x-user-id".into(), "x-jwt-payload".into()],
            ..Allowed::default()
        })
    );
    let mut c = claims();
    c["https://example.com/email"] = json!("a@example.com");
    c["https://example.com/roles"] = json!(["admin", "support"]);
    let token = f.token(&c);
    let payload = token.split('.').nth(1).expect("payload").to_string();
    let bearer = format!("Bearer {token}");
    let Decision::Allow(allowed) = f.decide_request(
        "GET",
        "/api",
        &[("authorization", &bearer), ("x-user-id", "admin")],
        NOW,
    ) else {
        panic!("allowed expected")
    };
    assert_eq!(
        allowed.remove_headers,
        vec!["x-user-id"],
        "forward: true keeps the token"
    );
    assert_eq!(
        allowed.set_headers,
        vec![
            ("x-user-id".to_string(), "client@clients".to_string()),
            ("x-email".into(), "a@example.com".into()),
            ("x-roles".into(), "admin,support".into()),
            ("x-jwt-payload".into(), payload),
        ]
    );
}

#[test]
fn query_token_is_taken_out_of_the_path() {
    let f = fixture();
    let token = f.token(&claims());
    let Decision::Allow(allowed) =
        f.decide_request("GET", &format!("/api/x?a=1&access_token={token}"), &[], NOW)
    else {
        panic!("allowed expected")
    };
    assert_eq!(allowed.set_path.as_deref(), Some("/api/x?a=1"));
}

#[test]
fn a_path_that_is_not_utf8_is_refused_before_anything_else() {
    // `\0` is how a byte that is not UTF-8 reads (see `headers`). Taking the token out of such
    // a query would hand the NULs on to the upstream in place of the client's bytes.
    let f = fixture();
    let token = f.token(&claims());
    let unreadable = denied(AuthError::Unreadable(UnreadablePart::Path), None);
    for path in [
        format!("/api/x?q=caf\0&access_token={token}"),
        "/healthz\0".to_string(),
        "/api/\0".to_string(),
    ] {
        assert_eq!(
            f.decide_request("GET", &path, &[], NOW),
            unreadable,
            "{path:?}"
        );
    }
}

#[test]
fn cors_preflight_passes_only_when_bypassed_and_only_as_a_preflight() {
    let rules = json!([{"match": {"prefix": "/"}, "requires": {"provider_name": "customers"}}]);
    let preflight = [
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "POST"),
    ];
    let f = fixture_with(
        rules.clone(),
        json!({}),
        json!({"bypass_cors_preflight": true}),
    );
    assert_eq!(
        f.decide_request("OPTIONS", "/api", &preflight, NOW),
        Decision::Allow(Allowed {
            cors_preflight: true,
            ..Allowed::default()
        })
    );
    assert_eq!(
        f.decide_request("OPTIONS", "/api", &preflight[..1], NOW),
        denied(AuthError::Missing, Some(CUSTOMERS))
    );
    let f = fixture_with(rules, json!({}), json!({}));
    assert_eq!(
        f.decide_request("OPTIONS", "/api", &preflight, NOW),
        denied(AuthError::Missing, Some(CUSTOMERS))
    );
}

#[test]
fn claim_requirements_refuse_with_the_claim_name() {
    let f = fixture_with(
        json!([
            {"match": {"prefix": "/m2m"}, "requires": {"provider_name": "customers"},
             "required_claims": [{"name": "gty", "equals": "client-credentials"}]},
            {"match": {"prefix": "/admin"}, "requires": {"provider_name": "customers"},
             "required_claims": [{"name": "https://example.com/roles", "contains": "admin"}]}
        ]),
        json!({}),
        json!({}),
    );
    let mut m2m = claims();
    m2m["gty"] = json!("client-credentials");
    assert_eq!(
        f.decide("/m2m", Some(&f.token(&m2m)), NOW),
        allowed_by(&[CUSTOMERS])
    );
    assert_eq!(
        f.decide("/m2m", Some(&f.token(&claims())), NOW),
        denied(AuthError::ClaimMismatch("gty".into()), Some(CUSTOMERS))
    );
    let mut admin = claims();
    admin["https://example.com/roles"] = json!(["admin"]);
    assert_eq!(
        f.decide("/admin", Some(&f.token(&admin)), NOW),
        allowed_by(&[CUSTOMERS])
    );
    assert_eq!(
        f.decide("/admin", Some(&f.token(&m2m)), NOW),
        denied(
            AuthError::ClaimMismatch("https://example.com/roles".into()),
            Some(CUSTOMERS)
        )
    );
}

#[test]
fn methods_and_headers_select_the_rule() {
    let f = fixture_with(
        json!([
            {"match": {"prefix": "/messages", "methods": ["GET"]}},
            {"match": {"safe_regex": {"regex": "/internal/[a-z]+"}, "headers": [{"name": "x-debug", "present_match": true}]}},
            {"match": {"prefix": "/"}, "requires": {"provider_name": "customers"}}
        ]),
        json!({}),
        json!({}),
    );
    assert_eq!(
        f.decide_request("GET", "/messages", &[], NOW),
        Decision::Allow(Allowed::default())
    );
    assert_eq!(
        f.decide_request("POST", "/messages", &[], NOW),
        denied(AuthError::Missing, Some(CUSTOMERS))
    );
    assert_eq!(
        f.decide_request("GET", "/internal/abc", &[("x-debug", "1")], NOW),
        Decision::Allow(Allowed::default())
    );
    assert_eq!(
        f.decide_request("GET", "/internal/abc", &[], NOW),
        denied(AuthError::Missing, Some(CUSTOMERS))
    );
}

#[test]
fn no_matching_rule_is_refused() {
    let f = fixture();
    assert_eq!(
        f.decide("/elsewhere", None, NOW),
        denied(AuthError::NoMatchingRule, None)
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
    let bearer = format!("Bearer {token}");
    let headers = vec![(":path", "/x"), ("authorization", bearer.as_str())];
    let mut keyring = Keyring::new(&config);
    let decision = authorize(
        &config,
        Request::from_headers(&headers),
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

/// A remote provider whose key set the test hands in, with one keyring kept across requests.
struct Remote {
    config: Config,
    keyring: Keyring,
}

impl Remote {
    fn new(cache: Value) -> Remote {
        let mut provider = json!({"issuer": ISSUER, "audiences": [AUDIENCE],
            "remote_jwks": {"http_uri": {"uri": "https://tenant.example.auth0.com/.well-known/jwks.json", "cluster": "auth0"}}});
        if !cache.is_null() {
            provider["jwt_cache_config"] = cache;
        }
        let config = json!({
            "providers": {"auth0": provider},
            "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "auth0"}}]
        });
        let config = Config::from_json(config.to_string().as_bytes()).expect("valid config");
        let keyring = Keyring::new(&config);
        Remote { config, keyring }
    }

    /// A key set fetched at `NOW`.
    fn keys(&mut self, keys: &[&KeyPair]) {
        self.keys_fetched_at(keys, NOW);
    }

    fn keys_fetched_at(&mut self, keys: &[&KeyPair], fetched_at: u64) {
        let jwks = json!({"keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>()});
        let parsed = jwt_authz::jose::jwks::parse(jwks.to_string().as_bytes()).expect("jwks");
        self.keyring
            .cache_mut(0)
            .expect("remote")
            .fetch_succeeded(Duration::from_secs(fetched_at), parsed.keys);
    }

    fn decide(&mut self, token: &str, now: u64) -> Decision<'_> {
        let bearer = format!("Bearer {token}");
        let headers = vec![(":path", "/x"), ("authorization", bearer.as_str())];
        authorize(
            &self.config,
            Request::from_headers(&headers),
            &mut self.keyring,
            Duration::from_secs(now),
        )
    }
}

#[test]
fn a_cached_token_still_expires() {
    let key = KeyPair::generate("k1").expect("key");
    let mut remote = Remote::new(Value::Null);
    remote.keys(&[&key]);
    let token = key.mint(&claims()).expect("mint");
    assert_eq!(remote.decide(&token, NOW), allowed_by(&[0]));
    assert_eq!(
        remote.decide(&token, NOW),
        allowed_by(&[0]),
        "from the cache"
    );
    assert_eq!(
        remote.decide(&token, NOW + 3600 + 60),
        denied(AuthError::Expired, Some(0))
    );
}

#[test]
fn a_key_removed_from_the_key_set_stops_working_for_cached_tokens() {
    let (old, new) = (
        KeyPair::generate("k1").expect("key"),
        KeyPair::generate("k2").expect("key"),
    );
    let mut remote = Remote::new(Value::Null);
    remote.keys(&[&old, &new]);
    let token = old.mint(&claims()).expect("mint");
    assert_eq!(remote.decide(&token, NOW), allowed_by(&[0]));
    remote.keys(&[&new]);
    // The cached verdict no longer counts: the key set was just fetched, so the kid is unknown...
    assert_eq!(
        remote.decide(&token, NOW),
        denied(AuthError::UnknownKey, Some(0))
    );
    // ...once min_refetch_interval (30 s) has passed, it asks the issuer once more...
    let later = NOW + 30;
    assert_eq!(remote.decide(&token, later), Decision::Wait(0));
    let cache = remote.keyring.cache_mut(0).expect("remote");
    cache.fetch_started(Duration::from_secs(later));
    remote.keys_fetched_at(&[&new], later);
    // ...and the key is still gone.
    assert_eq!(
        remote.decide(&token, later),
        denied(AuthError::UnknownKey, Some(0))
    );
}

#[test]
fn the_cache_can_be_turned_off() {
    let key = KeyPair::generate("k1").expect("key");
    let mut remote = Remote::new(json!({"jwt_cache_size": 0}));
    remote.keys(&[&key]);
    let token = key.mint(&claims()).expect("mint");
    assert_eq!(remote.decide(&token, NOW), allowed_by(&[0]));
    assert_eq!(remote.decide(&token, NOW), allowed_by(&[0]));
}

#[test]
fn two_query_tokens_both_leave_the_path() {
    let f = fixture_with(
        json!([{"match": {"prefix": "/"}, "requires": {"requires_all": {"requirements": [
            {"provider_name": "customers"}, {"provider_name": "staff"}]}}}]),
        json!({"from_params": ["ta"]}),
        json!({}),
    );
    // staff keeps the default locations (Authorization or access_token).
    let path = format!(
        "/x?ta={}&keep=1&access_token={}",
        f.token(&claims()),
        f.staff_token()
    );
    let Decision::Allow(allowed) = f.decide_request("GET", &path, &[], NOW) else {
        panic!("allowed expected")
    };
    assert_eq!(allowed.set_path.as_deref(), Some("/x?keep=1"));
}

#[test]
fn one_token_satisfying_two_requirements_is_one_identity() {
    let f = fixture_with(
        json!([{"match": {"prefix": "/"}, "requires": {"requires_all": {"requirements": [
            {"provider_name": "customers"}, {"allow_missing": {}}]}}}]),
        json!({"claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"}]}),
        json!({}),
    );
    let Decision::Allow(allowed) = f.decide("/x", Some(&f.token(&claims())), NOW) else {
        panic!("allowed expected")
    };
    assert_eq!(allowed.verified_by, vec![CUSTOMERS]);
    assert_eq!(
        allowed.set_headers,
        vec![("x-user-id".to_string(), "client@clients".to_string())]
    );
    assert_eq!(allowed.remove_headers, vec!["authorization"]);
}

#[test]
fn identity_headers_spelled_with_underscores_are_removed_too() {
    let f = fixture_with(
        json!([{"match": {"prefix": "/"}}]),
        json!({"claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"}]}),
        json!({}),
    );
    let Decision::Allow(allowed) = f.decide_request(
        "GET",
        "/",
        &[
            ("x_user_id", "admin"),
            ("X_USER-ID", "admin"),
            ("x-user-id", "a"),
        ],
        NOW,
    ) else {
        panic!("allowed expected")
    };
    assert_eq!(
        allowed.remove_headers,
        vec!["x_user_id", "X_USER-ID", "x-user-id"]
    );
}

#[test]
fn a_token_of_another_provider_is_refused_for_its_issuer_not_for_local_limits() {
    let f = fixture_with(
        json!([{"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [
            {"provider_name": "customers"}, {"provider_name": "staff"}]}}}]),
        json!({"max_token_bytes": 100}),
        json!({}),
    );
    // Too large for customers, but it names staff's issuer: staff decides.
    assert_eq!(
        f.decide("/", Some(&f.staff_token()), NOW),
        allowed_by(&[STAFF])
    );
    let mut expired = staff_claims();
    expired["exp"] = json!(NOW - 3600);
    let expired = f.staff_key.mint(&expired).expect("mint");
    assert_eq!(
        f.decide("/", Some(&expired), NOW),
        denied(AuthError::Expired, Some(STAFF))
    );
}

// ---- Policy chosen by Envoy's routes, and jwt_authn's remaining provider fields ----------

use jwt_authz::policy::route::KnownFacts;

impl Fixture {
    fn decide_with_facts(
        &self,
        path: &str,
        token: Option<&str>,
        facts: &KnownFacts,
    ) -> Decision<'_> {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut all = vec![(":method", "GET"), (":path", path)];
        all.extend(bearer.as_deref().map(|b| ("authorization", b)));
        let mut request = Request::from_headers(&all);
        request.route = facts;
        let mut keyring = Keyring::new(&self.config);
        authorize(
            &self.config,
            request,
            &mut keyring,
            Duration::from_secs(NOW),
        )
    }
}

fn route_fixture() -> Fixture {
    fixture_with(
        json!([
            {"match": {"route_name": {"exact": "staff-only"}}, "requirement_name": "staff"},
            {"match": {"prefix": "/", "virtual_host_name": {"prefix": "internal."}}},
            {"match": {"prefix": "/api"}, "requires": {"provider_name": "customers"}, "required_scopes": ["read:messages"]}
        ]),
        json!({}),
        json!({
            "requirement_map": {
                "staff": {"provider_name": "staff"},
                "anyone": {"requires_any": {"requirements": [{"provider_name": "customers"}, {"provider_name": "staff"}]}}
            },
            "filter_state_rules": {"name": "tier", "requires": {"gold": {"provider_name": "staff"}}}
        }),
    )
}

fn facts(
    route: Option<&str>,
    host: Option<&str>,
    named: Option<&str>,
    state: Option<&str>,
) -> KnownFacts {
    KnownFacts {
        route_name: route.map(str::to_string),
        virtual_host_name: host.map(str::to_string),
        requirement_name: named.map(str::to_string),
        filter_state: state.map(str::to_string),
    }
}

#[test]
fn the_route_metadata_names_the_requirement_before_any_rule() {
    let f = route_fixture();
    let (customer, staff) = (f.token(&claims()), f.staff_token());
    let anyone = facts(None, None, Some("anyone"), None);
    assert_eq!(
        f.decide_with_facts("/api/x", Some(&staff), &anyone),
        allowed_by(&[STAFF])
    );
    // The rule's scopes are not the route's requirement's: only the requirement applies.
    let mut unscoped = claims();
    unscoped["scope"] = json!("");
    let token = f.token(&unscoped);
    assert_eq!(
        f.decide_with_facts("/api/x", Some(&token), &anyone),
        allowed_by(&[CUSTOMERS])
    );
    let staff_only = facts(None, None, Some("staff"), None);
    assert_eq!(
        f.decide_with_facts("/api/x", Some(&customer), &staff_only),
        denied(AuthError::IssuerNotAllowed, Some(STAFF))
    );
    assert_eq!(
        f.decide_with_facts(
            "/api/x",
            Some(&customer),
            &facts(None, None, Some("typo"), None)
        ),
        denied(AuthError::UnknownRequirement, None)
    );
}

#[test]
fn rules_match_on_route_and_virtual_host_names() {
    let f = route_fixture();
    let (customer, staff) = (f.token(&claims()), f.staff_token());
    let route = facts(Some("staff-only"), None, None, None);
    assert_eq!(
        f.decide_with_facts("/any/path", Some(&staff), &route),
        allowed_by(&[STAFF])
    );
    assert_eq!(
        f.decide_with_facts("/any/path", Some(&customer), &route),
        denied(AuthError::IssuerNotAllowed, Some(STAFF))
    );
    let internal = facts(Some("other"), Some("internal.example.com:80"), None, None);
    assert_eq!(
        f.decide_with_facts("/x", None, &internal),
        Decision::Allow(Allowed::default())
    );
    assert_eq!(
        f.decide_with_facts(
            "/x",
            None,
            &facts(None, Some("api.example.com"), None, None)
        ),
        denied(AuthError::NoMatchingRule, None)
    );
}

#[test]
fn filter_state_picks_a_requirement_when_no_rule_matches() {
    let f = route_fixture();
    let staff = f.staff_token();
    let gold = facts(None, None, None, Some("gold"));
    assert_eq!(
        f.decide_with_facts("/other", Some(&staff), &gold),
        allowed_by(&[STAFF])
    );
    assert_eq!(
        f.decide_with_facts("/other", None, &gold),
        denied(AuthError::Missing, Some(STAFF))
    );
    // A rule that matches comes first; an unknown value is no rule at all.
    assert_eq!(
        f.decide_with_facts("/api/x", Some(&staff), &gold),
        denied(AuthError::IssuerNotAllowed, Some(CUSTOMERS))
    );
    assert_eq!(
        f.decide_with_facts(
            "/other",
            Some(&staff),
            &facts(None, None, None, Some("silver"))
        ),
        denied(AuthError::NoMatchingRule, None)
    );
}

#[test]
fn a_token_in_a_cookie_is_found_and_only_its_cookie_removed() {
    let f = fixture_with(
        json!([{"match": {"prefix": "/"}, "requires": {"provider_name": "customers"}}]),
        json!({"from_cookies": ["session", "jwt"]}),
        json!({}),
    );
    let token = f.token(&claims());
    let cookie = format!("theme=dark; jwt=\"{token}\"; lang=en");
    let Decision::Allow(allowed) = f.decide_request("GET", "/x", &[("cookie", &cookie)], NOW)
    else {
        panic!("allowed expected")
    };
    assert_eq!(allowed.remove_headers, vec!["cookie"]);
    assert_eq!(
        allowed.set_headers,
        vec![("cookie".to_string(), "theme=dark; lang=en".to_string())]
    );
    // The only cookie: the header goes.
    let only = format!("session={token}");
    let Decision::Allow(allowed) = f.decide_request("GET", "/x", &[("cookie", &only)], NOW) else {
        panic!("allowed expected")
    };
    assert_eq!(
        (allowed.remove_headers, allowed.set_headers),
        (vec!["cookie".into()], vec![])
    );
    // Not in the Authorization header any more, and one token per request.
    assert_eq!(
        f.decide("/x", Some(&token), NOW),
        denied(AuthError::Missing, Some(CUSTOMERS))
    );
    let two = format!("session={token}; jwt={token}");
    assert_eq!(
        f.decide_request("GET", "/x", &[("cookie", &two)], NOW),
        denied(AuthError::MultipleTokens, Some(CUSTOMERS))
    );
}

#[test]
fn subjects_and_max_lifetime_refuse_with_their_reason() {
    let f = fixture_with(
        json!([{"match": {"prefix": "/"}, "requires": {"provider_name": "customers"}}]),
        json!({"subjects": {"suffix": "@clients"}, "max_lifetime": "3600s", "require_expiration": true}),
        json!({}),
    );
    assert_eq!(
        f.decide("/x", Some(&f.token(&claims())), NOW),
        allowed_by(&[CUSTOMERS])
    );
    let with = |field: &str, value: Value| {
        let mut c = claims();
        c[field] = value;
        f.token(&c)
    };
    for (token, error) in [
        (with("sub", json!("user|1")), AuthError::SubjectNotAllowed),
        (with("sub", json!(7)), AuthError::SubjectNotAllowed),
        (with("exp", json!(NOW + 3601)), AuthError::LifetimeTooLong),
    ] {
        assert_eq!(
            f.decide("/x", Some(&token), NOW),
            denied(error, Some(CUSTOMERS))
        );
    }
    let without = |field: &str| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(field);
        f.token(&c)
    };
    assert_eq!(
        f.decide("/x", Some(&without("sub")), NOW),
        denied(AuthError::SubjectNotAllowed, Some(CUSTOMERS))
    );
    assert_eq!(
        f.decide("/x", Some(&without("iat")), NOW),
        denied(AuthError::MissingIssuedAt, Some(CUSTOMERS))
    );
}

/// Facts that fail the test when asked: what a configuration without route policy must never do.
struct Untouchable;

impl jwt_authz::policy::route::RouteFacts for Untouchable {
    fn route_name(&self) -> Option<&str> {
        panic!("route_name read")
    }
    fn virtual_host_name(&self) -> Option<&str> {
        panic!("virtual_host_name read")
    }
    fn requirement_name(&self) -> Option<&str> {
        panic!("route metadata read")
    }
    fn filter_state(&self) -> Option<&str> {
        panic!("filter state read")
    }
}

#[test]
fn a_configuration_without_route_policy_asks_the_host_nothing() {
    let f = fixture();
    let token = f.token(&claims());
    let bearer = format!("Bearer {token}");
    for path in ["/api/x", "/healthz", "/nowhere"] {
        let all = [
            (":method", "GET"),
            (":path", path),
            ("authorization", bearer.as_str()),
        ];
        let mut request = Request::from_headers(&all);
        request.route = &Untouchable;
        let mut keyring = Keyring::new(&f.config);
        authorize(&f.config, request, &mut keyring, Duration::from_secs(NOW));
    }
}

/// `filter_state`: an allowed request carries its first verified token's provider and claims
/// for the filter state only when the configuration asks; the values themselves are decided
/// in `request::filter_state` (unit tests there).
#[test]
fn identity_for_the_filter_state_only_when_asked() {
    let rules = json!([
        {"match": {"prefix": "/both"}, "requires": {"requires_all": {"requirements": [
            {"provider_name": "staff"}, {"provider_name": "customers"}]}}},
        {"match": {"prefix": "/public"}},
        {"match": {"prefix": "/"}, "requires": {"provider_name": "customers"}}
    ]);
    let customers = json!({"from_headers": [{"name": "x-customer-token"}]});
    let identity = |decision: Decision| match decision {
        Decision::Allow(allowed) => allowed
            .identity
            .map(|(provider, claims)| (provider.to_string(), claims["sub"].clone())),
        other => panic!("{other:?}"),
    };
    let asked = fixture_with(
        rules.clone(),
        customers.clone(),
        json!({"filter_state": {"identity": true}}),
    );
    let customer = asked.token(&claims());
    let as_customer = [("x-customer-token", customer.as_str())];
    assert_eq!(
        identity(asked.decide_request("GET", "/api", &as_customer, NOW)),
        Some(("customers".to_string(), json!("client@clients")))
    );
    // Two verified tokens: the requirement's first (staff) is the one written.
    let staff = format!("Bearer {}", asked.staff_token());
    let both = [as_customer[0], ("authorization", staff.as_str())];
    assert_eq!(
        identity(asked.decide_request("GET", "/both", &both, NOW)),
        Some(("staff".to_string(), json!("staff|7")))
    );
    assert_eq!(identity(asked.decide("/public", None, NOW)), None);
    // Only refusals asked for, or nothing: nothing is carried.
    for top_level in [json!({"filter_state": {"failure": true}}), json!({})] {
        let f = fixture_with(rules.clone(), customers.clone(), top_level);
        let customer = f.token(&claims());
        let as_customer = [("x-customer-token", customer.as_str())];
        assert_eq!(
            identity(f.decide_request("GET", "/api", &as_customer, NOW)),
            None
        );
    }
}
