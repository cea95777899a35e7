//! Telling the input formats apart from the first bytes of an input.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::codec::is_gzip;
use super::decoder::split_tail_header;

/// How an input must be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// No bytes, or only whitespace.
    Empty,
    /// Read whole, then [`decode_document`](super::decode_document): CLI output, subscription
    /// payloads (raw, gzip, base64) and their Lambda / Kinesis / Firehose envelopes, JSON
    /// arrays of events.
    Document,
    /// One event object per line: [`Decoder::decode_json_line`](super::Decoder).
    JsonLines,
    /// `aws logs tail` output or a CloudWatch Logs S3 export: lines starting with an
    /// ISO-8601 timestamp, read with [`Decoder::push_tail_line`](super::Decoder).
    TextTail,
    /// None of the above; the text says what was seen.
    Unrecognized(String),
}

/// How many decompressed bytes [`detect`] looks at when the prefix is gzip.
const DETECT_INFLATE: u64 = 1 << 20;
/// How many further lines [`detect`] reads when the first JSON line is not conclusive.
const DETECT_LINES: usize = 64;

/// Top-level keys that only whole documents have.
const DOCUMENT_KEYS: [&str; 10] = [
    "events",
    "logEvents",
    "messageType",
    "subscriptionFilters",
    "awslogs",
    "Records",
    "records",
    "nextForwardToken",
    "nextBackwardToken",
    "searchedLogStreams",
];

/// Decide the format from the first bytes of an input (64 KiB is plenty; less works). A
/// gzip prefix is inflated (what of it is there) and the inflated text decides.
///
/// - `{` or `[` → JSON: a first object with envelope keys (`events`, `logEvents`,
///   `awslogs`, `Records`, `records`, …) or one spanning several lines is a
///   [`Format::Document`]; one-line objects with `message` are [`Format::JsonLines`].
/// - `H4sI` → base64 of gzip: a [`Format::Document`].
/// - a first line starting with an ISO-8601 timestamp → [`Format::TextTail`].
pub fn detect(prefix: &[u8]) -> Format {
    if is_gzip(prefix) {
        let mut inflated = Vec::new();
        let mut decoder = flate2::bufread::MultiGzDecoder::new(prefix).take(DETECT_INFLATE);
        // A prefix usually ends mid-stream: keep what inflated before that.
        let result = decoder.read_to_end(&mut inflated);
        if let (Err(e), true) = (result, inflated.is_empty()) {
            if e.kind() != std::io::ErrorKind::UnexpectedEof {
                return Format::Unrecognized(format!("gzip data that does not inflate: {e}"));
            }
        }
        return detect_plain(&inflated);
    }
    detect_plain(prefix)
}

