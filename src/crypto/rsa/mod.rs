//! RSA verification: Montgomery arithmetic, RSASSA-PKCS1-v1_5, and the ROCA fingerprint of
//! moduli that can be factored.

pub mod montgomery;
pub mod pkcs1;
pub mod roca;
