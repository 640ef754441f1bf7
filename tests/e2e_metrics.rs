//! Counters in Envoy's admin `/stats` and `/stats/prometheus`, with the `stats_tags` of the
//! demo configuration turning provider and reason into Prometheus labels.

mod support;

use devidp::Fault;
use devstack::{Echo, Envoy, EnvoyOptions, free_port, http};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use support::*;

/// The `stats_config` block of `envoy/envoy.yaml`.
fn stats_config() -> String {
    let demo = std::fs::read_to_string(devstack::workspace_root().join("envoy/envoy.yaml"))
        .expect("envoy/envoy.yaml is readable");
    let start = demo
        .find("stats_config:")
        .expect("the demo has stats_config");
    let end = demo[start..]
        .find("\nadmin:")
        .map_or(demo.len(), |e| start + e);
    demo[start..end].to_string()
}

#[test]
fn decisions_and_fetches_are_counted_by_reason_and_provider() {
    let idp = start_idp();
    let echo = Echo::start("127.0.0.1:0").expect("echo starts");
    let (listener, admin) = (free_port().expect("port"), free_port().expect("port"));
    let yaml = format!(
        "{}\n{}",
        stats_config(),
        envoy_yaml(
            listener,
            admin,
            idp.addr(),
            echo.addr(),
            &filter_config(&idp)
        )
    );
    let envoy = Envoy::start_with(&yaml, admin, &EnvoyOptions::default()).expect("Envoy starts");
    let api = SocketAddr::from(([127, 0, 0, 1], listener));
    let get = |path: &str, token: Option<&str>| {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| ("authorization", b))
            .into_iter()
            .collect();
        http::get(api, path, &headers)
            .expect("Envoy answers")
            .status
    };
    let token = |claims: serde_json::Value| idp.mint(&claims);
    let valid = idp.claims_for("c", AUDIENCE, &["read:messages"]);

    // The IdP is down for the first fetch: 503, one failed fetch.
    idp.set_fault(Fault::Status(500));
    assert_eq!(get("/api/x", Some(&token(valid.clone()))), 503);
    idp.set_fault(Fault::None);
    assert!(eventually(Duration::from_secs(5), || get(
        "/api/x",
        Some(&token(valid.clone()))
    ) == 200));

    let mut expired = valid.clone();
    expired["exp"] = json!(now() - 3600);
    let mut other_audience = valid.clone();
    other_audience["aud"] = json!("https://elsewhere.example.com");
    let no_scope = idp.claims_for("c", AUDIENCE, &[]);
    let forged = devidp::KeyPair::generate(idp.current_key().kid())
        .expect("key")
        .mint(&valid)
        .expect("mint");
    assert_eq!(get("/api/x", None), 401);
    assert_eq!(get("/api/x", Some(&token(expired))), 401);
    assert_eq!(get("/api/x", Some(&token(other_audience))), 401);
    assert_eq!(get("/api/x", Some(&forged)), 401);
    assert_eq!(get("/scoped", Some(&token(no_scope))), 403);
    assert_eq!(get("/nowhere", None), 403);
    assert_eq!(get("/public", None), 200);

    // Counters reach Envoy once per tick (500 ms): wait for the last request's.
    let public_counted = || {
        envoy
            .stat("wasmcustom.jwt_authz.allowed")
            .is_some_and(|n| n == 2)
    };
    assert!(eventually(Duration::from_secs(3), public_counted));
    let stats = envoy.stats().expect("stats");
    let stat = |name: &str| {
        stats
            .get(&format!("wasmcustom.{name}"))
            .copied()
            .unwrap_or_else(|| panic!("no counter {name}"))
    };
    let allowed = stat("jwt_authz.allowed");
    assert_eq!(allowed, 2, "one verified request and one public request");
    assert_eq!(stat("jwt_authz.provider.idp.allowed"), 1);
    for (reason, count) in [
        ("missing", 1),
        ("expired", 1),
        ("audience", 1),
        ("signature", 1),
        ("scope", 1),
        ("no_rule", 1),
        ("malformed", 0),
    ] {
        assert_eq!(
            stat(&format!("jwt_authz.denied.{reason}")),
            count,
            "{reason}"
        );
    }
    assert_eq!(stat("jwt_authz.provider.idp.denied.expired"), 1);
    assert_eq!(
        stat("jwt_authz.provider.idp.denied.no_rule"),
        0,
        "no rule is no provider's"
    );
    let unavailable = stat("jwt_authz.denied.keys_unavailable");
    assert!(unavailable >= 1, "the first request was answered 503");
    assert_eq!(stat("jwt_authz.denied_total"), 6 + unavailable);
    assert!(stat("jwt_authz.provider.idp.jwks_fetch_failed") >= 1);
    assert_eq!(stat("jwt_authz.provider.idp.jwks_fetch_success"), 1);

    let prometheus = envoy
        .admin_get("/stats/prometheus")
        .expect("prometheus")
        .text();
    for line in [
        "jwt_authz_allowed{} 2",
        "jwt_authz_denied{reason=\"expired\"} 1",
        "jwt_authz_provider_allowed{provider=\"idp\"} 1",
        "jwt_authz_provider_denied{provider=\"idp\",reason=\"signature\"} 1",
        "jwt_authz_provider_jwks_fetch_success{provider=\"idp\"} 1",
    ] {
        assert!(
            prometheus.lines().any(|l| l == line),
            "{line} not in:\n{prometheus}"
        );
    }
}
