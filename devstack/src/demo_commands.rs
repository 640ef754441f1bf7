//! The copy-paste curl session `make demo` prints. The book's demo page and the README show
//! [`session_text`] for the demo ports (a test compares them), and [`run_session`] runs every
//! step with `sh` against a stack (`make demo`'s in `tests/e2e_demo.rs`, the compose demo's in
//! `containers/tests/compose.rs`) and checks the status and text each step announces.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use devidp::{DEFAULT_AUDIENCE, DEMO_ES256_AUDIENCE};

use crate::stack::StackPorts;
use crate::{TempDir, workspace_root};

/// One step of the session.
#[derive(Debug, Clone)]
pub struct Step {
    /// What the step shows, as the first comment line; the expected status is appended.
    pub title: &'static str,
    /// Further comment lines.
    pub detail: &'static [&'static str],
    /// The shell command.
    pub command: String,
    /// The HTTP status the command's `curl -i` prints, if it prints one.
    pub status: Option<u16>,
    /// Text the command's output holds when the stack behaves as the step says.
    pub shows: Option<&'static str>,
}

/// The steps that walk through the filter's behaviour on a running stack.
pub fn demo_session(ports: &StackPorts) -> Vec<Step> {
    let envoy = format!("http://127.0.0.1:{}", ports.envoy);
    let idp = format!("http://127.0.0.1:{}", ports.idp);
    let token_for = |client: &str, secret: &str, audience: &str| {
        token_request(&idp, client, secret, audience, "")
    };
    vec![
        Step {
            title: "Get a token for demo-client (scopes read:messages write:messages)",
            detail: &["for the API https://api.example.com, which signs its tokens with RS256"],
            command: format!(
                "TOKEN=$({})",
                token_for("demo-client", "demo-secret", DEFAULT_AUDIENCE)
            ),
            status: None,
            shows: None,
        },
        Step {
            title: "Public route, no token needed",
            detail: &[],
            command: format!("curl -i {envoy}/api/public"),
            status: Some(200),
            shows: None,
        },
        Step {
            title: "Protected route without a token",
            detail: &[],
            command: format!("curl -i {envoy}/api/private"),
            status: Some(401),
            shows: Some("Bearer realm=\"api\""),
        },
        Step {
            title: "Protected route with the token",
            detail: &[
                "The echo shows what reached the service: no token, but x-user-id and x-scopes",
                "from the verified claims (the x-user-id the client sent is dropped)",
            ],
            command: format!(
                "curl -i {envoy}/api/private -H \"authorization: Bearer $TOKEN\" -H \"x-user-id: admin\""
            ),
            status: Some(200),
            shows: Some("\"x-user-id\":\"demo-client@clients\""),
        },
        Step {
            title: "A token for limited-client (scope read:profile only)",
            detail: &[],
            command: format!(
                "LIMITED=$({})",
                token_for("limited-client", "limited-secret", DEFAULT_AUDIENCE)
            ),
            status: None,
            shows: None,
        },
        Step {
            title: "/api/messages needs scope read:messages, which limited-client lacks",
            detail: &[],
            command: format!("curl -i {envoy}/api/messages -H \"authorization: Bearer $LIMITED\""),
            status: Some(403),
            shows: Some("Jwt lacks required scope: read:messages"),
        },
        Step {
            title: "... and demo-client has",
            detail: &[],
            command: format!("curl -i {envoy}/api/messages -H \"authorization: Bearer $TOKEN\""),
            status: Some(200),
            shows: None,
        },
        Step {
            title: "A gRPC call (demo.echo.v1.Echo/Say over HTTP/2) without a token",
            detail: &[
                "gRPC clients read grpc-status (16: UNAUTHENTICATED) and grpc-message, not the",
                "HTTP status: curl shows them among the headers",
            ],
            command: format!(
                "curl -si --http2-prior-knowledge {envoy}/demo.echo.v1.Echo/Say -H 'content-type: application/grpc' -H 'te: trailers' --data-binary ''"
            ),
            status: None,
            shows: Some("grpc-message: Jwt is missing"),
        },
        Step {
            title: "The same call with limited-client's token (no read:messages)",
            detail: &["grpc-status 7: PERMISSION_DENIED"],
            command: format!(
                "curl -si --http2-prior-knowledge {envoy}/demo.echo.v1.Echo/Say -H 'content-type: application/grpc' -H 'te: trailers' -H \"authorization: Bearer $LIMITED\" --data-binary ''"
            ),
            status: None,
            shows: Some("grpc-message: Jwt lacks required scope: read:messages"),
        },
        Step {
            title: "... and with demo-client's: the service answers",
            detail: &[
                "The request is the protobuf EchoRequest{message: \"hello\"}, framed; the reply lists",
                "the metadata the service received: x-user-id demo-client@clients, no token",
            ],
            command: format!(
                "printf '\\0\\0\\0\\0\\7\\n\\5hello' | curl -si --http2-prior-knowledge {envoy}/demo.echo.v1.Echo/Say -H 'content-type: application/grpc' -H 'te: trailers' -H \"authorization: Bearer $TOKEN\" --data-binary @- --output -"
            ),
            status: None,
            shows: Some("demo-client@clients"),
        },
        Step {
            title: "A token for the second API, https://es256.example.com, which signs with ES256",
            detail: &[
                "Each API of the dev IdP has its signing algorithm, as in Auth0; the JWKS holds",
                "one key per algorithm (curl the IdP's /.well-known/jwks.json to see both)",
            ],
            command: format!(
                "ES256_TOKEN=$({})",
                token_for("demo-client", "demo-secret", DEMO_ES256_AUDIENCE)
            ),
            status: None,
            shows: None,
        },
        Step {
            title: "The ES256 API (/es256/) with its token",
            detail: &[],
            command: format!(
                "curl -i {envoy}/es256/messages -H \"authorization: Bearer $ES256_TOKEN\""
            ),
            status: Some(200),
            shows: Some("\"x-user-id\":\"demo-client@clients\""),
        },
        Step {
            title: "... which refuses the RS256 API's token",
            detail: &["(its provider in envoy/envoy.yaml has \"algorithms\": [\"ES256\"])"],
            command: format!("curl -i {envoy}/es256/messages -H \"authorization: Bearer $TOKEN\""),
            status: Some(401),
            shows: Some("Jwt algorithm is not allowed"),
        },
        Step {
            title: "A DPoP key pair for demo-client (ES256), made by the project's CLI",
            detail: &[
                "The private JWK stays in demo-dpop-key.json (a second run of the demo reuses it);",
                "the CLI prints its RFC 7638 thumbprint, the cnf.jkt of tokens bound to it",
            ],
            command: format!("test -f demo-dpop-key.json || {CLI} dpop key -o demo-dpop-key.json"),
            status: None,
            shows: None,
        },
        Step {
            title: "A token bound to that key: the token request carries a DPoP proof",
            detail: &["The IdP answers token_type DPoP and puts the key's thumbprint in cnf.jkt"],
            command: format!(
                "DPOP_TOKEN=$({})",
                token_request(
                    &idp,
                    "demo-client",
                    "demo-secret",
                    DEFAULT_AUDIENCE,
                    &format!(
                        " -H \"DPoP: $({CLI} dpop proof --key demo-dpop-key.json --method POST --url {idp}/oauth/token)\""
                    )
                )
            ),
            status: None,
            shows: None,
        },
        Step {
            title: "/dpop/ takes only DPoP-bound tokens: a fresh proof for this request and token",
            detail: &[
                "(its provider has \"dpop\": {\"mode\": \"required\"}; the proof signs the method, the URL and the token's hash)",
            ],
            command: format!(
                "PROOF=$({CLI} dpop proof --key demo-dpop-key.json --method GET --url {envoy}/dpop/messages --token \"$DPOP_TOKEN\")"
            ),
            status: None,
            shows: None,
        },
        Step {
            title: "The token with its proof",
            detail: &[],
            command: dpop_request(&envoy, "$PROOF"),
            status: Some(200),
            shows: Some("\"x-user-id\":\"demo-client@clients\""),
        },
        Step {
            title: "The same proof again is a replay, refused on any worker",
            detail: &[],
            command: dpop_request(&envoy, "$PROOF"),
            status: Some(401),
            shows: Some("DPoP proof has been used before"),
        },
        Step {
            title: "A stolen token is no use without its key: sent as a Bearer token",
            detail: &[],
            command: format!(
                "curl -i {envoy}/dpop/messages -H \"authorization: Bearer $DPOP_TOKEN\""
            ),
            status: Some(401),
            shows: Some("Jwt is bound to a key and must be sent with the DPoP scheme"),
        },
        Step {
            title: "... or with a proof signed by the thief's own key",
            detail: &[],
            command: format!(
                "test -f demo-thief-key.json || {CLI} dpop key -o demo-thief-key.json\n{}",
                dpop_request(
                    &envoy,
                    &format!(
                        "$({CLI} dpop proof --key demo-thief-key.json --method GET --url {envoy}/dpop/messages --token \"$DPOP_TOKEN\")"
                    )
                )
            ),
            status: Some(401),
            shows: Some("Jwt cnf.jkt does not match the DPoP proof key"),
        },
        Step {
            title: "Counters by provider and reason, as Prometheus scrapes them",
            detail: &[],
            command: format!(
                "curl -s http://127.0.0.1:{}/stats/prometheus | grep '^jwt_authz'",
                ports.admin
            ),
            status: None,
            shows: Some("jwt_authz_provider_denied{provider=\"devidp\",reason=\"scope\"} 2"),
        },
    ]
}

