//! JSON messages: Lambda's JSON-format platform records (lambda-logs.md §2.1) and JSON
//! application records (§2.3), read in one pass through [`models::JsonLine`].

use memchr::memmem;

use super::json_fast;
use super::models::{ErrorPayload, JsonLine, Message, Metrics, Record, Text};
use super::scan::{megabytes, request_id};
use super::{AppLine, ExtensionLine, InitStart, Line, PhaseReport, RuntimeDone, Start};
use crate::model::{ErrorInfo, LogFormat, ReportMetrics};

/// A message that starts with `{`.
pub(super) fn parse(message: &str) -> Line {
    // `platform.start` and `platform.report` as Lambda writes them, and flat application
    // records: read by hand into the structs serde would give, and turned into a line by the
    // same code.
    if let Some((kind, record)) = json_fast::platform_record(message) {
        return platform(kind, Some(record));
    }
    if let Some(line) = json_fast::app_record(message) {
        return Line::App(app_record(line));
    }
    parse_serde(message)
}

/// [`parse`] through serde alone.
pub(super) fn parse_serde(message: &str) -> Line {
    match serde_json::from_str::<JsonLine>(message) {
        Ok(line) => match line.kind.get() {
            Some(kind) if kind.starts_with("platform.") => platform(kind, line.record.0),
            _ => Line::App(app_record(line)),
        },
        Err(e) if looks_like_platform(message) => Line::Unrecognized {
            diagnostic: format!("unreadable JSON platform record: {e}"),
        },
        Err(_) => Line::App(AppLine::default()),
    }
}

/// Parse a JSON application record or error payload that follows some prefix (Go's log
/// timestamp, Python's `LAMBDA_WARNING …\r`). `None` when it is not valid JSON.
pub(super) fn app_payload(json: &str) -> Option<AppLine> {
    serde_json::from_str::<JsonLine>(json).ok().map(app_record)
}

/// The payload after Node's `Invoke Error \t`: an error object, or a bare JSON string for a
/// thrown non-Error value (Node reports its type as `typeof`, i.e. `string`). When the JSON
/// cannot be read (CloudWatch cut a long event), `errorType` and `errorMessage` are salvaged
/// as printed.
pub(super) fn node_error(payload: &str) -> ErrorInfo {
    let t = payload.trim();
    if t.starts_with('"') {
        if let Ok(s) = serde_json::from_str::<Text>(t) {
            return ErrorInfo {
                error_type: "string".to_string(),
                message: s.get().unwrap_or("").to_string(),
                stack: Vec::new(),
            };
        }
    }
    if let Ok(p) = serde_json::from_str::<ErrorPayload>(t) {
        if p.is_error() {
            return error_info(p);
        }
    }
    ErrorInfo {
        error_type: string_field(t, "errorType").map_or_else(String::new, unescape),
        message: string_field(t, "errorMessage").map_or_else(|| t.to_string(), unescape),
        stack: Vec::new(),
    }
}

/// Decode the escapes of a raw JSON string value; kept as printed when that fails (cut
/// mid-escape).
fn unescape(raw: &str) -> String {
    serde_json::from_str::<String>(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_string())
}

/// The raw (still escaped) value of `"key":"…"` in JSON that may be cut short.
fn string_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let b = json.as_bytes();
    let needle = format!("\"{key}\"");
    let at = memmem::find(b, needle.as_bytes())? + needle.len();
    let rest = trim_ws(b.get(at..)?).strip_prefix(b":")?;
    let rest = trim_ws(rest).strip_prefix(b"\"")?;
    let start = b.len() - rest.len();
    let mut i = 0;
    while let Some(&c) = rest.get(i) {
        match c {
            b'\\' => i += 2,
            b'"' => break,
            _ => i += 1,
        }
    }
    json.get(start..start + i.min(rest.len()))
}

/// `"type": "platform.` somewhere in a message that failed to parse.
fn looks_like_platform(message: &str) -> bool {
    let b = message.as_bytes();
    memmem::find_iter(b, b"\"type\"").any(|i| {
        let rest = b.get(i + 6..).unwrap_or(&[]);
        let rest = trim_ws(rest);
        rest.strip_prefix(b":")
            .map(trim_ws)
            .is_some_and(|r| r.starts_with(b"\"platform."))
    })
}

fn trim_ws(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    b.get(n..).unwrap_or(&[])
}

fn unrecognized(kind: &str, what: &str) -> Line {
    Line::Unrecognized {
        diagnostic: format!("{kind} record without {what}"),
    }
}

