//! JWKS callouts: straight to the JWKS, or first to the issuer's discovery document and then
//! to the `jwks_uri` it names. Made from the root context only, so answers outlive streams,
//! and by one VM of the process at a time: the others adopt what it shares ([`crate::keys::share`]).

use super::host;
use super::wake::Wake;
use crate::config::{Config, JwksLocation, KeySource, RemoteJwks};
use crate::jose::jwks::{self, MAX_JWKS_BYTES};
use crate::keys::discovery::{self, MAX_DISCOVERY_BYTES};
use crate::keys::keyring::Keyring;
use crate::keys::share::{self, Keys};
use crate::keys::uri::Endpoint;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Discovery,
    Jwks,
}

struct Callout {
    token: u32,
    provider: usize,
    step: Step,
}

/// New keys for a provider (or a failure to get them): streams waiting for them go on.
pub struct Finished {
    pub provider: usize,
    pub succeeded: bool,
    /// Fetched by this VM (not adopted from another): counted in the fetch metrics.
    pub fetched_here: bool,
}

pub struct Fetcher {
    callouts: Vec<Callout>,
    /// The `jwks_uri` each discovery provider last named: used again if discovery fails.
    discovered: Vec<Option<Endpoint>>,
    /// Shared-data keys of each remote provider.
    shared: Vec<Option<Keys>>,
    /// Providers whose keys another VM is fetching right now: polled until they arrive.
    awaiting_peer: Vec<usize>,
    /// This VM's queue for notices of key sets other VMs shared (none without remote keys).
    wake: Option<Wake>,
}

impl Fetcher {
    pub fn new(config: &Config, now: Option<Duration>) -> Fetcher {
        let mut fetcher = Fetcher {
            callouts: Vec::new(),
            discovered: vec![None; config.providers.len()],
            shared: config
                .providers
                .iter()
                .map(|p| match &p.keys {
                    KeySource::Remote(remote) => Some(Keys::of(p, remote)),
                    KeySource::Local(_) => None,
                })
                .collect(),
            awaiting_peer: Vec::new(),
            wake: None,
        };
        for keys in fetcher.shared.iter().flatten() {
            host::shared_create(&keys.claim);
        }
        if fetcher.shared.iter().any(Option::is_some) {
            fetcher.wake = now.and_then(Wake::register);
        }
        fetcher
    }

    /// Tells the other VMs, now and then, that this one is alive to be woken.
    pub fn heartbeat(&mut self, now: Duration) {
        if let Some(wake) = &mut self.wake {
            wake.heartbeat(now);
        }
    }

    /// Adopts the key sets named by the notices on this VM's queue `queue`: another VM shared
    /// them just now. The streams that waited for them go on as for a fetch of this VM's own.
    pub fn on_queue_ready(&mut self, queue: u32, keyring: &mut Keyring) -> Vec<Finished> {
        let Some(wake) = self.wake.as_ref().filter(|w| w.is_own_queue(queue)) else {
            return Vec::new();
        };
        let mut finished = Vec::new();
        for notice in wake.take_notices() {
            let named = self.shared.iter().position(|keys| {
                keys.as_ref()
                    .is_some_and(|k| k.record.as_bytes() == notice.as_slice())
            });
            let Some(provider) = named else { continue };
            if self.adopt_shared(provider, keyring) {
                self.awaiting_peer.retain(|p| *p != provider);
                finished.push(Finished {
                    provider,
                    succeeded: true,
                    fetched_here: false,
                });
            }
        }
        finished
    }

    /// Whether some provider waits for another VM's fetch (then the root polls quickly).
    pub fn awaits_peer(&self) -> bool {
        !self.awaiting_peer.is_empty()
    }

    /// Adopts key sets another VM has fetched since. A wait also ends when the other VM let
    /// go of its claim without sharing a newer key set (its fetch failed), or when the cache
    /// gives the wait up: the streams that waited are then decided again at once, as on the
    /// VM that fetched, rather than held to their deadline.
    pub fn poll_peers(&mut self, keyring: &mut Keyring, now: Duration) -> Vec<Finished> {
        let mut finished = Vec::new();
        for provider in std::mem::take(&mut self.awaiting_peer) {
            // A key set is shared before the claim is let go: claim first, then the record.
            let peer_done = self.claim_is_free(provider, now);
            if self.adopt_shared(provider, keyring) {
                finished.push(Finished {
                    provider,
                    succeeded: true,
                    fetched_here: false,
                });
                continue;
            }
            let Some(cache) = keyring.cache_mut(provider) else {
                continue;
            };
            if peer_done && cache.is_fetching() {
                cache.fetch_failed(now, "the fetch by another worker failed".into());
            }
            if cache.is_fetching() && !cache.fetch_due(now) {
                self.awaiting_peer.push(provider);
            } else {
                finished.push(Finished {
                    provider,
                    succeeded: false,
                    fetched_here: false,
                });
            }
        }
        finished
    }

