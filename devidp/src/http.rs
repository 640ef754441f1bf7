//! Just enough HTTP/1.1 for one request per connection, and a small
//! thread-per-connection server ([`serve`]) built on it.
//!
//! Hand-rolled rather than tiny_http because the outage tests need to drop a
//! connection without any response, which tiny_http cannot do (an unanswered
//! request gets an automatic 500, and its raw writer leaves the socket open),
//! and because tiny_http stalled on bursts of concurrent connections.

mod server;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

pub use server::{Handler, HttpServer, MAX_CONNECTIONS, serve, serve_listener};

/// Request bodies above this are refused with 413 before being read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Request line plus headers above this are refused with 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// The request target without its query string.
    pub path: String,
    /// The request target as sent, query string included.
    pub target: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header in arrival order, names as the client spelled them,
    /// values trimmed, duplicates kept.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

/// What to do with the connection once a request has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Send this response, then close.
    Respond(HttpResponse),
    /// Close the connection without a response.
    Close,
    /// Send a 200 whose body is generated while it is written, then close.
    Stream(StreamedBody),
}

/// A large body written in chunks, never held in memory whole: what an IdP answering with
/// an endless or enormous document looks like to its client.
#[derive(Debug, Clone)]
pub struct StreamedBody {
    pub content_type: String,
    /// Bytes of body to write (fewer if the client goes away first).
    pub length: usize,
    /// The `Content-Length` to announce (it may promise more than `length`: a truncated
    /// answer); `None` ends the body when the connection closes, so the client cannot know
    /// its size in advance.
    pub content_length: Option<usize>,
    /// Body bytes handed to the connection so far; the client's socket buffers take a few
    /// MiB more than it has read.
    pub written: Arc<AtomicUsize>,
}

impl PartialEq for StreamedBody {
    fn eq(&self, other: &Self) -> bool {
        self.content_type == other.content_type
            && self.length == other.length
            && self.content_length == other.content_length
            && Arc::ptr_eq(&self.written, &other.written)
    }
}

impl Eq for StreamedBody {}

/// Writes `body` as a 200 response: a JSON-looking prefix, then spaces, then closes. Stops
/// early, without an error, when the client closes the connection.
pub fn write_streamed(mut stream: &TcpStream, body: &StreamedBody) -> io::Result<()> {
    const CHUNK: usize = 64 * 1024;
    let mut head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        body.content_type
    );
    if let Some(length) = body.content_length {
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let mut chunk = vec![b' '; CHUNK];
    let prefix = b"{\"keys\": [";
    chunk[..prefix.len()].copy_from_slice(prefix);
    let mut left = body.length;
    while left > 0 {
        let part = &chunk[..left.min(CHUNK)];
        if stream.write_all(part).is_err() {
            return Ok(());
        }
        body.written.fetch_add(part.len(), Ordering::SeqCst);
        left -= part.len();
        chunk[..prefix.len()].fill(b' ');
    }
    stream.flush()
}

/// One served request, as the access log sees it: never bodies or headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    pub method: String,
    /// The path without its query string (`-` when the request line was unreadable).
    pub path: String,
    /// `None` when the connection was closed without a response ([`Reply::Close`]).
    pub status: Option<u16>,
}

/// Receives one [`AccessLog`] per request.
pub type AccessLogger = Arc<dyn Fn(&AccessLog) + Send + Sync>;

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client went away or stalled: nobody is left to answer.
    Disconnected,
    /// The client sent something we must refuse with this status.
    Refused {
        status: u16,
        message: String,
        /// Method and path, when the request line was readable (for the access log).
        target: Option<(String, String)>,
    },
}

impl ReadError {
    fn refused(status: u16, message: impl Into<String>) -> Self {
        ReadError::Refused {
            status,
            message: message.into(),
            target: None,
        }
    }

    fn for_target(self, method: &str, path: &str) -> Self {
        match self {
            ReadError::Refused {
                status, message, ..
            } => ReadError::Refused {
                status,
                message,
                target: Some((method.to_owned(), path.to_owned())),
            },
            disconnected => disconnected,
        }
    }
}

/// Reads one request. Bytes after its body are ignored: every response closes the connection.
pub fn read_request(stream: &TcpStream) -> Result<HttpRequest, ReadError> {
    let mut reader = BufReader::new(stream);
    let mut head_budget = MAX_HEAD_BYTES;
    let request_line = read_line(&mut reader, &mut head_budget)?;
    let (method, target) = parse_request_line(&request_line)?;
    let path = target.split('?').next().unwrap_or(target);
    read_rest(stream, &mut reader, head_budget, method, target)
        .map_err(|e| e.for_target(method, path))
}

/// `GET /path?query HTTP/1.1` → (`GET`, `/path?query`).
fn parse_request_line(line: &str) -> Result<(&str, &str), ReadError> {
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::refused(400, "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::refused(505, "only HTTP/1.x is supported"));
    }
    Ok((method, target))
}

