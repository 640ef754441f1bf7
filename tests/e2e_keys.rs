//! End to end through a real Envoy: how keys are fetched, cached, refreshed and rotated, and
//! what requests see while the IdP is down, slow or answering garbage.

mod support;

use devidp::Fault;
use serde_json::{Value, json};
use std::thread;
use std::time::{Duration, Instant};
use support::*;

fn with_remote(idp: &devidp::Idp, field: &str, value: Value) -> Value {
    let mut config = filter_config(idp);
    config["providers"]["idp"]["remote_jwks"][field] = value;
    config
}

#[test]
fn jwks_is_fetched_lazily_and_cached() {
    let h = Harness::start(filter_config);
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        h.idp.jwks_requests(),
        0,
        "no fetch before a request needs keys"
    );
    let token = h.token(&[]);
    for _ in 0..5 {
        assert_eq!(h.get_with_token("/api/orders", &token).status, 200);
    }
    assert_eq!(
        h.get_with_token("/api/orders", &h.token(&["read:messages"]))
            .status,
        200
    );
    assert_eq!(
        h.idp.jwks_requests(),
        1,
        "one fetch serves every later request"
    );
}

#[test]
fn one_fetch_serves_every_worker_of_the_process() {
    let workers = 4;
    let h = Harness::start_with_workers(workers, filter_config);
    // Each new connection may land on another worker, each with its own Wasm VM; all of
    // them ask at once, and only one may go to the IdP.
    let token = h.token(&[]);
    let statuses = h.concurrent_statuses(24, "/api/orders", &token);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    for _ in 0..24 {
        assert_eq!(h.get_with_token("/api/orders", &token).status, 200);
    }
    assert_eq!(
        h.idp.jwks_requests(),
        1,
        "one JWKS fetch for {workers} workers"
    );
    let log = h.envoy.log();
    let fetched = log.matches("JWKS fetched").count();
    assert_eq!(fetched, 1, "only one VM fetched:\n{log}");
    // Envoy's log names the thread: several workers waited for that one fetch.
    let waiting_threads: std::collections::BTreeSet<&str> = log
        .lines()
        .filter(|l| l.contains("waits for keys"))
        .filter_map(|l| l.split("][").nth(1))
        .collect();
    assert!(
        waiting_threads.len() >= 2,
        "requests reached one worker only:\n{log}"
    );
}

#[test]
fn requests_wait_for_the_first_fetch_instead_of_failing() {
    let h = Harness::start(filter_config);
    h.idp.set_fault(Fault::Delay(Duration::from_millis(800)));
    let token = h.token(&[]);
    let started = Instant::now();
    let statuses = h.concurrent_statuses(6, "/api/orders", &token);
    assert_eq!(statuses, vec![200; 6]);
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "they did wait for the key set"
    );
    assert_eq!(h.idp.jwks_requests(), 1, "paused requests share one fetch");
}

#[test]
fn idp_down_at_start_fails_closed_then_recovers_by_itself() {
    let idp = start_idp();
    idp.set_fault(Fault::Status(503));
    let filter = filter_config(&idp);
    let h = Harness::start_with(idp, &filter).expect("Envoy starts");
    let token = h.token(&[]);
    let started = Instant::now();
    assert_keys_unavailable(
        "IdP answering 503",
        &h.get_with_token("/api/orders", &token),
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered without waiting for the timeout"
    );
    assert!(h.echo.requests().is_empty());

    h.idp.set_fault(Fault::None);
    let recovered = eventually(Duration::from_secs(15), || {
        h.get_with_token("/api/orders", &token).status == 200
    });
    assert!(
        recovered,
        "the filter fetched the keys again once the IdP was back"
    );
    assert!(
        h.envoy
            .log()
            .contains("JWKS fetch failed: HTTP status 503; no keys yet"),
        "the failure is logged"
    );
}

#[test]
fn unreachable_idp_fails_closed() {
    let h = Harness::start(filter_config);
    h.idp.set_fault(Fault::Close);
    assert_keys_unavailable(
        "connection closed",
        &h.get_with_token("/api/orders", &h.token(&[])),
    );
}

