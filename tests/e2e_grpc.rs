//! gRPC services behind jwt-authz, end to end: a tonic service as the upstream (an HTTP/2
//! cluster), a tonic client sending `authorization: Bearer …` as metadata, and one Envoy with
//! two listeners, jwt-authz on one and Envoy's native `jwt_authn` on the other, each after
//! Envoy's `grpc_web` filter. Rules name gRPC methods (`path`) and services (`prefix`).
//!
//! Every refusal is checked twice: on the wire (HTTP 200, `content-type: application/grpc`,
//! `grpc-status`, the percent-encoded `grpc-message`, `WWW-Authenticate`, no body, no
//! trailers: a trailers-only response) and as tonic reads it (code, message, metadata).

mod support;

use devstack::bootstrap::{jwt_authn_filter, jwt_authz_filter, listener_to, static_cluster};
use devstack::grpc::{
    self, COUNT, EchoReply, EchoRequest, GrpcClient, GrpcUpstream, HEALTH_CHECK,
    HealthCheckRequest, HealthCheckResponse, REFLECTION, RawResponse, SAY, SERVING,
};
use devstack::{Envoy, EnvoyOptions, free_port, http};
use prost::Message;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use support::{AUDIENCE, eventually, start_idp};
use tonic::Code;

/// A method of a service that needs a claim whose name holds a `%`, which `grpc-message`
/// must percent-encode.
const TEAM_ONLY: &str = "/demo.team.v1.Team/Get";
const TEAM_CLAIM: &str = "https://example.com/org%2Fteam";
/// A method of a service whose provider's keys cannot be fetched.
const UNREACHABLE_KEYS: &str = "/demo.down.v1.Down/Get";

struct Stack {
    idp: devidp::Idp,
    /// The issuer of the provider whose JWKS cluster has nothing listening.
    down_issuer: String,
    upstream: GrpcUpstream,
    envoy: Envoy,
    ours: SocketAddr,
    native: SocketAddr,
}

/// jwt-authz's configuration: the book's gRPC example (a public health check, a service
/// that needs a scope and a method of it that needs another, reflection closed) and two
/// services for the refusals that need them.
fn jwt_authz_config(idp: &devidp::Idp, down_issuer: &str) -> Value {
    json!({
        "providers": {
            "idp": {
                "issuer": idp.issuer(),
                "audiences": [AUDIENCE],
                "remote_jwks": {
                    "http_uri": {"uri": idp.jwks_uri(), "cluster": "idp", "timeout": "2s"},
                    "cache_duration": "600s"
                },
                "claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"}]
            },
            "down": {
                "issuer": down_issuer,
                "audiences": [AUDIENCE],
                "remote_jwks": {
                    "http_uri": {"uri": format!("{down_issuer}.well-known/jwks.json"), "cluster": "down", "timeout": "1s"},
                    "cache_duration": "600s"
                }
            }
        },
        "rules": [
            {"match": {"path": HEALTH_CHECK}},
            {"match": {"path": COUNT}, "requires": {"provider_name": "idp"}, "required_scopes": ["echo:stream"]},
            {"match": {"prefix": "/demo.echo.v1.Echo/"}, "requires": {"provider_name": "idp"}, "required_scopes": ["echo:read"]},
            {"match": {"prefix": "/demo.team.v1.Team/"}, "requires": {"provider_name": "idp"},
             "required_claims": [{"name": TEAM_CLAIM, "equals": "ops"}]},
            {"match": {"prefix": "/demo.down.v1.Down/"}, "requires": {"provider_name": "down"}}
        ]
    })
}

/// Native `jwt_authn` on the same provider: the echo service needs a token, health is public.
fn native_config(idp: &devidp::Idp) -> Value {
    json!({
        "providers": {
            "idp": {
                "issuer": idp.issuer(),
                "audiences": [AUDIENCE],
                "remote_jwks": {
                    "http_uri": {"uri": idp.jwks_uri(), "cluster": "idp", "timeout": "2s"},
                    "cache_duration": "600s"
                },
                "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}]
            }
        },
        "rules": [
            {"match": {"path": HEALTH_CHECK}},
            {"match": {"prefix": "/demo.echo.v1.Echo/"}, "requires": {"provider_name": "idp"}}
        ]
    })
}

