//! Error policies: whether an event on an error group notifies, given the per-group cooldown.
//!
//! The caller keeps, per (policy, group), the time of the last notification it sent, and asks
//! [`decide`] for each event. Muted groups are the caller's business (it knows the status);
//! they never reach this function.

use super::policy::{ErrorPolicy, ErrorTrigger};

/// What just happened to an error group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupEvent {
    /// The group was created by this occurrence.
    New,
    /// The group was resolved and this occurrence reopened it.
    Regression,
    /// Any other occurrence of an open group.
    Occurrence,
}

/// The answer for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorDecision {
    Notify,
    /// The policy does not react to this kind of event.
    NotTriggered,
    /// The policy is switched off.
    Disabled,
    /// The group was notified less than the cooldown ago; the next notification can go out at
    /// `until_ms`.
    CoolingDown {
        until_ms: i64,
    },
}

impl ErrorTrigger {
    /// Does a policy with this trigger react to the event? `EveryOccurrence` reacts to all of
    /// them, new groups and regressions included.
    pub fn reacts_to(self, event: GroupEvent) -> bool {
        match self {
            ErrorTrigger::NewGroup => event == GroupEvent::New,
            ErrorTrigger::Regression => event == GroupEvent::Regression,
            ErrorTrigger::EveryOccurrence => true,
        }
    }
}

/// Should `event` on a group notify under `policy`, given when this policy last notified for
/// this group? A negative cooldown counts as none. If the clock went backwards (`now_ms`
/// before `last_notified_ms`), a positive cooldown holds: better one missed repeat than a
/// burst.
pub fn decide(
    policy: &ErrorPolicy,
    event: GroupEvent,
    last_notified_ms: Option<i64>,
    now_ms: i64,
) -> ErrorDecision {
    if !policy.enabled {
        return ErrorDecision::Disabled;
    }
    if !policy.on.reacts_to(event) {
        return ErrorDecision::NotTriggered;
    }
    let cooldown = policy.cooldown_ms.max(0);
    match last_notified_ms {
        Some(last) if cooldown > 0 && now_ms.saturating_sub(last) < cooldown => {
            ErrorDecision::CoolingDown {
                until_ms: last.saturating_add(cooldown),
            }
        }
        _ => ErrorDecision::Notify,
    }
}
