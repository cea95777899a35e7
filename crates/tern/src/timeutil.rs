//! Time ranges from the command line, and time formatting for output.

use anyhow::{bail, Context, Result};
use tern_store::TimeRange;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

/// Now, in epoch ms.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// What every duration in flags, config and the API accepts, said the same way everywhere.
pub const DURATION_FORMS: &str = "a duration such as 30s, 15m, 12h, 7d or 1h 30m";

/// A duration as users write them (`30m`, `7d`, `1h 30m`), with one error for every place
/// that reads one: what is accepted, not the parser's wording.
pub fn parse_duration(s: &str) -> Result<std::time::Duration> {
    humantime::parse_duration(s.trim()).map_err(|_| anyhow::anyhow!("expected {DURATION_FORMS}"))
}

/// Parse `--since/--from/--to` into a range. `--since` counts back from `now_ms`.
pub fn resolve_range(
    since: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    now_ms: i64,
) -> Result<TimeRange> {
    if let Some(since) = since {
        let d = parse_duration(since).with_context(|| format!("--since {since:?}"))?;
        return Ok(TimeRange {
            from_ms: Some(now_ms - d.as_millis() as i64),
            to_ms: None,
        });
    }
    let from = from
        .map(|s| parse_instant(s).with_context(|| format!("--from {s:?}")))
        .transpose()?;
    let to = to
        .map(|s| parse_instant(s).with_context(|| format!("--to {s:?}")))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            bail!("--to must be after --from");
        }
    }
    Ok(TimeRange {
        from_ms: from,
        to_ms: to,
    })
}

/// An instant: RFC 3339, a date (midnight UTC), or epoch milliseconds.
pub fn parse_instant(s: &str) -> Result<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().context("epoch milliseconds out of range");
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s, &fmt) {
        let t = d.midnight().assume_offset(UtcOffset::UTC);
        return Ok(t.unix_timestamp() * 1000);
    }
    bail!("expected RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or epoch milliseconds")
}

/// `2026-11-01 12:34:56.789` (UTC).
pub fn format_ms(ms: i64) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => ms.to_string(),
    }
}

/// RFC 3339 for JSON output.
pub fn rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(
            parse_instant("2026-11-01").unwrap(),
            parse_instant("2026-11-01T00:00:00Z").unwrap()
        );
        assert!(parse_instant("yesterday").is_err());
        assert_eq!(format_ms(0), "1970-01-01 00:00:00.000");
    }

    #[test]
    fn ranges() {
        let r = resolve_range(Some("1h"), None, None, 10_000_000).unwrap();
        assert_eq!(r.from_ms, Some(10_000_000 - 3_600_000));
        let bad = resolve_range(None, Some("2026-11-02"), Some("2026-11-01"), 0);
        assert!(bad.is_err());
        assert!(resolve_range(Some("soon"), None, None, 0).is_err());
    }
}
