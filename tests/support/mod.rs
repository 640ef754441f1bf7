//! End-to-end harness: a real Envoy with the built module, the dev IdP and an echo upstream,
//! all on free ports, all stopped on drop.
#![allow(dead_code)]

use devidp::{Idp, IdpConfig};
use devstack::bootstrap;
use devstack::{Echo, Envoy, EnvoyOptions, RecordedRequest, Response, free_port, http};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const AUDIENCE: &str = "https://api.example.com";

pub struct Harness {
    pub idp: Idp,
    /// More IdPs, each with the name of the Envoy cluster that reaches it.
    pub other_idps: Vec<(String, Idp)>,
    pub echo: Echo,
    pub envoy: Envoy,
    pub listener: SocketAddr,
}

/// The filter configuration most tests use: one remote provider on the dev IdP, a public
/// prefix, a scope-protected prefix, a protected prefix, and nothing else (so `/other`
/// matches no rule).
pub fn filter_config(idp: &Idp) -> Value {
    json!({
        "providers": {
            "idp": {
                "issuer": idp.issuer(),
                "audiences": [AUDIENCE],
                "remote_jwks": {
                    "http_uri": {"uri": idp.jwks_uri(), "cluster": "idp", "timeout": "2s"},
                    "cache_duration": "600s",
                    "min_refetch_interval": "1s"
                }
            }
        },
        "rules": [
            {"match": {"prefix": "/public"}},
            {"match": {"prefix": "/scoped"}, "requires": {"provider_name": "idp"}, "required_scopes": ["read:messages"]},
            {"match": {"prefix": "/api"}, "requires": {"provider_name": "idp"}}
        ]
    })
}

pub fn start_idp() -> Idp {
    Idp::start("127.0.0.1:0", IdpConfig::default()).expect("dev IdP starts")
}

/// Envoy with `filter` in front of the echo upstream; the `idp` cluster points at the IdP.
pub fn envoy_yaml(
    listener: u16,
    admin: u16,
    idp: SocketAddr,
    upstream: SocketAddr,
    filter: &Value,
) -> String {
    envoy_yaml_with_clusters(listener, admin, &[("idp", idp)], upstream, filter)
}

/// Envoy with `filter` in front of the echo upstream, and one cluster per `(name, address)`
/// in `idp_clusters` (the IdPs the filter fetches keys from).
pub fn envoy_yaml_with_clusters(
    listener: u16,
    admin: u16,
    idp_clusters: &[(&str, SocketAddr)],
    upstream: SocketAddr,
    filter: &Value,
) -> String {
    bootstrap::filter_in_front_of(listener, admin, upstream, idp_clusters, filter)
}

impl Harness {
    /// A fresh IdP, echo upstream and Envoy running `filter(&idp)`.
    pub fn start(filter: impl FnOnce(&Idp) -> Value) -> Harness {
        let idp = start_idp();
        let filter = filter(&idp);
        Harness::start_with(idp, &filter).expect("Envoy starts")
    }

    pub fn start_with(idp: Idp, filter: &Value) -> Result<Harness, String> {
        Harness::start_with_idps(idp, Vec::new(), filter)
    }

    /// Like [`Harness::start`], with `workers` Envoy worker threads (one Wasm VM each).
    pub fn start_with_workers(workers: u32, filter: impl FnOnce(&Idp) -> Value) -> Harness {
        let idp = start_idp();
        let filter = filter(&idp);
        Harness::launch(idp, Vec::new(), &[], &filter, workers).expect("Envoy starts")
    }

    /// Like [`Harness::start_with`], with `workers` workers and more Envoy clusters, each
    /// `(name, address)`, whose address need not have anything listening (an IdP that is
    /// down, or not started yet).
    pub fn start_with_clusters(
        idp: Idp,
        clusters: &[(&str, SocketAddr)],
        filter: &Value,
        workers: u32,
    ) -> Result<Harness, String> {
        Harness::launch(idp, Vec::new(), clusters, filter, workers)
    }

    /// Like [`Harness::start_with`], with more IdPs, each reached through an Envoy cluster
    /// of the name it comes with (`idp` is taken by the first IdP).
    pub fn start_with_idps(
        idp: Idp,
        other_idps: Vec<(String, Idp)>,
        filter: &Value,
    ) -> Result<Harness, String> {
        Harness::launch(idp, other_idps, &[], filter, 1)
    }

