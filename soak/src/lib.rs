//! `make soak`: Envoy with the filter, the dev IdP and the echo upstream; clients send a mix
//! of requests (valid, expired, forged, junk, missing, several scopes, random and rotated
//! keys) at a steady rate while the IdP rotates keys, removes old ones and misbehaves in
//! every way the fault tests know. Every answer is checked against the verdict it must have
//! ([`traffic`], [`key_life`]); Envoy's memory is sampled every second.
//!
//! It checks correctness, never speed: the rate is modest and paced, and timing enters only
//! through the key-propagation windows, which are derived from the filter's settings.

pub mod check;
pub mod key_life;
pub mod stack;
pub mod traffic;

use check::Tally;
use devidp::Fault;
use devstack::Connection;
use stack::{Stack, TIMING};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};
use traffic::{Keys, Traffic};

/// How long one kind of fault (or the healthy answer after it) waits for the filter to ask.
const FAULT_WAIT: Duration = Duration::from_secs(8);
/// Rest after the faults: a worker that failed last backs off for a few seconds at most
/// (each fault is followed by a healthy answer, which resets the backoff).
const REST: Duration = Duration::from_secs(6);
/// Envoy's memory may grow by this much after warm-up (allocator and V8 heap noise).
pub const MEMORY_SLACK_KIB: u64 = 24 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub duration: Duration,
    /// Concurrent keep-alive connections.
    pub clients: usize,
    /// Requests per second, all clients together.
    pub rate: f64,
    /// Envoy worker threads (one Wasm VM each).
    pub workers: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            duration: Duration::from_secs(300),
            clients: 8,
            rate: 200.0,
            workers: 2,
        }
    }
}

impl Options {
    /// Traffic runs from the start; memory is compared from the end of the warm-up, which
    /// is also when the first key rotation happens.
    pub fn warm_up(&self) -> Duration {
        (self.duration / 10).clamp(Duration::from_secs(10), Duration::from_secs(60))
    }
}

/// Parses `90s`, `10m`, `1h` or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 10m or 1h"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => return Err(format!("{text:?} is not a duration like 90s, 10m or 1h")),
    };
    Ok(Duration::from_secs(seconds))
}

/// Envoy's resident memory at the points that matter, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub start: u64,
    pub warmed_up: u64,
    pub end: u64,
    pub max_after_warm_up: u64,
}

impl Memory {
    pub fn growth_after_warm_up(&self) -> u64 {
        self.max_after_warm_up
            .max(self.end)
            .saturating_sub(self.warmed_up)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub options: Option<Options>,
    pub elapsed: Duration,
    pub tally: Tally,
    pub rotations: usize,
    pub removals: usize,
    /// Kinds of misbehaviour switched on, one after the other.
    pub faults_injected: usize,
    /// Of those, the ones the filter met (a JWKS request answered that way).
    pub faults_met: usize,
    pub jwks_requests: usize,
    pub memory: Memory,
    /// `(seconds, KiB)` every tenth of the run.
    pub memory_series: Vec<(u64, u64)>,
    pub failed_fetches_logged: usize,
    pub panics_logged: usize,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.tally.requests() > 0
            && self.tally.wrong() == 0
            && self.tally.other_5xx == 0
            && self.tally.no_answer == 0
            && self.panics_logged == 0
            && self.memory.growth_after_warm_up() <= MEMORY_SLACK_KIB
    }

