//! ISO-8601 / RFC 3339 timestamps as CloudWatch tools print them, to epoch milliseconds.
//!
//! Accepted: `YYYY-MM-DD` then `T`, `t` or a space, then `HH:MM:SS`, an optional fraction
//! of any length (truncated to milliseconds), and an optional zone: `Z`, `z`, `±HH:MM` or
//! `±HHMM`. A timestamp without a zone is taken as UTC.

/// How a parsed timestamp named its time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// No zone: taken as UTC (`aws logs tail --format short`).
    None,
    /// `Z` / `z` (CloudWatch S3 exports, most tools).
    Z,
    /// `±HH:MM` (`aws logs tail` detailed output: Python's `isoformat()`).
    Numeric,
}

/// A timestamp at the start of `b`: epoch ms, the number of bytes it used, and its zone form.
pub fn parse_prefix(b: &[u8]) -> Option<(i64, usize, Zone)> {
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(d - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let (offset_s, zone) = match b.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            (0, Zone::Z)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            let (om, used) = if b.get(i + 3) == Some(&b':') {
                (digits(b, i + 4, 2)?, 6)
            } else {
                (digits(b, i + 3, 2)?, 5)
            };
            if oh > 23 || om > 59 {
                return None;
            }
            i += used;
            let off = oh * 3600 + om * 60;
            (if sign == b'+' { off } else { -off }, Zone::Numeric)
        }
        _ => (0, Zone::None),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Some((secs * 1000 + millis, i, zone))
}

/// A whole string that is one timestamp (JSON `"timestamp": "2024-01-02T03:04:05Z"`).
pub fn parse_exact(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    match parse_prefix(b) {
        Some((ms, used, _)) if used == b.len() => Some(ms),
        _ => None,
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    let mut v = 0i64;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_printed_by_aws_tools() {
        // `aws logs tail` (Python isoformat with microseconds)
        assert_eq!(
            parse_prefix(b"2024-01-02T03:04:05.678000+00:00 x"),
            Some((1_704_164_645_678, 32, Zone::Numeric))
        );
        // isoformat drops the fraction when it is zero
        assert_eq!(
            parse_exact("2024-01-02T03:04:05+00:00"),
            Some(1_704_164_645_000)
        );
        // S3 export / JSON
        assert_eq!(
            parse_exact("2024-01-02T03:04:05.678Z"),
            Some(1_704_164_645_678)
        );
        assert_eq!(
            parse_exact("2024-01-02T05:04:05.6+02:00"),
            Some(1_704_164_645_600)
        );
        assert_eq!(parse_exact("2024-01-02 03:04:05"), Some(1_704_164_645_000));
        assert_eq!(parse_exact("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_exact("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
    }

    #[test]
    fn rejects_non_dates() {
        assert_eq!(parse_exact("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_exact("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_exact("2024-01-01T00:00:00Zjunk"), None);
        assert_eq!(parse_exact("2024-01-01T00:00:00."), None);
        assert_eq!(parse_prefix(b"START RequestId"), None);
        assert_eq!(parse_prefix(b"2024-01-0"), None);
    }
}
