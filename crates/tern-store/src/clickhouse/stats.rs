//! Statistics aggregated inside ClickHouse.
//!
//! One pass over the latest invocation versions (`FINAL`) per question: counts per outcome,
//! sums, maxima and per-month usage grouped by function (and time bucket), and the duration
//! and init sketches as counts per sketch bin (`tern_core::sketch::Sketch::bin_of`, computed
//! in SQL as `⌊ln v / ln γ⌋`), so only a few rows per function cross the wire. Each bin group
//! also carries its smallest and largest value; the bin is taken from those in Rust, so a
//! value that ClickHouse's logarithm puts on the other side of a bin edge than Rust's would is
//! caught, and that group is read again value by value. Results are those of the SQLite
//! backend, which adds the same invocations one by one (float sums to rounding).

use std::collections::BTreeMap;

use serde_json::Value;
use tern_core::sketch::Sketch;

use super::client::Row;
use super::rows::lits;
use super::{ClickHouseStore, Cutoffs};
use crate::sqlite::rollup::{floor_to, month_of, Rollup, DAY_MS, HOUR_MS};
use crate::StoreError;

/// How rows are grouped besides by function.
#[derive(Debug, Clone, Copy)]
pub(super) enum By {
    /// One group per function (bucket start 0).
    Function,
    /// Buckets of `width` ms aligned on `from` (which may be any time, even after the rows).
    Bucket { from: i64, width: i64 },
}

impl By {
    /// Whether every bucket is made of whole hours (so sealed hourly rows can fill it).
    pub(super) fn hourly(self) -> bool {
        match self {
            By::Function => true,
            By::Bucket { from, width } => {
                width > 0 && width % HOUR_MS == 0 && from.rem_euclid(HOUR_MS) == 0
            }
        }
    }

    /// Whether every bucket is made of whole UTC days (so sealed daily rows can fill it).
    pub(super) fn daily(self) -> bool {
        match self {
            By::Function => true,
            By::Bucket { from, width } => {
                width > 0 && width % DAY_MS == 0 && from.rem_euclid(DAY_MS) == 0
            }
        }
    }

    /// SQL for the bucket index of `col` (floor division, so times before `from` work too).
    pub(super) fn sql(self, col: &str) -> String {
        match self {
            By::Function => "toInt64(0)".into(),
            By::Bucket { from, width } => format!(
                "(intDiv({col} - ({from}), {width}) - toInt64(({col} - ({from})) < 0 AND \
                 ({col} - ({from})) % {width} != 0))"
            ),
        }
    }

    pub(super) fn start(self, index: i64) -> i64 {
        match self {
            By::Function => 0,
            By::Bucket { from, width } => from.saturating_add(index.saturating_mul(width)),
        }
    }

    fn start_of(self, t: i64) -> i64 {
        match self {
            By::Function => 0,
            By::Bucket { from, width } => from + floor_to(t - from, width),
        }
    }
}

/// Per-bin counts of one sketch, with the exact summary.
#[derive(Debug, Default)]
pub(super) struct Bins {
    pub zero: u64,
    pub bins: BTreeMap<i32, u64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: f64,
}

impl Bins {
    /// Add a sealed row's (or a sum of them) bins and summary.
    pub(super) fn merge_sealed(
        &mut self,
        zero: u64,
        bins: &[(i32, u64)],
        lo: Option<f64>,
        hi: Option<f64>,
        sum: f64,
    ) {
        self.zero += zero;
        for &(k, n) in bins {
            *self.bins.entry(k).or_default() += n;
        }
        if let Some(lo) = lo {
            self.min = Some(self.min.map_or(lo, |m| m.min(lo)));
        }
        if let Some(hi) = hi {
            self.max = Some(self.max.map_or(hi, |m| m.max(hi)));
        }
        self.sum += sum;
    }

    /// Add another aggregate's bins.
    fn absorb(&mut self, o: &Bins) {
        let bins: Vec<(i32, u64)> = o.bins.iter().map(|(k, n)| (*k, *n)).collect();
        self.merge_sealed(o.zero, &bins, o.min, o.max, o.sum);
    }

    fn add(&mut self, bin: Option<i32>, n: u64, lo: f64, hi: f64, sum: f64) {
        match bin {
            Some(k) => *self.bins.entry(k).or_default() += n,
            None => self.zero += n,
        }
        self.min = Some(self.min.map_or(lo, |m| m.min(lo)));
        self.max = Some(self.max.map_or(hi, |m| m.max(hi)));
        self.sum += sum;
    }

