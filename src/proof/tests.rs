//! DPoP through the whole decision: configuration, token, proof and the answer's status,
//! challenges and description, with injected time.

use crate::authn::{self, Decision, Request, authorize};
use crate::config::Config;
use crate::crypto::Hash;
use crate::crypto::ecdsa::Curve;
use crate::jose::algorithm::{Algorithm, KeyKind};
use crate::jose::test_signers::{self, b64};
use crate::keys::keyring::Keyring;
use crate::proof::thumbprint;
use serde_json::{Value, json};
use std::time::Duration;

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://idp.example.com/";
const AUDIENCE: &str = "https://api.example.com";
const ALGS: &str = "ES256 EdDSA";

fn config_with(dpop: Value) -> Config {
    let jwks = json!({"keys": [test_signers::jwk(KeyKind::Rsa, "k1")]});
    let mut provider = json!({
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "local_jwks": {"inline_string": jwks.to_string()},
        "algorithms": ["RS256"],
        "clock_skew_seconds": 5
    });
    if !dpop.is_null() {
        provider["dpop"] = dpop;
    }
    let config = json!({
        "providers": {"idp": provider},
        "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "idp"}}]
    });
    Config::from_json(config.to_string().as_bytes()).unwrap()
}

fn config(mode: &str) -> Config {
    config_with(json!({"mode": mode, "algorithms": ["ES256", "EdDSA"], "max_age": "30s"}))
}

fn proof_jwk() -> Value {
    let mut jwk = test_signers::jwk(KeyKind::Ec(Curve::P256), "x");
    jwk.as_object_mut().unwrap().remove("kid");
    jwk
}

fn proof_thumbprint() -> String {
    thumbprint::of(proof_jwk().as_object().unwrap()).unwrap()
}

fn token(cnf: Option<Value>) -> String {
    let mut claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "client", "exp": NOW + 600});
    if let Some(cnf) = cnf {
        claims["cnf"] = cnf;
    }
    test_signers::token(Algorithm::RS256, Some("k1"), &claims)
}

fn bound_token() -> String {
    token(Some(json!({"jkt": proof_thumbprint()})))
}

fn proof_claims(access_token: &str) -> Value {
    let ath = b64(Hash::Sha256.digest(access_token.as_bytes()));
    json!({"htm": "GET", "htu": "http://api.example.com/orders", "iat": NOW, "jti": "j-1", "ath": ath})
}

fn sign_proof(claims: &Value) -> String {
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": proof_jwk()});
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = test_signers::sign(Algorithm::ES256, input.as_bytes());
    format!("{input}.{}", b64(signature))
}

fn proof(access_token: &str) -> String {
    sign_proof(&proof_claims(access_token))
}

/// The decision on `GET /orders?page=2` at `http://api.example.com` with `extra` headers.
fn decide<'c>(config: &'c Config, extra: &[(&str, &str)]) -> Decision<'c> {
    let mut headers = vec![
        (":method", "GET"),
        (":path", "/orders?page=2"),
        (":scheme", "http"),
        (":authority", "api.example.com"),
    ];
    headers.extend_from_slice(extra);
    let mut keyring = Keyring::new(config);
    let request = Request::from_headers(&headers);
    authorize(config, request, &mut keyring, Duration::from_secs(NOW))
}

/// Status, challenges and description of a refusal.
fn refusal(config: &Config, extra: &[(&str, &str)]) -> (u32, Vec<String>, String) {
    match decide(config, extra) {
        Decision::Deny(failure) => (
            failure.error.status(),
            authn::challenges(config, &failure),
            failure.error.description().into_owned(),
        ),
        other => panic!("not refused: {other:?}"),
    }
}

fn dpop_challenge(error: &str, description: &str) -> String {
    format!(
        "DPoP realm=\"api\", algs=\"{ALGS}\", error=\"{error}\", error_description=\"{description}\""
    )
}

fn bearer_challenge(description: &str) -> String {
    format!("Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{description}\"")
}

