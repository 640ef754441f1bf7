//! Local stack for the demo and the end-to-end tests: a real Envoy launcher,
//! an echo upstream, a raw HTTP client (and a TLS one with a test PKI), a gRPC service and client,
//! and the demo topology.

pub mod bootstrap;
pub mod demo_commands;
pub mod echo;
pub mod envoy;
pub mod grpc;
pub mod http;
pub mod ports;
pub mod stack;
mod temp_dir;
pub mod tls;

pub use echo::{Echo, RecordedRequest};
pub use envoy::{Envoy, EnvoyOptions, module_path, validate, workspace_root};
pub use http::{Connection, Response};
pub use ports::free_port;
pub use stack::{Stack, StackPorts, demo_envoy_config};
pub use temp_dir::TempDir;
