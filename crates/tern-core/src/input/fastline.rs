//! The fast path for JSON lines: a flat object of strings and integers.
//!
//! JSON lines are the hot path (the reference corpus is 2.3M events in 871 MB), and going
//! through serde's visitors costs ~20 ns per string for the five keys and four values of a
//! line. Nearly every line is a flat object `{"logGroup":"…","logStream":"…","timestamp":
//! 123,"message":"…","id":"…"}`, so this scanner reads exactly that shape. Anything else —
//! nested values, `null`, floats, escaped keys, invalid UTF-8, bad syntax — returns `None`
//! and the line goes through serde_json, which decides and explains. On every line both
//! accept they agree (a property test below checks it).
//!
//! The message is unescaped while it is scanned, in one pass, into a scratch buffer the
//! caller reuses; only the finished text is copied into a `String` of exactly its size.
//! (Copying eight bytes per step into a byte buffer instead, then checking the UTF-8 of the
//! result, ran more instructions.)

use std::borrow::Cow;

use super::json_str::{find_byte, has_byte, unescape};
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

/// A line the fast path read: every field but the message as [`RawEvent`] has them
/// (`raw.message` stays `None`), and the message already unescaped.
#[derive(Debug, Default)]
pub struct FastEvent<'a> {
    pub raw: RawEvent<'a>,
    pub message: Option<String>,
    /// The group and stream are the hints' names (a repeat recognised by one comparison),
    /// so the interner need not compare them again.
    pub same: Same,
}

/// Which of the names read are the [`Hints`]' names.
#[derive(Debug, Default, Clone, Copy)]
pub struct Same {
    pub group: bool,
    pub stream: bool,
}

/// The group and stream names of the line before, when JSON spells them as their own bytes
/// (no `"`, no `\\`; `""` for none). Consecutive lines mostly repeat them, and a repeat is
/// then recognised with one comparison instead of a scan for the string's end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints<'h> {
    pub group: &'h str,
    pub stream: &'h str,
}

