//! Whole-document decoding: CLI output, subscription payloads and their transports.
//!
//! A document is one or more JSON values (concatenated or whitespace-separated), possibly
//! gzipped (one or more members) and possibly base64 text. Each value is read once, in a
//! streaming pass that pushes events as it meets them, so a document cut short (a truncated
//! gzip file) still yields every event before the cut.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;

use super::codec::{decode_base64, gunzip_partial, is_gzip};
use super::decoder::{Decoded, Decoder, Names};
use super::models::{RawEvent, RecordData, Scalar, TopKey};

/// Envelopes nest at most this deep (a Firehose record holding a payload is depth 1).
const MAX_DEPTH: u8 = 4;

impl Decoder {
    /// Decode a whole document from the current source (see [`Decoder::begin_source`]):
    /// `aws logs filter-log-events` / `get-log-events` output, a subscription payload (raw,
    /// gzip, or base64 of gzip), a Lambda `awslogs` event, a Kinesis event, a Firehose HTTP
    /// request body, or JSON event objects. The document may inflate to at most
    /// [`DecodeOptions::max_decompressed_bytes`](super::DecodeOptions) in all.
    pub fn decode_document(&mut self, bytes: &[u8], out: &mut Decoded) {
        self.budget = self.opts.max_decompressed_bytes;
        let location = self.source.clone();
        self.payload(bytes, &location, 0, out);
    }

    /// One payload: gzip, base64 text or JSON.
    pub(super) fn payload(&mut self, bytes: &[u8], location: &str, depth: u8, out: &mut Decoded) {
        if depth > MAX_DEPTH {
            out.diag(location, "payloads nested too deep; skipped");
            return;
        }
        let bytes = trim_start(bytes);
        if is_gzip(bytes) {
            let (data, err) = gunzip_partial(bytes, self.budget);
            self.budget = self.budget.saturating_sub(data.len());
            let damaged = err.is_some();
            if let Some(err) = err {
                let kept = if data.is_empty() {
                    ""
                } else {
                    "; the events before the damage were kept"
                };
                out.diag(location, format!("{err}{kept}"));
            }
            self.json_values(&data, location, depth, damaged, out);
        } else if bytes.starts_with(b"H4sI") {
            // base64 of gzip: `aws kinesis get-records` data, or a saved `awslogs.data`.
            match decode_base64(bytes) {
                Ok(data) => self.payload(&data, location, depth + 1, out),
                Err(err) => out.diag(location, err.to_string()),
            }
        } else {
            self.json_values(bytes, location, depth, false, out);
        }
    }

    /// A record's base64 `data`: decode it and read the payload inside.
    fn record_data(
        &mut self,
        data: Option<Scalar<'_>>,
        location: &str,
        depth: u8,
        out: &mut Decoded,
    ) {
        match data {
            Some(Scalar::Str(text)) => match decode_base64(text.as_bytes()) {
                Ok(bytes) => self.payload(&bytes, location, depth + 1, out),
                Err(err) => out.diag(location, format!("{err}; record skipped")),
            },
            Some(other) => out.diag(
                location,
                format!(
                    "record `data` is {}, not a base64 string; record skipped",
                    other.kind()
                ),
            ),
            None => out.diag(location, "record has no `data`; skipped"),
        }
    }

