//! CLI output (`{"events": [` first): the elements of its `events` array, one at a time and
//! each capped at a size, without reading the whole document.

use std::io::{self, BufRead};

/// Consume up to and including the first `byte`; false when the input ends first.
pub(super) fn skip_past(reader: &mut dyn BufRead, byte: u8) -> io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        match memchr::memchr(byte, buf) {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(true);
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

/// What [`next_element`] found in a JSON array.
pub(super) enum Element {
    /// An object of this many bytes, in the buffer unless longer than the limit.
    Object(usize),
    /// The array's `]`.
    End,
    /// The input ended first.
    Truncated,
    /// A value that is not an object, starting with this byte.
    Unexpected(u8),
}

/// The next element of a JSON array whose `[` has been read: its bytes go to `object` (up to
/// `max`; a longer one is read past and only measured). Strings are followed, so braces in
/// messages do not count; anything else malformed is left to the JSON decoder.
pub(super) fn next_element(
    reader: &mut dyn BufRead,
    object: &mut Vec<u8>,
    max: usize,
) -> io::Result<Element> {
    object.clear();
    loop {
        let buf = reader.fill_buf()?;
        let Some(at) = buf
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != b',')
        else {
            if buf.is_empty() {
                return Ok(Element::Truncated);
            }
            let n = buf.len();
            reader.consume(n);
            continue;
        };
        let first = buf[at];
        reader.consume(at);
        match first {
            b'{' => break,
            b']' => {
                reader.consume(1);
                return Ok(Element::End);
            }
            other => return Ok(Element::Unexpected(other)),
        }
    }
    let (mut depth, mut in_string, mut escaped, mut len) = (0usize, false, false, 0usize);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(Element::Truncated);
        }
        let mut end = None;
        for (i, &b) in buf.iter().enumerate() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = Some(i + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        let take = end.unwrap_or(buf.len());
        if len + take <= max {
            object.extend_from_slice(&buf[..take]);
        }
        len += take;
        reader.consume(take);
        if end.is_some() {
            return Ok(Element::Object(len));
        }
    }
}
