//! The decoding session: options, name interning, once-per-session warnings, and the
//! line-level decoders (JSON lines, `aws logs tail` text).

use std::sync::Arc;

use super::fastline;
use super::intern::Interner;
use super::json_str;
use super::models::{RawEvent, Scalar};
use crate::model::{Diagnostic, LogEvent};
use crate::time::{self, Dialect, Zone};

/// What the caller knows that the input may not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The log group for inputs that carry none (`filter-log-events` / `get-log-events`
    /// output, text tails, JSON lines without `logGroup`).
    pub log_group: Option<String>,
    /// The log stream for inputs that carry none (`get-log-events` output, short text tails).
    pub log_stream: Option<String>,
    /// Decompressed bytes one document may inflate to (all its gzip layers together).
    pub max_decompressed_bytes: usize,
    /// Longest accepted line, and longest event a text tail may assemble from continuation
    /// lines.
    pub max_line_bytes: usize,
}

/// Default [`DecodeOptions::max_decompressed_bytes`]: 1 GiB.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 1 << 30;
/// Default [`DecodeOptions::max_line_bytes`]: 16 MiB (CloudWatch events are at most 1 MB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            log_group: None,
            log_stream: None,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// Events and diagnostics from some input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub events: Vec<LogEvent>,
    pub diagnostics: Vec<Diagnostic>,
    /// Subscription `CONTROL_MESSAGE` payloads seen and dropped.
    pub control_messages: usize,
}

impl Decoded {
    /// Add a diagnostic.
    pub fn diag(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            location: location.into(),
            message: message.into(),
        });
    }
}

/// Names given by the envelope around an event (a subscription payload's `logGroup` and
/// `logStream`). An event's own names win over these; the options are the last resort.
#[derive(Debug, Clone, Default)]
pub(super) struct Names {
    pub group: Option<Arc<str>>,
    pub stream: Option<Arc<str>>,
    /// The envelope may still name them later (its keys come in any order): leave the names
    /// empty for now, without a fallback or a warning; the envelope fills them in at its end.
    pub deferred: bool,
}

/// An event of a text tail still collecting continuation lines.
#[derive(Debug)]
struct PendingTail {
    event: LogEvent,
    line_no: u64,
    /// A continuation line was appended.
    continued: bool,
    truncated: bool,
}

/// Bytes of fast-path working space a [`Decoder`] keeps between lines.
const SCRATCH_KEPT: usize = 1 << 20;

/// A decoding session over any number of sources (files, stdin, request bodies).
///
/// It interns group and stream names across everything it decodes, so each distinct name
/// is allocated once, and it gives each "the input does not say" warning once.
///
/// ```
/// use tern_core::input::{Decoded, DecodeOptions, Decoder};
/// let mut dec = Decoder::new(DecodeOptions::default());
/// let mut out = Decoded::default();
/// dec.begin_source("events.jsonl", None);
/// dec.decode_json_line(br#"{"logGroup":"/aws/lambda/f","logStream":"s","timestamp":1,"message":"hi"}"#, 1, &mut out);
/// dec.end_source(&mut out);
/// assert_eq!(out.events[0].message, "hi");
/// ```
#[derive(Debug)]
pub struct Decoder {
    pub(super) opts: DecodeOptions,
    pub(super) groups: Interner,
    pub(super) streams: Interner,
    empty: Arc<str>,
    option_group: Option<Arc<str>>,
    option_stream: Option<Arc<str>>,
    /// Where diagnostics point: the current file name, `-` for stdin.
    pub(super) source: String,
    /// A stream name the source's path implies (CloudWatch S3 export layout).
    source_stream: Option<Arc<str>>,
    warned_group: bool,
    warned_stream: bool,
    warned_orphan: bool,
    tail: Option<PendingTail>,
    /// Decompressed bytes the current document may still inflate to.
    pub(super) budget: usize,
    /// Working space of the JSON-lines fast path (`fastline::parse`).
    scratch: String,
}

