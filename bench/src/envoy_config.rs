//! The benchmark's Envoy configuration: one listener per filter set, side by side in one
//! process, every route a `direct_response`, so the filters are the only difference.

use devstack::bootstrap::static_cluster;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::algorithm::{HMAC_ISSUER, HMAC_PATH};

/// The audience every token is minted for and every verifier requires.
pub const AUDIENCE: &str = devidp::DEFAULT_AUDIENCE;

/// Entries in native jwt_authn's token cache (`jwt_cache_config.jwt_cache_size`; Envoy's
/// default is 100 as well).
pub const NATIVE_JWT_CACHE_SIZE: u32 = 100;

/// The body of every direct response.
const BODY: &str = "ok";

const JWT_AUTHN_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";

/// What sits in front of a listener's `direct_response`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Listener {
    /// Nothing but the router.
    NoFilter,
    /// Envoy's `envoy.filters.http.jwt_authn`, no `jwt_cache_config`.
    Native,
    /// Envoy's `envoy.filters.http.jwt_authn` with `jwt_cache_config`.
    NativeCached,
    /// A Rust proxy-wasm filter that returns `Continue`: the Wasm boundary alone.
    Noop,
    /// The same filter making jwt-authz's host calls for an allowed request (read the
    /// headers, remove the token): the least any Wasm filter doing this job pays.
    HostCalls,
    /// jwt-authz (dist/jwt_authz.wasm).
    Ours,
    /// `jwt_authn` without cache, with a local key of every algorithm (an HMAC provider apart).
    NativeAlgorithms,
    /// jwt-authz with the same providers and keys as [`Listener::NativeAlgorithms`].
    OursAlgorithms,
    /// The design card's stack (`bench/card-stack`: jsonwebtoken on RustCrypto) with the same
    /// providers and keys.
    CardStack,
    /// The primitives filter (`bench/primitives`): one signature verified per request, chosen
    /// by path, deciding nothing.
    Primitives,
    /// jwt-authz as [`Listener::Ours`], its provider taking DPoP-bound tokens too
    /// (`dpop.mode: allowed`, ES256 proofs).
    OursDpop,
    /// jwt-authz as [`Listener::Ours`] behind TLS with optional client certificates, its
    /// provider enforcing certificate-bound tokens.
    OursMtls,
    /// jwt-authz as [`Listener::OursDpop`] with the longest proof window (`max_age` 600 s),
    /// for the flood of distinct proofs that fills the replay store.
    OursDpopFlood,
}

impl Listener {
    pub const ALL: [Listener; 13] = [
        Listener::NoFilter,
        Listener::Native,
        Listener::NativeCached,
        Listener::Noop,
        Listener::HostCalls,
        Listener::Ours,
        Listener::NativeAlgorithms,
        Listener::OursAlgorithms,
        Listener::CardStack,
        Listener::Primitives,
        Listener::OursDpop,
        Listener::OursMtls,
        Listener::OursDpopFlood,
    ];

    /// The listeners of the classic workloads (RS256 keys from the dev IdP).
    pub const CLASSIC: [Listener; 6] = [
        Listener::NoFilter,
        Listener::Native,
        Listener::NativeCached,
        Listener::Noop,
        Listener::HostCalls,
        Listener::Ours,
    ];

    /// The listeners of the algorithm workloads.
    pub const ALGORITHMS: [Listener; 4] = [
        Listener::NoFilter,
        Listener::NativeAlgorithms,
        Listener::OursAlgorithms,
        Listener::CardStack,
    ];

    /// The listeners of an algorithm the card stack does not implement (ES512).
    pub const ALGORITHMS_BUT_CARD_STACK: [Listener; 3] = [
        Listener::NoFilter,
        Listener::NativeAlgorithms,
        Listener::OursAlgorithms,
    ];

