//! Request headers as the host hands them over (proxy-wasm's serialized map), read in place:
//! one buffer, no copy per header, and no failure on bytes that are not UTF-8.
//!
//! The format: a little-endian `u32` count, then a `u32` name length and a `u32` value length
//! per header, then each name and each value followed by a NUL byte.
//!
//! Header values may carry any byte but controls (RFC 9110 obs-text), and Envoy passes them
//! on. Bytes that are not UTF-8 are rewritten to NUL in place: no real header carries NUL
//! (Envoy refuses it), so such a value matches no configured value and makes a token
//! invalid, and it can never end the filter.

use std::ops::Range;

/// One request header: name (lower case) and value.
pub type Header<'a> = (&'a str, &'a str);

/// `headers` in the same serialized form, for the host calls that take a header map (a local
/// reply, a callout).
pub fn serialize(headers: &[Header]) -> Vec<u8> {
    let text: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    let mut out = Vec::with_capacity(4 + 8 * headers.len() + text);
    let length = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    out.extend(length(headers.len()));
    for (name, value) in headers {
        out.extend(length(name.len()));
        out.extend(length(value.len()));
    }
    for (name, value) in headers {
        for text in [name, value] {
            out.extend(text.as_bytes());
            out.push(0);
        }
    }
    out
}

/// Makes `buffer` valid UTF-8 where it holds text, keeping every length: each byte of an
/// invalid sequence becomes NUL. The length fields are not text and are left alone; a
/// malformed map is left as it is (and [`parse`] refuses it).
pub fn sanitize(buffer: &mut [u8]) {
    let Some(spans) = Spans::of(buffer) else {
        return;
    };
    // Nearly every request is ASCII throughout: one quick look, no per-header work.
    if buffer.get(spans.at..).is_none_or(<[u8]>::is_ascii) {
        return;
    }
    let Some(spans) = spans.collect::<Option<Vec<_>>>() else {
        return;
    };
    for (name, value) in spans {
        for span in [name, value] {
            if let Some(text) = buffer.get_mut(span) {
                replace_invalid_utf8(text);
            }
        }
    }
}

/// The headers in `buffer` (sanitized first), in the host's order; empty when the buffer is
/// not a well-formed map, which then reads as a request without headers and is refused.
pub fn parse(buffer: &[u8]) -> Vec<Header<'_>> {
    let Some(spans) = Spans::of(buffer) else {
        return Vec::new();
    };
    let text = |span: Range<usize>| {
        buffer
            .get(span)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
    };
    let mut headers = Vec::with_capacity(spans.count);
    for span in spans {
        match span.and_then(|(name, value)| Some((text(name)?, text(value)?))) {
            Some(header) => headers.push(header),
            None => return Vec::new(),
        }
    }
    headers
}

/// Where each header's name and value lie; an item is `None` when the lengths do not fit
/// the buffer (and the map is malformed).
struct Spans<'b> {
    buffer: &'b [u8],
    count: usize,
    next: usize,
    /// Where the next name starts.
    at: usize,
}

impl<'b> Spans<'b> {
    fn of(buffer: &'b [u8]) -> Option<Spans<'b>> {
        let count = if buffer.is_empty() {
            0
        } else {
            word(buffer, 0)?
        };
        // Each header takes at least 10 bytes (two lengths, two NULs): a larger count is a
        // lie, refused before anything is sized by it.
        if count > buffer.len() / 10 {
            return None;
        }
        Some(Spans {
            buffer,
            count,
            next: 0,
            at: 4 + count * 8,
        })
    }

    /// The text of `length` bytes at the current position, which must be followed by NUL.
    fn take(&mut self, length: usize) -> Option<Range<usize>> {
        let end = self.at.checked_add(length)?;
        if self.buffer.get(end) != Some(&0) {
            return None;
        }
        let span = self.at..end;
        self.at = end + 1;
        Some(span)
    }
}

impl Iterator for Spans<'_> {
    type Item = Option<(Range<usize>, Range<usize>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.count {
            return None;
        }
        let lengths = 4 + self.next * 8;
        self.next += 1;
        let span = (|| {
            let name = self.take(word(self.buffer, lengths)?)?;
            let value = self.take(word(self.buffer, lengths + 4)?)?;
            Some((name, value))
        })();
        if span.is_none() {
            self.next = self.count;
        }
        Some(span)
    }
}

