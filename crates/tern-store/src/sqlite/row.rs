//! Invocation rows to and from `InvocationPart`: every field of a part is stored, so the part
//! read back equals the part written and re-ingest can tell "nothing new" by comparing.

use std::sync::Arc;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Row, Statement};
use tern_core::model::{
    ErrorInfo, InvocationPart, LogFormat, LogLine, Outcome, ReportMetrics, Signals,
};

use super::codec;
use super::rollup::Volume;
use super::Db;
use crate::StoreError;

/// Columns `read_part` expects, in order, starting at its `base` index.
/// (Qualified by the alias `i` for the invocations table.)
pub(crate) const PART_COLUMNS: &str = "i.start_ms, i.end_ms, i.complete, i.cold_flag, \
    i.signals, i.version, i.duration_ms, i.billed_ms, i.memory_mb, i.max_memory_mb, i.init_ms, \
    i.restore_ms, i.billed_restore_ms, i.status, i.report_error_type, i.xray_trace_id, \
    i.report_format, i.error_type, i.error_message, i.error_stack, i.runtime_version, \
    i.init_report_ms";
pub(crate) const PART_COLUMN_COUNT: usize = 22;

/// Where a value lies in an `Arena`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

/// Text and blob values of a batch's rows, copied out of the parts in arrival order so that
/// the rows can then be written in key order without chasing each part's allocations.
#[derive(Default)]
pub(crate) struct Arena {
    bytes: Vec<u8>,
}

impl Arena {
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
    }

    fn span(&self, start: usize) -> Span {
        // A batch's values stay far below 4 GiB; past that a span reads as empty.
        let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            start: at(start),
            end: at(self.bytes.len()),
        }
    }

    fn push(&mut self, b: &[u8]) -> Span {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b);
        self.span(start)
    }

    fn push_opt(&mut self, s: Option<&str>) -> Option<Span> {
        s.map(|s| self.push(s.as_bytes()))
    }

    /// Append the encoded log lines.
    fn push_lines(&mut self, lines: &[LogLine], enc: &mut codec::Encoder) -> Span {
        let start = self.bytes.len();
        codec::encode_lines(lines, enc, &mut self.bytes);
        self.span(start)
    }

    fn get(&self, s: Span) -> &[u8] {
        self.bytes
            .get(s.start as usize..s.end as usize)
            .unwrap_or_default()
    }
}

/// Everything written for one invocation, ready to bind.
#[derive(Debug, Clone)]
pub(crate) struct RowValues {
    pub env_id: i64,
    pub rid_hash: i64,
    pub function_id: i64,
    pub t: i64,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    complete: bool,
    outcome: i64,
    cold: bool,
    cold_flag: bool,
    signals: i64,
    duration_ms: Option<f64>,
    billed_ms: Option<f64>,
    memory_mb: Option<u32>,
    max_memory_mb: Option<u32>,
    init_ms: Option<f64>,
    restore_ms: Option<f64>,
    billed_restore_ms: Option<f64>,
    report_format: Option<i64>,
    init_report_ms: Option<f64>,
    request_id: Span,
    version: Option<Span>,
    status: Option<Span>,
    report_error_type: Option<Span>,
    xray_trace_id: Option<Span>,
    error_type: Option<Span>,
    error_message: Option<Span>,
    error_stack: Option<Span>,
    runtime_version: Option<Span>,
    lines: Span,
    /// The log volume of `lines`.
    pub volume: Volume,
}

/// The keys of a row, resolved by the writer.
pub(crate) struct RowKeys {
    pub env_id: i64,
    pub rid_hash: i64,
    pub function_id: i64,
    pub t: i64,
}

fn format_code(f: LogFormat) -> i64 {
    match f {
        LogFormat::Text => 0,
        LogFormat::Json => 1,
    }
}

