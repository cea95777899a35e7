//! Evaluating a metric policy against one function's window.
//!
//! [`evaluate`] is a pure function of the policy and the window's figures: a handful of
//! comparisons and one division, no allocation. The caller computes the figures once per
//! function and window (percentiles included: [`dist_of`]) and evaluates every policy that
//! applies against them.

use super::policy::{Aggregation, Metric, MetricPolicy};
use crate::report::{Dist, FunctionReport};

/// The least history the spike metric needs before it gives a verdict. With less, a function
/// whose daily peak has simply not been seen yet would look like a spike.
pub const SPIKE_MIN_HISTORY_MS: i64 = 60 * 60 * 1000;

/// The invocation history the spike metric compares against: the highest count of one bucket
/// over the look-back (48 hours for the default policy) and how much of the look-back the data
/// actually covers. The look-back ends where the current window starts: the window being
/// judged must not be part of its own baseline. Aligned buckets (every 5 minutes on the clock)
/// are fine; the peak of rolling windows would be at most twice as high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpikeHistory {
    /// Highest invocation count of one bucket.
    pub peak: u64,
    /// Width of one bucket. When it differs from the policy window the peak is scaled to the
    /// window (a 1-minute peak of 10 is a 5-minute peak of 50).
    pub bucket_ms: i64,
    /// How much history the buckets cover. Buckets where Tern was watching and the function
    /// was not invoked count (as zeros); time before Tern watched the account does not.
    pub covered_ms: i64,
}

impl SpikeHistory {
    /// From the per-bucket counts of the look-back, oldest first; every count is one bucket of
    /// `bucket_ms`, zeros included.
    pub fn from_counts(counts: &[u64], bucket_ms: i64) -> SpikeHistory {
        SpikeHistory {
            peak: counts.iter().copied().max().unwrap_or(0),
            bucket_ms,
            covered_ms: i64::try_from(counts.len())
                .unwrap_or(i64::MAX)
                .saturating_mul(bucket_ms.max(0)),
        }
    }
}

/// One function's figures over a policy window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowStats {
    pub invocations: u64,
    /// Failed invocations of any kind (timeouts and OOMs included).
    pub errors: u64,
    pub timeouts: u64,
    pub out_of_memory: u64,
    pub cold_starts: u64,
    /// Duration statistics, ms; `None` when no invocation reported a duration.
    pub duration: Option<Dist>,
    pub max_memory_used_mb: Option<u32>,
    pub memory_size_mb: Option<u32>,
    /// Configured (or inferred) timeout.
    pub timeout_ms: Option<u64>,
    pub cost_usd: f64,
    /// Log volume, when the caller tracks it.
    pub log_lines: Option<u64>,
    pub log_bytes: Option<u64>,
    /// For [`Metric::InvocationSpike`] only.
    pub history: Option<SpikeHistory>,
}

impl WindowStats {
    /// Fill the timeout and memory size from the function's configuration where the window
    /// itself did not carry them.
    pub fn with_config(mut self, f: &super::FunctionInfo) -> WindowStats {
        self.timeout_ms = self.timeout_ms.or(f.timeout_ms);
        self.memory_size_mb = self.memory_size_mb.or(f.memory_size_mb);
        self
    }
}

impl From<&FunctionReport> for WindowStats {
    /// A report over the policy window; the timeout is the configured one, else the one
    /// inferred from timed-out invocations. A report carries log volume, so log-volume
    /// metrics evaluate on it.
    fn from(r: &FunctionReport) -> WindowStats {
        WindowStats {
            invocations: r.invocations,
            errors: r.errors,
            timeouts: r.timeouts,
            out_of_memory: r.out_of_memory,
            cold_starts: r.cold_starts,
            duration: r.duration_ms,
            max_memory_used_mb: r.max_memory_used_mb,
            memory_size_mb: r.memory_size_mb,
            timeout_ms: r.timeout_ms.or(r.inferred_timeout_ms),
            cost_usd: r.cost_usd,
            log_lines: Some(r.log_lines),
            log_bytes: Some(r.log_bytes),
            history: None,
        }
    }
}

/// The duration statistics of a sketch (see [`crate::report::dist_of`]).
pub use crate::report::dist_of;

