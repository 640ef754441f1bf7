//! What the soak runs against: the dev IdP, the echo upstream, and Envoy with the filter
//! (configured like `envoy/envoy.yaml`, with short key timings so rotations happen often).

use crate::key_life::Timing;
use crate::traffic::{AUDIENCE, SCOPE};
use devidp::{Idp, IdpConfig};
use devstack::{Echo, Envoy, EnvoyOptions, free_port};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;

/// The key timings of the soak's filter configuration.
pub const TIMING: Timing = Timing {
    cache_duration: Duration::from_secs(2),
    timeout: Duration::from_secs(1),
    min_refetch_interval: Duration::from_secs(2),
};

pub struct Stack {
    pub idp: Idp,
    pub echo: Echo,
    pub envoy: Envoy,
    pub listener: SocketAddr,
}

impl Stack {
    pub fn start(workers: u32) -> Result<Stack, String> {
        let idp = Idp::start("127.0.0.1:0", IdpConfig::default()).map_err(|e| e.to_string())?;
        let echo = Echo::start("127.0.0.1:0").map_err(|e| e.to_string())?;
        let listener = free_port().map_err(|e| e.to_string())?;
        let admin = free_port().map_err(|e| e.to_string())?;
        let yaml = envoy_yaml(
            listener,
            admin,
            idp.addr(),
            echo.addr(),
            &filter_config(&idp),
        );
        let options = EnvoyOptions {
            concurrency: workers,
            component_log_level: Some("wasm:info".into()),
            ..EnvoyOptions::default()
        };
        let envoy = Envoy::start_with(&yaml, admin, &options)?;
        Ok(Stack {
            idp,
            echo,
            envoy,
            listener: SocketAddr::from(([127, 0, 0, 1], listener)),
        })
    }
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// A public prefix, a scope-protected prefix, a protected prefix; nothing else matches.
fn filter_config(idp: &Idp) -> Value {
    json!({
        "providers": {
            "idp": {
                "issuer": idp.issuer(),
                "audiences": [AUDIENCE],
                "remote_jwks": {
                    "http_uri": {"uri": idp.jwks_uri(), "cluster": "idp", "timeout": seconds(TIMING.timeout)},
                    "cache_duration": seconds(TIMING.cache_duration),
                    "min_refetch_interval": seconds(TIMING.min_refetch_interval)
                },
                "claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"}]
            }
        },
        "rules": [
            {"match": {"prefix": "/public"}},
            {"match": {"prefix": "/scoped"}, "requires": {"provider_name": "idp"}, "required_scopes": [SCOPE]},
            {"match": {"prefix": "/api"}, "requires": {"provider_name": "idp"}}
        ]
    })
}

fn envoy_yaml(
    listener: u16,
    admin: u16,
    idp: SocketAddr,
    upstream: SocketAddr,
    filter: &Value,
) -> String {
    // JSON is YAML: the filter configuration goes in as one quoted flow scalar.
    let filter = serde_json::to_string(&filter.to_string()).unwrap_or_default();
    let cluster = |name: &str, addr: SocketAddr| {
        format!(
            "  - name: {name}\n    type: STATIC\n    connect_timeout: 1s\n    load_assignment:\n      cluster_name: {name}\n      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: {}, port_value: {}}}}}}}}}]}}]\n",
            addr.ip(),
            addr.port()
        )
    };
    format!(
        r#"
layered_runtime:
  layers:
  - name: static
    static_layer:
      http.async_response_buffer_limit: 1048576
  - name: admin
    admin_layer: {{}}
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
static_resources:
  listeners:
  - name: api
    address: {{socket_address: {{address: 127.0.0.1, port_value: {listener}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: api
          normalize_path: true
          merge_slashes: true
          path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT
          route_config:
            virtual_hosts:
            - name: api
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                route: {{cluster: upstream}}
          http_filters:
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: jwt_authz
                root_id: jwt_authz
                vm_config:
                  runtime: envoy.wasm.runtime.v8
                  code: {{local: {{filename: {module}}}}}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: {filter}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
{upstream}{idp}"#,
        module = devstack::module_path().display(),
        upstream = cluster("upstream", upstream),
        idp = cluster("idp", idp),
    )
}
