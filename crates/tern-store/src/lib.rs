//! Tern's storage boundary.
//!
//! [`Store`] speaks in domain terms (invocation parts in, function statistics out), never in
//! SQL strings, so the SQLite and ClickHouse backends answer the same questions. Every backend runs the one conformance suite in [`conformance`].
//!
//! **Architecture Invariant:** ingest is idempotent. Storing the same parts twice changes
//! nothing: invocations are keyed by (log group, log stream, request id), log lines are
//! deduplicated by event id (or time and text), and rollups only count an invocation once, when
//! its REPORT is first stored.

use std::sync::Arc;

use tern_core::model::{ErrorInfo, InvocationPart, LogLine, Outcome};
use tern_core::sketch::Sketch;

pub mod backend;
pub mod clickhouse;
pub mod conformance;
pub mod sqlite;

pub use backend::{ClickHouseConfig, StoreBackend};
pub use clickhouse::ClickHouseStore;
pub use sqlite::SqliteStore;

/// The errors a caller can act on. Backend-specific detail is in the message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or is not a Tern database.
    #[error("cannot open store at {path}: {message}")]
    Open { path: String, message: String },
    /// The database was written by a newer Tern (schema version too high).
    #[error("store schema version {found} is newer than this Tern supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    /// Stored data could not be decoded (corrupt blob, bad sketch).
    #[error("corrupt data in store: {0}")]
    Corrupt(String),
    #[error("store error: {0}")]
    Backend(String),
}

pub use tern_core::model::Arch;

/// What is known about a function beyond its logs: set by `tern ingest --region/--arch` and
/// by the AWS inventory (`ListFunctions`). `None` fields leave the stored value unchanged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunctionMeta {
    pub function: String,
    pub region: Option<String>,
    pub arch: Option<Arch>,
    pub timeout_ms: Option<u64>,
    pub runtime: Option<String>,
    pub memory_size_mb: Option<u32>,
    /// The account (or configured account name) the inventory found it in.
    pub account: Option<String>,
    pub function_arn: Option<String>,
    pub ephemeral_storage_mb: Option<u32>,
    /// The log group its logs go to (`LoggingConfig.LogGroup`, default `/aws/lambda/NAME`).
    pub log_group: Option<String>,
    /// `Text` or `JSON` (`LoggingConfig.LogFormat`).
    pub log_format: Option<String>,
    /// `LastModified` as AWS returns it (ISO 8601).
    pub last_modified: Option<String>,
    /// Tags, sorted by key. `Some(vec![])` clears stored tags; `None` keeps them.
    pub tags: Option<Vec<(String, String)>>,
    /// When an inventory last listed the function (epoch ms). Functions listed by an
    /// inventory are reported even when they have no invocations.
    pub inventory_ms: Option<i64>,
    /// Retention of the function's log group in days (DescribeLogGroups `retentionInDays`).
    /// `Some(0)`: the group exists and never expires (AWS leaves `retentionInDays` out);
    /// `None`: unknown (no inventory, or the group was not found), and a stored value is kept.
    pub log_retention_days: Option<u32>,
}

/// A named position of a live source (a log group's pull progress, for example), stored in
/// the same transaction as the data read up to it: after a crash, the data and the position
/// agree. The value is opaque to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub key: String,
    pub value: String,
    /// When it was written (epoch ms), as the writer says.
    pub updated_ms: i64,
}

/// Ages after which data is deleted (epoch-ms cutoffs: data older than the cutoff goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// Invocations, their log lines and unattributed stream lines with a time before this.
    /// Parts older than the cutoff that arrive later are dropped, so a late re-ingest cannot
    /// count an invocation twice in the rollups.
    pub raw_before_ms: Option<i64>,
    /// Hourly and daily rollups of buckets that end before this.
    pub rollups_before_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionStats {
    pub invocations: u64,
    pub stream_chunks: u64,
    pub rollup_rows: u64,
}

/// What [`Store::delete_function`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeleteStats {
    pub invocations: u64,
    /// Blocks of log lines outside any invocation.
    pub stream_chunks: u64,
    pub rollup_rows: u64,
    pub error_groups: u64,
    pub environments: u64,
    /// The function itself is gone (a whole delete of a stored function).
    pub function: bool,
}

/// What [`Store::seal`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SealStats {
    /// Partitions (days of stored data) aggregated into sealed rows in this call.
    pub partitions: u64,
    /// Sealed rows written (per function and hour, and per function and environment).
    pub rows: u64,
}

/// Log lines that could not be attributed to any invocation (for example init output in a
/// stream whose first invocation has not arrived yet). Kept for the invocation log view.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamLines {
    pub function: String,
    pub log_group: Arc<str>,
    pub log_stream: Arc<str>,
    pub lines: Vec<LogLine>,
}

/// One unit of ingest, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct IngestBatch {
    pub parts: Vec<InvocationPart>,
    pub stream_lines: Vec<StreamLines>,
    pub functions: Vec<FunctionMeta>,
    /// Written in the same transaction as the data.
    pub checkpoints: Vec<Checkpoint>,
}

