//! UTC calendar arithmetic and the timestamp layouts Lambda runtimes print.
//!
//! Hand-written so formatting one of millions of timestamps costs a few digit pushes, not a
//! `time::OffsetDateTime` round trip. Dates use Howard Hinnant's `days_from_civil`.

pub const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 for a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
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

/// Push `n` zero-padded to `width` digits (width ≤ 4 is all we need; wider values still print).
pub fn push_padded(out: &mut String, n: i64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = buf.len() - i;
    if n < 0 {
        out.push('-');
    }
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

fn push_clock(out: &mut String, c: &Civil) {
    push_padded(out, i64::from(c.hour), 2);
    out.push(':');
    push_padded(out, i64::from(c.minute), 2);
    out.push(':');
    push_padded(out, i64::from(c.second), 2);
}

/// `2026-11-01T00:00:00.123Z`: platform JSON `time`, Node/Python/.NET text prefixes.
pub fn push_iso_ms(out: &mut String, ts_ms: i64) {
    let c = Civil::from_ms(ts_ms);
    push_date(out, &c, '-');
    out.push('T');
    push_clock(out, &c);
    out.push('.');
    push_padded(out, i64::from(c.milli), 3);
    out.push('Z');
}

/// `2026-11-01T00:00:00Z`: Python's JSON formatter (second precision).
pub fn push_iso_s(out: &mut String, ts_ms: i64) {
    let c = Civil::from_ms(ts_ms);
    push_date(out, &c, '-');
    out.push('T');
    push_clock(out, &c);
    out.push('Z');
}

/// `2026/11/01 00:00:00`: Go's default `log` prefix.
pub fn push_go(out: &mut String, ts_ms: i64) {
    let c = Civil::from_ms(ts_ms);
    push_date(out, &c, '/');
    out.push(' ');
    push_clock(out, &c);
}

/// `2026-11-01 00:00:00`: the log4j2 pattern from AWS's Java examples.
pub fn push_log4j(out: &mut String, ts_ms: i64) {
    let c = Civil::from_ms(ts_ms);
    push_date(out, &c, '-');
    out.push(' ');
    push_clock(out, &c);
}

/// `2026-11-01T00:00:00.123000`: Ruby's Logger datetime (`%6N`).
pub fn push_ruby(out: &mut String, ts_ms: i64) {
    let c = Civil::from_ms(ts_ms);
    push_date(out, &c, '-');
    out.push('T');
    push_clock(out, &c);
    out.push('.');
    push_padded(out, i64::from(c.milli), 3);
    out.push_str("000");
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

/// Milliseconds since 00:00 UTC of the timestamp's day.
pub fn ms_of_day(ts_ms: i64) -> i64 {
    ts_ms.rem_euclid(MS_PER_DAY)
}

/// Day of the week, 0 = Monday.
pub fn weekday(ts_ms: i64) -> u32 {
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    ((ts_ms.div_euclid(MS_PER_DAY) + 3).rem_euclid(7)) as u32
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
        push_ruby(&mut s, ts);
        assert_eq!(s, "2026-11-01T01:02:03.045000");
        s.clear();
        push_stream_date(&mut s, ts);
        assert_eq!(s, "2026/11/01");
        assert_eq!(date_string(ts), "2026-11-01");
        // 2026-11-01 is a Sunday.
        assert_eq!(weekday(start), 6);
    }
}