#[test]
fn a_bound_token_with_its_proof_passes_and_its_proof_is_to_be_recorded() {
    for mode in ["allowed", "required"] {
        let config = config(mode);
        let token = bound_token();
        let authorization = format!("DPoP {token}");
        let proof = proof(&token);
        let Decision::Allow(allowed) = decide(
            &config,
            &[("authorization", &authorization), ("dpop", &proof)],
        ) else {
            panic!("{mode}: refused");
        };
        assert_eq!(allowed.verified_by, vec![0]);
        assert_eq!(allowed.proofs.len(), 1, "{mode}");
        assert_eq!(allowed.proofs[0].0, 0);
        assert_eq!(allowed.proofs[0].1.expires, NOW + 30 + 5 + 1);
    }
}

#[test]
fn an_unbound_bearer_token_passes_where_bearer_is_taken() {
    let token = token(None);
    let authorization = format!("Bearer {token}");
    for mode in ["off", "allowed"] {
        let config = config(mode);
        let Decision::Allow(allowed) = decide(&config, &[("authorization", &authorization)]) else {
            panic!("{mode}: refused");
        };
        assert!(allowed.proofs.is_empty());
    }
    assert_eq!(
        refusal(&config("required"), &[("authorization", &authorization)]),
        (
            401,
            vec![dpop_challenge(
                "invalid_token",
                "Jwt must be sent with the DPoP scheme and a DPoP proof"
            )],
            "Jwt must be sent with the DPoP scheme and a DPoP proof".into()
        )
    );
}

#[test]
fn a_bound_token_as_bearer_is_refused_whatever_the_mode() {
    let token = bound_token();
    let authorization = format!("Bearer {token}");
    let proof = proof(&token);
    let headers = [("authorization", authorization.as_str()), ("dpop", &proof)];
    let as_bearer = "Jwt is bound to a key and must be sent with the DPoP scheme";
    assert_eq!(
        refusal(&config("allowed"), &headers),
        (
            401,
            vec![
                bearer_challenge(as_bearer),
                dpop_challenge("invalid_token", as_bearer)
            ],
            as_bearer.into()
        )
    );
    assert_eq!(
        refusal(&config("required"), &headers).1,
        vec![dpop_challenge("invalid_token", as_bearer)]
    );
    let off = "Jwt is bound to a DPoP key and its provider does not check DPoP: set dpop.mode to allowed or required";
    for config in [config("off"), config_with(Value::Null)] {
        assert_eq!(
            refusal(&config, &headers),
            (401, vec![bearer_challenge(off)], off.into())
        );
    }
    let certificate = self::token(Some(json!({"x5t#S256": "abc"})));
    let authorization = format!("DPoP {certificate}");
    let proof = self::proof(&certificate);
    let described = "Jwt is bound to a client certificate and its provider does not check certificates: set certificate_binding.mode to enforced or required";
    assert_eq!(
        refusal(
            &config("required"),
            &[("authorization", &authorization), ("dpop", &proof)]
        ),
        (
            401,
            vec![dpop_challenge("invalid_token", described)],
            described.into()
        )
    );
}

#[test]
fn a_missing_token_is_challenged_in_every_scheme_taken() {
    assert_eq!(
        refusal(&config("allowed"), &[]),
        (
            401,
            vec![
                "Bearer realm=\"api\"".to_string(),
                format!("DPoP realm=\"api\", algs=\"{ALGS}\"")
            ],
            "Jwt is missing".into()
        )
    );
    assert_eq!(
        refusal(&config("required"), &[]).1,
        vec![format!("DPoP realm=\"api\", algs=\"{ALGS}\"")]
    );
    assert_eq!(
        refusal(&config("off"), &[]).1,
        vec!["Bearer realm=\"api\"".to_string()]
    );
}

