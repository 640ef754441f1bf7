//! The demo and end-to-end topology: dev IdP, echo upstream, and Envoy
//! running the filter in front of the echo server.

use std::net::{SocketAddr, TcpListener};

use devidp::{Idp, IdpConfig};

use crate::echo::Echo;
use crate::envoy::{Envoy, EnvoyOptions, workspace_root};
use crate::grpc::GrpcUpstream;

/// The five ports the stack listens on, all on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackPorts {
    /// Envoy's listener, where clients send requests.
    pub envoy: u16,
    /// Envoy's admin endpoint.
    pub admin: u16,
    /// The dev IdP (token endpoint, JWKS, discovery).
    pub idp: u16,
    /// The echo upstream behind Envoy.
    pub upstream: u16,
    /// The gRPC upstream behind Envoy (`devstack::grpc`).
    pub grpc: u16,
}

impl StackPorts {
    /// The fixed ports of `make demo`, as written in `envoy/envoy.yaml`.
    pub fn demo() -> StackPorts {
        StackPorts {
            envoy: 10000,
            admin: 9901,
            idp: 8081,
            upstream: 8082,
            grpc: 8083,
        }
    }

    /// Five distinct free ports, for tests.
    pub fn free() -> std::io::Result<StackPorts> {
        // All five listeners are held at once so the OS cannot hand out a port twice.
        let listeners = (0..5)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<std::io::Result<Vec<_>>>()?;
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(StackPorts {
            envoy: ports[0],
            admin: ports[1],
            idp: ports[2],
            upstream: ports[3],
            grpc: ports[4],
        })
    }

    /// Pairs each demo port with this set's port for the same role.
    fn paired_with_demo(&self) -> [(u16, u16); 5] {
        let demo = StackPorts::demo();
        [
            (demo.envoy, self.envoy),
            (demo.admin, self.admin),
            (demo.idp, self.idp),
            (demo.upstream, self.upstream),
            (demo.grpc, self.grpc),
        ]
    }
}

/// The demo config (`<root>/envoy/envoy.yaml`) with its ports moved to `ports`.
pub fn demo_envoy_config(ports: &StackPorts) -> Result<String, String> {
    let path = workspace_root().join("envoy").join("envoy.yaml");
    let yaml = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the demo Envoy config {}: {e}", path.display()))?;
    Ok(substitute_ports(&yaml, ports))
}

/// Rewrites `port_value: N` and `127.0.0.1:N` for each demo port N, as whole
/// tokens and in one pass, so a new port equal to another demo port is not
/// rewritten twice and unrelated numbers are left alone.
fn substitute_ports(yaml: &str, ports: &StackPorts) -> String {
    let replacements: Vec<(String, String)> = ports
        .paired_with_demo()
        .iter()
        .flat_map(|&(demo, new)| {
            [
                (format!("port_value: {demo}"), format!("port_value: {new}")),
                (format!("127.0.0.1:{demo}"), format!("127.0.0.1:{new}")),
            ]
        })
        .collect();

    let mut out = String::with_capacity(yaml.len());
    let mut rest = yaml;
    let mut previous: Option<char> = None;
    'scan: while let Some(c) = rest.chars().next() {
        let token_may_start = !previous.is_some_and(|p| p.is_ascii_alphanumeric() || p == '.');
        if token_may_start {
            for (from, to) in &replacements {
                let Some(after) = rest.strip_prefix(from.as_str()) else {
                    continue;
                };
                if after.starts_with(|n: char| n.is_ascii_digit()) {
                    continue;
                }
                out.push_str(to);
                previous = to.chars().last();
                rest = after;
                continue 'scan;
            }
        }
        out.push(c);
        previous = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The running stack; everything stops when it is dropped.
pub struct Stack {
    pub idp: Idp,
    pub echo: Echo,
    pub grpc: GrpcUpstream,
    pub envoy: Envoy,
    pub ports: StackPorts,
}

impl Stack {
    /// Starts the IdP on `ports.idp` with the demo's APIs and clients (`devidp.json`: an RS256
    /// API and an ES256 API), the echo server on `ports.upstream`, then Envoy on `envoy_yaml`
    /// (which must use `ports.envoy` and `ports.admin`).
    pub fn start(
        ports: StackPorts,
        envoy_yaml: &str,
        options: &EnvoyOptions,
    ) -> Result<Stack, String> {
        let idp = Idp::start(&localhost(ports.idp), IdpConfig::demo())
            .map_err(|e| busy_port_message("dev IdP", ports.idp, &e))?;
        let echo = Echo::start(&localhost(ports.upstream))
            .map_err(|e| busy_port_message("echo upstream", ports.upstream, &e))?;
        let grpc = GrpcUpstream::start(&localhost(ports.grpc))
            .map_err(|e| busy_port_message("gRPC upstream", ports.grpc, &e))?;
        // Envoy would only say so deep in its log; check its ports up front.
        ensure_free("Envoy listener", ports.envoy)?;
        ensure_free("Envoy admin", ports.admin)?;
        let envoy = Envoy::start_with(envoy_yaml, ports.admin, options)?;
        Ok(Stack {
            idp,
            echo,
            grpc,
            envoy,
            ports,
        })
    }

    /// Where clients send requests through the filter.
    pub fn envoy_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports.envoy))
    }
}

