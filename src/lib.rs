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
//! | [`headers`]   | the host's serialized request headers, read in place; bytes that are not UTF-8 made harmless |
//! | [`rules`]     | which rule applies to a request (path, headers, methods; first match wins) |
//! | [`requirement`] | `provider_name`, `requires_any`/`all`, `allow_missing(_or_failed)` logic |
//! | [`cors`]      | what a CORS preflight is |
//! | [`extract`]   | where the token is (header with prefix, query parameter) |
//! | [`jwt`]       | compact JWS parsing under a strict profile |
//! | [`json`]      | strict JSON: duplicate member names refused |
//! | [`jwks`]      | JWKS document -> key set by `kid` |
//! | [`roca`]      | the fingerprint of RSA keys that can be factored (CVE-2017-15361) |
//! | [`verify`]    | signature verification |
//! | [`pkcs1`]     | RSASSA-PKCS1-v1_5 with SHA-256 (RS256): expected encoding vs `s^e mod n` |
//! | [`montgomery`] | modular exponentiation with Montgomery multiplication, constants per key |
//! | [`claims`]    | `iss`, `aud`, `exp`, `nbf`, `iat` against `now`; granted scopes; claim lookup |
//! | [`access`]    | a rule's required scopes and claim values |
//! | [`identity`]  | verified claims and payload -> headers for the upstream |
//! | [`discovery`] | OIDC discovery document -> JWKS endpoint |
//! | [`uri`]       | callout URIs -> `:authority` and `:path` |
//! | [`key_cache`] | JWKS cache state machine: lazy fetch, refresh, backoff, refetch limits |
//! | [`key_share`] | one JWKS fetch per process: shared-data claim and record between VMs |
//! | [`keyring`]   | the keys of every provider, and the tokens each has verified |
//! | [`token_cache`] | bounded cache of verified tokens, invalidated by a new key set |
//! | [`authn`]     | the checks in order -> allow (with header edits), deny or wait for keys |
//! | [`metrics`]   | counter names for allowed and denied requests and JWKS fetches |
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

pub mod access;
pub mod authn;
pub mod claims;
pub mod config;
pub mod cors;
pub mod discovery;
pub mod error;
pub mod extract;
pub mod headers;
pub mod identity;
pub mod json;
pub mod jwks;
pub mod jwt;
pub mod key_cache;
pub mod key_share;
pub mod keyring;
pub mod metrics;
pub mod montgomery;
pub mod pkcs1;
pub mod requirement;
pub mod roca;
pub mod rules;
pub mod token_cache;
pub mod uri;
pub mod verify;

#[cfg(target_arch = "wasm32")]
mod filter;
