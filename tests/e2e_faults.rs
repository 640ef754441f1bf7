//! End to end through a real Envoy: the IdP faults that `e2e_keys.rs` does not cover already.
//! An IdP refusing connections at start; every kind of bad answer during a refresh (the last
//! good keys stay, what is read is capped, the reason is logged); rotation and removal seen
//! by every worker, at once once one worker has the new set; a spray of random `kid`s against several workers (one refetch per
//! interval for them all); request bytes that are not UTF-8.

mod support;

use devidp::{Fault, Idp, IdpConfig};
use devstack::bootstrap::CALLOUT_BODY_LIMIT;
use devstack::{free_port, http};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};
use support::*;

/// The callout timeout these tests configure.
const TIMEOUT: Duration = Duration::from_secs(1);
/// How long past the timeout a request may wait for keys (docs/src/operations/keys.md:
/// "timeout plus 2 s").
const WAIT_GRACE: Duration = Duration::from_secs(2);
const UNKNOWN_KEY: &str = "Jwks doesn't have key to match kid or alg from Jwt";

fn with_remote(idp: &Idp, cache_duration: &str, min_refetch_interval: &str) -> Value {
    let mut config = filter_config(idp);
    let remote = &mut config["providers"]["idp"]["remote_jwks"];
    remote["http_uri"]["timeout"] = json!("1s");
    remote["cache_duration"] = json!(cache_duration);
    remote["min_refetch_interval"] = json!(min_refetch_interval);
    config
}

/// Valid claims that no earlier token had: the filter must verify the signature again.
fn fresh_claims(h: &Harness) -> Value {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut claims = h.claims();
    claims["jti"] = json!(NEXT.fetch_add(1, Ordering::SeqCst));
    claims
}

fn log_count(h: &Harness, line: &str) -> usize {
    h.envoy.log().matches(line).count()
}

#[test]
fn idp_refusing_connections_at_start_fails_closed_in_time_then_recovers_by_itself() {
    let port = free_port().expect("free port");
    let down = SocketAddr::from(([127, 0, 0, 1], port));
    let issuer = format!("http://{down}/");
    let filter = json!({
        "providers": {"idp": {
            "issuer": issuer,
            "audiences": [AUDIENCE],
            "remote_jwks": {"http_uri": {"uri": format!("{issuer}.well-known/jwks.json"), "cluster": "down", "timeout": "1s"}}
        }},
        "rules": [{"match": {"prefix": "/api"}, "requires": {"provider_name": "idp"}}]
    });
    let h = Harness::start_with_clusters(start_idp(), &[("down", down)], &filter, 1)
        .expect("Envoy starts");
    // A token naming the issuer that is down (signed by another key: it never gets that far).
    let mut claims = h.claims();
    claims["iss"] = json!(issuer);
    let token = h.idp.mint(&claims);
    let started = Instant::now();
    assert_keys_unavailable("nothing listens", &h.get_with_token("/api/x", &token));
    assert!(
        started.elapsed() < TIMEOUT + WAIT_GRACE,
        "answered after {:?}",
        started.elapsed()
    );
    assert!(h.echo.requests().is_empty());
    assert!(
        h.envoy
            .log()
            .contains("provider idp: JWKS fetch failed: HTTP status 503; no keys yet"),
        "the reason is logged"
    );

    // The IdP comes up where the cluster points: the next request after the backoff fetches.
    let idp = Idp::start(&down.to_string(), IdpConfig::default()).expect("IdP on that port");
    let token = idp.mint(&idp.claims_for("test-client", AUDIENCE, &[]));
    let recovered = eventually(Duration::from_secs(10), || {
        h.get_with_token("/api/x", &token).status == 200
    });
    assert!(
        recovered,
        "the filter fetched the keys once the IdP listened"
    );
    assert_eq!(idp.jwks_requests(), 1);
}

