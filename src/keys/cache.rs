//! The JWKS cache of one remote provider: a state machine driven by injected time.
//!
//! States: empty (no keys yet), fetching, fresh, stale (older than `cache_duration`, still
//! used while refreshes fail: an IdP outage must not become an API outage). Fetches are lazy
//! (the first request that needs keys asks for them), refreshes start before expiry, failures
//! back off exponentially, and an unknown `kid` may trigger a refetch at most once per
//! `min_refetch_interval`.

use crate::config::RemoteJwks;
use crate::jose::jwks::{Key, KeySet};
use crate::jose::jwt::Algorithm;
use std::time::Duration;

const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A fetch whose answer never came (the host lost it) is given up this long after its timeout.
const LOST_FETCH_GRACE: Duration = Duration::from_secs(1);

/// What a request learns when it asks for a key.
#[derive(Debug)]
pub enum Lookup<'k> {
    /// The keys to try (never empty): see [`KeySet::candidates`].
    Found(Vec<&'k Key>),
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
    /// Counts the key sets taken in: verified tokens remember it, so a new key set makes
    /// them verify again.
    generation: u64,
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
            generation: 0,
        }
    }

    /// The key for a token; may ask for a fetch (then the answer is `Wait`).
    pub fn lookup(&mut self, kid: Option<&str>, algorithm: Algorithm, now: Duration) -> Lookup<'_> {
        let in_flight = self.in_flight_since.is_some();
        let may_refetch = kid.is_some() && self.may_refetch(now);
        match &self.keys {
            Some(keys) => match keys.candidates(kid, algorithm) {
                found if !found.is_empty() => Lookup::Found(found),
                // Rotation: a new kid may be in the next document.
                _ if in_flight => Lookup::Wait,
                _ if may_refetch => {
                    self.wanted = true;
                    Lookup::Wait
                }
                _ => Lookup::NotFound,
            },
            None if in_flight => Lookup::Wait,
            None if now >= self.retry_at => {
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

    /// New keys, fetched here or adopted from another VM; either satisfies a pending want.
    pub fn fetch_succeeded(&mut self, now: Duration, keys: KeySet) {
        self.keys = Some(keys);
        self.wanted = false;
        self.generation = self.generation.wrapping_add(1);
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

    /// When the current keys were fetched (`None`: no keys yet).
    pub fn fetched_at(&self) -> Option<Duration> {
        self.keys.as_ref().map(|_| self.fetched_at)
    }

    /// The generation of the current key set (see [`crate::keys::token_cache`]).
    pub fn generation(&self) -> u64 {
        self.generation
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

    /// The interval runs from this VM's last attempt or from when the current keys were
    /// fetched, whichever is later: keys adopted from another VM count as a fetch, so the
    /// limit holds for the whole process, not once per worker.
    fn may_refetch(&self, now: Duration) -> bool {
        let last = self.last_attempt.max(self.fetched_at());
        now >= self.retry_at && last.is_none_or(|t| now >= t + self.min_refetch_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::jwks;
    use std::sync::OnceLock;

    const TIMEOUT: Duration = Duration::from_secs(5);
    const CACHE: Duration = Duration::from_secs(600);
    const REFETCH: Duration = Duration::from_secs(30);
    const T0: Duration = Duration::from_secs(1_700_000_000);

    fn key_set() -> KeySet {
        static JWKS: OnceLock<String> = OnceLock::new();
        let text = JWKS.get_or_init(|| {
            let key = devidp::KeyPair::generate("k1").unwrap();
            serde_json::json!({"keys": [key.public_jwk()]}).to_string()
        });
        jwks::parse(text.as_bytes()).unwrap().keys
    }

    fn cache() -> KeyCache {
        KeyCache::new(&RemoteJwks {
            cluster: "c".into(),
            location: crate::config::JwksLocation::Uri(
                crate::keys::uri::Endpoint::parse("https://a/jwks").unwrap(),
            ),
            timeout: TIMEOUT,
            cache_duration: CACHE,
            min_refetch_interval: REFETCH,
        })
    }

    fn s(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    fn lookup(cache: &mut KeyCache, kid: &str, now: Duration) -> &'static str {
        match cache.lookup(Some(kid), Algorithm::RS256, now) {
            Lookup::Found(_) => "found",
            Lookup::NotFound => "not found",
            Lookup::Wait => "wait",
            Lookup::Unavailable => "unavailable",
        }
    }

    /// A cache that fetched successfully at `T0`.
    fn fresh() -> KeyCache {
        let mut c = cache();
        assert_eq!(lookup(&mut c, "k1", T0), "wait");
        assert!(c.fetch_due(T0));
        c.fetch_started(T0);
        c.fetch_succeeded(T0, key_set());
        c
    }

    #[test]
    fn keys_adopted_without_a_fetch_of_our_own_satisfy_the_request_that_wanted_them() {
        let mut c = cache();
        assert_eq!(lookup(&mut c, "k1", T0), "wait");
        // Another VM fetched: its key set arrives without fetch_started here.
        c.fetch_succeeded(T0, key_set());
        assert!(!c.fetch_due(T0 + s(1)), "no second fetch");
        assert_eq!(lookup(&mut c, "k1", T0 + s(1)), "found");
    }

    #[test]
    fn nothing_is_fetched_until_a_request_needs_keys() {
        let mut c = cache();
        assert!(!c.fetch_due(T0));
        assert!(!c.fetch_due(T0 + s(3600)));
    }

    #[test]
    fn first_request_waits_and_asks_for_one_fetch() {
        let mut c = cache();
        assert_eq!(lookup(&mut c, "k1", T0), "wait");
        assert!(c.fetch_due(T0));
        c.fetch_started(T0);
        assert!(!c.fetch_due(T0), "one fetch at a time");
        assert_eq!(
            lookup(&mut c, "k1", T0),
            "wait",
            "later requests join the wait"
        );
        c.fetch_succeeded(T0 + s(1), key_set());
        assert_eq!(lookup(&mut c, "k1", T0 + s(1)), "found");
        assert!(!c.fetch_due(T0 + s(1)));
    }

    #[test]
    fn refresh_starts_before_expiry_and_keys_stay_usable_meanwhile() {
        let mut c = fresh();
        assert!(!c.fetch_due(T0 + s(539)));
        assert!(c.fetch_due(T0 + s(540)));
        c.fetch_started(T0 + s(540));
        assert_eq!(
            lookup(&mut c, "k1", T0 + s(541)),
            "found",
            "no stall during refresh"
        );
    }

    #[test]
    fn failed_refresh_keeps_the_last_good_keys_and_backs_off() {
        let mut c = fresh();
        c.fetch_started(T0 + s(540));
        c.fetch_failed(T0 + s(541), "HTTP status 500".into());
        assert_eq!(c.last_error(), Some("HTTP status 500"));
        assert_eq!(
            lookup(&mut c, "k1", T0 + s(700)),
            "found",
            "stale keys still verify"
        );
        assert!(c.is_stale(T0 + s(700)));
        assert_eq!(c.retry_at(), T0 + s(542));
        c.fetch_started(T0 + s(542));
        c.fetch_failed(T0 + s(542), "again".into());
        assert_eq!(c.retry_at(), T0 + s(544), "backoff doubles");
        assert!(!c.fetch_due(T0 + s(543)));
        assert!(c.fetch_due(T0 + s(544)));
    }

    #[test]
    fn backoff_is_capped() {
        let mut c = fresh();
        for _ in 0..40 {
            c.fetch_failed(T0, "down".into());
        }
        assert_eq!(c.retry_at(), T0 + BACKOFF_MAX);
    }

    #[test]
    fn without_keys_a_failure_answers_unavailable_until_the_retry() {
        let mut c = cache();
        assert_eq!(lookup(&mut c, "k1", T0), "wait");
        c.fetch_started(T0);
        c.fetch_failed(T0 + s(5), "timeout".into());
        assert_eq!(lookup(&mut c, "k1", T0 + s(5)), "unavailable");
        assert_eq!(
            lookup(&mut c, "k1", T0 + s(6)),
            "wait",
            "retry allowed after backoff"
        );
        assert!(c.fetch_due(T0 + s(6)));
    }

    #[test]
    fn unknown_kid_refetches_at_most_once_per_interval() {
        let mut c = fresh();
        assert_eq!(
            lookup(&mut c, "new", T0 + s(29)),
            "not found",
            "too soon after the last fetch"
        );
        assert_eq!(lookup(&mut c, "new", T0 + s(30)), "wait");
        assert!(c.fetch_due(T0 + s(30)));
        c.fetch_started(T0 + s(30));
        assert_eq!(
            lookup(&mut c, "other", T0 + s(30)),
            "wait",
            "joins the fetch in flight"
        );
        c.fetch_succeeded(T0 + s(31), key_set());
        assert_eq!(lookup(&mut c, "new", T0 + s(31)), "not found");
        assert_eq!(lookup(&mut c, "spray", T0 + s(59)), "not found");
        assert!(!c.fetch_due(T0 + s(59)));
    }

    #[test]
    fn keys_adopted_from_another_vm_count_as_a_fetch_for_the_refetch_interval() {
        let mut c = cache();
        // Never fetched here: the keys came from another worker's fetch at T0.
        c.fetch_succeeded(T0, key_set());
        assert_eq!(
            lookup(&mut c, "new", T0 + s(29)),
            "not found",
            "another worker fetched too recently"
        );
        assert!(!c.fetch_due(T0 + s(29)));
        assert_eq!(lookup(&mut c, "new", T0 + s(30)), "wait");
    }

    #[test]
    fn token_without_kid_never_triggers_a_refetch() {
        let mut c = fresh();
        assert!(
            matches!(
                c.lookup(None, Algorithm::RS256, T0 + s(100)),
                Lookup::Found(_)
            ),
            "single key fits"
        );
        assert!(!c.fetch_due(T0 + s(100)));
    }

    #[test]
    fn a_fetch_the_host_never_answers_is_given_up() {
        let mut c = cache();
        assert_eq!(lookup(&mut c, "k1", T0), "wait");
        c.fetch_started(T0);
        assert!(!c.fetch_due(T0 + TIMEOUT));
        assert!(
            !c.fetch_due(T0 + TIMEOUT + LOST_FETCH_GRACE),
            "counted as a failure, then backoff"
        );
        assert!(!c.is_fetching());
        assert_eq!(c.last_error(), Some("no answer within the timeout"));
    }
}
