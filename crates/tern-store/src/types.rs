//! The plain data the store takes and gives: function metadata, ingest batches, statistics,
//! invocation listings, tuning runs, markers and leases.

use std::sync::Arc;

use tern_core::model::{Arch, ErrorInfo, InvocationPart, LogLine, Outcome};
use tern_core::sketch::Sketch;

use crate::StoreError;

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

/// What [`Store::delete_function`](crate::Store::delete_function) removed.
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

/// What [`Store::seal`](crate::Store::seal) did.
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
/// See [`Store::try_lease`](crate::Store::try_lease).
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

/// One function in a [`Store::fleet`](crate::Store::fleet) answer: its statistics over the range and the same
/// range cut into buckets (the dashboard's sparklines).
#[derive(Debug, Clone, Default)]
pub struct FleetRow {
    pub stats: FunctionStats,
    /// One entry per bucket of [`fleet_buckets`](crate::fleet_buckets), empty ones included.
    pub buckets: Vec<FleetBucket>,
}

/// A function's figures in one bucket of a [`Store::fleet`](crate::Store::fleet) answer.
#[derive(Debug, Clone, Default)]
pub struct FleetBucket {
    pub invocations: u64,
    pub errors: u64,
    /// Duration (ms) of every invocation in the bucket.
    pub duration: Sketch,
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

/// One function's execution environments, summarised for a range ([`Store::environment_summaries`](crate::Store::environment_summaries)).
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
