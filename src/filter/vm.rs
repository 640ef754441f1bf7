//! State shared by the root context and the HTTP streams of one Wasm VM: the configuration,
//! the keyring, the JWKS callouts in flight and the streams paused while keys are fetched.

use super::fetcher::{Fetcher, Finished};
use super::host;
use super::tally::Tally;
use crate::authn::{self, Decision, Request};
use crate::config::{Config, JwksLocation, KeySource};
use crate::error::{AuthError, ProofFault};
use crate::keys::keyring::Keyring;
use crate::metrics::Counters;
use crate::policy::requirement::Failure;
use crate::proof::replay::{Admission, ProofId};
use crate::request::headers;
use proxy_wasm::types::Action;
use std::time::Duration;

/// Paused streams beyond this are answered at once: waiting must not grow without bound.
const MAX_WAITING_STREAMS: usize = 4096;
/// How long past the fetch timeout a paused stream may wait before it is answered anyway.
const WAIT_GRACE: Duration = Duration::from_secs(2);

pub struct Vm {
    config: Config,
    keyring: Keyring,
    fetcher: Fetcher,
    counters: Counters<Option<u32>>,
    tally: Tally,
    waiting: Vec<Waiter>,
    /// The host's wall clock, read once per tick: a hostcall per request is not worth the
    /// precision (token times are whole seconds, judged with a skew of a minute by default).
    /// `None` until the host first tells the time: requests are then refused.
    clock: Option<Duration>,
    /// Whether a full replay store was logged: once per VM, then only counted.
    replay_store_full_logged: bool,
}

struct Waiter {
    context_id: u32,
    provider: usize,
    deadline: Duration,
}

impl Vm {
    pub fn new(config: Config) -> Vm {
        let mut keyring = Keyring::new(&config);
        let nonces = config
            .providers
            .iter()
            .any(|p| p.dpop.nonce_period_seconds.is_some());
        match host::nonce_secret() {
            Some(secret) if nonces => keyring.set_nonce_secret(&secret),
            None if nonces => log::warn!(
                "jwt-authz: the host would not keep the DPoP nonce secret: proofs needing a nonce are refused"
            ),
            _ => {}
        }
        let clock = host::now();
        let fetcher = Fetcher::new(&config, clock);
        let counters = Counters::define(&config, host::define_counter);
        Vm {
            config,
            keyring,
            fetcher,
            counters,
            tally: Tally::default(),
            waiting: Vec::new(),
            clock,
            replay_store_full_logged: false,
        }
    }

    /// The time as of the last tick.
    pub fn clock(&self) -> Option<Duration> {
        self.clock
    }

    /// Called on every tick: the new time (the last one kept if the host would not say), the
    /// counters handed to the host, and this VM's heartbeat for the others.
    pub fn on_tick(&mut self, now: Option<Duration>) {
        if let Some(now) = now {
            self.clock = Some(now);
            self.fetcher.heartbeat(now);
        }
        self.tally.flush();
    }

    /// Takes in the key sets other VMs announced on this VM's queue, and decides the streams
    /// that waited for them.
    pub fn on_queue_ready(&mut self, queue: u32, now: Duration) {
        for finished in self.fetcher.on_queue_ready(queue, &mut self.keyring) {
            self.on_fetch_finished(finished, now);
        }
    }