/// Where the session runs the project's CLI (`make demo` builds it), from the repository's root.
pub const CLI: &str = "target/release/jwt-authz";

/// A client-credentials token request to the dev IdP with `extra` curl arguments, printing
/// the access token. Tokens are pulled out with sed rather than jq, which many machines lack.
fn token_request(idp: &str, client: &str, secret: &str, audience: &str, extra: &str) -> String {
    format!(
        "curl -s -X POST {idp}/oauth/token -H 'content-type: application/json'{extra} \
         -d '{{\"grant_type\":\"client_credentials\",\"client_id\":\"{client}\",\
         \"client_secret\":\"{secret}\",\"audience\":\"{audience}\"}}' \
         | sed -n 's/.*\"access_token\" *: *\"\\([^\"]*\\)\".*/\\1/p'"
    )
}

/// A request to the DPoP API with the bound token and `proof`.
fn dpop_request(envoy: &str, proof: &str) -> String {
    format!(
        "curl -i {envoy}/dpop/messages -H \"authorization: DPoP $DPOP_TOKEN\" -H \"DPoP: {proof}\""
    )
}

/// The steps as a shell session: each a comment (`# TITLE: STATUS`, then its detail lines)
/// and its command, separated by blank lines.
pub fn session_text(steps: &[Step]) -> String {
    let blocks: Vec<String> = steps
        .iter()
        .map(|step| {
            let mut block = match step.status {
                Some(status) => format!("# {}: {status}\n", step.title),
                None => format!("# {}\n", step.title),
            };
            for line in step.detail {
                block.push_str(&format!("# {line}\n"));
            }
            block.push_str(&step.command);
            block.push('\n');
            block
        })
        .collect();
    blocks.join("\n")
}

