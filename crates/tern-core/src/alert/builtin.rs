//! The built-in policies: on unless switched off by name, thresholds from the peers
//! (reference/peers-and-pricing.md §5).
//!
//! | name | condition | source |
//! |---|---|---|
//! | `builtin.timeout_or_oom` | ≥ 1 timeout or OOM in 5 minutes | Serverless Dashboard Timeout / Out of Memory, per invocation |
//! | `builtin.error_rate` | error rate > 1% over 5 minutes, ≥ 10 invocations | Datadog "Errors: >1% of invocations" |
//! | `builtin.near_timeout` | p99 duration > 95% of the timeout over 5 minutes | Datadog "High duration", SLIC Watch `DurationPc` |
//! | `builtin.invocation_spike` | invocations in 5 minutes > 125% of the highest 5 minutes of the prior 48 h, ≥ 100 invocations | Serverless Dashboard "Escalated Invocation Count" |
//! | `builtin.memory` | max memory used > 95% of provisioned over 5 minutes | Datadog "High memory usage" |
//! | `builtin.new_error` | a new error group | Dashbird "new errors only", Serverless Dashboard "New Error Type" |
//! | `builtin.regression` | a resolved error group recurs, once per group per hour | Dashbird resolved-error re-notification |
//!
//! The spike's minimum of 100 invocations in the current window (one every 3 seconds) is what
//! keeps 1 → 2 or 40 → 60 quiet; it gates the current window, not the baseline, so a function
//! that was idle for 48 hours and suddenly loops (the recursive-deploy case) still fires.

use super::eval::SPIKE_MIN_HISTORY_MS;
use super::policy::{
    Aggregation, Comparison, ErrorPolicy, ErrorTrigger, Metric, MetricPolicy, Severity, Target,
};

pub const TIMEOUT_OR_OOM: &str = "builtin.timeout_or_oom";
pub const ERROR_RATE: &str = "builtin.error_rate";
pub const NEAR_TIMEOUT: &str = "builtin.near_timeout";
pub const INVOCATION_SPIKE: &str = "builtin.invocation_spike";
pub const MEMORY: &str = "builtin.memory";
pub const NEW_ERROR: &str = "builtin.new_error";
pub const REGRESSION: &str = "builtin.regression";

/// Every built-in name, metric policies first.
pub const BUILTIN_NAMES: [&str; 7] = [
    TIMEOUT_OR_OOM,
    ERROR_RATE,
    NEAR_TIMEOUT,
    INVOCATION_SPIKE,
    MEMORY,
    NEW_ERROR,
    REGRESSION,
];

/// Window of every built-in metric policy.
pub const FIVE_MINUTES_MS: i64 = 5 * 60 * 1000;
/// Look-back of the spike baseline.
pub const SPIKE_LOOKBACK_MS: i64 = 48 * 60 * 60 * 1000;
/// The spike policy's minimum invocations in the current window.
pub const SPIKE_MIN_INVOCATIONS: u64 = 100;

// Keep the documented relation between the look-back and the minimum history true.
const _: () = assert!(SPIKE_MIN_HISTORY_MS <= SPIKE_LOOKBACK_MS);

fn builtin(
    name: &str,
    metric: Metric,
    aggregation: Aggregation,
    comparison: Comparison,
    threshold: f64,
    min_invocations: u64,
    severity: Severity,
) -> MetricPolicy {
    MetricPolicy {
        name: name.to_string(),
        target: Target::all(),
        metric,
        aggregation,
        comparison,
        threshold,
        window_ms: FIVE_MINUTES_MS,
        min_invocations,
        severity,
        enabled: true,
    }
}

/// The built-in metric policies, all enabled, in a stable order.
pub fn builtin_policies() -> Vec<MetricPolicy> {
    use Aggregation::*;
    use Comparison::*;
    vec![
        builtin(
            TIMEOUT_OR_OOM,
            Metric::TimeoutsOrOom,
            Sum,
            Ge,
            1.0,
            0,
            Severity::Critical,
        ),
        builtin(
            ERROR_RATE,
            Metric::ErrorRate,
            Avg,
            Gt,
            0.01,
            10,
            Severity::Warning,
        ),
        builtin(
            NEAR_TIMEOUT,
            Metric::DurationFractionOfTimeout,
            P99,
            Gt,
            0.95,
            1,
            Severity::Warning,
        ),
        builtin(
            INVOCATION_SPIKE,
            Metric::InvocationSpike,
            Sum,
            Gt,
            1.25,
            SPIKE_MIN_INVOCATIONS,
            Severity::Critical,
        ),
        builtin(
            MEMORY,
            Metric::MemoryFraction,
            Max,
            Gt,
            0.95,
            1,
            Severity::Warning,
        ),
    ]
}

/// The built-in error policies, all enabled.
pub fn builtin_error_policies() -> Vec<ErrorPolicy> {
    vec![
        ErrorPolicy {
            name: NEW_ERROR.to_string(),
            target: Target::all(),
            on: ErrorTrigger::NewGroup,
            cooldown_ms: 0,
            severity: Severity::Warning,
            enabled: true,
        },
        ErrorPolicy {
            name: REGRESSION.to_string(),
            target: Target::all(),
            on: ErrorTrigger::Regression,
            cooldown_ms: 60 * 60 * 1000,
            severity: Severity::Warning,
            enabled: true,
        },
    ]
}

/// Switch off the named policies (built-in or not). Returns the names that matched no policy,
/// so the config loader can report a typo instead of silently keeping a default on.
pub fn switch_off<S: AsRef<str>>(
    metric: &mut [MetricPolicy],
    errors: &mut [ErrorPolicy],
    names: &[S],
) -> Vec<String> {
    let mut unknown = Vec::new();
    for name in names {
        let name = name.as_ref();
        let mut found = false;
        for p in metric.iter_mut().filter(|p| p.name == name) {
            p.enabled = false;
            found = true;
        }
        for p in errors.iter_mut().filter(|p| p.name == name) {
            p.enabled = false;
            found = true;
        }
        if !found {
            unknown.push(name.to_string());
        }
    }
    unknown
}
