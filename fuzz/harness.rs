//! What each fuzz target does with its input, and the invariants it checks on every input.
//!
//! Included by the libFuzzer targets (`fuzz_targets/*.rs`, built on nightly by `make fuzz`)
//! and by `tests/fuzz_corpus.rs`, which replays every committed seed under stable Rust in
//! `make test`. A panic is a finding: the code under test must never panic, and beyond that
//! each target asserts what must hold whatever the bytes (no control characters in headers
//! the filter writes, JSON bodies in every refusal, the verified-token cache deciding exactly
//! as a full check does, callouts staying on the discovery document's host).
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_authz::authn::{self, Decision, Request};
use jwt_authz::config::Config;
use jwt_authz::jose::jwks::{self, KeyMaterial, KeySet, Origin};
use jwt_authz::jose::jwt::{self, Algorithm};
use jwt_authz::jose::verify;
use jwt_authz::json;
use jwt_authz::keys::discovery;
use jwt_authz::keys::keyring::Keyring;
use jwt_authz::keys::share;
use jwt_authz::keys::uri::Endpoint;
use jwt_authz::policy::route::KnownFacts;
use jwt_authz::proof::binding::{self, Binding};
use jwt_authz::proof::certificate::{self, Peer};
use jwt_authz::proof::dpop::{self, ProofRequest};
use jwt_authz::proof::sender;
use jwt_authz::proof::settings::{CertificateMode, CertificateSettings, DpopMode, DpopSettings};
use jwt_authz::request::headers::{self, Header};
use serde_json::{Value, json};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

/// The time every target decides at (2025-06-15); seed tokens are valid around it.
pub const NOW: u64 = 1_750_000_000;
pub const ISSUER: &str = "https://customers.example.com/";
pub const STAFF_ISSUER: &str = "https://staff.example.com/";
pub const AUDIENCE: &str = "https://api.example.com";
/// The public key the seed tokens are signed with (`tests/fuzz_corpus.rs` made it).
pub const SEED_JWKS: &str = include_str!("seed_key.jwks.json");
/// The `kid` of that key.
pub const SEED_KID: &str = "fuzz-seed";

/// Requests the config target sends through every configuration that compiles.
const PROBE_PATHS: [&str; 4] = [
    "/",
    "/api/orders?access_token=x",
    "/healthz",
    "/admin/users",
];

/// `request`: one HTTP request, as text, through the whole decision (extraction, rules,
/// JWS parsing, claims, key lookup, RS256, scopes, claims, identity headers).
///
/// The input is `METHOD PATH` on the first line and `name: value` headers on the next ones.
/// Each request is decided twice with the same keyring: the second time verified tokens come
/// from the cache, and the decision must not change.
pub fn request(data: &[u8]) {
    let Some(headers) = parse_request(data) else {
        return;
    };
    let config = fixed_config();
    let mut keyring = keyring(config);
    let first = decide(config, &headers, &mut keyring);
    let again = decide(config, &headers, &mut keyring);
    assert_eq!(
        first, again,
        "the verified-token cache changed the decision"
    );
}

/// `proof`: a DPoP proof (the first line, as the `DPoP` header's value) through the checks of
/// RFC 9449 §4.3 for `GET https://api.example.com/orders`, and a token's claims (the rest, JSON)
/// through its binding. A passing proof has a SHA-256 thumbprint and an expiry within its
/// window; a token bound to anything never passes without a proof.
pub fn proof(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (proof, claims) = text.split_once('\n').unwrap_or((&text, ""));
    let settings = DpopSettings::new(DpopMode::Allowed, Algorithm::asymmetric(), 60, None);
    let access_token_hash = dpop::access_token_hash("token");
    let request = ProofRequest {
        method: "GET",
        uri: Some("https://api.example.com/orders"),
        access_token_hash: &access_token_hash,
        now: NOW,
        clock_skew_seconds: 60,
        nonce_key: None,
        keys: None,
    };
    let checked = dpop::check(&[("dpop", proof)], &settings, &request);
    if let Ok(passed) = &checked {
        assert_eq!(
            passed.thumbprint.len(),
            43,
            "a SHA-256 thumbprint in base64url"
        );
        assert!((NOW..=NOW + 60 + 60 + 1).contains(&passed.id.expires));
    }
    // The second line also stands for an `x-forwarded-client-cert` from a trusted forwarder.
    let forwarder = "spiffe://edge/gateway";
    let certificates = CertificateSettings {
        mode: CertificateMode::Enforced,
        forwarded_by: vec![forwarder.to_string()],
    };
    let peer = Peer {
        certificate_sha256: Some(claims),
        uri_san: Some(forwarder),
    };
    let presented = certificate::presented(&certificates, &peer, Some(claims));
    let Ok(claims) = json::parse_object(claims.as_bytes()) else {
        return;
    };
    let _ = sender::confirm(
        &settings,
        &certificates,
        true,
        &claims,
        || presented,
        || checked.clone(),
    );
    if binding::of(&claims) != Ok(Binding::default()) {
        let off = CertificateSettings::default();
        let as_bearer = sender::confirm(
            &settings,
            &off,
            false,
            &claims,
            || None,
            || panic!("a proof checked for a Bearer token"),
        );
        assert!(as_bearer.is_err(), "a bound token passed as Bearer");
    }
}