    /// Decides the stream the host is currently on and acts on the decision.
    /// A stream decided again after waiting keeps its first deadline (`deadline`), so it is
    /// never held longer than one fetch, however often keys arrive without its key.
    pub fn decide_current_stream(
        &mut self,
        context_id: u32,
        now: Duration,
        deadline: Option<Duration>,
    ) -> Action {
        let buffer = host::request_headers();
        let headers = headers::parse(&buffer);
        let certificate = self
            .config
            .binds_certificates()
            .then(host::PeerCertificate::read);
        let route = host::RouteProperties::new(
            self.config
                .filter_state_rules
                .as_ref()
                .map(|rules| rules.name.as_str()),
        );
        let mut request = Request::from_headers(&headers);
        request.route = &route;
        if let Some(certificate) = &certificate {
            request.peer = certificate.peer();
        }
        let decision = authn::authorize(&self.config, request, &mut self.keyring, now);
        match decision {
            Decision::Allow(allowed) => {
                let recorded =
                    record_proofs(&allowed.proofs, now, &mut self.replay_store_full_logged);
                if let Err(failure) = recorded {
                    self.deny(&failure.error, failure.provider);
                    return Action::Pause;
                }
                if host::apply_edits(&allowed) {
                    if let Some((provider, claims)) = &allowed.identity {
                        self.config.filter_state.verified(
                            provider,
                            claims,
                            &mut host::set_filter_state,
                        );
                    }
                    let tally = &mut self.tally;
                    self.counters
                        .count_allowed(&allowed, &mut |counter| tally.add(counter));
                    return Action::Continue;
                }
                log::error!("jwt-authz: the host refused a header edit; request refused");
                self.deny(&AuthError::HostFailure, None);
                Action::Pause
            }
            Decision::Deny(failure) => {
                log::debug!(
                    "jwt-authz: {} {} {}: {}",
                    failure.error.status(),
                    request.method,
                    request.path_only(),
                    failure.error.description()
                );
                self.refuse(&failure, now);
                Action::Pause
            }
            Decision::Wait(provider) if self.waiting.len() >= MAX_WAITING_STREAMS => {
                log::warn!(
                    "jwt-authz: {MAX_WAITING_STREAMS} requests already wait for keys of provider {provider}"
                );
                self.deny(&AuthError::KeysUnavailable, Some(provider));
                Action::Pause
            }
            Decision::Wait(provider) => {
                let deadline =
                    deadline.unwrap_or_else(|| now + self.fetch_time(provider) + WAIT_GRACE);
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

    /// Answers the current stream with `error`, counted as a denial, without deciding it.
    pub fn deny_current_stream(&mut self, error: &AuthError) {
        self.deny(error, None);
    }

    /// Answers the current stream with `error`, counted as a denial.
    fn deny(&mut self, error: &AuthError, provider: Option<usize>) {
        let failure = Failure {
            error: error.clone(),
            provider,
        };
        self.refuse(&failure, self.clock.unwrap_or_default());
    }

    /// Answers the current stream with `failure` (a DPoP nonce in it made at `now`), counted
    /// as a denial, and leaves its status and reason in the filter state when asked to.
    fn refuse(&mut self, failure: &Failure, now: Duration) {
        let error = &failure.error;
        if let Some(values) = self
            .config
            .filter_state
            .refused(error.status(), error.reason())
        {
            for (name, value) in values {
                host::set_filter_state(name, value);
            }
        }
        let tally = &mut self.tally;
        self.counters
            .count_denial(error.reason(), failure.provider, &mut |counter| {
                tally.add(counter)
            });
        host::send_denial(
            error,
            &authn::challenges(&self.config, failure),
            authn::fresh_nonce(&self.config, failure, &self.keyring, now),
            self.config.strip_failure_response,
        );
    }

    /// Whether some provider wants a fetch started now.
    pub fn wants_fetch(&mut self, now: Duration) -> bool {
        (0..self.config.providers.len())
            .any(|p| self.keyring.cache_mut(p).is_some_and(|c| c.fetch_due(now)))
    }

    /// Starts every JWKS fetch that is due. Called from the root context only, so that
    /// answers reach the root and outlive any single stream.
    pub fn dispatch_due_fetches(&mut self, now: Duration) {
        let failed = self
            .fetcher
            .dispatch_due(&self.config, &mut self.keyring, now);
        for finished in failed {
            self.on_fetch_finished(finished, now);
        }
    }

    /// Takes in a callout answer; when a fetch is complete, decides the streams that waited.
    pub fn on_jwks_response(&mut self, token: u32, body_size: usize, now: Duration) {
        if let Some(finished) =
            self.fetcher
                .on_response(token, body_size, &self.config, &mut self.keyring, now)
        {
            self.on_fetch_finished(finished, now);
        }
    }

    /// Adopts key sets other VMs fetched meanwhile; true while some are still awaited.
    pub fn poll_peers(&mut self, now: Duration) -> bool {
        for finished in self.fetcher.poll_peers(&mut self.keyring, now) {
            self.on_fetch_finished(finished, now);
        }
        self.fetcher.awaits_peer()
    }

    fn on_fetch_finished(&mut self, finished: Finished, now: Duration) {
        if finished.fetched_here {
            self.tally.add(
                self.counters
                    .jwks_fetch(finished.provider, finished.succeeded)
                    .flatten(),
            );
        }
        self.resume_waiters(finished.provider, now);
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
                && self.decide_current_stream(waiter.context_id, now, Some(waiter.deadline))
                    == Action::Continue
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
                self.deny(&AuthError::KeysUnavailable, Some(waiter.provider));
            }
        }
    }

    /// A stream that ends stops waiting.
    pub fn forget_stream(&mut self, context_id: u32) {
        self.waiting.retain(|w| w.context_id != context_id);
    }

    /// The longest one fetch of `provider`'s keys can take: discovery is two callouts.
    fn fetch_time(&self, provider: usize) -> Duration {
        match self.config.providers.get(provider).map(|p| &p.keys) {
            Some(KeySource::Remote(remote)) => match remote.location {
                JwksLocation::Uri(_) => remote.timeout,
                JwksLocation::Discovery(_) => remote.timeout.saturating_mul(2),
            },
            _ => Duration::ZERO,
        }
    }
}

/// Records the request's DPoP proofs as used, for every VM of the process: a proof seen
/// before is a replay; one that cannot be recorded is refused (fail closed).
fn record_proofs(
    proofs: &[(usize, ProofId)],
    now: Duration,
    full_logged: &mut bool,
) -> Result<(), Failure> {
    for &(provider, proof) in proofs {
        let error = match host::shared_admit(&proof, now) {
            Some(Admission::Fresh(_)) => continue,
            Some(Admission::Replayed) => AuthError::InvalidProof(ProofFault::Replayed),
            Some(Admission::Full) => {
                if !*full_logged {
                    *full_logged = true;
                    log::warn!(
                        "jwt-authz: the DPoP replay store is full: new proofs are refused until older ones expire (counted as dpop_replay_store_full; logged once)"
                    );
                }
                AuthError::ReplayStoreFull
            }
            None => {
                log::warn!("jwt-authz: the host would not record a DPoP proof; refused");
                AuthError::HostFailure
            }
        };
        return Err(Failure {
            error,
            provider: Some(provider),
        });
    }
    Ok(())
}
