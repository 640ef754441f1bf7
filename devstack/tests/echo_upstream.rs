//! The echo-upstream binary stops on SIGTERM and SIGINT, also as PID 1 in a container: it
//! answers the requests in flight and exits 0, well within the 2 s a container engine waits.

#[path = "../../devidp/tests/support/dev_server.rs"]
mod dev_server;

use std::thread;
use std::time::Duration;

use dev_server::{DevServer, STOP_BUDGET, finish};

const ECHO: &str = env!("CARGO_BIN_EXE_echo-upstream");
const LISTEN: [&str; 2] = ["--listen", "127.0.0.1:0"];

/// Holds a POST in flight, sends `signal`, then lets the request finish.
fn stops_after_the_request_in_flight(mut echo: DevServer, signal: &str) {
    let head = "POST /orders?id=7 HTTP/1.1\r\nHost: echo\r\nExpect: 100-continue\r\n\
                Content-Length: 7\r\n\r\n";
    let in_flight = echo.request_in_flight(head);
    echo.signal(signal);
    thread::sleep(Duration::from_millis(300));
    assert!(echo.is_running(), "it waits for the request in flight");
    let answer = finish(in_flight, "payload");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains(r#""path":"/orders?id=7""#), "{answer}");
    let (status, took) = echo.wait_exit();
    eprintln!("SIG{signal}: {status}, {took:?} after the request in flight was answered");
    assert!(status.success(), "{status}");
    assert!(took < STOP_BUDGET / 2, "{took:?}");
    assert_eq!(
        echo.printed(),
        ["echo: POST /orders -> 200", "echo-upstream stopped"]
    );
}

#[test]
fn sigterm_answers_the_request_in_flight_then_exits_0() {
    stops_after_the_request_in_flight(DevServer::start(ECHO, &LISTEN), "TERM");
}

#[test]
fn sigint_with_nothing_in_flight_exits_0_at_once() {
    let mut echo = DevServer::start(ECHO, &LISTEN);
    echo.signal("INT");
    let (status, took) = echo.wait_exit();
    eprintln!("SIGINT, nothing in flight: {status} after {took:?}");
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_millis(500), "{took:?}");
}

#[test]
fn as_pid_1_sigterm_answers_the_request_in_flight_then_exits_0() {
    if let Some(echo) = DevServer::start_as_pid_1(ECHO, &LISTEN) {
        stops_after_the_request_in_flight(echo, "TERM");
    }
}