/// `claims`: a token payload (JSON) that verified, through every rule of the fixed
/// configuration: the time, issuer and audience checks of a cache hit, scopes, claim
/// conditions and identity headers, at full speed (no signature to forge).
pub fn claims(data: &[u8]) {
    let Ok(claims) = json::parse_object(data) else {
        return;
    };
    let payload_b64 = URL_SAFE_NO_PAD.encode(data);
    let header_b64 = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"{SEED_KID}"}}"#));
    let token = format!("{header_b64}.{payload_b64}.c2lnbmF0dXJl");
    let config = fixed_config();
    let claims = Rc::new(claims);
    for (provider, header) in [(0, "authorization"), (1, "x-staff-token")] {
        let mut keyring = keyring(config);
        keyring.remember(
            provider,
            &token,
            Rc::clone(&claims),
            payload_b64.as_str().into(),
        );
        let value = if header == "authorization" {
            format!("Bearer {token}")
        } else {
            token.clone()
        };
        for path in [
            "/messages",
            "/any",
            "/admin/x",
            "/both",
            "/either",
            "/api/x",
        ] {
            let headers = vec![
                (":method".to_string(), "GET".to_string()),
                (":path".to_string(), path.to_string()),
                (header.to_string(), value.clone()),
            ];
            decide(config, &headers, &mut keyring);
        }
    }
}

/// `jwks`: a JWKS document (and the same bytes as a shared-data record). Every key that
/// parses is put to work: an RS256 check of a signature of the key's length.
pub fn jwks(data: &[u8]) {
    check_key_set(data);
    if let Some((_, document)) = share::decode_record(data) {
        check_key_set(document);
    }
}

/// `config`: the filter's configuration JSON. Errors must name a field; a configuration
/// that compiles must decide a few requests without panicking.
pub fn config(data: &[u8]) {
    let config = match Config::from_json(data) {
        Ok(config) => config,
        Err(error) => {
            assert!(
                !error.path.is_empty() && !error.message.is_empty(),
                "{error}"
            );
            return;
        }
    };
    let _ = config.summary();
    let mut keyring = Keyring::new(&config);
    let token = seed_token();
    for path in PROBE_PATHS {
        for credentials in [
            None,
            Some(format!("Bearer {token}")),
            Some("Bearer x.y.z".into()),
        ] {
            let mut headers = vec![
                (":method".to_string(), "GET".to_string()),
                (":path".to_string(), path.to_string()),
            ];
            headers.extend(credentials.map(|c| ("authorization".to_string(), c)));
            decide(&config, &headers, &mut keyring);
        }
    }
    let preflight = [
        (":method", "OPTIONS"),
        (":path", "/api"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "GET"),
    ]
    .map(|(n, v)| (n.to_string(), v.to_string()));
    decide(&config, &preflight, &mut keyring);
    // Envoy's answers as a route policy would see them: each requirement the map names, a
    // name it does not hold, each filter state value, and names for the route conditions.
    let named = config.requirement_map.iter().map(|(name, _)| name.as_str());
    let states = config
        .filter_state_rules
        .iter()
        .flat_map(|rules| rules.requires.iter().map(|(value, _)| value.as_str()));
    let cookie = format!("session={token}; other=1");
    let request = [
        (":method", "GET"),
        (":path", "/api"),
        ("cookie", cookie.as_str()),
    ];
    for (requirement, state) in named
        .map(|n| (Some(n), None))
        .chain(states.map(|s| (None, Some(s))))
        .chain([(Some("not-in-the-map"), Some("no-such-value"))])
    {
        let facts = KnownFacts {
            route_name: Some("httproute/shop/cart/rule/0/match/0/*".into()),
            virtual_host_name: Some("api.example.com:443".into()),
            requirement_name: requirement.map(str::to_string),
            filter_state: state.map(str::to_string),
        };
        let mut with_facts = Request::from_headers(&request);
        with_facts.route = &facts;
        let decision =
            authn::authorize(&config, with_facts, &mut keyring, Duration::from_secs(NOW));
        check_decision(&config, &request, decision);
    }
}

