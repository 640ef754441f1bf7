//! The HTTP/1.1 (and HTTPS) server under the dev IdP and devstack's echo upstream: hyper
//! and rustls on a tokio runtime of its own, behind a synchronous API for test code that
//! runs on plain threads.
//!
//! A [`Handler`] turns an [`HttpRequest`] (body read whole, at most [`MAX_BODY_BYTES`])
//! into a [`Reply`]: a response, a hang-up without one, or a large body generated as it is
//! sent (what the outage tests need of an IdP). Each connection carries one request and
//! closes after its answer, as a short-lived dev server's clients expect. Dropping the
//! [`HttpServer`] stops it gracefully: no new connections, requests in flight answered.

mod server;
mod service;
mod stop_signal;
mod streamed;
#[cfg(test)]
pub(crate) mod test_pki;
mod tls;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use serde_json::Value;

pub use server::{Handler, HttpServer, MAX_CONNECTIONS, ServerOptions, serve, serve_listener};
pub use stop_signal::StopSignal;
pub use tls::{CertificateDer, PrivateKeyDer, ServerTls, certificates_from_pem};

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// The request target without its query string.
    pub path: String,
    /// The request target as sent, query string included.
    pub target: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    client_certificate: Option<Arc<[u8]>>,
}

impl HttpRequest {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, names lowercased, values trimmed, duplicates kept: grouped by name in
    /// the order each name first arrived, the values of one name in arrival order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The DER of the client certificate the TLS handshake verified (the end-entity
    /// certificate); `None` over plain HTTP or when the client sent none.
    pub fn client_certificate(&self) -> Option<&[u8]> {
        self.client_certificate.as_deref()
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

/// One served request, as the access log sees it: never bodies or headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    pub method: String,
    /// The path without its query string.
    pub path: String,
    /// `None` when the connection was closed without a response ([`Reply::Close`]).
    pub status: Option<u16>,
}

/// Receives one [`AccessLog`] per request.
pub type AccessLogger = Arc<dyn Fn(&AccessLog) + Send + Sync>;

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
