//! Every algorithm, end to end and beside native `jwt_authn` in one real Envoy: two listeners
//! in front of the echo upstream, one running jwt-authz and one `jwt_authn`, with the same
//! providers and the same local keys (an RSA key, one EC key per curve, an Ed25519 key; an HMAC
//! secret for a provider of its own).
//!
//! For each algorithm: a valid token (with and without `kid`), the header, payload and
//! signature tampered with, another key's signature under the published `kid`, the `alg`
//! switched to a sibling (signed as the original), a key of another curve or type, and for
//! ECDSA a DER signature and `r = s = 0`; then an HS256 token keyed with the RSA public key and
//! a JWK whose `alg` does not match the token. jwt-authz must give each case its exact answer;
//! both filters must reach the same verdict, except in the cases listed in `DIFFERENCES` with
//! their reason. The table is printed (`cargo test --test e2e_algorithms -- --nocapture`).

#[path = "support/signers.rs"]
#[allow(dead_code)]
mod signers;

use devstack::bootstrap::{jwt_authn_filter, jwt_authz_filter, listener, static_cluster};
use devstack::{Echo, Envoy, EnvoyOptions, free_port, http};
use jwt_authz::crypto::ecdsa::Curve;
use jwt_authz::error::AuthError;
use jwt_authz::jose::algorithm::{Algorithm, KeyKind};
use serde_json::{Value, json};
use signers::{Which, b64};
use std::fmt::Write as _;
use std::net::SocketAddr;

const AUDIENCE: &str = "https://api.example.com";

/// The key id each kind of key is published under.
fn kid(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Rsa => "rsa",
        KeyKind::Ec(Curve::P256) => "p256",
        KeyKind::Ec(Curve::P384) => "p384",
        KeyKind::Ec(Curve::P521) => "p521",
        KeyKind::Ed25519 => "ed25519",
        KeyKind::Hmac => "secret",
    }
}

/// The provider (and path) a token of `algorithm` is sent to.
fn provider_of(algorithm: Algorithm) -> &'static str {
    if algorithm.is_symmetric() {
        "hmac"
    } else {
        "asym"
    }
}

fn issuer(provider: &str) -> String {
    format!("https://{provider}.example/")
}

/// The providers both filters get; `ours` adds jwt-authz's `algorithms` where it needs one.
fn providers(ours: bool) -> Value {
    let jwks = |keys: Vec<Value>| json!({"keys": keys}).to_string();
    let asym: Vec<Value> = [
        KeyKind::Rsa,
        KeyKind::Ec(Curve::P256),
        KeyKind::Ec(Curve::P384),
        KeyKind::Ec(Curve::P521),
        KeyKind::Ed25519,
    ]
    .into_iter()
    .map(|kind| signers::jwk(kind, kid(kind)))
    .collect();
    let mut pinned = signers::jwk(KeyKind::Rsa, "pinned");
    pinned["alg"] = json!("PS256");
    let provider = |name: &str, keys: Vec<Value>| {
        json!({
            "issuer": issuer(name),
            "audiences": [AUDIENCE],
            "local_jwks": {"inline_string": jwks(keys)},
            "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
            "forward": false
        })
    };
    let mut hmac = provider("hmac", vec![signers::jwk(KeyKind::Hmac, "secret")]);
    if ours {
        hmac["algorithms"] = json!(["HS256", "HS384", "HS512"]);
    }
    json!({
        "asym": provider("asym", asym),
        "hmac": hmac,
        "pinned": provider("pinned", vec![pinned]),
    })
}

fn authentication(ours: bool) -> Value {
    let rule = |name: &str| json!({"match": {"prefix": format!("/{name}")}, "requires": {"provider_name": name}});
    json!({
        "providers": providers(ours),
        "rules": [rule("asym"), rule("hmac"), rule("pinned")]
    })
}

/// A token: header and claims as JSON, signed as told.
fn token(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let signing_input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(signature))
}