impl Decoder {
    pub fn new(opts: DecodeOptions) -> Decoder {
        let mut groups = Interner::default();
        let mut streams = Interner::default();
        let option_group = opts.log_group.as_deref().map(|g| groups.intern(g));
        let option_stream = opts.log_stream.as_deref().map(|s| streams.intern(s));
        Decoder {
            budget: opts.max_decompressed_bytes,
            opts,
            groups,
            streams,
            empty: Arc::from(""),
            option_group,
            option_stream,
            source: String::new(),
            source_stream: None,
            warned_group: false,
            warned_stream: false,
            warned_orphan: false,
            tail: None,
            scratch: String::new(),
        }
    }

    pub fn options(&self) -> &DecodeOptions {
        &self.opts
    }

    /// Start a new source. `stream_hint` is the log stream the source's path names, for
    /// inputs whose lines carry none (a CloudWatch Logs S3 export keeps each stream's events
    /// under `<task>/<stream name>/000000.gz`).
    pub fn begin_source(&mut self, name: &str, stream_hint: Option<&str>) {
        self.source.clear();
        self.source.push_str(name);
        self.source_stream = stream_hint.map(|s| self.streams.intern(s));
        self.warned_orphan = false;
    }

    /// Finish the current source: a text tail's last event is complete now.
    pub fn end_source(&mut self, out: &mut Decoded) {
        self.flush_tail(out);
    }

    /// Report a line longer than [`DecodeOptions::max_line_bytes`] that was skipped.
    pub fn line_too_long(&mut self, line_no: u64, len: u64, out: &mut Decoded) {
        out.diag(
            format!("{}:{line_no}", self.source),
            format!(
                "line is {len} bytes, longer than the limit of {} bytes; skipped",
                self.opts.max_line_bytes
            ),
        );
    }

    pub(super) fn group_or_default(
        &mut self,
        location: &dyn Fn() -> String,
        out: &mut Decoded,
    ) -> Arc<str> {
        if let Some(g) = &self.option_group {
            return g.clone();
        }
        if !self.warned_group {
            self.warned_group = true;
            out.diag(
                location(),
                "the input names no log group and no --log-group was given; using \"\" \
                 (function names can then only come from custom-log-group stream names)",
            );
        }
        self.empty.clone()
    }

    pub(super) fn stream_or_default(
        &mut self,
        location: &dyn Fn() -> String,
        out: &mut Decoded,
    ) -> Arc<str> {
        if let Some(s) = self.option_stream.as_ref().or(self.source_stream.as_ref()) {
            return s.clone();
        }
        if !self.warned_stream {
            self.warned_stream = true;
            out.diag(
                location(),
                "the input names no log stream and no --log-stream was given; using \"\" \
                 (`aws logs get-log-events` output, S3 exports and short tails carry none)",
            );
        }
        self.empty.clone()
    }

    /// Turn a raw event into a [`LogEvent`], or explain in a diagnostic why it cannot be one.
    pub(super) fn build_event(
        &mut self,
        raw: RawEvent<'_>,
        names: &Names,
        location: &dyn Fn() -> String,
        out: &mut Decoded,
    ) -> Option<LogEvent> {
        let message = match raw.message.map(|m| (m, json_str::string_of(m))) {
            Some((_, Some(m))) => m,
            Some((other, None)) => {
                out.diag(
                    location(),
                    format!(
                        "`message` is {}, not a string; event skipped",
                        json_str::kind_of(other)
                    ),
                );
                return None;
            }
            None => {
                out.diag(location(), "event has no `message`; skipped");
                return None;
            }
        };
        self.build_event_with(
            message,
            raw,
            fastline::Same::default(),
            names,
            location,
            out,
        )
    }

