//! Alert rules: policy definitions, evaluation, the built-in defaults, error-policy
//! cooldowns and the incident state machine. Pure: callers pass the figures and `now_ms`;
//! storage, channels and the scheduling engine live in the other crates.
//!
//! The flow, per evaluation tick and for each (policy, function) where
//! [`MetricPolicy::applies_to`] holds:
//!
//! 1. the caller builds the function's [`WindowStats`] over `policy.window_ms` (percentiles via
//!    [`dist_of`], spike history via [`SpikeHistory::from_counts`]);
//! 2. [`evaluate`] gives an [`Evaluation`]: `Firing`, `Ok`, `NoData(reason)` or `BelowMinimum`;
//! 3. [`step`] advances the stored [`IncidentState`] and returns the [`Transition`]s to notify.
//!
//! [`dry_run`] runs 2–3 over a past series of windows. Error policies are separate: for each
//! event on an error group, [`decide`] says whether to notify given the per-group cooldown.
//! Regression policies judge a change's before/after comparison ([`judge`]).

mod builtin;
mod dry_run;
mod error;
mod eval;
mod glob;
mod incident;
mod policy;
mod regression;

pub use builtin::{
    builtin_error_policies, builtin_policies, switch_off, BUILTIN_NAMES, ERROR_RATE,
    FIVE_MINUTES_MS, INVOCATION_SPIKE, MEMORY, NEAR_TIMEOUT, NEW_ERROR, REGRESSION,
    SPIKE_LOOKBACK_MS, SPIKE_MIN_INVOCATIONS, TIMEOUT_OR_OOM,
};
pub use dry_run::{dry_run, replay, DryRun, DryRunIncident};
pub use error::{decide, ErrorDecision, GroupEvent};
pub use eval::{
    dist_of, evaluate, Evaluation, NoDataReason, SpikeHistory, WindowStats, SPIKE_MIN_HISTORY_MS,
};
pub use glob::glob_match;
pub use incident::{
    step, withdraw, Damping, IncidentState, OpenIncident, ResolveReason, Transition,
};
pub use policy::{
    Aggregation, Comparison, ErrorPolicy, ErrorTrigger, FunctionInfo, Metric, MetricPolicy,
    PolicyError, Severity, Target,
};
pub use regression::{judge, RegressionPolicy, RegressionVerdict};
