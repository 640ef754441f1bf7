//! The demo, end to end: `envoy/envoy.yaml` exactly as `make demo` runs it (ports swapped for
//! free ones), driven the way the printed curl commands drive it.

use devstack::{
    EnvoyOptions, Stack, StackPorts, demo_envoy_config, http, validate, workspace_root,
};
use serde_json::json;
use std::net::SocketAddr;

fn client_token(idp: SocketAddr, client_id: &str, secret: &str) -> String {
    let body = json!({
        "client_id": client_id,
        "client_secret": secret,
        "audience": "https://api.example.com",
        "grant_type": "client_credentials"
    })
    .to_string();
    let response = http::request(
        idp,
        "POST",
        "/oauth/token",
        &[("content-type", "application/json")],
        Some(body.as_bytes()),
    )
    .expect("token endpoint answers");
    assert_eq!(response.status, 200, "{}", response.text());
    let json = response.json().expect("JSON token response");
    assert_eq!(json["token_type"], "Bearer");
    json["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

#[test]
fn demo_configuration_behaves_as_the_printed_commands_say() {
    let ports = StackPorts::free().expect("free ports");
    let yaml = demo_envoy_config(&ports).expect("demo config");
    let stack = Stack::start(ports, &yaml, &EnvoyOptions::default()).expect("stack starts");
    let idp = stack.idp.addr();
    let envoy = stack.envoy_addr();
    let token = client_token(idp, "demo-client", "demo-secret");
    let limited = client_token(idp, "limited-client", "limited-secret");
    let get = |path: &str, token: Option<&str>| {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect();
        http::get(envoy, path, &headers).expect("Envoy answers")
    };

    assert_eq!(get("/api/public", None).status, 200);
    assert_eq!(get("/healthz", None).status, 200);
    let missing = get("/api/private", None);
    assert_eq!(
        (missing.status, missing.header("www-authenticate")),
        (401, Some("Bearer realm=\"api\""))
    );
    assert_eq!(get("/api/private", Some(&token)).status, 200);
    let forbidden = get("/api/messages", Some(&limited));
    assert_eq!(forbidden.status, 403);
    assert_eq!(
        forbidden.header("www-authenticate"),
        Some(
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt lacks required scope: read:messages\", scope=\"read:messages\""
        )
    );
    let allowed = get("/api/messages", Some(&token));
    assert_eq!(allowed.status, 200);
    let echoed = allowed.json().expect("echo answers JSON");
    assert_eq!(echoed["path"], "/api/messages");
    assert!(
        echoed["headers"].get("authorization").is_none(),
        "the token is not forwarded"
    );
    assert_eq!(echoed["headers"]["x-user-id"], "demo-client@clients");
    assert_eq!(
        echoed["headers"]["x-scopes"],
        "read:messages write:messages"
    );

    let spoofed = http::get(
        envoy,
        "/api/private",
        &[
            ("authorization", &format!("Bearer {token}")),
            ("x-user-id", "admin"),
        ],
    )
    .expect("Envoy answers");
    let echoed = spoofed.json().expect("echo answers JSON");
    assert_eq!(
        echoed["headers"]["x-user-id"], "demo-client@clients",
        "the client's copy is dropped"
    );
    let public = http::get(envoy, "/api/public", &[("x-user-id", "admin")]).expect("Envoy answers");
    let echoed = public.json().expect("echo answers JSON");
    assert!(
        echoed["headers"].get("x-user-id").is_none(),
        "dropped on public routes too"
    );

    let preflight = http::request(
        envoy,
        "OPTIONS",
        "/api/private",
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "GET"),
        ],
        None,
    )
    .expect("Envoy answers");
    assert_eq!(
        preflight.status, 200,
        "CORS preflights pass without a token"
    );

    // Counters reach Envoy once per tick (500 ms).
    let scope_denial = "jwt_authz_provider_denied{provider=\"devidp\",reason=\"scope\"} 1";
    let counted = || {
        stack
            .envoy
            .admin_get("/stats/prometheus")
            .is_ok_and(|r| r.text().lines().any(|l| l == scope_denial))
    };
    let waited = std::time::Instant::now();
    while !counted() && waited.elapsed() < std::time::Duration::from_secs(3) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(counted(), "{scope_denial} not in /stats/prometheus");

    let wrong_secret = http::request(idp, "POST", "/oauth/token", &[("content-type", "application/x-www-form-urlencoded")], Some(b"grant_type=client_credentials&client_id=demo-client&client_secret=nope&audience=https%3A%2F%2Fapi.example.com"))
        .expect("token endpoint answers");
    assert_eq!(wrong_secret.status, 401);
    assert_eq!(
        wrong_secret.json().expect("JSON")["error"],
        "invalid_client"
    );
}

#[test]
fn shipped_envoy_configurations_pass_envoy_validate() {
    for file in ["envoy/envoy.yaml", "envoy/auth0.yaml"] {
        let yaml = std::fs::read_to_string(workspace_root().join(file)).expect("config file");
        if let Err(output) = validate(&yaml) {
            panic!("{file} does not validate:\n{output}");
        }
    }
}

#[test]
fn envoy_validate_runs_the_filter_configuration_check() {
    let yaml =
        std::fs::read_to_string(workspace_root().join("envoy/auth0.yaml")).expect("config file");
    let broken = yaml.replace(
        "\"cache_duration\": \"600s\"",
        "\"cache_duration\": \"ten minutes\"",
    );
    assert_ne!(yaml, broken);
    assert!(
        validate(&broken).is_err(),
        "a bad filter configuration fails validation"
    );
}
