//! A minimal raw HTTP/1.1 client.
//!
//! Tests need exact control over the bytes on the wire (duplicate headers,
//! odd whitespace, hand-written requests), which full HTTP clients hide, so
//! this one writes what it is given and parses just enough of the response.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long connecting, writing and each read may take before giving up.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Headers in the order received, names as the server spelled them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// Every header with this name (case-insensitive), in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        headers_named(&self.headers, name)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "response body is not JSON ({e}); status {}, body: {}",
                self.status,
                self.text()
            )
        })
    }
}

/// The first header called `name` (case-insensitive) in `headers`.
pub fn first_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every header called `name` (case-insensitive) in `headers`, in order.
pub fn headers_named<'h>(headers: &'h [(String, String)], name: &str) -> Vec<&'h str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Sends one request and reads the response.
///
/// Headers go out exactly as passed, in order, duplicates included. `Host`,
/// `Connection: close` and (with a body) `Content-Length` are added unless
/// the caller passes them.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Response> {
    let bytes = build_request(addr, method, path, headers, body);
    exchange(addr, &bytes, method != "HEAD")
}

/// Sends a GET without a body.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> io::Result<Response> {
    request(addr, "GET", path, headers, None)
}

/// Sends fully hand-written request bytes and reads the response.
///
/// The bytes should ask for `Connection: close` or carry a length the server
/// understands; nothing is added.
pub fn send_raw(addr: SocketAddr, bytes: &[u8]) -> io::Result<Response> {
    exchange(addr, bytes, !bytes.starts_with(b"HEAD "))
}

/// A keep-alive connection for many requests in a row, as a load driver needs: one TCP
/// connection, reopened when the server closes it.
pub struct Connection {
    addr: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
}

impl Connection {
    /// Connects to `addr`.
    pub fn open(addr: SocketAddr) -> io::Result<Connection> {
        let mut connection = Connection { addr, reader: None };
        connection.connect()?;
        Ok(connection)
    }

    fn connect(&mut self) -> io::Result<&mut BufReader<TcpStream>> {
        let stream = TcpStream::connect_timeout(&self.addr, TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(self.reader.insert(BufReader::new(stream)))
    }

    /// Sends a GET (headers as in [`request`], plus `Connection: keep-alive`) and reads the
    /// response. A connection the server closed since the last request is reopened and the
    /// request sent again once, as clients do with idempotent requests.
    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> io::Result<Response> {
        let mut all = headers.to_vec();
        all.push(("connection", "keep-alive"));
        let bytes = build_request(self.addr, "GET", path, &all, None);
        let reused = self.reader.is_some();
        match self.exchange(&bytes) {
            Err(_) if reused => self.exchange(&bytes),
            result => result,
        }
    }

    fn exchange(&mut self, bytes: &[u8]) -> io::Result<Response> {
        let reader = match self.reader.take() {
            Some(reader) => self.reader.insert(reader),
            None => self.connect()?,
        };
        let result = reader
            .get_mut()
            .write_all(bytes)
            .and_then(|()| read_response(reader, true));
        let keep = result.as_ref().is_ok_and(|r| {
            !r.header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        });
        if !keep {
            self.reader = None;
        }
        result
    }
}

/// The bytes [`request`] sends, also for a caller with a stream of its own (TLS).
pub fn build_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !given("host") {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !given("connection") {
        head.push_str("Connection: close\r\n");
    }
    if let Some(body) = body
        && !given("content-length")
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    bytes
}

fn exchange(addr: SocketAddr, bytes: &[u8], expect_body: bool) -> io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.write_all(bytes)?;
    stream.flush()?;
    read_response(&mut BufReader::new(stream), expect_body)
}

/// Parses one response, skipping interim `1xx` responses such as `100 Continue`.
pub fn read_response(reader: &mut impl BufRead, expect_body: bool) -> io::Result<Response> {
    loop {
        let status = read_status_line(reader)?;
        let headers = read_headers(reader)?;
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        let has_body = expect_body && status != 204 && status != 304 && status >= 200;
        if has_body {
            response.body = read_body(reader, &response)?;
        }
        return Ok(response);
    }
}

fn read_status_line(reader: &mut impl BufRead) -> io::Result<u16> {
    let line = read_line(reader)?
        .ok_or_else(|| invalid("connection closed before a status line arrived"))?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(invalid(format!("bad status line: {line:?}")));
    }
    parts
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(format!("bad status code in status line: {line:?}")))
}

fn read_headers(reader: &mut impl BufRead) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let line =
            read_line(reader)?.ok_or_else(|| invalid("connection closed inside the headers"))?;
        if line.is_empty() {
            return Ok(headers);
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("header line without a colon: {line:?}")))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
}

fn read_body(reader: &mut impl BufRead, response: &Response) -> io::Result<Vec<u8>> {
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader);
    }
    let mut body = Vec::new();
    match response.header("content-length") {
        Some(length) => {
            let length: usize = length
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length: {length:?}")))?;
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.read_to_end(&mut body)?;
        }
    }
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| invalid("connection closed inside a chunk"))?;
        // Chunk extensions (";name=value") carry nothing we need.
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size line: {line:?}")))?;
        if size == 0 {
            // Trailers, if any, end with an empty line; they are dropped.
            while let Some(trailer) = read_line(reader)? {
                if trailer.is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let end = read_line(reader)?;
        if end.as_deref() != Some("") {
            return Err(invalid("chunk data not followed by CRLF"));
        }
    }
}

