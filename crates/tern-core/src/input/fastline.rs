//! The fast path for JSON lines: a flat object of strings and integers.
//!
//! JSON lines are the hot path (the reference corpus is 2.3M events in 700 MB), and going
//! through serde's visitors costs ~20 ns per string for the five keys and four values of a
//! line. Nearly every line is a flat object `{"logGroup":"…","logStream":"…","timestamp":
//! 123,"message":"…","id":"…"}`, so this scanner reads exactly that shape. Anything else —
//! nested values, `null`, floats, escaped keys, invalid UTF-8, bad syntax — returns `None`
//! and the line goes through serde_json, which decides and explains. On every line both
//! accept they agree (a property test below checks it).

use std::borrow::Cow;

use super::json_str::{find_byte, has_byte, unescape, JsonText};
use super::models::{RawEvent, Scalar};

/// A value the fast path understands.
enum Value<'a> {
    /// A string literal: its text with quotes, and whether it has escapes.
    Str {
        literal: &'a str,
        escaped: bool,
    },
    Int(i64),
}

impl<'a> Value<'a> {
    fn scalar(self) -> Scalar<'a> {
        match self {
            Value::Int(n) => Scalar::Int(n),
            Value::Str { literal, escaped } => {
                let inner = literal.get(1..literal.len() - 1).unwrap_or("");
                if escaped {
                    Scalar::Str(Cow::Owned(unescape(inner)))
                } else {
                    Scalar::Str(Cow::Borrowed(inner))
                }
            }
        }
    }
}

/// Read a flat JSON object line, or `None` when it is anything the fast path does not take.
pub fn parse(line: &[u8]) -> Option<RawEvent<'_>> {
    let s = std::str::from_utf8(line).ok()?;
    let b = s.as_bytes();
    let mut ev = RawEvent::default();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            // key
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let (key, key_end) = match known_key(b, i + 1) {
                Some(known) => known,
                None => {
                    let (end, escaped) = string_end(b, i + 1)?;
                    if escaped {
                        return None;
                    }
                    (Key::Other, end)
                }
            };
            i = skip_ws(b, key_end + 1);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            // value
            let start = i;
            let value = match b.get(i)? {
                b'"' => {
                    let (end, escaped) = string_end(b, i + 1)?;
                    i = end + 1;
                    Value::Str {
                        literal: s.get(start..i)?,
                        escaped,
                    }
                }
                b'-' | b'0'..=b'9' => {
                    let (n, used) = integer(b, i)?;
                    i += used;
                    Value::Int(n)
                }
                _ => return None,
            };
            match key {
                Key::Message => match value {
                    Value::Str { literal, .. } => ev.message = Some(JsonText(literal)),
                    Value::Int(_) => return None,
                },
                Key::Timestamp => ev.timestamp = Some(value.scalar()),
                Key::LogStream => ev.log_stream = Some(value.scalar()),
                Key::LogGroup => ev.log_group = Some(value.scalar()),
                Key::Id => ev.id = Some(value.scalar()),
                Key::Other => {}
            }
            i = skip_ws(b, i);
            match b.get(i)? {
                b',' => i = skip_ws(b, i + 1),
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some(ev)
}

#[derive(Clone, Copy)]
enum Key {
    Message,
    Timestamp,
    LogStream,
    LogGroup,
    Id,
    Other,
}

/// A known key starting at `at` (just after its opening quote), and its closing quote's
/// index: one comparison or two, chosen by the first letter. Each name includes its closing
/// quote, so a longer key (`messages`) never matches a shorter one.
fn known_key(b: &[u8], at: usize) -> Option<(Key, usize)> {
    let rest = b.get(at..)?;
    let candidates: &[(&[u8], Key)] = match rest.first()? {
        b'm' => &[(b"message\"", Key::Message)],
        b't' => &[(b"timestamp\"", Key::Timestamp)],
        b'l' => &[
            (b"logStream\"", Key::LogStream),
            (b"logGroup\"", Key::LogGroup),
            (b"logStreamName\"", Key::LogStream),
            (b"logGroupName\"", Key::LogGroup),
        ],
        b'i' => &[(b"id\"", Key::Id), (b"ingestionTime\"", Key::Other)],
        b'e' => &[(b"eventId\"", Key::Id)],
        _ => return None,
    };
    candidates
        .iter()
        .find(|(name, _)| rest.starts_with(name))
        .map(|&(name, key)| (key, at + name.len() - 1))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = b.get(i) {
        i += 1;
    }
    i
}

