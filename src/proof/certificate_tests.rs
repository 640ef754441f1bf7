//! Certificate-bound tokens (RFC 8705 §3) through the whole decision: configuration, token,
//! the connection's client certificate or a trusted forwarder's header, and the answer.

use crate::authn::{self, Decision, Request, authorize};
use crate::config::Config;
use crate::jose::algorithm::{Algorithm, KeyKind};
use crate::jose::test_signers::{self, b64};
use crate::keys::keyring::Keyring;
use crate::proof::certificate::Peer;
use serde_json::{Value, json};
use std::time::Duration;

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://idp.example.com/";
const AUDIENCE: &str = "https://api.example.com";
/// SHA-256 of two certificates, hex as Envoy gives them.
const CLIENT: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const OTHER: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const GATEWAY_SAN: &str = "spiffe://cluster.local/ns/edge/sa/gateway";

fn provider(binding: Value) -> Value {
    let jwks = json!({"keys": [test_signers::jwk(KeyKind::Rsa, "k1")]});
    let mut provider = json!({
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "local_jwks": {"inline_string": jwks.to_string()},
        "algorithms": ["RS256"]
    });
    if !binding.is_null() {
        provider["certificate_binding"] = binding;
    }
    provider
}

fn config_json(binding: Value) -> String {
    json!({
        "providers": {"idp": provider(binding)},
        "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "idp"}}]
    })
    .to_string()
}

fn config(binding: Value) -> Config {
    Config::from_json(config_json(binding).as_bytes()).unwrap()
}

fn x5t(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    b64(bytes)
}

fn token(cnf: Option<Value>) -> String {
    let mut claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "client", "exp": NOW + 600});
    if let Some(cnf) = cnf {
        claims["cnf"] = cnf;
    }
    test_signers::token(Algorithm::RS256, Some("k1"), &claims)
}

fn bound_to(hex: &str) -> String {
    token(Some(json!({"x5t#S256": x5t(hex)})))
}

/// The decision on `GET /orders` with `token` as Bearer, over a connection whose peer is
/// `peer`, with `extra` headers.
fn decide<'c>(config: &'c Config, token: &str, peer: Peer, extra: &[(&str, &str)]) -> Decision<'c> {
    let authorization = format!("Bearer {token}");
    let mut headers = vec![
        (":method", "GET"),
        (":path", "/orders"),
        ("authorization", authorization.as_str()),
    ];
    headers.extend_from_slice(extra);
    let mut keyring = Keyring::new(config);
    let mut request = Request::from_headers(&headers);
    request.peer = peer;
    authorize(config, request, &mut keyring, Duration::from_secs(NOW))
}

fn direct(hex: Option<&str>) -> Peer<'_> {
    Peer {
        certificate_sha256: hex,
        uri_san: None,
    }
}

/// `Ok(())` if allowed, else status, challenge and description.
fn outcome(
    config: &Config,
    token: &str,
    peer: Peer,
    extra: &[(&str, &str)],
) -> Result<(), (u32, Vec<String>, String)> {
    match decide(config, token, peer, extra) {
        Decision::Allow(_) => Ok(()),
        Decision::Deny(failure) => Err((
            failure.error.status(),
            authn::challenges(config, &failure),
            failure.error.description().into_owned(),
        )),
        other => panic!("neither allowed nor refused: {other:?}"),
    }
}

fn invalid_token(description: &str) -> Result<(), (u32, Vec<String>, String)> {
    Err((
        401,
        vec![format!(
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{description}\""
        )],
        description.to_string(),
    ))
}

const MISSING: &str = "Jwt is bound to a client certificate and the request came without one";
const MISMATCH: &str = "Jwt is bound to another client certificate than the request's";

#[test]
fn a_bound_token_passes_with_its_certificate_only() {
    let config = config(json!({"mode": "enforced"}));
    let bound = bound_to(CLIENT);
    assert_eq!(outcome(&config, &bound, direct(Some(CLIENT)), &[]), Ok(()));
    let upper = CLIENT.to_ascii_uppercase();
    assert_eq!(outcome(&config, &bound, direct(Some(&upper)), &[]), Ok(()));
    assert_eq!(
        outcome(&config, &bound, direct(Some(OTHER)), &[]),
        invalid_token(MISMATCH)
    );
    assert_eq!(
        outcome(&config, &bound, direct(None), &[]),
        invalid_token(MISSING)
    );
    // A header the client wrote is no certificate.
    let forged = format!("Hash={CLIENT}");
    assert_eq!(
        outcome(
            &config,
            &bound,
            direct(None),
            &[("x-forwarded-client-cert", &forged)]
        ),
        invalid_token(MISSING)
    );
    // Unbound tokens are not affected in enforced mode, with or without a certificate.
    for peer in [direct(None), direct(Some(OTHER))] {
        assert_eq!(outcome(&config, &token(None), peer, &[]), Ok(()));
    }
    let malformed = token(Some(json!({"x5t#S256": CLIENT})));
    assert_eq!(
        outcome(&config, &malformed, direct(Some(CLIENT)), &[]),
        invalid_token("Jwt cnf claim is not an object of a jkt or an x5t#S256 string")
    );
}

