//! End-to-end checks of the simulator: determinism, valid output in every format, a recount
//! of the truth from the generated lines alone, and the presence of every log shape.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

/// A fleet small enough for debug-build tests that still holds every scenario.
fn small(seed: u64) -> SimOptions {
    SimOptions {
        functions: 18,
        days: 2,
        seed,
        start_ms: DEFAULT_START_MS,
        invocations_per_day: Some(500),
        formats: vec![
            OutputFormat::JsonLines,
            OutputFormat::Subscription,
            OutputFormat::FilterLogEvents,
        ],
        impact: false,
        families: false,
        problems: 0,
    }
}

fn generate(opts: &SimOptions) -> (tempfile::TempDir, SimSummary) {
    let dir = tempfile::tempdir().unwrap();
    let summary = simulate(opts, dir.path()).unwrap();
    (dir, summary)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// One event as read back from any output format.
#[derive(Debug, Clone)]
struct Ev {
    function_dir: String,
    group: String,
    stream: String,
    ts: i64,
    id: String,
    message: String,
}

fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string {k} in {v}"))
}

fn int_field(v: &Value, k: &str) -> i64 {
    v.get(k)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("missing integer {k} in {v}"))
}

/// Read every event file, checking each record's shape on the way.
fn read_corpus(dir: &Path, truth: &Value) -> Vec<Ev> {
    let groups: BTreeMap<String, String> = truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                str_field(f, "name").to_string(),
                str_field(f, "log_group").to_string(),
            )
        })
        .collect();
    let mut out = Vec::new();
    for path in files(dir) {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name == TRUTH_FILE {
            continue;
        }
        let function_dir = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        if name.ends_with(".jsonl") {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                let v: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}: {e}: {line}", path.display()));
                let keys: BTreeSet<&str> =
                    v.as_object().unwrap().keys().map(String::as_str).collect();
                assert_eq!(
                    keys,
                    BTreeSet::from([
                        "logGroupName",
                        "logStreamName",
                        "timestamp",
                        "message",
                        "eventId",
                        "ingestionTime"
                    ])
                );
                assert!(line.starts_with("{\"logGroupName\":"), "{line}");
                assert!(int_field(&v, "ingestionTime") >= int_field(&v, "timestamp"));
                out.push(Ev {
                    function_dir: function_dir.clone(),
                    group: str_field(&v, "logGroupName").to_string(),
                    stream: str_field(&v, "logStreamName").to_string(),
                    ts: int_field(&v, "timestamp"),
                    id: str_field(&v, "eventId").to_string(),
                    message: str_field(&v, "message").to_string(),
                });
            }
        } else if name.ends_with(".subscription.json.gz") {
            let raw = std::fs::read(&path).unwrap();
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_string(&mut text)
                .unwrap();
            let mut data_messages = 0;
            for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
                let v = v.unwrap();
                if str_field(&v, "messageType") == "CONTROL_MESSAGE" {
                    continue;
                }
                data_messages += 1;
                assert_eq!(str_field(&v, "messageType"), "DATA_MESSAGE");
                assert_eq!(str_field(&v, "owner").len(), 12);
                assert!(v["subscriptionFilters"].is_array());
                for e in v["logEvents"].as_array().unwrap() {
                    out.push(Ev {
                        function_dir: function_dir.clone(),
                        group: str_field(&v, "logGroup").to_string(),
                        stream: str_field(&v, "logStream").to_string(),
                        ts: int_field(e, "timestamp"),
                        id: str_field(e, "id").to_string(),
                        message: str_field(e, "message").to_string(),
                    });
                }
            }
            assert!(data_messages > 0, "{}", path.display());
        } else if name.ends_with(".filter-log-events.json") {
            let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(v["searchedLogStreams"], Value::Array(Vec::new()));
            for e in v["events"].as_array().unwrap() {
                assert!(int_field(e, "ingestionTime") >= int_field(e, "timestamp"));
                out.push(Ev {
                    function_dir: function_dir.clone(),
                    group: groups[&function_dir].clone(),
                    stream: str_field(e, "logStreamName").to_string(),
                    ts: int_field(e, "timestamp"),
                    id: str_field(e, "eventId").to_string(),
                    message: str_field(e, "message").to_string(),
                });
            }
        } else {
            panic!("unexpected file {}", path.display());
        }
    }
    out
}

