//! Sealed partitions: statistics read from per-(function, hour) rows instead of raw `FINAL`.
//!
//! Aggregating raw invocations through `FINAL` costs a merge of every key in the partitions a
//! query touches (30–55 s per pass at 100 M invocations on 18.16). A day partition whose data
//! has settled is therefore *sealed*: `seal` aggregates it once, from `invocations FINAL` and
//! `stream_lines FINAL` of that partition only, into
//! * `sealed_hours`: per (function, hour of `t`), the scalars of a rollup and the duration and
//!   init sketches as bins (the Rust bins `stats::sketch_bins` computes, with min, max and
//!   sum), so that sums of sealed rows give exactly the sketch the raw rows give;
//! * `sealed_days`: the same per (function, UTC day of `t`), summed from the hourly
//!   aggregates, so whole days (a month's report) read 24× fewer rows;
//! * `sealed_envs`: per (function, log group, log stream), its invocations, cold starts, first
//!   and last completed invocation and latest runtime version in that partition.
//!
//! A partition is a unit that adds up: every version of an invocation lives in the partition
//! it was first stored in, so the raw aggregate of a set of partitions is the sum of their
//! aggregates, whatever the hours. Readers use, per partition, either its valid sealed rows or
//! its raw rows, never both. Whole hours come from sealed rows; the partial hours at the edges
//! of an unaligned range are read raw from the sealed partitions that have rows in them.
//!
//! Validity (`seal_state`, two kinds of row per partition, the highest version of each
//! counts): ingest writes a *mark* (kind 0) for every partition it writes to, once before its
//! INSERTs and once after (the second with a version taken after they returned). The sealer
//! takes its version *before* it reads the partition and writes the *seal* (kind 1) after its
//! rows. A seal is valid while it is newer than the partition's latest mark: a batch that
//! landed after the sealer began reading leaves a newer mark, so the partition reads raw until
//! it is sealed again (late data). Several sealers may run at once: each writes its own
//! generation (`seal` = its version, part of the key, so no merge mixes generations) and the
//! newest seal names the generation readers take. Versions come from the writers' clocks
//! (`ClickHouseStore::ver`), so this assumes clocks agree to better than an INSERT's latency.
//!
//! Before it reads, a seal merges the partition of both raw tables into one part (single
//! server only) and, when `system.parts` confirms it, writes a *merged* row (kind 2) with
//! the seal's version: while that seal is valid, the partition's raw rows are one per key,
//! so the partial edge hours are read without `FINAL` (`stats::Read::Plain`).
//!
//! What seals: partitions whose day ended `SETTLE_MS` ago (a partition holds invocations of
//! its own day and of the day after: `rows::partition_day_ms`), that have no valid seal.
//! Sealing does not change any answer, only its cost.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::rows::{date_of, lit, lits};
use super::stats::{self, Agg, Aggs, Bins, By};
use super::ClickHouseStore;
use crate::sqlite::rollup::{ceil_to, floor_to, DAY_MS, HOUR_MS};
use crate::{EnvironmentRow, SealStats, StoreError};

const KIND_MARK: u8 = 0;
const KIND_SEAL: u8 = 1;
/// Written with a seal's version when its partition was one part of each raw table.
const KIND_MERGED: u8 = 2;

/// How long after its day starts a partition may still receive data in the normal course:
/// two days (its own and the next) and an hour of late delivery.
pub(super) const SETTLE_MS: i64 = 2 * DAY_MS + HOUR_MS;

/// Which partitions read sealed rows and which read raw rows.
#[derive(Debug, Default, Clone)]
pub(super) struct Seals {
    /// Partition (its day, epoch ms) → the generation to read.
    pub valid: BTreeMap<i64, u64>,
    /// Partitions with raw data (or a mark) and no valid seal.
    pub open: BTreeSet<i64>,
    /// Valid partitions that were merged into one part of `invocations` and of
    /// `stream_lines` when sealed (so one part still, no write having come since): their raw
    /// rows can be read without `FINAL` (`stats::Read::Plain`).
    pub merged: BTreeSet<i64>,
}

/// A day number (days since 1970-01-01, what `toUInt16(Date)` gives) as epoch ms.
fn day_ms(days: i64) -> i64 {
    days * DAY_MS
}

