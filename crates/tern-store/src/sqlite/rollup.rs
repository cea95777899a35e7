//! What one completed invocation contributes to its function's statistics, and the per-bucket
//! aggregate (`Rollup`) that rollup tables store and queries merge.

use tern_core::model::{InvocationPart, Outcome, ReportMetrics};
use tern_core::sketch::Sketch;

use crate::StoreError;

pub(crate) const HOUR_MS: i64 = 3_600_000;
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Invocations longer than this count in `over_20s`.
const OVER_MS: f64 = 20_000.0;

pub(crate) fn floor_to(t: i64, unit: i64) -> i64 {
    t.div_euclid(unit) * unit
}

/// Smallest multiple of `unit` ≥ `t`, saturating.
pub(crate) fn ceil_to(t: i64, unit: i64) -> i64 {
    let f = floor_to(t, unit);
    if f == t {
        t
    } else {
        f.saturating_add(unit)
    }
}

/// `YYYYMM` of a UTC epoch-ms time (proleptic Gregorian, Howard Hinnant's algorithm).
pub(crate) fn month_of(t_ms: i64) -> u32 {
    let z = t_ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year.clamp(0, 400_000) * 100 + month) as u32
}

/// Billed ms of one invocation: Billed Duration plus Billed Restore Duration.
pub(crate) fn billed_ms(billed: Option<f64>, billed_restore: Option<f64>) -> f64 {
    finite(billed.unwrap_or(0.0)) + finite(billed_restore.unwrap_or(0.0))
}

/// Billed GB-seconds: billed ms / 1000 × memory MB / 1024.
pub(crate) fn gb_seconds(billed_ms: f64, memory_mb: Option<u32>) -> f64 {
    billed_ms / 1000.0 * f64::from(memory_mb.unwrap_or(0)) / 1024.0
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// What one completed invocation adds to its function's rollups.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Contribution {
    /// The time the invocation belongs to (REPORT time, else start).
    pub t: i64,
    pub outcome: Outcome,
    pub cold: bool,
    pub duration_ms: f64,
    pub billed_ms: f64,
    pub memory_mb: Option<u32>,
    pub max_memory_mb: Option<u32>,
    pub init_ms: Option<f64>,
    /// The version it ran (`sizes`); `None` when unknown, or where it does not matter.
    pub version: Option<String>,
}

impl Contribution {
    /// `None` while the invocation has no REPORT.
    pub fn of(part: &InvocationPart, t: i64) -> Option<Contribution> {
        let r: &ReportMetrics = part.report.as_ref()?;
        Some(Contribution {
            t,
            outcome: part.outcome(),
            cold: part.is_cold(),
            duration_ms: r.duration_ms,
            billed_ms: billed_ms(r.billed_duration_ms, r.billed_restore_duration_ms),
            memory_mb: r.memory_size_mb,
            max_memory_mb: r.max_memory_used_mb,
            init_ms: part.init_duration_ms(),
            version: part.version.clone().filter(|v| !v.is_empty()),
        })
    }
}