/// Reads one line without its CRLF (or bare LF); `None` at end of stream.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut raw = Vec::new();
    if reader.read_until(b'\n', &mut raw)? == 0 {
        return Ok(None);
    }
    if raw.last() == Some(&b'\n') {
        raw.pop();
    }
    if raw.last() == Some(&b'\r') {
        raw.pop();
    }
    Ok(Some(String::from_utf8_lossy(&raw).into_owned()))
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    fn parse(raw: &str) -> Response {
        read_response(&mut raw.as_bytes(), true).unwrap()
    }

    #[test]
    fn parses_content_length_body() {
        let r = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhelloEXTRA");
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "hello");
        assert_eq!(r.header("x-a"), Some("1"));
    }

    #[test]
    fn parses_chunked_body_with_extensions_and_trailers() {
        let r = parse(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
             4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n",
        );
        assert_eq!(r.text(), "Wikipedia");
    }

    #[test]
    fn reads_to_eof_without_length() {
        let r = parse("HTTP/1.0 404 Not Found\nServer: x\n\nall of it");
        assert_eq!(r.status, 404);
        assert_eq!(r.text(), "all of it");
    }

    #[test]
    fn no_body_for_204_or_head() {
        let r = parse("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n");
        assert!(r.body.is_empty());
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
        let r = read_response(&mut raw.as_bytes(), false).unwrap();
        assert!(r.body.is_empty());
    }

    #[test]
    fn skips_100_continue() {
        let r =
            parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(r.status, 201);
    }

    #[test]
    fn header_lookup_is_case_insensitive_and_keeps_duplicates() {
        let r = parse(
            "HTTP/1.1 200 OK\r\nSet-Cookie: a\r\nset-cookie:  b \r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(r.header("SET-COOKIE"), Some("a"));
        assert_eq!(r.headers_named("set-cookie"), vec!["a", "b"]);
        assert_eq!(r.header("missing"), None);
    }

    #[test]
    fn truncated_body_is_an_error() {
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
        assert!(read_response(&mut raw.as_bytes(), true).is_err());
    }

    #[test]
    fn garbage_status_line_is_an_error() {
        assert!(read_response(&mut "nonsense\r\n\r\n".as_bytes(), true).is_err());
        assert!(read_response(&mut "".as_bytes(), true).is_err());
    }

    #[test]
    fn json_reports_bad_bodies() {
        let r = parse("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
        assert_eq!(r.json().unwrap()["a"], 1);
        let r = parse("HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nnope");
        assert!(r.json().unwrap_err().contains("nope"));
    }

    #[test]
    fn builds_request_with_defaults_and_exact_headers() {
        let addr: SocketAddr = "127.0.0.1:1234".parse().unwrap();
        let bytes = build_request(
            addr,
            "POST",
            "/x",
            &[("authorization", "Bearer a"), ("Authorization", "Bearer b")],
            Some(b"hi"),
        );
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "POST /x HTTP/1.1\r\nHost: 127.0.0.1:1234\r\nauthorization: Bearer a\r\n\
             Authorization: Bearer b\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"
        );
        let bytes = build_request(
            addr,
            "GET",
            "/",
            &[("host", "h"), ("connection", "keep-alive")],
            None,
        );
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "GET / HTTP/1.1\r\nhost: h\r\nconnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn keep_alive_connection_sends_several_requests_and_reopens_when_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let mut seen = Vec::new();
            // First connection: two requests, the second answered with Connection: close.
            // Second connection: one request.
            for answers in [2, 1] {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                for n in 0..answers {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    seen.push(head);
                    let close = if answers == 2 && n == 1 {
                        "Connection: close\r\n"
                    } else {
                        ""
                    };
                    let mut stream = &stream;
                    write!(
                        stream,
                        "HTTP/1.1 200 OK\r\n{close}Content-Length: 2\r\n\r\nok"
                    )
                    .unwrap();
                }
            }
            seen
        });
        let mut connection = Connection::open(addr).unwrap();
        for path in ["/a", "/b", "/c"] {
            let response = connection.get(path, &[]).unwrap();
            assert_eq!((response.status, response.text().as_str()), (200, "ok"));
        }
        let seen = server.join().unwrap();
        assert_eq!(seen.len(), 3);
        assert!(
            seen.iter()
                .all(|h| h.contains("connection: keep-alive\r\n")),
            "{seen:?}"
        );
        assert!(seen[2].starts_with("GET /c HTTP/1.1\r\n"));
    }

    #[test]
    fn round_trip_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                request.push_str(&line);
            }
            let mut stream = stream;
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                )
                .unwrap();
            request
        });
        let response = get(addr, "/p", &[("X-Dup", "1"), ("X-Dup", "2")]).unwrap();
        assert_eq!(response.text(), "abc");
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /p HTTP/1.1\r\n"));
        assert!(request.contains("X-Dup: 1\r\nX-Dup: 2\r\n"));
    }
}