    fn launch(
        idp: Idp,
        other_idps: Vec<(String, Idp)>,
        more_clusters: &[(&str, SocketAddr)],
        filter: &Value,
        workers: u32,
    ) -> Result<Harness, String> {
        let echo = Echo::start("127.0.0.1:0").map_err(|e| e.to_string())?;
        let (listener, admin) = (
            free_port().map_err(|e| e.to_string())?,
            free_port().map_err(|e| e.to_string())?,
        );
        let clusters: Vec<(&str, SocketAddr)> = std::iter::once(("idp", idp.addr()))
            .chain(other_idps.iter().map(|(name, i)| (name.as_str(), i.addr())))
            .chain(more_clusters.iter().copied())
            .collect();
        let yaml = envoy_yaml_with_clusters(listener, admin, &clusters, echo.addr(), filter);
        let options = EnvoyOptions {
            component_log_level: Some(
                std::env::var("E2E_ENVOY_LOG").unwrap_or("wasm:debug".into()),
            ),
            concurrency: workers,
            ..EnvoyOptions::default()
        };
        let envoy = Envoy::start_with(&yaml, admin, &options)?;
        Ok(Harness {
            idp,
            other_idps,
            echo,
            envoy,
            listener: SocketAddr::from(([127, 0, 0, 1], listener)),
        })
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers)
    }

    /// A request without a body, with any method.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        http::request(self.listener, method, path, headers, None)
            .unwrap_or_else(|e| panic!("no answer from Envoy for {method} {path}: {e}"))
    }

    /// Asserts that `response` is the upstream's 200 and returns the one request the upstream
    /// received since the last call (the record is then cleared).
    pub fn forwarded(&self, case: &str, response: &Response) -> RecordedRequest {
        assert_eq!(
            response.status,
            200,
            "{case}: status (body {})",
            response.text()
        );
        let mut seen = self.echo.requests();
        self.echo.clear();
        assert_eq!(seen.len(), 1, "{case}: requests that reached the upstream");
        seen.remove(0)
    }

    /// Asserts that nothing reached the upstream since the last [`Harness::forwarded`].
    pub fn assert_nothing_forwarded(&self, case: &str) {
        assert_eq!(
            self.echo.requests(),
            Vec::new(),
            "{case}: a refused request reached the upstream"
        );
    }

    /// The IdP behind the Envoy cluster `cluster`.
    pub fn idp_of(&self, cluster: &str) -> &Idp {
        if cluster == "idp" {
            return &self.idp;
        }
        self.other_idps
            .iter()
            .find(|(name, _)| name == cluster)
            .map(|(_, idp)| idp)
            .unwrap_or_else(|| panic!("no IdP behind cluster {cluster}"))
    }

    /// The statuses of `count` requests with `token` sent at once, each on its own connection.
    pub fn concurrent_statuses(&self, count: usize, path: &str, token: &str) -> Vec<u16> {
        std::thread::scope(|scope| {
            let requests: Vec<_> = (0..count)
                .map(|_| scope.spawn(|| self.get_with_token(path, token).status))
                .collect();
            requests
                .into_iter()
                .map(|r| r.join().expect("request thread"))
                .collect()
        })
    }

    pub fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.get(path, &[("authorization", &format!("Bearer {token}"))])
    }

    /// A valid token from the IdP's current key with these scopes.
    pub fn token(&self, scopes: &[&str]) -> String {
        self.idp
            .mint(&self.idp.claims_for("test-client", AUDIENCE, scopes))
    }

    /// Valid claims to tamper with.
    pub fn claims(&self) -> Value {
        self.idp
            .claims_for("test-client", AUDIENCE, &["read:messages"])
    }
}

/// The headers of `seen` called one of `names`, every copy, sorted: what the upstream got of
/// these headers, for exact comparison.
pub fn headers_among(seen: &RecordedRequest, names: &[&str]) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = seen
        .headers
        .iter()
        .filter(|(name, _)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .cloned()
        .collect();
    found.sort();
    found
}

/// `[(name, value)]` as owned pairs, sorted, to compare with [`headers_among`].
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = items
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Asserts a refusal down to the byte: status, challenge, and JSON body.
pub fn assert_refused(
    case: &str,
    response: &Response,
    status: u16,
    challenge: Option<&str>,
    error: &str,
    description: &str,
) {
    assert_eq!(
        response.status,
        status,
        "{case}: status (body {})",
        response.text()
    );
    assert_eq!(
        response.header("www-authenticate"),
        challenge,
        "{case}: WWW-Authenticate"
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{case}: content-type"
    );
    let body = response
        .json()
        .unwrap_or_else(|e| panic!("{case}: body is not JSON: {e}"));
    assert_eq!(
        body,
        json!({"error": error, "error_description": description}),
        "{case}: body"
    );
}

/// 503 because no key set could be had: no challenge, and `Retry-After: 5`.
pub fn assert_keys_unavailable(case: &str, response: &Response) {
    assert_refused(
        case,
        response,
        503,
        None,
        "temporarily_unavailable",
        "Jwks is not available from the issuer",
    );
    assert_eq!(
        response.header("retry-after"),
        Some("5"),
        "{case}: Retry-After"
    );
}

/// 401 invalid_token with this description.
pub fn assert_invalid_token(case: &str, response: &Response, description: &str) {
    let challenge = format!(
        "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{description}\""
    );
    assert_refused(
        case,
        response,
        401,
        Some(&challenge),
        "invalid_token",
        description,
    );
}

/// 401 missing_token with the bare challenge.
pub fn assert_missing(case: &str, response: &Response) {
    assert_refused(
        case,
        response,
        401,
        Some("Bearer realm=\"api\""),
        "missing_token",
        "Jwt is missing",
    );
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
