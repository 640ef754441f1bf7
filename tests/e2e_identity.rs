//! End to end through a real Envoy: what the upstream learns about the caller. Claims copied
//! into headers, the verified payload forwarded, the token kept or taken out, and identity
//! headers sent by the client itself never reaching the upstream.

mod support;

use devidp::{Idp, KeyPair};
use devstack::RecordedRequest;
use serde_json::{Value, json};
use support::*;

const PARTNER_ISSUER: &str = "https://partners.example.com/";
const PARTNER: &str = "partner|7";
const USER: &str = "test-client@clients";
/// Every header either provider may set.
const IDENTITY: [&str; 5] = [
    "x-user-id",
    "x-email",
    "x-permissions",
    "x-country",
    "x-jwt-payload",
];

/// `idp` (remote keys, `forward: false`) sets every identity header and the payload unpadded;
/// `partners` (inline keys, `forward: true`) sets `x-user-id` and the payload padded. Both read
/// `Authorization: Bearer` and `?access_token=`.
fn identity_config(idp: &Idp, partner_key: &KeyPair) -> Value {
    let mut config = filter_config(idp);
    let users = &mut config["providers"]["idp"];
    users["claim_to_headers"] = json!([
        {"header_name": "x-user-id", "claim_name": "sub"},
        {"header_name": "x-email", "claim_name": "https://example.com/email"},
        {"header_name": "x-permissions", "claim_name": "permissions"},
        {"header_name": "x-country", "claim_name": "address.country"}
    ]);
    users["forward_payload_header"] = json!("x-jwt-payload");
    config["providers"]["partners"] = json!({
        "issuer": PARTNER_ISSUER,
        "audiences": [AUDIENCE],
        "local_jwks": {"inline_string": json!({"keys": [partner_key.public_jwk()]}).to_string()},
        "forward": true,
        "claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"}],
        "forward_payload_header": "x-jwt-payload",
        "pad_forward_payload_header": true
    });
    config["rules"] = json!([
        {"match": {"prefix": "/public"}},
        {"match": {"prefix": "/optional"}, "requires": {"allow_missing_or_failed": {}}},
        {"match": {"prefix": "/partner"}, "requires": {"provider_name": "partners"}},
        {"match": {"prefix": "/api"}, "requires": {"provider_name": "idp"}}
    ]);
    config
}

struct Fixture {
    h: Harness,
    partner_key: KeyPair,
}

fn start() -> Fixture {
    let partner_key = KeyPair::generate("partner-1").expect("key");
    let h = Harness::start(|idp| identity_config(idp, &partner_key));
    Fixture { h, partner_key }
}

impl Fixture {
    /// Claims with every claim the `idp` provider maps, plus a claim it does not.
    fn user_claims(&self) -> Value {
        let mut claims = self.h.idp.claims_for(
            "test-client",
            AUDIENCE,
            &["read:messages", "write:messages"],
        );
        claims["https://example.com/email"] = json!("a@example.com");
        claims["address"] = json!({"country": "NL", "city": "Utrecht"});
        claims["nickname"] = json!("not mapped");
        claims
    }

    fn user_token(&self) -> String {
        self.h.idp.mint(&self.user_claims())
    }

    /// A partner token whose payload needs padding: its length is not a multiple of four.
    fn partner_token(&self) -> String {
        let now = now();
        (0..4)
            .map(|filler| {
                let claims = json!({
                    "iss": PARTNER_ISSUER, "aud": AUDIENCE, "sub": PARTNER,
                    "iat": now, "exp": now + 600, "filler": "x".repeat(filler)
                });
                self.partner_key.mint(&claims).expect("mint")
            })
            .find(|token| !payload_of(token).len().is_multiple_of(4))
            .expect("one of four lengths needs padding")
    }
}

