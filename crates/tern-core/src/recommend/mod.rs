//! Memory recommendations from logs alone (issue 5, `tern recommend`).
//!
//! Every REPORT carries the memory size, so a function that ran at several sizes within one
//! code version is a natural experiment: fit duration against memory ([`fit`]) and predict
//! duration and cost at every candidate size. A function seen at one size only gets bounds
//! instead: between fully CPU-bound (duration ∝ 1 / CPU share) and fully I/O-bound (flat),
//! with the end the evidence favours used as the estimate, always marked `estimated`.
//!
//! Pure: callers hand in invocations (and optional measured points from active tuning) and
//! the monthly invocation rate; every dollar figure comes from [`crate::cost`].
//!
//! Assumptions, stated once:
//! - CPU share is proportional to memory and handlers use one thread: no speed-up past one
//!   vCPU (1,769 MB). Predictions beyond the observed sizes are `estimated`.
//! - Durations are fitted on warm, successful invocations (cold starts and failures are
//!   different work). What the rest add to billed time (INIT billing, rounding to 1 ms,
//!   shorter failed runs) is kept as a constant per-invocation overhead in ms, measured at
//!   the current size.
//! - The memory a function needs does not depend on its memory size.

pub mod fit;

use std::collections::BTreeMap;

use crate::cost::{self, CostOptions, Usage};
use crate::model::{Arch, Outcome};
pub use fit::{cpu_factor, Fit, FitPoint, VCPU_MB};

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
    /// The function's change points (issue 8: the store's values seen, the same ones `tern
    /// compare` judges), oldest first; empty when unknown. Memory-size changes inside the
    /// analysed version are the natural experiment; other changes inside it confound it.
    pub changes: Vec<crate::impact::Change>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// The cheapest predicted monthly cost (ties: faster, then smaller).
    Cost,
    /// The fastest predicted p95 (ties: cheaper).
    Speed,
    /// Minimise `weight · cost / max cost + (1 − weight) · p95 / max p95` over the allowed
    /// sizes, as Power Tuning does (it uses averages; we use p95).
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
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            strategy: Strategy::Balanced { weight: 0.5 },
            headroom: 0.2,
            near_limit: 0.9,
            arch_speed_uncertainty: 0.2,
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
}

/// Which end of the single-size bounds the evidence favours.
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

/// How the curve was obtained.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// Fitted on two or more sizes of one version (logs and/or tuning).
    Fitted {
        p50: Fit,
        p95: Fit,
        mean: Fit,
        /// The smallest and largest size fitted on: predictions inside are `measured`.
        min_mb: u32,
        max_mb: u32,
    },
    /// One size only: bounds, and the favoured end as the estimate.
    SingleSize { lean: Lean },
}

/// The predicted figures at one size, with bounds when the curve is a single-size estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    pub memory_mb: u32,
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Mean billed duration per invocation, ms (what the cost is computed from).
    pub billed_ms: f64,
    pub monthly_cost_usd: f64,
    /// Single size: (fully CPU-bound, fully I/O-bound) figures; the estimate lies between.
    pub bounds: Option<Bounds>,
    pub confidence: Confidence,
    pub current: bool,
    /// At or above the memory floor.
    pub allowed: bool,
}

/// The two ends of a single-size estimate.
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