#[test]
fn every_kind_of_bad_refresh_keeps_the_last_good_keys_and_reads_at_most_the_cap() {
    let h = Harness::start(|idp| with_remote(idp, "0.5s", "1s"));
    let token = h.token(&[]);
    assert_eq!(h.get_with_token("/api/x", &token).status, 200);
    let rss_before = h.envoy.rss_kib().expect("Envoy's memory");
    let fifty_mb = 50 << 20;
    let (huge, huge_written) = Fault::huge(fifty_mb, true);
    let (endless, endless_written) = Fault::huge(fifty_mb, false);
    let (over_cap, _) = Fault::huge(300 << 10, true);
    let body = |content_type: &str, body: &[u8]| Fault::Body {
        content_type: content_type.into(),
        body: body.to_vec(),
    };
    let too_many = json!({"keys": vec![h.idp.current_key().public_jwk(); 65]}).to_string();
    let no_answer = "no response (connection reset, or a body over Envoy's buffer limit)";
    let faults: Vec<(&str, Fault, &str)> = vec![
        ("HTTP 500", Fault::Status(500), "HTTP status 500"),
        (
            "connection closed before an answer",
            Fault::Close,
            "HTTP status 503",
        ),
        (
            "slower than the timeout",
            Fault::Delay(Duration::from_secs(6)),
            "HTTP status 504",
        ),
        (
            "HTML",
            body("text/html", b"<html><body>Bad Gateway</body></html>"),
            "JWKS is not a JSON object",
        ),
        (
            "garbage bytes",
            body("application/json", &[0xff, 0xfe, 0x00, 0x7b]),
            "JWKS is not a JSON object",
        ),
        (
            "truncated JSON",
            body("application/json", br#"{"keys": [{"kty": "RSA", "n": "#),
            "JWKS is not a JSON object",
        ),
        (
            "malformed keys",
            body(
                "application/json",
                br#"{"keys": [{"kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"}, {"kty": "RSA", "kid": "no-n", "e": "AQAB"}, {"kty": "EC", "kid": "ec", "crv": "secp256k1"}, {"kty": "oct", "kid": "hs", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw"}]}"#,
            ),
            r#"JWKS has no usable key: key 0 (kid "short") skipped: modulus of 17 bits is outside 2048..=8192; key 1 (kid "no-n") skipped: n is missing; key 2 (kid "ec") skipped: crv "secp256k1" is not supported; key 3 (kid "hs") skipped: oct (HMAC) key in a fetched key set: shared secrets are never taken from the network"#,
        ),
        (
            "65 keys",
            body("application/json", too_many.as_bytes()),
            "JWKS has 65 keys, more than the 64 accepted",
        ),
        (
            "300 KiB",
            over_cap,
            "body of 307200 bytes exceeds 262144",
        ),
        ("50 MB with its length", huge, no_answer),
        ("50 MB without a length", endless, no_answer),
        ("body cut short", Fault::truncated(100_000, 1000), no_answer),
    ];
    for (case, fault, reason) in faults {
        let failed =
            format!("provider idp: JWKS fetch failed: {reason}; keeping the last good keys");
        let failures = log_count(&h, &failed);
        let fetched = log_count(&h, "JWKS fetched");
        h.idp.set_fault(fault);
        // Requests go on with the last good keys while refreshes are failing, also those
        // that need a full check, and are not held by a refresh in flight.
        let deadline = Instant::now() + Duration::from_secs(15);
        while log_count(&h, &failed) == failures {
            assert!(
                Instant::now() < deadline,
                "{case}: no failed refresh logged"
            );
            let started = Instant::now();
            let fresh = h.idp.mint(&fresh_claims(&h));
            for t in [&token, &fresh] {
                let response = h.get_with_token("/api/x", t);
                assert_eq!(response.status, 200, "{case}: {}", response.text());
            }
            assert!(
                started.elapsed() < TIMEOUT + WAIT_GRACE,
                "{case}: requests held {:?}",
                started.elapsed()
            );
            thread::sleep(Duration::from_millis(100));
        }
        // Healthy again: the next refresh succeeds (and resets the backoff).
        h.idp.set_fault(Fault::None);
        assert!(
            eventually(Duration::from_secs(15), || log_count(&h, "JWKS fetched")
                > fetched),
            "{case}: no recovery"
        );
    }
    // Envoy stopped reading each 50 MB answer at its 1 MiB buffer limit: what the IdP got
    // rid of beyond that sat in socket buffers (several MB on loopback) and was dropped, the
    // rest was never sent; Envoy's memory did not grow by the body.
    for (case, written) in [("length", huge_written), ("no length", endless_written)] {
        let written = written.load(Ordering::SeqCst);
        eprintln!("50 MB, {case}: Envoy took {written} bytes");
        assert!(written < fifty_mb, "50 MB, {case}: all of it was read");
    }
    let grown = h
        .envoy
        .rss_kib()
        .expect("Envoy's memory")
        .saturating_sub(rss_before);
    eprintln!("Envoy's memory grew by {grown} KiB over the faults");
    assert!(grown < 16 << 10, "Envoy grew by {grown} KiB");
    assert!(!h.envoy.log().contains("panicked"));
}

#[test]
fn rotation_and_removal_reach_every_worker() {
    let h = Harness::start_with_workers(2, |idp| with_remote(idp, "2s", "1s"));
    let old = h.token(&[]);
    // Many connections at once reach both workers: each VM verifies and caches the token.
    assert_eq!(h.concurrent_statuses(16, "/api/x", &old), vec![200; 16]);

    h.idp.rotate_key();
    let new = h.token(&[]);
    // Within one refetch interval (plus a tick of the VM clock and the fetch).
    thread::sleep(Duration::from_millis(1600));
    assert_eq!(h.concurrent_statuses(16, "/api/x", &new), vec![200; 16]);
    assert_eq!(h.concurrent_statuses(16, "/api/x", &old), vec![200; 16]);

    // Removed from the JWKS: refused everywhere, cached or not, within two refreshes (a
    // worker may adopt a key set fetched just before the removal).
    h.idp.retire_old_keys();
    let refused = eventually(Duration::from_secs(8), || {
        h.concurrent_statuses(16, "/api/x", &old) == vec![401; 16]
    });
    assert!(refused, "a worker still accepts the removed key");
    for _ in 0..4 {
        assert_invalid_token(
            "removed key",
            &h.get_with_token("/api/x", &old),
            UNKNOWN_KEY,
        );
    }
    assert_eq!(h.concurrent_statuses(16, "/api/x", &new), vec![200; 16]);
}

#[test]
fn a_key_set_one_worker_fetched_decides_the_next_request_of_every_worker() {
    let workers = 4;
    // No refresh comes due during the test: only an unknown kid makes a worker fetch.
    let h = Harness::start_with_workers(workers, |idp| with_remote(idp, "600s", "1s"));
    let old = h.token(&[]);
    // Many connections at once reach every worker: each verifies and caches the old token.
    assert_eq!(h.concurrent_statuses(32, "/api/x", &old), vec![200; 32]);
    assert_eq!(h.idp.jwks_requests(), 1);

    h.idp.rotate_key();
    h.idp.retire_old_keys();
    thread::sleep(Duration::from_millis(1100));
    // The new key's kid is unknown: the worker that gets this request fetches the new set. The
    // refetch interval is judged on the VMs' tick clock, which a loaded machine delays: until
    // a tick has passed the interval, a request is refused without a fetch, so ask again.
    let new = h.token(&[]);
    assert!(
        eventually(Duration::from_secs(10), || h
            .get_with_token("/api/x", &new)
            .status
            == 200),
        "the new key was never fetched"
    );
    assert_eq!(h.idp.jwks_requests(), 2);

    // At once, on every worker: the removed key no longer verifies, cached or not, and nobody
    // fetched again to learn it.
    let statuses = h.concurrent_statuses(32, "/api/x", &old);
    assert_eq!(
        statuses,
        vec![401; 32],
        "a worker still accepts the removed key"
    );
    assert_invalid_token(
        "removed key",
        &h.get_with_token("/api/x", &old),
        UNKNOWN_KEY,
    );
    assert_eq!(
        h.idp.jwks_requests(),
        2,
        "the other workers adopted the shared set"
    );
    let log = h.envoy.log();
    assert!(!log.contains("no shared queue"), "{log}");
}

#[test]
fn random_kids_from_many_clients_on_many_workers_refetch_once_per_interval_in_all() {
    let workers = 4;
    let interval = Duration::from_secs(2);
    let spray = Duration::from_secs(6);
    let h = Harness::start_with_workers(workers, |idp| with_remote(idp, "600s", "2s"));
    assert_eq!(
        h.concurrent_statuses(8, "/api/x", &h.token(&[])),
        vec![200; 8]
    );
    let before = h.idp.jwks_requests();
    let claims = h.claims().to_string();
    let until = Instant::now() + spray;
    let sent: usize = thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|client| {
                let (h, claims) = (&h, &claims);
                scope.spawn(move || {
                    let mut sent = 0;
                    while Instant::now() < until {
                        let header =
                            json!({"alg": "RS256", "kid": format!("spray-{client}-{sent}")});
                        let forged = h.idp.sign_raw(&header.to_string(), claims);
                        let response = h.get_with_token("/api/x", &forged);
                        assert_invalid_token("random kid", &response, UNKNOWN_KEY);
                        sent += 1;
                    }
                    sent
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().expect("client")).sum()
    });
    let fetches = h.idp.jwks_requests() - before;
    // Once per interval for the whole process, not per worker: keys adopted from another
    // worker count as a fetch. Judged on the VMs' 500 ms tick clock, two refetches are more
    // than 1.5 s apart, and the first may come at once.
    let apart = interval - Duration::from_millis(500);
    let limit = (spray.as_secs_f64() / apart.as_secs_f64()).floor() as usize + 1;
    eprintln!("{sent} random kids, {fetches} JWKS requests (limit {limit})");
    assert!(sent > 20, "only {sent} requests sent");
    assert!(
        fetches <= limit,
        "{fetches} JWKS requests for {sent} random kids"
    );
}

#[test]
fn header_bytes_that_are_not_utf8_are_refused_or_passed_but_never_crash_the_filter() {
    let h = Harness::start(filter_config);
    let token = h.token(&[]);
    let send = |path: &str, headers: &[(&str, &[u8])]| {
        let mut raw =
            format!("GET {path} HTTP/1.1\r\nHost: api\r\nConnection: close\r\n").into_bytes();
        for (name, value) in headers {
            raw.extend_from_slice(format!("{name}: ").as_bytes());
            raw.extend_from_slice(value);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        http::send_raw(h.listener, &raw).expect("Envoy answers")
    };
    let latin1 = b"caf\xe9";
    let mut bad_token = b"Bearer \xe9".to_vec();
    bad_token.extend_from_slice(token.as_bytes());
    assert_refused(
        "Latin-1 byte in the token",
        &send("/api/x", &[("authorization", &bad_token)]),
        400,
        Some(
            "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"Token header is not valid UTF-8\"",
        ),
        "invalid_request",
        "Token header is not valid UTF-8",
    );
    let no_rule = send("/other", &[("x-name", latin1)]);
    assert_refused(
        "no rule",
        &no_rule,
        403,
        None,
        "access_denied",
        "No rule matches this request",
    );
    // Let through, with the header as the client sent it.
    let bearer = format!("Bearer {token}");
    let passed = send(
        "/api/x",
        &[("authorization", bearer.as_bytes()), ("x-name", latin1)],
    );
    let seen = h.forwarded("Latin-1 byte in another header", &passed);
    assert!(seen.header("x-name").is_some_and(|v| v.starts_with("caf")));
    // And the filter is still there for everyone else.
    assert_eq!(h.get_with_token("/api/x", &token).status, 200);
    assert!(!h.envoy.log().contains("panicked"), "{}", h.envoy.log());
}

#[test]
fn shipped_configurations_cap_callout_answers_as_these_tests_do() {
    for file in ["envoy/envoy.yaml", "envoy/auth0.yaml"] {
        let yaml = std::fs::read_to_string(devstack::workspace_root().join(file)).expect(file);
        assert!(
            yaml.contains(CALLOUT_BODY_LIMIT),
            "{file} lacks:\n{CALLOUT_BODY_LIMIT}"
        );
    }
}

#[test]
fn a_worker_waiting_on_another_workers_failed_fetch_answers_as_that_worker_does() {
    let h = Harness::start_with_workers(2, |idp| with_remote(idp, "600s", "1s"));
    assert_eq!(
        h.concurrent_statuses(8, "/api/x", &h.token(&[])),
        vec![200; 8]
    );
    thread::sleep(Duration::from_millis(1600));
    // Every refetch now fails after the timeout; both workers get random kids at once, so
    // one fetches and the other waits for it.
    h.idp.set_fault(Fault::Delay(Duration::from_secs(3)));
    let claims = h.claims().to_string();
    let answers: Vec<(u16, String, Duration)> = thread::scope(|scope| {
        let requests: Vec<_> = (0..16)
            .map(|i| {
                let (h, claims) = (&h, &claims);
                scope.spawn(move || {
                    let header = json!({"alg": "RS256", "kid": format!("unknown-{i}")});
                    let forged = h.idp.sign_raw(&header.to_string(), claims);
                    let started = Instant::now();
                    let response = h.get_with_token("/api/x", &forged);
                    (response.status, response.text(), started.elapsed())
                })
            })
            .collect();
        requests
            .into_iter()
            .map(|r| r.join().expect("request"))
            .collect()
    });
    for (status, body, took) in &answers {
        assert_eq!(*status, 401, "{body} after {took:?}");
        assert!(body.contains(UNKNOWN_KEY), "{body}");
        assert!(*took < TIMEOUT + WAIT_GRACE, "answered after {took:?}");
    }
}
