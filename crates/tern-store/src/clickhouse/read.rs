//! Reads that combine every place a figure can live: sealed rows for whole hours of sealed
//! partitions, raw invocations for the rest, and compacted hourly rollups.

use std::collections::{BTreeMap, HashMap};

use super::rows::fn_filter;
use super::seal::{self, Seals};
use super::stats::{
    add_counts, compacted_hours, raw_into, raw_rows, raw_window, where_sql, Aggs, By, Counts, Read,
};
use super::{ClickHouseStore, Cutoffs};
use crate::StoreError;

/// Aggregate `[from, to)`: whole hours of sealed partitions from their sealed rows, the rest
/// from raw invocations and stream lines (cut by `raw_window`), and compacted hours from
/// `rollups`.
pub(super) fn aggregate(
    s: &ClickHouseStore,
    c: &Cutoffs,
    functions: Option<&[String]>,
    from: Option<i64>,
    to: Option<i64>,
    by: By,
) -> Result<Aggs, StoreError> {
    let seals = seal::state(s)?;
    aggregate_with(s, c, &seals, functions, from, to, by)
}

pub(super) fn aggregate_with(
    s: &ClickHouseStore,
    c: &Cutoffs,
    seals: &Seals,
    functions: Option<&[String]>,
    from: Option<i64>,
    to: Option<i64>,
    by: By,
) -> Result<Aggs, StoreError> {
    let (lo, hi) = raw_window(c, from, to);
    let mut out: Aggs = BTreeMap::new();
    if lo.zip(hi).is_none_or(|(l, h)| l < h) {
        let filters = if by.hourly() && !seals.valid.is_empty() {
            let edges = seal::read_sealed(s, seals, &mut out, functions, lo, hi, by)?;
            let (edges, plain) = seal::split_edges(seals, edges);
            let of = |col| seal::edge_filter(col, &plain, lo, hi);
            vec![
                (
                    seal::raw_filter("t", seals, &edges, lo, hi)
                        .zip(seal::raw_filter("chunk_t", seals, &edges, lo, hi)),
                    Read::Final,
                ),
                (of("t").zip(of("chunk_t")), Read::Plain),
            ]
        } else {
            vec![(
                Some((
                    where_sql("t", lo, hi, None),
                    where_sql("chunk_t", lo, hi, None),
                )),
                Read::Final,
            )]
        };
        let f = where_sql("t", None, None, functions);
        for (filters, read) in filters {
            if let Some((inv, lines)) = filters {
                raw_into(
                    s,
                    &mut out,
                    &format!("{inv} AND {f}"),
                    &format!("{lines} AND {f}"),
                    by,
                    read,
                )?;
            }
        }
    }
    compacted_hours(s, c, &mut out, functions, from, to, by)?;
    Ok(out)
}

/// What `aggregate` counts as invocations per (function, bucket), from the same sealed, raw
/// and compacted rows, without reading anything else: each query answers one row per
/// function with its buckets as arrays (a fleet of 5,000 functions over 14 days hourly is
/// 1.7 M buckets).
pub(super) fn counts(
    s: &ClickHouseStore,
    c: &Cutoffs,
    from: Option<i64>,
    to: Option<i64>,
    by: By,
) -> Result<Counts, StoreError> {
    let seals = seal::state(s)?;
    let (lo, hi) = raw_window(c, from, to);
    let mut out = Counts::new();
    if lo.zip(hi).is_none_or(|(l, h)| l < h) {
        let filters = if by.hourly() && !seals.valid.is_empty() {
            let edges = seal::sealed_counts(s, &seals, &mut out, lo, hi, by)?;
            let (edges, plain) = seal::split_edges(&seals, edges);
            vec![
                (seal::raw_filter("t", &seals, &edges, lo, hi), Read::Final),
                (seal::edge_filter("t", &plain, lo, hi), Read::Plain),
            ]
        } else {
            vec![(Some(where_sql("t", lo, hi, None)), Read::Final)]
        };
        for (filter, read) in filters {
            let Some(f) = filter else { continue };
            add_counts(
                s,
                &mut out,
                &format!(
                    "SELECT function, {b} AS b, toInt64(countIf(complete = 1 AND outcome < 6)) \
                     AS n FROM {rows} GROUP BY function, b",
                    b = by.sql("t"),
                    rows = raw_rows("invocations", &f, read),
                ),
                by,
            )?;
        }
    }
    let mut compacted = Aggs::new();
    compacted_hours(s, c, &mut compacted, None, from, to, by)?;
    for ((f, b), a) in compacted {
        *out.entry(f).or_default().entry(b).or_default() += a.rollup.invocations();
    }
    Ok(out)
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

/// Earliest and latest time of a completed invocation: raw, sealed or compacted.
pub(super) fn time_bounds(s: &ClickHouseStore) -> Result<Option<(i64, i64)>, StoreError> {
    let c = s.cutoffs()?;
    let seals = seal::state(s)?;
    let (lo, hi) = raw_window(&c, None, None);
    let mut bounds: Option<(i64, i64)> = None;
    let mut widen = |a: i64, b: i64| {
        bounds = Some(bounds.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
    };
    let raw = if seals.valid.is_empty() {
        Some(where_sql("t", lo, hi, None))
    } else {
        seal::raw_filter("t", &seals, &Default::default(), lo, hi)
    };
    if let Some(filter) = raw {
        let rows = s.select(&format!(
            "SELECT count() AS n, min(t) AS lo, max(t) AS hi FROM invocations FINAL \
             WHERE complete = 1 AND {filter}"
        ))?;
        if let Some(r) = rows.first() {
            if r.i64("n")? > 0 {
                widen(r.i64("lo")?, r.i64("hi")?);
            }
        }
    }
    if let Some((a, b)) = seal::sealed_bounds(s, &seals, lo)? {
        widen(a, b);
    }
    let aggs = {
        let mut out = BTreeMap::new();
        compacted_hours(s, &c, &mut out, None, None, None, By::Function)?;
        out
    };
    for a in aggs.values() {
        if let (Some(x), Some(y)) = (a.rollup.first_ms, a.rollup.last_ms) {
            widen(x, y);
        }
    }
    Ok(bounds)
}
