//! The accept loop: one thread per connection, one request per connection.
//!
//! Shared by the dev IdP and devstack's echo upstream.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::{AccessLog, AccessLogger, HttpRequest, HttpResponse, ReadError, Reply};

/// How often the listener checks whether it should stop.
const ACCEPT_POLL: Duration = Duration::from_millis(5);
/// A client that sends nothing for this long is dropped, so shutdown never waits on it.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);
/// Beyond this many open connections new ones are refused with 503.
pub const MAX_CONNECTIONS: usize = 128;

/// Answers one request. Called on the connection's own thread, so it may block.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: &HttpRequest) -> Reply;
}

impl<F> Handler for F
where
    F: Fn(&HttpRequest) -> Reply + Send + Sync + 'static,
{
    fn handle(&self, request: &HttpRequest) -> Reply {
        self(request)
    }
}

/// A running server. Dropping it stops accepting, waits for open connections
/// to finish and closes the listener.
pub struct HttpServer {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    listener_thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// The address the listener is bound to (the real port when `:0` was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(thread) = self.listener_thread.take() {
            // A panicked server thread has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

/// Listens on `listen` (e.g. `127.0.0.1:0`) and answers each request with `handler`.
pub fn serve(listen: &str, handler: impl Handler) -> io::Result<HttpServer> {
    serve_listener(TcpListener::bind(listen)?, handler, None)
}

/// Serves on an already bound listener (for callers that need the address
/// before building the handler), calling `logger` once per request.
pub fn serve_listener(
    listener: TcpListener,
    handler: impl Handler,
    logger: Option<AccessLogger>,
) -> io::Result<HttpServer> {
    let addr = listener.local_addr()?;
    // Non-blocking so the listener thread can notice a stop request.
    listener.set_nonblocking(true)?;
    let stopping = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Shared { handler, logger });
    let listener_stopping = Arc::clone(&stopping);
    let listener_thread = thread::Builder::new()
        .name(format!("http-listener-{}", addr.port()))
        .spawn(move || accept_loop(&listener, &listener_stopping, &shared))?;
    Ok(HttpServer {
        addr,
        stopping,
        listener_thread: Some(listener_thread),
    })
}

struct Shared<H> {
    handler: H,
    logger: Option<AccessLogger>,
}

impl<H> Shared<H> {
    fn log(&self, method: String, path: String, status: Option<u16>) {
        if let Some(logger) = &self.logger {
            logger(&AccessLog {
                method,
                path,
                status,
            });
        }
    }
}