/// Sums for one function over one bucket (or, at query time, over any set of buckets).
/// Counts are signed so a batch can carry negative deltas (an outcome that moved).
#[derive(Debug, Clone, Default)]
pub(crate) struct Rollup {
    pub outcomes: [i64; 6],
    pub cold_starts: i64,
    /// Cold starts that did not succeed (the per-size statistics' warm successful count).
    pub cold_failures: i64,
    pub over_20s: i64,
    pub billed_ms: f64,
    pub gb_seconds: f64,
    pub max_memory_used_mb: Option<u32>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// (time, Memory Size) of the latest invocation.
    pub latest_memory: Option<(i64, u32)>,
    pub duration: Sketch,
    pub init: Sketch,
    /// Log lines stored in the bucket and their message bytes (see `schema::V4`).
    pub log_lines: i64,
    pub log_bytes: i64,
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl Rollup {
    pub fn invocations(&self) -> i64 {
        self.outcomes.iter().sum()
    }

    /// Count one completed invocation.
    pub fn add(&mut self, c: &Contribution) {
        self.outcomes[c.outcome.code() as usize] += 1;
        self.cold_starts += i64::from(c.cold);
        self.cold_failures += i64::from(c.cold && c.outcome != Outcome::Success);
        self.over_20s += i64::from(c.duration_ms > OVER_MS);
        self.billed_ms += c.billed_ms;
        self.gb_seconds += gb_seconds(c.billed_ms, c.memory_mb);
        self.max_memory_used_mb = max_opt(self.max_memory_used_mb, c.max_memory_mb);
        self.first_ms = min_opt(self.first_ms, Some(c.t));
        self.last_ms = max_opt(self.last_ms, Some(c.t));
        if let Some(m) = c.memory_mb {
            self.latest_memory = max_opt(self.latest_memory, Some((c.t, m)));
        }
        self.duration.add(c.duration_ms);
        if c.cold {
            if let Some(i) = c.init_ms {
                self.init.add(i);
            }
        }
    }

    /// An invocation already counted learned something that moves it: a more severe outcome,
    /// cold-start evidence, an init duration. Duration, billing and memory come from the
    /// REPORT, which never changes once stored.
    pub fn change(&mut self, old: &Contribution, new: &Contribution) {
        if old.outcome != new.outcome {
            self.outcomes[old.outcome.code() as usize] -= 1;
            self.outcomes[new.outcome.code() as usize] += 1;
        }
        self.cold_starts += i64::from(new.cold) - i64::from(old.cold);
        self.cold_failures += i64::from(new.cold && new.outcome != Outcome::Success)
            - i64::from(old.cold && old.outcome != Outcome::Success);
        let old_init = old.init_ms.filter(|_| old.cold);
        let new_init = new.init_ms.filter(|_| new.cold);
        if old_init.is_none() {
            if let Some(i) = new_init {
                // A sketch cannot forget a value, so an init duration is added once, when it
                // first appears.
                self.init.add(i);
            }
        }
    }

    /// Merge everything but the sketches.
    pub fn merge_scalars(&mut self, o: &Rollup) {
        for (a, b) in self.outcomes.iter_mut().zip(o.outcomes) {
            *a += b;
        }
        self.cold_starts += o.cold_starts;
        self.cold_failures += o.cold_failures;
        self.over_20s += o.over_20s;
        self.billed_ms += o.billed_ms;
        self.gb_seconds += o.gb_seconds;
        self.max_memory_used_mb = max_opt(self.max_memory_used_mb, o.max_memory_used_mb);
        self.first_ms = min_opt(self.first_ms, o.first_ms);
        self.last_ms = max_opt(self.last_ms, o.last_ms);
        self.latest_memory = max_opt(self.latest_memory, o.latest_memory);
        self.log_lines += o.log_lines;
        self.log_bytes += o.log_bytes;
    }

    /// Lines stored (or, negative, lines moved out of the bucket).
    pub fn add_volume(&mut self, v: Volume) {
        self.log_lines += v.lines;
        self.log_bytes += v.bytes;
    }

    pub fn merge(&mut self, o: &Rollup) -> Result<(), StoreError> {
        self.merge_scalars(o);
        self.duration
            .merge(&o.duration)
            .map_err(|e| StoreError::Corrupt(format!("duration sketch: {e}")))?;
        self.init
            .merge(&o.init)
            .map_err(|e| StoreError::Corrupt(format!("init sketch: {e}")))?;
        Ok(())
    }
}

/// Log volume: a number of lines and their message bytes (UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Volume {
    pub lines: i64,
    pub bytes: i64,
}

impl Volume {
    pub fn of(lines: &[tern_core::model::LogLine]) -> Volume {
        Volume {
            lines: lines.len() as i64,
            bytes: lines.iter().map(|l| l.message.len() as i64).sum(),
        }
    }

    pub fn is_zero(self) -> bool {
        self.lines == 0 && self.bytes == 0
    }
}

/// Encode a sketch for a rollup row: NULL when empty, which keeps reads of idle buckets free.
pub(crate) fn encode_sketch(s: &Sketch) -> Option<Vec<u8>> {
    (s.count() > 0).then(|| s.encode())
}

pub(crate) fn decode_sketch(b: Option<&[u8]>, what: &str) -> Result<Sketch, StoreError> {
    match b {
        None => Ok(Sketch::new()),
        Some(b) => {
            Sketch::decode(b).map_err(|e| StoreError::Corrupt(format!("{what} sketch: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_buckets() {
        assert_eq!(month_of(0), 197001);
        // 2026-01-31T23:59:59.999Z and 2026-02-01T00:00:00Z
        assert_eq!(month_of(1_769_903_999_999), 202601);
        assert_eq!(month_of(1_769_904_000_000), 202602);
        // 2024-02-29T12:00:00Z
        assert_eq!(month_of(1_709_208_000_000), 202402);
        assert_eq!(month_of(-1), 196912);
        assert_eq!(floor_to(-1, HOUR_MS), -HOUR_MS);
        assert_eq!(ceil_to(1, HOUR_MS), HOUR_MS);
        assert_eq!(ceil_to(HOUR_MS, HOUR_MS), HOUR_MS);
        assert_eq!(ceil_to(i64::MAX, DAY_MS), i64::MAX);
    }
}
