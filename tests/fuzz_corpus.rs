//! The fuzz targets' bodies (`fuzz/harness.rs`) over every committed seed in `fuzz/seeds/`,
//! on stable Rust: `make test` checks that no seed panics or breaks a target's invariants, and
//! that the seeds still reach what they were written for (the valid tokens are allowed).
//! `make fuzz` runs the same bodies under libFuzzer, starting from these seeds.
//!
//! `cargo test --test fuzz_corpus -- --ignored` writes the seeds anew (a new seed key); inputs
//! that once found a bug are kept as `regression-*`.

#[path = "../fuzz/harness.rs"]
mod harness;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devidp::KeyPair;
use jwt_authz::authn::{Decision, Request, authorize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TARGETS: [&str; 6] = [
    "request",
    "headers",
    "claims",
    "jwks",
    "config",
    "discovery",
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join("seeds").join(target);
    let mut seeds: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let bytes = std::fs::read(&path).expect("seed readable");
            (path, bytes)
        })
        .collect();
    seeds.sort();
    assert!(
        seeds.len() >= 4,
        "{target}: too few seeds in {}",
        dir.display()
    );
    seeds
}

fn replay(target: &str, body: fn(&[u8])) {
    for (path, bytes) in seeds(target) {
        let outcome = std::panic::catch_unwind(|| body(&bytes));
        assert!(outcome.is_ok(), "{target} panics on {}", path.display());
    }
}

#[test]
fn request_seeds_pass() {
    replay("request", harness::request);
}

#[test]
fn headers_seeds_pass() {
    replay("headers", harness::headers);
}

#[test]
fn claims_seeds_pass() {
    replay("claims", harness::claims);
}

#[test]
fn jwks_seeds_pass() {
    replay("jwks", harness::jwks);
}

#[test]
fn config_seeds_pass() {
    replay("config", harness::config);
}

#[test]
fn proof_seeds_pass() {
    replay("proof", harness::proof);
}

#[test]
fn discovery_seeds_pass() {
    replay("discovery", harness::discovery);
}

/// The decision for a request seed, as the `request` target makes it.
fn decision(seed: &str) -> Decision<'static> {
    let bytes = std::fs::read(fuzz_dir().join("seeds/request").join(seed)).expect(seed);
    let owned = harness::parse_request(&bytes).expect("request line");
    let headers: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let config = harness::fixed_config();
    let mut keyring = harness::keyring(config);
    authorize(
        config,
        Request::from_headers(&headers),
        &mut keyring,
        Duration::from_secs(harness::NOW),
    )
}

fn status(decision: &Decision) -> u32 {
    match decision {
        Decision::Allow(_) => 200,
        Decision::Deny(failure) => failure.error.status(),
        Decision::Wait(_) => 0,
    }
}

#[test]
fn seeds_still_reach_past_the_signature_check() {
    for (seed, expected) in [
        ("valid-bearer", 200),
        ("valid-query", 200),
        ("scope-granted", 200),
        ("scope-missing", 403),
        ("staff-admin", 200),
        ("both-providers", 200),
        ("forged-signature", 401),
        ("expired", 401),
        ("unknown-staff-kid", 0),
    ] {
        assert_eq!(status(&decision(seed)), expected, "seed {seed}");
    }
}

