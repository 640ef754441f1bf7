//! End to end through a real Envoy: who may call what. Requirements across two issuers (two dev
//! IdPs, each with its own keys and cluster), rule matching on path, headers and method,
//! scope and claim requirements, and the CORS preflight bypass.

mod support;

use devidp::{Idp, KeyPair};
use devstack::Response;
use serde_json::{Value, json};
use support::*;

/// The Envoy cluster of the staff IdP (the customers' IdP is behind `idp`).
const STAFF_CLUSTER: &str = "staff_idp";
const ADMIN_AUDIENCE: &str = "https://admin.example.com";
const THIRD_ISSUER: &str = "https://third.example.com/";
const ROLES: &str = "https://example.com/roles";
const CUSTOMER: &str = "customer-app@clients";
const STAFF: &str = "staff-app@clients";
/// Every header the two-issuer configuration sets from a verified token.
const IDENTITY: [&str; 2] = ["x-user-id", "x-issuer"];

fn remote_jwks(idp: &Idp, cluster: &str) -> Value {
    json!({
        "http_uri": {"uri": idp.jwks_uri(), "cluster": cluster, "timeout": "2s"},
        "cache_duration": "600s",
        "min_refetch_interval": "1s"
    })
}

/// A provider for `idp` that tells the upstream who called and which issuer vouched for it.
fn provider(idp: &Idp, cluster: &str, extra: Value) -> Value {
    let mut provider = json!({
        "issuer": idp.issuer(),
        "audiences": [AUDIENCE],
        "remote_jwks": remote_jwks(idp, cluster),
        "claim_to_headers": [
            {"header_name": "x-user-id", "claim_name": "sub"},
            {"header_name": "x-issuer", "claim_name": "iss"}
        ]
    });
    if let (Some(p), Value::Object(extra)) = (provider.as_object_mut(), extra) {
        p.extend(extra);
    }
    provider
}

/// `customers` and `staff` both read `Authorization: Bearer` (so `iss` tells them apart);
/// `customer-header` is the customers' issuer again, reading the raw token from
/// `x-customer-token`, for `requires_all` with one token per header.
fn two_issuer_config(customers: &Idp, staff: &Idp) -> Value {
    json!({
        "providers": {
            "customers": provider(customers, "idp", json!({})),
            "customer-header": provider(customers, "idp", json!({"from_headers": [{"name": "x-customer-token"}]})),
            "staff": provider(staff, STAFF_CLUSTER, json!({}))
        },
        "rules": [
            {"match": {"prefix": "/either"}, "requires": {"requires_any": {"requirements": [
                {"provider_name": "customers"}, {"provider_name": "staff"}]}}},
            {"match": {"prefix": "/both"}, "requires": {"requires_all": {"requirements": [
                {"provider_name": "customer-header"}, {"provider_name": "staff"}]}}},
            {"match": {"prefix": "/admin"}, "requires": {"provider_and_audiences": {
                "provider_name": "customers", "audiences": [ADMIN_AUDIENCE]}}},
            {"match": {"prefix": "/optional"}, "requires": {"allow_missing": {}}},
            {"match": {"prefix": "/anything"}, "requires": {"allow_missing_or_failed": {}}},
            {"match": {"prefix": "/api"}, "requires": {"provider_name": "customers"}}
        ]
    })
}

/// Envoy with [`two_issuer_config`]: `h.idp` is the customers' IdP, [`staff_idp`] the staff's.
fn two_issuers() -> Harness {
    let (customers, staff) = (start_idp(), start_idp());
    assert_ne!(customers.issuer(), staff.issuer());
    let filter = two_issuer_config(&customers, &staff);
    Harness::start_with_idps(customers, vec![(STAFF_CLUSTER.into(), staff)], &filter)
        .expect("Envoy starts")
}

fn staff_idp(h: &Harness) -> &Idp {
    h.idp_of(STAFF_CLUSTER)
}

fn customer_claims(h: &Harness, audience: &str) -> Value {
    h.idp.claims_for("customer-app", audience, &[])
}

