//! Wire structs for JSON messages: Lambda's JSON log format (`{"time","type":"platform.*",
//! "record"}`, <https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html>)
//! and the runtimes' JSON application records (lambda-logs.md §2.3, §3).
//!
//! One struct, [`JsonLine`], covers both, so a message is parsed once. Every field is optional
//! and lenient: a value of an unexpected JSON type reads as absent instead of failing the
//! record, and unknown fields are ignored (never `deny_unknown_fields`: AWS adds fields).
//! Strings borrow from the message unless they contain escapes.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::scan::{level_from_number, level_from_word};
use crate::model::Level;
use crate::time::{self, Dialect};

/// One JSON message: a platform record or an application record.
#[derive(Deserialize, Default)]
pub(super) struct JsonLine<'a> {
    /// `platform.report`, … (platform records only).
    #[serde(rename = "type", default, borrow)]
    pub kind: Text<'a>,
    #[serde(default, borrow)]
    pub record: RecordField<'a>,
    // Application records.
    #[serde(default, borrow)]
    pub timestamp: Stamp<'a>,
    #[serde(default, borrow)]
    pub time: Stamp<'a>,
    #[serde(default)]
    pub level: LevelField,
    /// Python's unhandled-exception record uses `log_level`.
    #[serde(default)]
    pub log_level: LevelField,
    #[serde(
        rename = "requestId",
        alias = "AWSRequestId",
        alias = "function_request_id",
        default,
        borrow
    )]
    pub request_id: Text<'a>,
    #[serde(default, borrow)]
    pub message: Message<'a>,
    // Error payloads: Go's and Ruby's bare payloads, Python's and Java's JSON records.
    // (Not `#[serde(flatten)]`: that buffers every field through serde's `Content`.)
    #[serde(rename = "errorType", default, borrow)]
    pub error_type: Text<'a>,
    #[serde(rename = "errorMessage", default, borrow)]
    pub error_message: Text<'a>,
    #[serde(rename = "stackTrace", default)]
    pub stack_trace: Stack,
    #[serde(default)]
    pub stack: Stack,
}

impl<'a> JsonLine<'a> {
    /// The top-level error fields, moved out as a payload.
    pub fn take_error(&mut self) -> ErrorPayload<'a> {
        ErrorPayload {
            error_type: std::mem::take(&mut self.error_type),
            error_message: std::mem::take(&mut self.error_message),
            stack_trace: std::mem::take(&mut self.stack_trace),
            stack: std::mem::take(&mut self.stack),
        }
    }
}

/// `errorType` / `errorMessage` / `stackTrace` (or Node's `stack`), at the top level of an
/// application record or an error payload, or inside Node's JSON-mode `message`.
#[derive(Deserialize, Default)]
pub(super) struct ErrorPayload<'a> {
    #[serde(rename = "errorType", default, borrow)]
    pub error_type: Text<'a>,
    #[serde(rename = "errorMessage", default, borrow)]
    pub error_message: Text<'a>,
    #[serde(rename = "stackTrace", default)]
    pub stack_trace: Stack,
    #[serde(default)]
    pub stack: Stack,
}

impl ErrorPayload<'_> {
    pub fn is_error(&self) -> bool {
        self.error_type.0.is_some() || self.error_message.0.is_some()
    }
}

/// A platform record's `record` object (all record types share one struct).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct Record<'a> {
    #[serde(default, borrow)]
    pub request_id: Text<'a>,
    #[serde(default, borrow)]
    pub version: Text<'a>,
    #[serde(default, borrow)]
    pub status: Text<'a>,
    #[serde(default, borrow)]
    pub error_type: Text<'a>,
    #[serde(default, borrow)]
    pub phase: Text<'a>,
    #[serde(default, borrow)]
    pub initialization_type: Text<'a>,
    #[serde(default, borrow)]
    pub runtime_version: Text<'a>,
    #[serde(default, borrow)]
    pub runtime_version_arn: Text<'a>,
    #[serde(default, borrow)]
    pub function_name: Text<'a>,
    #[serde(default, borrow)]
    pub function_version: Text<'a>,
    #[serde(default, borrow)]
    pub instance_id: Text<'a>,
    /// Bytes, not MB.
    #[serde(default)]
    pub instance_max_memory: Option<f64>,
    #[serde(default, borrow)]
    pub name: Text<'a>,
    #[serde(default, borrow)]
    pub state: Text<'a>,
    #[serde(default)]
    pub metrics: Option<Metrics>,
    #[serde(default, borrow)]
    pub tracing: Option<Tracing<'a>>,
}

