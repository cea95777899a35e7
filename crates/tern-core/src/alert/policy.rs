//! Policy definitions: what to watch, on which functions, and when it is a problem.
//!
//! Plain data. The binary validates what the user wrote in `tern.toml` (or sent to the API)
//! into these types once; [`MetricPolicy::validate`] is the check it runs.

use super::glob::glob_match;

/// How bad it is when a policy fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// What a policy needs to know about a function to decide whether it applies, plus the
/// configuration some metrics are measured against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunctionInfo {
    pub name: String,
    pub tags: Vec<(String, String)>,
    /// The AWS account id; empty when unknown.
    pub account: String,
    /// e.g. `eu-west-1`; empty when unknown.
    pub region: String,
    /// Configured timeout, when known.
    pub timeout_ms: Option<u64>,
    /// Provisioned memory, when known.
    pub memory_size_mb: Option<u32>,
}

/// Which functions a policy applies to. Every non-empty list must match (AND across lists);
/// within `functions`, `accounts` and `regions` any entry may match (OR); every tag in `tags`
/// must be present. An empty list places no constraint, so `Target::default()` is every
/// function. All entries are globs ([`glob_match`]): `*` and `?`; tag keys match exactly, tag
/// values are globs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    pub functions: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

impl Target {
    /// Every function.
    pub fn all() -> Target {
        Target::default()
    }

    pub fn matches(&self, f: &FunctionInfo) -> bool {
        let any = |globs: &[String], value: &str| {
            globs.is_empty() || globs.iter().any(|g| glob_match(g, value))
        };
        any(&self.functions, &f.name)
            && any(&self.accounts, &f.account)
            && any(&self.regions, &f.region)
            && self
                .tags
                .iter()
                .all(|(key, value)| f.tags.iter().any(|(k, v)| k == key && glob_match(value, v)))
    }
}

/// What a metric policy measures over its window. Where a metric needs the function's
/// configuration (timeout, memory size) or an optional input (durations, log volume, history)
/// that is absent, the evaluation is [`NoData`](super::Evaluation::NoData), never a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Invocations in the window.
    Invocations,
    /// Failed invocations of any kind (handler error, timeout, OOM, crash, init error), as
    /// [`FunctionReport::errors`](crate::report::FunctionReport) counts them.
    Errors,
    /// Errors / invocations, a fraction (0.01 = 1%).
    ErrorRate,
    Timeouts,
    OutOfMemory,
    /// Timeouts + out-of-memory invocations (the "any timeout or OOM" default).
    TimeoutsOrOom,
    ColdStarts,
    /// Cold starts / invocations, a fraction.
    ColdStartRate,
    /// Duration in milliseconds; the aggregation picks the statistic.
    Duration,
    /// A duration statistic divided by the function's timeout, a fraction.
    DurationFractionOfTimeout,
    /// Max memory used / provisioned memory, a fraction.
    MemoryFraction,
    /// Cost in USD: the window's total (`Sum`) or per invocation (`Avg`).
    Cost,
    /// Log lines in the window (optional input).
    LogLines,
    /// Log bytes in the window (optional input).
    LogBytes,
    /// Invocations in the window compared with the highest count of one window-sized bucket in
    /// the history (48 hours for the default). The threshold is a multiplier of that peak
    /// (1.25 = 125%); the evaluation reports the count and the absolute threshold.
    InvocationSpike,
}

impl Metric {
    pub const ALL: [Metric; 15] = [
        Metric::Invocations,
        Metric::Errors,
        Metric::ErrorRate,
        Metric::Timeouts,
        Metric::OutOfMemory,
        Metric::TimeoutsOrOom,
        Metric::ColdStarts,
        Metric::ColdStartRate,
        Metric::Duration,
        Metric::DurationFractionOfTimeout,
        Metric::MemoryFraction,
        Metric::Cost,
        Metric::LogLines,
        Metric::LogBytes,
        Metric::InvocationSpike,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Invocations => "invocations",
            Metric::Errors => "errors",
            Metric::ErrorRate => "error_rate",
            Metric::Timeouts => "timeouts",
            Metric::OutOfMemory => "out_of_memory",
            Metric::TimeoutsOrOom => "timeouts_or_oom",
            Metric::ColdStarts => "cold_starts",
            Metric::ColdStartRate => "cold_start_rate",
            Metric::Duration => "duration",
            Metric::DurationFractionOfTimeout => "duration_fraction_of_timeout",
            Metric::MemoryFraction => "memory_fraction",
            Metric::Cost => "cost",
            Metric::LogLines => "log_lines",
            Metric::LogBytes => "log_bytes",
            Metric::InvocationSpike => "invocation_spike",
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        let s = s.trim();
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }

    /// The aggregations that mean something for this metric; the first is the default.
    ///
    /// - counts (invocations, errors, timeouts, OOMs, cold starts, log volume, spike): `Sum`;
    /// - rates: `Avg` (the mean of a 0/1 outcome over the invocations *is* the rate);
    /// - duration and duration/timeout: `P99`, `P95`, `P50`, `Max`, `Avg`;
    /// - memory fraction: `Max` (the window only carries the most memory used);
    /// - cost: `Sum` (USD in the window) or `Avg` (USD per invocation).
    pub fn aggregations(self) -> &'static [Aggregation] {
        use Aggregation::*;
        match self {
            Metric::Invocations
            | Metric::Errors
            | Metric::Timeouts
            | Metric::OutOfMemory
            | Metric::TimeoutsOrOom
            | Metric::ColdStarts
            | Metric::LogLines
            | Metric::LogBytes
            | Metric::InvocationSpike => &[Sum],
            Metric::ErrorRate | Metric::ColdStartRate => &[Avg],
            Metric::Duration | Metric::DurationFractionOfTimeout => &[P99, P95, P50, Max, Avg],
            Metric::MemoryFraction => &[Max],
            Metric::Cost => &[Sum, Avg],
        }
    }

    pub fn default_aggregation(self) -> Aggregation {
        self.aggregations()
            .first()
            .copied()
            .unwrap_or(Aggregation::Sum)
    }
}

