//! Invocation reads: listings newest first, the rows of given invocations, and one
//! invocation's log lines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use tern_core::model::{normalize_lines, LogLine};

use super::{function_ids, DEFAULT_LIMIT};
use crate::sqlite::codec::{request_hash, MAX_PROBES};
use crate::sqlite::row::{self, PART_COLUMNS};
use crate::sqlite::Db;
use crate::{InvocationQuery, InvocationRow, StoreError};

/// Listing newest first, through the spans (the time index, see `schema`): spans are read
/// newest first and their rows scanned until no remaining span can hold a row newer than the
/// `limit`-th found; then those rows are read. A request id is unique within a stream, so a
/// request id query probes the (environment, request hash) key of each environment instead.
pub(crate) fn invocations(
    conn: &Connection,
    q: &InvocationQuery,
) -> Result<Vec<InvocationRow>, StoreError> {
    let limit = if q.limit == 0 { DEFAULT_LIMIT } else { q.limit };
    let function_ids = function_ids(conn, &q.functions)?;
    let mut conds: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(o) = q.outcome {
        conds.push("i.outcome = ?");
        args.push(Value::Integer(i64::from(o.code())));
    }
    if let Some(c) = q.cold {
        conds.push("i.cold = ?");
        args.push(Value::Integer(i64::from(c)));
    }
    if let Some(f) = q.range.from_ms {
        conds.push("i.t >= ?");
        args.push(Value::Integer(f));
    }
    if let Some(t) = q.range.to_ms {
        conds.push("i.t < ?");
        args.push(Value::Integer(t));
    }
    let mut newest: Vec<(i64, i64)>;
    if let Some(id) = &q.request_id {
        let h = request_hash(id);
        let mut all = conds.clone();
        all.extend(["i.rid_hash >= ?", "i.rid_hash < ?", "i.request_id = ?"]);
        let mut all_args = args.clone();
        all_args.extend([
            Value::Integer(h),
            Value::Integer(h + MAX_PROBES),
            Value::Text(id.clone()),
        ]);
        if !q.functions.is_empty() {
            let marks = vec!["?"; function_ids.len()].join(", ");
            let cond = format!("i.function_id IN ({marks})");
            let sql = format!(
                "SELECT i.t, i.id FROM environments e CROSS JOIN invocations i ON i.env_id = e.id \
                 WHERE {cond} AND {}",
                all.join(" AND ")
            );
            let mut a: Vec<Value> = function_ids.iter().map(|f| Value::Integer(*f)).collect();
            a.extend(all_args);
            newest = pairs(conn, &sql, a)?;
        } else {
            let sql = format!(
                "SELECT i.t, i.id FROM environments e CROSS JOIN invocations i ON i.env_id = e.id \
                 WHERE {}",
                all.join(" AND ")
            );
            newest = pairs(conn, &sql, all_args)?;
        }
    } else {
        newest = newest_by_spans(conn, q, &function_ids, &conds, &args, limit)?;
    }
    newest.sort_unstable_by(|x, y| y.cmp(x));
    newest.truncate(limit);
    invocation_rows(conn, newest.into_iter().map(|(_, id)| id))
}