/// Why a policy could not give a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoDataReason {
    /// A rate or a per-invocation figure over zero invocations.
    NoInvocations,
    /// A duration metric, and no invocation reported a duration.
    NoDurations,
    /// A fraction of the timeout, and the timeout is unknown (or zero).
    UnknownTimeout,
    /// A fraction of provisioned memory, and the memory size is unknown (or zero).
    UnknownMemorySize,
    /// A memory metric, and no invocation reported its memory used.
    NoMemoryData,
    /// A log-volume metric, and the caller does not track log volume.
    NoLogVolume,
    /// The spike metric without a history.
    NoHistory,
    /// The spike metric with less than [`SPIKE_MIN_HISTORY_MS`] of history.
    ShortHistory,
    /// The input gave a NaN or infinite value (a negative or non-finite cost, say).
    InvalidValue,
    /// The policy itself does not validate ([`MetricPolicy::validate`]).
    InvalidPolicy,
}

impl NoDataReason {
    pub fn as_str(self) -> &'static str {
        match self {
            NoDataReason::NoInvocations => "no invocations",
            NoDataReason::NoDurations => "no durations",
            NoDataReason::UnknownTimeout => "timeout unknown",
            NoDataReason::UnknownMemorySize => "memory size unknown",
            NoDataReason::NoMemoryData => "no memory figures",
            NoDataReason::NoLogVolume => "log volume not tracked",
            NoDataReason::NoHistory => "no invocation history",
            NoDataReason::ShortHistory => "not enough invocation history",
            NoDataReason::InvalidValue => "invalid value",
            NoDataReason::InvalidPolicy => "invalid policy",
        }
    }
}

/// The verdict of one policy on one function's window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Evaluation {
    /// The condition holds. `threshold` is absolute (for the spike metric: the policy's
    /// multiplier times the history's peak).
    Firing { value: f64, threshold: f64 },
    /// The condition does not hold.
    Ok { value: f64, threshold: f64 },
    /// No verdict: the figure cannot be computed from what the window carries.
    NoData(NoDataReason),
    /// Too few invocations in the window for a verdict.
    BelowMinimum { invocations: u64, minimum: u64 },
}

impl Evaluation {
    pub fn is_firing(&self) -> bool {
        matches!(self, Evaluation::Firing { .. })
    }
}

/// Evaluate `policy` against one function's window. Total: NaN, infinite or inconsistent
/// input gives `NoData`, never a panic. `policy.enabled` is not consulted (so a disabled rule
/// can still be dry-run); [`MetricPolicy::applies_to`] is the check for live evaluation.
///
/// Order: an invalid policy is `NoData(InvalidPolicy)`; then fewer than `min_invocations`
/// invocations is `BelowMinimum`; then a figure that cannot be computed is `NoData`; then the
/// comparison decides between `Firing` and `Ok`.
pub fn evaluate(policy: &MetricPolicy, w: &WindowStats) -> Evaluation {
    if policy.validate().is_err() {
        return Evaluation::NoData(NoDataReason::InvalidPolicy);
    }
    if w.invocations < policy.min_invocations {
        return Evaluation::BelowMinimum {
            invocations: w.invocations,
            minimum: policy.min_invocations,
        };
    }
    let (value, threshold) = match figure(policy, w) {
        Ok(v) => v,
        Err(reason) => return Evaluation::NoData(reason),
    };
    if !value.is_finite() || !threshold.is_finite() {
        return Evaluation::NoData(NoDataReason::InvalidValue);
    }
    if policy.comparison.holds(value, threshold) {
        Evaluation::Firing { value, threshold }
    } else {
        Evaluation::Ok { value, threshold }
    }
}

