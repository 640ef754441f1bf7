//! The devidp binary stops on SIGTERM and SIGINT, also as PID 1 in a container: it answers
//! the requests in flight and exits 0, well within the 2 s a container engine waits.

mod support;

use std::thread;
use std::time::Duration;

use support::dev_server::{DevServer, STOP_BUDGET, finish};

const DEVIDP: &str = env!("CARGO_BIN_EXE_devidp");
const LISTEN: [&str; 2] = ["--listen", "127.0.0.1:0"];
const TOKEN_REQUEST: &str = r#"{"grant_type":"client_credentials","client_id":"demo-client","client_secret":"demo-secret","audience":"https://api.example.com"}"#;

/// Holds a token request in flight, sends `signal`, then lets the request finish.
fn stops_after_the_request_in_flight(mut idp: DevServer, signal: &str) {
    let head = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: idp\r\nContent-Type: application/json\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        TOKEN_REQUEST.len()
    );
    let in_flight = idp.request_in_flight(&head);
    idp.signal(signal);
    thread::sleep(Duration::from_millis(300));
    assert!(idp.is_running(), "it waits for the request in flight");
    let answer = finish(in_flight, TOKEN_REQUEST);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains(r#""access_token":"#), "{answer}");
    let (status, took) = idp.wait_exit();
    eprintln!("SIG{signal}: {status}, {took:?} after the request in flight was answered");
    assert!(status.success(), "{status}");
    assert!(took < STOP_BUDGET / 2, "{took:?}");
    assert_eq!(
        idp.printed(),
        [
            "devidp APIs: https://api.example.com (RS256), https://es256.example.com (ES256); any other audience RS256",
            "POST /oauth/token 200",
            "devidp stopped"
        ]
    );
}

/// Sends `signal` to an idle server.
fn stops_at_once(mut idp: DevServer, signal: &str) {
    idp.signal(signal);
    let (status, took) = idp.wait_exit();
    eprintln!("SIG{signal}, nothing in flight: {status} after {took:?}");
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_millis(500), "{took:?}");
}

#[test]
fn sigterm_answers_the_request_in_flight_then_exits_0() {
    stops_after_the_request_in_flight(DevServer::start(DEVIDP, &LISTEN), "TERM");
}

#[test]
fn sigint_answers_the_request_in_flight_then_exits_0() {
    stops_after_the_request_in_flight(DevServer::start(DEVIDP, &LISTEN), "INT");
}

#[test]
fn sigterm_with_nothing_in_flight_exits_0_at_once() {
    stops_at_once(DevServer::start(DEVIDP, &LISTEN), "TERM");
}

#[test]
fn as_pid_1_sigterm_answers_the_request_in_flight_then_exits_0() {
    if let Some(idp) = DevServer::start_as_pid_1(DEVIDP, &LISTEN) {
        stops_after_the_request_in_flight(idp, "TERM");
    }
}
