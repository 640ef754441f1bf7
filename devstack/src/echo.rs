//! The echo upstream: answers every request with a JSON description of it.
//!
//! Behind Envoy it shows what actually reached the service (which headers the
//! filter added, removed or passed through), both to tests via
//! [`Echo::requests`] and to a curl user via the response body.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use serde_json::{Map, Value, json};
use tiny_http::{Header, Request, Server};

/// One request as the echo server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path including any query string, as sent.
    pub path: String,
    /// Header names lowercased, in arrival order, duplicates kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header with this name (case-insensitive), in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A running echo server; stops on drop.
pub struct Echo {
    server: Arc<Server>,
    addr: SocketAddr,
    recorded: Arc<Mutex<Vec<RecordedRequest>>>,
    worker: Option<JoinHandle<()>>,
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
        let server = Server::http(listen).map_err(|e| {
            io::Error::other(format!("echo upstream cannot listen on {listen}: {e}"))
        })?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("echo upstream is not on an IP address"))?;
        let server = Arc::new(server);
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let worker = {
            let server = Arc::clone(&server);
            let recorded = Arc::clone(&recorded);
            std::thread::Builder::new()
                .name(format!("echo-{addr}"))
                .spawn(move || serve(&server, &recorded, log))?
        };
        Ok(Echo {
            server,
            addr,
            recorded,
            worker: Some(worker),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
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

impl Drop for Echo {
    fn drop(&mut self) {
        // Ends `incoming_requests`, so the worker returns.
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn serve(server: &Server, recorded: &Mutex<Vec<RecordedRequest>>, log: bool) {
    for mut request in server.incoming_requests() {
        let seen = record(&mut request);
        let body = describe(&seen).to_string();
        recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seen.clone());
        let mut response = tiny_http::Response::from_string(body);
        if let Ok(content_type) = Header::from_bytes("Content-Type", "application/json") {
            response = response.with_header(content_type);
        }
        let outcome = request.respond(response);
        if log {
            // The query is left out too: it may carry credentials.
            let path = seen.path.split('?').next().unwrap_or_default();
            match outcome {
                Ok(()) => println!("echo: {} {path} -> 200", seen.method),
                Err(e) => println!("echo: {} {path} -> 200 (send failed: {e})", seen.method),
            }
        }
    }
}

fn record(request: &mut Request) -> RecordedRequest {
    let mut body = Vec::new();
    // A body that cannot be read is recorded as what arrived before the error.
    let _ = request.as_reader().read_to_end(&mut body);
    RecordedRequest {
        method: request.method().as_str().to_string(),
        path: request.url().to_string(),
        headers: request
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_string(),
                )
            })
            .collect(),
        body,
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
        // tiny_http closes its listener on its accept thread, shortly after drop.
        let freed = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            std::net::TcpListener::bind(addr).is_ok()
        });
        assert!(freed, "port {addr} still in use after drop");
    }
}