    /// [`Decoder::build_event`] once the message is known to be a string (`raw.message`
    /// is not read). `same` says which names are the interners' last ones (the fast path's
    /// hints).
    fn build_event_with(
        &mut self,
        message: String,
        raw: RawEvent<'_>,
        same: fastline::Same,
        names: &Names,
        location: &dyn Fn() -> String,
        out: &mut Decoded,
    ) -> Option<LogEvent> {
        let timestamp_ms = match raw.timestamp.as_ref().map(timestamp_ms) {
            Some(Ok(ms)) => ms,
            Some(Err(why)) => {
                out.diag(location(), format!("{why}; event skipped"));
                return None;
            }
            None => {
                out.diag(location(), "event has no `timestamp`; skipped");
                return None;
            }
        };
        let log_group = match raw.log_group.as_ref().and_then(Scalar::as_str) {
            Some(g) => {
                let last = if same.group { self.groups.last() } else { None };
                last.unwrap_or_else(|| self.groups.intern(g))
            }
            None => match &names.group {
                Some(g) => g.clone(),
                None if names.deferred => self.empty.clone(),
                None => self.group_or_default(location, out),
            },
        };
        let log_stream = match raw.log_stream.as_ref().and_then(Scalar::as_str) {
            Some(s) => {
                let last = if same.stream {
                    self.streams.last()
                } else {
                    None
                };
                last.unwrap_or_else(|| self.streams.intern(s))
            }
            None => match &names.stream {
                Some(s) => s.clone(),
                None if names.deferred => self.empty.clone(),
                None => self.stream_or_default(location, out),
            },
        };
        let event_id = match raw.id {
            Some(Scalar::Str(id)) if !id.is_empty() => Some(id.into_owned()),
            Some(Scalar::Int(n)) => Some(n.to_string()),
            Some(Scalar::UInt(n)) => Some(n.to_string()),
            _ => None,
        };
        Some(LogEvent {
            log_group,
            log_stream,
            timestamp_ms,
            message,
            event_id,
        })
    }

    /// Decode one JSON line (one event object). Blank lines are the caller's to skip.
    ///
    /// Invalid UTF-8 is replaced with U+FFFD and reported once for the line; a line that is
    /// not an event is reported with `source:line` and skipped.
    pub fn decode_json_line(&mut self, line: &[u8], line_no: u64, out: &mut Decoded) {
        let source = std::mem::take(&mut self.source);
        self.decode_object(line, &|| format!("{source}:{line_no}"), out);
        self.source = source;
    }

    /// Decode one element of the `events` array of `aws logs filter-log-events` or
    /// `get-log-events` output, read on its own so that an export of any size streams (the
    /// reader finds the elements). `index` counts from 0, as in `events[index]`.
    pub fn decode_export_event(&mut self, object: &[u8], index: u64, out: &mut Decoded) {
        let source = std::mem::take(&mut self.source);
        self.decode_object(object, &|| format!("{source}: events[{index}]"), out);
        self.source = source;
    }

