//! What the server threads share: config, signing keys, fault, counters.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::config::IdpConfig;
use crate::fault::Fault;
use crate::keys::KeyPair;

/// The signing key plus every key still published in the JWKS.
struct KeyRing {
    current: Arc<KeyPair>,
    /// Newest first; always contains `current`.
    published: Vec<Arc<KeyPair>>,
}

pub(crate) struct IdpState {
    pub config: IdpConfig,
    pub issuer: String,
    keys: RwLock<KeyRing>,
    fault: Mutex<Fault>,
    /// Overrides `fault` for the discovery endpoint alone.
    discovery_fault: Mutex<Option<Fault>>,
    jwks_requests: AtomicUsize,
    discovery_requests: AtomicUsize,
    stopping: AtomicBool,
}

// A panic while holding a lock can't leave these values half-written (each
// update is a single assignment), so a poisoned lock is still safe to use.
impl IdpState {
    pub fn new(config: IdpConfig, issuer: String, key: KeyPair) -> Self {
        let key = Arc::new(key);
        IdpState {
            config,
            issuer,
            keys: RwLock::new(KeyRing {
                current: Arc::clone(&key),
                published: vec![key],
            }),
            fault: Mutex::new(Fault::None),
            discovery_fault: Mutex::new(None),
            jwks_requests: AtomicUsize::new(0),
            discovery_requests: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
        }
    }

    pub fn current_key(&self) -> Arc<KeyPair> {
        let ring = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&ring.current)
    }

    /// `{"keys":[...]}` with every published key, the signing key first.
    pub fn jwks(&self) -> Value {
        let ring = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let keys: Vec<Value> = ring.published.iter().map(|k| k.public_jwk()).collect();
        json!({ "keys": keys })
    }

    /// Makes `key` the signing key while keeping older keys published.
    pub fn add_signing_key(&self, key: KeyPair) {
        let key = Arc::new(key);
        let mut ring = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        ring.published.insert(0, Arc::clone(&key));
        ring.current = key;
    }

    /// Stops publishing every key but the signing key.
    pub fn retire_old_keys(&self) {
        let mut ring = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        ring.published = vec![Arc::clone(&ring.current)];
    }

    pub fn fault(&self) -> Fault {
        self.fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.fault.lock().unwrap_or_else(PoisonError::into_inner) = fault;
    }

    /// The fault of the discovery endpoint: its own if set, else the shared one.
    pub fn discovery_fault(&self) -> Fault {
        let own = self
            .discovery_fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        own.unwrap_or_else(|| self.fault())
    }

    pub fn set_discovery_fault(&self, fault: Option<Fault>) {
        *self
            .discovery_fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = fault;
    }

    pub fn count_jwks_request(&self) {
        self.jwks_requests.fetch_add(1, Ordering::SeqCst);
    }

    pub fn count_discovery_request(&self) {
        self.discovery_requests.fetch_add(1, Ordering::SeqCst);
    }

    pub fn jwks_requests(&self) -> usize {
        self.jwks_requests.load(Ordering::SeqCst)
    }

    pub fn discovery_requests(&self) -> usize {
        self.discovery_requests.load(Ordering::SeqCst)
    }

    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration`, cut short if the server stops, so shutting down
    /// never waits out a long injected delay.
    pub fn sleep_unless_stopping(&self, duration: Duration) {
        const SLICE: Duration = Duration::from_millis(20);
        let deadline = Instant::now() + duration;
        while !self.is_stopping() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(SLICE));
        }
    }
}