impl IngestBatch {
    /// The parts and unattributed lines an assembler handed out (its diagnostics are the
    /// caller's to report).
    pub fn assembled(a: tern_core::assemble::Assembled) -> IngestBatch {
        IngestBatch {
            parts: a.parts,
            stream_lines: a
                .orphans
                .into_iter()
                .map(|o| StreamLines {
                    function: o.function,
                    log_group: o.log_group,
                    log_stream: o.log_stream,
                    lines: o.lines,
                })
                .collect(),
            ..IngestBatch::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
            && self.stream_lines.is_empty()
            && self.functions.is_empty()
            && self.checkpoints.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestStats {
    /// Invocations stored for the first time.
    pub inserted: u64,
    /// Parts merged into an invocation already stored (something new was learned).
    pub merged: u64,
    /// Parts that taught the store nothing new (re-ingest of the same data).
    pub unchanged: u64,
    /// Parts dropped because they are older than the raw-data retention cutoff.
    pub expired: u64,
    /// Invocations whose REPORT was stored in this batch (they now count in rollups).
    pub completed: u64,
}

/// A time range, epoch ms, `from` inclusive and `to` exclusive. `None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl TimeRange {
    pub fn all() -> TimeRange {
        TimeRange::default()
    }

    pub fn contains(&self, t: i64) -> bool {
        self.from_ms.is_none_or(|f| t >= f) && self.to_ms.is_none_or(|e| t < e)
    }
}

/// Usage in one calendar month (UTC), for tiered pricing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MonthUsage {
    /// `YYYYMM`, e.g. 202611.
    pub month: u32,
    pub requests: u64,
    /// Σ billed ms / 1000 × memory MB / 1024 (billed restore duration included).
    pub gb_seconds: f64,
}

/// Per-function statistics over a time range, from rollups. An invocation belongs to the
/// range by its REPORT time.
#[derive(Debug, Clone, Default)]
pub struct FunctionStats {
    pub function: String,
    pub meta: FunctionMeta,
    pub invocations: u64,
    /// Every invocation whose outcome is not success (CloudWatch's Errors).
    pub errors: u64,
    /// Count per outcome, indexed by `Outcome::code()`.
    pub outcomes: [u64; 6],
    pub cold_starts: u64,
    /// Duration (ms) of every invocation.
    pub duration: Sketch,
    /// Init duration (ms) of cold starts.
    pub init: Sketch,
    /// Σ Billed Duration (ms), as reported (plus billed restore duration).
    pub billed_duration_ms: f64,
    /// Σ billed GB-seconds, with each invocation's own memory size.
    pub gb_seconds: f64,
    /// Usage by month, for tiers.
    pub months: Vec<MonthUsage>,
    /// Memory Size of the most recent invocation in the range.
    pub memory_size_mb: Option<u32>,
    pub max_memory_used_mb: Option<u32>,
    /// Invocations with a duration over 20 s.
    pub over_20s: u64,
    /// Distinct execution environments (log streams) that served invocations in the range.
    pub environments: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Log lines stored in the range, of invocations complete or not and unattributed stream
    /// lines, each counted once however often it was ingested. An invocation's lines belong
    /// to the range by the invocation's time (REPORT time, else start, else its first line);
    /// a chunk of stream lines by the time of its first line.
    pub log_lines: u64,
    /// The UTF-8 bytes of those lines' messages.
    pub log_bytes: u64,
}

impl FunctionStats {
    pub fn outcome(&self, o: Outcome) -> u64 {
        self.outcomes[o.code() as usize]
    }
}

/// Filter for listing invocations. Newest first.
#[derive(Debug, Clone, Default)]
pub struct InvocationQuery {
    /// Exact function names; empty means all.
    pub functions: Vec<String>,
    pub outcome: Option<Outcome>,
    pub cold: Option<bool>,
    pub request_id: Option<String>,
    pub range: TimeRange,
    pub limit: usize,
}

/// One stored invocation (without its log lines).
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationRow {
    pub function: String,
    pub log_group: String,
    pub log_stream: String,
    pub request_id: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub version: Option<String>,
    pub outcome: Outcome,
    /// Whether the REPORT has been stored (incomplete invocations are still listed).
    pub complete: bool,
    pub cold_start: bool,
    pub duration_ms: Option<f64>,
    pub billed_duration_ms: Option<f64>,
    pub memory_size_mb: Option<u32>,
    pub max_memory_used_mb: Option<u32>,
    pub init_duration_ms: Option<f64>,
    pub status: Option<String>,
    pub error_type: Option<String>,
    pub error: Option<ErrorInfo>,
    pub xray_trace_id: Option<String>,
    pub runtime_version: Option<String>,
}

/// An execution environment (log stream) and how many invocations it served.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentRow {
    pub function: String,
    pub log_stream: String,
    pub invocations: u64,
    pub cold_starts: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub runtime_version: Option<String>,
}

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

/// Where a reader of [`Store::error_occurrences_since`] is; `Default` is the beginning.
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

/// What [`Store::apply_incident`] did.
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

/// One `tern tune` run: a function invoked at several memory sizes (and architectures), with
/// what was measured at each. Keyed by (function, started_ms): storing a run again replaces it.
#[derive(Debug, Clone, PartialEq)]
pub struct TuningRun {
    pub function: String,
    /// The region whose prices `cost_usd` uses.
    pub region: String,
    pub started_ms: i64,
    pub finished_ms: i64,
    /// The configuration found before tuning (and restored after it).
    pub original_memory_mb: u32,
    pub original_arch: Arch,
    /// Invocations planned per memory size.
    pub invocations_per_size: u32,
    /// Every measured invocation was forced onto a new execution environment.
    pub cold_starts_only: bool,
    /// What was sent: `none`, a file name, or `weighted:FILE`.
    pub payload: String,
    /// False when the run was interrupted: some sizes may be missing.
    pub complete: bool,
    /// The memory size `--apply` set, if any.
    pub applied_memory_mb: Option<u32>,
    /// Sorted by (arch, memory): x86_64 first, then arm64.
    pub points: Vec<TuningPoint>,
}

/// What one memory size (and architecture) measured. Durations are the REPORT's `Duration`
/// of the invocations that succeeded; they are `None` when none did.
#[derive(Debug, Clone, PartialEq)]
pub struct TuningPoint {
    pub memory_mb: u32,
    pub arch: Arch,
    /// Successful invocations measured.
    pub invocations: u32,
    /// Invocations that failed (function error, throttled out, no REPORT).
    pub errors: u32,
    /// Measured invocations with an `Init Duration`.
    pub cold_starts: u32,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Mean without the top and bottom 10%.
    pub trimmed_mean_ms: Option<f64>,
    /// Mean of `Billed Duration` without the top and bottom 10%.
    pub billed_mean_ms: Option<f64>,
    pub init_p50_ms: Option<f64>,
    pub max_memory_used_mb: Option<u32>,
    /// Cost of one invocation (cost engine: GB-s at the region's first-tier price plus the
    /// request fee), from `billed_mean_ms`.
    pub cost_usd: Option<f64>,
    /// Why the size failed, or the first invocation error.
    pub error: Option<String>,
}

/// An operator's note that something changed (`tern mark`, `POST /api/v1/markers`),
/// for example a deploy a CI pipeline records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// Assigned by the store, increasing.
    pub id: i64,
    pub function: String,
    /// When the change happened, epoch ms.
    pub at_ms: i64,
    pub note: String,
    /// When it was recorded, epoch ms.
    pub created_ms: i64,
}

/// A lease: `holder` may do the job `name` names until `expires_ms` (epoch ms).
/// See [`Store::try_lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub expires_ms: i64,
}

/// Longest lease name or holder id, in bytes.
pub const MAX_LEASE_ID: usize = 200;

/// Check the arguments of a lease call, the same way for every backend: a name and a holder
/// of 1 to [`MAX_LEASE_ID`] bytes without control characters, and a positive time to live.
/// `delete_function`'s `before_ms`, checked the same on every backend: a partial delete ends
/// at a UTC midnight, so that whole days of statistics go with it.
pub(crate) fn check_delete_before(before_ms: Option<i64>) -> Result<(), StoreError> {
    match before_ms {
        Some(t) if t.rem_euclid(86_400_000) != 0 => Err(StoreError::Backend(format!(
            "a partial delete ends at a UTC midnight (got {t} ms)"
        ))),
        _ => Ok(()),
    }
}

