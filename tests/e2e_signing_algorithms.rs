//! End to end through a real Envoy: the dev IdP signing each API with its own algorithm (as
//! Auth0's per-API setting does), the filter verifying every one from the one JWKS, HS256 from
//! the shared secret in a local key set, and every key type rotated.

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devidp::{Idp, IdpConfig, SigningAlgorithm};
use serde_json::{Value, json};
use std::thread;
use std::time::Duration;
use support::*;

const HS256_SECRET: &str = "the HS256 API's secret, 32 bytes or more";

fn audience(algorithm: SigningAlgorithm) -> String {
    format!(
        "https://{}.example.com",
        algorithm.name().to_ascii_lowercase()
    )
}

fn asymmetric() -> impl Iterator<Item = SigningAlgorithm> {
    SigningAlgorithm::ALL
        .into_iter()
        .filter(|a| !a.is_symmetric())
}

/// One API per algorithm, `https://{alg}.example.com`.
fn every_algorithm_idp() -> Idp {
    let apis: Vec<Value> = SigningAlgorithm::ALL
        .into_iter()
        .map(|algorithm| {
            let mut api = json!({
                "identifier": audience(algorithm),
                "signing_algorithm": algorithm.name(),
            });
            if algorithm.is_symmetric() {
                api["signing_secret"] = json!(HS256_SECRET);
            }
            api
        })
        .collect();
    let config = json!({"apis": apis, "clients": []}).to_string();
    let config = IdpConfig::from_json_str(&config).expect("valid config");
    Idp::start("127.0.0.1:0", config).expect("dev IdP starts")
}

/// `/api` takes tokens of every asymmetric API from the IdP's JWKS (`algorithms` omitted:
/// whatever the keys verify); `/hs` the HS256 API's, from its secret in a local key set.
fn filter(idp: &Idp) -> Value {
    let mut config = filter_config(idp);
    config["providers"]["idp"]["audiences"] = json!(asymmetric().map(audience).collect::<Vec<_>>());
    let oct = json!({"keys": [{"kty": "oct", "k": URL_SAFE_NO_PAD.encode(HS256_SECRET)}]});
    config["providers"]["hs"] = json!({
        "issuer": idp.issuer(),
        "audiences": [audience(SigningAlgorithm::Hs256)],
        "algorithms": ["HS256"],
        "local_jwks": {"inline_string": oct.to_string()},
    });
    config["rules"] = json!([
        {"match": {"prefix": "/hs"}, "requires": {"provider_name": "hs"}},
        {"match": {"prefix": "/api"}, "requires": {"provider_name": "idp"}},
    ]);
    config
}

/// A token the IdP's token endpoint would issue for `algorithm`'s API, from its current key.
fn token(h: &Harness, algorithm: SigningAlgorithm) -> String {
    let audience = audience(algorithm);
    let claims = h.idp.claims_for("test-client", &audience, &[]);
    let key = h.idp.signing_key_for(&audience);
    assert_eq!(key.algorithm(), algorithm);
    key.mint(&claims).expect("signs")
}

fn reason(response: &devstack::Response) -> String {
    response
        .header("www-authenticate")
        .unwrap_or_default()
        .to_owned()
}

fn start() -> Harness {
    let idp = every_algorithm_idp();
    let filter = filter(&idp);
    Harness::start_with(idp, &filter).expect("Envoy starts")
}

#[test]
fn every_api_s_tokens_pass_and_hs256_only_with_its_secret() {
    let h = start();
    for algorithm in asymmetric() {
        let response = h.get_with_token("/api/orders", &token(&h, algorithm));
        assert_eq!(response.status, 200, "{algorithm}: {}", reason(&response));
    }
    assert_eq!(
        h.idp.jwks_requests(),
        1,
        "one key set holds every algorithm's key"
    );
    let hs256 = token(&h, SigningAlgorithm::Hs256);
    let response = h.get_with_token("/hs/orders", &hs256);
    assert_eq!(response.status, 200, "HS256: {}", reason(&response));
    let response = h.get_with_token("/api/orders", &hs256);
    assert_eq!(response.status, 401);
    assert!(
        reason(&response).contains("Jwt algorithm is not allowed"),
        "{}",
        reason(&response)
    );
    let response = h.get_with_token("/hs/orders", &token(&h, SigningAlgorithm::Es256));
    assert_eq!(response.status, 401, "an ES256 token for the HS256 API");
}

#[test]
fn every_key_type_rotates_and_old_and_new_tokens_pass_while_both_are_published() {
    let h = start();
    let old: Vec<(SigningAlgorithm, String)> = asymmetric().map(|a| (a, token(&h, a))).collect();
    for (algorithm, token) in &old {
        assert_eq!(
            h.get_with_token("/api/orders", token).status,
            200,
            "{algorithm}"
        );
    }
    h.idp.rotate_key();
    // min_refetch_interval is 1s in these tests, judged on the clock the VM reads every
    // 500 ms tick.
    thread::sleep(Duration::from_millis(1600));
    for algorithm in asymmetric() {
        let new = token(&h, algorithm);
        assert!(!old.iter().any(|(_, t)| *t == new));
        let response = h.get_with_token("/api/orders", &new);
        assert_eq!(
            response.status,
            200,
            "new {algorithm} key: {}",
            reason(&response)
        );
    }
    assert_eq!(h.idp.jwks_requests(), 2, "one refetch found every new key");
    for (algorithm, token) in &old {
        assert_eq!(
            h.get_with_token("/api/orders", token).status,
            200,
            "old {algorithm} key"
        );
    }
}
