//! The card stack must decide correctly for its figures to be the cost of a correct filter:
//! the requests that prove it (a valid token of every algorithm it implements; tampered, wrong
//! audience, expired, unknown `kid`, `alg: none`, HS256 keyed with the RSA public key, none),
//! each with the status it must get. The test below sends them through a real Envoy; the
//! driver sends them before measuring and flags the card stack on any other answer.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devidp::SigningKey;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::algorithm::{Algorithm, Keys, signing_input};
use crate::tokens::token_uri;

/// One request and the status the card stack must answer.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// Path and query, the token in `?access_token=`.
    pub path: String,
    pub expected: u16,
}

/// Every case, for tokens of `claims` (issuer, audience, future `exp`).
pub fn cases(keys: &Keys, claims: &Value) -> Vec<Case> {
    let mut cases: Vec<Case> = Algorithm::ALL
        .into_iter()
        .map(|algorithm| Case {
            name: format!("valid {algorithm}"),
            path: token_uri(algorithm.path(), &keys.mint(algorithm, claims, "valid")),
            // jsonwebtoken has no ES512.
            expected: if algorithm.in_card_stack() { 200 } else { 401 },
        })
        .collect();
    let rs256 = keys.mint(Algorithm::Rs256, claims, "tampered");
    let mut parts: Vec<String> = rs256.split('.').map(String::from).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap_or_default())
            .unwrap_or(Value::Null);
    payload["sub"] = json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = parts.join(".");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims.clone();
        change(&mut claims);
        keys.mint(Algorithm::Rs256, &claims, "changed")
    };
    let header = |alg: &str, kid: &str| json!({"alg": alg, "typ": "JWT", "kid": kid});
    let rs256_header_claims = signing_input(&header("RS256", "no-such-key"), claims);
    let unknown_kid = format!(
        "{rs256_header_claims}.{}",
        URL_SAFE_NO_PAD.encode(keys.sign(Algorithm::Rs256, rs256_header_claims.as_bytes()))
    );
    let none = format!(
        "{}.",
        signing_input(&json!({"alg": "none", "typ": "JWT"}), claims)
    );
    let confused_input = signing_input(&header("HS256", Algorithm::Rs256.kid()), claims);
    let confused = SigningKey::hmac(Algorithm::Rs256.kid(), &keys.rsa_modulus())
        .map(|key| {
            let tag = key.sign(confused_input.as_bytes());
            format!("{confused_input}.{}", URL_SAFE_NO_PAD.encode(tag))
        })
        .unwrap_or_default();
    let refused = [
        ("tampered payload", tampered),
        (
            "wrong audience",
            with(&|c| c["aud"] = json!("https://other.example.com")),
        ),
        (
            "expired an hour ago",
            with(&|c| c["exp"] = json!(now().saturating_sub(3600))),
        ),
        ("unknown kid", unknown_kid),
        ("alg none", none),
        ("HS256 keyed with the RSA public key", confused),
    ];
    cases.extend(refused.into_iter().map(|(name, token)| Case {
        name: name.to_string(),
        path: token_uri("/", &token),
        expected: 401,
    }));
    cases.push(Case {
        name: "no token".to_string(),
        path: "/".to_string(),
        expected: 401,
    });
    cases
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envoy_config::{AUDIENCE, AlgorithmKeySets, BenchConfig, Listener};
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    const ISSUER: &str = "https://idp.bench.example/";

    fn claims() -> Value {
        let now = now();
        // A day ahead, as some issuers set it: the expired case must not depend on it.
        json!({"iss": ISSUER, "sub": "client", "aud": AUDIENCE, "iat": now, "exp": now + 86_400})
    }

    #[test]
    fn every_refusal_has_a_case_and_the_expired_token_is_past_any_leeway() {
        let keys = Keys::generate().unwrap();
        let claims = claims();
        let cases = cases(&keys, &claims);
        assert_eq!(cases.len(), 11 + 6 + 1);
        assert_eq!(cases.iter().filter(|c| c.expected == 200).count(), 10);
        let expired = cases
            .iter()
            .find(|c| c.name.starts_with("expired"))
            .unwrap();
        let token = expired.path.split("access_token=").nth(1).unwrap();
        let payload: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        // Past jsonwebtoken's default leeway of 60 s by far.
        assert!(payload["exp"].as_u64().unwrap() + 3000 < now());
        assert!(claims["exp"].as_u64().unwrap() > now());
    }

    /// The card stack in a real Envoy gives every case its status (needs `make card-stack`;
    /// skipped only without Envoy, as the bench's other Envoy test).
    #[test]
    fn the_card_stack_decides_every_case_in_envoy() {
        if devstack::Envoy::binary().is_err() {
            eprintln!("skipping: no Envoy");
            return;
        }
        let module = devstack::workspace_root()
            .join("dist")
            .join("card_stack.wasm");
        assert!(
            module.is_file(),
            "{} is missing: run `make card-stack` (make test does)",
            module.display()
        );
        let keys = Keys::generate().unwrap();
        let (admin, port) = (
            devstack::free_port().unwrap(),
            devstack::free_port().unwrap(),
        );
        let config = BenchConfig {
            admin_port: admin,
            listeners: vec![(Listener::CardStack, port)],
            idp_addr: "127.0.0.1:9".parse().unwrap(),
            issuer: ISSUER.to_string(),
            jwks_uri: String::new(),
            ours_module: module.clone(),
            noop_module: module.clone(),
            card_stack_module: module.clone(),
            primitives_module: module,
            primitives_config: String::new(),
            algorithm_keys: AlgorithmKeySets {
                asymmetric_jwks: keys.asymmetric_jwks(),
                hmac_jwks: keys.hmac_jwks(),
            },
            listener_tls: serde_json::Value::Null,
        };
        let _envoy = devstack::Envoy::start(&config.yaml(), admin).unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let cases = cases(&keys, &claims());
        // The first valid request also waits for the listener to be up.
        let deadline = Instant::now() + Duration::from_secs(10);
        while devstack::http::get(addr, &cases[0].path, &[])
            .map(|r| r.status)
            .ok()
            != Some(200)
        {
            assert!(
                Instant::now() < deadline,
                "the card stack never let a valid token through"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|case| {
                let status = devstack::http::get(addr, &case.path, &[]).map(|r| r.status);
                (status.as_ref().ok() != Some(&case.expected))
                    .then(|| format!("{}: {status:?}, expected {}", case.name, case.expected))
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