/// The window's value of the policy's metric, and the absolute threshold to compare it with.
fn figure(policy: &MetricPolicy, w: &WindowStats) -> Result<(f64, f64), NoDataReason> {
    let t = policy.threshold;
    let ratio = |num: u64| {
        if w.invocations == 0 {
            Err(NoDataReason::NoInvocations)
        } else {
            Ok((num as f64 / w.invocations as f64, t))
        }
    };
    let stat = || -> Result<f64, NoDataReason> {
        let d = w.duration.ok_or(NoDataReason::NoDurations)?;
        Ok(match policy.aggregation {
            Aggregation::P50 => d.p50,
            Aggregation::P95 => d.p95,
            Aggregation::P99 => d.p99,
            Aggregation::Max => d.max,
            Aggregation::Avg | Aggregation::Sum => d.avg,
        })
    };
    match policy.metric {
        Metric::Invocations => Ok((w.invocations as f64, t)),
        Metric::Errors => Ok((w.errors as f64, t)),
        Metric::Timeouts => Ok((w.timeouts as f64, t)),
        Metric::OutOfMemory => Ok((w.out_of_memory as f64, t)),
        Metric::TimeoutsOrOom => Ok((w.timeouts.saturating_add(w.out_of_memory) as f64, t)),
        Metric::ColdStarts => Ok((w.cold_starts as f64, t)),
        Metric::ErrorRate => ratio(w.errors),
        Metric::ColdStartRate => ratio(w.cold_starts),
        Metric::Duration => Ok((stat()?, t)),
        Metric::DurationFractionOfTimeout => {
            let timeout = w
                .timeout_ms
                .filter(|&ms| ms > 0)
                .ok_or(NoDataReason::UnknownTimeout)?;
            Ok((stat()? / timeout as f64, t))
        }
        Metric::MemoryFraction => {
            let size = w
                .memory_size_mb
                .filter(|&mb| mb > 0)
                .ok_or(NoDataReason::UnknownMemorySize)?;
            let used = w.max_memory_used_mb.ok_or(NoDataReason::NoMemoryData)?;
            Ok((f64::from(used) / f64::from(size), t))
        }
        Metric::Cost => match policy.aggregation {
            Aggregation::Avg => {
                if w.invocations == 0 {
                    Err(NoDataReason::NoInvocations)
                } else {
                    Ok((w.cost_usd / w.invocations as f64, t))
                }
            }
            _ => Ok((w.cost_usd, t)),
        },
        Metric::LogLines => Ok((w.log_lines.ok_or(NoDataReason::NoLogVolume)? as f64, t)),
        Metric::LogBytes => Ok((w.log_bytes.ok_or(NoDataReason::NoLogVolume)? as f64, t)),
        Metric::InvocationSpike => {
            let h = w.history.ok_or(NoDataReason::NoHistory)?;
            if h.bucket_ms <= 0 || h.covered_ms < 0 {
                return Err(NoDataReason::InvalidValue);
            }
            if h.covered_ms < SPIKE_MIN_HISTORY_MS {
                return Err(NoDataReason::ShortHistory);
            }
            let peak_per_window = if h.bucket_ms == policy.window_ms {
                h.peak as f64
            } else {
                h.peak as f64 * (policy.window_ms as f64 / h.bucket_ms as f64)
            };
            Ok((w.invocations as f64, t * peak_per_window))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{builtin_policies, INVOCATION_SPIKE};

    #[test]
    fn spike_history_edges() {
        let empty = SpikeHistory::from_counts(&[], 300_000);
        assert_eq!((empty.peak, empty.covered_ms), (0, 0));
        let negative = SpikeHistory::from_counts(&[5, 9, 2], -1);
        assert_eq!((negative.peak, negative.covered_ms), (9, 0));
        let Some(spike) = builtin_policies()
            .into_iter()
            .find(|p| p.name == INVOCATION_SPIKE)
        else {
            unreachable!("the spike built-in exists")
        };
        let w = |history| WindowStats {
            invocations: 1000,
            history: Some(history),
            ..WindowStats::default()
        };
        assert_eq!(
            evaluate(&spike, &w(empty)),
            Evaluation::NoData(NoDataReason::ShortHistory)
        );
        assert_eq!(
            evaluate(&spike, &w(negative)),
            Evaluation::NoData(NoDataReason::InvalidValue)
        );
        // A saturated history length does not overflow.
        let huge = SpikeHistory {
            peak: u64::MAX,
            bucket_ms: 1,
            covered_ms: i64::MAX,
        };
        assert!(matches!(evaluate(&spike, &w(huge)), Evaluation::Ok { .. }));
    }
}
