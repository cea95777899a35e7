//! Parser tests. Fixture files under `tests/fixtures/parse/` hold real Lambda log shapes
//! (see their README); each file is snapshotted as a whole with insta. Targeted regression
//! tests go through `check(input, expect)`. Properties: the parser never panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use tern_core::model::{ErrorInfo, ReportMetrics};
use tern_core::parse::{
    parse_message, AppLine, ExtensionLine, InitStart, Line, PhaseReport, RuntimeDone, Start,
};

// ---------------------------------------------------------------------------------------------
// Rendering: one line for the variant, then one `field: value` line per non-default field.
// Destructuring is exhaustive, so a new field breaks this until it is rendered.

fn render(line: &Line) -> String {
    let mut out = String::new();
    let mut f = Fields(&mut out);
    match line {
        Line::Start(Start {
            request_id,
            version,
        }) => {
            f.head("Start");
            f.text("request_id", request_id);
            f.opt("version", version);
        }
        Line::End { request_id } => {
            f.head("End");
            f.text("request_id", request_id);
        }
        Line::Report {
            request_id,
            metrics,
        } => {
            f.head("Report");
            f.text("request_id", request_id);
            report(&mut f, metrics);
        }
        Line::InitStart(s) => {
            f.head("InitStart");
            init_start(&mut f, s);
        }
        Line::InitReport(p) => {
            f.head("InitReport");
            phase(&mut f, p);
        }
        Line::RestoreStart(s) => {
            f.head("RestoreStart");
            init_start(&mut f, s);
        }
        Line::RestoreReport(p) => {
            f.head("RestoreReport");
            phase(&mut f, p);
        }
        Line::RuntimeDone(RuntimeDone {
            request_id,
            status,
            error_type,
            duration_ms,
        }) => {
            f.head("RuntimeDone");
            f.opt("request_id", request_id);
            f.opt("status", status);
            f.opt("error_type", error_type);
            f.opt("duration_ms", duration_ms);
        }
        Line::Extension(ExtensionLine {
            kind,
            name,
            state,
            error_type,
        }) => {
            f.head("Extension");
            f.text("kind", kind);
            f.opt("name", name);
            f.opt("state", state);
            f.opt("error_type", error_type);
        }
        Line::Timeout {
            request_id,
            seconds,
        } => {
            f.head("Timeout");
            f.opt("request_id", request_id);
            f.val("seconds", seconds);
        }
        Line::RuntimeExit {
            request_id,
            message,
            error_type,
        } => {
            f.head("RuntimeExit");
            f.opt("request_id", request_id);
            f.text("message", message);
            f.opt("error_type", error_type);
        }
        Line::PlatformOther {
            event_type,
            request_id,
        } => {
            f.head("PlatformOther");
            f.text("event_type", event_type);
            f.opt("request_id", request_id);
        }
        Line::App(AppLine {
            level,
            request_id,
            timestamp_ms,
            error,
            oom,
            unhandled,
        }) => {
            f.head("App");
            f.opt("level", level);
            f.opt("request_id", request_id);
            f.opt("timestamp_ms", timestamp_ms);
            if let Some(ErrorInfo {
                error_type,
                message,
                stack,
            }) = error
            {
                f.val("error.type", error_type);
                f.val("error.message", message);
                for (i, frame) in stack.iter().enumerate() {
                    f.val(&format!("error.stack[{i}]"), frame);
                }
            }
            f.flag("oom", *oom);
            f.flag("unhandled", *unhandled);
        }
        Line::Unrecognized { diagnostic } => {
            f.head("Unrecognized");
            f.val("diagnostic", diagnostic);
        }
    }
    out
}

fn report(f: &mut Fields, m: &ReportMetrics) {
    let ReportMetrics {
        duration_ms,
        billed_duration_ms,
        memory_size_mb,
        max_memory_used_mb,
        init_duration_ms,
        restore_duration_ms,
        billed_restore_duration_ms,
        status,
        error_type,
        xray_trace_id,
        format,
    } = m;
    f.val("duration_ms", duration_ms);
    f.opt("billed_duration_ms", billed_duration_ms);
    f.opt("memory_size_mb", memory_size_mb);
    f.opt("max_memory_used_mb", max_memory_used_mb);
    f.opt("init_duration_ms", init_duration_ms);
    f.opt("restore_duration_ms", restore_duration_ms);
    f.opt("billed_restore_duration_ms", billed_restore_duration_ms);
    f.opt("status", status);
    f.opt("error_type", error_type);
    f.opt("xray_trace_id", xray_trace_id);
    f.val("format", format);
}