/// The token's middle segment, exactly as sent.
fn payload_of(token: &str) -> &str {
    token.split('.').nth(1).expect("three segments")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The identity headers `idp` sets for [`Fixture::user_claims`] in `token`.
fn user_identity(token: &str) -> Vec<(String, String)> {
    pairs(&[
        ("x-user-id", USER),
        ("x-email", "a@example.com"),
        ("x-permissions", "read:messages,write:messages"),
        ("x-country", "NL"),
        ("x-jwt-payload", payload_of(token)),
    ])
}

/// The identity headers `partners` sets for `token`: the payload padded.
fn partner_identity(token: &str) -> Vec<(String, String)> {
    let payload = payload_of(token);
    let padded = format!("{payload}{}", "=".repeat((4 - payload.len() % 4) % 4));
    assert_ne!(padded, payload, "the test token needs padding");
    pairs(&[("x-user-id", PARTNER), ("x-jwt-payload", &padded)])
}

fn identity(seen: &RecordedRequest) -> Vec<(String, String)> {
    headers_among(seen, &IDENTITY)
}

#[test]
fn verified_claims_and_payload_become_headers_for_the_upstream() {
    let f = start();
    let h = &f.h;

    let user = f.user_token();
    let seen = h.forwarded("user token", &h.get_with_token("/api/orders", &user));
    assert_eq!(identity(&seen), user_identity(&user));

    let partner = f.partner_token();
    let seen = h.forwarded(
        "partner token",
        &h.get_with_token("/partner/orders", &partner),
    );
    assert_eq!(identity(&seen), partner_identity(&partner));

    let mut sparse = f.user_claims();
    let claims = sparse.as_object_mut().expect("object");
    claims.remove("https://example.com/email");
    claims.remove("address");
    let sparse = h.idp.mint(&sparse);
    let seen = h.forwarded(
        "user token without email and address",
        &h.get_with_token("/api/orders", &sparse),
    );
    assert_eq!(
        identity(&seen),
        pairs(&[
            ("x-user-id", USER),
            ("x-permissions", "read:messages,write:messages"),
            ("x-jwt-payload", payload_of(&sparse)),
        ]),
        "absent claims set no header"
    );
}

#[test]
fn forward_decides_whether_the_token_reaches_the_upstream() {
    let f = start();
    let h = &f.h;
    let (user, partner) = (f.user_token(), f.partner_token());

    let seen = h.forwarded(
        "forward: false, header",
        &h.get_with_token("/api/orders", &user),
    );
    assert_eq!(seen.headers_named("authorization"), Vec::<&str>::new());
    assert_eq!(seen.path, "/api/orders");
    assert_eq!(identity(&seen), user_identity(&user));

    for (query, forwarded) in [
        (format!("?access_token={user}"), "/api/orders"),
        (format!("?access_token={user}&page=2"), "/api/orders?page=2"),
        (
            format!("?page=2&access_token={user}&sort=asc"),
            "/api/orders?page=2&sort=asc",
        ),
    ] {
        let case = format!("forward: false, query {forwarded}");
        let seen = h.forwarded(&case, &h.get(&format!("/api/orders{query}"), &[]));
        assert_eq!(seen.path, forwarded, "{case}");
        assert_eq!(identity(&seen), user_identity(&user), "{case}");
    }

    let seen = h.forwarded(
        "forward: true, header",
        &h.get_with_token("/partner/orders", &partner),
    );
    assert_eq!(seen.headers_named("authorization"), vec![bearer(&partner)]);
    assert_eq!(identity(&seen), partner_identity(&partner));
    let path = format!("/partner/orders?page=2&access_token={partner}");
    let seen = h.forwarded("forward: true, query", &h.get(&path, &[]));
    assert_eq!(seen.path, path);
    assert_eq!(identity(&seen), partner_identity(&partner));
}

#[test]
fn client_sent_identity_headers_never_reach_the_upstream() {
    let f = start();
    let h = &f.h;
    let (user, partner) = (f.user_token(), f.partner_token());
    let forged = forged(&user);
    let spoofed = [
        ("x-user-id", "admin"),
        ("X-User-Id", "root"),
        ("x-email", "boss@example.com"),
        ("x-permissions", "admin:all"),
        ("x-country", "XX"),
        ("x-jwt-payload", "eyJzdWIiOiJhZG1pbiJ9"),
        // Read as x-user-id by many upstream frameworks.
        ("x_user_id", "admin"),
        ("X_Email", "boss@example.com"),
    ];
    let with = |token: Option<&str>| {
        let mut headers: Vec<(String, String)> = spoofed
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        if let Some(token) = token {
            headers.push(("authorization".into(), bearer(token)));
        }
        headers
    };
    let no_identity: Vec<(String, String)> = Vec::new();
    let cases = [
        ("public route", "/public/status", None, no_identity.clone()),
        (
            "public route with a valid token",
            "/public/status",
            Some(user.as_str()),
            no_identity.clone(),
        ),
        (
            "authenticated route",
            "/api/orders",
            Some(user.as_str()),
            user_identity(&user),
        ),
        (
            "authenticated route of a provider setting fewer headers",
            "/partner/orders",
            Some(partner.as_str()),
            partner_identity(&partner),
        ),
        (
            "allow_missing_or_failed, no token",
            "/optional/feed",
            None,
            no_identity.clone(),
        ),
        (
            "allow_missing_or_failed, garbage token",
            "/optional/feed",
            Some("garbage"),
            no_identity.clone(),
        ),
        (
            "allow_missing_or_failed, forged token",
            "/optional/feed",
            Some(forged.as_str()),
            no_identity.clone(),
        ),
        (
            "allow_missing_or_failed, user token",
            "/optional/feed",
            Some(user.as_str()),
            user_identity(&user),
        ),
    ];
    for (case, path, token, expected) in cases {
        let headers = with(token);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let seen = h.forwarded(case, &h.get(path, &headers));
        assert_eq!(identity(&seen), expected, "{case}");
        let underscored: Vec<&String> = seen
            .headers
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                name.contains('_') && IDENTITY.contains(&name.replace('_', "-").as_str())
            })
            .collect();
        assert!(underscored.is_empty(), "{case}: {underscored:?}");
    }
    assert_missing("refused request", &h.get("/api/orders", &spoofed));
    assert_invalid_token(
        "the forged token is refused where a token is required",
        &h.get_with_token("/api/orders", &forged),
        "Jwt verification fails",
    );
    h.assert_nothing_forwarded("refused requests");
}

