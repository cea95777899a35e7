//! The domain model shared by the parser, the assembler, the store and the binary.
//!
//! Nothing here does IO. Wire formats (CLI JSON, API JSON) have their own types in the
//! `tern` crate; these types are never serialized onto the wire directly.

use std::sync::Arc;

/// One CloudWatch Logs event, as delivered by any input path (export, subscription payload,
/// Firehose record, FilterLogEvents page, text tail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// The log group, e.g. `/aws/lambda/orders-api`. Empty when the input did not say.
    pub log_group: Arc<str>,
    /// The log stream: one stream is one execution environment.
    pub log_stream: Arc<str>,
    /// Event time, epoch milliseconds.
    pub timestamp_ms: i64,
    /// The message exactly as CloudWatch stored it (trailing `\n` included when present).
    pub message: String,
    /// CloudWatch's event id when the input carried one (an opaque decimal string).
    pub event_id: Option<String>,
}

/// CPU architecture, which sets the price. Not in the logs: it comes from configuration or
/// the inventory, and defaults to x86_64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Arch {
    #[default]
    X86_64,
    Arm64,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    pub fn parse(s: &str) -> Option<Arch> {
        match s.to_ascii_lowercase().as_str() {
            "x86_64" | "x86" | "amd64" | "x86-64" => Some(Arch::X86_64),
            "arm64" | "arm" | "aarch64" | "graviton" => Some(Arch::Arm64),
            _ => None,
        }
    }
}

/// Which Lambda log format produced a platform record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Application log level, normalized across runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }
}

/// An error extracted from a runtime's error output (handler exception, uncaught exception,
/// error payload).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorInfo {
    /// e.g. `KeyError`, `TypeError`, `java.lang.ArithmeticException`, `errorString`.
    pub error_type: String,
    /// The error message, as logged.
    pub message: String,
    /// Stack frames, one per entry, as the runtime printed them (trimmed).
    pub stack: Vec<String>,
}

/// What finally happened to one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Success,
    /// A handler error seen in the runtime's error output.
    Error,
    Timeout,
    OutOfMemory,
    /// `Runtime.ExitError` and other platform errors.
    Crash,
    InitError,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Success,
        Outcome::Error,
        Outcome::Timeout,
        Outcome::OutOfMemory,
        Outcome::Crash,
        Outcome::InitError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::OutOfMemory => "out_of_memory",
            Outcome::Crash => "crash",
            Outcome::InitError => "init_error",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Stable small integer for storage.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(c: u8) -> Option<Outcome> {
        Outcome::ALL.get(c as usize).copied()
    }

    pub fn is_error(self) -> bool {
        self != Outcome::Success
    }
}

/// The metrics of a REPORT line or a `platform.report` record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportMetrics {
    pub duration_ms: f64,
    /// Absent for Lambda Managed Instances.
    pub billed_duration_ms: Option<f64>,
    pub memory_size_mb: Option<u32>,
    pub max_memory_used_mb: Option<u32>,
    pub init_duration_ms: Option<f64>,
    pub restore_duration_ms: Option<f64>,
    pub billed_restore_duration_ms: Option<f64>,
    /// `timeout`, `error`, `failure`, `success` (JSON) when present.
    pub status: Option<String>,
    pub error_type: Option<String>,
    pub xray_trace_id: Option<String>,
    pub format: LogFormat,
}

/// Evidence about an invocation's outcome, gathered from every line attributed to it.
/// Evidence only accumulates: merging two sets of signals is a union, so the order in which
/// batches arrive never changes the final outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signals {
    /// A handler error was logged by the runtime (Invoke Error, [ERROR] Traceback, ...).
    pub handler_error: bool,
    /// A `Task timed out after N seconds` line, or a runtimeDone with status timeout.
    pub timeout_line: bool,
    /// A `Runtime exited with error` / `Process exited before completing request` line.
    pub runtime_exit: bool,
    /// An out-of-memory signature in the output (`MemoryError`, `JavaScript heap out of memory`,
    /// `signal: killed`, ...).
    pub oom_signature: bool,
    /// The init phase failed or timed out for this invocation's environment
    /// (`INIT_REPORT ... Status: error|timeout`, or an init error type).
    pub init_failure: bool,
    /// The init was re-run inside this invocation (`INIT_REPORT ... Phase: invoke`).
    pub suppressed_init: bool,
}