/// Groups of one version: per (memory, arch), from logs and tuning.
fn groups(obs: &[&Observation], measured: &[MeasuredPoint]) -> Vec<SizeGroup> {
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
        let billed: Vec<f64> = os
            .iter()
            .map(|o| o.billed_ms)
            .filter(|b| b.is_finite() && *b >= 0.0)
            .collect();
        let billed_mean = if billed.is_empty() {
            s.mean
        } else {
            billed.iter().sum::<f64>() / billed.len() as f64
        };
        out.push(SizeGroup {
            memory_mb,
            arch,
            source: Source::Logs,
            invocations: os.len() as u64,
            samples: s.n as u64,
            p50_ms: s.p50,
            p95_ms: s.p95,
            mean_ms: s.mean,
            billed_mean_ms: billed_mean,
            first_ms: os.iter().map(|o| o.at_ms).min(),
            last_ms: os.iter().map(|o| o.at_ms).max(),
        });
    }
    for m in measured {
        let fine = [m.p50, m.p95, m.mean]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0);
        if !fine || m.invocations == 0 || m.memory_mb == 0 {
            continue;
        }
        out.push(SizeGroup {
            memory_mb: m.memory_mb,
            arch: m.arch,
            source: Source::Tuning,
            invocations: m.invocations,
            samples: m.invocations,
            p50_ms: m.p50,
            p95_ms: m.p95,
            mean_ms: m.mean,
            billed_mean_ms: m.mean,
            first_ms: None,
            last_ms: None,
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

/// Decide which end of the single-size bounds the evidence favours, and say why.
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
    if obs.is_empty() && input.measured.is_empty() {
        return Err(Skip::NoData);
    }
    obs.sort_by_key(|o| o.at_ms);
    let latest = obs.last().copied();
    let version = latest.and_then(|o| o.version.clone());
    let current_mb = latest
        .map(|o| o.memory_mb)
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
    let older = obs.len() - in_version.len();
    if older > 0 {
        evidence.push(ev(
            "version",
            format!(
                "analysing version {} only; {older} invocations of other versions left out (code changes confound sizes)",
                version.as_deref().unwrap_or("(unknown)")
            ),
        ));
    }
    let all_groups = groups(&in_version, &input.measured);
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

    // Overhead: billed time beyond the warm mean duration (INIT billing, rounding, failures).
    let overhead = (cur.billed_mean_ms - cur.mean_ms).max(0.0);

    // Memory floor.
    let used: Vec<f64> = obs
        .iter()
        .filter(|o| o.outcome != Outcome::OutOfMemory)
        .filter_map(|o| o.max_memory_used_mb.map(f64::from))
        .collect();
    let oom_kills = obs
        .iter()
        .filter(|o| o.outcome == Outcome::OutOfMemory)
        .count() as u64;
    let mut used_sorted = used.clone();
    used_sorted.sort_by(f64::total_cmp);
    let max_used = used_sorted.last().copied().unwrap_or(0.0);
    let p999 = fit::quantile(&used_sorted, 0.999).unwrap_or(0.0);
    let max_any = obs
        .iter()
        .filter(|o| o.memory_mb == current_mb)
        .filter_map(|o| o.max_memory_used_mb)
        .max()
        .unwrap_or(0);
    let floor_mb = memory_floor(max_used.max(p999), settings.headroom);
    let near_limit = f64::from(max_any) >= settings.near_limit * f64::from(current_mb);
    let floor = Floor {
        memory_mb: floor_mb,
        max_used_mb: max_used as u32,
        p999_used_mb: p999,
        headroom: settings.headroom,
        oom_kills,
        near_limit,
    };
    evidence.push(ev(
        "floor",
        format!(
            "memory floor {floor_mb} MB: most used {max_used:.0} MB (p99.9 {p999:.0} MB) + {:.0}% headroom, rounded up to a candidate size",
            settings.headroom * 100.0
        ),
    ));
    if oom_kills > 0 {
        evidence.push(ev(
            "out_of_memory",
            format!(
                "{oom_kills} out-of-memory kills: their Max Memory Used is the limit, not the need, so they are left out of the floor; look at what they processed before shrinking"
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

    // The curve.
    let mut sizes: Vec<u32> = CANDIDATES_MB.to_vec();
    sizes.push(current_mb);
    sizes.sort_unstable();
    sizes.dedup();
    let fitted: Option<(Fit, Fit, Fit)> = match (
        fit_on(&mine, |g| g.p50_ms),
        fit_on(&mine, |g| g.p95_ms),
        fit_on(&mine, |g| g.mean_ms),
    ) {
        (Some(a), Some(b), Some(c)) => Some((a, b, c)),
        _ => None,
    };
    let mut exact = true;
    let cost_at = |billed: f64, m: u32, exact: &mut bool| {
        let (c, e) = monthly_cost(&region, arch, rate, billed, m);
        *exact &= e;
        c
    };
    let (basis, curve) = if let Some((f50, f95, fmean)) = fitted {
        let min_mb = mine.iter().map(|g| g.memory_mb).min().unwrap_or(current_mb);
        let max_mb = mine.iter().map(|g| g.memory_mb).max().unwrap_or(current_mb);
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
        evidence.push(ev(
            "model",
            format!(
                "{:.0}% of the p50 at {current_mb} MB is CPU work; predictions between {min_mb} and {max_mb} MB are measured, outside estimated (no speed-up assumed past one vCPU)",
                f50.cpu_share(f64::from(current_mb)) * 100.0
            ),
        ));
        let curve: Vec<CurvePoint> = sizes
            .iter()
            .map(|&m| {
                let mf = f64::from(m);
                let billed = fmean.predict(mf) + overhead;
                CurvePoint {
                    memory_mb: m,
                    p50_ms: f50.predict(mf),
                    p95_ms: f95.predict(mf),
                    billed_ms: billed,
                    monthly_cost_usd: cost_at(billed, m, &mut exact),
                    bounds: None,
                    confidence: if m >= min_mb && m <= max_mb {
                        Confidence::Measured
                    } else {
                        Confidence::Estimated
                    },
                    current: m == current_mb,
                    allowed: m >= floor_mb,
                }
            })
            .collect();
        (
            Basis::Fitted {
                p50: f50,
                p95: f95,
                mean: fmean,
                min_mb,
                max_mb,
            },
            curve,
        )
    } else {
        let init: Vec<f64> = in_version
            .iter()
            .filter(|o| o.memory_mb == cur.memory_mb && o.arch == arch)
            .filter_map(|o| o.init_ms)
            .collect();
        let init_p50 = summarize(init);
        let (lean, reasons) = lean_of(cur, init_p50.map(|s| s.p50), input.runtime.as_deref());
        evidence.push(ev(
            "single_size",
            format!(
                "only {} MB seen for this version: predictions are bounded between fully CPU-bound (duration × CPU share) and fully I/O-bound (flat); the evidence favours {}",
                cur.memory_mb,
                match lean {
                    Lean::CpuBound => "CPU-bound",
                    Lean::IoBound => "I/O-bound",
                    Lean::Unclear => "neither end (half the time assumed to scale)",
                }
            ),
        ));
        for r in reasons {
            evidence.push(ev("lean", r));
        }
        let x0 = cpu_factor(f64::from(cur.memory_mb));
        let share = lean.cpu_share();
        let mut at = |m: u32, s: f64| -> Figures {
            let k = 1.0 - s + s * cpu_factor(f64::from(m)) / x0;
            let billed = cur.mean_ms * k + overhead;
            Figures {
                p50_ms: cur.p50_ms * k,
                p95_ms: cur.p95_ms * k,
                billed_ms: billed,
                monthly_cost_usd: cost_at(billed, m, &mut exact),
            }
        };
        let curve: Vec<CurvePoint> = sizes
            .iter()
            .map(|&m| {
                let point = at(m, share);
                let bounds = Bounds {
                    cpu_bound: at(m, 1.0),
                    io_bound: at(m, 0.0),
                };
                CurvePoint {
                    memory_mb: m,
                    p50_ms: point.p50_ms,
                    p95_ms: point.p95_ms,
                    billed_ms: point.billed_ms,
                    monthly_cost_usd: point.monthly_cost_usd,
                    bounds: Some(bounds),
                    confidence: if m == cur.memory_mb {
                        Confidence::Measured
                    } else {
                        Confidence::Estimated
                    },
                    current: m == current_mb,
                    allowed: m >= floor_mb,
                }
            })
            .collect();
        (Basis::SingleSize { lean }, curve)
    };

    let pts: Vec<StrategyPoint> = curve
        .iter()
        .map(|p| StrategyPoint {
            memory_mb: p.memory_mb,
            p95_ms: p.p95_ms,
            monthly_cost_usd: p.monthly_cost_usd,
            allowed: p.allowed,
        })
        .collect();
    let cur_idx = curve.iter().position(|p| p.current).unwrap_or(0);
    let rec_idx = choose(&pts, settings.strategy).unwrap_or(cur_idx);
    let (Some(current), Some(recommended)) = (curve.get(cur_idx), curve.get(rec_idx)) else {
        return Err(Skip::NoData);
    };
    let (current, recommended) = (current.clone(), recommended.clone());
    let confidence = match basis {
        Basis::Fitted { .. } => recommended.confidence,
        Basis::SingleSize { .. } => Confidence::Estimated,
    };
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
        monthly_saving_usd: current.monthly_cost_usd - recommended.monthly_cost_usd,
        current,
        recommended,
        monthly_invocations: rate,
        confidence,
        basis,
        observed: all_groups,
        floor,
        curve,
        architecture,
        evidence,
        exact_prices: exact && exact_alt,
    })
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
