//! Where jwt-authz plugin configurations are in a file, and which upstream clusters the same
//! file defines for their key fetches: a bare configuration (JSON or YAML), an Envoy bootstrap,
//! or Kubernetes manifests (Istio `WasmPlugin` with `ServiceEntry` and `DestinationRule`,
//! Envoy Gateway `EnvoyExtensionPolicy` with `EnvoyPatchPolicy`), several documents per file.

use crate::yaml;
use serde_json::Value;

const WASM_FILTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const STRING_VALUE_TYPE: &str = "type.googleapis.com/google.protobuf.StringValue";
const CLUSTER_TYPE: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

/// The platform a configuration was found in: it decides how clusters are named and defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// A configuration on its own: nothing to cross-check.
    Bare,
    Envoy,
    Istio,
    EnvoyGateway,
}

/// One plugin configuration and where it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// `FILE: where in it`, for the report.
    pub origin: String,
    pub platform: Platform,
    /// The configuration as the filter receives it (JSON bytes), or why it cannot be read.
    pub config: Result<Vec<u8>, String>,
    /// The Istio `WasmPlugin`'s phase, where there is one.
    pub phase: Option<String>,
}

/// An upstream cluster a file defines, as far as the checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub platform: Platform,
    pub name: String,
    /// The cluster originates TLS (Envoy `transport_socket`, Istio `DestinationRule` SIMPLE).
    pub tls: bool,
    /// The SNI it sends, if set.
    pub sni: Option<String>,
}

/// What one file holds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Inventory {
    pub found: Vec<Found>,
    pub clusters: Vec<Cluster>,
    /// An Envoy bootstrap that takes clusters from CDS: a missing static cluster proves nothing.
    pub dynamic_clusters: bool,
    /// Wasm filters that are not jwt-authz, by origin.
    pub skipped: Vec<String>,
    /// Istio `DestinationRule`s that make a host's clusters originate TLS.
    pub tls_origination: Vec<TlsOrigination>,
}

/// TLS mode SIMPLE for `host` on `port` (every port when `None`), from a `DestinationRule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOrigination {
    pub host: String,
    pub port: Option<u64>,
    pub sni: Option<String>,
}

/// Reads `text` (the contents of `file`) and finds every jwt-authz configuration in it.
pub fn inventory(file: &str, text: &str) -> Result<Inventory, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        // JSON: read strictly, as the filter would (duplicate members refused).
        let object = jwt_authz::json::parse_object_explained(text.as_bytes())
            .map_err(|e| format!("not valid JSON: {e}"))?;
        let value = Value::Object(object);
        if is_bare_config(&value) {
            return Ok(Inventory {
                found: vec![bare(file, text.as_bytes().to_vec())],
                ..Inventory::default()
            });
        }
        let mut inventory = Inventory::default();
        envoy_bootstrap(file, &value, &mut inventory);
        return Ok(inventory);
    }
    let documents = yaml::parse_documents(text)?;
    let mut inventory = Inventory::default();
    let several = documents.len() > 1;
    for (i, document) in documents.iter().enumerate() {
        let value = &document.value;
        let place = if several {
            format!("{file}: document {} (line {})", i + 1, document.line)
        } else {
            file.to_string()
        };
        if value.is_null() {
            continue;
        }
        if value.get("kind").and_then(Value::as_str) == Some("List") {
            // `kubectl get … -o yaml` wraps several resources in a List.
            for (j, item) in value
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(kind) = item.get("kind").and_then(Value::as_str) {
                    kubernetes(&format!("{place}: items[{j}]"), kind, item, &mut inventory);
                }
            }
        } else if let Some(kind) = value.get("kind").and_then(Value::as_str) {
            kubernetes(&place, kind, value, &mut inventory);
        } else if is_bare_config(value) {
            let json = serde_json::to_vec(value).map_err(|e| e.to_string())?;
            inventory.found.push(bare(&place, json));
        } else {
            envoy_bootstrap(&place, value, &mut inventory);
        }
    }
    Ok(inventory)
}

/// A plugin configuration rather than a bootstrap or a manifest.
fn is_bare_config(value: &Value) -> bool {
    let Some(object) = value.as_object() else {
        return true;
    };
    let bootstrap_keys = ["static_resources", "dynamic_resources", "admin", "node"];
    !object.keys().any(|k| bootstrap_keys.contains(&k.as_str()))
}

fn bare(origin: &str, json: Vec<u8>) -> Found {
    Found {
        origin: format!("{origin} (plugin configuration)"),
        platform: Platform::Bare,
        config: Ok(json),
        phase: None,
    }
}

// ---- Envoy bootstrap -----------------------------------------------------------------------

