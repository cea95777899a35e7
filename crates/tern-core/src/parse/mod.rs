//! The log line parser: one CloudWatch event message in, one classified [`Line`] out.
//!
//! Parsing is total: every input gives a `Line`. A message that looks like a platform line
//! but cannot be read becomes [`Line::Unrecognized`] with a diagnostic; ordinary output that
//! matches no runtime's format is an [`AppLine`] with no level. Nothing here panics.
//!
//! The shapes, with real examples, are in `shared/reference/lambda-logs.md` §1–§3.
//!
//! Codemap:
//! - `mod.rs`: the types and [`parse_message`], which dispatches on the first bytes.
//! - `platform.rs`: text platform lines (START, END, REPORT, INIT_*, RESTORE_*, EXTENSION,
//!   the timeout and runtime-exit lines).
//! - `json.rs` and `models.rs`: JSON messages (platform records and application records), read
//!   in one serde pass into borrowed, lenient wire structs; `json_fast.rs` reads the common
//!   shapes (`platform.start` / `platform.report` records, flat application records) by hand
//!   into the same structs.
//! - `app.rs`: application lines of each runtime and the error output they print.
//! - `scan.rs`: byte helpers. Timestamps are read by [`crate::time`].
//!
//! Conventions callers can rely on:
//! - An [`AppLine`] with `unhandled` set and no printed level gets level `Error` (`Fatal` for
//!   Go's `fatal error:`). Ruby's `Error raised from handler method` is `unhandled` with no
//!   `error`: the payload follows in the next event.
//! - Go's stderr output gives `error_type` `panic` or `fatal error`; a thrown non-Error value in
//!   Node gives `string` (Node's `typeof`). Other error types are kept as printed
//!   (`Function<TypeError>`, `java.lang.ArithmeticException`).
//! - Stack frames are trimmed; a Python frame is its `File …` line and its source line joined
//!   by `\n`, in text and JSON mode alike; a Go frame is `label (path:line)`.
//! - `oom` is set for the out-of-memory signatures of lambda-logs.md §3.8 and for the error
//!   types `MemoryError`, `*OutOfMemoryError`, `*OutOfMemoryException`, `NoMemoryError`;
//!   `signal: killed` is left to the assembler ([`Line::RuntimeExit`]).
//! - `IMAGE` and stand-alone `XRAY` lines are not modelled and read as application output.

mod app;
mod json;
mod json_fast;
mod models;
mod platform;
mod scan;

use crate::model::{ErrorInfo, Level, ReportMetrics};

/// `START RequestId: … Version: …` / `platform.start`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Start {
    pub request_id: String,
    pub version: Option<String>,
}

/// `INIT_START` / `platform.initStart`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InitStart {
    pub runtime_version: Option<String>,
    pub runtime_version_arn: Option<String>,
    /// `on-demand`, `provisioned-concurrency`, `snap-start`, `lambda-managed-instances`.
    pub initialization_type: Option<String>,
    pub function_name: Option<String>,
    pub function_version: Option<String>,
    pub instance_id: Option<String>,
    /// `platform.initStart` `instanceMaxMemory`, converted from bytes to MB. Lambda Managed
    /// Instances reports carry no memory size, so this is where it can be learned.
    pub instance_max_memory_mb: Option<u32>,
}

/// `INIT_REPORT` / `platform.initReport`, and `RESTORE_REPORT` / `platform.restoreReport`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhaseReport {
    pub duration_ms: Option<f64>,
    /// `init` or `invoke` (a suppressed init) for INIT_REPORT.
    pub phase: Option<String>,
    /// `error`, `timeout`, `success`, `failure` when present.
    pub status: Option<String>,
    pub error_type: Option<String>,
    pub initialization_type: Option<String>,
}

/// `platform.runtimeDone`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuntimeDone {
    pub request_id: Option<String>,
    pub status: Option<String>,
    pub error_type: Option<String>,
    pub duration_ms: Option<f64>,
}

/// `EXTENSION`, `TELEMETRY`, `LOGS` lines and their JSON equivalents.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExtensionLine {
    /// `EXTENSION`, `TELEMETRY`, `LOGS`, or the JSON type (`platform.extension`, …).
    pub kind: String,
    pub name: Option<String>,
    pub state: Option<String>,
    pub error_type: Option<String>,
}

