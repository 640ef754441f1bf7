//! # jwt-authz
//!
//! A Proxy-Wasm HTTP filter that verifies OAuth2 bearer tokens (RS256 JWTs from Auth0 or any
//! OIDC issuer) before requests reach the services behind Envoy.
//!
//! Everything but the host glue is plain Rust, tested natively with time injected:
//!
//! | module        | job |
//! |---------------|-----|
//! | [`config`]    | JSON configuration -> validated [`config::Config`]; errors name the field path |
//! | [`rules`]     | which rule applies to a request (first match wins) |
//! | [`extract`]   | where the token is (header with prefix, query parameter) |
//! | [`jwt`]       | compact JWS parsing under a strict profile |
//! | [`json`]      | strict JSON: duplicate member names refused |
//! | [`jwks`]      | JWKS document -> key set by `kid` |
//! | [`verify`]    | signature verification |
//! | [`claims`]    | `iss`, `aud`, `exp`, `nbf`, `iat` against `now`; scopes |
//! | [`key_cache`] | JWKS cache state machine: lazy fetch, refresh, backoff, refetch limits |
//! | [`keyring`]   | the keys of every provider |
//! | [`authn`]     | the checks in order -> allow, deny or wait for keys |
//! | [`error`]     | every refusal: status, `WWW-Authenticate`, description |
//!
//! The `filter` module (wasm32 only) is the thin proxy-wasm glue.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod authn;
pub mod claims;
pub mod config;
pub mod error;
pub mod extract;
pub mod json;
pub mod jwks;
pub mod jwt;
pub mod key_cache;
pub mod keyring;
pub mod rules;
pub mod verify;

#[cfg(target_arch = "wasm32")]
mod filter;
