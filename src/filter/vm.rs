//! State shared by the root context and the HTTP streams of one Wasm VM: the configuration,
//! the keyring, the JWKS callouts in flight and the streams paused while keys are fetched.

use super::host;
use crate::authn::{self, Decision, Request};
use crate::config::{Config, KeySource};
use crate::jwks::{self, MAX_JWKS_BYTES};
use crate::keyring::Keyring;
use proxy_wasm::types::Action;
use std::time::Duration;

/// Paused streams beyond this are answered at once: waiting must not grow without bound.
const MAX_WAITING_STREAMS: usize = 4096;
/// How long past the fetch timeout a paused stream may wait before it is answered anyway.
const WAIT_GRACE: Duration = Duration::from_secs(2);

pub struct Vm {
    config: Config,
    keyring: Keyring,
    /// JWKS callouts in flight: (token, provider).
    callouts: Vec<(u32, usize)>,
    waiting: Vec<Waiter>,
}

struct Waiter {
    context_id: u32,
    provider: usize,
    deadline: Duration,
}

impl Vm {
    pub fn new(config: Config) -> Vm {
        let keyring = Keyring::new(&config);
        Vm {
            config,
            keyring,
            callouts: Vec::new(),
            waiting: Vec::new(),
        }
    }

    /// Decides the stream the host is currently on and acts on the decision.
    pub fn decide_current_stream(&mut self, context_id: u32, now: Duration) -> Action {
        let headers = host::request_headers();
        let path = headers
            .iter()
            .find(|(n, _)| n == ":path")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let request = Request {
            path,
            headers: &headers,
        };
        match authn::authorize(&self.config, request, &mut self.keyring, now) {
            Decision::Allow(allowed) => {
                if let Some(removal) = &allowed.remove_token {
                    host::remove_token(removal);
                }
                Action::Continue
            }
            Decision::Deny(error) => {
                log::debug!(
                    "jwt-authz: {} {}: {}",
                    error.status(),
                    path_only(path),
                    error.description()
                );
                host::send_denial(&error, &self.config.realm);
                Action::Pause
            }
            Decision::Wait(provider) if self.waiting.len() >= MAX_WAITING_STREAMS => {
                log::warn!(
                    "jwt-authz: {MAX_WAITING_STREAMS} requests already wait for keys of provider {provider}"
                );
                host::send_denial(
                    &crate::error::AuthError::KeysUnavailable,
                    &self.config.realm,
                );
                Action::Pause
            }
            Decision::Wait(provider) => {
                let deadline = now + self.fetch_timeout(provider) + WAIT_GRACE;
                log::debug!("jwt-authz: stream {context_id} waits for keys of provider {provider}");
                self.waiting.push(Waiter {
                    context_id,
                    provider,
                    deadline,
                });
                Action::Pause
            }
        }
    }

    /// Whether some provider wants a fetch started now.
    pub fn wants_fetch(&mut self, now: Duration) -> bool {
        (0..self.config.providers.len())
            .any(|p| self.keyring.cache_mut(p).is_some_and(|c| c.fetch_due(now)))
    }

    /// Starts every JWKS fetch that is due. Called from the root context only, so that
    /// answers reach the root and outlive any single stream.
    pub fn dispatch_due_fetches(&mut self, now: Duration) {
        let mut failed = Vec::new();
        for (index, provider) in self.config.providers.iter().enumerate() {
            let (KeySource::Remote(remote), Some(cache)) =
                (&provider.keys, self.keyring.cache_mut(index))
            else {
                continue;
            };
            if !cache.fetch_due(now) {
                continue;
            }
            match host::dispatch_jwks_fetch(remote) {
                Ok(token) => {
                    cache.fetch_started(now);
                    self.callouts.push((token, index));
                }
                Err(reason) => {
                    log::warn!(
                        "jwt-authz: provider {}: JWKS fetch failed: {reason}",
                        provider.name
                    );
                    cache.fetch_failed(now, reason);
                    failed.push(index);
                }
            }
        }
        for provider in failed {
            self.resume_waiters(provider, now);
        }
    }

    /// Takes in a JWKS answer, then decides the streams that waited for it.
    pub fn on_jwks_response(&mut self, token: u32, body_size: usize, now: Duration) {
        let Some(index) = self.callouts.iter().position(|(t, _)| *t == token) else {
            return;
        };
        let (_, provider) = self.callouts.swap_remove(index);
        let name = self.provider_name(provider).to_string();
        let result = match host::callout_status() {
            Some(200) if body_size > MAX_JWKS_BYTES => Err(format!(
                "body of {body_size} bytes exceeds {MAX_JWKS_BYTES}"
            )),
            Some(200) => jwks::parse(&host::callout_body(body_size, MAX_JWKS_BYTES))
                .map_err(|e| e.to_string()),
            Some(status) => Err(format!("HTTP status {status}")),
            None => Err("no response (connection failure or timeout)".into()),
        };
        let Some(cache) = self.keyring.cache_mut(provider) else {
            return;
        };
        match result {
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
        self.resume_waiters(provider, now);
    }

    /// Decides again every stream that waited for `provider`'s keys.
    fn resume_waiters(&mut self, provider: usize, now: Duration) {
        let (ready, still): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| w.provider == provider);
        self.waiting = still;
        for waiter in ready {
            log::debug!("jwt-authz: stream {} decided again", waiter.context_id);
            if host::switch_to_stream(waiter.context_id)
                && self.decide_current_stream(waiter.context_id, now) == Action::Continue
            {
                host::resume_request();
            }
        }
    }

    /// Answers the streams that waited too long (a lost callout must not hold them forever).
    pub fn expire_waiters(&mut self, now: Duration) {
        let (expired, still): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| now >= w.deadline);
        self.waiting = still;
        for waiter in expired {
            if host::switch_to_stream(waiter.context_id) {
                host::send_denial(
                    &crate::error::AuthError::KeysUnavailable,
                    &self.config.realm,
                );
            }
        }
    }

    /// A stream that ends stops waiting.
    pub fn forget_stream(&mut self, context_id: u32) {
        self.waiting.retain(|w| w.context_id != context_id);
    }

    fn provider_name(&self, provider: usize) -> &str {
        self.config
            .providers
            .get(provider)
            .map_or("?", |p| p.name.as_str())
    }

    fn fetch_timeout(&self, provider: usize) -> Duration {
        match self.config.providers.get(provider).map(|p| &p.keys) {
            Some(KeySource::Remote(remote)) => remote.timeout,
            _ => Duration::ZERO,
        }
    }
}

/// The path without its query: queries may carry tokens, and tokens are never logged.
fn path_only(path: &str) -> &str {
    path.split('?').next().unwrap_or_default()
}
