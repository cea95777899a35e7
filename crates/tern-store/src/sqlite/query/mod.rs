//! The read paths.
//!
//! `function_stats` splits the range into whole days (daily rollups), whole hours at the edges
//! (hourly rollups) and the partial hours at the very edges (a scan of those invocations), so
//! an unaligned range is exact and a long range reads a few rows per function and day.

mod environment;
mod fleet;
mod invocations;

pub(crate) use environment::{environment_summaries, environments};
pub(crate) use fleet::{fleet, fleet_counts};
pub(crate) use invocations::{invocation_logs, invocation_rows, invocations};

use std::collections::{BTreeMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension, Row};
use tern_core::model::Outcome;

use super::codec;
use super::rollup::{
    ceil_to, decode_sketch, floor_to, month_of, Contribution, Rollup, Volume, DAY_MS, HOUR_MS,
};
use super::Db;
use crate::{Arch, Checkpoint, FunctionMeta, FunctionStats, MonthUsage, StoreError, TimeRange};
use fleet::{function_stats_in_one_pass, FLEET_PASS_FUNCTIONS};

/// `invocations` rows returned when the query sets no limit.
const DEFAULT_LIMIT: usize = 100;

pub(crate) fn u32_opt(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

fn function_meta(r: &Row<'_>, base: usize) -> Result<FunctionMeta, StoreError> {
    let arch: Option<String> = r.get(base + 2).db()?;
    let timeout: Option<i64> = r.get(base + 3).db()?;
    Ok(FunctionMeta {
        function: r.get(base).db()?,
        region: r.get(base + 1).db()?,
        arch: arch.as_deref().and_then(Arch::parse),
        timeout_ms: timeout.and_then(|t| u64::try_from(t).ok()),
        runtime: r.get(base + 4).db()?,
        memory_size_mb: u32_opt(r.get(base + 5).db()?),
        account: r.get(base + 6).db()?,
        function_arn: r.get(base + 7).db()?,
        ephemeral_storage_mb: u32_opt(r.get(base + 8).db()?),
        log_group: r.get(base + 9).db()?,
        log_format: r.get(base + 10).db()?,
        last_modified: r.get(base + 11).db()?,
        tags: r
            .get::<_, Option<String>>(base + 12)
            .db()?
            .map(|t| codec::decode_tags(&t)),
        inventory_ms: r.get(base + 13).db()?,
        log_retention_days: u32_opt(r.get(base + 14).db()?),
    })
}

/// Function columns for `function_meta`: the configured memory wins over the latest seen.
const META_COLUMNS: &str = "name, region, arch, timeout_ms, runtime, \
    COALESCE(memory_mb, seen_memory_mb), account, function_arn, ephemeral_mb, log_group, \
    log_format, last_modified, tags, inventory_ms, log_retention_days";

pub(crate) fn checkpoints(conn: &Connection, prefix: &str) -> Result<Vec<Checkpoint>, StoreError> {
    // A range scan on the key: every key starting with `prefix` sorts in [prefix, prefix + U+10FFFF).
    let mut stmt = conn
        .prepare_cached(
            "SELECT key, value, updated_ms FROM checkpoints \
             WHERE key >= ?1 AND substr(key, 1, length(?1)) = ?1 ORDER BY key",
        )
        .db()?;
    let mut rows = stmt.query([prefix]).db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        out.push(Checkpoint {
            key: r.get(0).db()?,
            value: r.get(1).db()?,
            updated_ms: r.get(2).db()?,
        });
    }
    Ok(out)
}

pub(crate) fn functions(conn: &Connection) -> Result<Vec<FunctionMeta>, StoreError> {
    let sql = format!("SELECT {META_COLUMNS} FROM functions ORDER BY name");
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query([]).db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        out.push(function_meta(r, 0)?);
    }
    Ok(out)
}

/// The scalar columns of a rollup row, from `base`: six outcome counts, cold starts, over 20 s,
/// billed ms, GB-s, max memory used, first, last, latest memory and its time, log lines and
/// log bytes.
pub(crate) fn read_rollup_scalars(r: &Row<'_>, base: usize) -> Result<Rollup, StoreError> {
    let mut out = Rollup::default();
    for (i, o) in out.outcomes.iter_mut().enumerate() {
        *o = r.get(base + i).db()?;
    }
    out.cold_starts = r.get(base + 6).db()?;
    out.over_20s = r.get(base + 7).db()?;
    out.billed_ms = r.get(base + 8).db()?;
    out.gb_seconds = r.get(base + 9).db()?;
    out.max_memory_used_mb = u32_opt(r.get(base + 10).db()?);
    out.first_ms = r.get(base + 11).db()?;
    out.last_ms = r.get(base + 12).db()?;
    let mem: Option<i64> = r.get(base + 13).db()?;
    let mem_t: Option<i64> = r.get(base + 14).db()?;
    out.latest_memory = mem_t.zip(u32_opt(mem));
    out.log_lines = r.get(base + 15).db()?;
    out.log_bytes = r.get(base + 16).db()?;
    Ok(out)
}

