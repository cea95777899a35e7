//! Reading inputs into log events: files, directories, stdin, gzip.
//!
//! This is the IO side of `tern_core::input`, which decides formats and decodes bytes.
//! Each input is sniffed from its first 64 KiB ([`tern_core::input::detect`], gzip
//! included), then read one of three ways:
//!
//! - **Line formats** (JSON lines, `aws logs tail` text, S3 exports) stream through a
//!   `BufReader` (and flate2's `MultiGzDecoder` when gzipped) one line at a time. A line is
//!   never held past [`SourceOptions::max_line_bytes`]: a longer one is skipped up to its
//!   newline and reported, so memory does not depend on the input.
//! - **CLI output** (`aws logs filter-log-events` / `get-log-events`, `{"events": [` first)
//!   streams the same way, one element of its `events` array at a time, each at most
//!   [`SourceOptions::max_line_bytes`]: the CLI pages through a whole log group into one
//!   document, which can be any size.
//! - **Other documents** (subscription payloads, Lambda/Kinesis/Firehose envelopes, arrays of
//!   events) are read whole, at most [`SourceOptions::max_document_bytes`] raw, and inflate
//!   to at most as much ([`tern_core::input::decompress_bounded`]).
//!
//! Events reach the caller in [`Chunk`]s of at most [`CHUNK_EVENTS`] and about
//! [`CHUNK_BYTES`]. Problems in the data
//! become diagnostics in the chunks and reading goes on; only an unreadable path given on
//! the command line, or an error from the caller's sink, stops the run.

use std::fs;
use std::io::{self, BufRead, Cursor, ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use tern_core::input::{
    detect, is_events_export, is_gzip, DecodeOptions, Decoded, Decoder, Format,
};
use tern_core::model::{Diagnostic, LogEvent};

/// The most events handed to the sink at once.
pub const CHUNK_EVENTS: usize = 8192;
/// A chunk is handed on once its events' messages and ids reach this many bytes, however few
/// events it has, so long lines cannot make one chunk large.
pub const CHUNK_BYTES: usize = 4 << 20;
/// How much of an input decides its format.
const PREFIX_BYTES: usize = 64 << 10;
/// Read buffer for files and for the inflated side of gzip.
const READ_BUFFER: usize = 64 << 10;
/// Diagnostics passed on per input; the rest are counted and summed up in one line.
const MAX_DIAGNOSTICS_PER_INPUT: usize = 1000;

/// How inputs are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOptions {
    /// `--log-group`: the group of inputs that name none (CLI output, text tails).
    pub log_group: Option<String>,
    /// `--log-stream`: the stream of inputs that name none (`get-log-events` output).
    pub log_stream: Option<String>,
    /// Longest line accepted; longer lines are skipped with a diagnostic.
    pub max_line_bytes: usize,
    /// Largest whole document, read and inflated.
    pub max_document_bytes: usize,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            log_group: None,
            log_stream: None,
            max_line_bytes: tern_core::input::DEFAULT_MAX_LINE_BYTES,
            max_document_bytes: tern_core::input::DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

/// Events decoded from the inputs, in input order, and the diagnostics met on the way.
#[derive(Debug, Default)]
pub struct Chunk {
    pub events: Vec<LogEvent>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The bytes of an event's text: its message and its id.
pub fn event_bytes(ev: &LogEvent) -> usize {
    ev.message.len() + ev.event_id.as_ref().map_or(0, String::len)
}

/// What a [`read_inputs`] run read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSummary {
    /// Inputs opened (files and stdin).
    pub files: u64,
    /// Raw bytes read (compressed bytes for gzip): what the progress bar counts.
    pub bytes: u64,
    pub events: u64,
    /// Subscription `CONTROL_MESSAGE`s dropped.
    pub control_messages: u64,
    /// Diagnostics, including those not passed on past the per-input limit.
    pub diagnostics: u64,
    /// Hidden entries (names starting with `.`) passed over inside directories.
    pub hidden: u64,
    /// Inputs that gave no log event, each with why (at most [`MAX_UNUSABLE`] kept).
    pub unusable: Vec<(String, String)>,
    /// Inputs that gave no log event, all of them.
    pub unusable_count: u64,
}

/// Unusable inputs named one by one; the rest are counted.
pub const MAX_UNUSABLE: usize = 50;

/// The sum of the sizes of the files `read_inputs` would read (stdin counts 0), for a
/// progress bar that follows `bytes_read`.
pub fn total_bytes(paths: &[PathBuf]) -> u64 {
    let mut files = Vec::new();
    let mut ignored = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            continue;
        }
        if p.is_dir() {
            let _ = walk(p, &mut files, &mut ignored);
        } else {
            files.push(p.clone());
        }
    }
    files
        .iter()
        .filter_map(|f| fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

/// Read every path in order: `-` is stdin, a directory is walked recursively in sorted
/// order (hidden entries skipped, symlinked directories not followed), anything else is a
/// file. `bytes_read` counts raw bytes as they are read. Every path is checked before any is
/// read, so a typo fails the run before anything is ingested.
pub fn read_inputs(
    paths: &[PathBuf],
    opts: &SourceOptions,
    bytes_read: &AtomicU64,
    sink: &mut dyn FnMut(&mut Chunk) -> Result<()>,
) -> Result<SourceSummary> {
    for p in paths {
        if p.as_os_str() != "-" {
            fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        }
    }
    let mut run = Run::new(opts, bytes_read, sink);
    for p in paths {
        if p.as_os_str() == "-" {
            run.read_stream("<stdin>", None, &mut io::stdin().lock())?;
        } else if p.is_dir() {
            let mut files = Vec::new();
            let mut errors = Vec::new();
            run.summary.hidden += walk(p, &mut files, &mut errors);
            for (location, message) in errors {
                run.note(location, message);
            }
            for f in files {
                run.read_file(&f)?;
            }
        } else {
            run.read_file(p)?;
        }
    }
    run.finish()
}

/// Read one stream already open (an HTTP body, a pipe, a test's generated reader) as if it
/// were a file called `name`.
pub fn read_reader(
    name: &str,
    reader: &mut dyn Read,
    opts: &SourceOptions,
    bytes_read: &AtomicU64,
    sink: &mut dyn FnMut(&mut Chunk) -> Result<()>,
) -> Result<SourceSummary> {
    let mut run = Run::new(opts, bytes_read, sink);
    run.read_stream(name, None, reader)?;
    run.finish()
}

/// Files under `dir`, sorted by name at each level; problems go to `errors`.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<(String, String)>) -> u64 {
    let mut hidden = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push((
                dir.display().to_string(),
                format!("cannot list directory: {e}"),
            ));
            return 0;
        }
    };
    let mut entries: Vec<fs::DirEntry> = entries
        .filter_map(|e| match e {
            Ok(e) => Some(e),
            Err(err) => {
                errors.push((
                    dir.display().to_string(),
                    format!("cannot list directory: {err}"),
                ));
                None
            }
        })
        .filter(|e| {
            let dot = e.file_name().to_string_lossy().starts_with('.');
            hidden += u64::from(dot);
            !dot
        })
        .collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => hidden += walk(&path, files, errors),
            // Symlinks to files are read; symlinks to directories are not followed (loops).
            Ok(t) if t.is_symlink() => {
                if path.is_file() {
                    files.push(path);
                }
            }
            Ok(_) => files.push(path),
            Err(e) => errors.push((path.display().to_string(), format!("cannot stat: {e}"))),
        }
    }
    hidden
}