/// The index of the closing quote of a string whose first content byte is at `from`, and
/// whether it has escapes. Raw control characters, which JSON forbids inside strings and
/// serde_json rejects, are let through here: a raw tab in a message is no reason to drop it.
fn string_end(b: &[u8], from: usize) -> Option<(usize, bool)> {
    let mut pos = from;
    let mut escaped = false;
    loop {
        pos = find_byte(
            b,
            pos,
            |w| has_byte(w, b'"') | has_byte(w, b'\\'),
            |c| c == b'"' || c == b'\\',
        )?;
        if b[pos] == b'"' {
            return Some((pos, escaped));
        }
        escaped = true;
        match b.get(pos + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => pos += 2,
            // \uXXXX: leave surrogate checks to serde_json.
            b'u' => {
                let hex = b.get(pos + 2..pos + 6)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let v = hex
                    .iter()
                    .fold(0u32, |v, &d| v * 16 + (d as char).to_digit(16).unwrap_or(0));
                if (0xD800..0xE000).contains(&v) {
                    return None;
                }
                pos += 6;
            }
            _ => return None,
        }
    }
}

/// A JSON integer of at most 18 digits; floats, exponents and longer numbers go to serde.
fn integer(b: &[u8], at: usize) -> Option<(i64, usize)> {
    let neg = b.get(at) == Some(&b'-');
    let digits_at = at + usize::from(neg);
    let mut i = digits_at;
    let mut v: i64 = 0;
    while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        if i - digits_at >= 18 {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
        i += 1;
    }
    let n = i - digits_at;
    if n == 0 || (n > 1 && b[digits_at] == b'0') || matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    Some((if neg { -v } else { v }, i - at))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn slow(line: &str) -> Option<RawEvent<'_>> {
        let mut de = serde_json::Deserializer::from_str(line);
        let raw: RawEvent = serde::Deserialize::deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(raw)
    }

    fn same(a: &RawEvent<'_>, b: &RawEvent<'_>) -> bool {
        let msg = |e: &RawEvent<'_>| e.message.and_then(super::super::json_str::string_of);
        a.log_group == b.log_group
            && a.log_stream == b.log_stream
            && a.timestamp == b.timestamp
            && a.id == b.id
            && msg(a) == msg(b)
    }

    #[test]
    fn typical_lines() {
        let line = r#"{"logGroup":"/aws/lambda/f","logStream":"2024/01/02/[$LATEST]ab","timestamp":1709640245003,"message":"START RequestId: x\tVersion: $LATEST\n","id":"3719","ingestionTime":1}"#;
        let fast = parse(line.as_bytes()).unwrap();
        assert!(same(&fast, &slow(line).unwrap()));
        assert_eq!(fast.timestamp, Some(Scalar::Int(1_709_640_245_003)));
        for line in [
            r#"{"message":"x","extra":{"a":1}}"#,
            r#"{"message":"x","timestamp":1.5}"#,
            r#"{"message":null}"#,
            r#"{"mess\u0061ge":"x"}"#,
            r#"{"message":"x"} trailing"#,
            r#"{"message":"x",}"#,
            r#"[1]"#,
        ] {
            assert!(parse(line.as_bytes()).is_none(), "{line}");
        }
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| (n / 10).to_string()),
            any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
            r#"[a-z \\"\\/\t\n]{0,12}"#.prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""\ud83d\ude00 \u00e9""#.to_string()),
            Just("1.5".to_string()),
            Just("null".to_string()),
            Just("[1,{\"a\":2}]".to_string()),
        ]
    }

    fn key() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "message",
            "timestamp",
            "logGroup",
            "logGroupName",
            "logStream",
            "logStreamName",
            "id",
            "eventId",
            "ingestionTime",
            "other",
        ])
    }

    proptest! {
        /// Whenever the fast path accepts a line, serde_json reads the same event from it.
        #[test]
        fn agrees_with_serde(fields in prop::collection::vec((key(), value()), 0..8), ws in " {0,2}") {
            let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\"{ws}:{ws}{v}")).collect();
            let line = format!("{ws}{{{}}}{ws}", body.join(","));
            if let Some(fast) = parse(line.as_bytes()) {
                let slow = slow(&line);
                prop_assert!(slow.is_some(), "serde rejects what the fast path took: {line}");
                prop_assert!(same(&fast, &slow.unwrap()), "{line}");
            }
        }

        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes);
        }
    }
}
