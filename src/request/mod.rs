//! What the filter reads from a request and writes to it.

pub mod extract;
pub mod filter_state;
pub mod headers;
pub mod identity;
