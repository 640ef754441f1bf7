//! Host calls used by the filter, wrapped so that failures are values and never panics.

use crate::authn::Allowed;
use crate::error::AuthError;
use crate::uri::Endpoint;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MapType;
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

/// The current stream's request headers (pseudo-headers included) as the host serialized
/// them, with text that is not UTF-8 made harmless; read them with [`crate::headers::parse`].
/// Empty when the host has none to give (the request then carries nothing and is refused).
pub fn request_headers() -> Vec<u8> {
    let map = MapType::HttpRequestHeaders as u32;
    // SAFETY: the host writes the map's address and size into the two out-pointers.
    let mut buffer =
        take_host_buffer(|data, size| unsafe { raw::proxy_get_header_map_pairs(map, data, size) })
            .unwrap_or_default();
    crate::headers::sanitize(&mut buffer);
    buffer
}

/// Header calls made directly: the SDK's wrappers panic, and with them the VM, on answers
/// the host may legitimately give: request header values that are not UTF-8 (`get_map`), the
/// headers of a callout that failed without an answer (`get_map_value`), any status but Ok
/// to an edit (`set_map_value`). Here every answer is a value.
mod raw {
    // The SDK declares these with its own enums for the status and map type: the same ABI.
    #[allow(clashing_extern_declarations)]
    unsafe extern "C" {
        pub fn proxy_get_header_map_pairs(
            map_type: u32,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_get_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_remove_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
        ) -> u32;
        pub fn proxy_replace_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
    }
}

/// Runs a host call that hands back a buffer, and takes ownership of the buffer; `None` unless
/// the call succeeded (status 0).
fn take_host_buffer(call: impl FnOnce(*mut *mut u8, *mut usize) -> u32) -> Option<Vec<u8>> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    if call(&mut data, &mut size) != 0 || data.is_null() {
        return None;
    }
    // SAFETY: on success the host copied `size` bytes into memory it obtained from this VM's
    // `proxy_on_memory_allocate(size)`: a boxed slice of exactly `size` bytes (the SDK's
    // allocator), now owned by nobody else. This is how the SDK takes such buffers too.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// Applies an allowed request's header edits: removals first (client-sent identity headers,
/// tokens not forwarded), then the new `:path`, then the verified identity. False if the host
/// refused one: the request must then not go upstream.
pub fn apply_edits(allowed: &Allowed) -> bool {
    let removed = allowed
        .remove_headers
        .iter()
        .all(|name| remove_header(name));
    let path_set = allowed
        .set_path
        .as_ref()
        .is_none_or(|path| replace_header(":path", path));
    let identity_set = allowed
        .set_headers
        .iter()
        .all(|(name, value)| replace_header(name, value));
    removed && path_set && identity_set
}

fn remove_header(name: &str) -> bool {
    let map = MapType::HttpRequestHeaders as u32;
    // SAFETY: `name` is valid for `name.len()` bytes for the duration of the call.
    unsafe { raw::proxy_remove_header_map_value(map, name.as_ptr(), name.len()) == 0 }
}

fn replace_header(name: &str, value: &str) -> bool {
    let map = MapType::HttpRequestHeaders as u32;
    // SAFETY: `name` and `value` are valid for their lengths for the duration of the call.
    unsafe {
        raw::proxy_replace_header_map_value(
            map,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        ) == 0
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

/// The callout's HTTP status, or `None` when it failed without one (reset, body over the
/// host's buffer limit): the host then has no response headers at all.
pub fn callout_status() -> Option<u32> {
    let map = MapType::HttpCallResponseHeaders as u32;
    let key = ":status";
    // SAFETY: `key` is valid for `key.len()` bytes; the host writes the value's address and
    // size into the two out-pointers.
    let value = take_host_buffer(|data, size| unsafe {
        raw::proxy_get_header_map_value(map, key.as_ptr(), key.len(), data, size)
    })?;
    std::str::from_utf8(&value).ok()?.parse().ok()
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