    /// A short name for tables.
    pub fn label(self) -> &'static str {
        match self {
            Listener::NoFilter => "no filter",
            Listener::Native => "jwt_authn",
            Listener::NativeCached => "jwt_authn + cache",
            Listener::Noop => "no-op wasm",
            Listener::HostCalls => "wasm host calls",
            Listener::Ours => "jwt-authz",
            Listener::NativeAlgorithms => "jwt_authn, every alg",
            Listener::OursAlgorithms => "jwt-authz, every alg",
            Listener::CardStack => "card stack (jsonwebtoken), every alg",
            Listener::Primitives => "primitives wasm",
            Listener::OursDpop => "jwt-authz, DPoP allowed",
            Listener::OursMtls => "jwt-authz, TLS, certificate binding",
            Listener::OursDpopFlood => "jwt-authz, DPoP, 600 s proof window",
        }
    }

    /// The listener's name and HTTP stat prefix.
    pub fn id(self) -> &'static str {
        match self {
            Listener::NoFilter => "nofilter",
            Listener::Native => "native",
            Listener::NativeCached => "native_cached",
            Listener::Noop => "noop",
            Listener::HostCalls => "host_calls",
            Listener::Ours => "ours",
            Listener::NativeAlgorithms => "native_algorithms",
            Listener::OursAlgorithms => "ours_algorithms",
            Listener::CardStack => "card_stack",
            Listener::Primitives => "primitives",
            Listener::OursDpop => "ours_dpop",
            Listener::OursMtls => "ours_mtls",
            Listener::OursDpopFlood => "ours_dpop_flood",
        }
    }

    /// Whether the listener answers 401 to requests without a valid token.
    pub fn authenticates(self) -> bool {
        matches!(
            self,
            Listener::Native
                | Listener::NativeCached
                | Listener::Ours
                | Listener::NativeAlgorithms
                | Listener::OursAlgorithms
                | Listener::CardStack
                | Listener::OursDpop
                | Listener::OursMtls
                | Listener::OursDpopFlood
        )
    }

    /// Whether the listener runs jwt-authz.
    pub fn is_ours(self) -> bool {
        matches!(
            self,
            Listener::Ours
                | Listener::OursAlgorithms
                | Listener::OursDpop
                | Listener::OursMtls
                | Listener::OursDpopFlood
        )
    }

    /// Whether the listener speaks TLS.
    pub fn is_tls(self) -> bool {
        self == Listener::OursMtls
    }

    /// Whether the listener runs a Wasm filter.
    pub fn is_wasm(self) -> bool {
        self.is_ours()
            || matches!(
                self,
                Listener::Noop | Listener::HostCalls | Listener::CardStack | Listener::Primitives
            )
    }

    /// The Envoy cluster this listener's filter fetches keys through: one per listener, so
    /// Envoy's cluster stats tell who fetched the JWKS how often. None for local keys.
    pub fn jwks_cluster(self) -> Option<String> {
        matches!(
            self,
            Listener::Native
                | Listener::NativeCached
                | Listener::Ours
                | Listener::OursDpop
                | Listener::OursMtls
                | Listener::OursDpopFlood
        )
        .then(|| format!("idp_{}", self.id()))
    }
}

/// Everything the config depends on.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub admin_port: u16,
    /// The listeners to configure, each with its port.
    pub listeners: Vec<(Listener, u16)>,
    /// The dev IdP's socket address (the JWKS clusters point there).
    pub idp_addr: SocketAddr,
    pub issuer: String,
    pub jwks_uri: String,
    /// jwt-authz, absolute.
    pub ours_module: PathBuf,
    /// The no-op filter, absolute.
    pub noop_module: PathBuf,
    /// The card stack's filter, absolute.
    pub card_stack_module: PathBuf,
    /// The primitives filter, absolute, and its configuration (JSON).
    pub primitives_module: PathBuf,
    pub primitives_config: String,
    /// The local key sets of the algorithm listeners.
    pub algorithm_keys: AlgorithmKeySets,
    /// The TLS transport socket of [`Listener::OursMtls`] ([`devstack::tls::Pki::downstream_tls`]).
    pub listener_tls: Value,
}