impl Signals {
    pub fn merge(&mut self, other: &Signals) {
        self.handler_error |= other.handler_error;
        self.timeout_line |= other.timeout_line;
        self.runtime_exit |= other.runtime_exit;
        self.oom_signature |= other.oom_signature;
        self.init_failure |= other.init_failure;
        self.suppressed_init |= other.suppressed_init;
    }

    /// Pack into a small integer for storage.
    pub fn bits(&self) -> u32 {
        (self.handler_error as u32)
            | (self.timeout_line as u32) << 1
            | (self.runtime_exit as u32) << 2
            | (self.oom_signature as u32) << 3
            | (self.init_failure as u32) << 4
            | (self.suppressed_init as u32) << 5
    }

    pub fn from_bits(b: u32) -> Signals {
        Signals {
            handler_error: b & 1 != 0,
            timeout_line: b & (1 << 1) != 0,
            runtime_exit: b & (1 << 2) != 0,
            oom_signature: b & (1 << 3) != 0,
            init_failure: b & (1 << 4) != 0,
            suppressed_init: b & (1 << 5) != 0,
        }
    }
}

/// One raw log line kept for an invocation's log view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub timestamp_ms: i64,
    pub message: String,
    pub event_id: Option<String>,
}

/// Identifies one invocation: a request id within a log stream of a log group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvocationKey {
    pub log_group: Arc<str>,
    pub log_stream: Arc<str>,
    pub request_id: String,
}

/// What the assembler knows about one invocation after one batch of input.
///
/// Parts are mergeable: an invocation split across files or batches arrives as several parts
/// with the same key, and `merge` combines them. The store merges a new part into what it
/// already holds, so assembly never depends on one file holding a whole invocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvocationPart {
    pub function: String,
    pub log_group: Arc<str>,
    pub log_stream: Arc<str>,
    pub request_id: String,
    /// Timestamp of START (or of the earliest line seen for the invocation).
    pub start_ms: Option<i64>,
    /// Timestamp of the REPORT.
    pub end_ms: Option<i64>,
    /// `$LATEST` or a published version number, from START.
    pub version: Option<String>,
    pub report: Option<ReportMetrics>,
    pub signals: Signals,
    /// The first handler error extracted from the runtime's output.
    pub error: Option<ErrorInfo>,
    /// Cold start evidence that is not in the REPORT itself (suppressed init, restore), or
    /// that the assembler already derived.
    pub cold_start: bool,
    /// Runtime version from `INIT_START` / `platform.initStart` when this invocation was the
    /// environment's first.
    pub runtime_version: Option<String>,
    /// Init-phase duration from an `INIT_REPORT` (suppressed init, SnapStart) when the REPORT
    /// has no Init Duration.
    pub init_report_ms: Option<f64>,
    pub log_lines: Vec<LogLine>,
}

impl InvocationPart {
    pub fn key(&self) -> InvocationKey {
        InvocationKey {
            log_group: self.log_group.clone(),
            log_stream: self.log_stream.clone(),
            request_id: self.request_id.clone(),
        }
    }

    /// Whether the REPORT (or `platform.report`) has been seen.
    pub fn is_complete(&self) -> bool {
        self.report.is_some()
    }

    /// Combine another part of the same invocation into this one. Evidence is unioned, the
    /// earliest start and the first error win, and log lines are concatenated and deduplicated.
    pub fn merge(&mut self, other: InvocationPart) {
        if self.function.is_empty() {
            self.function = other.function;
        }
        self.start_ms = min_opt(self.start_ms, other.start_ms);
        self.end_ms = self.end_ms.or(other.end_ms);
        if self.version.is_none() {
            self.version = other.version;
        }
        if self.report.is_none() {
            self.report = other.report;
        }
        self.signals.merge(&other.signals);
        if self.error.is_none() {
            self.error = other.error;
        }
        self.cold_start |= other.cold_start;
        if self.runtime_version.is_none() {
            self.runtime_version = other.runtime_version;
        }
        if self.init_report_ms.is_none() {
            self.init_report_ms = other.init_report_ms;
        }
        if !other.log_lines.is_empty() {
            self.log_lines.extend(other.log_lines);
            normalize_lines(&mut self.log_lines);
        }
    }