    /// One JSON event object: the fast reader, else serde. Generic over the location so the
    /// JSON-lines hot path compiles as it did before exports shared it.
    #[inline]
    fn decode_object<L: Fn() -> String>(&mut self, line: &[u8], location: &L, out: &mut Decoded) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let hints = fastline::Hints {
            group: self.groups.last_plain(),
            stream: self.streams.last_plain(),
        };
        let fast = fastline::parse(line, &mut scratch, hints);
        // Room for the longest line seen, unless that was a giant.
        if scratch.capacity() <= SCRATCH_KEPT {
            self.scratch = scratch;
        }
        if let Some(fast) = fast {
            let names = Names::default();
            let ev = match fast.message {
                Some(message) => {
                    self.build_event_with(message, fast.raw, fast.same, &names, location, out)
                }
                // No message: `build_event` says so.
                None => self.build_event(fast.raw, &names, location, out),
            };
            if let Some(ev) = ev {
                out.events.push(ev);
            }
            return;
        }
        match parse_json_line(line) {
            Ok(raw) => {
                if let Some(ev) = self.build_event(raw, &Names::default(), location, out) {
                    out.events.push(ev);
                }
            }
            Err(err) => match std::str::from_utf8(line) {
                Ok(_) => out.diag(location(), json_line_error(&err)),
                Err(utf8) => {
                    let fixed = String::from_utf8_lossy(line);
                    match parse_json_line(fixed.as_bytes()) {
                        Ok(raw) => {
                            out.diag(
                                location(),
                                format!(
                                    "invalid UTF-8 at byte {}; replaced with U+FFFD",
                                    utf8.valid_up_to()
                                ),
                            );
                            if let Some(ev) =
                                self.build_event(raw, &Names::default(), location, out)
                            {
                                out.events.push(ev);
                            }
                        }
                        Err(err) => out.diag(location(), json_line_error(&err)),
                    }
                }
            },
        }
    }

    /// Feed one line of `aws logs tail` output (or of a CloudWatch Logs S3 export).
    ///
    /// A line that starts with a timestamp starts a new event; any other line continues the
    /// previous event's message after a `\n`. Events are pushed to `out` once the next event
    /// starts, or at [`Decoder::end_source`].
    ///
    /// After the timestamp comes the log stream when the timestamp has a numeric offset
    /// (`+00:00`: the detailed format `aws logs tail` prints by default) or when the word
    /// looks like a Lambda stream (`YYYY/MM/DD/...[...]`); otherwise (a `Z` or no zone: S3
    /// exports, `aws logs tail --format short`) the rest of the line is the message and the
    /// stream comes from `--log-stream` or the source path.
    ///
    /// `aws logs tail` strips trailing whitespace (the `\n` Lambda ends most messages with)
    /// and that is not restored. With `--format json` a JSON message starts on the line after
    /// the header; it is joined without a leading `\n`. Lines holding only ANSI colour codes
    /// (`--color on`) are ignored.
    pub fn push_tail_line(&mut self, line: &[u8], line_no: u64, out: &mut Decoded) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = String::from_utf8_lossy(line);
        if let std::borrow::Cow::Owned(_) = text {
            out.diag(
                format!("{}:{line_no}", self.source),
                "invalid UTF-8 replaced with U+FFFD",
            );
        }
        match split_tail_header(&text) {
            Some(header) => {
                self.flush_tail(out);
                let source = std::mem::take(&mut self.source);
                let location = || format!("{source}:{line_no}");
                let log_group = self.group_or_default(&location, out);
                let log_stream = match header.stream {
                    Some(s) => self.streams.intern(s),
                    None => self.stream_or_default(&location, out),
                };
                self.source = source;
                let mut pending = PendingTail {
                    event: LogEvent {
                        log_group,
                        log_stream,
                        timestamp_ms: header.timestamp_ms,
                        message: String::new(),
                        event_id: None,
                    },
                    line_no,
                    continued: false,
                    truncated: false,
                };
                self.append_tail(&mut pending, header.message, out);
                self.tail = Some(pending);
            }
            // The colour reset `aws logs tail --color on` leaves after the last event.
            None if !text.is_empty() && strip_sgr(&text).is_empty() => {}
            None => match self.tail.take() {
                Some(mut pending) => {
                    // `--format json` prints a JSON message from the line after the header.
                    if pending.continued || !pending.event.message.is_empty() {
                        self.append_tail(&mut pending, "\n", out);
                    }
                    pending.continued = true;
                    self.append_tail(&mut pending, &text, out);
                    self.tail = Some(pending);
                }
                None => {
                    if !self.warned_orphan {
                        self.warned_orphan = true;
                        out.diag(
                            format!("{}:{line_no}", self.source),
                            "line does not start with a timestamp and no event precedes it; \
                             skipped (and any more such lines before the first event)",
                        );
                    }
                }
            },
        }
    }

    fn append_tail(&mut self, pending: &mut PendingTail, text: &str, out: &mut Decoded) {
        if pending.truncated {
            return;
        }
        let room = self
            .opts
            .max_line_bytes
            .saturating_sub(pending.event.message.len());
        if text.len() <= room {
            pending.event.message.push_str(text);
            return;
        }
        let mut cut = room;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        pending.event.message.push_str(&text[..cut]);
        pending.truncated = true;
        out.diag(
            format!("{}:{}", self.source, pending.line_no),
            format!(
                "event with its continuation lines is longer than the limit of {} bytes; \
                 truncated",
                self.opts.max_line_bytes
            ),
        );
    }

    fn flush_tail(&mut self, out: &mut Decoded) {
        if let Some(pending) = self.tail.take() {
            out.events.push(pending.event);
        }
    }
}

