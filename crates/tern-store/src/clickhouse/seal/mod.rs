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

mod envs;
mod read;
mod write;

pub(super) use envs::{env_counts, env_rows, env_summaries};
pub(super) use read::{
    edge_filter, raw_filter, read_sealed, sealed_bounds, sealed_counts, sealed_memory, split_edges,
};
pub(super) use write::{mark, reopen_sealed, seal};

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::rows::{date_of, lit, lits};
use super::ClickHouseStore;
use crate::sqlite::rollup::{DAY_MS, HOUR_MS};
use crate::StoreError;

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

/// The `day` values of rows about to be written.
pub(super) fn days_of<'a>(
    rows: impl IntoIterator<Item = &'a Map<String, Value>>,
) -> BTreeSet<String> {
    rows.into_iter()
        .filter_map(|r| r.get("day").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests;
