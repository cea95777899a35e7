//! Tern's storage boundary.
//!
//! [`Store`] speaks in domain terms (invocation parts in, function statistics out), never in
//! SQL strings, so the SQLite backend here and the ClickHouse backend that comes later answer
//! the same questions. Every backend runs the one conformance suite in [`conformance`].
//!
//! **Architecture Invariant:** ingest is idempotent. Storing the same parts twice changes
//! nothing: invocations are keyed by (log group, log stream, request id), log lines are
//! deduplicated by event id (or time and text), and rollups only count an invocation once, when
//! its REPORT is first stored.

use std::sync::Arc;

use tern_core::model::{ErrorInfo, InvocationPart, LogLine, Outcome};
use tern_core::sketch::Sketch;

pub mod conformance;
pub mod sqlite;

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

/// What is known about a function beyond its logs: set by `tern ingest --region/--arch`, and
/// later by the AWS inventory. `None` fields leave the stored value unchanged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunctionMeta {
    pub function: String,
    pub region: Option<String>,
    pub arch: Option<Arch>,
    pub timeout_ms: Option<u64>,
    pub runtime: Option<String>,
    pub memory_size_mb: Option<u32>,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestStats {
    /// Invocations stored for the first time.
    pub inserted: u64,
    /// Parts merged into an invocation already stored (something new was learned).
    pub merged: u64,
    /// Parts that taught the store nothing new (re-ingest of the same data).
    pub unchanged: u64,
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

    /// Earliest and latest REPORT time stored, if any.
    fn time_bounds(&self) -> Result<Option<(i64, i64)>, StoreError>;
}
