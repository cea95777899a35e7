//! Insights: a closed catalogue of rules over one function's figures. Each rule has
//! a stable id, thresholds (in [`Thresholds`], defaults from the peers in
//! reference/peers-and-pricing.md), a severity, structured evidence and, where one can be
//! computed, an effect in dollars (always from [`crate::cost`]) or milliseconds.
//!
//! | id | fires when (defaults; every bound is inclusive) | source |
//! |---|---|---|
//! | `memory.over_provisioned` | max memory used ≤ 50% of the size, a smaller size (max used + 20%, 64 MB steps) exists, ≥ 50 invocations | the quick-win rule (between Datadog's 10% and Serverless Dashboard's 80%); Compute Optimizer's 50 invocations |
//! | `memory.under_provisioned` | max memory used ≥ 95% of the size | Datadog "High memory usage" |
//! | `memory.out_of_memory` | ≥ 1 out-of-memory invocation | Datadog, Serverless Dashboard |
//! | `timeout.too_close` | p99 duration ≥ 90% of the timeout, unless the timeouts are hangs (critical with timeouts) | Serverless Dashboard "Approaching Timeout"; Datadog 95% |
//! | `timeout.hangs` | more invocations timed out than completed in the last 20% before the timeout | Tern: a slow tail puts more invocations just under the limit than past it |
//! | `timeout.too_generous` | timeout ≥ 10 × p99.9 and > 30 s, ≥ 50 invocations | Tern: a runaway costs up to the timeout |
//! | `errors.rate_high` | error rate ≥ 1% (critical ≥ 10%), ≥ 10 invocations | Datadog "Errors" / "High errors" |
//! | `cold_start.rate_high` | cold starts ≥ 1% of invocations, ≥ 50 invocations | Datadog "Cold starts" |
//! | `container.low_reuse` | ≤ 2 invocations per execution environment, ≥ 50 invocations | Dashbird "re-use containers" |
//! | `arch.arm64_savings` | x86_64 and the same GB-s at arm64 prices saves ≥ $1/month | CloudBurn LAMBDA-1 |
//! | `runtime.deprecated` | the runtime is deprecated, or will be within 180 days | [`runtimes`] table; lumigo-CLI |
//! | `logging.cost_high` | CloudWatch Logs ingestion ≥ 100% of the compute cost | Tern; reference §6 tiers |
//! | `invocations.spike` | one hour > 125% of the highest hour of the prior 48 h, ≥ 1,200 invocations | Serverless Dashboard "Escalated Invocation Count" via `alert`'s spike |
//! | `function.inactive` | listed by the inventory, no invocation for 30 days | lumigo-CLI `list-lambda -i` |
//! | `logs.no_retention` | the log group never expires | Well-Architected Serverless Lens |
//!
//!
//! What would make each rule wrong, and how often it is: `tern simulate --problems N` writes
//! functions that straddle the memory and timeout thresholds, the simulator's truth says which
//! truly have each problem, and a test measures every rule's precision and recall on them
//! (figures in BENCHMARKS.md). Known ways to be wrong:
//! - `memory.over_provisioned`: a rare heavy request needs memory the range never saw;
//! - `memory.under_provisioned`: one unusual request peaked near the size;
//! - `timeout.too_close` and `timeout.hangs`: without an inventory the timeout is known only
//!   once an invocation reaches it; a slow tail and a hang that both reach it read as one;
//! - `errors.rate_high`, `cold_start.rate_high`, `container.low_reuse`: few invocations make a
//!   rate noisy (the minimum counts guard against the worst of it).
//!
//! Pure: the binary gathers [`FunctionFacts`] from the store and hands in `now_ms`.

mod rules;
pub mod runtimes;

pub use crate::alert::Severity;
pub use rules::{evaluate, find_spike};

use crate::cost::Usage;
use crate::report::FunctionReport;

/// The catalogue. Ids are stable: scripts and `--rule` use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    MemoryOverProvisioned,
    MemoryUnderProvisioned,
    MemoryOutOfMemory,
    TimeoutTooClose,
    TimeoutHangs,
    TimeoutTooGenerous,
    ErrorRateHigh,
    ColdStartRateHigh,
    ContainerLowReuse,
    ArchArm64Savings,
    RuntimeDeprecated,
    LoggingCostHigh,
    InvocationSpike,
    FunctionInactive,
    LogsNoRetention,
}

