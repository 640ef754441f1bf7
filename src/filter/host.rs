//! The host calls the filter makes, in the filter's terms. Every one goes through [`abi`],
//! whose answers are values: a host that refuses something never panics the VM here.

use super::abi;
use crate::authn::Allowed;
use crate::error::AuthError;
use crate::keys::uri::Endpoint;
use crate::policy::route::{METADATA_KEY, REQUIREMENT_NAME, RouteFacts};
use crate::proof::certificate::Peer;
use crate::proof::replay::{self, Admission, ProofId};
use crate::reply::{self, Client};
use crate::request::headers;
use proxy_wasm::types::{BufferType, LogLevel, MapType};
use std::cell::OnceCell;
use std::time::Duration;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Formats log lines only at the level Envoy would print them: a debug line costs nothing
/// when the `wasm` logger is at `info`.
pub fn follow_host_log_level() {
    let level = match abi::log_level() {
        Ok(0) => LogLevel::Trace,
        Ok(1) => LogLevel::Debug,
        Ok(2) => LogLevel::Info,
        Ok(3) => LogLevel::Warn,
        Ok(4) => LogLevel::Error,
        Ok(5) => LogLevel::Critical,
        _ => return,
    };
    proxy_wasm::set_log_level(level);
}

/// Wall-clock time since the Unix epoch, as the host sees it; `None` if it would not say
/// (never the epoch instead: every token would look unexpired).
pub fn now() -> Option<Duration> {
    abi::current_time_nanos().ok().map(Duration::from_nanos)
}

/// The current stream's request headers (pseudo-headers included) as the host serialized
/// them, with text that is not UTF-8 made harmless; read them with [`headers::parse`].
/// Empty when the host has none to give (the request then carries nothing and is refused).
pub fn request_headers() -> Vec<u8> {
    let mut buffer = abi::header_map(MapType::HttpRequestHeaders)
        .ok()
        .flatten()
        .unwrap_or_default();
    headers::sanitize(&mut buffer);
    buffer
}

/// What the downstream TLS connection says of the client certificate, owned; lend it to a
/// request as a [`Peer`].
pub struct PeerCertificate {
    sha256: Option<String>,
    uri_san: Option<String>,
}

impl PeerCertificate {
    /// Asks the host (two property reads: only for a configuration that binds tokens to
    /// certificates). A connection without TLS or without a client certificate has neither.
    pub fn read() -> PeerCertificate {
        let text = |name: &str| {
            abi::property(&["connection", name])
                .ok()
                .flatten()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .filter(|text| !text.is_empty())
        };
        PeerCertificate {
            sha256: text("sha256_peer_certificate_digest"),
            uri_san: text("uri_san_peer_certificate"),
        }
    }

    pub fn peer(&self) -> Peer<'_> {
        Peer {
            certificate_sha256: self.sha256.as_deref(),
            uri_san: self.uri_san.as_deref(),
        }
    }
}

/// What Envoy knows of the current stream's route, each read from the host on the first
/// question (the decision asks only what the configuration uses) and kept for the rest of
/// the decision.
pub struct RouteProperties<'c> {
    /// The filter state object `filter_state_rules` reads, if it is configured.
    filter_state_name: Option<&'c str>,
    route_name: OnceCell<Option<String>>,
    virtual_host_name: OnceCell<Option<String>>,
    requirement_name: OnceCell<Option<String>>,
    filter_state: OnceCell<Option<String>>,
}

