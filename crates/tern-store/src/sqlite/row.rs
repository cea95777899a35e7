//! Invocation rows to and from `InvocationPart`: every field of a part is stored, so the part
//! read back equals the part written and re-ingest can tell "nothing new" by comparing.

use std::sync::Arc;

use rusqlite::{Row, Statement};
use tern_core::model::{ErrorInfo, InvocationPart, LogFormat, ReportMetrics, Signals};

use super::codec;
use super::Db;
use crate::StoreError;

/// Columns `read_part` expects, in order, starting at its `base` index.
pub(crate) const PART_COLUMNS: &str = "start_ms, end_ms, complete, cold_flag, signals, version, \
    duration_ms, billed_ms, memory_mb, max_memory_mb, init_ms, restore_ms, billed_restore_ms, \
    status, report_error_type, xray_trace_id, report_format, error_type, error_message, \
    error_stack, runtime_version, init_report_ms";
pub(crate) const PART_COLUMN_COUNT: usize = 22;

/// What is written besides the part itself.
pub(crate) struct RowKeys<'a> {
    pub env_id: i64,
    pub rid_hash: i64,
    pub function_id: i64,
    pub t: i64,
    pub lines: &'a [u8],
}

fn format_code(f: LogFormat) -> i64 {
    match f {
        LogFormat::Text => 0,
        LogFormat::Json => 1,
    }
}

/// Bind `?1`…`?30` of an INSERT or UPDATE of an invocation, in this order: env_id, request_id,
/// function_id, t, start_ms, end_ms, complete, outcome, cold, cold_flag, signals, version,
/// duration_ms, billed_ms, memory_mb, max_memory_mb, init_ms, restore_ms, billed_restore_ms,
/// status, report_error_type, xray_trace_id, report_format, error_type, error_message,
/// error_stack, runtime_version, init_report_ms, lines, rid_hash.
pub(crate) fn bind(
    stmt: &mut Statement<'_>,
    keys: &RowKeys<'_>,
    p: &InvocationPart,
) -> Result<(), StoreError> {
    let r = p.report.as_ref();
    let e = p.error.as_ref();
    stmt.raw_bind_parameter(1, keys.env_id).db()?;
    stmt.raw_bind_parameter(2, p.request_id.as_str()).db()?;
    stmt.raw_bind_parameter(3, keys.function_id).db()?;
    stmt.raw_bind_parameter(4, keys.t).db()?;
    stmt.raw_bind_parameter(5, p.start_ms).db()?;
    stmt.raw_bind_parameter(6, p.end_ms).db()?;
    stmt.raw_bind_parameter(7, r.is_some()).db()?;
    stmt.raw_bind_parameter(8, i64::from(p.outcome().code()))
        .db()?;
    stmt.raw_bind_parameter(9, p.is_cold()).db()?;
    stmt.raw_bind_parameter(10, p.cold_start).db()?;
    stmt.raw_bind_parameter(11, i64::from(p.signals.bits()))
        .db()?;
    stmt.raw_bind_parameter(12, p.version.as_deref()).db()?;
    stmt.raw_bind_parameter(13, r.map(|r| r.duration_ms)).db()?;
    stmt.raw_bind_parameter(14, r.and_then(|r| r.billed_duration_ms))
        .db()?;
    stmt.raw_bind_parameter(15, r.and_then(|r| r.memory_size_mb))
        .db()?;
    stmt.raw_bind_parameter(16, r.and_then(|r| r.max_memory_used_mb))
        .db()?;
    stmt.raw_bind_parameter(17, r.and_then(|r| r.init_duration_ms))
        .db()?;
    stmt.raw_bind_parameter(18, r.and_then(|r| r.restore_duration_ms))
        .db()?;
    stmt.raw_bind_parameter(19, r.and_then(|r| r.billed_restore_duration_ms))
        .db()?;
    stmt.raw_bind_parameter(20, r.and_then(|r| r.status.as_deref()))
        .db()?;
    stmt.raw_bind_parameter(21, r.and_then(|r| r.error_type.as_deref()))
        .db()?;
    stmt.raw_bind_parameter(22, r.and_then(|r| r.xray_trace_id.as_deref()))
        .db()?;
    stmt.raw_bind_parameter(23, r.map(|r| format_code(r.format)))
        .db()?;
    stmt.raw_bind_parameter(24, e.map(|e| e.error_type.as_str()))
        .db()?;
    stmt.raw_bind_parameter(25, e.map(|e| e.message.as_str()))
        .db()?;
    stmt.raw_bind_parameter(26, e.map(|e| codec::encode_stack(&e.stack)))
        .db()?;
    stmt.raw_bind_parameter(27, p.runtime_version.as_deref())
        .db()?;
    stmt.raw_bind_parameter(28, p.init_report_ms).db()?;
    stmt.raw_bind_parameter(29, keys.lines).db()?;
    stmt.raw_bind_parameter(30, keys.rid_hash).db()?;
    Ok(())
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

/// The blob in column `i` (NULL or absent reads as no lines).
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
