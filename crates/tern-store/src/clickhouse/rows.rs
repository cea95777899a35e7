//! Invocation rows to and from JSONEachRow objects, and SQL literals.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value};
use tern_core::model::{ErrorInfo, InvocationPart, LogFormat, ReportMetrics, Signals};

use super::client::Row;
use super::Cutoffs;
use crate::sqlite::codec;
use crate::sqlite::rollup::{decode_sketch, Rollup, HOUR_MS};
use crate::{InvocationRow, StoreError};

pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A string literal for SQL.
pub(crate) fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `'a', 'b'` for an `IN (…)` list (never empty: an empty list reads `''`).
pub(crate) fn lits<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<String> = items.into_iter().map(lit).collect();
    if v.is_empty() {
        "''".into()
    } else {
        v.join(", ")
    }
}

/// The partition day of a new invocation: the date Lambda wrote at the start of its log
/// stream's name (`2026/11/27/[$LATEST]…`, the day the execution environment started) when
/// that is `t_ms`'s day or the day before, else `t_ms`'s day.
///
/// Every collector then puts the first version of an invocation in the same partition, even
/// when its START and its REPORT straddle midnight and two collectors store them first
/// (`FINAL` merges versions within a partition only). Only an environment older than a day
/// whose invocation straddles a second midnight still splits. At most a day before `t_ms`
/// keeps retention exact: it drops a day's partition only two days after that day began,
/// when everything in it is past the cutoff.
pub(crate) fn partition_day_ms(log_stream: &str, t_ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    match stream_day_ms(log_stream) {
        Some(d) if d <= t_ms && t_ms - d < 2 * DAY => d,
        _ => t_ms,
    }
}

/// Midnight UTC (epoch ms) of a `YYYY/MM/DD/` prefix; `None` when there is none.
fn stream_day_ms(log_stream: &str) -> Option<i64> {
    let b = log_stream.as_bytes();
    if b.len() < 11 || b[4] != b'/' || b[7] != b'/' || b[10] != b'/' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1970..=2149).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Then check it round-trips (31 Feb is not a date).
    let day_ms = tern_core::time::days_from_civil(y, m as u32, d as u32) * 86_400_000;
    (date_of(day_ms) == format!("{y:04}-{m:02}-{d:02}")).then_some(day_ms)
}