/// The algorithm listeners' keys: the asymmetric provider's (issuer: the dev IdP's) and the
/// HMAC provider's, each a JWKS document.
#[derive(Debug, Clone, Default)]
pub struct AlgorithmKeySets {
    pub asymmetric_jwks: String,
    pub hmac_jwks: String,
}

impl BenchConfig {
    /// The whole Envoy bootstrap, YAML.
    pub fn yaml(&self) -> String {
        let listeners: String = self
            .listeners
            .iter()
            .map(|&(listener, port)| self.listener_yaml(listener, port))
            .collect();
        let clusters: String = self
            .listeners
            .iter()
            .filter_map(|&(listener, _)| listener.jwks_cluster())
            .map(|name| static_cluster(&name, self.idp_addr))
            .collect();
        let clusters = if clusters.is_empty() {
            "  clusters: []\n".to_string()
        } else {
            format!("  clusters:\n{clusters}")
        };
        format!(
            "admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}\n\
             static_resources:\n  listeners:\n{listeners}{clusters}",
            admin = self.admin_port,
        )
    }

    fn listener_yaml(&self, listener: Listener, port: u16) -> String {
        let filters: String = self
            .http_filters(listener)
            .iter()
            .map(|filter| format!("          - {}\n", flow(filter)))
            .collect();
        let id = listener.id();
        let tls = if listener.is_tls() {
            format!("      transport_socket: {}\n", flow(&self.listener_tls))
        } else {
            String::new()
        };
        format!(
            r#"  - name: {id}
    address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: {id}
          route_config:
            virtual_hosts:
            - name: {id}
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                direct_response: {{status: 200, body: {{inline_string: "{BODY}"}}}}
          http_filters:
{filters}{tls}"#
        )
    }

