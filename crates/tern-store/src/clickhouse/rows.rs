//! Invocation rows to and from JSONEachRow objects, and SQL literals.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value};
use tern_core::model::{ErrorInfo, InvocationPart, LogFormat, ReportMetrics, Signals};

use super::client::Row;
use crate::sqlite::codec;
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

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

fn finite(v: Option<f64>) -> Value {
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
    let rep = p.report.as_ref();
    InvocationRow {
        outcome: p.outcome(),
        complete: rep.is_some(),
        cold_start: p.is_cold(),
        duration_ms: rep.map(|r| r.duration_ms),
        billed_duration_ms: rep.and_then(|r| r.billed_duration_ms),
        memory_size_mb: rep.and_then(|r| r.memory_size_mb),
        max_memory_used_mb: rep.and_then(|r| r.max_memory_used_mb),
        init_duration_ms: p.init_duration_ms(),
        status: rep.and_then(|r| r.status.clone()),
        error_type: rep.and_then(|r| r.error_type.clone()),
        xray_trace_id: rep.and_then(|r| r.xray_trace_id.clone()),
        function: p.function,
        log_group: p.log_group.to_string(),
        log_stream: p.log_stream.to_string(),
        request_id: p.request_id,
        start_ms: p.start_ms,
        end_ms: p.end_ms,
        version: p.version,
        error: p.error,
        runtime_version: p.runtime_version,
    }
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
