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
        let names = [function.to_string()];
        let mut out = Vec::with_capacity(buckets as usize);
        let mut start = from;
        while start < to {
            let end = start.saturating_add(bucket_ms).min(to);
            let r = TimeRange {
                from_ms: Some(start),
                to_ms: Some(end),
            };
            let stats = self
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

    /// Delete data older than the cutoffs, and remember the raw cutoff so that older parts
    /// arriving later are dropped.
    fn apply_retention(&mut self, retention: Retention) -> Result<RetentionStats, StoreError>;
}

/// Most buckets one [`Store::series`] call returns.
pub const MAX_SERIES_BUCKETS: i64 = 10_000;
