//! The demo, end to end: `envoy/envoy.yaml` exactly as `make demo` runs it (ports swapped for
//! free ones), driven the way the printed curl commands drive it, and then by those commands
//! themselves: the session `make demo` prints (which the book and the README show) and the
//! book's Auth0 session, run with curl step by step.

use devstack::demo_commands::{demo_session, first_status, run_session, sh};
use devstack::{
    EnvoyOptions, Stack, StackPorts, demo_envoy_config, http, validate, workspace_root,
};
use serde_json::json;
use std::net::SocketAddr;

fn client_token(idp: SocketAddr, client_id: &str, secret: &str) -> String {
    client_token_for(idp, client_id, secret, "https://api.example.com")
}

fn client_token_for(idp: SocketAddr, client_id: &str, secret: &str, audience: &str) -> String {
    let body = json!({
        "client_id": client_id,
        "client_secret": secret,
        "audience": audience,
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

    // The second API signs with ES256: its tokens pass its own route only, and the RS256
    // API's tokens do not pass it.
    let es256 = client_token_for(
        idp,
        "demo-client",
        "demo-secret",
        "https://es256.example.com",
    );
    let header = es256.split('.').next().expect("header");
    let header = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
            .expect("base64url"),
    )
    .expect("UTF-8");
    assert!(header.contains("\"alg\":\"ES256\""), "{header}");
    let es256_api = get("/es256/messages", Some(&es256));
    assert_eq!(es256_api.status, 200, "{}", es256_api.text());
    assert_eq!(
        es256_api.json().expect("echo answers JSON")["headers"]["x-user-id"],
        "demo-client@clients"
    );
    let reason = |response: &http::Response| {
        let header = response.header("www-authenticate").unwrap_or_default();
        header.contains("Jwt algorithm is not allowed")
    };
    let rs256_at_es256 = get("/es256/messages", Some(&token));
    assert_eq!(rs256_at_es256.status, 401);
    assert!(
        reason(&rs256_at_es256),
        "{:?}",
        rs256_at_es256.header("www-authenticate")
    );
    let es256_at_rs256 = get("/api/private", Some(&es256));
    assert_eq!(es256_at_rs256.status, 401);
    assert!(
        reason(&es256_at_rs256),
        "{:?}",
        es256_at_rs256.header("www-authenticate")
    );

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

/// The demo stack on free ports.
fn demo_stack() -> Stack {
    let ports = StackPorts::free().expect("free ports");
    let yaml = demo_envoy_config(&ports).expect("demo config");
    Stack::start(ports, &yaml, &EnvoyOptions::default()).expect("stack starts")
}

#[test]
fn the_printed_session_runs_as_it_says() {
    let stack = demo_stack();
    if let Err(e) = run_session(&demo_session(&stack.ports)) {
        panic!("{e}");
    }
}

#[test]
fn the_books_auth0_session_runs_against_the_dev_idp() {
    let page = "docs/src/getting-started/auth0.md";
    let text = std::fs::read_to_string(workspace_root().join(page)).expect(page);
    let session: String = text
        .lines()
        .skip_while(|l| l.trim() != "```sh session=auth0")
        .skip(1)
        .take_while(|l| l.trim() != "```")
        .map(|l| format!("{l}\n"))
        .collect();
    let stack = demo_stack();
    let idp = format!("http://{}", stack.idp.addr());
    let envoy = format!("http://{}", stack.envoy_addr());
    // What a reader puts in: the tenant's address, the client's id and secret.
    let mut script = session.clone();
    for (placeholder, value) in [
        ("https://YOUR_TENANT.us.auth0.com", idp.as_str()),
        (
            r#""client_id":"…","client_secret":"…""#,
            r#""client_id":"demo-client","client_secret":"demo-secret""#,
        ),
        ("http://127.0.0.1:10000", envoy.as_str()),
    ] {
        assert!(
            script.contains(placeholder),
            "{page}: the session has no {placeholder:?}:\n{session}"
        );
        script = script.replace(placeholder, value);
    }
    let output =
        sh(&script, &[]).expect("sh runs (and the session needs curl: apt-get install curl)");
    assert_eq!(first_status(&output), Some(200), "{script}\n{output}");
}
