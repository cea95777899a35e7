//! What alerting reads and writes: error groups and their occurrences, incidents and the
//! notification outbox.

use tern_core::model::Outcome;

use crate::types::{InvocationRow, TimeRange};

/// Lifecycle of an error group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorStatus {
    /// New or recurring: alerts fire for it.
    Open,
    /// Marked fixed. An occurrence after `resolved_ms` reopens it as a regression.
    Resolved,
    /// Silenced, optionally until `muted_until_ms`; after that it reads as open.
    Muted,
}

impl ErrorStatus {
    pub const ALL: [ErrorStatus; 3] =
        [ErrorStatus::Open, ErrorStatus::Resolved, ErrorStatus::Muted];

    /// Stable name for storage and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorStatus::Open => "open",
            ErrorStatus::Resolved => "resolved",
            ErrorStatus::Muted => "muted",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorStatus> {
        ErrorStatus::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// The latest alertable event of an error group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorEvent {
    /// The group was created.
    New,
    /// A resolved group recurred.
    Regression,
}

impl ErrorEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorEvent::New => "new",
            ErrorEvent::Regression => "regression",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorEvent> {
        [ErrorEvent::New, ErrorEvent::Regression]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// A group of failures with one fingerprint (`tern_core::fingerprint`). Groups are per
/// function. Counts are of failed, complete invocations.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorGroup {
    /// The fingerprint id: 16 lowercase hex digits.
    pub id: String,
    /// The grouping version that made the fingerprint.
    pub version: u32,
    pub function: String,
    /// `tern_core::fingerprint::Basis::as_str` of what the fingerprint was built from.
    pub basis: String,
    /// The outcome of the group's first occurrence.
    pub outcome: Outcome,
    /// The error type of the latest occurrence (or the REPORT's platform error type).
    pub error_type: Option<String>,
    pub title: String,
    /// The raw message of the latest occurrence.
    pub message: Option<String>,
    pub culprit: Option<String>,
    /// The in-app frames that were hashed, rendered.
    pub frames: Vec<String>,
    /// Time of the first and latest occurrence (an invocation's REPORT time).
    pub first_ms: i64,
    pub last_ms: i64,
    /// Occurrences ever stored (raw retention does not lower it).
    pub count: u64,
    /// Occurrences within the query's range (`count` for an unbounded range).
    pub count_in_range: u64,
    /// The effective status: an expired mute reads as `Open`.
    pub status: ErrorStatus,
    /// When the status was last set.
    pub status_ms: Option<i64>,
    pub muted_until_ms: Option<i64>,
    pub resolved_ms: Option<i64>,
    pub regressions: u64,
    /// Time of the occurrence that last reopened the group.
    pub regressed_ms: Option<i64>,
    /// Store-wide sequence of the batch that created the group or last reopened it. Alerting
    /// polls groups with `event_seq` above the last one it handled.
    pub event_seq: i64,
    pub event: ErrorEvent,
}

/// Filter for listing error groups. Sorted by last occurrence, newest first.
#[derive(Debug, Clone, Default)]
pub struct ErrorQuery {
    /// Exact function names; empty means all.
    pub functions: Vec<String>,
    /// Effective status (see `now_ms`).
    pub status: Option<ErrorStatus>,
    /// Groups with occurrences in this range; `ErrorGroup::count_in_range` counts them.
    pub range: TimeRange,
    /// Only groups whose `event_seq` is greater.
    pub since_seq: Option<i64>,
    /// The time mutes expire against. `None`: every mute holds.
    pub now_ms: Option<i64>,
    /// 0 means 100.
    pub limit: usize,
}

/// Where a reader of [`Store::error_occurrences_since`](crate::Store::error_occurrences_since) is; `Default` is the beginning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OccurrenceCursor {
    pub seq: i64,
    /// Opaque to callers: a position within one sequence number.
    pub position: i64,
}

/// One failed invocation attributed to an error group.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorOccurrence {
    /// Resume after this occurrence with it.
    pub cursor: OccurrenceCursor,
    /// The group id (16 hex digits).
    pub group: String,
    pub invocation: InvocationRow,
}

/// An alert incident: one policy firing for one subject (a function name or an error group
/// id). At most one incident per (policy, subject) is open at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: i64,
    pub policy: String,
    pub subject: String,
    pub state: IncidentState,
    pub opened_ms: i64,
    /// The latest evaluation that found the policy firing.
    pub last_firing_ms: i64,
    pub resolved_ms: Option<i64>,
    /// The metric value and threshold of the latest firing evaluation.
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentState {
    Open,
    Resolved,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentState> {
        [IncidentState::Open, IncidentState::Resolved]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// What an evaluation found for one (policy, subject).
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentChange {
    /// The policy fires: open an incident, or refresh the open one.
    Firing {
        policy: String,
        subject: String,
        at_ms: i64,
        value: Option<f64>,
        threshold: Option<f64>,
        detail: Option<String>,
    },
    /// The policy no longer fires: resolve the open incident, if any.
    Clear {
        policy: String,
        subject: String,
        at_ms: i64,
    },
}

/// What [`Store::apply_incident`](crate::Store::apply_incident) did.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentApplied {
    /// A new incident; its notifications were queued.
    Opened(Incident),
    /// The open incident keeps firing: updated, nothing queued.
    Refreshed(Incident),
    /// The open incident was resolved; its notifications were queued.
    Resolved(Incident),
    /// A clear with no open incident: nothing changed.
    NotOpen,
}

/// A notification to queue. `dedupe_key` names it: queueing a key already in the outbox is a
/// no-op, and senders hand it to receivers that deduplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub dedupe_key: String,
    /// The configured channel's name.
    pub channel: String,
    /// What the channel sends (its own format, opaque to the store).
    pub payload: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    Pending,
    Sent,
    /// Failed permanently, or out of attempts: reported, not retried.
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxState> {
        [OutboxState::Pending, OutboxState::Sent, OutboxState::Failed]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// A queued notification.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub id: i64,
    pub dedupe_key: String,
    pub channel: String,
    pub payload: String,
    pub created_ms: i64,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub state: OutboxState,
    pub last_error: Option<String>,
    pub sent_ms: Option<i64>,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxMark {
    Sent,
    /// Try again at `next_attempt_ms` (see [`retry_delay_ms`]).
    Retry {
        next_attempt_ms: i64,
        error: String,
    },
    /// Give up: the destination refused for good.
    Failed {
        error: String,
    },
}

/// Backoff before retry number `attempts` (1 after the first failure): 30 s doubling, at
/// most an hour.
pub fn retry_delay_ms(attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(7);
    (30_000i64 << exp).min(3_600_000)
}

/// Filter for listing incidents. Newest (by `opened_ms`) first.
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    pub state: Option<IncidentState>,
    pub policy: Option<String>,
    /// 0 means 100.
    pub limit: usize,
}
