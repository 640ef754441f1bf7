//! A gRPC service and client on tonic (HTTP/2), for the gRPC tests, the demo's gRPC route and
//! the benchmark. The protobuf messages are written by hand, so there is no protoc and no
//! build script; the service is, in proto:
//!
//! ```proto
//! syntax = "proto3";
//! package demo.echo.v1;
//! message EchoRequest { string message = 1; uint32 count = 2; }
//! message EchoReply { string message = 1; map<string, string> metadata = 2; uint32 index = 3; }
//! service Echo {
//!   rpc Say(EchoRequest) returns (EchoReply);             // one reply
//!   rpc Count(EchoRequest) returns (stream EchoReply);    // `count` replies, 10 ms apart
//! }
//! ```
//!
//! Every reply carries the request metadata the service received, so a caller sees what
//! reached the service through Envoy. The server also answers `grpc.health.v1.Health/Check`
//! (SERVING), and `UNIMPLEMENTED` to any other method. [`GrpcUpstream::calls`] lists the
//! methods called, so a test sees that a refused call never arrived.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use http::HeaderMap;
use http::uri::PathAndQuery;
use prost::Message;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::body::Body;
use tonic::client::Grpc as GrpcClientCore;
use tonic::server::{Grpc, ServerStreamingService, UnaryService};
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

/// `demo.echo.v1.Echo/Say`: unary.
pub const SAY: &str = "/demo.echo.v1.Echo/Say";
/// `demo.echo.v1.Echo/Count`: server streaming.
pub const COUNT: &str = "/demo.echo.v1.Echo/Count";
/// The standard health check (`grpc.health.v1`).
pub const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";
/// Server reflection (`grpc.reflection.v1`), which this server does not implement.
pub const REFLECTION: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";

/// Time between two replies of `Count`: the stream outlives one poll of the client.
const STREAM_INTERVAL: Duration = Duration::from_millis(10);

#[derive(Clone, PartialEq, Message)]
pub struct EchoRequest {
    #[prost(string, tag = "1")]
    pub message: String,
    #[prost(uint32, tag = "2")]
    pub count: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct EchoReply {
    #[prost(string, tag = "1")]
    pub message: String,
    /// The request metadata the service received (several values of a name joined by `,`).
    #[prost(btree_map = "string, string", tag = "2")]
    pub metadata: BTreeMap<String, String>,
    #[prost(uint32, tag = "3")]
    pub index: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    pub service: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct HealthCheckResponse {
    /// 1 is SERVING.
    #[prost(int32, tag = "1")]
    pub status: i32,
}

/// `HealthCheckResponse.status` SERVING.
pub const SERVING: i32 = 1;

/// The gRPC server, on its own thread; stops on drop.
pub struct GrpcUpstream {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<String>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl GrpcUpstream {
    /// Starts the server on `listen` (e.g. `127.0.0.1:0`), HTTP/2 without TLS.
    pub fn start(listen: &str) -> io::Result<GrpcUpstream> {
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let service = EchoService {
            calls: Arc::clone(&calls),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("grpc-upstream".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let incoming = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => TcpListenerStream::new(listener),
                        Err(e) => return eprintln!("grpc-upstream: {e}"),
                    };
                    let served = Server::builder()
                        .serve_with_incoming_shutdown(service, incoming, async {
                            let _ = stopped.await;
                        })
                        .await;
                    if let Err(e) = served {
                        eprintln!("grpc-upstream: {e}");
                    }
                })
            })?;
        Ok(GrpcUpstream {
            addr,
            calls,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The paths of the calls received so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the calls received so far.
    pub fn clear(&self) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Drop for GrpcUpstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Routes a call by its path, as generated tonic code would.
#[derive(Clone)]
struct EchoService {
    calls: Arc<Mutex<Vec<String>>>,
}

type BoxedFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl tower_service::Service<http::Request<Body>> for EchoService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxedFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let path = request.uri().path().to_string();
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(path.clone());
        Box::pin(async move {
            let response = match path.as_str() {
                SAY => Grpc::new(ProstCodec::default()).unary(Say, request).await,
                COUNT => {
                    Grpc::new(ProstCodec::default())
                        .server_streaming(Count, request)
                        .await
                }
                HEALTH_CHECK => {
                    Grpc::new(ProstCodec::default())
                        .unary(Health, request)
                        .await
                }
                _ => Status::unimplemented(format!("no method {path}")).into_http(),
            };
            Ok(response)
        })
    }
}

/// The request metadata as a sorted map (binary values base64, as gRPC sends them).
fn metadata_of<T>(request: &Request<T>) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::<String, String>::new();
    for (name, value) in request.metadata().clone().into_headers().iter() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        metadata
            .entry(name.as_str().to_string())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    metadata
}

struct Say;

impl UnaryService<EchoRequest> for Say {
    type Response = EchoReply;
    type Future = Ready<Result<Response<EchoReply>, Status>>;

