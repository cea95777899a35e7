//! Error fingerprints: the same error with different ids, numbers and timestamps
//! lands in one group; two different errors never share one. Invocations are real log shapes
//! from lambda-logs.md §1–§3, run through the assembler, so extraction is covered too.
//! Golden snapshots pin the ids and titles of grouping version 1: an accidental change of the
//! algorithm fails them (versioning is what keeps stored groups stable).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use tern_core::assemble::Assembler;
use tern_core::fingerprint::{
    fingerprint, fingerprint_invocation, format_id, normalize_message, parse_id, Basis,
    Fingerprint, GROUPING_VERSION, SUPPORTED_VERSIONS,
};
use tern_core::model::{ErrorInfo, InvocationPart, LogEvent, Outcome};
use tern_core::parse::{parse_message, Line};

// ---------------------------------------------------------------------------------------------
// Helpers.

const REPORT: &str =
    "REPORT RequestId: {rid}\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 128 MB\tMax Memory Used: 56 MB";

/// START, the body lines, END and a REPORT (plus `report_tail`, e.g. `\tStatus: timeout`),
/// with `{rid}` replaced by the request id.
fn invocation_lines(rid: &str, body: &[&str], report_tail: &str) -> Vec<String> {
    let mut lines = vec![format!("START RequestId: {rid} Version: $LATEST")];
    lines.extend(body.iter().map(|l| l.replace("{rid}", rid)));
    lines.push(format!("END RequestId: {rid}"));
    lines.push(format!("{}{report_tail}", REPORT.replace("{rid}", rid)));
    lines
}

/// Assemble one invocation of `function` from its lines.
fn assemble(function: &str, lines: &[String]) -> InvocationPart {
    let group: Arc<str> = Arc::from(format!("/aws/lambda/{function}"));
    let stream: Arc<str> = Arc::from("2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef");
    let mut a = Assembler::new();
    for (i, m) in lines.iter().enumerate() {
        a.push(LogEvent {
            log_group: group.clone(),
            log_stream: stream.clone(),
            timestamp_ms: 1_767_225_600_000 + i as i64,
            message: m.clone(),
            event_id: None,
        });
    }
    let mut parts = a.finish().parts;
    assert_eq!(parts.len(), 1, "one invocation expected: {lines:#?}");
    parts.pop().unwrap()
}

fn fp_lines(function: &str, lines: &[String]) -> Fingerprint {
    let part = assemble(function, lines);
    fingerprint_invocation(&part, GROUPING_VERSION)
        .unwrap_or_else(|| panic!("a failure expected, got {:?}: {lines:#?}", part.outcome()))
}

/// Fingerprint one invocation of `function` whose body is `body` (with `{rid}` replaced).
fn fp(function: &str, rid: &str, body: &[&str], report_tail: &str) -> Fingerprint {
    fp_lines(function, &invocation_lines(rid, body, report_tail))
}

const RID: [&str; 4] = [
    "8f507cfc-6e2a-4697-b07a-ac58fc914c95",
    "06e46194-f277-454e-88d3-1dd7e3860eaa",
    "4725a167-21a7-5731-99c2-c3d0e3dfd770",
    "595dc20a-caa6-455c-b6cb-182bc88397ed",
];

/// All of `same` share one id with basis `basis`; every one of `different` has an id of its
/// own (distinct from the group and from each other).
#[track_caller]
fn assert_groups(same: &[Fingerprint], different: &[Fingerprint], basis: Basis) {
    let first = &same[0];
    assert_eq!(first.kind, basis, "{first:#?}");
    for f in same {
        assert_eq!(f.id(), first.id(), "{f:#?}\nvs\n{first:#?}");
        assert_eq!(f.title, first.title);
    }
    let mut ids = vec![first.id()];
    for f in different {
        assert!(!ids.contains(&f.id()), "shares a group: {f:#?}");
        ids.push(f.id());
    }
}

// ---------------------------------------------------------------------------------------------
// Same error, one group; different errors, different groups: per runtime.

/// Python text mode: `[ERROR] Type: message` + traceback with U+00A0 indentation (§3.1).
fn python_error(error: &str, app_line: u32, runtime_line: u32) -> String {
    format!(
        "[ERROR] {error}\nTraceback (most recent call last):\n\u{a0}\u{a0}File \"/var/runtime/bootstrap.py\", line {runtime_line}, in handle_event_request\n\u{a0}\u{a0}\u{a0}\u{a0}response = request_handler(event, lambda_context)\n\u{a0}\u{a0}File \"/var/task/lambda_function.py\", line 36, in lambda_handler\n\u{a0}\u{a0}\u{a0}\u{a0}return load(event)\n\u{a0}\u{a0}File \"/var/task/orders.py\", line {app_line}, in load\n\u{a0}\u{a0}\u{a0}\u{a0}return ORDERS[event['id']]\n"
    )
}

