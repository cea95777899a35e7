//! Per (function, version, memory size) statistics, per UTC hour and day (`size_hour`,
//! `size_day`): what the memory advice reads (`Store::size_stats`), kept in the ingest
//! transaction next to the rollups, and read over a range as `function_stats` reads them
//! (whole days, whole hours at the edges, the partial hours from the invocation rows).
//!
//! A bucket holds the figures of `Rollup` that a size needs (outcomes, cold starts, billed ms,
//! most memory used, first and last time, the duration and init sketches). Known limit, as for
//! the rollups' init sketch: a version learned after the invocation was counted (its START
//! stored after its REPORT) moves the counts to the new version, but the old version's
//! duration sketch cannot forget the value, and its first and last times stay. A size left
//! with no invocation is not answered.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, Row, Transaction};

use super::fx::FxHashMap;
use super::query::{blob, plan, span_width, spans_overlapping, u32_opt, Span};
use super::rollup::{
    decode_sketch, encode_sketch, floor_to, Contribution, Rollup, DAY_MS, HOUR_MS,
};
use super::Db;
use crate::{Arch, SizeStats, StoreError, TimeRange};

/// (function id, bucket start, version, memory MB).
pub(crate) type SizeKey = (i64, i64, Option<String>, u32);

/// A batch's changes to the size buckets, per hour; day deltas are their sums.
#[derive(Default)]
pub(crate) struct SizeDeltas {
    hours: FxHashMap<SizeKey, Rollup>,
}

/// The stored form of an unknown version: the key needs a value, and no Lambda version is
/// empty.
const NO_VERSION: &str = "";

fn stored_version(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or(NO_VERSION)
}

fn read_version(v: String) -> Option<String> {
    (!v.is_empty()).then_some(v)
}

impl SizeDeltas {
    fn entry(&mut self, function_id: i64, c: &Contribution) -> Option<&mut Rollup> {
        let memory_mb = c.memory_mb?;
        let key = (
            function_id,
            floor_to(c.t, HOUR_MS),
            c.version.clone(),
            memory_mb,
        );
        Some(self.hours.entry(key).or_default())
    }

    /// Count one completed invocation.
    pub fn count(&mut self, function_id: i64, c: &Contribution) {
        if let Some(r) = self.entry(function_id, c) {
            r.add(c);
        }
    }

    /// A counted invocation learned something (see `Rollup::change`), or its version.
    pub fn change(&mut self, function_id: i64, old: &Contribution, new: &Contribution) {
        if old.version == new.version {
            if let Some(r) = self.entry(function_id, old) {
                r.change(old, new);
            }
            return;
        }
        if let Some(r) = self.entry(function_id, old) {
            r.outcomes[old.outcome.code() as usize] -= 1;
            r.cold_starts -= i64::from(old.cold);
            r.cold_failures -=
                i64::from(old.cold && old.outcome != tern_core::model::Outcome::Success);
            r.billed_ms -= old.billed_ms;
        }
        self.count(function_id, new);
    }

    /// Write the hour buckets and the day buckets they add up to.
    pub fn flush(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        write(tx, std::mem::take(&mut self.hours))
    }
}

/// Merge hour deltas into `size_hour` and, summed per day, into `size_day`.
fn write(tx: &Connection, hours: FxHashMap<SizeKey, Rollup>) -> Result<(), StoreError> {
    let mut days: FxHashMap<SizeKey, Rollup> = FxHashMap::default();
    for ((function_id, hour, version, memory_mb), delta) in hours {
        let day = (
            function_id,
            floor_to(hour, DAY_MS),
            version.clone(),
            memory_mb,
        );
        days.entry(day).or_default().merge(&delta)?;
        write_bucket(
            tx,
            "size_hour",
            &(function_id, hour, version, memory_mb),
            &delta,
        )?;
    }
    for (key, delta) in days {
        write_bucket(tx, "size_day", &key, &delta)?;
    }
    Ok(())
}

/// The columns after the key, in the order `read_bucket` reads them.
const COLUMNS: &str = "n_success, n_error, n_timeout, n_out_of_memory, n_crash, n_init_error, \
    cold_starts, billed_ms, max_memory_used_mb, first_ms, last_ms, duration, init, \
    cold_failures";