fn claims(provider: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({"iss": issuer(provider), "aud": AUDIENCE, "sub": "client@clients", "iat": now, "exp": now + 600})
}

/// The same r and s as an ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }`.
fn der(signature: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| {
        let v = &v[v.iter().take_while(|b| **b == 0).count()..];
        let pad = v.first().is_some_and(|b| *b >= 0x80);
        let mut out = vec![0x02, (v.len() + usize::from(pad)) as u8];
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
        out
    };
    let (r, s) = signature.split_at(signature.len() / 2);
    let body = [int(r), int(s)].concat();
    let mut out = vec![0x30];
    if body.len() >= 0x80 {
        out.push(0x81);
    }
    out.push(body.len() as u8);
    out.extend(body);
    out
}

/// The algorithm with the same key but another hash or scheme (RS256 <-> PS256 ...).
fn sibling(algorithm: Algorithm) -> Algorithm {
    use Algorithm::*;
    match algorithm {
        RS256 => PS256,
        PS256 => RS256,
        RS384 => RS512,
        RS512 => RS384,
        PS384 => PS512,
        PS512 => PS384,
        ES256 => ES384,
        ES384 => ES512,
        ES512 => ES256,
        EdDSA => ES256,
        Ed25519 => ES256,
        HS256 => HS384,
        HS384 => HS512,
        HS512 => HS256,
    }
}

/// A key of another type or curve than `algorithm`'s.
fn foreign_kind(algorithm: Algorithm) -> KeyKind {
    match algorithm.key_kind() {
        KeyKind::Ec(Curve::P256) => KeyKind::Ec(Curve::P384),
        KeyKind::Ec(_) => KeyKind::Ec(Curve::P256),
        KeyKind::Rsa => KeyKind::Ed25519,
        KeyKind::Ed25519 | KeyKind::Hmac => KeyKind::Rsa,
    }
}