fn customer_token(h: &Harness) -> String {
    h.idp.mint(&customer_claims(h, AUDIENCE))
}

fn staff_claims(h: &Harness) -> Value {
    staff_idp(h).claims_for("staff-app", AUDIENCE, &[])
}

fn staff_token(h: &Harness) -> String {
    staff_idp(h).mint(&staff_claims(h))
}

fn expired(mut claims: Value) -> Value {
    let now = now();
    claims["iat"] = json!(now - 3600);
    claims["exp"] = json!(now - 600);
    claims
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The identity headers the upstream must have received from one verified token.
fn identity_of(user: &str, issuer: &str) -> Vec<(String, String)> {
    pairs(&[("x-user-id", user), ("x-issuer", issuer)])
}

fn no_identity() -> Vec<(String, String)> {
    Vec::new()
}

#[test]
fn requires_any_accepts_either_issuer_and_refuses_a_third() {
    let h = two_issuers();
    let (customers_iss, staff_iss) = (h.idp.issuer(), staff_idp(&h).issuer());

    let seen = h.forwarded(
        "customer token",
        &h.get_with_token("/either", &customer_token(&h)),
    );
    assert_eq!(
        headers_among(&seen, &IDENTITY),
        identity_of(CUSTOMER, &customers_iss)
    );
    assert_eq!(
        seen.header("authorization"),
        None,
        "the token is not forwarded"
    );
    let seen = h.forwarded(
        "staff token",
        &h.get_with_token("/either", &staff_token(&h)),
    );
    assert_eq!(
        headers_among(&seen, &IDENTITY),
        identity_of(STAFF, &staff_iss)
    );
    assert_eq!(seen.header("authorization"), None);

    // A third issuer with its own key, and one whose token the customers' IdP signed.
    let third = KeyPair::generate("third").expect("key");
    let mut third_claims = customer_claims(&h, AUDIENCE);
    third_claims["iss"] = json!(THIRD_ISSUER);
    let stranger = KeyPair::generate("stranger").expect("key");
    let staff_kid = staff_idp(&h).current_key().kid().to_string();
    let staff_header = json!({"alg": "RS256", "typ": "JWT", "kid": staff_kid}).to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "third issuer, its own key",
            third.mint(&third_claims).expect("mint"),
            "Jwt issuer is not allowed",
        ),
        (
            "third issuer, signed by the customers' IdP",
            h.idp.mint(&third_claims),
            "Jwt issuer is not allowed",
        ),
        (
            "staff issuer, unknown key",
            stranger.mint(&staff_claims(&h)).expect("mint"),
            "Jwks doesn't have key to match kid or alg from Jwt",
        ),
        (
            "staff issuer, signed with the customers' key",
            h.idp.mint(&staff_claims(&h)),
            "Jwks doesn't have key to match kid or alg from Jwt",
        ),
        (
            "staff issuer, staff kid, another key's signature",
            stranger.sign_raw(&staff_header, &staff_claims(&h).to_string()),
            "Jwt verification fails",
        ),
        (
            "customer issuer, expired",
            h.idp.mint(&expired(customer_claims(&h, AUDIENCE))),
            "Jwt is expired",
        ),
    ];
    for (case, token, description) in &cases {
        assert_invalid_token(case, &h.get_with_token("/either", token), description);
    }
    assert_missing("no token", &h.get("/either", &[]));
    h.assert_nothing_forwarded("refused tokens");
}