/// `headers`: the request headers as the host hands them over (proxy-wasm's serialized map,
/// any bytes), read in place and then decided. Sanitizing keeps every length and is done
/// once for all: a second pass changes nothing.
pub fn headers(data: &[u8]) {
    let mut buffer = data.to_vec();
    headers::sanitize(&mut buffer);
    assert_eq!(buffer.len(), data.len(), "sanitizing changed the length");
    let once = buffer.clone();
    headers::sanitize(&mut buffer);
    assert_eq!(buffer, once, "sanitizing twice changed the buffer");
    let parsed = headers::parse(&buffer);
    let config = fixed_config();
    decide_headers(config, &parsed, &mut keyring(config));
}

/// The proxy-wasm serialized form of `headers`: what [`headers`] reads.
pub fn serialize(headers: &[(String, String)]) -> Vec<u8> {
    let count = u32::try_from(headers.len()).unwrap_or(u32::MAX);
    let mut buffer = count.to_le_bytes().to_vec();
    for (name, value) in headers {
        for text in [name, value] {
            let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
            buffer.extend_from_slice(&length.to_le_bytes());
        }
    }
    for (name, value) in headers {
        for text in [name, value] {
            buffer.extend_from_slice(text.as_bytes());
            buffer.push(0);
        }
    }
    buffer
}

/// `discovery`: an OIDC discovery document fetched from the issuer. An endpoint it yields
/// goes into a callout's `:authority` and `:path`, so it must stay on the document's host
/// and carry no character that could split a header.
pub fn discovery(data: &[u8]) {
    let from = match Endpoint::parse(&discovery::document_uri(ISSUER)) {
        Ok(from) => from,
        Err(e) => panic!("the issuer's document URI does not parse: {e}"),
    };
    if let Ok(endpoint) = discovery::jwks_endpoint(data, ISSUER, &from) {
        assert!(endpoint.same_origin(&from), "{endpoint:?}");
        assert!(endpoint.path.starts_with('/'), "{endpoint:?}");
        assert!(is_header_safe(&endpoint.authority), "{endpoint:?}");
        assert!(is_header_safe(&endpoint.path), "{endpoint:?}");
    }
    if let Ok(uri) = std::str::from_utf8(data)
        && let Ok(endpoint) = Endpoint::parse(uri)
    {
        assert!(is_header_safe(&endpoint.authority) && is_header_safe(&endpoint.path));
    }
}

/// Decides one request and checks what the filter would send: refusals with a JSON body and
/// a header-safe challenge, allowed requests with header-safe identity headers and path.
fn decide<'c>(
    config: &'c Config,
    headers: &[(String, String)],
    keyring: &mut Keyring,
) -> Decision<'c> {
    let headers: Vec<Header> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    decide_headers(config, &headers, keyring)
}

/// [`decide`] for headers as the host's buffer holds them.
fn decide_headers<'c>(
    config: &'c Config,
    headers: &[Header],
    keyring: &mut Keyring,
) -> Decision<'c> {
    let decision = authn::authorize(
        config,
        Request::from_headers(headers),
        keyring,
        Duration::from_secs(NOW),
    );
    check_decision(config, headers, decision)
}