    /// Whether nobody holds the fetch claim of `provider` at `now`.
    fn claim_is_free(&self, provider: usize, now: Duration) -> bool {
        let Some(Some(keys)) = self.shared.get(provider) else {
            return false;
        };
        share::claim_is_free(host::shared_get(&keys.claim).as_deref(), now)
    }

    /// Takes the shared key set of `provider` if it is newer than the VM's own.
    fn adopt_shared(&self, provider: usize, keyring: &mut Keyring) -> bool {
        let Some(Some(keys)) = self.shared.get(provider) else {
            return false;
        };
        let Some(record) = host::shared_get(&keys.record) else {
            return false;
        };
        let Some(cache) = keyring.cache_mut(provider) else {
            return false;
        };
        let Some((fetched_at, jwks)) = share::decode_record(&record) else {
            return false;
        };
        if !share::is_newer(fetched_at, cache.fetched_at()) {
            return false;
        }
        match jwks::parse(jwks) {
            Ok(parsed) => {
                cache.fetch_succeeded(fetched_at, parsed.keys);
                true
            }
            Err(_) => false,
        }
    }

    /// Starts every fetch that is due, unless another VM's newer keys can be adopted or
    /// another VM is fetching them already; returns what was decided at once.
    pub fn dispatch_due(
        &mut self,
        config: &Config,
        keyring: &mut Keyring,
        now: Duration,
    ) -> Vec<Finished> {
        let mut finished = Vec::new();
        for (index, provider) in config.providers.iter().enumerate() {
            let KeySource::Remote(remote) = &provider.keys else {
                continue;
            };
            if !keyring.cache_mut(index).is_some_and(|c| c.fetch_due(now)) {
                continue;
            }
            if self.adopt_shared(index, keyring) {
                finished.push(Finished {
                    provider: index,
                    succeeded: true,
                    fetched_here: false,
                });
                continue;
            }
            let claimed = match self.shared.get(index) {
                Some(Some(keys)) => {
                    host::shared_claim(&keys.claim, now, now + share::claim_duration(remote))
                }
                _ => true,
            };
            if !claimed {
                // Another VM fetches: wait for its record as for a callout of our own.
                if let Some(cache) = keyring.cache_mut(index) {
                    cache.fetch_started(now);
                }
                if !self.awaiting_peer.contains(&index) {
                    self.awaiting_peer.push(index);
                }
                continue;
            }
            let (step, endpoint) = match &remote.location {
                JwksLocation::Uri(endpoint) => (Step::Jwks, endpoint),
                JwksLocation::Discovery(endpoint) => (Step::Discovery, endpoint),
            };
            let dispatched = self.dispatch(index, remote, step, endpoint);
            let Some(cache) = keyring.cache_mut(index) else {
                continue;
            };
            match dispatched {
                Ok(()) => cache.fetch_started(now),
                Err(reason) => {
                    log::warn!(
                        "jwt-authz: provider {}: JWKS fetch failed: {reason}",
                        provider.name
                    );
                    cache.fetch_failed(now, reason);
                    self.release_claim(index);
                    finished.push(Finished {
                        provider: index,
                        succeeded: false,
                        fetched_here: true,
                    });
                }
            }
        }
        finished
    }

    fn release_claim(&self, provider: usize) {
        if let Some(Some(keys)) = self.shared.get(provider) {
            host::shared_set(&keys.claim, b"");
        }
    }

    fn dispatch(
        &mut self,
        provider: usize,
        remote: &RemoteJwks,
        step: Step,
        endpoint: &Endpoint,
    ) -> Result<(), String> {
        let token = host::dispatch_get(&remote.cluster, endpoint, remote.timeout)?;
        self.callouts.push(Callout {
            token,
            provider,
            step,
        });
        Ok(())
    }

