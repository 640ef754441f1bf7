//! # jwt-authz
//!
//! A Proxy-Wasm HTTP filter that verifies OAuth2 bearer tokens (JWTs signed RS, PS, ES, EdDSA
//! or, with local keys, HS, from Auth0 or any OIDC issuer) before requests reach the services behind Envoy.
//!
//! Everything but the host glue is plain Rust, tested natively with time injected. The folders
//! are the layers:
//!
//! | module | job |
//! |--------|-----|
//! | [`config`] | JSON configuration -> validated [`config::Config`]; errors name the field path |
//! | [`request`] | what is read from and written to a request: [`request::headers`] (the host's serialized headers, read in place), [`request::extract`] (where the token is), [`request::identity`] (verified claims -> headers for the upstream) |
//! | [`policy`] | which rule applies ([`policy::rules`]), its requirement ([`policy::requirement`]), required scopes and claim values ([`policy::access`]), CORS preflights ([`policy::cors`]), Envoy's `StringMatcher` ([`policy::matcher`]), what Envoy knows of the route, asked lazily ([`policy::route`]) |
//! | [`jose`] | the algorithms and the keys each needs ([`jose::algorithm`]), compact JWS under a strict profile ([`jose::jwt`]), JWK sets with each key bound to its algorithms ([`jose::jwks`]), the key meeting the signature ([`jose::verify`]), time and audience checks ([`jose::claims`]) |
//! | [`crypto`] | the primitives: [`crypto::rsa`] (Montgomery arithmetic, PKCS#1 v1.5 and PSS, the ROCA fingerprint), [`crypto::ecdsa`] (P-256, P-384, P-521 with per-key tables), [`crypto::ed25519`], [`crypto::hmac`] (the one that handles a secret) |
//! | [`proof`] | what proves the sender holds what a token is bound to (`cnf`): DPoP proofs ([`proof::dpop`]) and their replay store, client certificates ([`proof::certificate`]), and the verdict ([`proof::sender`]) |
//! | [`keys`] | key sets per provider: fetch state machine ([`keys::cache`]), one fetch per process ([`keys::share`]), OIDC discovery, callout URIs, the verified-token cache |
//! | [`authn`] | the checks in order -> allow (with header edits), deny or wait for keys |
//! | [`error`] | every refusal: status, `WWW-Authenticate`, description |
//! | [`reply`] | a refusal as its client reads it: JSON for HTTP, the description for gRPC |
//! | [`metrics`] | counter names for allowed and denied requests and JWKS fetches |
//! | [`json`] | strict JSON: duplicate member names refused (tokens, key sets, configuration) |
//!
//! The request path in five lines: [`policy::rules`] picks the rule; [`request::extract`] finds
//! the token; [`jose::jwt`] parses it and [`keys::keyring`] finds the key ([`jose::jwks`]);
//! [`jose::verify`] checks the signature with [`crypto`], [`jose::claims`] the time, issuer and
//! audience; [`policy::access`] the scopes and claims, and [`request::identity`] the headers
//! for the upstream. [`authn`] runs those steps [`error`] names every refusal and [`reply`] shapes it.
//!
//! The `filter` module (wasm32 only) is the thin proxy-wasm glue; its feature, on by default,
//! lets a test module link the library without the filter (`bench/primitives`).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

// The test helpers shared with the end-to-end tests name the crate as they do.
#[cfg(test)]
extern crate self as jwt_authz;

pub mod authn;
pub mod config;
pub mod crypto;
pub mod error;
pub mod jose;
pub mod json;
pub mod keys;
pub mod metrics;
pub mod policy;
pub mod proof;
pub mod reply;
pub mod request;

#[cfg(all(target_arch = "wasm32", feature = "filter"))]
mod filter;