pub fn check_lease_args(name: &str, holder: &str, ttl_ms: i64) -> Result<(), StoreError> {
    for (what, v) in [("lease name", name), ("lease holder", holder)] {
        if v.is_empty() || v.len() > MAX_LEASE_ID || v.chars().any(char::is_control) {
            return Err(StoreError::Backend(format!(
                "{what} {v:?}: use 1 to {MAX_LEASE_ID} bytes without control characters"
            )));
        }
    }
    if ttl_ms <= 0 {
        return Err(StoreError::Backend(format!(
            "lease time to live of {ttl_ms} ms is not positive"
        )));
    }
    Ok(())
}

/// When one value of one attribute of a function was first and last seen: version,
/// memory size and runtime version from complete invocations (by their time, REPORT else
/// start), architecture and `LastModified` from the inventory. Kept at ingest, in the batch's
/// transaction; first-seen is the minimum and last-seen the maximum over everything ingested,
/// so the order and repetition of batches never change them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSeen {
    pub function: String,
    pub seen: tern_core::impact::Seen,
}

/// The change points of one function (or every function), oldest first, at or after
/// `since_ms`: [`tern_core::impact::changes_of`] over [`Store::values_seen`], as
/// (function, change). Markers are not included (see [`Store::markers`]).
pub fn changes<S: Store + ?Sized>(
    store: &S,
    function: Option<&str>,
    since_ms: i64,
) -> Result<Vec<(String, tern_core::impact::Change)>, StoreError> {
    let all = store.values_seen(function)?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let name = &all[i].function;
        let end = all[i..]
            .iter()
            .position(|v| &v.function != name)
            .map_or(all.len(), |n| i + n);
        let seen: Vec<tern_core::impact::Seen> =
            all[i..end].iter().map(|v| v.seen.clone()).collect();
        out.extend(
            tern_core::impact::changes_of(&seen)
                .into_iter()
                .filter(|c| c.at_ms >= since_ms)
                .map(|c| (name.clone(), c)),
        );
        i = end;
    }
    Ok(out)
}

/// One (function, version, memory size) over a time range: what the memory advice needs of
/// it ([`tern_core::recommend::SizeSummary::from_sketches`]). Complete invocations with a
/// Memory Size only; an invocation belongs to the range by its time, as in
/// [`FunctionStats`]. The architecture is not in the logs: it is the function's (inventory,
/// else x86_64), as every invocation of the function is priced.
#[derive(Debug, Clone, Default)]
pub struct SizeStats {
    pub function: String,
    /// `$LATEST` or a published version; `None` when the logs did not say.
    pub version: Option<String>,
    pub counts: tern_core::recommend::SummaryCounts,
    /// Duration (ms) of every invocation.
    pub duration: Sketch,
    /// Init duration (ms) of cold starts.
    pub init: Sketch,
}

impl SizeStats {
    /// The engine's summary of this size.
    pub fn summary(&self) -> tern_core::recommend::SizeSummary {
        let mut s = tern_core::recommend::SizeSummary::from_sketches(
            self.counts,
            &self.duration,
            &self.init,
        );
        s.version = self.version.clone();
        s
    }
}

/// [`Store::size_stats`] from [`Store::invocations`], per function: correct for any backend,
/// and a pass over every invocation in the range. Sorted by function, version, memory size.
pub fn size_stats_by_rows<S: Store + ?Sized>(
    store: &S,
    functions: &[String],
    range: TimeRange,
) -> Result<Vec<SizeStats>, StoreError> {
    let metas = store.functions()?;
    let mut out = Vec::new();
    for meta in metas {
        if !functions.is_empty() && !functions.contains(&meta.function) {
            continue;
        }
        let rows = store.invocations(&InvocationQuery {
            functions: vec![meta.function.clone()],
            range,
            // Every row: `usize::MAX` would not fit a signed SQL LIMIT.
            limit: i64::MAX as usize,
            ..InvocationQuery::default()
        })?;
        let arch = meta.arch.unwrap_or(Arch::X86_64);
        let mut by: std::collections::BTreeMap<(Option<String>, u32), SizeStats> =
            std::collections::BTreeMap::new();
        for r in rows.iter().filter(|r| r.complete) {
            let Some(memory_mb) = r.memory_size_mb else {
                continue;
            };
            let version = r.version.clone().filter(|v| !v.is_empty());
            let e = by
                .entry((version.clone(), memory_mb))
                .or_insert_with(|| SizeStats {
                    function: meta.function.clone(),
                    version,
                    counts: tern_core::recommend::SummaryCounts {
                        memory_mb,
                        arch,
                        ..Default::default()
                    },
                    ..SizeStats::default()
                });
            let c = &mut e.counts;
            let t = r.end_ms.or(r.start_ms);
            c.invocations += 1;
            c.errors += u64::from(r.outcome != Outcome::Success);
            c.cold_starts += u64::from(r.cold_start);
            c.cold_failures += u64::from(r.cold_start && r.outcome != Outcome::Success);
            c.timeouts += u64::from(r.outcome == Outcome::Timeout);
            c.oom_kills += u64::from(r.outcome == Outcome::OutOfMemory);
            c.billed_total_ms += r
                .billed_duration_ms
                .filter(|b| b.is_finite())
                .unwrap_or(0.0);
            c.max_used_mb = c.max_used_mb.max(r.max_memory_used_mb);
            c.first_ms = match (c.first_ms, t) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            c.last_ms = c.last_ms.max(t);
            e.duration.add(r.duration_ms.unwrap_or(0.0));
            if r.cold_start {
                if let Some(i) = r.init_duration_ms {
                    e.init.add(i);
                }
            }
        }
        out.extend(by.into_values());
    }
    Ok(out)
}

/// One function in a [`Store::fleet`] answer: its statistics over the range and the same
/// range cut into buckets (the dashboard's sparklines).
#[derive(Debug, Clone, Default)]
pub struct FleetRow {
    pub stats: FunctionStats,
    /// One entry per bucket of [`fleet_buckets`], empty ones included.
    pub buckets: Vec<FleetBucket>,
}

/// A function's figures in one bucket of a [`Store::fleet`] answer.
#[derive(Debug, Clone, Default)]
pub struct FleetBucket {
    pub invocations: u64,
    pub errors: u64,
    /// Duration (ms) of every invocation in the bucket.
    pub duration: Sketch,
}

/// Most buckets one [`Store::fleet`] call cuts each function's range into: sparklines are small.
pub const MAX_FLEET_BUCKETS: i64 = 400;