/// The little-endian `u32` at `at`.
fn word(buffer: &[u8], at: usize) -> Option<usize> {
    let bytes = buffer.get(at..at.checked_add(4)?)?;
    usize::try_from(u32::from_le_bytes(bytes.try_into().ok()?)).ok()
}

fn replace_invalid_utf8(mut text: &mut [u8]) {
    loop {
        let error = match std::str::from_utf8(text) {
            Ok(_) => return,
            Err(error) => error,
        };
        let bad_from = error.valid_up_to();
        let bad_to = error
            .error_len()
            .map_or(text.len(), |len| bad_from.saturating_add(len));
        if let Some(bad) = text.get_mut(bad_from..bad_to) {
            bad.fill(0);
        }
        let rest = std::mem::take(&mut text);
        match rest.get_mut(bad_to..) {
            Some(after) => text = after,
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(headers: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (headers.len() as u32).to_le_bytes().to_vec();
        for (name, value) in headers {
            out.extend((name.len() as u32).to_le_bytes());
            out.extend((value.len() as u32).to_le_bytes());
        }
        for (name, value) in headers {
            out.extend(*name);
            out.push(0);
            out.extend(*value);
            out.push(0);
        }
        out
    }

    #[test]
    fn headers_are_read_in_place_in_order() {
        let buffer = wire(&[
            (b":path", b"/api?x=1"),
            (b"authorization", b"Bearer a.b.c"),
            (b"x-empty", b""),
        ]);
        assert_eq!(
            parse(&buffer),
            [
                (":path", "/api?x=1"),
                ("authorization", "Bearer a.b.c"),
                ("x-empty", "")
            ]
        );
        assert_eq!(parse(&[]), []);
        assert_eq!(parse(&wire(&[])), []);
    }

    #[test]
    fn bytes_that_are_not_utf8_become_nul_and_nothing_else_changes() {
        let mut buffer = wire(&[
            (b"x-name", b"Fran\xe7ois"),
            (b"authorization", b"Bearer \xff\xfe.e30.\xe2\x82"),
            (b"x-fine", "Zoë ✓".as_bytes()),
        ]);
        let length = buffer.len();
        sanitize(&mut buffer);
        assert_eq!(buffer.len(), length);
        assert_eq!(
            parse(&buffer),
            [
                ("x-name", "Fran\0ois"),
                ("authorization", "Bearer \0\0.e30.\0\0"),
                ("x-fine", "Zoë ✓")
            ]
        );
    }

    #[test]
    fn serialized_headers_read_back_the_same() {
        let headers = [
            (":status", "401"),
            ("www-authenticate", "Bearer realm=\"api\""),
            ("x", ""),
        ];
        assert_eq!(parse(&serialize(&headers)), headers);
        assert_eq!(serialize(&[]), [0, 0, 0, 0]);
        assert_eq!(
            serialize(&[("ab", "c")]),
            [1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, b'a', b'b', 0, b'c', 0]
        );
    }

    #[test]
    fn unsanitized_invalid_text_reads_as_no_headers() {
        assert_eq!(parse(&wire(&[(b"x", b"\xff")])), []);
    }

    #[test]
    fn malformed_maps_read_as_no_headers() {
        let good = wire(&[(b"a", b"b"), (b"c", b"d")]);
        for cut in 1..good.len() {
            assert_eq!(parse(&good[..cut]), [], "cut at {cut}");
        }
        let mut huge_count = good.clone();
        huge_count[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&huge_count), []);
        let mut huge_length = good.clone();
        huge_length[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&huge_length), []);
        let mut no_nul = good.clone();
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert_eq!(parse(&no_nul), []);
        let mut sanitized = huge_length.clone();
        sanitize(&mut sanitized);
        assert_eq!(sanitized, huge_length, "a malformed map is left alone");
    }
}