/// How the window's values are reduced to one number. See [`Metric::aggregations`] for which
/// apply to which metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregation {
    Sum,
    Avg,
    Max,
    P50,
    P95,
    P99,
}

impl Aggregation {
    pub const ALL: [Aggregation; 6] = [
        Aggregation::Sum,
        Aggregation::Avg,
        Aggregation::Max,
        Aggregation::P50,
        Aggregation::P95,
        Aggregation::P99,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::Avg => "avg",
            Aggregation::Max => "max",
            Aggregation::P50 => "p50",
            Aggregation::P95 => "p95",
            Aggregation::P99 => "p99",
        }
    }

    pub fn parse(s: &str) -> Option<Aggregation> {
        let s = s.trim();
        Aggregation::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }
}

/// How the value is compared with the threshold. The condition holds (the policy fires) when
/// `value <op> threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
        }
    }

    /// Accepts `>`, `>=`, `<`, `<=` and `gt`, `ge`, `lt`, `le`.
    pub fn parse(s: &str) -> Option<Comparison> {
        match s.trim().to_ascii_lowercase().as_str() {
            ">" | "gt" => Some(Comparison::Gt),
            ">=" | "ge" => Some(Comparison::Ge),
            "<" | "lt" => Some(Comparison::Lt),
            "<=" | "le" => Some(Comparison::Le),
            _ => None,
        }
    }

    /// `value <op> threshold`. False whenever either side is NaN.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Gt => value > threshold,
            Comparison::Ge => value >= threshold,
            Comparison::Lt => value < threshold,
            Comparison::Le => value <= threshold,
        }
    }
}

/// A threshold rule on one metric of each targeted function.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPolicy {
    /// Stable, unique name; built-ins are `builtin.*`.
    pub name: String,
    pub target: Target,
    pub metric: Metric,
    pub aggregation: Aggregation,
    pub comparison: Comparison,
    pub threshold: f64,
    /// The evaluation window, ending at the evaluation time.
    pub window_ms: i64,
    /// Fewer invocations than this in the window gives
    /// [`BelowMinimum`](super::Evaluation::BelowMinimum) instead of a verdict.
    pub min_invocations: u64,
    pub severity: Severity,
    pub enabled: bool,
}

/// Why a policy definition is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy name is empty")]
    EmptyName,
    #[error("aggregation {aggregation} does not apply to metric {metric} (use one of: {allowed})")]
    Aggregation {
        metric: &'static str,
        aggregation: &'static str,
        allowed: String,
    },
    #[error("threshold must be a finite number, got {0}")]
    Threshold(f64),
    #[error("window must be positive, got {0} ms")]
    Window(i64),
    #[error("cooldown must not be negative, got {0} ms")]
    Cooldown(i64),
    #[error("{0}")]
    Regression(String),
}

impl MetricPolicy {
    /// Does this policy apply to the function: enabled, and the target matches?
    pub fn applies_to(&self, f: &FunctionInfo) -> bool {
        self.enabled && self.target.matches(f)
    }

    /// Check the definition once, when it is loaded. [`evaluate`](super::evaluate) is total
    /// even on invalid policies (it answers `NoData(InvalidPolicy)`), but a user should hear
    /// about a bad rule when they write it.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.name.trim().is_empty() {
            return Err(PolicyError::EmptyName);
        }
        if !self.metric.aggregations().contains(&self.aggregation) {
            return Err(PolicyError::Aggregation {
                metric: self.metric.as_str(),
                aggregation: self.aggregation.as_str(),
                allowed: self
                    .metric
                    .aggregations()
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if !self.threshold.is_finite() {
            return Err(PolicyError::Threshold(self.threshold));
        }
        if self.window_ms <= 0 {
            return Err(PolicyError::Window(self.window_ms));
        }
        Ok(())
    }
}

/// What an error policy reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorTrigger {
    /// A group seen for the first time.
    NewGroup,
    /// A resolved group that recurred.
    Regression,
    /// Every occurrence of an error, new or not (subject to the cooldown).
    EveryOccurrence,
}

impl ErrorTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorTrigger::NewGroup => "new_group",
            ErrorTrigger::Regression => "regression",
            ErrorTrigger::EveryOccurrence => "every_occurrence",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorTrigger> {
        [
            ErrorTrigger::NewGroup,
            ErrorTrigger::Regression,
            ErrorTrigger::EveryOccurrence,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// A rule on error groups: notify when a group of a targeted function is new, regresses, or
/// occurs at all, at most once per group per `cooldown_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorPolicy {
    pub name: String,
    pub target: Target,
    pub on: ErrorTrigger,
    pub cooldown_ms: i64,
    pub severity: Severity,
    pub enabled: bool,
}

impl ErrorPolicy {
    pub fn applies_to(&self, f: &FunctionInfo) -> bool {
        self.enabled && self.target.matches(f)
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.name.trim().is_empty() {
            return Err(PolicyError::EmptyName);
        }
        if self.cooldown_ms < 0 {
            return Err(PolicyError::Cooldown(self.cooldown_ms));
        }
        Ok(())
    }
}
