//! `jwt-authz convert` decides as the original does: one Envoy with two listeners in front of
//! the echo upstream, one running Envoy's native `jwt_authn` with the fixture
//! `fixtures/convert/jwt_authn.json` as it is, one running jwt-authz with what `convert` made
//! of it. Every request goes to both; each must be let through by both, with the same identity
//! headers and tokens reaching the upstream, or refused by both with the same status (but for
//! the documented 403/401 of a wrong audience). A second test does the same for routes that
//! pick requirements (`PerRouteConfig`'s `requirement_name`) and `filter_state_rules`, with
//! the routes in front of both filters and `set_filter_state` before them.
//!
//! Two dev IdPs stand in for the fixture's issuers (`https://idp.example.com/` and
//! `https://partners.example.org/`), its key-fetch clusters pointing at them. The table of
//! answers is printed (`cargo test -p jwt-authz-cli --test convert_equivalence -- --nocapture`).

use devidp::{Idp, IdpConfig};
use devstack::bootstrap::{
    jwt_authn_filter, jwt_authz_filter, listener, routed_listener, static_cluster,
};
use devstack::{Echo, Envoy, EnvoyOptions, RecordedRequest, free_port, http, workspace_root};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

const FIXTURE: &str = "cli/tests/fixtures/convert/jwt_authn.json";
const API: &str = "https://api.example.com";

struct Stack {
    shop: Idp,
    partners: Idp,
    echo: Echo,
    _envoy: Envoy,
    native: SocketAddr,
    ours: SocketAddr,
}

fn idp(issuer: &str) -> Idp {
    let config = IdpConfig {
        issuer: Some(issuer.into()),
        ..IdpConfig::default()
    };
    Idp::start("127.0.0.1:0", config).expect("dev IdP starts")
}

