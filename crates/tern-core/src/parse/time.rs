//! A tiny, allocation-free reader for the timestamps runtimes print.
//!
//! Accepted: `YYYY-MM-DD` or `YYYY/MM/DD`, then `T` or a space, then `HH:MM:SS`, then an
//! optional fraction (`.` or `,`, any number of digits; milliseconds are kept), then an optional
//! zone: `Z`, `±HH:MM` or `±HHMM`. No zone means UTC (Lambda's `TZ` is UTC).
//! Examples: Node/Python `2025-10-21T18:58:10.653Z`, Go `2024/11/26 12:09:33`, Ruby
//! `2025-01-02T03:04:05.123456`, Powertools `2024-01-01 12:00:00,123+0000`.

/// Read a timestamp at the start of `s`. Returns epoch milliseconds and the number of bytes
/// consumed, or `None` when `s` does not start with a valid timestamp.
pub(crate) fn parse_prefix(s: &[u8]) -> Option<(i64, usize)> {
    let year = digits(s, 0, 4)?;
    let sep = *s.get(4)?;
    if sep != b'-' && sep != b'/' {
        return None;
    }
    let month = digits(s, 5, 2)?;
    if *s.get(7)? != sep {
        return None;
    }
    let day = digits(s, 8, 2)?;
    if !matches!(s.get(10), Some(b'T' | b' ')) {
        return None;
    }
    let hour = digits(s, 11, 2)?;
    if *s.get(13)? != b':' {
        return None;
    }
    let minute = digits(s, 14, 2)?;
    if *s.get(16)? != b':' {
        return None;
    }
    let second = digits(s, 17, 2)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut pos = 19;
    let mut millis = 0i64;
    if matches!(s.get(pos), Some(b'.' | b',')) && s.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        pos += 1;
        let mut scale = 100;
        while let Some(&d) = s.get(pos).filter(|d| d.is_ascii_digit()) {
            millis += i64::from(d - b'0') * scale;
            scale /= 10;
            pos += 1;
        }
    }
    let mut offset_minutes = 0i64;
    match s.get(pos) {
        Some(b'Z' | b'z') => pos += 1,
        Some(&sign @ (b'+' | b'-')) => {
            if let Some(oh) = digits(s, pos + 1, 2) {
                let (om, len) = if s.get(pos + 3) == Some(&b':') {
                    (digits(s, pos + 4, 2), 6)
                } else {
                    (digits(s, pos + 3, 2), 5)
                };
                if let Some(om) = om {
                    if oh > 23 || om > 59 {
                        return None;
                    }
                    offset_minutes = oh * 60 + om;
                    if sign == b'-' {
                        offset_minutes = -offset_minutes;
                    }
                    pos += len;
                }
            }
        }
        _ => {}
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some((secs * 1000 + millis, pos))
}

/// Read a whole string as a timestamp (trailing text is not allowed).
pub(crate) fn parse_exact(s: &str) -> Option<i64> {
    match parse_prefix(s.as_bytes()) {
        Some((ms, len)) if len == s.len() => Some(ms),
        _ => None,
    }
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let mut v = 0i64;
    for i in at..at + n {
        let d = *s.get(i)?;
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Some(v)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_runtime_timestamp_shapes() {
        // Node / Python text format.
        assert_eq!(
            parse_exact("2025-10-21T18:58:10.653Z"),
            Some(1_761_073_090_653)
        );
        // Python JSON format: second precision.
        assert_eq!(parse_exact("2024-06-17T17:23:55Z"), Some(1_718_645_035_000));
        // Go's log prefix.
        assert_eq!(parse_exact("2024/11/26 12:09:33"), Some(1_732_622_973_000));
        // Ruby logger: microseconds, no zone.
        assert_eq!(
            parse_exact("2025-10-21T18:58:10.653999"),
            Some(1_761_073_090_653)
        );
        // Offsets.
        assert_eq!(
            parse_exact("2025-10-21T20:58:10.653+02:00"),
            Some(1_761_073_090_653)
        );
        assert_eq!(
            parse_exact("2025-10-21 18:58:10,653+0000"),
            Some(1_761_073_090_653)
        );
        assert_eq!(parse_exact("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_exact("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(parse_exact("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for bad in [
            "",
            "2025",
            "2025-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-10-21X18:58:10Z",
            "2025-10-21T24:00:00Z",
            "2025-10-21T18:58",
            "2025-10/21T18:58:10Z",
            "２０２５-10-21T18:58:10Z",
        ] {
            assert_eq!(parse_exact(bad), None, "{bad:?}");
        }
        // A prefix reads, and says how far it got.
        assert_eq!(
            parse_prefix(b"2023-10-20T16:28:17.840Z 4299ee26"),
            Some((1_697_819_297_840, 24))
        );
    }
}