fn truth_of(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(TRUTH_FILE)).unwrap()).unwrap()
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let opts = SimOptions {
        functions: 16,
        days: 1,
        invocations_per_day: Some(250),
        ..small(7)
    };
    let (a, sa) = generate(&opts);
    let (b, sb) = generate(&opts);
    assert_eq!(sa, sb);
    let fa = files(a.path());
    let fb = files(b.path());
    let rel = |root: &Path, v: &[PathBuf]| -> Vec<PathBuf> {
        v.iter()
            .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
            .collect()
    };
    assert_eq!(rel(a.path(), &fa), rel(b.path(), &fb));
    for (pa, pb) in fa.iter().zip(&fb) {
        assert!(
            std::fs::read(pa).unwrap() == std::fs::read(pb).unwrap(),
            "{} differs",
            pa.display()
        );
    }
    let (c, _) = generate(&SimOptions { seed: 8, ..opts });
    assert_ne!(
        std::fs::read(a.path().join(TRUTH_FILE)).unwrap(),
        std::fs::read(c.path().join(TRUTH_FILE)).unwrap()
    );
    let first = |root: &Path| std::fs::read(root.join("orders-api/2026-11-01.jsonl")).unwrap();
    assert_ne!(first(a.path()), first(c.path()));
}

#[test]
fn refuses_a_non_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.jsonl"), "x").unwrap();
    let err = simulate(&small(1), dir.path()).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
}

/// A REPORT line's fields: `Key: value unit` separated by tabs.
fn report_fields(msg: &str) -> BTreeMap<String, String> {
    let first = msg.split('\n').next().unwrap();
    let mut m = BTreeMap::new();
    for part in first.trim_start_matches("REPORT ").split('\t') {
        if let Some((k, v)) = part.split_once(": ") {
            let v = v.trim_end_matches(" ms").trim_end_matches(" MB");
            m.insert(k.to_string(), v.to_string());
        }
    }
    m
}

fn ms_to_us(v: &str) -> u64 {
    let (int, frac) = v.split_once('.').unwrap_or((v, "0"));
    let mut frac = frac.to_string();
    while frac.len() < 3 {
        frac.push('0');
    }
    int.parse::<u64>().unwrap() * 1000 + frac.parse::<u64>().unwrap()
}

#[derive(Debug, Default)]
struct Recount {
    invocations: u64,
    error: u64,
    timeout: u64,
    out_of_memory: u64,
    crash: u64,
    init_error: u64,
    cold: u64,
    billed_ms: u64,
    billed_restore_ms: u64,
    max_used: u64,
    memory_sizes: BTreeSet<u64>,
    report_streams: BTreeSet<String>,
    streams: BTreeSet<String>,
    versions: BTreeSet<String>,
    mb_ms: u128,
}

/// Is this message a runtime's report of an unhandled handler exception (§3)?
fn is_handler_error(runtime: &str, msg: &str) -> bool {
    match runtime {
        "python3.12" => {
            (msg.starts_with("[ERROR] ") && !msg.starts_with("[ERROR] Runtime."))
                || (msg.contains("\"errorType\": ") && !msg.contains("\"errorType\": \"Runtime."))
        }
        "nodejs22.x" => {
            msg.contains("\tERROR\tInvoke Error \t")
                || (msg.starts_with("{\"timestamp\"")
                    && msg.contains("\"message\":{\"errorType\"")
                    && !msg.contains("\"errorType\":\"Runtime."))
        }
        "java21" => msg.contains("\n\tat "),
        "dotnet8" => {
            (msg.contains("\tfail\t") && msg.contains("\n   at "))
                || msg.contains("\"errorType\": ")
        }
        "provided.al2023" => msg.contains(" {\"errorMessage\":"),
        "ruby3.3" => msg == "Error raised from handler method\n",
        other => panic!("unknown runtime {other}"),
    }
}