/// An application (function) log line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppLine {
    pub level: Option<Level>,
    /// The request id the runtime printed, if any (`undefined` and empty ids are `None`).
    pub request_id: Option<String>,
    /// The timestamp the runtime printed, epoch ms, when it could be read.
    pub timestamp_ms: Option<i64>,
    /// A handler or uncaught error extracted from this line.
    pub error: Option<ErrorInfo>,
    /// The line carries an out-of-memory signature (`MemoryError`, `JavaScript heap out of
    /// memory`, `java.lang.OutOfMemoryError`, …).
    pub oom: bool,
    /// The error was reported by the runtime itself as unhandled (Invoke Error, Uncaught
    /// Exception, Python's `[ERROR]` block, Go's error payload, Ruby's `Error raised from
    /// handler method`), as opposed to an error the code logged and handled.
    pub unhandled: bool,
}

/// The classification of one event message.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Start(Start),
    End {
        request_id: String,
    },
    Report {
        request_id: String,
        metrics: ReportMetrics,
    },
    InitStart(InitStart),
    InitReport(PhaseReport),
    /// `RESTORE_START` / `platform.restoreStart` (SnapStart).
    RestoreStart(InitStart),
    RestoreReport(PhaseReport),
    RuntimeDone(RuntimeDone),
    Extension(ExtensionLine),
    /// `<ts> <request id> Task timed out after N.NN seconds`.
    Timeout {
        request_id: Option<String>,
        seconds: f64,
    },
    /// `RequestId: … Error: Runtime exited with error: …\nRuntime.ExitError`, and the older
    /// `RequestId: … Process exited before completing request`.
    RuntimeExit {
        request_id: Option<String>,
        message: String,
        error_type: Option<String>,
    },
    /// A JSON `platform.*` record of a type Tern does not model. Kept, never rejected.
    PlatformOther {
        event_type: String,
        request_id: Option<String>,
    },
    App(AppLine),
    /// Looked like a platform line but could not be read.
    Unrecognized {
        diagnostic: String,
    },
}

impl Line {
    /// The request id the line itself names, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Line::Start(s) => Some(&s.request_id),
            Line::End { request_id } | Line::Report { request_id, .. } => Some(request_id),
            Line::RuntimeDone(r) => r.request_id.as_deref(),
            Line::Timeout { request_id, .. }
            | Line::RuntimeExit { request_id, .. }
            | Line::PlatformOther { request_id, .. } => request_id.as_deref(),
            Line::App(a) => a.request_id.as_deref(),
            _ => None,
        }
    }
}

/// Classify one event message. Total: never panics, never fails.
///
/// Dispatch looks at the first bytes only, so each message is tried against one format (two
/// at most), and serde_json runs only on messages (or payloads) that start with `{`.
pub fn parse_message(message: &str) -> Line {
    use platform::keyword;
    let b = message.as_bytes();
    match b.first() {
        // START/END/REPORT are platform lines only with a RequestId field; "START processing"
        // printed by user code stays an application line.
        Some(b'S') if keyword(message, "START") && names_request(message, 5) => {
            return platform::start(rest(message, 5))
        }
        Some(b'E') if keyword(message, "END") && names_request(message, 3) => {
            return platform::end(rest(message, 3))
        }
        Some(b'E') if keyword(message, "EXTENSION") => {
            return platform::extension("EXTENSION", rest(message, 9))
        }
        Some(b'R') if keyword(message, "REPORT") && names_request(message, 6) => {
            return platform::report(rest(message, 6))
        }
        Some(b'R') if b.starts_with(b"RESTORE_") => return platform::restore(message),
        Some(b'R') if b.starts_with(b"RequestId:") => {
            if let Some(line) = platform::fault(message) {
                return line;
            }
        }
        Some(b'I') if b.starts_with(b"INIT_") => return platform::init(message),
        Some(b'T') if keyword(message, "TELEMETRY") => {
            return platform::extension("TELEMETRY", rest(message, 9))
        }
        Some(b'L') if keyword(message, "LOGS") => {
            return platform::extension("LOGS", rest(message, 4))
        }
        Some(b'{') => {
            return match json::parse(message) {
                Line::App(a) => Line::App(app::finish(a, message)),
                line => line,
            }
        }
        _ => {}
    }
    app::parse(message)
}

/// Whether the text after the first `n` bytes (a keyword) starts with `RequestId:`.
fn names_request(message: &str, n: usize) -> bool {
    let b = message.as_bytes().get(n..).unwrap_or(&[]);
    let blanks = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    b.get(blanks..).and_then(<[u8]>::first_chunk::<10>) == Some(b"RequestId:")
}

/// `message` after its first `n` bytes (an ASCII keyword).
fn rest(message: &str, n: usize) -> &str {
    message.get(n..).unwrap_or("")
}