/// Writes `fuzz/seed_key.*` and every seed in `fuzz/seeds/` from a fresh key.
#[test]
#[ignore = "writes the committed fuzz seeds"]
fn regenerate_seeds() {
    let key = KeyPair::generate(harness::SEED_KID).unwrap();
    let other = KeyPair::generate("other").unwrap();
    let jwks = json!({"keys": [key.public_jwk()]}).to_string();
    let dir = fuzz_dir();
    std::fs::write(dir.join("seed_key.jwks.json"), &jwks).unwrap();

    let now = harness::NOW;
    let claims = |issuer: &str, extra: Value| {
        let mut c = json!({"iss": issuer, "aud": harness::AUDIENCE, "sub": "client-1@clients",
                           "iat": now - 60, "exp": now + 3600, "azp": "client-1",
                           "gty": "client-credentials"});
        if let (Some(c), Value::Object(extra)) = (c.as_object_mut(), extra) {
            c.extend(extra);
        }
        c
    };
    let header = format!(
        r#"{{"alg":"RS256","typ":"JWT","kid":"{}"}}"#,
        harness::SEED_KID
    );
    let sign = |claims: &Value| key.sign_raw(&header, &claims.to_string());
    let customer = sign(&claims(
        harness::ISSUER,
        json!({"scope": "read:messages read:a", "https://example.com/roles": ["user"], "org": {"id": "acme"}}),
    ));
    std::fs::write(dir.join("seed_key.token.txt"), format!("{customer}\n")).unwrap();
    let staff = sign(&claims(
        harness::STAFF_ISSUER,
        json!({"aud": [harness::AUDIENCE, "https://admin.example.com"], "email": "ops@example.com",
               "email_verified": true, "https://example.com/roles": ["admin", "staff"]}),
    ));
    let unscoped = sign(&claims(harness::ISSUER, json!({"scope": "read:profile"})));
    let expired = sign(&claims(
        harness::ISSUER,
        json!({"iat": now - 7200, "exp": now - 3600}),
    ));
    let wrong_audience = sign(&claims(
        harness::ISSUER,
        json!({"aud": "https://other.example.com"}),
    ));
    let mut forged = customer.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let raw = |header: &str, payload: &Value| {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            URL_SAFE_NO_PAD.encode("signature")
        )
    };
    let customer_claims = claims(harness::ISSUER, json!({}));
    let alg_none = raw(r#"{"alg":"none"}"#, &customer_claims);
    let hs256 = raw(r#"{"alg":"HS256","kid":"fuzz-seed"}"#, &customer_claims);
    let crit = raw(r#"{"alg":"RS256","crit":["exp"]}"#, &customer_claims);
    let duplicate = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(customer_claims.to_string())
    );
    let unknown_staff_kid = other.sign_raw(
        r#"{"alg":"RS256","kid":"rotated"}"#,
        &claims(harness::STAFF_ISSUER, json!({})).to_string(),
    );
    let bearer = |t: &str| format!("authorization: Bearer {t}");
    let requests: Vec<(&str, String)> =
        vec![
        ("valid-bearer", format!("GET /api/orders\n{}", bearer(&customer))),
        ("valid-query", format!("GET /api/orders?page=2&access_token={customer}&x=1\n")),
        ("scope-granted", format!("POST /messages/7\n{}", bearer(&customer))),
        ("scope-missing", format!("GET /messages\n{}", bearer(&unscoped))),
        ("scope-any", format!("GET /any\n{}", bearer(&unscoped))),
        ("staff-admin", format!("DELETE /admin/users/3\nx-staff-token: {staff}")),
        ("both-providers", format!("GET /both\n{}\nx-staff-token: {staff}", bearer(&customer))),
        ("either", format!("GET /either?staff_token={staff}\n")),
        ("forged-signature", format!("GET /api/x\n{}", bearer(&forged))),
        ("expired", format!("GET /api/x\n{}", bearer(&expired))),
        ("wrong-audience", format!("GET /api/x\n{}", bearer(&wrong_audience))),
        ("alg-none", format!("GET /api/x\n{}", bearer(&alg_none))),
        ("alg-hs256", format!("GET /api/x\n{}", bearer(&hs256))),
        ("crit", format!("GET /api/x\n{}", bearer(&crit))),
        ("duplicate-members", format!("GET /api/x\n{}", bearer(&duplicate))),
        ("unknown-staff-kid", format!("GET /admin\nx-staff-token: {unknown_staff_kid}")),
        ("two-tokens", format!("GET /api/x\n{}\n{}", bearer(&customer), bearer(&unscoped))),
        ("missing", "GET /api/x\naccept: */*".into()),
        ("junk", "GET /api/x\nauthorization: Bearer abc.def".into()),
        ("oversized", format!("GET /api/x\n{}", bearer(&"a".repeat(9000)))),
        ("no-rule", format!("GET /nothing\n{}", bearer(&customer))),
        ("healthz", "GET /healthz\n".into()),
        ("regex-route", "GET /orders/12\nx-api-version: 2.1".into()),
        ("optional-junk", "GET /optional\nauthorization: Bearer x.y.z".into()),
        (
            "preflight",
            "OPTIONS /api/x\norigin: https://app.example.com\naccess-control-request-method: POST"
                .into(),
        ),
        (
            "spoofed-identity",
            format!("GET /api/x\n{}\nx-user-id: admin\nx_user_id: admin", bearer(&customer)),
        ),
    ];
    write_seeds(
        "request",
        requests.iter().map(|(n, t)| (*n, t.as_bytes().to_vec())),
    );
    // The same requests as the host's serialized header map, and one value in Latin-1.
    let mut latin1 =
        harness::serialize(&harness::parse_request(b"GET /api/x\nx-name: cafe").unwrap());
    let at = latin1.windows(4).position(|w| w == b"cafe").unwrap();
    latin1[at + 3] = 0xe9;
    write_seeds(
        "headers",
        requests
            .iter()
            .map(|(n, t)| {
                let headers = harness::parse_request(t.as_bytes()).expect("request line");
                (*n, harness::serialize(&headers))
            })
            .chain([("latin1-value", latin1)]),
    );

    let payloads: Vec<(&str, Value)> = vec![
        (
            "customer",
            claims(
                harness::ISSUER,
                json!({"scope": "read:messages", "org": {"id": 7}}),
            ),
        ),
        (
            "staff",
            claims(
                harness::STAFF_ISSUER,
                json!({"aud": ["https://admin.example.com"],
            "email": "a@b.c", "email_verified": true, "https://example.com/roles": "admin"}),
            ),
        ),
        (
            "permissions",
            claims(
                harness::ISSUER,
                json!({"permissions": ["read:b"], "scope": ["read:a"]}),
            ),
        ),
        (
            "control-characters",
            claims(
                harness::ISSUER,
                json!({"sub": "a\r\nx-admin: 1", "org": {"id": "x\u{0}"}}),
            ),
        ),
        (
            "wrong-types",
            json!({"iss": 1, "aud": {"x": 1}, "exp": "soon", "nbf": [1], "iat": null}),
        ),
        (
            "float-times",
            claims(harness::ISSUER, json!({"exp": 1.75e9 + 10.5, "nbf": 1.0e9})),
        ),
        ("expired", claims(harness::ISSUER, json!({"exp": now - 61}))),
    ];
    write_seeds(
        "claims",
        payloads
            .iter()
            .map(|(n, v)| (*n, v.to_string().into_bytes())),
    );

    let mut auth0_shaped = key.public_jwk();
    auth0_shaped["x5t"] = json!("bm90IGEgcmVhbCB0aHVtYnByaW50");
    auth0_shaped["x5c"] = json!(["MIIDDTCCAfWgAwIBAgIJ"]);
    let documents: Vec<(&str, String)> = vec![
        ("seed", jwks.clone()),
        ("auth0-shaped", json!({"keys": [auth0_shaped, other.public_jwk()]}).to_string()),
        ("mixed", json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "oct", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            other.public_jwk()]}).to_string()),
        ("duplicate-kids", json!({"keys": [key.public_jwk(), key.public_jwk()]}).to_string()),
        ("empty", r#"{"keys": []}"#.into()),
        ("html", "<html><body>503 Service Unavailable</body></html>".into()),
        ("record", format!("jwt-authz-keys/1 1750000000000\n{jwks}")),
    ];
    write_seeds(
        "jwks",
        documents.iter().map(|(n, d)| (*n, d.as_bytes().to_vec())),
    );

    let configs: Vec<(&str, Value)> = vec![
        ("fixed", harness::fixed_config_json()),
        (
            "readme",
            json!({
            "providers": {"auth0": {
                "issuer": "https://TENANT.us.auth0.com/", "audiences": ["https://api.example.com"],
                "remote_jwks": {"http_uri": {"uri": "https://TENANT.us.auth0.com/.well-known/jwks.json", "cluster": "auth0_jwks", "timeout": "5s"}, "cache_duration": "600s"},
                "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
                "from_params": ["access_token"], "forward": false, "clock_skew_seconds": 60}},
            "rules": [
                {"match": {"prefix": "/api/public"}},
                {"match": {"path": "/healthz"}},
                {"match": {"prefix": "/api/messages"}, "requires": {"provider_name": "auth0"}, "required_scopes": ["read:messages"]},
                {"match": {"prefix": "/"}, "requires": {"provider_name": "auth0"}}]}),
        ),
        (
            "discovery",
            json!({
            "providers": {"auth0": {"issuer": "https://TENANT.us.auth0.com/", "audiences": ["a"],
                "oidc_discovery": {"cluster": "auth0", "timeout": "2.5s", "min_refetch_interval": "60s"}}},
            "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "auth0"}}]}),
        ),
        (
            "local",
            json!({
            "providers": {"local": {"issuer": harness::ISSUER, "audiences": [harness::AUDIENCE],
                "local_jwks": {"inline_string": jwks}}},
            "rules": [{"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [
                {"provider_name": "local"}, {"allow_missing": {}}]}}}]}),
        ),
        (
            "route-policy",
            serde_json::from_str(include_str!("../fuzz/seeds/config/route-policy")).unwrap(),
        ),
        (
            "filter-state",
            serde_json::from_str(include_str!("../fuzz/seeds/config/filter-state")).unwrap(),
        ),
        (
            "mistake",
            json!({"providers": {"p": {"issuer": "https://i/", "audiences": ["a"],
            "remote_jwks": {"http_uri": {"uri": "https://i/jwks", "cluster": "c", "timeout": "5"}}}},
            "rules": [{"match": {"prefix": "/"}}]}),
        ),
    ];
    write_seeds(
        "config",
        configs
            .iter()
            .map(|(n, v)| (*n, serde_json::to_vec_pretty(v).unwrap())),
    );

    let issuer = harness::ISSUER;
    let discovery: Vec<(&str, Value)> = vec![
        ("devidp", devidp::discovery_document(issuer)),
        (
            "auth0",
            json!({"issuer": issuer, "jwks_uri": format!("{issuer}.well-known/jwks.json"),
            "authorization_endpoint": format!("{issuer}authorize"), "scopes_supported": ["openid"]}),
        ),
        (
            "other-issuer",
            json!({"issuer": "https://evil.example.com/", "jwks_uri": format!("{issuer}jwks")}),
        ),
        (
            "other-host",
            json!({"issuer": issuer, "jwks_uri": "https://keys.example.net/jwks"}),
        ),
        (
            "explicit-port",
            json!({"issuer": issuer, "jwks_uri": "https://customers.example.com:443/k?v=1"}),
        ),
    ];
    write_seeds(
        "discovery",
        discovery
            .iter()
            .map(|(n, v)| (*n, v.to_string().into_bytes())),
    );
}

