//! The JWKS cache of one remote provider: a state machine driven by injected time.
//!
//! States: empty (no keys yet), fetching, fresh, stale (older than `cache_duration`, still
//! used while refreshes fail: an IdP outage must not become an API outage). Fetches are lazy
//! (the first request that needs keys asks for them), refreshes start before expiry, failures
//! back off exponentially, and an unknown `kid` may trigger a refetch at most once per
//! `min_refetch_interval`.

use crate::config::RemoteJwks;
use crate::jwks::{Key, KeySet};
use crate::jwt::Algorithm;
use std::time::Duration;

const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A fetch whose answer never came (the host lost it) is given up this long after its timeout.
const LOST_FETCH_GRACE: Duration = Duration::from_secs(1);

/// What a request learns when it asks for a key.
#[derive(Debug)]
pub enum Lookup<'k> {
    Found(&'k Key),
    /// The key set has no such key and a refetch is not allowed yet.
    NotFound,
    /// A fetch is in flight or due: wait for it, then ask again.
    Wait,
    /// No key set, and fetching failed recently: answer now instead of waiting.
    Unavailable,
}

/// The cache state of one remote JWKS. Time is a `Duration` since the Unix epoch.
#[derive(Debug)]
pub struct KeyCache {
    timeout: Duration,
    cache_duration: Duration,
    min_refetch_interval: Duration,
    keys: Option<KeySet>,
    fetched_at: Duration,
    last_attempt: Option<Duration>,
    in_flight_since: Option<Duration>,
    /// A request is waiting for a fetch that has not started yet.
    wanted: bool,
    failures: u32,
    retry_at: Duration,
    last_error: Option<String>,
}

impl KeyCache {
    pub fn new(remote: &RemoteJwks) -> KeyCache {
        KeyCache {
            timeout: remote.timeout,
            cache_duration: remote.cache_duration,
            min_refetch_interval: remote.min_refetch_interval,
            keys: None,
            fetched_at: Duration::ZERO,
            last_attempt: None,
            in_flight_since: None,
            wanted: false,
            failures: 0,
            retry_at: Duration::ZERO,
            last_error: None,
        }
    }

    /// The key for a token; may ask for a fetch (then the answer is `Wait`).
    pub fn lookup(&mut self, kid: Option<&str>, algorithm: Algorithm, now: Duration) -> Lookup<'_> {
        let in_flight = self.in_flight_since.is_some();
        let may_refetch = kid.is_some() && self.may_refetch(now);
        match &self.keys {
            Some(keys) => match keys.find(kid, algorithm) {
                Some(key) => Lookup::Found(key),
                // Rotation: a new kid may be in the next document.
                None if in_flight => Lookup::Wait,
                None if may_refetch => {
                    self.wanted = true;
                    Lookup::Wait
                }
                None => Lookup::NotFound,
            },
            None if in_flight || now >= self.retry_at => {
                self.wanted = true;
                Lookup::Wait
            }
            None => Lookup::Unavailable,
        }
    }

    /// Whether a fetch should be dispatched now. A fetch the host never answered is
    /// given up here, so the cache cannot stay "fetching" forever.
    pub fn fetch_due(&mut self, now: Duration) -> bool {
        if let Some(since) = self.in_flight_since {
            if now < since + self.timeout + LOST_FETCH_GRACE {
                return false;
            }
            self.fetch_failed(now, "no answer within the timeout".into());
        }
        if now < self.retry_at {
            return false;
        }
        let refresh_due = self.keys.is_some() && now >= self.fetched_at + self.refresh_after();
        self.wanted || refresh_due
    }

    pub fn fetch_started(&mut self, now: Duration) {
        self.in_flight_since = Some(now);
        self.last_attempt = Some(now);
        self.wanted = false;
    }

    pub fn fetch_succeeded(&mut self, now: Duration, keys: KeySet) {
        self.keys = Some(keys);
        self.fetched_at = now;
        self.in_flight_since = None;
        self.failures = 0;
        self.retry_at = Duration::ZERO;
        self.last_error = None;
    }

    /// Keeps the last good keys and schedules a retry with exponential backoff.
    pub fn fetch_failed(&mut self, now: Duration, reason: String) {
        self.in_flight_since = None;
        self.failures = self.failures.saturating_add(1);
        let backoff = BACKOFF_BASE
            .saturating_mul(1 << self.failures.min(16).saturating_sub(1))
            .min(BACKOFF_MAX);
        self.retry_at = now + backoff;
        self.last_error = Some(reason);
    }

    pub fn is_fetching(&self) -> bool {
        self.in_flight_since.is_some()
    }

    pub fn keys(&self) -> Option<&KeySet> {
        self.keys.as_ref()
    }

    /// Older than `cache_duration`: still used, but refreshes have been failing.
    pub fn is_stale(&self, now: Duration) -> bool {
        self.keys.is_some() && now >= self.fetched_at + self.cache_duration
    }

    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// When the next retry may start after failures.
    pub fn retry_at(&self) -> Duration {
        self.retry_at
    }

    /// Refresh at 90% of the cache duration, so requests never meet an expired set.
    fn refresh_after(&self) -> Duration {
        self.cache_duration.mul_f64(0.9)
    }

    fn may_refetch(&self, now: Duration) -> bool {
        now >= self.retry_at
            && self
                .last_attempt
                .is_none_or(|t| now >= t + self.min_refetch_interval)
    }
}
