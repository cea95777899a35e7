//! Memory recommendations from logs alone (`tern recommend`).
//!
//! Every REPORT carries the memory size, so a function that ran at several sizes within one
//! code version is a natural experiment. Measured beats modelled:
//!
//! - **Measured sizes.** A size with at least [`Settings::min_samples`] warm successful
//!   invocations (and the current size, whatever its count) is described by its own figures:
//!   p50, p95 and p99 latency (cold starts include their init time) with order-statistic
//!   intervals, and the mean billed duration over every invocation (INIT billing, failures and
//!   rounding included, as AWS reports it) with a t interval ([`stats`]).
//! - **Between measured sizes**, each figure is interpolated linearly in log(figure) against
//!   log(memory) between the two neighbours. That passes through the measurements and can
//!   follow any speed-up, super-linear ones included; the interval widens towards the middle
//!   of the gap because the curve may bend there.
//! - **Beyond the measured sizes** the duration model ([`fit`]: `a + b/CPU share`, or the
//!   single-size lean) extrapolates from the nearest measured size, labelled `estimated`, with
//!   bounds from fully I/O-bound (flat) to fully CPU-bound (duration ∝ 1 / memory, threads
//!   included) and, when two sizes were measured, the measured slope carried on. Two measured
//!   sizes at or above one vCPU where the larger is measurably faster contradict the model (the
//!   work is multi-threaded): above them the measured slope, at most proportional to memory,
//!   is the estimate. Init time is
//!   modelled as a quarter fixed and three quarters CPU work, weighted by the nearest measured
//!   cold-start rate.
//!
//! The decision rules, in order:
//!
//! 1. **Hard limits.** No size below the memory floor (most used + headroom); no size at or
//!    below one where the function ran out of memory; no smaller size for a function that
//!    times out; no size whose p99 (upper end of its range) comes within
//!    [`Settings::timeout_margin`] of the timeout. When the current size itself breaks a
//!    limit, the advice is the best larger size known to keep it, or a measurement.
//! 2. **Never worse.** A size is only considered when its figure on the strategy's axis (cost,
//!    p95, or the balanced score) is better than the current size's measured one.
//! 3. **Minimum effect.** A change needs a gain of at least [`Settings::min_gain`] whose whole
//!    interval is above zero; a gain that rests on extrapolation needs twice that. Otherwise the
//!    advice is to keep, with the reason.
//! 4. **Ties go to the other axis.** Among the sizes within the uncertainty of the best on the
//!    strategy's axis (one standard error of the difference, 0.2% to 5%), measured sizes
//!    before modelled ones, then the fastest wins for cost and the cheapest for speed and
//!    balanced, each judged at the unfavourable end of its range. A size no worse than
//!    the current one on the strategy's axis and better by the minimum effect on the other
//!    axis is a change too (as fast, and cheaper).
//! 5. **Extrapolation is labelled**: its range is given and the `tern tune` command that would
//!    measure it. A change to a measured size names that command too when an unmeasured size's
//!    estimate beats it by the bar for extrapolation but its range does not, or when it is
//!    measurably cheaper than the measured size below it (the duration fell faster than
//!    memory grew): then the middle of the gap between them, which interpolation cannot see.
//!
//! The confidence is computed from the data: whether the sizes compared were measured,
//! interpolated or extrapolated, how many invocations they rest on, and how much of the gain
//! survives its interval.
//!
//! Pure: callers hand in invocations (and optional measured points from active tuning) and
//! the monthly invocation rate; every dollar figure comes from [`crate::cost`].
//!
//! Assumptions, stated once: durations do not grow with memory (the interpolation ranges rest
//! on it); the memory a function needs does not depend on its memory size.

mod decide;
pub mod fit;
pub mod stats;

use std::collections::BTreeMap;

use crate::cost::{self, CostOptions, Usage};
use crate::model::{Arch, Outcome};
pub use fit::{cpu_factor, Fit, FitPoint, VCPU_MB};
pub use stats::Interval;

/// Sizes considered, MB: the console's common choices, one vCPU (1,769 MB), the old 3,008 MB
/// maximum and the vCPU steps up to the 10,240 MB maximum. The current size is always added.
pub const CANDIDATES_MB: &[u32] = &[
    128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008, 4096, 5120, 6144, 8192, 10240,
];

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
/// range's duration sketch. [`recommend`] builds the same [`SizeGroup`] from it as from the
/// invocations themselves, so that a surface holding only summaries gives the same advice.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeSummary {
    pub memory_mb: u32,
    pub arch: Arch,
    /// The version these invocations ran (`None` when the logs did not say): [`recommend`]
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

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// The cheapest predicted monthly cost (ties: faster, then smaller).
    Cost,
    /// The fastest predicted p95 (ties: cheaper).
    Speed,
    /// Minimise `weight · cost / cost now + (1 − weight) · p95 / p95 now`: Power Tuning's
    /// weighted sum, measured against the current size so that the score of a size does not
    /// depend on which other sizes are considered ([`choose`] keeps Power Tuning's
    /// normalisation by the largest value).
    Balanced { weight: f64 },
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Cost => "cost",
            Strategy::Speed => "speed",
            Strategy::Balanced { .. } => "balanced",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub strategy: Strategy,
    /// Memory kept above the most ever used (0.2 = 20%).
    pub headroom: f64,
    /// Flag functions whose most memory used is at least this share of their size.
    pub near_limit: f64,
    /// Relative speed uncertainty of the other architecture when it was never observed.
    pub arch_speed_uncertainty: f64,
    /// Warm successful invocations a size needs before its own figures are used as measured.
    pub min_samples: u64,
    /// The smallest relative gain worth a change (0.05 = 5%); twice this when the gain rests
    /// on extrapolation.
    pub min_gain: f64,
    /// A size is ruled out when its p99 comes within this share of the timeout (0.1: above
    /// 90% of it).
    pub timeout_margin: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            strategy: Strategy::Balanced { weight: 0.5 },
            headroom: 0.2,
            near_limit: 0.9,
            arch_speed_uncertainty: 0.2,
            min_samples: 20,
            min_gain: 0.05,
            timeout_margin: 0.1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    /// Inside the range of sizes the function actually ran at (or was tuned at).
    Measured,
    /// A model's extrapolation, or bounds from a single size.
    Estimated,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Measured => "measured",
            Confidence::Estimated => "estimated",
        }
    }
}

/// Where a group's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Logs,
    Tuning,
}

/// What was observed at one size of the version being analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeGroup {
    pub memory_mb: u32,
    pub arch: Arch,
    pub source: Source,
    /// Every invocation at this size (tuning: the tuned invocations).
    pub invocations: u64,
    /// Warm successful invocations the statistics come from.
    pub samples: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub mean_ms: f64,
    /// Mean billed ms over every invocation (logs only; tuning: the mean).
    pub billed_mean_ms: f64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Latency of the successful and timed-out invocations (a cold start's init included).
    pub latency_p50: Interval,
    pub latency_p95: Interval,
    pub latency_p99: Interval,
    /// Mean billed ms over every invocation, with its interval.
    pub billed: Interval,
    /// Share of invocations that were cold starts.
    pub cold_rate: f64,
    pub init_mean_ms: Option<f64>,
    /// Billed ms per invocation that is init time (0 when billed durations leave init out).
    pub init_billed_ms: f64,
    pub timeouts: u64,
    pub oom_kills: u64,
}

/// Which end of the extrapolation bounds the evidence favours when no fit is possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lean {
    CpuBound,
    IoBound,
    Unclear,
}