/// The stream a CloudWatch Logs S3 export path names: exports keep each stream's events
/// under `<prefix>/<task id>/<stream name>/000000.gz`, and a Lambda stream name
/// (`2024/03/05/[$LATEST]abc…`) spans four directories.
fn stream_from_path(path: &Path) -> Option<String> {
    let dirs: Vec<String> = path
        .parent()?
        .components()
        .rev()
        .take(4)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let [name, day, month, year] = dirs.as_slice() else {
        return None;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    (digits(year, 4) && digits(month, 2) && digits(day, 2) && name.contains('['))
        .then(|| format!("{year}/{month}/{day}/{name}"))
}

/// Counts raw bytes as they are read.
struct Counting<'a, R> {
    inner: R,
    total: &'a AtomicU64,
    read: u64,
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
enum LineRead {
    Eof,
    Line,
    /// Longer than the cap: skipped up to its newline; its full length.
    TooLong(u64),
}

/// Read one line (without its `\n`) and hand it to `on_line`, holding at most `max` bytes
/// of it. A line that lies within the reader's buffer is handed over in place; one that
/// spans buffers is gathered in `buf`.
fn read_line_capped(
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
struct Buffered<'b, R> {
    inner: R,
    buf: &'b mut [u8],
    pos: usize,
    filled: usize,
}

impl<'b, R: Read> Buffered<'b, R> {
    fn new(inner: R, buf: &'b mut [u8]) -> Self {
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
struct Buffers {
    /// The first [`PREFIX_BYTES`] of an input, which decide its format.
    head: Vec<u8>,
    /// What lines are read from (the inflated side, for gzip).
    lines: Box<[u8]>,
    /// The raw side of a gzip input.
    raw: Box<[u8]>,
    /// A line that spans reads.
    gathered: Vec<u8>,
}

impl Buffers {
    fn new() -> Buffers {
        Buffers {
            head: Vec::with_capacity(PREFIX_BYTES),
            lines: vec![0; READ_BUFFER].into_boxed_slice(),
            raw: Box::default(),
            gathered: Vec::new(),
        }
    }
}

/// Above this, a buffer grown by one long line or one large document is let go at the end of
/// its input.
const KEEP_BYTES: usize = 1 << 20;

/// The state of one `read_inputs` call.
struct Run<'a> {
    opts: &'a SourceOptions,
    decoder: Decoder,
    out: Decoded,
    /// Bytes of the input lines decoded into `out` since it was last handed on.
    out_bytes: usize,
    bufs: Buffers,
    bytes_read: &'a AtomicU64,
    sink: &'a mut dyn FnMut(&mut Chunk) -> Result<()>,
    summary: SourceSummary,
    /// Diagnostics passed on for the current input, and those held back.
    shown: usize,
    suppressed: u64,
}

impl<'a> Run<'a> {
    fn new(
        opts: &'a SourceOptions,
        bytes_read: &'a AtomicU64,
        sink: &'a mut dyn FnMut(&mut Chunk) -> Result<()>,
    ) -> Run<'a> {
        let decoder = Decoder::new(DecodeOptions {
            log_group: opts.log_group.clone(),
            log_stream: opts.log_stream.clone(),
            max_decompressed_bytes: opts.max_document_bytes,
            max_line_bytes: opts.max_line_bytes,
        });
        Run {
            opts,
            decoder,
            out: Decoded::default(),
            out_bytes: 0,
            bufs: Buffers::new(),
            bytes_read,
            sink,
            summary: SourceSummary::default(),
            shown: 0,
            suppressed: 0,
        }
    }

    fn note(&mut self, location: String, message: String) {
        let before = self.out.diagnostics.len();
        self.out.diagnostics.push(Diagnostic { location, message });
        self.police(before);
    }

    /// Count the diagnostics added since `before`, and hold back those past the limit.
    fn police(&mut self, before: usize) {
        let added = self.out.diagnostics.len().saturating_sub(before);
        if added == 0 {
            return;
        }
        self.summary.diagnostics += added as u64;
        let room = MAX_DIAGNOSTICS_PER_INPUT.saturating_sub(self.shown);
        if added > room {
            self.out.diagnostics.truncate(before + room);
            self.suppressed += (added - room) as u64;
        }
        self.shown += added.min(room);
    }

    fn read_file(&mut self, path: &Path) -> Result<()> {
        let name = path.display().to_string();
        match fs::File::open(path) {
            Ok(mut file) => {
                let hint = stream_from_path(path);
                self.read_stream(&name, hint.as_deref(), &mut file)
            }
            Err(e) => {
                self.note(name, format!("cannot open: {e}"));
                Ok(())
            }
        }
    }

    fn read_stream(
        &mut self,
        name: &str,
        stream_hint: Option<&str>,
        reader: &mut dyn Read,
    ) -> Result<()> {
        self.summary.files += 1;
        self.shown = 0;
        self.suppressed = 0;
        let events_before = self.summary.events + self.out.events.len() as u64;
        let mut why_none = "no log events in it".to_string();
        self.decoder.begin_source(name, stream_hint);
        let mut counted = Counting {
            inner: reader,
            total: self.bytes_read,
            read: 0,
        };
        let mut head = std::mem::take(&mut self.bufs.head);
        head.clear();
        head.reserve(PREFIX_BYTES);
        if let Err(e) = (&mut counted)
            .take(PREFIX_BYTES as u64)
            .read_to_end(&mut head)
        {
            self.note(name.to_string(), format!("read error: {e}"));
        }
        let before = self.out.diagnostics.len();
        match detect(&head) {
            Format::Empty => {
                why_none = if head.is_empty() {
                    "the file is empty".to_string()
                } else {
                    "nothing but whitespace in it".to_string()
                };
                // A gzip file cut before its first complete block inflates to nothing: say so
                // rather than pass it over as empty.
                if head.first() == Some(&0x1f) {
                    let (_, err) = tern_core::input::gunzip_partial(&head, PREFIX_BYTES);
                    match err {
                        Some(e) => self.out.diag(name, format!("{e}, before any data")),
                        None if !is_gzip(&head) => self.out.diag(
                            name,
                            "gzip stream is truncated, before any data".to_string(),
                        ),
                        None => {}
                    }
                    self.police(before);
                }
                self.bufs.head = head
            }
            Format::Unrecognized(why) => {
                why_none = format!("not a recognized Lambda log format: {why}");
                self.bufs.head = head;
                self.out
                    .diag(name, format!("not a recognized Lambda log format: {why}"));
                self.police(before);
            }
            Format::Document if is_events_export(&head) => {
                // CLI output: its events are read one at a time, so an export of any size
                // streams instead of being held whole (and cut at the document limit).
                self.stream(name, head, &mut counted, Streamed::Export)?;
            }
            Format::Document => {
                let mut all = head;
                let cap = self.opts.max_document_bytes;
                let room = cap.saturating_add(1).saturating_sub(all.len()) as u64;
                if let Err(e) = (&mut counted).take(room).read_to_end(&mut all) {
                    self.out
                        .diag(name, format!("read error: {e}; decoding what was read"));
                }
                if all.len() > cap {
                    all.truncate(cap);
                    self.out.diag(
                        name,
                        format!(
                            "document is larger than the limit of {cap} bytes; only its start \
                             was decoded"
                        ),
                    );
                }
                self.decoder.decode_document(&all, &mut self.out);
                self.police(before);
                if all.capacity() <= KEEP_BYTES {
                    self.bufs.head = all;
                }
            }
            format @ (Format::JsonLines | Format::TextTail) => {
                let json = format == Format::JsonLines;
                self.stream(name, head, &mut counted, Streamed::Lines { json })?;
            }
        }
        let before = self.out.diagnostics.len();
        self.decoder.end_source(&mut self.out);
        self.police(before);
        self.summary.bytes += counted.read;
        if self.suppressed > 0 {
            self.out.diagnostics.push(Diagnostic {
                location: name.to_string(),
                message: format!(
                    "{} more diagnostics for this input were not shown",
                    self.suppressed
                ),
            });
        }
        self.emit()?;
        if self.summary.events == events_before {
            self.summary.unusable_count += 1;
            if self.summary.unusable.len() < MAX_UNUSABLE {
                self.summary.unusable.push((name.to_string(), why_none));
            }
        }
        Ok(())
    }

    /// Read an input that streams: from its sniffed `head` on, through gzip when it is gzip.
    fn stream<R: Read>(
        &mut self,
        name: &str,
        head: Vec<u8>,
        counted: &mut Counting<'_, R>,
        how: Streamed,
    ) -> Result<()> {
        let gzip = is_gzip(&head);
        let mut buf = std::mem::take(&mut self.bufs.lines);
        let joined = Cursor::new(&head[..]).chain(counted);
        let read = if gzip {
            let mut raw = std::mem::take(&mut self.bufs.raw);
            if raw.is_empty() {
                raw = vec![0; READ_BUFFER].into_boxed_slice();
            }
            let inflate = flate2::bufread::MultiGzDecoder::new(Buffered::new(joined, &mut raw));
            let read = self.read_streamed(name, &mut Buffered::new(inflate, &mut buf), how, true);
            self.bufs.raw = raw;
            read
        } else {
            self.read_streamed(name, &mut Buffered::new(joined, &mut buf), how, false)
        };
        self.bufs.lines = buf;
        self.bufs.head = head;
        read
    }

    fn read_streamed(
        &mut self,
        name: &str,
        reader: &mut dyn BufRead,
        how: Streamed,
        gzip: bool,
    ) -> Result<()> {
        // One line or one exported event is gathered here; a giant's room is let go after.
        let mut gathered = std::mem::take(&mut self.bufs.gathered);
        let read = match how {
            Streamed::Lines { json } => {
                self.read_lines_into(name, reader, json, gzip, &mut gathered)
            }
            Streamed::Export => self.read_export_into(name, reader, gzip, &mut gathered),
        };
        gathered.clear();
        if gathered.capacity() <= KEEP_BYTES {
            self.bufs.gathered = gathered;
        }
        read
    }

    /// The `events` array of `aws logs filter-log-events` / `get-log-events` output, one
    /// element at a time; what follows it (`searchedLogStreams`, tokens) is read past.
    fn read_export_into(
        &mut self,
        name: &str,
        reader: &mut dyn BufRead,
        gzip: bool,
        object: &mut Vec<u8>,
    ) -> Result<()> {
        let max = self.opts.max_line_bytes;
        let mut index = 0u64;
        let io_problem = |e: io::Error| read_problem(gzip, &e);
        let mut opened = match skip_past(reader, b'[') {
            Ok(found) => found,
            Err(e) => {
                self.note(name.to_string(), io_problem(e));
                return Ok(());
            }
        };
        while opened {
            let before = self.out.diagnostics.len();
            let at = format!("{name}: events[{index}]");
            match next_element(reader, object, max) {
                Ok(Element::Object(len)) if len > max => {
                    self.out.diag(
                        at,
                        format!(
                            "event is {len} bytes, longer than the limit of {max} bytes; skipped"
                        ),
                    );
                    index += 1;
                }
                Ok(Element::Object(len)) => {
                    self.decoder
                        .decode_export_event(object, index, &mut self.out);
                    self.out_bytes += len;
                    index += 1;
                }
                Ok(Element::End) => opened = false,
                Ok(Element::Truncated) => {
                    self.out.diag(
                        at,
                        "JSON ends early, inside the `events` array; the events before it were \
                         kept",
                    );
                    opened = false;
                }
                Ok(Element::Unexpected(b)) => {
                    self.out.diag(
                        at,
                        format!(
                            "unexpected JSON shape: an event is not an object (it starts with \
                             {:?}); the rest of the document was skipped",
                            char::from(b)
                        ),
                    );
                    opened = false;
                }
                Err(e) => {
                    self.out.diag(
                        at,
                        format!("{}; the events before it were kept", io_problem(e)),
                    );
                    self.police(before);
                    return Ok(());
                }
            }
            self.police(before);
            if self.out.events.len() >= CHUNK_EVENTS || self.out_bytes >= CHUNK_BYTES {
                self.emit()?;
            }
        }
        // The rest of the document: read for the byte count (and the progress bar); damage
        // there costs no event.
        if let Err(e) = io::copy(reader, &mut io::sink()) {
            self.note(
                name.to_string(),
                format!(
                    "{} after the `events` array; every event was kept",
                    io_problem(e)
                ),
            );
        }
        Ok(())
    }

    fn read_lines_into(
        &mut self,
        name: &str,
        reader: &mut dyn BufRead,
        json: bool,
        gzip: bool,
        gathered: &mut Vec<u8>,
    ) -> Result<()> {
        let mut line_no = 0u64;
        loop {
            let before = self.out.diagnostics.len();
            let decoder = &mut self.decoder;
            let out = &mut self.out;
            let number = line_no + 1;
            let mut got = 0;
            let mut on_line = |line: &[u8]| {
                got += line.len();
                if json {
                    let trimmed = line.trim_ascii();
                    if !trimmed.is_empty() {
                        decoder.decode_json_line(trimmed, number, out);
                    }
                } else {
                    decoder.push_tail_line(line, number, out);
                }
            };
            let read = read_line_capped(reader, gathered, self.opts.max_line_bytes, &mut on_line);
            match read {
                Ok(LineRead::Eof) => break,
                Ok(LineRead::Line) => line_no += 1,
                Ok(LineRead::TooLong(len)) => {
                    line_no += 1;
                    self.decoder.line_too_long(line_no, len, &mut self.out);
                }
                Err(e) => {
                    let what = read_problem(gzip, &e);
                    self.out.diag(
                        name,
                        format!(
                            "{what} after line {line_no}; the events before it were kept and the \
                             incomplete line after it was dropped"
                        ),
                    );
                    self.police(before);
                    break;
                }
            }
            self.out_bytes += got;
            self.police(before);
            if self.out.events.len() >= CHUNK_EVENTS || self.out_bytes >= CHUNK_BYTES {
                self.emit()?;
            }
        }
        Ok(())
    }

    /// Hand everything pending to the sink, in chunks of at most [`CHUNK_EVENTS`] and about
    /// [`CHUNK_BYTES`]. The sink drains the chunk; its event buffer comes back and is reused,
    /// so the hot path allocates no new chunk buffers.
    fn emit(&mut self) -> Result<()> {
        self.out_bytes = 0;
        self.summary.control_messages += std::mem::take(&mut self.out.control_messages) as u64;
        let diagnostics = std::mem::take(&mut self.out.diagnostics);
        let n = self.out.events.len();
        self.summary.events += n as u64;
        if n == 0 && diagnostics.is_empty() {
            return Ok(());
        }
        let mut chunk = Chunk {
            events: std::mem::take(&mut self.out.events),
            diagnostics,
        };
        if n <= CHUNK_EVENTS && chunk.events.iter().map(event_bytes).sum::<usize>() < CHUNK_BYTES {
            (self.sink)(&mut chunk)?;
        } else {
            // A whole document, or lines that were long: hand it on in pieces.
            let all = std::mem::take(&mut chunk.events);
            let mut rest = all.into_iter().peekable();
            while rest.peek().is_some() {
                chunk.events.clear();
                let mut bytes = 0;
                while chunk.events.len() < CHUNK_EVENTS && bytes < CHUNK_BYTES {
                    let Some(ev) = rest.next() else { break };
                    bytes += event_bytes(&ev);
                    chunk.events.push(ev);
                }
                (self.sink)(&mut chunk)?;
                chunk.diagnostics.clear();
            }
        }
        chunk.events.clear();
        self.out.events = chunk.events;
        Ok(())
    }

    fn finish(mut self) -> Result<SourceSummary> {
        self.emit()?;
        Ok(self.summary)
    }
}

/// How a streamed input is read.
#[derive(Clone, Copy)]
enum Streamed {
    Lines { json: bool },
    Export,
}

/// What a read error means, for a diagnostic.
fn read_problem(gzip: bool, e: &io::Error) -> String {
    match (gzip, e.kind()) {
        (true, ErrorKind::UnexpectedEof) => "gzip stream is truncated".to_string(),
        (true, ErrorKind::InvalidInput | ErrorKind::InvalidData) => {
            format!("gzip stream is corrupt ({e})")
        }
        _ => format!("read error ({e})"),
    }
}

/// Consume up to and including the first `byte`; false when the input ends first.
fn skip_past(reader: &mut dyn BufRead, byte: u8) -> io::Result<bool> {
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
enum Element {
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
fn next_element(reader: &mut dyn BufRead, object: &mut Vec<u8>, max: usize) -> io::Result<Element> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    const GROUP: &str = "/aws/lambda/orders-api";

    fn line(ts: i64, msg: &str) -> String {
        format!(
            "{{\"logGroup\":\"{GROUP}\",\"logStream\":\"2024/03/05/[$LATEST]abc\",\"timestamp\":{ts},\"message\":{}}}\n",
            serde_json::to_string(msg).unwrap()
        )
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Everything one `read_inputs` call hands over.
    struct Collected {
        chunks: Vec<Chunk>,
        summary: SourceSummary,
        bytes_read: u64,
    }

    impl Collected {
        fn events(&self) -> Vec<&LogEvent> {
            self.chunks.iter().flat_map(|c| &c.events).collect()
        }
        fn diagnostics(&self) -> Vec<String> {
            self.chunks
                .iter()
                .flat_map(|c| &c.diagnostics)
                .map(ToString::to_string)
                .collect()
        }
    }

    fn read(paths: &[PathBuf], opts: &SourceOptions) -> Collected {
        let bytes = AtomicU64::new(0);
        let mut chunks = Vec::new();
        let summary = read_inputs(paths, opts, &bytes, &mut |c: &mut Chunk| {
            chunks.push(std::mem::take(c));
            Ok(())
        })
        .unwrap();
        Collected {
            chunks,
            summary,
            bytes_read: bytes.into_inner(),
        }
    }

    fn read_from(name: &str, reader: &mut dyn Read, opts: &SourceOptions) -> Collected {
        let bytes = AtomicU64::new(0);
        let mut chunks = Vec::new();
        let summary = read_reader(name, reader, opts, &bytes, &mut |c: &mut Chunk| {
            chunks.push(std::mem::take(c));
            Ok(())
        })
        .unwrap();
        Collected {
            chunks,
            summary,
            bytes_read: bytes.into_inner(),
        }
    }

    #[test]
    fn directories_are_walked_in_order_skipping_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/nested")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join("b/nested/2.jsonl"), line(2, "two")).unwrap();
        fs::write(root.join("a.jsonl.gz"), gz(line(1, "one").as_bytes())).unwrap();
        fs::write(root.join("c.jsonl"), line(3, "three")).unwrap();
        fs::write(root.join(".hidden.jsonl"), line(9, "hidden")).unwrap();
        fs::write(root.join(".git/x.jsonl"), line(9, "hidden")).unwrap();
        fs::write(root.join("empty.json"), "").unwrap();
        let got = read(&[root.to_path_buf()], &SourceOptions::default());
        let msgs: Vec<&str> = got.events().iter().map(|e| e.message.as_str()).collect();
        assert_eq!(msgs, ["one", "two", "three"]);
        assert!(got.diagnostics().is_empty(), "{:?}", got.diagnostics());
        assert_eq!(got.summary.files, 4);
        assert_eq!(got.summary.events, 3);
        assert_eq!(got.bytes_read, total_bytes(&[root.to_path_buf()]));
        assert_eq!(got.summary.bytes, got.bytes_read);
    }

    #[test]
    fn a_missing_path_fails_before_anything_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.jsonl");
        fs::write(&good, line(1, "x")).unwrap();
        let missing = dir.path().join("missing.jsonl");
        let mut called = false;
        let err = read_inputs(
            &[good, missing],
            &SourceOptions::default(),
            &AtomicU64::new(0),
            &mut |_| {
                called = true;
                Ok(())
            },
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("missing.jsonl"), "{err:#}");
        assert!(!called);
    }

    #[test]
    fn every_format_through_files() {
        let fixtures =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tern-core/tests/fixtures/input");
        let opts = SourceOptions {
            log_group: Some(GROUP.into()),
            ..SourceOptions::default()
        };
        for (name, events) in [
            ("filter-log-events.json", 9),
            ("subscription.json.gz", 4),
            ("subscription.b64", 4),
            ("subscription-multi-member.json.gz", 8),
            ("kinesis-event.json", 4),
            ("firehose-http-body.json", 9),
            ("events.jsonl", 6),
            ("tail-detailed.txt", 6),
            ("s3-export.txt", 3),
        ] {
            let got = read(&[fixtures.join(name)], &opts);
            assert_eq!(got.summary.events, events as u64, "{name}");
        }
    }

    /// Truncated gzip of JSON lines: the lines before the cut are kept, one diagnostic names
    /// the file and the truncation.
    #[test]
    fn truncated_gzip_lines_keep_what_came_before() {
        let text: String = (0..2000).map(|i| line(i, &format!("event {i}"))).collect();
        let full = gz(text.as_bytes());
        let cut = &full[..full.len() * 2 / 3];
        let got = read_from("cut.jsonl.gz", &mut &cut[..], &SourceOptions::default());
        let events = got.events();
        assert!(events.len() > 500, "{}", events.len());
        assert!(events.len() < 2000);
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.message, format!("event {i}"));
        }
        let diags = got.diagnostics();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].starts_with("cut.jsonl.gz: gzip stream is truncated after line"),
            "{}",
            diags[0]
        );
    }

    #[test]
    fn concatenated_gzip_members_stream_as_one() {
        let mut data = gz(line(1, "a").as_bytes());
        data.extend(gz(line(2, "b").as_bytes()));
        let got = read_from("two.gz", &mut &data[..], &SourceOptions::default());
        assert_eq!(got.summary.events, 2);
        assert!(got.diagnostics().is_empty());
    }

    /// A reader that yields a good line, then a 1 GiB line, then a good line, without the
    /// GiB ever existing in memory.
    struct HugeLine {
        head: Cursor<Vec<u8>>,
        huge_left: u64,
        tail: Cursor<Vec<u8>>,
    }

    impl Read for HugeLine {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.head.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.huge_left > 0 {
                let n = buf.len().min(self.huge_left as usize);
                buf[..n].fill(b'a');
                self.huge_left -= n as u64;
                return Ok(n);
            }
            self.tail.read(buf)
        }
    }

    fn peak_rss_kib() -> Option<u64> {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    #[test]
    fn a_one_gib_line_is_skipped_in_bounded_memory() {
        let mut head = line(1, "before").into_bytes();
        head.extend_from_slice(b"{\"message\":\"");
        let mut tail = b"\"}\n".to_vec();
        tail.extend(line(3, "after").into_bytes());
        let mut reader = HugeLine {
            head: Cursor::new(head),
            huge_left: 1 << 30,
            tail: Cursor::new(tail),
        };
        let opts = SourceOptions {
            max_line_bytes: 1 << 20,
            ..SourceOptions::default()
        };
        let rss_before = peak_rss_kib();
        let got = read_from("huge.jsonl", &mut reader, &opts);
        let msgs: Vec<&str> = got.events().iter().map(|e| e.message.as_str()).collect();
        assert_eq!(msgs, ["before", "after"]);
        let diags = got.diagnostics();
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].starts_with(
                "huge.jsonl:2: line is 1073741838 bytes, longer than the limit of 1048576 bytes"
            ),
            "{}",
            diags[0]
        );
        if let (Some(before), Some(after)) = (rss_before, peak_rss_kib()) {
            // Other tests run alongside; a GiB held anywhere would still show.
            // saturating: the high-water mark read first may come from another moment.
            assert!(
                after.saturating_sub(before) < 256 << 10,
                "peak RSS grew by {} KiB",
                after.saturating_sub(before)
            );
        }
    }

    #[test]
    fn long_lines_make_smaller_chunks() {
        let long = "x".repeat(1 << 20);
        let check = |got: &Collected| {
            assert_eq!(got.summary.events, 40);
            let mut next = 0;
            for c in &got.chunks {
                let bytes: usize = c.events.iter().map(event_bytes).sum();
                // A chunk is handed on at the event that reaches the limit.
                assert!(
                    bytes < CHUNK_BYTES + (1 << 20) + 64,
                    "{bytes} bytes in one chunk"
                );
                for ev in &c.events {
                    assert_eq!(ev.timestamp_ms, next, "events out of order");
                    next += 1;
                }
            }
            assert!(got.chunks.len() >= 8, "{} chunks", got.chunks.len());
        };
        let text: String = (0..40).map(|i| line(i, &long)).collect();
        check(&read_from(
            "long.jsonl",
            &mut text.as_bytes(),
            &SourceOptions::default(),
        ));
        let doc = subscription_payload(40, &long);
        check(&read_from(
            "doc.json",
            &mut doc.as_bytes(),
            &SourceOptions::default(),
        ));
    }

    /// A subscription payload of `n` events with the same message, timestamps 0, 1, ...
    fn subscription_payload(n: usize, message: &str) -> String {
        let events: Vec<String> = (0..n)
            .map(|i| format!("{{\"id\":\"{i}\",\"timestamp\":{i},\"message\":\"{message}\"}}"))
            .collect();
        format!(
            "{{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"g\",\"logStream\":\"s\",\"logEvents\":[{}]}}",
            events.join(",")
        )
    }

    /// `aws logs filter-log-events` output: `events` first, then what the CLI adds.
    fn cli_export(n: usize, message: &str) -> String {
        let events: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "        {{\n            \"logStreamName\": \"2024/03/05/[$LATEST]abc\",\n            \"timestamp\": {i},\n            \"message\": {},\n            \"ingestionTime\": {i},\n            \"eventId\": \"{i:056}\"\n        }}",
                    serde_json::to_string(message).unwrap()
                )
            })
            .collect();
        format!(
            "{{\n    \"events\": [\n{}\n    ],\n    \"searchedLogStreams\": [{{\"logStreamName\": \"x\", \"searchedCompletely\": true}}]\n}}\n",
            events.join(",\n")
        )
    }

    fn export_opts() -> SourceOptions {
        SourceOptions {
            log_group: Some(GROUP.to_string()),
            ..SourceOptions::default()
        }
    }

    /// An export streams: its events come out in chunks, exactly as the whole-document
    /// decoder reads them, even when it is larger than the document limit.
    #[test]
    fn cli_exports_stream_past_the_document_limit() {
        let message = "START RequestId: r Version: $LATEST\n{\"a\": [1, \"}\"]}";
        let doc = cli_export(20_000, message);
        let whole = tern_core::input::decode_document(
            doc.as_bytes(),
            "export.json",
            &DecodeOptions {
                log_group: Some(GROUP.to_string()),
                ..DecodeOptions::default()
            },
        );
        assert!(whole.diagnostics.is_empty(), "{:?}", whole.diagnostics);
        let opts = SourceOptions {
            max_document_bytes: 100_000,
            ..export_opts()
        };
        for (name, bytes) in [
            ("export.json", doc.as_bytes().to_vec()),
            ("export.json.gz", gz(doc.as_bytes())),
        ] {
            let got = read_from(name, &mut &bytes[..], &opts);
            assert_eq!(got.diagnostics(), Vec::<String>::new(), "{name}");
            assert!(got.chunks.len() >= 3, "{name}");
            assert!(got.chunks.iter().all(|c| c.events.len() <= CHUNK_EVENTS));
            let events: Vec<LogEvent> = got.events().into_iter().cloned().collect();
            assert_eq!(events, whole.events, "{name}");
            assert_eq!(got.bytes_read, bytes.len() as u64, "{name}");
        }
    }

    #[test]
    fn damaged_cli_exports_keep_the_events_before_the_damage() {
        let doc = cli_export(10, "hello");
        let cut = doc.find("\"timestamp\": 7").unwrap();
        let got = read_from("cut.json", &mut &doc.as_bytes()[..cut], &export_opts());
        assert_eq!(got.events().len(), 7);
        assert_eq!(
            got.diagnostics(),
            ["cut.json: events[7]: JSON ends early, inside the `events` array; the events before it were kept"]
        );
        // A truncated gzip stream.
        let packed = gz(doc.as_bytes());
        let got = read_from(
            "cut.json.gz",
            &mut &packed[..packed.len() - 30],
            &export_opts(),
        );
        let diags = got.diagnostics();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].contains("gzip stream is truncated"), "{diags:?}");
        assert!(got.events().len() >= 5, "{}", got.events().len());
        // An element that is not an object stops the document, keeping what came before.
        let bad = doc.replacen("        {\n", "        42, {\n", 1);
        let got = read_from("bad.json", &mut bad.as_bytes(), &export_opts());
        assert_eq!(got.events().len(), 0);
        assert_eq!(
            got.diagnostics(),
            ["bad.json: events[0]: unexpected JSON shape: an event is not an object (it starts with '4'); the rest of the document was skipped"]
        );
        // A malformed event costs itself only.
        let broken = doc.replacen("\"timestamp\": 3,", "\"timestamp\": ,", 1);
        let got = read_from("broken.json", &mut broken.as_bytes(), &export_opts());
        assert_eq!(got.events().len(), 9);
        let diags = got.diagnostics();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].starts_with("broken.json: events[3]: "),
            "{diags:?}"
        );
        // An event over the line limit is skipped and measured; the next ones are read.
        let mut long = cli_export(3, "short");
        let (second, _) = long.match_indices("\"short\"").nth(1).unwrap();
        long.replace_range(second..second + 7, &format!("\"{}\"", "x".repeat(5000)));
        let opts = SourceOptions {
            max_line_bytes: 1000,
            ..export_opts()
        };
        let got = read_from("long.json", &mut long.as_bytes(), &opts);
        let stamps: Vec<i64> = got.events().iter().map(|e| e.timestamp_ms).collect();
        assert_eq!(stamps, [0, 2]);
        let diags = got.diagnostics();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].starts_with("long.json: events[1]: event is 5"),
            "{diags:?}"
        );
    }

    proptest::proptest! {
        /// Whatever the messages hold (braces, brackets, quotes, escapes, any character),
        /// the streamed export gives them back, in order.
        #[test]
        fn export_elements_are_found_whatever_the_messages(
            messages in proptest::collection::vec("[{}\\[\\]\"\\\\,: a-z\u{e9}\u{1f600}\n\t]{0,40}", 0..30),
        ) {
            let events: Vec<String> = messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    format!(
                        "{{\"logStreamName\":\"s\",\"timestamp\":{i},\"message\":{}}}",
                        serde_json::to_string(m).unwrap()
                    )
                })
                .collect();
            let doc = format!("{{\"events\":[{}],\"nextForwardToken\":\"f/1\"}}", events.join(","));
            let got = read_from("p.json", &mut doc.as_bytes(), &export_opts());
            proptest::prop_assert_eq!(got.diagnostics(), Vec::<String>::new());
            let read: Vec<&str> = got.events().iter().map(|e| e.message.as_str()).collect();
            let given: Vec<&str> = messages.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(read, given);
        }

        /// Any bytes after `{"events": [` end in events or diagnostics, never a panic or a hang.
        #[test]
        fn export_reading_survives_any_bytes(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut doc = b"{\"events\": [".to_vec();
            doc.extend_from_slice(&tail);
            // Past the 64 KiB the format is told from, so what is read after it counts too.
            doc.extend(std::iter::repeat_n(b' ', 70_000));
            doc.extend_from_slice(&tail);
            let got = read_from("any.json", &mut &doc[..], &export_opts());
            proptest::prop_assert_eq!(got.bytes_read, doc.len() as u64);
        }
    }

    #[test]
    fn chunks_are_bounded() {
        let text: String = (0..20_000).map(|i| line(i, "m")).collect();
        let got = read_from(
            "many.jsonl",
            &mut text.as_bytes(),
            &SourceOptions::default(),
        );
        assert_eq!(got.summary.events, 20_000);
        assert!(got.chunks.len() >= 3);
        assert!(got.chunks.iter().all(|c| c.events.len() <= CHUNK_EVENTS));
        // A whole document is split the same way.
        let doc = subscription_payload(20_000, "m");
        let got = read_from("doc.json", &mut doc.as_bytes(), &SourceOptions::default());
        assert_eq!(got.summary.events, 20_000);
        assert!(got.chunks.iter().all(|c| c.events.len() <= CHUNK_EVENTS));
    }

    #[test]
    fn unrecognized_inputs_say_so() {
        let got = read_from(
            "foo.json",
            &mut &b"{\"foo\":1}\n"[..],
            &SourceOptions::default(),
        );
        assert_eq!(got.summary.events, 0);
        let diags = got.diagnostics();
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].starts_with(
                "foo.json: not a recognized Lambda log format: a JSON object with keys `foo`"
            ),
            "{}",
            diags[0]
        );
        let got = read_from(
            "bin",
            &mut &[0u8, 1, 2, 3, 0xff][..],
            &SourceOptions::default(),
        );
        assert!(got.diagnostics()[0].contains("binary data"));
    }

    #[test]
    fn malformed_lines_are_reported_and_the_file_goes_on() {
        let text = format!("{}not json\n{}", line(1, "a"), line(2, "b"));
        let got = read_from("f.jsonl", &mut text.as_bytes(), &SourceOptions::default());
        assert_eq!(got.summary.events, 2);
        let diags = got.diagnostics();
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].starts_with("f.jsonl:2: invalid JSON"),
            "{}",
            diags[0]
        );
    }

    #[test]
    fn diagnostics_per_input_are_capped() {
        let text: String = (0..MAX_DIAGNOSTICS_PER_INPUT + 500)
            .map(|_| "{\"no\":\"message\"}\n")
            .collect();
        let text = format!("{}{text}", line(1, "first"));
        let got = read_from("bad.jsonl", &mut text.as_bytes(), &SourceOptions::default());
        let diags = got.diagnostics();
        assert_eq!(diags.len(), MAX_DIAGNOSTICS_PER_INPUT + 1);
        assert_eq!(
            got.summary.diagnostics,
            (MAX_DIAGNOSTICS_PER_INPUT + 500) as u64
        );
        assert!(diags.last().unwrap().contains("500 more diagnostics"));
    }

    #[test]
    fn oversized_documents_are_cut_with_a_diagnostic() {
        let doc = fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tern-core/tests/fixtures/input/subscription-policy-level.json"),
        )
        .unwrap();
        let opts = SourceOptions {
            max_document_bytes: 1000,
            ..SourceOptions::default()
        };
        let got = read_from("big.json", &mut &doc[..], &opts);
        let diags = got.diagnostics();
        assert!(
            diags[0].contains("larger than the limit of 1000 bytes"),
            "{diags:?}"
        );
        assert!(got.summary.events > 0, "the start is still decoded");
    }

    #[test]
    fn s3_export_paths_name_the_stream() {
        assert_eq!(
            stream_from_path(Path::new(
                "exports/task-1/2024/03/05/[$LATEST]20bddfd5a2dc4c6b97ac02800eae90d0/000000.gz"
            ))
            .as_deref(),
            Some("2024/03/05/[$LATEST]20bddfd5a2dc4c6b97ac02800eae90d0")
        );
        assert_eq!(stream_from_path(Path::new("logs/a.jsonl")), None);
        let dir = tempfile::tempdir().unwrap();
        let stream_dir = dir.path().join("task/2024/03/05/[7]abc");
        fs::create_dir_all(&stream_dir).unwrap();
        fs::write(
            stream_dir.join("000000.gz"),
            gz(b"2024-03-05T12:04:05.003Z START RequestId: x Version: 7\n"),
        )
        .unwrap();
        let got = read(
            &[dir.path().to_path_buf()],
            &SourceOptions {
                log_group: Some(GROUP.into()),
                ..SourceOptions::default()
            },
        );
        assert!(got.diagnostics().is_empty(), "{:?}", got.diagnostics());
        assert_eq!(&*got.events()[0].log_stream, "2024/03/05/[7]abc");
    }

    #[test]
    fn line_reader_caps_and_resumes() {
        // A 4-byte buffer: every line spans buffers. A 64-byte one: lines are in place.
        for capacity in [4, 64] {
            let data = b"short\nxxxxxxxxxxxxxxxxxxxx\nlast";
            let mut storage = vec![0; capacity];
            let mut r = Buffered::new(&data[..], &mut storage);
            let mut buf = Vec::new();
            let mut seen = Vec::new();
            let mut read = |r: &mut Buffered<&[u8]>, buf: &mut Vec<u8>| {
                read_line_capped(r, buf, 8, &mut |l| seen.push(l.to_vec())).unwrap()
            };
            assert_eq!(read(&mut r, &mut buf), LineRead::Line);
            assert_eq!(read(&mut r, &mut buf), LineRead::TooLong(20));
            assert!(buf.capacity() <= 16);
            assert_eq!(read(&mut r, &mut buf), LineRead::Line);
            assert_eq!(read(&mut r, &mut buf), LineRead::Eof);
            assert_eq!(seen, [b"short".to_vec(), b"last".to_vec()]);
        }
    }
}