/// Runs `steps` with `sh`, in order, as a user pasting them would: a `NAME=$(...)` step sets
/// `NAME` (a JWT) for the later ones; any other step must print its status and text. A step
/// is tried again for up to 3 s, as counters reach Envoy on the filter's 500 ms tick. The
/// first step that does not show what it says is the error.
///
/// The steps run in a scratch directory, so the key files they write stay out of the
/// repository; its [`CLI`] is the newest CLI binary this workspace built.
pub fn run_session(steps: &[Step]) -> Result<(), String> {
    let dir = session_dir()?;
    let sh = |script: &str, env: &[(String, String)]| sh_in(dir.path(), script, env);
    let mut env: Vec<(String, String)> = Vec::new();
    for step in steps {
        if let Some((name, _)) = step.command.split_once("=$(") {
            let value = sh(&format!("{}\nprintf %s \"${name}\"", step.command), &env)?;
            if value.split('.').count() != 3 {
                return Err(format!("{}: {name} is not a JWT: {value:?}", step.title));
            }
            env.push((name.to_string(), value));
            continue;
        }
        let started = Instant::now();
        let output = loop {
            let output = sh(&step.command, &env)?;
            let shown = step.shows.is_none_or(|text| output.contains(text));
            let status_right = step.status.is_none_or(|s| first_status(&output) == Some(s));
            if (shown && status_right) || started.elapsed() > Duration::from_secs(3) {
                break output;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if let Some(status) = step.status
            && first_status(&output) != Some(status)
        {
            return Err(format!(
                "{}: expected {status}: {}\n{output}",
                step.title, step.command
            ));
        }
        if let Some(text) = step.shows
            && !output.contains(text)
        {
            return Err(format!(
                "{}: {text:?} not in the output of {}\n{output}",
                step.title, step.command
            ));
        }
    }
    Ok(())
}

/// A scratch directory holding [`CLI`]: a link to the newest of the workspace's release and
/// debug builds of the CLI (`make test` builds the debug one, `make demo` the release one).
fn session_dir() -> Result<TempDir, String> {
    let built = ["release", "debug"]
        .iter()
        .map(|profile| {
            workspace_root()
                .join("target")
                .join(profile)
                .join("jwt-authz")
        })
        .filter_map(|path| Some((std::fs::metadata(&path).ok()?.modified().ok()?, path)))
        .max()
        .map(|(_, path)| path)
        .ok_or("the session needs the CLI: cargo build -p jwt-authz-cli")?;
    let dir = TempDir::new("demo-session").map_err(|e| format!("scratch directory: {e}"))?;
    let link = dir.path().join(CLI);
    let parent = link.parent().ok_or("CLI has no directory")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    std::os::unix::fs::symlink(&built, &link).map_err(|e| format!("{}: {e}", link.display()))?;
    Ok(dir)
}

/// Runs `script` with `sh`, the variables `env` set; its standard output.
pub fn sh(script: &str, env: &[(String, String)]) -> Result<String, String> {
    sh_in(Path::new("."), script, env)
}

/// Runs `script` with `sh` in `dir`, the variables `env` set; its standard output.
fn sh_in(dir: &Path, script: &str, env: &[(String, String)]) -> Result<String, String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The status of the first HTTP response `curl -i` printed.
pub fn first_status(output: &str) -> Option<u16> {
    output
        .lines()
        .find(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
}

/// What `make demo` prints once the stack is up: where everything is, then the session.
pub fn demo_commands(ports: &StackPorts) -> String {
    format!(
        "\
The stack is up:
  Envoy + filter   http://127.0.0.1:{envoy}  (admin http://127.0.0.1:{admin})
  dev IdP          http://127.0.0.1:{idp}  (issuer http://127.0.0.1:{idp}/)
                   APIs https://api.example.com (RS256, served on /api/, and on /dpop/
                   to DPoP-bound tokens) and https://es256.example.com (ES256, on /es256/)
  echo upstream    http://127.0.0.1:{upstream}
  gRPC upstream    127.0.0.1:{grpc}  (demo.echo.v1.Echo; gRPC calls reach it through Envoy)

Try it from another terminal, in this directory:

{session}
Ctrl-C stops everything.
",
        envoy = ports.envoy,
        admin = ports.admin,
        idp = ports.idp,
        upstream = ports.upstream,
        grpc = ports.grpc,
        session = session_text(&demo_session(ports)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_demo_urls() {
        let text = demo_commands(&StackPorts::demo());
        for expected in [
            "curl -s -X POST http://127.0.0.1:8081/oauth/token",
            "\"client_id\":\"demo-client\",\"client_secret\":\"demo-secret\"",
            "\"client_id\":\"limited-client\",\"client_secret\":\"limited-secret\"",
            "\"grant_type\":\"client_credentials\"",
            "# Public route, no token needed: 200\ncurl -i http://127.0.0.1:10000/api/public\n",
            "# Protected route without a token: 401\ncurl -i http://127.0.0.1:10000/api/private\n",
            "curl -i http://127.0.0.1:10000/api/private -H \"authorization: Bearer $TOKEN\" -H \"x-user-id: admin\"",
            "curl -s http://127.0.0.1:9901/stats/prometheus | grep '^jwt_authz'",
            "curl -i http://127.0.0.1:10000/api/messages -H \"authorization: Bearer $LIMITED\"",
            "curl -i http://127.0.0.1:10000/api/messages -H \"authorization: Bearer $TOKEN\"",
            "\"audience\":\"https://es256.example.com\"",
            "curl -i http://127.0.0.1:10000/es256/messages -H \"authorization: Bearer $ES256_TOKEN\"",
            "http://127.0.0.1:9901",
            "http://127.0.0.1:8082",
            "APIs https://api.example.com (RS256, served on /api/, and on /dpop/",
            "to DPoP-bound tokens) and https://es256.example.com (ES256, on /es256/)",
            "target/release/jwt-authz dpop key -o demo-dpop-key.json",
            "curl -i http://127.0.0.1:10000/dpop/messages -H \"authorization: DPoP $DPOP_TOKEN\" -H \"DPoP: $PROOF\"",
            "Ctrl-C stops everything",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn follows_the_ports() {
        let ports = StackPorts {
            envoy: 20000,
            admin: 20001,
            idp: 20002,
            upstream: 20003,
            grpc: 20004,
        };
        let text = demo_commands(&ports);
        assert!(text.contains("http://127.0.0.1:20002/oauth/token"));
        assert!(text.contains("http://127.0.0.1:20000/api/messages"));
        assert!(!text.contains(":10000") && !text.contains(":8081"));
    }

    #[test]
    fn printed_token_commands_yield_tokens() {
        if std::process::Command::new("curl")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipping: curl is not installed");
            return;
        }
        let idp = devidp::Idp::start("127.0.0.1:0", devidp::IdpConfig::demo()).unwrap();
        let ports = StackPorts {
            idp: idp.addr().port(),
            ..StackPorts::demo()
        };
        let text = demo_commands(&ports);
        for variable in ["TOKEN", "LIMITED", "ES256_TOKEN"] {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{variable}=$(")))
                .unwrap();
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{line}\nprintf %s \"${variable}\""))
                .output()
                .unwrap();
            let token = String::from_utf8(output.stdout).unwrap();
            assert_eq!(
                token.split('.').count(),
                3,
                "{variable} is not a JWT: {token:?}"
            );
        }
    }
}