impl Lean {
    pub fn as_str(self) -> &'static str {
        match self {
            Lean::CpuBound => "cpu_bound",
            Lean::IoBound => "io_bound",
            Lean::Unclear => "unclear",
        }
    }

    /// Share of the current duration assumed to scale with CPU for the point estimate.
    fn cpu_share(self) -> f64 {
        match self {
            Lean::CpuBound => 1.0,
            Lean::IoBound => 0.0,
            Lean::Unclear => 0.5,
        }
    }
}

/// The model used beyond the measured sizes.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// Fitted on two or more CPU shares of one version (logs and/or tuning).
    Fitted {
        p50: Fit,
        p95: Fit,
        mean: Fit,
        /// The smallest and largest size fitted on (the measured range is
        /// [`Recommendation::measured_range`]).
        min_mb: u32,
        max_mb: u32,
    },
    /// One CPU share only: bounds, and the favoured end as the estimate.
    SingleSize { lean: Lean },
}

/// Where a point's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Support {
    /// This size's own invocations.
    Measured,
    /// Between two measured sizes.
    Interpolated,
    /// The model, beyond the measured sizes.
    Extrapolated,
}

impl Support {
    pub fn as_str(self) -> &'static str {
        match self {
            Support::Measured => "measured",
            Support::Interpolated => "interpolated",
            Support::Extrapolated => "estimated",
        }
    }
}

/// The predicted figures at one size, with their intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    pub memory_mb: u32,
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Mean billed duration per invocation, ms (what the cost is computed from).
    pub billed_ms: f64,
    pub monthly_cost_usd: f64,
    /// Extrapolated: (fully CPU-bound, fully I/O-bound) figures; the estimate lies between.
    pub bounds: Option<Bounds>,
    /// `Measured` inside the measured range (interpolated included), `Estimated` outside.
    pub confidence: Confidence,
    pub support: Support,
    pub current: bool,
    /// Passes every hard limit (memory floor, out-of-memory sizes, timeout).
    pub allowed: bool,
    /// The hard limit it breaks, in words.
    pub limit: Option<String>,
    pub p50: Interval,
    pub p95: Interval,
    pub p99: Interval,
    pub billed: Interval,
    /// Monthly cost at the observed rate, from the billed interval.
    pub cost: Interval,
    /// Warm successful invocations the figures rest on (the fewer of two neighbours).
    pub samples: u64,
}

/// The two ends of an extrapolation: fully CPU-bound and fully I/O-bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub cpu_bound: Figures,
    pub io_bound: Figures,
}

impl Bounds {
    /// (low, high) of p50.
    pub fn p50_range(&self) -> (f64, f64) {
        minmax(self.cpu_bound.p50_ms, self.io_bound.p50_ms)
    }
    pub fn p95_range(&self) -> (f64, f64) {
        minmax(self.cpu_bound.p95_ms, self.io_bound.p95_ms)
    }
    pub fn cost_range(&self) -> (f64, f64) {
        minmax(
            self.cpu_bound.monthly_cost_usd,
            self.io_bound.monthly_cost_usd,
        )
    }
}

fn minmax(a: f64, b: f64) -> (f64, f64) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub billed_ms: f64,
    pub monthly_cost_usd: f64,
}

/// The memory floor and how close the function is to its limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    /// Never recommend below this.
    pub memory_mb: u32,
    /// Most memory used by an invocation that was not killed for running out of it.
    pub max_used_mb: u32,
    pub p999_used_mb: f64,
    pub headroom: f64,
    /// Out-of-memory kills (their Max Memory Used is the limit, not the need).
    pub oom_kills: u64,
    /// Most memory used (OOM kills included) is at least `near_limit` of the current size.
    pub near_limit: bool,
    /// The largest size at which the function ran out of memory: the floor is above it.
    pub oom_mb: Option<u32>,
}

/// The other architecture at the recommended size.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchAdvice {
    pub current: Arch,
    pub alternative: Arch,
    pub memory_mb: u32,
    /// Monthly cost on the current architecture at the recommended size.
    pub current_monthly_cost_usd: f64,
    /// Monthly cost on the alternative if its speed were the same.
    pub alternative_monthly_cost_usd: f64,
    /// (low, high) alternative cost over the speed range.
    pub alternative_cost_range_usd: (f64, f64),
    /// Alternative duration / current duration: (low, central, high).
    pub speed_ratio: (f64, f64, f64),
    pub confidence: Confidence,
    /// Price per GB-s, alternative / current (from the cost engine).
    pub price_ratio: f64,
}

/// One piece of evidence: a stable kind and a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub kind: &'static str,
    pub text: String,
}

fn ev(kind: &'static str, text: String) -> Evidence {
    Evidence { kind, text }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub function: String,
    pub region: String,
    pub arch: Arch,
    pub strategy: Strategy,
    /// The code version analysed (the latest seen).
    pub version: Option<String>,
    pub current_memory_mb: u32,
    pub recommended_memory_mb: u32,
    pub current: CurvePoint,
    pub recommended: CurvePoint,
    /// cost(current) − cost(recommended), per month, at the observed rate.
    pub monthly_saving_usd: f64,
    pub monthly_invocations: f64,
    pub confidence: Confidence,
    pub basis: Basis,
    /// The sizes of the analysed version, ascending.
    pub observed: Vec<SizeGroup>,
    pub floor: Floor,
    pub curve: Vec<CurvePoint>,
    pub architecture: ArchAdvice,
    pub evidence: Vec<Evidence>,
    /// False when the region's prices were not in the table.
    pub exact_prices: bool,
    pub decision: Decision,
    /// The gain on the strategy's axis (zero when keeping).
    pub gain: Gain,
    /// (low, high) of `monthly_saving_usd`.
    pub monthly_saving_range_usd: (f64, f64),
    pub certainty: Certainty,
    /// The smallest and largest measured size; figures between them are measured or
    /// interpolated.
    pub measured_range: Option<(u32, u32)>,
    /// The timeout the limits were checked against, ms (given, or inferred from timeouts).
    pub timeout_ms: Option<f64>,
    /// When the advice rests on a size not measured: the command that would measure it.
    pub tune_command: Option<String>,
    /// The decision in one sentence.
    pub summary: String,
}

impl Recommendation {
    /// The decision, the size and the saving, for surfaces that show only that.
    pub fn advice(&self) -> Advice {
        Advice {
            function: self.function.clone(),
            decision: self.decision.clone(),
            current_memory_mb: self.current_memory_mb,
            memory_mb: self.recommended_memory_mb,
            monthly_saving_usd: self.monthly_saving_usd,
            monthly_saving_range_usd: self.monthly_saving_range_usd,
            certainty: self.certainty,
            summary: self.summary.clone(),
            tune_command: self.tune_command.clone().unwrap_or_else(|| {
                // Keeping: measuring the smallest size the limits allow (or the next larger
                // one) is what could change the advice.
                let other = if self.recommended_memory_mb != self.current_memory_mb {
                    self.recommended_memory_mb
                } else {
                    self.curve
                        .iter()
                        .find(|p| p.allowed && p.memory_mb != self.current_memory_mb)
                        .map_or(self.current_memory_mb, |p| p.memory_mb)
                };
                tune_command(&self.function, &[self.current_memory_mb, other])
            }),
        }
    }
}

/// [`recommend`], reduced to what size and what saving: the one source of memory advice for
/// quick wins, insights and the dashboard.
pub fn advise(input: &FunctionInput, settings: &Settings) -> Result<Advice, Skip> {
    recommend(input, settings).map(|r| r.advice())
}

