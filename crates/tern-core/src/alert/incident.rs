//! The incident state machine: one [`IncidentState`] per (policy, subject), advanced by
//! [`step`] with each evaluation.
//!
//! # Rules
//!
//! - **Open** after [`Damping::open_after`] consecutive `Firing` evaluations (default 1), with
//!   an [`Transition::Opened`]. While open, further `Firing` evaluations say nothing: no
//!   re-notification.
//! - **Resolve** (with [`Transition::Resolved`], reason [`ResolveReason::Cleared`]) once the
//!   condition has been `Ok` for at least [`Damping::resolve_after_evals`] evaluations *and*
//!   for the incident's clear period, counted from the first `Ok` after the last `Firing`. Any
//!   `Firing` evaluation restarts the count.
//! - **Flap damping by back-off.** A re-open within [`Damping::flap_window_ms`] of the previous
//!   resolve is a flap. The clear period of an incident that opened after `k` flaps in a row is
//!   `resolve_after_ms · 2^k`, capped at [`Damping::max_resolve_after_ms`]. So a condition that
//!   keeps coming back more often than the cap stays open, and one flapping episode notifies
//!   at most `1 + ⌈log2(max_resolve_after_ms / resolve_after_ms)⌉` times (5 with the
//!   defaults) before it holds open. A re-open after the flap window starts again at `k = 0`.
//! - **NoData and BelowMinimum are neutral**: they neither fire nor clear, and do not break an
//!   `Ok` streak. A silent function therefore does not resolve an incident at once (the error
//!   that stopped the traffic may still be there); instead an open incident that has seen no
//!   `Firing` evaluation for [`Damping::quiet_resolve_ms`] resolves with reason
//!   [`ResolveReason::Quiet`], so incidents do not stay open forever on a function that went
//!   idle. While closed, neutral evaluations leave the state alone.
//!
//! Every `Opened` is followed by a `Resolved` before the next `Opened`, by construction: only a
//! closed state opens and only an open one resolves. Time going backwards never panics; it
//! simply cannot complete a clear period.

use super::eval::Evaluation;

/// Damping knobs. All durations in milliseconds; negative values are treated as 0 and zero
/// counts as 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damping {
    /// Consecutive `Firing` evaluations needed to open.
    pub open_after: u32,
    /// Consecutive `Ok` evaluations needed to resolve.
    pub resolve_after_evals: u32,
    /// The base clear period.
    pub resolve_after_ms: i64,
    /// A re-open within this long of a resolve counts as a flap.
    pub flap_window_ms: i64,
    /// Cap on the backed-off clear period.
    pub max_resolve_after_ms: i64,
    /// An open incident with no `Firing` evaluation for this long resolves (`Quiet`).
    pub quiet_resolve_ms: i64,
}

impl Default for Damping {
    /// Open on the first firing evaluation; resolve after 3 OK evaluations spanning 5 minutes,
    /// doubling per flap within an hour up to an hour; resolve a silent incident after an hour.
    fn default() -> Damping {
        const MINUTE: i64 = 60 * 1000;
        Damping {
            open_after: 1,
            resolve_after_evals: 3,
            resolve_after_ms: 5 * MINUTE,
            flap_window_ms: 60 * MINUTE,
            max_resolve_after_ms: 60 * MINUTE,
            quiet_resolve_ms: 60 * MINUTE,
        }
    }
}

impl Damping {
    fn normalized(&self) -> Damping {
        let base = self.resolve_after_ms.max(0);
        Damping {
            open_after: self.open_after.max(1),
            resolve_after_evals: self.resolve_after_evals.max(1),
            resolve_after_ms: base,
            flap_window_ms: self.flap_window_ms.max(0),
            max_resolve_after_ms: self.max_resolve_after_ms.max(base),
            quiet_resolve_ms: self.quiet_resolve_ms.max(0),
        }
    }

    /// The clear period of an incident opened after `flaps` flaps in a row.
    pub fn clear_period_ms(&self, flaps: u32) -> i64 {
        let d = self.normalized();
        let factor = if flaps >= 62 { i64::MAX } else { 1i64 << flaps };
        d.resolve_after_ms
            .saturating_mul(factor)
            .min(d.max_resolve_after_ms)
    }
}

/// An open incident.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenIncident {
    pub opened_at_ms: i64,
    /// The value and threshold of the evaluation that opened it.
    pub value: f64,
    pub threshold: f64,
    pub last_firing_ms: i64,
    /// Time of the first `Ok` since the last `Firing`, if any.
    pub clear_since_ms: Option<i64>,
    /// `Ok` evaluations since the last `Firing`.
    pub ok_streak: u32,
    /// How long the condition must stay clear for this incident to resolve.
    pub clear_period_ms: i64,
}

