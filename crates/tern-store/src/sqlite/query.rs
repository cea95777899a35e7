//! The read paths.
//!
//! `function_stats` splits the range into whole days (daily rollups), whole hours at the edges
//! (hourly rollups) and the partial hours at the very edges (a scan of those invocations), so
//! an unaligned range is exact and a long range reads a few rows per function and day.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use tern_core::model::{normalize_lines, LogLine, Outcome};

use super::codec::{self, request_hash, MAX_PROBES};
use super::rollup::{
    ceil_to, decode_sketch, floor_to, month_of, Contribution, Rollup, Volume, DAY_MS, HOUR_MS,
};
use super::row::{self, PART_COLUMNS};
use super::Db;
use crate::{
    Arch, Checkpoint, EnvironmentRow, FleetBucket, FleetRow, FunctionMeta, FunctionStats,
    InvocationQuery, InvocationRow, MonthUsage, StoreError, TimeRange,
};

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

/// From this many named functions on, `function_stats` reads them the way `fleet` reads the
/// whole fleet (a statement per kind of row for all of them) rather than a few statements per
/// function: at 5,000 functions and 30 days that is 0.2 s instead of 0.7 s.
const FLEET_PASS_FUNCTIONS: usize = 64;

/// `function_stats` of every function (`wanted` empty) or of many named ones, through
/// [`fleet_of`], with the environments counted in one grouped statement.
fn function_stats_in_one_pass(
    conn: &Connection,
    wanted: &HashSet<&str>,
    range: TimeRange,
) -> Result<Vec<FunctionStats>, StoreError> {
    let rows = fleet_of(
        conn,
        range,
        None,
        (!wanted.is_empty()).then_some(wanted),
        true,
    )?;
    let lo = range.from_ms.unwrap_or(i64::MIN);
    let hi = range.to_ms.unwrap_or(i64::MAX);
    // The same approximation as the per-function count below.
    let mut environments: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT f.name, count(*) FROM environments e JOIN functions f ON f.id = e.function_id \
             WHERE e.invocations > 0 AND e.first_ms < ?2 AND e.last_ms >= ?1 \
             GROUP BY e.function_id",
        )
        .db()?;
    let mut found = stmt.query(params![lo, hi]).db()?;
    while let Some(r) = found.next().db()? {
        environments.insert(r.get(0).db()?, r.get(1).db()?);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut s = row.stats;
            s.environments = count(environments.get(&s.function).copied().unwrap_or(0));
            s
        })
        .collect())
}

/// `Store::fleet` in one pass per kind of row for the whole fleet instead of queries per
/// function: each bucket is planned as `function_stats` plans a range (whole days, whole hours,
/// partial hours), the plans' day and hour spans are merged into runs read with one statement
/// each over every function, and the partial hours are read through the time index (`spans`)
/// of all functions at once. Every row is folded into its function's total and its bucket.
/// Fleet rows carry no environment count (as series entries).
pub(crate) fn fleet(
    conn: &Connection,
    range: TimeRange,
    bucket_ms: Option<i64>,
) -> Result<Vec<FleetRow>, StoreError> {
    fleet_of(conn, range, bucket_ms, None, true)
}

/// `Store::fleet_counts`: [`fleet_of`] without sketches (no sketch is decoded or merged).
pub(crate) fn fleet_counts(
    conn: &Connection,
    range: TimeRange,
    bucket_ms: i64,
) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
    Ok(fleet_of(conn, range, Some(bucket_ms), None, false)?
        .into_iter()
        .map(|r| {
            let counts = r.buckets.iter().map(|b| b.invocations).collect();
            (r.stats.function, counts)
        })
        .collect())
}

