//! OIDC discovery end to end: a provider configured with its issuer and a cluster only.

mod support;

use devidp::{Fault, Idp, IdpConfig};
use serde_json::{Value, json};
use std::time::Duration;
use support::*;

/// One provider that finds its keys through the issuer's discovery document.
fn discovery_config(idp: &Idp, cache_duration: &str) -> Value {
    json!({
        "providers": {
            "idp": {
                "issuer": idp.issuer(),
                "audiences": [AUDIENCE],
                "oidc_discovery": {"cluster": "idp", "timeout": "2s", "cache_duration": cache_duration, "min_refetch_interval": "1s"}
            }
        },
        "rules": [{"match": {"prefix": "/api"}, "requires": {"provider_name": "idp"}}]
    })
}

#[test]
fn issuer_and_cluster_are_enough() {
    let h = Harness::start(|idp| discovery_config(idp, "600s"));
    let response = h.get_with_token("/api/x", &h.token(&[]));
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(h.idp.discovery_requests(), 1);
    assert_eq!(h.idp.jwks_requests(), 1);
    let again = h.get_with_token("/api/x", &h.token(&[]));
    assert_eq!(again.status, 200);
    assert_eq!(h.idp.discovery_requests(), 1, "cached with the keys");
    assert!(h.envoy.log().contains("JWKS fetched, 1 usable key(s)"));
}

#[test]
fn discovery_is_refreshed_with_the_keys_and_its_last_answer_outlives_an_outage() {
    let h = Harness::start(|idp| discovery_config(idp, "2s"));
    assert_eq!(h.get_with_token("/api/x", &h.token(&[])).status, 200);
    assert!(
        eventually(Duration::from_secs(8), || h.idp.discovery_requests() >= 2
            && h.idp.jwks_requests() >= 2),
        "refresh fetches the document and then the keys"
    );
    // Discovery down, keys rotated: the jwks_uri named last time still finds the new key.
    h.idp.set_discovery_fault(Some(Fault::Status(500)));
    let rotated_kid = h.idp.rotate_key();
    let discovery_before = h.idp.discovery_requests();
    let token = h.token(&[]);
    assert!(
        eventually(Duration::from_secs(8), || h
            .get_with_token("/api/x", &token)
            .status
            == 200),
        "the rotated key is found within a refresh while discovery is down"
    );
    assert!(h.idp.discovery_requests() > discovery_before);
    assert!(
        h.envoy.log().contains("using the last known jwks_uri"),
        "new key {rotated_kid} found through the remembered jwks_uri"
    );
}

#[test]
fn a_document_that_does_not_fit_is_refused_and_requests_fail_closed() {
    // The IdP claims to be another issuer, so its document names another issuer and a
    // jwks_uri on another host.
    let idp = Idp::start(
        "127.0.0.1:0",
        IdpConfig {
            issuer: Some("https://other.example.com/".into()),
            ..IdpConfig::default()
        },
    )
    .expect("dev IdP starts");
    let document = format!("{}.well-known/openid-configuration", idp.base_url());
    let filter = json!({
        "providers": {
            "foreign": {
                "issuer": idp.base_url(),
                "audiences": [AUDIENCE],
                "oidc_discovery": {"cluster": "idp", "uri": document, "timeout": "2s"}
            },
            "elsewhere": {
                "issuer": "https://other.example.com/",
                "audiences": [AUDIENCE],
                "oidc_discovery": {"cluster": "idp", "uri": document, "timeout": "2s"}
            }
        },
        "rules": [
            {"match": {"prefix": "/foreign"}, "requires": {"provider_name": "foreign"}},
            {"match": {"prefix": "/elsewhere"}, "requires": {"provider_name": "elsewhere"}}
        ]
    });
    let h = Harness::start_with(idp, &filter).expect("Envoy starts");
    let mut claims = h.claims();
    claims["iss"] = json!(h.idp.base_url());
    let foreign = h.idp.mint(&claims);
    assert_keys_unavailable(
        "document for another issuer",
        &h.get_with_token("/foreign", &foreign),
    );
    assert_keys_unavailable(
        "jwks_uri on another host",
        &h.get_with_token("/elsewhere", &h.token(&[])),
    );
    assert_eq!(
        h.idp.jwks_requests(),
        0,
        "no key set was fetched from a refused document"
    );
    let log = h.envoy.log();
    assert!(
        log.contains("discovery document is for another issuer"),
        "{log}"
    );
    assert!(log.contains("jwks_uri is on other.example.com"), "{log}");
}