impl<'c> RouteProperties<'c> {
    pub fn new(filter_state_name: Option<&'c str>) -> RouteProperties<'c> {
        RouteProperties {
            filter_state_name,
            route_name: OnceCell::new(),
            virtual_host_name: OnceCell::new(),
            requirement_name: OnceCell::new(),
            filter_state: OnceCell::new(),
        }
    }
}

/// A property's value as text; `None` when the host has none, or it is empty (a route
/// without a name) or not UTF-8.
fn text_property(path: &[&str]) -> Option<String> {
    abi::property(path)
        .ok()
        .flatten()
        .filter(|bytes| !bytes.is_empty())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

impl RouteFacts for RouteProperties<'_> {
    fn route_name(&self) -> Option<&str> {
        self.route_name
            .get_or_init(|| text_property(&["xds", "route_name"]))
            .as_deref()
    }

    fn virtual_host_name(&self) -> Option<&str> {
        self.virtual_host_name
            .get_or_init(|| text_property(&["xds", "virtual_host_name"]))
            .as_deref()
    }

    /// Envoy walks the route's `Metadata` message down to the one string value, so the
    /// module parses no protobuf.
    fn requirement_name(&self) -> Option<&str> {
        self.requirement_name
            .get_or_init(|| {
                text_property(&[
                    "xds",
                    "route_metadata",
                    "filter_metadata",
                    METADATA_KEY,
                    REQUIREMENT_NAME,
                ])
            })
            .as_deref()
    }

    fn filter_state(&self) -> Option<&str> {
        let name = self.filter_state_name?;
        self.filter_state
            .get_or_init(|| text_property(&["filter_state", name]))
            .as_deref()
    }
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

/// Leaves `value` in the current stream's filter state as `name` (see
/// [`crate::request::filter_state`]); a value the host refuses is logged and left out: it
/// only informs what comes after, and the decision stands.
pub fn set_filter_state(name: &str, value: &str) {
    if abi::set_property(name, value).is_err() {
        log::warn!("jwt-authz: the host refused filter state {name}");
    }
}

fn remove_header(name: &str) -> bool {
    abi::remove_header(MapType::HttpRequestHeaders, name).is_ok()
}

fn replace_header(name: &str, value: &str) -> bool {
    abi::replace_header(MapType::HttpRequestHeaders, name, value).is_ok()
}

/// Answers the current stream locally with the refusal and its `WWW-Authenticate`
/// challenges (and a fresh DPoP nonce, when it asks for one), in the form its client reads
/// (JSON for HTTP, the description for gRPC: [`reply`]).
/// `strip` sends the status alone (`strip_failure_response`).
pub fn send_denial(
    error: &AuthError,
    challenges: &[String],
    dpop_nonce: Option<String>,
    strip: bool,
) {
    let client = if strip {
        Client::Stripped
    } else {
        let content_type = abi::header_value(MapType::HttpRequestHeaders, "content-type")
            .ok()
            .flatten();
        Client::from_content_type(content_type.as_deref())
    };
    let reply = reply::refusal_with(error, challenges, dpop_nonce, client);
    let headers: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let sent = abi::send_local_response(
        reply.status,
        &headers::serialize(&headers),
        reply.body.as_bytes(),
    );
    if sent.is_err() {
        log::warn!("jwt-authz: could not send the local reply");
    }
}

pub fn resume_request() {
    if abi::continue_request().is_err() {
        log::debug!("jwt-authz: stream went away before it could be resumed");
    }
}

/// Makes `context_id` the stream later host calls act on; false if it is gone.
pub fn switch_to_stream(context_id: u32) -> bool {
    abi::set_effective_context(context_id).is_ok()
}

/// Starts a GET callout (JWKS or discovery document); the answer arrives at the context
/// that makes this call.
pub fn dispatch_get(cluster: &str, endpoint: &Endpoint, timeout: Duration) -> Result<u32, String> {
    let user_agent = format!("jwt-authz/{VERSION}");
    let headers = [
        (":method", "GET"),
        (":path", endpoint.path.as_str()),
        (":authority", endpoint.authority.as_str()),
        ("accept", "application/json"),
        ("user-agent", user_agent.as_str()),
    ];
    // Through the SDK: its dispatcher must know the call's token to route the answer (it
    // panics on a token it does not know). Envoy answers it Ok, BadArgument (no such cluster)
    // or InternalFailure, the statuses this wrapper turns into values.
    proxy_wasm::hostcalls::dispatch_http_call(cluster, headers.to_vec(), None, vec![], timeout)
        .map_err(|status| {
            format!(
                "cannot call cluster {cluster:?} ({status:?}): is it defined in Envoy's clusters?"
            )
        })
}

/// A shared-data value, if there is one.
pub fn shared_get(key: &str) -> Option<Vec<u8>> {
    abi::shared_data(key).ok().and_then(|(value, _)| value)
}

/// Sets a shared-data value unconditionally.
pub fn shared_set(key: &str, value: &[u8]) {
    if abi::set_shared_data(key, value, 0).is_err() {
        log::warn!("jwt-authz: could not write shared data {key}");
    }
}

/// Takes the claim `key` until `until` if it is free at `now`. Compare-and-swap, so only
/// one VM of the process wins; a compare-and-swap needs the key to exist, so a missing key is
/// created (empty: free) first.
pub fn shared_claim(key: &str, now: Duration, until: Duration) -> bool {
    let mut read = abi::shared_data(key);
    if matches!(read, Ok((_, 0))) {
        shared_create(key);
        read = abi::shared_data(key);
    }
    let Ok((value, cas)) = read else {
        return false;
    };
    if cas == 0 || !crate::keys::share::claim_is_free(value.as_deref(), now) {
        return false;
    }
    let claim = crate::keys::share::encode_claim(until);
    abi::set_shared_data(key, &claim, cas).is_ok()
}

/// The compare-and-swap token to write a value read with `cas`. A key that did not exist
/// (`cas` 0) is created by the write, whatever its token; but 0 would also overwrite a value
/// another VM created in between, so a token the host gives a value only after 2^32 - 1
/// writes stands in for it, and such a write fails with a mismatch and is tried again.
fn swap_token(cas: u32) -> u32 {
    if cas == 0 { u32::MAX } else { cas }
}

/// Replaces the shared value of `key` with `update(current)`, compare-and-swap, trying again
/// (a few times) when another VM wrote in between; the value written, or `None` if the host
/// would not.
pub fn shared_update(key: &str, update: impl Fn(Option<&[u8]>) -> Vec<u8>) -> Option<Vec<u8>> {
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let (current, cas) = abi::shared_data(key).ok()?;
        let value = update(current.as_deref().filter(|v| !v.is_empty()));
        match abi::set_shared_data(key, &value, swap_token(cas)) {
            Ok(()) => return Some(value),
            Err(status) if status == proxy_wasm::types::Status::CasMismatch as u32 => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Records a DPoP proof as used in its shard of shared data (compare-and-swap, trying again
/// when another VM wrote in between): whether it was fresh, replayed, or its shard full;
/// `None` if the host would not say.
pub fn shared_admit(proof: &ProofId, now: Duration) -> Option<Admission> {
    const ATTEMPTS: usize = 8;
    let key = proof.shard_key();
    for _ in 0..ATTEMPTS {
        let (current, cas) = abi::shared_data(&key).ok()?;
        let current = current.as_deref().filter(|v| !v.is_empty());
        let value = match replay::admit(current, proof, now.as_secs(), replay::SHARD_CAPACITY) {
            Admission::Fresh(value) => value,
            refused => return Some(refused),
        };
        match abi::set_shared_data(&key, &value, swap_token(cas)) {
            Ok(()) => return Some(Admission::Fresh(Vec::new())),
            Err(status) if status == proxy_wasm::types::Status::CasMismatch as u32 => continue,
            Err(_) => return None,
        }
    }
    None
}

/// The process's DPoP nonce secret: made by the first VM that asks (random bytes from the
/// host, through std's hasher seeds: WASI `random_get`) and read by the others; `None` if the
/// host would not keep it.
pub fn nonce_secret() -> Option<Vec<u8>> {
    const KEY: &str = "jwt_authz.dpop.nonce_secret";
    if let Some(secret) = shared_get(KEY).filter(|s| s.len() >= 32) {
        return Some(secret);
    }
    let random = std::hash::RandomState::new();
    let secret: Vec<u8> = (0u64..4)
        .flat_map(|i| std::hash::BuildHasher::hash_one(&random, i).to_be_bytes())
        .collect();
    // Written only if no VM wrote one meanwhile (compare-and-swap on the empty value).
    shared_create(KEY);
    if let Ok((current, cas)) = abi::shared_data(KEY)
        && current.as_deref().is_none_or(<[u8]>::is_empty)
    {
        let _ = abi::set_shared_data(KEY, &secret, cas);
    }
    shared_get(KEY).filter(|s| s.len() >= 32)
}

/// Creates `key` (empty) unless it exists. Done when a VM starts, before any claim, so that
/// claims are always compare-and-swaps on an existing key.
pub fn shared_create(key: &str) {
    if matches!(abi::shared_data(key), Ok((_, 0))) {
        let _ = abi::set_shared_data(key, b"", 0);
    }
}

/// Defines a counter; `None` when the host has no metrics.
pub fn define_counter(name: &str) -> Option<u32> {
    abi::define_counter(name).ok()
}

pub fn increment_by(counter: u32, count: u64) {
    let by = i64::try_from(count).unwrap_or(i64::MAX);
    if abi::increment_counter(counter, by).is_err() {
        log::debug!("jwt-authz: could not increment counter {counter}");
    }
}

/// The callout's HTTP status, or `None` when it failed without one (reset, body over the
/// host's buffer limit): the host then has no response headers at all.
pub fn callout_status() -> Option<u32> {
    let value = abi::header_value(MapType::HttpCallResponseHeaders, ":status").ok()??;
    std::str::from_utf8(&value).ok()?.parse().ok()
}

/// At most `max` bytes of the callout's response body.
pub fn callout_body(size: usize, max: usize) -> Vec<u8> {
    abi::buffer(BufferType::HttpCallResponseBody, size.min(max))
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub fn set_tick_period(period: Duration) {
    let period_ms = u32::try_from(period.as_millis()).unwrap_or(u32::MAX);
    if abi::set_tick_period_ms(period_ms).is_err() {
        log::warn!("jwt-authz: could not set the tick period");
    }
}

pub fn plugin_configuration() -> Vec<u8> {
    abi::buffer(BufferType::PluginConfiguration, usize::MAX)
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub fn version() -> &'static str {
    VERSION
}
