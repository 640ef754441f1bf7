//! End to end through a real Envoy: a route chosen by a claim (jwt_authn's
//! `clear_route_cache`). The filter sets `x-tier` from the token's `tier` claim; Envoy's route
//! table sends `x-tier: gold` to a second cluster. Envoy picks a route before the filters run
//! and a Wasm filter has no call to clear the route cache, but Envoy clears it whenever a Wasm
//! filter changes the request's headers, so the router routes on the headers jwt-authz leaves.

mod support;

use devidp::Idp;
use devstack::{Echo, Envoy, EnvoyOptions, bootstrap, free_port, http};
use serde_json::{Value, json};
use std::net::SocketAddr;
use support::*;

/// `/api` needs a token of the dev IdP; its `tier` claim goes to `x-tier`.
fn filter(idp: &Idp) -> Value {
    let mut config = filter_config(idp);
    config["providers"]["idp"]["claim_to_headers"] =
        json!([{"header_name": "x-tier", "claim_name": "tier"}]);
    config
}

/// The filter in front of two clusters: `x-tier: gold` routes to `gold`, the rest to
/// `upstream`.
fn bootstrap_with_gold_route(
    listener: u16,
    admin: u16,
    upstream: SocketAddr,
    gold: SocketAddr,
    idp: &Idp,
) -> String {
    let routes = json!({"virtual_hosts": [{"name": "api", "domains": ["*"], "routes": [
        {"match": {"prefix": "/", "headers": [{"name": "x-tier", "string_match": {"exact": "gold"}}]},
         "route": {"cluster": "gold"}},
        {"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}
    ]}]});
    bootstrap::routed(
        listener,
        admin,
        &routes,
        &[bootstrap::jwt_authz_filter(&filter(idp))],
        &[("upstream", upstream), ("gold", gold), ("idp", idp.addr())],
        None,
    )
}

#[test]
fn a_claim_set_by_the_filter_picks_the_route() {
    let idp = start_idp();
    let (standard, gold) = (
        Echo::start("127.0.0.1:0").unwrap(),
        Echo::start("127.0.0.1:0").unwrap(),
    );
    let (listener, admin) = (free_port().unwrap(), free_port().unwrap());
    let yaml = bootstrap_with_gold_route(listener, admin, standard.addr(), gold.addr(), &idp);
    let _envoy = Envoy::start_with(&yaml, admin, &EnvoyOptions::default()).unwrap();
    let envoy = SocketAddr::from(([127, 0, 0, 1], listener));
    let token_with = |tier: Option<&str>| {
        let mut claims = idp.claims_for("test-client", AUDIENCE, &["read:messages"]);
        if let Some(tier) = tier {
            claims["tier"] = json!(tier);
        }
        idp.mint(&claims)
    };
    // Which upstream got the one request sent since the last call, with its x-tier.
    let reached = |case: &str, headers: &[(&str, &str)]| {
        let response = http::get(envoy, "/api/orders", headers).unwrap();
        assert_eq!(response.status, 200, "{case}: {}", response.text());
        let (in_standard, in_gold) = (standard.requests(), gold.requests());
        standard.clear();
        gold.clear();
        match (in_standard.as_slice(), in_gold.as_slice()) {
            ([seen], []) => ("standard", seen.header("x-tier").map(str::to_string)),
            ([], [seen]) => ("gold", seen.header("x-tier").map(str::to_string)),
            _ => panic!("{case}: {in_standard:?} {in_gold:?}"),
        }
    };
    let bearer = |token: &str| format!("Bearer {token}");

    let gold_token = bearer(&token_with(Some("gold")));
    assert_eq!(
        reached("tier gold", &[("authorization", &gold_token)]),
        ("gold", Some("gold".to_string()))
    );
    let silver_token = bearer(&token_with(Some("silver")));
    assert_eq!(
        reached("tier silver", &[("authorization", &silver_token)]),
        ("standard", Some("silver".to_string()))
    );
    // The client's own x-tier chose the gold route before the filter ran; the filter drops
    // it, and the route is chosen again without it.
    let plain_token = bearer(&token_with(None));
    assert_eq!(
        reached(
            "a client-sent x-tier, no claim",
            &[("authorization", &plain_token), ("x-tier", "gold")]
        ),
        ("standard", None)
    );
    assert_eq!(
        reached(
            "a client-sent x-tier under a silver claim",
            &[("authorization", &silver_token), ("x-tier", "gold")]
        ),
        ("standard", Some("silver".to_string()))
    );
    // A public path: the filter takes the client's x-tier out there too, so no request
    // reaches the gold route with a tier it was not given.
    let response = http::get(envoy, "/public/info", &[("x-tier", "gold")]).unwrap();
    assert_eq!(response.status, 200);
    let seen = standard.requests();
    assert_eq!((seen.len(), gold.requests().len()), (1, 0));
    assert_eq!(seen[0].header("x-tier"), None);
}