/// What every decision on a request with `headers` must be: edits and refusals safe to send,
/// providers that exist.
fn check_decision<'c>(config: &Config, headers: &[Header], decision: Decision<'c>) -> Decision<'c> {
    match &decision {
        Decision::Allow(allowed) => {
            for (name, value) in &allowed.set_headers {
                assert!(is_header_name(name), "identity header name {name:?}");
                assert!(
                    is_header_safe(value),
                    "identity header {name} has {value:?}"
                );
            }
            for name in &allowed.remove_headers {
                assert!(!name.is_empty(), "removes a header without a name");
            }
            if let Some(path) = &allowed.set_path {
                let before = Request::from_headers(headers).path;
                assert!(
                    is_header_safe(path) || !is_header_safe(before),
                    "new :path {path:?}"
                );
                // The customers provider does not forward its token: no access_token left.
                let query = path.split_once('?').map_or("", |(_, q)| q);
                assert!(
                    !query
                        .split('&')
                        .any(|p| p.split('=').next() == Some("access_token")),
                    "token left in {path:?}"
                );
            }
        }
        Decision::Deny(failure) => {
            let error = &failure.error;
            assert!(
                [400, 401, 403, 503].contains(&error.status()),
                "status {} for {error:?}",
                error.status()
            );
            let body: Value = match serde_json::from_str(&error.body()) {
                Ok(body) => body,
                Err(e) => panic!("refusal body is not JSON: {e}"),
            };
            assert_eq!(body["error"], error.code());
            for challenge in authn::challenges(config, failure) {
                assert!(is_header_safe(&challenge), "challenge {challenge:?}");
            }
            if let Some(provider) = failure.provider {
                assert!(provider < config.providers.len());
            }
        }
        Decision::Wait(provider) => assert!(*provider < config.providers.len()),
    }
    decision
}

/// Parses the key set as fetched and as local keys (with and without HMAC), and runs a check
/// of every algorithm with every usable key it names, the signature sized for the key.
fn check_key_set(document: &[u8]) {
    for origin in [Origin::Fetched, Origin::Local, Origin::LocalWithHmac] {
        check_key_set_from(document, origin);
    }
}

fn check_key_set_from(document: &[u8], origin: Origin) {
    let parsed = match jwks::parse_from(document, origin) {
        Ok(parsed) => parsed,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    assert!(!parsed.keys.is_empty(), "a parsed key set has a key");
    if origin == Origin::Fetched {
        assert!(
            Algorithm::ALL
                .iter()
                .filter(|a| a.is_symmetric())
                .all(|a| !parsed.keys.verifies(*a)),
            "a fetched key set never yields an HMAC key"
        );
    }
    for skipped in &parsed.skipped {
        let _ = skipped.to_string();
    }
    let kids: Vec<Option<String>> = serde_json::from_slice::<Value>(document)
        .ok()
        .and_then(|doc| doc.get("keys")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|key| key.get("kid").and_then(Value::as_str).map(str::to_owned))
        .chain([None])
        .collect();
    let (message, signature) = seed_signature();
    for kid in &kids {
        for algorithm in Algorithm::ALL {
            for key in parsed.keys.candidates(kid.as_deref(), algorithm) {
                assert!(
                    key.verifies(algorithm),
                    "a candidate verifies its algorithm"
                );
                let mut sized = signature.clone();
                sized.resize(signature_len(key, algorithm), 0x5a);
                let _ = verify::verify_signature(algorithm, message.as_bytes(), &sized, key);
            }
        }
    }
}

/// The length a signature by `algorithm` with `key` has.
fn signature_len(key: &jwks::Key, algorithm: Algorithm) -> usize {
    match &key.material {
        KeyMaterial::Rsa(rsa) => rsa.modulus_bytes(),
        KeyMaterial::Ec(ec) => ec.curve().signature_len(),
        KeyMaterial::Ed25519(_) => 64,
        KeyMaterial::Hmac(_) => algorithm.hash().output_len(),
    }
}

/// `METHOD PATH` then `name: value` lines -> headers with `:method`, `:path`, `:authority`,
/// names lower-cased and values trimmed as Envoy hands them to filters.
pub fn parse_request(data: &[u8]) -> Option<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let (method, path) = lines.next()?.trim_end_matches('\r').split_once(' ')?;
    let mut headers = vec![
        (":method".to_string(), method.to_string()),
        (":path".to_string(), path.to_string()),
        (":authority".to_string(), "api.example.com".to_string()),
    ];
    for line in lines {
        let Some((name, value)) = line.trim_end_matches('\r').split_once(':') else {
            continue;
        };
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Some(headers)
}

/// When the staff provider's key set was fetched: longer ago than its `min_refetch_interval`,
/// so an unknown `kid` reaches the refetch path.
pub const KEYS_FETCHED_AT: u64 = NOW - 10;

/// A fresh keyring for `config`; the staff provider's remote key set fetched at
/// [`KEYS_FETCHED_AT`].
pub fn keyring(config: &Config) -> Keyring {
    let mut keyring = Keyring::new(config);
    if let Some(cache) = keyring.cache_mut(1) {
        let fetched_at = Duration::from_secs(KEYS_FETCHED_AT);
        cache.fetch_started(fetched_at);
        cache.fetch_succeeded(fetched_at, seed_keys().clone());
    }
    keyring
}

fn seed_keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| match jwks::parse(SEED_JWKS.as_bytes()) {
        Ok(parsed) => parsed.keys,
        Err(e) => panic!("seed_key.jwks.json: {e}"),
    })
}