    pub fn print(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let t = &self.tally;
        if let Some(o) = &self.options {
            writeln!(
                out,
                "soak: {:.0} s, {} Envoy workers, {} clients at {} requests/s in all",
                self.elapsed.as_secs_f64(),
                o.workers,
                o.clients,
                o.rate
            )?;
        }
        writeln!(
            out,
            "{:<22} {:>8} {:>8} {:>6} {:>18} {:>12}",
            "kind", "sent", "right", "wrong", "transition ok/401", "503 no keys"
        )?;
        for (kind, c) in &t.kinds {
            writeln!(
                out,
                "{:<22} {:>8} {:>8} {:>6} {:>18} {:>12}",
                kind.name(),
                c.sent,
                c.right,
                c.wrong,
                format!("{}/{}", c.transition_allowed, c.transition_refused),
                c.keys_unavailable
            )?;
        }
        writeln!(out, "requests: {}", t.requests())?;
        writeln!(out, "wrong decisions: {}", t.wrong())?;
        writeln!(
            out,
            "5xx: {} documented 503 keys-unavailable, {} other; no answer: {}",
            t.keys_unavailable(),
            t.other_5xx,
            t.no_answer
        )?;
        writeln!(
            out,
            "IdP: {} key rotations, {} removals, {} faults injected ({} met by a JWKS request), {} JWKS requests in all",
            self.rotations,
            self.removals,
            self.faults_injected,
            self.faults_met,
            self.jwks_requests
        )?;
        writeln!(
            out,
            "Envoy log: {} failed fetches, {} panics",
            self.failed_fetches_logged, self.panics_logged
        )?;
        let m = self.memory;
        let mib = |kib: u64| kib as f64 / 1024.0;
        writeln!(
            out,
            "Envoy memory (VmRSS): start {:.1} MiB, after warm-up {:.1} MiB, end {:.1} MiB, max after warm-up {:.1} MiB (growth {:.1} MiB, at most {:.0} allowed)",
            mib(m.start),
            mib(m.warmed_up),
            mib(m.end),
            mib(m.max_after_warm_up),
            mib(m.growth_after_warm_up()),
            mib(MEMORY_SLACK_KIB)
        )?;
        let series: Vec<String> = self
            .memory_series
            .iter()
            .map(|(s, kib)| format!("{s}s {:.1}", mib(*kib)))
            .collect();
        writeln!(out, "memory over time (MiB): {}", series.join(", "))?;
        for example in &t.examples {
            writeln!(out, "WRONG: {example}")?;
        }
        writeln!(out, "{}", if self.passed() { "PASS" } else { "FAIL" })
    }
}

/// The kinds of misbehaviour, in the order they take turns.
fn faults() -> Vec<Fault> {
    let body = |content_type: &str, body: &[u8]| Fault::Body {
        content_type: content_type.into(),
        body: body.to_vec(),
    };
    vec![
        Fault::Status(503),
        Fault::Close,
        body("text/html", b"<html><body>502 Bad Gateway</body></html>"),
        body(
            "application/json",
            br#"{"keys": [{"kty": "RSA", "kid": "bad", "n": "AQAB", "e": "AQAB"}]}"#,
        ),
        Fault::Delay(Duration::from_secs(2)),
        Fault::huge(50 << 20, false).0,
        Fault::truncated(100_000, 64),
        Fault::Status(500),
    ]
}