fn recount(events: &[Ev], truth: &Value) -> BTreeMap<String, Recount> {
    let runtimes: BTreeMap<&str, &str> = truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (str_field(f, "name"), str_field(f, "runtime")))
        .collect();
    let mut out: BTreeMap<String, Recount> = BTreeMap::new();
    for e in events {
        let rt = runtimes[e.function_dir.as_str()];
        let r = out.entry(e.function_dir.clone()).or_default();
        r.streams.insert(e.stream.clone());
        let m = e.message.as_str();
        if is_handler_error(rt, m) {
            r.error += 1;
        }
        if m.starts_with("START RequestId: ") {
            r.versions
                .insert(m.trim_end().rsplit(' ').next().unwrap().to_string());
        } else if m.contains(" Task timed out after ") {
            r.timeout += 1;
        } else if m.contains("Error: Runtime exited with error: signal: killed") {
            r.out_of_memory += 1;
        } else if m.starts_with("INIT_REPORT ") && m.contains("\tPhase: invoke") {
            r.cold += 1;
        } else if m.starts_with("REPORT RequestId: ") {
            let f = report_fields(m);
            r.invocations += 1;
            r.report_streams.insert(e.stream.clone());
            let billed: u64 = f["Billed Duration"].parse().unwrap();
            let memory: u64 = f["Memory Size"].parse().unwrap();
            r.billed_ms += billed;
            r.mb_ms += u128::from(billed) * u128::from(memory);
            r.memory_sizes.insert(memory);
            r.max_used = r.max_used.max(f["Max Memory Used"].parse().unwrap());
            let dur = ms_to_us(&f["Duration"]);
            if let Some(init) = f.get("Init Duration") {
                r.cold += 1;
                // INIT billing (2025-08-01): Billed = ceil(Duration + Init Duration).
                assert_eq!(billed, (dur + ms_to_us(init)).div_ceil(1000), "{m}");
            } else if let Some(restore) = f.get("Billed Restore Duration") {
                r.cold += 1;
                r.billed_restore_ms += restore.parse::<u64>().unwrap();
                assert_eq!(billed, dur.div_ceil(1000), "{m}");
            } else if !f.contains_key("Status") && billed < dur.div_ceil(1000) {
                // The old timeout form caps billing at the timeout.
                assert!(dur > billed * 1000, "{m}");
            } else {
                assert_eq!(billed, dur.div_ceil(1000), "{m}");
            }
            match (
                f.get("Status").map(String::as_str),
                f.get("Error Type").map(String::as_str),
            ) {
                (Some("timeout"), _) => r.timeout += 1,
                (Some("error"), Some("Runtime.OutOfMemory")) => r.out_of_memory += 1,
                (Some("error"), Some("Runtime.ExitError")) => r.crash += 1,
                (
                    Some("error"),
                    Some("Runtime.ImportModuleError" | "Runtime.InvalidEntrypoint"),
                ) => r.init_error += 1,
                (None, None) => {}
                other => panic!("unexpected status {other:?} in {m}"),
            }
        } else if m.starts_with("{\"time\":") {
            let v: Value = serde_json::from_str(m).unwrap();
            let rec = &v["record"];
            match str_field(&v, "type") {
                "platform.report" => {
                    r.invocations += 1;
                    r.report_streams.insert(e.stream.clone());
                    let metrics = &rec["metrics"];
                    let billed = metrics["billedDurationMs"].as_u64().unwrap();
                    let memory = metrics["memorySizeMB"].as_u64().unwrap();
                    r.billed_ms += billed;
                    r.mb_ms += u128::from(billed) * u128::from(memory);
                    r.memory_sizes.insert(memory);
                    r.max_used = r.max_used.max(metrics["maxMemoryUsedMB"].as_u64().unwrap());
                    if metrics.get("initDurationMs").is_some() {
                        r.cold += 1;
                    }
                    match (
                        str_field(rec, "status"),
                        rec.get("errorType").and_then(Value::as_str),
                    ) {
                        ("success", None) => {}
                        ("timeout", None) => r.timeout += 1,
                        ("error", Some("Runtime.OutOfMemory")) => r.out_of_memory += 1,
                        ("error", Some("Runtime.ExitError")) => r.crash += 1,
                        (
                            "error",
                            Some("Runtime.ImportModuleError" | "Runtime.InvalidEntrypoint"),
                        ) => r.init_error += 1,
                        other => panic!("unexpected status {other:?} in {m}"),
                    }
                }
                "platform.initReport" if str_field(rec, "phase") == "invoke" => r.cold += 1,
                "platform.start" => {
                    r.versions.insert(str_field(rec, "version").to_string());
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn every_file_is_valid_and_the_truth_matches_a_recount() {
    let (dir, summary) = generate(&small(42));
    let truth = truth_of(dir.path());
    let events = read_corpus(dir.path(), &truth);
    assert_eq!(events.len() as u64, summary.events);
    assert_eq!(truth["totals"]["events"].as_u64().unwrap(), summary.events);
    assert_eq!(
        truth["totals"]["invocations"].as_u64().unwrap(),
        summary.invocations
    );

    // Event ids: unique, ~56 decimal digits. Timestamps inside the window (the last
    // invocations may end a little after it).
    let start = truth["start_ms"].as_i64().unwrap();
    let end = truth["end_ms"].as_i64().unwrap();
    let mut ids = BTreeSet::new();
    for e in &events {
        assert!(
            e.ts >= start - 120_000 && e.ts < end + 20 * 60_000,
            "{}",
            e.ts
        );
        assert!(
            e.id.len() >= 55 && e.id.len() <= 57 && e.id.bytes().all(|b| b.is_ascii_digit()),
            "{}",
            e.id
        );
        assert!(ids.insert(e.id.clone()), "duplicate id {}", e.id);
    }

    // Events are in time order within each file (streams interleaved).
    for path in files(dir.path())
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        let ts: Vec<i64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["timestamp"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert!(
            ts.windows(2).all(|w| w[0] <= w[1]),
            "{} out of order",
            path.display()
        );
    }

    let counts = recount(&events, &truth);
    let mut total_invocations = 0;
    for f in truth["functions"].as_array().unwrap() {
        let name = str_field(f, "name");
        let r = &counts[name];
        let o = &f["outcomes"];
        let get = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{name}: {k}"));
        assert_eq!(r.invocations, get(f, "invocations"), "{name} invocations");
        assert_eq!(r.timeout, get(o, "timeout"), "{name} timeouts");
        assert_eq!(r.out_of_memory, get(o, "out_of_memory"), "{name} OOM");
        assert_eq!(r.crash, get(o, "crash"), "{name} crashes");
        assert_eq!(r.init_error, get(o, "init_error"), "{name} init errors");
        assert_eq!(r.error, get(o, "error"), "{name} handler errors");
        assert_eq!(
            r.invocations - r.timeout - r.out_of_memory - r.crash - r.init_error - r.error,
            get(o, "success"),
            "{name} successes"
        );
        assert_eq!(get(f, "errors"), get(f, "invocations") - get(o, "success"));
        assert_eq!(r.cold, get(f, "cold_starts"), "{name} cold starts");
        assert_eq!(r.billed_ms, get(f, "billed_ms"), "{name} billed");
        assert_eq!(
            r.billed_restore_ms,
            get(f, "billed_restore_ms"),
            "{name} billed restore"
        );
        assert_eq!(
            r.max_used,
            get(f, "max_memory_used_mb"),
            "{name} max memory"
        );
        assert_eq!(
            r.report_streams.len() as u64,
            get(f, "environments"),
            "{name} environments"
        );
        assert_eq!(
            r.streams.len() as u64,
            get(f, "log_streams"),
            "{name} streams"
        );
        let sizes: Vec<u64> = f["memory_sizes_mb"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(
            r.memory_sizes.iter().copied().collect::<Vec<_>>(),
            sizes,
            "{name} memory sizes"
        );
        let versions: BTreeSet<String> = f["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(r.versions, versions, "{name} versions");
        let gb = r.mb_ms as f64 / 1024.0 / 1000.0;
        assert!(
            (gb - f["gb_seconds"].as_f64().unwrap()).abs() < 1e-6,
            "{name} GB-s"
        );
        assert!(get(f, "invocations") > 0, "{name} has no invocation");
        total_invocations += get(f, "invocations");
    }
    assert_eq!(total_invocations, summary.invocations);
}

#[test]
fn every_log_shape_appears() {
    let (dir, _) = generate(&small(42));
    let truth = truth_of(dir.path());
    let events = read_corpus(dir.path(), &truth);
    let all: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    let has = |needle: &str| all.iter().any(|m| m.contains(needle));
    for needle in [
        // §1 platform text lines
        "INIT_START Runtime Version: python:3.12.",
        "\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:",
        "START RequestId: ",
        "END RequestId: ",
        " MB\tInit Duration: ",
        " ms\t\nXRAY TraceId: 1-",
        "\tSampled: true\t\n",
        "\tStatus: timeout\n",
        " Task timed out after 6.",
        "\tStatus: error\tError Type: Runtime.OutOfMemory",
        "Error: Runtime exited with error: signal: killed\nRuntime.ExitError\n",
        "\tStatus: error\tError Type: Runtime.ExitError",
        "Error: Runtime exited with error: exit status 2\nRuntime.ExitError\n",
        "\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError\n",
        "\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError\n",
        "\tStatus: error\tError Type: Runtime.ImportModuleError\n",
        "RESTORE_START Runtime Version: java:21.",
        "RESTORE_REPORT Restore Duration: ",
        "\tRestore Duration: ",
        "\tBilled Restore Duration: ",
        "EXTENSION\tName: datadog-agent\tState: Ready",
        "TELEMETRY\tName: datadog-agent",
        " Version: 4\n",
        " Version: 9\n",
        // §2 JSON format
        "\"type\":\"platform.initStart\"",
        "\"type\":\"platform.start\"",
        "\"type\":\"platform.report\"",
        "\"status\":\"timeout\"",
        "\"errorType\":\"Runtime.OutOfMemory\"",
        "\"initDurationMs\":",
        "\"instanceMaxMemory\":",
        // §3 runtime error output
        "Traceback (most recent call last):\n\u{a0}\u{a0}File \"/var/task/",
        "[WARNING]\t",
        "LAMBDA_WARNING: Unhandled exception.",
        "\tERROR\tInvoke Error \t{\"errorType\":",
        "\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\"Runtime.ImportModuleError\"",
        "\n\tat com.example.app.",
        "\tfail\tSystem.",
        " {\"errorMessage\":",
        "panic: runtime error: invalid memory address",
        "Error raised from handler method\n",
        "\"errorType\": \"Function<",
        "\"level\":\"ERROR\",\"requestId\":",
        "\"level\": \"Error\",\"requestId\": ",
        "\"message\": null,\"errorType\": \"System.",
        "\"log_level\": \"ERROR\"",
        // handled errors that are not invocation failures
        "[ERROR]\t2026-11-0",
    ] {
        assert!(has(needle), "no event contains {needle:?}");
    }

    // Streams: default and custom log groups, $LATEST and published versions.
    let default_stream = |s: &str| {
        s.len() > 11 && s[11..].starts_with('[') && s.ends_with(|c: char| c.is_ascii_hexdigit())
    };
    assert!(events
        .iter()
        .any(|e| e.stream[11..].starts_with("[$LATEST]") && default_stream(&e.stream)));
    assert!(events.iter().any(|e| e.stream[11..].starts_with("[3]")));
    let custom = events
        .iter()
        .find(|e| e.group == spec::SHARED_LOG_GROUP)
        .expect("a custom log group");
    assert!(custom.stream[11..].starts_with(&format!("{}[$LATEST]", custom.function_dir)));
    for e in &events {
        let s = &e.stream;
        let hex = &s[s.rfind(']').unwrap() + 1..];
        assert_eq!(hex.len(), 32, "{s}");
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{s}"
        );
        assert_eq!(&s[4..5], "/");
        assert!(e.group.starts_with("/aws/lambda/") || e.group == spec::SHARED_LOG_GROUP);
    }

    // The truth describes the fleet's shapes.
    let fns = truth["functions"].as_array().unwrap();
    let by_name = |n: &str| fns.iter().find(|f| f["name"] == n).unwrap();
    let runtimes: BTreeSet<&str> = fns.iter().map(|f| str_field(f, "runtime")).collect();
    for rt in [
        "python3.12",
        "nodejs22.x",
        "java21",
        "dotnet8",
        "provided.al2023",
        "ruby3.3",
    ] {
        assert!(runtimes.contains(rt), "no {rt} function");
    }
    let archs: BTreeSet<&str> = fns.iter().map(|f| str_field(f, "architecture")).collect();
    assert_eq!(archs.len(), 2);
    let formats: BTreeSet<&str> = fns.iter().map(|f| str_field(f, "log_format")).collect();
    assert_eq!(formats.len(), 2);
    let outputs: BTreeSet<&str> = fns.iter().map(|f| str_field(f, "output_format")).collect();
    assert_eq!(outputs.len(), 3);

    // A CPU-bound function whose memory doubles mid-window runs about twice as fast.
    let resizer = by_name("image-resizer");
    let mem = resizer["by_memory"].as_array().unwrap();
    assert_eq!(mem.len(), 2);
    let (slow, fast) = (
        mem[0]["duration_ms_avg"].as_f64().unwrap(),
        mem[1]["duration_ms_avg"].as_f64().unwrap(),
    );
    assert!(
        slow / fast > 1.7 && slow / fast < 2.3,
        "512 MB {slow} ms vs 1024 MB {fast} ms"
    );

    // Over-provisioned: max memory used far below the memory size.
    let renderer = by_name("report-renderer");
    assert!(renderer["max_memory_used_mb"].as_u64().unwrap() * 10 < 3008);

    // A slow function (> 20 s) and one that lives near its timeout.
    assert!(
        by_name("nightly-export")["duration_ms_max"]
            .as_f64()
            .unwrap()
            > 20_000.0
    );
    let webhook = by_name("payment-webhook");
    assert!(webhook["outcomes"]["timeout"].as_u64().unwrap() > 0);
    assert!(webhook["outcomes"]["init_error"].as_u64().unwrap() > 0);
    let avg =
        webhook["duration_ms_sum"].as_f64().unwrap() / webhook["invocations"].as_f64().unwrap();
    assert!(avg > 0.6 * 6000.0, "payment-webhook averages {avg} ms");

    // Deploys: new versions and new environments.
    let sync = by_name("user-sync");
    assert_eq!(sync["versions"], serde_json::json!(["7", "8", "9"]));
    assert!(sync["outcomes"]["init_error"].as_u64().unwrap() > 0);
    assert!(
        by_name("pricing-engine")["log_streams"].as_u64().unwrap()
            > by_name("pricing-engine")["environments"].as_u64().unwrap()
    );

    // Bursts spawn concurrent environments: many more than a steady function of the same
    // volume needs.
    let bursty = by_name("image-resizer");
    assert!(
        bursty["environments"].as_u64().unwrap() * 20 > bursty["invocations"].as_u64().unwrap()
    );
    // Leaking environments end in OOM kills.
    assert!(
        by_name("etl-transform")["outcomes"]["out_of_memory"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        by_name("search-indexer")["outcomes"]["out_of_memory"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Hot functions and a long tail.
    let mut volumes: Vec<u64> = fns
        .iter()
        .map(|f| f["invocations"].as_u64().unwrap())
        .collect();
    volumes.sort_unstable();
    assert!(volumes[volumes.len() - 1] > 50 * volumes[0].max(1));
}

#[test]
fn options_and_format_names() {
    let reference = SimOptions::reference();
    assert_eq!((reference.functions, reference.days), (200, 7));
    assert_eq!(reference.start_ms, DEFAULT_START_MS);
    assert_eq!(SimOptions::default().formats, vec![OutputFormat::JsonLines]);
    for f in [
        OutputFormat::JsonLines,
        OutputFormat::Subscription,
        OutputFormat::FilterLogEvents,
    ] {
        assert_eq!(OutputFormat::parse(&f.as_str().replace('_', "-")), Some(f));
    }
    assert_eq!(OutputFormat::parse("xml"), None);
    // A one-function fleet still writes a complete corpus.
    let (dir, summary) = generate(&SimOptions {
        functions: 1,
        days: 1,
        formats: Vec::new(),
        ..small(3)
    });
    assert!(summary.invocations > 0 && summary.files == 1);
    assert!(dir.path().join("orders-api/2026-11-01.jsonl").exists());
}