    /// The listener's HTTP filters, router last, each as JSON (which is YAML).
    fn http_filters(&self, listener: Listener) -> Vec<Value> {
        let mut filters = match listener {
            Listener::NoFilter => vec![],
            Listener::Native => vec![self.jwt_authn(listener, false)],
            Listener::NativeCached => vec![self.jwt_authn(listener, true)],
            Listener::Noop => vec![wasm_filter(
                "noop",
                &self.noop_module.display().to_string(),
                None,
            )],
            Listener::HostCalls => vec![wasm_filter(
                "host_calls",
                &self.noop_module.display().to_string(),
                Some(&Value::String("host-calls".to_string())),
            )],
            Listener::Ours => vec![wasm_filter(
                "jwt_authz",
                &self.ours_module.display().to_string(),
                Some(&self.ours_filter_config(listener)),
            )],
            Listener::NativeAlgorithms => {
                let mut config = self.algorithms_config(false);
                config["@type"] = json!(JWT_AUTHN_TYPE);
                vec![json!({"name": "envoy.filters.http.jwt_authn", "typed_config": config})]
            }
            Listener::OursAlgorithms => vec![wasm_filter(
                "jwt_authz_algorithms",
                &self.ours_module.display().to_string(),
                Some(&self.algorithms_config(true)),
            )],
            Listener::CardStack => vec![wasm_filter(
                "card_stack",
                &self.card_stack_module.display().to_string(),
                Some(&self.card_stack_config()),
            )],
            Listener::Primitives => vec![wasm_filter(
                "primitives",
                &self.primitives_module.display().to_string(),
                Some(&Value::String(self.primitives_config.clone())),
            )],
            Listener::OursDpop | Listener::OursMtls | Listener::OursDpopFlood => vec![wasm_filter(
                listener.id(),
                &self.ours_module.display().to_string(),
                Some(&self.ours_filter_config(listener)),
            )],
        };
        filters.push(json!({
            "name": "envoy.filters.http.router",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
            }
        }));
        filters
    }

    /// Native jwt_authn: one provider on the dev IdP, the token from the Authorization
    /// header or `?access_token=`, required on every route.
    fn jwt_authn(&self, listener: Listener, cache: bool) -> Value {
        let mut provider = json!({
            "issuer": self.issuer,
            "audiences": [AUDIENCE],
            "remote_jwks": {
                "http_uri": {
                    "uri": self.jwks_uri,
                    "cluster": listener.jwks_cluster(),
                    "timeout": "5s"
                },
                "cache_duration": "600s"
            },
            "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
            "from_params": ["access_token"]
        });
        if cache {
            provider["jwt_cache_config"] = json!({"jwt_cache_size": NATIVE_JWT_CACHE_SIZE});
        }
        json!({
            "name": "envoy.filters.http.jwt_authn",
            "typed_config": {
                "@type": JWT_AUTHN_TYPE,
                "providers": {"idp": provider},
                "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "idp"}}]
            }
        })
    }

    /// The algorithm listeners' filter config, the same for both but for jwt-authz's
    /// `algorithms` on the HMAC provider (which it requires to take a secret) and its
    /// verified-token cache turned off, as native's is (so every request verifies, whatever
    /// the size of the token pool): one provider
    /// with a public key of every asymmetric algorithm, one with the HMAC secret on
    /// [`HMAC_PATH`], both with the classic provider's token locations.
    fn algorithms_config(&self, ours: bool) -> Value {
        let provider = |issuer: &str, jwks: &str| {
            json!({
                "issuer": issuer,
                "audiences": [AUDIENCE],
                "local_jwks": {"inline_string": jwks},
                "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
                "from_params": ["access_token"]
            })
        };
        let keys = &self.algorithm_keys;
        let mut asymmetric = provider(&self.issuer, &keys.asymmetric_jwks);
        let mut hmac = provider(HMAC_ISSUER, &keys.hmac_jwks);
        if ours {
            hmac["algorithms"] = json!(["HS256"]);
            for provider in [&mut asymmetric, &mut hmac] {
                provider["jwt_cache_config"] = json!({"jwt_cache_size": 0});
            }
        }
        json!({
            "providers": {
                "asymmetric": asymmetric,
                "hmac": hmac
            },
            "rules": [
                {"match": {"prefix": HMAC_PATH}, "requires": {"provider_name": "hmac"}},
                {"match": {"prefix": "/"}, "requires": {"provider_name": "asymmetric"}}
            ]
        })
    }

    /// The card stack with the algorithm listeners' providers, rules and keys, in its own
    /// configuration format: the first provider whose prefix starts the path decides.
    pub fn card_stack_config(&self) -> Value {
        let keys = &self.algorithm_keys;
        let jwks = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
        json!({
            "providers": [
                {
                    "path_prefix": HMAC_PATH,
                    "issuer": HMAC_ISSUER,
                    "audiences": [AUDIENCE],
                    "jwks": jwks(&keys.hmac_jwks)
                },
                {
                    "path_prefix": "/",
                    "issuer": self.issuer,
                    "audiences": [AUDIENCE],
                    "jwks": jwks(&keys.asymmetric_jwks)
                }
            ]
        })
    }

    /// jwt-authz with the same provider and rule as native jwt_authn; on the
    /// sender-constrained listeners, with DPoP or certificate binding on.
    fn ours_filter_config(&self, listener: Listener) -> Value {
        let mut config = json!({
            "providers": {
                "idp": {
                    "issuer": self.issuer,
                    "audiences": [AUDIENCE],
                    "remote_jwks": {
                        "http_uri": {
                            "uri": self.jwks_uri,
                            "cluster": listener.jwks_cluster(),
                            "timeout": "5s"
                        },
                        "cache_duration": "600s"
                    },
                    "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
                    "from_params": ["access_token"]
                }
            },
            "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "idp"}}]
        });
        let provider = &mut config["providers"]["idp"];
        match listener {
            // A proof is recorded until `max_age` plus the clock skew after its `iat`: a short
            // window keeps the replay store far from full at this rate of fresh proofs.
            Listener::OursDpop => {
                provider["dpop"] =
                    json!({"mode": "allowed", "algorithms": ["ES256"], "max_age": "2s"});
                provider["clock_skew_seconds"] = json!(1);
            }
            Listener::OursMtls => {
                provider["certificate_binding"] = json!({"mode": "enforced"});
            }
            Listener::OursDpopFlood => {
                provider["dpop"] =
                    json!({"mode": "allowed", "algorithms": ["ES256"], "max_age": "600s"});
            }
            _ => {}
        }
        config
    }
}