/// Change the memory size, or keep it and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Change,
    Keep { reason: String },
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Change => "change",
            Decision::Keep { .. } => "keep",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Decision::Change => None,
            Decision::Keep { reason } => Some(reason),
        }
    }
}

/// The relative gain of the recommended size over the current one on the strategy's axis
/// (0.25: 25% cheaper, faster, or lower score), with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gain {
    /// `cost`, `p95` or `balanced score`.
    pub axis: &'static str,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// How far the advice can be trusted, from 0 to 1, computed from the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Certainty {
    pub score: f64,
    /// `high` (≥ 0.75), `medium` (≥ 0.5) or `low`.
    pub label: &'static str,
}

impl Certainty {
    pub fn from_score(score: f64) -> Certainty {
        let score = if score.is_finite() {
            score.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let label = if score >= 0.75 {
            "high"
        } else if score >= 0.5 {
            "medium"
        } else {
            "low"
        };
        Certainty { score, label }
    }
}

/// What size and what saving, for every surface that shows memory advice.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    pub function: String,
    pub decision: Decision,
    pub current_memory_mb: u32,
    /// The size to run at: the current one when the decision is to keep.
    pub memory_mb: u32,
    pub monthly_saving_usd: f64,
    /// (low, high) of the monthly saving.
    pub monthly_saving_range_usd: (f64, f64),
    pub certainty: Certainty,
    /// The recommendation in one sentence.
    pub summary: String,
    /// The `tern tune` command that measures the size the advice rests on, or the size that
    /// could change it.
    pub tune_command: String,
}

/// The memory advice of a surface that holds only one summary per function over a range.
#[derive(Debug, Clone, PartialEq)]
pub enum SummaryAdvice {
    /// The function ran at one size in the range: the engine's advice for it.
    Advice(Advice),
    /// The function ran at several sizes in the range, which its summary cannot split.
    SeveralSizes { sizes: Vec<u32> },
    /// No advice could be made.
    Skipped(Skip),
}

impl SummaryAdvice {
    /// The advice, when there is one.
    pub fn advice(&self) -> Option<&Advice> {
        match self {
            SummaryAdvice::Advice(a) => Some(a),
            _ => None,
        }
    }

    /// What to tell a reader when there is no advice: one sentence.
    pub fn why_none(&self, function: &str) -> Option<String> {
        match self {
            SummaryAdvice::Advice(_) => None,
            SummaryAdvice::SeveralSizes { sizes } => {
                let list: Vec<String> = sizes.iter().map(u32::to_string).collect();
                Some(format!(
                    "it ran at several sizes in the range ({} MB): `tern recommend --function {}` \
                     compares them",
                    list.join(", "),
                    quote(function)
                ))
            }
            SummaryAdvice::Skipped(skip) => Some(format!("no memory advice: {}", skip.as_str())),
        }
    }
}

/// The advice for a function seen at one size over a range, from that size's summary: the
/// same decision, size and saving [`advise`] gives from the invocations.
pub fn advise_summary(
    input: &FunctionInput,
    summary: SizeSummary,
    settings: &Settings,
) -> SummaryAdvice {
    let input = FunctionInput {
        observations: Vec::new(),
        summaries: vec![summary],
        ..input.clone()
    };
    match advise(&input, settings) {
        Ok(a) => SummaryAdvice::Advice(a),
        Err(skip) => SummaryAdvice::Skipped(skip),
    }
}

/// Why no recommendation could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No invocation with a usable memory size and duration.
    NoData,
    /// Invocations, but none warm and successful to take durations from.
    NoWarmSuccess,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NoData => "no invocations with a memory size and duration",
            Skip::NoWarmSuccess => "no warm successful invocation to measure",
        }
    }
}

/// Monthly cost of `invocations` invocations of `billed_ms` each at `memory_mb`, priced by
/// the cost engine (first-tier volume of this function alone, no free tier). The second value
/// is false when the region fell back to us-east-1 prices.
pub fn monthly_cost(
    region: &str,
    arch: Arch,
    invocations: f64,
    billed_ms: f64,
    memory_mb: u32,
) -> (f64, bool) {
    let n = if invocations.is_finite() {
        invocations.max(0.0)
    } else {
        0.0
    };
    let billed = if billed_ms.is_finite() {
        billed_ms.max(0.0)
    } else {
        0.0
    };
    let usage = Usage {
        region: region.to_string(),
        arch,
        month: 0,
        requests: n.round() as u64,
        gb_seconds: n * cost::gb_seconds(billed, f64::from(memory_mb)),
    };
    let c = cost::price_usage(&[usage], CostOptions::default());
    c.first()
        .map_or((0.0, false), |c| (c.total(), c.exact_region))
}

/// The smallest candidate size that holds `max_used_mb` plus `headroom` (10,240 MB at most).
pub fn memory_floor(max_used_mb: f64, headroom: f64) -> u32 {
    let h = if headroom.is_finite() {
        headroom.max(0.0)
    } else {
        0.0
    };
    let need = if max_used_mb.is_finite() {
        max_used_mb.max(0.0) * (1.0 + h)
    } else {
        0.0
    };
    CANDIDATES_MB
        .iter()
        .copied()
        .find(|&c| f64::from(c) >= need)
        .unwrap_or(10_240)
}

/// What a strategy compares at one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrategyPoint {
    pub memory_mb: u32,
    pub p95_ms: f64,
    pub monthly_cost_usd: f64,
    pub allowed: bool,
}

