//! The Envoy bootstrap the end-to-end tests and the soak run: the filter in front of an
//! upstream, with the settings of `envoy/envoy.yaml` that matter to it (path normalisation,
//! the 1 MiB cap on a key fetch's answer).

use crate::envoy::module_path;
use serde_json::Value;
use std::net::SocketAddr;

/// What `envoy/*.yaml` set so that a JWKS callout's answer is cut at 1 MiB: Envoy's async
/// HTTP client buffers a whole response body (up to 32 MiB by default) before the filter sees
/// any of it.
pub const CALLOUT_BODY_LIMIT: &str = r#"layered_runtime:
  layers:
  - name: static
    static_layer:
      http.async_response_buffer_limit: 1048576
  - name: admin
    admin_layer: {}"#;

/// Envoy listening on `listener` (admin on `admin`) with `filter` as the jwt-authz
/// configuration in front of the cluster `upstream`, and one more cluster per
/// `(name, address)` in `clusters` (the IdPs the filter fetches keys from).
pub fn filter_in_front_of(
    listener: u16,
    admin: u16,
    upstream: SocketAddr,
    clusters: &[(&str, SocketAddr)],
    filter: &Value,
) -> String {
    let routes = serde_json::json!({"virtual_hosts": [{"name": "api", "domains": ["*"],
        "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]}]});
    let clusters: Vec<(&str, SocketAddr)> = std::iter::once(("upstream", upstream))
        .chain(clusters.iter().copied())
        .collect();
    routed(
        listener,
        admin,
        &routes,
        &[jwt_authz_filter(filter)],
        &clusters,
        None,
    )
}

/// Envoy listening on `listener` (admin on `admin`) with `filters` (then the router) in front
/// of the route configuration `route_config` (JSON), with `envoy/envoy.yaml`'s path
/// normalisation, one cluster per `(name, address)` in `clusters`, and the connection
/// manager's `access_log` (JSON) when given.
pub fn routed(
    listener: u16,
    admin: u16,
    route_config: &Value,
    filters: &[Value],
    clusters: &[(&str, SocketAddr)],
    access_log: Option<&Value>,
) -> String {
    let access_log = access_log.map_or(String::new(), |log| {
        format!("          access_log: {log}\n")
    });
    let clusters: String = clusters
        .iter()
        .map(|&(name, addr)| static_cluster(name, addr))
        .collect();
    let filters: String = filters
        .iter()
        .chain(std::iter::once(&router_filter()))
        .map(|filter| format!("          - {filter}\n"))
        .collect();
    format!(
        r#"
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
{CALLOUT_BODY_LIMIT}
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
{access_log}          normalize_path: true
          merge_slashes: true
          path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT
          route_config: {route_config}
          http_filters:
{filters}  clusters:
{clusters}"#
    )
}

/// One STATIC cluster called `name` with the single endpoint `addr`, as a YAML list item.
pub fn static_cluster(name: &str, addr: SocketAddr) -> String {
    format!(
        r#"  - name: {name}
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: {name}
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: "{ip}", port_value: {port}}}}}}}}}]}}]
"#,
        ip = addr.ip(),
        port = addr.port(),
    )
}

/// The Wasm filter entry (JSON, which is YAML) running the built module with `config`, for
/// bootstraps that set several filters side by side.
pub fn jwt_authz_filter(config: &Value) -> Value {
    serde_json::json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "jwt_authz",
                "root_id": "jwt_authz",
                "vm_config": {
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": module_path().display().to_string()}}
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": config.to_string()
                }
            }
        }
    })
}

/// Envoy's native `jwt_authn` filter entry with `config` (providers and rules in the JSON
/// both filters accept).
pub fn jwt_authn_filter(config: &Value) -> Value {
    let mut typed_config = config.clone();
    typed_config["@type"] = serde_json::json!(
        "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"
    );
    serde_json::json!({"name": "envoy.filters.http.jwt_authn", "typed_config": typed_config})
}

/// The router filter entry, last in every chain.
pub fn router_filter() -> Value {
    serde_json::json!({
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
    })
}

/// A listener on `port` whose HTTP filters are `filter` and the router, in front of the
/// cluster `upstream`, with `envoy/envoy.yaml`'s path normalisation (JSON is YAML).
pub fn listener(name: &str, port: u16, filter: &Value) -> String {
    listener_to(name, port, std::slice::from_ref(filter), "upstream")
}

/// A listener on `port` whose HTTP filters are `filters` and the router, in front of the
/// cluster `cluster` (HTTP/1.1 and HTTP/2 without TLS), with `envoy/envoy.yaml`'s path
/// normalisation (JSON is YAML).
pub fn listener_to(name: &str, port: u16, filters: &[Value], cluster: &str) -> String {
    let routes = serde_json::json!({"virtual_hosts": [{"name": name, "domains": ["*"],
        "routes": [{"match": {"prefix": "/"}, "route": {"cluster": cluster}}]}]});
    routed_listener(name, port, &routes, filters)
}

/// A listener on `port` whose HTTP filters are `filters` and the router, in front of the
/// route configuration `route_config` (JSON), as [`listener_to`].
pub fn routed_listener(name: &str, port: u16, route_config: &Value, filters: &[Value]) -> String {
    let filters: String = filters
        .iter()
        .chain(std::iter::once(&router_filter()))
        .map(|filter| format!("          - {filter}\n"))
        .collect();
    format!(
        r#"  - name: {name}
    address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: {name}
          normalize_path: true
          merge_slashes: true
          path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT
          route_config: {route_config}
          http_filters:
{filters}"#
    )
}
