//! JOSE: compact JWS under a strict profile, JWK sets, and the checks of a token's claims.

pub mod algorithm;
pub mod claims;
pub mod jwks;
pub mod jwt;
#[cfg(test)]
#[path = "../../tests/support/signers.rs"]
pub mod test_signers;
pub mod verify;