    fn call(&mut self, request: Request<EchoRequest>) -> Self::Future {
        let reply = EchoReply {
            metadata: metadata_of(&request),
            message: request.into_inner().message,
            index: 0,
        };
        ready(Ok(Response::new(reply)))
    }
}

struct Count;

impl ServerStreamingService<EchoRequest> for Count {
    type Response = EchoReply;
    type ResponseStream = ReceiverStream<Result<EchoReply, Status>>;
    type Future = Ready<Result<Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, request: Request<EchoRequest>) -> Self::Future {
        let metadata = metadata_of(&request);
        let EchoRequest { message, count } = request.into_inner();
        let (replies, stream) = mpsc::channel(4);
        tokio::spawn(async move {
            for index in 0..count {
                if index > 0 {
                    tokio::time::sleep(STREAM_INTERVAL).await;
                }
                let reply = EchoReply {
                    message: message.clone(),
                    metadata: metadata.clone(),
                    index,
                };
                if replies.send(Ok(reply)).await.is_err() {
                    return;
                }
            }
        });
        ready(Ok(Response::new(ReceiverStream::new(stream))))
    }
}

struct Health;

impl UnaryService<HealthCheckRequest> for Health {
    type Response = HealthCheckResponse;
    type Future = Ready<Result<Response<HealthCheckResponse>, Status>>;

    fn call(&mut self, _request: Request<HealthCheckRequest>) -> Self::Future {
        ready(Ok(Response::new(HealthCheckResponse { status: SERVING })))
    }
}

/// A blocking gRPC client over one HTTP/2 connection (plain text, prior knowledge).
pub struct GrpcClient {
    runtime: tokio::runtime::Runtime,
    channel: Channel,
}

/// A response as it came off the wire: status, headers, the body and its trailers.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: Option<HeaderMap>,
}

