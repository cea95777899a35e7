//! Small byte-level helpers shared by the text parsers. Everything here slices only at ASCII
//! bytes (always char boundaries in UTF-8) or through `str::get`, so no input can panic.

use crate::model::Level;

/// Space, tab, CR or LF.
#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `s` without leading spaces, tabs, CRs and LFs.
#[inline]
pub(crate) fn skip_ws(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| is_ws(b)).count();
    s.get(n..).unwrap_or("")
}

/// Split `s` at its first whitespace byte: `(token, rest)`; `rest` starts at the whitespace.
#[inline]
pub(crate) fn token(s: &str) -> (&str, &str) {
    let b = s.as_bytes();
    let mut n = 0;
    // Eight bytes at a time while none is at most `b' '` (every whitespace byte is): request
    // ids and trace ids are tokens of 35-36 bytes.
    while let Some(eight) = b.get(n..).and_then(<[u8]>::first_chunk::<8>) {
        if has_less(u64::from_le_bytes(*eight), b' ' + 1) != 0 {
            break;
        }
        n += 8;
    }
    while b.get(n).is_some_and(|&c| !is_ws(c)) {
        n += 1;
    }
    (s.get(..n).unwrap_or(s), s.get(n..).unwrap_or(""))
}

/// Nonzero when some byte of `w` is below `n` (`n` at most 128).
#[inline]
fn has_less(w: u64, n: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    w.wrapping_sub(ONES * u64::from(n)) & !w & (ONES << 7)
}

/// Whether `b` (the byte after a keyword) ends the keyword: whitespace or the end.
#[inline]
pub(crate) fn ends_word(b: Option<&u8>) -> bool {
    b.is_none_or(|&b| is_ws(b))
}

/// A log level word as the runtimes print it: Node/Java `INFO`, Python `WARNING` and
/// `CRITICAL`, .NET `info`/`warn`/`fail`/`crit`/`dbug`/`trce` and `Information`, JSON
/// `"level": "debug"`. Case-insensitive.
pub(crate) fn level_from_word(w: &str) -> Option<Level> {
    let eq = |s: &str| w.eq_ignore_ascii_case(s);
    match w.len() {
        4 if eq("INFO") => Some(Level::Info),
        4 if eq("WARN") => Some(Level::Warn),
        4 if eq("FAIL") => Some(Level::Error),
        4 if eq("CRIT") => Some(Level::Fatal),
        4 if eq("DBUG") => Some(Level::Debug),
        4 if eq("TRCE") => Some(Level::Trace),
        5 if eq("ERROR") => Some(Level::Error),
        5 if eq("DEBUG") => Some(Level::Debug),
        5 if eq("TRACE") => Some(Level::Trace),
        5 if eq("FATAL") => Some(Level::Fatal),
        7 if eq("WARNING") => Some(Level::Warn),
        8 if eq("CRITICAL") => Some(Level::Fatal),
        11 if eq("INFORMATION") => Some(Level::Info),
        _ => None,
    }
}

/// Pino-style numeric levels (10 trace … 60 fatal).
pub(crate) fn level_from_number(n: f64) -> Option<Level> {
    match n {
        n if n >= 60.0 => Some(Level::Fatal),
        n if n >= 50.0 => Some(Level::Error),
        n if n >= 40.0 => Some(Level::Warn),
        n if n >= 30.0 => Some(Level::Info),
        n if n >= 20.0 => Some(Level::Debug),
        n if n >= 10.0 => Some(Level::Trace),
        _ => None,
    }
}

/// A request id the runtime printed, or `None` for the placeholders runtimes print outside an
/// invocation (empty in Python, `undefined` in Node).
pub(crate) fn request_id(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || s == "undefined" || s == "null" {
        None
    } else {
        Some(s.to_string())
    }
}

/// Whether `s` looks like a Lambda request id: a 36-character UUID (hex and dashes).
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A non-negative finite metric value. Every metric is read as f64 first: AWS documents
/// integers but has printed floats (open-telemetry/opentelemetry-lambda#2011).
pub(crate) fn metric(v: &str) -> Option<f64> {
    if let Some(x) = plain_decimal(v) {
        return Some(x);
    }
    v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0)
}

/// Powers of ten that are exact in an f64.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `digits[.digits]` with at most 15 digits in all (every REPORT value): the digits as an
/// integer are exact in an f64, and so is the power of ten, so one correctly rounded division
/// gives exactly what `str::parse::<f64>` gives (Clinger's fast path). `None` for any other
/// spelling, which the general parser then reads.
fn plain_decimal(v: &str) -> Option<f64> {
    let mut m: u64 = 0;
    let mut digits = 0usize;
    let mut frac: Option<usize> = None;
    for &c in v.as_bytes() {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if digits > 15 {
                    return None;
                }
                m = m * 10 + u64::from(c - b'0');
                if let Some(f) = frac.as_mut() {
                    *f += 1;
                }
            }
            b'.' if frac.is_none() => frac = Some(0),
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    Some(m as f64 / POW10.get(frac.unwrap_or(0)).copied()?)
}

/// A metric in MB as u32, rounding any fraction.
pub(crate) fn megabytes(v: f64) -> Option<u32> {
    (v.is_finite() && v >= 0.0 && v <= f64::from(u32::MAX)).then(|| v.round() as u32)
}

