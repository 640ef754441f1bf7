//! The verification keys of every provider (inline sets, and caches of remote ones), and the
//! tokens each provider has already verified.

use crate::config::{Config, KeySource};
use crate::jose::jwt::Algorithm;
use crate::keys::cache::{KeyCache, Lookup};
use crate::keys::token_cache::{Entry, TokenCache};
use crate::proof::dpop;
use crate::proof::key_cache::ProofKeys;
use crate::proof::nonce::NonceKey;
use serde_json::{Map, Value};
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// Longer tokens are verified every time: remembering them would loosen the memory bound.
pub const MAX_CACHED_TOKEN_BYTES: usize = 4096;

/// One entry per provider, in the configuration's order.
#[derive(Debug)]
pub struct Keyring {
    providers: Vec<ProviderKeys>,
    /// The secret DPoP nonces are made and checked with: one per Envoy process, shared by
    /// its workers. `None` until the host gives it (nonces are then never current).
    nonce_key: Option<NonceKey>,
    /// DPoP proof keys prepared before (a proof is checked through a shared borrow of the
    /// keyring, hence the cell).
    proof_keys: RefCell<ProofKeys>,
}

#[derive(Debug)]
struct ProviderKeys {
    source: Source,
    verified: TokenCache,
}

#[derive(Debug)]
enum Source {
    Local(crate::jose::jwks::KeySet),
    Remote(KeyCache),
}

impl Keyring {
    pub fn new(config: &Config) -> Keyring {
        let providers = config
            .providers
            .iter()
            .map(|p| ProviderKeys {
                source: match &p.keys {
                    KeySource::Local(set) => Source::Local(set.clone()),
                    KeySource::Remote(remote) => Source::Remote(KeyCache::new(remote)),
                },
                verified: TokenCache::new(
                    p.token_cache_size,
                    p.max_token_bytes.min(MAX_CACHED_TOKEN_BYTES),
                ),
            })
            .collect();
        Keyring {
            providers,
            nonce_key: None,
            proof_keys: RefCell::default(),
        }
    }

    /// Takes the process's DPoP nonce secret (at least 32 bytes).
    pub fn set_nonce_secret(&mut self, secret: &[u8]) {
        self.nonce_key = NonceKey::new(secret);
    }

    /// The key DPoP nonces are made and checked with, once the secret is known.
    pub fn nonce_key(&self) -> Option<&NonceKey> {
        self.nonce_key.as_ref()
    }

    /// The DPoP proof keys this VM prepared before.
    pub fn proof_keys(&self) -> &RefCell<ProofKeys> {
        &self.proof_keys
    }

    /// The key of `provider` for a token's `kid` and `alg`.
    pub fn lookup(
        &mut self,
        provider: usize,
        kid: Option<&str>,
        algorithm: Algorithm,
        now: Duration,
    ) -> Lookup<'_> {
        match self.providers.get_mut(provider).map(|p| &mut p.source) {
            Some(Source::Local(set)) => match set.candidates(kid, algorithm) {
                found if found.is_empty() => Lookup::NotFound,
                found => Lookup::Found(found),
            },
            Some(Source::Remote(cache)) => cache.lookup(kid, algorithm, now),
            None => Lookup::NotFound,
        }
    }

    /// What `provider` remembers of `token`, if it verified with the current key set.
    pub fn verified(&self, provider: usize, token: &str) -> Option<&Entry> {
        let p = self.providers.get(provider)?;
        p.verified.get(token, p.generation())
    }

    /// The DPoP `ath` of `token` for `provider`: kept with the token when it is cached.
    pub fn access_token_hash(&self, provider: usize, token: &str) -> String {
        match self.verified(provider, token) {
            Some(entry) => entry
                .access_token_hash
                .get_or_init(|| dpop::access_token_hash(token))
                .clone(),
            None => dpop::access_token_hash(token),
        }
    }

    /// Remembers that `token` verified with `provider`'s current key set.
    pub fn remember(
        &mut self,
        provider: usize,
        token: &str,
        claims: Rc<Map<String, Value>>,
        payload_b64: Rc<str>,
    ) {
        if let Some(p) = self.providers.get_mut(provider) {
            let entry = Entry {
                generation: p.generation(),
                claims,
                payload_b64,
                access_token_hash: OnceCell::new(),
            };
            p.verified.insert(token, entry);
        }
    }

    /// The cache of a remote provider.
    pub fn cache_mut(&mut self, provider: usize) -> Option<&mut KeyCache> {
        match self.providers.get_mut(provider).map(|p| &mut p.source) {
            Some(Source::Remote(cache)) => Some(cache),
            _ => None,
        }
    }
}

impl ProviderKeys {
    fn generation(&self) -> u64 {
        match &self.source {
            Source::Local(_) => 0,
            Source::Remote(cache) => cache.generation(),
        }
    }
}
