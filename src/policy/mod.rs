//! Which rule applies to a request and what it requires of the token.

pub mod access;
pub mod cors;
pub mod matcher;
pub mod requirement;
pub mod route;
pub mod rules;