/// Lines of a message, split at LF or CR (Python's stdout sink and Node's stdout logger join
/// lines with CR), without the separators.
pub(crate) fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.split(['\n', '\r'])
}

/// Whether `t` can be an exception type name: `KeyError`, `java.lang.ArithmeticException`,
/// `Runtime.ImportModuleError`, `Function<TypeError>`, `System.ApplicationException`,
/// `errorString`, `Foo$Bar`.
pub(crate) fn is_type_name(t: &str) -> bool {
    let mut bytes = t.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && t.len() <= 200
        && bytes.all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'$' | b'<' | b'>' | b'`' | b'+')
        })
}

/// Split `Type: message` (or a bare `Type`) when the part before `: ` is a type name.
pub(crate) fn split_type_message(s: &str) -> Option<(&str, &str)> {
    match s.find(": ") {
        Some(i) => {
            let (t, m) = (s.get(..i)?, s.get(i + 2..)?);
            is_type_name(t).then_some((t, m))
        }
        None => {
            let t = s.strip_suffix(':').unwrap_or(s);
            is_type_name(t).then_some((t, ""))
        }
    }
}

/// A line of a stack trace that names a frame: `at …` in Java, .NET and Node.
pub(crate) fn is_at_frame(line: &str) -> bool {
    line.trim_start().starts_with("at ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(level_from_word("INFO"), Some(Level::Info));
        assert_eq!(level_from_word("fail"), Some(Level::Error));
        assert_eq!(level_from_word("WARNING"), Some(Level::Warn));
        assert_eq!(level_from_word("Critical"), Some(Level::Fatal));
        assert_eq!(level_from_word("Information"), Some(Level::Info));
        assert_eq!(level_from_word("NOTICE"), None);
        assert_eq!(level_from_number(30.0), Some(Level::Info));
        assert_eq!(level_from_number(5.0), None);
    }

    #[test]
    fn type_names() {
        assert!(is_type_name("java.lang.ArithmeticException"));
        assert!(is_type_name("Function<TypeError>"));
        assert!(!is_type_name("]EVENT TYPE"));
        assert!(!is_type_name("/ by zero"));
        assert_eq!(
            split_type_message("KeyError: 'action'"),
            Some(("KeyError", "'action'"))
        );
        assert_eq!(
            split_type_message("StopIteration"),
            Some(("StopIteration", ""))
        );
        assert_eq!(split_type_message("something broke: badly"), None);
    }

    /// The fast path for plain decimals gives exactly what `str::parse::<f64>` gives.
    #[test]
    fn plain_decimals_parse_like_std() {
        for v in [
            "0",
            "0.0",
            "619.31",
            "1233.96",
            "463.512",
            "9.14",
            "1.",
            ".5",
            "007",
            "0.1",
            "0.3",
            "123456789012345",
            "12345678901234.5",
            "0.000000000000001",
            "99999.999999",
        ] {
            let std = v.parse::<f64>().ok();
            assert!(plain_decimal(v).is_none_or(|x| Some(x) == std), "{v}");
            assert_eq!(metric(v), std, "{v}");
        }
        // REPORT's values take the fast path.
        assert_eq!(plain_decimal("619.31"), Some(619.31));
        assert_eq!(plain_decimal("128"), Some(128.0));
        for v in [
            "",
            ".",
            "1.2.3",
            "-1",
            "+1",
            "1e3",
            "1234567890123456",
            "1,5",
            " 1",
            "inf",
        ] {
            assert_eq!(plain_decimal(v), None, "{v}");
        }
        assert_eq!(metric("1e3"), Some(1000.0));
        assert_eq!(metric("-1"), None);
    }

    proptest::proptest! {
        #[test]
        fn plain_decimals_agree_with_std(int in "[0-9]{1,9}", frac in proptest::option::of("[0-9]{0,8}")) {
            let v = match frac {
                Some(f) => format!("{int}.{f}"),
                None => int,
            };
            let fast = plain_decimal(&v);
            if fast.is_some() {
                proptest::prop_assert_eq!(fast, v.parse::<f64>().ok(), "{}", v);
            }
        }
    }

    /// `token` as it was written first, one byte at a time.
    fn token_bytewise(s: &str) -> (&str, &str) {
        let n = s.bytes().take_while(|&b| !is_ws(b)).count();
        (s.get(..n).unwrap_or(s), s.get(n..).unwrap_or(""))
    }

    #[test]
    fn token_stops_at_the_first_whitespace_anywhere() {
        for pos in 0..20 {
            for stop in [" ", "\t", "\r", "\n", "\u{0}", "\u{1f}", "!", "é", ""] {
                let s = format!("{}{stop}x y", "a".repeat(pos));
                assert_eq!(token(&s), token_bytewise(&s), "{s:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn token_agrees_with_bytewise(s in "[a-z \t\r\n\u{0}-\u{21}é]{0,40}") {
            proptest::prop_assert_eq!(token(&s), token_bytewise(&s));
        }
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("4299ee26-8d1d-4ea9-bd43-77b85ed96cfe"));
        assert!(!is_uuid("4299ee26-8d1d-4ea9-bd43-77b85ed96cf"));
        assert!(!is_uuid("4299ee26x8d1d-4ea9-bd43-77b85ed96cfe"));
    }
}