/// Whether the input (gzip or not) is `aws logs filter-log-events` or `get-log-events` output
/// whose first key is its `events` array: `{"events": [`. Such a document can be read one
/// event at a time ([`Decoder::decode_export_event`](super::Decoder::decode_export_event)),
/// so an export of any size streams. The CLI prints `events` first.
pub fn is_events_export(prefix: &[u8]) -> bool {
    let inflated;
    let p = if is_gzip(prefix) {
        let mut buf = Vec::new();
        let mut decoder = flate2::bufread::MultiGzDecoder::new(prefix).take(4096);
        // A prefix usually ends mid-stream: what inflated decides.
        let _ = decoder.read_to_end(&mut buf);
        inflated = buf;
        &inflated[..]
    } else {
        prefix
    };
    let p = p.strip_prefix("\u{feff}".as_bytes()).unwrap_or(p);
    let mut rest = p;
    for token in [&b"{"[..], b"\"events\"", b":", b"["] {
        let ws = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        match rest[ws..].strip_prefix(token) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    true
}

fn detect_plain(prefix: &[u8]) -> Format {
    let p = prefix.strip_prefix("\u{feff}".as_bytes()).unwrap_or(prefix);
    let ws = p.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let p = &p[ws..];
    match p.first() {
        None => Format::Empty,
        Some(b'[') => Format::Document,
        Some(b'{') => json_object(p),
        Some(_) if p.starts_with(b"H4sI") => Format::Document,
        Some(_) => {
            let line = p.split(|&b| b == b'\n').next().unwrap_or(p);
            let text = String::from_utf8_lossy(line);
            if split_tail_header(&text).is_some() {
                Format::TextTail
            } else {
                Format::Unrecognized(describe_text(line))
            }
        }
    }
}

fn json_object(p: &[u8]) -> Format {
    let mut lines = p.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or(p);
    let (keys, complete) = top_keys(first);
    if has_document_key(&keys) {
        return Format::Document;
    }
    if keys.iter().any(|k| k == "message") {
        return Format::JsonLines;
    }
    if complete {
        // A first line without `message`: a bad line, or not events at all. Ask more lines.
        for line in lines.take(DETECT_LINES) {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            if !line.starts_with(b"{") {
                break;
            }
            let (k, _) = top_keys(line);
            if has_document_key(&k) {
                return Format::Document;
            }
            if k.iter().any(|k| k == "message") {
                return Format::JsonLines;
            }
        }
        return Format::Unrecognized(describe_keys(&keys));
    }
    if first.len() == p.len() {
        // The prefix ends inside the first line: one long line. A document keeps its
        // envelope keys first in practice; let the full decode judge.
        return Format::Document;
    }
    // The first value spans lines (pretty-printed CLI output or payload).
    let (keys, complete) = top_keys(p);
    if has_document_key(&keys) || keys.iter().any(|k| k == "message") || !complete {
        Format::Document
    } else {
        Format::Unrecognized(describe_keys(&keys))
    }
}

fn has_document_key(keys: &[String]) -> bool {
    keys.iter().any(|k| DOCUMENT_KEYS.contains(&k.as_str()))
}

fn describe_keys(keys: &[String]) -> String {
    if keys.is_empty() {
        return "an empty JSON object".to_string();
    }
    let shown: Vec<String> = keys.iter().take(8).map(|k| format!("`{k}`")).collect();
    format!(
        "a JSON object with keys {}; expected CloudWatch Logs events (CLI output, a \
         subscription payload, a Lambda/Kinesis/Firehose envelope, or JSON lines with \
         `message`)",
        shown.join(", ")
    )
}

fn describe_text(line: &[u8]) -> String {
    let head = &line[..line.len().min(60)];
    let binary = std::str::from_utf8(head).is_err()
        || head
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\r' | 0x1b));
    if binary {
        let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("binary data (starts with {})", hex.join(" "))
    } else {
        format!(
            "text whose first line does not start with a timestamp: {:?}",
            String::from_utf8_lossy(head)
        )
    }
}

/// The top-level keys of the JSON object at the start of `bytes`, as far as they go, and
/// whether the object was complete.
fn top_keys(bytes: &[u8]) -> (Vec<String>, bool) {
    let mut keys = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let complete = KeyScan(&mut keys).deserialize(&mut de).is_ok();
    (keys, complete)
}

struct KeyScan<'k>(&'k mut Vec<String>);

impl<'de> DeserializeSeed<'de> for KeyScan<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeyScan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            self.0.push(key);
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(detect(b""), Format::Empty);
        assert_eq!(detect(b" \n"), Format::Empty);
        assert_eq!(detect(b"{\n  \"events\": [\n"), Format::Document);
        assert_eq!(
            detect(b"{\"messageType\":\"DATA_MESSAGE\",\"ow"),
            Format::Document
        );
        assert_eq!(detect(b"{\"awslogs\":{\"data\":\"H4sI"), Format::Document);
        assert_eq!(detect(b"[{\"message\":\"x\"}]"), Format::Document);
        assert_eq!(detect(b"H4sIAAAAAAAA"), Format::Document);
        assert_eq!(
            detect(b"{\"logGroup\":\"g\",\"timestamp\":1,\"message\":\"a\"}\n{\"logGroup\""),
            Format::JsonLines
        );
        assert_eq!(
            detect(b"{\"timestamp\":1}\n{\"timestamp\":1,\"message\":\"a\"}\n"),
            Format::JsonLines
        );
        assert_eq!(
            detect(b"2024-01-02T03:04:05.678000+00:00 2024/01/02/[1]ab START\n"),
            Format::TextTail
        );
        assert!(matches!(detect(b"{\"foo\":1}"), Format::Unrecognized(r) if r.contains("`foo`")));
        assert!(matches!(detect(b"hello\n"), Format::Unrecognized(r) if r.contains("hello")));
        assert!(matches!(detect(&[0, 1, 2, 3]), Format::Unrecognized(r) if r.contains("binary")));
    }

    #[test]
    fn events_exports_are_told_apart() {
        assert!(is_events_export(b"{\n    \"events\": [\n        {"));
        assert!(is_events_export(b"\xef\xbb\xbf {\"events\":[]}"));
        assert!(is_events_export(b"{\"events\" :\t["));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, b"{\"events\": [{\"message\": \"x\"}]}").unwrap();
        let gz = gz.finish().unwrap();
        assert!(is_events_export(&gz));
        assert!(
            is_events_export(&gz[..gz.len() - 8]),
            "a cut gzip prefix decides too"
        );
        for not in [
            &b"{\"logEvents\": ["[..],
            b"{\"searchedLogStreams\": [], \"events\": [",
            b"{\"events\": {}",
            b"{\"eventsX\": [",
            b"[{\"message\": \"x\"}]",
            b"{\"message\":\"x\",\"timestamp\":1}\n",
            b"",
            b"{",
            b"{\"events\"",
        ] {
            assert!(!is_events_export(not), "{}", String::from_utf8_lossy(not));
        }
    }
}