#[test]
fn required_mode_refuses_tokens_that_are_not_bound() {
    let config = config(json!({"mode": "required"}));
    assert_eq!(
        outcome(&config, &bound_to(CLIENT), direct(Some(CLIENT)), &[]),
        Ok(())
    );
    assert_eq!(
        outcome(&config, &token(None), direct(Some(CLIENT)), &[]),
        invalid_token("Jwt must be bound to the client certificate (cnf x5t#S256)")
    );
}

#[test]
fn with_binding_off_a_bound_token_is_refused_with_how_to_turn_it_on() {
    for binding in [Value::Null, json!({"mode": "off"})] {
        let config = config(binding);
        assert_eq!(
            outcome(&config, &bound_to(CLIENT), direct(Some(CLIENT)), &[]),
            invalid_token(
                "Jwt is bound to a client certificate and its provider does not check certificates: set certificate_binding.mode to enforced or required"
            )
        );
        assert!(!config.binds_certificates());
    }
    assert!(config(json!({"mode": "enforced"})).binds_certificates());
}

#[test]
fn a_trusted_forwarder_passes_the_client_certificate_on() {
    let config = config(json!({"mode": "enforced", "forwarded_by": [GATEWAY_SAN]}));
    let bound = bound_to(CLIENT);
    let gateway = Peer {
        certificate_sha256: Some(OTHER),
        uri_san: Some(GATEWAY_SAN),
    };
    let forwarded = format!("By=spiffe://api;Hash={CLIENT};Subject=\"CN=client\"");
    let header = [("x-forwarded-client-cert", forwarded.as_str())];
    assert_eq!(outcome(&config, &bound, gateway, &header), Ok(()));
    // Without the header, the gateway's own certificate is not the client's.
    assert_eq!(
        outcome(&config, &bound, gateway, &[]),
        invalid_token(MISSING)
    );
    // The same header from a peer that is not the forwarder is not believed.
    let stranger = Peer {
        certificate_sha256: Some(OTHER),
        uri_san: Some("spiffe://cluster.local/ns/edge/sa/other"),
    };
    assert_eq!(
        outcome(&config, &bound, stranger, &header),
        invalid_token(MISMATCH)
    );
}

#[test]
fn certificate_binding_settings_are_validated_with_their_paths() {
    for (binding, expected) in [
        (
            json!({"mode": "on"}),
            "providers.idp.certificate_binding.mode: \"on\" is not a mode: off, enforced or required",
        ),
        (
            json!({"mode": "enforced", "forwarded_by": ["gateway"]}),
            "providers.idp.certificate_binding.forwarded_by[0]: \"gateway\" is not a URI: name a forwarder by the URI SAN of its certificate (spiffe://cluster.local/ns/edge/sa/gateway)",
        ),
        (
            json!({"mode": "enforced", "forwarded_by": [""]}),
            "providers.idp.certificate_binding.forwarded_by[0]: \"\" is not a URI: name a forwarder by the URI SAN of its certificate (spiffe://cluster.local/ns/edge/sa/gateway)",
        ),
        (
            json!({"forwarded_by": [GATEWAY_SAN]}),
            "providers.idp.certificate_binding.forwarded_by: has no use while mode is off",
        ),
        (
            json!({"mode": "enforced", "forwarded_by": vec![GATEWAY_SAN; 17]}),
            "providers.idp.certificate_binding.forwarded_by: at most 16 forwarders",
        ),
        (
            json!({"mode": "enforced", "forwarded_by": GATEWAY_SAN}),
            "providers.idp.certificate_binding.forwarded_by: must be an array, not a string",
        ),
        (
            json!({"mode": "enforced", "trusted": true}),
            "providers.idp.certificate_binding.trusted: unknown field `trusted`, expected one of `mode`, `forwarded_by`",
        ),
    ] {
        let error = Config::from_json(config_json(binding.clone()).as_bytes()).unwrap_err();
        assert_eq!(error.to_string(), expected, "{binding}");
    }
}
