//! Application (function) output: each runtime's log line layout, and the error output the
//! runtimes print for unhandled errors. Shapes and real examples: lambda-logs.md §3.
//!
//! Dispatch is on the first bytes; the error extractors run only on lines whose level is
//! error or worse, or on multi-line output with no level prefix.

use std::sync::LazyLock;

use memchr::{memchr2, memmem};

use super::platform::{self, TIMED_OUT};
use super::scan::{
    is_at_frame, is_type_name, is_uuid, level_from_word, lines, request_id, split_type_message,
    token,
};
use super::{json, AppLine, Line};
use crate::model::{ErrorInfo, Level};
use crate::time::{self, Dialect};

/// How many lines the stack-trace readers look at before giving up.
const MAX_LINES: usize = 256;

/// Classify a message that is not a platform line.
pub(super) fn parse(message: &str) -> Line {
    let b = message.as_bytes();
    let app = match b.first() {
        Some(b'[') => bracket(message),
        Some(c) if c.is_ascii_digit() => match time::parse_prefix(b, Dialect::Runtime) {
            Some((ts, n, _)) => return stamped(message, ts, n),
            None => match id_timeout(message) {
                Some(line) => return line,
                None => plain(message),
            },
        },
        Some(b'a'..=b'f') => match id_timeout(message) {
            Some(line) => return line,
            None if b.starts_with(b"fatal error: ") => go_panic(message, "fatal error: "),
            None => plain(message),
        },
        Some(b'T') if message.starts_with(TIMED_OUT) => return platform::timeout(None, message),
        Some(b'p') if b.starts_with(b"panic: ") => go_panic(message, "panic: "),
        Some(b'L') if b.starts_with(b"LAMBDA_WARNING:") => lambda_warning(message),
        Some(c) if c.is_ascii_uppercase() && b.get(1..4) == Some(b", [") => {
            ruby(message).unwrap_or_else(|| plain(message))
        }
        _ => plain(message),
    };
    Line::App(finish(app, message))
}

/// Final touches shared by every application line: an unhandled error without a printed
/// level is an error line, and the out-of-memory signatures.
pub(super) fn finish(mut a: AppLine, message: &str) -> AppLine {
    if a.unhandled && a.level.is_none() {
        a.level = Some(Level::Error);
    }
    a.oom = oom_signature(message) || a.error.as_ref().is_some_and(|e| oom_type(&e.error_type));
    a
}

/// The out-of-memory strings of lambda-logs.md §3.8 (DataDog's `OOM_ERRORS`), except Python's
/// `MemoryError`, which counts only as an error type, and `signal: killed`, which is a
/// [`Line::RuntimeExit`] for the assembler to judge.
const OOM_SIGNATURES: [&str; 5] = [
    "fatal error: runtime: out of memory",       // Go
    "java.lang.OutOfMemoryError",                // Java
    "JavaScript heap out of memory",             // Node
    "failed to allocate memory (NoMemoryError)", // Ruby
    "OutOfMemoryException",                      // .NET
];

/// Every signature contains "emory": one fast scan rules out nearly every line. The searcher
/// is built once; `memmem::find` would build it again for every line.
static EMORY: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("emory"));

fn oom_signature(message: &str) -> bool {
    let b = message.as_bytes();
    EMORY.find(b).is_some()
        && OOM_SIGNATURES
            .iter()
            .any(|s| memmem::find(b, s.as_bytes()).is_some())
}

fn oom_type(t: &str) -> bool {
    t == "MemoryError"
        || t.contains("NoMemoryError")
        || t.contains("OutOfMemoryError")
        || t.contains("OutOfMemoryException")
}

