//! Statistics, listings and retention.
//!
//! Statistics are aggregated in ClickHouse (`stats`), plus the hourly rollup rows retention
//! made of hours before its cutoff.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use serde_json::{Map, Value};
use tern_core::model::{normalize_lines, LogLine};

use super::client::Row;
use super::rows::{self, lit, lits, B64, PART_COLUMNS};
use super::seal;
use super::stats::{self, Agg, By};
use super::{ClickHouseStore, Cutoffs, META_COMPACTED, META_RAW_CUTOFF, META_ROLLUP_CUTOFF};
use crate::sqlite::rollup::{decode_sketch, floor_to, Rollup, DAY_MS, HOUR_MS};
use crate::{
    series_buckets, EnvironmentRow, FunctionMeta, FunctionStats, InvocationQuery, InvocationRow,
    Retention, RetentionStats, StoreError, TimeRange,
};

const DEFAULT_LIMIT: usize = 100;

/// Whether an hourly bucket starting at `h` survived rollup retention.
pub(super) fn bucket_kept(c: &Cutoffs, h: i64) -> bool {
    c.rollups.is_none_or(|r| h.saturating_add(HOUR_MS) > r)
}

pub(super) fn range_sql(col: &str, from: Option<i64>, to: Option<i64>) -> String {
    let mut parts = vec!["1".to_string()];
    if let Some(f) = from {
        parts.push(format!("{col} >= {f}"));
    }
    if let Some(t) = to {
        parts.push(format!("{col} < {t}"));
    }
    parts.join(" AND ")
}

fn fn_filter(col: &str, functions: Option<&[String]>) -> String {
    match functions {
        Some(f) => format!("{col} IN ({})", lits(f.iter().map(String::as_str))),
        None => "1".into(),
    }
}

pub(super) fn read_rollup(r: &Row) -> Result<Rollup, StoreError> {
    let outcomes = match r.map().get("outcomes") {
        Some(Value::Array(a)) if a.len() == 6 => {
            let mut o = [0i64; 6];
            for (slot, v) in o.iter_mut().zip(a) {
                *slot = v
                    .as_i64()
                    .ok_or_else(|| StoreError::Corrupt("rollup outcome is not a count".into()))?;
            }
            o
        }
        _ => {
            return Err(StoreError::Corrupt(
                "rollup outcomes are not 6 counts".into(),
            ))
        }
    };
    let sketch = |col: &str| -> Result<tern_core::sketch::Sketch, StoreError> {
        let text = r.str(col)?;
        if text.is_empty() {
            return decode_sketch(None, col);
        }
        let b = B64
            .decode(text)
            .map_err(|e| StoreError::Corrupt(format!("{col} sketch is not base64: {e}")))?;
        decode_sketch(Some(&b), col)
    };
    Ok(Rollup {
        outcomes,
        cold_starts: r.i64("cold_starts")?,
        // Only the per-size statistics read it; ClickHouse computes those from rows.
        cold_failures: 0,
        over_20s: r.i64("over_20s")?,
        billed_ms: r.f64("billed_ms")?,
        gb_seconds: r.f64("gb_seconds")?,
        max_memory_used_mb: r.opt_u32("max_memory_mb")?,
        first_ms: r.opt_i64("first_ms")?,
        last_ms: r.opt_i64("last_ms")?,
        latest_memory: r
            .opt_i64("latest_memory_t")?
            .zip(r.opt_u32("latest_memory_mb")?),
        duration: sketch("duration")?,
        init: sketch("init")?,
        log_lines: r.i64("log_lines")?,
        log_bytes: r.i64("log_bytes")?,
    })
}

fn stats_from(agg: Agg, meta: FunctionMeta) -> Result<FunctionStats, StoreError> {
    let (r, months, environments) = agg.finish()?;
    Ok(crate::sqlite::query::stats_of(
        r,
        months,
        meta,
        environments,
    ))
}