#[test]
fn python_groups() {
    let same = [
        fp(
            "orders",
            RID[0],
            &[&python_error("KeyError: 'user_1'", 12, 180)],
            "",
        ),
        fp(
            "orders",
            RID[1],
            &[&python_error("KeyError: 'o-8f507cfc'", 12, 185)],
            "",
        ),
    ];
    let different = [
        fp(
            "orders",
            RID[2],
            &[&python_error("KeyError: 'user_1'", 13, 180)],
            "",
        ),
        fp(
            "orders",
            RID[3],
            &[&python_error("ValueError: 'user_1'", 12, 180)],
            "",
        ),
        fp(
            "billing",
            RID[0],
            &[&python_error("KeyError: 'user_1'", 12, 180)],
            "",
        ),
    ];
    assert_groups(&same, &different, Basis::InAppStack);
    assert_eq!(
        same[0].frames,
        [
            "lambda_function.py:36 in lambda_handler",
            "orders.py:12 in load"
        ]
    );
    assert_eq!(same[0].culprit.as_deref(), Some("orders.py:12 in load"));
    assert_eq!(same[0].title, "KeyError at orders.py:12 in load");
}

/// Python JSON mode: the LAMBDA_WARNING and the `log_level` record in one event, frames only
/// in /var/lang (§3.1, level12/mu): grouped by type and normalized message.
#[test]
fn python_json_mode_groups_by_type_and_message() {
    let line = |byte: &str, pos: u32| {
        format!("LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code.\r{{\"timestamp\": \"2024-06-17T17:23:55Z\", \"log_level\": \"ERROR\", \"errorMessage\": \"'utf-8' codec can't decode byte {byte} in position {pos}: invalid start byte\", \"errorType\": \"UnicodeDecodeError\", \"requestId\": \"{{rid}}\", \"stackTrace\": [\"  File \\\"/var/lang/lib/python3.12/site-packages/mu/handler.py\\\", line 21, in on_event\\n    return cls.wsgi(event, context)\\n\"]}}\n")
    };
    let same = [
        fp("api", RID[0], &[&line("0x80", 7)], ""),
        fp("api", RID[1], &[&line("0xff", 1234)], ""),
    ];
    let different = [fp(
        "api",
        RID[2],
        &[&line("0x80", 7).replace("invalid start byte", "unexpected end of data")],
        "",
    )];
    assert_groups(&same, &different, Basis::TypeAndMessage);
    assert_eq!(
        same[0].title,
        "UnicodeDecodeError: <str> codec can't decode byte <hex> in position <num>: invalid start byte"
    );
}

/// Node text mode: `Invoke Error \t{json}` with `stack` as an array (§3.2).
fn node_error(message: &str, app: &str, runtime_line: u32) -> String {
    format!(
        "2026-11-26T21:56:53.440Z\t{{rid}}\tERROR\tInvoke Error \t{{\"errorType\":\"TypeError\",\"errorMessage\":\"{message}\",\"stack\":[\"TypeError: {message}\",\"    at getOrder (file:///var/task/{app})\",\"    at async Runtime.handler (file:///var/task/index.mjs:14:20)\",\"    at async Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:{runtime_line}:29)\"]}}\n"
    )
}

#[test]
fn node_groups() {
    let same = [
        fp(
            "web",
            RID[0],
            &[&node_error(
                "Cannot read properties of undefined (reading 'id')",
                "orders.mjs:5:27",
                1173,
            )],
            "",
        ),
        fp(
            "web",
            RID[1],
            &[&node_error(
                "Cannot read properties of undefined (reading 'sku')",
                "orders.mjs:5:27",
                1206,
            )],
            "",
        ),
    ];
    let different = [
        fp(
            "web",
            RID[2],
            &[&node_error(
                "Cannot read properties of undefined (reading 'id')",
                "orders.mjs:9:3",
                1173,
            )],
            "",
        ),
        fp(
            "web",
            RID[3],
            &[&node_error(
                "Cannot read properties of undefined (reading 'id')",
                "orders.mjs:5:28",
                1173,
            )],
            "",
        ),
    ];
    assert_groups(&same, &different, Basis::InAppStack);
    assert_eq!(
        same[0].frames,
        [
            "orders.mjs:5:27 in getOrder",
            "index.mjs:14:20 in async Runtime.handler"
        ]
    );
}