    /// Takes in a callout's answer. A discovery answer starts the JWKS step and finishes
    /// nothing yet; a JWKS answer (or any failure) finishes the fetch.
    pub fn on_response(
        &mut self,
        token: u32,
        body_size: usize,
        config: &Config,
        keyring: &mut Keyring,
        now: Duration,
    ) -> Option<Finished> {
        let at = self.callouts.iter().position(|c| c.token == token)?;
        let Callout { provider, step, .. } = self.callouts.swap_remove(at);
        let entry = config.providers.get(provider)?;
        let KeySource::Remote(remote) = &entry.keys else {
            return None;
        };
        let name = &entry.name;
        let outcome = match step {
            Step::Discovery => {
                match self.on_discovery(provider, body_size, &entry.issuer, remote) {
                    Ok(()) => {
                        if let Some(cache) = keyring.cache_mut(provider) {
                            // The second step has a timeout of its own.
                            cache.fetch_started(now);
                        }
                        return None;
                    }
                    Err(reason) => Err(reason),
                }
            }
            Step::Jwks => match answer(body_size, MAX_JWKS_BYTES) {
                Ok(body) => {
                    let parsed = jwks::parse(&body).map_err(|e| e.to_string());
                    if parsed.is_ok() {
                        self.share(provider, &body, now);
                    }
                    parsed
                }
                Err(reason) => Err(reason),
            },
        };
        self.release_claim(provider);
        let cache = keyring.cache_mut(provider)?;
        let succeeded = outcome.is_ok();
        match outcome {
            Ok(parsed) => {
                for skipped in &parsed.skipped {
                    log::warn!("jwt-authz: provider {name}: JWKS {skipped}");
                }
                log::info!(
                    "jwt-authz: provider {name}: JWKS fetched, {} usable key(s)",
                    parsed.keys.len()
                );
                cache.fetch_succeeded(now, parsed.keys);
            }
            Err(reason) => {
                let kept = if cache.keys().is_some() {
                    "keeping the last good keys"
                } else {
                    "no keys yet"
                };
                log::warn!("jwt-authz: provider {name}: JWKS fetch failed: {reason}; {kept}");
                cache.fetch_failed(now, reason);
            }
        }
        Some(Finished {
            provider,
            succeeded,
            fetched_here: true,
        })
    }

    /// Shares a key set this VM fetched; when it differs from the one shared before, wakes
    /// the other VMs to take it before their next request.
    fn share(&self, provider: usize, jwks: &[u8], now: Duration) {
        let Some(Some(keys)) = self.shared.get(provider) else {
            return;
        };
        let previous = host::shared_get(&keys.record);
        let changed = previous
            .as_deref()
            .and_then(share::decode_record)
            .is_none_or(|(_, shared)| shared != jwks);
        host::shared_set(&keys.record, &share::encode_record(now, jwks));
        if changed && let Some(wake) = &self.wake {
            wake.notify(&keys.record, now);
        }
    }

    /// Reads the discovery answer and dispatches the JWKS step. When the document cannot be
    /// had, the `jwks_uri` it named last time is used: keys can rotate while discovery is down.
    fn on_discovery(
        &mut self,
        provider: usize,
        body_size: usize,
        issuer: &str,
        remote: &RemoteJwks,
    ) -> Result<(), String> {
        let JwksLocation::Discovery(from) = &remote.location else {
            return Err("not a discovery provider".into());
        };
        let found = answer(body_size, MAX_DISCOVERY_BYTES)
            .and_then(|body| discovery::jwks_endpoint(&body, issuer, from));
        let endpoint = match (found, self.discovered.get(provider).cloned().flatten()) {
            (Ok(endpoint), _) => endpoint,
            (Err(reason), Some(known)) => {
                log::warn!("jwt-authz: discovery failed: {reason}; using the last known jwks_uri");
                known
            }
            (Err(reason), None) => return Err(reason),
        };
        self.dispatch(provider, remote, Step::Jwks, &endpoint)?;
        if let Some(slot) = self.discovered.get_mut(provider) {
            *slot = Some(endpoint);
        }
        Ok(())
    }
}

/// The body of a 200 answer, refused when it is larger than `max`.
fn answer(body_size: usize, max: usize) -> Result<Vec<u8>, String> {
    match host::callout_status() {
        Some(200) if body_size > max => Err(format!("body of {body_size} bytes exceeds {max}")),
        Some(200) => Ok(host::callout_body(body_size, max)),
        Some(status) => Err(format!("HTTP status {status}")),
        // Envoy answers a connection failure (503) and a timeout (504) itself: without a
        // status, the answer was reset, or cut at Envoy's buffer limit.
        None => Err("no response (connection reset, or a body over Envoy's buffer limit)".into()),
    }
}