    fn sketch(&self, what: &str) -> Result<Sketch, StoreError> {
        let (Some(lo), Some(hi)) = (self.min, self.max) else {
            return Ok(Sketch::new());
        };
        let bins: Vec<(i32, u64)> = self.bins.iter().map(|(k, n)| (*k, *n)).collect();
        Sketch::from_bins(self.zero, &bins, lo, hi, self.sum)
            .map_err(|e| StoreError::Corrupt(format!("{what} sketch from bins: {e}")))
    }
}

/// Month (YYYYMM) → (invocations, GB-seconds).
pub(super) type Months = BTreeMap<u32, (i64, f64)>;

/// One function's (and bucket's) aggregate.
#[derive(Debug, Default)]
pub(super) struct Agg {
    pub rollup: Rollup,
    pub months: Months,
    pub environments: u64,
    pub duration: Bins,
    pub init: Bins,
    /// Compacted hours, whose sketches are merged in once the bins are a sketch.
    pending: Vec<Rollup>,
}

/// (function, bucket start) → aggregate.
pub(super) type Aggs = BTreeMap<(String, i64), Agg>;

/// The raw rows that count for `[from, to)`: from the compaction watermark on (earlier hours
/// are in `rollups`) and only in hours that survived rollup retention.
pub(super) fn raw_window(
    c: &Cutoffs,
    from: Option<i64>,
    to: Option<i64>,
) -> (Option<i64>, Option<i64>) {
    let kept = c.rollups.map(|r| floor_to(r - HOUR_MS, HOUR_MS) + HOUR_MS);
    let lo = [from, c.compacted, kept].into_iter().flatten().max();
    (lo, to)
}

pub(super) fn where_sql(
    col: &str,
    lo: Option<i64>,
    hi: Option<i64>,
    functions: Option<&[String]>,
) -> String {
    let mut parts = vec!["1".to_string()];
    if let Some(f) = lo {
        parts.push(format!("{col} >= {f}"));
    }
    if let Some(t) = hi {
        parts.push(format!("{col} < {t}"));
    }
    if let Some(f) = functions {
        parts.push(format!(
            "function IN ({})",
            lits(f.iter().map(String::as_str))
        ));
    }
    parts.join(" AND ")
}

/// The month key of `t`: YYYYMM in SQL where `toDateTime` covers it, else a day number
/// offset far below zero that Rust turns into the month (`month_key`).
pub(super) fn month_sql(t: &str) -> String {
    format!(
        "if({t} >= 0 AND {t} < 4102444800000, toInt64(toYYYYMM(toDateTime(intDiv({t}, 1000), 'UTC'))), \
         (intDiv({t}, {DAY_MS}) - toInt64({t} < 0 AND {t} % {DAY_MS} != 0)) - {MONTH_DAY_OFFSET})"
    )
}

const MONTH_DAY_OFFSET: i64 = 1_000_000_000_000;

fn month_key(k: i64) -> u32 {
    if k >= 0 {
        u32::try_from(k).unwrap_or(0)
    } else {
        month_of((k + MONTH_DAY_OFFSET).saturating_mul(DAY_MS))
    }
}

const BILLED: &str = "(ifNull(billed_ms, 0) + ifNull(billed_restore_ms, 0))";

/// A duration as the sketch takes it (missing or negative is 0).
const DURATION: &str = "greatest(ifNull(duration_ms, 0), 0)";
/// The init duration of a cold invocation (`InvocationPart::init_duration_ms`).
const INIT: &str = "coalesce(init_ms, init_report_ms, restore_ms)";

pub(super) fn map_pairs(r: &Row, col: &str) -> Result<Vec<(i64, Value)>, StoreError> {
    let bad = || StoreError::Corrupt(format!("{col} is not a [keys, values] map"));
    let Some(Value::Array(kv)) = r.map().get(col) else {
        return Err(bad());
    };
    let (Some(Value::Array(k)), Some(Value::Array(v))) = (kv.first(), kv.get(1)) else {
        return Err(bad());
    };
    if k.len() != v.len() {
        return Err(bad());
    }
    k.iter()
        .zip(v)
        .map(|(k, v)| Ok((k.as_i64().ok_or_else(bad)?, v.clone())))
        .collect()
}

/// How raw rows are read: the latest version of each key through `FINAL`, or (`Plain`: the
/// partial edge hours of sealed partitions merged into one part when sealed) without it,
/// keeping the newest row of each key among those the filter selects. In a merged partition
/// every key has one row, so both give the same; should a late write land there between the
/// read of the seal state and this read, `Plain` still counts each key once (as of the seal,
/// or newer), where a plain scan would count it twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    Final,
    Plain,
}

