//! Certificate-bound tokens (RFC 8705 §3) end to end: Envoy ends TLS with optional client
//! certificates (a test PKI made for the run) in front of the filter, two workers. A token
//! bound to a client certificate passes with that certificate only; tokens that are not bound
//! are unaffected unless binding is required; a trusted forwarder's
//! `x-forwarded-client-cert` names the client's certificate, and the same header from anyone
//! else is not believed. Tokens are signed by the seeded test keys; the keys are local.

mod support;

#[path = "support/signers.rs"]
#[allow(dead_code)]
mod signers;

use devstack::tls::{Identity, Pki};
use devstack::{Echo, Envoy, EnvoyOptions, Response, bootstrap, free_port};
use jwt_authz::jose::algorithm::{Algorithm, KeyKind};
use serde_json::{Value, json};
use signers::b64;
use std::net::SocketAddr;
use support::*;

const ISSUER: &str = "https://idp.example.com/";
const GATEWAY_SAN: &str = "spiffe://cluster.local/ns/edge/sa/gateway";
const MISSING: &str = "Jwt is bound to a client certificate and the request came without one";
const MISMATCH: &str = "Jwt is bound to another client certificate than the request's";

fn filter() -> Value {
    let jwks = json!({"keys": [signers::jwk(KeyKind::Rsa, "k1")]}).to_string();
    let provider = |binding: Value| {
        json!({
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "local_jwks": {"inline_string": jwks},
            "algorithms": ["RS256"],
            "certificate_binding": binding
        })
    };
    json!({
        "providers": {
            "enforced": provider(json!({"mode": "enforced", "forwarded_by": [GATEWAY_SAN]})),
            "required": provider(json!({"mode": "required"})),
            "off": provider(json!({"mode": "off"}))
        },
        "rules": [
            {"match": {"prefix": "/bound"}, "requires": {"provider_name": "enforced"}},
            {"match": {"prefix": "/required"}, "requires": {"provider_name": "required"}},
            {"match": {"prefix": "/off"}, "requires": {"provider_name": "off"}}
        ]
    })
}

/// Envoy on `port` ending TLS with `server`'s certificate, asking for client certificates
/// from `pki`'s CA without requiring one, and passing on a forwarder's
/// `x-forwarded-client-cert` with an element of its own (`APPEND_FORWARD`).
fn envoy_config(
    port: u16,
    admin: u16,
    upstream: SocketAddr,
    pki: &Pki,
    server: &Identity,
) -> String {
    let hcm = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "mtls",
        "forward_client_cert_details": "APPEND_FORWARD",
        "set_current_client_cert_details": {"uri": true},
        "route_config": {"virtual_hosts": [{"name": "api", "domains": ["*"],
            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]}]},
        "http_filters": [bootstrap::jwt_authz_filter(&filter()), bootstrap::router_filter()]
    });
    let tls = pki.downstream_tls(server);
    let listener = json!({
        "name": "mtls",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{
            "transport_socket": tls,
            "filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]
        }]
    });
    format!(
        "admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}\nstatic_resources:\n  listeners: [{listener}]\n  clusters:\n{}",
        bootstrap::static_cluster("upstream", upstream)
    )
}

struct Mtls {
    pki: Pki,
    listener: SocketAddr,
    _envoy: Envoy,
    _echo: Echo,
}

impl Mtls {
    fn start(pki: Pki) -> Mtls {
        let echo = Echo::start("127.0.0.1:0").expect("echo starts");
        let server = pki.server().expect("server certificate");
        let (port, admin) = (free_port().unwrap(), free_port().unwrap());
        let yaml = envoy_config(port, admin, echo.addr(), &pki, &server);
        let options = EnvoyOptions {
            concurrency: 2,
            ..EnvoyOptions::default()
        };
        let envoy = Envoy::start_with(&yaml, admin, &options).expect("Envoy starts");
        Mtls {
            pki,
            listener: SocketAddr::from(([127, 0, 0, 1], port)),
            _envoy: envoy,
            _echo: echo,
        }
    }

    fn get(
        &self,
        path: &str,
        token: &str,
        client: Option<&Identity>,
        extra: &[(&str, &str)],
    ) -> Response {
        let authorization = format!("Bearer {token}");
        let mut headers = vec![("authorization", authorization.as_str())];
        headers.extend_from_slice(extra);
        self.pki
            .get(self.listener, path, &headers, client)
            .expect("a TLS exchange with Envoy")
    }
}