pub(crate) fn blob<'r>(
    r: &'r Row<'_>,
    i: usize,
    what: &str,
) -> Result<Option<&'r [u8]>, StoreError> {
    r.get_ref(i)
        .db()?
        .as_blob_or_null()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not a blob")))
}

/// A rollup row from column `base` on (bucket start, then the columns of `ROLLUP_COLUMNS`).
fn rollup_row(r: &Row<'_>, base: usize) -> Result<(i64, Rollup), StoreError> {
    let bucket: i64 = r.get(base).db()?;
    let mut b = read_rollup_scalars(r, base + 1)?;
    if let Some(d) = blob(r, base + 18, "duration sketch")? {
        b.duration = decode_sketch(Some(d), "duration")?;
    }
    if let Some(i) = blob(r, base + 19, "init sketch")? {
        b.init = decode_sketch(Some(i), "init")?;
    }
    Ok((bucket, b))
}

/// The columns `rollup_row` reads, after the bucket start.
const ROLLUP_COLUMNS: &str = "n_success, n_error, n_timeout, n_out_of_memory, n_crash, \
    n_init_error, cold_starts, over_20s, billed_ms, gb_seconds, max_memory_used_mb, first_ms, \
    last_ms, latest_memory_mb, latest_memory_ms, log_lines, log_bytes, duration, init";

/// A half-open interval `[lo, hi)`; `i64::MIN`/`i64::MAX` stand for unbounded.
pub(crate) type Span = (i64, i64);

/// Which sources answer a range: daily rollups, hourly rollups, and raw invocations.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Plan {
    pub days: Vec<Span>,
    pub hours: Vec<Span>,
    pub raw: Vec<Span>,
}

/// Split `[lo, hi)` into the part covered by whole `unit` buckets and the edges left over.
fn split(lo: i64, hi: i64, unit: i64) -> (Option<Span>, Vec<Span>) {
    let a = if lo == i64::MIN {
        lo
    } else {
        ceil_to(lo, unit)
    };
    let b = if hi == i64::MAX {
        hi
    } else {
        floor_to(hi, unit)
    };
    if a < b {
        let edges = [(lo, a), (b, hi)]
            .into_iter()
            .filter(|(x, y)| x < y)
            .collect();
        (Some((a, b)), edges)
    } else {
        (None, vec![(lo, hi)])
    }
}

pub(crate) fn plan(range: TimeRange) -> Plan {
    let lo = range.from_ms.unwrap_or(i64::MIN);
    let hi = range.to_ms.unwrap_or(i64::MAX);
    let mut p = Plan::default();
    if lo >= hi {
        return p;
    }
    let (days, edges) = split(lo, hi, DAY_MS);
    p.days.extend(days);
    for (a, b) in edges {
        let (hours, raw) = split(a, b, HOUR_MS);
        p.hours.extend(hours);
        p.raw.extend(raw);
    }
    p
}

#[derive(Default)]
struct Acc {
    rollup: Rollup,
    months: BTreeMap<u32, (i64, f64)>,
}

impl Acc {
    fn month(&mut self, t: i64, requests: i64, gb_seconds: f64) {
        let m = self.months.entry(month_of(t)).or_default();
        m.0 += requests;
        m.1 += gb_seconds;
    }