/// A bucket's figures from column `base` on (the columns of `COLUMNS`).
fn read_bucket(r: &Row<'_>, base: usize) -> Result<Rollup, StoreError> {
    let mut out = Rollup::default();
    for (i, o) in out.outcomes.iter_mut().enumerate() {
        *o = r.get(base + i).db()?;
    }
    out.cold_starts = r.get(base + 6).db()?;
    out.billed_ms = r.get(base + 7).db()?;
    out.max_memory_used_mb = u32_opt(r.get(base + 8).db()?);
    out.first_ms = r.get(base + 9).db()?;
    out.last_ms = r.get(base + 10).db()?;
    out.duration = decode_sketch(blob(r, base + 11, "duration")?, "duration")?;
    out.init = decode_sketch(blob(r, base + 12, "init")?, "init")?;
    out.cold_failures = r.get(base + 13).db()?;
    Ok(out)
}

/// Read–merge–write one bucket.
fn write_bucket(
    tx: &Connection,
    table: &str,
    (function_id, bucket, version, memory_mb): &SizeKey,
    delta: &Rollup,
) -> Result<(), StoreError> {
    let version = stored_version(version);
    let select = format!(
        "SELECT {COLUMNS} FROM {table} \
         WHERE function_id = ?1 AND bucket_ms = ?2 AND version = ?3 AND memory_mb = ?4"
    );
    let stored = {
        let mut stmt = tx.prepare_cached(&select).db()?;
        let mut rows = stmt
            .query(params![function_id, bucket, version, memory_mb])
            .db()?;
        match rows.next().db()? {
            Some(r) => Some(read_bucket(r, 0)?),
            None => None,
        }
    };
    let merged = match stored {
        Some(mut s) => {
            s.merge(delta)?;
            s
        }
        None => delta.clone(),
    };
    let upsert = format!(
        "INSERT OR REPLACE INTO {table} (function_id, bucket_ms, version, memory_mb, {COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    );
    let o = &merged.outcomes;
    tx.prepare_cached(&upsert)
        .db()?
        .execute(params![
            function_id,
            bucket,
            version,
            memory_mb,
            o[0],
            o[1],
            o[2],
            o[3],
            o[4],
            o[5],
            merged.cold_starts,
            merged.billed_ms,
            merged.max_memory_used_mb,
            merged.first_ms,
            merged.last_ms,
            encode_sketch(&merged.duration),
            encode_sketch(&merged.init),
            merged.cold_failures,
        ])
        .db()?;
    Ok(())
}

/// The rows of the invocations with ids in `ids` and a time in `[lo, hi)`, complete and with
/// a Memory Size, as contributions (what ingest counted for them, from the row as stored).
fn contributions(
    conn: &Connection,
    (min_id, max_id): Span,
    (lo, hi): Span,
    mut each: impl FnMut(Contribution) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT t, outcome, cold, duration_ms, billed_ms, billed_restore_ms, memory_mb, \
             max_memory_mb, init_ms, restore_ms, init_report_ms, version FROM invocations \
             WHERE id >= ?1 AND id <= ?2 AND t >= ?3 AND t < ?4 AND complete = 1 \
             AND memory_mb IS NOT NULL",
        )
        .db()?;
    let mut rows = stmt.query(params![min_id, max_id, lo, hi]).db()?;
    while let Some(r) = rows.next().db()? {
        let cold: bool = r.get(2).db()?;
        let code: i64 = r.get(1).db()?;
        let outcome = u8::try_from(code)
            .ok()
            .and_then(tern_core::model::Outcome::from_code)
            .ok_or_else(|| StoreError::Corrupt(format!("bad outcome code {code}")))?;
        let init_report: Option<f64> = r.get(10).db()?;
        let init: Option<f64> = r.get(8).db()?;
        let restore: Option<f64> = r.get(9).db()?;
        let version: Option<String> = r.get(11).db()?;
        each(Contribution {
            t: r.get(0).db()?,
            outcome,
            cold,
            duration_ms: r.get::<_, Option<f64>>(3).db()?.unwrap_or(0.0),
            billed_ms: super::rollup::billed_ms(r.get(4).db()?, r.get(5).db()?),
            memory_mb: u32_opt(r.get(6).db()?),
            max_memory_mb: u32_opt(r.get(7).db()?),
            // As InvocationPart::init_duration_ms.
            init_ms: init.or(init_report.filter(|_| cold)).or(restore),
            version: version.filter(|v| !v.is_empty()),
        })?;
    }
    Ok(())
}