/// A valid token of the customers provider, signed with the seed key.
fn seed_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| include_str!("seed_key.token.txt").trim().to_string())
}

/// The signing input and signature of [`seed_token`].
fn seed_signature() -> (&'static str, Vec<u8>) {
    let token = seed_token();
    let (message, signature) = token.rsplit_once('.').unwrap_or((token, ""));
    (
        message,
        jwt::decode_base64url(signature).unwrap_or_default(),
    )
}

/// Every rule kind, both key sources, every token location and identity header kind.
pub fn fixed_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let config = fixed_config_json().to_string();
        match Config::from_json(config.as_bytes()) {
            Ok(config) => config,
            Err(e) => panic!("the fuzz configuration is refused: {e}"),
        }
    })
}

pub fn fixed_config_json() -> Value {
    json!({
        "realm": "fuzz",
        "bypass_cors_preflight": true,
        "providers": {
            "customers": {
                "issuer": ISSUER,
                "audiences": [AUDIENCE],
                "local_jwks": {"inline_string": SEED_JWKS},
                "claim_to_headers": [
                    {"header_name": "x-user-id", "claim_name": "sub"},
                    {"header_name": "x-user-roles", "claim_name": "https://example.com/roles"},
                    {"header_name": "x-tenant", "claim_name": "org.id"}
                ],
                "forward_payload_header": "x-jwt-payload",
                "pad_forward_payload_header": true,
                "jwt_cache_config": {"jwt_cache_size": 16}
            },
            "staff": {
                "issuer": STAFF_ISSUER,
                "audiences": [AUDIENCE, "https://admin.example.com"],
                "remote_jwks": {
                    "http_uri": {"uri": "https://staff.example.com/.well-known/jwks.json", "cluster": "staff", "timeout": "1s"},
                    "cache_duration": "600s",
                    "min_refetch_interval": "5s"
                },
                "from_headers": [{"name": "x-staff-token"}],
                "from_params": ["staff_token"],
                "forward": true,
                "clock_skew_seconds": 30,
                "max_token_bytes": 4096,
                "claim_to_headers": [{"header_name": "x-staff-email", "claim_name": "email"}]
            }
        },
        "rules": [
            {"match": {"path": "/healthz"}},
            {"match": {"prefix": "/messages", "methods": ["GET", "POST"]},
             "requires": {"provider_name": "customers"}, "required_scopes": ["read:messages"]},
            {"match": {"prefix": "/any"}, "requires": {"provider_name": "customers"},
             "required_scopes_any": ["read:a", "read:b"]},
            {"match": {"prefix": "/admin"}, "requires": {"provider_name": "staff"},
             "required_claims": [
                 {"name": "https://example.com/roles", "contains": "admin"},
                 {"name": "gty", "one_of": ["client-credentials", "password"]},
                 {"name": "email_verified", "equals": true}
             ]},
            {"match": {"prefix": "/either"}, "requires": {"requires_any": {"requirements": [
                {"provider_name": "customers"}, {"provider_name": "staff"}]}}},
            {"match": {"prefix": "/both"}, "requires": {"requires_all": {"requirements": [
                {"provider_name": "customers"},
                {"provider_and_audiences": {"provider_name": "staff", "audiences": ["https://admin.example.com"]}}]}}},
            {"match": {"safe_regex": {"regex": "/orders/[0-9]+"},
                       "headers": [{"name": "x-api-version", "prefix_match": "2"}]},
             "requires": {"allow_missing": {}}},
            {"match": {"prefix": "/optional", "headers": [{"name": "x-debug", "present_match": false}]},
             "requires": {"allow_missing_or_failed": {}}},
            {"match": {"prefix": "/api"}, "requires": {"provider_name": "customers"}}
        ]
    })
}

fn is_header_safe(value: &str) -> bool {
    !value.bytes().any(|b| b.is_ascii_control() && b != b'\t')
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.!#$%&'*+^`|~".contains(&b)
        })
}
