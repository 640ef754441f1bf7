//! DPoP end to end in a real Envoy with two workers (one Wasm VM each): a valid proof passes;
//! the same proof again is refused on whichever worker its connection lands (each request is a
//! new connection); each check of RFC 9449 §4.3 failing alone gets its exact status,
//! challenges and description; a bound token sent as Bearer and a proof for another token are
//! refused; with server nonces, a proof without one gets a fresh `DPoP-Nonce` and passes with
//! it on any worker. Tokens and proofs are signed by the seeded test keys; the provider's keys are local.

mod support;

#[path = "support/signers.rs"]
#[allow(dead_code)]
mod signers;

use jwt_authz::crypto::Hash;
use jwt_authz::crypto::ecdsa::Curve;
use jwt_authz::jose::algorithm::{Algorithm, KeyKind};
use serde_json::{Value, json};
use signers::b64;
use std::time::Duration;
use support::*;

const ISSUER: &str = "https://idp.example.com/";
const ORIGIN: &str = "https://api.example.com";
const PATH: &str = "/api/orders";
const ALGS: &str = "ES256 EdDSA";

const NONCE_PATH: &str = "/nonce/orders";

fn filter(_: &devidp::Idp) -> Value {
    let jwks = json!({"keys": [signers::jwk(KeyKind::Rsa, "k1")]});
    let provider = |dpop: Value| {
        json!({
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "local_jwks": {"inline_string": jwks.to_string()},
            "algorithms": ["RS256"],
            "dpop": dpop
        })
    };
    json!({
        "providers": {
            "idp": provider(json!({"mode": "allowed", "algorithms": ["ES256", "EdDSA"],
                "max_age": "30s", "public_origin": ORIGIN})),
            "nonced": provider(json!({"mode": "required", "algorithms": ["ES256"],
                "public_origin": ORIGIN, "nonce_period": "60s"}))
        },
        "rules": [
            {"match": {"prefix": "/api"}, "requires": {"provider_name": "idp"}},
            {"match": {"prefix": "/nonce"}, "requires": {"provider_name": "nonced"}}
        ]
    })
}

fn proof_jwk() -> Value {
    let mut jwk = signers::jwk(KeyKind::Ec(Curve::P256), "x");
    jwk.as_object_mut().unwrap().remove("kid");
    jwk
}

/// RFC 7638 thumbprint of the proof key, computed here independently of the filter.
fn proof_thumbprint() -> String {
    let jwk = proof_jwk();
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    b64(Hash::Sha256.digest(canonical.as_bytes()))
}

fn token(cnf: Option<Value>) -> String {
    let mut claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "client", "exp": now() + 600});
    if let Some(cnf) = cnf {
        claims["cnf"] = cnf;
    }
    signers::token(Algorithm::RS256, Some("k1"), &claims)
}

fn claims_for(access_token: &str, jti: &str) -> Value {
    json!({
        "htm": "GET",
        "htu": format!("{ORIGIN}{PATH}"),
        "iat": now(),
        "jti": jti,
        "ath": b64(Hash::Sha256.digest(access_token.as_bytes()))
    })
}

fn sign(header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = signers::sign(Algorithm::ES256, input.as_bytes());
    format!("{input}.{}", b64(signature))
}

fn header() -> Value {
    json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": proof_jwk()})
}

fn challenges(response: &devstack::Response) -> Vec<String> {
    response
        .headers_named("www-authenticate")
        .into_iter()
        .map(str::to_string)
        .collect()
}

fn assert_answer(case: &str, response: &devstack::Response, error: &str, description: &str) {
    assert_eq!(response.status, 401, "{case}: status ({})", response.text());
    let dpop = format!(
        "DPoP realm=\"api\", algs=\"{ALGS}\", error=\"{error}\", error_description=\"{description}\""
    );
    let bearer = if error == "invalid_dpop_proof" {
        "Bearer realm=\"api\"".to_string()
    } else {
        format!("Bearer realm=\"api\", error=\"{error}\", error_description=\"{description}\"")
    };
    assert_eq!(
        challenges(response),
        vec![bearer, dpop],
        "{case}: challenges"
    );
    assert_eq!(
        response.json().unwrap(),
        json!({"error": error, "error_description": description}),
        "{case}: body"
    );
}

