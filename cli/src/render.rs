//! `jwt-authz render`: a complete Envoy bootstrap that protects one upstream with tokens of a
//! real Auth0 tenant. Keys come from the tenant's OIDC discovery document over a TLS cluster
//! to `DOMAIN:443` (SNI and certificate name checked against the system CAs); the connection
//! manager carries the same path normalisation and header hardening as `envoy/envoy.yaml`.

use serde_json::json;

/// What a rendered bootstrap is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// `TENANT.REGION.auth0.com` or a custom domain, without scheme or path.
    pub domain: String,
    /// The API Identifier: the `aud` tokens must carry.
    pub audience: String,
    /// Scopes every request must be granted (none: any valid token).
    pub scopes: Vec<String>,
    /// The API's signing algorithm, as set in the Auth0 dashboard: `RS256` or `PS256`.
    pub algorithm: String,
    /// Where the protected API listens.
    pub upstream: HostPort,
    /// Where Envoy listens for clients.
    pub listen: HostPort,
    /// Envoy's admin endpoint (metrics at `/stats/prometheus`).
    pub admin: HostPort,
    /// The module, as Envoy opens it (relative to Envoy's working directory).
    pub module: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    /// `HOST:PORT` (an IPv6 host in brackets).
    pub fn parse(text: &str) -> Result<HostPort, String> {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?} is not HOST:PORT"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("{text:?}: the port must be 1 to 65535"))?;
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:_".contains(c))
        {
            return Err(format!("{text:?}: {host:?} is not a host name or address"));
        }
        Ok(HostPort {
            host: host.to_string(),
            port,
        })
    }
}

/// The tenant's domain from what users paste: `https://tenant.us.auth0.com/` is accepted too.
pub fn normalize_domain(text: &str) -> Result<String, String> {
    let domain = text.trim();
    let domain = domain.strip_prefix("https://").unwrap_or(domain);
    let domain = domain.strip_suffix('/').unwrap_or(domain);
    let valid = !domain.is_empty()
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(domain.to_ascii_lowercase())
    } else {
        Err(format!(
            "{text:?} is not an Auth0 domain (like tenant.us.auth0.com, without a path)"
        ))
    }
}

/// The signing algorithm of an Auth0 API (its settings offer RS256, PS256 and HS256), as
/// `algorithms` for the provider. HS256 signs with a secret shared with every client of the
/// API, which the filter never takes from the network.
pub fn auth0_algorithm(text: &str) -> Result<String, String> {
    match text.trim() {
        "RS256" | "PS256" => Ok(text.trim().to_string()),
        "HS256" => Err("an HS256 API signs with a shared secret, which jwt-authz never fetches from the tenant: switch the API to RS256 or PS256 (Auth0 dashboard: APIs > Settings > Signing Algorithm), or configure local_jwks by hand".into()),
        other => Err(format!("{other:?} is not a signing algorithm an Auth0 API offers: RS256 (the default) or PS256")),
    }
}

/// The plugin configuration for `tenant`: one provider, every path protected.
pub fn plugin_config(tenant: &Tenant) -> serde_json::Value {
    let mut rule = json!({"match": {"prefix": "/"}, "requires": {"provider_name": "auth0"}});
    if !tenant.scopes.is_empty() {
        rule["required_scopes"] = json!(tenant.scopes);
    }
    json!({
        "providers": {
            "auth0": {
                "issuer": format!("https://{}/", tenant.domain),
                "audiences": [tenant.audience],
                "algorithms": [tenant.algorithm],
                "oidc_discovery": {"cluster": "auth0", "timeout": "5s", "cache_duration": "600s"}
            }
        },
        "rules": [rule]
    })
}

/// The whole bootstrap, as YAML text.
pub fn bootstrap(tenant: &Tenant) -> String {
    let config = serde_json::to_string_pretty(&plugin_config(tenant)).unwrap_or_default();
    let config: String = config
        .lines()
        .map(|line| format!("                    {line}\n"))
        .collect();
    let domain = &tenant.domain;
    let scopes = if tenant.scopes.is_empty() {
        "any valid token".to_string()
    } else {
        format!("tokens granted {}", tenant.scopes.join(" "))
    };
    format!(
        r#"# Rendered by `jwt-authz render`: Envoy with jwt-authz in front of {upstream_host}:{upstream_port},
# accepting {scopes} issued by https://{domain}/ for the API {audience}.
#   envoy -c THIS_FILE    (from the directory that holds {module})
stats_config:
  stats_tags:
  - tag_name: provider
    regex: '^(?:wasmcustom\.)?jwt_authz\.provider(\.([^.]+))\.'
  - tag_name: reason
    regex: '^(?:wasmcustom\.)?jwt_authz\.(?:provider\.[^.]+\.)?denied(\.(\w+))$'

admin:
  address:
    socket_address: {{ address: {admin_host}, port_value: {admin_port} }}

# Stop reading a key fetch's answer at 1 MiB (Envoy's default is 32 MiB; a JWKS is at most
# 256 KiB to the filter): a huge answer from the IdP, or anything between, then costs nothing.
layered_runtime:
  layers:
  - name: static
    static_layer:
      http.async_response_buffer_limit: 1048576
  - name: admin
    admin_layer: {{}}

static_resources:
  listeners:
  - name: api
    address:
      socket_address: {{ address: {listen_host}, port_value: {listen_port} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: api
          normalize_path: true
          merge_slashes: true
          path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT
          common_http_protocol_options:
            headers_with_underscores_action: REJECT_REQUEST
          route_config:
            virtual_hosts:
            - name: api
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                route: {{ cluster: service }}
          http_filters:
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: jwt_authz
                root_id: jwt_authz
                vm_config:
                  runtime: envoy.wasm.runtime.v8
                  code: {{ local: {{ filename: {module} }} }}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: |
{config}          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router

  clusters:
  - name: service
    type: STRICT_DNS
    connect_timeout: 1s
    load_assignment:
      cluster_name: service
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: {upstream_host}, port_value: {upstream_port} }} }} }}
  # The tenant: discovery document and JWKS over TLS, SNI and certificate name {domain}.
  - name: auth0
    type: LOGICAL_DNS
    dns_lookup_family: V4_ONLY
    connect_timeout: 5s
    load_assignment:
      cluster_name: auth0
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: {domain}, port_value: 443 }} }} }}
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: {domain}
        common_tls_context:
          validation_context:
            trusted_ca: {{ filename: /etc/ssl/certs/ca-certificates.crt }}
            match_typed_subject_alt_names:
            - san_type: DNS
              matcher: {{ exact: {domain} }}
