//! Wire shapes of the inputs, read with serde over borrowed text.
//!
//! Specs:
//! - `aws logs filter-log-events` / `get-log-events` output: botocore `logs/2014-03-28`,
//!   <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html>
//!   and `API_GetLogEvents.html`.
//! - Subscription payload (`messageType`, `logGroup`, `logStream`, `logEvents[{id,timestamp,
//!   message}]`, and since 2023 `policyLevel`):
//!   <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html>.
//! - Lambda `{"awslogs":{"data"}}`, Kinesis `{"Records":[{"kinesis":{"data"}}]}`, Firehose HTTP
//!   endpoint body `{"requestId","timestamp","records":[{"data"}]}`:
//!   <https://docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html>.
//!
//! **Never `deny_unknown_fields`:** AWS adds fields (`policyLevel` broke Vector, vector
//! issue #23262). Every struct here ignores keys it does not know, and no field type makes a
//! well-formed value fail: a value of the wrong type is kept as a [`Scalar`] and judged later,
//! so one odd event becomes a diagnostic instead of losing the payload around it.

use std::borrow::Cow;
use std::fmt;

use super::json_str::JsonText;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Any JSON value, kept when it is a scalar. Containers are skipped and only their kind is
/// remembered. Strings borrow from the input when they have no escapes.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Scalar<'a> {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Array,
    Object,
}

impl Scalar<'_> {
    /// The JSON type, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "a boolean",
            Scalar::Int(_) | Scalar::UInt(_) | Scalar::Float(_) => "a number",
            Scalar::Str(_) => "a string",
            Scalar::Array => "an array",
            Scalar::Object => "an object",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        // serde_json reports every non-negative integer here; keep one spelling per value.
        Ok(i64::try_from(v).map_or(Scalar::UInt(v), Scalar::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Object)
    }
}

/// One event as any input spells it: a `filter-log-events` / `get-log-events` event, a
/// subscription `logEvents[]` entry, or a JSON line. Every field is optional here; what is
/// required is decided when the event is built.
#[derive(Debug, Default, Clone)]
pub struct RawEvent<'a> {
    /// `logGroupName` or `logGroup`.
    pub log_group: Option<Scalar<'a>>,
    /// `logStreamName` or `logStream`.
    pub log_stream: Option<Scalar<'a>>,
    /// Epoch milliseconds, or an ISO-8601 string.
    pub timestamp: Option<Scalar<'a>>,
    /// Raw JSON, unescaped by [`super::json_str`] only once the event is known to be good.
    pub message: Option<JsonText<'a>>,
    /// `eventId` (CLI output) or `id` (subscription payload).
    pub id: Option<Scalar<'a>>,
}

/// Keys of [`RawEvent`]; anything else is skipped without being copied.
enum EventKey {
    LogGroup,
    LogStream,
    Timestamp,
    Message,
    Id,
    Other,
}

impl<'de> Deserialize<'de> for EventKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(EventKeyVisitor)
    }
}

struct EventKeyVisitor;

impl Visitor<'_> for EventKeyVisitor {
    type Value = EventKey;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, v: &str) -> Result<EventKey, E> {
        Ok(match v {
            "message" => EventKey::Message,
            "timestamp" => EventKey::Timestamp,
            "logStreamName" | "logStream" => EventKey::LogStream,
            "logGroupName" | "logGroup" => EventKey::LogGroup,
            "eventId" | "id" => EventKey::Id,
            _ => EventKey::Other,
        })
    }
}

impl<'de> Deserialize<'de> for RawEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RawEventVisitor)
    }
}

struct RawEventVisitor;

