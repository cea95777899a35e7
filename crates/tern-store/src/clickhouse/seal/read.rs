//! Statistics from sealed rows: which partitions are sealed and valid, the sealed rows of a
//! range, and the raw filters for the partitions and edges read raw.

use std::collections::{BTreeMap, BTreeSet};

use super::{day_ms, days_sql, Seals};
use crate::clickhouse::rows::lits;
use crate::clickhouse::stats::{self, Aggs, By};
use crate::clickhouse::ClickHouseStore;
use crate::sqlite::rollup::{ceil_to, floor_to, DAY_MS, HOUR_MS};
use crate::StoreError;

/// Whether some value lands in sketch bin `k` (a sealed row's keys come from `Sketch::bin_of`).
fn bin_exists(k: i32) -> bool {
    use tern_core::sketch::Sketch;
    let mid = ((f64::from(k) + 0.5) * Sketch::bin_log_base()).exp();
    let lowest = f64::from_bits(Sketch::zero_bound().to_bits() + 1);
    Sketch::bin_of(mid) == Some(k) || Sketch::bin_of(lowest) == Some(k)
}

/// `part IN (…) AND seal IN (…)`: the valid generations.
pub(super) fn valid_sql(seals: &Seals) -> String {
    let gens: Vec<String> = seals.valid.values().map(u64::to_string).collect();
    format!(
        "part IN ({}) AND seal IN ({})",
        days_sql(seals.valid.keys()),
        gens.join(", ")
    )
}

pub(super) fn fn_sql(functions: Option<&[String]>) -> String {
    match functions {
        Some(f) => format!("function IN ({})", lits(f.iter().map(String::as_str))),
        None => "1".into(),
    }
}

/// The sealed tables that hold the whole hours of `[lo, hi)`, each with the condition on its
/// `hour` column: the whole UTC days from `sealed_days` when `by`'s buckets are whole days
/// (so a month is 30 rows per function instead of 720), the other whole hours from
/// `sealed_hours`.
pub(super) fn sealed_spans(
    lo: Option<i64>,
    hi: Option<i64>,
    by: By,
) -> Vec<(&'static str, String)> {
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
pub(in crate::clickhouse) fn read_sealed(
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
    r: &crate::clickhouse::client::Row,
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
pub(in crate::clickhouse) fn sealed_counts(
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
pub(in crate::clickhouse) fn raw_filter(
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
    format!("({})", crate::clickhouse::rows::range_sql(col, a, b))
}

/// The `edges` partitions over the partial hours of `[lo, hi)`.
pub(in crate::clickhouse) fn edge_filter(
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
pub(in crate::clickhouse) fn split_edges(
    seals: &Seals,
    edges: BTreeSet<i64>,
) -> (BTreeSet<i64>, BTreeSet<i64>) {
    edges.into_iter().partition(|p| !seals.merged.contains(p))
}

/// The latest (time, Memory Size) of a completed invocation per function, from the valid
/// sealed rows.
pub(in crate::clickhouse) fn sealed_memory(
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
pub(in crate::clickhouse) fn sealed_bounds(
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
