//! Signature primitives. They see public data only (keys, signatures, messages), so none
//! needs to run in constant time; each is proven by Wycheproof vectors and a differential
//! test against a reference crate.

pub mod rsa;