/// Accepts connections until stopped, then waits for open ones to finish.
fn accept_loop<H: Handler>(listener: &TcpListener, stopping: &AtomicBool, shared: &Arc<Shared<H>>) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !stopping.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // WouldBlock means no client is waiting; other errors (e.g. out of
            // file descriptors) are worth retrying after the same pause.
            Err(_) => {
                thread::sleep(ACCEPT_POLL);
                continue;
            }
        };
        connections.retain(|c| !c.is_finished());
        if connections.len() >= MAX_CONNECTIONS {
            let busy = HttpResponse::error(503, "server_busy", "too many open connections");
            let _ = super::write_response(&stream, &busy);
            continue;
        }
        let connection_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("http-connection".to_owned())
            .spawn(move || serve_connection(&stream, &connection_shared));
        // If no thread can be spawned the stream was dropped with the closure: the client sees a close.
        if let Ok(handle) = spawned {
            connections.push(handle);
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// Answers the one request a connection carries, then closes it.
fn serve_connection<H: Handler>(stream: &TcpStream, shared: &Shared<H>) {
    let configured = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(SOCKET_TIMEOUT)))
        .and_then(|()| stream.set_write_timeout(Some(SOCKET_TIMEOUT)));
    if configured.is_err() {
        return;
    }
    let request = match super::read_request(stream) {
        Ok(request) => request,
        Err(ReadError::Disconnected) => return,
        Err(ReadError::Refused {
            status,
            message,
            target,
        }) => {
            // In devidp 413 only happens to token requests: answer it the OAuth way.
            let error = if status == 413 {
                "invalid_request"
            } else {
                "bad_request"
            };
            let _ = super::write_response(stream, &HttpResponse::error(status, error, &message));
            let (method, path) = target.unwrap_or_else(|| ("-".to_owned(), "-".to_owned()));
            shared.log(method, path, Some(status));
            return;
        }
    };
    let status = match shared.handler.handle(&request) {
        Reply::Respond(response) => {
            let with_body = !request.method.eq_ignore_ascii_case("HEAD");
            // The client may already be gone; there is no one to tell.
            let _ = super::write(stream, &response, with_body);
            Some(response.status)
        }
        Reply::Close => None,
        Reply::Stream(body) => {
            let _ = super::write_streamed(stream, &body);
            Some(200)
        }
    };
    shared.log(request.method, request.path, status);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::Mutex;
    use std::time::Instant;

    fn exchange(addr: SocketAddr, raw: &str) -> Vec<u8> {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        response
    }

    #[test]
    fn closure_handler_answers_and_close_hangs_up() {
        let server = serve("127.0.0.1:0", |request: &HttpRequest| {
            if request.path == "/close" {
                Reply::Close
            } else {
                Reply::Respond(HttpResponse::json(
                    200,
                    &serde_json::json!({"target": request.target}),
                ))
            }
        })
        .unwrap();
        let answer = exchange(server.addr(), "GET /a?b=c HTTP/1.1\r\n\r\n");
        let text = String::from_utf8(answer).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.ends_with(r#"{"target":"/a?b=c"}"#), "{text}");
        assert!(exchange(server.addr(), "GET /close HTTP/1.1\r\n\r\n").is_empty());
    }

    #[test]
    fn head_gets_no_body() {
        let server = serve("127.0.0.1:0", |_: &HttpRequest| {
            Reply::Respond(HttpResponse::json(200, &serde_json::json!({"a": 1})))
        })
        .unwrap();
        let text = String::from_utf8(exchange(server.addr(), "HEAD / HTTP/1.1\r\n\r\n")).unwrap();
        assert!(text.contains("Content-Length: 7\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
    }

    #[test]
    fn refusals_are_answered_and_logged() {
        let entries = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&entries);
        let logger: AccessLogger =
            Arc::new(move |entry: &AccessLog| sink.lock().unwrap().push(entry.clone()));
        let server = serve_listener(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            |_: &HttpRequest| Reply::Respond(HttpResponse::json(200, &serde_json::json!({}))),
            Some(logger),
        )
        .unwrap();
        let text = String::from_utf8(exchange(
            server.addr(),
            "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ))
        .unwrap();
        assert!(text.starts_with("HTTP/1.1 411 "), "{text}");
        drop(server);
        assert_eq!(
            *entries.lock().unwrap(),
            [AccessLog {
                method: "POST".into(),
                path: "/x".into(),
                status: Some(411)
            }]
        );
    }

    #[test]
    fn concurrent_slow_requests_are_served_in_parallel() {
        let server = serve("127.0.0.1:0", |_: &HttpRequest| {
            thread::sleep(Duration::from_millis(300));
            Reply::Respond(HttpResponse::json(200, &serde_json::json!({})))
        })
        .unwrap();
        let addr = server.addr();
        let started = Instant::now();
        let clients: Vec<_> = (0..16)
            .map(|_| thread::spawn(move || exchange(addr, "GET / HTTP/1.1\r\n\r\n")))
            .collect();
        for client in clients {
            let text = String::from_utf8(client.join().unwrap()).unwrap();
            assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        }
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn drop_closes_the_listener() {
        let server = serve("127.0.0.1:0", |_: &HttpRequest| Reply::Close).unwrap();
        let addr = server.addr();
        drop(server);
        assert!(TcpStream::connect(addr).is_err());
    }
}
