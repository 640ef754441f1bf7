//! One connection under hyper: its request read whole, the handler's reply computed on a
//! blocking thread, the answer written and logged.

use std::io;
use std::sync::Arc;

use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::server::{Handler, SOCKET_TIMEOUT, Shared};
use super::streamed::Streamed;
use super::{HttpRequest, HttpResponse, MAX_BODY_BYTES, Reply, StreamedBody};

type ResponseBody = Either<Full<Bytes>, Streamed>;

/// What the server knows of a connection before its request arrives.
pub(super) struct Peer {
    /// The DER of the client certificate the TLS handshake verified.
    pub client_certificate: Option<Arc<[u8]>>,
    /// Over the connection limit: the request is answered 503.
    pub busy: bool,
}

/// Serves the connection until its one request is answered, or until a stop has drained it.
pub(super) async fn serve<H, S>(
    stream: S,
    peer: Peer,
    shared: Arc<Shared<H>>,
    watcher: Watcher,
    stopping: watch::Receiver<bool>,
) where
    H: Handler,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = Arc::new(peer);
    let service = service_fn(move |request| {
        answer(
            Arc::clone(&shared),
            Arc::clone(&peer),
            request,
            stopping.clone(),
        )
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(SOCKET_TIMEOUT)
        // One request per connection: no idle connection a client could find closed under it.
        .keep_alive(false)
        // Header names spelled as most servers write them.
        .title_case_headers(true)
        .serve_connection(TokioIo::new(stream), service);
    // An error is the client going away or a deliberate hang-up: nobody is left to tell.
    let _ = watcher.watch(connection).await;
}

/// The answer to one request. An `Err` makes hyper close the connection without one.
async fn answer<H: Handler>(
    shared: Arc<Shared<H>>,
    peer: Arc<Peer>,
    request: Request<Incoming>,
    stopping: watch::Receiver<bool>,
) -> io::Result<Response<ResponseBody>> {
    if peer.busy {
        let busy = HttpResponse::error(503, "server_busy", "too many open connections");
        return Ok(full(busy));
    }
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let request = match read_request(request, peer.client_certificate.clone()).await {
        Ok(request) => request,
        Err(Unread::TooLarge) => {
            shared.log(method, path, Some(413));
            // In devidp only token requests carry bodies: refuse the OAuth way.
            let description = format!("request body is larger than {MAX_BODY_BYTES} bytes");
            return Ok(full(HttpResponse::error(
                413,
                "invalid_request",
                &description,
            )));
        }
        Err(Unread::Disconnected) => return Err(io::Error::other("the client went away")),
    };
    let handling = Arc::clone(&shared);
    let reply = tokio::task::spawn_blocking(move || handling.handler.handle(&request)).await;
    match reply {
        Ok(Reply::Respond(response)) => {
            shared.log(method, path, Some(response.status));
            Ok(full(response))
        }
        Ok(Reply::Stream(body)) => {
            shared.log(method, path, Some(200));
            Ok(streamed(body, stopping))
        }
        // A handler that panicked has no answer either.
        Ok(Reply::Close) | Err(_) => {
            shared.log(method, path, None);
            Err(io::Error::other("closed without an answer"))
        }
    }
}

/// Why a request could not be handed to the handler.
enum Unread {
    /// The body is over [`MAX_BODY_BYTES`] (by its `Content-Length`, or once read): 413.
    TooLarge,
    /// The client went away or stalled mid-body: nobody is left to answer.
    Disconnected,
}

async fn read_request(
    request: Request<Incoming>,
    client_certificate: Option<Arc<[u8]>>,
) -> Result<HttpRequest, Unread> {
    let (parts, body) = request.into_parts();
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX);
    // A Content-Length over the limit is refused before any of the body is read.
    if body.size_hint().lower() > limit {
        return Err(Unread::TooLarge);
    }
    let read =
        tokio::time::timeout(SOCKET_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect()).await;
    let body = match read {
        Ok(Ok(collected)) => collected.to_bytes().to_vec(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => return Err(Unread::TooLarge),
        Ok(Err(_)) | Err(_) => return Err(Unread::Disconnected),
    };
    // Header values may carry obs-text (RFC 9110 §5.5), which Envoy passes on: read it
    // lossily rather than refuse what a real upstream would take.
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    Ok(HttpRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        target: parts.uri.to_string(),
        headers,
        body,
        client_certificate,
    })
}

/// The response with its length; one hyper cannot send (a status outside 100..=999, a
/// header value with control characters) becomes a 500 that says why.
fn full(response: HttpResponse) -> Response<ResponseBody> {
    let mut builder = Response::builder()
        .status(response.status)
        .header(header::CONTENT_TYPE, response.content_type.as_str())
        .header(header::CONTENT_LENGTH, response.body.len())
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONNECTION, "close");
    for (name, value) in &response.extra_headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Either::Left(Full::new(Bytes::from(response.body))))
        .unwrap_or_else(|error| unsendable(&error))
}

fn unsendable(error: &hyper::http::Error) -> Response<ResponseBody> {
    let body = serde_json::json!({
        "error": "server_error",
        "error_description": format!("the handler's response cannot be sent: {error}"),
    });
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(body.to_string()))));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A 200 whose body is generated as it is sent. Without a `Content-Length` the answer is
/// framed as HTTP/1.0, where the body ends when the connection closes (HTTP/1.1 would chunk
/// it, telling the client where it ends).
fn streamed(body: StreamedBody, stopping: watch::Receiver<bool>) -> Response<ResponseBody> {
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, body.content_type.as_str())
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONNECTION, "close");
    builder = match body.content_length {
        Some(length) => builder.header(header::CONTENT_LENGTH, length),
        None => builder.version(Version::HTTP_10),
    };
    builder
        .body(Either::Right(Streamed::new(body, stopping)))
        .unwrap_or_else(|error| unsendable(&error))
}
