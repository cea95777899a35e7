//! Environment reads: each function's execution environments, and their summaries over a
//! range.

use rusqlite::Connection;

use super::count;
use crate::sqlite::Db;
use crate::{EnvironmentRow, StoreError, TimeRange};

pub(crate) fn environments(
    conn: &Connection,
    function: &str,
) -> Result<Vec<EnvironmentRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT e.log_stream, e.invocations, e.cold_starts, e.first_ms, e.last_ms, \
             e.runtime_version FROM environments e JOIN functions f ON f.id = e.function_id \
             WHERE f.name = ?1 ORDER BY e.invocations DESC, e.log_stream, e.log_group",
        )
        .db()?;
    let mut rows = stmt.query([function]).db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        out.push(EnvironmentRow {
            function: function.to_string(),
            log_stream: r.get(0).db()?,
            invocations: count(r.get(1).db()?),
            cold_starts: count(r.get(2).db()?),
            first_ms: r.get(3).db()?,
            last_ms: r.get(4).db()?,
            runtime_version: r.get(5).db()?,
        });
    }
    Ok(out)
}

/// Every function's environments in `range` in two passes over `environments` (see
/// [`crate::Store::environment_summaries`]), instead of one query per function.
pub(crate) fn environment_summaries(
    conn: &Connection,
    range: TimeRange,
) -> Result<Vec<crate::EnvironmentSummary>, StoreError> {
    // One scan of the environments, keyed by function id while reading (no name per row),
    // each function's runtime versions with their invocations; named at the end.
    let mut by: std::collections::HashMap<i64, (crate::EnvironmentSummary, Vec<(String, u64)>)> =
        std::collections::HashMap::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT function_id, invocations, first_ms, last_ms, runtime_version \
             FROM environments WHERE (invocations > 0 AND last_ms >= ?1 AND last_ms < ?2) \
             OR runtime_version IS NOT NULL",
        )
        .db()?;
    let lo = range.from_ms.unwrap_or(i64::MIN);
    let hi = range.to_ms.unwrap_or(i64::MAX);
    let mut rows = stmt.query(rusqlite::params![lo, hi]).db()?;
    while let Some(r) = rows.next().db()? {
        let invocations = count(r.get(1).db()?);
        let first: Option<i64> = r.get(2).db()?;
        let last: Option<i64> = r.get(3).db()?;
        let (e, versions) = by.entry(r.get(0).db()?).or_default();
        if invocations > 0 && last.is_some_and(|t| t >= lo && t < hi) {
            e.environments += 1;
            e.invocations += invocations;
            e.lifetimes_ms.push(match (first, last) {
                (Some(a), Some(b)) => (b - a).max(0),
                _ => 0,
            });
        }
        let version = r.get_ref(4).db()?;
        if let rusqlite::types::ValueRef::Text(v) = version {
            let v = std::str::from_utf8(v)
                .map_err(|_| StoreError::Corrupt("runtime version is not UTF-8".into()))?;
            match versions.iter_mut().find(|(x, _)| x == v) {
                Some((_, n)) => *n += invocations,
                None => versions.push((v.to_string(), invocations)),
            }
        }
    }
    let mut out = Vec::with_capacity(by.len());
    let mut stmt = conn.prepare_cached("SELECT id, name FROM functions").db()?;
    let mut rows = stmt.query([]).db()?;
    while let Some(r) = rows.next().db()? {
        if let Some((mut e, mut versions)) = by.remove(&r.get::<_, i64>(0).db()?) {
            e.function = r.get(1).db()?;
            e.lifetimes_ms.sort_unstable();
            versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            e.runtime_versions = versions.into_iter().map(|(v, _)| v).collect();
            out.push(e);
        }
    }
    out.sort_by(|a, b| a.function.cmp(&b.function));
    Ok(out)
}