/// The invocations with these row ids, in the order given (ids not stored are skipped).
pub(crate) fn invocation_rows(
    conn: &Connection,
    ids: impl IntoIterator<Item = i64>,
) -> Result<Vec<InvocationRow>, StoreError> {
    let sql = format!(
        "SELECT f.name, e.log_group, e.log_stream, i.request_id, {PART_COLUMNS} \
         FROM invocations i JOIN environments e ON e.id = i.env_id \
         JOIN functions f ON f.id = i.function_id WHERE i.id = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut out = Vec::new();
    for id in ids {
        let mut rows = stmt.query([id]).db()?;
        if let Some(r) = rows.next().db()? {
            out.push(invocation_row(r)?);
        }
    }
    Ok(out)
}

/// The newest `limit` (time, id) pairs matching `conds` (with `args`), in no particular order.
fn newest_by_spans(
    conn: &Connection,
    q: &InvocationQuery,
    function_ids: &[i64],
    conds: &[&str],
    args: &[Value],
    limit: usize,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let lo = q.range.from_ms.unwrap_or(i64::MIN);
    let hi = q.range.to_ms.unwrap_or(i64::MAX);
    let mut filter = vec!["i.id >= ?", "i.id <= ?"];
    filter.extend(conds.iter().copied());
    let rows_sql = format!(
        "SELECT i.t, i.id FROM invocations i WHERE {}",
        filter.join(" AND ")
    );
    // The newest `limit` so far, as a min-heap.
    let mut best: BinaryHeap<Reverse<(i64, i64)>> = BinaryHeap::new();
    // Scan one span; false once no span at or below `max_t` can improve on `best`.
    let mut visit = |(max_t, min_id, max_id): (i64, i64, i64)| -> Result<bool, StoreError> {
        if best.len() >= limit && best.peek().is_some_and(|Reverse((t, _))| max_t < *t) {
            return Ok(false);
        }
        let mut a = vec![Value::Integer(min_id), Value::Integer(max_id)];
        a.extend(args.iter().cloned());
        for pair in pairs(conn, &rows_sql, a)? {
            best.push(Reverse(pair));
            if best.len() > limit {
                best.pop();
            }
        }
        Ok(true)
    };
    let span = |r: &Row<'_>| -> Result<(i64, i64, i64), StoreError> {
        Ok((r.get(0).db()?, r.get(1).db()?, r.get(2).db()?))
    };
    if q.functions.is_empty() {
        // Newest first straight from the (max_t) index, stopping early.
        let mut stmt = conn
            .prepare_cached(
                "SELECT max_t, min_id, max_id FROM spans WHERE max_t >= ?1 AND min_t < ?2 \
                 ORDER BY max_t DESC",
            )
            .db()?;
        let mut rows = stmt.query(params![lo, hi]).db()?;
        while let Some(r) = rows.next().db()? {
            if !visit(span(r)?)? {
                break;
            }
        }
    } else {
        let mut spans = Vec::new();
        let mut stmt = conn
            .prepare_cached(
                "SELECT max_t, min_id, max_id FROM spans \
                 WHERE function_id = ?1 AND max_t >= ?2 AND min_t < ?3",
            )
            .db()?;
        for f in function_ids {
            let mut rows = stmt.query(params![f, lo, hi]).db()?;
            while let Some(r) = rows.next().db()? {
                spans.push(span(r)?);
            }
        }
        spans.sort_unstable_by(|x, y| y.cmp(x));
        for s in spans {
            if !visit(s)? {
                break;
            }
        }
    }
    Ok(best.into_iter().map(|Reverse(p)| p).collect())
}

/// Run a query returning (t, id) pairs.
fn pairs(conn: &Connection, sql: &str, args: Vec<Value>) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let mut rows = stmt.query(params_from_iter(args)).db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        out.push((r.get(0).db()?, r.get(1).db()?));
    }
    Ok(out)
}

/// An `InvocationRow` from (function, log group, log stream, request id, `PART_COLUMNS`).
fn invocation_row(r: &Row<'_>) -> Result<InvocationRow, StoreError> {
    let function: String = r.get(0).db()?;
    let group: String = r.get(1).db()?;
    let stream: String = r.get(2).db()?;
    let request_id: String = r.get(3).db()?;
    let p = row::read_part(
        r,
        4,
        function,
        Arc::from(group.as_str()),
        Arc::from(stream.as_str()),
        request_id,
    )?;
    Ok(InvocationRow::from_part(p))
}

pub(crate) fn invocation_logs(
    conn: &Connection,
    log_group: &str,
    log_stream: &str,
    request_id: &str,
) -> Result<Vec<LogLine>, StoreError> {
    let h = request_hash(request_id);
    let found = conn
        .prepare_cached(
            "SELECT e.id, i.start_ms, i.end_ms, i.lines FROM environments e \
             JOIN invocations i ON i.env_id = e.id \
             WHERE e.log_group = ?1 AND e.log_stream = ?2 \
               AND i.rid_hash >= ?3 AND i.rid_hash < ?4 AND i.request_id = ?5",
        )
        .db()?
        .query_row(
            params![log_group, log_stream, h, h + MAX_PROBES, request_id],
            |r| {
                let lines: Option<Vec<u8>> = r.get(3)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    lines,
                ))
            },
        )
        .optional()
        .db()?;
    let Some((env_id, start, end, blob)) = found else {
        return Ok(Vec::new());
    };
    let mut lines = super::codec::decode_lines(blob.as_deref().unwrap_or_default())?;
    let own_lo = lines.iter().map(|l| l.timestamp_ms).min();
    let own_hi = lines.iter().map(|l| l.timestamp_ms).max();
    let lo = start.or(own_lo);
    let hi = end.or(own_hi).or(lo);
    if let (Some(lo), Some(hi)) = (lo, hi) {
        let mut stmt = conn
            .prepare_cached(
                "SELECT lines FROM stream_lines WHERE env_id = ?1 AND min_ms <= ?3 AND max_ms >= ?2",
            )
            .db()?;
        let mut rows = stmt.query(params![env_id, lo, hi]).db()?;
        while let Some(r) = rows.next().db()? {
            lines.extend(
                row::read_lines(r, 0)?
                    .into_iter()
                    .filter(|l| (lo..=hi).contains(&l.timestamp_ms)),
            );
        }
    }
    normalize_lines(&mut lines);
    Ok(lines)
}