/// The Memory Size of each function's latest completed invocation.
pub(super) fn seen_memory(
    s: &ClickHouseStore,
    functions: Option<&[String]>,
) -> Result<HashMap<String, u32>, StoreError> {
    let seals = seal::state(s)?;
    let mut latest = seal::sealed_memory(s, &seals, functions)?;
    let open = if seals.valid.is_empty() {
        Some("1".to_string())
    } else {
        seal::raw_filter("t", &seals, &Default::default(), None, None)
    };
    if let Some(open) = open {
        let rows = s.select(&format!(
            "SELECT function, max(t) AS mt, \
             argMax(assumeNotNull(memory_mb), tuple(t, assumeNotNull(memory_mb))) AS m \
             FROM invocations FINAL WHERE complete = 1 AND memory_mb IS NOT NULL AND {open} \
             AND {} GROUP BY function",
            fn_filter("function", functions)
        ))?;
        for r in &rows {
            if let Some(m) = r.opt_u32("m")? {
                let seen = (r.i64("mt")?, m);
                let e = latest.entry(r.str("function")?).or_insert(seen);
                *e = (*e).max(seen);
            }
        }
    }
    let mut out: HashMap<String, u32> = latest.into_iter().map(|(f, (_, m))| (f, m)).collect();
    let rows = s.select(&format!(
        "SELECT function, argMax(latest_memory_mb, latest_memory_t) AS m FROM rollups FINAL \
         WHERE latest_memory_mb IS NOT NULL AND {} GROUP BY function",
        fn_filter("function", functions)
    ))?;
    for r in &rows {
        if let Some(m) = r.opt_u32("m")? {
            out.entry(r.str("function")?).or_insert(m);
        }
    }
    Ok(out)
}

fn metas(
    s: &ClickHouseStore,
    names: &[String],
) -> Result<HashMap<String, FunctionMeta>, StoreError> {
    let seen = seen_memory(s, Some(names))?;
    Ok(super::state::stored_functions(s, Some(names))?
        .into_iter()
        .map(|mut m| {
            if m.memory_size_mb.is_none() {
                m.memory_size_mb = seen.get(&m.function).copied();
            }
            (m.function.clone(), m)
        })
        .collect())
}

pub(super) fn function_stats(
    s: &ClickHouseStore,
    functions: &[String],
    range: TimeRange,
) -> Result<Vec<FunctionStats>, StoreError> {
    let named = (!functions.is_empty()).then_some(functions);
    let c = s.cutoffs()?;
    let seals = seal::state(s)?;
    let aggs = stats::aggregate_with(
        s,
        &c,
        &seals,
        named,
        range.from_ms,
        range.to_ms,
        By::Function,
    )?;
    let mut envs = seal::env_counts(s, &seals, named, range.from_ms, range.to_ms)?;
    let mut aggs: BTreeMap<String, Agg> = aggs.into_iter().map(|((f, _), a)| (f, a)).collect();
    let names: Vec<String> = match named {
        Some(n) => n.to_vec(),
        None => {
            // As on SQLite: functions with invocations or log lines in range, and functions
            // an inventory listed even without any.
            let mut n: Vec<String> = aggs
                .iter()
                .filter(|(_, a)| a.rollup.invocations() > 0 || a.rollup.log_lines > 0)
                .map(|(n, _)| n.clone())
                .collect();
            n.extend(
                super::state::stored_functions(s, None)?
                    .into_iter()
                    .filter(|m| m.inventory_ms.is_some())
                    .map(|m| m.function),
            );
            n
        }
    };
    let mut metas = metas(s, &names)?;
    let mut out = Vec::new();
    let mut sorted = names;
    sorted.sort();
    sorted.dedup();
    for n in sorted {
        // Named functions the store does not know are skipped.
        let Some(meta) = metas.remove(&n) else {
            continue;
        };
        let mut agg = aggs.remove(&n).unwrap_or_default();
        agg.environments = envs.remove(&n).unwrap_or(0);
        out.push(stats_from(agg, meta)?);
    }
    Ok(out)
}