impl RawResponse {
    /// A header's value as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl GrpcClient {
    /// Connects to `addr` (Envoy's listener, or the server itself).
    pub fn connect(addr: SocketAddr) -> Result<GrpcClient, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| format!("bad address {addr}: {e}"))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10));
        let channel = runtime
            .block_on(endpoint.connect())
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        Ok(GrpcClient { runtime, channel })
    }

    /// A unary call of `path` with `metadata` (such as `("authorization", "Bearer …")`).
    pub fn unary<Req, Res>(
        &self,
        path: &'static str,
        metadata: &[(&'static str, &str)],
        message: Req,
    ) -> Result<Response<Res>, Status>
    where
        Req: Message + Send + Sync + 'static,
        Res: Message + Default + Send + Sync + 'static,
    {
        let request = with_metadata(message, metadata)?;
        let mut grpc = GrpcClientCore::new(self.channel.clone());
        self.runtime.block_on(async move {
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            grpc.unary(
                request,
                PathAndQuery::from_static(path),
                ProstCodec::default(),
            )
            .await
        })
    }

    /// `Say`.
    pub fn say(
        &self,
        metadata: &[(&'static str, &str)],
        message: &str,
    ) -> Result<Response<EchoReply>, Status> {
        let request = EchoRequest {
            message: message.to_string(),
            count: 0,
        };
        self.unary(SAY, metadata, request)
    }

    /// `Count`: every reply of the stream, to its end, with the response metadata.
    pub fn count(
        &self,
        metadata: &[(&'static str, &str)],
        count: u32,
    ) -> Result<(tonic::metadata::MetadataMap, Vec<EchoReply>), Status> {
        let request = with_metadata(
            EchoRequest {
                message: "count".to_string(),
                count,
            },
            metadata,
        )?;
        let mut grpc = GrpcClientCore::new(self.channel.clone());
        self.runtime.block_on(async move {
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            let response = grpc
                .server_streaming(
                    request,
                    PathAndQuery::from_static(COUNT),
                    ProstCodec::<EchoRequest, EchoReply>::default(),
                )
                .await?;
            let (metadata, mut stream, _) = response.into_parts();
            let mut replies = Vec::new();
            while let Some(reply) = stream.message().await? {
                replies.push(reply);
            }
            Ok((metadata, replies))
        })
    }

    /// One gRPC request exactly as given (`message` already framed, or not), and its response
    /// as it came: for checking the wire form of a refusal.
    pub fn raw(
        &self,
        path: &str,
        headers: &[(&'static str, &str)],
        body: Vec<u8>,
    ) -> Result<RawResponse, String> {
        let mut request = http::Request::builder()
            .method("POST")
            .uri(format!("http://grpc.test{path}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Body::new(http_body_util::Full::new(bytes::Bytes::from(
                body,
            ))))
            .map_err(|e| format!("bad request: {e}"))?;
        let mut channel = self.channel.clone();
        self.runtime.block_on(async move {
            use http_body_util::BodyExt;
            use tower_service::Service;
            std::future::poll_fn(|cx| channel.poll_ready(cx))
                .await
                .map_err(|e| format!("channel not ready: {e}"))?;
            let response = channel
                .call(request)
                .await
                .map_err(|e| format!("no response: {e}"))?;
            let (parts, body) = response.into_parts();
            let collected = body.collect().await.map_err(|e| format!("body: {e}"))?;
            let trailers = collected.trailers().cloned();
            Ok(RawResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body: collected.to_bytes().to_vec(),
                trailers,
            })
        })
    }
}

fn with_metadata<T>(message: T, metadata: &[(&'static str, &str)]) -> Result<Request<T>, Status> {
    let mut request = Request::new(message);
    for (name, value) in metadata {
        let value: tonic::metadata::MetadataValue<tonic::metadata::Ascii> = value
            .parse()
            .map_err(|_| Status::invalid_argument(format!("metadata {name} is not ASCII")))?;
        request.metadata_mut().append(*name, value);
    }
    Ok(request)
}

/// `message` in gRPC's length-prefixed framing (uncompressed), as one request body.
pub fn frame(message: &impl Message) -> Vec<u8> {
    let encoded = message.encode_to_vec();
    let mut framed = Vec::with_capacity(5 + encoded.len());
    framed.push(0);
    framed.extend_from_slice(
        &u32::try_from(encoded.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    framed.extend_from_slice(&encoded);
    framed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unary_and_streaming_calls_reach_the_server_directly() {
        let server = GrpcUpstream::start("127.0.0.1:0").unwrap();
        let client = GrpcClient::connect(server.addr()).unwrap();
        let reply = client
            .say(&[("x-probe", "1")], "hello")
            .unwrap()
            .into_inner();
        assert_eq!(reply.message, "hello");
        assert_eq!(reply.metadata.get("x-probe").map(String::as_str), Some("1"));
        let (_, replies) = client.count(&[], 3).unwrap();
        assert_eq!(
            replies.iter().map(|r| r.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let health: HealthCheckResponse = client
            .unary(HEALTH_CHECK, &[], HealthCheckRequest::default())
            .unwrap()
            .into_inner();
        assert_eq!(health.status, SERVING);
        let unknown = client
            .unary::<_, HealthCheckResponse>(REFLECTION, &[], HealthCheckRequest::default())
            .unwrap_err();
        assert_eq!(unknown.code(), tonic::Code::Unimplemented);
        assert_eq!(server.calls(), [SAY, COUNT, HEALTH_CHECK, REFLECTION]);
    }

    #[test]
    fn frame_is_length_prefixed() {
        let framed = frame(&HealthCheckRequest {
            service: "a".into(),
        });
        assert_eq!(framed, [0, 0, 0, 0, 3, 0x0a, 1, b'a']);
    }
}
