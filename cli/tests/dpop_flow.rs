//! DPoP from end to end with the project's own pieces: a key and proofs from `jwt-authz dpop`'s
//! code, a DPoP-bound token from the dev IdP's token endpoint, and the filter in a real Envoy
//! (two workers) taking the token with its proof once, and refusing the proof again, the token
//! as Bearer, and the token with a proof by another key.

use devidp::{Idp, IdpConfig};
use devstack::{Echo, Envoy, EnvoyOptions, Response, bootstrap, free_port, http};
use jwt_authz_cli::dpop::{DpopKey, ProofFor};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

const AUDIENCE: &str = "https://api.example.com";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn filter(idp: &Idp) -> Value {
    json!({
        "providers": {"idp": {
            "issuer": idp.issuer(),
            "audiences": [AUDIENCE],
            "remote_jwks": {"http_uri": {"uri": idp.jwks_uri(), "cluster": "idp", "timeout": "2s"}},
            "dpop": {"mode": "allowed", "algorithms": ["ES256"]}
        }},
        "rules": [{"match": {"prefix": "/api"}, "requires": {"provider_name": "idp"}}]
    })
}

/// A token from the dev IdP bound to `key`, as a client gets one (RFC 9449 §5).
fn dpop_token(idp: &Idp, key: &DpopKey) -> String {
    let endpoint = idp.token_endpoint();
    let proof = key.proof(&ProofFor {
        method: "POST",
        url: &endpoint,
        access_token: None,
        nonce: None,
        now: now(),
    });
    let body = format!(
        r#"{{"grant_type":"client_credentials","client_id":"demo-client","client_secret":"demo-secret","audience":"{AUDIENCE}"}}"#
    );
    let headers = [
        ("content-type", "application/json"),
        ("dpop", proof.as_str()),
    ];
    let response = http::request(
        idp.addr(),
        "POST",
        "/oauth/token",
        &headers,
        Some(body.as_bytes()),
    )
    .expect("the token endpoint answers");
    assert_eq!(response.status, 200, "{}", response.text());
    let answer = response.json().unwrap();
    assert_eq!(answer["token_type"], "DPoP");
    answer["access_token"].as_str().unwrap().to_string()
}

#[test]
fn a_dpop_bound_token_from_the_dev_idp_passes_with_its_proof_only() {
    let idp = Idp::start("127.0.0.1:0", IdpConfig::default()).expect("dev IdP starts");
    let echo = Echo::start("127.0.0.1:0").expect("echo starts");
    let (port, admin) = (free_port().unwrap(), free_port().unwrap());
    let yaml = bootstrap::filter_in_front_of(
        port,
        admin,
        echo.addr(),
        &[("idp", idp.addr())],
        &filter(&idp),
    );
    let options = EnvoyOptions {
        concurrency: 2,
        ..EnvoyOptions::default()
    };
    let _envoy = Envoy::start_with(&yaml, admin, &options).expect("Envoy starts");
    let listener = SocketAddr::from(([127, 0, 0, 1], port));

    let key = DpopKey::generate();
    let token = dpop_token(&idp, &key);
    let url = format!("http://{listener}/api/orders");
    let proof_by = |key: &DpopKey| {
        key.proof(&ProofFor {
            method: "GET",
            url: &url,
            access_token: Some(&token),
            nonce: None,
            now: now(),
        })
    };
    let get = |scheme: &str, proof: Option<&str>| -> Response {
        let authorization = format!("{scheme} {token}");
        let mut headers = vec![("authorization", authorization.as_str())];
        if let Some(proof) = proof {
            headers.push(("dpop", proof));
        }
        http::get(listener, "/api/orders", &headers).expect("Envoy answers")
    };
    let description = |response: &Response| response.json().unwrap()["error_description"].clone();

    let proof = proof_by(&key);
    // The first request may wait for the key set: the proof is used once it passes.
    assert_eq!(get("DPoP", Some(&proof)).status, 200);
    let replayed = get("DPoP", Some(&proof));
    assert_eq!(
        (replayed.status, description(&replayed)),
        (401, json!("DPoP proof has been used before"))
    );
    assert_eq!(
        get("DPoP", Some(&proof_by(&key))).status,
        200,
        "a fresh proof"
    );
    let stolen = get("Bearer", None);
    assert_eq!(
        (stolen.status, description(&stolen)),
        (
            401,
            json!("Jwt is bound to a key and must be sent with the DPoP scheme")
        )
    );
    let thief = get("DPoP", Some(&proof_by(&DpopKey::generate())));
    assert_eq!(
        (thief.status, description(&thief)),
        (401, json!("Jwt cnf.jkt does not match the DPoP proof key"))
    );
}
