//! Reading error groups, their timelines, samples and the occurrence feed.
//!
//! `count_in_range` is exact: whole hours come from `error_hours`, the partial hours at the
//! edges of a range from `error_occurrences` (through its (group, t) index). Once raw retention
//! has deleted a range's occurrences, its partial edge hours count nothing.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, Row};
use tern_core::fingerprint::parse_id;
use tern_core::model::Outcome;

use super::errors::{group_id_of, group_key};
use super::query::{function_ids, invocation_rows};
use super::rollup::{ceil_to, floor_to, HOUR_MS};
use super::Db;
use crate::{
    ErrorEvent, ErrorGroup, ErrorOccurrence, ErrorQuery, ErrorStatus, InvocationRow,
    OccurrenceCursor, StoreError, TimeRange,
};

const DEFAULT_LIMIT: usize = 100;

const GROUP_COLUMNS: &str = "g.id, g.version, f.name, g.basis, g.outcome, g.error_type, \
    g.title, g.message, g.culprit, g.frames, g.first_ms, g.last_ms, g.count, g.status, \
    g.status_ms, g.muted_until_ms, g.resolved_ms, g.regressions, g.regressed_ms, g.event_seq, \
    g.event";

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn group_row(r: &Row<'_>, now_ms: Option<i64>) -> Result<ErrorGroup, StoreError> {
    let key: i64 = r.get(0).db()?;
    let id = group_id_of(key);
    let version: i64 = r.get(1).db()?;
    let outcome: i64 = r.get(4).db()?;
    let outcome = Outcome::ALL
        .into_iter()
        .find(|o| i64::from(o.code()) == outcome)
        .ok_or_else(|| StoreError::Corrupt(format!("error group {id}: outcome {outcome}")))?;
    let frames: Option<String> = r.get(9).db()?;
    let status: String = r.get(13).db()?;
    let status = ErrorStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("error group {id}: status {status:?}")))?;
    let muted_until_ms: Option<i64> = r.get(15).db()?;
    let expired = muted_until_ms.is_some_and(|u| now_ms.is_some_and(|n| n >= u));
    let status = if status == ErrorStatus::Muted && expired {
        ErrorStatus::Open
    } else {
        status
    };
    let event: String = r.get(20).db()?;
    let event = ErrorEvent::parse(&event)
        .ok_or_else(|| StoreError::Corrupt(format!("error group {id}: event {event:?}")))?;
    let n = count(r.get(12).db()?);
    Ok(ErrorGroup {
        version: u32::try_from(version)
            .map_err(|_| StoreError::Corrupt(format!("error group {id}: version {version}")))?,
        function: r.get(2).db()?,
        basis: r.get(3).db()?,
        outcome,
        error_type: r.get(5).db()?,
        title: r.get(6).db()?,
        message: r.get(7).db()?,
        culprit: r.get(8).db()?,
        frames: frames
            .map(|f| f.split('\n').map(str::to_string).collect())
            .unwrap_or_default(),
        first_ms: r.get(10).db()?,
        last_ms: r.get(11).db()?,
        count: n,
        count_in_range: n,
        status,
        status_ms: r.get(14).db()?,
        muted_until_ms,
        resolved_ms: r.get(16).db()?,
        regressions: count(r.get(17).db()?),
        regressed_ms: r.get(18).db()?,
        event_seq: r.get(19).db()?,
        event,
        id,
    })
}

/// Occurrences of group `key` with `from <= t < to`.
fn occurrences_between(conn: &Connection, key: i64, from: i64, to: i64) -> Result<u64, StoreError> {
    if from >= to {
        return Ok(0);
    }
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM error_occurrences WHERE group_id = ?1 AND t >= ?2 AND t < ?3",
        )
        .db()?
        .query_row(params![key, from, to], |r| r.get(0))
        .db()?;
    Ok(count(n))
}

/// Occurrences of group `key` in `range`.
fn count_in_range(conn: &Connection, key: i64, range: TimeRange) -> Result<u64, StoreError> {
    let from = range.from_ms.unwrap_or(i64::MIN);
    let to = range.to_ms.unwrap_or(i64::MAX);
    if from >= to {
        return Ok(0);
    }
    // Whole hours [lo, hi); the rest are edges.
    let lo = range.from_ms.map_or(i64::MIN, |f| ceil_to(f, HOUR_MS));
    let hi = range.to_ms.map_or(i64::MAX, |t| floor_to(t, HOUR_MS));
    if lo >= hi {
        return occurrences_between(conn, key, from, to);
    }
    let hours: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(sum(count), 0) FROM error_hours \
             WHERE group_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3",
        )
        .db()?
        .query_row(params![key, lo, hi], |r| r.get(0))
        .db()?;
    Ok(count(hours)
        + occurrences_between(conn, key, from, lo)?
        + occurrences_between(conn, key, hi, to)?)
}