    /// A sequence of JSON values.
    fn json_values(
        &mut self,
        bytes: &[u8],
        location: &str,
        depth: u8,
        damaged: bool,
        out: &mut Decoded,
    ) {
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(e) => {
                out.diag(
                    location,
                    format!(
                        "invalid UTF-8 at byte {}; replaced with U+FFFD",
                        e.valid_up_to()
                    ),
                );
                String::from_utf8_lossy(bytes)
            }
        };
        let text = text.trim_start_matches('\u{feff}');
        let mut de = serde_json::Deserializer::from_str(text);
        let mut values = 0usize;
        let events_before = out.events.len();
        loop {
            let mut started = false;
            let seed = TopSeed {
                dec: self,
                out,
                location,
                depth,
                started: &mut started,
            };
            match seed.deserialize(&mut de) {
                Ok(()) => values += 1,
                // Only whitespace was left.
                Err(e) if !started && e.is_eof() => break,
                // Already reported as a truncated or corrupt gzip stream.
                Err(e) if damaged && e.is_eof() => break,
                Err(e) => {
                    let message = if values == 0 && out.events.len() == events_before && !started {
                        format!("not a recognized Lambda log format: not JSON ({e})")
                    } else {
                        match e.classify() {
                            Category::Eof => {
                                format!("JSON ends early ({e}); events before it were kept")
                            }
                            Category::Data => format!(
                                "unexpected JSON shape: {e}; the rest of the document was skipped"
                            ),
                            Category::Syntax | Category::Io => {
                                format!("invalid JSON: {e}; the rest of the document was skipped")
                            }
                        }
                    };
                    out.diag(location, message);
                    break;
                }
            }
        }
    }
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let n = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[n..]
}

/// One top-level JSON value: an envelope object, an event object, or an array of either.
struct TopSeed<'s> {
    dec: &'s mut Decoder,
    out: &'s mut Decoded,
    location: &'s str,
    depth: u8,
    /// Set once the value turned out to be an object or an array (so an EOF after this is a
    /// truncation, not the end of the input).
    started: &'s mut bool,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// What a top-level object said, in whatever order its keys came.