/// A listener whose filters are `grpc_web`, `auth` and the router, in front of the gRPC
/// cluster.
fn listener(name: &str, port: u16, auth: &Value) -> String {
    let grpc_web = json!({
        "name": "envoy.filters.http.grpc_web",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"}
    });
    listener_to(name, port, &[grpc_web, auth.clone()], "grpc")
}

/// The gRPC upstream's cluster: HTTP/2 without TLS.
fn http2_cluster(name: &str, addr: SocketAddr) -> String {
    format!(
        "{}    typed_extension_protocol_options:\n      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n        \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n        explicit_http_config: {{http2_protocol_options: {{}}}}\n",
        static_cluster(name, addr)
    )
}

impl Stack {
    fn start() -> Stack {
        let idp = start_idp();
        let upstream = GrpcUpstream::start("127.0.0.1:0").expect("gRPC upstream starts");
        let port = || free_port().expect("free port");
        let (ours, native, admin, down) = (port(), port(), port(), port());
        let down_issuer = format!("http://127.0.0.1:{down}/");
        let yaml = format!(
            "admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}\n\
             static_resources:\n  listeners:\n{}{}  clusters:\n{}{}{}",
            listener(
                "ours",
                ours,
                &jwt_authz_filter(&jwt_authz_config(&idp, &down_issuer))
            ),
            listener("native", native, &jwt_authn_filter(&native_config(&idp))),
            http2_cluster("grpc", upstream.addr()),
            static_cluster("idp", idp.addr()),
            static_cluster("down", SocketAddr::from(([127, 0, 0, 1], down))),
        );
        let options = EnvoyOptions {
            component_log_level: Some("wasm:debug".into()),
            ..EnvoyOptions::default()
        };
        let envoy = Envoy::start_with(&yaml, admin, &options).expect("Envoy starts");
        let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
        Stack {
            idp,
            down_issuer,
            upstream,
            envoy,
            ours: local(ours),
            native: local(native),
        }
    }

    fn client(&self, listener: SocketAddr) -> GrpcClient {
        GrpcClient::connect(listener).expect("gRPC client connects to Envoy")
    }

    fn claims(&self, scopes: &[&str]) -> Value {
        self.idp.claims_for("grpc-client", AUDIENCE, scopes)
    }