#[test]
fn dot_segments_cannot_make_a_protected_path_public() {
    // The harness normalises paths as envoy/envoy.yaml does; rules see the result.
    let f = start();
    for path in [
        "/public/../api/orders",
        "/public/%2E%2E/api/orders",
        "//public/../api/orders",
    ] {
        assert_missing(path, &f.h.get(path, &[]));
    }
    f.h.assert_nothing_forwarded("dot segments");
}

/// `token` with the first character of its signature changed: still base64url, same
/// claims, but the signature no longer verifies.
fn forged(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').expect("three segments");
    let first = if signature.starts_with('A') { "B" } else { "A" };
    format!("{signed}.{first}{}", &signature[1..])
}

#[test]
fn claim_values_with_cr_or_lf_are_not_set_as_headers() {
    let f = start();
    let h = &f.h;
    let mut claims = f.user_claims();
    claims["sub"] = json!("evil\r\nx-admin: true");
    claims["https://example.com/email"] = json!("a@example.com\nx-injected: 1");
    claims["permissions"] = json!(["read:messages", "write\r\nx-smuggled: 1"]);
    let token = h.idp.mint(&claims);
    let seen = h.forwarded(
        "injection attempt",
        &h.get(
            "/api/orders",
            &[("authorization", &bearer(&token)), ("x-user-id", "admin")],
        ),
    );
    assert_eq!(
        identity(&seen),
        pairs(&[("x-country", "NL"), ("x-jwt-payload", payload_of(&token))]),
        "only the safe claims become headers; the client's x-user-id is gone too"
    );
    assert_eq!(
        headers_among(&seen, &["x-admin", "x-injected", "x-smuggled"]),
        Vec::<(String, String)>::new(),
        "no header was injected"
    );
}