"#,
        audience = tenant.audience,
        module = tenant.module,
        admin_host = tenant.admin.host,
        admin_port = tenant.admin.port,
        listen_host = tenant.listen.host,
        listen_port = tenant.listen.port,
        upstream_host = tenant.upstream.host,
        upstream_port = tenant.upstream.port,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn tenant() -> Tenant {
        Tenant {
            domain: "tenant.us.auth0.com".into(),
            audience: "https://api.example.com".into(),
            scopes: vec!["read:messages".into()],
            algorithm: "RS256".into(),
            upstream: HostPort::parse("127.0.0.1:8000").unwrap(),
            listen: HostPort::parse("0.0.0.0:10000").unwrap(),
            admin: HostPort::parse("127.0.0.1:9901").unwrap(),
            module: "dist/jwt_authz.wasm".into(),
        }
    }

    #[test]
    fn domains_are_taken_as_users_paste_them() {
        assert_eq!(
            normalize_domain("https://Tenant.us.auth0.com/").unwrap(),
            "tenant.us.auth0.com"
        );
        assert_eq!(
            normalize_domain(" login.example.com ").unwrap(),
            "login.example.com"
        );
        for bad in [
            "",
            "tenant",
            "https://tenant.auth0.com/path",
            "tenant.auth0.com:443",
            "a..b",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_api_algorithm_is_rs256_or_ps256() {
        assert_eq!(auth0_algorithm("PS256").unwrap(), "PS256");
        assert_eq!(auth0_algorithm(" RS256 ").unwrap(), "RS256");
        assert!(
            auth0_algorithm("HS256")
                .unwrap_err()
                .starts_with("an HS256 API signs with a shared secret")
        );
        assert_eq!(
            auth0_algorithm("ES256").unwrap_err(),
            "\"ES256\" is not a signing algorithm an Auth0 API offers: RS256 (the default) or PS256"
        );
        let mut ps = tenant();
        ps.algorithm = "PS256".into();
        let config = plugin_config(&ps);
        let compiled = jwt_authz::config::Config::from_json(config.to_string().as_bytes()).unwrap();
        assert_eq!(
            compiled.providers[0].algorithms,
            vec![jwt_authz::jose::jwt::Algorithm::PS256]
        );
    }

    #[test]
    fn host_ports_parse() {
        assert_eq!(
            HostPort::parse("[::1]:8000").unwrap(),
            HostPort {
                host: "::1".into(),
                port: 8000
            }
        );
        assert!(HostPort::parse("api:0").is_err());
        assert!(HostPort::parse("api").is_err());
        assert!(HostPort::parse("a b:1").is_err());
    }

    #[test]
    fn the_plugin_config_is_the_tenants_and_validates() {
        let config = plugin_config(&tenant());
        let compiled = jwt_authz::config::Config::from_json(config.to_string().as_bytes()).unwrap();
        assert_eq!(compiled.providers[0].issuer, "https://tenant.us.auth0.com/");
        assert_eq!(
            compiled.providers[0].audiences,
            vec!["https://api.example.com"]
        );
        assert_eq!(compiled.rules[0].access.all_scopes, vec!["read:messages"]);
        let mut without_scopes = tenant();
        without_scopes.scopes.clear();
        assert!(
            plugin_config(&without_scopes)["rules"][0]
                .get("required_scopes")
                .is_none()
        );
    }

    #[test]
    fn the_bootstrap_passes_check_without_warnings() {
        let yaml = bootstrap(&tenant());
        let report = crate::check::check(&[("rendered.yaml".into(), yaml)]);
        assert!(report.ok, "{}", report.text);
        assert_eq!(report.warnings, 0, "{}", report.text);
        assert_eq!(report.configurations, 1, "{}", report.text);
    }

    #[test]
    fn the_bootstrap_stops_reading_a_key_fetch_at_one_mebibyte() {
        let yaml = bootstrap(&tenant());
        let shipped = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../envoy/auth0.yaml"),
        )
        .unwrap();
        let limit = "http.async_response_buffer_limit: 1048576";
        assert!(yaml.contains(limit), "{yaml}");
        assert!(
            shipped.contains(limit),
            "the shipped Auth0 config sets it too"
        );
    }
}