/// The fleet in one statistics query plus one bucketed query over every function (the
/// dashboard's table and sparklines), instead of a query per function and bucket.
pub(super) fn fleet(
    s: &ClickHouseStore,
    range: TimeRange,
    bucket_ms: Option<i64>,
) -> Result<Vec<crate::FleetRow>, StoreError> {
    let stats = function_stats(s, &[], range)?;
    let edges = match bucket_ms {
        Some(b) => crate::fleet_buckets(range, b)?,
        None => Vec::new(),
    };
    let mut aggs: BTreeMap<(String, i64), Agg> = BTreeMap::new();
    if let (Some(width), Some(first), Some(last)) = (bucket_ms, edges.first(), edges.last()) {
        let c = s.cutoffs()?;
        let by = By::Bucket {
            from: floor_to(first.0, width),
            width,
        };
        aggs = stats::aggregate(s, &c, None, Some(first.0), Some(last.1), by)?;
    }
    let mut out = Vec::with_capacity(stats.len());
    for st in stats {
        let mut row = Vec::with_capacity(edges.len());
        for &(from, _) in &edges {
            let start = floor_to(from, bucket_ms.unwrap_or(1));
            let b = match aggs.remove(&(st.function.clone(), start)) {
                Some(agg) => {
                    let b = stats_from(agg, FunctionMeta::default())?;
                    crate::FleetBucket {
                        invocations: b.invocations,
                        errors: b.errors,
                        duration: b.duration,
                    }
                }
                None => crate::FleetBucket::default(),
            };
            row.push(b);
        }
        out.push(crate::FleetRow {
            stats: FunctionStats {
                environments: 0,
                ..st
            },
            buckets: row,
        });
    }
    Ok(out)
}

/// `Store::fleet_counts`: the buckets' invocations of every function with data in the range,
/// from the same sealed and raw rows as `fleet`, without reading a sketch or the whole range's
/// statistics.
pub(super) fn fleet_counts(
    s: &ClickHouseStore,
    range: TimeRange,
    bucket_ms: i64,
) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
    let edges = crate::fleet_buckets(range, bucket_ms)?;
    let (Some(first), Some(last)) = (edges.first(), edges.last()) else {
        return Ok(Vec::new());
    };
    let c = s.cutoffs()?;
    let by = By::Bucket {
        from: floor_to(first.0, bucket_ms),
        width: bucket_ms,
    };
    let counts = stats::counts(s, &c, Some(first.0), Some(last.1), by)?;
    let index: std::collections::HashMap<i64, usize> = edges
        .iter()
        .enumerate()
        .map(|(i, &(from, _))| (floor_to(from, bucket_ms), i))
        .collect();
    let mut out = Vec::with_capacity(counts.len());
    for (function, buckets) in counts {
        let mut row = vec![0; edges.len()];
        for (start, n) in buckets {
            if let Some(&i) = index.get(&start) {
                row[i] += u64::try_from(n).unwrap_or(0);
            }
        }
        out.push((function, row));
    }
    Ok(out)
}

pub(super) fn series(
    s: &ClickHouseStore,
    function: &str,
    range: TimeRange,
    bucket_ms: i64,
) -> Result<Vec<(i64, FunctionStats)>, StoreError> {
    let (from, to, n) = series_buckets(range, bucket_ms)?;
    let names = [function.to_string()];
    let meta = metas(s, &names)?.remove(function);
    let c = s.cutoffs()?;
    let by = By::Bucket {
        from,
        width: bucket_ms,
    };
    // A compacted hour that straddles two buckets cannot be split: it goes where it starts,
    // as a partial bucket of the SQLite backend does.
    let mut aggs = stats::aggregate(s, &c, Some(&names), Some(from), Some(to), by)?;
    (0..n)
        .map(|i| {
            let start = from + i * bucket_ms;
            let agg = aggs
                .remove(&(function.to_string(), start))
                .unwrap_or_default();
            let meta = meta.clone().unwrap_or_else(|| FunctionMeta {
                function: function.to_string(),
                ..FunctionMeta::default()
            });
            let mut st = stats_from(agg, meta)?;
            st.environments = 0;
            Ok((start, st))
        })
        .collect()
}

fn visible(c: &Cutoffs) -> String {
    match c.raw {
        Some(r) => format!("t >= {r}"),
        None => "1".into(),
    }
}

pub(super) fn invocations(
    s: &ClickHouseStore,
    q: &InvocationQuery,
) -> Result<Vec<InvocationRow>, StoreError> {
    let c = s.cutoffs()?;
    let mut filter = vec![visible(&c), range_sql("t", q.range.from_ms, q.range.to_ms)];
    if !q.functions.is_empty() {
        filter.push(fn_filter("function", Some(&q.functions)));
    }
    if let Some(o) = q.outcome {
        filter.push(format!("outcome = {}", o.code()));
    }
    if let Some(cold) = q.cold {
        filter.push(format!("cold = {}", u8::from(cold)));
    }
    if let Some(r) = &q.request_id {
        filter.push(format!("request_id = {}", lit(r)));
    }
    let limit = if q.limit == 0 { DEFAULT_LIMIT } else { q.limit };
    let rows = s.select(&format!(
        "SELECT {PART_COLUMNS} FROM invocations FINAL WHERE {} \
         ORDER BY t DESC, log_group DESC, log_stream DESC, request_id DESC LIMIT {limit}",
        filter.join(" AND ")
    ))?;
    rows.iter()
        .map(|r| Ok(rows::invocation_row(rows::read_part(r, false)?.0)))
        .collect()
}