    fn rollups(
        &mut self,
        conn: &Connection,
        table: &str,
        function_id: i64,
        (lo, hi): Span,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT bucket_ms, n_success, n_error, n_timeout, n_out_of_memory, n_crash, \
             n_init_error, cold_starts, over_20s, billed_ms, gb_seconds, max_memory_used_mb, \
             first_ms, last_ms, latest_memory_mb, latest_memory_ms, log_lines, log_bytes, \
             duration, init \
             FROM {table} WHERE function_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3"
        );
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params![function_id, lo, hi]).db()?;
        while let Some(r) = rows.next().db()? {
            self.fold_row(r)?;
        }
        Ok(())
    }

    /// Add one rollup row (the columns of `ROLLUP_SELECT`, bucket first).
    fn fold_row(&mut self, r: &Row<'_>) -> Result<(), StoreError> {
        let (bucket, b) = rollup_row(r, 0)?;
        self.fold(bucket, &b)
    }

    /// Add a rollup row's figures for the bucket starting at `bucket`.
    fn fold(&mut self, bucket: i64, b: &Rollup) -> Result<(), StoreError> {
        self.month(bucket, b.invocations(), b.gb_seconds);
        self.rollup.merge(b)
    }

    /// The partial hours at the edges: counted invocations and the log volume of every stored
    /// one, straight from their rows (found through the spans of the function that overlap
    /// the interval), and the log volume of the stream-line chunks that begin in it.
    fn raw(
        &mut self,
        conn: &Connection,
        function_id: i64,
        (lo, hi): Span,
        width: i64,
    ) -> Result<(), StoreError> {
        for (min_id, max_id) in spans_overlapping(conn, function_id, (lo, hi), width)? {
            self.raw_rows(conn, (min_id, max_id), (lo, hi))?;
        }
        // Chunks by time first (few per hour, all functions), then their environment's
        // function; the join order is forced, as the per-function order would probe every
        // environment the function ever had.
        let (lines, bytes): (i64, i64) = conn
            .prepare_cached(
                "SELECT COALESCE(SUM(s.log_lines), 0), COALESCE(SUM(s.log_bytes), 0) \
                 FROM stream_lines s CROSS JOIN environments e ON e.id = s.env_id \
                 WHERE s.min_ms >= ?2 AND s.min_ms < ?3 AND e.function_id = ?1",
            )
            .db()?
            .query_row(params![function_id, lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))
            .db()?;
        self.rollup.add_volume(Volume { lines, bytes });
        Ok(())
    }

    fn raw_rows(&mut self, conn: &Connection, ids: Span, span: Span) -> Result<(), StoreError> {
        raw_rows(conn, ids, span, |volume, one| {
            self.rollup.add_volume(volume);
            if let Some((t, one)) = one {
                self.month(t, 1, one.gb_seconds);
                self.rollup.merge(&one)?;
            }
            Ok(())
        })
    }
}