fn localhost(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

fn ensure_free(role: &str, port: u16) -> Result<(), String> {
    TcpListener::bind(("127.0.0.1", port))
        .map(drop)
        .map_err(|e| busy_port_message(role, port, &e))
}

fn busy_port_message(role: &str, port: u16, error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::AddrInUse {
        format!(
            "cannot start the {role}: port {port} is already in use \
             (another demo still running?); free port {port} and try again"
        )
    } else {
        format!("cannot start the {role} on 127.0.0.1:{port}: {error}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(envoy: u16, admin: u16, idp: u16, upstream: u16) -> StackPorts {
        StackPorts {
            envoy,
            admin,
            idp,
            upstream,
            grpc: 8083,
        }
    }

    #[test]
    fn substitutes_whole_tokens_only() {
        let yaml = "a: { port_value: 10000 }\n\
                    b: { port_value: 9901 }\n\
                    c: { port_value: 8081 }\n\
                    d: { port_value: 8082 }\n\
                    e: \"http://127.0.0.1:8081/\"\n\
                    f: { port_value: 80811 }\n\
                    g: 8081\n\
                    h: 10.127.0.0.1:8081\n";
        let out = substitute_ports(yaml, &ports(40000, 40001, 40002, 40003));
        assert_eq!(
            out,
            "a: { port_value: 40000 }\n\
             b: { port_value: 40001 }\n\
             c: { port_value: 40002 }\n\
             d: { port_value: 40003 }\n\
             e: \"http://127.0.0.1:40002/\"\n\
             f: { port_value: 80811 }\n\
             g: 8081\n\
             h: 10.127.0.0.1:8081\n"
        );
    }

    #[test]
    fn substitution_is_single_pass() {
        // The new IdP port equals the old admin port; it must not be rewritten again.
        let out = substitute_ports(
            "port_value: 8081 port_value: 9901",
            &ports(10000, 8081, 9901, 8082),
        );
        assert_eq!(out, "port_value: 9901 port_value: 8081");
    }

    #[test]
    fn demo_ports_leave_the_config_unchanged() {
        let yaml = "x: { port_value: 10000 } y: 127.0.0.1:8081 é";
        assert_eq!(substitute_ports(yaml, &StackPorts::demo()), yaml);
    }

    #[test]
    fn free_ports_are_distinct() {
        let p = StackPorts::free().unwrap();
        let mut all = vec![p.envoy, p.admin, p.idp, p.upstream, p.grpc];
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn busy_port_is_named() {
        let holder = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = holder.local_addr().unwrap().port();
        let error = ensure_free("Envoy listener", port).unwrap_err();
        assert!(
            error.contains(&format!("port {port} is already in use")),
            "{error}"
        );
        assert!(error.contains("Envoy listener"), "{error}");
    }

    /// Envoy proxying everything to the echo upstream, without the filter, so
    /// the topology can be tested before the module is built.
    fn passthrough_config(ports: &StackPorts) -> String {
        format!(
            r#"
admin:
  address:
    socket_address: {{ address: 127.0.0.1, port_value: {admin} }}
static_resources:
  listeners:
  - name: ingress
    address:
      socket_address: {{ address: 127.0.0.1, port_value: {envoy} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                route: {{ cluster: upstream }}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: upstream
    type: STATIC
    load_assignment:
      cluster_name: upstream
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{ address: 127.0.0.1, port_value: {upstream} }}
"#,
            admin = ports.admin,
            envoy = ports.envoy,
            upstream = ports.upstream,
        )
    }

    #[test]
    fn starts_idp_echo_and_envoy_together() {
        if let Err(message) = Envoy::binary() {
            eprintln!("skipping: {message}");
            return;
        }
        let ports = StackPorts::free().unwrap();
        let stack =
            Stack::start(ports, &passthrough_config(&ports), &EnvoyOptions::default()).unwrap();

        let response = crate::http::get(stack.envoy_addr(), "/api/x", &[("X-Probe", "1")]).unwrap();
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.json().unwrap()["path"], "/api/x");
        assert_eq!(stack.echo.requests()[0].header("x-probe"), Some("1"));

        assert_eq!(stack.idp.addr().port(), ports.idp);
        assert_eq!(
            stack.idp.issuer(),
            format!("http://127.0.0.1:{}/", ports.idp)
        );
        // The body the demo's curl command sends.
        let body = br#"{"grant_type":"client_credentials","client_id":"demo-client","client_secret":"demo-secret","audience":"https://api.example.com"}"#;
        let token = crate::http::request(
            stack.idp.addr(),
            "POST",
            "/oauth/token",
            &[("content-type", "application/json")],
            Some(body),
        )
        .unwrap();
        assert_eq!(token.status, 200, "{}", token.text());
        assert!(token.json().unwrap()["access_token"].is_string());
    }

    /// Envoy opens one upstream connection per request in a burst; every one
    /// must be answered (tiny_http left some of them hanging).
    #[test]
    fn burst_through_envoy_is_answered_in_full() {
        if let Err(message) = Envoy::binary() {
            eprintln!("skipping: {message}");
            return;
        }
        const CLIENTS: usize = 16;
        let ports = StackPorts::free().unwrap();
        let stack =
            Stack::start(ports, &passthrough_config(&ports), &EnvoyOptions::default()).unwrap();
        let addr = stack.envoy_addr();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS));
        let started = std::time::Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let barrier = std::sync::Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    crate::http::get(addr, &format!("/burst/{i}"), &[]).map(|r| r.status)
                })
            })
            .collect();
        for (i, client) in clients.into_iter().enumerate() {
            assert_eq!(client.join().unwrap().unwrap(), 200, "client {i}");
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(stack.echo.requests().len(), CLIENTS);
    }

    #[test]
    fn busy_idp_port_fails_with_a_clear_message() {
        let holder = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut ports = StackPorts::free().unwrap();
        ports.idp = holder.local_addr().unwrap().port();
        let error = match Stack::start(ports, "", &EnvoyOptions::default()) {
            Ok(_) => panic!("stack started on a busy port"),
            Err(error) => error,
        };
        assert!(error.contains("dev IdP"), "{error}");
        assert!(
            error.contains(&format!("port {} is already in use", ports.idp)),
            "{error}"
        );
    }
}