/// A partition id (YYYYMMDD) as epoch ms of its day.
fn partition_ms(id: u32) -> Option<i64> {
    let (y, m, d) = (
        i64::from(id / 10_000),
        i64::from(id / 100 % 100),
        i64::from(id % 100),
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (proleptic Gregorian).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(day_ms(era * 146_097 + doe - 719_468))
}

/// `'YYYY-MM-DD', …` of partitions.
pub(super) fn days_sql<'a>(parts: impl IntoIterator<Item = &'a i64>) -> String {
    parts
        .into_iter()
        .map(|&p| format!("'{}'", date_of(p)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The partitions that hold raw data (`invocations` or `stream_lines`).
fn raw_partitions(s: &ClickHouseStore) -> Result<BTreeSet<i64>, StoreError> {
    let rows = s.select(&format!(
        "SELECT DISTINCT partition FROM system.parts WHERE database = {} AND table IN ({}) \
         AND active",
        lit(s.db()),
        lits(
            [
                s.layout.data_table("invocations"),
                s.layout.data_table("stream_lines"),
            ]
            .iter()
            .map(String::as_str)
        )
    ))?;
    let mut out = BTreeSet::new();
    for r in &rows {
        let p = r.str("partition")?;
        let id = p.trim_matches('\'').parse::<u32>().ok();
        match id.and_then(partition_ms) {
            Some(ms) => {
                out.insert(ms);
            }
            None => {
                return Err(StoreError::Corrupt(format!(
                    "partition {p:?} of a raw table is not a YYYYMMDD day"
                )))
            }
        }
    }
    Ok(out)
}

/// The seal state now.
pub(super) fn state(s: &ClickHouseStore) -> Result<Seals, StoreError> {
    let rows = s.select(
        "SELECT toInt64(toUInt16(part)) AS d, kind, max(ver) AS v FROM seal_state \
         GROUP BY part, kind",
    )?;
    let mut marks: BTreeMap<i64, u64> = BTreeMap::new();
    let mut seals: BTreeMap<i64, u64> = BTreeMap::new();
    let mut merged: BTreeMap<i64, u64> = BTreeMap::new();
    for r in &rows {
        let p = day_ms(r.i64("d")?);
        let v = r.u64("v")?;
        match r.i64("kind")? {
            k if k == i64::from(KIND_MARK) => marks.insert(p, v),
            k if k == i64::from(KIND_SEAL) => seals.insert(p, v),
            k if k == i64::from(KIND_MERGED) => merged.insert(p, v),
            k => {
                return Err(StoreError::Corrupt(format!(
                    "seal_state of {}: unknown kind {k}",
                    date_of(p)
                )))
            }
        };
    }
    let mut out = Seals::default();
    for (&p, &v) in &seals {
        if marks.get(&p).is_none_or(|&m| m < v) {
            out.valid.insert(p, v);
            if merged.get(&p) == Some(&v) {
                out.merged.insert(p);
            }
        }
    }
    for p in raw_partitions(s)?.into_iter().chain(marks.into_keys()) {
        if !out.valid.contains_key(&p) {
            out.open.insert(p);
        }
    }
    Ok(out)
}

/// Mark partitions (by their `day` values, `YYYY-MM-DD`) as written to.
pub(super) fn mark(s: &mut ClickHouseStore, days: &BTreeSet<String>) -> Result<(), StoreError> {
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

/// The `day` values of rows about to be written.
pub(super) fn days_of<'a>(
    rows: impl IntoIterator<Item = &'a Map<String, Value>>,
) -> BTreeSet<String> {
    rows.into_iter()
        .filter_map(|r| r.get("day").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Seal every settled partition without a valid seal.
pub(super) fn seal(s: &mut ClickHouseStore, now_ms: i64) -> Result<SealStats, StoreError> {
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
fn raw_env_sql(filter: &str) -> String {
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

/// Whether some value lands in sketch bin `k` (a sealed row's keys come from `Sketch::bin_of`).
fn bin_exists(k: i32) -> bool {
    use tern_core::sketch::Sketch;
    let mid = ((f64::from(k) + 0.5) * Sketch::bin_log_base()).exp();
    let lowest = f64::from_bits(Sketch::zero_bound().to_bits() + 1);
    Sketch::bin_of(mid) == Some(k) || Sketch::bin_of(lowest) == Some(k)
}

/// `part IN (…) AND seal IN (…)`: the valid generations.
fn valid_sql(seals: &Seals) -> String {
    let gens: Vec<String> = seals.valid.values().map(u64::to_string).collect();
    format!(
        "part IN ({}) AND seal IN ({})",
        days_sql(seals.valid.keys()),
        gens.join(", ")
    )
}

fn fn_sql(functions: Option<&[String]>) -> String {
    match functions {
        Some(f) => format!("function IN ({})", lits(f.iter().map(String::as_str))),
        None => "1".into(),
    }
}

/// The sealed tables that hold the whole hours of `[lo, hi)`, each with the condition on its
/// `hour` column: the whole UTC days from `sealed_days` when `by`'s buckets are whole days
/// (so a month is 30 rows per function instead of 720), the other whole hours from
/// `sealed_hours`.
fn sealed_spans(lo: Option<i64>, hi: Option<i64>, by: By) -> Vec<(&'static str, String)> {
    let all = |parts: Vec<String>| {
        if parts.is_empty() {
            "1".to_string()
        } else {
            parts.join(" AND ")
        }
    };
    let mut hours = Vec::new();
    if let Some(l) = lo {
        hours.push(format!("hour >= {l}"));
    }
    if let Some(h) = hi {
        hours.push(format!("hour <= {}", h.saturating_sub(HOUR_MS)));
    }
    let (dlo, dhi) = (
        lo.map(|l| ceil_to(l, DAY_MS)),
        hi.map(|h| floor_to(h, DAY_MS)),
    );
    if !by.daily() || dlo.zip(dhi).is_some_and(|(a, b)| a >= b) {
        return vec![("sealed_hours", all(hours))];
    }
    let mut days = Vec::new();
    let mut rest = Vec::new();
    // Whole hours outside the whole days exist only where an end is not on a day.
    if let Some(a) = dlo {
        days.push(format!("hour >= {a}"));
        if lo != Some(a) {
            rest.push(format!("hour < {a}"));
        }
    }
    if let Some(b) = dhi {
        days.push(format!("hour < {b}"));
        if hi != Some(b) {
            rest.push(format!("hour >= {b}"));
        }
    }
    let mut out = vec![("sealed_days", all(days))];
    if !rest.is_empty() {
        hours.push(format!("({})", rest.join(" OR ")));
        out.push(("sealed_hours", all(hours)));
    }
    out
}

/// Add the whole hours of `[lo, hi)` of the valid sealed partitions to `out`, grouped by
/// function and `by` (whose buckets must be whole hours), and return the sealed partitions
/// with rows in the partial hours at the edges (to be read raw over those spans).
pub(super) fn read_sealed(
    s: &ClickHouseStore,
    seals: &Seals,
    out: &mut Aggs,
    functions: Option<&[String]>,
    lo: Option<i64>,
    hi: Option<i64>,
    by: By,
) -> Result<BTreeSet<i64>, StoreError> {
    if seals.valid.is_empty() {
        return Ok(BTreeSet::new());
    }
    let seals = &near(s, seals, lo, hi)?;
    if seals.valid.is_empty() {
        return Ok(BTreeSet::new());
    }
    let base = format!("{} AND {}", valid_sql(seals), fn_sql(functions));
    let month = stats::month_sql("hour");
    let n = "(o0 + o1 + o2 + o3 + o4 + o5)";
    let bins = |p: &str| {
        format!(
            "sum({p}_zero) AS {p}zero, sumMap({p}_keys, {p}_counts) AS {p}bins, \
             min({p}_min) AS {p}lo, max({p}_max) AS {p}hi, sum({p}_sum) AS {p}total"
        )
    };
    for (table, span) in sealed_spans(lo, hi, by) {
        let rows = s.select(&format!(
            "SELECT function, {b} AS b, sum(o0) AS s0, sum(o1) AS s1, sum(o2) AS s2, \
             sum(o3) AS s3, sum(o4) AS s4, sum(o5) AS s5, sum(cold_starts) AS n_cold, \
             sum(over_20s) AS n_over, sum(billed_ms) AS billed, sum(gb_seconds) AS gb, \
             max(max_memory_mb) AS max_mem, min(first_ms) AS first, max(last_ms) AS last, \
             countIf(latest_memory_t IS NOT NULL) AS n_mem, \
             maxIf(assumeNotNull(latest_memory_t), latest_memory_t IS NOT NULL) AS mem_t, \
             argMaxIf(assumeNotNull(latest_memory_mb), \
                      tuple(assumeNotNull(latest_memory_t), assumeNotNull(latest_memory_mb)), \
                      latest_memory_t IS NOT NULL) AS mem, \
             sum(log_lines) AS lines, sum(log_bytes) AS bytes, \
             sumMap([{month}], [{n}]) AS month_n, sumMap([{month}], [gb_seconds]) AS month_gb, \
             {d}, {i} FROM {table} WHERE {base} AND {span} GROUP BY function, b",
            b = by.sql("hour"),
            d = bins("d"),
            i = bins("i"),
        ))?;
        for r in &rows {
            add_sealed_row(r, table, out, by)?;
        }
    }
    edge_partitions(s, &base, lo, hi)
}

/// Add one grouped row of `read_sealed`'s query.
fn add_sealed_row(
    r: &super::client::Row,
    table: &str,
    out: &mut Aggs,
    by: By,
) -> Result<(), StoreError> {
    let function = r.str("function")?;
    let b = by.start(r.i64("b")?);
    let where_ = || format!("{table} of {function:?} at {b}");
    let a = out.entry((function.clone(), b)).or_default();
    let mut part = crate::sqlite::rollup::Rollup::default();
    for (o, slot) in part.outcomes.iter_mut().enumerate() {
        *slot = r.i64(&format!("s{o}"))?;
    }
    part.cold_starts = r.i64("n_cold")?;
    part.over_20s = r.i64("n_over")?;
    part.billed_ms = r.f64("billed")?;
    part.gb_seconds = r.f64("gb")?;
    part.max_memory_used_mb = r.opt_u32("max_mem")?;
    part.first_ms = r.opt_i64("first")?;
    part.last_ms = r.opt_i64("last")?;
    if r.i64("n_mem")? > 0 {
        part.latest_memory = Some(r.i64("mem_t")?).zip(r.opt_u32("mem")?);
    }
    part.log_lines = r.i64("lines")?;
    part.log_bytes = r.i64("bytes")?;
    a.rollup.merge_scalars(&part);
    stats::add_months(r, &mut a.months)?;
    for (p, bins) in [("d", &mut a.duration), ("i", &mut a.init)] {
        let pairs = stats::map_pairs(r, &format!("{p}bins"))?;
        let mut kv = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let k = i32::try_from(k).map_err(|_| {
                StoreError::Corrupt(format!("{}: sketch bin {k} is out of range", where_()))
            })?;
            let n = v.as_u64().ok_or_else(|| {
                StoreError::Corrupt(format!("{}: sketch bin {k} has no count", where_()))
            })?;
            if !bin_exists(k) {
                return Err(StoreError::Corrupt(format!(
                    "{}: {p}_keys holds {k}, which is no sketch bin",
                    where_()
                )));
            }
            kv.push((k, n));
        }
        bins.merge_sealed(
            r.u64(&format!("{p}zero"))?,
            &kv,
            r.opt_f64(&format!("{p}lo"))?,
            r.opt_f64(&format!("{p}hi"))?,
            r.f64(&format!("{p}total"))?,
        );
    }
    Ok(())
}

/// The valid partitions with sealed rows in `[lo, hi)` when that is shorter than a week
/// (all of them otherwise), from the days their daily rows cover: the sealed tables' sort
/// key starts with the partition, so a day's report then reads a few partitions' rows
/// instead of every partition's. A partition holds the days its rows' times fall on (mostly
/// its own and the next), whatever they are: the bounds are read, not assumed.
fn near(
    s: &ClickHouseStore,
    seals: &Seals,
    lo: Option<i64>,
    hi: Option<i64>,
) -> Result<Seals, StoreError> {
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(seals.clone());
    };
    if hi.saturating_sub(lo) >= 7 * DAY_MS || seals.valid.is_empty() {
        return Ok(seals.clone());
    }
    let rows = s.select(&format!(
        "SELECT toInt64(toUInt16(part)) AS d, min(hour) AS first, max(hour) AS last \
         FROM sealed_days WHERE {} GROUP BY part",
        valid_sql(seals)
    ))?;
    let mut keep = BTreeSet::new();
    for r in &rows {
        let (first, last) = (r.i64("first")?, r.i64("last")?);
        if first < hi && last.saturating_add(DAY_MS) > lo {
            keep.insert(day_ms(r.i64("d")?));
        }
    }
    let mut out = seals.clone();
    out.valid.retain(|p, _| keep.contains(p));
    Ok(out)
}

/// `read_sealed` for invocation counts only (`read::counts`).
pub(super) fn sealed_counts(
    s: &ClickHouseStore,
    seals: &Seals,
    out: &mut stats::Counts,
    lo: Option<i64>,
    hi: Option<i64>,
    by: By,
) -> Result<BTreeSet<i64>, StoreError> {
    if seals.valid.is_empty() {
        return Ok(BTreeSet::new());
    }
    let seals = &near(s, seals, lo, hi)?;
    if seals.valid.is_empty() {
        return Ok(BTreeSet::new());
    }
    let base = valid_sql(seals);
    for (table, span) in sealed_spans(lo, hi, by) {
        stats::add_counts(
            s,
            out,
            &format!(
                "SELECT function, {b} AS b, toInt64(sum(o0 + o1 + o2 + o3 + o4 + o5)) AS n \
                 FROM {table} WHERE {base} AND {span} GROUP BY function, b",
                b = by.sql("hour")
            ),
            by,
        )?;
    }
    edge_partitions(s, &base, lo, hi)
}

/// The sealed partitions holding the partial hours at the edges of `[lo, hi)` (`base`: the
/// valid-seal and function filter of `sealed_hours`).
fn edge_partitions(
    s: &ClickHouseStore,
    base: &str,
    lo: Option<i64>,
    hi: Option<i64>,
) -> Result<BTreeSet<i64>, StoreError> {
    let mut edges = BTreeSet::new();
    let mut hours = Vec::new();
    if let Some(l) = lo.filter(|l| l.rem_euclid(HOUR_MS) != 0) {
        hours.push(floor_to(l, HOUR_MS));
    }
    if let Some(h) = hi.filter(|h| h.rem_euclid(HOUR_MS) != 0) {
        hours.push(floor_to(h, HOUR_MS));
    }
    if !hours.is_empty() {
        let list: Vec<String> = hours.iter().map(i64::to_string).collect();
        let rows = s.select(&format!(
            "SELECT DISTINCT toInt64(toUInt16(part)) AS d FROM sealed_hours \
             WHERE {base} AND hour IN ({})",
            list.join(", ")
        ))?;
        for r in &rows {
            edges.insert(day_ms(r.i64("d")?));
        }
    }
    Ok(edges)
}

/// The raw filter (on time column `col`) that completes the sealed rows: the open partitions
/// over `[lo, hi)`, and the `edges` partitions over the partial hours of `[lo, hi)`. `None`:
/// nothing to read raw.
pub(super) fn raw_filter(
    col: &str,
    seals: &Seals,
    edges: &BTreeSet<i64>,
    lo: Option<i64>,
    hi: Option<i64>,
) -> Option<String> {
    let mut alts = Vec::new();
    if !seals.open.is_empty() {
        alts.push(format!(
            "(day IN ({}) AND {})",
            days_sql(&seals.open),
            span_sql(col, lo, hi)
        ));
    }
    alts.extend(edge_filter(col, edges, lo, hi));
    (!alts.is_empty()).then(|| format!("({})", alts.join(" OR ")))
}

/// `lo <= col < hi`, in parentheses.
fn span_sql(col: &str, a: Option<i64>, b: Option<i64>) -> String {
    format!("({})", super::rows::range_sql(col, a, b))
}

/// The `edges` partitions over the partial hours of `[lo, hi)`.
pub(super) fn edge_filter(
    col: &str,
    edges: &BTreeSet<i64>,
    lo: Option<i64>,
    hi: Option<i64>,
) -> Option<String> {
    if edges.is_empty() {
        return None;
    }
    let mut spans = Vec::new();
    if let Some(l) = lo.filter(|l| l.rem_euclid(HOUR_MS) != 0) {
        let e = ceil_to(l, HOUR_MS);
        spans.push(span_sql(col, Some(l), Some(hi.map_or(e, |h| e.min(h)))));
    }
    if let Some(h) = hi.filter(|h| h.rem_euclid(HOUR_MS) != 0) {
        let b = floor_to(h, HOUR_MS);
        spans.push(span_sql(col, Some(lo.map_or(b, |l| b.max(l))), Some(h)));
    }
    (!spans.is_empty()).then(|| {
        format!(
            "(day IN ({}) AND ({}))",
            days_sql(edges),
            spans.join(" OR ")
        )
    })
}

/// Edge partitions split into those read through `FINAL` and those merged when sealed
/// (read plain).
pub(super) fn split_edges(seals: &Seals, edges: BTreeSet<i64>) -> (BTreeSet<i64>, BTreeSet<i64>) {
    edges.into_iter().partition(|p| !seals.merged.contains(p))
}

/// Per (function, log group, log stream), over sealed and open partitions: `n`, `cold`,
/// `first_ms`, `last_ms`, `runtime_version` (the latest reported).
fn env_sql(seals: &Seals, functions: Option<&[String]>) -> Option<String> {
    let mut inner = Vec::new();
    if !seals.valid.is_empty() {
        inner.push(format!(
            "SELECT function, log_group, log_stream, n AS pn, cold AS pc, first_ms AS pf, \
             last_ms AS pl, runtime_version AS prv, rv_t AS prt FROM sealed_envs \
             WHERE {} AND {}",
            valid_sql(seals),
            fn_sql(functions)
        ));
    }
    if !seals.open.is_empty() {
        inner.push(raw_env_sql(&format!(
            "day IN ({}) AND {}",
            days_sql(&seals.open),
            fn_sql(functions)
        )));
    }
    if inner.is_empty() {
        return None;
    }
    Some(format!(
        "SELECT function, log_group, log_stream, sum(pn) AS n, sum(pc) AS cold, \
         if(n > 0, toNullable(minIf(assumeNotNull(pf), pf IS NOT NULL)), NULL) AS first_ms, \
         if(n > 0, toNullable(maxIf(assumeNotNull(pl), pl IS NOT NULL)), NULL) AS last_ms, \
         if(countIf(prt IS NOT NULL) > 0, \
            toNullable(argMaxIf(assumeNotNull(prv), tuple(assumeNotNull(prt), assumeNotNull(prv)), \
                                prt IS NOT NULL)), NULL) AS runtime_version \
         FROM ({}) GROUP BY function, log_group, log_stream",
        inner.join(" UNION ALL ")
    ))
}

/// Execution environments (of one function, or all), each function's most invocations first.
pub(super) fn env_rows(
    s: &ClickHouseStore,
    seals: &Seals,
    function: Option<&str>,
) -> Result<Vec<EnvironmentRow>, StoreError> {
    let names = function.map(|f| vec![f.to_string()]);
    let Some(sql) = env_sql(seals, names.as_deref()) else {
        return Ok(Vec::new());
    };
    let rows = s.select(&format!(
        "SELECT * FROM ({sql}) ORDER BY function, n DESC, log_stream, log_group"
    ))?;
    rows.iter()
        .map(|r| {
            Ok(EnvironmentRow {
                function: r.str("function")?,
                log_stream: r.str("log_stream")?,
                invocations: r.u64("n")?,
                cold_starts: r.u64("cold")?,
                first_ms: r.opt_i64("first_ms")?,
                last_ms: r.opt_i64("last_ms")?,
                runtime_version: r.opt_str("runtime_version")?,
            })
        })
        .collect()
}

/// `Store::environment_summaries` summed in ClickHouse (what `crate::summarise_environments`
/// makes of `env_rows`): one row per function, its lifetimes and per-version invocations as
/// arrays, instead of every environment (750,000 of them at 10 M invocations).
pub(super) fn env_summaries(
    s: &ClickHouseStore,
    seals: &Seals,
    range: crate::TimeRange,
) -> Result<Vec<crate::EnvironmentSummary>, StoreError> {
    let Some(sql) = env_sql(seals, None) else {
        return Ok(Vec::new());
    };
    let mut inside = vec!["n > 0".to_string(), "last_ms IS NOT NULL".to_string()];
    if let Some(f) = range.from_ms {
        inside.push(format!("assumeNotNull(last_ms) >= {f}"));
    }
    if let Some(t) = range.to_ms {
        inside.push(format!("assumeNotNull(last_ms) < {t}"));
    }
    let rows = s.select(&format!(
        "SELECT function, sum(e) AS envs, sum(i) AS inv, arraySort(groupArrayArray(l)) AS lives, \
         groupArrayIf(v, has_v) AS vs, groupArrayIf(vn, has_v) AS vns FROM ( \
           SELECT function, has_v, v, toInt64(countIf(inside)) AS e, \
           toInt64(sumIf(n, inside)) AS i, groupArrayIf(life, inside) AS l, \
           toInt64(sum(n)) AS vn FROM ( \
             SELECT function, n, {inside} AS inside, \
             if(first_ms IS NOT NULL AND last_ms IS NOT NULL, \
                greatest(assumeNotNull(last_ms) - assumeNotNull(first_ms), 0), 0) AS life, \
             runtime_version IS NOT NULL AS has_v, ifNull(runtime_version, '') AS v \
             FROM ({sql})) \
           GROUP BY function, has_v, v) \
         GROUP BY function ORDER BY function",
        inside = inside.join(" AND "),
    ))?;
    let mut out = Vec::new();
    for r in &rows {
        let function = r.str("function")?;
        let bad = |what: &str| {
            StoreError::Corrupt(format!("environment summary of {function:?}: {what}"))
        };
        let ints = |col: &str| -> Result<Vec<i64>, StoreError> {
            match r.map().get(col) {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_i64().ok_or_else(|| bad(&format!("{col} holds {v}"))))
                    .collect(),
                _ => Err(bad(&format!("{col} is not an array"))),
            }
        };
        let lifetimes_ms = ints("lives")?;
        let counts = ints("vns")?;
        let names = match r.map().get("vs") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad("vs holds a non-string"))
                })
                .collect::<Result<Vec<String>, StoreError>>()?,
            _ => return Err(bad("vs is not an array")),
        };
        if names.len() != counts.len() {
            return Err(bad("versions and their counts differ in length"));
        }
        let mut versions: Vec<(String, i64)> = names.into_iter().zip(counts).collect();
        versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let sum = crate::EnvironmentSummary {
            environments: r.u64("envs")?,
            invocations: r.u64("inv")?,
            lifetimes_ms,
            runtime_versions: versions.into_iter().map(|(v, _)| v).collect(),
            function,
        };
        if sum.environments > 0 || !sum.runtime_versions.is_empty() {
            out.push(sum);
        }
    }
    Ok(out)
}

