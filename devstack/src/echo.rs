//! The echo upstream: answers every request with a JSON description of it.
//!
//! Behind Envoy it shows what actually reached the service (which headers the
//! filter added, removed or passed through), both to tests via
//! [`Echo::requests`] and to a curl user via the response body.
//!
//! Runs on devidp's [`http`](devidp::http) server (one request per connection,
//! `Connection: close`), so a burst of concurrent connections from Envoy is
//! answered in parallel. Bodies, with a Content-Length or chunked, may be at
//! most [`devidp::MAX_BODY_BYTES`] (larger ones get 413).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};

use devidp::http::{
    AccessLog, AccessLogger, HttpRequest, HttpResponse, HttpServer, Reply, ServerOptions,
    serve_listener,
};
use serde_json::{Map, Value, json};

/// One request as the echo server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path including any query string, as sent.
    pub path: String,
    /// Header names lowercased, duplicates kept: grouped by name in the order
    /// each name first arrived, the values of one name in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::first_header(&self.headers, name)
    }

    /// Every header with this name (case-insensitive), in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        crate::http::headers_named(&self.headers, name)
    }
}

/// A running echo server; stops on drop.
pub struct Echo {
    recorded: Arc<Mutex<Vec<RecordedRequest>>>,
    server: HttpServer,
}

impl Echo {
    /// Starts a silent echo server on `listen` (e.g. `127.0.0.1:0`).
    pub fn start(listen: &str) -> io::Result<Echo> {
        Self::start_inner(listen, false)
    }

    /// Like [`Echo::start`], and prints one line per request (method, path
    /// without query, status; never header values, which carry tokens).
    pub fn start_logging(listen: &str) -> io::Result<Echo> {
        Self::start_inner(listen, true)
    }

    fn start_inner(listen: &str, log: bool) -> io::Result<Echo> {
        let listener = TcpListener::bind(listen).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("echo upstream cannot listen on {listen}: {e}"),
            )
        })?;
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&recorded);
        let handler = move |request: &HttpRequest| Reply::Respond(answer(&sink, request));
        let options = ServerOptions {
            logger: log.then(|| Arc::new(print_log_line) as AccessLogger),
            ..ServerOptions::default()
        };
        let server = serve_listener(listener, handler, options)?;
        Ok(Echo { recorded, server })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request received since start (or the last [`Echo::clear`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Records `request`, then describes it back.
fn answer(recorded: &Mutex<Vec<RecordedRequest>>, request: &HttpRequest) -> HttpResponse {
    let seen = record(request);
    let response = HttpResponse::json(200, &describe(&seen));
    recorded
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(seen);
    response
}

/// `echo: GET /path -> 200`. The server's log entry already leaves out the
/// query, which may carry credentials.
fn print_log_line(entry: &AccessLog) {
    match entry.status {
        Some(status) => println!("echo: {} {} -> {status}", entry.method, entry.path),
        None => println!("echo: {} {} -> closed", entry.method, entry.path),
    }
}

fn record(request: &HttpRequest) -> RecordedRequest {
    RecordedRequest {
        method: request.method.clone(),
        path: request.target.clone(),
        headers: request
            .headers()
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
            .collect(),
        body: request.body.clone(),
    }
}

/// The JSON answer: `{"method", "path", "headers": {name: value}}`, with
/// repeated header names joined by ", ".
fn describe(request: &RecordedRequest) -> Value {
    let mut headers = Map::new();
    for (name, value) in &request.headers {
        match headers.get_mut(name) {
            Some(Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            _ => {
                headers.insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    json!({ "method": request.method, "path": request.path, "headers": headers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http;

    #[test]
    fn records_and_echoes_requests() {
        let echo = Echo::start("127.0.0.1:0").unwrap();
        let response = http::request(
            echo.addr(),
            "POST",
            "/a/b?c=d",
            &[
                ("X-Dup", "one"),
                ("x-dup", "two"),
                ("Authorization", "Bearer t"),
            ],
            Some(b"payload"),
        )
        .unwrap();

        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let body = response.json().unwrap();
        assert_eq!(body["method"], "POST");
        assert_eq!(body["path"], "/a/b?c=d");
        assert_eq!(body["headers"]["x-dup"], "one, two");
        assert_eq!(body["headers"]["authorization"], "Bearer t");

        let requests = echo.requests();
        assert_eq!(requests.len(), 1);
        let seen = &requests[0];
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.path, "/a/b?c=d");
        assert_eq!(seen.headers_named("X-DUP"), vec!["one", "two"]);
        assert!(seen.headers.iter().any(|(n, _)| n == "authorization"));
        assert_eq!(seen.body, b"payload");

        echo.clear();
        assert!(echo.requests().is_empty());
    }

    #[test]
    fn drop_frees_the_port() {
        let echo = Echo::start("127.0.0.1:0").unwrap();
        let addr = echo.addr();
        drop(echo);
        assert!(
            std::net::TcpListener::bind(addr).is_ok(),
            "port {addr} still in use after drop"
        );
    }

    #[test]
    fn sixteen_concurrent_requests_all_get_200() {
        use std::sync::Barrier;
        use std::time::{Duration, Instant};

        const CLIENTS: usize = 16;
        let echo = Echo::start("127.0.0.1:0").unwrap();
        let addr = echo.addr();
        let barrier = Arc::new(Barrier::new(CLIENTS));
        let started = Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let path = format!("/burst/{i}");
                    barrier.wait();
                    http::request(addr, "POST", &path, &[("X-Client", "burst")], Some(b"hi"))
                        .map(|r| (r.status, r.json()))
                })
            })
            .collect();
        for (i, client) in clients.into_iter().enumerate() {
            let (status, body) = client.join().unwrap().unwrap();
            assert_eq!(status, 200, "client {i}");
            assert_eq!(body.unwrap()["path"], format!("/burst/{i}"));
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(echo.requests().len(), CLIENTS);
    }

    #[test]
    fn chunked_body_is_recorded_and_head_gets_no_body() {
        let echo = Echo::start("127.0.0.1:0").unwrap();
        let response = http::send_raw(
            echo.addr(),
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(response.status, 200);
        let head = http::request(echo.addr(), "HEAD", "/h", &[], None).unwrap();
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        let requests = echo.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].body, b"abc");
        assert_eq!(requests[0].header("transfer-encoding"), Some("chunked"));
    }

    #[test]
    fn body_over_the_limit_is_refused_with_413_and_not_recorded() {
        let echo = Echo::start("127.0.0.1:0").unwrap();
        // Refused on the announced length, before any of the body is sent.
        let head = format!(
            "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            devidp::MAX_BODY_BYTES + 1
        );
        let response = http::send_raw(echo.addr(), head.as_bytes()).unwrap();
        assert_eq!(response.status, 413);
        assert!(echo.requests().is_empty());
    }
}