fn envoy_bootstrap(place: &str, bootstrap: &Value, inventory: &mut Inventory) {
    inventory.dynamic_clusters |= bootstrap.pointer("/dynamic_resources/cds_config").is_some();
    if let Some(clusters) = bootstrap
        .pointer("/static_resources/clusters")
        .and_then(Value::as_array)
    {
        inventory.clusters.extend(
            clusters
                .iter()
                .filter_map(|c| envoy_cluster(Platform::Envoy, c)),
        );
    }
    walk(bootstrap, String::new(), &mut |path, object| {
        if object.get("@type").and_then(Value::as_str) == Some(WASM_FILTER_TYPE) {
            wasm_filter(place, path, object, inventory);
        }
    });
}

/// Calls `visit` on every object in `value`, with its path (`a.b[2].c`).
pub fn walk<'v>(
    value: &'v Value,
    path: String,
    visit: &mut dyn FnMut(&str, &'v serde_json::Map<String, Value>),
) {
    match value {
        Value::Object(object) => {
            visit(&path, object);
            for (key, child) in object {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(child, child_path, visit);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, format!("{path}[{i}]"), visit);
            }
        }
        _ => {}
    }
}

fn wasm_filter(
    place: &str,
    path: &str,
    filter: &serde_json::Map<String, Value>,
    inventory: &mut Inventory,
) {
    let config = filter.get("config");
    let text = |pointer: &str| {
        config
            .and_then(|c| c.pointer(pointer))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let name = text("/name");
    let identity = [
        name,
        text("/root_id"),
        text("/vm_config/code/local/filename"),
        text("/vm_config/code/remote/http_uri/uri"),
    ];
    let configuration = config.and_then(|c| c.get("configuration"));
    let payload = match configuration {
        None => Err("the Wasm filter has no `configuration`".to_string()),
        Some(c) if c.get("@type").and_then(Value::as_str) != Some(STRING_VALUE_TYPE) => Err(
            "`configuration` must be a google.protobuf.StringValue holding the JSON".to_string(),
        ),
        Some(c) => c
            .get("value")
            .and_then(Value::as_str)
            .map(|v| v.as_bytes().to_vec())
            .ok_or_else(|| "`configuration.value` must be a string".to_string()),
    };
    let origin = format!(
        "{place}: {path} (Envoy bootstrap, Wasm filter {})",
        if name.is_empty() {
            "without a name"
        } else {
            name
        }
    );
    if is_ours(&identity, payload.as_deref().ok()) {
        inventory.found.push(Found {
            origin,
            platform: Platform::Envoy,
            config: payload,
            phase: None,
        });
    } else {
        inventory.skipped.push(origin);
    }
}

/// jwt-authz by its name, root id or module file, or by a configuration that has `rules`.
fn is_ours(identity: &[&str], config: Option<&[u8]>) -> bool {
    let named = identity.iter().any(|s| {
        let s = s.to_ascii_lowercase();
        s.contains("jwt_authz") || s.contains("jwt-authz")
    });
    let shaped = config
        .and_then(|c| serde_json::from_slice::<Value>(c).ok())
        .is_some_and(|v| v.get("rules").is_some());
    named || shaped
}

/// An Envoy cluster (bootstrap, or an Envoy Gateway patch adding one).
fn envoy_cluster(platform: Platform, cluster: &Value) -> Option<Cluster> {
    let name = cluster.get("name")?.as_str()?.to_string();
    let socket = cluster.get("transport_socket");
    let tls = socket.is_some_and(|s| {
        let named = s.get("name").and_then(Value::as_str) == Some("envoy.transport_sockets.tls");
        let typed = s
            .pointer("/typed_config/@type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("UpstreamTlsContext"));
        named || typed
    });
    let sni = socket
        .and_then(|s| s.pointer("/typed_config/sni"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(Cluster {
        platform,
        name,
        tls,
        sni,
    })
}

// ---- Kubernetes manifests ------------------------------------------------------------------

fn kubernetes(place: &str, kind: &str, resource: &Value, inventory: &mut Inventory) {
    let api = resource
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let group = api.split('/').next().unwrap_or_default();
    let name = format!(
        "{}/{}",
        resource
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("(default namespace)"),
        resource
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("(no name)")
    );
    let spec = resource.get("spec").unwrap_or(&Value::Null);
    match (group, kind) {
        ("extensions.istio.io", "WasmPlugin") => istio_wasm_plugin(place, &name, spec, inventory),
        ("networking.istio.io", "ServiceEntry") => istio_service_entry(spec, inventory),
        ("networking.istio.io", "DestinationRule") => istio_destination_rule(spec, inventory),
        ("gateway.envoyproxy.io", "EnvoyExtensionPolicy") => {
            gateway_extension_policy(place, &name, spec, inventory)
        }
        ("gateway.envoyproxy.io", "EnvoyPatchPolicy") => gateway_patch_policy(spec, inventory),
        _ => {}
    }
}

fn istio_wasm_plugin(place: &str, name: &str, spec: &Value, inventory: &mut Inventory) {
    let text = |key: &str| spec.get(key).and_then(Value::as_str).unwrap_or_default();
    let config = spec.get("pluginConfig");
    let origin = format!("{place}: WasmPlugin {name}, spec.pluginConfig");
    let identity = [name, text("url"), text("pluginName")];
    let json = config.map(|c| serde_json::to_vec(c).unwrap_or_default());
    if !is_ours(&identity, json.as_deref()) {
        inventory.skipped.push(origin);
        return;
    }
    inventory.found.push(Found {
        origin,
        platform: Platform::Istio,
        config: json.ok_or_else(|| "the WasmPlugin has no `pluginConfig`".to_string()),
        phase: Some(text("phase").to_string()).filter(|p| !p.is_empty()),
    });
}

/// Istio names the outbound cluster of each host and port `outbound|PORT||HOST`.
fn istio_service_entry(spec: &Value, inventory: &mut Inventory) {
    let ports: Vec<u64> = spec
        .get("ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| p.get("number")?.as_u64())
                .collect()
        })
        .unwrap_or_default();
    for host in string_list(&spec["hosts"]) {
        for port in &ports {
            inventory.clusters.push(Cluster {
                platform: Platform::Istio,
                name: istio_cluster_name(&host, *port),
                tls: false,
                sni: None,
            });
        }
    }
}

pub fn istio_cluster_name(host: &str, port: u64) -> String {
    format!("outbound|{port}||{host}")
}

/// A `DestinationRule` with TLS mode SIMPLE makes the host's clusters originate TLS.
fn istio_destination_rule(spec: &Value, inventory: &mut Inventory) {
    let Some(host) = spec.get("host").and_then(Value::as_str) else {
        return;
    };
    let policy = spec.get("trafficPolicy").unwrap_or(&Value::Null);
    let simple = |tls: &&Value| tls.get("mode").and_then(Value::as_str) == Some("SIMPLE");
    let sni = |tls: &Value| tls.get("sni").and_then(Value::as_str).map(str::to_string);
    let mut rules: Vec<(Option<u64>, Option<String>)> = Vec::new();
    if let Some(tls) = policy.get("tls").filter(simple) {
        rules.push((None, sni(tls)));
    }
    for setting in policy
        .get("portLevelSettings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(port), Some(tls)) = (
            setting.pointer("/port/number").and_then(Value::as_u64),
            setting.get("tls").filter(simple),
        ) {
            rules.push((Some(port), sni(tls)));
        }
    }
    for (port, sni) in rules {
        inventory.tls_origination.push(TlsOrigination {
            host: host.to_string(),
            port,
            sni,
        });
    }
}

fn gateway_extension_policy(place: &str, name: &str, spec: &Value, inventory: &mut Inventory) {
    for (i, wasm) in spec
        .get("wasm")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let text = |pointer: &str| {
            wasm.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let origin = format!("{place}: EnvoyExtensionPolicy {name}, spec.wasm[{i}].config");
        let identity = [
            text("/name"),
            text("/rootID"),
            text("/code/image/url"),
            text("/code/http/url"),
        ];
        let json = wasm
            .get("config")
            .map(|c| serde_json::to_vec(c).unwrap_or_default());
        if !is_ours(&identity, json.as_deref()) {
            inventory.skipped.push(origin);
            continue;
        }
        inventory.found.push(Found {
            origin,
            platform: Platform::EnvoyGateway,
            config: json.ok_or_else(|| "the Wasm extension has no `config`".to_string()),
            phase: None,
        });
    }
}

/// Clusters added whole by an `EnvoyPatchPolicy` (`op: add` at the empty path).
fn gateway_patch_policy(spec: &Value, inventory: &mut Inventory) {
    for patch in spec
        .get("jsonPatches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let adds_whole = patch.pointer("/operation/op").and_then(Value::as_str) == Some("add")
            && patch
                .pointer("/operation/path")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
        let cluster = patch
            .pointer("/operation/value")
            .filter(|_| adds_whole)
            .filter(|_| patch.get("type").and_then(Value::as_str) == Some(CLUSTER_TYPE))
            .and_then(|v| envoy_cluster(Platform::EnvoyGateway, v));
        inventory.clusters.extend(cluster);
    }
}

/// The strings of a YAML/JSON array; anything else (absent, not an array) is none.
pub fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