impl RowValues {
    /// Copy `p` into `arena` as a row with `keys`. `outcome` and `cold` are `p.outcome()` and
    /// `p.is_cold()`, which the caller has already computed.
    pub(crate) fn new(
        p: &InvocationPart,
        keys: RowKeys,
        (outcome, cold): (Outcome, bool),
        arena: &mut Arena,
        enc: &mut codec::Encoder,
    ) -> RowValues {
        let r = p.report.as_ref();
        let e = p.error.as_ref();
        RowValues {
            env_id: keys.env_id,
            rid_hash: keys.rid_hash,
            function_id: keys.function_id,
            t: keys.t,
            start_ms: p.start_ms,
            end_ms: p.end_ms,
            complete: r.is_some(),
            outcome: i64::from(outcome.code()),
            cold,
            cold_flag: p.cold_start,
            signals: i64::from(p.signals.bits()),
            duration_ms: r.map(|r| r.duration_ms),
            billed_ms: r.and_then(|r| r.billed_duration_ms),
            memory_mb: r.and_then(|r| r.memory_size_mb),
            max_memory_mb: r.and_then(|r| r.max_memory_used_mb),
            init_ms: r.and_then(|r| r.init_duration_ms),
            restore_ms: r.and_then(|r| r.restore_duration_ms),
            billed_restore_ms: r.and_then(|r| r.billed_restore_duration_ms),
            report_format: r.map(|r| format_code(r.format)),
            init_report_ms: p.init_report_ms,
            request_id: arena.push(p.request_id.as_bytes()),
            version: arena.push_opt(p.version.as_deref()),
            status: arena.push_opt(r.and_then(|r| r.status.as_deref())),
            report_error_type: arena.push_opt(r.and_then(|r| r.error_type.as_deref())),
            xray_trace_id: arena.push_opt(r.and_then(|r| r.xray_trace_id.as_deref())),
            error_type: arena.push_opt(e.map(|e| e.error_type.as_str())),
            error_message: arena.push_opt(e.map(|e| e.message.as_str())),
            error_stack: e.map(|e| arena.push(&codec::encode_stack(&e.stack))),
            runtime_version: arena.push_opt(p.runtime_version.as_deref()),
            lines: arena.push_lines(&p.log_lines, enc),
            volume: Volume::of(&p.log_lines),
        }
    }

    /// Bind `?1`…`?32` of an INSERT or UPDATE of an invocation, in this order: env_id,
    /// request_id, function_id, t, start_ms, end_ms, complete, outcome, cold, cold_flag,
    /// signals, version, duration_ms, billed_ms, memory_mb, max_memory_mb, init_ms,
    /// restore_ms, billed_restore_ms, status, report_error_type, xray_trace_id,
    /// report_format, error_type, error_message, error_stack, runtime_version,
    /// init_report_ms, lines, rid_hash, log_lines, log_bytes.
    pub(crate) fn bind(&self, stmt: &mut Statement<'_>, arena: &Arena) -> Result<(), StoreError> {
        let text = |s: Option<Span>| s.map(|s| ToSqlOutput::Borrowed(ValueRef::Text(arena.get(s))));
        let blob = |s: Option<Span>| s.map(|s| ToSqlOutput::Borrowed(ValueRef::Blob(arena.get(s))));
        stmt.raw_bind_parameter(1, self.env_id).db()?;
        stmt.raw_bind_parameter(2, text(Some(self.request_id)))
            .db()?;
        stmt.raw_bind_parameter(3, self.function_id).db()?;
        stmt.raw_bind_parameter(4, self.t).db()?;
        stmt.raw_bind_parameter(5, self.start_ms).db()?;
        stmt.raw_bind_parameter(6, self.end_ms).db()?;
        stmt.raw_bind_parameter(7, self.complete).db()?;
        stmt.raw_bind_parameter(8, self.outcome).db()?;
        stmt.raw_bind_parameter(9, self.cold).db()?;
        stmt.raw_bind_parameter(10, self.cold_flag).db()?;
        stmt.raw_bind_parameter(11, self.signals).db()?;
        stmt.raw_bind_parameter(12, text(self.version)).db()?;
        stmt.raw_bind_parameter(13, self.duration_ms).db()?;
        stmt.raw_bind_parameter(14, self.billed_ms).db()?;
        stmt.raw_bind_parameter(15, self.memory_mb).db()?;
        stmt.raw_bind_parameter(16, self.max_memory_mb).db()?;
        stmt.raw_bind_parameter(17, self.init_ms).db()?;
        stmt.raw_bind_parameter(18, self.restore_ms).db()?;
        stmt.raw_bind_parameter(19, self.billed_restore_ms).db()?;
        stmt.raw_bind_parameter(20, text(self.status)).db()?;
        stmt.raw_bind_parameter(21, text(self.report_error_type))
            .db()?;
        stmt.raw_bind_parameter(22, text(self.xray_trace_id)).db()?;
        stmt.raw_bind_parameter(23, self.report_format).db()?;
        stmt.raw_bind_parameter(24, text(self.error_type)).db()?;
        stmt.raw_bind_parameter(25, text(self.error_message)).db()?;
        stmt.raw_bind_parameter(26, blob(self.error_stack)).db()?;
        stmt.raw_bind_parameter(27, text(self.runtime_version))
            .db()?;
        stmt.raw_bind_parameter(28, self.init_report_ms).db()?;
        stmt.raw_bind_parameter(29, blob(Some(self.lines))).db()?;
        stmt.raw_bind_parameter(30, self.rid_hash).db()?;
        stmt.raw_bind_parameter(31, self.volume.lines).db()?;
        stmt.raw_bind_parameter(32, self.volume.bytes).db()?;
        Ok(())
    }
}

