//! JWKS callouts: straight to the JWKS, or first to the issuer's discovery document and then
//! to the `jwks_uri` it names. Made from the root context only, so answers outlive streams.

use super::host;
use crate::config::{Config, JwksLocation, KeySource, RemoteJwks};
use crate::discovery::{self, MAX_DISCOVERY_BYTES};
use crate::jwks::{self, MAX_JWKS_BYTES};
use crate::keyring::Keyring;
use crate::uri::Endpoint;
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

/// The end of one fetch of a provider's keys (both steps when discovery is used).
pub struct Finished {
    pub provider: usize,
    pub succeeded: bool,
}

pub struct Fetcher {
    callouts: Vec<Callout>,
    /// The `jwks_uri` each discovery provider last named: used again if discovery fails.
    discovered: Vec<Option<Endpoint>>,
}

impl Fetcher {
    pub fn new(config: &Config) -> Fetcher {
        Fetcher {
            callouts: Vec::new(),
            discovered: vec![None; config.providers.len()],
        }
    }

    /// Starts every fetch that is due; returns the fetches that failed at once.
    pub fn dispatch_due(
        &mut self,
        config: &Config,
        keyring: &mut Keyring,
        now: Duration,
    ) -> Vec<Finished> {
        let mut failed = Vec::new();
        for (index, provider) in config.providers.iter().enumerate() {
            let (KeySource::Remote(remote), Some(cache)) =
                (&provider.keys, keyring.cache_mut(index))
            else {
                continue;
            };
            if !cache.fetch_due(now) {
                continue;
            }
            let (step, endpoint) = match &remote.location {
                JwksLocation::Uri(endpoint) => (Step::Jwks, endpoint),
                JwksLocation::Discovery(endpoint) => (Step::Discovery, endpoint),
            };
            match self.dispatch(index, remote, step, endpoint) {
                Ok(()) => cache.fetch_started(now),
                Err(reason) => {
                    log::warn!(
                        "jwt-authz: provider {}: JWKS fetch failed: {reason}",
                        provider.name
                    );
                    cache.fetch_failed(now, reason);
                    failed.push(Finished {
                        provider: index,
                        succeeded: false,
                    });
                }
            }
        }
        failed
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
                Ok(body) => jwks::parse(&body).map_err(|e| e.to_string()),
                Err(reason) => Err(reason),
            },
        };
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
        })
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
        None => Err("no response (connection failure or timeout)".into()),
    }
}