    /// Whether this invocation was a cold start: an Init Duration, a suppressed init, or a
    /// SnapStart restore.
    pub fn is_cold(&self) -> bool {
        self.cold_start
            || self.signals.suppressed_init
            || self
                .report
                .as_ref()
                .is_some_and(|r| r.init_duration_ms.is_some() || r.restore_duration_ms.is_some())
    }

    pub fn outcome(&self) -> Outcome {
        decide_outcome(self.report.as_ref(), &self.signals, self.error.as_ref())
    }

    /// Init time for this invocation when it was cold: the REPORT's Init Duration, else the
    /// INIT_REPORT duration (suppressed init, SnapStart), else the restore duration.
    pub fn init_duration_ms(&self) -> Option<f64> {
        let r = self.report.as_ref();
        r.and_then(|r| r.init_duration_ms)
            .or(self.init_report_ms.filter(|_| self.is_cold()))
            .or(r.and_then(|r| r.restore_duration_ms))
    }
}

/// Sort log lines by time (stable, so same-millisecond lines keep arrival order) and drop
/// exact duplicates (same event id, or same time and text when there is no id).
pub fn normalize_lines(lines: &mut Vec<LogLine>) {
    lines.sort_by_key(|l| l.timestamp_ms);
    let mut seen_ids: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out: Vec<LogLine> = Vec::with_capacity(lines.len());
    for l in lines.drain(..) {
        let dup = match &l.event_id {
            Some(id) => !seen_ids.insert(id.clone()),
            None => out
                .iter()
                .rev()
                .take_while(|o| o.timestamp_ms == l.timestamp_ms)
                .any(|o| o.message == l.message),
        };
        if !dup {
            out.push(l);
        }
    }
    *lines = out;
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Error types that mean the function's init failed (the handler never ran).
pub fn is_init_error_type(t: &str) -> bool {
    matches!(
        t,
        "Runtime.ImportModuleError"
            | "Runtime.HandlerNotFound"
            | "Runtime.MalformedHandlerName"
            | "Runtime.UserCodeSyntaxError"
            | "Runtime.InvalidEntrypoint"
            | "Runtime.InvalidWorkingDir"
            | "Runtime.InvalidTaskConfig"
            | "Extension.InitError"
            | "Extension.LaunchError"
    )
}

/// Decide the outcome from all evidence. The most severe finding wins:
/// timeout > out of memory > init error > crash > handler error > success.
pub fn decide_outcome(
    report: Option<&ReportMetrics>,
    signals: &Signals,
    error: Option<&ErrorInfo>,
) -> Outcome {
    let status = report.and_then(|r| r.status.as_deref()).unwrap_or("");
    let etype = report.and_then(|r| r.error_type.as_deref()).unwrap_or("");
    if status == "timeout" || signals.timeout_line || etype == "Sandbox.Timeout" {
        return Outcome::Timeout;
    }
    if etype == "Runtime.OutOfMemory" || signals.oom_signature {
        return Outcome::OutOfMemory;
    }
    if is_init_error_type(etype) || signals.init_failure {
        return Outcome::InitError;
    }
    if signals.runtime_exit
        || (matches!(status, "error" | "failure")
            && (etype.starts_with("Runtime.")
                || etype.starts_with("Sandbox.")
                || etype.starts_with("Extension.")
                || etype.is_empty()))
    {
        // A platform error with a Function.* type is still the handler's fault.
        if !etype.starts_with("Function.") || signals.runtime_exit {
            return Outcome::Crash;
        }
    }
    if signals.handler_error || error.is_some() || matches!(status, "error" | "failure") {
        return Outcome::Error;
    }
    Outcome::Success
}

/// Function name from a log group and stream.
///
/// The default group is `/aws/lambda/NAME`. A custom (shared) log group names the function
/// in each stream: `YYYY/MM/DD/NAME[VERSION]<32 hex>`.
pub fn function_name(log_group: &str, log_stream: &str) -> Option<String> {
    if let Some(name) = log_group.strip_prefix("/aws/lambda/") {
        if !name.is_empty() {
            return Some(name.to_string());
        }
    }
    stream_function_name(log_stream).map(str::to_string)
}

/// The function name embedded in a custom-log-group stream name, if any.
pub fn stream_function_name(stream: &str) -> Option<&str> {
    // YYYY/MM/DD/ prefix
    let b = stream.as_bytes();
    if b.len() < 11 || b[4] != b'/' || b[7] != b'/' || b[10] != b'/' {
        return None;
    }
    let rest = &stream[11..];
    let bracket = rest.find('[')?;
    let name = &rest[..bracket];
    if name.is_empty()
        || name.len() > 140
        || !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        return None;
    }
    Some(name)
}

