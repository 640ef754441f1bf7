//! End to end through a real Envoy: policy chosen by Envoy's routes (route and virtual host
//! names, the requirement a route's metadata names, the filter turned off per route, filter
//! state set by an earlier filter) and jwt_authn's provider fields `from_cookies`, `subjects`,
//! `max_lifetime`, `require_expiration`, and `strip_failure_response`.

mod support;

use devidp::{DEFAULT_TOKEN_LIFETIME_SECS, Idp};
use devstack::bootstrap;
use devstack::{Echo, Envoy, EnvoyOptions, Response, free_port, http};
use serde_json::{Value, json};
use std::net::SocketAddr;
use support::*;

/// The filter state object the `set_filter_state` filter sets from `x-tier`.
const TIER: &str = "jwt_authz.tier";

fn filter_config(idp: &Idp) -> Value {
    let remote_jwks = json!({
        "http_uri": {"uri": idp.jwks_uri(), "cluster": "idp", "timeout": "2s"},
        "cache_duration": "600s"
    });
    json!({
        "providers": {
            "bearer": {"issuer": idp.issuer(), "audiences": [AUDIENCE], "remote_jwks": remote_jwks},
            "browser": {
                "issuer": idp.issuer(), "audiences": [AUDIENCE], "remote_jwks": remote_jwks,
                "from_cookies": ["session"],
                "subjects": {"prefix": "test-"},
                "max_lifetime": format!("{DEFAULT_TOKEN_LIFETIME_SECS}s"),
                "require_expiration": true
            }
        },
        "requirement_map": {
            "browser-user": {"provider_name": "browser"}
        },
        "filter_state_rules": {"name": TIER, "requires": {"gold": {"provider_name": "bearer"}}},
        "rules": [
            {"match": {"route_name": {"exact": "orders"}}, "requires": {"provider_name": "bearer"},
             "required_scopes": ["read:orders"]},
            {"match": {"prefix": "/", "virtual_host_name": {"exact": "internal"}}},
            {"match": {"route_name": {"prefix": "httproute/shop/cart/"}}, "requirement_name": "browser-user"}
        ]
    })
}

/// Routes as a control plane writes them: named, one with jwt-authz's metadata (a valid and a
/// mistyped requirement name), one with the filter turned off, one virtual host of its own.
fn bootstrap(
    listener: u16,
    admin: u16,
    upstream: SocketAddr,
    idp: SocketAddr,
    filter: &Value,
) -> String {
    let route = |name: &str, prefix: &str, extra: Value| {
        let mut route =
            json!({"name": name, "match": {"prefix": prefix}, "route": {"cluster": "upstream"}});
        if let (Some(r), Value::Object(extra)) = (route.as_object_mut(), extra) {
            r.extend(extra);
        }
        route
    };
    let metadata = |name: &str| json!({"metadata": {"filter_metadata": {"jwt_authz": {"requirement_name": name}}}});
    let routes = json!({
        "virtual_hosts": [
            {"name": "internal", "domains": ["internal.example"], "routes": [route("internal-all", "/", json!({}))]},
            {"name": "api", "domains": ["*"], "routes": [
                route("orders", "/orders", json!({})),
                route("browser", "/browser", metadata("browser-user")),
                route("mistyped", "/mistyped", metadata("browser-usr")),
                route("health", "/health", json!({"typed_per_filter_config": {"envoy.filters.http.wasm": {
                    "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": true}}})),
                route("httproute/shop/cart/rule/0/match/0/*", "/cart", json!({})),
                route("default", "/", json!({}))
            ]}
        ]
    });
    let set_tier = json!({
        "name": "envoy.filters.http.set_filter_state",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.set_filter_state.v3.Config",
            "on_request_headers": [{
                "object_key": TIER,
                "factory_key": "envoy.string",
                "format_string": {"text_format_source": {"inline_string": "%REQ(x-tier)%"}}
            }]
        }
    });
    bootstrap::routed(
        listener,
        admin,
        &routes,
        &[set_tier, bootstrap::jwt_authz_filter(filter)],
        &[("upstream", upstream), ("idp", idp)],
        None,
    )
}

