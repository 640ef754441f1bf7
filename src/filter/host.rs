//! Host calls used by the filter, wrapped so that failures are values and never panics.

use crate::authn::Allowed;
use crate::error::AuthError;
use crate::uri::Endpoint;
use proxy_wasm::hostcalls;
use std::time::{Duration, UNIX_EPOCH};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Formats log lines only at the level Envoy would print them: a debug line costs nothing
/// when the `wasm` logger is at `info`.
pub fn follow_host_log_level() {
    if let Ok(level) = hostcalls::get_log_level() {
        proxy_wasm::set_log_level(level);
    }
}

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

/// Applies an allowed request's header edits: removals first (client-sent identity headers,
/// tokens not forwarded), then the new `:path`, then the verified identity. False if the host
/// refused one: the request must then not go upstream.
pub fn apply_edits(allowed: &Allowed) -> bool {
    use proxy_wasm::types::MapType::HttpRequestHeaders;
    let removed = allowed
        .remove_headers
        .iter()
        .all(|name| hostcalls::set_map_value(HttpRequestHeaders, name, None).is_ok());
    let path_set = allowed.set_path.as_ref().is_none_or(|path| {
        hostcalls::set_map_value(HttpRequestHeaders, ":path", Some(path)).is_ok()
    });
    let identity_set = allowed.set_headers.iter().all(|(name, value)| {
        hostcalls::set_map_value(HttpRequestHeaders, name, Some(value)).is_ok()
    });
    removed && path_set && identity_set
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

/// Starts a GET callout (JWKS or discovery document); the answer arrives at the context
/// that makes this call.
pub fn dispatch_get(cluster: &str, endpoint: &Endpoint, timeout: Duration) -> Result<u32, String> {
    let user_agent = format!("jwt-authz/{VERSION}");
    let headers = vec![
        (":method", "GET"),
        (":path", endpoint.path.as_str()),
        (":authority", endpoint.authority.as_str()),
        ("accept", "application/json"),
        ("user-agent", user_agent.as_str()),
    ];
    hostcalls::dispatch_http_call(cluster, headers, None, vec![], timeout).map_err(|status| {
        format!("cannot call cluster {cluster:?} ({status:?}): is it defined in Envoy's clusters?")
    })
}

/// A shared-data value, if there is one.
pub fn shared_get(key: &str) -> Option<Vec<u8>> {
    hostcalls::get_shared_data(key)
        .ok()
        .and_then(|(value, _)| value)
}

/// Sets a shared-data value unconditionally.
pub fn shared_set(key: &str, value: &[u8]) {
    if hostcalls::set_shared_data(key, Some(value), None).is_err() {
        log::warn!("jwt-authz: could not write shared data {key}");
    }
}

/// Takes the claim `key` until `until` if it is free at `now`. Compare-and-swap, so only
/// one VM of the process wins; a compare-and-swap needs the key to exist, so a missing key is
/// created (empty: free) first.
pub fn shared_claim(key: &str, now: Duration, until: Duration) -> bool {
    let mut read = hostcalls::get_shared_data(key);
    if matches!(read, Ok((_, None))) {
        shared_create(key);
        read = hostcalls::get_shared_data(key);
    }
    let Ok((value, Some(cas))) = read else {
        return false;
    };
    if !crate::key_share::claim_is_free(value.as_deref(), now) {
        return false;
    }
    let claim = crate::key_share::encode_claim(until);
    hostcalls::set_shared_data(key, Some(&claim), Some(cas)).is_ok()
}

/// Creates `key` (empty) unless it exists. Done when a VM starts, before any claim, so that
/// claims are always compare-and-swaps on an existing key.
pub fn shared_create(key: &str) {
    if matches!(hostcalls::get_shared_data(key), Ok((_, None))) {
        let _ = hostcalls::set_shared_data(key, Some(b""), None);
    }
}

/// Defines a counter; `None` when the host has no metrics.
pub fn define_counter(name: &str) -> Option<u32> {
    hostcalls::define_metric(proxy_wasm::types::MetricType::Counter, name).ok()
}

pub fn increment_by(counter: u32, count: u64) {
    let by = i64::try_from(count).unwrap_or(i64::MAX);
    if hostcalls::increment_metric(counter, by).is_err() {
        log::debug!("jwt-authz: could not increment counter {counter}");
    }
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