/// Per function: its environments (distinct stream names) with a completed invocation whose
/// first..last completed invocation overlaps `[from, to)` (as on SQLite).
pub(super) fn env_counts(
    s: &ClickHouseStore,
    seals: &Seals,
    functions: Option<&[String]>,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<BTreeMap<String, u64>, StoreError> {
    let Some(sql) = env_sql(seals, functions) else {
        return Ok(BTreeMap::new());
    };
    let rows = s.select(&format!(
        "SELECT function, uniqExactIf(log_stream, n > 0 AND assumeNotNull(first_ms) < {} \
         AND assumeNotNull(last_ms) >= {}) AS envs FROM ({sql}) GROUP BY function",
        to.unwrap_or(i64::MAX),
        from.unwrap_or(i64::MIN)
    ))?;
    rows.iter()
        .map(|r| Ok((r.str("function")?, r.u64("envs")?)))
        .collect()
}

/// The latest (time, Memory Size) of a completed invocation per function, from the valid
/// sealed rows.
pub(super) fn sealed_memory(
    s: &ClickHouseStore,
    seals: &Seals,
    functions: Option<&[String]>,
) -> Result<BTreeMap<String, (i64, u32)>, StoreError> {
    if seals.valid.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows = s.select(&format!(
        "SELECT function, max(assumeNotNull(latest_memory_t)) AS mt, \
         argMax(assumeNotNull(latest_memory_mb), \
                tuple(assumeNotNull(latest_memory_t), assumeNotNull(latest_memory_mb))) AS m \
         FROM sealed_days WHERE {} AND {} AND latest_memory_t IS NOT NULL GROUP BY function",
        valid_sql(seals),
        fn_sql(functions)
    ))?;
    let mut out = BTreeMap::new();
    for r in &rows {
        if let Some(m) = r.opt_u32("m")? {
            out.insert(r.str("function")?, (r.i64("mt")?, m));
        }
    }
    Ok(out)
}

/// Earliest and latest completed invocation in the valid sealed rows from hour `lo` on.
pub(super) fn sealed_bounds(
    s: &ClickHouseStore,
    seals: &Seals,
    lo: Option<i64>,
) -> Result<Option<(i64, i64)>, StoreError> {
    if seals.valid.is_empty() {
        return Ok(None);
    }
    let mut out: Option<(i64, i64)> = None;
    for (table, span) in sealed_spans(lo, None, By::Function) {
        let rows = s.select(&format!(
            "SELECT countIf(first_ms IS NOT NULL) AS n, min(first_ms) AS lo, \
             max(last_ms) AS hi FROM {table} WHERE {} AND {span}",
            valid_sql(seals),
        ))?;
        if let Some(r) = rows.first() {
            if r.i64("n")? > 0 {
                if let Some((a, b)) = r.opt_i64("lo")?.zip(r.opt_i64("hi")?) {
                    out = Some(out.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
                }
            }
        }
    }
    Ok(out)
}

/// Schema 3 added `sealed_days`: a seal written before it has no daily rows, so every
/// sealed partition is marked as written to, and reads it raw until it is sealed again.
pub(super) fn reopen_sealed(s: &mut ClickHouseStore) -> Result<(), StoreError> {
    let rows = s.select(&format!(
        "SELECT DISTINCT toString(part) AS d FROM seal_state WHERE kind = {KIND_SEAL}"
    ))?;
    let days = rows
        .iter()
        .map(|r| r.str("d"))
        .collect::<Result<BTreeSet<String>, StoreError>>()?;
    mark(s, &days)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn whole_days_come_from_daily_rows() {
        let d = DAY_MS;
        let h = HOUR_MS;
        let hourly = By::Bucket { from: 0, width: h };
        // Hourly buckets never read daily rows.
        assert_eq!(
            sealed_spans(Some(0), Some(3 * d), hourly),
            vec![(
                "sealed_hours",
                format!("hour >= 0 AND hour <= {}", 3 * d - h)
            )]
        );
        // Whole days only.
        assert_eq!(
            sealed_spans(Some(d), Some(3 * d), By::Function),
            vec![("sealed_days", format!("hour >= {d} AND hour < {}", 3 * d))]
        );
        // Partial days at both ends: their whole hours from hourly rows.
        let lo = d + 5 * h + 17;
        let hi = 3 * d + 7 * h;
        assert_eq!(
            sealed_spans(Some(lo), Some(hi), By::Function),
            vec![
                (
                    "sealed_days",
                    format!("hour >= {} AND hour < {}", 2 * d, 3 * d)
                ),
                (
                    "sealed_hours",
                    format!(
                        "hour >= {lo} AND hour <= {} AND (hour < {} OR hour >= {})",
                        hi - h,
                        2 * d,
                        3 * d
                    )
                ),
            ]
        );
        // Less than a whole day: hourly rows only.
        assert_eq!(
            sealed_spans(Some(d + h), Some(2 * d + h), By::Function),
            vec![(
                "sealed_hours",
                format!("hour >= {} AND hour <= {}", d + h, 2 * d)
            )]
        );
        // Unbounded: every day.
        assert_eq!(
            sealed_spans(None, None, By::Function),
            vec![("sealed_days", "1".to_string())]
        );
        // Daily buckets read daily rows; buckets not made of whole days do not.
        let daily = By::Bucket {
            from: 2 * d,
            width: 7 * d,
        };
        assert_eq!(sealed_spans(None, Some(2 * d), daily)[0].0, "sealed_days");
        let shifted = By::Bucket { from: h, width: d };
        assert_eq!(
            sealed_spans(None, Some(2 * d), shifted)[0].0,
            "sealed_hours"
        );
    }

    #[test]
    fn partition_ids_are_days() {
        assert_eq!(partition_ms(19700101), Some(0));
        assert_eq!(partition_ms(20260301), Some(1_772_323_200_000));
        assert_eq!(partition_ms(20240229), Some(1_709_164_800_000));
        assert_eq!(partition_ms(20261300), None);
        for t in [0, 1_772_323_200_000, 1_709_164_800_000, 4_102_444_800_000] {
            let id: u32 = date_of(t).replace('-', "").parse().unwrap();
            assert_eq!(partition_ms(id), Some(t));
        }
    }

    #[test]
    fn raw_filter_reads_open_partitions_and_sealed_edges() {
        let mut seals = Seals::default();
        assert_eq!(raw_filter("t", &seals, &BTreeSet::new(), None, None), None);
        seals.open.insert(0);
        assert_eq!(
            raw_filter("t", &seals, &BTreeSet::new(), Some(5), None).unwrap(),
            "((day IN ('1970-01-01') AND (1 AND t >= 5)))"
        );
        let edges: BTreeSet<i64> = [DAY_MS].into();
        let f = raw_filter(
            "t",
            &seals,
            &edges,
            Some(HOUR_MS + 5),
            Some(3 * HOUR_MS + 7),
        )
        .unwrap();
        assert!(f.contains("(day IN ('1970-01-02') AND ((1 AND t >= 3600005 AND t < 7200000) OR (1 AND t >= 10800000 AND t < 10800007)))"), "{f}");
        // Aligned ends: no edge spans.
        seals.open.clear();
        assert_eq!(
            raw_filter("t", &seals, &edges, Some(HOUR_MS), Some(2 * HOUR_MS)),
            None
        );
    }
}
