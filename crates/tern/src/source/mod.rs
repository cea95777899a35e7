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

mod cli;
mod lines;

use std::fs;
use std::io::{self, BufRead, Cursor, ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use anyhow::{Context, Result};
use cli::{next_element, skip_past, Element};
use lines::{read_line_capped, Buffered, Buffers, Counting, LineRead};
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

#[cfg(test)]
mod tests;