#[test]
fn each_proof_check_failing_alone_has_its_answer() {
    let token = bound_token();
    let authorization = format!("DPoP {token}");
    let mut cases: Vec<(String, Vec<(&str, String)>)> = Vec::new();
    let with = |member: &str, value: Value| {
        let mut claims = proof_claims(&token);
        claims[member] = value;
        sign_proof(&claims)
    };
    cases.push(("DPoP proof is missing".into(), vec![]));
    cases.push((
        "Request carries more than one DPoP proof".into(),
        vec![("dpop", proof(&token)), ("dpop", proof(&token))],
    ));
    cases.push((
        "DPoP proof htm does not match the request method".into(),
        vec![("dpop", with("htm", json!("POST")))],
    ));
    cases.push((
        "DPoP proof htu does not match the request URI".into(),
        vec![(
            "dpop",
            with("htu", json!("http://other.example.com/orders")),
        )],
    ));
    cases.push((
        "DPoP proof iat is too old".into(),
        vec![("dpop", with("iat", json!(NOW - 36)))],
    ));
    cases.push((
        "DPoP proof iat is in the future".into(),
        vec![("dpop", with("iat", json!(NOW + 6)))],
    ));
    cases.push((
        "DPoP proof has no jti".into(),
        vec![("dpop", with("jti", json!("")))],
    ));
    cases.push((
        "DPoP proof ath does not match the access token".into(),
        vec![("dpop", self::proof(&self::token(None)))],
    ));
    let config = config("allowed");
    for (description, proof_headers) in cases {
        let mut headers = vec![("authorization", authorization.as_str())];
        headers.extend(proof_headers.iter().map(|(n, v)| (*n, v.as_str())));
        assert_eq!(
            refusal(&config, &headers),
            (
                401,
                vec![
                    "Bearer realm=\"api\"".to_string(),
                    dpop_challenge("invalid_dpop_proof", &description)
                ],
                description.clone()
            ),
            "{description}"
        );
    }
}

#[test]
fn a_proof_by_another_key_or_for_an_unbound_token_is_refused() {
    let config = config("required");
    let other_key = token(Some(json!({"jkt": "bm90LXRoZS1wcm9vZi1rZXk"})));
    let authorization = format!("DPoP {other_key}");
    let mismatch = "Jwt cnf.jkt does not match the DPoP proof key";
    assert_eq!(
        refusal(
            &config,
            &[
                ("authorization", &authorization),
                ("dpop", &proof(&other_key))
            ]
        ),
        (
            401,
            vec![dpop_challenge("invalid_token", mismatch)],
            mismatch.into()
        )
    );
    let unbound = token(None);
    let authorization = format!("DPoP {unbound}");
    assert_eq!(
        refusal(
            &config,
            &[
                ("authorization", &authorization),
                ("dpop", &proof(&unbound))
            ]
        )
        .2,
        "Jwt has no cnf.jkt binding it to the DPoP proof key"
    );
}

#[test]
fn the_public_origin_stands_for_the_request_authority() {
    let config =
        config_with(json!({"mode": "required", "public_origin": "HTTP://API.example.com:80"}));
    let token = bound_token();
    let authorization = format!("DPoP {token}");
    let proof = proof(&token);
    let headers = [
        (":method", "GET"),
        (":path", "/orders"),
        (":scheme", "https"),
        (":authority", "internal:8443"),
        ("authorization", authorization.as_str()),
        ("dpop", proof.as_str()),
    ];
    let mut keyring = Keyring::new(&config);
    let request = Request::from_headers(&headers);
    assert!(matches!(
        authorize(&config, request, &mut keyring, Duration::from_secs(NOW)),
        Decision::Allow(_)
    ));
    // Without it, the request's own authority is compared, and differs.
    let plain = config_with(json!({"mode": "required"}));
    let mut keyring = Keyring::new(&plain);
    let request = Request::from_headers(&headers);
    let Decision::Deny(failure) =
        authorize(&plain, request, &mut keyring, Duration::from_secs(NOW))
    else {
        panic!("allowed")
    };
    assert_eq!(
        failure.error.description(),
        "DPoP proof htu does not match the request URI"
    );
}

#[test]
fn a_cached_bound_token_still_needs_its_proof() {
    let config = config("allowed");
    let token = bound_token();
    let mut keyring = Keyring::new(&config);
    let dpop_authorization = format!("DPoP {token}");
    let bearer_authorization = format!("Bearer {token}");
    let proof = proof(&token);
    let base = [
        (":method", "GET"),
        (":path", "/orders"),
        (":scheme", "http"),
        (":authority", "api.example.com"),
    ];
    let mut first = base.to_vec();
    first.extend([
        ("authorization", dpop_authorization.as_str()),
        ("dpop", &proof),
    ]);
    let now = Duration::from_secs(NOW);
    assert!(matches!(
        authorize(&config, Request::from_headers(&first), &mut keyring, now),
        Decision::Allow(_)
    ));
    let mut second = base.to_vec();
    second.push(("authorization", bearer_authorization.as_str()));
    let Decision::Deny(failure) =
        authorize(&config, Request::from_headers(&second), &mut keyring, now)
    else {
        panic!("a cached bound token passed as Bearer")
    };
    assert_eq!(failure.error.reason(), "bound_token");
}