#[test]
fn dpop_proofs_in_envoy_with_two_workers() {
    let harness = Harness::start_with_workers(2, filter);
    let bound = token(Some(json!({"jkt": proof_thumbprint()})));
    let authorization = format!("DPoP {bound}");
    let proof = sign(&header(), &claims_for(&bound, "first"));

    let ok = harness.get(PATH, &[("authorization", &authorization), ("dpop", &proof)]);
    let seen = harness.forwarded("a valid DPoP request", &ok);
    assert_eq!(seen.path, PATH);
    // The spent proof leaves with the token (forward: false): neither reaches the upstream.
    assert_eq!(seen.header("dpop"), None);
    assert_eq!(seen.header("authorization"), None);

    // Every replay is a new connection: with two workers, some land on the other one.
    for attempt in 0..8 {
        let again = harness.get(PATH, &[("authorization", &authorization), ("dpop", &proof)]);
        assert_answer(
            &format!("replay {attempt}"),
            &again,
            "invalid_dpop_proof",
            "DPoP proof has been used before",
        );
    }
    harness.assert_nothing_forwarded("replays");

    let with = |member: &str, value: Value| {
        let mut claims = claims_for(&bound, &format!("j-{member}"));
        claims[member] = value;
        sign(&header(), &claims)
    };
    let header_with = |member: &str, value: Value| {
        let mut header = header();
        header[member] = value;
        sign(&header, &claims_for(&bound, &format!("h-{member}")))
    };
    let bad_signature = {
        let good = sign(&header(), &claims_for(&bound, "sig"));
        let (input, _) = good.rsplit_once('.').unwrap();
        let other = signers::sign_with(signers::Which::Other, Algorithm::ES256, input.as_bytes());
        format!("{input}.{}", b64(other))
    };
    let mut private = proof_jwk();
    private["d"] = json!(b64([7u8; 32]));
    let fresh = sign(&header(), &claims_for(&bound, "twice"));
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("DPoP proof is missing", vec![]),
        (
            "Request carries more than one DPoP proof",
            vec![("dpop", fresh.clone()), ("dpop", fresh)],
        ),
        (
            "DPoP proof typ is not dpop+jwt",
            vec![("dpop", header_with("typ", json!("JWT")))],
        ),
        (
            "DPoP proof algorithm is not allowed",
            vec![("dpop", header_with("alg", json!("HS256")))],
        ),
        (
            "DPoP proof jwk holds private key material",
            vec![("dpop", header_with("jwk", private))],
        ),
        (
            "DPoP proof signature does not verify with its jwk",
            vec![("dpop", bad_signature)],
        ),
        (
            "DPoP proof htm does not match the request method",
            vec![("dpop", with("htm", json!("POST")))],
        ),
        (
            "DPoP proof htu does not match the request URI",
            vec![("dpop", with("htu", json!(format!("{ORIGIN}/api/other"))))],
        ),
        (
            "DPoP proof iat is too old",
            vec![("dpop", with("iat", json!(now() - 120)))],
        ),
        (
            "DPoP proof has no jti",
            vec![("dpop", with("jti", json!("")))],
        ),
        (
            "DPoP proof ath does not match the access token",
            vec![(
                "dpop",
                sign(&header(), &claims_for(&token(None), "other-token")),
            )],
        ),
    ];
    for (description, proof_headers) in cases {
        let mut headers = vec![("authorization", authorization.as_str())];
        headers.extend(proof_headers.iter().map(|(n, v)| (*n, v.as_str())));
        let response = harness.get(PATH, &headers);
        assert_answer(description, &response, "invalid_dpop_proof", description);
    }

    let as_bearer = format!("Bearer {bound}");
    let proof = sign(&header(), &claims_for(&bound, "bearer"));
    let response = harness.get(PATH, &[("authorization", &as_bearer), ("dpop", &proof)]);
    assert_answer(
        "a bound token as Bearer",
        &response,
        "invalid_token",
        "Jwt is bound to a key and must be sent with the DPoP scheme",
    );

    let other_key = token(Some(json!({"jkt": "bm90LXRoZS1wcm9vZi1rZXk"})));
    let proof = sign(&header(), &claims_for(&other_key, "other-key"));
    let response = harness.get(
        PATH,
        &[
            ("authorization", &format!("DPoP {other_key}")),
            ("dpop", &proof),
        ],
    );
    assert_answer(
        "a token bound to another key",
        &response,
        "invalid_token",
        "Jwt cnf.jkt does not match the DPoP proof key",
    );
    harness.assert_nothing_forwarded("refusals");

    // Server nonces: asked for, then given; a nonce made by one worker is taken by any.
    let nonce_claims = |jti: &str| {
        let mut claims = claims_for(&bound, jti);
        claims["htu"] = json!(format!("{ORIGIN}{NONCE_PATH}"));
        claims
    };
    let proof = sign(&header(), &nonce_claims("no-nonce"));
    let asked = harness.get(
        NONCE_PATH,
        &[("authorization", &authorization), ("dpop", &proof)],
    );
    assert_eq!(asked.status, 401, "no nonce: {}", asked.text());
    assert_eq!(
        challenges(&asked),
        vec!["DPoP realm=\"api\", algs=\"ES256\", error=\"use_dpop_nonce\", error_description=\"DPoP proof has no nonce\"".to_string()]
    );
    let nonce = asked
        .header("dpop-nonce")
        .expect("a DPoP-Nonce header")
        .to_string();
    for attempt in 0..4 {
        let mut claims = nonce_claims(&format!("with-nonce-{attempt}"));
        claims["nonce"] = json!(nonce);
        let proof = sign(&header(), &claims);
        let ok = harness.get(
            NONCE_PATH,
            &[("authorization", &authorization), ("dpop", &proof)],
        );
        harness.forwarded(&format!("with the nonce, attempt {attempt}"), &ok);
    }
    let mut claims = nonce_claims("forged-nonce");
    claims["nonce"] = json!(b64([0u8; 40]));
    let proof = sign(&header(), &claims);
    let stale = harness.get(
        NONCE_PATH,
        &[("authorization", &authorization), ("dpop", &proof)],
    );
    assert_eq!(stale.status, 401);
    assert_eq!(stale.json().unwrap()["error"], "use_dpop_nonce");
    assert!(
        stale
            .header("dpop-nonce")
            .is_some_and(|n| n.len() == nonce.len()),
        "a fresh nonce again"
    );

    // Counters reach the admin within a tick.
    assert!(
        eventually(Duration::from_secs(3), || {
            harness
                .envoy
                .stat("wasmcustom.jwt_authz.denied.dpop_replay")
                == Some(8)
        }),
        "dpop_replay counted: {:?}",
        harness
            .envoy
            .stat("wasmcustom.jwt_authz.denied.dpop_replay")
    );
}