/// The buckets of a [`Store::fleet`] call: `[start, end)` pairs aligned to multiples of
/// `bucket_ms` since the epoch, the first and last cut at the range's edges. An error for an
/// unbounded or empty range, a bucket that is not positive, or more than
/// [`MAX_FLEET_BUCKETS`].
pub fn fleet_buckets(range: TimeRange, bucket_ms: i64) -> Result<Vec<(i64, i64)>, StoreError> {
    let (from, to) = match (range.from_ms, range.to_ms) {
        (Some(f), Some(t)) if f < t => (f, t),
        _ => {
            return Err(StoreError::Backend(
                "buckets need a bounded, non-empty range".into(),
            ))
        }
    };
    if bucket_ms <= 0 {
        return Err(StoreError::Backend(format!(
            "bucket of {bucket_ms} ms is not positive"
        )));
    }
    let first = from.div_euclid(bucket_ms);
    let last = (to - 1).div_euclid(bucket_ms);
    if last - first + 1 > MAX_FLEET_BUCKETS {
        return Err(StoreError::Backend(format!(
            "{} buckets requested; at most {MAX_FLEET_BUCKETS}",
            last - first + 1
        )));
    }
    Ok((first..=last)
        .map(|k| {
            let start = k.saturating_mul(bucket_ms).max(from);
            let end = (k + 1).saturating_mul(bucket_ms).min(to);
            (start, end)
        })
        .collect())
}

/// [`Store::fleet`] from `function_stats`: the range once for every function, then each
/// reported function's buckets one by one. Correct for any backend; slow for a large fleet.
pub fn fleet_by_stats<S: Store + ?Sized>(
    store: &S,
    range: TimeRange,
    bucket_ms: Option<i64>,
) -> Result<Vec<FleetRow>, StoreError> {
    let buckets = match bucket_ms {
        Some(b) => fleet_buckets(range, b)?,
        None => Vec::new(),
    };
    let stats = store.function_stats(&[], range)?;
    let mut out = Vec::with_capacity(stats.len());
    for s in stats {
        let names = [s.function.clone()];
        let mut row = Vec::with_capacity(buckets.len());
        for &(from, to) in &buckets {
            let r = TimeRange {
                from_ms: Some(from),
                to_ms: Some(to),
            };
            let b = store.function_stats(&names, r)?.into_iter().next();
            row.push(b.map_or_else(FleetBucket::default, |b| FleetBucket {
                invocations: b.invocations,
                errors: b.errors,
                duration: b.duration,
            }));
        }
        out.push(FleetRow {
            stats: FunctionStats {
                environments: 0,
                ..s
            },
            buckets: row,
        });
    }
    Ok(out)
}

impl InvocationRow {
    /// The listing form of a stored part (both backends).
    pub(crate) fn from_part(p: InvocationPart) -> InvocationRow {
        let rep = p.report.as_ref();
        InvocationRow {
            outcome: p.outcome(),
            complete: rep.is_some(),
            cold_start: p.is_cold(),
            duration_ms: rep.map(|r| r.duration_ms),
            billed_duration_ms: rep.and_then(|r| r.billed_duration_ms),
            memory_size_mb: rep.and_then(|r| r.memory_size_mb),
            max_memory_used_mb: rep.and_then(|r| r.max_memory_used_mb),
            init_duration_ms: p.init_duration_ms(),
            status: rep.and_then(|r| r.status.clone()),
            error_type: rep.and_then(|r| r.error_type.clone()),
            xray_trace_id: rep.and_then(|r| r.xray_trace_id.clone()),
            function: p.function,
            log_group: p.log_group.to_string(),
            log_stream: p.log_stream.to_string(),
            request_id: p.request_id,
            start_ms: p.start_ms,
            end_ms: p.end_ms,
            version: p.version,
            error: p.error,
            runtime_version: p.runtime_version,
        }
    }
}

/// One function's execution environments, summarised for a range ([`Store::environment_summaries`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnvironmentSummary {
    pub function: String,
    /// Environments that served invocations and were last used inside the range.
    pub environments: u64,
    /// Invocations those environments served (over their whole life).
    pub invocations: u64,
    /// Their lifetimes (last − first use, ms; 0 when unknown), ascending.
    pub lifetimes_ms: Vec<i64>,
    /// The runtime versions its environments reported (at any time), most invocations first.
    pub runtime_versions: Vec<String>,
}

/// [`Store::environment_summaries`] from [`Store::environments`] per function: correct for any
/// backend. Functions with no environment in range and no runtime version are left out.
pub fn environment_summaries_by_rows<S: Store + ?Sized>(
    store: &S,
    range: TimeRange,
) -> Result<Vec<EnvironmentSummary>, StoreError> {
    let mut out = Vec::new();
    for m in store.functions()? {
        let envs = store.environments(&m.function)?;
        out.extend(summarise_environments(&m.function, &envs, range));
    }
    out.sort_by(|a, b| a.function.cmp(&b.function));
    Ok(out)
}

/// One function's [`EnvironmentSummary`] for `range` from its [`Store::environments`] rows
/// (in that order); `None` when it has no environment in range and no runtime version.
pub fn summarise_environments(
    function: &str,
    envs: &[EnvironmentRow],
    range: TimeRange,
) -> Option<EnvironmentSummary> {
    let mut sum = EnvironmentSummary {
        function: function.to_string(),
        ..EnvironmentSummary::default()
    };
    for e in envs {
        if e.invocations > 0 && e.last_ms.is_some_and(|t| range.contains(t)) {
            sum.environments += 1;
            sum.invocations += e.invocations;
            sum.lifetimes_ms.push(match (e.first_ms, e.last_ms) {
                (Some(a), Some(b)) => (b - a).max(0),
                _ => 0,
            });
        }
    }
    sum.lifetimes_ms.sort_unstable();
    let mut versions: Vec<(String, u64)> = Vec::new();
    for e in envs {
        if let Some(v) = &e.runtime_version {
            match versions.iter_mut().find(|(x, _)| x == v) {
                Some((_, n)) => *n += e.invocations,
                None => versions.push((v.clone(), e.invocations)),
            }
        }
    }
    versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sum.runtime_versions = versions.into_iter().map(|(v, _)| v).collect();
    (sum.environments > 0 || !sum.runtime_versions.is_empty()).then_some(sum)
}

/// The storage boundary. Implementations must be safe to call from one thread at a time;
/// the binary owns one store per process.
pub trait Store: Send {
    /// Store a batch in one transaction: insert new invocations, merge parts into stored ones,
    /// update rollups, environments and function metadata. Idempotent.
    fn ingest(&mut self, batch: &IngestBatch) -> Result<IngestStats, StoreError>;