/// Java: UserFault's `<message>: <class>` then the printed stack trace (§3.3).
fn java_error(message: &str, app_line: u32, runtime_line: u32) -> String {
    format!(
        "{message}: java.lang.IllegalArgumentException\njava.lang.IllegalArgumentException: {message}\n\tat example.OrderService.load(OrderService.java:{app_line})\n\tat example.Handler.handleRequest(Handler.java:28)\n\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n\tat lambdainternal.EventHandlerLoader$PojoHandlerAsStreamHandler.handleRequest(EventHandlerLoader.java:{runtime_line})\n"
    )
}

#[test]
fn java_groups() {
    let same = [
        fp(
            "jobs",
            RID[0],
            &[&java_error(
                "order 42 not found at 2026-01-01T10:00:00Z",
                17,
                199,
            )],
            "",
        ),
        fp(
            "jobs",
            RID[1],
            &[&java_error(
                "order 977 not found at 2026-02-03T11:12:13Z",
                17,
                205,
            )],
            "",
        ),
    ];
    let different = [fp(
        "jobs",
        RID[2],
        &[&java_error("order 42 not found", 18, 199)],
        "",
    )];
    assert_groups(&same, &different, Basis::InAppStack);
    assert_eq!(
        same[0].frames,
        [
            "OrderService.java:17 in example.OrderService.load",
            "Handler.java:28 in example.Handler.handleRequest"
        ]
    );
}

/// .NET: `<ts>\t<rid>\tfail\t<exception text>` (§3.5).
fn dotnet_error(text: &str) -> String {
    format!("2021-12-10T08:20:59.274Z\t{{rid}}\tfail\t{text}\n")
}

#[test]
fn dotnet_groups() {
    // A lone exception line: type and normalized message.
    let lone = |m: &str| dotnet_error(&format!("System.InvalidOperationException: {m}"));
    let same = [
        fp(
            "pay",
            RID[0],
            &[&lone(
                "Order 42 for customer 8f507cfc-6e2a-4697-b07a-ac58fc914c95 has no lines",
            )],
            "",
        ),
        fp(
            "pay",
            RID[1],
            &[&lone(
                "Order 7 for customer 06e46194-f277-454e-88d3-1dd7e3860eaa has no lines",
            )],
            "",
        ),
    ];
    let different = [
        fp("pay", RID[2], &[&lone("Sequence contains no elements")], ""),
        fp("pay", RID[3], &[&dotnet_error("System.ArgumentException: Order 42 for customer 8f507cfc-6e2a-4697-b07a-ac58fc914c95 has no lines")], ""),
    ];
    assert_groups(&same, &different, Basis::TypeAndMessage);

    // With frames: the runtime's frames and IL offsets do not count.
    let framed = |m: &str, offset: &str| {
        dotnet_error(&format!("System.NullReferenceException: {m}\n   at Pay.Function.Charge(Order order) in /src/Pay/Function.cs:line 57\n   at Amazon.Lambda.RuntimeSupport.HandlerWrapper.Invoke() + {offset}"))
    };
    let same = [
        fp(
            "pay",
            RID[0],
            &[&framed(
                "Object reference not set to an instance of an object.",
                "0x1a",
            )],
            "",
        ),
        fp(
            "pay",
            RID[1],
            &[&framed(
                "Object reference not set to an instance of an object.",
                "0x2f",
            )],
            "",
        ),
    ];
    assert_groups(&same, &[], Basis::InAppStack);
    assert_eq!(
        same[0].frames,
        ["Function.cs:57 in Pay.Function.Charge(Order order)"]
    );
}