/// An `envoy.filters.http.wasm` filter on the V8 runtime; `configuration` goes in as a
/// string: a JSON string as it is, anything else as JSON.
fn wasm_filter(name: &str, module: &str, configuration: Option<&Value>) -> Value {
    let mut config = json!({
        "name": name,
        "root_id": name,
        "vm_config": {
            "vm_id": name,
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": module}}
        }
    });
    if let Some(configuration) = configuration {
        let value = match configuration {
            Value::String(text) => text.clone(),
            json => json.to_string(),
        };
        config["configuration"] = json!({
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": value
        });
    }
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": config
        }
    })
}

/// JSON is YAML: one value on one line, usable as a flow node anywhere.
fn flow(value: &Value) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listeners: &[Listener]) -> BenchConfig {
        BenchConfig {
            admin_port: 9000,
            listeners: listeners
                .iter()
                .enumerate()
                .map(|(i, &l)| (l, 9100 + i as u16))
                .collect(),
            idp_addr: "127.0.0.1:9200".parse().unwrap(),
            issuer: "http://127.0.0.1:9200/".to_string(),
            jwks_uri: "http://127.0.0.1:9200/.well-known/jwks.json".to_string(),
            ours_module: devstack::module_path(),
            noop_module: devstack::module_path(),
            card_stack_module: devstack::module_path(),
            primitives_module: devstack::module_path(),
            primitives_config: String::new(),
            algorithm_keys: AlgorithmKeySets {
                asymmetric_jwks: r#"{"keys":[]}"#.to_string(),
                hmac_jwks: r#"{"keys":[]}"#.to_string(),
            },
            listener_tls: Value::Null,
        }
    }

    #[test]
    fn only_the_authenticating_listeners_fetch_keys() {
        let clusters: Vec<_> = Listener::ALL
            .iter()
            .filter_map(|l| l.jwks_cluster())
            .collect();
        assert_eq!(
            clusters,
            [
                "idp_native",
                "idp_native_cached",
                "idp_ours",
                "idp_ours_dpop",
                "idp_ours_mtls",
                "idp_ours_dpop_flood"
            ]
        );
        assert!(!Listener::Noop.authenticates());
        assert!(!Listener::HostCalls.authenticates());
    }

    #[test]
    fn the_cache_is_configured_on_one_native_listener_only() {
        let yaml = config(&Listener::CLASSIC).yaml();
        assert_eq!(yaml.matches("jwt_cache_config").count(), 1);
        assert_eq!(yaml.matches("envoy.filters.http.jwt_authn\"").count(), 2);
        assert_eq!(
            yaml.matches("\"runtime\":\"envoy.wasm.runtime.v8\"")
                .count(),
            3
        );
        assert!(yaml.contains("\"value\":\"host-calls\""));
        assert_eq!(yaml.matches("direct_response").count(), 6);
        assert_eq!(yaml.matches("envoy.filters.http.router\"").count(), 6);
        for port in 9100..9106 {
            assert!(yaml.contains(&format!("port_value: {port}}}")), "{port}");
        }
    }

    #[test]
    fn native_and_ours_share_issuer_audience_and_token_locations() {
        let bench = config(&Listener::CLASSIC);
        let native = bench.jwt_authn(Listener::Native, false);
        let native = &native["typed_config"]["providers"]["idp"];
        let ours = bench.ours_filter_config(Listener::Ours);
        let ours = &ours["providers"]["idp"];
        for field in ["issuer", "audiences", "from_headers", "from_params"] {
            assert_eq!(native[field], ours[field], "{field}");
        }
        assert_eq!(native["from_params"], json!(["access_token"]));
        assert_eq!(
            native["remote_jwks"]["http_uri"]["cluster"],
            json!("idp_native")
        );
        assert_eq!(
            ours["remote_jwks"]["http_uri"]["cluster"],
            json!("idp_ours")
        );
    }

    #[test]
    fn the_algorithm_listeners_share_keys_and_rules_and_fetch_nothing() {
        let bench = config(&Listener::ALL);
        let native = bench.algorithms_config(false);
        let ours = bench.algorithms_config(true);
        assert_eq!(native["rules"], ours["rules"]);
        assert_eq!(native["rules"][0]["match"]["prefix"], HMAC_PATH);
        for name in ["asymmetric", "hmac"] {
            for field in ["issuer", "audiences", "local_jwks", "from_params"] {
                assert_eq!(
                    native["providers"][name][field], ours["providers"][name][field],
                    "{name} {field}"
                );
            }
        }
        assert_eq!(ours["providers"]["hmac"]["algorithms"], json!(["HS256"]));
        assert!(native["providers"]["hmac"].get("algorithms").is_none());
        assert!(ours["providers"]["asymmetric"].get("algorithms").is_none());
        for name in ["asymmetric", "hmac"] {
            let off = json!({"jwt_cache_size": 0});
            assert_eq!(ours["providers"][name]["jwt_cache_config"], off);
            assert!(native["providers"][name].get("jwt_cache_config").is_none());
        }
        assert_eq!(native["providers"]["hmac"]["issuer"], HMAC_ISSUER);
        assert_eq!(Listener::NativeAlgorithms.jwks_cluster(), None);
        assert_eq!(Listener::OursAlgorithms.jwks_cluster(), None);
        let yaml = bench.yaml();
        assert!(!yaml.contains("idp_native_algorithms"), "{yaml}");
        assert_eq!(yaml.matches("direct_response").count(), 13);
    }

    #[test]
    fn without_authenticating_listeners_there_are_no_clusters() {
        let yaml = config(&[Listener::NoFilter]).yaml();
        assert!(yaml.contains("clusters: []"), "{yaml}");
    }

    /// Envoy itself accepts the config (skipped without Envoy or a built module).
    #[test]
    fn envoy_accepts_the_config() {
        if devstack::Envoy::binary().is_err() || !devstack::module_path().is_file() {
            eprintln!("skipping: no Envoy or no dist/jwt_authz.wasm");
            return;
        }
        // jwt-authz's configure runs in validate mode too: the filter accepts its config.
        let listeners = [
            Listener::NoFilter,
            Listener::Native,
            Listener::NativeCached,
            Listener::Ours,
            Listener::NativeAlgorithms,
            Listener::OursAlgorithms,
        ];
        let keys = crate::algorithm::Keys::generate().unwrap();
        let mut bench = config(&listeners);
        bench.listeners.extend([
            (Listener::OursDpop, 9110),
            (Listener::OursMtls, 9111),
            (Listener::OursDpopFlood, 9112),
        ]);
        let pki = devstack::tls::Pki::new().unwrap();
        bench.listener_tls = pki.downstream_tls(&pki.server().unwrap());
        bench.algorithm_keys = AlgorithmKeySets {
            asymmetric_jwks: keys.asymmetric_jwks(),
            hmac_jwks: keys.hmac_jwks(),
        };
        devstack::validate(&bench.yaml()).unwrap();
    }
}
