//! What the recommender answers: the curve of measured and modelled sizes, the
//! recommendation with its evidence and certainty, and why a function was skipped.

use super::fit::Fit;
use super::stats::Interval;
use super::Strategy;
use crate::model::Arch;

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
    pub(super) fn cpu_share(self) -> f64 {
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

pub(super) fn ev(kind: &'static str, text: String) -> Evidence {
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

/// `tern tune` measuring `sizes` (sorted, without repeats).
pub(super) fn tune_command(function: &str, sizes: &[u32]) -> String {
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