fn tie(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// The index of the size `strategy` picks among the allowed points; `None` when none is
/// allowed. Deterministic: remaining ties go to the smaller size.
pub fn choose(points: &[StrategyPoint], strategy: Strategy) -> Option<usize> {
    let ok =
        |p: &StrategyPoint| p.allowed && p.p95_ms.is_finite() && p.monthly_cost_usd.is_finite();
    let max_cost = points
        .iter()
        .filter(|p| ok(p))
        .map(|p| p.monthly_cost_usd)
        .fold(0.0, f64::max);
    let max_p95 = points
        .iter()
        .filter(|p| ok(p))
        .map(|p| p.p95_ms)
        .fold(0.0, f64::max);
    let score = |p: &StrategyPoint| -> (f64, f64) {
        match strategy {
            Strategy::Cost => (p.monthly_cost_usd, p.p95_ms),
            Strategy::Speed => (p.p95_ms, p.monthly_cost_usd),
            Strategy::Balanced { weight } => {
                let w = if weight.is_finite() {
                    weight.clamp(0.0, 1.0)
                } else {
                    0.5
                };
                let c = if max_cost > 0.0 {
                    p.monthly_cost_usd / max_cost
                } else {
                    0.0
                };
                let d = if max_p95 > 0.0 {
                    p.p95_ms / max_p95
                } else {
                    0.0
                };
                (w * c + (1.0 - w) * d, p.monthly_cost_usd)
            }
        }
    };
    let mut best: Option<(usize, (f64, f64), u32)> = None;
    for (i, p) in points.iter().enumerate() {
        if !ok(p) {
            continue;
        }
        let s = score(p);
        let better = match &best {
            None => true,
            Some((_, b, m)) => {
                if !tie(s.0, b.0) {
                    s.0 < b.0
                } else if !tie(s.1, b.1) {
                    s.1 < b.1
                } else {
                    p.memory_mb < *m
                }
            }
        };
        if better {
            best = Some((i, s, p.memory_mb));
        }
    }
    best.map(|b| b.0)
}

struct Summary {
    p50: f64,
    p95: f64,
    p99: f64,
    mean: f64,
    n: usize,
}

fn summarize(mut d: Vec<f64>) -> Option<Summary> {
    d.retain(|x| x.is_finite() && *x >= 0.0);
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    let n = d.len();
    Some(Summary {
        p50: fit::quantile(&d, 0.5)?,
        p95: fit::quantile(&d, 0.95)?,
        p99: fit::quantile(&d, 0.99)?,
        mean: d.iter().sum::<f64>() / n as f64,
        n,
    })
}

fn usable(o: &Observation) -> bool {
    o.memory_mb > 0 && o.duration_ms.is_finite() && o.duration_ms >= 0.0
}

fn warm_ok(o: &Observation) -> bool {
    !o.cold && o.outcome == Outcome::Success
}

/// Groups of one version: per (memory, arch), from logs (invocations or summaries) and tuning.
fn groups(
    obs: &[&Observation],
    measured: &[MeasuredPoint],
    summaries: &[SizeSummary],
) -> Vec<SizeGroup> {
    let mut by: BTreeMap<(u32, Arch), Vec<&Observation>> = BTreeMap::new();
    for o in obs {
        by.entry((o.memory_mb, o.arch)).or_default().push(o);
    }
    let mut out = Vec::new();
    for ((memory_mb, arch), os) in by {
        let warm: Vec<f64> = os
            .iter()
            .filter(|o| warm_ok(o))
            .map(|o| o.duration_ms)
            .collect();
        let Some(s) = summarize(warm) else { continue };
        let init_of = |o: &Observation| {
            o.init_ms
                .filter(|i| o.cold && i.is_finite() && *i >= 0.0)
                .unwrap_or(0.0)
        };
        let mut latency: Vec<f64> = os
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Success | Outcome::Timeout))
            .map(|o| o.duration_ms + init_of(o))
            .filter(|d| d.is_finite())
            .collect();
        latency.sort_by(f64::total_cmp);
        let exact = |v: f64| Interval::exact(v);
        let lat = |q: f64, fallback: f64| {
            stats::quantile_ci(&latency, q).unwrap_or_else(|| exact(fallback))
        };
        let billed: Vec<f64> = os
            .iter()
            .map(|o| o.billed_ms)
            .filter(|b| b.is_finite() && *b >= 0.0)
            .collect();
        let billed_ci = stats::mean_ci(&billed).unwrap_or_else(|| exact(s.mean));
        let cold: Vec<&&Observation> = os.iter().filter(|o| o.cold).collect();
        let inits: Vec<(f64, f64)> = cold
            .iter()
            .filter_map(|o| {
                let i = o.init_ms.filter(|i| i.is_finite() && *i >= 0.0)?;
                o.billed_ms
                    .is_finite()
                    .then_some((i, o.billed_ms - o.duration_ms))
            })
            .collect();
        let init_mean_ms = (!inits.is_empty())
            .then(|| inits.iter().map(|i| i.0).sum::<f64>() / inits.len() as f64);
        // Since INIT billing, a cold start's billed time includes its init: tell from the logs.
        let init_billed = init_mean_ms.is_some_and(|m| {
            let extra = inits.iter().map(|i| i.1).sum::<f64>() / inits.len() as f64;
            extra >= 0.5 * m
        });
        let n = os.len().max(1) as f64;
        out.push(SizeGroup {
            memory_mb,
            arch,
            source: Source::Logs,
            invocations: os.len() as u64,
            samples: s.n as u64,
            p50_ms: s.p50,
            p95_ms: s.p95,
            mean_ms: s.mean,
            billed_mean_ms: billed_ci.value,
            first_ms: os.iter().map(|o| o.at_ms).min(),
            last_ms: os.iter().map(|o| o.at_ms).max(),
            latency_p50: lat(0.5, s.p50),
            latency_p95: lat(0.95, s.p95),
            latency_p99: lat(0.99, s.p99),
            billed: billed_ci,
            cold_rate: cold.len() as f64 / n,
            init_mean_ms,
            init_billed_ms: if init_billed {
                inits.iter().map(|i| i.0).sum::<f64>() / n
            } else {
                0.0
            },
            timeouts: os.iter().filter(|o| o.outcome == Outcome::Timeout).count() as u64,
            oom_kills: os
                .iter()
                .filter(|o| o.outcome == Outcome::OutOfMemory)
                .count() as u64,
        });
    }
    for m in summaries {
        if m.memory_mb == 0 || m.invocations == 0 || m.warm_successful == 0 {
            continue;
        }
        let n = m.invocations as f64;
        out.push(SizeGroup {
            memory_mb: m.memory_mb,
            arch: m.arch,
            source: Source::Logs,
            invocations: m.invocations,
            samples: m.warm_successful,
            p50_ms: m.warm_p50_ms,
            p95_ms: m.warm_p95_ms,
            mean_ms: m.mean_ms,
            billed_mean_ms: m.billed.value,
            first_ms: m.first_ms,
            last_ms: m.last_ms,
            latency_p50: m.p50,
            latency_p95: m.p95,
            latency_p99: m.p99,
            billed: m.billed,
            cold_rate: m.cold_starts as f64 / n,
            init_mean_ms: m.init_mean_ms,
            init_billed_ms: m.init_billed_ms,
            timeouts: m.timeouts,
            oom_kills: m.oom_kills,
        });
    }
    for m in measured {
        let fine = [m.p50, m.p95, m.mean]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0);
        if !fine || m.invocations == 0 || m.memory_mb == 0 {
            continue;
        }
        let p99 = if m.p99.is_finite() && m.p99 >= m.p95 {
            m.p99
        } else {
            m.p95
        };
        let spread = (m.p95 - m.p50).abs().max(0.01 * m.p50);
        let n = m.invocations;
        out.push(SizeGroup {
            memory_mb: m.memory_mb,
            arch: m.arch,
            source: Source::Tuning,
            invocations: n,
            samples: n,
            p50_ms: m.p50,
            p95_ms: m.p95,
            mean_ms: m.mean,
            billed_mean_ms: m.mean,
            first_ms: None,
            last_ms: None,
            latency_p50: stats::approximate_ci(m.p50, spread, n, 0.5),
            latency_p95: stats::approximate_ci(m.p95, spread, n, 0.95),
            latency_p99: stats::approximate_ci(p99, spread, n, 0.99),
            billed: stats::approximate_ci(m.mean, spread, n, 0.5),
            cold_rate: 0.0,
            init_mean_ms: None,
            init_billed_ms: 0.0,
            timeouts: 0,
            oom_kills: 0,
        });
    }
    out.sort_by_key(|g| (g.memory_mb, g.arch, g.source == Source::Tuning));
    out
}

fn fit_on(groups: &[&SizeGroup], value: impl Fn(&SizeGroup) -> f64) -> Option<Fit> {
    let pts: Vec<FitPoint> = groups
        .iter()
        .map(|g| FitPoint {
            memory_mb: f64::from(g.memory_mb),
            value_ms: value(g),
            weight: g.samples as f64,
        })
        .collect();
    fit::fit(&pts)
}