fn init_start(f: &mut Fields, s: &InitStart) {
    let InitStart {
        runtime_version,
        runtime_version_arn,
        initialization_type,
        function_name,
        function_version,
        instance_id,
        instance_max_memory_mb,
    } = s;
    f.opt("runtime_version", runtime_version);
    f.opt("runtime_version_arn", runtime_version_arn);
    f.opt("initialization_type", initialization_type);
    f.opt("function_name", function_name);
    f.opt("function_version", function_version);
    f.opt("instance_id", instance_id);
    f.opt("instance_max_memory_mb", instance_max_memory_mb);
}

fn phase(f: &mut Fields, p: &PhaseReport) {
    let PhaseReport {
        duration_ms,
        phase,
        status,
        error_type,
        initialization_type,
    } = p;
    f.opt("duration_ms", duration_ms);
    f.opt("phase", phase);
    f.opt("status", status);
    f.opt("error_type", error_type);
    f.opt("initialization_type", initialization_type);
}

struct Fields<'a>(&'a mut String);

impl Fields<'_> {
    fn head(&mut self, name: &str) {
        self.0.push_str(name);
        self.0.push('\n');
    }
    fn val(&mut self, name: &str, v: &dyn std::fmt::Debug) {
        writeln!(self.0, "  {name}: {v:?}").unwrap();
    }
    fn text(&mut self, name: &str, v: &str) {
        self.val(name, &v);
    }
    fn opt<T: std::fmt::Debug>(&mut self, name: &str, v: &Option<T>) {
        if let Some(v) = v {
            self.val(name, v);
        }
    }
    fn flag(&mut self, name: &str, v: bool) {
        if v {
            self.val(name, &v);
        }
    }
}

/// Parse `input` and compare its rendering with `expect` (leading/trailing blank lines and
/// the common indentation of `expect` are ignored).
#[track_caller]
fn check(input: &str, expect: &str) {
    let got = render(&parse_message(input));
    let want = dedent(expect);
    assert_eq!(got.trim_end(), want.trim_end(), "input: {input:?}");
}

fn dedent(s: &str) -> String {
    let lines: Vec<&str> = s.lines().skip_while(|l| l.trim().is_empty()).collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").to_string() + "\n")
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

struct Case {
    name: String,
    message: String,
}

fn fixture_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parse"))
}

/// Decode the fixture escapes: `\t`, `\n`, `\r`, `\\`, `\u{HEX}`; other backslashes are kept.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.peek() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('u') => {
                let rest: String = it.clone().skip(1).take_while(|&c| c != '}').collect();
                let hex = rest.strip_prefix('{').expect("\\u{HEX}");
                out.push(char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap());
                for _ in 0..rest.chars().count() + 2 {
                    it.next();
                }
                continue;
            }
            _ => {
                out.push('\\');
                continue;
            }
        }
        it.next();
    }
    out
}

fn load(file: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(fixture_dir().join(file)).unwrap();
    let mut cases = Vec::new();
    let mut name: Option<String> = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("# ") {
            assert!(name.is_none(), "{file}: two names in a row at {n:?}");
            name = Some(n.to_string());
        } else if !line.is_empty() {
            let n = name
                .take()
                .unwrap_or_else(|| panic!("{file}: case without a name"));
            cases.push(Case {
                name: n,
                message: unescape(line),
            });
        }
    }
    assert!(name.is_none(), "{file}: name without a case");
    assert!(!cases.is_empty(), "{file}: no cases");
    cases
}

fn all_fixture_messages() -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let file = path.file_name().unwrap().to_str().unwrap().to_string();
            out.extend(load(&file).into_iter().map(|c| c.message));
        }
    }
    out
}

/// Snapshot every case of a fixture file.
fn snapshot(file: &str) {
    let mut out = String::new();
    for case in load(file) {
        let shown: String = format!("{:?}", case.message);
        writeln!(out, "## {}", case.name).unwrap();
        writeln!(out, "{shown}").unwrap();
        out.push_str(&render(&parse_message(&case.message)));
        out.push('\n');
    }
    let name = file.trim_end_matches(".txt");
    insta::assert_snapshot!(name, out);
}

#[test]
fn fixtures_start_end() {
    snapshot("start_end.txt");
}