#[derive(Default)]
struct TopState<'de> {
    recognized: bool,
    control: bool,
    group: Option<Arc<str>>,
    stream: Option<Arc<str>>,
    /// `logEvents` were read before the payload named its group or stream: these events
    /// get their names at the end of the object.
    deferred_from: Option<usize>,
    single: RawEvent<'de>,
    other_keys: Vec<String>,
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "CloudWatch Logs events: CLI output, a subscription payload, a Lambda, Kinesis or \
             Firehose envelope, or event objects",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        *self.started = true;
        let mut i = 0usize;
        loop {
            let location = format!("{}: [{i}]", self.location);
            let mut started = false;
            let element = TopSeed {
                dec: &mut *self.dec,
                out: &mut *self.out,
                location: &location,
                depth: self.depth,
                started: &mut started,
            };
            if seq.next_element_seed(element)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        *self.started = true;
        let TopSeed {
            dec,
            out,
            location,
            depth,
            ..
        } = self;
        let start = out.events.len();
        let mut st = TopState::default();
        while let Some(key) = map.next_key::<TopKey<'de>>()? {
            match key {
                TopKey::Events | TopKey::LogEvents => {
                    st.recognized = true;
                    let field = if matches!(key, TopKey::Events) {
                        "events"
                    } else {
                        "logEvents"
                    };
                    let deferred =
                        field == "logEvents" && (st.group.is_none() || st.stream.is_none());
                    if deferred && st.deferred_from.is_none() {
                        st.deferred_from = Some(out.events.len());
                    }
                    map.next_value_seed(EventsSeed {
                        dec: &mut *dec,
                        out: &mut *out,
                        location,
                        field,
                        names: Names {
                            group: st.group.clone(),
                            stream: st.stream.clone(),
                            deferred,
                        },
                        discard: st.control,
                    })?;
                }
                TopKey::MessageType => {
                    st.recognized = true;
                    let v: Scalar<'de> = map.next_value()?;
                    st.control = v.as_str() == Some("CONTROL_MESSAGE");
                }
                TopKey::LogGroup => {
                    let v: Scalar<'de> = map.next_value()?;
                    if let Some(g) = v.as_str() {
                        st.group = Some(dec.groups.intern(g));
                    }
                    st.single.log_group = Some(v);
                }
                TopKey::LogStream => {
                    let v: Scalar<'de> = map.next_value()?;
                    if let Some(s) = v.as_str() {
                        st.stream = Some(dec.streams.intern(s));
                    }
                    st.single.log_stream = Some(v);
                }
                TopKey::Awslogs => {
                    st.recognized = true;
                    let rec: RecordData<'de> = map.next_value()?;
                    let loc = format!("{location}: awslogs.data");
                    dec.record_data(rec.data, &loc, depth, out);
                }
                TopKey::KinesisRecords | TopKey::FirehoseRecords => {
                    st.recognized = true;
                    let field = if matches!(key, TopKey::KinesisRecords) {
                        "Records"
                    } else {
                        "records"
                    };
                    map.next_value_seed(RecordsSeed {
                        dec: &mut *dec,
                        out: &mut *out,
                        location,
                        field,
                        depth,
                    })?;
                }
                TopKey::Timestamp => st.single.timestamp = Some(map.next_value()?),
                TopKey::Message => st.single.message = Some(map.next_value()?),
                TopKey::Id => st.single.id = Some(map.next_value()?),
                TopKey::Other(name) => {
                    if st.other_keys.len() < 8 {
                        st.other_keys.push(name.into_owned());
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }

        if st.control {
            // Health checks from CloudWatch Logs: nothing to ingest.
            out.events.truncate(start);
            out.control_messages += 1;
        } else if let Some(from) = st.deferred_from {
            let loc = || format!("{location}: logEvents");
            let group = match st.group {
                Some(g) => g,
                None => dec.group_or_default(&loc, out),
            };
            let stream = match st.stream {
                Some(s) => s,
                None => dec.stream_or_default(&loc, out),
            };
            for ev in out.events.iter_mut().skip(from) {
                if ev.log_group.is_empty() {
                    ev.log_group = group.clone();
                }
                if ev.log_stream.is_empty() {
                    ev.log_stream = stream.clone();
                }
            }
        } else if !st.recognized {
            if st.single.message.is_some() {
                // An event object on its own (JSON lines read as a document).
                let loc = || location.to_string();
                if let Some(ev) = dec.build_event(st.single, &Names::default(), &loc, out) {
                    out.events.push(ev);
                }
            } else {
                out.diag(location, unrecognized_object(&st.single, &st.other_keys));
            }
        }
        Ok(())
    }
}

fn unrecognized_object(single: &RawEvent<'_>, other: &[String]) -> String {
    let mut keys: Vec<&str> = Vec::new();
    for (present, name) in [
        (single.log_group.is_some(), "logGroup"),
        (single.log_stream.is_some(), "logStream"),
        (single.timestamp.is_some(), "timestamp"),
        (single.id.is_some(), "id"),
    ] {
        if present {
            keys.push(name);
        }
    }
    keys.extend(other.iter().map(String::as_str));
    let keys = if keys.is_empty() {
        "no keys".to_string()
    } else {
        format!(
            "keys {}",
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "not a recognized Lambda log format: a JSON object with {keys}; expected \
         `aws logs filter-log-events`/`get-log-events` output (`events`), a subscription \
         payload (`logEvents`), a Lambda (`awslogs`), Kinesis (`Records`) or Firehose \
         (`records`) envelope, or an event with `message`"
    )
}

/// An `events` or `logEvents` array, pushing each event as it is read.
struct EventsSeed<'s> {
    dec: &'s mut Decoder,
    out: &'s mut Decoded,
    location: &'s str,
    field: &'static str,
    names: Names,
    /// A `CONTROL_MESSAGE`: read past the events without keeping them.
    discard: bool,
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EventsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of log events in `{}`", self.field)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while let Some(raw) = seq.next_element::<RawEvent<'de>>()? {
            if !self.discard {
                let loc = || format!("{}: {}[{i}]", self.location, self.field);
                if let Some(ev) = self.dec.build_event(raw, &self.names, &loc, self.out) {
                    self.out.events.push(ev);
                }
            }
            i += 1;
        }
        Ok(())
    }
}

/// A Kinesis `Records` or Firehose `records` array; each record's data is decoded as soon as
/// it is read, and a bad record only costs itself.
struct RecordsSeed<'s> {
    dec: &'s mut Decoder,
    out: &'s mut Decoded,
    location: &'s str,
    field: &'static str,
    depth: u8,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of records in `{}`", self.field)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while let Some(rec) = seq.next_element::<RecordData<'de>>()? {
            let loc = format!("{}: {}[{i}]", self.location, self.field);
            self.dec.record_data(rec.data, &loc, self.depth, self.out);
            i += 1;
        }
        Ok(())
    }
}
