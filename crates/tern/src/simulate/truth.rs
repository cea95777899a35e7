//! `truth.json`: what the simulator generated, counted from the same values it printed.
//! End-to-end tests compare Tern's report against it.
//!
//! Counting rules:
//! - an invocation is one REPORT (or `platform.report`);
//! - `errors` is every invocation whose outcome is not `success`;
//! - a cold start is a REPORT with Init Duration, a suppressed init
//!   (`INIT_REPORT … Phase: invoke`) or a SnapStart restore (`Restore Duration`);
//! - `environments` counts log streams holding at least one REPORT; `log_streams` also counts
//!   SnapStart snapshot streams (INIT_START + INIT_REPORT at version publish, no invocation);
//! - `billed_ms` sums `Billed Duration`; `gb_seconds` is Σ billed ms × memory MB / 1024 / 1000;
//!   SnapStart `Billed Restore Duration` is kept apart (`billed_restore_ms`,
//!   `restore_gb_seconds`).

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcomes {
    pub success: u64,
    pub error: u64,
    pub timeout: u64,
    pub out_of_memory: u64,
    pub crash: u64,
    pub init_error: u64,
}

impl Outcomes {
    pub fn total(&self) -> u64 {
        self.success + self.error + self.timeout + self.out_of_memory + self.crash + self.init_error
    }

    pub fn add(&mut self, o: &Outcomes) {
        self.success += o.success;
        self.error += o.error;
        self.timeout += o.timeout;
        self.out_of_memory += o.out_of_memory;
        self.crash += o.crash;
        self.init_error += o.init_error;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub generator: &'static str,
    pub seed: u64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub days: u32,
    pub account_id: String,
    pub region: &'static str,
    pub totals: Totals,
    pub functions: Vec<FunctionTruth>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub functions: u64,
    pub invocations: u64,
    pub errors: u64,
    pub outcomes: Outcomes,
    pub cold_starts: u64,
    pub events: u64,
    pub files: u64,
    pub bytes: u64,
    pub billed_ms: u64,
    pub gb_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionTruth {
    pub name: String,
    pub log_group: String,
    pub runtime: &'static str,
    /// Not in the logs: Tern cannot know it without configuration.
    pub architecture: &'static str,
    pub log_format: &'static str,
    /// Not in the logs either (only visible when an invocation times out).
    pub timeout_s: u32,
    /// Memory sizes seen in REPORT lines, ascending.
    pub memory_sizes_mb: Vec<u32>,
    /// Versions seen in START lines, in order of first use.
    pub versions: Vec<String>,
    pub snap_start: bool,
    pub xray: bool,
    pub traffic: &'static str,
    pub expected_invocations_per_day: f64,
    pub scenarios: Vec<&'static str>,
    /// `jsonl`, `subscription` or `filter_log_events`.
    pub output_format: &'static str,
    pub invocations: u64,
    pub errors: u64,
    pub outcomes: Outcomes,
    pub cold_starts: u64,
    pub environments: u64,
    pub log_streams: u64,
    pub billed_ms: u64,
    pub billed_restore_ms: u64,
    pub gb_seconds: f64,
    pub restore_gb_seconds: f64,
    pub max_memory_used_mb: u32,
    pub duration_ms_sum: f64,
    pub duration_ms_max: f64,
    /// Timestamps of the first and last REPORT.
    pub first_report_ms: i64,
    pub last_report_ms: i64,
    pub by_memory: Vec<MemoryTruth>,
    /// Deploys and configuration changes during the window.
    pub changes: Vec<ChangeTruth>,
    pub events: u64,
    pub files: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemoryTruth {
    pub memory_mb: u32,
    pub invocations: u64,
    pub billed_ms: u64,
    pub gb_seconds: f64,
    pub duration_ms_sum: f64,
    pub duration_ms_avg: f64,
    pub max_memory_used_mb: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeTruth {
    pub at_ms: i64,
    /// `deploy` or `memory_change`.
    pub kind: &'static str,
    pub version: String,
    pub memory_mb: u32,
    /// The deployed code fails to initialize (every invocation until the next change is an
    /// init error).
    pub broken: bool,
}
