//! End to end, what operators see: the start-up line, and the common failures produced for
//! real — a key-fetch cluster that does not exist, TLS to an IdP that speaks plain HTTP, clocks
//! apart, a token for another audience, an issuer without its trailing slash — with the exact
//! responses, log lines and counters the book quotes (docs/src/operations/troubleshooting.md).

mod support;

use devstack::Envoy;
use std::time::Duration;
use support::*;

/// The first log line containing `needle`, from the `jwt-authz` part on (Envoy's prefix —
/// time, thread, source file — varies).
fn log_line(envoy: &Envoy, needle: &str) -> Option<String> {
    envoy
        .log()
        .lines()
        .find(|l| l.contains(needle))
        .map(|l| l[l.find("jwt-authz").unwrap_or(0)..].to_string())
}

fn wait_for_log_line(envoy: &Envoy, needle: &str) -> String {
    let mut found = None;
    eventually(Duration::from_secs(5), || {
        found = log_line(envoy, needle);
        found.is_some()
    });
    found.unwrap_or_else(|| panic!("no log line with {needle:?}:\n{}", envoy.log()))
}

#[test]
fn the_start_up_line_names_version_providers_and_rules_on_one_line() {
    let harness = Harness::start(filter_config);
    let line = wait_for_log_line(&harness.envoy, "provider(s)");
    let expected_tail = format!(
        "): 1 provider(s): idp (issuer {}, any asymmetric algorithm, jwks from cluster idp); 3 rule(s)",
        harness.idp.issuer()
    );
    assert!(
        line.starts_with(&format!("jwt-authz {} (root ", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    assert!(line.ends_with(&expected_tail), "{line}");
}

#[test]
fn clock_skew_and_audience_refusals_are_exact() {
    let harness = Harness::start(filter_config);
    let now = now();
    let with = |changes: &[(&str, serde_json::Value)]| {
        let mut claims = harness.claims();
        for (name, value) in changes {
            claims[*name] = value.clone();
        }
        harness.get_with_token("/api", &harness.idp.mint(&claims))
    };
    // Within the default 60 s of skew: a proxy clock a little ahead or behind is tolerated.
    let slightly_expired = with(&[("exp", (now - 30).into())]);
    harness.forwarded("expired 30 s ago", &slightly_expired);
    let slightly_early = with(&[("iat", (now + 30).into()), ("nbf", (now + 30).into())]);
    harness.forwarded("issued 30 s ahead", &slightly_early);
    // Beyond it.
    assert_invalid_token(
        "expired",
        &with(&[("exp", (now - 120).into())]),
        "Jwt is expired",
    );
    assert_invalid_token(
        "issued ahead",
        &with(&[("iat", (now + 120).into())]),
        "Jwt iat is in the future",
    );
    assert_invalid_token(
        "not yet valid",
        &with(&[("nbf", (now + 120).into())]),
        "Jwt is not yet valid",
    );
    assert_invalid_token(
        "another API's token",
        &with(&[("aud", "https://other-api.example.com".into())]),
        "Jwt audience is not allowed",
    );
    harness.assert_nothing_forwarded("refused");
    // At wasm:debug each refusal is logged, without the token.
    let line = wait_for_log_line(&harness.envoy, "Jwt audience is not allowed");
    assert_eq!(line, "jwt-authz: 401 GET /api: Jwt audience is not allowed");
}

#[test]
fn an_issuer_without_its_trailing_slash_refuses_every_token() {
    let harness = Harness::start(|idp| {
        let mut config = filter_config(idp);
        let issuer = idp.issuer();
        config["providers"]["idp"]["issuer"] = issuer.trim_end_matches('/').into();
        config
    });
    assert_invalid_token(
        "iss has the slash, the configuration not",
        &harness.get_with_token("/api", &harness.token(&[])),
        "Jwt issuer is not allowed",
    );
}

#[test]
fn a_cluster_name_envoy_does_not_have_answers_503_and_says_so_in_the_log() {
    let harness = Harness::start(|idp| {
        let mut config = filter_config(idp);
        config["providers"]["idp"]["remote_jwks"]["http_uri"]["cluster"] = "auth0_jwks".into();
        config
    });
    assert_keys_unavailable(
        "no such cluster",
        &harness.get_with_token("/api", &harness.token(&[])),
    );
    let line = wait_for_log_line(&harness.envoy, "cannot call cluster");
    assert_eq!(
        line,
        "jwt-authz: provider idp: JWKS fetch failed: cannot call cluster \"auth0_jwks\" (BadArgument): is it defined in Envoy's clusters?"
    );
    assert_eq!(harness.idp.jwks_requests(), 0, "nothing reached the IdP");
}

#[test]
fn a_tls_cluster_in_front_of_a_plain_http_idp_fails_the_fetch() {
    let idp = start_idp();
    let echo = devstack::Echo::start("127.0.0.1:0").expect("echo starts");
    let (listener, admin) = (
        devstack::free_port().unwrap(),
        devstack::free_port().unwrap(),
    );
    let plain = envoy_yaml(
        listener,
        admin,
        idp.addr(),
        echo.addr(),
        &filter_config(&idp),
    );
    // The IdP's cluster, as one would write it for a real tenant: TLS with SNI.
    let cluster_start = "  - name: idp\n    type: STATIC\n";
    assert!(plain.contains(cluster_start));
    let yaml = plain.replace(
        cluster_start,
        &format!(
            "{cluster_start}    transport_socket:\n      name: envoy.transport_sockets.tls\n      typed_config:\n        \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext\n        sni: localhost\n"
        ),
    );
    let options = devstack::EnvoyOptions {
        component_log_level: Some("wasm:debug".into()),
        ..devstack::EnvoyOptions::default()
    };
    let envoy = Envoy::start_with(&yaml, admin, &options).expect("Envoy starts");
    let client = std::net::SocketAddr::from(([127, 0, 0, 1], listener));
    let token = idp.mint(&idp.claims_for("test-client", AUDIENCE, &[]));
    let response = devstack::http::get(
        client,
        "/api",
        &[("authorization", &format!("Bearer {token}"))],
    )
    .expect("Envoy answers");
    assert_keys_unavailable("TLS to plain HTTP", &response);
    let line = wait_for_log_line(&envoy, "JWKS fetch failed");
    assert_eq!(
        line,
        "jwt-authz: provider idp: JWKS fetch failed: HTTP status 503; no keys yet"
    );
    // Envoy's own counters tell a TLS failure from an IdP that answered 503.
    let stats = envoy.stats().expect("stats");
    assert!(
        stats
            .get("cluster.idp.ssl.connection_error")
            .is_some_and(|n| *n >= 1),
        "ssl.connection_error: {:?}",
        stats.get("cluster.idp.ssl.connection_error")
    );
    assert_eq!(
        idp.jwks_requests(),
        0,
        "no JWKS request was understood by the IdP"
    );
}