/// [`fleet`] of every function, or of the named ones only (`only`): then every named function
/// that exists has a row, as `function_stats` of named functions answers. Without `sketches`,
/// the rollups' duration and init sketches are not read: every sketch of the answer is empty
/// (the counts alone, for a cheap bucketed read).
fn fleet_of(
    conn: &Connection,
    range: TimeRange,
    bucket_ms: Option<i64>,
    only: Option<&HashSet<&str>>,
    sketches: bool,
) -> Result<Vec<FleetRow>, StoreError> {
    let lo = range.from_ms.unwrap_or(i64::MIN);
    let hi = range.to_ms.unwrap_or(i64::MAX);
    let segments: Vec<Span> = match bucket_ms {
        Some(b) => crate::fleet_buckets(range, b)?,
        None if lo < hi => vec![(lo, hi)],
        None => Vec::new(),
    };
    let bucketed = bucket_ms.is_some();
    let sql = format!("SELECT id, {META_COLUMNS} FROM functions ORDER BY name");
    let mut functions = Vec::new();
    {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query([]).db()?;
        while let Some(r) = rows.next().db()? {
            let meta = function_meta(r, 1)?;
            if only.is_none_or(|o| o.contains(meta.function.as_str())) {
                functions.push((r.get::<_, i64>(0).db()?, meta));
            }
        }
    }
    let index: std::collections::HashMap<i64, usize> = functions
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut totals: Vec<Acc> = functions.iter().map(|_| Acc::default()).collect();
    let mut buckets: Vec<Vec<FleetBucket>> = functions
        .iter()
        .map(|_| {
            if bucketed {
                vec![FleetBucket::default(); segments.len()]
            } else {
                Vec::new()
            }
        })
        .collect();
    // The segment a time falls in (segments are sorted and contiguous).
    let segment_of = |t: i64| segments.partition_point(|s| s.0 <= t).saturating_sub(1);
    let add_to_bucket = |b: &mut Vec<FleetBucket>, t: i64, r: &Rollup| -> Result<(), StoreError> {
        if let Some(b) = b.get_mut(segment_of(t)) {
            let n = r.invocations();
            b.invocations += count(n);
            b.errors += count(n - r.outcomes[Outcome::Success.code() as usize]);
            if sketches {
                b.duration
                    .merge(&r.duration)
                    .map_err(|e| StoreError::Corrupt(format!("duration sketch: {e}")))?;
            }
        }
        Ok(())
    };
    let (mut days, mut hours, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    for &(a, b) in &segments {
        let p = plan(TimeRange {
            from_ms: Some(a).filter(|a| *a != i64::MIN),
            to_ms: Some(b).filter(|b| *b != i64::MAX),
        });
        days.extend(p.days);
        hours.extend(p.hours);
        raw.extend(p.raw);
    }
    for (table, spans) in [("rollup_day", runs(days)), ("rollup_hour", runs(hours))] {
        // Without sketches, only the counts (and the log lines that keep a function that only
        // logged in the answer, as with them).
        let columns = if sketches {
            ROLLUP_COLUMNS
        } else {
            "n_success, n_error, n_timeout, n_out_of_memory, n_crash, n_init_error, log_lines"
        };
        let sql = format!(
            "SELECT function_id, bucket_ms, {columns} FROM {table} \
             WHERE function_id IN (SELECT id FROM functions) AND bucket_ms >= ?1 AND bucket_ms < ?2"
        );
        let mut stmt = conn.prepare_cached(&sql).db()?;
        for (a, b) in spans {
            let mut rows = stmt.query(params![a, b]).db()?;
            while let Some(r) = rows.next().db()? {
                let Some(&i) = index.get(&r.get::<_, i64>(0).db()?) else {
                    continue;
                };
                if !sketches {
                    let mut one = Rollup::default();
                    for (k, o) in one.outcomes.iter_mut().enumerate() {
                        *o = r.get(2 + k).db()?;
                    }
                    one.log_lines = r.get(8).db()?;
                    let t: i64 = r.get(1).db()?;
                    totals[i].fold(t, &one)?;
                    add_to_bucket(&mut buckets[i], t, &one)?;
                    continue;
                }
                // The sketches merge straight from their encoding: the init sketch into the
                // total, the duration sketch into the row's bucket (the total's is the merge of
                // its buckets, at the end) or, without buckets, into the total.
                let t: i64 = r.get(1).db()?;
                let one = read_rollup_scalars(r, 2)?;
                totals[i].fold(t, &one)?;
                merge_blob(
                    &mut totals[i].rollup.init,
                    blob(r, 20, "init sketch")?,
                    "init",
                )?;
                let duration = blob(r, 19, "duration sketch")?;
                match buckets[i].get_mut(segment_of(t)) {
                    Some(b) => {
                        let n = one.invocations();
                        b.invocations += count(n);
                        b.errors += count(n - one.outcomes[Outcome::Success.code() as usize]);
                        merge_blob(&mut b.duration, duration, "duration")?;
                    }
                    None => merge_blob(&mut totals[i].rollup.duration, duration, "duration")?,
                }
            }
        }
    }
    let width = span_width(conn)?;
    for (a, b) in runs(raw) {
        let mut found = Vec::new();
        {
            let mut stmt = conn
                .prepare_cached(
                    // Per function by (function, min_t): the `max_t` index alone would
                    // scan every span that ends after a range's start.
                    "SELECT function_id, min_id, max_id FROM spans \
                     WHERE function_id IN (SELECT id FROM functions) \
                     AND min_t >= ?3 AND min_t < ?2 AND max_t >= ?1",
                )
                .db()?;
            let mut rows = stmt.query(params![a, b, a.saturating_sub(width)]).db()?;
            while let Some(r) = rows.next().db()? {
                let id: i64 = r.get(0).db()?;
                found.push((id, (r.get(1).db()?, r.get(2).db()?)));
            }
        }
        for (function_id, ids) in found {
            let Some(&i) = index.get(&function_id) else {
                continue;
            };
            let (acc, bs) = (&mut totals[i], &mut buckets[i]);
            raw_rows(conn, ids, (a, b), |volume, one| {
                acc.rollup.add_volume(volume);
                if let Some((t, mut one)) = one {
                    acc.month(t, 1, one.gb_seconds);
                    add_to_bucket(bs, t, &one)?;
                    if sketches && bs.get(segment_of(t)).is_some() {
                        // Its duration is in its bucket, which the total merges at the end.
                        one.duration = tern_core::sketch::Sketch::new();
                    }
                    acc.rollup.merge(&one)?;
                }
                Ok(())
            })?;
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT e.function_id, SUM(s.log_lines), SUM(s.log_bytes) \
                 FROM stream_lines s CROSS JOIN environments e ON e.id = s.env_id \
                 WHERE s.min_ms >= ?1 AND s.min_ms < ?2 GROUP BY e.function_id",
            )
            .db()?;
        let mut rows = stmt.query(params![a, b]).db()?;
        while let Some(r) = rows.next().db()? {
            if let Some(&i) = index.get(&r.get::<_, i64>(0).db()?) {
                totals[i].rollup.add_volume(Volume {
                    lines: r.get(1).db()?,
                    bytes: r.get(2).db()?,
                });
            }
        }
    }
    let mut out = Vec::new();
    for (((_, meta), mut acc), buckets) in functions.into_iter().zip(totals).zip(buckets) {
        if sketches {
            for b in &buckets {
                acc.rollup
                    .duration
                    .merge(&b.duration)
                    .map_err(|e| StoreError::Corrupt(format!("duration sketch: {e}")))?;
            }
        }
        let r = &acc.rollup;
        // As `function_stats` over all functions.
        if only.is_none() && r.invocations() <= 0 && r.log_lines <= 0 && meta.inventory_ms.is_none()
        {
            continue;
        }
        out.push(FleetRow {
            stats: stats_from(acc, meta, 0),
            buckets,
        });
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
mod tests {
    use super::*;

    #[test]
    fn plans_split_days_hours_and_edges() {
        let all = plan(TimeRange::all());
        assert_eq!(all.days, vec![(i64::MIN, i64::MAX)]);
        assert!(all.hours.is_empty() && all.raw.is_empty());

        // 1970-01-01T00:30 .. 1970-01-03T02:15
        let from = 30 * 60_000;
        let to = 2 * DAY_MS + 2 * HOUR_MS + 15 * 60_000;
        let p = plan(TimeRange {
            from_ms: Some(from),
            to_ms: Some(to),
        });
        assert_eq!(p.days, vec![(DAY_MS, 2 * DAY_MS)]);
        assert_eq!(
            p.hours,
            vec![(HOUR_MS, DAY_MS), (2 * DAY_MS, 2 * DAY_MS + 2 * HOUR_MS)]
        );
        assert_eq!(p.raw, vec![(from, HOUR_MS), (2 * DAY_MS + 2 * HOUR_MS, to)]);

        // Inside one hour.
        let p = plan(TimeRange {
            from_ms: Some(10),
            to_ms: Some(20),
        });
        assert_eq!(
            p,
            Plan {
                days: vec![],
                hours: vec![],
                raw: vec![(10, 20)]
            }
        );

        // Open-ended on one side.
        let p = plan(TimeRange {
            from_ms: Some(HOUR_MS + 5),
            to_ms: None,
        });
        assert_eq!(p.days, vec![(DAY_MS, i64::MAX)]);
        assert_eq!(p.hours, vec![(2 * HOUR_MS, DAY_MS)]);
        assert_eq!(p.raw, vec![(HOUR_MS + 5, 2 * HOUR_MS)]);

        assert_eq!(
            plan(TimeRange {
                from_ms: Some(5),
                to_ms: Some(5)
            }),
            Plan::default()
        );
    }
}
