//! Misbehaviour the JWKS and discovery endpoints can be told to show, so the
//! filter's outage handling can be tested.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Fault {
    /// Answer normally.
    #[default]
    None,
    /// Answer with this status and a small JSON error body.
    Status(u16),
    /// Answer 200 with this body instead of the real document.
    Body { content_type: String, body: Vec<u8> },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Close the connection without answering.
    Close,
}
