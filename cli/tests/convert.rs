//! `jwt-authz convert` on the fixtures (`fixtures/convert/`): what each becomes, what is
//! listed as not carried, and the command's output and exit status. That the jwt_authn
//! fixture's conversion decides as native jwt_authn does in Envoy is `convert_equivalence`.

use devstack::workspace_root;
use jwt_authz_cli::convert::{self, Conversion, Effect};
use serde_json::{Value, json};
use std::process::{Command, Output, Stdio};

const FIXTURES: &str = "cli/tests/fixtures/convert";

fn fixture(name: &str) -> (String, String) {
    let path = format!("{FIXTURES}/{name}");
    let text = std::fs::read_to_string(workspace_root().join(&path)).expect("fixture");
    (path, text)
}

fn convert_one(files: &[(String, String)]) -> Conversion {
    let mut conversions = convert::convert(files).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(conversions.len(), 1);
    conversions.remove(0)
}

fn notes(conversion: &Conversion) -> Vec<String> {
    conversion
        .not_carried
        .iter()
        .map(|n| n.to_string())
        .collect()
}

#[test]
fn a_jwt_authn_configuration_keeps_its_providers_and_rules_and_gains_jwt_authn_s_default() {
    let conversion = convert_one(&[fixture("jwt_authn.json")]);
    let config = &conversion.config;
    let providers = config["providers"].as_object().unwrap();
    assert_eq!(
        providers.keys().collect::<Vec<_>>(),
        ["partners-example-org", "shop"]
    );
    assert_eq!(
        config["providers"]["partners-example-org"],
        json!({
            "issuer": "https://partners.example.org/",
            "audiences": ["https://api.example.com", "https://partners-api.example.com"],
            "remote_jwks": {
                "http_uri": {"uri": "https://partners.example.org/.well-known/jwks.json", "cluster": "partners_jwks", "timeout": "3s"},
                "cache_duration": "300s"
            },
            "from_headers": [{"name": "x-partner-token"}],
            "forward": true,
            "claim_to_headers": [{"header_name": "x-partner-id", "claim_name": "sub"}],
            "jwt_cache_config": {"jwt_cache_size": 100}
        }),
        "jwt_authn's 5-minute key cache made explicit; the name made a metric-safe one"
    );
    assert_eq!(
        config["providers"]["shop"]["remote_jwks"]["cache_duration"],
        "600s"
    );
    assert!(
        config["providers"]["shop"]
            .get("payload_in_metadata")
            .is_none()
    );
    let rules = config["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 12, "eleven rules and the catch-all");
    assert_eq!(
        rules[2],
        json!({"match": {"safe_regex": {"regex": "/orders/[0-9]+/receipt"}}, "requires": {"provider_name": "shop"}})
    );
    assert_eq!(
        rules[3]["requires"],
        json!({"requires_all": {"requirements": [{"provider_name": "shop"}, {"provider_name": "partners-example-org"}]}})
    );
    assert_eq!(
        rules[9],
        json!({
            "match": {"prefix": "/api/", "headers": [{"name": ":method", "exact_match": "POST"}]},
            "requires": {"provider_name": "shop"}
        }),
        "requirement_name inlined from requirement_map, string_match.exact as exact_match"
    );
    assert_eq!(
        rules[11],
        json!({"match": {"prefix": "/"}}),
        "what no rule matches passes unverified, as in jwt_authn"
    );
    assert_eq!(config["bypass_cors_preflight"], true);
    assert!(config.get("requirement_map").is_none());
    assert_eq!(
        notes(&conversion),
        [
            "providers.partners.example.org: renamed partners-example-org: provider names are letters, digits, _ and - (they name metrics) (no decision changes)",
            "providers.shop.payload_in_metadata: jwt-authz writes chosen values to filter state, not the payload to dynamic metadata: set filter_state.identity and filter_state.claims (no decision changes)",
            "providers.shop.remote_jwks.async_fetch: jwt-authz fetches, refreshes and retries keys its own way (the book's Keys and outages) (no decision changes)",
        ]
    );
}

#[test]
fn a_bootstrap_s_jwt_authn_filter_is_found_and_what_it_cannot_carry_is_listed() {
    let conversion = convert_one(&[fixture("bootstrap.yaml")]);
    assert_eq!(
        conversion.origin,
        "cli/tests/fixtures/convert/bootstrap.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config"
    );
    let config = &conversion.config;
    assert_eq!(
        config["providers"]["employees"],
        json!({
            "issuer": "https://login.corp.example.com/",
            "audiences": [convert::jwt_authn::AUDIENCE_PLACEHOLDER],
            "local_jwks": {"inline_string": r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"corp-1","alg":"ES256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#},
            "from_cookies": ["session"],
            "subjects": {"prefix": "spiffe://corp/"},
            "max_lifetime": "3600s"
        })
    );
    assert_eq!(
        config["rules"],
        json!([
            {"match": {"route_name": {"exact": "billing"}}, "requires": {"provider_name": "employees"}},
            {"match": {"safe_regex": {"regex": "/orders(/.*)?"}}, "requires": {"provider_name": "customers"}},
            {"match": {"safe_regex": {"regex": "(?i)/Docs/.*"}}},
            {"match": {"prefix": "/", "headers": [{"name": "content-type", "prefix_match": "application/grpc"}]},
             "requires": {"requires_any": {"requirements": [{"provider_name": "customers"}, {"provider_name": "employees"}]}}},
            {"match": {"prefix": "/"}, "requires": {"provider_name": "customers"}}
        ]),
        "the route billing's requirement_name first, by its name; path_separated_prefix and \
         case_sensitive: false as expressions, grpc as its content type; the query-parameter \
         rule left out; no catch-all after a rule for every path"
    );
    assert_eq!(
        config["filter_state_rules"],
        json!({"name": "jwt_selector", "requires": {"internal": {"provider_name": "employees"}}})
    );
    assert!(
        config.get("requirement_map").is_none(),
        "no route needs metadata"
    );
    let routes = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes";
    assert_eq!(
        notes(&conversion),
        [
            "stat_prefix: jwt-authz's metrics are named jwt_authz.* (no decision changes)".to_string(),
            "providers.employees.require_expiration: jwt-authz always requires exp: tokens without it are refused (refuses more)".into(),
            "providers.employees.audiences: jwt_authn checks no audience without it; jwt-authz requires one, so \"REPLACE-WITH-THE-API-AUDIENCE\" stands in (no token passes until it is your API's audience) (refuses more)".into(),
            "rules[0].match: jwt-authz rules do not match query parameters: the rule is left out, so its requests go to the next rule that matches (LETS MORE THROUGH)".into(),
            format!("{routes}[0].typed_per_filter_config.envoy.filters.http.jwt_authn: jwt_authn is off on this route: turn the Wasm filter off there with typed_per_filter_config (envoy.config.route.v3.FilterConfig, disabled: true) (refuses more)"),
        ]
    );
}

/// A route configuration whose routes and virtual hosts choose requirements with
/// `PerRouteConfig` (bare or in a `FilterConfig`), in front of `jwt_authn`.
fn routed_jwt_authn(virtual_hosts: Value, jwt_authn: Value) -> String {
    let mut filter = jwt_authn;
    filter["@type"] = json!(convert::jwt_authn::FILTER_TYPE);
    json!({"static_resources": {"listeners": [{"filter_chains": [{"filters": [{"typed_config": {
        "route_config": {"virtual_hosts": virtual_hosts},
        "http_filters": [{"name": "jwt", "typed_config": filter}]
    }}]}]}]}})
    .to_string()
}

fn pick(name: &str) -> Value {
    json!({"jwt": {"@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig", "requirement_name": name}})
}

#[test]
fn routes_that_pick_a_requirement_get_a_rule_by_name_or_metadata_before_every_other_rule() {
    let provider = |iss: &str| {
        json!({
            "issuer": iss, "audiences": ["a"],
            "remote_jwks": {"http_uri": {"uri": "https://idp.example/jwks", "cluster": "idp", "timeout": "5s"}}
        })
    };
    let jwt_authn = json!({
        "providers": {"staff": provider("https://staff.example/"), "shop": provider("https://shop.example/")},
        "requirement_map": {"staff": {"provider_name": "staff"}, "open": {}, "unused": {"provider_name": "shop"}},
        "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "shop"}}]
    });
    let wrapped = json!({"jwt": {"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
        "config": pick("open")["jwt"]}});
    let route = |name: Option<&str>, per_route: Value| {
        let mut route = json!({"match": {"prefix": "/"}, "route": {"cluster": "app"}, "typed_per_filter_config": per_route});
        if let Some(name) = name {
            route["name"] = json!(name);
        }
        route
    };
    let hosts = json!([
        {"name": "api", "domains": ["*"], "routes": [
            route(Some("admin"), pick("staff")),
            route(Some("docs"), wrapped),
            route(None, pick("staff")),
            route(Some("twice"), pick("open")),
            route(Some("twice"), json!({}))
        ]},
        {"name": "internal", "domains": ["internal"], "typed_per_filter_config": pick("staff"), "routes": []}
    ]);
    let conversion = convert_one(&[("r.json".into(), routed_jwt_authn(hosts, jwt_authn.clone()))]);
    assert_eq!(
        conversion.config["rules"],
        json!([
            {"match": {"route_name": {"exact": "admin"}}, "requires": {"provider_name": "staff"}},
            {"match": {"route_name": {"exact": "docs"}}},
            {"match": {"virtual_host_name": {"exact": "internal"}}, "requires": {"provider_name": "staff"}},
            {"match": {"prefix": "/"}, "requires": {"provider_name": "shop"}}
        ]),
        "a route's choice before its virtual host's, both before jwt_authn's rules; \
         an empty requirement verifies nothing"
    );
    assert_eq!(
        conversion.config["requirement_map"],
        json!({"staff": {"provider_name": "staff"}, "open": {"allow_missing_or_failed": {}}}),
        "only what routes without a name of their own pick"
    );
    let routes = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes";
    let pick_note = |i: usize, name: &str, why: &str| {
        format!(
            "{routes}[{i}].typed_per_filter_config.jwt.requirement_name: {why}, so jwt-authz's requirement_map has {name:?} and the route must name it: add `metadata: {{filter_metadata: {{jwt_authz: {{requirement_name: {name:?}}}}}}}` to the route {routes}[{i}]; until then its requests go through the rules (LETS MORE THROUGH)"
        )
    };
    assert_eq!(
        notes(&conversion),
        [
            pick_note(2, "staff", "this route has no name of its own"),
            pick_note(3, "open", "this route has no name of its own"),
        ],
        "a name two routes have is no route's own"
    );

    let missing = routed_jwt_authn(
        json!([{"name": "api", "routes": [route(Some("a"), pick("nope"))]}]),
        jwt_authn,
    );
    assert_eq!(
        convert::convert(&[("m.json".into(), missing)]).unwrap_err(),
        "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].typed_per_filter_config.jwt.requirement_name: no requirement \"nope\" in requirement_map"
    );
}

#[test]
fn a_per_route_choice_outside_routes_and_virtual_hosts_is_listed_not_dropped() {
    let jwt_authn = json!({
        "providers": {"staff": {"issuer": "https://staff.example/", "audiences": ["a"],
            "remote_jwks": {"http_uri": {"uri": "https://idp.example/jwks", "cluster": "idp", "timeout": "5s"}}}},
        "requirement_map": {"staff": {"provider_name": "staff"}},
        "rules": [{"match": {"prefix": "/"}}]
    });
    let hosts = json!([{"name": "api", "domains": ["*"], "routes": [
        {"match": {"prefix": "/"}, "route": {"weighted_clusters": {"clusters": [
            {"name": "app", "weight": 1, "typed_per_filter_config": pick("staff")}
        ]}}}
    ]}]);
    let mut bootstrap: Value = serde_json::from_str(&routed_jwt_authn(hosts, jwt_authn)).unwrap();
    let route_config =
        "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config";
    bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        ["route_config"]["typed_per_filter_config"] = pick("staff");
    let conversion = convert_one(&[("bootstrap.json".into(), bootstrap.to_string())]);
    let why = "a PerRouteConfig outside a route or virtual host is not carried: the requests it covers go through the rules (LETS MORE THROUGH)";
    let mut listed = notes(&conversion);
    listed.sort();
    assert_eq!(
        listed,
        [
            format!("{route_config}.typed_per_filter_config.jwt: {why}"),
            format!(
                "{route_config}.virtual_hosts[0].routes[0].route.weighted_clusters.clusters[0].typed_per_filter_config.jwt: {why}"
            ),
        ]
    );
}

#[test]
fn filter_state_rules_keep_jwt_authn_s_meaning() {
    let provider = json!({
        "issuer": "https://partners.example/", "audiences": ["a"],
        "remote_jwks": {"http_uri": {"uri": "https://idp.example/jwks", "cluster": "idp", "timeout": "5s"}}
    });
    let by_state = json!({
        "providers": {"partners.example": provider},
        "filter_state_rules": {"name": "tier", "requires": {"gold": {"provider_name": "partners.example"}, "free": {}}}
    });
    let conversion = convert_one(&[("s.json".into(), by_state.to_string())]);
    assert_eq!(
        conversion.config["filter_state_rules"],
        json!({"name": "tier", "requires": {"gold": {"provider_name": "partners-example"}, "free": {"allow_missing_or_failed": {}}}}),
        "providers renamed as everywhere; an empty requirement verifies nothing"
    );
    assert_eq!(
        conversion.config["rules"],
        json!([{"match": {"prefix": "/", "headers": [{"name": ":method", "present_match": true, "invert_match": true}]}}]),
        "no catch-all before the filter state is read; a rule that matches nothing, as jwt-authz needs one"
    );
    assert_eq!(
        notes(&conversion)[1..],
        [
            "filter_state_rules: a request that no rule matches and whose filter state names no requirement is refused here; jwt_authn lets it through unverified (refuses more)"
        ]
    );
    let unknown = json!({"providers": {"p": provider}, "filter_state_rules": {"name": "tier", "requires": {"gold": {"provider_name": "q"}}}});
    assert_eq!(
        convert::convert(&[("u.json".into(), unknown.to_string())]).unwrap_err(),
        "filter_state_rules.requires.gold: no provider is called \"q\""
    );
}

#[test]
fn a_rule_the_filter_refuses_is_left_out_and_a_broken_original_is_an_error() {
    let provider = json!({
        "issuer": "https://idp.example.com/", "audiences": ["a"],
        "remote_jwks": {"http_uri": {"uri": "https://idp.example.com/jwks", "cluster": "idp", "timeout": "5s"}}
    });
    let config = json!({
        "providers": {"idp": provider},
        "rules": [
            {"match": {"safe_regex": {"regex": "/\\p{Greek}+"}}, "requires": {"provider_name": "idp"}},
            {"match": {"prefix": "/open", "headers": [{"name": "x-a", "string_match": {"suffix": "z"}}]}},
            {"match": {"prefix": "/"}, "requires": {"provider_name": "idp"}}
        ]
    });
    let conversion = convert_one(&[("c.json".into(), config.to_string())]);
    assert_eq!(
        conversion.config["rules"],
        json!([{"match": {"prefix": "/"}, "requires": {"provider_name": "idp"}}])
    );
    let listed = notes(&conversion);
    assert_eq!(listed.len(), 2, "{listed:#?}");
    assert!(
        listed[0].starts_with("rules[0]: refused by the filter (rules[0].match.safe_regex.regex: ")
            && listed[0].ends_with("): the rule is left out (LETS MORE THROUGH)"),
        "{}",
        listed[0]
    );
    assert_eq!(
        listed[1],
        "rules[1].match: header x-a: only exact and prefix string matches are carried: the rule is left out, so its requests go to the next rule that matches (refuses more)"
    );
    assert_eq!(conversion.not_carried[0].effect, Effect::LetsMoreThrough);

    let mut with_headers = provider.clone();
    with_headers["claim_to_headers"] = json!([
        {"header_name": "x_user", "claim_name": "sub"},
        {"header_name": "x-user-id", "claim_name": "sub"},
        {"header_name": "Authorization", "claim_name": "sub"}
    ]);
    with_headers["forward_payload_header"] = json!("x_payload");
    let headers =
        json!({"providers": {"idp": with_headers}, "rules": [{"match": {"prefix": "/"}}]});
    let conversion = convert_one(&[("h.json".into(), headers.to_string())]);
    assert_eq!(
        conversion.config["providers"]["idp"]["claim_to_headers"],
        json!([{"header_name": "x-user-id", "claim_name": "sub"}])
    );
    assert!(
        conversion.config["providers"]["idp"]
            .get("forward_payload_header")
            .is_none()
    );
    assert_eq!(
        notes(&conversion),
        [
            "providers.idp: header \"x_user\" has an underscore: name identity headers with dashes (upstreams read _ and - alike): left out, so the upstream does not get x_user (no decision changes)",
            "providers.idp: header \"authorization\" cannot carry identity: the filter or Envoy owns it: left out, so the upstream does not get authorization (no decision changes)",
            "providers.idp: header \"x_payload\" has an underscore: name identity headers with dashes (upstreams read _ and - alike): left out, so the upstream does not get x_payload (no decision changes)",
        ],
        "identity headers the filter refuses are left out one by one, not the configuration"
    );

    let mut future = provider.clone();
    future["token_binding_policy"] = json!("strict");
    let future =
        json!({"providers": {"idp": future}, "rules": [{"match": {"prefix": "/"}, "tenant": "a"}]});
    assert_eq!(
        notes(&convert_one(&[("f.json".into(), future.to_string())])),
        [
            "providers.idp.token_binding_policy: a field the converter does not know: it may have refused tokens (LETS MORE THROUGH)",
            "rules[0].tenant: a field the converter does not know: it may have refused tokens (LETS MORE THROUGH)",
        ],
        "what the converter does not know is taken to have refused something"
    );

    let unknown = json!({"providers": {"idp": provider}, "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "other"}}]});
    assert_eq!(
        convert::convert(&[("u.json".into(), unknown.to_string())]).unwrap_err(),
        "rules[0].requires: no provider is called \"other\""
    );
    let mut deep = json!({"provider_name": "idp"});
    for _ in 0..20 {
        deep = json!({"requires_any": {"requirements": [deep]}});
    }
    let nested = json!({"providers": {"idp": provider}, "rules": [{"match": {"prefix": "/"}, "requires": deep}]});
    let error = convert::convert(&[("n.json".into(), nested.to_string())]).unwrap_err();
    assert!(
        error.ends_with(": requirements nest more than 8 deep"),
        "{error}"
    );
    assert_eq!(
        convert::convert(&[("e.yaml".into(), "static_resources: {}\n".into())]).unwrap_err(),
        "no jwt_authn configuration (type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication), RequestAuthentication or AuthorizationPolicy found"
    );
    assert_eq!(
        convert::convert(&[(
            "d.json".into(),
            r#"{"providers": {}, "providers": {}}"#.into()
        )])
        .unwrap_err(),
        "d.json: not valid JSON: duplicate member name at line 1 column 29"
    );
}

#[test]
fn istio_request_authentication_and_allow_policies_become_providers_and_rules() {
    let conversion = convert_one(&[fixture("istio.yaml")]);
    let config = &conversion.config;
    assert_eq!(
        config["providers"],
        json!({
            "idp-example-com": {
                "issuer": "https://idp.example.com/",
                "audiences": ["https://api.example.com"],
                "remote_jwks": {
                    "http_uri": {"uri": "https://idp.example.com/.well-known/jwks.json", "cluster": "outbound|443||idp.example.com"},
                    "cache_duration": "1200s"
                },
                "forward": false,
                "claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"}]
            },
            "partners-example-org": {
                "issuer": "https://partners.example.org",
                "audiences": ["https://api.example.com", "https://partners-api.example.com"],
                "oidc_discovery": {"cluster": "outbound|443||partners.example.org"},
                "from_headers": [{"name": "x-partner-token"}],
                "from_params": ["partner_token"],
                "from_cookies": ["partner_session"],
                "forward": true,
                "forward_payload_header": "x-partner-payload"
            }
        })
    );
    let any = json!({"requires_any": {"requirements": [
        {"provider_name": "idp-example-com"}, {"provider_name": "partners-example-org"}]}});
    assert_eq!(
        config["rules"],
        json!([
            {"match": {"path": "/healthz", "methods": ["GET"]}, "requires": {"allow_missing": {}}},
            {"match": {"safe_regex": {"regex": ".*\\.csv"}}, "requires": any, "required_scopes_any": ["reports:read"]},
            {"match": {"prefix": "/partners/"}, "requires": {"provider_name": "partners-example-org"},
             "required_claims": [{"name": "sub", "one_of": ["acme-integration"]}]},
            {"match": {"prefix": "/catalog/", "methods": ["GET"]}, "requires": {"allow_missing": {}}},
            {"match": {"prefix": "/orders/", "methods": ["GET"]}, "requires": {"provider_name": "idp-example-com"}},
            {"match": {"prefix": "/admin/"},
             "requires": {"requires_any": {"requirements": [
                 {"provider_and_audiences": {"provider_name": "idp-example-com", "audiences": ["https://api.example.com"]}},
                 {"provider_and_audiences": {"provider_name": "partners-example-org", "audiences": ["https://api.example.com"]}}]}},
             "required_claims": [{"name": "role", "one_of": ["admin", "owner"]}]}
        ]),
        "no catch-all: with ALLOW policies, what no rule allows is refused"
    );
    let notes = notes(&conversion);
    let has = |text: &str| {
        assert!(
            notes.iter().any(|n| n == text),
            "{text}\nnot among:\n{}",
            notes.join("\n")
        )
    };
    assert!(
        !notes.iter().any(|n| n.contains("fromCookies")),
        "{notes:?}"
    );
    has(
        "AuthorizationPolicy shop/shop-allow: spec.rules[5]: from.source.ipBlocks: only requestPrincipals is converted: the rule is left out, so what only it allowed is refused (refuses more)",
    );
    has(
        "AuthorizationPolicy shop/shop-allow: spec.rules[6]: path \"/files/{**}\": path templates are not converted: the rule is left out, so what only it allowed is refused (refuses more)",
    );
    has(
        "AuthorizationPolicy shop/shop-deny-debug: spec.action: only ALLOW policies are converted: this DENY policy is left out (LETS MORE THROUGH)",
    );
    has(
        "AuthorizationPolicy shop/shop-allow: spec.rules[0]: a request it matches may match AuthorizationPolicy shop/shop-allow: spec.rules[4] too, which jwt-authz tries first; Istio allows when either rule does, jwt-authz decides by the first (refuses more)",
    );
    assert_eq!(notes.len(), 13, "{}", notes.join("\n"));
    let letting_more: Vec<&str> = conversion
        .not_carried
        .iter()
        .filter(|n| n.effect == Effect::LetsMoreThrough)
        .map(|n| n.at.as_str())
        .collect();
    assert_eq!(
        letting_more,
        [
            "AuthorizationPolicy shop/shop-allow: spec.rules[4]: when request.auth.claims[scope]",
            "AuthorizationPolicy shop/shop-deny-debug: spec.action"
        ]
    );
}

#[test]
fn a_request_authentication_alone_makes_the_token_optional_but_checked() {
    let conversion = convert_one(&[fixture("istio-list.yaml")]);
    assert_eq!(
        conversion.config["rules"],
        json!([{"match": {"prefix": "/"}, "requires": {"allow_missing": {}}}])
    );
    assert!(
        conversion.config["providers"]["login-example-com"]["local_jwks"]["inline_string"]
            .as_str()
            .unwrap()
            .contains("\"kid\":\"k1\"")
    );
    assert_eq!(conversion.not_carried.len(), 1);
    assert_eq!(conversion.not_carried[0].effect, Effect::RefusesMore);
}

#[test]
fn policies_in_other_files_than_their_request_authentication_are_read_together() {
    let (name, text) = fixture("istio.yaml");
    let documents: Vec<&str> = text.split("\n---\n").collect();
    let apart = [
        (format!("{name} (authn)"), documents[0].to_string()),
        (format!("{name} (policies)"), documents[1..].join("\n---\n")),
    ];
    let together = convert_one(&[(name, text.clone())]);
    assert_eq!(convert_one(&apart).config, together.config);
    let no_authn = convert::convert(&apart[1..]).unwrap_err();
    assert_eq!(
        no_authn,
        "no RequestAuthentication with jwtRules: the policies have no token to check"
    );
}

fn jwt_authz(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwt-authz"))
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jwt-authz runs");
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[test]
fn the_command_writes_json_that_check_passes_and_its_exit_status_says_what_was_lost() {
    let jwt_authn = format!("{FIXTURES}/jwt_authn.json");
    let output = jwt_authz(&["convert", &jwt_authn], None);
    assert_eq!(output.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(json["rules"].as_array().map(Vec::len), Some(12));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.ends_with(
            "1 configuration(s) converted: 3 item(s) not carried, 0 of them let more through\n"
        ),
        "{stderr}"
    );
    assert!(stderr.starts_with(&format!(
        "{jwt_authn}: not carried:\n  providers.partners.example.org: renamed"
    )));

    let strict = jwt_authz(&["convert", "--strict", &jwt_authn], None);
    assert_eq!(
        strict.status.code(),
        Some(1),
        "--strict: anything not carried fails"
    );
    assert_eq!(
        strict.stdout, output.stdout,
        "and the configuration is still written"
    );

    let dir = std::env::temp_dir().join(format!("jwt-authz-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let written = dir.join("converted.json");
    let bootstrap = format!("{FIXTURES}/bootstrap.yaml");
    let to_file = jwt_authz(
        &["convert", "-o", written.to_str().unwrap(), &bootstrap],
        None,
    );
    assert_eq!(
        to_file.status.code(),
        Some(1),
        "something lets more through"
    );
    assert!(to_file.stdout.is_empty());
    assert!(String::from_utf8_lossy(&to_file.stderr).ends_with(", 1 of them let more through\n"));
    let check = jwt_authz(&["check", "--strict", written.to_str().unwrap()], None);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);

    let (_, istio) = fixture("istio-list.yaml");
    let from_stdin = jwt_authz(&["convert", "-"], Some(&istio));
    assert_eq!(from_stdin.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&from_stdin.stderr)
            .starts_with("(stdin): items[0]: not carried:\n")
    );

    let nothing = jwt_authz(&["convert", "envoy/envoy.yaml"], None);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(nothing.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&nothing.stderr),
        "jwt-authz convert: no jwt_authn configuration (type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication), RequestAuthentication or AuthorizationPolicy found\n"
    );
    assert_eq!(jwt_authz(&["convert"], None).status.code(), Some(2));
}

#[test]
fn several_configurations_are_written_as_a_stream_check_reads() {
    let (name, text) = fixture("jwt_authn.json");
    let original: Value = serde_json::from_str(&text).unwrap();
    let two = format!(
        "static_resources:\n  listeners:\n  - {{filters: [{{typed_config: {original}}}]}}\n  - {{filters: [{{\"envoy.filters.http.jwt_authn\": {original}}}]}}\n"
    );
    let conversions = convert::convert(&[(name, two)]).unwrap();
    assert_eq!(conversions.len(), 2, "under a key with dots too");
    assert!(
        conversions[1]
            .origin
            .ends_with(": static_resources.listeners[1].filters[0].envoy.filters.http.jwt_authn")
    );
    let stream = convert::output(&conversions);
    assert!(stream.starts_with("# converted from cli/tests/fixtures/convert/jwt_authn.json: static_resources.listeners[0].filters[0].typed_config\n{\n"));
    assert_eq!(stream.matches("\n---\n").count(), 1);
    let report = jwt_authz_cli::check::check(&[("stream".into(), stream)]);
    assert!(report.ok && report.configurations == 2, "{}", report.text);
}

/// The first fenced block of `lang` after `from` in `text`.
fn block_after<'t>(text: &'t str, from: usize, lang: &str) -> (&'t str, usize) {
    let open = format!("```{lang}\n");
    let start = from + text[from..].find(&open).expect("block") + open.len();
    let end = start + text[start..].find("\n```").expect("closed");
    (&text[start..=end], end)
}

#[test]
fn the_book_s_example_is_what_convert_writes_and_lists() {
    let book = std::fs::read_to_string(workspace_root().join("docs/src/cli.md")).unwrap();
    let section = book
        .find("## `jwt-authz convert`")
        .expect("the convert section");
    let (input, end) = block_after(&book, section, "yaml");
    let (json, end) = block_after(&book, end, "json");
    let (listed, _) = block_after(&book, end, "text");
    let conversions =
        convert::convert(&[("bootstrap.yaml".into(), input.to_string())]).expect("converts");
    assert_eq!(
        conversions[0].config,
        serde_json::from_str::<Value>(json).expect("JSON"),
        "the book shows another configuration than convert writes"
    );
    assert_eq!(
        convert::output(&conversions),
        json,
        "written as the book shows it"
    );
    assert_eq!(convert::report(&conversions), listed);
}
