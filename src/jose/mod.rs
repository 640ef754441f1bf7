//! JOSE: compact JWS under a strict profile, JWK sets, and the checks of a token's claims.

pub mod claims;
pub mod jwks;
pub mod jwt;
pub mod verify;
