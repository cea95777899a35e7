//! Dry runs: what a policy would have done over a series of past windows. Powers
//! `tern alerts test RULE`.

use super::eval::{evaluate, Evaluation, WindowStats};
use super::incident::{step, Damping, IncidentState, ResolveReason, Transition};
use super::policy::{Comparison, MetricPolicy};

/// One incident the policy would have opened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DryRunIncident {
    pub opened_at_ms: i64,
    /// `None` when it would still be open at the end of the series.
    pub resolved_at_ms: Option<i64>,
    pub resolve_reason: Option<ResolveReason>,
    /// Value and threshold of the evaluation that opened it.
    pub value: f64,
    pub threshold: f64,
    /// The worst firing value while it was open (highest for `>`/`>=`, lowest for `<`/`<=`).
    pub worst_value: f64,
}

/// The outcome of a dry run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DryRun {
    pub incidents: Vec<DryRunIncident>,
    /// Every transition, in order: what would have been notified.
    pub transitions: Vec<Transition>,
    /// How the evaluations came out.
    pub firing: usize,
    pub ok: usize,
    pub no_data: usize,
    pub below_minimum: usize,
    /// The state after the last window.
    pub state: IncidentState,
}

/// Evaluate `policy` on each `(evaluation time, window)` in order (the caller sorts them by
/// time) and run the incident state machine over the results, starting closed. The policy's
/// `enabled` flag is ignored, so a disabled rule can be tried before switching it on.
pub fn dry_run(policy: &MetricPolicy, windows: &[(i64, WindowStats)], damping: &Damping) -> DryRun {
    replay(
        policy.comparison,
        windows.iter().map(|(at, w)| (*at, evaluate(policy, w))),
        damping,
    )
}

/// As [`dry_run`], from evaluations already made.
pub fn replay<I>(comparison: Comparison, evaluations: I, damping: &Damping) -> DryRun
where
    I: IntoIterator<Item = (i64, Evaluation)>,
{
    let mut run = DryRun::default();
    let mut state: Option<IncidentState> = None;
    for (at, eval) in evaluations {
        match eval {
            Evaluation::Firing { value, .. } => {
                run.firing += 1;
                if let Some(open) = run
                    .incidents
                    .last_mut()
                    .filter(|i| i.resolved_at_ms.is_none())
                {
                    let worse = match comparison {
                        Comparison::Gt | Comparison::Ge => value > open.worst_value,
                        Comparison::Lt | Comparison::Le => value < open.worst_value,
                    };
                    if worse {
                        open.worst_value = value;
                    }
                }
            }
            Evaluation::Ok { .. } => run.ok += 1,
            Evaluation::NoData(_) => run.no_data += 1,
            Evaluation::BelowMinimum { .. } => run.below_minimum += 1,
        }
        let (next, transitions) = step(state.as_ref(), &eval, at, damping);
        for t in &transitions {
            match *t {
                Transition::Opened {
                    at_ms,
                    value,
                    threshold,
                    ..
                } => run.incidents.push(DryRunIncident {
                    opened_at_ms: at_ms,
                    resolved_at_ms: None,
                    resolve_reason: None,
                    value,
                    threshold,
                    worst_value: value,
                }),
                Transition::Resolved { at_ms, reason, .. } => {
                    if let Some(open) = run.incidents.last_mut() {
                        open.resolved_at_ms = Some(at_ms);
                        open.resolve_reason = Some(reason);
                    }
                }
            }
        }
        run.transitions.extend(transitions);
        state = Some(next);
    }
    run.state = state.unwrap_or_default();
    run
}