/// `record.metrics`. Every metric is read as f64 (some are documented as integers).
#[derive(Deserialize, Default)]
pub(super) struct Metrics {
    #[serde(rename = "durationMs", default)]
    pub duration_ms: Option<f64>,
    #[serde(rename = "billedDurationMs", default)]
    pub billed_duration_ms: Option<f64>,
    #[serde(rename = "memorySizeMB", default)]
    pub memory_size_mb: Option<f64>,
    #[serde(rename = "maxMemoryUsedMB", default)]
    pub max_memory_used_mb: Option<f64>,
    #[serde(rename = "initDurationMs", default)]
    pub init_duration_ms: Option<f64>,
    #[serde(rename = "restoreDurationMs", default)]
    pub restore_duration_ms: Option<f64>,
    #[serde(rename = "billedRestoreDurationMs", default)]
    pub billed_restore_duration_ms: Option<f64>,
}

/// `record.tracing`: `{"spanId", "type": "X-Amzn-Trace-Id", "value": "Root=1-…;Parent=…"}`.
#[derive(Deserialize, Default)]
pub(super) struct Tracing<'a> {
    #[serde(default, borrow)]
    pub value: Text<'a>,
}

impl Tracing<'_> {
    /// The `Root=` part of the trace header.
    pub fn root(&self) -> Option<&str> {
        let v = self.value.0.as_deref()?;
        v.split(';')
            .find_map(|p| p.trim().strip_prefix("Root="))
            .filter(|r| !r.is_empty())
    }
}

/// Visitor methods that read the listed JSON kinds as `$v`, skipping any nested content.
macro_rules! read_as {
    ($v:expr; $($kind:ident),*) => { $( read_as!(@ $kind $v); )* };
    (@ bool $v:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> { Ok($v) }
    };
    (@ i64 $v:expr) => {
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> { Ok($v) }
    };
    (@ u64 $v:expr) => {
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> { Ok($v) }
    };
    (@ f64 $v:expr) => {
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> { Ok($v) }
    };
    (@ str $v:expr) => {
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> { Ok($v) }
    };
    (@ unit $v:expr) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> { Ok($v) }
    };
    (@ seq $v:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($v)
        }
    };
    (@ map $v:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($v)
        }
    };
}

/// A string field; any other JSON value (number, object, null, …) reads as absent.
#[derive(Default)]
pub(super) struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The value as an owned string, `None` when absent or empty.
    pub fn owned(&self) -> Option<String> {
        self.0
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            read_as!(Text(None); bool, i64, u64, f64, unit, seq, map);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A number field; any other JSON value reads as absent.
#[derive(Default)]
pub(super) struct Num(pub Option<f64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_or_number(d, "a number", |_| Num(None), |v| Num(Some(v)))
    }
}

/// `level` / `log_level`: a level word (any case) or a pino-style number.
#[derive(Default)]
pub(super) struct LevelField(pub Option<Level>);

impl<'de> Deserialize<'de> for LevelField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_or_number(
            d,
            "a log level",
            |v| LevelField(level_from_word(v.trim())),
            |v| LevelField(level_from_number(v)),
        )
    }
}

/// `timestamp` / `time`: an ISO-8601 string, or epoch milliseconds (seconds when small).
/// Kept as read and converted by [`Stamp::ms`] only when asked: platform records carry a
/// `time` nothing reads.
#[derive(Default)]
pub(super) struct Stamp<'a>(Option<StampValue<'a>>);

enum StampValue<'a> {
    Text(Cow<'a, str>),
    Number(f64),
}

impl<'a> Stamp<'a> {
    /// A string value, as serde reads it.
    pub fn text(v: &'a str) -> Self {
        Stamp(Some(StampValue::Text(Cow::Borrowed(v))))
    }
}

