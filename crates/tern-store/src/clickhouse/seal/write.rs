//! Sealing: marking days to seal, aggregating a settled partition into sealed rows, merging
//! them, and reopening sealed partitions.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{state, KIND_MARK, KIND_MERGED, KIND_SEAL, SETTLE_MS};
use crate::clickhouse::rows::{date_of, lit, lits};
use crate::clickhouse::stats::{self, Agg, Aggs, Bins, By};
use crate::clickhouse::ClickHouseStore;
use crate::sqlite::rollup::{floor_to, DAY_MS, HOUR_MS};
use crate::{SealStats, StoreError};

/// Mark partitions (by their `day` values, `YYYY-MM-DD`) as written to.
pub(in crate::clickhouse) fn mark(
    s: &mut ClickHouseStore,
    days: &BTreeSet<String>,
) -> Result<(), StoreError> {
    if days.is_empty() {
        return Ok(());
    }
    let ver = s.ver();
    let rows: Vec<Map<String, Value>> = days
        .iter()
        .map(|d| {
            let mut m = Map::new();
            m.insert("part".into(), d.clone().into());
            m.insert("kind".into(), KIND_MARK.into());
            m.insert("ver".into(), ver.into());
            m
        })
        .collect();
    s.insert("seal_state", &rows)
}

/// Seal every settled partition without a valid seal.
pub(in crate::clickhouse) fn seal(
    s: &mut ClickHouseStore,
    now_ms: i64,
) -> Result<SealStats, StoreError> {
    let st = state(s)?;
    let mut out = SealStats::default();
    for &p in &st.open {
        if p.saturating_add(SETTLE_MS) > now_ms {
            continue;
        }
        out.rows += seal_partition(s, p)?;
        out.partitions += 1;
    }
    Ok(out)
}

fn bins_cols(m: &mut Map<String, Value>, prefix: &str, b: &Bins) {
    let opt = |v: Option<f64>| v.map_or(Value::Null, Value::from);
    m.insert(format!("{prefix}_zero"), b.zero.into());
    m.insert(
        format!("{prefix}_keys"),
        Value::from(b.bins.keys().copied().collect::<Vec<i32>>()),
    );
    m.insert(
        format!("{prefix}_counts"),
        Value::from(b.bins.values().copied().collect::<Vec<u64>>()),
    );
    m.insert(format!("{prefix}_min"), opt(b.min));
    m.insert(format!("{prefix}_max"), opt(b.max));
    m.insert(format!("{prefix}_sum"), b.sum.into());
}

fn sealed_row(day: &str, seal: u64, function: &str, hour: i64, a: &Agg) -> Map<String, Value> {
    let r = &a.rollup;
    let opt = |v: Option<i64>| v.map_or(Value::Null, Value::from);
    let mut m = Map::new();
    m.insert("part".into(), day.into());
    m.insert("seal".into(), seal.into());
    m.insert("function".into(), function.into());
    m.insert("hour".into(), hour.into());
    for (i, n) in r.outcomes.iter().enumerate() {
        m.insert(format!("o{i}"), (*n).into());
    }
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
    bins_cols(&mut m, "d", &a.duration);
    bins_cols(&mut m, "i", &a.init);
    m.insert("log_lines".into(), r.log_lines.into());
    m.insert("log_bytes".into(), r.log_bytes.into());
    m.insert("ver".into(), seal.into());
    m
}

/// Per (function, log group, log stream) of the raw rows matching `filter`: the columns
/// `sealed_envs` keeps (`pn`, `pc`, `pf`, `pl`, `prv`, `prt`), with the types it keeps them in.
pub(super) fn raw_env_sql(filter: &str) -> String {
    "SELECT function, log_group, log_stream, toInt64(sum(complete)) AS pn, \
     toInt64(sum(cold * complete)) AS pc, \
     if(pn > 0, toNullable(minIf(t, complete = 1)), CAST(NULL AS Nullable(Int64))) AS pf, \
     if(pn > 0, toNullable(maxIf(t, complete = 1)), CAST(NULL AS Nullable(Int64))) AS pl, \
     if(countIf(runtime_version IS NOT NULL) > 0, \
        toNullable(argMaxIf(assumeNotNull(runtime_version), t, runtime_version IS NOT NULL)), \
        CAST(NULL AS Nullable(String))) AS prv, \
     if(countIf(runtime_version IS NOT NULL) > 0, \
        toNullable(maxIf(t, runtime_version IS NOT NULL)), CAST(NULL AS Nullable(Int64))) AS prt \
     FROM invocations FINAL WHERE "
        .to_string()
        + filter
        + " GROUP BY function, log_group, log_stream"
}