fn parse_json_line(line: &[u8]) -> Result<RawEvent<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let raw = serde::Deserialize::deserialize(&mut de)?;
    de.end()?;
    Ok(raw)
}

fn json_line_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Data => format!("not a log event: {err}; line skipped"),
        Category::Eof => format!("JSON ends early: {err}; line skipped"),
        Category::Syntax | Category::Io => format!("invalid JSON: {err}; line skipped"),
    }
}

/// Epoch milliseconds from a `timestamp` value: a number of milliseconds, or a string with
/// either a number or an ISO-8601 time.
fn timestamp_ms(v: &Scalar<'_>) -> Result<i64, String> {
    match v {
        Scalar::Int(n) => Ok(*n),
        Scalar::UInt(n) => {
            i64::try_from(*n).map_err(|_| format!("`timestamp` {n} is out of range"))
        }
        Scalar::Float(f) if f.is_finite() && f.abs() < 9.0e18 => Ok(f.floor() as i64),
        Scalar::Str(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| time::parse_exact(s.trim(), Dialect::Tools))
            .ok_or_else(|| {
                let shown: String = s.chars().take(40).collect();
                format!("`timestamp` {shown:?} is neither epoch milliseconds nor an ISO-8601 time")
            }),
        other => Err(format!(
            "`timestamp` is {}, not epoch milliseconds or an ISO-8601 string",
            other.kind()
        )),
    }
}

/// The start of a text tail line: `<timestamp> [<stream>] <message>`.
#[derive(Debug, PartialEq)]
pub(super) struct TailHeader<'a> {
    pub timestamp_ms: i64,
    pub stream: Option<&'a str>,
    pub message: &'a str,
}

pub(super) fn split_tail_header(line: &str) -> Option<TailHeader<'_>> {
    let line = strip_sgr(line);
    let (timestamp_ms, used, zone) = time::parse_prefix(line.as_bytes(), Dialect::Tools)?;
    let rest = strip_sgr(&line[used..]);
    let rest = match rest.strip_prefix(' ') {
        Some(r) => r,
        None if rest.is_empty() => rest,
        None => return None,
    };
    let rest = strip_sgr(rest);
    let (word, after) = match rest.find(' ') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let word_plain = strip_sgr_suffix(word);
    if !word_plain.is_empty() && (zone == Zone::Numeric || looks_like_lambda_stream(word_plain)) {
        Some(TailHeader {
            timestamp_ms,
            stream: Some(word_plain),
            message: after,
        })
    } else {
        Some(TailHeader {
            timestamp_ms,
            stream: None,
            message: rest,
        })
    }
}

/// `YYYY/MM/DD/[version]hex` or `YYYY/MM/DD/name[version]hex`.
fn looks_like_lambda_stream(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 11
        && b[4] == b'/'
        && b[7] == b'/'
        && b[10] == b'/'
        && b[..4]
            .iter()
            .chain(&b[5..7])
            .chain(&b[8..10])
            .all(u8::is_ascii_digit)
        && s[11..].contains('[')
}

/// Skip leading ANSI colour sequences (`aws logs tail --color on`).
fn strip_sgr(mut s: &str) -> &str {
    while let Some(rest) = s.strip_prefix("\x1b[") {
        match rest.find('m') {
            Some(i) if rest[..i].bytes().all(|b| b.is_ascii_digit() || b == b';') => {
                s = &rest[i + 1..];
            }
            _ => break,
        }
    }
    s
}