/// Runs the soak; progress lines go to `progress`.
pub fn run(options: &Options, progress: &mut (dyn Write + Send)) -> Result<Report, String> {
    let stack = Stack::start(options.workers)?;
    let propagation = TIMING.propagation();
    let start = Instant::now();
    let end = start + options.duration;
    let keys = Arc::new(Keys::new(
        stack.idp.issuer(),
        stack.idp.current_key(),
        start.checked_sub(propagation).unwrap_or(start),
    ));
    let mut report = Report {
        options: Some(options.clone()),
        ..Report::default()
    };
    report.memory.start = stack.envoy.rss_kib().unwrap_or_default();
    let stop = AtomicBool::new(false);
    let per_client = options.rate / options.clients.max(1) as f64;
    let progress = Mutex::new(progress);
    let (tally, idp) = thread::scope(|scope| -> Result<(Tally, IdpLog), String> {
        let clients: Vec<_> = (0..options.clients)
            .map(|i| {
                let (keys, stop) = (Arc::clone(&keys), &stop);
                let listener = stack.listener;
                scope.spawn(move || client(i, listener, keys, propagation, per_client, stop))
            })
            .collect();
        let driver = {
            let (stack, keys, progress) = (&stack, &keys, &progress);
            scope.spawn(move || {
                drive_idp(stack, keys, start, start + options.warm_up(), end, progress)
            })
        };
        sample_memory(&stack, start + options.warm_up(), end, options, &mut report);
        stop.store(true, Ordering::SeqCst);
        let idp = driver
            .join()
            .map_err(|_| "the IdP driver panicked".to_string())?;
        let mut tally = Tally::default();
        for c in clients {
            tally.merge(
                c.join()
                    .map_err(|_| "a client thread panicked".to_string())?,
            );
        }
        Ok((tally, idp))
    })?;
    report.elapsed = start.elapsed();
    report.tally = tally;
    report.rotations = idp.rotations;
    report.removals = idp.removals;
    report.faults_injected = idp.faults_injected;
    report.faults_met = idp.faults_met;
    report.memory.end = stack.envoy.rss_kib().unwrap_or_default();
    report.jwks_requests = stack.idp.jwks_requests();
    let log = stack.envoy.log();
    report.failed_fetches_logged = log.matches("JWKS fetch failed").count();
    report.panics_logged = log.matches("panicked").count();
    Ok(report)
}

/// What the IdP driver did.
#[derive(Debug, Default)]
struct IdpLog {
    rotations: usize,
    removals: usize,
    faults_injected: usize,
    faults_met: usize,
}

/// From `from` until `end` (`start` is when the soak began), in cycles: rotate the signing key; remove the old key one
/// propagation window later; after another, each kind of fault until the filter has met
/// it, with a healthy answer after each; rest. So the IdP misbehaves only while no key
/// change is on its way to the workers, and the backoff has run out before the next one.
fn drive_idp(
    stack: &Stack,
    keys: &Keys,
    start: Instant,
    from: Instant,
    end: Instant,
    progress: &Mutex<&mut (dyn Write + Send)>,
) -> IdpLog {
    let mut log = IdpLog::default();
    let say = |line: String| {
        let mut out = progress.lock().unwrap_or_else(PoisonError::into_inner);
        let at = start.elapsed().as_secs_f64();
        let _ = writeln!(out, "soak {at:>6.1}s: {line}");
    };
    let idp = &stack.idp;
    // Waits until `done` or `limit` has passed; false when the soak ends first.
    let wait = |limit: Duration, done: &dyn Fn() -> bool| -> Option<bool> {
        let until = Instant::now() + limit;
        loop {
            if Instant::now() >= end {
                return None;
            }
            if done() {
                return Some(true);
            }
            if Instant::now() >= until {
                return Some(false);
            }
            thread::sleep(Duration::from_millis(20));
        }
    };
    let sleep = |d: Duration| wait(d, &|| false).is_some();
    let propagation = TIMING.propagation();
    let faults = faults();
    if !sleep(from.saturating_duration_since(Instant::now())) {
        return log;
    }
    loop {
        idp.rotate_key();
        // Recorded after the IdP publishes it: the window starts no earlier.
        keys.add(idp.current_key(), Instant::now());
        log.rotations += 1;
        say("key rotated".into());
        if !sleep(propagation) {
            return log;
        }
        // Recorded before the IdP removes it: the window starts no later.
        keys.retire_all_but_newest(Instant::now());
        idp.retire_old_keys();
        log.removals += 1;
        say("old keys removed".into());
        if !sleep(propagation) {
            return log;
        }
        for fault in &faults {
            let name = describe(fault);
            idp.set_fault(fault.clone());
            log.faults_injected += 1;
            // Set first, then counted: a request counted later was answered with the fault.
            let before = idp.jwks_requests();
            let Some(met) = wait(FAULT_WAIT, &|| idp.jwks_requests() > before) else {
                return log;
            };
            log.faults_met += usize::from(met);
            idp.set_fault(Fault::None);
            say(format!(
                "IdP fault: {name}: {}",
                if met { "met" } else { "not met" }
            ));
            let before = idp.jwks_requests();
            if wait(FAULT_WAIT, &|| idp.jwks_requests() > before).is_none() {
                return log;
            }
        }
        say("IdP healthy".into());
        if !sleep(REST) {
            return log;
        }
    }
}

