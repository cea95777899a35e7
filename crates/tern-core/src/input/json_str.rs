//! JSON string literals, unescaped by hand.
//!
//! serde_json unescapes a string with escapes into a scratch buffer that each new
//! `Deserializer` grows from empty, and the value is then copied again. Lambda messages
//! nearly always contain escapes (`\n`, `\t`), and a fresh deserializer reads every JSON
//! line, so messages are taken as raw text instead and unescaped here, into one String of
//! the right size. serde_json has already checked the literal's syntax; this code still
//! accepts anything without panicking (a bad escape becomes U+FFFD).

use std::fmt;

use serde::de::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The text of one JSON value as it stands in the input (a string keeps its quotes and
/// escapes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct JsonText<'a>(pub &'a str);

impl fmt::Debug for JsonText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'de> Deserialize<'de> for JsonText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(d).map(|raw| JsonText(raw.get()))
    }
}

/// What a raw JSON value is, when it is not the string wanted.
pub fn kind_of(raw: JsonText<'_>) -> &'static str {
    match raw.0.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The string a raw JSON value holds, or `None` when it is not a string.
pub fn string_of(raw: JsonText<'_>) -> Option<String> {
    let text = raw.0;
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    Some(unescape(inner))
}

/// Unescape the inside of a JSON string literal.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut start = 0;
    while let Some(at) = find_byte(b, start, |w| has_byte(w, b'\\'), |c| c == b'\\') {
        out.push_str(s.get(start..at).unwrap_or(""));
        let (ch, used) = escape_at(b, at + 1);
        out.push(ch);
        start = at + 1 + used;
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `w` that equals `b`. Only the lowest set bit is exact (a
/// borrow can mark a byte above a match), which is all [`find_byte`] reads.
#[inline]
pub(super) fn has_byte(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & (ONES << 7)
}

/// The index of the first byte at or after `from` that `one` accepts, eight bytes at a time
/// (`word` marks the bytes `one` accepts in a little-endian word, as [`has_byte`] does).
/// JSON strings run a few dozen bytes between escapes, too short for `memchr`'s setup to pay.
#[inline]
pub(super) fn find_byte(
    b: &[u8],
    from: usize,
    word: impl Fn(u64) -> u64,
    one: impl Fn(u8) -> bool,
) -> Option<usize> {
    let rest = b.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    let mut at = from;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = word(u64::from_le_bytes(w));
        if m != 0 {
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| one(c))
        .map(|i| at + i)
}

/// The character of the escape whose letter is at `at`, and how many bytes it used after
/// the backslash. Only ASCII bytes are ever consumed, so slicing stays on char boundaries.
fn escape_at(b: &[u8], at: usize) -> (char, usize) {
    let ch = match b.get(at) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return unicode_escape(b, at + 1),
        Some(c) if c.is_ascii() => return ('\u{fffd}', 1),
        _ => return ('\u{fffd}', 0),
    };
    (ch, 1)
}

/// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`, starting at the first hex digit.
fn unicode_escape(b: &[u8], at: usize) -> (char, usize) {
    let Some(hi) = hex4(b, at) else {
        return ('\u{fffd}', 1);
    };
    if (0xD800..0xDC00).contains(&hi) {
        if b.get(at + 4) == Some(&b'\\') && b.get(at + 5) == Some(&b'u') {
            if let Some(lo) = hex4(b, at + 6).filter(|lo| (0xDC00..0xE000).contains(lo)) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return (char::from_u32(c).unwrap_or('\u{fffd}'), 11);
            }
        }
        return ('\u{fffd}', 5);
    }
    (char::from_u32(hi).unwrap_or('\u{fffd}'), 5)
}

fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    let mut v = 0u32;
    for &d in digits {
        v = v * 16 + (d as char).to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn agrees_with_serde_json() {
        for lit in [
            r#""plain""#,
            r#""tab\tnewline\n quote\" slash\/ back\\ \b\f\r""#,
            r#""caf\u00e9 \u2713 \ud83d\ude00 é""#,
            r#""""#,
            r#""\u0000""#,
        ] {
            let raw: JsonText = serde_json::from_str(lit).unwrap();
            let want: String = serde_json::from_str(lit).unwrap();
            assert_eq!(string_of(raw).unwrap(), want, "{lit}");
        }
    }

    #[test]
    fn tolerates_what_serde_json_would_reject() {
        assert_eq!(unescape(r"\ud83d alone"), "\u{fffd} alone");
        assert_eq!(unescape(r"\ude00"), "\u{fffd}");
        assert_eq!(unescape(r"\x"), "\u{fffd}");
        assert_eq!(unescape("\\é"), "\u{fffd}é");
        assert_eq!(unescape("end\\"), "end\u{fffd}");
        assert_eq!(unescape(r"\u12"), "\u{fffd}12");
    }

    #[test]
    fn finds_bytes_in_every_position() {
        for len in 0..40 {
            for at in 0..=len {
                let mut b = vec![b'a'; len];
                if at < len {
                    b[at] = b'"';
                    // A byte just above the match that a borrow could mark.
                    if at + 1 < len {
                        b[at + 1] = b'#';
                    }
                }
                let want = (at < len).then_some(at);
                let got = find_byte(&b, 0, |w| has_byte(w, b'"'), |c| c == b'"');
                assert_eq!(got, want, "len {len} at {at}");
                for from in 0..=len {
                    let got = find_byte(&b, from, |w| has_byte(w, b'"'), |c| c == b'"');
                    assert_eq!(got, want.filter(|&w| w >= from), "from {from}");
                }
            }
        }
    }

    #[test]
    fn kinds() {
        let raw: JsonText = serde_json::from_str("[1]").unwrap();
        assert_eq!(kind_of(raw), "an array");
        assert_eq!(string_of(raw), None);
    }
}
