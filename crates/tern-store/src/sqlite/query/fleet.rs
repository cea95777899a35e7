//! The fleet read: every function's statistics over a range and per bucket, in a few passes
//! over the rollups however many functions there are.

use std::collections::HashSet;

use rusqlite::{params, Connection};
use tern_core::model::Outcome;

use super::{
    blob, count, function_meta, merge_blob, plan, raw_rows, read_rollup_scalars, runs, span_width,
    stats_from, Acc, Span, META_COLUMNS, ROLLUP_COLUMNS,
};
use crate::sqlite::rollup::{Rollup, Volume};
use crate::sqlite::Db;
use crate::{FleetBucket, FleetRow, FunctionStats, StoreError, TimeRange};

/// From this many named functions on, `function_stats` reads them the way `fleet` reads the
/// whole fleet (a statement per kind of row for all of them) rather than a few statements per
/// function: at 5,000 functions and 30 days that is 0.2 s instead of 0.7 s.
pub(super) const FLEET_PASS_FUNCTIONS: usize = 64;

/// `function_stats` of every function (`wanted` empty) or of many named ones, through
/// [`fleet_of`], with the environments counted in one grouped statement.
pub(super) fn function_stats_in_one_pass(
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
