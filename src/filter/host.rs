//! Host calls used by the filter, wrapped so that failures are values and never panics.

use crate::config::RemoteJwks;
use crate::error::AuthError;
use crate::extract::Removal;
use proxy_wasm::hostcalls;
use std::time::{Duration, UNIX_EPOCH};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Wall-clock time since the Unix epoch, as the host sees it.
pub fn now() -> Duration {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default()
}

/// The current stream's request headers (pseudo-headers included).
pub fn request_headers() -> Vec<(String, String)> {
    hostcalls::get_map(proxy_wasm::types::MapType::HttpRequestHeaders).unwrap_or_default()
}

/// Takes the token out of the request before it goes upstream.
pub fn remove_token(removal: &Removal) {
    let (name, value) = match removal {
        Removal::Header(name) => (name.as_str(), None),
        Removal::Path(path) => (":path", Some(path.as_str())),
    };
    if hostcalls::set_map_value(proxy_wasm::types::MapType::HttpRequestHeaders, name, value)
        .is_err()
    {
        log::warn!("jwt-authz: could not remove the token from {name}");
    }
}

/// Answers the current stream locally with the refusal.
pub fn send_denial(error: &AuthError, realm: &str) {
    let challenge = error.www_authenticate(realm);
    let retry_after = error.retry_after().map(|s| s.to_string());
    let mut headers = vec![
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
    ];
    if let Some(challenge) = challenge.as_deref() {
        headers.push(("www-authenticate", challenge));
    }
    if let Some(retry_after) = retry_after.as_deref() {
        headers.push(("retry-after", retry_after));
    }
    let body = error.body();
    if hostcalls::send_http_response(error.status(), headers, Some(body.as_bytes())).is_err() {
        log::warn!("jwt-authz: could not send the local reply");
    }
}

pub fn resume_request() {
    if hostcalls::resume_http_request().is_err() {
        log::debug!("jwt-authz: stream went away before it could be resumed");
    }
}

/// Makes `context_id` the stream later host calls act on; false if it is gone.
pub fn switch_to_stream(context_id: u32) -> bool {
    hostcalls::set_effective_context(context_id).is_ok()
}

/// Starts the JWKS callout; the answer arrives at the context that makes this call.
pub fn dispatch_jwks_fetch(remote: &RemoteJwks) -> Result<u32, String> {
    let user_agent = format!("jwt-authz/{VERSION}");
    let headers = vec![
        (":method", "GET"),
        (":path", remote.path.as_str()),
        (":authority", remote.authority.as_str()),
        ("accept", "application/json"),
        ("user-agent", user_agent.as_str()),
    ];
    hostcalls::dispatch_http_call(&remote.cluster, headers, None, vec![], remote.timeout).map_err(
        |status| {
            format!(
                "cannot call cluster {:?} ({status:?}): is it defined in Envoy's clusters?",
                remote.cluster
            )
        },
    )
}

/// The callout's HTTP status, or `None` when it failed without one (reset, timeout).
pub fn callout_status() -> Option<u32> {
    hostcalls::get_map_value(
        proxy_wasm::types::MapType::HttpCallResponseHeaders,
        ":status",
    )
    .ok()
    .flatten()
    .and_then(|s| s.parse().ok())
}

/// At most `max` bytes of the callout's response body.
pub fn callout_body(size: usize, max: usize) -> Vec<u8> {
    hostcalls::get_buffer(
        proxy_wasm::types::BufferType::HttpCallResponseBody,
        0,
        size.min(max),
    )
    .ok()
    .flatten()
    .unwrap_or_default()
}

pub fn set_tick_period(period: Duration) {
    if hostcalls::set_tick_period(period).is_err() {
        log::warn!("jwt-authz: could not set the tick period");
    }
}

pub fn plugin_configuration() -> Vec<u8> {
    hostcalls::get_buffer(
        proxy_wasm::types::BufferType::PluginConfiguration,
        0,
        usize::MAX,
    )
    .ok()
    .flatten()
    .unwrap_or_default()
}

pub fn version() -> &'static str {
    VERSION
}
