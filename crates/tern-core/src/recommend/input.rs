//! What the recommender is given: invocations, sizes measured by tuning, and per-size
//! summaries over a range.

use super::stats::Interval;
use super::{fit, stats};
use crate::model::{Arch, Outcome};

/// One invocation as the recommender sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// When it ended (REPORT time), epoch ms.
    pub at_ms: i64,
    pub memory_mb: u32,
    pub arch: Arch,
    /// `$LATEST` or a published version; `None` when the logs did not say.
    pub version: Option<String>,
    pub duration_ms: f64,
    pub billed_ms: f64,
    pub max_memory_used_mb: Option<u32>,
    /// Init Duration of a cold start.
    pub init_ms: Option<f64>,
    pub cold: bool,
    pub outcome: Outcome,
}

/// A size measured by active tuning (`tern tune`): statistics of deliberate invocations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredPoint {
    pub memory_mb: u32,
    pub arch: Arch,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
    pub invocations: u64,
}

/// Everything known about one function.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunctionInput {
    pub function: String,
    pub region: String,
    /// The function's architecture now.
    pub arch: Arch,
    pub runtime: Option<String>,
    /// In any order.
    pub observations: Vec<Observation>,
    pub measured: Vec<MeasuredPoint>,
    /// Invocations per 30-day month at the observed rate.
    pub monthly_invocations: f64,
    /// The function's change points (the store's values seen, the same ones `tern
    /// compare` judges), oldest first; empty when unknown. Memory-size changes inside the
    /// analysed version are the natural experiment; other changes inside it confound it.
    pub changes: Vec<crate::impact::Change>,
    /// The function's timeout, ms; `None` when unknown (then the longest timed-out invocation
    /// stands in for it).
    pub timeout_ms: Option<f64>,
    /// Sizes known only by their summary over a range (per version, memory size and
    /// architecture), in any order: without observations, the summary seen last (`last_ms`;
    /// on a tie, the later in the list) gives the version analysed and the current size.
    pub summaries: Vec<SizeSummary>,
}

/// One size's invocations summarised over a range: counts, and the quantiles read from the
/// range's duration sketch. [`recommend`](super::recommend) builds the same [`SizeGroup`](super::SizeGroup) from it as from the
/// invocations themselves, so that a surface holding only summaries gives the same advice.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeSummary {
    pub memory_mb: u32,
    pub arch: Arch,
    /// The version these invocations ran (`None` when the logs did not say): [`recommend`](super::recommend)
    /// analyses the latest version only, as it does with invocations.
    pub version: Option<String>,
    pub invocations: u64,
    /// Warm successful invocations: every invocation less the cold starts and the failures.
    pub warm_successful: u64,
    pub cold_starts: u64,
    pub timeouts: u64,
    pub oom_kills: u64,
    /// Latency quantiles with their order-statistic intervals, read from the sketch.
    pub p50: Interval,
    pub p95: Interval,
    pub p99: Interval,
    /// Duration quantiles (init left out), as the duration model reads them.
    pub warm_p50_ms: f64,
    pub warm_p95_ms: f64,
    pub mean_ms: f64,
    /// Mean billed ms over every invocation, with its t interval.
    pub billed: Interval,
    pub init_mean_ms: Option<f64>,
    pub init_p50_ms: Option<f64>,
    /// Billed ms per invocation that is init time (0 when billed durations leave init out).
    pub init_billed_ms: f64,
    pub max_used_mb: Option<u32>,
    /// The longest duration when some invocations timed out: they ran until the timeout.
    pub longest_timeout_ms: Option<f64>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

/// The most values [`SizeSummary::from_sketches`] reads back from a sketch.
pub const SAMPLE: u64 = 5_000;

/// What a summary of one size holds besides its sketches.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SummaryCounts {
    pub memory_mb: u32,
    pub arch: Arch,
    pub invocations: u64,
    /// Invocations that did not succeed (timeouts and out-of-memory kills included).
    pub errors: u64,
    pub cold_starts: u64,
    /// Cold starts that did not succeed (counted in both `errors` and `cold_starts`).
    pub cold_failures: u64,
    pub timeouts: u64,
    pub oom_kills: u64,
    /// Σ billed ms over every invocation.
    pub billed_total_ms: f64,
    pub max_used_mb: Option<u32>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