impl Stamp<'_> {
    /// Epoch milliseconds, when the value can be read as a time.
    pub fn ms(&self) -> Option<i64> {
        match &self.0 {
            Some(StampValue::Text(v)) => time::parse_exact(v.trim(), Dialect::Runtime),
            Some(StampValue::Number(v)) => epoch(*v),
            None => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Stamp<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Stamp<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Stamp(Some(StampValue::Text(Cow::Borrowed(v)))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Stamp(Some(StampValue::Text(Cow::Owned(v.to_string())))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Stamp(Some(StampValue::Text(Cow::Owned(v)))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Stamp(Some(StampValue::Number(v as f64))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Stamp(Some(StampValue::Number(v as f64))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Stamp(Some(StampValue::Number(v))))
            }
            read_as!(Stamp(None); bool, unit, seq, map);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Read a JSON string with `from_str` and a JSON number (as `f64`) with `from_number`; any
/// other value (bool, null, array, object) reads as `T::default()`.
fn str_or_number<'de, D, T, S, N>(
    d: D,
    expecting: &'static str,
    from_str: S,
    from_number: N,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default,
    S: FnOnce(&str) -> T,
    N: FnOnce(f64) -> T,
{
    struct V<T, S, N> {
        expecting: &'static str,
        from_str: S,
        from_number: N,
        value: PhantomData<T>,
    }
    impl<'de, T, S, N> Visitor<'de> for V<T, S, N>
    where
        T: Default,
        S: FnOnce(&str) -> T,
        N: FnOnce(f64) -> T,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E>(self, v: &str) -> Result<T, E> {
            Ok((self.from_str)(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<T, E> {
            Ok((self.from_number)(v as f64))
        }
        fn visit_i64<E>(self, v: i64) -> Result<T, E> {
            Ok((self.from_number)(v as f64))
        }
        fn visit_f64<E>(self, v: f64) -> Result<T, E> {
            Ok((self.from_number)(v))
        }
        read_as!(T::default(); bool, unit, seq, map);
    }
    d.deserialize_any(V {
        expecting,
        from_str,
        from_number,
        value: PhantomData,
    })
}

/// Epoch milliseconds from a number: values below 1e11 are taken as seconds.
fn epoch(v: f64) -> Option<i64> {
    if !v.is_finite() || v <= 0.0 || v >= 1e15 {
        return None;
    }
    let ms = if v < 1e11 { v * 1000.0 } else { v };
    Some(ms as i64)
}

/// An application record's `message`: text (not kept: the event keeps the message), an error
/// object (Node's JSON-mode unhandled error), or anything else.
#[derive(Default)]
pub(super) enum Message<'a> {
    #[default]
    None,
    Text,
    Error(ErrorPayload<'a>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Message<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Message<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a message")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let e = ErrorPayload::deserialize(MapAccessDeserializer::new(map))?;
                Ok(if e.is_error() {
                    Message::Error(e)
                } else {
                    Message::None
                })
            }
            read_as!(Message::Text; str);
            read_as!(Message::None; bool, i64, u64, f64, unit, seq);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// `record`: an object for the records Tern reads; anything else (the legacy
/// `platform.fault` string) reads as absent.
#[derive(Default)]
pub(super) struct RecordField<'a>(pub Option<Record<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for RecordField<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = RecordField<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a record")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let r = Record::deserialize(MapAccessDeserializer::new(map))?;
                Ok(RecordField(Some(r)))
            }
            read_as!(RecordField(None); bool, i64, u64, f64, str, unit, seq);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A stack trace: an array of strings (Python, Node, Java, .NET; Python's entries hold two
/// lines each), an array of Go frames `{path, line, label}`, or one string (split at lines).
/// Each entry is trimmed line by line; Go frames render as `label (path:line)`.
#[derive(Default)]
pub(super) struct Stack(pub Option<Vec<String>>);

/// Trim every line of a multi-line stack entry, drop blank lines and Python's `^^^` marker
/// lines, join with `\n`.
pub(super) fn tidy_frame(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in super::scan::lines(s) {
        let t = line.trim();
        if t.is_empty() || t.bytes().all(|b| matches!(b, b'^' | b'~' | b' ')) {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(t);
    }
    out
}

impl<'de> Deserialize<'de> for Stack {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Stack;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a stack trace")
            }
            fn visit_str<E>(self, v: &str) -> Result<Stack, E> {
                let frames = super::scan::lines(v)
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect();
                Ok(Stack(Some(frames)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Stack, A::Error> {
                let mut out = Vec::new();
                while let Some(f) = seq.next_element::<Frame>()? {
                    if let Some(f) = f.0.filter(|f| !f.is_empty()) {
                        out.push(f);
                    }
                }
                Ok(Stack(Some(out)))
            }
            read_as!(Stack(None); bool, i64, u64, f64, unit, map);
        }
        d.deserialize_any(V)
    }
}

/// One stack entry.
struct Frame(Option<String>);

/// A Go frame: `{"path": "/var/task/main.go", "line": 12, "label": "handler"}`
/// (aws-lambda-go `lambda/messages/messages.go`).
#[derive(Deserialize, Default)]
struct GoFrame<'a> {
    #[serde(default, borrow)]
    path: Text<'a>,
    #[serde(default)]
    line: Num,
    #[serde(default, borrow)]
    label: Text<'a>,
}

impl<'de> Deserialize<'de> for Frame {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Frame;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a stack frame")
            }
            fn visit_str<E>(self, v: &str) -> Result<Frame, E> {
                Ok(Frame(Some(tidy_frame(v))))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Frame, A::Error> {
                let g = GoFrame::deserialize(MapAccessDeserializer::new(map))?;
                let label = g.label.get().unwrap_or("");
                let path = g.path.get().unwrap_or("");
                Ok(Frame(Some(match g.line.0 {
                    Some(n) => format!("{label} ({path}:{n})"),
                    None => format!("{label} ({path})"),
                })))
            }
            read_as!(Frame(None); bool, i64, u64, f64, unit, seq);
        }
        d.deserialize_any(V)
    }
}
