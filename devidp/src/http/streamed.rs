//! The body of a [`Reply::Stream`](super::Reply::Stream): generated a chunk at a time as
//! the client takes it, so its size costs no memory.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame};
use tokio::sync::watch;

use super::StreamedBody;

const CHUNK: usize = 64 * 1024;
/// How the body starts, so a client sees the beginning of a JSON key set.
const PREFIX: &[u8] = b"{\"keys\": [";
/// The rest of the body: spaces, shared by every chunk.
static SPACES: [u8; CHUNK] = [b' '; CHUNK];

pub(super) struct Streamed {
    /// Bytes still to send.
    left: usize,
    prefix_sent: bool,
    /// Fewer bytes than the `Content-Length` announced: close instead of ending the body.
    cut_short: bool,
    /// Whether the last chunk has had its chance to be flushed.
    flushed: bool,
    written: Arc<AtomicUsize>,
    /// Ends the body with an error (aborting the connection) when the server stops.
    stopping: watch::Receiver<bool>,
}

impl Streamed {
    pub fn new(body: StreamedBody, stopping: watch::Receiver<bool>) -> Streamed {
        Streamed {
            left: body.length,
            prefix_sent: false,
            cut_short: body
                .content_length
                .is_some_and(|length| length > body.length),
            flushed: false,
            written: body.written,
            stopping,
        }
    }

    fn next_chunk(&mut self) -> Bytes {
        let size = self.left.min(CHUNK);
        let chunk = if self.prefix_sent {
            Bytes::from_static(&SPACES[..size])
        } else {
            self.prefix_sent = true;
            let mut first = PREFIX.to_vec();
            first.extend_from_slice(&SPACES[PREFIX.len()..]);
            first.truncate(size);
            Bytes::from(first)
        };
        self.left -= size;
        self.written.fetch_add(size, Ordering::SeqCst);
        chunk
    }
}

impl Body for Streamed {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if *self.stopping.borrow() {
            return Poll::Ready(Some(Err(io::Error::other("the server is stopping"))));
        }
        if self.left > 0 {
            return Poll::Ready(Some(Ok(Frame::data(self.next_chunk()))));
        }
        if !self.cut_short {
            return Poll::Ready(None);
        }
        // An error closes the connection at once, dropping what hyper has not yet written:
        // first one round in which it flushes the last chunk.
        if !self.flushed {
            self.flushed = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Some(Err(io::Error::other(
            "closed before the announced length",
        ))))
    }
}
