//! What the measurements say: per-size statistics and the optimum of each strategy. Pure:
//! no IO, no clocks.
//!
//! Speed is the p50 of the REPORT's `Duration` (plus the p50 `Init Duration` when every
//! invocation was a cold start), not an average: one slow outlier cannot move it. Cost is the
//! cost engine's price of one invocation at the trimmed mean of `Billed Duration`, request fee
//! included, at the region's and architecture's list price (nothing rounded).

use tern_core::cost;
use tern_store::{Arch, TuningPoint};

/// The share of samples dropped at each end for the trimmed mean.
pub const TRIM: f64 = 0.1;

/// What one invocation's REPORT said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub duration_ms: f64,
    pub billed_ms: f64,
    pub init_ms: Option<f64>,
    pub max_memory_used_mb: Option<u32>,
}

/// Nearest-rank percentile of sorted values (`q` in [0, 1]); `None` when empty.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let q = if q.is_finite() {
        q.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .copied()
}

/// The mean of sorted values without ⌊n·TRIM⌋ at each end; `None` when empty.
pub fn trimmed_mean(sorted: &[f64]) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let cut = (sorted.len() as f64 * TRIM).floor() as usize;
    let kept = &sorted[cut..sorted.len() - cut];
    if kept.is_empty() {
        return None;
    }
    Some(kept.iter().sum::<f64>() / kept.len() as f64)
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The outcome of one memory size.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub samples: Vec<Sample>,
    pub errors: u32,
    /// Why the size failed, or the first invocation error.
    pub error: Option<String>,
}

/// One size's point: statistics over the successful invocations.
pub fn summarize(memory_mb: u32, arch: Arch, region: &str, m: &Measured) -> TuningPoint {
    let durations = sorted(m.samples.iter().map(|s| s.duration_ms));
    let billed = sorted(m.samples.iter().map(|s| s.billed_ms));
    let inits = sorted(m.samples.iter().filter_map(|s| s.init_ms));
    let billed_mean = trimmed_mean(&billed);
    TuningPoint {
        memory_mb,
        arch,
        invocations: m.samples.len() as u32,
        errors: m.errors,
        cold_starts: inits.len() as u32,
        p50_ms: percentile(&durations, 0.5),
        p95_ms: percentile(&durations, 0.95),
        p99_ms: percentile(&durations, 0.99),
        trimmed_mean_ms: trimmed_mean(&durations),
        billed_mean_ms: billed_mean,
        init_p50_ms: percentile(&inits, 0.5),
        max_memory_used_mb: m.samples.iter().filter_map(|s| s.max_memory_used_mb).max(),
        cost_usd: billed_mean.map(|b| cost::invocation_cost(b, f64::from(memory_mb), arch, region)),
        error: m.error.clone(),
    }
}

/// How to choose among the sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// Cheapest per invocation; ties go to the faster.
    Cost,
    /// Fastest p50; ties go to the cheaper.
    Speed,
    /// Minimise `w·cost/max cost + (1−w)·speed/max speed`, `w` in [0, 1] (1 is cost).
    Balanced(f64),
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Cost => "cost",
            Strategy::Speed => "speed",
            Strategy::Balanced(_) => "balanced",
        }
    }
}

/// The speed metric of a point (see the module docs).
pub fn speed_ms(p: &TuningPoint, cold_starts_only: bool) -> Option<f64> {
    let d = p.p50_ms?;
    Some(if cold_starts_only {
        d + p.init_p50_ms.unwrap_or(0.0)
    } else {
        d
    })
}

/// A point is eligible when it measured something and nothing failed: a size where the
/// function errs (out of memory at 128 MB, say) is not a candidate, whatever its numbers.
pub fn eligible(p: &TuningPoint) -> bool {
    p.errors == 0 && p.invocations > 0 && p.p50_ms.is_some() && p.cost_usd.is_some()
}