/// Go: `log.Printf` of the error payload (§3.4); panics carry `stackTrace` objects.
#[test]
fn go_groups() {
    let payload = |m: &str| {
        format!("2026/09/14 22:25:42 {{\"errorMessage\":\"{m}\",\"errorType\":\"errorString\"}}\n")
    };
    let same = [
        fp(
            "sync",
            RID[0],
            &[&payload(
                "account 12345 is not invited (request 8f507cfc-6e2a-4697-b07a-ac58fc914c95)",
            )],
            "",
        ),
        fp(
            "sync",
            RID[1],
            &[&payload(
                "account 987 is not invited (request 06e46194-f277-454e-88d3-1dd7e3860eaa)",
            )],
            "",
        ),
    ];
    let different = [
        fp(
            "sync",
            RID[2],
            &[&payload("account 12345 is suspended")],
            "",
        ),
        fp(
            "sync",
            RID[3],
            &[&payload(
                "dial tcp 10.0.3.7:5432: connect: connection refused",
            )],
            "",
        ),
    ];
    assert_groups(&same, &different, Basis::TypeAndMessage);
    assert_eq!(
        same[0].title,
        "errorString: account <num> is not invited (request <uuid>)"
    );

    let panic = |lib: &str, line: u32| {
        format!("2024/11/26 12:09:33 {{\"errorMessage\":\"runtime error: index out of range [{line}] with length 3\",\"errorType\":\"boundsError\",\"stackTrace\":[{{\"path\":\"github.com/aws/aws-lambda-go@{lib}/lambda/errors.go\",\"line\":39,\"label\":\"lambdaPanicResponse\"}},{{\"path\":\"/var/task/main.go\",\"line\":12,\"label\":\"handler\"}}],\"shouldExit\":false}}")
    };
    let same = [
        fp("sync", RID[0], &[&panic("v1.47.0", 5)], ""),
        fp("sync", RID[1], &[&panic("v1.48.1", 9)], ""),
    ];
    assert_groups(&same, &[], Basis::InAppStack);
    assert_eq!(same[0].frames, ["main.go:12 in handler"]);
}

/// Ruby: the announcement, then the pretty JSON payload as a second event (§3.6).
fn ruby_error(message: &str, line: u32, runtime_line: u32) -> [String; 2] {
    [
        "Error raised from handler method\n".to_string(),
        format!("{{\n  \"errorMessage\": \"{message}\",\n  \"errorType\": \"Function<TypeError>\",\n  \"stackTrace\": [\n    \"/var/task/function.rb:{line}:in `first'\",\n    \"/var/task/function.rb:9:in `handler'\",\n    \"/var/runtime/lib/aws_lambda_ric.rb:{runtime_line}:in `run_user_code'\"\n  ]\n}}\n"),
    ]
}

#[test]
fn ruby_groups() {
    let one = |rid: &str, m: &str, line: u32, rl: u32| {
        let [a, b] = ruby_error(m, line, rl);
        fp("rb", rid, &[&a, &b], "")
    };
    let same = [
        one(
            RID[0],
            "no implicit conversion of String into Integer",
            3,
            120,
        ),
        one(
            RID[1],
            "no implicit conversion of Symbol into Integer",
            3,
            131,
        ),
    ];
    let different = [one(
        RID[2],
        "no implicit conversion of String into Integer",
        4,
        120,
    )];
    assert_groups(&same, &different, Basis::InAppStack);
    assert_eq!(
        same[0].frames,
        ["function.rb:3 in first", "function.rb:9 in handler"]
    );
}

// ---------------------------------------------------------------------------------------------
// Platform outcomes: one group per function (and per error type for crashes and init errors).

#[test]
fn timeouts_group_per_function() {
    let timeout = |f: &str, rid: &str, ms: &str| {
        let report = format!(
            "REPORT RequestId: {rid}\tDuration: {ms} ms\tBilled Duration: 180000 ms\tMemory Size: 1280 MB\tMax Memory Used: 1201 MB\tStatus: timeout\n"
        );
        let lines = vec![format!("START RequestId: {rid} Version: $LATEST"), report];
        fp_lines(f, &lines)
    };
    // The 2023 shape: a `Task timed out` line and a REPORT without Status (§1.7).
    let old = fp(
        "indexer",
        RID[2],
        &["2023-10-20T16:28:17.840Z {rid} Task timed out after 31.01 seconds\n\n"],
        "",
    );
    let same = [
        timeout("indexer", RID[0], "180000.00"),
        timeout("indexer", RID[1], "180000.02"),
        old,
    ];
    let different = [timeout("exporter", RID[0], "180000.00")];
    assert_groups(&same, &different, Basis::Outcome);
    assert_eq!(same[0].title, "Timeout");
}