/// Drop trailing ANSI colour sequences from a word.
fn strip_sgr_suffix(s: &str) -> &str {
    match s.find('\x1b') {
        Some(i) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names repeated from the line before (taken from the interner without comparing them
    /// again) read the same as names read in full, and stay shared.
    #[test]
    fn repeated_names_are_the_interned_ones() {
        let mut dec = Decoder::new(DecodeOptions::default());
        let mut out = Decoded::default();
        dec.begin_source("t.jsonl", None);
        let names = [
            ("/aws/lambda/a", "s1"),
            ("/aws/lambda/a", "s1"),
            ("/aws/lambda/a", "s2"),
            ("/aws/lambda/b", "s2"),
            ("/aws/lambda/b", "s\\\"q"),
            ("/aws/lambda/b", "s\\\"q"),
            ("/aws/lambda/a", "s1"),
            ("/aws/lambda/a", "s1"),
        ];
        for (n, (g, st)) in names.iter().enumerate() {
            let line = format!(
                r#"{{"logGroup":"{g}","logStream":"{st}","timestamp":1,"message":"m","logGroup":"{g}"}}"#
            );
            dec.decode_json_line(line.as_bytes(), n as u64 + 1, &mut out);
        }
        assert_eq!(out.events.len(), names.len());
        for (ev, (g, st)) in out.events.iter().zip(names) {
            assert_eq!(&*ev.log_group, g);
            assert_eq!(&*ev.log_stream, st.replace("\\\"", "\""));
        }
        assert!(Arc::ptr_eq(
            &out.events[0].log_stream,
            &out.events[7].log_stream
        ));
        assert!(Arc::ptr_eq(
            &out.events[0].log_group,
            &out.events[2].log_group
        ));
    }

    #[test]
    fn tail_headers() {
        let h = split_tail_header(
            "2024-01-02T03:04:05.678000+00:00 2024/01/02/[$LATEST]abc START RequestId: x",
        );
        assert_eq!(
            h,
            Some(TailHeader {
                timestamp_ms: 1_704_164_645_678,
                stream: Some("2024/01/02/[$LATEST]abc"),
                message: "START RequestId: x"
            })
        );
        // S3 export: `Z` and no stream.
        let h = split_tail_header("2024-01-02T03:04:05.678Z START RequestId: x");
        assert_eq!(
            h.map(|h| (h.stream, h.message)),
            Some((None, "START RequestId: x"))
        );
        // --format short: no zone, no stream.
        let h = split_tail_header("2024-01-02T03:04:05 hello world");
        assert_eq!(
            h.map(|h| (h.stream, h.message)),
            Some((None, "hello world"))
        );
        // A Lambda stream after a `Z` timestamp is still a stream.
        let h = split_tail_header("2024-01-02T03:04:05Z 2024/01/02/f[1]ab msg");
        assert_eq!(
            h.map(|h| (h.stream, h.message)),
            Some((Some("2024/01/02/f[1]ab"), "msg"))
        );
        // Colour.
        let h = split_tail_header(
            "\x1b[32m2024-01-02T03:04:05.678000+00:00\x1b[0m \x1b[36m2024/01/02/[1]ab\x1b[0m hi",
        );
        assert_eq!(
            h.map(|h| (h.stream, h.message)),
            Some((Some("2024/01/02/[1]ab"), "hi"))
        );
        assert_eq!(split_tail_header("2024-01-02T03:04:05Zx"), None);
        assert_eq!(split_tail_header("    at handler (index.js:1)"), None);
    }

    #[test]
    fn timestamps_of_every_json_type() {
        assert_eq!(timestamp_ms(&Scalar::Int(5)), Ok(5));
        assert_eq!(timestamp_ms(&Scalar::Float(5.9)), Ok(5));
        assert_eq!(timestamp_ms(&Scalar::Str("17".into())), Ok(17));
        assert_eq!(
            timestamp_ms(&Scalar::Str("1970-01-01T00:00:01Z".into())),
            Ok(1000)
        );
        assert!(timestamp_ms(&Scalar::UInt(u64::MAX)).is_err());
        assert!(timestamp_ms(&Scalar::Float(f64::NAN)).is_err());
        assert!(timestamp_ms(&Scalar::Bool(true)).is_err());
    }
}