#[test]
fn a_cached_token_keeps_its_ath_and_each_proof_is_still_checked_against_it() {
    let config = config("required");
    let token = bound_token();
    let authorization = format!("DPoP {token}");
    let mut keyring = Keyring::new(&config);
    let now = Duration::from_secs(NOW);
    let mut send = |claims: Value| {
        let proof = sign_proof(&claims);
        let headers = [
            (":method", "GET"),
            (":path", "/orders"),
            (":scheme", "http"),
            (":authority", "api.example.com"),
            ("authorization", authorization.as_str()),
            ("dpop", proof.as_str()),
        ];
        match authorize(&config, Request::from_headers(&headers), &mut keyring, now) {
            Decision::Allow(_) => None,
            Decision::Deny(failure) => Some(failure.error.description().into_owned()),
            waiting => Some(format!("not decided: {waiting:?}")),
        }
    };
    let with_jti = |claims: Value, jti: &str| {
        let mut claims = claims;
        claims["jti"] = json!(jti);
        claims
    };
    assert_eq!(send(proof_claims(&token)), None);
    // The token is cached now, with its ath: a proof for another token is refused...
    assert_eq!(
        send(with_jti(proof_claims("another.access.token"), "j-2")),
        Some("DPoP proof ath does not match the access token".into())
    );
    // ...and one for this token passes.
    assert_eq!(send(with_jti(proof_claims(&token), "j-3")), None);
    let expected = b64(Hash::Sha256.digest(token.as_bytes()));
    let kept = keyring
        .verified(0, &token)
        .and_then(|e| e.access_token_hash.get());
    assert_eq!(kept, Some(&expected));
    assert_eq!(keyring.access_token_hash(0, &token), expected);
    assert_eq!(keyring.access_token_hash(0, "not.cached.token"), {
        b64(Hash::Sha256.digest(b"not.cached.token"))
    });
}

#[test]
fn dpop_settings_are_validated_with_their_paths() {
    for (dpop, expected) in [
        (
            json!({"mode": "on"}),
            "providers.idp.dpop.mode: \"on\" is not a mode: off, allowed or required",
        ),
        (
            json!({"algorithms": []}),
            "providers.idp.dpop.algorithms: must list at least one algorithm",
        ),
        (
            json!({"algorithms": ["ES256", "HS256"]}),
            "providers.idp.dpop.algorithms[1]: HS256 cannot sign a proof: a proof is signed with the client's private key and checked with its public jwk",
        ),
        (
            json!({"algorithms": ["none"]}),
            "providers.idp.dpop.algorithms[0]: unsupported proof algorithm \"none\": supported are RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519",
        ),
        (
            json!({"max_age": "0s"}),
            "providers.idp.dpop.max_age: must be between 1s and 600s",
        ),
        (
            json!({"max_age": "601s"}),
            "providers.idp.dpop.max_age: must be between 1s and 600s",
        ),
        (
            json!({"max_age": 60}),
            "providers.idp.dpop.max_age: must be a string, not a number",
        ),
        (
            json!({"nonce": true}),
            "providers.idp.dpop.nonce: unknown field `nonce`, expected one of `mode`, `algorithms`, `max_age`, `public_origin`, `nonce_period`",
        ),
    ] {
        let jwks = json!({"keys": [test_signers::jwk(KeyKind::Rsa, "k1")]});
        let config = json!({
            "providers": {"idp": {"issuer": ISSUER, "audiences": [AUDIENCE],
                "local_jwks": {"inline_string": jwks.to_string()}, "dpop": dpop}},
            "rules": [{"match": {"prefix": "/"}}]
        });
        let error = Config::from_json(config.to_string().as_bytes()).unwrap_err();
        assert_eq!(error.to_string(), expected, "{dpop}");
    }
    for origin in [
        "https://api.example.com/v1",
        "ftp://api.example.com",
        "https://api.example.com?x",
        "api.example.com",
    ] {
        let jwks = json!({"keys": [test_signers::jwk(KeyKind::Rsa, "k1")]});
        let config = json!({
            "providers": {"idp": {"issuer": ISSUER, "audiences": [AUDIENCE],
                "local_jwks": {"inline_string": jwks.to_string()},
                "dpop": {"mode": "allowed", "public_origin": origin}}},
            "rules": [{"match": {"prefix": "/"}}]
        });
        let error = Config::from_json(config.to_string().as_bytes()).unwrap_err();
        assert_eq!(error.path, "providers.idp.dpop.public_origin", "{origin}");
    }
    let config =
        config_with(json!({"mode": "allowed", "public_origin": "https://API.example.com:443/"}));
    let dpop = &config.providers[0].dpop;
    assert_eq!(
        dpop.public_origin.as_deref(),
        Some("https://api.example.com")
    );
    assert_eq!(dpop.max_age_seconds, 60);
    assert_eq!(dpop.algorithms, Algorithm::asymmetric());
}