/// `(before, after)` the first tab; `after` is `None` when there is no tab.
fn split_tab(s: &str) -> (&str, Option<&str>) {
    match s.split_once('\t') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

/// `[LEVEL]\t<ts>\t<request id>\t<message>` (Python), `[LEVEL] <message>` (Java's text
/// formatter), and Python's unhandled error `[ERROR] Type: message\nTraceback …`.
fn bracket(message: &str) -> AppLine {
    let b = message.as_bytes();
    let Some(close) = b.iter().take(16).position(|&c| c == b']') else {
        return plain(message);
    };
    let Some(level) = message.get(1..close).and_then(level_from_word) else {
        return plain(message);
    };
    let rest = message.get(close + 1..).unwrap_or("");
    let mut a = AppLine {
        level: Some(level),
        ..AppLine::default()
    };
    if let Some(fields) = rest.strip_prefix('\t') {
        // Python's logger: asctime, request id (empty during init), message.
        let (ts, r) = split_tab(fields);
        a.timestamp_ms = time::parse_exact(ts, Dialect::Runtime);
        let (id, msg) = r.map_or(("", None), split_tab);
        a.request_id = request_id(id);
        if level >= Level::Error {
            if let Some(msg) = msg {
                a.error = python_logged(msg);
            }
        }
    } else if let Some(body) = rest.strip_prefix(' ') {
        if level >= Level::Error {
            if let Some(e) = python_unhandled(body) {
                a.error = Some(e);
                a.unhandled = true;
            } else if let Some((e, _)) = stack_text(body, false) {
                a.error = Some(e);
            }
        }
    }
    a
}

const TRACEBACK: &str = "Traceback (most recent call last):";

/// Python's `log_error` in text mode (awslambdaric `bootstrap.py`): `[ERROR] Type: message`,
/// `Traceback (most recent call last):`, then the frames with their leading spaces replaced
/// by U+00A0. No traceback line only for `Runtime.*` errors of older runtimes.
fn python_unhandled(body: &str) -> Option<ErrorInfo> {
    let tb = memmem::find(body.as_bytes(), TRACEBACK.as_bytes());
    let head = body.get(..tb.unwrap_or(body.len()))?.trim();
    let typed = split_type_message(head);
    if tb.is_none() && !typed.is_some_and(|(t, _)| t.starts_with("Runtime.")) {
        return None;
    }
    let (error_type, message) = typed.unwrap_or(("", head));
    let stack = python_traceback(body).map(|(f, _)| f).unwrap_or_default();
    Some(ErrorInfo {
        error_type: error_type.to_string(),
        message: message.trim().to_string(),
        stack,
    })
}

/// `logger.exception(...)` in Python's text format: the message, then a traceback that ends
/// with the `Type: message` line.
fn python_logged(msg: &str) -> Option<ErrorInfo> {
    let (stack, exc) = python_traceback(msg)?;
    let exc = exc?;
    let (error_type, message) = split_type_message(exc).unwrap_or(("", exc));
    Some(ErrorInfo {
        error_type: error_type.to_string(),
        message: message.trim().to_string(),
        stack,
    })
}

/// Frames after the last `Traceback (most recent call last):` line (one entry per frame:
/// the `File …` line and its source line, each trimmed), and the first unindented line after
/// them (the exception line of a printed traceback).
fn python_traceback(body: &str) -> Option<(Vec<String>, Option<&str>)> {
    let at = memmem::rfind(body.as_bytes(), TRACEBACK.as_bytes())?;
    let rest = body.get(at + TRACEBACK.len()..)?;
    let mut frames: Vec<String> = Vec::new();
    for raw in lines(rest).take(MAX_LINES) {
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        let indented = raw.starts_with(char::is_whitespace);
        if indented && t.starts_with("File ") {
            frames.push(t.to_string());
        } else if indented {
            let marker = t.bytes().all(|b| matches!(b, b'^' | b'~' | b' '));
            if let (Some(f), false) = (frames.last_mut(), marker) {
                f.push('\n');
                f.push_str(t);
            }
        } else {
            return Some((frames, Some(t)));
        }
    }
    Some((frames, None))
}

/// `Type: message` followed by `at …` frames: Java (`java.lang.X: msg\n\tat …`), .NET
/// (`System.XException: msg\n---> …\nat … in …:line N`), Node (`TypeError: msg\n    at …`).
/// Returns the error and the index of its header among the non-blank lines. With
/// `single_ok`, a lone `….XException: message` line counts too (.NET `fail` lines).
fn stack_text(body: &str, single_ok: bool) -> Option<(ErrorInfo, usize)> {
    let nonblank = lines(body).map(str::trim).filter(|l| !l.is_empty());
    for (i, line) in nonblank.take(MAX_LINES).enumerate() {
        let Some((t, m)) = split_type_message(strip_thread_prefix(line)) else {
            continue;
        };
        if !plausible_exception(t) {
            continue;
        }
        let rest = body.get(offset_after(body, line)..).unwrap_or("");
        let framed = lines(rest).take(MAX_LINES).any(is_at_frame);
        let lone = single_ok && t.ends_with("Exception") && rest.trim().is_empty();
        if !framed && !lone {
            continue;
        }
        let stack = lines(rest)
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(MAX_LINES)
            .map(str::to_string)
            .collect();
        let e = ErrorInfo {
            error_type: t.to_string(),
            message: m.trim().to_string(),
            stack,
        };
        return Some((e, i));
    }
    None
}

/// Java's uncaught-exception handler prefixes `Exception in thread "main" `.
fn strip_thread_prefix(line: &str) -> &str {
    line.strip_prefix("Exception in thread \"")
        .and_then(|r| r.split_once("\" "))
        .map_or(line, |(_, r)| r)
}

/// Exception class names: dotted (Java, .NET) or ending in Error/Exception (Node, Python).
fn plausible_exception(t: &str) -> bool {
    t.contains('.') || t.ends_with("Error") || t.ends_with("Exception") || t.ends_with("Throwable")
}

/// Byte offset just past `sub`, which must be a subslice of `body`.
fn offset_after(body: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize)
        .saturating_sub(body.as_ptr() as usize)
        .saturating_add(sub.len())
        .min(body.len())
}