/// Envoy with the listeners `listeners` writes for the native and our port.
fn start(listeners: impl FnOnce(u16, u16) -> String) -> Stack {
    let shop = idp("https://idp.example.com/");
    let partners = idp("https://partners.example.org/");
    let echo = Echo::start("127.0.0.1:0").expect("echo starts");
    let port = || free_port().expect("free port");
    let (native, ours, admin) = (port(), port(), port());
    let yaml = format!(
        "admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}\n\
         static_resources:\n  listeners:\n{}  clusters:\n{}{}{}",
        listeners(native, ours),
        static_cluster("upstream", echo.addr()),
        static_cluster("idp_jwks", shop.addr()),
        static_cluster("partners_jwks", partners.addr()),
    );
    let envoy = Envoy::start_with(&yaml, admin, &EnvoyOptions::default()).expect("Envoy starts");
    let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
    Stack {
        shop,
        partners,
        echo,
        _envoy: envoy,
        native: local(native),
        ours: local(ours),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// What a listener did with a request, and what reached the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Let through; the upstream's copy of the headers that tell identity and tokens.
    Allowed(Vec<(String, Option<String>)>),
    Refused(u16),
    Broken(String),
}

impl Verdict {
    /// The same decision with the same status; an audience that does not match is the one
    /// documented difference in status (403 in jwt_authn, 401 `invalid_token` in jwt-authz:
    /// the book's "Where it differs from jwt_authn").
    fn same_as(&self, ours: &Verdict, audience_case: bool) -> bool {
        match (self, ours) {
            (Verdict::Refused(403), Verdict::Refused(401)) => audience_case,
            (a, b) => a == b && !matches!(a, Verdict::Broken(_)),
        }
    }
}

/// The headers whose upstream copy is compared.
const SEEN: [&str; 4] = [
    "authorization",
    "x-partner-token",
    "x-user-id",
    "x-partner-id",
];

impl Stack {
    fn send(&self, listener: SocketAddr, path: &str, headers: &[(&str, String)]) -> Verdict {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let response = http::request(listener, "GET", path, &headers, None);
        let forwarded: Vec<RecordedRequest> = self.echo.requests();
        self.echo.clear();
        match (response, forwarded.as_slice()) {
            (Err(e), _) => Verdict::Broken(format!("no answer: {e}")),
            (Ok(r), [seen]) if r.status == 200 => Verdict::Allowed(
                SEEN.iter()
                    .map(|h| (h.to_string(), seen.header(h).map(str::to_string)))
                    .collect(),
            ),
            (Ok(r), []) if r.status >= 400 => Verdict::Refused(r.status),
            (Ok(r), seen) => Verdict::Broken(format!(
                "status {} with {} request(s) upstream",
                r.status,
                seen.len()
            )),
        }
    }
}

/// The tokens the cases send.
struct Tokens {
    shop: String,
    shop_expired: String,
    shop_other_audience: String,
    shop_admin: String,
    unknown_issuer: String,
    partner: String,
    partner_other_audience: String,
}

fn tokens(stack: &Stack) -> Tokens {
    let now = now();
    let claims = |iss: &str, aud: &str, sub: &str, exp: u64| json!({"iss": iss, "aud": aud, "sub": sub, "iat": now - 10, "exp": exp});
    let shop = |aud: &str, exp: u64| {
        stack
            .shop
            .mint(&claims("https://idp.example.com/", aud, "customer-7", exp))
    };
    let partner = |aud: &str| {
        stack.partners.mint(&claims(
            "https://partners.example.org/",
            aud,
            "partner-3",
            now + 600,
        ))
    };
    Tokens {
        shop: shop(API, now + 600),
        shop_expired: shop(API, now - 3600),
        shop_other_audience: shop("https://other.example.com", now + 600),
        shop_admin: shop("https://admin.example.com", now + 600),
        unknown_issuer: stack.shop.mint(&claims(
            "https://evil.example.net/",
            API,
            "customer-7",
            now + 600,
        )),
        partner: partner("https://partners-api.example.com"),
        partner_other_audience: partner("https://other.example.com"),
    }
}

/// A request: its path, what it sends (for the table), its headers.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, String)>);

#[test]
fn the_converted_configuration_decides_as_native_jwt_authn_does() {
    let text = std::fs::read_to_string(workspace_root().join(FIXTURE)).expect("fixture");
    let original: Value = serde_json::from_str(&text).expect("JSON");
    let conversions = jwt_authz_cli::convert::convert(&[(FIXTURE.into(), text)]).expect("converts");
    assert_eq!(conversions.len(), 1);
    let converted = &conversions[0].config;
    let stack = start(|native, ours| {
        listener("native", native, &jwt_authn_filter(&original))
            + &listener("ours", ours, &jwt_authz_filter(converted))
    });
    let t = tokens(&stack);
    let bearer = |token: &str| ("authorization", format!("Bearer {token}"));
    let partner = |token: &str| ("x-partner-token", token.to_string());
    let call = ("x-partner-call", "1".to_string());

    let cases: Vec<Case> = vec![
        ("/healthz", "no token", vec![]),
        ("/healthz", "expired token", vec![bearer(&t.shop_expired)]),
        ("/public/a", "no token", vec![]),
        (
            "/public/a",
            "unknown issuer",
            vec![bearer(&t.unknown_issuer)],
        ),
        ("/orders/12/receipt", "valid", vec![bearer(&t.shop)]),
        ("/orders/12/receipt", "no token", vec![]),
        (
            "/orders/12/receipt",
            "expired",
            vec![bearer(&t.shop_expired)],
        ),
        (
            "/orders/12/receipt",
            "other audience",
            vec![bearer(&t.shop_other_audience)],
        ),
        (
            "/orders/12/receipt",
            "unknown issuer",
            vec![bearer(&t.unknown_issuer)],
        ),
        ("/orders/12/receipt", "garbage", vec![bearer("not.a.token")]),
        (
            "/orders/ab/receipt",
            "no token (regex misses: no rule)",
            vec![],
        ),
        (
            "/orders/12/receipt?access_token=",
            "valid in the query",
            vec![],
        ),
        (
            "/partners/x",
            "both tokens",
            vec![bearer(&t.shop), partner(&t.partner), call.clone()],
        ),
        (
            "/partners/x",
            "shop token only",
            vec![bearer(&t.shop), call.clone()],
        ),
        (
            "/partners/x",
            "partner token only",
            vec![partner(&t.partner), call.clone()],
        ),
        (
            "/partners/x",
            "partner token, other audience",
            vec![
                bearer(&t.shop),
                partner(&t.partner_other_audience),
                call.clone(),
            ],
        ),
        ("/partners/x", "no x-partner-call: no rule", vec![]),
        ("/reports/q", "shop token", vec![bearer(&t.shop)]),
        ("/reports/q", "partner token", vec![partner(&t.partner)]),
        ("/reports/q", "no token", vec![]),
        (
            "/reports/q",
            "expired shop token",
            vec![bearer(&t.shop_expired)],
        ),
        ("/catalog/1", "no token", vec![]),
        ("/catalog/1", "valid", vec![bearer(&t.shop)]),
        ("/catalog/1", "expired", vec![bearer(&t.shop_expired)]),
        (
            "/catalog/1",
            "other audience",
            vec![bearer(&t.shop_other_audience)],
        ),
        ("/search/q", "no token", vec![]),
        ("/search/q", "valid", vec![bearer(&t.shop)]),
        ("/search/q", "expired", vec![bearer(&t.shop_expired)]),
        ("/search/q", "partner token", vec![partner(&t.partner)]),
        ("/preview/1", "no token", vec![]),
        ("/preview/1", "expired", vec![bearer(&t.shop_expired)]),
        ("/preview/1", "valid", vec![bearer(&t.shop)]),
        (
            "/admin/users",
            "admin audience",
            vec![bearer(&t.shop_admin)],
        ),
        ("/admin/users", "api audience", vec![bearer(&t.shop)]),
        ("/admin/users", "no token", vec![]),
        ("/api/orders", "valid", vec![bearer(&t.shop)]),
        ("/api/orders", "no token", vec![]),
        ("/api/orders", "expired", vec![bearer(&t.shop_expired)]),
        (
            "/api/orders",
            "other audience",
            vec![bearer(&t.shop_other_audience)],
        ),
        (
            "/api/orders",
            "unknown issuer",
            vec![bearer(&t.unknown_issuer)],
        ),
        (
            "/api/orders",
            "partner token in its header",
            vec![partner(&t.partner)],
        ),
        ("/other", "no token: no rule", vec![]),
        ("/other", "expired: no rule", vec![bearer(&t.shop_expired)]),
    ];

    let (allowed, refused) = compare(&stack, &t, &cases);
    assert!(
        allowed >= 15 && refused >= 15,
        "both kinds of answer are exercised"
    );
}

/// Sends every case to both listeners, prints the table, and fails on any difference; the
/// counts of requests let through and refused.
fn compare(stack: &Stack, t: &Tokens, cases: &[Case]) -> (usize, usize) {
    let mut table = String::new();
    let mut differences = Vec::new();
    let (mut allowed, mut refused) = (0, 0);
    for (path, what, headers) in cases {
        let path = if path.ends_with("access_token=") {
            format!("{path}{}", t.shop)
        } else {
            path.to_string()
        };
        let native = stack.send(stack.native, &path, headers);
        let ours = stack.send(stack.ours, &path, headers);
        let short = |v: &Verdict| match v {
            Verdict::Allowed(_) => "200 through".to_string(),
            Verdict::Refused(status) => format!("{status}"),
            Verdict::Broken(why) => format!("BROKEN {why}"),
        };
        let shown_path = path.split('?').next().unwrap_or_default();
        table.push_str(&format!(
            "{shown_path:<20} {what:<34} jwt_authn {:<12} jwt-authz {}\n",
            short(&native),
            short(&ours)
        ));
        match &native {
            Verdict::Allowed(_) => allowed += 1,
            Verdict::Refused(_) => refused += 1,
            Verdict::Broken(_) => {}
        }
        if !native.same_as(&ours, what.contains("audience")) {
            differences.push(format!(
                "{path} ({what}): jwt_authn {native:?}, jwt-authz {ours:?}"
            ));
        }
    }
    println!(
        "{table}{} cases: {allowed} let through and {refused} refused by both",
        cases.len()
    );
    assert!(
        differences.is_empty(),
        "decisions differ:\n{}\n\n{table}",
        differences.join("\n")
    );
    (allowed, refused)
}

/// The filter state object `set_filter_state` sets from the request's `x-tier` (a test's
/// shortcut: a deployment sets it from what the client cannot choose).
const TIER: &str = "example.tier";

fn set_tier() -> Value {
    json!({
        "name": "envoy.filters.http.set_filter_state",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.set_filter_state.v3.Config",
            "on_request_headers": [{
                "object_key": TIER,
                "factory_key": "envoy.string",
                "format_string": {"text_format_source": {"inline_string": "%REQ(x-tier)%"}}
            }]
        }
    })
}