fn platform(kind: &str, record: Option<Record>) -> Line {
    const MODELLED: [&str; 9] = [
        "platform.start",
        "platform.report",
        "platform.initStart",
        "platform.restoreStart",
        "platform.initReport",
        "platform.restoreReport",
        "platform.runtimeDone",
        "platform.extension",
        "platform.telemetrySubscription",
    ];
    if record.is_none() && MODELLED.contains(&kind) {
        return unrecognized(kind, "a record object");
    }
    let r = record.unwrap_or_default();
    let metric = |f: fn(&Metrics) -> Option<f64>| r.metrics.as_ref().and_then(f);
    match kind {
        "platform.start" => match request_id_of(&r) {
            Some(request_id) => Line::Start(Start {
                request_id,
                version: r.version.owned(),
            }),
            None => unrecognized(kind, "a requestId"),
        },
        "platform.report" => {
            let Some(request_id) = request_id_of(&r) else {
                return unrecognized(kind, "a requestId");
            };
            let Some(duration_ms) = metric(|m| m.duration_ms) else {
                return unrecognized(kind, "metrics.durationMs");
            };
            let metrics = ReportMetrics {
                duration_ms,
                billed_duration_ms: metric(|m| m.billed_duration_ms),
                memory_size_mb: metric(|m| m.memory_size_mb).and_then(megabytes),
                max_memory_used_mb: metric(|m| m.max_memory_used_mb).and_then(megabytes),
                init_duration_ms: metric(|m| m.init_duration_ms),
                restore_duration_ms: metric(|m| m.restore_duration_ms),
                billed_restore_duration_ms: metric(|m| m.billed_restore_duration_ms),
                status: r.status.owned(),
                error_type: r.error_type.owned(),
                xray_trace_id: r
                    .tracing
                    .as_ref()
                    .and_then(|t| t.root())
                    .map(str::to_string),
                format: LogFormat::Json,
            };
            Line::Report {
                request_id,
                metrics,
            }
        }
        "platform.initStart" => Line::InitStart(init_start(&r)),
        "platform.restoreStart" => Line::RestoreStart(init_start(&r)),
        "platform.initReport" | "platform.restoreReport" => {
            let p = PhaseReport {
                duration_ms: metric(|m| m.duration_ms),
                phase: r.phase.owned(),
                status: r.status.owned(),
                error_type: r.error_type.owned(),
                initialization_type: r.initialization_type.owned(),
            };
            if kind == "platform.initReport" {
                Line::InitReport(p)
            } else {
                Line::RestoreReport(p)
            }
        }
        "platform.runtimeDone" => Line::RuntimeDone(RuntimeDone {
            request_id: request_id_of(&r),
            status: r.status.owned(),
            error_type: r.error_type.owned(),
            duration_ms: metric(|m| m.duration_ms),
        }),
        "platform.extension" | "platform.telemetrySubscription" => Line::Extension(ExtensionLine {
            kind: kind.to_string(),
            name: r.name.owned(),
            state: r.state.owned(),
            error_type: r.error_type.owned(),
        }),
        _ => Line::PlatformOther {
            event_type: kind.to_string(),
            request_id: request_id_of(&r),
        },
    }
}

fn request_id_of(r: &Record) -> Option<String> {
    r.request_id.get().and_then(request_id)
}

fn init_start(r: &Record) -> InitStart {
    InitStart {
        runtime_version: r.runtime_version.owned(),
        runtime_version_arn: r.runtime_version_arn.owned(),
        initialization_type: r.initialization_type.owned(),
        function_name: r.function_name.owned(),
        function_version: r.function_version.owned(),
        instance_id: r.instance_id.owned(),
        instance_max_memory_mb: r
            .instance_max_memory
            .and_then(|bytes| megabytes(bytes / (1024.0 * 1024.0))),
    }
}

/// An application record (or a bare error payload).
///
/// `unhandled` is set for the shapes only a runtime prints: Python's `log_level` record, Node's
/// JSON-mode error object in `message`, and a bare `{errorMessage, errorType, stackTrace}`
/// payload with no level and no message (Go's `log.Printf` of the invoke error, Ruby's
/// `JSON.pretty_unparse`), and .NET's level + `"message": null` + error fields. A record with
/// `level`, a message and error fields is an error the code logged.
fn app_record(mut line: JsonLine) -> AppLine {
    let top = line.take_error();
    let log_level = line.log_level.0;
    let has_level = line.level.0.is_some() || log_level.is_some();
    let (error, unhandled) = if top.is_error() {
        let no_message = matches!(line.message, Message::None);
        let bare = !has_level && no_message;
        // .NET 8+ in JSON mode logs an unhandled exception with a level, `"message": null` and
        // the error fields (aws/aws-lambda-dotnet#1737); code that logs an exception it
        // caught always passes a message.
        let dotnet_unhandled = has_level && no_message;
        let unhandled = log_level.is_some() || bare || dotnet_unhandled;
        (Some(error_info(top)), unhandled)
    } else if let Message::Error(e) = std::mem::take(&mut line.message) {
        (Some(error_info(e)), true)
    } else {
        (None, false)
    };
    AppLine {
        level: line.level.0.or(log_level),
        request_id: line.request_id.get().and_then(request_id),
        timestamp_ms: line.timestamp.ms().or_else(|| line.time.ms()),
        error,
        oom: false,
        unhandled,
    }
}

/// Build an [`ErrorInfo`] from a payload. The first stack entry is dropped when it only
/// repeats `Type: message` (Node's `stack` and .NET's `stackTrace` start that way).
pub(super) fn error_info(p: ErrorPayload) -> ErrorInfo {
    let error_type = p.error_type.get().unwrap_or("").to_string();
    let message = p.error_message.get().unwrap_or("").to_string();
    let mut stack = p.stack_trace.0.or(p.stack.0).unwrap_or_default();
    if let Some(first) = stack.first() {
        let repeats = !error_type.is_empty()
            && first
                .strip_prefix(error_type.as_str())
                .is_some_and(|r| r.is_empty() || r.starts_with(':'));
        if repeats {
            stack.remove(0);
        }
    }
    ErrorInfo {
        error_type,
        message,
        stack,
    }
}