impl<'de> Visitor<'de> for RawEventVisitor {
    type Value = RawEvent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a log event object (with `timestamp` and `message`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut ev = RawEvent::default();
        while let Some(key) = map.next_key::<EventKey>()? {
            // A repeated key keeps its last value, as JavaScript and Python do.
            match key {
                EventKey::Message => ev.message = Some(map.next_value()?),
                EventKey::Timestamp => ev.timestamp = Some(map.next_value()?),
                EventKey::LogStream => ev.log_stream = Some(map.next_value()?),
                EventKey::LogGroup => ev.log_group = Some(map.next_value()?),
                EventKey::Id => ev.id = Some(map.next_value()?),
                EventKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ev)
    }
}

/// Top-level keys of a whole document. One visitor reads every envelope, so the key order
/// AWS happens to use never matters.
pub enum TopKey<'a> {
    /// `events`: `aws logs filter-log-events` / `get-log-events` output.
    Events,
    /// `logEvents`: a subscription payload.
    LogEvents,
    /// `messageType`: `DATA_MESSAGE` or `CONTROL_MESSAGE`.
    MessageType,
    /// `logGroup` / `logGroupName`.
    LogGroup,
    /// `logStream` / `logStreamName`.
    LogStream,
    /// `awslogs`: a Lambda event from a subscription.
    Awslogs,
    /// `Records`: a Kinesis event (`Records[].kinesis.data`) or `aws kinesis get-records`
    /// output (`Records[].Data`).
    KinesisRecords,
    /// `records`: a Firehose HTTP endpoint body or transformation event (`records[].data`).
    FirehoseRecords,
    /// A single event written as a document (one JSON line object).
    Timestamp,
    Message,
    Id,
    Other(Cow<'a, str>),
}

impl<'de> Deserialize<'de> for TopKey<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(TopKeyVisitor)
    }
}

struct TopKeyVisitor;

impl TopKeyVisitor {
    fn known(v: &str) -> Option<TopKey<'static>> {
        Some(match v {
            "events" => TopKey::Events,
            "logEvents" => TopKey::LogEvents,
            "messageType" => TopKey::MessageType,
            "logGroup" | "logGroupName" => TopKey::LogGroup,
            "logStream" | "logStreamName" => TopKey::LogStream,
            "awslogs" => TopKey::Awslogs,
            "Records" => TopKey::KinesisRecords,
            "records" => TopKey::FirehoseRecords,
            "timestamp" => TopKey::Timestamp,
            "message" => TopKey::Message,
            "id" | "eventId" => TopKey::Id,
            _ => return None,
        })
    }
}

impl<'de> Visitor<'de> for TopKeyVisitor {
    type Value = TopKey<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Self::known(v).unwrap_or(TopKey::Other(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Self::known(v).unwrap_or_else(|| TopKey::Other(Cow::Owned(v.to_owned()))))
    }
}

/// Keys of a transport record: a Firehose `records[]` entry (`data`), a Kinesis event record
/// (`kinesis.data`), a `get-records` record (`Data`), or the Lambda `awslogs` object (`data`).
pub enum RecordKey {
    Data,
    Kinesis,
    Other,
}

impl<'de> Deserialize<'de> for RecordKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(RecordKeyVisitor)
    }
}

struct RecordKeyVisitor;

impl Visitor<'_> for RecordKeyVisitor {
    type Value = RecordKey;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, v: &str) -> Result<RecordKey, E> {
        Ok(match v {
            "data" | "Data" => RecordKey::Data,
            "kinesis" => RecordKey::Kinesis,
            _ => RecordKey::Other,
        })
    }
}

/// A transport record or the `kinesis` object inside one: its base64 `data`, wherever it is.
#[derive(Debug, Default)]
pub struct RecordData<'a> {
    pub data: Option<Scalar<'a>>,
}

impl<'de> Deserialize<'de> for RecordData<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordDataVisitor)
    }
}

struct RecordDataVisitor;

impl<'de> Visitor<'de> for RecordDataVisitor {
    type Value = RecordData<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record object with `data`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut rec = RecordData::default();
        while let Some(key) = map.next_key::<RecordKey>()? {
            match key {
                RecordKey::Data => rec.data = Some(map.next_value()?),
                RecordKey::Kinesis => {
                    let inner: RecordData<'de> = map.next_value()?;
                    if inner.data.is_some() {
                        rec.data = inner.data;
                    }
                }
                RecordKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(rec)
    }
}
