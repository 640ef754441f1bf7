//! `jwt-authz check FILE...`: every jwt-authz configuration in the files, validated by the
//! filter's own code (`Config::check_json`), and warned about where it validates but will not
//! work: a key-fetch cluster the platform does not define, plain HTTP to an `https://` URI,
//! Istio cluster names not of the form `outbound|PORT||HOST`.

use crate::locate::{self, Cluster, Found, Inventory, Platform, TlsOrigination};
use crate::summary;
use jwt_authz::config::{Config, JwksLocation, KeySource, RemoteJwks};
use jwt_authz::keys::uri::Endpoint;
use std::fmt::Write;

/// What `check` found: the text to print and whether everything passed.
#[derive(Debug)]
pub struct Report {
    pub text: String,
    /// No configuration was refused, and at least one was found.
    pub ok: bool,
    pub configurations: usize,
    pub errors: usize,
    pub warnings: usize,
}

/// Checks every configuration in `files` (name, contents). Clusters, `ServiceEntry`s and
/// patches from all the files count for all of them, so manifests split over several files
/// are checked together.
pub fn check(files: &[(String, String)]) -> Report {
    let mut report = Report {
        text: String::new(),
        ok: true,
        configurations: 0,
        errors: 0,
        warnings: 0,
    };
    let mut all = Inventory::default();
    for (name, text) in files {
        match locate::inventory(name, text) {
            Ok(inventory) => {
                if inventory.found.is_empty() {
                    let _ = writeln!(report.text, "{name}: no jwt-authz configuration found");
                }
                all.found.extend(inventory.found);
                all.clusters.extend(inventory.clusters);
                all.dynamic_clusters |= inventory.dynamic_clusters;
                all.skipped.extend(inventory.skipped);
                all.tls_origination.extend(inventory.tls_origination);
            }
            Err(error) => {
                let _ = writeln!(report.text, "{name}\n  error: {error}");
                report.errors += 1;
                report.ok = false;
            }
        }
    }
    for found in &all.found {
        check_one(found, &all, &mut report);
    }
    for skipped in &all.skipped {
        let _ = writeln!(report.text, "{skipped}: not jwt-authz, skipped");
    }
    if report.configurations == 0 {
        report.ok = false;
    }
    let _ = writeln!(
        report.text,
        "{} configuration(s) checked: {} error(s), {} warning(s)",
        report.configurations, report.errors, report.warnings
    );
    report
}

fn check_one(found: &Found, all: &Inventory, report: &mut Report) {
    report.configurations += 1;
    let _ = writeln!(report.text, "{}", found.origin);
    let json = match &found.config {
        Ok(json) => json,
        Err(error) => {
            let _ = writeln!(report.text, "  error: {error}");
            report.errors += 1;
            report.ok = false;
            return;
        }
    };
    match Config::check_json(json) {
        Ok(config) => {
            let _ = writeln!(report.text, "  ok: {}", config.summary());
            for line in summary::rules(&config) {
                let _ = writeln!(report.text, "    {line}");
            }
            for warning in warnings(found, &config, all) {
                let _ = writeln!(report.text, "  warning: {warning}");
                report.warnings += 1;
            }
        }
        Err(errors) => {
            for error in &errors {
                let _ = writeln!(report.text, "  error: {error}");
            }
            report.errors += errors.len();
            report.ok = false;
        }
    }
}