#[test]
fn requires_all_needs_a_verified_token_in_each_header() {
    let h = two_issuers();
    let (customer, staff) = (customer_token(&h), staff_token(&h));
    let staff_bearer = bearer(&staff);

    let seen = h.forwarded(
        "both tokens",
        &h.get(
            "/both",
            &[
                ("x-customer-token", &customer),
                ("authorization", &staff_bearer),
            ],
        ),
    );
    assert_eq!(
        headers_among(&seen, &IDENTITY),
        pairs(&[
            ("x-user-id", &format!("{CUSTOMER},{STAFF}")),
            (
                "x-issuer",
                &format!("{},{}", h.idp.issuer(), staff_idp(&h).issuer())
            ),
        ]),
        "both identities, in requirement order"
    );
    assert_eq!(seen.header("x-customer-token"), None);
    assert_eq!(seen.header("authorization"), None);

    assert_missing(
        "staff token only",
        &h.get("/both", &[("authorization", &staff_bearer)]),
    );
    assert_missing(
        "customer token only",
        &h.get("/both", &[("x-customer-token", &customer)]),
    );
    assert_missing(
        "customer token in the staff header only",
        &h.get("/both", &[("authorization", &bearer(&customer))]),
    );
    assert_invalid_token(
        "tokens swapped between the headers",
        &h.get(
            "/both",
            &[
                ("x-customer-token", &staff),
                ("authorization", &bearer(&customer)),
            ],
        ),
        "Jwt issuer is not allowed",
    );
    let expired_staff = staff_idp(&h).mint(&expired(staff_claims(&h)));
    assert_invalid_token(
        "staff token expired",
        &h.get(
            "/both",
            &[
                ("x-customer-token", &customer),
                ("authorization", &bearer(&expired_staff)),
            ],
        ),
        "Jwt is expired",
    );
    h.assert_nothing_forwarded("refused pairs");
}

#[test]
fn provider_and_audiences_requires_the_route_audience_only_on_its_route() {
    let h = two_issuers();
    let default = customer_token(&h);
    let admin = h.idp.mint(&customer_claims(&h, ADMIN_AUDIENCE));
    let mut both_claims = customer_claims(&h, AUDIENCE);
    both_claims["aud"] = json!([AUDIENCE, ADMIN_AUDIENCE]);
    let both = h.idp.mint(&both_claims);
    let customers_iss = h.idp.issuer();

    assert_invalid_token(
        "default audience on the admin route",
        &h.get_with_token("/admin/users", &default),
        "Jwt audience is not allowed",
    );
    assert_invalid_token(
        "admin audience elsewhere",
        &h.get_with_token("/api/orders", &admin),
        "Jwt audience is not allowed",
    );
    h.assert_nothing_forwarded("wrong audiences");
    for (case, path, token) in [
        ("default audience elsewhere", "/api/orders", &default),
        ("admin audience on the admin route", "/admin/users", &admin),
        ("both audiences on the admin route", "/admin/users", &both),
        ("both audiences elsewhere", "/api/orders", &both),
    ] {
        let seen = h.forwarded(case, &h.get_with_token(path, token));
        assert_eq!(seen.path, path, "{case}");
        assert_eq!(
            headers_among(&seen, &IDENTITY),
            identity_of(CUSTOMER, &customers_iss),
            "{case}"
        );
    }
}

