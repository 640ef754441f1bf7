//! End to end through a real Envoy: identity for what comes after the filter (`filter_state`,
//! jwt_authn's `payload_in_metadata` and `failed_status_in_metadata`). The filter leaves a
//! verified request's provider, `sub`, scopes and a configured claim, and a refused request's
//! status and reason, in the request's filter state; three readers behind it prove each way
//! of reading them, with the syntax the book gives:
//! - the access log: `%FILTER_STATE(wasm.jwt_authz.sub:PLAIN)%`;
//! - RBAC: a `filter_state` principal and a CEL `condition` on `filter_state[...]`;
//! - Lua: `handle:streamInfo():filterState():get("wasm.jwt_authz.sub")`.
//!
//! A space-delimited claim named in `normalize_payload_in_metadata` is logged as a list.

mod support;

use devidp::Idp;
use devstack::{Echo, Envoy, EnvoyOptions, bootstrap, free_port, http};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use support::*;

const ACCESS_LOG: &str = "ACCESS %RESPONSE_CODE% %REQ(:PATH)% \
provider=%FILTER_STATE(wasm.jwt_authz.provider:PLAIN)% \
sub=%FILTER_STATE(wasm.jwt_authz.sub:PLAIN)% \
scopes=%FILTER_STATE(wasm.jwt_authz.scopes:PLAIN)% \
tier=%FILTER_STATE(wasm.jwt_authz.claims.tier:PLAIN)% \
roles=%FILTER_STATE(wasm.jwt_authz.claims.roles:PLAIN)% \
status=%FILTER_STATE(wasm.jwt_authz.status:PLAIN)% \
reason=%FILTER_STATE(wasm.jwt_authz.reason:PLAIN)%\n";

/// Copies what Lua reads into request headers, so the upstream shows it.
const LUA: &str = r#"
function envoy_on_request(handle)
  local state = handle:streamInfo():filterState()
  for _, name in ipairs({"provider", "sub", "scopes", "claims.tier"}) do
    local value = state:get("wasm.jwt_authz." .. name)
    if value ~= nil then
      handle:headers():replace("x-lua-" .. string.gsub(name, "claims.", ""), tostring(value))
    end
  end
end
"#;

/// `/gold` only for the `gold` tier, by a CEL condition; `/admin` only for the subject
/// `admin-user`, by a `filter_state` principal; anything else passes RBAC.
fn rbac() -> Value {
    // filter_state['wasm.jwt_authz.claims.tier'] == b'gold' (the value is bytes to CEL; its
    // `string()` has no overload for bytes in Envoy's CEL). Protobuf JSON writes bytes in
    // base64: "Z29sZA==" is "gold".
    let tier_is_gold = json!({"call_expr": {"function": "_==_", "args": [
        {"call_expr": {"function": "_[_]", "args": [
            {"ident_expr": {"name": "filter_state"}},
            {"const_expr": {"string_value": "wasm.jwt_authz.claims.tier"}}
        ]}},
        {"const_expr": {"bytes_value": "Z29sZA=="}}
    ]}});
    let prefix = |p: &str| json!({"url_path": {"path": {"prefix": p}}});
    json!({
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {"action": "ALLOW", "policies": {
                "gold-tier": {
                    "permissions": [prefix("/gold")],
                    "principals": [{"any": true}],
                    "condition": tier_is_gold
                },
                "admin-subject": {
                    "permissions": [prefix("/admin")],
                    "principals": [{"filter_state": {
                        "key": "wasm.jwt_authz.sub",
                        "string_match": {"exact": "admin-user"}
                    }}]
                },
                "everything-else": {
                    "permissions": [{"not_rule": {"or_rules": {"rules": [prefix("/gold"), prefix("/admin")]}}}],
                    "principals": [{"any": true}]
                }
            }}
        }
    })
}