fn u32_col(row: &Row<'_>, i: usize) -> Result<Option<u32>, StoreError> {
    let v: Option<i64> = row.get(i).db()?;
    v.map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("bad memory value {v}"))))
        .transpose()
}

/// Rebuild a part (without its log lines) from `PART_COLUMNS` starting at column `base`.
pub(crate) fn read_part(
    row: &Row<'_>,
    base: usize,
    function: String,
    log_group: Arc<str>,
    log_stream: Arc<str>,
    request_id: String,
) -> Result<InvocationPart, StoreError> {
    let c = |i: usize| base + i;
    let complete: bool = row.get(c(2)).db()?;
    let signals: i64 = row.get(c(4)).db()?;
    let report = if complete {
        let format = match row.get::<_, Option<i64>>(c(16)).db()? {
            Some(1) => LogFormat::Json,
            _ => LogFormat::Text,
        };
        Some(ReportMetrics {
            duration_ms: row.get::<_, Option<f64>>(c(6)).db()?.unwrap_or(0.0),
            billed_duration_ms: row.get(c(7)).db()?,
            memory_size_mb: u32_col(row, c(8))?,
            max_memory_used_mb: u32_col(row, c(9))?,
            init_duration_ms: row.get(c(10)).db()?,
            restore_duration_ms: row.get(c(11)).db()?,
            billed_restore_duration_ms: row.get(c(12)).db()?,
            status: row.get(c(13)).db()?,
            error_type: row.get(c(14)).db()?,
            xray_trace_id: row.get(c(15)).db()?,
            format,
        })
    } else {
        None
    };
    let error = match row.get::<_, Option<String>>(c(17)).db()? {
        Some(error_type) => {
            let stack = match row.get_ref(c(19)).db()?.as_blob_or_null() {
                Ok(Some(b)) => codec::decode_stack(b)?,
                Ok(None) => Vec::new(),
                Err(_) => return Err(StoreError::Corrupt("error stack is not a blob".into())),
            };
            Some(ErrorInfo {
                error_type,
                message: row
                    .get::<_, Option<String>>(c(18))
                    .db()?
                    .unwrap_or_default(),
                stack,
            })
        }
        None => None,
    };
    Ok(InvocationPart {
        function,
        log_group,
        log_stream,
        request_id,
        start_ms: row.get(c(0)).db()?,
        end_ms: row.get(c(1)).db()?,
        version: row.get(c(5)).db()?,
        report,
        signals: Signals::from_bits(u32::try_from(signals).unwrap_or(0)),
        error,
        cold_start: row.get(c(3)).db()?,
        runtime_version: row.get(c(20)).db()?,
        init_report_ms: row.get(c(21)).db()?,
        log_lines: Vec::new(),
    })
}

/// The log blob in column `i`. NULL reads as no lines.
pub(crate) fn read_lines(
    row: &Row<'_>,
    i: usize,
) -> Result<Vec<tern_core::model::LogLine>, StoreError> {
    match row.get_ref(i).db()?.as_blob_or_null() {
        Ok(Some(b)) => codec::decode_lines(b),
        Ok(None) => Ok(Vec::new()),
        Err(_) => Err(StoreError::Corrupt("log lines are not a blob".into())),
    }
}