/// Headers and body, after the request line.
fn read_rest(
    stream: &TcpStream,
    reader: &mut BufReader<&TcpStream>,
    mut head_budget: usize,
    method: &str,
    target: &str,
) -> Result<HttpRequest, ReadError> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, &mut head_budget)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ReadError::refused(400, "malformed header line"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = HttpRequest {
        method: method.to_owned(),
        path: target.split('?').next().unwrap_or(target).to_owned(),
        target: target.to_owned(),
        headers,
        body: Vec::new(),
    };

    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::refused(
            411,
            "send the body with a Content-Length",
        ));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(value) => value
            .parse::<usize>()
            .map_err(|_| ReadError::refused(400, "invalid Content-Length"))?,
    };
    if length > MAX_BODY_BYTES {
        return Err(ReadError::refused(
            413,
            format!("request body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    if length > 0 && has_expect_continue(&request) {
        // curl waits a second for this before sending a large body.
        let mut writer = stream;
        writer
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| ReadError::Disconnected)?;
    }
    request.body = vec![0; length];
    reader
        .read_exact(&mut request.body)
        .map_err(|_| ReadError::Disconnected)?;
    Ok(request)
}

fn has_expect_continue(request: &HttpRequest) -> bool {
    request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// One CRLF- (or LF-) terminated line, charged against the head size budget.
fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> Result<String, ReadError> {
    let mut line = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX);
    let read = reader
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(|_| ReadError::Disconnected)?;
    if read == 0 {
        return Err(ReadError::Disconnected);
    }
    if line.last() != Some(&b'\n') {
        return if read >= *budget {
            Err(ReadError::refused(431, "request head is too large"))
        } else {
            Err(ReadError::Disconnected)
        };
    }
    *budget -= read;
    // Header values may carry obs-text (RFC 9110 §5.5), which Envoy passes on: read it
    // lossily rather than refuse what a real upstream would take.
    let text = String::from_utf8_lossy(&line);
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: String,
    pub extra_headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn json(status: u16, body: &Value) -> Self {
        HttpResponse {
            status,
            content_type: "application/json".to_owned(),
            extra_headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }

    /// `{"error","error_description"}`, the shape every error here uses.
    pub fn error(status: u16, error: &str, description: &str) -> Self {
        Self::json(
            status,
            &serde_json::json!({"error": error, "error_description": description}),
        )
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.extra_headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Writes the response and announces that the connection closes after it.
pub fn write_response(stream: &TcpStream, response: &HttpResponse) -> io::Result<()> {
    write(stream, response, true)
}

/// Like [`write_response`], leaving out the body (but not its length) unless
/// `with_body`: the answer to a HEAD request.
fn write(mut stream: &TcpStream, response: &HttpResponse, with_body: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        response.status,
        reason_phrase(response.status),
        response.content_type,
        response.body.len()
    );
    for (name, value) in &response.extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(&response.body)?;
    }
    stream.flush()
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Sends `raw` from a client socket and parses it on the server side.
    fn parse(raw: &[u8]) -> Result<HttpRequest, ReadError> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.write_all(raw).unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let (server, _) = listener.accept().unwrap();
        read_request(&server)
    }

    fn refused_status(raw: &[u8]) -> u16 {
        match parse(raw) {
            Err(ReadError::Refused { status, .. }) => status,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn request_with_body_is_parsed() {
        let request =
            parse(b"POST /oauth/token?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                .unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/oauth/token");
        assert_eq!(request.target, "/oauth/token?x=1");
        assert_eq!(
            request.headers(),
            [
                ("Host".to_owned(), "a".to_owned()),
                ("Content-Type".to_owned(), "application/json".to_owned()),
                ("Content-Length".to_owned(), "2".to_owned()),
            ]
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.body, b"{}");
    }

    #[test]
    fn body_over_the_limit_is_413() {
        let raw = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert_eq!(refused_status(raw.as_bytes()), 413);
    }

    #[test]
    fn refusal_after_the_request_line_names_method_and_path() {
        let raw = format!(
            "POST /oauth/token HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        match parse(raw.as_bytes()) {
            Err(ReadError::Refused { target, .. }) => {
                assert_eq!(target, Some(("POST".to_owned(), "/oauth/token".to_owned())));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn chunked_body_is_411() {
        assert_eq!(
            refused_status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            411
        );
    }

    #[test]
    fn garbage_request_line_is_400() {
        assert_eq!(refused_status(b"hello\r\n\r\n"), 400);
    }

    #[test]
    fn oversized_head_is_431() {
        let raw = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert_eq!(refused_status(raw.as_bytes()), 431);
    }

    #[test]
    fn header_values_beyond_utf8_are_read_lossily() {
        let request = parse(b"GET / HTTP/1.1\r\nX-Name: Fran\xe7ois\r\n\r\n").unwrap();
        assert_eq!(request.header("x-name"), Some("Fran\u{fffd}ois"));
    }

    #[test]
    fn truncated_body_is_a_disconnect() {
        let result = parse(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
        assert!(matches!(result, Err(ReadError::Disconnected)), "{result:?}");
    }
}