#[test]
fn a_proof_without_a_current_nonce_gets_a_fresh_one() {
    let config = config_with(json!({"mode": "required", "algorithms": ["ES256", "EdDSA"],
        "nonce_period": "60s"}));
    let token = bound_token();
    let authorization = format!("DPoP {token}");
    let mut keyring = Keyring::new(&config);
    keyring.set_nonce_secret(&[9; 32]);
    let now = Duration::from_secs(NOW);
    let decide_with = |claims: &Value, keyring: &mut Keyring| {
        let proof = sign_proof(claims);
        let headers = [
            (":method", "GET"),
            (":path", "/orders"),
            (":scheme", "http"),
            (":authority", "api.example.com"),
            ("authorization", authorization.as_str()),
            ("dpop", proof.as_str()),
        ];
        authorize(&config, Request::from_headers(&headers), keyring, now)
    };
    let fresh = crate::proof::nonce::issue(keyring.nonce_key().unwrap(), NOW, 60);
    let mut stale_key = Keyring::new(&config);
    stale_key.set_nonce_secret(&[8; 32]);
    let stale = crate::proof::nonce::issue(stale_key.nonce_key().unwrap(), NOW, 60);
    for (nonce, description) in [
        (None, "DPoP proof has no nonce"),
        (Some(stale), "DPoP proof nonce is not current"),
    ] {
        let mut claims = proof_claims(&token);
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let Decision::Deny(failure) = decide_with(&claims, &mut keyring) else {
            panic!("{description}: allowed");
        };
        assert_eq!(failure.error.status(), 401);
        assert_eq!(
            authn::challenges(&config, &failure),
            vec![dpop_challenge("use_dpop_nonce", description)]
        );
        assert_eq!(
            authn::fresh_nonce(&config, &failure, &keyring, now).as_deref(),
            Some(fresh.as_str()),
            "{description}"
        );
    }
    let mut claims = proof_claims(&token);
    claims["nonce"] = json!(fresh);
    assert!(matches!(
        decide_with(&claims, &mut keyring),
        Decision::Allow(_)
    ));
    // Without the process's secret no nonce is current, and none is offered.
    let mut no_secret = Keyring::new(&config);
    let Decision::Deny(failure) = decide_with(&claims, &mut no_secret) else {
        panic!("allowed without the secret");
    };
    assert_eq!(
        failure.error.description(),
        "DPoP proof nonce is not current"
    );
    assert_eq!(authn::fresh_nonce(&config, &failure, &no_secret, now), None);
}

#[test]
fn nonce_period_is_validated() {
    for period in ["9s", "3601s", "10.5s", "x"] {
        let jwks = json!({"keys": [test_signers::jwk(KeyKind::Rsa, "k1")]});
        let config = json!({
            "providers": {"idp": {"issuer": ISSUER, "audiences": [AUDIENCE],
                "local_jwks": {"inline_string": jwks.to_string()},
                "dpop": {"mode": "required", "nonce_period": period}}},
            "rules": [{"match": {"prefix": "/"}}]
        });
        let error = Config::from_json(config.to_string().as_bytes()).unwrap_err();
        assert_eq!(error.path, "providers.idp.dpop.nonce_period", "{period}");
    }
    let config = config_with(json!({"mode": "allowed", "nonce_period": "30s"}));
    assert_eq!(config.providers[0].dpop.nonce_period_seconds, Some(30));
}
