//! What proves the sender holds what the token is bound to: DPoP proofs (RFC 9449) and client
//! certificates (RFC 8705) checked against the token's `cnf` claim, and the store that lets
//! each proof be used once.
//!
//! | module | job |
//! |--------|-----|
//! | [`settings`] | a provider's DPoP and certificate-binding settings, validated |
//! | [`binding`] | the token's `cnf` claim: unbound, bound to a key, to a certificate, or both |
//! | [`certificate`] | the client certificate's SHA-256: the TLS connection's own, or a trusted forwarder's `x-forwarded-client-cert` |
//! | [`dpop`] | the proof checks of RFC 9449 §4.3, time injected |
//! | [`key_cache`] | proof keys prepared before, by their JWK, bounded per VM |
//! | [`thumbprint`] | the RFC 7638 thumbprint of a public JWK (`cnf.jkt`) |
//! | [`uri`] | `htu` and the request URI compared after RFC 3986 normalisation |
//! | [`nonce`] | server nonces: a time step and its keyed SHA-256 under a per-process secret |
//! | [`replay`] | proofs seen, in bounded shards the host shares between workers |
//! | [`sender`] | how a token was sent, its binding and its proof -> accepted or the refusal |

pub mod binding;
pub mod certificate;
pub mod dpop;
pub mod key_cache;
pub mod nonce;
pub mod replay;
pub mod sender;
pub mod settings;
pub mod thumbprint;
pub mod uri;

#[cfg(test)]
mod certificate_tests;
#[cfg(test)]
mod tests;