struct Stack {
    idp: Idp,
    echo: Echo,
    _envoy: Envoy,
    listener: SocketAddr,
}

impl Stack {
    fn start(filter: impl FnOnce(&Idp) -> Value) -> Stack {
        let idp = start_idp();
        let echo = Echo::start("127.0.0.1:0").expect("echo starts");
        let (listener, admin) = (free_port().expect("port"), free_port().expect("port"));
        let yaml = bootstrap(listener, admin, echo.addr(), idp.addr(), &filter(&idp));
        let options = EnvoyOptions {
            component_log_level: Some("wasm:debug".into()),
            ..EnvoyOptions::default()
        };
        let envoy = Envoy::start_with(&yaml, admin, &options).expect("Envoy starts");
        Stack {
            idp,
            echo,
            _envoy: envoy,
            listener: SocketAddr::from(([127, 0, 0, 1], listener)),
        }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        http::request(self.listener, "GET", path, headers, None)
            .unwrap_or_else(|e| panic!("no answer from Envoy for {path}: {e}"))
    }

    fn token(&self, claims: Value) -> String {
        self.idp.mint(&claims)
    }

    fn claims(&self, scopes: &[&str]) -> Value {
        self.idp.claims_for("test-client", AUDIENCE, scopes)
    }

    /// The upstream's one request since the last call, after asserting a 200.
    fn forwarded(&self, case: &str, response: &Response) -> devstack::RecordedRequest {
        assert_eq!(
            response.status,
            200,
            "{case}: status (body {})",
            response.text()
        );
        let mut seen = self.echo.requests();
        self.echo.clear();
        assert_eq!(seen.len(), 1, "{case}: requests upstream");
        seen.remove(0)
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn rules_follow_envoys_route_and_virtual_host_names() {
    let s = Stack::start(filter_config);
    let orders = s.token(s.claims(&["read:orders"]));
    let other = s.token(s.claims(&["read:messages"]));
    s.forwarded(
        "route orders",
        &s.get("/orders/7", &[("authorization", &bearer(&orders))]),
    );
    let refused = s.get("/orders/7", &[("authorization", &bearer(&other))]);
    assert_refused(
        "route orders, wrong scope",
        &refused,
        403,
        Some(
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt lacks required scope: read:orders\", scope=\"read:orders\"",
        ),
        "insufficient_scope",
        "Jwt lacks required scope: read:orders",
    );
    assert_missing("route orders, no token", &s.get("/orders", &[]));
    // The same path on the internal virtual host is open.
    s.forwarded(
        "virtual host internal",
        &s.get("/orders/7", &[("host", "internal.example")]),
    );
    // A Gateway API route name, by prefix: its requirement is the browser's cookie.
    assert_missing(
        "HTTPRoute by name",
        &s.get("/cart", &[("authorization", &bearer(&orders))]),
    );
    let cookie = format!("session={orders}");
    s.forwarded(
        "HTTPRoute by name, cookie",
        &s.get("/cart", &[("cookie", &cookie)]),
    );
    // No rule for the default route.
    let none = s.get("/elsewhere", &[("authorization", &bearer(&orders))]);
    assert_refused(
        "no rule",
        &none,
        403,
        None,
        "access_denied",
        "No rule matches this request",
    );
}

#[test]
fn a_route_picks_its_requirement_through_its_metadata_or_turns_the_filter_off() {
    let s = Stack::start(filter_config);
    let token = s.token(s.claims(&["read:orders"]));
    // `browser-user` asks for the cookie: Envoy hands the module the one string of the route's
    // Metadata message it asks for (xds.route_metadata.filter_metadata.jwt_authz.requirement_name).
    assert_missing(
        "metadata, bearer token",
        &s.get("/browser", &[("authorization", &bearer(&token))]),
    );
    let cookie = format!("theme=dark; session={token}; lang=en");
    let seen = s.forwarded(
        "metadata, cookie",
        &s.get("/browser", &[("cookie", &cookie)]),
    );
    assert_eq!(
        headers_among(&seen, &["cookie"]),
        pairs(&[("cookie", "theme=dark; lang=en")]),
        "the token's cookie is taken out, the others stay"
    );
    let mistyped = s.get("/mistyped", &[("cookie", &cookie)]);
    assert_refused(
        "metadata naming no requirement",
        &mistyped,
        403,
        None,
        "access_denied",
        "The route names a requirement that is not configured",
    );
    assert_nothing_reached(&s, "mistyped");
    // `disabled: true` in the route's typed_per_filter_config: Envoy skips the filter.
    s.forwarded("filter off", &s.get("/health", &[]));
}

fn assert_nothing_reached(s: &Stack, case: &str) {
    assert_eq!(
        s.echo.requests(),
        Vec::new(),
        "{case}: reached the upstream"
    );
}

#[test]
fn filter_state_from_an_earlier_filter_picks_a_requirement() {
    let s = Stack::start(filter_config);
    let token = s.token(s.claims(&[]));
    let auth = bearer(&token);
    s.forwarded(
        "gold",
        &s.get(
            "/elsewhere",
            &[("x-tier", "gold"), ("authorization", &auth)],
        ),
    );
    assert_missing(
        "gold, no token",
        &s.get("/elsewhere", &[("x-tier", "gold")]),
    );
    let silver = s.get(
        "/elsewhere",
        &[("x-tier", "silver"), ("authorization", &auth)],
    );
    assert_refused(
        "silver",
        &silver,
        403,
        None,
        "access_denied",
        "No rule matches this request",
    );
}

#[test]
fn subjects_and_max_lifetime_refuse_cookie_tokens_with_their_reason() {
    let s = Stack::start(filter_config);
    let cookie = |claims: Value| format!("session={}", s.token(claims));
    let mut stranger = s.claims(&[]);
    stranger["sub"] = json!("other-client");
    assert_invalid_token(
        "subject",
        &s.get("/browser", &[("cookie", &cookie(stranger))]),
        "Jwt subject is not allowed",
    );
    let mut long = s.claims(&[]);
    long["exp"] = json!(long["iat"].as_u64().unwrap_or_default() + DEFAULT_TOKEN_LIFETIME_SECS + 1);
    assert_invalid_token(
        "lifetime",
        &s.get("/browser", &[("cookie", &cookie(long))]),
        "Jwt lifetime is longer than the provider allows",
    );
    let mut undated = s.claims(&[]);
    undated.as_object_mut().map(|c| c.remove("iat"));
    assert_invalid_token(
        "no iat",
        &s.get("/browser", &[("cookie", &cookie(undated))]),
        "Jwt has no iat claim",
    );
    assert_nothing_reached(&s, "refused cookies");
}

#[test]
fn strip_failure_response_sends_the_status_alone() {
    let h = Harness::start(|idp| {
        let mut config = support::filter_config(idp);
        config["strip_failure_response"] = json!(true);
        config
    });
    for (case, response, status) in [
        ("no token", h.get("/api", &[]), 401),
        ("bad token", h.get_with_token("/api", "a.b.c"), 401),
        ("no rule", h.get("/other", &[]), 403),
    ] {
        assert_eq!(response.status, status, "{case}");
        assert_eq!(response.header("www-authenticate"), None, "{case}");
        assert_eq!(response.header("content-type"), None, "{case}");
        assert_eq!(response.text(), "", "{case}");
        assert_eq!(response.header("cache-control"), Some("no-store"), "{case}");
    }
    h.assert_nothing_forwarded("stripped refusals");
}