/// The columns `Plain` reads of `invocations`: its key and version and what statistics use.
const INVOCATION_STAT_COLUMNS: &str = "log_group, log_stream, request_id, ver, function, day, t, \
    complete, outcome, cold, duration_ms, billed_ms, billed_restore_ms, memory_mb, \
    max_memory_mb, init_ms, init_report_ms, restore_ms, log_lines, log_bytes";

/// `FROM` clause text for the rows of `table` (`invocations` or `stream_lines`) matching
/// `filter`, ending in a `WHERE` a caller may extend with `AND …`.
pub(super) fn raw_rows(table: &str, filter: &str, read: Read) -> String {
    match read {
        Read::Final => format!("{table} FINAL WHERE {filter}"),
        Read::Plain => {
            let (columns, key) = if table == "stream_lines" {
                (
                    "log_group, log_stream, ts, id, ver, function, day, chunk_t, message",
                    "log_group, log_stream, ts, id",
                )
            } else {
                (INVOCATION_STAT_COLUMNS, "log_group, log_stream, request_id")
            };
            format!(
                "(SELECT {columns} FROM {table} WHERE {filter} ORDER BY {key}, ver DESC \
                 LIMIT 1 BY {key}) WHERE 1"
            )
        }
    }
}

/// Completed invocations per function and bucket start.
pub(super) type Counts = BTreeMap<String, BTreeMap<i64, i64>>;

/// Add the rows of `inner` (`function`, bucket index `b`, count `n`), read as one row per
/// function with arrays.
pub(super) fn add_counts(
    s: &ClickHouseStore,
    out: &mut Counts,
    inner: &str,
    by: By,
) -> Result<(), StoreError> {
    let rows = s.select(&format!(
        "SELECT function, groupArray(b) AS bs, groupArray(n) AS ns FROM ({inner}) \
         GROUP BY function"
    ))?;
    for r in &rows {
        let function = r.str("function")?;
        let (bs, ns) = (array(r, "bs")?, array(r, "ns")?);
        if bs.len() != ns.len() {
            return Err(StoreError::Corrupt(format!(
                "bucket counts of {function:?}: arrays of different lengths"
            )));
        }
        let buckets = out.entry(function).or_default();
        for (b, n) in bs.iter().zip(ns) {
            let (Some(b), Some(n)) = (b.as_i64(), n.as_i64()) else {
                return Err(StoreError::Corrupt(format!(
                    "bucket counts of {:?}: {b} → {n} is not a pair of integers",
                    r.str("function")?
                )));
            };
            *buckets.entry(by.start(b)).or_default() += n;
        }
    }
    Ok(())
}

/// Add the raw invocations matching `invocations` and the stream lines matching `lines`.
pub(super) fn raw_into(
    s: &ClickHouseStore,
    out: &mut Aggs,
    invocations: &str,
    lines: &str,
    by: By,
    read: Read,
) -> Result<(), StoreError> {
    let rows = raw_rows("invocations", invocations, read);
    invocation_scalars(s, out, &rows, by)?;
    for init in [false, true] {
        sketch_bins(s, out, &rows, by, init)?;
    }
    stream_volume(s, out, &raw_rows("stream_lines", lines, read), by)
}

/// Add a row's `month_n` and `month_gb` maps to `months`.
pub(super) fn add_months(r: &Row, months: &mut Months) -> Result<(), StoreError> {
    for (k, v) in map_pairs(r, "month_n")? {
        months.entry(month_key(k)).or_default().0 += v.as_i64().unwrap_or(0);
    }
    for (k, v) in map_pairs(r, "month_gb")? {
        months.entry(month_key(k)).or_default().1 += v.as_f64().unwrap_or(0.0);
    }
    Ok(())
}

