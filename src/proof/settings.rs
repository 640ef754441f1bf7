//! A provider's DPoP settings (`dpop` in its configuration), as the config compiler
//! validated them.

use crate::error::Schemes;
use crate::jose::algorithm::Algorithm;

/// Whether a provider takes DPoP-bound tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DpopMode {
    /// Bearer tokens only; a token bound to a key is refused.
    #[default]
    Off,
    /// `Authorization: DPoP` with a proof, and `Bearer` for tokens that are not bound.
    Allowed,
    /// `Authorization: DPoP` with a proof only.
    Required,
}

/// The proof checks of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopSettings {
    pub mode: DpopMode,
    /// The proof algorithms accepted: asymmetric only.
    pub algorithms: Vec<Algorithm>,
    /// Their names, space-separated, for the `algs` of the challenge.
    pub algorithm_names: String,
    /// How long after its `iat` a proof is accepted (the clock skew comes on top).
    pub max_age_seconds: u64,
    /// The normalised origin clients reach the service at (`https://api.example.com`), when
    /// it is not the request's own `:scheme` and `:authority`.
    pub public_origin: Option<String>,
    /// Proofs must carry a server nonce, which rotates every this many seconds.
    pub nonce_period_seconds: Option<u64>,
}

/// Proofs older than this (after `iat`, before the skew) by default.
pub const DEFAULT_MAX_AGE_SECONDS: u64 = 60;
/// The longest `max_age` accepted: proofs are meant to be fresh, and the replay store holds
/// each one this long.
pub const MAX_MAX_AGE_SECONDS: u64 = 600;
/// Bounds of `nonce_period`: rotating faster than clients can retry is no use, and a nonce
/// that lives long is a weak freshness check.
pub const MIN_NONCE_PERIOD_SECONDS: u64 = 10;
pub const MAX_NONCE_PERIOD_SECONDS: u64 = 3600;

impl Default for DpopSettings {
    fn default() -> Self {
        DpopSettings::new(
            DpopMode::Off,
            Algorithm::asymmetric(),
            DEFAULT_MAX_AGE_SECONDS,
            None,
        )
    }
}

impl DpopSettings {
    pub fn new(
        mode: DpopMode,
        algorithms: Vec<Algorithm>,
        max_age_seconds: u64,
        public_origin: Option<String>,
    ) -> DpopSettings {
        let names: Vec<&str> = algorithms.iter().map(|a| a.name()).collect();
        DpopSettings {
            mode,
            algorithm_names: names.join(" "),
            algorithms,
            max_age_seconds,
            public_origin,
            nonce_period_seconds: None,
        }
    }

    /// The schemes this provider's challenges name.
    pub fn schemes(&self) -> Schemes<'_> {
        match self.mode {
            DpopMode::Off => Schemes::Bearer,
            DpopMode::Allowed => Schemes::Both(&self.algorithm_names),
            DpopMode::Required => Schemes::Dpop(&self.algorithm_names),
        }
    }
}

/// Whether a provider holds tokens to the client certificate they are bound to (RFC 8705 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CertificateMode {
    /// Certificates are not looked at; a token bound to one is refused.
    #[default]
    Off,
    /// A token bound to a certificate (`cnf["x5t#S256"]`) passes only with that client
    /// certificate; tokens that are not bound pass as before.
    Enforced,
    /// Only tokens bound to the request's client certificate pass.
    Required,
}

/// A provider's certificate binding (`certificate_binding` in its configuration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertificateSettings {
    pub mode: CertificateMode,
    /// Peers, named by the first URI SAN of their certificate, that end the client's TLS in
    /// front of Envoy and pass its certificate's hash on in `x-forwarded-client-cert`. Empty:
    /// only the downstream connection's own client certificate counts.
    pub forwarded_by: Vec<String>,
}
