//! Auth0-compatible development identity provider.
//!
//! Stands in for an Auth0 tenant on a laptop and in end-to-end tests:
//!
//! * `POST /oauth/token` — the client-credentials grant, with client
//!   credentials in a JSON or form body or in HTTP Basic auth; issues access
//!   tokens with Auth0's claims (`sub = CLIENT_ID@clients`, `gty`, `azp`,
//!   `scope`, `permissions`), signed with the algorithm of the API they are for
//!   ([`ApiConfig`]: RS256 by default, PS256, ES256, ES384, ES512, EdDSA, or
//!   HS256 with the API's secret).
//! * `GET /.well-known/jwks.json` (one current key per asymmetric algorithm in
//!   use, and rotated keys until retired) and
//!   `GET /.well-known/openid-configuration`, which tests can make misbehave
//!   with [`Fault`].
//!
//! [`Idp::start`] runs the server on a background thread; the returned handle
//! also mints tokens directly, rotates keys and counts well-known requests;
//! [`SigningKey`] signs with any algorithm, and [`forge`] makes the tokens no
//! issuer would mint, for attack tests.
//! [`Idp::start_with`] serves HTTPS, optionally asking clients for certificates.
//!
//! The HTTP/1.1 and TLS server underneath (hyper and rustls) is public as
//! [`http`], for other dev servers (devstack's echo upstream) to reuse.

mod algorithm;
mod config;
pub mod dpop_proof;
mod fault;
pub mod forge;
pub mod http;
mod independent_verifier;
mod keys;
mod oauth_error;
mod routes;
mod server;
mod signing_key;
mod spare_keys;
mod state;
mod token;
mod token_request;

pub use algorithm::SigningAlgorithm;
pub use config::{
    ApiConfig, ClientConfig, DEFAULT_AUDIENCE, DEFAULT_TOKEN_LIFETIME_SECS, DEMO_ES256_AUDIENCE,
    Grant, IdpConfig,
};
pub use fault::Fault;
pub use http::{AccessLog, AccessLogger, MAX_BODY_BYTES, ServerOptions, ServerTls};
pub use keys::KeyPair;
pub use oauth_error::OAuthError;
pub use routes::{DISCOVERY_PATH, JWKS_PATH, TOKEN_PATH, discovery_document};
pub use server::Idp;
pub use signing_key::{MIN_HMAC_SECRET_BYTES, SigningKey};
pub use token::{TokenResponse, access_token_claims, client_credentials};
pub use token_request::{TokenParams, parse_token_request};