/// Decide which end of the extrapolation bounds the evidence favours, and say why.
fn lean_of(g: &SizeGroup, init_p50: Option<f64>, runtime: Option<&str>) -> (Lean, Vec<String>) {
    let mut reasons = Vec::new();
    let mut votes = 0i32;
    let spread = if g.p50_ms > 0.0 {
        g.p95_ms / g.p50_ms
    } else {
        1.0
    };
    if spread <= 1.35 {
        votes += 1;
        reasons.push(format!(
            "p95 is only {spread:.2}× p50: steady durations, as computation tends to be"
        ));
    } else if spread >= 1.8 {
        votes -= 1;
        reasons.push(format!(
            "p95 is {spread:.2}× p50: widely varying durations, as waits on the network tend to be"
        ));
    } else {
        reasons.push(format!(
            "p95 is {spread:.2}× p50: neither clearly steady nor clearly variable"
        ));
    }
    if let Some(init) = init_p50.filter(|i| *i > 0.0) {
        let r = g.p50_ms / init;
        if r >= 3.0 {
            reasons.push(format!(
                "warm p50 is {r:.1}× the init p50: the handler does substantial work per call"
            ));
        } else if r <= 0.3 {
            votes -= 1;
            reasons.push(format!(
                "warm p50 is {r:.2}× the init p50: handlers this short next to their init mostly \
                 wait on something"
            ));
        }
    }
    if g.p50_ms < 20.0 {
        reasons.push(format!(
            "p50 {:.1} ms is near the floor of a network round trip: little room to speed up",
            g.p50_ms
        ));
        votes -= 1;
    }
    if let Some(rt) = runtime {
        reasons.push(format!(
            "runtime {rt}: says nothing either way about CPU use"
        ));
    }
    let lean = match votes {
        v if v > 0 => Lean::CpuBound,
        v if v < 0 => Lean::IoBound,
        _ => Lean::Unclear,
    };
    (lean, reasons)
}

