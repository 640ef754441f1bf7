//! What the server threads share: config, signing keys, fault, counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::algorithm::SigningAlgorithm;
use crate::config::IdpConfig;
use crate::fault::Fault;
use crate::keys::KeyPair;
use crate::signing_key::SigningKey;
use crate::spare_keys::SpareKeys;

/// The signing key of each asymmetric algorithm plus every key still published in the JWKS.
struct KeyRing {
    /// One per algorithm in use, in [`IdpConfig::asymmetric_algorithms`] order (RS256 first).
    current: Vec<Arc<SigningKey>>,
    /// Newest first; always contains every current key.
    published: Vec<Arc<SigningKey>>,
}

impl KeyRing {
    fn current(&self, algorithm: SigningAlgorithm) -> Option<&Arc<SigningKey>> {
        self.current.iter().find(|k| k.algorithm() == algorithm)
    }
}

pub(crate) struct IdpState {
    pub config: IdpConfig,
    pub issuer: String,
    keys: RwLock<KeyRing>,
    /// The HS256 key of each API that signs with one, by identifier; never published.
    secrets: HashMap<String, Arc<SigningKey>>,
    spares: Arc<SpareKeys>,
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
    /// Generates a key for each asymmetric algorithm `config` uses (and, in the background, the
    /// next one of each), and takes the HS256 keys from its APIs' secrets.
    pub fn new(config: IdpConfig, issuer: String) -> Result<Self, String> {
        let algorithms = config.asymmetric_algorithms();
        let current = algorithms
            .iter()
            .map(|algorithm| SigningKey::generate_with_thumbprint_kid(*algorithm).map(Arc::new))
            .collect::<Result<Vec<_>, String>>()?;
        let mut secrets = HashMap::new();
        for api in &config.apis {
            if let Some(secret) = &api.signing_secret {
                let key = SigningKey::hmac("", secret.as_bytes())
                    .map_err(|e| format!("api {:?}: {e}", api.identifier))?;
                secrets.insert(api.identifier.clone(), Arc::new(key));
            }
        }
        Ok(IdpState {
            spares: SpareKeys::for_algorithms(&algorithms),
            config,
            issuer,
            keys: RwLock::new(KeyRing {
                published: current.clone(),
                current,
            }),
            secrets,
            fault: Mutex::new(Fault::None),
            discovery_fault: Mutex::new(None),
            jwks_requests: AtomicUsize::new(0),
            discovery_requests: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
        })
    }

    /// The current RS256 key, which every IdP has.
    pub fn current_key(&self) -> Option<Arc<KeyPair>> {
        let key = self.signing_key(SigningAlgorithm::Rs256)?;
        key.key_pair().cloned()
    }

    /// The current key of an asymmetric algorithm in use.
    pub fn signing_key(&self, algorithm: SigningAlgorithm) -> Option<Arc<SigningKey>> {
        self.ring().current(algorithm).cloned()
    }

    /// The key tokens for `audience` are signed with: its API's algorithm, else RS256.
    pub fn signing_key_for(&self, audience: &str) -> Result<Arc<SigningKey>, String> {
        let algorithm = self.config.signing_algorithm_for(audience);
        let key = if algorithm.is_symmetric() {
            self.secrets.get(audience).cloned()
        } else {
            self.signing_key(algorithm)
        };
        key.ok_or_else(|| format!("no {algorithm} key for audience {audience}"))
    }

    /// `{"keys":[...]}` with every published key, newest first.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .ring()
            .published
            .iter()
            .filter_map(|k| k.public_jwk())
            .collect();
        json!({ "keys": keys })
    }

    /// Makes a new key (ready beforehand) the signing key of `algorithm`, keeping older keys
    /// published. Refused for an algorithm no API signs with, and for HS256 (whose key is the
    /// configured secret).
    pub fn rotate(&self, algorithm: SigningAlgorithm) -> Result<Arc<SigningKey>, String> {
        if algorithm.is_symmetric() {
            return Err(format!(
                "{algorithm} signs with each API's signing_secret, which only the config changes"
            ));
        }
        if self.signing_key(algorithm).is_none() {
            return Err(format!(
                "no API signs with {algorithm} here, so it has no key to rotate"
            ));
        }
        let key = Arc::new(self.spares.take(algorithm)?);
        let mut ring = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        ring.published.insert(0, Arc::clone(&key));
        if let Some(slot) = ring.current.iter_mut().find(|k| k.algorithm() == algorithm) {
            *slot = Arc::clone(&key);
        }
        Ok(key)
    }

    /// The asymmetric algorithms with a key, RS256 first.
    pub fn algorithms(&self) -> Vec<SigningAlgorithm> {
        self.ring().current.iter().map(|k| k.algorithm()).collect()
    }

    /// Stops publishing every key but the signing keys.
    pub fn retire_old_keys(&self) {
        let mut ring = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        ring.published = ring.current.clone();
    }

    fn ring(&self) -> std::sync::RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
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