#[test]
fn fixtures_report() {
    snapshot("report.txt");
}

#[test]
fn fixtures_init_restore() {
    snapshot("init_restore.txt");
}

#[test]
fn fixtures_extension() {
    snapshot("extension.txt");
}

#[test]
fn fixtures_timeout_exit() {
    snapshot("timeout_exit.txt");
}

#[test]
fn fixtures_json_platform() {
    snapshot("json_platform.txt");
}

#[test]
fn fixtures_python() {
    snapshot("python.txt");
}

#[test]
fn fixtures_node() {
    snapshot("node.txt");
}

#[test]
fn fixtures_dotnet() {
    snapshot("dotnet.txt");
}

#[test]
fn fixtures_java() {
    snapshot("java.txt");
}

#[test]
fn fixtures_go() {
    snapshot("go.txt");
}

#[test]
fn fixtures_ruby() {
    snapshot("ruby.txt");
}

#[test]
fn fixtures_plain() {
    snapshot("plain.txt");
}

#[test]
fn fixtures_unrecognized() {
    snapshot("unrecognized.txt");
}

/// Every fixture file is snapshotted by one of the tests above.
#[test]
fn every_fixture_file_has_a_test() {
    let this = include_str!("parse.rs");
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let file = path.file_name().unwrap().to_str().unwrap();
            assert!(
                this.contains(&format!("snapshot(\"{file}\")")),
                "{file} has no snapshot test"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Targeted regressions.

#[test]
fn empty_and_blank_messages_are_plain_output() {
    check("", "App");
    check("\n", "App");
    check(" \t ", "App");
}

/// Shape: REPORT whose XRAY suffix must not leak into Error Type or Status (§1.3.1).
#[test]
fn report_xray_suffix_is_only_the_trace_id() {
    check(
        "REPORT RequestId: r1\tDuration: 1.5 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t\nXRAY TraceId: 1-aa-bb\tSegmentId: cc\tSampled: false\t\n",
        r#"
        Report
          request_id: "r1"
          duration_ms: 1.5
          billed_duration_ms: 2.0
          memory_size_mb: 128
          max_memory_used_mb: 20
          xray_trace_id: "1-aa-bb"
          format: Text
        "#,
    );
}

/// Shape: the first Duration wins; an unknown `Foo Duration:` field after it cannot overwrite it.
#[test]
fn report_unknown_field_ending_in_duration_does_not_overwrite() {
    check(
        "REPORT RequestId: r1\tDuration: 1.5 ms\tExtension Duration: 99 ms",
        r#"
        Report
          request_id: "r1"
          duration_ms: 1.5
          format: Text
        "#,
    );
}

/// Shape: Node's `Invoke Errors` is not the runtime phrase `Invoke Error` + tab.
#[test]
fn node_phrase_must_end_at_whitespace() {
    check(
        "2026-11-26T21:56:53.440Z\tc6af9ac6-7b61-11e6-9a41-93e812345678\tERROR\tInvoke Errors are counted here",
        r#"
        App
          level: Error
          request_id: "c6af9ac6-7b61-11e6-9a41-93e812345678"
          timestamp_ms: 1795730213440
        "#,
    );
}

/// Shape: a JSON platform record that carries extra fields keeps parsing (vector#23262).
#[test]
fn json_platform_extra_fields_are_ignored() {
    check(
        r#"{"time":"t","type":"platform.start","newTopLevel":[1,{"a":null}],"record":{"requestId":"r","version":"7","nested":{"deep":[1,2,3]}}}"#,
        r#"
        Start
          request_id: "r"
          version: "7"
        "#,
    );
}

/// Shape: escaped strings in JSON records (the owned, not borrowed, path).
#[test]
fn json_escaped_strings_are_decoded() {
    check(
        r#"{"type":"platform.start","record":{"requestId":"r\u0031","version":"\"v\""}}"#,
        r#"
        Start
          request_id: "r1"
          version: "\"v\""
        "#,
    );
}

/// Shape: Python's unhandled error without a traceback and without a Runtime.* type is not
/// taken for the runtime's report.
#[test]
fn python_error_line_needs_traceback() {
    check(
        "[ERROR] ValueError: bad input",
        r#"
        App
          level: Error
        "#,
    );
}

/// Shape: Go payload printed with a log prefix keeps the log's timestamp.
#[test]
fn go_payload_keeps_the_log_timestamp() {
    check(
        r#"2024/11/26 12:09:33 {"errorMessage":"x","errorType":"errorString"}"#,
        r#"
        App
          level: Error
          timestamp_ms: 1732622973000
          error.type: "errorString"
          error.message: "x"
          unhandled: true
        "#,
    );
}

/// Shape: pino-style numeric levels and epoch-millisecond times.
#[test]
fn pino_numeric_level_and_time() {
    check(
        r#"{"level":50,"time":1732622973000,"msg":"boom"}"#,
        r#"
        App
          level: Error
          timestamp_ms: 1732622973000
        "#,
    );
}

/// Shape: hostile JSON nested far deeper than any record; serde_json's depth limit must turn
/// it into plain output (or a diagnostic) instead of a stack overflow.
#[test]
fn deeply_nested_json_is_refused_not_overflowed() {
    let deep = "{\"a\":".repeat(100_000);
    check(&deep, "App");
    let platform = format!("{{\"type\":\"platform.report\",\"record\":{deep}");
    assert!(matches!(
        parse_message(&platform),
        Line::Unrecognized { .. }
    ));
    let message = format!("{{\"level\":\"ERROR\",\"message\":{}", "[".repeat(100_000));
    check(&message, "App");
}

/// Shape: an event at CloudWatch's 1 MB limit, one line and many lines.
#[test]
fn huge_messages_parse() {
    let line = "x".repeat(1 << 20);
    check(&line, "App");
    let many = "java.lang.X: y\n".repeat(1 << 16);
    check(&many, "App");
    let report = format!("REPORT RequestId: r {}", "Duration: 1 ms ".repeat(1 << 16));
    assert!(matches!(parse_message(&report), Line::Report { .. }));
}

/// Truncating every fixture at every char boundary (an event cut by the 256 KB limit, a
/// half-written line) must not panic; neither must dropping any prefix.
#[test]
fn truncations_never_panic() {
    for message in all_fixture_messages() {
        for (i, _) in message.char_indices().chain([(message.len(), ' ')]) {
            let _ = parse_message(&message[..i]);
            let _ = parse_message(&message[i..]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.

const PREFIXES: [&str; 22] = [
    "START RequestId: ",
    "END RequestId: ",
    "REPORT RequestId: ",
    "REPORT RequestId: r\tDuration: ",
    "INIT_START ",
    "INIT_REPORT Init Duration: ",
    "RESTORE_REPORT Restore Duration: ",
    "RESTORE_START ",
    "EXTENSION\tName: ",
    "TELEMETRY\t",
    "RequestId: x Error: ",
    "Task timed out after ",
    "2023-10-20T16:28:17.840Z ",
    "2023-10-20T16:28:17.840Z\tid\tERROR\tInvoke Error \t",
    "2023-10-20T16:28:17.840Z\tid\tfail\t",
    "[ERROR] ",
    "[INFO]\t",
    "{\"type\":\"platform.report\",\"record\":",
    "{\"level\":\"ERROR\",\"message\":",
    "2024/11/26 12:09:33 {",
    "panic: ",
    "E, [2025-01-02T03:04:05.123456 #8] ERROR ",
];

proptest! {
    #[test]
    fn never_panics_on_any_string(s in any::<String>()) {
        let _ = parse_message(&s);
    }

    #[test]
    fn never_panics_after_a_platform_prefix(
        p in prop::sample::select(PREFIXES.to_vec()),
        s in "[ -~\t\n\r\u{a0}é🚀]{0,120}",
    ) {
        let _ = parse_message(&format!("{p}{s}"));
    }

    #[test]
    fn never_panics_on_mutated_fixtures(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        insert in "[ -~\t\n\r\u{a0}{}\\[\\]\"\\\\é🚀]{0,4}",
        delete in 0usize..8,
    ) {
        let messages = fixtures();
        let m = &messages[pick.index(messages.len())];
        let bounds: Vec<usize> = m.char_indices().map(|(i, _)| i).chain([m.len()]).collect();
        let start = bounds[at.index(bounds.len())];
        let end = bounds
            .iter()
            .copied()
            .find(|&b| b >= start && m[start..b].chars().count() >= delete)
            .unwrap_or(m.len());
        let mutated = format!("{}{}{}", &m[..start], insert, &m[end..]);
        let _ = parse_message(&mutated);
    }
}

fn fixtures() -> &'static [String] {
    static ALL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ALL.get_or_init(all_fixture_messages)
}