#[test]
fn platform_failures_get_their_own_groups() {
    let oom = |f: &str, rid: &str| {
        fp(
            f,
            rid,
            &[],
            "\tStatus: error\tError Type: Runtime.OutOfMemory",
        )
    };
    // Old OOM shape: the runtime was killed (§1.8).
    let killed = fp(
        "etl",
        RID[2],
        &["RequestId: {rid} Error: Runtime exited with error: signal: killed\nRuntime.ExitError\n"],
        "",
    );
    let crash = |rid: &str, status: &str| {
        fp(
            "etl",
            rid,
            &[&format!("RequestId: {{rid}} Error: Runtime exited with error: {status}\nRuntime.ExitError\n")],
            "\tStatus: error\tError Type: Runtime.ExitError",
        )
    };
    let init = |rid: &str, module: &str| {
        fp(
            "etl",
            rid,
            &[
                "INIT_REPORT Init Duration: 83.58 ms\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError",
                &format!("[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named '{module}'\nTraceback (most recent call last):"),
            ],
            "\tStatus: error\tError Type: Runtime.ImportModuleError",
        )
    };
    let same_oom = [oom("etl", RID[0]), oom("etl", RID[1]), killed];
    let crashes = [
        crash(RID[0], "exit status 1"),
        crash(RID[1], "exit status 2"),
    ];
    let inits = [init(RID[0], "pandas"), init(RID[1], "numpy")];
    let timeout = fp("etl", RID[3], &[], "\tStatus: timeout");
    let handler = fp("etl", RID[3], &[&python_error("KeyError: 'x'", 1, 1)], "");
    assert_groups(
        &same_oom,
        &[
            oom("other", RID[0]),
            crashes[0].clone(),
            inits[0].clone(),
            timeout,
            handler,
        ],
        Basis::Outcome,
    );
    assert_groups(&crashes, &[], Basis::Outcome);
    assert_groups(&inits, &[], Basis::Outcome);
    assert_eq!(same_oom[0].title, "Out of memory");
    assert_eq!(crashes[0].title, "Crash: Runtime.ExitError");
    assert_eq!(inits[0].title, "Init error: Runtime.ImportModuleError");
}

/// Node's suppressed init (§1.5): the REPORT's `Runtime.Unknown` names the group, not the
/// `ReferenceError` printed before START.
#[test]
fn init_error_uses_the_platform_type() {
    let lines = |rid: &str| {
        vec![
            "2026-02-09T04:28:00.783Z\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\"ReferenceError\",\"errorMessage\":\"__filename is not defined in ES module scope\",\"stack\":[\"ReferenceError: __filename is not defined in ES module scope\",\"    at file:///var/task/index.mjs:3:17\"]}\n".to_string(),
            "INIT_REPORT Init Duration: 998.15 ms\tPhase: invoke\tStatus: error\tError Type: Runtime.Unknown\n".to_string(),
            format!("START RequestId: {rid} Version: $LATEST\n"),
            format!("END RequestId: {rid}\n"),
            format!("REPORT RequestId: {rid}\tDuration: 1012.45 ms\tBilled Duration: 1013 ms\tMemory Size: 512 MB\tMax Memory Used: 314 MB\tStatus: error\tError Type: Runtime.Unknown\n"),
        ]
    };
    let a = fp_lines("web", &lines(RID[0]));
    let b = fp_lines("web", &lines(RID[1]));
    assert_groups(&[a.clone(), b], &[], Basis::Outcome);
    assert_eq!(a.title, "Init error: Runtime.Unknown");
}

#[test]
fn success_and_unknown_versions_give_none() {
    let e = ErrorInfo {
        error_type: "KeyError".into(),
        message: "'x'".into(),
        stack: vec![],
    };
    assert!(fingerprint("f", Outcome::Success, Some(&e), GROUPING_VERSION).is_none());
    assert!(fingerprint("f", Outcome::Error, Some(&e), 0).is_none());
    assert!(fingerprint("f", Outcome::Error, Some(&e), 2).is_none());
    for &v in SUPPORTED_VERSIONS {
        assert_eq!(
            fingerprint("f", Outcome::Error, Some(&e), v)
                .unwrap()
                .version,
            v
        );
    }
    let ok = assemble("f", &invocation_lines(RID[0], &[], ""));
    assert!(fingerprint_invocation(&ok, GROUPING_VERSION).is_none());
}

#[test]
fn bases_without_stack_or_type() {
    let msg = |m: &str| ErrorInfo {
        error_type: String::new(),
        message: m.into(),
        stack: vec![],
    };
    let a = fingerprint("f", Outcome::Error, Some(&msg("lost 12 rows")), 1).unwrap();
    let b = fingerprint("f", Outcome::Error, Some(&msg("lost 7 rows")), 1).unwrap();
    let c = fingerprint("f", Outcome::Error, Some(&msg("   ")), 1).unwrap();
    let d = fingerprint("f", Outcome::Error, None, 1).unwrap();
    assert_groups(&[a, b], std::slice::from_ref(&c), Basis::Message);
    assert_eq!(c.kind, Basis::Outcome);
    assert_eq!(c.id(), d.id());
}

