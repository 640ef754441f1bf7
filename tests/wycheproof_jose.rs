//! Every Wycheproof JOSE vector (tests/fixtures/wycheproof/json_web_signature_test.json and
//! json_web_key_test.json, see the README there) through the filter's own JWS layer: the
//! group's key (set) through `jwks::parse`, exactly as a fetched JWKS; the token through
//! `jwt::parse_compact` (the strict profile, RS256 only); the key by `kid` from the key set;
//! the signature through `verify_rs256`.
//!
//! The payloads are arbitrary bytes (`foo`, empty, binary), not claims, so the whole filter
//! refuses every vector at "Jwt payload is not a JSON object" (tests/e2e_attacks.rs sends them
//! all through Envoy). The verdicts are therefore judged here, on the layer below the claims.
//!
//! Applicable: every `invalid` vector (a verifier that allows RS256 only must refuse it too)
//! and every `valid` vector whose `alg` is RS256 (it must be accepted). Not applicable: `valid`
//! vectors of algorithms this filter does not implement (HS*, ES*, PS*, RS384, RS512); they
//! must be refused all the same, and are counted apart.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_authz::error::AuthError;
use jwt_authz::jose::jwks;
use jwt_authz::jose::jwt::{self, Algorithm};
use jwt_authz::jose::verify::verify_rs256;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The filter's default `max_token_bytes`.
const MAX_TOKEN_BYTES: usize = 8192;

/// The filter's verdict on `token` with the key set `keys`: `Ok` if it verifies, else why not.
fn verdict(keys: &Value, token: &str) -> Result<(), String> {
    let jws = jwt::parse_compact(token, MAX_TOKEN_BYTES, &[Algorithm::RS256])
        .map_err(|e| e.description())?;
    let parsed = jwks::parse(keys.to_string().as_bytes()).map_err(|e| format!("{e}"))?;
    let key = parsed
        .keys
        .find(jws.kid.as_deref(), jws.algorithm)
        .ok_or_else(|| AuthError::UnknownKey.description())?;
    verify_rs256(jws.signing_input.as_bytes(), &jws.signature, key).map_err(|e| e.description())
}

/// The `alg` a compact token's header names, read independently of the filter's parser.
fn header_alg(token: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    let header: Value = serde_json::from_slice(&header).ok()?;
    Some(header.get("alg")?.as_str()?.to_owned())
}

/// Figures for one file.
#[derive(Debug, Default, PartialEq, Eq)]
struct Figures {
    total: usize,
    applicable: usize,
    /// Of the applicable: `valid` with RS256, to be accepted (the rest must be refused).
    valid_rs256: usize,
    matched: usize,
    /// `valid` for an algorithm this filter does not implement, and refused.
    other_algorithm: usize,
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
                "invalid" => false,
                "valid" if header_alg(&token).as_deref() == Some("RS256") => true,
                "valid" => {
                    figures.other_algorithm += 1;
                    if got.is_ok() {
                        mismatches.push(format!("{id}: valid for another algorithm, accepted"));
                    }
                    continue;
                }
                other => panic!("{id}: unknown result {other:?}"),
            };
            figures.applicable += 1;
            figures.valid_rs256 += usize::from(must_accept);
            if got.is_ok() == must_accept {
                figures.matched += 1;
            } else {
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
    println!(
        "{file}: {} vectors, {} applicable ({} valid RS256, {} invalid), {} matched; \
         {} valid only for other algorithms, refused",
        figures.total,
        figures.applicable,
        figures.valid_rs256,
        figures.applicable - figures.valid_rs256,
        figures.matched,
        figures.other_algorithm
    );
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
            applicable: 363,
            valid_rs256: 8,
            matched: 363,
            other_algorithm: 38,
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
            applicable: 22,
            valid_rs256: 1,
            matched: 22,
            other_algorithm: 4,
        }
    );
}