/// The state of one (policy, subject), open or not. Kept between evaluations by the caller
/// (it is plain data so the store can persist it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncidentState {
    pub open: Option<OpenIncident>,
    /// Consecutive `Firing` evaluations while closed.
    pub fire_streak: u32,
    pub last_resolved_ms: Option<i64>,
    /// Flaps in a row: re-opens each within the flap window of the previous resolve.
    pub flaps: u32,
}

impl IncidentState {
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }
}

/// Why an incident resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResolveReason {
    /// The condition stayed clear for the clear period.
    Cleared,
    /// Nothing fired for [`Damping::quiet_resolve_ms`] (typically: no data).
    Quiet,
    /// The caller withdrew the incident (policy disabled or deleted, function gone).
    Withdrawn,
}

impl ResolveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ResolveReason::Cleared => "cleared",
            ResolveReason::Quiet => "quiet",
            ResolveReason::Withdrawn => "withdrawn",
        }
    }
}

/// A change worth a notification.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transition {
    Opened {
        at_ms: i64,
        value: f64,
        threshold: f64,
        /// Flaps in a row before this opening (0 for a fresh incident).
        flaps: u32,
    },
    Resolved {
        at_ms: i64,
        opened_at_ms: i64,
        reason: ResolveReason,
    },
}

/// Advance the state of one (policy, subject) with an evaluation made at `now_ms`.
pub fn step(
    prev: Option<&IncidentState>,
    eval: &Evaluation,
    now_ms: i64,
    damping: &Damping,
) -> (IncidentState, Vec<Transition>) {
    let d = damping.normalized();
    let mut s = prev.cloned().unwrap_or_default();
    let mut out = Vec::new();
    match s.open.as_mut() {
        None => match *eval {
            Evaluation::Firing { value, threshold } => {
                s.fire_streak = s.fire_streak.saturating_add(1);
                if s.fire_streak >= d.open_after {
                    let quick = s.last_resolved_ms.is_some_and(|r| {
                        (0..=d.flap_window_ms).contains(&now_ms.saturating_sub(r))
                    });
                    s.flaps = if quick { s.flaps.saturating_add(1) } else { 0 };
                    s.fire_streak = 0;
                    s.open = Some(OpenIncident {
                        opened_at_ms: now_ms,
                        value,
                        threshold,
                        last_firing_ms: now_ms,
                        clear_since_ms: None,
                        ok_streak: 0,
                        clear_period_ms: d.clear_period_ms(s.flaps),
                    });
                    out.push(Transition::Opened {
                        at_ms: now_ms,
                        value,
                        threshold,
                        flaps: s.flaps,
                    });
                }
            }
            Evaluation::Ok { .. } => s.fire_streak = 0,
            Evaluation::NoData(_) | Evaluation::BelowMinimum { .. } => {}
        },
        Some(o) => {
            let reason = match eval {
                Evaluation::Firing { .. } => {
                    o.last_firing_ms = now_ms;
                    o.clear_since_ms = None;
                    o.ok_streak = 0;
                    None
                }
                Evaluation::Ok { .. } => {
                    o.ok_streak = o.ok_streak.saturating_add(1);
                    let since = *o.clear_since_ms.get_or_insert(now_ms);
                    if o.ok_streak >= d.resolve_after_evals
                        && now_ms.saturating_sub(since) >= o.clear_period_ms
                    {
                        Some(ResolveReason::Cleared)
                    } else {
                        quiet(o, now_ms, &d)
                    }
                }
                Evaluation::NoData(_) | Evaluation::BelowMinimum { .. } => quiet(o, now_ms, &d),
            };
            if let Some(reason) = reason {
                let opened_at_ms = o.opened_at_ms;
                s.open = None;
                s.fire_streak = 0;
                s.last_resolved_ms = Some(now_ms);
                out.push(Transition::Resolved {
                    at_ms: now_ms,
                    opened_at_ms,
                    reason,
                });
            }
        }
    }
    (s, out)
}

fn quiet(o: &OpenIncident, now_ms: i64, d: &Damping) -> Option<ResolveReason> {
    (now_ms.saturating_sub(o.last_firing_ms) >= d.quiet_resolve_ms).then_some(ResolveReason::Quiet)
}

/// Resolve an open incident because its policy was disabled or deleted, or its subject is
/// gone. A closed state is returned unchanged, with no transition.
pub fn withdraw(prev: Option<&IncidentState>, now_ms: i64) -> (IncidentState, Vec<Transition>) {
    let mut s = prev.cloned().unwrap_or_default();
    s.fire_streak = 0;
    match s.open.take() {
        Some(o) => {
            s.last_resolved_ms = Some(now_ms);
            (
                s,
                vec![Transition::Resolved {
                    at_ms: now_ms,
                    opened_at_ms: o.opened_at_ms,
                    reason: ResolveReason::Withdrawn,
                }],
            )
        }
        None => (s, Vec::new()),
    }
}