pub(super) fn invocation_logs(
    s: &ClickHouseStore,
    log_group: &str,
    log_stream: &str,
    request_id: &str,
) -> Result<Vec<LogLine>, StoreError> {
    let c = s.cutoffs()?;
    let rows = s.select(&format!(
        "SELECT start_ms, end_ms, lines FROM invocations FINAL WHERE log_group = {} \
         AND log_stream = {} AND request_id = {} AND {}",
        lit(log_group),
        lit(log_stream),
        lit(request_id),
        visible(&c)
    ))?;
    let Some(r) = rows.first() else {
        return Ok(Vec::new());
    };
    let mut lines = rows::read_lines(&r.str("lines")?)?;
    let own_lo = lines.iter().map(|l| l.timestamp_ms).min();
    let own_hi = lines.iter().map(|l| l.timestamp_ms).max();
    let lo = r.opt_i64("start_ms")?.or(own_lo);
    let hi = r.opt_i64("end_ms")?.or(own_hi).or(lo);
    if let (Some(lo), Some(hi)) = (lo, hi) {
        let more = s.select(&format!(
            "SELECT ts, id, message FROM stream_lines FINAL WHERE log_group = {} \
             AND log_stream = {} AND ts >= {lo} AND ts <= {hi} AND {}",
            lit(log_group),
            lit(log_stream),
            c.raw.map_or("1".into(), |x| format!("ts >= {x}"))
        ))?;
        for m in &more {
            let id = m.str("id")?;
            lines.push(LogLine {
                timestamp_ms: m.i64("ts")?,
                message: m.str("message")?,
                event_id: id.strip_prefix("e:").map(str::to_string),
            });
        }
    }
    normalize_lines(&mut lines);
    Ok(lines)
}

pub(super) fn environments(
    s: &ClickHouseStore,
    function: &str,
) -> Result<Vec<EnvironmentRow>, StoreError> {
    seal::env_rows(s, &seal::state(s)?, Some(function))
}

/// Every function's environments in one read (sealed rows plus open partitions).
pub(super) fn environment_summaries(
    s: &ClickHouseStore,
    range: TimeRange,
) -> Result<Vec<crate::EnvironmentSummary>, StoreError> {
    seal::env_summaries(s, &seal::state(s)?, range)
}

pub(super) fn time_bounds(s: &ClickHouseStore) -> Result<Option<(i64, i64)>, StoreError> {
    stats::time_bounds(s)
}

fn rollup_row(function: &str, hour: i64, r: &Rollup, ver: u64) -> Map<String, Value> {
    let sketch = |s: &tern_core::sketch::Sketch| {
        if s.count() == 0 {
            String::new()
        } else {
            B64.encode(s.encode())
        }
    };
    let opt = |v: Option<i64>| v.map_or(Value::Null, Value::from);
    let mut m = Map::new();
    m.insert("function".into(), function.into());
    m.insert("hour".into(), hour.into());
    m.insert("day".into(), rows::date_of(hour).into());
    m.insert("outcomes".into(), Value::from(r.outcomes.to_vec()));
    m.insert("cold_starts".into(), r.cold_starts.into());
    m.insert("over_20s".into(), r.over_20s.into());
    m.insert("billed_ms".into(), r.billed_ms.into());
    m.insert("gb_seconds".into(), r.gb_seconds.into());
    m.insert(
        "max_memory_mb".into(),
        opt(r.max_memory_used_mb.map(i64::from)),
    );
    m.insert("first_ms".into(), opt(r.first_ms));
    m.insert("last_ms".into(), opt(r.last_ms));
    m.insert("latest_memory_t".into(), opt(r.latest_memory.map(|x| x.0)));
    m.insert(
        "latest_memory_mb".into(),
        opt(r.latest_memory.map(|x| i64::from(x.1))),
    );
    m.insert("duration".into(), sketch(&r.duration).into());
    m.insert("init".into(), sketch(&r.init).into());
    m.insert("log_lines".into(), r.log_lines.into());
    m.insert("log_bytes".into(), r.log_bytes.into());
    m.insert("ver".into(), ver.into());
    m
}

