//! RSA verification: the public key and RSAVP1 ([`key`]), Montgomery arithmetic
//! ([`montgomery`]), the two JOSE signature schemes ([`pkcs1`]: RSASSA-PKCS1-v1_5, RS256/384/512;
//! [`pss`]: RSASSA-PSS, PS256/384/512), and the ROCA fingerprint of moduli that can be factored
//! ([`roca`]).

pub mod key;
pub mod montgomery;
pub mod pkcs1;
pub mod pss;
pub mod roca;

pub use key::{KeyError, PublicKey, SignatureError};