fn token(cnf: Option<Value>) -> String {
    let mut claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "client", "exp": now() + 600});
    if let Some(cnf) = cnf {
        claims["cnf"] = cnf;
    }
    signers::token(Algorithm::RS256, Some("k1"), &claims)
}

fn bound_to(identity: &Identity) -> String {
    token(Some(json!({"x5t#S256": b64(identity.sha256())})))
}

fn assert_allowed(case: &str, response: &Response) {
    assert_eq!(response.status, 200, "{case}: {}", response.text());
}

#[test]
fn certificate_bound_tokens_need_their_client_certificate() {
    let pki = Pki::new().expect("test PKI");
    let alice = pki.client("alice", None).unwrap();
    let mallory = pki
        .client("mallory", Some("spiffe://cluster.local/ns/x/sa/mallory"))
        .unwrap();
    let gateway = pki.client("gateway", Some(GATEWAY_SAN)).unwrap();
    let mtls = Mtls::start(pki);
    let alice_s = bound_to(&alice);

    // The token's own certificate; on each worker (a connection per request).
    for round in 0..4 {
        assert_allowed(
            &format!("bound, its certificate #{round}"),
            &mtls.get("/bound", &alice_s, Some(&alice), &[]),
        );
    }
    assert_invalid_token(
        "bound, another certificate",
        &mtls.get("/bound", &alice_s, Some(&mallory), &[]),
        MISMATCH,
    );
    assert_invalid_token(
        "bound, no certificate",
        &mtls.get("/bound", &alice_s, None, &[]),
        MISSING,
    );
    // A header the client writes itself is not its certificate.
    let forged = format!("Hash={}", alice.sha256_hex());
    assert_invalid_token(
        "bound, no certificate, a forged x-forwarded-client-cert",
        &mtls.get(
            "/bound",
            &alice_s,
            None,
            &[("x-forwarded-client-cert", &forged)],
        ),
        MISSING,
    );
    assert_invalid_token(
        "bound, another certificate that is not the forwarder, a forged x-forwarded-client-cert",
        &mtls.get(
            "/bound",
            &alice_s,
            Some(&mallory),
            &[("x-forwarded-client-cert", &forged)],
        ),
        MISMATCH,
    );

    // Tokens that are not bound are unaffected where binding is enforced, certificate or not.
    let unbound = token(None);
    assert_allowed(
        "unbound, no certificate",
        &mtls.get("/bound", &unbound, None, &[]),
    );
    assert_allowed(
        "unbound, a certificate",
        &mtls.get("/bound", &unbound, Some(&mallory), &[]),
    );

    // Where binding is required, only bound tokens pass.
    assert_allowed(
        "required, bound",
        &mtls.get("/required", &alice_s, Some(&alice), &[]),
    );
    assert_invalid_token(
        "required, unbound",
        &mtls.get("/required", &unbound, Some(&alice), &[]),
        "Jwt must be bound to the client certificate (cnf x5t#S256)",
    );

    // A provider that does not check certificates refuses bound tokens, saying how to.
    assert_invalid_token(
        "binding off, bound token",
        &mtls.get("/off", &alice_s, Some(&alice), &[]),
        "Jwt is bound to a client certificate and its provider does not check certificates: set certificate_binding.mode to enforced or required",
    );
    assert_allowed(
        "binding off, unbound",
        &mtls.get("/off", &unbound, Some(&alice), &[]),
    );

    // The trusted forwarder ended Alice's TLS and forwards her certificate's hash; Envoy
    // appends an element about the forwarder's own certificate, which does not count.
    let forwarded = format!(
        "By=spiffe://edge;Hash={};Subject=\"CN=alice\"",
        alice.sha256_hex()
    );
    assert_allowed(
        "forwarded by the gateway",
        &mtls.get(
            "/bound",
            &alice_s,
            Some(&gateway),
            &[("x-forwarded-client-cert", &forwarded)],
        ),
    );
    assert_invalid_token(
        "the gateway without a forwarded certificate",
        &mtls.get("/bound", &alice_s, Some(&gateway), &[]),
        MISSING,
    );
    let forwarded_other = format!("Hash={}", mallory.sha256_hex());
    assert_invalid_token(
        "forwarded by the gateway, another client's certificate",
        &mtls.get(
            "/bound",
            &alice_s,
            Some(&gateway),
            &[("x-forwarded-client-cert", &forwarded_other)],
        ),
        MISMATCH,
    );
}