/// The index of the optimum among `points`, or `None` when no point is eligible.
pub fn optimum(
    points: &[TuningPoint],
    strategy: Strategy,
    cold_starts_only: bool,
) -> Option<usize> {
    let cands: Vec<(usize, f64, f64)> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| eligible(p))
        .filter_map(|(i, p)| Some((i, p.cost_usd?, speed_ms(p, cold_starts_only)?)))
        .collect();
    let max_cost = cands.iter().map(|c| c.1).fold(0.0, f64::max);
    let max_speed = cands.iter().map(|c| c.2).fold(0.0, f64::max);
    let norm = |v: f64, max: f64| if max > 0.0 { v / max } else { 0.0 };
    let key = |&(_, c, s): &(usize, f64, f64)| -> (f64, f64) {
        match strategy {
            Strategy::Cost => (c, s),
            Strategy::Speed => (s, c),
            Strategy::Balanced(w) => {
                let w = if w.is_finite() {
                    w.clamp(0.0, 1.0)
                } else {
                    0.5
                };
                // Ties go to the faster, as with `Cost`.
                (w * norm(c, max_cost) + (1.0 - w) * norm(s, max_speed), s)
            }
        }
    };
    cands
        .iter()
        .min_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        })
        .map(|c| c.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&v, 0.95), Some(10.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7.0], f64::NAN), Some(7.0));
    }

    #[test]
    fn trimmed_mean_drops_a_tenth_at_each_end() {
        // 10 values: the cold start (1000) and the fastest are dropped.
        let mut v: Vec<f64> = vec![1000.0, 1.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0];
        v.sort_by(f64::total_cmp);
        assert_eq!(trimmed_mean(&v), Some(10.0));
        // Fewer than 10: nothing to drop.
        assert_eq!(trimmed_mean(&[1.0, 3.0]), Some(2.0));
        assert_eq!(trimmed_mean(&[]), None);
    }

    fn point(mem: u32, p50: f64, cost: f64) -> TuningPoint {
        TuningPoint {
            memory_mb: mem,
            arch: Arch::X86_64,
            invocations: 10,
            errors: 0,
            cold_starts: 0,
            p50_ms: Some(p50),
            p95_ms: Some(p50),
            p99_ms: Some(p50),
            trimmed_mean_ms: Some(p50),
            billed_mean_ms: Some(p50),
            init_p50_ms: Some(100.0),
            max_memory_used_mb: None,
            cost_usd: Some(cost),
            error: None,
        }
    }

    #[test]
    fn strategies_pick_their_optimum_and_break_ties() {
        let pts = vec![
            point(128, 1000.0, 2.0),
            point(256, 500.0, 2.0),
            point(512, 260.0, 2.2),
            point(1024, 250.0, 4.0),
        ];
        // Equal cost: the faster wins (Power Tuning issue #60).
        assert_eq!(optimum(&pts, Strategy::Cost, false), Some(1));
        assert_eq!(optimum(&pts, Strategy::Speed, false), Some(3));
        assert_eq!(optimum(&pts, Strategy::Balanced(0.5), false), Some(2));
        assert_eq!(optimum(&pts, Strategy::Balanced(1.0), false), Some(1));
        assert_eq!(optimum(&pts, Strategy::Balanced(0.0), false), Some(3));
    }

    #[test]
    fn failed_sizes_are_never_the_optimum() {
        let mut pts = vec![point(128, 1000.0, 1.0), point(256, 500.0, 2.0)];
        pts[0].errors = 1;
        assert_eq!(optimum(&pts, Strategy::Cost, false), Some(1));
        pts[1].invocations = 0;
        pts[1].p50_ms = None;
        assert_eq!(optimum(&pts, Strategy::Cost, false), None);
    }

    #[test]
    fn summary_prices_the_trimmed_billed_mean_with_the_request_fee() {
        let m = Measured {
            samples: (0..10)
                .map(|i| Sample {
                    duration_ms: 99.5 + f64::from(i),
                    billed_ms: 100.0 + f64::from(i),
                    init_ms: (i == 0).then_some(150.0),
                    max_memory_used_mb: Some(60 + i),
                })
                .collect(),
            errors: 0,
            error: None,
        };
        let p = summarize(1024, Arch::Arm64, "us-east-1", &m);
        assert_eq!(p.invocations, 10);
        assert_eq!(p.cold_starts, 1);
        assert_eq!(p.p50_ms, Some(103.5));
        assert_eq!(p.billed_mean_ms, Some(104.5));
        assert_eq!(p.max_memory_used_mb, Some(69));
        let want = 0.1045 * 1.0 * 0.000_013_333_4 + 0.2e-6;
        assert!((p.cost_usd.unwrap() - want).abs() < 1e-15);
    }
}