    fn token(&self, scopes: &[&str]) -> String {
        self.idp.mint(&self.claims(scopes))
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn say_body() -> Vec<u8> {
    grpc::frame(&EchoRequest {
        message: "hi".into(),
        count: 0,
    })
}

/// A refusal, as it must arrive.
struct Refusal {
    code: Code,
    message: &'static str,
    /// `grpc-message` on the wire (percent-encoded).
    wire_message: &'static str,
    challenge: Option<String>,
    retry_after: Option<&'static str>,
}

impl Refusal {
    fn new(code: Code, message: &'static str, challenge: Option<String>) -> Refusal {
        Refusal {
            code,
            message,
            wire_message: message,
            challenge,
            retry_after: None,
        }
    }
}

fn invalid_token(description: &str) -> Option<String> {
    Some(format!(
        "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{description}\""
    ))
}

/// Asserts the trailers-only gRPC response of a refusal, header by header (Envoy's `date`
/// and `server` aside).
fn assert_wire(case: &str, response: &RawResponse, expected: &Refusal) {
    assert_eq!(response.status, 200, "{case}: HTTP status");
    let mut names: Vec<&str> = response
        .headers
        .keys()
        .map(|n| n.as_str())
        .filter(|n| !matches!(*n, "date" | "server"))
        .collect();
    names.sort_unstable();
    let mut expected_names = vec![
        "cache-control",
        "content-type",
        "grpc-message",
        "grpc-status",
    ];
    if expected.challenge.is_some() {
        expected_names.push("www-authenticate");
    }
    if expected.retry_after.is_some() {
        expected_names.push("retry-after");
    }
    expected_names.sort_unstable();
    assert_eq!(
        names, expected_names,
        "{case}: headers {:?}",
        response.headers
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/grpc"),
        "{case}"
    );
    assert_eq!(
        response.header("grpc-status"),
        Some((expected.code as i32).to_string().as_str()),
        "{case}: grpc-status"
    );
    assert_eq!(
        response.header("grpc-message"),
        Some(expected.wire_message),
        "{case}: grpc-message"
    );
    assert_eq!(
        response.header("www-authenticate"),
        expected.challenge.as_deref(),
        "{case}: www-authenticate"
    );
    assert_eq!(
        response.header("retry-after"),
        expected.retry_after,
        "{case}"
    );
    assert_eq!(response.header("cache-control"), Some("no-store"), "{case}");
    assert!(response.body.is_empty(), "{case}: body {:?}", response.body);
    assert!(response.trailers.is_none(), "{case}: trailers-only");
}

/// Asserts what tonic makes of a refusal.
fn assert_status(case: &str, status: &tonic::Status, expected: &Refusal) {
    assert_eq!(status.code(), expected.code, "{case}: code ({status:?})");
    assert_eq!(status.message(), expected.message, "{case}: message");
    let challenge = status
        .metadata()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok());
    assert_eq!(challenge, expected.challenge.as_deref(), "{case}: metadata");
}

#[test]
fn grpc_clients_read_every_refusal_as_status_and_message() {
    let stack = Stack::start();
    let client = stack.client(stack.ours);

    let mut expired = stack.claims(&["echo:read"]);
    expired["exp"] = json!(support::now() - 3600);
    expired["iat"] = json!(support::now() - 7200);
    let expired = stack.idp.mint(&expired);
    // The payload of a token with every scope on the signature of one with none.
    let tampered = {
        let granted = stack.token(&["echo:read", "echo:stream"]);
        let signed = stack.token(&[]);
        let payload = granted.split('.').nth(1).expect("payload");
        let mut parts: Vec<&str> = signed.split('.').collect();
        parts[1] = payload;
        parts.join(".")
    };
    let reader = stack.token(&["echo:read"]);
    let no_scope = stack.token(&[]);
    let down_token = {
        let mut claims = stack.claims(&[]);
        claims["iss"] = json!(stack.down_issuer);
        stack.idp.mint(&claims)
    };

    let scope_challenge = |scope: &str| {
        Some(format!(
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt lacks required scope: {scope}\", scope=\"{scope}\""
        ))
    };
    let cases: Vec<(&str, &'static str, Vec<String>, Refusal)> = vec![
        (
            "no token",
            SAY,
            vec![],
            Refusal::new(
                Code::Unauthenticated,
                "Jwt is missing",
                Some("Bearer realm=\"api\"".into()),
            ),
        ),
        (
            "tampered token",
            SAY,
            vec![bearer(&tampered)],
            Refusal::new(
                Code::Unauthenticated,
                "Jwt verification fails",
                invalid_token("Jwt verification fails"),
            ),
        ),
        (
            "expired token",
            SAY,
            vec![bearer(&expired)],
            Refusal::new(
                Code::Unauthenticated,
                "Jwt is expired",
                invalid_token("Jwt is expired"),
            ),
        ),
        (
            "no scope for the service (prefix rule)",
            SAY,
            vec![bearer(&no_scope)],
            Refusal::new(
                Code::PermissionDenied,
                "Jwt lacks required scope: echo:read",
                scope_challenge("echo:read"),
            ),
        ),
        (
            "no scope for the method (path rule before the service's prefix)",
            COUNT,
            vec![bearer(&reader)],
            Refusal::new(
                Code::PermissionDenied,
                "Jwt lacks required scope: echo:stream",
                scope_challenge("echo:stream"),
            ),
        ),
        (
            "reflection: no rule",
            REFLECTION,
            vec![bearer(&reader)],
            Refusal::new(Code::PermissionDenied, "No rule matches this request", None),
        ),
        (
            "claim whose name holds a %",
            TEAM_ONLY,
            vec![bearer(&reader)],
            Refusal {
                wire_message: "Jwt claim https://example.com/org%252Fteam does not have a required value",
                ..Refusal::new(
                    Code::PermissionDenied,
                    "Jwt claim https://example.com/org%2Fteam does not have a required value",
                    Some(
                        "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt claim https://example.com/org%2Fteam does not have a required value\"".into(),
                    ),
                )
            },
        ),
        (
            "two tokens",
            SAY,
            vec![bearer(&reader), bearer(&reader)],
            Refusal::new(
                Code::Internal,
                "Request carries more than one token",
                Some("Bearer realm=\"api\", error=\"invalid_request\", error_description=\"Request carries more than one token\"".into()),
            ),
        ),
        (
            "keys cannot be fetched",
            UNREACHABLE_KEYS,
            vec![bearer(&down_token)],
            Refusal {
                retry_after: Some("5"),
                ..Refusal::new(Code::Unavailable, "Jwks is not available from the issuer", None)
            },
        ),
    ];

    for (case, path, authorization, expected) in &cases {
        let mut headers: Vec<(&'static str, &str)> =
            vec![("content-type", "application/grpc"), ("te", "trailers")];
        headers.extend(authorization.iter().map(|a| ("authorization", a.as_str())));
        let raw = client
            .raw(path, &headers, say_body())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_wire(case, &raw, expected);

        let metadata: Vec<(&'static str, &str)> = authorization
            .iter()
            .map(|a| ("authorization", a.as_str()))
            .collect();
        let status = client
            .unary::<_, EchoReply>(path, &metadata, EchoRequest::default())
            .expect_err(case);
        assert_status(case, &status, expected);
    }
    assert_eq!(
        stack.upstream.calls(),
        Vec::<String>::new(),
        "a refused call reached the service"
    );

    // Native jwt_authn, beside it, says the same to a gRPC client.
    let native = stack.client(stack.native);
    for (case, authorization) in [
        ("no token", vec![]),
        ("tampered token", vec![bearer(&tampered)]),
        ("expired token", vec![bearer(&expired)]),
    ] {
        let metadata: Vec<(&'static str, &str)> = authorization
            .iter()
            .map(|a| ("authorization", a.as_str()))
            .collect();
        let ours = client.say(&metadata, "hi").expect_err(case);
        let theirs = native.say(&metadata, "hi").expect_err(case);
        assert_eq!(
            (ours.code(), ours.message()),
            (theirs.code(), theirs.message()),
            "{case}: jwt-authz and native jwt_authn"
        );
        assert!(
            theirs.metadata().get("www-authenticate").is_some(),
            "{case}: native's challenge"
        );
    }

    // The same refusal to a request that is not gRPC is today's JSON answer.
    let json = client
        .raw(SAY, &[("content-type", "application/json")], b"{}".to_vec())
        .expect("answer");
    assert_eq!(json.status, 401);
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(
        json.header("www-authenticate"),
        Some("Bearer realm=\"api\"")
    );
    assert_eq!(json.header("grpc-status"), None);
    assert_eq!(
        String::from_utf8_lossy(&json.body),
        r#"{"error":"missing_token","error_description":"Jwt is missing"}"#
    );
}

#[test]
fn grpc_calls_with_a_valid_token_reach_the_service_with_identity_and_no_token() {
    let stack = Stack::start();
    let client = stack.client(stack.ours);
    let token = stack.token(&["echo:read", "echo:stream"]);
    let authorization = bearer(&token);
    let metadata = [("authorization", authorization.as_str())];

    let reply = client.say(&metadata, "hello").expect("Say").into_inner();
    assert_eq!(reply.message, "hello");
    assert_eq!(
        reply.metadata.get("x-user-id").map(String::as_str),
        Some("grpc-client@clients"),
        "identity as metadata: {:?}",
        reply.metadata
    );
    assert_eq!(
        reply.metadata.get("authorization"),
        None,
        "the token is not forwarded"
    );

    // A public method needs no token.
    let health: HealthCheckResponse = client
        .unary(HEALTH_CHECK, &[], HealthCheckRequest::default())
        .expect("health check")
        .into_inner();
    assert_eq!(health.status, SERVING);

    // A server-streaming call is decided once, at its start, and streams to its end.
    let (_, replies) = client.count(&metadata, 20).expect("Count");
    assert_eq!(
        replies.iter().map(|r| r.index).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    assert!(replies.iter().all(|r| {
        r.metadata.get("x-user-id").map(String::as_str) == Some("grpc-client@clients")
            && !r.metadata.contains_key("authorization")
    }));
    assert_eq!(stack.upstream.calls(), [SAY, HEALTH_CHECK, COUNT]);

    // Three calls, three decisions (counters reach Envoy once per tick, 500 ms).
    let allowed = || stack.envoy.stat("wasmcustom.jwt_authz.allowed");
    assert!(
        eventually(Duration::from_secs(3), || allowed() == Some(3)),
        "allowed: {:?}",
        allowed()
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(allowed(), Some(3), "one decision per call, not per message");

    // The same through native jwt_authn.
    let native = stack.client(stack.native);
    let reply = native.say(&metadata, "hello").expect("Say").into_inner();
    assert_eq!(reply.metadata.get("authorization"), None);
}

/// gRPC-Web (HTTP/1.1, `application/grpc-web+proto`): with `grpc_web` before jwt-authz, a
/// refusal arrives with `grpc-status` and `grpc-message` as gRPC-Web's trailers-only answer,
/// exactly as from native `jwt_authn`; an allowed call gets its reply and trailers frames.
#[test]
fn grpc_web_clients_read_refusals_as_grpc_status_and_message() {
    let stack = Stack::start();
    let grpc_web = |listener: SocketAddr, authorization: Option<&str>| {
        let mut headers = vec![
            ("content-type", "application/grpc-web+proto"),
            ("x-grpc-web", "1"),
            ("accept", "application/grpc-web+proto"),
        ];
        if let Some(authorization) = authorization {
            headers.push(("authorization", authorization));
        }
        http::request(listener, "POST", SAY, &headers, Some(&say_body()))
            .unwrap_or_else(|e| panic!("no answer: {e}"))
    };

    // Envoy keeps the HTTP status of a gRPC-Web local reply (401 here, as for native
    // jwt_authn) and puts grpc-status and grpc-message in the headers, with no body.
    let ours = grpc_web(stack.ours, None);
    let native = grpc_web(stack.native, None);
    for (who, refused) in [("jwt-authz", &ours), ("jwt_authn", &native)] {
        assert_eq!(refused.status, 401, "{who}: {}", refused.text());
        assert_eq!(refused.header("grpc-status"), Some("16"), "{who}");
        assert_eq!(
            refused.header("grpc-message"),
            Some("Jwt is missing"),
            "{who}"
        );
        assert_eq!(
            refused.header("content-type"),
            Some("application/grpc-web+proto"),
            "{who}"
        );
        assert!(refused.body.is_empty(), "{who}: {:?}", refused.text());
    }
    assert_eq!(
        ours.header("www-authenticate"),
        Some("Bearer realm=\"api\"")
    );
    assert_eq!(ours.header("cache-control"), Some("no-store"));

    let token = stack.token(&["echo:read"]);
    let allowed = grpc_web(stack.ours, Some(&bearer(&token)));
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    // A data frame, then the trailers frame (flag 0x80) with grpc-status 0.
    let body = &allowed.body;
    assert!(body.len() > 5 && body[0] == 0, "{body:?}");
    let length = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    let reply = EchoReply::decode(&body[5..5 + length]).expect("EchoReply");
    assert_eq!(reply.message, "hi");
    assert_eq!(
        reply.metadata.get("x-user-id").map(String::as_str),
        Some("grpc-client@clients")
    );
    assert_eq!(reply.metadata.get("authorization"), None);
    let trailers = &body[5 + length..];
    assert_eq!(trailers.first(), Some(&0x80), "{trailers:?}");
    assert!(
        String::from_utf8_lossy(&trailers[5..]).contains("grpc-status:0"),
        "{trailers:?}"
    );
}