/// One request of the table.
struct Case {
    name: String,
    path: String,
    token: String,
    /// jwt-authz's exact answer: `None` to let it through, else the refusal's description.
    ours: Option<AuthError>,
    /// Why `jwt_authn` decides otherwise here, if it does.
    differs: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: String, provider: &str, token: String, ours: Option<AuthError>| {
        cases.push(Case {
            name,
            path: format!("/{provider}/resource"),
            token,
            ours,
            differs: None,
        })
    };
    for algorithm in Algorithm::ALL {
        let provider = provider_of(algorithm);
        let claims = claims(provider);
        let own_kid = kid(algorithm.key_kind());
        let header = json!({"alg": algorithm.name(), "kid": own_kid});
        let sign = |which| move |input: &[u8]| signers::sign_with(which, algorithm, input);
        let valid = token(&header, &claims, sign(Which::Published));
        add(format!("{algorithm} valid"), provider, valid.clone(), None);
        add(
            format!("{algorithm} valid, no kid"),
            provider,
            token(
                &json!({"alg": algorithm.name()}),
                &claims,
                sign(Which::Published),
            ),
            None,
        );
        let (signing_input, signature) = valid.rsplit_once('.').unwrap();
        let (header_b64, payload_b64) = signing_input.split_once('.').unwrap();
        let mut extra = header.clone();
        extra["typ"] = json!("JWT");
        add(
            format!("{algorithm} header changed"),
            provider,
            format!("{}.{payload_b64}.{signature}", b64(extra.to_string())),
            Some(AuthError::BadSignature),
        );
        let mut more = claims.clone();
        more["sub"] = json!("admin@clients");
        add(
            format!("{algorithm} payload changed"),
            provider,
            format!("{header_b64}.{}.{signature}", b64(more.to_string())),
            Some(AuthError::BadSignature),
        );
        let mut flipped = jwt_authz::jose::jwt::decode_base64url(signature).unwrap();
        flipped[0] ^= 1;
        add(
            format!("{algorithm} signature changed"),
            provider,
            format!("{signing_input}.{}", b64(&flipped)),
            Some(AuthError::BadSignature),
        );
        add(
            format!("{algorithm} by another key, published kid"),
            provider,
            token(&header, &claims, sign(Which::Other)),
            Some(AuthError::BadSignature),
        );
        // The sibling's name over a signature of the original algorithm's scheme.
        let other = sibling(algorithm);
        let same_key = other.key_kind() == algorithm.key_kind();
        add(
            format!("{algorithm} signed, {other} claimed"),
            provider,
            token(
                &json!({"alg": other.name(), "kid": own_kid}),
                &claims,
                sign(Which::Published),
            ),
            Some(if same_key {
                AuthError::BadSignature
            } else {
                AuthError::UnknownKey
            }),
        );
        if !algorithm.is_symmetric() {
            let foreign = foreign_kind(algorithm);
            add(
                format!("{algorithm} with the kid of a {foreign:?} key"),
                provider,
                token(
                    &json!({"alg": algorithm.name(), "kid": kid(foreign)}),
                    &claims,
                    sign(Which::Published),
                ),
                Some(AuthError::UnknownKey),
            );
        }
        if let KeyKind::Ec(curve) = algorithm.key_kind() {
            let signature = jwt_authz::jose::jwt::decode_base64url(signature).unwrap();
            add(
                format!("{algorithm} DER signature"),
                provider,
                format!("{signing_input}.{}", b64(der(&signature))),
                Some(AuthError::BadSignature),
            );
            add(
                format!("{algorithm} r = s = 0"),
                provider,
                format!("{signing_input}.{}", b64(vec![0u8; curve.signature_len()])),
                Some(AuthError::BadSignature),
            );
        }
    }
    // HS256 keyed with the RSA key's public JWK, as a confused verifier would take it.
    let public = signers::jwk(KeyKind::Rsa, "rsa").to_string();
    add(
        "HS256 keyed with the RSA public JWK".into(),
        "asym",
        token(
            &json!({"alg": "HS256", "kid": "rsa"}),
            &claims("asym"),
            |input| {
                use hmac::{Hmac, Mac};
                let mut mac =
                    <Hmac<sha2::Sha256> as Mac>::new_from_slice(public.as_bytes()).unwrap();
                mac.update(input);
                mac.finalize().into_bytes().to_vec()
            },
        ),
        Some(AuthError::AlgorithmNotAllowed),
    );
    // The JWK says PS256; the token is RS256 by the same key.
    add(
        "RS256 by a key whose JWK says PS256".into(),
        "pinned",
        token(
            &json!({"alg": "RS256", "kid": "pinned"}),
            &claims("pinned"),
            |input| signers::sign(Algorithm::RS256, input),
        ),
        Some(AuthError::UnknownKey),
    );
    add(
        "PS256 by a key whose JWK says PS256".into(),
        "pinned",
        token(
            &json!({"alg": "PS256", "kid": "pinned"}),
            &claims("pinned"),
            |input| signers::sign(Algorithm::PS256, input),
        ),
        None,
    );
    for case in &mut cases {
        case.differs = DIFFERENCES
            .iter()
            .find(|(name, _)| *name == case.name)
            .map(|(_, why)| *why);
    }
    cases
}

/// Where the verdicts differ, on purpose, and why.
const DIFFERENCES: [(&str, &str); 4] = [
    (
        "EdDSA signed, ES256 claimed",
        "jwt_authn verifies an Ed25519 key's signature whatever alg the header names; jwt-authz binds an Ed25519 key to EdDSA",
    ),
    (
        "Ed25519 signed, ES256 claimed",
        "jwt_authn verifies an Ed25519 key's signature whatever alg the header names; jwt-authz binds an Ed25519 key to EdDSA",
    ),
    (
        "Ed25519 valid",
        "jwt_authn does not know RFC 9864's fully specified name Ed25519; jwt-authz takes it as EdDSA over Ed25519",
    ),
    (
        "Ed25519 valid, no kid",
        "jwt_authn does not know RFC 9864's fully specified name Ed25519; jwt-authz takes it as EdDSA over Ed25519",
    ),
];

