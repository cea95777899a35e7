//! Input decoders: bytes in, [`LogEvent`]s and [`Diagnostic`]s out.
//!
//! Every way CloudWatch Logs events reach Tern:
//!
//! | input | shape | read as |
//! |---|---|---|
//! | `aws logs filter-log-events` | `{"events":[{logStreamName,timestamp,message,ingestionTime,eventId}],…}` | [`Format::Document`] |
//! | `aws logs get-log-events` | `{"events":[{timestamp,message,ingestionTime}],"nextForwardToken",…}` (no stream) | [`Format::Document`] |
//! | subscription payload | `{messageType,owner,logGroup,logStream,subscriptionFilters,logEvents,policyLevel?}`, raw, gzip or base64 of gzip | [`Format::Document`] |
//! | Lambda subscription event | `{"awslogs":{"data":"<b64 gzip>"}}` | [`Format::Document`] |
//! | Kinesis event | `{"Records":[{"kinesis":{"data":"<b64 gzip>"}}]}` | [`Format::Document`] |
//! | Firehose HTTP endpoint body | `{"requestId","timestamp","records":[{"data":"<b64 gzip>"}]}` | [`Format::Document`] |
//! | JSON lines | `{"logGroup","logStream","timestamp","message","id"}` per line | [`Format::JsonLines`] |
//! | `aws logs tail`, S3 export | `<ISO time> [<stream>] <message>` plus continuation lines | [`Format::TextTail`] |
//!
//! Names the input lacks come from [`DecodeOptions`] (`--log-group`, `--log-stream`), else
//! they are `""` and one diagnostic per [`Decoder`] says so. Text lines carry a stream only in
//! `aws logs tail`'s detailed format (numeric UTC offset) or when the word after the time
//! looks like a Lambda stream; lines of `<time> <message>` (S3 exports, `--format short`) are
//! accepted too, their stream coming from the options or the caller's path hint.
//!
//! One question per file: `models.rs` (wire shapes, spec links), `errors.rs`, `detect.rs`
//! (which format?), `document.rs` (whole documents and envelopes), `decoder.rs` (the session:
//! options, interned names, once-only warnings, JSON and text lines), `fastline.rs` (the
//! fast path for flat JSON lines), `json_str.rs`, `codec.rs` (bounded gzip,
//! base64), `intern.rs`.
//!
//! **Architecture Invariant:** nothing here does IO or panics on input. Bad input becomes a
//! [`Diagnostic`] naming where it was, and the good data around it is kept. Whole payloads
//! are gunzipped only by [`decompress_bounded`] (and its partial twin), always against a
//! limit. The file, directory and stdin side lives in the binary (`tern/src/source.rs`).

mod codec;
mod decoder;
mod detect;
mod document;
mod errors;
mod fastline;
mod intern;
mod json_str;
mod models;

pub use codec::{decode_base64, decompress_bounded, gunzip_partial, is_gzip, GZIP_MAGIC};
pub use decoder::{
    DecodeOptions, Decoded, Decoder, DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_LINE_BYTES,
};
pub use detect::{detect, is_events_export, Format};
pub use errors::DecodeError;

use crate::model::{Diagnostic, LogEvent};

/// Decode one whole document (see [`Format::Document`]). `source` names it in diagnostics.
pub fn decode_document(bytes: &[u8], source: &str, opts: &DecodeOptions) -> Decoded {
    let mut dec = Decoder::new(opts.clone());
    let mut out = Decoded::default();
    dec.begin_source(source, None);
    dec.decode_document(bytes, &mut out);
    dec.end_source(&mut out);
    out
}

/// Decode one JSON line on its own. For many lines use a [`Decoder`], which shares name
/// allocations between events and reports invalid UTF-8 (replaced with U+FFFD here, silently)
/// and missing names.
pub fn decode_json_line(line: &[u8], location: &str) -> Result<LogEvent, Diagnostic> {
    let mut dec = Decoder::new(DecodeOptions::default());
    dec.begin_source(location, None);
    let mut out = Decoded::default();
    // The line number is folded into `location` by the caller.
    dec.decode_json_line(line, 0, &mut out);
    match out.events.pop() {
        Some(ev) => Ok(ev),
        None => Err(out.diagnostics.pop().map_or_else(
            || Diagnostic {
                location: location.to_string(),
                message: "not a log event".to_string(),
            },
            |d| Diagnostic {
                location: location.to_string(),
                message: d.message,
            },
        )),
    }
}

/// Decode an input held in memory, whatever its format (gzip included): what `tern ingest`
/// does for a file, for callers that already have the bytes (an HTTP body, a test).
pub fn decode_bytes(bytes: &[u8], source: &str, opts: &DecodeOptions) -> Decoded {
    let mut dec = Decoder::new(opts.clone());
    let mut out = Decoded::default();
    dec.begin_source(source, None);
    dec.decode_auto(bytes, &mut out);
    dec.end_source(&mut out);
    out
}

impl Decoder {
    /// Detect the format of an in-memory input and decode it into `out`.
    pub fn decode_auto(&mut self, bytes: &[u8], out: &mut Decoded) {
        match detect(bytes) {
            Format::Empty => {}
            Format::Document => self.decode_document(bytes, out),
            Format::Unrecognized(why) => out.diag(
                self.source.clone(),
                format!("not a recognized Lambda log format: {why}"),
            ),
            format @ (Format::JsonLines | Format::TextTail) => {
                let inflated;
                let text = if is_gzip(bytes) {
                    let (data, err) = gunzip_partial(bytes, self.opts.max_decompressed_bytes);
                    if let Some(err) = err {
                        out.diag(
                            self.source.clone(),
                            format!("{err}; the lines before it were kept"),
                        );
                    }
                    inflated = data;
                    &inflated[..]
                } else {
                    bytes
                };
                self.decode_lines(text, format == Format::JsonLines, out);
            }
        }
    }

    /// Lines of an in-memory JSON-lines or text-tail input.
    fn decode_lines(&mut self, text: &[u8], json: bool, out: &mut Decoded) {
        let mut rest = text;
        let mut line_no = 0u64;
        while !rest.is_empty() {
            line_no += 1;
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            if line.len() > self.opts.max_line_bytes {
                self.line_too_long(line_no, line.len() as u64, out);
            } else if json {
                let line = line.trim_ascii();
                if !line.is_empty() {
                    self.decode_json_line(line, line_no, out);
                }
            } else {
                self.push_tail_line(line, line_no, out);
            }
        }
    }
}