/// The stored invocations with ids in `ids` and a time in `[lo, hi)`: each one's log volume,
/// and for a complete one its time and what it adds to the rollups.
fn raw_rows(
    conn: &Connection,
    (min_id, max_id): Span,
    (lo, hi): Span,
    mut each: impl FnMut(Volume, Option<(i64, Rollup)>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    {
        let mut stmt = conn
            .prepare_cached(
                "SELECT t, outcome, cold, duration_ms, billed_ms, billed_restore_ms, memory_mb, \
                 max_memory_mb, init_ms, restore_ms, init_report_ms, complete, log_lines, \
                 log_bytes FROM invocations WHERE id >= ?1 AND id <= ?2 AND t >= ?3 AND t < ?4",
            )
            .db()?;
        let mut rows = stmt.query(params![min_id, max_id, lo, hi]).db()?;
        while let Some(r) = rows.next().db()? {
            // Every stored invocation's lines count; only complete ones count as invocations.
            let volume = Volume {
                lines: r.get(12).db()?,
                bytes: r.get(13).db()?,
            };
            if !r.get::<_, bool>(11).db()? {
                each(volume, None)?;
                continue;
            }
            let cold: bool = r.get(2).db()?;
            let code: i64 = r.get(1).db()?;
            let outcome = u8::try_from(code)
                .ok()
                .and_then(Outcome::from_code)
                .ok_or_else(|| StoreError::Corrupt(format!("bad outcome code {code}")))?;
            let init_report: Option<f64> = r.get(10).db()?;
            let init: Option<f64> = r.get(8).db()?;
            let restore: Option<f64> = r.get(9).db()?;
            let c = Contribution {
                t: r.get(0).db()?,
                outcome,
                cold,
                duration_ms: r.get::<_, Option<f64>>(3).db()?.unwrap_or(0.0),
                billed_ms: super::rollup::billed_ms(r.get(4).db()?, r.get(5).db()?),
                memory_mb: u32_opt(r.get(6).db()?),
                max_memory_mb: u32_opt(r.get(7).db()?),
                // As InvocationPart::init_duration_ms.
                init_ms: init.or(init_report.filter(|_| cold)).or(restore),
                version: None,
            };
            let mut one = Rollup::default();
            one.add(&c);
            each(volume, Some((c.t, one)))?;
        }
        Ok(())
    }
}

/// Id ranges of the spans of `function_id` that may hold rows with a time in `[lo, hi)`.
pub(crate) fn spans_overlapping(
    conn: &Connection,
    function_id: i64,
    (lo, hi): Span,
    width: i64,
) -> Result<Vec<Span>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT min_id, max_id FROM spans WHERE function_id = ?1 \
             AND min_t >= ?2 AND min_t < ?3 AND max_t >= ?4",
        )
        .db()?;
    let mut rows = stmt
        .query(params![function_id, lo.saturating_sub(width), hi, lo])
        .db()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().db()? {
        out.push((r.get(0).db()?, r.get(1).db()?));
    }
    Ok(out)
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn function_stats(
    conn: &Connection,
    functions: &[String],
    range: TimeRange,
) -> Result<Vec<FunctionStats>, StoreError> {
    let wanted: HashSet<&str> = functions.iter().map(String::as_str).collect();
    if wanted.is_empty() || wanted.len() > FLEET_PASS_FUNCTIONS {
        return function_stats_in_one_pass(conn, &wanted, range);
    }
    // Named functions: look each up by its unique name (a series asks for one function per
    // bucket; reading every function's row each time made it O(fleet) per bucket).
    let selected = {
        let mut names: Vec<&str> = wanted.iter().copied().collect();
        names.sort_unstable();
        let sql = format!("SELECT id, {META_COLUMNS} FROM functions WHERE name = ?1");
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let mut rows = stmt.query([name]).db()?;
            if let Some(r) = rows.next().db()? {
                out.push((r.get::<_, i64>(0).db()?, function_meta(r, 1)?));
            }
        }
        out
    };
    let plan = plan(range);
    let width = span_width(conn)?;
    let lo = range.from_ms.unwrap_or(i64::MIN);
    let hi = range.to_ms.unwrap_or(i64::MAX);
    let mut out = Vec::with_capacity(selected.len());
    for (function_id, meta) in selected {
        let mut acc = Acc::default();
        for &span in &plan.days {
            acc.rollups(conn, "rollup_day", function_id, span)?;
        }
        for &span in &plan.hours {
            acc.rollups(conn, "rollup_hour", function_id, span)?;
        }
        for &span in &plan.raw {
            acc.raw(conn, function_id, span, width)?;
        }
        // Approximation: environments whose first..last counted invocation overlaps the
        // range, which can include one that served invocations only outside it.
        let environments: i64 = conn
            .prepare_cached(
                "SELECT count(*) FROM environments WHERE function_id = ?1 AND invocations > 0 \
                 AND first_ms < ?3 AND last_ms >= ?2",
            )
            .db()?
            .query_row(params![function_id, lo, hi], |row| row.get(0))
            .db()?;
        out.push(stats_from(acc, meta, environments));
    }
    Ok(out)
}

/// Merge an encoded sketch column (when not NULL) into `into`.
fn merge_blob(
    into: &mut tern_core::sketch::Sketch,
    b: Option<&[u8]>,
    what: &str,
) -> Result<(), StoreError> {
    match b {
        Some(b) => into
            .merge_encoded(b)
            .map_err(|e| StoreError::Corrupt(format!("{what} sketch: {e}"))),
        None => Ok(()),
    }
}

/// Sorted, disjoint spans with the adjacent ones joined.
fn runs(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::new();
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => out.push((a, b)),
        }
    }
    out
}

/// A function's statistics from its accumulated rollups.
fn stats_from(acc: Acc, meta: FunctionMeta, environments: i64) -> FunctionStats {
    stats_of(acc.rollup, acc.months, meta, count(environments))
}

/// A function's statistics from its merged rollup and usage per month: the one conversion
/// both backends use.
pub(crate) fn stats_of(
    r: Rollup,
    months: BTreeMap<u32, (i64, f64)>,
    meta: FunctionMeta,
    environments: u64,
) -> FunctionStats {
    let invocations = r.invocations();
    FunctionStats {
        function: meta.function.clone(),
        meta,
        invocations: count(invocations),
        errors: count(invocations - r.outcomes[Outcome::Success.code() as usize]),
        outcomes: r.outcomes.map(count),
        cold_starts: count(r.cold_starts),
        billed_duration_ms: r.billed_ms,
        gb_seconds: r.gb_seconds,
        months: months
            .into_iter()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(month, (n, gb))| MonthUsage {
                month,
                requests: count(n),
                gb_seconds: gb,
            })
            .collect(),
        memory_size_mb: r.latest_memory.map(|m| m.1),
        max_memory_used_mb: r.max_memory_used_mb,
        over_20s: count(r.over_20s),
        environments,
        first_ms: r.first_ms,
        last_ms: r.last_ms,
        log_lines: count(r.log_lines),
        log_bytes: count(r.log_bytes),
        duration: r.duration,
        init: r.init,
    }
}