fn write_seeds(target: &str, seeds: impl Iterator<Item = (&'static str, Vec<u8>)>) {
    let dir = fuzz_dir().join("seeds").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    // Inputs that once found a bug stay.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if !name.starts_with("regression-") {
            std::fs::remove_file(&path).unwrap();
        }
    }
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    assert!(TARGETS.contains(&target));
}

/// The bound ES256 seed is a proof that passes every check, and its token's `cnf.jkt` is its
/// key: the target reaches the end of the proof path, not only its refusals.
#[test]
fn the_bound_proof_seed_passes_every_check() {
    use jwt_authz::jose::algorithm::Algorithm;
    use jwt_authz::proof::dpop::{self, ProofRequest};
    use jwt_authz::proof::settings::{CertificateSettings, DpopMode, DpopSettings};
    use jwt_authz::proof::{binding, sender};
    let seed = include_str!("../fuzz/seeds/proof/es256-bound");
    let (proof, claims) = seed.split_once('\n').unwrap();
    let settings = DpopSettings::new(DpopMode::Allowed, Algorithm::asymmetric(), 60, None);
    let access_token_hash = dpop::access_token_hash("token");
    let request = ProofRequest {
        method: "GET",
        uri: Some("https://api.example.com/orders"),
        access_token_hash: &access_token_hash,
        now: harness::NOW,
        clock_skew_seconds: 60,
        nonce_key: None,
        keys: None,
    };
    let checked = dpop::check(&[("dpop", proof)], &settings, &request).unwrap();
    let claims = jwt_authz::json::parse_object(claims.as_bytes()).unwrap();
    assert_eq!(
        binding::of(&claims),
        Ok(binding::Binding {
            key: Some(&checked.thumbprint),
            certificate: None
        })
    );
    let off = CertificateSettings::default();
    let confirmed = sender::confirm(
        &settings,
        &off,
        true,
        &claims,
        || None,
        || Ok(checked.clone()),
    );
    assert_eq!(confirmed, Ok(Some(checked)));
}