/// Partition ids (YYYYMMDD) of `table` whose whole day ends at or before `before`.
fn old_partitions(s: &ClickHouseStore, table: &str, before: i64) -> Result<Vec<u32>, StoreError> {
    let rows = s.select(&format!(
        "SELECT DISTINCT partition FROM system.parts WHERE database = {} AND table = {} AND active",
        lit(s.db()),
        lit(&s.layout.data_table(table))
    ))?;
    let limit = rows::partition_of(floor_to(before, DAY_MS) - DAY_MS);
    let mut out = Vec::new();
    for r in &rows {
        let p = r.str("partition")?;
        if let Ok(id) = p.trim_matches('\'').parse::<u32>() {
            if id < limit {
                out.push(id);
            }
        }
    }
    Ok(out)
}

pub(super) fn apply_retention(
    s: &mut ClickHouseStore,
    r: Retention,
) -> Result<RetentionStats, StoreError> {
    let c = s.cutoffs()?;
    let mut stats = RetentionStats::default();
    if let Some(cut) = r.raw_before_ms.filter(|&x| c.raw.is_none_or(|old| x > old)) {
        let lo = c.raw.map_or("1".into(), |o| format!("t >= {o}"));
        let n = s.select(&format!(
            "SELECT count() AS n FROM invocations FINAL WHERE {lo} AND t < {cut}"
        ))?;
        stats.invocations = n.first().map(|r| r.u64("n")).transpose()?.unwrap_or(0);
        let lo = c.raw.map_or("1".into(), |o| format!("ts >= {o}"));
        let n = s.select(&format!(
            "SELECT count() AS n FROM (SELECT DISTINCT log_group, log_stream, chunk_t FROM \
             stream_lines FINAL WHERE {lo} AND ts < {cut})"
        ))?;
        stats.stream_chunks = n.first().map(|r| r.u64("n")).transpose()?.unwrap_or(0);
        // Fold the hours before the cutoff into rollups (idempotent: same rows every time),
        // then move the watermark, then forget the raw data.
        let w = floor_to(cut, HOUR_MS);
        if c.compacted.is_none_or(|old| w > old) {
            let by = By::Bucket {
                from: 0,
                width: HOUR_MS,
            };
            let hours = stats::aggregate(s, &c, None, c.compacted, Some(w), by)?;
            let mut out = Vec::new();
            for ((f, h), agg) in hours {
                let (rollup, _, _) = agg.finish()?;
                let ver = s.ver();
                out.push(rollup_row(&f, h, &rollup, ver));
            }
            s.insert("rollups", &out)?;
            super::errors::compact(s, c.compacted, w)?;
            s.set_meta(META_COMPACTED, &w.to_string())?;
        }
        s.set_meta(META_RAW_CUTOFF, &cut.to_string())?;
        for table in [
            "invocations",
            "stream_lines",
            "sealed_hours",
            "sealed_days",
            "sealed_envs",
        ] {
            for p in old_partitions(s, table, w)? {
                s.client.exec(None, &s.layout.drop_partition(table, p))?;
            }
        }
    }
    if let Some(cut) = r
        .rollups_before_ms
        .filter(|&x| c.rollups.is_none_or(|old| x > old))
    {
        let lo = c
            .rollups
            .map_or("1".into(), |o| format!("hour + {HOUR_MS} > {o}"));
        let n = s.select(&format!(
            "SELECT count() AS n FROM rollups FINAL WHERE {lo} AND hour + {HOUR_MS} <= {cut}"
        ))?;
        stats.rollup_rows = n.first().map(|r| r.u64("n")).transpose()?.unwrap_or(0);
        s.set_meta(META_ROLLUP_CUTOFF, &cut.to_string())?;
        for p in old_partitions(s, "rollups", cut)? {
            s.client
                .exec(None, &s.layout.drop_partition("rollups", p))?;
        }
    }
    Ok(stats)
}