#[test]
fn allow_missing_refuses_a_bad_token_and_allow_missing_or_failed_forwards_it_without_identity() {
    let h = two_issuers();
    let (customers_iss, staff_iss) = (h.idp.issuer(), staff_idp(&h).issuer());
    let customer = customer_token(&h);
    let customer_kid = h.idp.current_key().kid().to_string();
    let customer_header = json!({"alg": "RS256", "typ": "JWT", "kid": customer_kid}).to_string();
    let mut third_claims = customer_claims(&h, AUDIENCE);
    third_claims["iss"] = json!(THIRD_ISSUER);
    let forger = KeyPair::generate("forger").expect("key");
    let bad: Vec<(&str, String, &str)> = vec![
        (
            "garbage",
            "garbage".into(),
            "Jwt is not in the form of Header.Payload.Signature",
        ),
        (
            "forged customer token",
            forger.sign_raw(&customer_header, &customer_claims(&h, AUDIENCE).to_string()),
            "Jwt verification fails",
        ),
        (
            "third issuer",
            h.idp.mint(&third_claims),
            "Jwt issuer is not allowed",
        ),
        (
            "expired staff token",
            staff_idp(&h).mint(&expired(staff_claims(&h))),
            "Jwt is expired",
        ),
    ];

    // allow_missing: no token passes, a good token of any provider passes with its identity,
    // a bad one is refused with its reason.
    let seen = h.forwarded("allow_missing, no token", &h.get("/optional", &[]));
    assert_eq!(headers_among(&seen, &IDENTITY), no_identity());
    for (case, headers, identity) in [
        (
            "allow_missing, customer token",
            vec![("authorization", bearer(&customer))],
            identity_of(CUSTOMER, &customers_iss),
        ),
        (
            "allow_missing, staff token",
            vec![("authorization", bearer(&staff_token(&h)))],
            identity_of(STAFF, &staff_iss),
        ),
        (
            "allow_missing, customer token in x-customer-token",
            vec![("x-customer-token", customer.clone())],
            identity_of(CUSTOMER, &customers_iss),
        ),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let seen = h.forwarded(case, &h.get("/optional", &headers));
        assert_eq!(headers_among(&seen, &IDENTITY), identity, "{case}");
        assert_eq!(seen.header("authorization"), None, "{case}");
        assert_eq!(seen.header("x-customer-token"), None, "{case}");
    }
    for (case, token, description) in &bad {
        let response = h.get_with_token("/optional", token);
        assert_invalid_token(&format!("allow_missing, {case}"), &response, description);
    }
    h.assert_nothing_forwarded("allow_missing refusals");

    // allow_missing_or_failed: everything passes, identity only from a verified token, and
    // never from the client.
    let spoofed = [("x-user-id", "admin"), ("x-issuer", THIRD_ISSUER)];
    let seen = h.forwarded(
        "allow_missing_or_failed, no token",
        &h.get("/anything", &spoofed),
    );
    assert_eq!(headers_among(&seen, &IDENTITY), no_identity());
    for (case, token, _) in &bad {
        let case = format!("allow_missing_or_failed, {case}");
        let bearer = bearer(token);
        let mut headers = spoofed.to_vec();
        headers.push(("authorization", &bearer));
        let seen = h.forwarded(&case, &h.get("/anything", &headers));
        assert_eq!(headers_among(&seen, &IDENTITY), no_identity(), "{case}");
    }
    let bearer = bearer(&customer);
    let mut headers = spoofed.to_vec();
    headers.push(("authorization", &bearer));
    let seen = h.forwarded(
        "allow_missing_or_failed, customer token",
        &h.get("/anything", &headers),
    );
    assert_eq!(
        headers_among(&seen, &IDENTITY),
        identity_of(CUSTOMER, &customers_iss)
    );
    assert_eq!(seen.header("authorization"), None);
}