fn describe(fault: &Fault) -> String {
    match fault {
        Fault::None => "none".into(),
        Fault::Status(status) => format!("HTTP {status}"),
        Fault::Body { content_type, body } => format!("{} bytes of {content_type}", body.len()),
        Fault::Delay(delay) => format!("{} s delay", delay.as_secs_f64()),
        Fault::Close => "connection closed".into(),
        Fault::Huge(body) => match body.content_length {
            Some(length) if length > body.length => {
                format!("{} of {length} bytes, then closed", body.length)
            }
            _ => format!("{} MB body", body.length >> 20),
        },
    }
}

/// Samples Envoy's memory every second until `end` (and clears what the upstream recorded).
fn sample_memory(
    stack: &Stack,
    warmed_up: Instant,
    end: Instant,
    options: &Options,
    report: &mut Report,
) {
    let start = Instant::now();
    let series_every = (options.duration / 10).max(Duration::from_secs(1));
    let mut next_series = start;
    let mut next = start;
    while next < end {
        thread::sleep(next.saturating_duration_since(Instant::now()));
        next += Duration::from_secs(1);
        // The upstream records every request; the soak does not need them.
        stack.echo.clear();
        let kib = stack.envoy.rss_kib().unwrap_or_default();
        let now = Instant::now();
        if now >= warmed_up {
            if report.memory.warmed_up == 0 {
                report.memory.warmed_up = kib;
            }
            report.memory.max_after_warm_up = report.memory.max_after_warm_up.max(kib);
        }
        if now >= next_series {
            next_series += series_every;
            report.memory_series.push(((now - start).as_secs(), kib));
        }
    }
}

/// One client: a keep-alive connection, requests at its share of the rate, every answer
/// judged.
fn client(
    index: usize,
    listener: std::net::SocketAddr,
    keys: Arc<Keys>,
    propagation: Duration,
    rate: f64,
    stop: &AtomicBool,
) -> Tally {
    let mut traffic = Traffic::new(Arc::clone(&keys), propagation, index);
    let mut tally = Tally::default();
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let mut connection: Option<Connection> = None;
    // Clients start spread over one interval.
    let mut next = Instant::now() + interval.mul_f64((index % 16) as f64 / 16.0);
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now < next {
            thread::sleep((next - now).min(Duration::from_millis(100)));
            continue;
        }
        // Paced, without bursts to catch up after a stall.
        next = (next + interval).max(now);
        let planned = traffic.next(now);
        let headers: Vec<(&str, &str)> = planned
            .authorization
            .iter()
            .map(|a| ("authorization", a.as_str()))
            .collect();
        let sent = Instant::now();
        let answer = match connection.as_mut() {
            Some(c) => c.get(planned.path, &headers),
            None => Connection::open(listener)
                .and_then(|c| connection.insert(c).get(planned.path, &headers)),
        };
        if answer.is_err() {
            connection = None;
        }
        let answered = Instant::now();
        tally.record(&planned, answer, sent, answered, &keys, propagation);
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_make_soak_takes_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn warm_up_is_a_tenth_within_bounds() {
        let with = |seconds| Options {
            duration: Duration::from_secs(seconds),
            ..Options::default()
        };
        assert_eq!(with(60).warm_up(), Duration::from_secs(10));
        assert_eq!(with(600).warm_up(), Duration::from_secs(60));
        assert_eq!(with(7200).warm_up(), Duration::from_secs(60));
        assert_eq!(with(300).warm_up(), Duration::from_secs(30));
    }
}
