//! Line formats: lines read one at a time, each capped at a size, through a buffer the
//! reader reuses, with the bytes read counted.

use std::io::{self, BufRead, ErrorKind, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{PREFIX_BYTES, READ_BUFFER};

/// Counts raw bytes as they are read.
pub(super) struct Counting<'a, R> {
    pub(super) inner: R,
    pub(super) total: &'a AtomicU64,
    pub(super) read: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.total.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One line read by [`read_line_capped`].
#[derive(Debug, PartialEq)]
pub(super) enum LineRead {
    Eof,
    Line,
    /// Longer than the cap: skipped up to its newline; its full length.
    TooLong(u64),
}

/// Read one line (without its `\n`) and hand it to `on_line`, holding at most `max` bytes
/// of it. A line that lies within the reader's buffer is handed over in place; one that
/// spans buffers is gathered in `buf`.
pub(super) fn read_line_capped(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
    on_line: &mut dyn FnMut(&[u8]),
) -> io::Result<LineRead> {
    buf.clear();
    let mut len: u64 = 0;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(match (len, too_long) {
                (0, _) => LineRead::Eof,
                (_, true) => LineRead::TooLong(len),
                (_, false) => {
                    on_line(buf);
                    LineRead::Line
                }
            });
        }
        let newline = memchr_newline(available);
        if let Some(end) = newline.filter(|&end| len == 0 && end <= max) {
            on_line(&available[..end]);
            reader.consume(end + 1);
            return Ok(LineRead::Line);
        }
        let part = &available[..newline.unwrap_or(available.len())];
        len += part.len() as u64;
        if !too_long {
            if buf.len() + part.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = part.len() + usize::from(newline.is_some());
        reader.consume(used);
        if newline.is_some() {
            if too_long {
                return Ok(LineRead::TooLong(len));
            }
            on_line(buf);
            return Ok(LineRead::Line);
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// A `BufRead` over a buffer it borrows: unlike `BufReader`, the buffer outlives the input
/// and serves the next one, so a run over many files allocates (and faults in) its read
/// buffers once.
pub(super) struct Buffered<'b, R> {
    pub(super) inner: R,
    buf: &'b mut [u8],
    pos: usize,
    filled: usize,
}

impl<'b, R: Read> Buffered<'b, R> {
    pub(super) fn new(inner: R, buf: &'b mut [u8]) -> Self {
        Buffered {
            inner,
            buf,
            pos: 0,
            filled: 0,
        }
    }
}

impl<R: Read> Read for Buffered<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Nothing buffered and a large read: skip the copy, as `BufReader` does.
        if self.pos == self.filled && out.len() >= self.buf.len() {
            return self.inner.read(out);
        }
        let n = self.fill_buf()?.read(out)?;
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Buffered<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            self.filled = self.inner.read(self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.filled);
    }
}

/// Buffers kept for the whole run and reused by every input: allocating them per file cost
/// a page-faulting allocation or three per file.
pub(super) struct Buffers {
    /// The first [`PREFIX_BYTES`] of an input, which decide its format.
    pub(super) head: Vec<u8>,
    /// What lines are read from (the inflated side, for gzip).
    pub(super) lines: Box<[u8]>,
    /// The raw side of a gzip input.
    pub(super) raw: Box<[u8]>,
    /// A line that spans reads.
    pub(super) gathered: Vec<u8>,
}

impl Buffers {
    pub(super) fn new() -> Buffers {
        Buffers {
            head: Vec::with_capacity(PREFIX_BYTES),
            lines: vec![0; READ_BUFFER].into_boxed_slice(),
            raw: Box::default(),
            gathered: Vec::new(),
        }
    }
}