fn filter(idp: &Idp) -> Value {
    let mut config = filter_config(idp);
    let rules = config["rules"].as_array_mut().unwrap();
    for prefix in ["/gold", "/admin"] {
        rules.push(json!({"match": {"prefix": prefix}, "requires": {"provider_name": "idp"}}));
    }
    config["filter_state"] = json!({
        "identity": true,
        "failure": true,
        "claims": [
            {"name": "tier", "claim_name": "tier"},
            {"name": "roles", "claim_name": "roles"}
        ],
        "normalize_payload_in_metadata": {"space_delimited_claims": ["roles"]}
    });
    config
}

/// jwt-authz in front of the echo upstream with an access log on stdout (Envoy's log here),
/// and Lua and RBAC between jwt-authz and the router.
fn bootstrap_with_readers(
    listener: u16,
    admin: u16,
    upstream: SocketAddr,
    idp: &Idp,
    filter: &Value,
) -> String {
    let access_log = json!([{
        "name": "envoy.access_loggers.stdout",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {"text_format_source": {"inline_string": ACCESS_LOG}}
        }
    }]);
    let lua = json!({
        "name": "envoy.filters.http.lua",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": LUA}
        }
    });
    let routes = json!({"virtual_hosts": [{"name": "api", "domains": ["*"],
        "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]}]});
    bootstrap::routed(
        listener,
        admin,
        &routes,
        &[bootstrap::jwt_authz_filter(filter), lua, rbac()],
        &[("upstream", upstream), ("idp", idp.addr())],
        Some(&access_log),
    )
}

struct Stack {
    idp: Idp,
    echo: Echo,
    envoy: Envoy,
    listener: SocketAddr,
}

impl Stack {
    fn start() -> Stack {
        let idp = start_idp();
        let echo = Echo::start("127.0.0.1:0").unwrap();
        let (listener, admin) = (free_port().unwrap(), free_port().unwrap());
        let yaml = bootstrap_with_readers(listener, admin, echo.addr(), &idp, &filter(&idp));
        let envoy = Envoy::start_with(&yaml, admin, &EnvoyOptions::default()).unwrap();
        let listener = SocketAddr::from(([127, 0, 0, 1], listener));
        Stack {
            idp,
            echo,
            envoy,
            listener,
        }
    }

    fn token(&self, sub: &str, tier: Option<&str>) -> String {
        let mut claims = self
            .idp
            .claims_for("test-client", AUDIENCE, &["read:messages"]);
        claims["sub"] = json!(sub);
        claims["roles"] = json!("editor  viewer");
        if let Some(tier) = tier {
            claims["tier"] = json!(tier);
        }
        self.idp.mint(&claims)
    }

    fn get(&self, path: &str, token: Option<&str>) -> http::Response {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| vec![("authorization", b)])
            .unwrap_or_default();
        http::get(self.listener, path, &headers).unwrap()
    }

    /// The access log line of the request to `path`, waiting for Envoy to flush it.
    fn access_log_line(&self, path: &str) -> String {
        let find = || {
            self.envoy
                .log()
                .lines()
                .find(|l| l.starts_with("ACCESS ") && l.split(' ').nth(2) == Some(path))
                .map(str::to_string)
        };
        assert!(
            eventually(Duration::from_secs(10), || find().is_some()),
            "no access log line for {path}:\n{}",
            self.envoy.log()
        );
        find().unwrap_or_default()
    }
}

#[test]
fn access_log_rbac_and_lua_read_the_identity_and_the_refusal() {
    let stack = Stack::start();
    let gold = stack.token("auth0|gold-user", Some("gold"));
    let silver = stack.token("auth0|silver-user", Some("silver"));

    // Lua reads every value and hands it on; the upstream shows what it read.
    let response = stack.get("/api/orders", Some(&gold));
    assert_eq!(response.status, 200, "{}", response.text());
    let seen = stack.echo.requests();
    let lua: Vec<(String, String)> = headers_among(
        &seen[0],
        &["x-lua-provider", "x-lua-sub", "x-lua-scopes", "x-lua-tier"],
    );
    assert_eq!(
        lua,
        pairs(&[
            ("x-lua-provider", "idp"),
            ("x-lua-scopes", "read:messages"),
            ("x-lua-sub", "auth0|gold-user"),
            ("x-lua-tier", "gold"),
        ])
    );

    // RBAC: the CEL condition on the tier claim.
    let response = stack.get("/gold/report", Some(&gold));
    assert_eq!(response.status, 200, "gold tier: {}", response.text());
    let response = stack.get("/gold/report", Some(&silver));
    assert_eq!(response.status, 403, "silver tier: {}", response.text());
    assert_eq!(response.text(), "RBAC: access denied");
    // RBAC: the filter_state principal on sub.
    let admin = stack.token("admin-user", None);
    assert_eq!(stack.get("/admin/users", Some(&admin)).status, 200);
    let response = stack.get("/admin/settings", Some(&silver));
    assert_eq!(response.status, 403);
    assert_eq!(response.text(), "RBAC: access denied");

    // A refusal: jwt-authz answers, RBAC and Lua never run, the log has its reason.
    let expired = {
        let mut claims = stack.idp.claims_for("test-client", AUDIENCE, &[]);
        claims["exp"] = json!(now() - 3600);
        claims["sub"] = json!("auth0|late");
        stack.idp.mint(&claims)
    };
    let response = stack.get("/api/late", Some(&expired));
    assert_eq!(response.status, 401);
    assert_eq!(stack.get("/api/anonymous", None).status, 401);

    // The access log: the caller's sub on a 200, the reason on a 401, and never a token.
    assert_eq!(
        stack.access_log_line("/api/orders"),
        "ACCESS 200 /api/orders provider=idp sub=auth0|gold-user scopes=read:messages \
         tier=gold roles=editor,viewer status=- reason=-"
    );
    assert_eq!(
        stack.access_log_line("/gold/report"),
        "ACCESS 200 /gold/report provider=idp sub=auth0|gold-user scopes=read:messages \
         tier=gold roles=editor,viewer status=- reason=-"
    );
    assert_eq!(
        stack.access_log_line("/api/late"),
        "ACCESS 401 /api/late provider=- sub=- scopes=- tier=- roles=- status=401 reason=expired"
    );
    assert_eq!(
        stack.access_log_line("/api/anonymous"),
        "ACCESS 401 /api/anonymous provider=- sub=- scopes=- tier=- roles=- status=401 reason=missing"
    );
    let log = stack.envoy.log();
    for token in [&gold, &silver, &admin, &expired] {
        let signature = token.rsplit('.').next().unwrap_or_default();
        assert!(!log.contains(signature), "a token reached Envoy's log");
    }
}

#[test]
fn nothing_is_written_when_not_asked() {
    let idp = start_idp();
    let echo = Echo::start("127.0.0.1:0").unwrap();
    let (listener, admin) = (free_port().unwrap(), free_port().unwrap());
    let mut config = filter(&idp);
    config.as_object_mut().unwrap().remove("filter_state");
    let yaml = bootstrap_with_readers(listener, admin, echo.addr(), &idp, &config);
    let envoy = Envoy::start_with(&yaml, admin, &EnvoyOptions::default()).unwrap();
    let listener = SocketAddr::from(([127, 0, 0, 1], listener));
    let mut claims = idp.claims_for("test-client", AUDIENCE, &["read:messages"]);
    claims["tier"] = json!("gold");
    let token = format!("Bearer {}", idp.mint(&claims));
    let response = http::get(listener, "/api/orders", &[("authorization", &token)]).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        headers_among(&echo.requests()[0], &["x-lua-sub", "x-lua-tier"]),
        vec![]
    );
    // The CEL condition reads nothing: RBAC refuses the gold route.
    let response = http::get(listener, "/gold/report", &[("authorization", &token)]).unwrap();
    assert_eq!(response.status, 403);
    assert_eq!(http::get(listener, "/api/x", &[]).unwrap().status, 401);
    let found = eventually(Duration::from_secs(10), || {
        envoy
            .log()
            .lines()
            .any(|l| l.starts_with("ACCESS 401 /api/x"))
    });
    assert!(found, "{}", envoy.log());
    for line in envoy.log().lines().filter(|l| l.starts_with("ACCESS ")) {
        assert!(
            line.ends_with("provider=- sub=- scopes=- tier=- roles=- status=- reason=-"),
            "{line}"
        );
    }
}