/// What a request in a table must get.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Reaches the upstream without any token.
    Public,
    /// Reaches the upstream with the token it carried.
    Allowed,
    /// 401 missing token: the rule that matched requires one.
    Missing,
    /// 403 for lacking all of these scopes.
    LacksScopes(&'static str),
    /// 403 for lacking one of these scopes.
    LacksAnyScope(&'static str),
    /// 403 for a claim without a required value.
    ClaimMismatch(&'static str),
}

fn check(h: &Harness, case: &str, method: &str, path: &str, response: &Response, expect: Expect) {
    let forbidden = |description: String, scope: Option<&str>| {
        let scope = scope
            .map(|s| format!(", scope=\"{s}\""))
            .unwrap_or_default();
        let challenge = format!(
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"{description}\"{scope}"
        );
        assert_refused(
            case,
            response,
            403,
            Some(&challenge),
            "insufficient_scope",
            &description,
        );
    };
    match expect {
        Expect::Public | Expect::Allowed => {
            let seen = h.forwarded(case, response);
            assert_eq!(
                (seen.method.as_str(), seen.path.as_str()),
                (method, path),
                "{case}: what reached the upstream"
            );
        }
        Expect::Missing => assert_missing(case, response),
        Expect::LacksScopes(scopes) => {
            forbidden(format!("Jwt lacks required scope: {scopes}"), Some(scopes))
        }
        Expect::LacksAnyScope(scopes) => forbidden(
            format!("Jwt has none of the scopes: {scopes}"),
            Some(scopes),
        ),
        Expect::ClaimMismatch(claim) => forbidden(
            format!("Jwt claim {claim} does not have a required value"),
            None,
        ),
    }
    if !matches!(expect, Expect::Public | Expect::Allowed) {
        h.assert_nothing_forwarded(case);
    }
}

/// One request of a table: case, method, path, headers, and what it must get.
type Case<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, &'a str)>, Expect);

#[test]
fn rule_is_chosen_by_whole_path_regex_headers_and_method() {
    let h = Harness::start(|idp| {
        let mut config = filter_config(idp);
        config["rules"] = json!([
            {"match": {"safe_regex": {"regex": "/users/[0-9]+/orders"}}},
            {"match": {"prefix": "/reports", "headers": [{"name": "x-tenant", "exact_match": "staff"}]},
             "requires": {"provider_name": "idp"}, "required_scopes": ["read:reports"]},
            {"match": {"prefix": "/debug", "headers": [
                {"name": "x-debug", "present_match": true},
                {"name": "x-env", "prefix_match": "dev-"}]}},
            {"match": {"prefix": "/beta", "headers": [
                {"name": "x-env", "prefix_match": "prod", "invert_match": true}]}},
            {"match": {"prefix": "/quiet", "headers": [
                {"name": "x-trace", "present_match": true, "invert_match": true}]}},
            {"match": {"prefix": "/messages", "methods": ["GET", "HEAD"]}},
            {"match": {"prefix": "/"}, "requires": {"provider_name": "idp"}}
        ]);
        config
    });
    let plain = bearer(&h.token(&["read:messages"]));
    let reports = bearer(&h.token(&["read:reports"]));
    use Expect::*;
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("regex", "GET", "/users/42/orders", vec![], Public),
        ("regex, query ignored", "GET", "/users/42/orders?page=2", vec![], Public),
        ("regex, longer path", "GET", "/users/42/orders/9", vec![], Missing),
        ("regex, prefixed path", "GET", "/v1/users/42/orders", vec![], Missing),
        ("regex, not digits", "GET", "/users/abc/orders", vec![], Missing),
        ("regex, only the query matches", "GET", "/users/abc/orders?next=/users/1/orders", vec![], Missing),
        ("exact header, no token", "GET", "/reports/q1", vec![("x-tenant", "staff")], Missing),
        ("exact header, scope lacking", "GET", "/reports/q1", vec![("x-tenant", "staff"), ("authorization", &plain)], LacksScopes("read:reports")),
        ("exact header, name in capitals", "GET", "/reports/q1", vec![("X-Tenant", "staff"), ("authorization", &plain)], LacksScopes("read:reports")),
        ("exact header, scope granted", "GET", "/reports/q1", vec![("x-tenant", "staff"), ("authorization", &reports)], Allowed),
        ("exact header differs: catch-all rule, no scope", "GET", "/reports/q1", vec![("x-tenant", "staffer"), ("authorization", &plain)], Allowed),
        ("no header: catch-all rule, no scope", "GET", "/reports/q1", vec![("authorization", &plain)], Allowed),
        ("present and prefix", "GET", "/debug/vars", vec![("x-debug", "1"), ("x-env", "dev-eu")], Public),
        ("present, prefix differs", "GET", "/debug/vars", vec![("x-debug", "1"), ("x-env", "prod")], Missing),
        ("prefix, not present", "GET", "/debug/vars", vec![("x-env", "dev-eu")], Missing),
        ("inverted prefix, other value", "GET", "/beta/x", vec![("x-env", "staging")], Public),
        ("inverted prefix, prefix holds", "GET", "/beta/x", vec![("x-env", "prod-eu")], Missing),
        ("inverted prefix, header absent (as in Envoy)", "GET", "/beta/x", vec![], Missing),
        ("inverted present, absent", "GET", "/quiet/x", vec![], Public),
        ("inverted present, present", "GET", "/quiet/x", vec![("x-trace", "1")], Missing),
        ("method GET", "GET", "/messages", vec![], Public),
        ("method HEAD", "HEAD", "/messages", vec![], Public),
        ("method POST", "POST", "/messages", vec![], Missing),
        ("method DELETE", "DELETE", "/messages/7", vec![], Missing),
        ("method POST with a token", "POST", "/messages", vec![("authorization", &plain)], Allowed),
    ];
    for (case, method, path, headers, expect) in cases {
        let response = h.request(method, path, &headers);
        check(&h, case, method, path, &response, expect);
    }
}

#[test]
fn scope_and_claim_requirements_refuse_with_403_naming_what_is_lacking() {
    let h = Harness::start(|idp| {
        let mut config = filter_config(idp);
        config["rules"] = json!([
            {"match": {"prefix": "/any"}, "requires": {"provider_name": "idp"}, "required_scopes_any": ["a", "b"]},
            {"match": {"prefix": "/admin"}, "requires": {"provider_name": "idp"},
             "required_claims": [{"name": ROLES, "contains": "admin"}]},
            {"match": {"prefix": "/m2m"}, "requires": {"provider_name": "idp"},
             "required_claims": [{"name": "gty", "equals": "client-credentials"}]},
            {"match": {"prefix": "/partners"}, "requires": {"provider_name": "idp"},
             "required_claims": [{"name": "azp", "one_of": ["partner-a", "partner-b"]}]}
        ]);
        config
    });
    let with_claim = |client: &str, name: &str, value: Option<Value>| {
        let mut claims = h.idp.claims_for(client, AUDIENCE, &[]);
        match value {
            Some(value) => claims[name] = value,
            None => {
                claims.as_object_mut().expect("object").remove(name);
            }
        }
        h.idp.mint(&claims)
    };
    let roles = |value: Value| with_claim("test-client", ROLES, Some(value));
    let gty = |value: Option<Value>| with_claim("test-client", "gty", value);
    let azp = |client: &str| h.idp.mint(&h.idp.claims_for(client, AUDIENCE, &[]));
    let mut permissions_only = h.idp.claims_for("test-client", AUDIENCE, &[]);
    permissions_only["permissions"] = json!(["b"]);

    use Expect::*;
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, String, Expect)> = vec![
        ("no scope", "/any", h.token(&[]), LacksAnyScope("a b")),
        ("other scopes", "/any", h.token(&["c", "ab"]), LacksAnyScope("a b")),
        ("scope a", "/any", h.token(&["a"]), Allowed),
        ("scope b among others", "/any", h.token(&["c", "b"]), Allowed),
        ("scope b as a permission", "/any", h.idp.mint(&permissions_only), Allowed),
        ("admin role", "/admin", roles(json!(["support", "admin"])), Allowed),
        ("other role", "/admin", roles(json!(["support"])), ClaimMismatch(ROLES)),
        ("role in another case", "/admin", roles(json!(["Admin"])), ClaimMismatch(ROLES)),
        ("roles a string, not an array", "/admin", roles(json!("admin")), ClaimMismatch(ROLES)),
        ("no roles", "/admin", h.token(&[]), ClaimMismatch(ROLES)),
        ("client-credentials grant", "/m2m", gty(Some(json!("client-credentials"))), Allowed),
        ("password grant", "/m2m", gty(Some(json!("password"))), ClaimMismatch("gty")),
        ("no gty", "/m2m", gty(None), ClaimMismatch("gty")),
        ("first listed azp", "/partners", azp("partner-a"), Allowed),
        ("second listed azp", "/partners", azp("partner-b"), Allowed),
        ("unlisted azp", "/partners", azp("partner-c"), ClaimMismatch("azp")),
    ];
    for (case, path, token, expect) in &cases {
        let response = h.get_with_token(path, token);
        check(&h, case, "GET", path, &response, *expect);
    }

    // The wire text, spelled out once.
    assert_refused(
        "roles, literally",
        &h.get_with_token("/admin", &roles(json!(["support"]))),
        403,
        Some(
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt claim https://example.com/roles does not have a required value\"",
        ),
        "insufficient_scope",
        "Jwt claim https://example.com/roles does not have a required value",
    );
    assert_refused(
        "any scope, literally",
        &h.get_with_token("/any", &h.token(&["c"])),
        403,
        Some(
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt has none of the scopes: a b\", scope=\"a b\"",
        ),
        "insufficient_scope",
        "Jwt has none of the scopes: a b",
    );

    // Scopes and claims are judged only once the token verified.
    let forger = KeyPair::generate("forger").expect("key");
    let kid = h.idp.current_key().kid().to_string();
    let mut admin = h.idp.claims_for("test-client", AUDIENCE, &["a"]);
    admin[ROLES] = json!(["admin"]);
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string();
    let forged = forger.sign_raw(&header, &admin.to_string());
    for path in ["/any", "/admin"] {
        assert_invalid_token(
            path,
            &h.get_with_token(path, &forged),
            "Jwt verification fails",
        );
    }
    h.assert_nothing_forwarded("forged tokens");
}