    /// All known function names, sorted.
    fn functions(&self) -> Result<Vec<FunctionMeta>, StoreError>;

    /// Per-function statistics over `range` for the named functions (empty: all functions
    /// with data in range). Sorted by function name.
    fn function_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<FunctionStats>, StoreError>;

    fn invocations(&self, q: &InvocationQuery) -> Result<Vec<InvocationRow>, StoreError>;

    /// The log lines of one invocation, in time order: its own lines, plus unattributed lines
    /// of its stream that fall between its start and end.
    fn invocation_logs(
        &self,
        log_group: &str,
        log_stream: &str,
        request_id: &str,
    ) -> Result<Vec<LogLine>, StoreError>;

    /// Execution environments of a function, most invocations first.
    fn environments(&self, function: &str) -> Result<Vec<EnvironmentRow>, StoreError>;

    /// Every function's environments last used in `range`, summarised (the reuse insight),
    /// sorted by function. Backends answer it in one pass where they can; the default asks
    /// [`Store::environments`] per function ([`environment_summaries_by_rows`]).
    fn environment_summaries(
        &self,
        range: TimeRange,
    ) -> Result<Vec<EnvironmentSummary>, StoreError> {
        environment_summaries_by_rows(self, range)
    }

    /// Per (function, version, memory size) statistics over `range` for the named functions
    /// (empty: every function), sorted by function, version and memory size: what the memory
    /// advice reads. The default computes them from every invocation row in the range
    /// ([`size_stats_by_rows`]); SQLite keeps them per hour and day at ingest.
    fn size_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<SizeStats>, StoreError> {
        size_stats_by_rows(self, functions, range)
    }

    /// Earliest and latest REPORT time stored, if any.
    fn time_bounds(&self) -> Result<Option<(i64, i64)>, StoreError>;

    /// Checkpoints whose key starts with `prefix`, sorted by key.
    fn checkpoints(&self, prefix: &str) -> Result<Vec<Checkpoint>, StoreError>;

    /// One function's statistics per bucket of `bucket_ms`, over a bounded range: one entry
    /// per bucket start (`from`, `from + bucket`, …), buckets without data included (zeroes).
    /// The last bucket is cut at `range.to_ms`.
    fn series(
        &self,
        function: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, FunctionStats)>, StoreError> {
        series_by_stats(self, function, range, bucket_ms)
    }

    /// Every function `function_stats(&[], range)` reports, with the same statistics, each
    /// with its range cut into the buckets of [`fleet_buckets`] (`bucket_ms` of `None`: no
    /// buckets). Sorted by function name. Rows carry no environment count (0), as series
    /// entries. The dashboard's one read for the whole fleet; backends answer it in one pass
    /// over their rollups where they can.
    fn fleet(&self, range: TimeRange, bucket_ms: Option<i64>) -> Result<Vec<FleetRow>, StoreError> {
        fleet_by_stats(self, range, bucket_ms)
    }

    /// Invocations per bucket over a bounded range, as [`Store::fleet`]'s buckets count them,
    /// without the statistics (the spike insight's one read). Every function with invocations
    /// in the range is there, sorted by name; one without may be left out (all zero).
    fn fleet_counts(
        &self,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        Ok(self
            .fleet(range, Some(bucket_ms))?
            .into_iter()
            .map(|r| {
                let counts = r.buckets.iter().map(|b| b.invocations).collect();
                (r.stats.function, counts)
            })
            .collect())
    }

    /// Delete data older than the cutoffs, and remember the raw cutoff so that older parts
    /// arriving later are dropped.
    fn apply_retention(&mut self, retention: Retention) -> Result<RetentionStats, StoreError>;

    /// Delete one function's data: all of it (`before_ms` of `None`), or its invocations, log
    /// lines, statistics and error occurrences before `before_ms`, which must be a UTC
    /// midnight (daily statistics cannot be split). Error groups' totals drop by what was
    /// deleted, so ingesting the same logs again restores exactly what was there. A function
    /// that is not stored deletes nothing.
    fn delete_function(
        &mut self,
        function: &str,
        before_ms: Option<i64>,
    ) -> Result<DeleteStats, StoreError>;

    /// Aggregate stored data that should no longer change (as of `now_ms`) into sealed rows
    /// that queries read instead of the raw rows; data arriving later for a sealed part makes
    /// it raw again until the next call. Results never depend on whether or when this runs:
    /// it only makes reads cheaper. Idempotent, safe to run from several processes at once.
    /// Backends that keep rollups at write time (SQLite) have nothing to do.
    fn seal(&mut self, now_ms: i64) -> Result<SealStats, StoreError> {
        let _ = now_ms;
        Ok(SealStats::default())
    }

    // --- Error groups. Ingest fills them: every failed, complete invocation is one
    // occurrence of the group its fingerprint names. `id`s are 16-hex fingerprint ids; a
    // malformed id reads as unknown.

    /// Groups matching `q`, latest occurrence first.
    fn error_groups(&self, q: &ErrorQuery) -> Result<Vec<ErrorGroup>, StoreError>;

    /// One group (its `count_in_range` is its `count`); mutes expire against `now_ms`.
    fn error_group(&self, id: &str, now_ms: Option<i64>) -> Result<Option<ErrorGroup>, StoreError>;