impl RuleId {
    pub const ALL: [RuleId; 15] = [
        RuleId::MemoryOverProvisioned,
        RuleId::MemoryUnderProvisioned,
        RuleId::MemoryOutOfMemory,
        RuleId::TimeoutTooClose,
        RuleId::TimeoutHangs,
        RuleId::TimeoutTooGenerous,
        RuleId::ErrorRateHigh,
        RuleId::ColdStartRateHigh,
        RuleId::ContainerLowReuse,
        RuleId::ArchArm64Savings,
        RuleId::RuntimeDeprecated,
        RuleId::LoggingCostHigh,
        RuleId::InvocationSpike,
        RuleId::FunctionInactive,
        RuleId::LogsNoRetention,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::MemoryOverProvisioned => "memory.over_provisioned",
            RuleId::MemoryUnderProvisioned => "memory.under_provisioned",
            RuleId::MemoryOutOfMemory => "memory.out_of_memory",
            RuleId::TimeoutTooClose => "timeout.too_close",
            RuleId::TimeoutHangs => "timeout.hangs",
            RuleId::TimeoutTooGenerous => "timeout.too_generous",
            RuleId::ErrorRateHigh => "errors.rate_high",
            RuleId::ColdStartRateHigh => "cold_start.rate_high",
            RuleId::ContainerLowReuse => "container.low_reuse",
            RuleId::ArchArm64Savings => "arch.arm64_savings",
            RuleId::RuntimeDeprecated => "runtime.deprecated",
            RuleId::LoggingCostHigh => "logging.cost_high",
            RuleId::InvocationSpike => "invocations.spike",
            RuleId::FunctionInactive => "function.inactive",
            RuleId::LogsNoRetention => "logs.no_retention",
        }
    }

    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// A short title for tables.
    pub fn title(self) -> &'static str {
        match self {
            RuleId::MemoryOverProvisioned => "Memory over-provisioned",
            RuleId::MemoryUnderProvisioned => "Memory nearly full",
            RuleId::MemoryOutOfMemory => "Out of memory",
            RuleId::TimeoutTooClose => "Durations near the timeout",
            RuleId::TimeoutHangs => "Invocations hang until the timeout",
            RuleId::TimeoutTooGenerous => "Timeout far too generous",
            RuleId::ErrorRateHigh => "High error rate",
            RuleId::ColdStartRateHigh => "Many cold starts",
            RuleId::ContainerLowReuse => "Execution environments barely reused",
            RuleId::ArchArm64Savings => "Cheaper on arm64",
            RuleId::RuntimeDeprecated => "Deprecated runtime",
            RuleId::LoggingCostHigh => "Logging costs more than compute",
            RuleId::InvocationSpike => "Invocation spike (runaway or recursion?)",
            RuleId::FunctionInactive => "Inactive function",
            RuleId::LogsNoRetention => "Log group never expires",
        }
    }
}

/// Every threshold of the catalogue. Bounds are inclusive: a rule fires *at* its threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Statistical rules (memory sizing, generous timeout, cold starts, reuse) need this many
    /// invocations (Compute Optimizer's eligibility: 50).
    pub min_invocations: u64,
    /// Over-provisioned when max used ≤ this fraction of the size.
    pub over_provisioned_ratio: f64,
    /// Headroom above max used when suggesting a size.
    pub memory_headroom: f64,
    /// Under-provisioned when max used ≥ this fraction of the size.
    pub under_provisioned_ratio: f64,
    /// p99 duration ≥ this fraction of the timeout.
    pub near_timeout_ratio: f64,
    /// Hangs: fewer invocations completed from this fraction of the timeout on than timed out.
    pub hang_window: f64,
    /// Timeout ≥ this × p99.9 …
    pub generous_timeout_factor: f64,
    /// … and over this many ms.
    pub generous_timeout_min_ms: u64,
    pub error_rate_warning: f64,
    pub error_rate_critical: f64,
    pub error_min_invocations: u64,
    pub cold_start_rate: f64,
    /// Low reuse at or below this many invocations per execution environment.
    pub low_reuse_invocations_per_environment: f64,
    pub arm64_min_monthly_saving_usd: f64,
    /// "Soon" deprecated: within this many days.
    pub runtime_soon_days: i64,
    /// Log ingestion ≥ this × compute cost.
    pub logging_cost_ratio: f64,
    /// An hour's invocations ≥ this × the highest hour of the look-back.
    pub spike_factor: f64,
    /// Invocations per 5 minutes the spike needs (scaled to the bucket).
    pub spike_min_invocations_per_5min: u64,
    pub spike_lookback_ms: i64,
    pub inactive_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        let wins = crate::report::WinRules::default();
        Thresholds {
            min_invocations: 50,
            over_provisioned_ratio: wins.over_provisioned_ratio,
            memory_headroom: wins.memory_headroom,
            under_provisioned_ratio: 0.95,
            near_timeout_ratio: wins.near_timeout_ratio,
            hang_window: 0.8,
            generous_timeout_factor: 10.0,
            generous_timeout_min_ms: 30_000,
            error_rate_warning: 0.01,
            error_rate_critical: 0.10,
            error_min_invocations: 10,
            cold_start_rate: 0.01,
            low_reuse_invocations_per_environment: 2.0,
            arm64_min_monthly_saving_usd: 1.0,
            runtime_soon_days: 180,
            logging_cost_ratio: 1.0,
            spike_factor: 1.25,
            spike_min_invocations_per_5min: crate::alert::SPIKE_MIN_INVOCATIONS,
            spike_lookback_ms: crate::alert::SPIKE_LOOKBACK_MS,
            inactive_days: 30,
        }
    }
}

