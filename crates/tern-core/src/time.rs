//! UTC calendar arithmetic, and reading and writing the timestamps Lambda logs carry.
//!
//! Hand-written: reading one timestamp is a few digit loads and writing one a few digit pushes,
//! with no allocation and no `OffsetDateTime` round trip. Dates are proleptic Gregorian, by
//! Howard Hinnant's `days_from_civil` / `civil_from_days`.
//!
//! The reader accepts `YYYY-MM-DD`, then `T` or a space, then `HH:MM:SS`, then an optional
//! fraction (`.` or `,`, any number of digits, truncated to milliseconds), then an optional zone:
//! `Z`, `z`, `±HH:MM` or `±HHMM`. No zone means UTC (Lambda's `TZ` is UTC). [`Dialect`] says
//! where the two sources of timestamps differ.

pub const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (days since 1970-01-01).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2026-11-27 03:00 UTC` for epoch milliseconds (minute precision, for evidence text).
pub fn format_utc_ms(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    let minute = ms.rem_euclid(86_400_000) / 60_000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        minute / 60,
        minute % 60
    )
}

/// Days in `month` (1-12) of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Milliseconds since 00:00 UTC of the timestamp's day.
pub fn ms_of_day(ts_ms: i64) -> i64 {
    ts_ms.rem_euclid(MS_PER_DAY)
}

/// Day of the week, 0 = Monday.
pub fn weekday(ts_ms: i64) -> u32 {
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    ((ts_ms.div_euclid(MS_PER_DAY) + 3).rem_euclid(7)) as u32
}

/// Broken-down UTC time of an epoch-milliseconds timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub milli: u32,
}

impl Civil {
    pub fn from_ms(ts_ms: i64) -> Civil {
        let days = ts_ms.div_euclid(MS_PER_DAY);
        let rem = ts_ms.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3_600_000) as u32,
            minute: (rem / 60_000 % 60) as u32,
            second: (rem / 1000 % 60) as u32,
            milli: (rem % 1000) as u32,
        }
    }
}

// ---- Reading ----

/// Where the timestamps CloudWatch tools print and those runtimes print differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// RFC 3339 as tools print it (`aws logs tail`, S3 exports, JSON `timestamp`): the date
    /// and time may also be joined by a lowercase `t`.
    Tools,
    /// A runtime's message prefix (Node/Python `2025-10-21T18:58:10.653Z`, Go
    /// `2024/11/26 12:09:33`, Ruby `2025-01-02T03:04:05.123456`, Powertools
    /// `2024-01-01 12:00:00,123+0000`): the date may also be `YYYY/MM/DD`, but only `T` or a
    /// space joins it to the time.
    Runtime,
}

/// How a timestamp named its time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// No zone: taken as UTC (`aws logs tail --format short`).
    None,
    /// `Z` / `z` (CloudWatch S3 exports, most tools).
    Z,
    /// `±HH:MM` or `±HHMM` (`aws logs tail` detailed output: Python's `isoformat()`).
    Numeric,
}

/// Read a timestamp at the start of `b`: epoch milliseconds, the number of bytes it used, and
/// how it named its zone. `None` when `b` does not start with a valid date and time. A `.` with
/// no digits after it, or a zone that does not read, is not part of the timestamp.
pub fn parse_prefix(b: &[u8], dialect: Dialect) -> Option<(i64, usize, Zone)> {
    let year = digits(b, 0, 4)?;
    let sep = *b.get(4)?;
    if !(sep == b'-' || (sep == b'/' && dialect == Dialect::Runtime)) || b.get(7) != Some(&sep) {
        return None;
    }
    let month = digits(b, 5, 2)? as u32;
    let day = digits(b, 8, 2)? as u32;
    match (b.get(10), dialect) {
        (Some(b'T' | b' '), _) | (Some(b't'), Dialect::Tools) => {}
        _ => return None,
    }
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let hour = digits(b, 11, 2)?;
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
    let mut pos = 19;
    let mut millis = 0i64;
    if matches!(b.get(pos), Some(b'.' | b',')) && b.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        pos += 1;
        let mut scale = 100;
        while let Some(&d) = b.get(pos).filter(|d| d.is_ascii_digit()) {
            millis += i64::from(d - b'0') * scale;
            scale /= 10;
            pos += 1;
        }
    }
    let mut offset_s = 0i64;
    let mut zone = Zone::None;
    match b.get(pos) {
        Some(b'Z' | b'z') => {
            pos += 1;
            zone = Zone::Z;
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, pos + 1, 2);
            let (om, len) = if b.get(pos + 3) == Some(&b':') {
                (digits(b, pos + 4, 2), 6)
            } else {
                (digits(b, pos + 3, 2), 5)
            };
            if let (Some(oh), Some(om)) = (oh, om) {
                if oh > 23 || om > 59 {
                    return None;
                }
                offset_s = oh * 3600 + om * 60;
                if sign == b'-' {
                    offset_s = -offset_s;
                }
                pos += len;
                zone = Zone::Numeric;
            }
        }
        _ => {}
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Some((secs * 1000 + millis, pos, zone))
}

/// Read all of `s` as one timestamp (trailing text is not allowed; the caller trims).
pub fn parse_exact(s: &str, dialect: Dialect) -> Option<i64> {
    match parse_prefix(s.as_bytes(), dialect) {
        Some((ms, len, _)) if len == s.len() => Some(ms),
        _ => None,
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let mut v = 0i64;
    for &d in b.get(at..at + n)? {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Some(v)
}

// ---- Writing ----

/// Push `n` zero-padded to `width` digits (width ≤ 4 is all we need; wider values still print).
pub fn push_padded(out: &mut String, n: i64, width: usize) {
    if n < 0 {
        out.push('-');
    }
    push_unsigned(out, n.unsigned_abs(), width);
}

/// Push `v` in decimal, zero-padded to `width` digits, without allocating.
pub fn push_unsigned(out: &mut String, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = buf.len() - i;
    for _ in digits..width {
        out.push('0');
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

fn push_date(out: &mut String, c: &Civil, sep: char) {
    push_padded(out, c.year, 4);
    out.push(sep);
    push_padded(out, i64::from(c.month), 2);
    out.push(sep);
    push_padded(out, i64::from(c.day), 2);
}

/// One layout: the date with `date_sep`, then `joiner`, the clock, the milliseconds (and
/// `after_ms`) when `after_ms` is given, and `zone`.
fn push_layout(
    out: &mut String,
    ts_ms: i64,
    date_sep: char,
    joiner: char,
    after_ms: Option<&str>,
    zone: &str,
) {
    let c = Civil::from_ms(ts_ms);
    push_date(out, &c, date_sep);
    out.push(joiner);
    push_padded(out, i64::from(c.hour), 2);
    out.push(':');
    push_padded(out, i64::from(c.minute), 2);
    out.push(':');
    push_padded(out, i64::from(c.second), 2);
    if let Some(after) = after_ms {
        out.push('.');
        push_padded(out, i64::from(c.milli), 3);
        out.push_str(after);
    }
    out.push_str(zone);
}

/// `2026-11-01T00:00:00.123Z`: platform JSON `time`, Node/Python/.NET text prefixes.
pub fn push_iso_ms(out: &mut String, ts_ms: i64) {
    push_layout(out, ts_ms, '-', 'T', Some(""), "Z");
}

/// `2026-11-01T00:00:00Z`: Python's JSON formatter (second precision).
pub fn push_iso_s(out: &mut String, ts_ms: i64) {
    push_layout(out, ts_ms, '-', 'T', None, "Z");
}

/// `2026/11/01 00:00:00`: Go's default `log` prefix.
pub fn push_go(out: &mut String, ts_ms: i64) {
    push_layout(out, ts_ms, '/', ' ', None, "");
}

/// `2026-11-01 00:00:00`: the log4j2 pattern from AWS's Java examples.
pub fn push_log4j(out: &mut String, ts_ms: i64) {
    push_layout(out, ts_ms, '-', ' ', None, "");
}

/// `2026-11-01T00:00:00.123000`: Ruby's Logger datetime (`%6N`).
pub fn push_ruby(out: &mut String, ts_ms: i64) {
    push_layout(out, ts_ms, '-', 'T', Some("000"), "");
}

/// `2026/11/01`: the date prefix of a log stream name.
pub fn push_stream_date(out: &mut String, ts_ms: i64) {
    let c = Civil::from_ms(ts_ms);
    push_date(out, &c, '/');
}

/// `2026-11-01`: file names.
pub fn date_string(ts_ms: i64) -> String {
    let mut s = String::with_capacity(10);
    push_date(&mut s, &Civil::from_ms(ts_ms), '-');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dialect::{Runtime, Tools};

    #[test]
    fn utc_text() {
        assert_eq!(
            format_utc_ms(1_795_737_600_000 + 3 * 3_600_000 + 59_999),
            "2026-11-27 03:00 UTC"
        );
        assert_eq!(format_utc_ms(-60_000), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn civil_round_trip_and_layouts() {
        let start = days_from_civil(2026, 11, 1) * MS_PER_DAY;
        assert_eq!(start, 1_793_491_200_000);
        for z in [-1000, 0, 19_000, 20_758, 40_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        let ts = start + 3_723_045; // 01:02:03.045
        let mut s = String::new();
        push_iso_ms(&mut s, ts);
        assert_eq!(s, "2026-11-01T01:02:03.045Z");
        s.clear();
        push_iso_s(&mut s, ts);
        assert_eq!(s, "2026-11-01T01:02:03Z");
        s.clear();
        push_go(&mut s, ts);
        assert_eq!(s, "2026/11/01 01:02:03");
        s.clear();
        push_log4j(&mut s, ts);
        assert_eq!(s, "2026-11-01 01:02:03");
        s.clear();
        push_ruby(&mut s, ts);
        assert_eq!(s, "2026-11-01T01:02:03.045000");
        s.clear();
        push_stream_date(&mut s, ts);
        assert_eq!(s, "2026/11/01");
        assert_eq!(date_string(ts), "2026-11-01");
        assert_eq!(ms_of_day(ts), 3_723_045);
        // 2026-11-01 is a Sunday.
        assert_eq!(weekday(start), 6);
    }

    #[test]
    fn every_written_layout_reads_back() {
        // The simulator writes these; the parsers must read them to the millisecond they keep.
        let ts = days_from_civil(2024, 2, 29) * MS_PER_DAY + 86_399_999;
        type Push = fn(&mut String, i64);
        let layouts: [(Push, i64); 5] = [
            (push_iso_ms, ts),
            (push_iso_s, ts - 999),
            (push_go, ts - 999),
            (push_log4j, ts - 999),
            (push_ruby, ts),
        ];
        for (push, want) in layouts {
            let mut s = String::new();
            push(&mut s, ts);
            assert_eq!(parse_exact(&s, Runtime), Some(want), "{s}");
        }
    }

    #[test]
    fn formats_printed_by_aws_tools() {
        // `aws logs tail` (Python isoformat with microseconds)
        assert_eq!(
            parse_prefix(b"2024-01-02T03:04:05.678000+00:00 x", Tools),
            Some((1_704_164_645_678, 32, Zone::Numeric))
        );
        // isoformat drops the fraction when it is zero
        assert_eq!(
            parse_exact("2024-01-02T03:04:05+00:00", Tools),
            Some(1_704_164_645_000)
        );
        // S3 export / JSON
        assert_eq!(
            parse_exact("2024-01-02T03:04:05.678Z", Tools),
            Some(1_704_164_645_678)
        );
        assert_eq!(
            parse_exact("2024-01-02T05:04:05.6+02:00", Tools),
            Some(1_704_164_645_600)
        );
        assert_eq!(
            parse_exact("2024-01-02 03:04:05", Tools),
            Some(1_704_164_645_000)
        );
        assert_eq!(
            parse_exact("2024-01-02t03:04:05z", Tools),
            Some(1_704_164_645_000)
        );
        assert_eq!(parse_exact("1970-01-01T00:00:00Z", Tools), Some(0));
        assert_eq!(
            parse_exact("2024-02-29T00:00:00Z", Tools),
            Some(1_709_164_800_000)
        );
    }

    #[test]
    fn reads_the_runtime_timestamp_shapes() {
        // Node / Python text format.
        assert_eq!(
            parse_exact("2025-10-21T18:58:10.653Z", Runtime),
            Some(1_761_073_090_653)
        );
        // Python JSON format: second precision.
        assert_eq!(
            parse_exact("2024-06-17T17:23:55Z", Runtime),
            Some(1_718_645_035_000)
        );
        // Go's log prefix.
        assert_eq!(
            parse_exact("2024/11/26 12:09:33", Runtime),
            Some(1_732_622_973_000)
        );
        // Ruby logger: microseconds, no zone.
        assert_eq!(
            parse_exact("2025-10-21T18:58:10.653999", Runtime),
            Some(1_761_073_090_653)
        );
        // Offsets.
        assert_eq!(
            parse_exact("2025-10-21T20:58:10.653+02:00", Runtime),
            Some(1_761_073_090_653)
        );
        assert_eq!(
            parse_exact("2025-10-21 18:58:10,653+0000", Runtime),
            Some(1_761_073_090_653)
        );
        assert_eq!(parse_exact("1970-01-01T00:00:00Z", Runtime), Some(0));
        assert_eq!(parse_exact("1969-12-31T23:59:59Z", Runtime), Some(-1000));
        // A prefix reads, and says how far it got.
        assert_eq!(
            parse_prefix(b"2023-10-20T16:28:17.840Z 4299ee26", Runtime),
            Some((1_697_819_297_840, 24, Zone::Z))
        );
    }

    #[test]
    fn the_dialects_differ_only_where_they_say() {
        assert_eq!(parse_exact("2024/11/26 12:09:33", Tools), None);
        assert_eq!(parse_exact("2024-01-02t03:04:05Z", Runtime), None);
    }

    #[test]
    fn a_tail_that_does_not_read_ends_the_timestamp() {
        for d in [Tools, Runtime] {
            assert_eq!(
                parse_prefix(b"2024-01-01T00:00:00. x", d),
                Some((1_704_067_200_000, 19, Zone::None))
            );
            assert_eq!(
                parse_prefix(b"2024-01-01T00:00:00+2", d),
                Some((1_704_067_200_000, 19, Zone::None))
            );
            assert_eq!(parse_exact("2024-01-01T00:00:00.", d), None);
        }
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for d in [Tools, Runtime] {
            for bad in [
                "",
                "2025",
                "2024-01-0",
                "START RequestId",
                "2025-13-01T00:00:00Z",
                "2023-02-29T00:00:00Z",
                "2025-10-21X18:58:10Z",
                "2025-10-21T24:00:00Z",
                "2025-10-21T18:58",
                "2025-10/21T18:58:10Z",
                "2025-10-21T18:58:10+24:00",
                "2024-01-01T00:00:00Zjunk",
                "２０２５-10-21T18:58:10Z",
            ] {
                assert_eq!(parse_exact(bad, d), None, "{bad:?} {d:?}");
            }
        }
    }
}