/// What a listener did: `Ok(())` let through to the upstream, `Err(status)` refused.
fn send(listener: SocketAddr, echo: &Echo, case: &Case) -> (Result<(), u16>, Option<String>) {
    let bearer = format!("Bearer {}", case.token);
    let response = http::request(
        listener,
        "GET",
        &case.path,
        &[("authorization", &bearer)],
        None,
    )
    .expect("an answer");
    let reached = echo.requests().len();
    echo.clear();
    let verdict = match (response.status, reached) {
        (200, 1) => Ok(()),
        (status, 0) if status >= 400 => Err(status),
        (status, n) => panic!(
            "{}: status {status} with {n} request(s) upstream",
            case.name
        ),
    };
    let description = response
        .header("www-authenticate")
        .and_then(|c| c.split("error_description=\"").nth(1))
        .map(|d| d.trim_end_matches('"').to_string());
    (verdict, description)
}

#[test]
fn every_algorithm_decided_as_native_jwt_authn_decides() {
    let echo = Echo::start("127.0.0.1:0").expect("echo starts");
    let port = || free_port().expect("free port");
    let (ours, native, admin) = (port(), port(), port());
    let yaml = format!(
        "admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}\n\
         static_resources:\n  listeners:\n{}{}  clusters:\n{}",
        listener("ours", ours, &jwt_authz_filter(&authentication(true))),
        listener("native", native, &jwt_authn_filter(&authentication(false))),
        static_cluster("upstream", echo.addr()),
    );
    let envoy = Envoy::start_with(&yaml, admin, &EnvoyOptions::default()).expect("Envoy starts");
    let local = |port| SocketAddr::from(([127, 0, 0, 1], port));

    let mut table = String::new();
    let mut failures = Vec::new();
    let (mut agreed, mut stricter, mut wider) = (0, 0, 0);
    let cases = cases();
    for case in &cases {
        let (our_verdict, description) = send(local(ours), &echo, case);
        let (native_verdict, _) = send(local(native), &echo, case);
        let expected = match &case.ours {
            None => Ok(()),
            Some(_) => Err(401),
        };
        let expected_description = case.ours.as_ref().map(|e| e.description().into_owned());
        if our_verdict != expected || description != expected_description {
            failures.push(format!(
                "{}: jwt-authz should answer {expected:?} {expected_description:?}, got {our_verdict:?} {description:?}",
                case.name
            ));
        }
        let same = our_verdict.is_ok() == native_verdict.is_ok();
        match (same, case.differs) {
            (true, None) => agreed += 1,
            (false, Some(why)) => {
                if our_verdict.is_err() {
                    stricter += 1;
                } else {
                    wider += 1;
                }
                println!("{}: differs on purpose: {why}", case.name);
            }
            (true, Some(_)) => failures.push(format!("{}: no longer differs", case.name)),
            (false, _) => failures.push(format!(
                "{}: jwt-authz {our_verdict:?}, jwt_authn {native_verdict:?}",
                case.name
            )),
        }
        let _ = writeln!(
            table,
            "  {:<48} | {:<58} | {:?}",
            case.name,
            description.as_deref().unwrap_or("allowed"),
            native_verdict.map_or_else(|s| format!("refused {s}"), |()| "allowed".into())
        );
    }
    println!("{table}");
    println!(
        "algorithms: {} cases through jwt-authz and native jwt_authn; verdicts agreed on {agreed}; \
         differed as listed on {}: jwt-authz stricter on {stricter}, accepting on {wider}",
        cases.len(),
        stricter + wider
    );
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        envoy.log()
    );
}