/// A route that picks a `jwt_authn` requirement by name.
fn route(name: Option<&str>, prefix: &str, requirement_name: Option<&str>) -> Value {
    let mut route = json!({"match": {"prefix": prefix}, "route": {"cluster": "upstream"}});
    if let Some(name) = name {
        route["name"] = json!(name);
    }
    if let Some(requirement) = requirement_name {
        route["typed_per_filter_config"] = json!({"envoy.filters.http.jwt_authn": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig",
            "requirement_name": requirement
        }});
    }
    route
}

#[test]
fn requirements_chosen_by_routes_and_filter_state_are_chosen_alike() {
    let remote = |cluster: &str, uri: &str| json!({"http_uri": {"uri": uri, "cluster": cluster, "timeout": "3s"}});
    let original = json!({
        "providers": {
            "shop": {"issuer": "https://idp.example.com/", "audiences": [API],
                     "remote_jwks": remote("idp_jwks", "https://idp.example.com/.well-known/jwks.json"),
                     "claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"}]},
            "partners": {"issuer": "https://partners.example.org/",
                         "audiences": ["https://partners-api.example.com"],
                         "remote_jwks": remote("partners_jwks", "https://partners.example.org/.well-known/jwks.json"),
                         "from_headers": [{"name": "x-partner-token"}],
                         "claim_to_headers": [{"header_name": "x-partner-id", "claim_name": "sub"}]}
        },
        "requirement_map": {"staff": {"provider_name": "shop"}, "partner": {"provider_name": "partners"}},
        "rules": [{"match": {"prefix": "/open/"}}],
        "filter_state_rules": {"name": TIER, "requires": {"gold": {"provider_name": "partners"}, "silver": {"provider_name": "shop"}}}
    });
    let routes = json!({"virtual_hosts": [{"name": "api", "domains": ["*"], "routes": [
        route(Some("staff-area"), "/staff/", Some("staff")),
        route(Some("partner-area"), "/partner/", Some("partner")),
        route(None, "/legacy/", Some("partner")),
        route(None, "/", None)
    ]}]});
    let native_filters = [set_tier(), jwt_authn_filter(&original)];
    // What convert reads: the listener as it runs today.
    let running = json!({"static_resources": {"listeners": [{"filter_chains": [{"filters": [{
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {"route_config": routes, "http_filters": native_filters}
    }]}]}]}});
    let conversions =
        jwt_authz_cli::convert::convert(&[("envoy.json".into(), running.to_string())])
            .expect("converts");
    let conversion = &conversions[0];
    let legacy = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[2]";
    let listed: Vec<String> = conversion
        .not_carried
        .iter()
        .map(|n| n.at.clone())
        .collect();
    assert_eq!(
        listed,
        [
            "filter_state_rules".to_string(),
            format!(
                "{legacy}.typed_per_filter_config.envoy.filters.http.jwt_authn.requirement_name"
            ),
        ],
        "the unnamed route needs metadata; no rule for every path before the filter state"
    );
    assert!(
        conversion.not_carried[1]
            .why
            .contains(&format!("to the route {legacy}"))
    );
    // Done as the note says: the unnamed route names its requirement in its metadata.
    let mut our_routes = routes.clone();
    our_routes["virtual_hosts"][0]["routes"][2]["metadata"] =
        json!({"filter_metadata": {"jwt_authz": {"requirement_name": "partner"}}});
    let stack = start(|native, ours| {
        routed_listener("native", native, &routes, &native_filters)
            + &routed_listener(
                "ours",
                ours,
                &our_routes,
                &[set_tier(), jwt_authz_filter(&conversion.config)],
            )
    });
    let t = tokens(&stack);
    let bearer = |token: &str| ("authorization", format!("Bearer {token}"));
    let partner = |token: &str| ("x-partner-token", token.to_string());
    let tier = |value: &str| ("x-tier", value.to_string());
    let cases: Vec<Case> = vec![
        ("/staff/a", "shop token", vec![bearer(&t.shop)]),
        ("/staff/a", "partner token", vec![partner(&t.partner)]),
        ("/staff/a", "no token", vec![]),
        (
            "/staff/a",
            "expired shop token",
            vec![bearer(&t.shop_expired)],
        ),
        (
            "/staff/a",
            "shop token, other audience",
            vec![bearer(&t.shop_other_audience)],
        ),
        (
            "/staff/a",
            "gold tier, partner token",
            vec![tier("gold"), partner(&t.partner)],
        ),
        ("/partner/a", "partner token", vec![partner(&t.partner)]),
        ("/partner/a", "shop token", vec![bearer(&t.shop)]),
        ("/partner/a", "no token", vec![]),
        (
            "/partner/a",
            "partner token, other audience",
            vec![partner(&t.partner_other_audience)],
        ),
        (
            "/partner/a",
            "silver tier, shop token",
            vec![tier("silver"), bearer(&t.shop)],
        ),
        ("/legacy/a", "partner token", vec![partner(&t.partner)]),
        ("/legacy/a", "shop token", vec![bearer(&t.shop)]),
        ("/legacy/a", "no token", vec![]),
        ("/open/a", "no token", vec![]),
        ("/open/a", "gold tier, no token", vec![tier("gold")]),
        (
            "/other",
            "gold tier, partner token",
            vec![tier("gold"), partner(&t.partner)],
        ),
        (
            "/other",
            "gold tier, shop token",
            vec![tier("gold"), bearer(&t.shop)],
        ),
        ("/other", "gold tier, no token", vec![tier("gold")]),
        (
            "/other",
            "silver tier, shop token",
            vec![tier("silver"), bearer(&t.shop)],
        ),
        (
            "/other",
            "silver tier, expired shop token",
            vec![tier("silver"), bearer(&t.shop_expired)],
        ),
        (
            "/other",
            "silver tier, partner token",
            vec![tier("silver"), partner(&t.partner)],
        ),
    ];
    let (allowed, refused) = compare(&stack, &t, &cases);
    assert!(
        allowed >= 7 && refused >= 12,
        "both kinds of answer are exercised"
    );
}