/// Aggregate one partition into a new generation of sealed rows, then seal it. Returns the
/// rows written.
fn seal_partition(s: &mut ClickHouseStore, p: i64) -> Result<u64, StoreError> {
    // The version is taken before reading: anything written after this has a newer mark.
    let seal = s.ver();
    let day = date_of(p);
    let merged = merge_partition(s, &day)?;
    let filter = format!("day = '{day}'");
    let by = By::Bucket {
        from: 0,
        width: HOUR_MS,
    };
    let mut aggs: Aggs = BTreeMap::new();
    stats::raw_into(s, &mut aggs, &filter, &filter, by, stats::Read::Final)?;
    let mut rows: Vec<Map<String, Value>> = aggs
        .iter()
        .map(|((f, h), a)| sealed_row(&day, seal, f, *h, a))
        .collect();
    let mut n = rows.len() as u64;
    for chunk in rows.chunks(100_000) {
        s.insert("sealed_hours", chunk)?;
    }
    rows.clear();
    // The same per (function, UTC day of `t`), for reads of whole days.
    let mut days: Aggs = BTreeMap::new();
    for ((f, h), a) in &aggs {
        days.entry((f.clone(), floor_to(*h, DAY_MS)))
            .or_default()
            .absorb(a);
    }
    drop(aggs);
    rows.extend(
        days.iter()
            .map(|((f, d), a)| sealed_row(&day, seal, f, *d, a)),
    );
    n += rows.len() as u64;
    for chunk in rows.chunks(100_000) {
        s.insert("sealed_days", chunk)?;
    }
    rows.clear();
    let envs = s.select(&raw_env_sql(&filter))?;
    for r in &envs {
        let mut m = Map::new();
        m.insert("part".into(), day.clone().into());
        m.insert("seal".into(), seal.into());
        for col in ["function", "log_group", "log_stream"] {
            m.insert(col.into(), r.str(col)?.into());
        }
        m.insert("n".into(), r.i64("pn")?.into());
        m.insert("cold".into(), r.i64("pc")?.into());
        m.insert("first_ms".into(), r.opt_i64("pf")?.into());
        m.insert("last_ms".into(), r.opt_i64("pl")?.into());
        m.insert("runtime_version".into(), r.opt_str("prv")?.into());
        m.insert("rv_t".into(), r.opt_i64("prt")?.into());
        m.insert("ver".into(), seal.into());
        rows.push(m);
    }
    n += rows.len() as u64;
    for chunk in rows.chunks(100_000) {
        s.insert("sealed_envs", chunk)?;
    }
    let state_row = |kind: u8| {
        let mut m = Map::new();
        m.insert("part".into(), day.clone().into());
        m.insert("kind".into(), kind.into());
        m.insert("ver".into(), seal.into());
        m
    };
    if merged {
        s.insert("seal_state", &[state_row(KIND_MERGED)])?;
    }
    s.insert("seal_state", &[state_row(KIND_SEAL)])?;
    Ok(n)
}

/// Merge partition `day` (`YYYY-MM-DD`) of the raw tables into one part each, and say whether
/// that is what they are now (an `OPTIMIZE` may do nothing while other merges run). Then
/// every key has one row there, so reads of its partial hours need no `FINAL`. Single server
/// only: a cluster's parts are on other servers, so it reads through `FINAL` as before; so
/// does a partition whose merge the server refused or did not finish within the request
/// timeout (a user without the right to `OPTIMIZE`, a very large day).
fn merge_partition(s: &ClickHouseStore, day: &str) -> Result<bool, StoreError> {
    if s.layout.cluster.is_some() {
        return Ok(false);
    }
    let id: u32 = day
        .replace('-', "")
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("partition day {day:?} is not YYYY-MM-DD")))?;
    let tables = ["invocations", "stream_lines"];
    for table in tables {
        // Only an optimisation: a refused or timed-out merge leaves the partition read
        // through `FINAL`, and the seal goes on.
        if s.client
            .exec(None, &s.layout.optimize_partition(table, id))
            .is_err()
        {
            return Ok(false);
        }
    }
    let rows = s.select(&format!(
        "SELECT table, partition, count() AS n FROM system.parts WHERE database = {} \
         AND table IN ({}) AND active GROUP BY table, partition",
        lit(s.db()),
        lits(tables),
    ))?;
    let id = id.to_string();
    for r in &rows {
        if r.str("partition")?.trim_matches('\'') == id && r.i64("n")? > 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Schema 3 added `sealed_days`: a seal written before it has no daily rows, so every
/// sealed partition is marked as written to, and reads it raw until it is sealed again.
pub(in crate::clickhouse) fn reopen_sealed(s: &mut ClickHouseStore) -> Result<(), StoreError> {
    let rows = s.select(&format!(
        "SELECT DISTINCT toString(part) AS d FROM seal_state WHERE kind = {KIND_SEAL}"
    ))?;
    let days = rows
        .iter()
        .map(|r| r.str("d"))
        .collect::<Result<BTreeSet<String>, StoreError>>()?;
    mark(s, &days)
}