fn invocation_scalars(
    s: &ClickHouseStore,
    out: &mut Aggs,
    rows: &str,
    by: By,
) -> Result<(), StoreError> {
    let outcomes: Vec<String> = (0..6)
        .map(|o| format!("countIf(complete = 1 AND outcome = {o}) AS o{o}"))
        .collect();
    let gb = format!("{BILLED} / 1000 * ifNull(memory_mb, 0) / 1024");
    let month = month_sql("t");
    let rows = s.select(&format!(
        "SELECT function, {b} AS b, {outcomes}, \
         countIf(complete = 1 AND cold = 1) AS cold_starts, \
         countIf(complete = 1 AND ifNull(duration_ms, 0) > 20000) AS over_20s, \
         sumIf({BILLED}, complete = 1) AS billed, sumIf({gb}, complete = 1) AS gb, \
         sumMap([{month}], [toInt64(complete)]) AS month_n, \
         sumMap([{month}], [if(complete = 1, {gb}, 0.)]) AS month_gb, \
         countIf(complete = 1 AND max_memory_mb IS NOT NULL) AS n_max, \
         maxIf(assumeNotNull(max_memory_mb), complete = 1 AND max_memory_mb IS NOT NULL) AS max_mem, \
         countIf(complete = 1) AS n, minIf(t, complete = 1) AS first, maxIf(t, complete = 1) AS last, \
         countIf(complete = 1 AND memory_mb IS NOT NULL) AS n_mem, \
         maxIf(t, complete = 1 AND memory_mb IS NOT NULL) AS mem_t, \
         argMaxIf(assumeNotNull(memory_mb), tuple(t, assumeNotNull(memory_mb)), \
                  complete = 1 AND memory_mb IS NOT NULL) AS mem, \
         sum(log_lines) AS lines, sum(log_bytes) AS bytes \
         FROM {rows} GROUP BY function, b",
        b = by.sql("t"),
        outcomes = outcomes.join(", "),
    ))?;
    for r in &rows {
        let a = out
            .entry((r.str("function")?, by.start(r.i64("b")?)))
            .or_default();
        let mut part = Rollup::default();
        for (o, slot) in part.outcomes.iter_mut().enumerate() {
            *slot = r.i64(&format!("o{o}"))?;
        }
        part.cold_starts = r.i64("cold_starts")?;
        part.over_20s = r.i64("over_20s")?;
        part.billed_ms = r.f64("billed")?;
        part.gb_seconds = r.f64("gb")?;
        if r.i64("n_max")? > 0 {
            part.max_memory_used_mb = r.opt_u32("max_mem")?;
        }
        if r.i64("n")? > 0 {
            part.first_ms = Some(r.i64("first")?);
            part.last_ms = Some(r.i64("last")?);
        }
        if r.i64("n_mem")? > 0 {
            part.latest_memory = Some(r.i64("mem_t")?).zip(r.opt_u32("mem")?);
        }
        part.log_lines = r.i64("lines")?;
        part.log_bytes = r.i64("bytes")?;
        a.rollup.merge_scalars(&part);
        add_months(r, &mut a.months)?;
    }
    Ok(())
}

/// Count the duration (or, with `init`, the init duration of cold starts) per sketch bin.
fn sketch_bins(
    s: &ClickHouseStore,
    out: &mut Aggs,
    rows: &str,
    by: By,
    init: bool,
) -> Result<(), StoreError> {
    let (value, cond) = if init {
        (
            format!("greatest(assumeNotNull({INIT}), 0)"),
            format!("complete = 1 AND cold = 1 AND {INIT} IS NOT NULL"),
        )
    } else {
        (DURATION.to_string(), "complete = 1".to_string())
    };
    let inner = format!(
        "SELECT function, {b} AS b, {value} AS v, \
         if(v > {zero:?}, toInt64(floor(log(v) / {base:?})), toInt64(-2147483648)) AS k \
         FROM {rows} AND {cond}",
        b = by.sql("t"),
        zero = Sketch::zero_bound(),
        base = Sketch::bin_log_base(),
    );
    // One row per (function, bucket) with its bins as arrays: a fraction of the bytes and rows
    // of one row per bin (a sealed day is about 3 M bins).
    let rows = s.select(&format!(
        "SELECT function, b, groupArray(k) AS ks, groupArray(n) AS ns, groupArray(lo) AS los, \
         groupArray(hi) AS his, groupArray(sum) AS sums FROM (SELECT function, b, k, \
         count() AS n, min(v) AS lo, max(v) AS hi, sum(v) AS sum FROM ({inner}) \
         GROUP BY function, b, k) GROUP BY function, b"
    ))?;
    for r in &rows {
        let function = r.str("function")?;
        let b = r.i64("b")?;
        let [ks, ns, los, his, sums] = ["ks", "ns", "los", "his", "sums"].map(|c| array(r, c));
        let (ks, ns, los, his, sums) = (ks?, ns?, los?, his?, sums?);
        if [ns.len(), los.len(), his.len(), sums.len()] != [ks.len(); 4] {
            return Err(StoreError::Corrupt(format!(
                "sketch bins of {function:?} at {b}: arrays of different lengths"
            )));
        }
        let num = |v: &Value, what: &str| {
            v.as_f64().ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "sketch bins of {function:?}: {what} is not a number"
                ))
            })
        };
        let a = out.entry((function.clone(), by.start(b))).or_default();
        for i in 0..ks.len() {
            let (lo, hi) = (num(&los[i], "lo")?, num(&his[i], "hi")?);
            let n = num(&ns[i], "n")? as u64;
            let (bin_lo, bin_hi) = (Sketch::bin_of(lo), Sketch::bin_of(hi));
            let bins = if init { &mut a.init } else { &mut a.duration };
            if bin_lo == bin_hi {
                bins.add(bin_lo, n, lo, hi, num(&sums[i], "sum")?);
                continue;
            }
            // ClickHouse's logarithm put values of two Rust bins together: count them one by
            // one.
            let k = ks[i].as_i64().ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "sketch bins of {function:?}: a bin is not a number"
                ))
            })?;
            let values = s.select(&format!(
                "SELECT v, count() AS n FROM ({inner}) WHERE function = {} AND b = {b} \
                 AND k = {k} GROUP BY v",
                super::rows::lit(&function),
            ))?;
            for v in &values {
                let x = v.f64("v")?;
                let n = v.u64("n")?;
                bins.add(Sketch::bin_of(x), n, x, x, x * n as f64);
            }
        }
    }
    Ok(())
}