pub(crate) fn error_groups(
    conn: &Connection,
    q: &ErrorQuery,
) -> Result<Vec<ErrorGroup>, StoreError> {
    let limit = if q.limit == 0 { DEFAULT_LIMIT } else { q.limit };
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if !q.functions.is_empty() {
        let ids = function_ids(conn, &q.functions)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        conds.push(format!(
            "g.function_id IN ({})",
            vec!["?"; ids.len()].join(", ")
        ));
        args.extend(ids.into_iter().map(Value::Integer));
    }
    if let Some(s) = q.since_seq {
        conds.push("g.event_seq > ?".into());
        args.push(Value::Integer(s));
    }
    // first..last covers every occurrence, so this only narrows.
    if let Some(t) = q.range.to_ms {
        conds.push("g.first_ms < ?".into());
        args.push(Value::Integer(t));
    }
    if let Some(f) = q.range.from_ms {
        conds.push("g.last_ms >= ?".into());
        args.push(Value::Integer(f));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM error_groups g JOIN functions f ON f.id = g.function_id \
         {filter} ORDER BY g.last_ms DESC, g.id"
    );
    let bounded = q.range.from_ms.is_some() || q.range.to_ms.is_some();
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query(params_from_iter(args)).db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        let mut g = group_row(r, q.now_ms)?;
        if q.status.is_some_and(|s| s != g.status) {
            continue;
        }
        if bounded {
            g.count_in_range = count_in_range(conn, r.get(0).db()?, q.range)?;
            if g.count_in_range == 0 {
                continue;
            }
        }
        out.push(g);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

pub(crate) fn error_group(
    conn: &Connection,
    id: &str,
    now_ms: Option<i64>,
) -> Result<Option<ErrorGroup>, StoreError> {
    let Some(hash) = parse_id(id) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM error_groups g JOIN functions f ON f.id = g.function_id \
         WHERE g.id = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query([group_key(hash)]).db()?;
    match rows.next().db()? {
        Some(r) => Ok(Some(group_row(r, now_ms)?)),
        None => Ok(None),
    }
}

pub(crate) fn error_series(
    conn: &Connection,
    id: &str,
    range: TimeRange,
    bucket_ms: i64,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let (from, to, buckets) = crate::series_buckets(range, bucket_ms)?;
    let mut out: Vec<(i64, u64)> = (0..buckets).map(|i| (from + i * bucket_ms, 0)).collect();
    let Some(hash) = parse_id(id) else {
        return Ok(out);
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT bucket_ms, count FROM error_hours \
             WHERE group_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3",
        )
        .db()?;
    let mut rows = stmt
        .query(params![group_key(hash), floor_to(from, HOUR_MS), to])
        .db()?;
    while let Some(r) = rows.next().db()? {
        let hour: i64 = r.get(0).db()?;
        let n: i64 = r.get(1).db()?;
        let i = (hour.max(from) - from) / bucket_ms;
        if let Some(b) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            b.1 += count(n);
        }
    }
    Ok(out)
}

pub(crate) fn error_samples(
    conn: &Connection,
    id: &str,
    limit: usize,
) -> Result<Vec<InvocationRow>, StoreError> {
    let Some(hash) = parse_id(id) else {
        return Ok(Vec::new());
    };
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    let mut stmt = conn
        .prepare_cached(
            "SELECT invocation_id FROM error_occurrences WHERE group_id = ?1 \
             ORDER BY t DESC, invocation_id DESC LIMIT ?2",
        )
        .db()?;
    let ids = stmt
        .query_map(
            params![group_key(hash), i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| r.get::<_, i64>(0),
        )
        .db()?
        .collect::<Result<Vec<_>, _>>()
        .db()?;
    invocation_rows(conn, ids)
}

pub(crate) fn occurrences_since(
    conn: &Connection,
    after: OccurrenceCursor,
    limit: usize,
) -> Result<Vec<ErrorOccurrence>, StoreError> {
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, invocation_id, group_id FROM error_occurrences \
             WHERE (seq, invocation_id) > (?1, ?2) ORDER BY seq, invocation_id LIMIT ?3",
        )
        .db()?;
    let found = stmt
        .query_map(
            params![
                after.seq,
                after.position,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .db()?
        .collect::<Result<Vec<_>, _>>()
        .db()?;
    let mut out = Vec::with_capacity(found.len());
    for (seq, invocation, key) in found {
        if let Some(row) = invocation_rows(conn, [invocation])?.pop() {
            out.push(ErrorOccurrence {
                cursor: OccurrenceCursor {
                    seq,
                    position: invocation,
                },
                group: group_id_of(key),
                invocation: row,
            });
        }
    }
    Ok(out)
}