/// A message after a printed timestamp: Node and .NET `<ts>\t<request id>\t<level>\t<msg>`,
/// the timeout line `<ts> <request id> Task timed out after N.NN seconds`, Go's
/// `YYYY/MM/DD HH:MM:SS <msg>` (an error payload when `<msg>` is JSON).
fn stamped(message: &str, ts: i64, n: usize) -> Line {
    let rest = message.get(n..).unwrap_or("");
    let mut a = AppLine {
        timestamp_ms: Some(ts),
        ..AppLine::default()
    };
    if let Some(fields) = rest.strip_prefix('\t') {
        let (id, after) = split_tab(fields);
        if let Some(after) = after {
            if after.starts_with(TIMED_OUT) {
                return platform::timeout(Some(id), after);
            }
            a.request_id = request_id(id);
            let (word, msg) = split_tab(after);
            if let (Some(level), Some(msg)) = (level_from_word(word), msg) {
                a.level = Some(level);
                if level >= Level::Error {
                    // .NET prints its short level names in lower case.
                    let dotnet = matches!(word, "fail" | "crit");
                    (a.error, a.unhandled) = node_or_dotnet_error(msg, dotnet);
                }
            }
        }
    } else if let Some(text) = rest.strip_prefix(' ') {
        if text.starts_with('{') {
            // Go's `log.Printf("%s", errorPayload)` (aws-lambda-go `invoke_loop.go`).
            if let Some(p) = json::app_payload(text) {
                a = AppLine {
                    timestamp_ms: p.timestamp_ms.or(Some(ts)),
                    ..p
                };
            }
        } else if text.starts_with(TIMED_OUT) {
            return platform::timeout(None, text);
        } else {
            let (id, after) = token(text);
            let after = after.trim_start_matches([' ', '\t']);
            if after.starts_with(TIMED_OUT) {
                return platform::timeout(Some(id), after);
            }
        }
    }
    Line::App(finish(a, message))
}

/// `<request id> Task timed out after …` with no timestamp.
fn id_timeout(message: &str) -> Option<Line> {
    let id = message.get(..36).filter(|id| is_uuid(id))?;
    let rest = message.get(36..)?;
    let after = rest.trim_start_matches([' ', '\t']);
    (after.len() < rest.len() && after.starts_with(TIMED_OUT))
        .then(|| platform::timeout(Some(id), after))
}

const NODE_UNHANDLED: [&str; 3] = [
    "Invoke Error",
    "Uncaught Exception",
    "Unhandled Promise Rejection",
];

/// The message of a Node or .NET error-level line. Node's runtime prints unhandled errors as
/// `Invoke Error \t{json}` (also `Uncaught Exception`, `Unhandled Promise Rejection`); .NET's
/// prints the exception text (`System.XException: msg\n at …`) as a `fail` line.
fn node_or_dotnet_error(msg: &str, dotnet: bool) -> (Option<ErrorInfo>, bool) {
    for phrase in NODE_UNHANDLED {
        let Some(r) = msg.strip_prefix(phrase) else {
            continue;
        };
        let payload = r.trim_start_matches([' ', '\t']);
        if payload.len() == r.len() && !r.is_empty() {
            continue; // `Invoke Errors…`: not the runtime's phrase.
        }
        return (Some(json::node_error(payload)), true);
    }
    match stack_text(msg, dotnet) {
        Some((e, i)) => (Some(e), dotnet && i == 0),
        None => (None, false),
    }
}

/// Python's JSON-mode unhandled error shares one event with the warning before it:
/// `LAMBDA_WARNING: Unhandled exception. …\r{"timestamp": …, "log_level": "ERROR", …}`.
fn lambda_warning(message: &str) -> AppLine {
    let json_at = memmem::find(message.as_bytes(), b"\r{")
        .or_else(|| memmem::find(message.as_bytes(), b"\n{"));
    json_at
        .and_then(|i| message.get(i + 1..))
        .and_then(json::app_payload)
        .unwrap_or(AppLine {
            level: Some(Level::Warn),
            ..AppLine::default()
        })
}