/// What validates but will not work on the platform the configuration was found on.
pub fn warnings(found: &Found, config: &Config, all: &Inventory) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(phase) = &found.phase {
        if phase != "AUTHN" {
            warnings.push(format!(
                "phase is {phase}: jwt-authz belongs in AUTHN, before Istio's authorization and \
                 any filter that trusts identity headers"
            ));
        }
    } else if found.platform == Platform::Istio {
        warnings.push(
            "no phase: the plugin runs after Istio's own filters; set `phase: AUTHN`".to_string(),
        );
    }
    for provider in &config.providers {
        let issuer = &provider.issuer;
        let auth0_host = issuer
            .strip_prefix("https://")
            .is_some_and(|host| host.trim_end_matches('/').ends_with(".auth0.com"));
        if auth0_host && !issuer.ends_with('/') {
            warnings.push(format!(
                "providers.{}: Auth0 issues tokens with `iss` \"{issuer}/\" (trailing slash): with \
                 \"{issuer}\" every token is refused as `Jwt issuer is not allowed`",
                provider.name
            ));
        }
        warnings.extend(provider.skipped_local_keys.iter().cloned());
        let KeySource::Remote(remote) = &provider.keys else {
            continue;
        };
        let at = format!("providers.{}", provider.name);
        warnings.extend(
            cluster_warnings(found.platform, remote, all)
                .into_iter()
                .map(|w| format!("{at}: {w}")),
        );
    }
    warnings
}

fn endpoint(remote: &RemoteJwks) -> &Endpoint {
    match &remote.location {
        JwksLocation::Uri(endpoint) | JwksLocation::Discovery(endpoint) => endpoint,
    }
}