/// `Store::size_stats`.
pub(crate) fn size_stats(
    conn: &Connection,
    functions: &[String],
    range: TimeRange,
) -> Result<Vec<SizeStats>, StoreError> {
    let mut selected: Vec<(i64, String, Arch)> = Vec::new();
    {
        let mut all = conn
            .prepare_cached("SELECT id, name, arch FROM functions")
            .db()?;
        let mut one = conn
            .prepare_cached("SELECT id, name, arch FROM functions WHERE name = ?1")
            .db()?;
        let mut read = |r: &Row<'_>| -> Result<(), StoreError> {
            let arch: Option<String> = r.get(2).db()?;
            selected.push((
                r.get(0).db()?,
                r.get(1).db()?,
                arch.as_deref()
                    .and_then(Arch::parse)
                    .unwrap_or(Arch::X86_64),
            ));
            Ok(())
        };
        if functions.is_empty() {
            let mut rows = all.query([]).db()?;
            while let Some(r) = rows.next().db()? {
                read(r)?;
            }
        } else {
            for name in functions {
                let mut rows = one.query([name]).db()?;
                if let Some(r) = rows.next().db()? {
                    read(r)?;
                }
            }
        }
    }
    selected.sort_by(|a, b| a.1.cmp(&b.1));
    selected.dedup_by(|a, b| a.0 == b.0);
    let plan = plan(range);
    let width = span_width(conn)?;
    let mut out = Vec::new();
    for (function_id, name, arch) in selected {
        let mut by: BTreeMap<(Option<String>, u32), Rollup> = BTreeMap::new();
        for (table, spans) in [("size_day", &plan.days), ("size_hour", &plan.hours)] {
            let sql = format!(
                "SELECT version, memory_mb, {COLUMNS} FROM {table} \
                 WHERE function_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3"
            );
            let mut stmt = conn.prepare_cached(&sql).db()?;
            for &(lo, hi) in spans {
                let mut rows = stmt.query(params![function_id, lo, hi]).db()?;
                while let Some(r) = rows.next().db()? {
                    let version = read_version(r.get(0).db()?);
                    let Some(memory_mb) = u32_opt(r.get(1).db()?) else {
                        continue;
                    };
                    let b = read_bucket(r, 2)?;
                    by.entry((version, memory_mb)).or_default().merge(&b)?;
                }
            }
        }
        for &span in &plan.raw {
            for ids in spans_overlapping(conn, function_id, span, width)? {
                contributions(conn, ids, span, |c| {
                    if let Some(m) = c.memory_mb {
                        by.entry((c.version.clone(), m)).or_default().add(&c);
                    }
                    Ok(())
                })?;
            }
        }
        for ((version, memory_mb), r) in by {
            if r.invocations() <= 0 {
                continue;
            }
            out.push(stats_of(&name, arch, version, memory_mb, r));
        }
    }
    Ok(out)
}

fn stats_of(
    function: &str,
    arch: Arch,
    version: Option<String>,
    memory_mb: u32,
    r: Rollup,
) -> SizeStats {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let code = |o: tern_core::model::Outcome| o.code() as usize;
    use tern_core::model::Outcome;
    let invocations = n(r.invocations());
    SizeStats {
        function: function.to_string(),
        version,
        counts: tern_core::recommend::SummaryCounts {
            memory_mb,
            arch,
            invocations,
            errors: invocations.saturating_sub(n(r.outcomes[code(Outcome::Success)])),
            cold_starts: n(r.cold_starts),
            cold_failures: n(r.cold_failures),
            timeouts: n(r.outcomes[code(Outcome::Timeout)]),
            oom_kills: n(r.outcomes[code(Outcome::OutOfMemory)]),
            billed_total_ms: r.billed_ms.max(0.0),
            max_used_mb: r.max_memory_used_mb,
            first_ms: r.first_ms,
            last_ms: r.last_ms,
        },
        duration: r.duration,
        init: r.init,
    }
}

/// Fill the buckets from the complete invocations already stored (the schema migration that
/// adds them), one function at a time so that memory stays bounded by one function's buckets.
pub(crate) fn backfill(conn: &Connection) -> Result<(), StoreError> {
    let functions: Vec<i64> = {
        let mut stmt = conn
            .prepare("SELECT DISTINCT function_id FROM spans")
            .db()?;
        let rows = stmt.query_map([], |r| r.get(0)).db()?;
        rows.collect::<Result<_, _>>().db()?
    };
    let everything = (i64::MIN, i64::MAX);
    for function_id in functions {
        let spans = spans_overlapping(conn, function_id, everything, 0)?;
        let mut deltas = SizeDeltas::default();
        for ids in spans {
            contributions(conn, ids, everything, |c| {
                deltas.count(function_id, &c);
                Ok(())
            })?;
        }
        // Inside the migration's transaction.
        write(conn, std::mem::take(&mut deltas.hours))?;
    }
    Ok(())
}
