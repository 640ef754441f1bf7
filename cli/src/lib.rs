//! `jwt-authz`, the command line: the filter's own configuration validation for files,
//! Envoy bootstraps and Kubernetes manifests (`check`), a complete Envoy bootstrap for an
//! Auth0 tenant (`render`), a `jwt_authn` or Istio configuration as jwt-authz's (`convert`), the module as an OCI image layout (`oci`), and DPoP keys and
//! proofs for curl (`dpop`).
//!
//! | module | job |
//! |---|---|
//! | [`check`] | every configuration in the files: validated, summarised, cross-checked |
//! | [`locate`] | where configurations and clusters are in bootstraps and manifests |
//! | [`summary`] | one line per rule |
//! | [`yaml`] | YAML documents to JSON values, duplicate keys refused |
//! | [`render`] | an Envoy bootstrap for an Auth0 tenant |
//! | [`convert`] | a `jwt_authn` or Istio configuration as jwt-authz's, and what it could not carry |
//! | [`dotenv`] | `.env` files |
//! | [`oci`] | the module as an OCI image layout |
//! | [`dpop`] | a DPoP key pair and proofs made with it |

pub mod check;
pub mod convert;
pub mod dotenv;
pub mod dpop;
pub mod locate;
pub mod oci;
pub mod render;
pub mod summary;
pub mod yaml;