#[test]
fn ids_round_trip() {
    assert_eq!(format_id(0xab), "00000000000000ab");
    assert_eq!(parse_id("00000000000000AB"), Some(0xab));
    assert_eq!(parse_id("ab"), None);
    assert_eq!(parse_id("000000000000000g"), None);
    for b in Basis::ALL {
        assert_eq!(Basis::parse(b.as_str()), Some(b));
    }
}

// ---------------------------------------------------------------------------------------------
// Golden ids and titles. A change here is a change of grouping version 1: it would regroup
// stored errors. Add a version instead (see src/fingerprint/mod.rs).

fn render(f: &Fingerprint) -> String {
    let mut out = format!(
        "{} v{} {} | {}\n",
        f.id(),
        f.version,
        f.kind.as_str(),
        f.title
    );
    if !f.normalized_message.is_empty() {
        writeln!(out, "  message: {}", f.normalized_message).unwrap();
    }
    for frame in &f.frames {
        writeln!(out, "  frame: {frame}").unwrap();
    }
    out
}

fn err(t: &str, m: &str, stack: &[&str]) -> ErrorInfo {
    ErrorInfo {
        error_type: t.into(),
        message: m.into(),
        stack: stack.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn golden_table() {
    let cases: Vec<(&str, Outcome, Option<ErrorInfo>)> = vec![
        ("orders", Outcome::Error, Some(err("KeyError", "'user_id'", &["File \"/var/task/lambda_function.py\", line 36, in lambda_handler\nreturn event['user_id']"]))),
        ("orders", Outcome::Error, Some(err("KeyError", "'user_id'", &[]))),
        ("orders", Outcome::Error, Some(err("", "payment declined for order 42", &[]))),
        ("orders", Outcome::Error, Some(err("TypeError", "boom", &["at handler (/var/task/index.js:5:27)", "at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)"]))),
        ("orders", Outcome::Error, Some(err("java.lang.ArithmeticException", "/ by zero", &["at example.HandlerDivide.handleRequest(HandlerDivide.java:28)", "at example.HandlerDivide.handleRequest(HandlerDivide.java:13)"]))),
        ("orders", Outcome::Error, Some(err("System.ApplicationException", "You caused a failure", &["---> System.ArgumentException: input", "at CustomRuntimeTest.Function.ThrowTest(String input) in C:\\src\\Function.cs:line 45"]))),
        ("orders", Outcome::Error, Some(err("panic", "runtime error: invalid memory address or nil pointer dereference", &["main.handler({0x0, 0x0}) (/var/task/main.go:12)", "main.main() (/var/task/main.go:20)"]))),
        ("orders", Outcome::Error, Some(err("Function<TypeError>", "no implicit conversion of String into Integer", &["/var/task/function.rb:3:in `first'", "/var/task/function.rb:3:in `handler'"]))),
        ("orders", Outcome::Error, Some(err("ClientError", "An error occurred (AccessDenied) when calling the SendEmail operation: User `arn:aws:sts::857687956942:assumed-role/x' is not authorized", &[]))),
        ("orders", Outcome::Error, None),
        ("orders", Outcome::Timeout, None),
        ("billing", Outcome::Timeout, None),
        ("orders", Outcome::OutOfMemory, Some(err("MemoryError", "", &[]))),
        ("orders", Outcome::Crash, Some(err("Runtime.ExitError", "RequestId: x Error: Runtime exited with error: exit status 1", &[]))),
        ("orders", Outcome::Crash, None),
        ("orders", Outcome::InitError, Some(err("Runtime.ImportModuleError", "Unable to import module 'lambda_function'", &[]))),
        ("orders", Outcome::InitError, Some(err("Runtime.HandlerNotFound", "index.handler is undefined or not exported", &[]))),
    ];
    let mut out = String::new();
    for (function, outcome, error) in &cases {
        let f = fingerprint(function, *outcome, error.as_ref(), GROUPING_VERSION).unwrap();
        writeln!(out, "## {function} {}", outcome.as_str()).unwrap();
        out.push_str(&render(&f));
    }
    insta::assert_snapshot!("golden_v1", out);
}

/// Every error the parser extracts from the parse fixtures (real shapes), fingerprinted.
#[test]
fn golden_parse_fixtures() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parse"));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut out = String::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut name = String::new();
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("# ") {
                name = n.to_string();
            } else if !line.is_empty() {
                if let Line::App(app) = parse_message(&unescape(line)) {
                    if let Some(e) = app.error {
                        let f = fingerprint("fixture", Outcome::Error, Some(&e), GROUPING_VERSION)
                            .unwrap();
                        let file = path.file_name().unwrap().to_string_lossy();
                        writeln!(out, "## {file}: {name}").unwrap();
                        out.push_str(&render(&f));
                    }
                }
            }
        }
    }
    insta::assert_snapshot!("golden_v1_parse_fixtures", out);
}

