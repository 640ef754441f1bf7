//! Misbehaviour the JWKS and discovery endpoints can be told to show, so the
//! filter's outage handling can be tested.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use crate::http::StreamedBody;

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
    /// Answer 200 with a body generated as it is written, of any size, possibly shorter than
    /// it announces; see [`Fault::huge`] and [`Fault::truncated`].
    Huge(StreamedBody),
}

impl Fault {
    /// A `length`-byte answer, with or without `Content-Length`, and the counter of the
    /// bytes handed to the client.
    pub fn huge(length: usize, declare_length: bool) -> (Fault, Arc<AtomicUsize>) {
        Fault::streamed(length, declare_length.then_some(length))
    }

    /// An answer that announces `content_length` bytes and sends only `sent` of them before
    /// closing the connection.
    pub fn truncated(content_length: usize, sent: usize) -> Fault {
        Fault::streamed(sent, Some(content_length)).0
    }

    fn streamed(length: usize, content_length: Option<usize>) -> (Fault, Arc<AtomicUsize>) {
        let written = Arc::new(AtomicUsize::new(0));
        let fault = Fault::Huge(StreamedBody {
            content_type: "application/json".into(),
            length,
            content_length,
            written: Arc::clone(&written),
        });
        (fault, written)
    }
}