fn host_of(endpoint: &Endpoint) -> &str {
    let authority = endpoint.authority.as_str();
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

fn cluster_warnings(platform: Platform, remote: &RemoteJwks, all: &Inventory) -> Vec<String> {
    let name = &remote.cluster;
    let endpoint = endpoint(remote);
    let host = host_of(endpoint);
    let scheme = if endpoint.https { "https" } else { "http" };
    let mut warnings = Vec::new();
    let defined = |platform: Platform| -> Option<Cluster> {
        all.clusters
            .iter()
            .find(|c| c.platform == platform && &c.name == name)
            .cloned()
    };
    let not_defined = format!(
        "the filter logs `JWKS fetch failed: cannot call cluster \"{name}\" (BadArgument)` and \
         answers 503 to every request that needs keys"
    );
    match platform {
        Platform::Bare => {}
        Platform::Envoy => match defined(Platform::Envoy) {
            None if all.dynamic_clusters => {}
            None => warnings.push(format!(
                "cluster \"{name}\" is not in static_resources.clusters: {not_defined}"
            )),
            Some(cluster) => warnings.extend(tls_warnings(&cluster, endpoint.https, host, scheme)),
        },
        Platform::Istio => match istio_host_port(name) {
            None => warnings.push(format!(
                "cluster \"{name}\" is not an Istio cluster name: Istio names the cluster of a \
                 ServiceEntry host `outbound|PORT||HOST`, here `{}`; otherwise {not_defined}",
                locate::istio_cluster_name(host, if endpoint.https { 443 } else { 80 })
            )),
            Some((port, cluster_host)) => {
                if !cluster_host.eq_ignore_ascii_case(host) {
                    warnings.push(format!(
                        "cluster \"{name}\" goes to {cluster_host}, but the {scheme} URI names \
                         {host}"
                    ));
                }
                if defined(Platform::Istio).is_none() {
                    warnings.push(format!(
                        "no ServiceEntry in the files checked has host {cluster_host} and port \
                         {port}: unless one is applied elsewhere, {not_defined}"
                    ));
                }
                let tls = istio_tls(&all.tls_origination, cluster_host, port);
                if endpoint.https && tls.is_none() {
                    warnings.push(format!(
                        "no DestinationRule in the files checked originates TLS (mode SIMPLE) \
                         for {cluster_host}:{port}: the key fetch would send plain HTTP to an \
                         https URI and fail"
                    ));
                }
                if let Some(cluster) = tls {
                    warnings.extend(tls_warnings(&cluster, endpoint.https, host, scheme));
                }
            }
        },
        Platform::EnvoyGateway => match defined(Platform::EnvoyGateway) {
            None => warnings.push(format!(
                "no EnvoyPatchPolicy in the files checked adds cluster \"{name}\" (Envoy \
                 Gateway names its own clusters after routes): unless one is applied \
                 elsewhere, {not_defined}"
            )),
            Some(cluster) => warnings.extend(tls_warnings(&cluster, endpoint.https, host, scheme)),
        },
    }
    warnings
}

/// `outbound|PORT||HOST` as (port, host).
fn istio_host_port(name: &str) -> Option<(u64, &str)> {
    let rest = name.strip_prefix("outbound|")?;
    let (port, rest) = rest.split_once('|')?;
    let host = rest.strip_prefix('|')?;
    let port = port.parse().ok()?;
    (!host.is_empty() && !host.contains('|')).then_some((port, host))
}

/// The Istio cluster for `host:port` as a `DestinationRule` makes it, if it originates TLS.
fn istio_tls(rules: &[TlsOrigination], host: &str, port: u64) -> Option<Cluster> {
    let rule = rules
        .iter()
        .filter(|r| r.host.eq_ignore_ascii_case(host))
        .find(|r| r.port == Some(port))
        .or_else(|| {
            rules
                .iter()
                .find(|r| r.host.eq_ignore_ascii_case(host) && r.port.is_none())
        })?;
    Some(Cluster {
        platform: Platform::Istio,
        name: locate::istio_cluster_name(host, port),
        tls: true,
        sni: rule.sni.clone(),
    })
}

fn tls_warnings(cluster: &Cluster, https: bool, host: &str, scheme: &str) -> Vec<String> {
    let name = &cluster.name;
    let mut warnings = Vec::new();
    match (https, cluster.tls) {
        (true, false) => warnings.push(format!(
            "cluster \"{name}\" has no TLS transport socket but the URI is https: the IdP \
             gets plain HTTP on its TLS port and the fetch fails"
        )),
        (false, true) => warnings.push(format!(
            "cluster \"{name}\" speaks TLS but the URI is {scheme}: a plain-HTTP IdP fails \
             the TLS handshake and the fetch fails"
        )),
        (true, true) => match &cluster.sni {
            None => warnings.push(format!(
                "cluster \"{name}\" sends no SNI: most IdPs (Auth0 included) need SNI {host} \
                 to present the right certificate"
            )),
            Some(sni) if !sni.eq_ignore_ascii_case(host) => warnings.push(format!(
                "cluster \"{name}\" sends SNI {sni}, but the URI's host is {host}"
            )),
            Some(_) => {}
        },
        (false, false) => {}
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&str, &str)]) -> Report {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        check(&files)
    }

    const GOOD: &str = r#"{"providers": {"auth0": {"issuer": "https://t.auth0.com/", "audiences": ["a"],
        "oidc_discovery": {"cluster": "auth0"}}},
        "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "auth0"}}]}"#;

    #[test]
    fn a_bare_json_configuration_is_ok_with_its_summary() {
        let report = run(&[("c.json", GOOD)]);
        assert!(report.ok, "{}", report.text);
        assert_eq!(
            report.text,
            "c.json (plugin configuration)\n  \
             ok: 1 provider(s): auth0 (issuer https://t.auth0.com/, any asymmetric algorithm, jwks by discovery from cluster auth0); 1 rule(s)\n    \
             rules[0]: prefix / -> token of auth0\n\
             1 configuration(s) checked: 0 error(s), 0 warning(s)\n"
        );
    }

    #[test]
    fn every_error_is_listed_with_its_path() {
        let yaml = "providers:\n  a:\n    issuer: ''\n    audiences: [x]\n    oidc_discovery: {cluster: c}\n  \
                    b:\n    issuer: https://b/\n    audiences: []\n    oidc_discovery: {cluster: c}\n\
                    rules:\n- match: {prefix: /}\n  requires: {provider_name: nobody}\n";
        let report = run(&[("c.yaml", yaml)]);
        assert!(!report.ok);
        assert_eq!(report.errors, 3, "{}", report.text);
        assert!(
            report
                .text
                .contains("  error: providers.a.issuer: must not be empty\n")
        );
        assert!(
            report
                .text
                .contains("  error: providers.b.audiences: at least one audience")
        );
        assert!(report.text.contains(
            "  error: rules[0].requires.provider_name: no provider is called \"nobody\"\n"
        ));
    }

    #[test]
    fn duplicate_json_members_are_refused_as_the_filter_refuses_them() {
        let report = run(&[("c.json", r#"{"rules": [], "rules": []}"#)]);
        assert!(!report.ok);
        assert!(report.text.contains("duplicate"), "{}", report.text);
    }

    fn bootstrap(cluster: &str) -> String {
        let config = serde_json::to_string(GOOD).unwrap();
        format!(
            r#"static_resources:
  listeners:
  - name: api
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          http_filters:
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: jwt_authz
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: {config}
  clusters:
{cluster}"#
        )
    }

    #[test]
    fn an_envoy_bootstrap_is_searched_and_its_clusters_cross_checked() {
        let tls = "  - name: auth0\n    transport_socket:\n      name: envoy.transport_sockets.tls\n      typed_config:\n        sni: t.auth0.com\n";
        let report = run(&[("envoy.yaml", &bootstrap(tls))]);
        assert!(report.ok, "{}", report.text);
        assert!(report.text.starts_with(
            "envoy.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config (Envoy bootstrap, Wasm filter jwt_authz)\n  ok:"
        ), "{}", report.text);
        assert_eq!(report.warnings, 0, "{}", report.text);

        let missing = run(&[("envoy.yaml", &bootstrap("  - name: other\n"))]);
        assert!(missing.ok, "warnings do not fail the check");
        assert!(missing.text.contains(
            "  warning: providers.auth0: cluster \"auth0\" is not in static_resources.clusters: the filter logs `JWKS fetch failed: cannot call cluster \"auth0\" (BadArgument)`"
        ), "{}", missing.text);

        let plain = run(&[("envoy.yaml", &bootstrap("  - name: auth0\n"))]);
        assert!(
            plain
                .text
                .contains("has no TLS transport socket but the URI is https"),
            "{}",
            plain.text
        );

        let wrong_sni = run(&[(
            "envoy.yaml",
            &bootstrap(&tls.replace("sni: t.auth0.com", "sni: other.auth0.com")),
        )]);
        assert!(
            wrong_sni
                .text
                .contains("sends SNI other.auth0.com, but the URI's host is t.auth0.com"),
            "{}",
            wrong_sni.text
        );
    }

    #[test]
    fn istio_cluster_names_service_entries_and_tls_are_checked() {
        let plugin = |cluster: &str, phase: &str| {
            format!(
                "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: jwt-authz, namespace: istio-system}}\n\
                 spec:\n  url: oci://r/jwt-authz:1\n  {phase}\n  pluginConfig:\n    providers:\n      auth0:\n        issuer: https://t.auth0.com/\n        audiences: [a]\n        oidc_discovery: {{cluster: \"{cluster}\"}}\n    rules:\n    - match: {{prefix: /}}\n      requires: {{provider_name: auth0}}\n"
            )
        };
        let entry = "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: auth0}\nspec:\n  hosts: [t.auth0.com]\n  ports: [{number: 443, name: https, protocol: HTTPS}]\n";
        let rule = "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: auth0}\nspec:\n  host: t.auth0.com\n  trafficPolicy:\n    tls: {mode: SIMPLE, sni: t.auth0.com}\n";
        let good = run(&[
            (
                "p.yaml",
                &plugin("outbound|443||t.auth0.com", "phase: AUTHN"),
            ),
            ("se.yaml", &format!("{entry}{rule}")),
        ]);
        assert!(good.ok, "{}", good.text);
        assert_eq!(good.warnings, 0, "{}", good.text);
        assert!(
            good.text
                .contains("p.yaml: WasmPlugin istio-system/jwt-authz, spec.pluginConfig\n  ok:"),
            "{}",
            good.text
        );

        let bad = run(&[(
            "p.yaml",
            &format!("{}{entry}", plugin("auth0", "phase: STATS")),
        )]);
        assert!(bad.text.contains("phase is STATS"), "{}", bad.text);
        assert!(bad.text.contains(
            "cluster \"auth0\" is not an Istio cluster name: Istio names the cluster of a ServiceEntry host `outbound|PORT||HOST`, here `outbound|443||t.auth0.com`"
        ), "{}", bad.text);

        let no_entry = run(&[(
            "p.yaml",
            &plugin("outbound|443||t.auth0.com", "phase: AUTHN"),
        )]);
        assert!(
            no_entry
                .text
                .contains("no ServiceEntry in the files checked has host t.auth0.com and port 443"),
            "{}",
            no_entry.text
        );
        assert!(
            no_entry
                .text
                .contains("no DestinationRule in the files checked originates TLS"),
            "{}",
            no_entry.text
        );
    }

    #[test]
    fn envoy_gateway_clusters_come_from_patch_policies() {
        let policy = "apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: EnvoyExtensionPolicy\nmetadata: {name: jwt-authz, namespace: default}\n\
                      spec:\n  wasm:\n  - name: jwt-authz\n    code: {type: Image, image: {url: r/jwt-authz:1}}\n    config:\n      providers:\n        auth0:\n          issuer: https://t.auth0.com/\n          audiences: [a]\n          oidc_discovery: {cluster: auth0}\n      rules:\n      - match: {prefix: /}\n        requires: {provider_name: auth0}\n";
        let patch = "---\napiVersion: gateway.envoyproxy.io/v1alpha1\nkind: EnvoyPatchPolicy\nmetadata: {name: auth0}\nspec:\n  jsonPatches:\n  - type: type.googleapis.com/envoy.config.cluster.v3.Cluster\n    name: auth0\n    operation:\n      op: add\n      path: ''\n      value:\n        name: auth0\n        transport_socket:\n          name: envoy.transport_sockets.tls\n          typed_config: {sni: t.auth0.com}\n";
        let good = run(&[("eg.yaml", &format!("{policy}{patch}"))]);
        assert!(good.ok, "{}", good.text);
        assert_eq!(good.warnings, 0, "{}", good.text);
        let missing = run(&[("eg.yaml", policy)]);
        assert!(
            missing
                .text
                .contains("no EnvoyPatchPolicy in the files checked adds cluster \"auth0\""),
            "{}",
            missing.text
        );
    }

    #[test]
    fn an_auth0_issuer_without_its_slash_is_warned_about() {
        let report = run(&[(
            "c.json",
            &GOOD.replace("https://t.auth0.com/", "https://t.auth0.com"),
        )]);
        assert!(report.text.contains(
            "  warning: providers.auth0: Auth0 issues tokens with `iss` \"https://t.auth0.com/\" (trailing slash): with \"https://t.auth0.com\" every token is refused as `Jwt issuer is not allowed`"
        ), "{}", report.text);
    }

    #[test]
    fn kubectl_lists_are_searched() {
        let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: extensions.istio.io/v1alpha1\n  kind: WasmPlugin\n  metadata: {name: jwt-authz, namespace: istio-system}\n  spec:\n    phase: AUTHN\n    pluginConfig:\n      rules: [{match: {prefix: /}}]\n";
        let report = run(&[("(stdin)", list)]);
        assert!(report.ok, "{}", report.text);
        assert!(report.text.starts_with("(stdin): items[0]: WasmPlugin istio-system/jwt-authz, spec.pluginConfig\n  ok: 0 provider(s)"), "{}", report.text);
    }

    #[test]
    fn a_file_without_any_configuration_fails() {
        let report = run(&[("x.yaml", "static_resources: {}\n")]);
        assert!(!report.ok);
        assert!(
            report
                .text
                .starts_with("x.yaml: no jwt-authz configuration found\n")
        );
    }

    #[test]
    fn other_wasm_plugins_are_skipped() {
        let other = "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: basic-auth, namespace: x}\nspec:\n  url: oci://r/basic-auth:1\n  pluginConfig: {users: []}\n";
        let report = run(&[("o.yaml", other)]);
        assert!(
            report
                .text
                .contains("WasmPlugin x/basic-auth, spec.pluginConfig: not jwt-authz, skipped"),
            "{}",
            report.text
        );
    }
}