/// The fixture escapes of tests/fixtures/parse/README.md: `\t`, `\n`, `\r`, `\\`, `\u{HEX}`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (text, used) = match after.as_bytes().first() {
            Some(b't') => ("\t".to_string(), 1),
            Some(b'n') => ("\n".to_string(), 1),
            Some(b'r') => ("\r".to_string(), 1),
            Some(b'\\') => ("\\".to_string(), 1),
            Some(b'u') if after[1..].starts_with('{') => {
                let close = after.find('}').unwrap();
                let c = char::from_u32(u32::from_str_radix(&after[2..close], 16).unwrap()).unwrap();
                (c.to_string(), close + 1)
            }
            _ => ("\\".to_string(), 0),
        };
        out.push_str(&text);
        rest = &after[used..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// One variable value of a message, by kind.
fn value(kind: usize) -> BoxedStrategy<String> {
    match kind {
        0 => any::<u64>().prop_map(|n| n.to_string()).boxed(),
        1 => (any::<u32>(), 0u32..1000).prop_map(|(a, b)| format!("{a}.{b:02}")).boxed(),
        2 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".boxed(),
        3 => "[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}".boxed(),
        4 => "0x[0-9a-f]{1,16}".boxed(),
        5 => "[0-9a-f]{32}".boxed(),
        6 => (any::<[u8; 4]>(), proptest::option::of(1u16..))
            .prop_map(|(o, port)| {
                let ip = format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]);
                port.map_or(ip.clone(), |p| format!("{ip}:{p}"))
            })
            .boxed(),
        7 => proptest::collection::vec("[0-9a-f]{1,4}", 8).prop_map(|g| g.join(":")).boxed(),
        8 => "(19|20)[0-9]{2}-(0[1-9]|1[0-2])-[0-2][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-2][0-9]:[0-5][0-9])".boxed(),
        9 => "arn:aws:[a-z0-9]{2,10}:[a-z]{2}-[a-z]{4,9}-[1-3]:[0-9]{12}:[a-zA-Z0-9/_:-]{0,29}[a-zA-Z0-9]".boxed(),
        10 => "'[a-zA-Z0-9 _.:/-]{0,24}'".boxed(),
        11 => "\"[a-zA-Z0-9 _.:/'-]{0,24}\"".boxed(),
        12 => "[a-z][a-z0-9._]{0,9}@[a-z0-9]{1,10}\\.(com|org|io)".boxed(),
        13 => "1-[0-9a-f]{8}-[0-9a-f]{24}".boxed(),
        _ => any::<u64>()
            .prop_map(|n| format!("https://api.example.com/v1/items?id={n}&page=2"))
            .boxed(),
    }
}

/// Message templates: `{}` slots and the kind of value each takes.
const TEMPLATES: &[(&str, &[usize])] = &[
    ("Order {} not found for customer {}", &[0, 2]),
    ("Connection to {} timed out after {} seconds", &[6, 1]),
    (
        "User {} is not authorized to perform lambda:InvokeFunction on resource {}",
        &[10, 9],
    ),
    ("Request {} failed at {} with trace Root={}", &[3, 8, 13]),
    ("Invalid token {} from {}", &[5, 12]),
    ("Upstream {} returned {} after {} ms", &[7, 11, 0]),
    ("Pointer {} freed twice", &[4]),
    ("GET {} failed", &[14]),
];

fn filled(template: &str, values: &[String]) -> String {
    let mut out = String::new();
    let mut parts = template.split("{}");
    out.push_str(parts.next().unwrap_or(""));
    for (part, v) in parts.zip(values) {
        out.push_str(v);
        out.push_str(part);
    }
    out
}