impl SizeSummary {
    /// The summary of one size from its counts and its duration and init sketches.
    ///
    /// The sketches are read back as a sample: the value at each mid-rank of the duration
    /// sketch, and for the share of cold starts the duration plus the init time at the same
    /// rank, so that latency includes a cold start's init as it does from invocations. Each
    /// value is within 1% of the true one (DDSketch's relative accuracy). The sketch holds
    /// every invocation's duration: it cannot tell the warm successful ones apart.
    ///
    /// Quantile intervals are the distribution-free order-statistic ones: the q quantile of n
    /// values lies between the values of ranks `n·q ∓ z·√(n·q·(1−q))`, read at those ranks
    /// (exactly as from invocations up to [`SAMPLE`] values; above, at the same fractions of
    /// a sample of that size). The billed mean's interval takes the spread of the sample, with
    /// init time added to cold starts when it is billed.
    pub fn from_sketches(
        c: SummaryCounts,
        duration: &crate::sketch::Sketch,
        init: &crate::sketch::Sketch,
    ) -> SizeSummary {
        let n = duration.count();
        let mean = duration.mean().unwrap_or(0.0);
        let init_total = init.sum();
        // Since INIT billing, a cold start's billed time includes its init: the billed total
        // is then above the durations' total by at least half the init total.
        let init_billed =
            init_total > 0.0 && c.billed_total_ms - duration.sum() >= 0.5 * init_total;
        let m = usize::try_from(n.min(SAMPLE)).unwrap_or(0);
        let cold_share = if c.invocations > 0 {
            (c.cold_starts as f64 / c.invocations as f64).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mc = ((cold_share * m as f64).round() as usize).min(m);
        let mw = m - mc;
        let read = |s: &crate::sketch::Sketch, k: usize, of: usize| -> f64 {
            s.quantile((k as f64 + 0.5) / of.max(1) as f64)
                .unwrap_or(0.0)
        };
        let with_init = init.count() > 0;
        // Warm and cold parts; a cold start pairs the duration and init of the same rank.
        let mut latency: Vec<f64> = (0..mw).map(|k| read(duration, k, mw)).collect();
        let mut billed_sample: Vec<f64> = latency.clone();
        for k in 0..mc {
            let d = read(duration, k, mc);
            let i = if with_init { read(init, k, mc) } else { 0.0 };
            latency.push(d + i);
            billed_sample.push(if init_billed { d + i } else { d });
        }
        latency.sort_by(f64::total_cmp);
        let q_ci = |q: f64| -> Interval {
            if m as u64 == n {
                return stats::quantile_ci(&latency, q)
                    .unwrap_or_else(|| Interval::exact(duration.quantile(q).unwrap_or(0.0)));
            }
            let nf = n as f64;
            let at = |fraction: f64| -> f64 {
                let i = ((fraction * m as f64).floor() as usize).min(m.saturating_sub(1));
                latency.get(i).copied().unwrap_or(0.0)
            };
            let half = stats::Z95 * (nf * q * (1.0 - q)).sqrt();
            let (lo, hi) = ((nf * q - half).floor(), (nf * q + half).ceil());
            let first = latency.first().copied().unwrap_or(0.0);
            let last = latency.last().copied().unwrap_or(0.0);
            Interval::new(
                fit::quantile(&latency, q).unwrap_or(0.0),
                if lo < 1.0 { first } else { at(lo / nf) },
                if hi > nf { last } else { at(hi / nf) },
            )
        };
        let inv = c.invocations.max(n).max(1) as f64;
        let billed_mean = if c.billed_total_ms.is_finite() && c.billed_total_ms > 0.0 {
            c.billed_total_ms / inv
        } else {
            mean
        };
        let sd = if billed_sample.len() >= 2 {
            let k = billed_sample.len() as f64;
            let mu = billed_sample.iter().sum::<f64>() / k;
            (billed_sample.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (k - 1.0)).sqrt()
        } else {
            mean
        };
        let billed = if c.invocations >= 2 {
            let half = stats::t95(inv - 1.0) * sd / inv.sqrt();
            Interval::new(billed_mean, billed_mean - half, billed_mean + half)
        } else {
            Interval::new(billed_mean, 0.0, 2.0 * billed_mean)
        };
        let init_mean_ms = init.mean();
        SizeSummary {
            memory_mb: c.memory_mb,
            arch: c.arch,
            version: None,
            invocations: c.invocations,
            warm_successful: c
                .invocations
                .saturating_sub(c.cold_starts)
                .saturating_sub(c.errors.saturating_sub(c.cold_failures)),
            cold_starts: c.cold_starts,
            timeouts: c.timeouts,
            oom_kills: c.oom_kills,
            p50: q_ci(0.5),
            p95: q_ci(0.95),
            p99: q_ci(0.99),
            warm_p50_ms: duration.quantile(0.5).unwrap_or(0.0),
            warm_p95_ms: duration.quantile(0.95).unwrap_or(0.0),
            mean_ms: mean,
            billed,
            init_mean_ms,
            init_p50_ms: init.quantile(0.5),
            init_billed_ms: if init_billed { init_total / inv } else { 0.0 },
            max_used_mb: c.max_used_mb,
            longest_timeout_ms: (c.timeouts > 0).then(|| duration.max()).flatten(),
            first_ms: c.first_ms,
            last_ms: c.last_ms,
        }
    }
}
