//! Local stack for the demo and the end-to-end tests: a real Envoy launcher,
//! an echo upstream, a raw HTTP client and the demo topology.

pub mod echo;
pub mod envoy;
pub mod http;
pub mod ports;
mod temp_dir;

pub use echo::{Echo, RecordedRequest};
pub use envoy::{Envoy, EnvoyOptions, module_path, validate, workspace_root};
pub use http::Response;
pub use ports::free_port;