/// How a function's execution environments were reused over the range.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reuse {
    pub environments: u64,
    pub invocations_per_environment: f64,
    /// Median time between an environment's first and last invocation.
    pub median_lifetime_ms: f64,
}

/// An hour (or other bucket) with far more invocations than before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spike {
    pub at_ms: i64,
    pub bucket_ms: i64,
    pub invocations: u64,
    /// The highest bucket of the look-back before it.
    pub baseline_peak: u64,
}

/// Everything the rules read about one function.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunctionFacts {
    /// The figures over the range, priced by the cost engine.
    pub report: FunctionReport,
    /// The function's usage by month (for re-pricing at another size or architecture).
    pub usage: Vec<Usage>,
    /// The span monthly figures are projected from (as the report's).
    pub projection_ms: i64,
    pub duration_p999_ms: Option<f64>,
    /// Invocations that completed in the last stretch before the timeout
    /// ([`completed_near_timeout`]); `None` when unknown.
    pub completed_near_timeout: Option<u64>,
    pub reuse: Option<Reuse>,
    /// Runtime identifier (`python3.12`): configured, else from INIT_START.
    pub runtime: Option<String>,
    /// Log bytes over the range; `None` when not tracked (no logging insight then).
    pub log_bytes: Option<u64>,
    /// Log group retention: `Some(0)` never expires, `None` unknown.
    pub log_retention_days: Option<u32>,
    pub listed_by_inventory: bool,
    /// The latest invocation ever stored (not only in the range).
    pub last_invocation_ms: Option<i64>,
    pub spike: Option<Spike>,
    /// The memory engine's advice from the range's summary
    /// ([`crate::recommend::advise_summary`]): the memory insights take their size and dollar
    /// figure from it. `None` when not computed.
    pub memory: Option<crate::recommend::SummaryAdvice>,
}

/// How many invocations completed (did not time out) at `hang_window` × the timeout or later.
/// Timed-out invocations last the whole timeout, so they are the top `timeouts` ranks of
/// `durations`. `None` when the timeout is unknown.
pub fn completed_near_timeout(
    durations: &crate::sketch::Sketch,
    report: &FunctionReport,
    t: &Thresholds,
) -> Option<u64> {
    let timeout = report.timeout_ms.or(report.inferred_timeout_ms)?;
    let n = durations.count();
    let done = n.saturating_sub(report.timeouts);
    let from = timeout as f64 * t.hang_window;
    // Half a rank below each wanted rank: `quantile` takes rank ⌈q·n⌉.
    let at = |rank: u64| {
        durations
            .quantile((rank as f64 - 0.5) / n as f64)
            .unwrap_or(f64::INFINITY)
    };
    // The first completed rank (1 ..= done) at or past `from`, by bisection.
    let (mut lo, mut hi) = (1, done + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if at(mid) >= from {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(done + 1 - lo)
}

/// A value of evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Count(u64),
    Number(f64),
    Text(String),
    /// A yes-or-no fact: a JSON boolean.
    Flag(bool),
}

/// What acting on an insight is worth, or what the finding costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// The change saves this much per 30-day month.
    MonthlySaving(f64),
    /// The finding costs this much per 30-day month.
    MonthlyCost(f64),
    /// The suggested change would cost this much per 30-day month (provisioned concurrency,
    /// more memory). Not a ranking figure.
    ChangeMonthlyCost(f64),
    /// One runaway invocation can cost up to this.
    RunawayExposure(f64),
    /// A one-off cost (the excess invocations of a spike).
    OneOffCost(f64),
    /// Latency per affected invocation, ms.
    LatencyMs(f64),
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Insight {
    pub rule: RuleId,
    pub severity: Severity,
    pub function: String,
    /// What was found, in one sentence.
    pub summary: String,
    /// What to do about it.
    pub suggestion: String,
    pub evidence: Vec<(&'static str, Value)>,
    pub effects: Vec<Effect>,
}

impl Insight {
    /// The monthly saving, if the insight has one.
    pub fn monthly_saving(&self) -> Option<f64> {
        self.effects.iter().find_map(|e| match e {
            Effect::MonthlySaving(v) => Some(*v),
            _ => None,
        })
    }

    /// The dollar figure to rank by: a monthly saving or cost.
    pub fn monthly_usd(&self) -> f64 {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::MonthlySaving(v) | Effect::MonthlyCost(v) => Some(*v),
                _ => None,
            })
            .fold(0.0, f64::max)
    }
}

/// Inputs besides the facts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Context {
    pub now_ms: i64,
    pub thresholds: Thresholds,
}

#[cfg(test)]
mod tests;
