//! Minimal JSON string escaping, for building messages and output lines without a
//! `serde_json::Value` per event.

/// Append `s` to `out` as a JSON string body (no quotes): `"` `\` and control characters
/// escaped, everything else (including non-ASCII such as U+00A0) copied as UTF-8.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\t' => b"\\t",
            b'\r' => b"\\r",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.extend_from_slice(&bytes[run..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
                run = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        out.extend_from_slice(esc);
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
}

/// Append `s` as a quoted JSON string to a `String`.
pub fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                super::sample::push_hex(out, u64::from(c as u32), 2);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_match_serde_json() {
        let s = "a\"b\\c\nd\te\r\u{1}\u{a0}end";
        let mut v = Vec::new();
        v.push(b'"');
        escape_into(&mut v, s);
        v.push(b'"');
        let back: String = serde_json::from_slice(&v).unwrap();
        assert_eq!(back, s);
        let mut q = String::new();
        push_quoted(&mut q, s);
        let back: String = serde_json::from_str(&q).unwrap();
        assert_eq!(back, s);
    }
}