/// Go's runtime on stderr: `panic: <value>` or `fatal error: <msg>`, then
/// `goroutine N [running]:` and frames as `function(…)\n\t/path/file.go:12 +0x1d`.
fn go_panic(message: &str, prefix: &str) -> AppLine {
    let body = message.get(prefix.len()..).unwrap_or("");
    let first = lines(body).next().unwrap_or("").trim();
    let fatal = prefix.starts_with("fatal");
    AppLine {
        level: Some(if fatal { Level::Fatal } else { Level::Error }),
        error: Some(ErrorInfo {
            error_type: prefix.trim_end_matches([':', ' ']).to_string(),
            message: first.to_string(),
            stack: go_frames(body),
        }),
        unhandled: true,
        ..AppLine::default()
    }
}

/// The first goroutine's frames, each `function(…) (/path/file.go:12)`.
fn go_frames(body: &str) -> Vec<String> {
    let Some(g) = memmem::find(body.as_bytes(), b"goroutine ") else {
        return Vec::new();
    };
    let rest = body.get(g..).unwrap_or("");
    let mut out = Vec::new();
    let mut func: Option<&str> = None;
    for raw in lines(rest).skip(1).take(MAX_LINES) {
        let t = raw.trim();
        if t.is_empty() {
            if func.is_some() || !out.is_empty() {
                break; // the next goroutine
            }
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            let loc = t.rsplit_once(" +0x").map_or(t, |(l, _)| l);
            match func.take() {
                Some(f) => out.push(format!("{f} ({loc})")),
                None => out.push(loc.to_string()),
            }
        } else if let Some(f) = func.replace(t) {
            out.push(f.to_string());
        }
    }
    if let Some(f) = func {
        out.push(f.to_string());
    }
    out
}

/// Ruby's logger (aws_lambda_ric `lambda_log_formatter.rb`):
/// `E, [2025-01-02T03:04:05.123456 #8] ERROR <request id> -- <progname>: <message>`.
fn ruby(message: &str) -> Option<AppLine> {
    let after_bracket = message.get(4..)?;
    let (ts, n, _) = time::parse_prefix(after_bracket.as_bytes(), Dialect::Runtime)?;
    let rest = after_bracket.get(n..)?.strip_prefix(" #")?;
    let (_, rest) = rest.split_once("] ")?;
    let (head, tail) = rest.split_once(" -- ")?;
    let (sev, id) = token(head.trim_start());
    let level = level_from_word(sev);
    let msg = tail.split_once(": ").map_or(tail, |(_, m)| m);
    let mut a = AppLine {
        level,
        request_id: request_id(id),
        timestamp_ms: Some(ts),
        ..AppLine::default()
    };
    if level.is_some_and(|l| l >= Level::Error) {
        a.error = ruby_exception(msg);
    }
    Some(a)
}

/// Ruby's `Logger` renders an exception as `message (Class)\nbacktrace…`.
fn ruby_exception(msg: &str) -> Option<ErrorInfo> {
    let mut it = lines(msg);
    let first = it.next()?.trim_end();
    let (text, class) = first.strip_suffix(')')?.rsplit_once(" (")?;
    if !is_type_name(class) {
        return None;
    }
    let stack: Vec<String> = it
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(MAX_LINES)
        .map(str::to_string)
        .collect();
    if stack.is_empty() {
        return None;
    }
    Some(ErrorInfo {
        error_type: class.to_string(),
        message: text.to_string(),
        stack,
    })
}

/// Ruby's runtime announces an unhandled error on its own line before the JSON payload
/// (aws_lambda_ric `lambda_logger.rb`, `aws_lambda_ric.rb`).
const RUBY_UNHANDLED: [&str; 3] = [
    "Error raised from handler method",
    "Critical exception from handler",
    "Init error when loading handler",
];

/// Output with no recognizable prefix: Ruby's unhandled-error announcement, Java's
/// unhandled-exception report (`<msg>: <class>\n<class>: <msg>\n\tat …`, UserFault.java),
/// stack traces printed to stderr, or plain program output.
fn plain(message: &str) -> AppLine {
    if RUBY_UNHANDLED.iter().any(|p| message.starts_with(p)) {
        return AppLine {
            unhandled: true,
            ..AppLine::default()
        };
    }
    let body = message.trim_end();
    if memchr2(b'\n', b'\r', body.as_bytes()).is_none() {
        return AppLine::default();
    }
    match stack_text(body, false) {
        Some((e, i)) => {
            // Java's UserFault: the first line ends with `: <exception class>`.
            let user_fault = i == 1
                && lines(body)
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .and_then(|l| l.strip_suffix(e.error_type.as_str()))
                    .is_some_and(|p| p.ends_with(": "));
            AppLine {
                error: Some(e),
                unhandled: user_fault,
                ..AppLine::default()
            }
        }
        None => AppLine::default(),
    }
}
