//! The compose demo, run for real as a user runs it: `docker compose -f
//! envoy/docker-compose.yaml up --build` (the file unchanged; where the Rust build image is
//! `make containers`' stand-in, beside it the override that builds without network), then
//! the session `make demo` prints through the published ports, the decisions and identity
//! headers, Envoy's readiness, counters and log, and last a quick `down` (every service exits
//! 0 on SIGTERM) leaving nothing behind.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use container_tests::{docker, is_stand_in, output_of, ready_or_skip, workspace_root};
use devstack::StackPorts;
use devstack::demo_commands::{demo_session, run_session};
use devstack::http;
use serde_json::{Value, json};

/// The `name:` of envoy/docker-compose.yaml.
const PROJECT: &str = "jwt-authz-demo";
/// What `down` may take: the services stop on SIGTERM at once.
const QUICK: Duration = Duration::from_secs(2);

/// The compose demo: `docker compose` on its file (and the override, where needed).
/// Dropping it takes the demo down, so that a failing test leaves nothing running.
struct Demo {
    files: Vec<PathBuf>,
}

impl Demo {
    fn new() -> Demo {
        let root = workspace_root();
        let mut files = vec![root.join("envoy/docker-compose.yaml")];
        if is_stand_in(&rust_build_image()) {
            files.push(root.join("containers/offline.compose.yaml"));
        }
        Demo { files }
    }

    fn compose(&self, args: &[&str]) -> Result<String, String> {
        let mut command = docker();
        command.arg("compose");
        for file in &self.files {
            command.arg("-f").arg(file);
        }
        command.args(args);
        output_of(&mut command, &format!("docker compose {}", args.join(" ")))
    }

    /// Runs `docker compose ARGS`, panicking with its output if it fails; how long it took.
    fn timed(&self, args: &[&str]) -> Duration {
        let started = Instant::now();
        if let Err(e) = self.compose(args) {
            panic!("{e}");
        }
        started.elapsed()
    }

    fn logs(&self, service: &str) -> String {
        self.compose(&["logs", "--no-color", service])
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.compose(&["down", "--remove-orphans", "--timeout", "1"]);
    }
}

/// The image demo.Dockerfile's build stage starts from.
fn rust_build_image() -> String {
    let path = workspace_root().join("envoy/demo.Dockerfile");
    let text = std::fs::read_to_string(&path).expect("envoy/demo.Dockerfile");
    text.lines()
        .find_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["FROM", image, "AS", "build"] => Some(image.to_string()),
                _ => None,
            },
        )
        .expect("demo.Dockerfile has a build stage")
}

