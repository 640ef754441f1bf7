//! The verification keys of every provider: inline sets, and caches of remote ones.

use crate::config::{Config, KeySource};
use crate::jwt::Algorithm;
use crate::key_cache::{KeyCache, Lookup};
use std::time::Duration;

/// One entry per provider, in the configuration's order.
#[derive(Debug)]
pub struct Keyring {
    providers: Vec<ProviderKeys>,
}

#[derive(Debug)]
enum ProviderKeys {
    Local(crate::jwks::KeySet),
    Remote(KeyCache),
}

impl Keyring {
    pub fn new(config: &Config) -> Keyring {
        let providers = config
            .providers
            .iter()
            .map(|p| match &p.keys {
                KeySource::Local(set) => ProviderKeys::Local(set.clone()),
                KeySource::Remote(remote) => ProviderKeys::Remote(KeyCache::new(remote)),
            })
            .collect();
        Keyring { providers }
    }

    /// The key of `provider` for a token's `kid` and `alg`.
    pub fn lookup(
        &mut self,
        provider: usize,
        kid: Option<&str>,
        algorithm: Algorithm,
        now: Duration,
    ) -> Lookup<'_> {
        match self.providers.get_mut(provider) {
            Some(ProviderKeys::Local(set)) => set
                .find(kid, algorithm)
                .map_or(Lookup::NotFound, Lookup::Found),
            Some(ProviderKeys::Remote(cache)) => cache.lookup(kid, algorithm, now),
            None => Lookup::NotFound,
        }
    }

    /// The cache of a remote provider.
    pub fn cache_mut(&mut self, provider: usize) -> Option<&mut KeyCache> {
        match self.providers.get_mut(provider) {
            Some(ProviderKeys::Remote(cache)) => Some(cache),
            _ => None,
        }
    }
}
