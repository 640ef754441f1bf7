//! The accept loop: a tokio runtime on a thread of its own, one task per connection (TLS
//! handshake first when configured), handlers on the runtime's blocking threads.
//!
//! Shared by the dev IdP and devstack's echo upstream.

use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use super::service::{self, Peer};
use super::{AccessLog, AccessLogger, HttpRequest, Reply, ServerTls};

/// Beyond this many open connections new ones are answered 503.
pub const MAX_CONNECTIONS: usize = 128;
/// A client that stalls this long in a TLS handshake, a request head or a body is dropped.
pub(super) const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stopping server waits for the requests in flight (a client that never sends
/// its request, say) before it drops them.
const DRAIN_GRACE: Duration = Duration::from_secs(1);
/// Pause before accepting again after a failed accept (out of file descriptors, say).
const ACCEPT_RETRY: Duration = Duration::from_millis(5);

/// Answers one request. Called on a blocking thread, so it may block (sign, sleep).
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

/// How a server listens and reports; the default is plain HTTP, silent.
#[derive(Clone, Default)]
pub struct ServerOptions {
    /// Called once per request (the binaries print these).
    pub logger: Option<AccessLogger>,
    /// HTTPS with this certificate (and client certificates, if it asks for them).
    pub tls: Option<ServerTls>,
}

impl ServerOptions {
    /// `http`, or `https` with TLS.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// A running server. Dropping it stops accepting and closes the listener at once, then
/// waits (at most a second) for the requests in flight to be answered.
pub struct HttpServer {
    addr: SocketAddr,
    scheme: &'static str,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// The address the listener is bound to (the real port when `:0` was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// `http://ADDR/` or `https://ADDR/`.
    pub fn base_url(&self) -> String {
        format!("{}://{}/", self.scheme, self.addr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(thread) = self.thread.take() {
            // A panicked server thread has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

/// Listens on `listen` (e.g. `127.0.0.1:0`) and answers each request with `handler`.
pub fn serve(listen: &str, handler: impl Handler) -> io::Result<HttpServer> {
    serve_listener(
        StdTcpListener::bind(listen)?,
        handler,
        ServerOptions::default(),
    )
}

/// Serves on an already bound listener (for callers that need the address before building
/// the handler).
pub fn serve_listener(
    listener: StdTcpListener,
    handler: impl Handler,
    options: ServerOptions,
) -> io::Result<HttpServer> {
    let addr = listener.local_addr()?;
    let tls = options.tls.as_ref().map(ServerTls::acceptor).transpose()?;
    let scheme = options.scheme();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .thread_name(format!("http-{}", addr.port()))
        .build()?;
    listener.set_nonblocking(true)?;
    let listener = {
        let _context = runtime.enter();
        TcpListener::from_std(listener)?
    };
    let (stop, stopping) = watch::channel(false);
    let shared = Arc::new(Shared {
        handler,
        logger: options.logger,
        tls,
    });
    let thread = thread::Builder::new()
        .name(format!("http-server-{}", addr.port()))
        .spawn(move || {
            runtime.block_on(accept_loop(listener, shared, stopping));
            // What is left after the grace is stuck: drop it rather than wait.
            runtime.shutdown_background();
        })?;
    Ok(HttpServer {
        addr,
        scheme,
        stop,
        thread: Some(thread),
    })
}

pub(super) struct Shared<H> {
    pub handler: H,
    logger: Option<AccessLogger>,
    tls: Option<TlsAcceptor>,
}

impl<H> Shared<H> {
    pub fn log(&self, method: String, path: String, status: Option<u16>) {
        if let Some(logger) = &self.logger {
            logger(&AccessLog {
                method,
                path,
                status,
            });
        }
    }
}

/// Accepts connections until told to stop, then drains the open ones.
async fn accept_loop<H: Handler>(
    listener: TcpListener,
    shared: Arc<Shared<H>>,
    mut stopping: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = tokio::select! {
            // A dropped sender (no HttpServer left) means the same.
            _ = stopping.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
        };
        let permit = Arc::clone(&open).try_acquire_owned().ok();
        tokio::spawn(serve_connection(
            stream,
            Arc::clone(&shared),
            permit,
            graceful.watcher(),
            stopping.clone(),
        ));
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_GRACE, graceful.shutdown()).await;
}

/// The TLS handshake if configured, then the connection's request. Without a `permit` the
/// request is answered 503.
async fn serve_connection<H: Handler>(
    stream: TcpStream,
    shared: Arc<Shared<H>>,
    permit: Option<OwnedSemaphorePermit>,
    watcher: Watcher,
    stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let busy = permit.is_none();
    match &shared.tls {
        None => {
            let peer = Peer {
                client_certificate: None,
                busy,
            };
            service::serve(stream, peer, Arc::clone(&shared), watcher, stopping).await;
        }
        Some(acceptor) => {
            let Ok(Ok(stream)) =
                tokio::time::timeout(SOCKET_TIMEOUT, acceptor.accept(stream)).await
            else {
                // A failed handshake has already told the client (a TLS alert), if anything.
                return;
            };
            let (_, session) = stream.get_ref();
            let peer = Peer {
                client_certificate: session
                    .peer_certificates()
                    .and_then(<[_]>::first)
                    .map(|der| Arc::from(der.as_ref())),
                busy,
            };
            service::serve(stream, peer, Arc::clone(&shared), watcher, stopping).await;
        }
    }
    drop(permit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HttpResponse, MAX_BODY_BYTES};
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Barrier, Mutex, mpsc};
    use std::time::Instant;

    fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(raw).unwrap();
        let mut response = Vec::new();
        // A reset after a hang-up is also "no response".
        let _ = stream.read_to_end(&mut response);
        String::from_utf8(response).unwrap()
    }

    fn ok(body: serde_json::Value) -> Reply {
        Reply::Respond(HttpResponse::json(200, &body))
    }

    /// A server whose handler describes the request it got.
    fn describing() -> HttpServer {
        serve("127.0.0.1:0", |request: &HttpRequest| {
            ok(serde_json::json!({
                "target": request.target,
                "path": request.path,
                "headers": request.headers(),
                "body": String::from_utf8_lossy(&request.body),
            }))
        })
        .unwrap()
    }

    fn body_of(response: &str) -> serde_json::Value {
        let response = response
            .strip_prefix("HTTP/1.1 100 Continue\r\n\r\n")
            .unwrap_or(response);
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn closure_handler_answers_and_close_hangs_up() {
        let server = serve("127.0.0.1:0", |request: &HttpRequest| {
            if request.path == "/close" {
                Reply::Close
            } else {
                ok(serde_json::json!({"target": request.target}))
            }
        })
        .unwrap();
        let text = exchange(server.addr(), b"GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        for line in [
            "Content-Type: application/json\r\n",
            "Content-Length: 19\r\n",
            "Cache-Control: no-store\r\n",
            "Connection: close\r\n",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        assert!(text.ends_with(r#"{"target":"/a?b=c"}"#), "{text}");
        assert_eq!(exchange(server.addr(), b"GET /close HTTP/1.1\r\n\r\n"), "");
    }

    #[test]
    fn head_gets_the_length_but_no_body() {
        let server = serve("127.0.0.1:0", |_: &HttpRequest| {
            ok(serde_json::json!({"a": 1}))
        });
        let text = exchange(server.unwrap().addr(), b"HEAD / HTTP/1.1\r\n\r\n");
        assert!(text.contains("Content-Length: 7\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
    }

    #[test]
    fn bodies_are_read_whole_with_a_length_or_chunked() {
        let server = describing();
        let sized = exchange(
            server.addr(),
            b"POST /t HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
        );
        assert!(
            sized.starts_with("HTTP/1.1 100 Continue\r\n\r\n"),
            "{sized}"
        );
        assert_eq!(body_of(&sized)["body"], "hello", "{sized}");
        let chunked = exchange(
            server.addr(),
            b"POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
        );
        assert_eq!(body_of(&chunked)["body"], "hello", "{chunked}");
    }

    #[test]
    fn headers_are_lowercased_grouped_by_name_and_read_lossily() {
        let server = describing();
        let text = exchange(
            server.addr(),
            b"GET /p?q HTTP/1.1\r\nX-Dup: one\r\nX-Name: Fran\xe7ois\r\nx-dup:  two \r\n\r\n",
        );
        let body = body_of(&text);
        assert_eq!(body["path"], "/p");
        assert_eq!(body["target"], "/p?q");
        assert_eq!(
            body["headers"],
            serde_json::json!([
                ["x-dup", "one"],
                ["x-dup", "two"],
                ["x-name", "Fran\u{fffd}ois"]
            ])
        );
    }

    #[test]
    fn bodies_over_the_limit_are_413_and_logged() {
        let entries = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&entries);
        let logger: AccessLogger =
            Arc::new(move |entry: &AccessLog| sink.lock().unwrap().push(entry.clone()));
        let options = ServerOptions {
            logger: Some(logger),
            ..ServerOptions::default()
        };
        let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
        let handler = |_: &HttpRequest| ok(serde_json::json!({}));
        let server = serve_listener(listener, handler, options).unwrap();
        // Refused on its Content-Length, before the body is sent.
        let head = format!(
            "POST /x?secret=1 HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        let text = exchange(server.addr(), head.as_bytes());
        assert!(
            text.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
            "{text}"
        );
        assert_eq!(
            body_of(&text)["error_description"],
            "request body is larger than 65536 bytes"
        );
        // Refused once a chunked body passes the limit.
        let chunk = "a".repeat(MAX_BODY_BYTES / 2 + 1);
        let chunked = format!(
            "POST /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{len:x}\r\n{chunk}\r\n{len:x}\r\n{chunk}\r\n0\r\n\r\n",
            len = chunk.len()
        );
        let text = exchange(server.addr(), chunked.as_bytes());
        assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
        drop(server);
        let logged = |path: &str| AccessLog {
            method: "POST".into(),
            path: path.into(),
            status: Some(413),
        };
        assert_eq!(*entries.lock().unwrap(), [logged("/x"), logged("/y")]);
    }

    #[test]
    fn a_body_cut_short_gets_no_answer() {
        let server = describing();
        let text = exchange(
            server.addr(),
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
        );
        // Our half-close ends the body early: hyper hangs up (and may first say 400).
        assert!(!text.contains("200 OK"), "{text}");
    }

    #[test]
    fn concurrent_slow_requests_are_served_in_parallel() {
        let server = serve("127.0.0.1:0", |_: &HttpRequest| {
            thread::sleep(Duration::from_millis(300));
            ok(serde_json::json!({}))
        })
        .unwrap();
        let addr = server.addr();
        let started = Instant::now();
        let clients: Vec<_> = (0..16)
            .map(|_| thread::spawn(move || exchange(addr, b"GET / HTTP/1.1\r\n\r\n")))
            .collect();
        for client in clients {
            let text = client.join().unwrap();
            assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        }
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn connections_beyond_the_limit_are_answered_503() {
        // Every handler holds its connection open until the test releases them all.
        let entered = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Barrier::new(MAX_CONNECTIONS + 1));
        let (counter, barrier) = (Arc::clone(&entered), Arc::clone(&release));
        let server = serve("127.0.0.1:0", move |_: &HttpRequest| {
            counter.fetch_add(1, Ordering::SeqCst);
            barrier.wait();
            ok(serde_json::json!({}))
        })
        .unwrap();
        let addr = server.addr();
        let (done, answers) = mpsc::channel();
        for _ in 0..MAX_CONNECTIONS {
            let done = done.clone();
            thread::spawn(move || done.send(exchange(addr, b"GET / HTTP/1.1\r\n\r\n")));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while entered.load(Ordering::SeqCst) < MAX_CONNECTIONS {
            assert!(Instant::now() < deadline, "handlers did not all start");
            thread::sleep(Duration::from_millis(10));
        }
        let text = exchange(addr, b"GET / HTTP/1.1\r\n\r\n");
        assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
        assert!(text.contains("too many open connections"), "{text}");
        release.wait();
        for _ in 0..MAX_CONNECTIONS {
            let text = answers.recv().unwrap();
            assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        }
    }

    #[test]
    fn drop_answers_the_request_in_flight_then_frees_the_port() {
        let (entered, handler_entered) = mpsc::channel();
        let entered = Mutex::new(entered);
        let server = serve("127.0.0.1:0", move |_: &HttpRequest| {
            entered.lock().unwrap().send(()).unwrap();
            thread::sleep(Duration::from_millis(300));
            ok(serde_json::json!({"late": true}))
        })
        .unwrap();
        let addr = server.addr();
        let client = thread::spawn(move || exchange(addr, b"GET / HTTP/1.1\r\n\r\n"));
        handler_entered.recv().unwrap();
        let started = Instant::now();
        drop(server);
        let stopped = started.elapsed();
        assert!(TcpStream::connect(addr).is_err(), "listener is closed");
        let text = client.join().unwrap();
        assert!(text.ends_with(r#"{"late":true}"#), "{text}");
        assert!(stopped < Duration::from_millis(900), "{stopped:?}");
        assert!(StdTcpListener::bind(addr).is_ok(), "port {addr} is free");
    }

    #[test]
    fn drop_with_nothing_in_flight_is_immediate() {
        let server = serve("127.0.0.1:0", |_: &HttpRequest| Reply::Close).unwrap();
        let started = Instant::now();
        drop(server);
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
    }
}