fn template_pair() -> impl Strategy<Value = (usize, Vec<String>, Vec<String>)> {
    (0..TEMPLATES.len()).prop_flat_map(|t| {
        let kinds = TEMPLATES[t].1;
        let a: Vec<_> = kinds.iter().map(|&k| value(k)).collect();
        let b: Vec<_> = kinds.iter().map(|&k| value(k)).collect();
        (Just(t), a, b)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Ids, numbers, timestamps, quoted values, ARNs, IPs and emails substituted into a
    /// template never change the group, with or without an error type, and whatever the
    /// runtime frames' line numbers.
    #[test]
    fn values_never_change_the_group((t, a, b) in template_pair(), ra in 1u32..5000, rb in 1u32..5000) {
        let (ma, mb) = (filled(TEMPLATES[t].0, &a), filled(TEMPLATES[t].0, &b));
        prop_assert_eq!(normalize_message(&ma), normalize_message(&mb));
        for ty in ["ValueError", ""] {
            let ea = err(ty, &ma, &[]);
            let eb = err(ty, &mb, &[]);
            let fa = fingerprint("f", Outcome::Error, Some(&ea), GROUPING_VERSION).unwrap();
            let fb = fingerprint("f", Outcome::Error, Some(&eb), GROUPING_VERSION).unwrap();
            prop_assert_eq!(fa.id(), fb.id());
            prop_assert_eq!(fa.title, fb.title);
        }
        let frames = |m: &str, rl: u32| err("ValueError", m, &[
            &format!("File \"/var/runtime/bootstrap.py\", line {rl}, in handle"),
            "File \"/var/task/app.py\", line 7, in handler",
        ]);
        let fa = fingerprint("f", Outcome::Error, Some(&frames(&ma, ra)), GROUPING_VERSION).unwrap();
        let fb = fingerprint("f", Outcome::Error, Some(&frames(&mb, rb)), GROUPING_VERSION).unwrap();
        prop_assert_eq!(fa.kind, Basis::InAppStack);
        prop_assert_eq!(fa.id(), fb.id());
    }

    /// The normalizer is total and bounded on any input.
    #[test]
    fn normalizer_is_total(s in any::<String>()) {
        let n = normalize_message(&s);
        prop_assert!(n.len() <= 512);
    }

    /// Fingerprinting never panics, and equal ids come with equal titles.
    #[test]
    fn fingerprint_is_total(
        t in any::<String>(), m in any::<String>(),
        stack in proptest::collection::vec(any::<String>(), 0..6),
        function in "[a-z-]{1,12}",
    ) {
        let e = ErrorInfo { error_type: t, message: m, stack };
        for outcome in Outcome::ALL {
            let f = fingerprint(&function, outcome, Some(&e), GROUPING_VERSION);
            prop_assert_eq!(f.is_none(), outcome == Outcome::Success);
            if let Some(f) = f {
                prop_assert!(f.title.chars().count() <= 200);
                let again = fingerprint(&function, outcome, Some(&e), GROUPING_VERSION).unwrap();
                prop_assert_eq!(f, again);
            }
        }
    }
}

/// Pieces the scanner looks at: quotes, colons, dots, `@`, `0x`, `arn:`, URLs, NBSP, UTF-8.
const PIECES: &[&str] = &[
    "'",
    "\"",
    "`",
    ":",
    "::",
    ".",
    "@",
    "0x",
    "arn:",
    "://",
    "?",
    " ",
    "\u{a0}",
    "é",
    "-",
    "1",
    "42",
    "255",
    "2024-01-02",
    "T10:11",
    "abc",
    "f00d",
    "Z",
    "\\",
    "\n",
    "x@y.io",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The normalizer is total, bounded and deterministic on long inputs (up to 12 KiB, past
    /// the 8 KiB input cap) made of the pieces its look-aheads react to.
    #[test]
    fn normalizer_is_total_on_tricky_long_input(
        picks in proptest::collection::vec(0..PIECES.len(), 0..3000)
    ) {
        let s: String = picks.iter().map(|&i| PIECES[i]).collect();
        let n = normalize_message(&s);
        prop_assert!(n.len() <= 512);
        prop_assert_eq!(n, normalize_message(&s));
    }
}

/// Different templates are different errors: one value set, all ids distinct.
#[test]
fn different_templates_never_share_a_group() {
    let values = ["42", "8f507cfc-6e2a-4697-b07a-ac58fc914c95"];
    let mut ids = std::collections::HashSet::new();
    for (t, kinds) in TEMPLATES {
        let v: Vec<String> = kinds.iter().map(|&k| values[k % 2].to_string()).collect();
        let e = err("ValueError", &filled(t, &v), &[]);
        let f = fingerprint("f", Outcome::Error, Some(&e), GROUPING_VERSION).unwrap();
        assert!(ids.insert(f.id()), "{t}");
    }
}

/// A huge message costs only its first 8 KiB.
#[test]
fn huge_messages_are_capped() {
    let big = format!("{}{}", "x ".repeat(3_000_000), "tail 42");
    let n = normalize_message(&big);
    assert!(n.len() <= 512);
    assert!(n.starts_with("x x x"));
}
