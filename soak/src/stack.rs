//! What the soak runs against: the dev IdP, the echo upstream, and Envoy with the filter
//! (configured like `envoy/envoy.yaml`, with short key timings so rotations happen often).

use crate::key_life::Timing;
use crate::traffic::{AUDIENCE, SCOPE};
use devidp::{Idp, IdpConfig};
use devstack::bootstrap::filter_in_front_of;
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
        let yaml = filter_in_front_of(
            listener,
            admin,
            echo.addr(),
            &[("idp", idp.addr())],
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