/// `YYYY-MM-DD` of an epoch-ms time, for a `Date` column.
pub(crate) fn date_of(t_ms: i64) -> String {
    // `Date` holds 1970..2149; clamp so a hostile timestamp is stored, not refused.
    let t_ms = t_ms.clamp(0, 5_662_137_600_000);
    let z = t_ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYYMMDD` partition id of an epoch-ms time.
pub(crate) fn partition_of(t_ms: i64) -> u32 {
    date_of(t_ms).replace('-', "").parse().unwrap_or(19700101)
}

/// A JSON object from (key, value) pairs.
pub(crate) fn obj(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

pub(crate) fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

pub(crate) fn finite(v: Option<f64>) -> Value {
    match v {
        Some(f) if f.is_finite() => Value::from(f),
        _ => Value::Null,
    }
}

/// What is stored beside the part itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extra {
    /// The partition day (epoch ms of any time in it): fixed when the invocation is first stored.
    pub day_ms: i64,
    pub t: i64,
    pub group_key: Option<i64>,
    pub occ_seq: i64,
    pub occ_pos: i64,
}

/// The columns of an invocation version.
pub(crate) fn part_row(p: &InvocationPart, x: Extra, ver: u64) -> Map<String, Value> {
    let r = p.report.as_ref();
    let e = p.error.as_ref();
    let mut blob = Vec::new();
    codec::encode_lines(&p.log_lines, &mut codec::Encoder::default(), &mut blob);
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("log_group", Value::from(&*p.log_group));
    put("log_stream", Value::from(&*p.log_stream));
    put("request_id", Value::from(p.request_id.as_str()));
    put("function", Value::from(p.function.as_str()));
    put("day", Value::from(date_of(x.day_ms)));
    put("t", Value::from(x.t));
    put("start_ms", opt(p.start_ms));
    put("end_ms", opt(p.end_ms));
    put("complete", Value::from(u8::from(r.is_some())));
    put("outcome", Value::from(p.outcome().code()));
    put("cold", Value::from(u8::from(p.is_cold())));
    put("cold_flag", Value::from(u8::from(p.cold_start)));
    put("signals", Value::from(p.signals.bits()));
    put("version", opt(p.version.clone()));
    put("duration_ms", finite(r.map(|r| r.duration_ms)));
    put("billed_ms", finite(r.and_then(|r| r.billed_duration_ms)));
    put("memory_mb", opt(r.and_then(|r| r.memory_size_mb)));
    put("max_memory_mb", opt(r.and_then(|r| r.max_memory_used_mb)));
    put("init_ms", finite(r.and_then(|r| r.init_duration_ms)));
    put("restore_ms", finite(r.and_then(|r| r.restore_duration_ms)));
    put(
        "billed_restore_ms",
        finite(r.and_then(|r| r.billed_restore_duration_ms)),
    );
    put("status", opt(r.and_then(|r| r.status.clone())));
    put(
        "report_error_type",
        opt(r.and_then(|r| r.error_type.clone())),
    );
    put(
        "xray_trace_id",
        opt(r.and_then(|r| r.xray_trace_id.clone())),
    );
    put(
        "report_format",
        Value::from(u8::from(r.is_some_and(|r| r.format == LogFormat::Json))),
    );
    put("error_type", opt(e.map(|e| e.error_type.clone())));
    put("error_message", opt(e.map(|e| e.message.clone())));
    put(
        "error_stack",
        opt(e.map(|e| Value::from(e.stack.clone()).to_string())),
    );
    put("runtime_version", opt(p.runtime_version.clone()));
    put("init_report_ms", finite(p.init_report_ms));
    put("lines", Value::from(B64.encode(&blob)));
    put("log_lines", Value::from(p.log_lines.len() as i64));
    put(
        "log_bytes",
        Value::from(
            p.log_lines
                .iter()
                .map(|l| l.message.len() as i64)
                .sum::<i64>(),
        ),
    );
    put("group_key", opt(x.group_key));
    put("occ_seq", Value::from(x.occ_seq));
    put("occ_pos", Value::from(x.occ_pos));
    put("ver", Value::from(ver));
    m
}

/// Every column `read_part` reads.
pub(crate) const PART_COLUMNS: &str = "log_group, log_stream, request_id, function, \
    toUInt32(day) * 86400000 AS day_ms, t, start_ms, end_ms, complete, outcome, cold, \
    cold_flag, signals, version, duration_ms, billed_ms, memory_mb, max_memory_mb, init_ms, \
    restore_ms, billed_restore_ms, status, report_error_type, xray_trace_id, report_format, \
    error_type, error_message, error_stack, runtime_version, init_report_ms, log_lines, \
    log_bytes, group_key, occ_seq, occ_pos";

fn stack_of(s: Option<String>) -> Result<Vec<String>, StoreError> {
    let Some(s) = s else { return Ok(Vec::new()) };
    match serde_json::from_str::<Value>(&s) {
        Ok(Value::Array(a)) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(StoreError::Corrupt("error_stack holds a non-string".into())),
            })
            .collect(),
        _ => Err(StoreError::Corrupt(
            "error_stack is not a JSON array of strings".into(),
        )),
    }
}

/// A stored part (its lines only when `with_lines` and the row has a `lines` column).
pub(crate) fn read_part(r: &Row, with_lines: bool) -> Result<(InvocationPart, Extra), StoreError> {
    let complete = r.bool("complete")?;
    let report = if complete {
        Some(ReportMetrics {
            duration_ms: r.opt_f64("duration_ms")?.unwrap_or(0.0),
            billed_duration_ms: r.opt_f64("billed_ms")?,
            memory_size_mb: r.opt_u32("memory_mb")?,
            max_memory_used_mb: r.opt_u32("max_memory_mb")?,
            init_duration_ms: r.opt_f64("init_ms")?,
            restore_duration_ms: r.opt_f64("restore_ms")?,
            billed_restore_duration_ms: r.opt_f64("billed_restore_ms")?,
            status: r.opt_str("status")?,
            error_type: r.opt_str("report_error_type")?,
            xray_trace_id: r.opt_str("xray_trace_id")?,
            format: if r.i64("report_format")? == 1 {
                LogFormat::Json
            } else {
                LogFormat::Text
            },
        })
    } else {
        None
    };
    let error = match r.opt_str("error_type")? {
        Some(error_type) => Some(ErrorInfo {
            error_type,
            message: r.opt_str("error_message")?.unwrap_or_default(),
            stack: stack_of(r.opt_str("error_stack")?)?,
        }),
        None => None,
    };
    let signals = u32::try_from(r.i64("signals")?).unwrap_or(0);
    let log_lines = if with_lines {
        read_lines(&r.str("lines")?)?
    } else {
        Vec::new()
    };
    let part = InvocationPart {
        function: r.str("function")?,
        log_group: Arc::from(r.str("log_group")?),
        log_stream: Arc::from(r.str("log_stream")?),
        request_id: r.str("request_id")?,
        start_ms: r.opt_i64("start_ms")?,
        end_ms: r.opt_i64("end_ms")?,
        version: r.opt_str("version")?,
        report,
        signals: Signals::from_bits(signals),
        error,
        cold_start: r.bool("cold_flag")?,
        runtime_version: r.opt_str("runtime_version")?,
        init_report_ms: r.opt_f64("init_report_ms")?,
        log_lines,
    };
    let extra = Extra {
        day_ms: r.i64("day_ms")?,
        t: r.i64("t")?,
        group_key: r.opt_i64("group_key")?,
        occ_seq: r.i64("occ_seq")?,
        occ_pos: r.i64("occ_pos")?,
    };
    Ok((part, extra))
}

pub(crate) fn read_lines(b64: &str) -> Result<Vec<tern_core::model::LogLine>, StoreError> {
    if b64.is_empty() {
        return Ok(Vec::new());
    }
    let blob = B64
        .decode(b64)
        .map_err(|e| StoreError::Corrupt(format!("log lines are not base64: {e}")))?;
    codec::decode_lines(&blob)
}

/// The listing form of a stored part.
pub(crate) fn invocation_row(p: InvocationPart) -> InvocationRow {
    InvocationRow::from_part(p)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_literals() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(1_772_323_200_000), "2026-03-01");
        assert_eq!(date_of(-5), "1970-01-01", "clamped into Date's range");
        assert_eq!(partition_of(1_772_323_200_000), 20260301);
        assert_eq!(lit("it's a \\ test"), "'it\\'s a \\\\ test'");
        assert_eq!(lits(Vec::<&str>::new()), "''");
    }
}

#[cfg(test)]
mod partition_tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    /// 2026-11-27T00:00:00Z
    const NOV27: i64 = 1_795_737_600_000;

    #[test]
    fn the_stream_date_decides_across_midnight() {
        let stream = "2026/11/26/[$LATEST]0123456789abcdef";
        // START at 23:59:59.9 on the 26th, REPORT at 00:00:00.5 on the 27th: one day.
        let start = partition_day_ms(stream, NOV27 - 100);
        let report = partition_day_ms(stream, NOV27 + 500);
        assert_eq!(start, NOV27 - DAY);
        assert_eq!(report, NOV27 - DAY);
        assert_eq!(date_of(report), "2026-11-26");
    }

    #[test]
    fn implausible_or_missing_dates_fall_back_to_the_time() {
        let t = NOV27 + 3_600_000;
        for stream in [
            "no-date-here",
            "2026/13/01/[1]x",
            "2026/02/31/[1]x",
            "2026/11/2a/[1]x",
            "2026/11/28/[1]x", // after t
            "2026/11/01/[1]x", // weeks before t
            "2026/11/24/[1]x", // days before t
            "1969/12/31/[1]x",
            "",
            "2026/11/27",
        ] {
            assert_eq!(partition_day_ms(stream, t), t, "{stream:?}");
        }
        assert_eq!(partition_day_ms("2026/11/27/[$LATEST]x", t), NOV27);
        assert_eq!(partition_day_ms("2026/11/26/[$LATEST]x", t), NOV27 - DAY);
        assert_eq!(partition_day_ms("2026/11/25/[$LATEST]x", t), t);
        assert_eq!(
            partition_day_ms("2024/02/29/[2]x", 1_709_200_000_000),
            1_709_164_800_000
        );
    }
}

/// Whether an hourly bucket starting at `h` survived rollup retention.
pub(crate) fn bucket_kept(c: &Cutoffs, h: i64) -> bool {
    c.rollups.is_none_or(|r| h.saturating_add(HOUR_MS) > r)
}

pub(crate) fn range_sql(col: &str, from: Option<i64>, to: Option<i64>) -> String {
    let mut parts = vec!["1".to_string()];
    if let Some(f) = from {
        parts.push(format!("{col} >= {f}"));
    }
    if let Some(t) = to {
        parts.push(format!("{col} < {t}"));
    }
    parts.join(" AND ")
}

pub(crate) fn fn_filter(col: &str, functions: Option<&[String]>) -> String {
    match functions {
        Some(f) => format!("{col} IN ({})", lits(f.iter().map(String::as_str))),
        None => "1".into(),
    }
}

pub(crate) fn read_rollup(r: &Row) -> Result<Rollup, StoreError> {
    let outcomes = match r.map().get("outcomes") {
        Some(Value::Array(a)) if a.len() == 6 => {
            let mut o = [0i64; 6];
            for (slot, v) in o.iter_mut().zip(a) {
                *slot = v
                    .as_i64()
                    .ok_or_else(|| StoreError::Corrupt("rollup outcome is not a count".into()))?;
            }
            o
        }
        _ => {
            return Err(StoreError::Corrupt(
                "rollup outcomes are not 6 counts".into(),
            ))
        }
    };
    let sketch = |col: &str| -> Result<tern_core::sketch::Sketch, StoreError> {
        let text = r.str(col)?;
        if text.is_empty() {
            return decode_sketch(None, col);
        }
        let b = B64
            .decode(text)
            .map_err(|e| StoreError::Corrupt(format!("{col} sketch is not base64: {e}")))?;
        decode_sketch(Some(&b), col)
    };
    Ok(Rollup {
        outcomes,
        cold_starts: r.i64("cold_starts")?,
        // Only the per-size statistics read it; ClickHouse computes those from rows.
        cold_failures: 0,
        over_20s: r.i64("over_20s")?,
        billed_ms: r.f64("billed_ms")?,
        gb_seconds: r.f64("gb_seconds")?,
        max_memory_used_mb: r.opt_u32("max_memory_mb")?,
        first_ms: r.opt_i64("first_ms")?,
        last_ms: r.opt_i64("last_ms")?,
        latest_memory: r
            .opt_i64("latest_memory_t")?
            .zip(r.opt_u32("latest_memory_mb")?),
        duration: sketch("duration")?,
        init: sketch("init")?,
        log_lines: r.i64("log_lines")?,
        log_bytes: r.i64("log_bytes")?,
    })
}