fn cors_config(idp: &Idp, bypass: bool) -> Value {
    let mut config = filter_config(idp);
    config["bypass_cors_preflight"] = json!(bypass);
    config["providers"]["idp"]["claim_to_headers"] =
        json!([{"header_name": "x-user-id", "claim_name": "sub"}]);
    config
}

const ORIGIN: (&str, &str) = ("origin", "https://app.example.com");
const REQUESTED_METHOD: (&str, &str) = ("access-control-request-method", "POST");

#[test]
fn cors_preflight_passes_without_a_token_when_bypassed() {
    let h = Harness::start(|idp| cors_config(idp, true));
    for (case, path, extra) in [
        ("preflight", "/api/orders", vec![]),
        (
            "preflight with a spoofed identity",
            "/api/orders",
            vec![("x-user-id", "admin")],
        ),
        (
            "preflight with a garbage token",
            "/api/orders",
            vec![("authorization", "Bearer garbage")],
        ),
        ("preflight to a path no rule matches", "/other", vec![]),
    ] {
        let mut headers = vec![ORIGIN, REQUESTED_METHOD];
        headers.extend(extra);
        let seen = h.forwarded(case, &h.request("OPTIONS", path, &headers));
        assert_eq!(
            (seen.method.as_str(), seen.path.as_str()),
            ("OPTIONS", path),
            "{case}"
        );
        assert_eq!(seen.header("origin"), Some(ORIGIN.1), "{case}");
        assert_eq!(
            seen.header("access-control-request-method"),
            Some("POST"),
            "{case}"
        );
        assert_eq!(
            seen.headers_named("x-user-id"),
            Vec::<&str>::new(),
            "{case}"
        );
    }
    for (case, method, headers) in [
        ("plain OPTIONS", "OPTIONS", vec![]),
        ("OPTIONS with Origin only", "OPTIONS", vec![ORIGIN]),
        (
            "OPTIONS with Access-Control-Request-Method only",
            "OPTIONS",
            vec![REQUESTED_METHOD],
        ),
        (
            "GET with preflight headers",
            "GET",
            vec![ORIGIN, REQUESTED_METHOD],
        ),
    ] {
        assert_missing(case, &h.request(method, "/api/orders", &headers));
    }
    h.assert_nothing_forwarded("not preflights");
    let token = bearer(&h.token(&[]));
    let seen = h.forwarded(
        "OPTIONS with a token",
        &h.request(
            "OPTIONS",
            "/api/orders",
            &[ORIGIN, ("authorization", &token)],
        ),
    );
    assert_eq!(seen.header("x-user-id"), Some("test-client@clients"));
}

#[test]
fn cors_preflight_needs_a_token_when_not_bypassed() {
    let h = Harness::start(|idp| cors_config(idp, false));
    assert_missing(
        "preflight",
        &h.request("OPTIONS", "/api/orders", &[ORIGIN, REQUESTED_METHOD]),
    );
    assert_missing("plain OPTIONS", &h.request("OPTIONS", "/api/orders", &[]));
    h.assert_nothing_forwarded("preflights");
    let seen = h.forwarded(
        "preflight on a public route",
        &h.request("OPTIONS", "/public/status", &[ORIGIN, REQUESTED_METHOD]),
    );
    assert_eq!(seen.method, "OPTIONS");
}