    /// Occurrences per bucket over a bounded range, one entry per bucket start, empty buckets
    /// included. Hour granularity: an hour's occurrences land in the bucket holding its start.
    fn error_series(
        &self,
        id: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError>;

    /// The group's latest stored occurrences, newest first (fetch logs with
    /// [`Store::invocation_logs`]).
    fn error_samples(&self, id: &str, limit: usize) -> Result<Vec<InvocationRow>, StoreError>;

    /// Set a group's status at `now_ms`. `muted_until_ms` applies to `Muted` only (`None`:
    /// until unmuted). Resolving records `resolved_ms = now_ms`. `false` if there is no such
    /// group.
    fn set_error_status(
        &mut self,
        id: &str,
        status: ErrorStatus,
        muted_until_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Occurrences stored after `after`, in storage order, at most `limit` (0 means 100). An
    /// occurrence whose invocation moves to another group (late error lines) is reported again
    /// under its new group.
    fn error_occurrences_since(
        &self,
        after: OccurrenceCursor,
        limit: usize,
    ) -> Result<Vec<ErrorOccurrence>, StoreError>;

    // --- Incidents and the notification outbox (alerting).

    /// Apply an evaluation's finding in one transaction: open, refresh or resolve the
    /// (policy, subject) incident and, when it opened or resolved, queue the notifications
    /// `notify` makes for the incident as it now is. Either both are stored or neither: a crash
    /// between "incident opened" and "notification queued" cannot happen.
    fn apply_incident(
        &mut self,
        change: &IncidentChange,
        notify: &dyn Fn(&Incident) -> Vec<OutboxItem>,
    ) -> Result<IncidentApplied, StoreError>;

    fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>, StoreError>;

    /// Queue notifications that belong to no incident (error-group alerts), with the alert
    /// reader's checkpoint (its cursor) in the same transaction. Keys already queued are
    /// skipped. Returns how many were queued.
    fn enqueue(
        &mut self,
        items: &[OutboxItem],
        now_ms: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<u64, StoreError>;

    /// Pending notifications due at `now_ms`, oldest due first, at most `limit` (0 means 100).
    fn outbox_due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Every notification in any state (the delivery history), newest first, at most
    /// `limit` (0 means 100).
    fn outbox_history(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Record a delivery attempt of entry `id` at `now_ms`. `false` if there is no such
    /// pending entry (already sent or failed: a second sender's mark is ignored).
    fn outbox_mark(&mut self, id: i64, mark: &OutboxMark, now_ms: i64) -> Result<bool, StoreError>;
    // --- Power tuning (`tern tune`).

    /// Store a tuning run with its points in one transaction; a run with the same
    /// (function, started_ms) is replaced.
    fn store_tuning_run(&mut self, run: &TuningRun) -> Result<(), StoreError>;

    /// The function's tuning runs, newest first, each with its points sorted by (arch, memory).
    fn tuning_runs(&self, function: &str) -> Result<Vec<TuningRun>, StoreError>;

    // --- Change markers.

    /// Store a marker (its `id` is ignored) and return it with the id assigned. The function
    /// and note must not be empty.
    fn add_marker(&mut self, marker: &Marker) -> Result<Marker, StoreError>;

    /// Markers of one function (`None`: of every function), by time, then id.
    fn markers(&self, function: Option<&str>) -> Result<Vec<Marker>, StoreError>;

    // --- Leases: several `tern serve` collectors share one store; a lease says
    // which of them does a once-per-fleet job (`alerts`: the evaluator, the outbox sender and
    // retention) and which are alive (`collector/<id>`). Times are the caller's clock (epoch
    // ms), so collectors' clocks must agree to well within a lease's time to live.

    /// Take or renew the lease `name` for `holder` until `now_ms + ttl_ms`, if it is free at
    /// `now_ms` (never taken, released, or expired: `expires_ms <= now_ms`) or already held
    /// by `holder`; `true` then. `false` and no change when another holder's lease is live.
    /// A renewal sets the expiry to `now_ms + ttl_ms` (it may move it earlier).
    ///
    /// Exclusivity: two holders never both get `true` for overlapping terms. A backend with
    /// transactions makes the take one compare-and-set (SQLite: a conditional upsert). A
    /// backend without them (ClickHouse) appends a claim row `(name, holder, expires_ms)`
    /// only after seeing the lease free or its own, then reads back the winner: among the
    /// claims live at `now_ms` for the term, the one with the smallest `(expires_ms,
    /// holder)`, and answers whether that is `holder`. Claims that race in the same instant
    /// can then both read themselves as winner until the next renewal re-reads; so the jobs
    /// guarded by a lease must be safe to overlap briefly (they are: incidents are keyed by
    /// policy and subject, notifications by key, and delivery is at least once).
    ///
    /// Errors: an empty or over-long name or holder, or `ttl_ms <= 0`
    /// ([`check_lease_args`]).
    fn try_lease(
        &mut self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Give the lease up if `holder` holds it (live or expired): it is free at once. `false`
    /// (and no change) when another holder has it or nobody does.
    fn release_lease(&mut self, name: &str, holder: &str) -> Result<bool, StoreError>;

    /// The leases live at `now_ms` (`expires_ms > now_ms`) whose name starts with `prefix`
    /// (empty: all), sorted by name, one per name (its current holder).
    fn leases(&self, prefix: &str, now_ms: i64) -> Result<Vec<Lease>, StoreError>;

    /// Every value seen of every change attribute of `function` (all functions when `None`),
    /// sorted by function name, then attribute, then first-seen time. [`changes`] turns them
    /// into change points.
    fn values_seen(&self, function: Option<&str>) -> Result<Vec<ValueSeen>, StoreError>;
}

/// A boxed store is a store, so code generic over `S: Store` (the writer thread, the
/// report) takes what [`StoreBackend::open`] returns.
impl<S: Store + ?Sized> Store for Box<S> {
    fn ingest(&mut self, batch: &IngestBatch) -> Result<IngestStats, StoreError> {
        (**self).ingest(batch)
    }
    fn functions(&self) -> Result<Vec<FunctionMeta>, StoreError> {
        (**self).functions()
    }
    fn function_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<FunctionStats>, StoreError> {
        (**self).function_stats(functions, range)
    }
    fn invocations(&self, q: &InvocationQuery) -> Result<Vec<InvocationRow>, StoreError> {
        (**self).invocations(q)
    }
    fn invocation_logs(
        &self,
        log_group: &str,
        log_stream: &str,
        request_id: &str,
    ) -> Result<Vec<tern_core::model::LogLine>, StoreError> {
        (**self).invocation_logs(log_group, log_stream, request_id)
    }
    fn environments(&self, function: &str) -> Result<Vec<EnvironmentRow>, StoreError> {
        (**self).environments(function)
    }
    fn size_stats(
        &self,
        functions: &[String],
        range: TimeRange,
    ) -> Result<Vec<SizeStats>, StoreError> {
        (**self).size_stats(functions, range)
    }
    fn time_bounds(&self) -> Result<Option<(i64, i64)>, StoreError> {
        (**self).time_bounds()
    }
    fn checkpoints(&self, prefix: &str) -> Result<Vec<Checkpoint>, StoreError> {
        (**self).checkpoints(prefix)
    }
    fn series(
        &self,
        function: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, FunctionStats)>, StoreError> {
        (**self).series(function, range, bucket_ms)
    }
    fn apply_retention(&mut self, r: Retention) -> Result<RetentionStats, StoreError> {
        (**self).apply_retention(r)
    }
    fn delete_function(
        &mut self,
        function: &str,
        before_ms: Option<i64>,
    ) -> Result<DeleteStats, StoreError> {
        (**self).delete_function(function, before_ms)
    }
    fn seal(&mut self, now_ms: i64) -> Result<SealStats, StoreError> {
        (**self).seal(now_ms)
    }
    fn error_groups(&self, q: &ErrorQuery) -> Result<Vec<ErrorGroup>, StoreError> {
        (**self).error_groups(q)
    }
    fn error_group(&self, id: &str, now_ms: Option<i64>) -> Result<Option<ErrorGroup>, StoreError> {
        (**self).error_group(id, now_ms)
    }
    fn error_series(
        &self,
        id: &str,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        (**self).error_series(id, range, bucket_ms)
    }
    fn error_samples(&self, id: &str, limit: usize) -> Result<Vec<InvocationRow>, StoreError> {
        (**self).error_samples(id, limit)
    }
    fn set_error_status(
        &mut self,
        id: &str,
        status: ErrorStatus,
        muted_until_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        (**self).set_error_status(id, status, muted_until_ms, now_ms)
    }
    fn error_occurrences_since(
        &self,
        after: OccurrenceCursor,
        limit: usize,
    ) -> Result<Vec<ErrorOccurrence>, StoreError> {
        (**self).error_occurrences_since(after, limit)
    }
    fn apply_incident(
        &mut self,
        change: &IncidentChange,
        notify: &dyn Fn(&Incident) -> Vec<OutboxItem>,
    ) -> Result<IncidentApplied, StoreError> {
        (**self).apply_incident(change, notify)
    }
    fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>, StoreError> {
        (**self).incidents(q)
    }
    fn enqueue(
        &mut self,
        items: &[OutboxItem],
        now_ms: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<u64, StoreError> {
        (**self).enqueue(items, now_ms, checkpoint)
    }
    fn outbox_due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        (**self).outbox_due(now_ms, limit)
    }
    fn outbox_mark(&mut self, id: i64, mark: &OutboxMark, now_ms: i64) -> Result<bool, StoreError> {
        (**self).outbox_mark(id, mark, now_ms)
    }
    fn store_tuning_run(&mut self, run: &TuningRun) -> Result<(), StoreError> {
        (**self).store_tuning_run(run)
    }
    fn tuning_runs(&self, function: &str) -> Result<Vec<TuningRun>, StoreError> {
        (**self).tuning_runs(function)
    }
    fn add_marker(&mut self, marker: &Marker) -> Result<Marker, StoreError> {
        (**self).add_marker(marker)
    }
    fn markers(&self, function: Option<&str>) -> Result<Vec<Marker>, StoreError> {
        (**self).markers(function)
    }
    fn try_lease(
        &mut self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        (**self).try_lease(name, holder, now_ms, ttl_ms)
    }
    fn release_lease(&mut self, name: &str, holder: &str) -> Result<bool, StoreError> {
        (**self).release_lease(name, holder)
    }
    fn leases(&self, prefix: &str, now_ms: i64) -> Result<Vec<Lease>, StoreError> {
        (**self).leases(prefix, now_ms)
    }
    fn values_seen(&self, function: Option<&str>) -> Result<Vec<ValueSeen>, StoreError> {
        (**self).values_seen(function)
    }
    fn fleet(&self, range: TimeRange, bucket_ms: Option<i64>) -> Result<Vec<FleetRow>, StoreError> {
        (**self).fleet(range, bucket_ms)
    }
    fn fleet_counts(
        &self,
        range: TimeRange,
        bucket_ms: i64,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        (**self).fleet_counts(range, bucket_ms)
    }
    fn outbox_history(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        (**self).outbox_history(limit)
    }
    fn environment_summaries(
        &self,
        range: TimeRange,
    ) -> Result<Vec<EnvironmentSummary>, StoreError> {
        (**self).environment_summaries(range)
    }
}

/// [`Store::series`] by asking `function_stats` for every bucket: correct for any backend and
/// any alignment; backends override `series` with something faster where they can.
pub fn series_by_stats<S: Store + ?Sized>(
    store: &S,
    function: &str,
    range: TimeRange,
    bucket_ms: i64,
) -> Result<Vec<(i64, FunctionStats)>, StoreError> {
    let (from, to, buckets) = series_buckets(range, bucket_ms)?;
    let names = [function.to_string()];
    let mut out = Vec::with_capacity(buckets as usize);
    let mut start = from;
    while start < to {
        let end = start.saturating_add(bucket_ms).min(to);
        let r = TimeRange {
            from_ms: Some(start),
            to_ms: Some(end),
        };
        let stats = store
            .function_stats(&names, r)?
            .into_iter()
            .next()
            .unwrap_or_else(|| FunctionStats {
                function: function.to_string(),
                ..FunctionStats::default()
            });
        out.push((start, stats));
        start = end;
    }
    Ok(out)
}

/// Most buckets one [`Store::series`] call returns.
pub const MAX_SERIES_BUCKETS: i64 = 10_000;

/// A series' range and bucket checked: `(from, to, number of buckets)`, or an error for an
/// unbounded or empty range, a bucket that is not positive, or too many buckets.
pub fn series_buckets(range: TimeRange, bucket_ms: i64) -> Result<(i64, i64, i64), StoreError> {
    let (from, to) = match (range.from_ms, range.to_ms) {
        (Some(f), Some(t)) if f < t => (f, t),
        _ => {
            return Err(StoreError::Backend(
                "a series needs a bounded, non-empty range".into(),
            ))
        }
    };
    if bucket_ms <= 0 {
        return Err(StoreError::Backend(format!(
            "bucket of {bucket_ms} ms is not positive"
        )));
    }
    let buckets = (to - from - 1) / bucket_ms + 1;
    if buckets > MAX_SERIES_BUCKETS {
        return Err(StoreError::Backend(format!(
            "{buckets} buckets requested; at most {MAX_SERIES_BUCKETS} per series"
        )));
    }
    Ok((from, to, buckets))
}

/// Inside `impl Store for Wrapper { … }`: every `Store` method except `ingest`, forwarded to
/// the field `$inner` (a test wrapper that changes how ingest behaves writes only that).
#[macro_export]
macro_rules! forward_store_except_ingest {
    ($inner:ident) => {
        fn functions(&self) -> Result<Vec<$crate::FunctionMeta>, $crate::StoreError> {
            self.$inner.functions()
        }
        fn function_stats(
            &self,
            functions: &[String],
            range: $crate::TimeRange,
        ) -> Result<Vec<$crate::FunctionStats>, $crate::StoreError> {
            self.$inner.function_stats(functions, range)
        }
        fn invocations(
            &self,
            q: &$crate::InvocationQuery,
        ) -> Result<Vec<$crate::InvocationRow>, $crate::StoreError> {
            self.$inner.invocations(q)
        }
        fn invocation_logs(
            &self,
            log_group: &str,
            log_stream: &str,
            request_id: &str,
        ) -> Result<Vec<tern_core::model::LogLine>, $crate::StoreError> {
            self.$inner
                .invocation_logs(log_group, log_stream, request_id)
        }
        fn environments(
            &self,
            function: &str,
        ) -> Result<Vec<$crate::EnvironmentRow>, $crate::StoreError> {
            self.$inner.environments(function)
        }
        fn size_stats(
            &self,
            functions: &[String],
            range: $crate::TimeRange,
        ) -> Result<Vec<$crate::SizeStats>, $crate::StoreError> {
            self.$inner.size_stats(functions, range)
        }
        fn time_bounds(&self) -> Result<Option<(i64, i64)>, $crate::StoreError> {
            self.$inner.time_bounds()
        }
        fn checkpoints(&self, prefix: &str) -> Result<Vec<$crate::Checkpoint>, $crate::StoreError> {
            self.$inner.checkpoints(prefix)
        }
        fn series(
            &self,
            function: &str,
            range: $crate::TimeRange,
            bucket_ms: i64,
        ) -> Result<Vec<(i64, $crate::FunctionStats)>, $crate::StoreError> {
            self.$inner.series(function, range, bucket_ms)
        }
        fn fleet(
            &self,
            range: $crate::TimeRange,
            bucket_ms: Option<i64>,
        ) -> Result<Vec<$crate::FleetRow>, $crate::StoreError> {
            self.$inner.fleet(range, bucket_ms)
        }
        fn fleet_counts(
            &self,
            range: $crate::TimeRange,
            bucket_ms: i64,
        ) -> Result<Vec<(String, Vec<u64>)>, $crate::StoreError> {
            self.$inner.fleet_counts(range, bucket_ms)
        }
        fn environment_summaries(
            &self,
            range: $crate::TimeRange,
        ) -> Result<Vec<$crate::EnvironmentSummary>, $crate::StoreError> {
            self.$inner.environment_summaries(range)
        }
        fn apply_retention(
            &mut self,
            r: $crate::Retention,
        ) -> Result<$crate::RetentionStats, $crate::StoreError> {
            self.$inner.apply_retention(r)
        }
        fn seal(&mut self, now_ms: i64) -> Result<$crate::SealStats, $crate::StoreError> {
            self.$inner.seal(now_ms)
        }
        fn delete_function(
            &mut self,
            function: &str,
            before_ms: Option<i64>,
        ) -> Result<$crate::DeleteStats, $crate::StoreError> {
            self.$inner.delete_function(function, before_ms)
        }
        fn error_groups(
            &self,
            q: &$crate::ErrorQuery,
        ) -> Result<Vec<$crate::ErrorGroup>, $crate::StoreError> {
            self.$inner.error_groups(q)
        }
        fn error_group(
            &self,
            id: &str,
            now_ms: Option<i64>,
        ) -> Result<Option<$crate::ErrorGroup>, $crate::StoreError> {
            self.$inner.error_group(id, now_ms)
        }
        fn error_series(
            &self,
            id: &str,
            range: $crate::TimeRange,
            bucket_ms: i64,
        ) -> Result<Vec<(i64, u64)>, $crate::StoreError> {
            self.$inner.error_series(id, range, bucket_ms)
        }
        fn error_samples(
            &self,
            id: &str,
            limit: usize,
        ) -> Result<Vec<$crate::InvocationRow>, $crate::StoreError> {
            self.$inner.error_samples(id, limit)
        }
        fn set_error_status(
            &mut self,
            id: &str,
            status: $crate::ErrorStatus,
            muted_until_ms: Option<i64>,
            now_ms: i64,
        ) -> Result<bool, $crate::StoreError> {
            self.$inner
                .set_error_status(id, status, muted_until_ms, now_ms)
        }
        fn error_occurrences_since(
            &self,
            after: $crate::OccurrenceCursor,
            limit: usize,
        ) -> Result<Vec<$crate::ErrorOccurrence>, $crate::StoreError> {
            self.$inner.error_occurrences_since(after, limit)
        }
        fn apply_incident(
            &mut self,
            change: &$crate::IncidentChange,
            notify: &dyn Fn(&$crate::Incident) -> Vec<$crate::OutboxItem>,
        ) -> Result<$crate::IncidentApplied, $crate::StoreError> {
            self.$inner.apply_incident(change, notify)
        }
        fn incidents(
            &self,
            q: &$crate::IncidentQuery,
        ) -> Result<Vec<$crate::Incident>, $crate::StoreError> {
            self.$inner.incidents(q)
        }
        fn enqueue(
            &mut self,
            items: &[$crate::OutboxItem],
            now_ms: i64,
            checkpoint: Option<&$crate::Checkpoint>,
        ) -> Result<u64, $crate::StoreError> {
            self.$inner.enqueue(items, now_ms, checkpoint)
        }
        fn outbox_due(
            &self,
            now_ms: i64,
            limit: usize,
        ) -> Result<Vec<$crate::OutboxEntry>, $crate::StoreError> {
            self.$inner.outbox_due(now_ms, limit)
        }
        fn outbox_history(
            &self,
            limit: usize,
        ) -> Result<Vec<$crate::OutboxEntry>, $crate::StoreError> {
            self.$inner.outbox_history(limit)
        }
        fn outbox_mark(
            &mut self,
            id: i64,
            mark: &$crate::OutboxMark,
            now_ms: i64,
        ) -> Result<bool, $crate::StoreError> {
            self.$inner.outbox_mark(id, mark, now_ms)
        }
        fn store_tuning_run(&mut self, run: &$crate::TuningRun) -> Result<(), $crate::StoreError> {
            self.$inner.store_tuning_run(run)
        }
        fn tuning_runs(
            &self,
            function: &str,
        ) -> Result<Vec<$crate::TuningRun>, $crate::StoreError> {
            self.$inner.tuning_runs(function)
        }
        fn add_marker(
            &mut self,
            marker: &$crate::Marker,
        ) -> Result<$crate::Marker, $crate::StoreError> {
            self.$inner.add_marker(marker)
        }
        fn markers(
            &self,
            function: Option<&str>,
        ) -> Result<Vec<$crate::Marker>, $crate::StoreError> {
            self.$inner.markers(function)
        }
        fn try_lease(
            &mut self,
            name: &str,
            holder: &str,
            now_ms: i64,
            ttl_ms: i64,
        ) -> Result<bool, $crate::StoreError> {
            self.$inner.try_lease(name, holder, now_ms, ttl_ms)
        }
        fn release_lease(&mut self, name: &str, holder: &str) -> Result<bool, $crate::StoreError> {
            self.$inner.release_lease(name, holder)
        }
        fn leases(
            &self,
            prefix: &str,
            now_ms: i64,
        ) -> Result<Vec<$crate::Lease>, $crate::StoreError> {
            self.$inner.leases(prefix, now_ms)
        }
        fn values_seen(
            &self,
            function: Option<&str>,
        ) -> Result<Vec<$crate::ValueSeen>, $crate::StoreError> {
            self.$inner.values_seen(function)
        }
    };
}