/// The version embedded in a stream name (`[$LATEST]`, `[42]`), if any.
pub fn stream_version(stream: &str) -> Option<&str> {
    let open = stream.find('[')?;
    let close = stream[open..].find(']')? + open;
    Some(&stream[open + 1..close])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn function_names_from_default_and_custom_groups() {
        assert_eq!(
            function_name("/aws/lambda/orders", "2024/01/02/[$LATEST]abc").as_deref(),
            Some("orders")
        );
        assert_eq!(
            function_name(
                "shared-logs",
                "2023/11/06/test-customized-log-group1[$LATEST]13e304cba4b9446eb7ef082a00038990"
            )
            .as_deref(),
            Some("test-customized-log-group1")
        );
        assert_eq!(function_name("shared", "2023/11/06/[$LATEST]abc"), None);
        assert_eq!(function_name("/aws/lambda/", "x"), None);
        assert_eq!(stream_version("2026/04/03/[24]f0ff"), Some("24"));
    }

    #[test]
    fn outcome_priority() {
        let mut r = ReportMetrics {
            status: Some("error".into()),
            error_type: Some("Runtime.OutOfMemory".into()),
            ..Default::default()
        };
        assert_eq!(
            decide_outcome(Some(&r), &Signals::default(), None),
            Outcome::OutOfMemory
        );
        r.error_type = Some("Runtime.ExitError".into());
        assert_eq!(
            decide_outcome(Some(&r), &Signals::default(), None),
            Outcome::Crash
        );
        r.error_type = Some("Runtime.ImportModuleError".into());
        assert_eq!(
            decide_outcome(Some(&r), &Signals::default(), None),
            Outcome::InitError
        );
        let plain = ReportMetrics::default();
        let s = Signals {
            handler_error: true,
            ..Default::default()
        };
        assert_eq!(decide_outcome(Some(&plain), &s, None), Outcome::Error);
        assert_eq!(
            decide_outcome(Some(&plain), &Signals::default(), None),
            Outcome::Success
        );
        let t = Signals {
            timeout_line: true,
            handler_error: true,
            ..Default::default()
        };
        assert_eq!(decide_outcome(Some(&plain), &t, None), Outcome::Timeout);
    }

    #[test]
    fn signals_roundtrip_bits() {
        for b in 0..64u32 {
            assert_eq!(Signals::from_bits(b).bits(), b);
        }
    }

    #[test]
    fn merge_dedupes_lines_and_unions_signals() {
        let line = |ts, m: &str, id: Option<&str>| LogLine {
            timestamp_ms: ts,
            message: m.into(),
            event_id: id.map(Into::into),
        };
        let mut a = InvocationPart {
            request_id: "r".into(),
            log_lines: vec![line(2, "b", Some("2")), line(1, "a", Some("1"))],
            ..Default::default()
        };
        let b = InvocationPart {
            request_id: "r".into(),
            signals: Signals {
                handler_error: true,
                ..Default::default()
            },
            log_lines: vec![
                line(1, "a", Some("1")),
                line(3, "c", None),
                line(3, "c", None),
            ],
            ..Default::default()
        };
        a.merge(b);
        assert!(a.signals.handler_error);
        let msgs: Vec<_> = a.log_lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(msgs, ["a", "b", "c"]);
    }
}

/// Something in the input that Tern could not use, and where it was. Diagnostics never stop
/// ingest: the good data around a bad record is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where: `file.json.gz:1234`, `record 7`, `firehose record 3`, …
    pub location: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}