/// Recommend a memory size for one function.
pub fn recommend(input: &FunctionInput, settings: &Settings) -> Result<Recommendation, Skip> {
    let mut obs: Vec<&Observation> = input.observations.iter().filter(|o| usable(o)).collect();
    let summaries: Vec<&SizeSummary> = input
        .summaries
        .iter()
        .filter(|s| s.memory_mb > 0 && s.invocations > 0)
        .collect();
    if obs.is_empty() && input.measured.is_empty() && summaries.is_empty() {
        return Err(Skip::NoData);
    }
    obs.sort_by_key(|o| o.at_ms);
    let latest = obs.last().copied();
    // Without observations the summary seen last stands for the latest invocation.
    let latest_summary = summaries.iter().copied().max_by_key(|s| s.last_ms);
    let version = match latest {
        Some(o) => o.version.clone(),
        None => latest_summary.and_then(|s| s.version.clone()),
    };
    let current_mb = latest
        .map(|o| o.memory_mb)
        .or_else(|| latest_summary.map(|s| s.memory_mb))
        .unwrap_or_else(|| input.measured.first().map_or(128, |m| m.memory_mb));
    let arch = input.arch;
    let region = input.region.clone();
    let rate = if input.monthly_invocations.is_finite() {
        input.monthly_invocations.max(0.0)
    } else {
        0.0
    };
    let mut evidence = Vec::new();

    // The version analysed: the latest. Configuration changes within it are the experiment.
    let in_version: Vec<&Observation> = obs
        .iter()
        .copied()
        .filter(|o| o.version == version)
        .collect();
    // Summaries of the floor's evidence are every version's, as observations are; the rest
    // reads the analysed version's only.
    let all_summaries = summaries;
    let summaries: Vec<&SizeSummary> = all_summaries
        .iter()
        .copied()
        .filter(|s| s.version == version)
        .collect();
    let older = obs.len() - in_version.len()
        + all_summaries
            .iter()
            .filter(|s| s.version != version)
            .map(|s| usize::try_from(s.invocations).unwrap_or(usize::MAX))
            .fold(0usize, usize::saturating_add);
    if older > 0 {
        evidence.push(ev(
            "version",
            format!(
                "analysing version {} only; {older} invocations of other versions left out (code changes confound sizes)",
                version.as_deref().unwrap_or("(unknown)")
            ),
        ));
    }
    let owned: Vec<SizeSummary> = summaries.iter().map(|s| (*s).clone()).collect();
    let all_groups = groups(&in_version, &input.measured, &owned);
    let mine: Vec<&SizeGroup> = all_groups.iter().filter(|g| g.arch == arch).collect();
    let current_group = mine
        .iter()
        .copied()
        .find(|g| g.memory_mb == current_mb && g.source == Source::Logs)
        .or_else(|| mine.iter().copied().find(|g| g.memory_mb == current_mb))
        .or_else(|| mine.last().copied());
    let Some(cur) = current_group else {
        return Err(Skip::NoWarmSuccess);
    };
    for g in &all_groups {
        evidence.push(ev(
            "size",
            format!(
                "{} MB {} ({}): {} invocations, {} warm successful: p50 {:.1} ms, p95 {:.1} ms, mean {:.1} ms",
                g.memory_mb,
                g.arch.as_str(),
                match g.source {
                    Source::Logs => "logs",
                    Source::Tuning => "tuning",
                },
                g.invocations,
                g.samples,
                g.p50_ms,
                g.p95_ms,
                g.mean_ms
            ),
        ));
    }
    for g in all_groups.iter().filter(|g| g.samples < 30) {
        evidence.push(ev(
            "few_samples",
            format!(
                "only {} warm successful invocations at {} MB: its percentiles are rough",
                g.samples, g.memory_mb
            ),
        ));
    }
    experiment_evidence(input, &in_version, version.as_deref(), &mut evidence);

    // Memory floor: the most used by invocations that finished, plus headroom, and above every
    // size that ran out of memory (a kill's Max Memory Used is the limit, not the need).
    // A summary's most used includes its kills' (the limit): the out-of-memory floor stands
    // in for it then.
    let used: Vec<f64> = obs
        .iter()
        .filter(|o| o.outcome != Outcome::OutOfMemory)
        .filter_map(|o| o.max_memory_used_mb.map(f64::from))
        .chain(
            all_summaries
                .iter()
                .filter(|s| s.oom_kills == 0)
                .filter_map(|s| s.max_used_mb.map(f64::from)),
        )
        .collect();
    let oom_kills = obs
        .iter()
        .filter(|o| o.outcome == Outcome::OutOfMemory)
        .count() as u64
        + all_summaries.iter().map(|s| s.oom_kills).sum::<u64>();
    let oom_mb = obs
        .iter()
        .filter(|o| o.outcome == Outcome::OutOfMemory)
        .map(|o| o.memory_mb)
        .chain(
            all_summaries
                .iter()
                .filter(|s| s.oom_kills > 0)
                .map(|s| s.memory_mb),
        )
        .max();
    let mut used_sorted = used.clone();
    used_sorted.sort_by(f64::total_cmp);
    let max_used = used_sorted.last().copied().unwrap_or(0.0);
    let p999 = fit::quantile(&used_sorted, 0.999).unwrap_or(0.0);
    let max_any = obs
        .iter()
        .filter(|o| o.memory_mb == current_mb)
        .filter_map(|o| o.max_memory_used_mb)
        .chain(
            all_summaries
                .iter()
                .filter(|s| s.memory_mb == current_mb)
                .filter_map(|s| s.max_used_mb),
        )
        .max()
        .unwrap_or(0);
    let used_floor = memory_floor(max_used.max(p999), settings.headroom);
    let oom_floor = oom_mb.map(|m| {
        CANDIDATES_MB
            .iter()
            .copied()
            .find(|&c| c > m)
            .unwrap_or(10_240)
    });
    let floor_mb = used_floor.max(oom_floor.unwrap_or(0));
    let near_limit = f64::from(max_any) >= settings.near_limit * f64::from(current_mb);
    let floor = Floor {
        memory_mb: floor_mb,
        max_used_mb: max_used as u32,
        p999_used_mb: p999,
        headroom: settings.headroom,
        oom_kills,
        near_limit,
        oom_mb,
    };
    evidence.push(ev(
        "floor",
        format!(
            "memory floor {floor_mb} MB: most used {max_used:.0} MB (p99.9 {p999:.0} MB) + {:.0}% headroom, rounded up to a candidate size{}",
            settings.headroom * 100.0,
            oom_mb.map_or(String::new(), |m| format!(", and above {m} MB where it ran out of memory"))
        ),
    ));
    if let Some(m) = oom_mb {
        evidence.push(ev(
            "out_of_memory",
            format!(
                "{oom_kills} out-of-memory kills, at up to {m} MB: no size at or below {m} MB is recommended"
            ),
        ));
    }
    if near_limit {
        evidence.push(ev(
            "near_limit",
            format!(
                "uses up to {max_any} MB of {current_mb} MB ({:.0}%): at the limit",
                f64::from(max_any) * 100.0 / f64::from(current_mb.max(1))
            ),
        ));
    }

    // Timeout: given, or the longest timed-out invocation (it ran until the timeout).
    let timed_out: Vec<f64> = in_version
        .iter()
        .filter(|o| o.outcome == Outcome::Timeout)
        .map(|o| o.duration_ms)
        .chain(summaries.iter().filter_map(|s| s.longest_timeout_ms))
        .collect();
    let timeouts = in_version
        .iter()
        .filter(|o| o.outcome == Outcome::Timeout)
        .count() as u64
        + summaries.iter().map(|s| s.timeouts).sum::<u64>();
    let timeout_ms = input
        .timeout_ms
        .filter(|t| t.is_finite() && *t > 0.0)
        .or_else(|| {
            timed_out
                .iter()
                .copied()
                .filter(|d| d.is_finite() && *d > 0.0)
                .reduce(f64::max)
        });
    let margin = if settings.timeout_margin.is_finite() {
        settings.timeout_margin.clamp(0.0, 0.9)
    } else {
        0.1
    };
    if timeouts > 0 {
        evidence.push(ev(
            "timeouts",
            format!(
                "{timeouts} invocations timed out{}: no smaller size is recommended",
                timeout_ms.map_or(String::new(), |t| format!(" (timeout {t:.0} ms)"))
            ),
        ));
    }

    // The model, for sizes beyond the measured ones.
    let fitted: Option<(Fit, Fit, Fit)> = match (
        fit_on(&mine, |g| g.p50_ms),
        fit_on(&mine, |g| g.p95_ms),
        fit_on(&mine, |g| g.mean_ms),
    ) {
        (Some(a), Some(b), Some(c)) => Some((a, b, c)),
        _ => None,
    };
    let init: Vec<f64> = in_version
        .iter()
        .filter(|o| o.memory_mb == cur.memory_mb && o.arch == arch)
        .filter_map(|o| o.init_ms)
        .collect();
    let init_p50 = summarize(init).map(|s| s.p50).or_else(|| {
        summaries
            .iter()
            .rev()
            .find(|s| s.memory_mb == cur.memory_mb && s.arch == arch)
            .and_then(|s| s.init_p50_ms)
    });
    let (lean, reasons) = lean_of(cur, init_p50, input.runtime.as_deref());
    let basis = match fitted {
        Some((f50, f95, fmean)) => {
            for (name, f) in [("p50", &f50), ("p95", &f95), ("mean", &fmean)] {
                evidence.push(ev(
                    "fit",
                    format!(
                        "{name}: d(m) = {:.1} ms + {:.1} ms × 1769/min(m, 1769) over {} sizes; R² {}; largest residual {:.1}%{}",
                        f.fixed_ms,
                        f.cpu_ms,
                        f.distinct_sizes,
                        f.r2.map_or("n/a".to_string(), |r| format!("{r:.3}")),
                        f.max_rel_residual * 100.0,
                        if f.distinct_sizes == 2 {
                            " (two sizes: the curve passes through both, R² proves nothing)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            Basis::Fitted {
                p50: f50,
                p95: f95,
                mean: fmean,
                min_mb: mine.iter().map(|g| g.memory_mb).min().unwrap_or(current_mb),
                max_mb: mine.iter().map(|g| g.memory_mb).max().unwrap_or(current_mb),
            }
        }
        None => {
            evidence.push(ev(
                "single_size",
                format!(
                    "no two CPU shares seen for this version: beyond {} MB the estimate assumes {}",
                    cur.memory_mb,
                    match lean {
                        Lean::CpuBound => "CPU-bound work",
                        Lean::IoBound => "I/O-bound work",
                        Lean::Unclear => "half the time scales with CPU",
                    }
                ),
            ));
            for r in reasons {
                evidence.push(ev("lean", r));
            }
            Basis::SingleSize { lean }
        }
    };

    // Measured sizes: enough warm successful invocations, or the current size. One group per
    // size: the one with more invocations behind it.
    let min_n = settings.min_samples.max(1);
    let mut anchors: Vec<&SizeGroup> = mine
        .iter()
        .copied()
        .filter(|g| g.samples >= min_n || std::ptr::eq(*g, cur))
        .collect();
    anchors.sort_by_key(|g| (g.memory_mb, std::cmp::Reverse(g.samples)));
    anchors.dedup_by_key(|g| g.memory_mb);
    let measured_range = anchors
        .first()
        .zip(anchors.last())
        .map(|(a, b)| (a.memory_mb, b.memory_mb));
    let model = Model {
        fits: fitted,
        share: lean.cpu_share(),
    };

    let mut sizes: Vec<u32> = CANDIDATES_MB.to_vec();
    sizes.push(current_mb);
    sizes.extend(anchors.iter().map(|g| g.memory_mb));
    sizes.retain(|&m| m > 0 && m <= 10_240);
    sizes.sort_unstable();
    sizes.dedup();
    let mut exact = true;
    let mut curve: Vec<CurvePoint> = Vec::with_capacity(sizes.len());
    for &m in &sizes {
        let Some(f) = predict(m, &anchors, &model) else {
            continue;
        };
        let cost_of = |billed: f64, exact: &mut bool| {
            let (c, e) = monthly_cost(&region, arch, rate, billed, m);
            *exact &= e;
            c
        };
        let cost = Interval::new(
            cost_of(f.billed.value, &mut exact),
            cost_of(f.billed.low, &mut exact),
            cost_of(f.billed.high, &mut exact),
        );
        let bounds = f.ends.map(|(cpu, io)| {
            let mut figures = |k: &Ends| Figures {
                p50_ms: k.p50,
                p95_ms: k.p95,
                billed_ms: k.billed,
                monthly_cost_usd: cost_of(k.billed, &mut exact),
            };
            Bounds {
                cpu_bound: figures(&cpu),
                io_bound: figures(&io),
            }
        });
        let limit = if m < used_floor {
            Some(format!("below the memory floor of {used_floor} MB"))
        } else if let Some(o) = oom_mb.filter(|&o| m <= o) {
            Some(format!("ran out of memory at {o} MB"))
        } else if timeouts > 0 && m < current_mb {
            Some(format!(
                "times out at {current_mb} MB ({timeouts} timeouts): no smaller size"
            ))
        } else {
            timeout_ms
                .filter(|t| f.p99.high >= (1.0 - margin) * t)
                .map(|t| {
                    format!(
                        "p99 up to {:.0} ms is within {:.0}% of the {t:.0} ms timeout",
                        f.p99.high,
                        margin * 100.0
                    )
                })
        };
        curve.push(CurvePoint {
            memory_mb: m,
            p50_ms: f.p50.value,
            p95_ms: f.p95.value,
            billed_ms: f.billed.value,
            monthly_cost_usd: cost.value,
            bounds,
            confidence: if f.support == Support::Extrapolated {
                Confidence::Estimated
            } else {
                Confidence::Measured
            },
            support: f.support,
            current: m == current_mb,
            allowed: limit.is_none(),
            limit,
            p50: f.p50,
            p95: f.p95,
            p99: f.p99,
            billed: f.billed,
            cost,
            samples: f.samples,
        });
    }
    let Some(cur_idx) = curve.iter().position(|p| p.current) else {
        return Err(Skip::NoData);
    };
    let Some(choice) = decide::decide(&curve, cur_idx, settings) else {
        return Err(Skip::NoData);
    };
    let (Some(current), Some(recommended)) = (curve.get(cur_idx), curve.get(choice.index)) else {
        return Err(Skip::NoData);
    };
    let (current, recommended) = (current.clone(), recommended.clone());
    let change = choice.decision == Decision::Change;
    let tune_command = choice
        .to_measure
        .map(|m| tune_command(&input.function, &[current_mb, m]));
    let summary = summary(&current, &recommended, &choice, tune_command.as_deref());
    evidence.push(ev("decision", summary.clone()));
    if recommended.support == Support::Extrapolated && change {
        evidence.push(ev(
            "extrapolation",
            format!(
                "{} MB was not measured: p95 {:.0} to {:.0} ms, {} to {} a month",
                recommended.memory_mb,
                recommended.p95.low,
                recommended.p95.high,
                usd(recommended.cost.low),
                usd(recommended.cost.high)
            ),
        ));
    }
    let architecture = arch_advice(
        &all_groups,
        arch,
        &recommended,
        &region,
        rate,
        settings.arch_speed_uncertainty,
    );
    let (_, exact_alt) = cost::price_list(&region, architecture.alternative);
    Ok(Recommendation {
        function: input.function.clone(),
        region: region.clone(),
        arch,
        strategy: settings.strategy,
        version,
        current_memory_mb: current_mb,
        recommended_memory_mb: recommended.memory_mb,
        monthly_saving_usd: if change {
            current.monthly_cost_usd - recommended.monthly_cost_usd
        } else {
            0.0
        },
        monthly_saving_range_usd: if change {
            (
                current.cost.low - recommended.cost.high,
                current.cost.high - recommended.cost.low,
            )
        } else {
            (0.0, 0.0)
        },
        confidence: recommended.confidence,
        current,
        recommended,
        monthly_invocations: rate,
        basis,
        observed: all_groups,
        floor,
        curve,
        architecture,
        evidence,
        exact_prices: exact && exact_alt,
        decision: choice.decision,
        gain: choice.gain,
        certainty: choice.certainty,
        measured_range,
        timeout_ms,
        tune_command,
        summary,
    })
}

/// The duration model used beyond the measured sizes.
struct Model {
    fits: Option<(Fit, Fit, Fit)>,
    /// Without a fit: the share of the time assumed to scale with CPU.
    share: f64,
}

/// Figures at one end of an extrapolation.
#[derive(Clone, Copy)]
struct Ends {
    p50: f64,
    p95: f64,
    billed: f64,
}

struct Predicted {
    support: Support,
    p50: Interval,
    p95: Interval,
    p99: Interval,
    billed: Interval,
    samples: u64,
    /// Extrapolated: the (CPU-bound, I/O-bound) ends.
    ends: Option<(Ends, Ends)>,
}

/// Log-log interpolation between two measured figures, `t` of the way from `a` to `b` in
/// log(memory). The interval carries the neighbours' intervals and widens towards the middle
/// by up to a quarter of the step between them: the curve may bend between measurements.
fn interpolate(a: Interval, b: Interval, t: f64) -> Interval {
    let ln = |x: f64| x.max(1e-9).ln();
    let g = |x: f64, y: f64| ((1.0 - t) * ln(x) + t * ln(y)).exp();
    let w = 0.5 * t.min(1.0 - t) * (ln(a.value) - ln(b.value)).abs();
    Interval::new(
        g(a.value, b.value),
        g(a.low, b.low) * (-w).exp(),
        g(a.high, b.high) * w.exp(),
    )
}

/// The figures at `m`: measured, interpolated between the measured neighbours, or
/// extrapolated from the nearest measured size.
fn predict(m: u32, anchors: &[&SizeGroup], model: &Model) -> Option<Predicted> {
    let first = anchors.first()?;
    let last = anchors.last()?;
    if let Some(g) = anchors.iter().find(|g| g.memory_mb == m) {
        return Some(Predicted {
            support: Support::Measured,
            p50: g.latency_p50,
            p95: g.latency_p95,
            p99: g.latency_p99,
            billed: g.billed,
            samples: g.samples,
            ends: None,
        });
    }
    if m > first.memory_mb && m < last.memory_mb {
        let b = anchors.iter().position(|g| g.memory_mb > m)?;
        let (lo, hi) = (anchors.get(b.checked_sub(1)?)?, anchors.get(b)?);
        let t = (f64::from(m) / f64::from(lo.memory_mb)).ln()
            / (f64::from(hi.memory_mb) / f64::from(lo.memory_mb)).ln();
        return Some(Predicted {
            support: Support::Interpolated,
            p50: interpolate(lo.latency_p50, hi.latency_p50, t),
            p95: interpolate(lo.latency_p95, hi.latency_p95, t),
            p99: interpolate(lo.latency_p99, hi.latency_p99, t),
            billed: interpolate(lo.billed, hi.billed, t),
            samples: lo.samples.min(hi.samples),
            ends: None,
        });
    }
    // Beyond: from the nearest measured size, with the slope to its neighbour when known.
    let below = m < first.memory_mb;
    let (r, next) = if below {
        (first, anchors.get(1))
    } else {
        (
            last,
            anchors.len().checked_sub(2).and_then(|i| anchors.get(i)),
        )
    };
    let (mf, rf) = (f64::from(m), f64::from(r.memory_mb));
    let slope = next.and_then(|n| {
        let s = (r.latency_p50.value.max(1e-9) / n.latency_p50.value.max(1e-9)).ln()
            / (f64::from(n.memory_mb) / rf).ln();
        (s.is_finite() && s > 0.0).then_some(s.min(3.0))
    });
    let cap = cpu_factor(mf) / cpu_factor(rf);
    let parallel = rf / mf;
    let mut ends = vec![1.0, cap, parallel];
    ends.extend(slope.map(|s| (rf / mf).powf(s)));
    let k_low = ends.iter().copied().fold(f64::INFINITY, f64::min);
    let k_high = ends.iter().copied().fold(0.0, f64::max);
    // Two measured sizes at or above one vCPU where the larger is measurably faster: the
    // work uses more than one vCPU, which the model (no speed-up past one vCPU) cannot see.
    // Above them, carry the measured slope on instead, at most proportionally to memory
    // (all of the time parallel work).
    let threaded = next
        .filter(|n| {
            !below && f64::from(n.memory_mb) >= VCPU_MB && r.latency_p50.high < n.latency_p50.low
        })
        .and(slope)
        .map(|s| (rf / mf).powf(s.min(1.0)));
    let central = |f: Option<&Fit>| -> f64 {
        let k = match (threaded, f) {
            (Some(k), _) => k,
            (None, Some(f)) if f.predict(rf) > 0.0 => f.predict(mf) / f.predict(rf),
            _ => 1.0 - model.share + model.share * cap,
        };
        if k.is_finite() {
            k.clamp(k_low, k_high)
        } else {
            1.0
        }
    };
    let (f50, f95, fmean) = match &model.fits {
        Some((a, b, c)) => (Some(a), Some(b), Some(c)),
        None => (None, None, None),
    };
    let scale = |i: Interval, k: f64| Interval::new(i.value * k, i.low * k_low, i.high * k_high);
    let (k50, k95, kmean) = (central(f50), central(f95), central(fmean));
    // Billed: the init part scales like init (a quarter fixed), the rest like the duration.
    let ip = r.init_billed_ms.max(0.0);
    let init_k = |k: f64| 0.25 + 0.75 * k;
    let (ki, ki_low, ki_high) = (init_k(cap), init_k(k_low).min(1.0), init_k(k_high).max(1.0));
    let rest = |x: f64| (x - ip).max(0.0);
    let billed = Interval::new(
        rest(r.billed.value) * kmean + ip * ki,
        rest(r.billed.low) * k_low + ip * ki_low,
        rest(r.billed.high) * k_high + ip * ki_high,
    );
    let cpu_k = if below { k_high } else { k_low };
    let at = |k: f64, ki: f64| Ends {
        p50: r.latency_p50.value * k,
        p95: r.latency_p95.value * k,
        billed: rest(r.billed.value) * k + ip * ki,
    };
    Some(Predicted {
        support: Support::Extrapolated,
        p50: scale(r.latency_p50, k50),
        p95: scale(r.latency_p95, k95),
        p99: scale(r.latency_p99, k95),
        billed,
        samples: r.samples,
        ends: Some((at(cpu_k, init_k(cpu_k)), at(1.0, 1.0))),
    })
}

/// `tern tune` measuring `sizes` (sorted, without repeats).
fn tune_command(function: &str, sizes: &[u32]) -> String {
    let mut s: Vec<u32> = sizes.to_vec();
    s.sort_unstable();
    s.dedup();
    let list: Vec<String> = s.iter().map(u32::to_string).collect();
    format!("tern tune {} --memory {}", quote(function), list.join(","))
}

/// A function name as a shell word.
fn quote(function: &str) -> String {
    let plain = function
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '/' | '$'));
    if plain && !function.is_empty() {
        function.to_string()
    } else {
        format!("'{}'", function.replace('\'', r"'\''"))
    }
}

use crate::cost::usd;

/// The decision in one sentence: what to do, how much it gains and what it rests on.
fn summary(
    cur: &CurvePoint,
    rec: &CurvePoint,
    choice: &decide::Choice,
    tune: Option<&str>,
) -> String {
    let measure = tune.map_or(String::new(), |t| format!("; measure it: {t}"));
    if let Decision::Keep { reason } = &choice.decision {
        return format!("{} MB → keep: {reason}{measure}", cur.memory_mb);
    }
    let than = decide::compare(rec, cur);
    let basis = match rec.support {
        Support::Measured => format!(
            "measured {than} ({} and {} warm invocations)",
            cur.samples, rec.samples
        ),
        Support::Interpolated => format!("interpolated between measured sizes: {than}"),
        Support::Extrapolated => format!(
            "estimated beyond the measured sizes: {than} (p95 {:.0} to {:.0} ms, {} to {} a month)",
            rec.p95.low,
            rec.p95.high,
            usd(rec.cost.low),
            usd(rec.cost.high)
        ),
    };
    let forced = cur.limit.as_deref().map_or(String::new(), |l| {
        format!("; {} MB breaks a limit: {l}", cur.memory_mb)
    });
    format!(
        "{} MB → {} MB: {basis}{forced}{measure}",
        cur.memory_mb, rec.memory_mb
    )
}

fn arch_advice(
    groups: &[SizeGroup],
    arch: Arch,
    at: &CurvePoint,
    region: &str,
    rate: f64,
    uncertainty: f64,
) -> ArchAdvice {
    let alternative = match arch {
        Arch::X86_64 => Arch::Arm64,
        Arch::Arm64 => Arch::X86_64,
    };
    // Measured when both architectures ran at one size within the version.
    let mut ratios = Vec::new();
    for g in groups.iter().filter(|g| g.arch == alternative) {
        if let Some(h) = groups
            .iter()
            .find(|h| h.arch == arch && h.memory_mb == g.memory_mb && h.p50_ms > 0.0)
        {
            ratios.push(g.p50_ms / h.p50_ms);
        }
    }
    let u = if uncertainty.is_finite() {
        uncertainty.clamp(0.0, 0.9)
    } else {
        0.2
    };
    let (ratio, confidence) = match ratios.first() {
        Some(&r) if r.is_finite() => ((r, r, r), Confidence::Measured),
        _ => ((1.0 - u, 1.0, 1.0 + u), Confidence::Estimated),
    };
    let cost = |f: f64| monthly_cost(region, alternative, rate, at.billed_ms * f, at.memory_mb).0;
    let (p_cur, _) = cost::price_list(region, arch);
    let (p_alt, _) = cost::price_list(region, alternative);
    ArchAdvice {
        current: arch,
        alternative,
        memory_mb: at.memory_mb,
        current_monthly_cost_usd: at.monthly_cost_usd,
        alternative_monthly_cost_usd: cost(ratio.1),
        alternative_cost_range_usd: (cost(ratio.0), cost(ratio.2)),
        speed_ratio: ratio,
        confidence,
        price_ratio: if p_cur.base_gb_s() > 0.0 {
            p_alt.base_gb_s() / p_cur.base_gb_s()
        } else {
            1.0
        },
    }
}

/// Evidence about the natural experiment from the function's change points: the memory-size
/// changes inside the analysed version (with when, from and to, and whether it was a rollback)
/// and the other changes inside it that confound a fit by size (runtime version,
/// architecture). Without change points (none known), the memory switches in invocation order.
fn experiment_evidence(
    input: &FunctionInput,
    in_version: &[&Observation],
    version: Option<&str>,
    evidence: &mut Vec<Evidence>,
) {
    use crate::impact::Attribute;
    let shown = version.unwrap_or("(unknown)");
    let latest_note = if version == Some("$LATEST") {
        "; $LATEST hides code deploys, so a deploy between sizes would confound the fit"
    } else {
        ""
    };
    let Some(since) = in_version.iter().map(|o| o.at_ms).min() else {
        return;
    };
    if input.changes.is_empty() {
        let switches = in_version
            .windows(2)
            .filter(|w| w[0].memory_mb != w[1].memory_mb)
            .count();
        if switches > 0 {
            evidence.push(ev(
                "configuration_changes",
                format!(
                    "memory size changed {switches} time(s) within version {shown}{latest_note}"
                ),
            ));
        }
        return;
    }
    let inside = |c: &&crate::impact::Change| c.at_ms >= since;
    let memory: Vec<String> = input
        .changes
        .iter()
        .filter(inside)
        .filter(|c| c.attribute == Attribute::MemorySize)
        .map(|c| {
            format!(
                "{} → {} MB at {}{}",
                c.from.as_deref().unwrap_or("?"),
                c.to.as_deref().unwrap_or("?"),
                crate::time::format_utc_ms(c.at_ms),
                if c.rollback { " (rollback)" } else { "" }
            )
        })
        .collect();
    if memory.is_empty() {
        return;
    }
    evidence.push(ev(
        "configuration_changes",
        format!(
            "memory size changed {} time(s) within version {shown}: {}{latest_note}",
            memory.len(),
            memory.join(", ")
        ),
    ));
    for c in input.changes.iter().filter(inside).filter(|c| {
        matches!(
            c.attribute,
            Attribute::RuntimeVersion | Attribute::Architecture
        )
    }) {
        evidence.push(ev(
            "confounder",
            format!(
                "{} changed to {} at {}, inside the experiment: sizes measured before and after differ in more than memory",
                c.attribute.as_str().replace('_', " "),
                c.to.as_deref().unwrap_or("?"),
                crate::time::format_utc_ms(c.at_ms)
            ),
        ));
    }
}