/// Read a flat JSON object line, or `None` when it is anything the fast path does not take.
/// `scratch` is working space for the message (its contents on return are unspecified).
pub fn parse<'a>(line: &'a [u8], scratch: &mut String, hints: Hints<'_>) -> Option<FastEvent<'a>> {
    let s = std::str::from_utf8(line).ok()?;
    let b = s.as_bytes();
    let mut ev = FastEvent::default();
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
            if let Key::Message = key {
                // Only a string is taken; anything else goes to serde, which explains.
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                scratch.clear();
                let end = string_into(s, i + 1, scratch)?;
                // A repeated key keeps its last value, as serde_json's reading does.
                ev.message = Some(String::from(scratch.as_str()));
                i = end + 1;
            } else if let Some(len) = repeat_of(b, i, key, hints) {
                // `"` + the hint's bytes + `"`: the same name, with no escapes.
                let name = Scalar::Str(Cow::Borrowed(s.get(i + 1..i + 1 + len)?));
                if let Key::LogGroup = key {
                    ev.raw.log_group = Some(name);
                    ev.same.group = true;
                } else {
                    ev.raw.log_stream = Some(name);
                    ev.same.stream = true;
                }
                i += len + 2;
            } else {
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
                    Key::Timestamp => ev.raw.timestamp = Some(value.scalar()),
                    Key::LogStream => {
                        ev.raw.log_stream = Some(value.scalar());
                        ev.same.stream = false;
                    }
                    Key::LogGroup => {
                        ev.raw.log_group = Some(value.scalar());
                        ev.same.group = false;
                    }
                    Key::Id => ev.raw.id = Some(value.scalar()),
                    Key::Message | Key::Other => {}
                }
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

/// When the value at `at` of a group or stream key is the string literal `"<hint>"`, the
/// hint's length.
#[inline]
fn repeat_of(b: &[u8], at: usize, key: Key, hints: Hints<'_>) -> Option<usize> {
    let hint = match key {
        Key::LogGroup => hints.group,
        Key::LogStream => hints.stream,
        _ => return None,
    }
    .as_bytes();
    let len = hint.len();
    let lit = b.get(at..at + len + 2)?;
    (len > 0 && lit[0] == b'"' && lit[len + 1] == b'"' && &lit[1..=len] == hint).then_some(len)
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
/// index, chosen by the first letter. Each name is compared with its closing quote as one
/// fixed-size array (a register compare, no `memcmp` call), so a longer key (`messages`)
/// never matches a shorter one.
fn known_key(b: &[u8], at: usize) -> Option<(Key, usize)> {
    let rest = b.get(at..)?;
    /// Whether `rest` starts with the array `name`.
    fn is<const N: usize>(rest: &[u8], name: &[u8; N]) -> bool {
        rest.first_chunk::<N>() == Some(name)
    }
    let (key, len) = match rest.first()? {
        b'm' if is(rest, b"message\"") => (Key::Message, 8),
        b't' if is(rest, b"timestamp\"") => (Key::Timestamp, 10),
        b'l' if is(rest, b"logStream\"") => (Key::LogStream, 10),
        b'l' if is(rest, b"logGroup\"") => (Key::LogGroup, 9),
        b'l' if is(rest, b"logStreamName\"") => (Key::LogStream, 14),
        b'l' if is(rest, b"logGroupName\"") => (Key::LogGroup, 13),
        b'i' if is(rest, b"id\"") => (Key::Id, 3),
        b'i' if is(rest, b"ingestionTime\"") => (Key::Other, 14),
        b'e' if is(rest, b"eventId\"") => (Key::Id, 8),
        _ => return None,
    };
    Some((key, at + len - 1))
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

/// Scan the string whose first content byte is at `from`, appending its unescaped text to
/// `out`, and return the index of its closing quote. Accepts exactly what [`string_end`]
/// accepts (no surrogate escapes: those go to serde_json), and for those strings gives what
/// [`unescape`] gives.
fn string_into(s: &str, from: usize, out: &mut String) -> Option<usize> {
    let b = s.as_bytes();
    let mut start = from;
    loop {
        let pos = find_byte(
            b,
            start,
            |w| has_byte(w, b'"') | has_byte(w, b'\\'),
            |c| c == b'"' || c == b'\\',
        )?;
        // `start` and `pos` are at ASCII bytes (or the string's ends): char boundaries.
        out.push_str(s.get(start..pos)?);
        if b[pos] == b'"' {
            return Some(pos);
        }
        let (ch, used) = match b.get(pos + 1)? {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let hex = b.get(pos + 2..pos + 6)?;
                let mut v = 0u32;
                for &d in hex {
                    v = v * 16 + (d as char).to_digit(16)?;
                }
                // Surrogates (paired or not) are left to serde_json, as in `string_end`.
                (char::from_u32(v)?, 6)
            }
            _ => return None,
        };
        out.push(ch);
        start = pos + used;
    }
}

/// A JSON integer of at most 18 digits; floats, exponents and longer numbers go to serde.
/// Eight digits at a time where it can (epoch milliseconds have 13).
fn integer(b: &[u8], at: usize) -> Option<(i64, usize)> {
    let neg = b.get(at) == Some(&b'-');
    let digits_at = at + usize::from(neg);
    let mut i = digits_at;
    let mut v: i64 = 0;
    while let Some(eight) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let Some(n) = eight_digits(u64::from_le_bytes(*eight)) else {
            break;
        };
        if i - digits_at >= 16 {
            return None;
        }
        v = v * 100_000_000 + n;
        i += 8;
    }
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

/// The value of eight ASCII digits read as a little-endian word, or `None` when any byte is
/// not a digit.
#[inline]
fn eight_digits(w: u64) -> Option<i64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    // Each byte minus '0' must be 0..=9: no borrow out of any byte, and adding 6 keeps it
    // below 16.
    let d = w.wrapping_sub(ZEROS);
    if (w & 0xF0F0_F0F0_F0F0_F0F0) != ZEROS
        || (d.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) != 0
    {
        return None;
    }
    // Pairs, then quads, then all eight (the first digit is the lowest byte).
    let d = (d.wrapping_mul(10) + (d >> 8)) & 0x00FF_00FF_00FF_00FF;
    let d = (d.wrapping_mul(100) + (d >> 16)) & 0x0000_FFFF_0000_FFFF;
    let d = (d.wrapping_mul(10_000) + (d >> 32)) & 0xFFFF_FFFF;
    i64::try_from(d).ok()
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

    fn same_event(a: &FastEvent<'_>, b: &RawEvent<'_>) -> bool {
        a.raw.message.is_none()
            && a.raw.log_group == b.log_group
            && a.raw.log_stream == b.log_stream
            && a.raw.timestamp == b.timestamp
            && a.raw.id == b.id
            && a.message == b.message.and_then(super::super::json_str::string_of)
    }

    fn fast(line: &str) -> Option<FastEvent<'_>> {
        parse(line.as_bytes(), &mut String::new(), Hints::default())
    }

    #[test]
    fn typical_lines() {
        let line = r#"{"logGroup":"/aws/lambda/f","logStream":"2024/01/02/[$LATEST]ab","timestamp":1709640245003,"message":"START RequestId: x\tVersion: $LATEST\n","id":"3719","ingestionTime":1}"#;
        let ev = fast(line).unwrap();
        assert!(same_event(&ev, &slow(line).unwrap()));
        assert_eq!(ev.raw.timestamp, Some(Scalar::Int(1_709_640_245_003)));
        assert_eq!(
            ev.message.as_deref(),
            Some("START RequestId: x\tVersion: $LATEST\n")
        );
        for line in [
            r#"{"message":"x","extra":{"a":1}}"#,
            r#"{"message":"x","timestamp":1.5}"#,
            r#"{"message":null}"#,
            r#"{"message":5}"#,
            r#"{"message":"\ud83d\ude00"}"#,
            r#"{"message":"\x"}"#,
            r#"{"mess\u0061ge":"x"}"#,
            r#"{"message":"x"} trailing"#,
            r#"{"message":"x",}"#,
            r#"[1]"#,
        ] {
            assert!(fast(line).is_none(), "{line}");
        }
    }

    /// The message is unescaped as `json_str::unescape` does it, whatever the scratch
    /// buffer held before, and a repeated key keeps its last value.
    #[test]
    fn messages_unescape_like_json_str() {
        let mut scratch = String::from("left over");
        for (line, want) in [
            (
                r#"{"message":"a\"b\\c\/d\b\f\n\r\t"}"#,
                "a\"b\\c/d\u{8}\u{c}\n\r\t",
            ),
            (
                r#"{"message":"caf\u00e9 \u2713 \u0000 é"}"#,
                "café ✓ \u{0} é",
            ),
            (r#"{"message":""}"#, ""),
            (r#"{"message":"first","message":"second"}"#, "second"),
        ] {
            let ev = parse(line.as_bytes(), &mut scratch, Hints::default()).unwrap();
            assert_eq!(ev.message.as_deref(), Some(want), "{line}");
            assert!(same_event(&ev, &slow(line).unwrap()), "{line}");
        }
    }

    #[test]
    fn integers() {
        for (text, want) in [
            ("0", Some((0, 1))),
            ("7,", Some((7, 1))),
            ("-12345678", Some((-12_345_678, 9))),
            ("1709640245003}", Some((1_709_640_245_003, 13))),
            ("123456789012345678", Some((123_456_789_012_345_678, 18))),
            ("1234567890123456789", None),
            ("12345678:", Some((12_345_678, 8))),
            ("1234567/", Some((1_234_567, 7))),
            ("01", None),
            ("-", None),
            ("1.5", None),
            ("123456789e3", None),
        ] {
            assert_eq!(integer(text.as_bytes(), 0), want, "{text}");
        }
        for n in [0u64, 9, 10, 99_999_999, 10_000_000, 12_345_678, 90_000_001] {
            let text = format!("{n:08}");
            let w = u64::from_le_bytes(text.as_bytes().try_into().unwrap());
            assert_eq!(eight_digits(w), Some(n as i64), "{text}");
        }
        for text in [
            "1234567a",
            "/0000000",
            ":0000000",
            "0000000\x7f",
            "1234 678",
        ] {
            let w = u64::from_le_bytes(text.as_bytes().try_into().unwrap());
            assert_eq!(eight_digits(w), None, "{text}");
        }
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| (n / 10).to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            (0u64..100_000_000_000_000).prop_map(|n| n.to_string()),
            any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
            r#"[a-z \\"\\/\t\n]{0,12}"#.prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""\ud83d\ude00 \u00e9""#.to_string()),
            // Every character as a \uXXXX escape (surrogate pairs included).
            any::<String>().prop_map(|s| {
                let mut out = String::from("\"");
                for unit in s.encode_utf16() {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
                out.push('"');
                out
            }),
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
            if let Some(ev) = parse(line.as_bytes(), &mut String::from("x"), Hints::default()) {
                let slow = slow(&line);
                prop_assert!(slow.is_some(), "serde rejects what the fast path took: {line}");
                prop_assert!(same_event(&ev, &slow.unwrap()), "{line}");
            }
        }

        /// A hint (the previous line's names) never changes what a line reads as.
        #[test]
        fn hints_change_nothing(
            group in r#"[a-z/\\"]{0,6}"#,
            stream in r#"[a-z\[\]$\\"]{0,6}"#,
            hint_group in r#"[a-z/\\"]{0,6}"#,
            same in any::<bool>(),
            names in prop::sample::select(vec![("logGroup", "logStream"), ("logGroupName", "logStreamName")]),
        ) {
            let line = format!(
                r#"{{"{}":{},"{}":{},"timestamp":1,"message":"m"}}"#,
                names.0,
                serde_json::to_string(&group).unwrap(),
                names.1,
                serde_json::to_string(&stream).unwrap(),
            );
            let plain = |h: &str| if h.contains(['"', '\\']) { String::new() } else { h.to_string() };
            let (g, st) = if same { (plain(&group), plain(&stream)) } else { (plain(&hint_group), plain(&group)) };
            let hints = Hints { group: &g, stream: &st };
            let ev = parse(line.as_bytes(), &mut String::new(), hints).unwrap();
            prop_assert!(same_event(&ev, &slow(&line).unwrap()), "{line} {hints:?}");
            // `same` marks exactly the names equal to a (non-empty) hint.
            prop_assert_eq!(ev.same.group, !g.is_empty() && group == g, "{} {:?}", line, hints);
            prop_assert_eq!(ev.same.stream, !st.is_empty() && stream == st, "{} {:?}", line, hints);
        }

        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes, &mut String::new(), Hints::default());
            let _ = parse(&bytes, &mut String::new(), Hints { group: "/aws", stream: "x" });
        }
    }
}
