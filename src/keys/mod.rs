//! Key sets per provider: where they come from (a fixed URI or OIDC discovery), the fetch state
//! machine, one fetch per process shared between worker VMs, and the tokens each set verified.

pub mod cache;
pub mod discovery;
pub mod keyring;
pub mod share;
pub mod token_cache;
pub mod uri;
pub mod wake;
