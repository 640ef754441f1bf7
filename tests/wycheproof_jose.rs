//! Every Wycheproof JOSE vector (tests/fixtures/wycheproof/json_web_signature_test.json and
//! json_web_key_test.json, see the README there) through the filter's own JWS layer: the
//! group's key (set) through `jwks::parse_from`, exactly as a fetched JWKS (as local keys of a
//! provider that names the HS algorithm, for MAC groups: secrets never come from the network);
//! the token through `jwt::parse_compact` (the strict profile, every algorithm allowed); the
//! keys by `kid` and `alg` from the key set; the signature through `verify::verify`.
//!
//! The payloads are arbitrary bytes (`foo`, empty, binary), not claims, so the whole filter
//! refuses every vector at "Jwt payload is not a JSON object" (tests/e2e_attacks.rs sends them
//! all through Envoy). The verdicts are therefore judged here, on the layer below the claims.
//!
//! Every `valid` vector must be accepted and every `invalid` one refused; `acceptable` ones
//! are decided and the decision is pinned in the figures below.

use jwt_authz::error::AuthError;
use jwt_authz::jose::jwks::{self, Origin};
use jwt_authz::jose::jwt::{self, Algorithm};
use jwt_authz::jose::verify;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The filter's default `max_token_bytes`.
const MAX_TOKEN_BYTES: usize = 8192;

/// The filter's verdict on `token` with the key set `keys`: `Ok` if it verifies, else why not.
fn verdict(keys: &Value, token: &str) -> Result<(), String> {
    let jws = jwt::parse_compact(token, MAX_TOKEN_BYTES, &Algorithm::ALL)
        .map_err(|e| e.description().into_owned())?;
    let origin = if jws.algorithm.is_symmetric() {
        Origin::LocalWithHmac
    } else {
        Origin::Fetched
    };
    let parsed =
        jwks::parse_from(keys.to_string().as_bytes(), origin).map_err(|e| format!("{e}"))?;
    let candidates = parsed.keys.candidates(jws.kid.as_deref(), jws.algorithm);
    if candidates.is_empty() {
        return Err(AuthError::UnknownKey.description().into_owned());
    }
    let signed = jwt::Jws {
        algorithm: jws.algorithm,
        kid: jws.kid.clone(),
        claims: Default::default(),
        signing_input: jws.signing_input,
        signature: jws.signature.clone(),
    };
    verify::verify(&signed, &candidates).map_err(|e| e.description().into_owned())
}

/// Vectors where this filter decides otherwise than Wycheproof, on purpose, and why.
const DELIBERATE: [(&str, u64, &str); 8] = [
    (
        "json_web_signature_test.json",
        346,
        "RFC 7520's Figure 20 signs PS384 with a JWK whose alg is PS256: a JWK's alg limits its key to that algorithm",
    ),
    (
        "json_web_signature_test.json",
        350,
        "the same Figure 20 token: refused for the same reason",
    ),
    (
        "json_web_signature_test.json",
        347,
        "RFC 7520's Figure 27 JWK names alg \"ES521\", which no RFC defines: a key whose alg is unknown is left out",
    ),
    (
        "json_web_signature_test.json",
        351,
        "the same Figure 27 key: left out for the same reason",
    ),
    (
        "json_web_signature_test.json",
        367,
        "the token is canonical base64url (no padding is in it, whatever the comment says) and correctly signed: accepted",
    ),
    (
        "json_web_signature_test.json",
        370,
        "the same token as tcId 367: accepted",
    ),
    (
        "json_web_signature_test.json",
        372,
        "'?' is not a base64url character: refused under the strict profile (the vector says valid)",
    ),
    (
        "json_web_signature_test.json",
        373,
        "'?' is not a base64url character: refused under the strict profile (the vector says valid)",
    ),
];

/// Figures for one file.
#[derive(Debug, Default, PartialEq, Eq)]
struct Figures {
    total: usize,
    valid: usize,
    invalid: usize,
    /// `acceptable` vectors, and how many of them this filter accepts.
    acceptable: usize,
    acceptable_accepted: usize,
    /// Decided otherwise than the vector, on purpose: see [`DELIBERATE`].
    deliberate: usize,
}

/// Runs every vector of `file`, whose groups give the verification key as `keys(group)`.
/// Returns the figures and prints a line per group with the reasons for each refusal.
fn run(file: &str, keys: impl Fn(&Value) -> Value) -> Figures {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wycheproof")
        .join(file);
    let document: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let mut figures = Figures::default();
    let mut mismatches = Vec::new();
    for group in document["testGroups"].as_array().unwrap() {
        let keys = keys(group);
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for test in group["tests"].as_array().unwrap() {
            let id = format!("tcId {} ({})", test["tcId"], test["comment"]);
            // One vector is a JSON serialization, not a compact one: it is sent as its text.
            let token = match &test["jws"] {
                Value::String(token) => token.clone(),
                other => other.to_string(),
            };
            let result = test["result"].as_str().unwrap();
            let got = verdict(&keys, &token);
            *reasons
                .entry(got.clone().err().unwrap_or("accepted".into()))
                .or_default() += 1;
            figures.total += 1;
            let must_accept = match result {
                "valid" => true,
                "invalid" => false,
                "acceptable" => {
                    figures.acceptable += 1;
                    figures.acceptable_accepted += usize::from(got.is_ok());
                    println!("{id}: acceptable, decided {got:?}");
                    continue;
                }
                other => panic!("{id}: unknown result {other:?}"),
            };
            if must_accept {
                figures.valid += 1;
            } else {
                figures.invalid += 1;
            }
            let deliberate = DELIBERATE
                .iter()
                .find(|(f, tc, _)| *f == file && Some(*tc) == test["tcId"].as_u64());
            if let Some((_, _, why)) = deliberate {
                assert_ne!(got.is_ok(), must_accept, "{id}: no longer deliberate");
                figures.deliberate += 1;
                println!("{id}: {result}, decided {got:?} on purpose: {why}");
                continue;
            }
            if got.is_ok() != must_accept {
                mismatches.push(format!("{id}: {result}, but the filter says {got:?}"));
            }
        }
        let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
        println!(
            "{file} {:?}: {}",
            group["comment"].as_str().unwrap_or(""),
            reasons.join("; ")
        );
    }
    println!("{file}: {figures:?}");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(
        figures.total as u64,
        document["numberOfTests"].as_u64().unwrap(),
        "{file}: numberOfTests"
    );
    figures
}

#[test]
fn wycheproof_json_web_signature() {
    // A group's verification key is its public key; MAC groups have only the secret.
    let figures = run("json_web_signature_test.json", |group| {
        let key = group.get("public").unwrap_or(&group["private"]);
        json!({"keys": [key]})
    });
    // The fixture is pinned: other figures mean another file.
    assert_eq!(
        figures,
        Figures {
            total: 401,
            valid: 46,
            invalid: 355,
            acceptable: 0,
            acceptable_accepted: 0,
            deliberate: 8,
        }
    );
}

#[test]
fn wycheproof_json_web_key() {
    // Each group gives key sets; the public one when there is one.
    let figures = run("json_web_key_test.json", |group| {
        group.get("public").unwrap_or(&group["private"]).clone()
    });
    assert_eq!(
        figures,
        Figures {
            total: 26,
            valid: 5,
            invalid: 21,
            acceptable: 0,
            acceptable_accepted: 0,
            deliberate: 0,
        }
    );
}