/// `Store::series` for whole-hour buckets: one query reads the function's hourly rollups
/// over the range and each row is folded into its bucket. Buckets that are not whole hours
/// (a range edge) are asked of `function_stats`. Series entries carry no environment count.
/// `None` for an unknown function (the caller's default gives zero buckets).
pub(crate) fn series(
    conn: &Connection,
    function: &str,
    range: TimeRange,
    bucket_ms: i64,
) -> Result<Option<Vec<(i64, FunctionStats)>>, StoreError> {
    let (from, to, n) = crate::series_buckets(range, bucket_ms)?;
    let sql = format!("SELECT id, {META_COLUMNS} FROM functions WHERE name = ?1");
    let found = {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query([function]).db()?;
        match rows.next().db()? {
            Some(r) => Some((r.get::<_, i64>(0).db()?, function_meta(r, 1)?)),
            None => None,
        }
    };
    let Some((function_id, meta)) = found else {
        return Ok(None);
    };
    let n = usize::try_from(n).unwrap_or(0);
    let starts: Vec<i64> = (0..n).map(|i| from + i as i64 * bucket_ms).collect();
    let whole = |start: i64| {
        let end = start.saturating_add(bucket_ms).min(to);
        start % HOUR_MS == 0 && end % HOUR_MS == 0
    };
    let mut accs: Vec<Acc> = (0..n).map(|_| Acc::default()).collect();
    {
        let sql = "SELECT bucket_ms, n_success, n_error, n_timeout, n_out_of_memory, n_crash, \
             n_init_error, cold_starts, over_20s, billed_ms, gb_seconds, max_memory_used_mb, \
             first_ms, last_ms, latest_memory_mb, latest_memory_ms, log_lines, log_bytes, \
             duration, init \
             FROM rollup_hour WHERE function_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3";
        let mut stmt = conn.prepare_cached(sql).db()?;
        let mut rows = stmt.query(params![function_id, from, to]).db()?;
        while let Some(r) = rows.next().db()? {
            let bucket: i64 = r.get(0).db()?;
            let i = usize::try_from((bucket - from) / bucket_ms).unwrap_or(usize::MAX);
            if i < n && whole(starts[i]) && bucket + HOUR_MS <= (starts[i] + bucket_ms).min(to) {
                accs[i].fold_row(r)?;
            }
        }
    }
    let names = [function.to_string()];
    let mut out = Vec::with_capacity(n);
    for (start, acc) in starts.into_iter().zip(accs) {
        let stats = if whole(start) {
            stats_from(acc, meta.clone(), 0)
        } else {
            let end = start.saturating_add(bucket_ms).min(to);
            let r = TimeRange {
                from_ms: Some(start),
                to_ms: Some(end),
            };
            function_stats(conn, &names, r)?
                .into_iter()
                .next()
                .unwrap_or_else(|| stats_from(Acc::default(), meta.clone(), 0))
        };
        out.push((start, stats));
    }
    Ok(Some(out))
}

/// Ids of the named functions (unknown names are skipped), or of every function.
pub(crate) fn function_ids(conn: &Connection, names: &[String]) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::new();
    if names.is_empty() {
        let mut stmt = conn.prepare_cached("SELECT id FROM functions").db()?;
        let mut rows = stmt.query([]).db()?;
        while let Some(r) = rows.next().db()? {
            ids.push(r.get(0).db()?);
        }
    } else {
        let mut stmt = conn
            .prepare_cached("SELECT id FROM functions WHERE name = ?1")
            .db()?;
        for n in names {
            if let Some(id) = stmt.query_row([n], |r| r.get(0)).optional().db()? {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

pub(crate) fn time_bounds(conn: &Connection) -> Result<Option<(i64, i64)>, StoreError> {
    let (lo, hi): (Option<i64>, Option<i64>) = conn
        .prepare_cached("SELECT min(first_ms), max(last_ms) FROM rollup_day")
        .db()?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .db()?;
    Ok(lo.zip(hi))
}

/// The widest span recorded (0 when none).
pub(crate) fn span_width(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = 'span_width'")
        .db()?
        .query_row([], |r| r.get(0))
        .optional()
        .db()?
        .unwrap_or(0))
}

#[cfg(test)]
mod tests;