fn wait_for(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < within, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn token(idp: SocketAddr, client_id: &str, secret: &str) -> String {
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "audience": devidp::DEFAULT_AUDIENCE,
    })
    .to_string();
    let response = http::request(
        idp,
        "POST",
        "/oauth/token",
        &[("content-type", "application/json")],
        Some(body.as_bytes()),
    )
    .expect("the IdP answers on its published port");
    assert_eq!(response.status, 200, "{}", response.text());
    let json = response.json().expect("a JSON token response");
    json["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// The token with one character of its signature changed.
fn tampered(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').expect("a JWT");
    let middle = signature.len() / 2;
    let swapped = if &signature[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    format!(
        "{signed}.{}{swapped}{}",
        &signature[..middle],
        &signature[middle + 1..]
    )
}

/// `docker compose ps --all --format json`: one object per line (or one array).
fn containers(demo: &Demo) -> Vec<Value> {
    let out = demo
        .compose(&["ps", "--all", "--format", "json"])
        .unwrap_or_else(|e| panic!("{e}"));
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .flat_map(|line| match serde_json::from_str(line) {
            Ok(Value::Array(items)) => items,
            Ok(item) => vec![item],
            Err(e) => panic!("compose ps: {e}: {line}"),
        })
        .collect()
}

/// What is left of the project: its containers, networks and volumes.
fn leftovers() -> String {
    let filter = format!("label=com.docker.compose.project={PROJECT}");
    let mut left = String::new();
    for kind in [
        &["ps", "--all", "--quiet"][..],
        &["network", "ls", "--quiet"],
        &["volume", "ls", "--quiet"],
    ] {
        let mut command = docker();
        command.args(kind).args(["--filter", &filter]);
        left.push_str(&output_of(&mut command, "docker").unwrap_or_else(|e| panic!("{e}")));
    }
    left
}

#[test]
fn the_compose_demo_comes_up_decides_and_goes_down_quickly() {
    if !ready_or_skip("the compose demo (containers/tests/compose.rs)", &["curl"]) {
        return;
    }
    let module = workspace_root().join("dist/jwt_authz.wasm");
    assert!(module.is_file(), "{}: run make build", module.display());
    let demo = Demo::new();
    // What an interrupted run may have left.
    demo.compose(&["down", "--remove-orphans", "--timeout", "1"])
        .unwrap_or_else(|e| panic!("{e}"));
    let ports = StackPorts::demo();
    for port in [ports.envoy, ports.admin, ports.idp] {
        assert!(
            TcpListener::bind(loopback(port)).is_ok(),
            "127.0.0.1:{port}, which the compose demo publishes, is taken (make demo running?)"
        );
    }

    let up = demo.timed(&["up", "--build", "--detach"]);
    let _ = writeln_terminal(&format!(
        "compose demo: up --build took {:.1} s ({} compose file(s))",
        up.as_secs_f64(),
        demo.files.len()
    ));
    let (envoy, admin, idp) = (
        loopback(ports.envoy),
        loopback(ports.admin),
        loopback(ports.idp),
    );
    wait_for("Envoy ready", Duration::from_secs(60), || {
        http::get(admin, "/ready", &[]).is_ok_and(|r| r.status == 200 && r.text().contains("LIVE"))
    });
    wait_for("the dev IdP answering", Duration::from_secs(30), || {
        http::get(idp, "/.well-known/openid-configuration", &[]).is_ok_and(|r| r.status == 200)
    });
    let log = demo.logs("envoy");
    assert!(
        log.contains("wasm log jwt_authz: jwt-authz ") && log.contains("provider(s): devidp"),
        "Envoy's log shows the module loaded with the demo's providers:\n{log}"
    );

    // The session `make demo` prints, through the published ports, as a user pastes it.
    if let Err(e) = run_session(&demo_session(&ports)) {
        panic!("the demo session in compose: {e}");
    }

    // The identity the upstream received, and what it did not.
    let demo_token = token(idp, "demo-client", "demo-secret");
    let bearer = format!("Bearer {demo_token}");
    let response = http::get(
        envoy,
        "/api/private",
        &[("authorization", &bearer), ("x-user-id", "admin")],
    )
    .expect("Envoy answers");
    assert_eq!(response.status, 200, "{}", response.text());
    let seen = response.json().expect("the echo's JSON");
    assert_eq!(
        seen["headers"]["x-user-id"], "demo-client@clients",
        "{seen}"
    );
    let scopes = seen["headers"]["x-scopes"].as_str().unwrap_or_default();
    assert!(scopes.contains("read:messages"), "{seen}");
    assert!(seen["headers"].get("authorization").is_none(), "{seen}");

    // A tampered token: 401, invalid_token.
    let bad = format!("Bearer {}", tampered(&demo_token));
    let response = http::get(envoy, "/api/private", &[("authorization", &bad)]).expect("Envoy");
    assert_eq!(response.status, 401, "{}", response.text());
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer realm=\"api\"")
            && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
    // Without a token: 401 with the bare challenge.
    let response = http::get(envoy, "/api/private", &[]).expect("Envoy");
    assert_eq!(response.status, 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"api\"")
    );

    // The decisions, counted.
    wait_for(
        "the signature refusal counted",
        Duration::from_secs(5),
        || {
            http::get(admin, "/stats/prometheus", &[]).is_ok_and(|r| {
                r.text().contains(
                    "jwt_authz_provider_denied{provider=\"devidp\",reason=\"signature\"} 1",
                )
            })
        },
    );
    let stats = http::get(admin, "/stats/prometheus", &[])
        .expect("admin")
        .text();
    for counter in [
        "jwt_authz_provider_denied{provider=\"devidp\",reason=\"scope\"} 2",
        "jwt_authz_provider_allowed{provider=\"devidp\"}",
        "jwt_authz_provider_allowed{provider=\"devidp-es256\"} 1",
    ] {
        assert!(stats.contains(counter), "{counter} not in\n{stats}");
    }

    // Down from running: every service ends on SIGTERM (exit 0), long before compose's 10 s
    // would kill it (137).
    let running: Vec<String> = containers(&demo)
        .iter()
        .filter(|c| c["State"] == "running")
        .map(|c| c["Service"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        running.len(),
        SERVICES.len(),
        "all running before down: {running:?}"
    );
    let since = unix_seconds();
    let down = demo.timed(&["down"]);
    let _ = writeln_terminal(&format!(
        "compose demo: down took {:.1} s",
        down.as_secs_f64()
    ));
    let mut exits = exit_codes(since);
    exits.sort();
    let expected: Vec<String> = SERVICES.iter().map(|s| format!("{s} 0")).collect();
    assert_eq!(exits, expected, "each service exited 0 on SIGTERM");
    assert!(down < QUICK, "down took {down:?}");
    assert_eq!(leftovers(), "", "no container, network or volume is left");
}

/// The demo's services, sorted.
const SERVICES: [&str; 4] = ["devidp", "echo", "envoy", "grpc"];

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `SERVICE EXIT_CODE` for each of the project's containers that died since `since`.
fn exit_codes(since: u64) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={PROJECT}");
    let (since, until) = (since.to_string(), (unix_seconds() + 1).to_string());
    let mut command = docker();
    command.args([
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "type=container",
        "--filter",
        "event=die",
        "--filter",
        &filter,
        "--format",
        "{{index .Actor.Attributes \"com.docker.compose.service\"}} {{.Actor.Attributes.exitCode}}",
    ]);
    output_of(&mut command, "docker events")
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .map(str::to_string)
        .collect()
}

/// One line straight to the terminal: libtest would hide a passing test's output.
fn writeln_terminal(line: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stderr(), "{line}")
}