/// An array column of a row.
fn array<'a>(r: &'a Row, col: &str) -> Result<&'a Vec<Value>, StoreError> {
    match r.map().get(col) {
        Some(Value::Array(a)) => Ok(a),
        _ => Err(StoreError::Corrupt(format!("column {col} is not an array"))),
    }
}

fn stream_volume(
    s: &ClickHouseStore,
    out: &mut Aggs,
    rows: &str,
    by: By,
) -> Result<(), StoreError> {
    let rows = s.select(&format!(
        "SELECT function, {} AS b, count() AS n, sum(length(message)) AS bytes \
         FROM {rows} GROUP BY function, b",
        by.sql("chunk_t")
    ))?;
    for r in &rows {
        let a = out
            .entry((r.str("function")?, by.start(r.i64("b")?)))
            .or_default();
        a.rollup.log_lines += r.i64("n")?;
        a.rollup.log_bytes += r.i64("bytes")?;
    }
    Ok(())
}

/// Whole compacted hours inside `[from, to)` that survived rollup retention.
pub(super) fn compacted_hours(
    s: &ClickHouseStore,
    c: &Cutoffs,
    out: &mut Aggs,
    functions: Option<&[String]>,
    from: Option<i64>,
    to: Option<i64>,
    by: By,
) -> Result<(), StoreError> {
    let Some(w) = c.compacted else {
        return Ok(());
    };
    let lo = from.map(|f| crate::sqlite::rollup::ceil_to(f, HOUR_MS));
    if lo.is_some_and(|l| l >= w) {
        return Ok(());
    }
    let rows = s.select(&format!(
        "SELECT * FROM rollups FINAL WHERE hour < {w} AND {}",
        where_sql("hour", lo, None, functions)
    ))?;
    for r in &rows {
        let hour = r.i64("hour")?;
        if to.is_some_and(|t| hour + HOUR_MS > t) || !super::rows::bucket_kept(c, hour) {
            continue;
        }
        let rollup = super::rows::read_rollup(r)?;
        let a = out
            .entry((r.str("function")?, by.start_of(hour)))
            .or_default();
        a.rollup.merge_scalars(&rollup);
        let m = a.months.entry(month_of(hour)).or_default();
        m.0 += rollup.invocations();
        m.1 += rollup.gb_seconds;
        a.pending.push(rollup);
    }
    Ok(())
}

impl Agg {
    /// Add another aggregate of raw rows (one with no compacted hours pending): what one
    /// aggregate of both sets of rows would be.
    pub(super) fn absorb(&mut self, o: &Agg) {
        self.rollup.merge_scalars(&o.rollup);
        for (m, (n, gb)) in &o.months {
            let e = self.months.entry(*m).or_default();
            e.0 += n;
            e.1 += gb;
        }
        self.environments += o.environments;
        self.duration.absorb(&o.duration);
        self.init.absorb(&o.init);
        self.pending.extend(o.pending.iter().cloned());
    }

    /// The final rollup: scalars plus the sketches from bins and compacted hours.
    pub(super) fn finish(mut self) -> Result<(Rollup, Months, u64), StoreError> {
        self.rollup.duration = self.duration.sketch("duration")?;
        self.rollup.init = self.init.sketch("init")?;
        for h in &self.pending {
            self.rollup
                .duration
                .merge(&h.duration)
                .map_err(|e| StoreError::Corrupt(format!("duration sketch: {e}")))?;
            self.rollup
                .init
                .merge(&h.init)
                .map_err(|e| StoreError::Corrupt(format!("init sketch: {e}")))?;
        }
        Ok((self.rollup, self.months, self.environments))
    }
}
