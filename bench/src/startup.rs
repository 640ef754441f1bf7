//! Starting the benchmark's Envoy: how long until each authenticating listener lets a valid
//! token through, and what a process costs in memory with and without the Wasm listeners.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use devstack::{Envoy, EnvoyOptions};

use crate::envoy_config::Listener;

const FIRST_SUCCESS_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(2);

/// How long startup took, from the moment Envoy was launched.
#[derive(Debug, Clone)]
pub struct Startup {
    /// Until the admin endpoint reported ready.
    pub ready: Duration,
    /// Until each polled listener first answered 200 to a valid token.
    pub first_success: Vec<(Listener, Result<Duration, String>)>,
}

/// A listener to poll and the request path carrying a valid token.
#[derive(Debug, Clone)]
pub struct Poll {
    pub listener: Listener,
    pub addr: SocketAddr,
    pub path: String,
}

/// Starts Envoy and polls every listener in `polls` at once (each on its own thread, so one
/// listener's key fetch does not delay another's clock) until it answers 200.
pub fn start_timed(
    yaml: &str,
    admin_port: u16,
    options: &EnvoyOptions,
    polls: &[Poll],
) -> Result<(Envoy, Startup), String> {
    let launched = Instant::now();
    let envoy = Envoy::start_with(yaml, admin_port, options)?;
    let ready = launched.elapsed();
    let first_success = std::thread::scope(|scope| {
        let pollers: Vec<_> = polls
            .iter()
            .map(|poll| {
                scope.spawn(move || {
                    (
                        poll.listener,
                        first_success(poll.addr, &poll.path, launched),
                    )
                })
            })
            .collect();
        pollers
            .into_iter()
            .map(|p| p.join().expect("poller panicked"))
            .collect()
    });
    Ok((
        envoy,
        Startup {
            ready,
            first_success,
        },
    ))
}

/// Time from `launched` to the first 200 from `addr`.
fn first_success(addr: SocketAddr, path: &str, launched: Instant) -> Result<Duration, String> {
    let mut last = String::from("no answer");
    while launched.elapsed() < FIRST_SUCCESS_TIMEOUT {
        match devstack::http::get(addr, path, &[]) {
            Ok(response) if response.status == 200 => return Ok(launched.elapsed()),
            Ok(response) => last = format!("status {}", response.status),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(POLL);
    }
    Err(format!(
        "no 200 within {}s (last: {last})",
        FIRST_SUCCESS_TIMEOUT.as_secs()
    ))
}

/// Starts Envoy on `yaml`, waits for a 200 from every poll, lets it settle, and returns its
/// resident memory in KiB.
pub fn settled_rss(
    yaml: &str,
    admin_port: u16,
    options: &EnvoyOptions,
    polls: &[Poll],
) -> Result<u64, String> {
    let (envoy, startup) = start_timed(yaml, admin_port, options, polls)?;
    for (listener, result) in &startup.first_success {
        if let Err(e) = result {
            return Err(format!("{}: {e}", listener.label()));
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    envoy
        .rss_kib()
        .ok_or_else(|| "cannot read Envoy's VmRSS".to_string())
}

/// Envoy's JWKS fetches per cluster: `cluster.NAME.upstream_rq_total` for each cluster name.
pub fn jwks_fetches(envoy: &Envoy, clusters: &[String]) -> Result<Vec<(String, u64)>, String> {
    let stats = envoy.stats()?;
    Ok(clusters
        .iter()
        .map(|name| {
            let stat = format!("cluster.{name}.upstream_rq_total");
            (name.clone(), stats.get(&stat).copied().unwrap_or(0))
        })
        .collect())
}