#[test]
fn garbage_jwks_at_start_fails_closed() {
    let h = Harness::start(filter_config);
    for (case, content_type, body) in [
        (
            "html",
            "text/html",
            b"<html><body>Service Unavailable</body></html>".to_vec(),
        ),
        (
            "no usable keys",
            "application/json",
            br#"{"keys":[{"kty":"EC","crv":"P-256"}]}"#.to_vec(),
        ),
    ] {
        h.idp.set_fault(Fault::Body {
            content_type: content_type.into(),
            body,
        });
        thread::sleep(Duration::from_millis(1100)); // past the backoff of the previous failure
        assert_keys_unavailable(case, &h.get_with_token("/api/orders", &h.token(&[])));
    }
    assert!(
        h.envoy
            .log()
            .contains("JWKS fetch failed: JWKS is not a JSON object")
    );
}

#[test]
fn slow_idp_is_cut_off_at_the_timeout() {
    let h = Harness::start(|idp| {
        let mut config = filter_config(idp);
        config["providers"]["idp"]["remote_jwks"]["http_uri"]["timeout"] = json!("1s");
        config
    });
    h.idp.set_fault(Fault::Delay(Duration::from_secs(10)));
    let started = Instant::now();
    assert_keys_unavailable("slow IdP", &h.get_with_token("/api/orders", &h.token(&[])));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "answered after {waited:?}"
    );
}

#[test]
fn failed_refresh_keeps_the_last_good_keys() {
    let h = Harness::start(|idp| with_remote(idp, "cache_duration", json!("1s")));
    let token = h.token(&[]);
    assert_eq!(h.get_with_token("/api/orders", &token).status, 200);
    h.idp.set_fault(Fault::Body {
        content_type: "application/json".into(),
        body: b"{\"keys\": 7}".to_vec(),
    });
    thread::sleep(Duration::from_secs(3));
    assert!(h.idp.jwks_requests() >= 2, "refreshes were attempted");
    assert_eq!(
        h.get_with_token("/api/orders", &token).status,
        200,
        "stale keys still verify"
    );
    h.idp.set_fault(Fault::Status(500));
    thread::sleep(Duration::from_secs(2));
    assert_eq!(h.get_with_token("/api/orders", &token).status, 200);
}

#[test]
fn refresh_happens_in_the_background() {
    let h = Harness::start(|idp| with_remote(idp, "cache_duration", json!("1s")));
    let token = h.token(&[]);
    assert_eq!(h.get_with_token("/api/orders", &token).status, 200);
    assert!(
        eventually(Duration::from_secs(5), || h.idp.jwks_requests() >= 3),
        "refreshed before expiry, without requests"
    );
}

#[test]
fn rotated_key_is_accepted_after_one_refetch() {
    let h = Harness::start(filter_config);
    assert_eq!(h.get_with_token("/api/orders", &h.token(&[])).status, 200);
    h.idp.rotate_key();
    // min_refetch_interval is 1s in these tests, judged on the clock the VM reads every
    // 500 ms tick.
    thread::sleep(Duration::from_millis(1600));
    assert_eq!(
        h.get_with_token("/api/orders", &h.token(&[])).status,
        200,
        "new kid triggers a refetch"
    );
    assert_eq!(h.idp.jwks_requests(), 2);
}

#[test]
fn removed_key_stops_verifying_after_refresh() {
    let h = Harness::start(|idp| with_remote(idp, "cache_duration", json!("1s")));
    let old_token = h.token(&[]);
    assert_eq!(h.get_with_token("/api/orders", &old_token).status, 200);
    h.idp.rotate_key();
    h.idp.retire_old_keys();
    let refused = eventually(Duration::from_secs(5), || {
        h.get_with_token("/api/orders", &old_token).status == 401
    });
    assert!(refused, "the retired key stopped verifying");
    assert_invalid_token(
        "retired key",
        &h.get_with_token("/api/orders", &old_token),
        "Jwks doesn't have key to match kid or alg from Jwt",
    );
    assert_eq!(h.get_with_token("/api/orders", &h.token(&[])).status, 200);
}

#[test]
fn random_kids_cannot_make_the_filter_hammer_the_idp() {
    let h = Harness::start(|idp| with_remote(idp, "min_refetch_interval", json!("30s")));
    assert_eq!(h.get_with_token("/api/orders", &h.token(&[])).status, 200);
    let claims = h.claims().to_string();
    for i in 0..40 {
        let forged = h.idp.sign_raw(
            &json!({"alg": "RS256", "kid": format!("random-{i}")}).to_string(),
            &claims,
        );
        assert_invalid_token(
            "random kid",
            &h.get_with_token("/api/orders", &forged),
            "Jwks doesn't have key to match kid or alg from Jwt",
        );
    }
    assert_eq!(
        h.idp.jwks_requests(),
        1,
        "no refetch within min_refetch_interval of the last fetch"
    );
}
