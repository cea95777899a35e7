//! `tern tune` end to end: the real binary against a fake Lambda on 127.0.0.1 (see
//! `support/lambda.rs`) whose durations follow a known model, reached through
//! `--endpoint-url`. Nothing here talks to anything but 127.0.0.1 (test credentials, no
//! instance metadata, no user AWS configuration).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/lambda.rs"]
mod lambda;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lambda::{FakeLambda, Model};
use serde_json::Value;
use tern_core::cost::invocation_cost;
use tern_core::model::Arch;
use tern_store::{SqliteStore, Store};

const FUNCTION: &str = "orders-api";
const SIZES: [u32; 7] = [128, 256, 512, 1024, 1536, 2048, 3008];

/// 200 ms of I/O plus 400 ms of CPU work at one vCPU, ±2 % noise.
fn model() -> Model {
    Model {
        fixed_ms: 200.0,
        work_ms: 400.0,
        noise: 0.02,
        init_ms: 150.0,
        fail_at_mb: None,
        update_fail_at_mb: None,
        invoke_delay: Duration::ZERO,
    }
}

fn start(model: Model) -> FakeLambda {
    FakeLambda::start(FUNCTION, 1024, &[("MODE", "prod")], model)
}

/// The tern binary with test credentials and no user AWS configuration: never real AWS.
fn tern(fake: &FakeLambda, db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.env_remove("TERN_DB")
        .env_remove("TERN_CONFIG")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/tern-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/tern-test/credentials",
        )
        .arg("tune")
        .arg("--endpoint-url")
        .arg(fake.url())
        .arg("--region")
        .arg("us-east-1")
        .arg("--db")
        .arg(db);
    c
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "tern tune failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The original configuration is back, and every version tern published is gone.
fn assert_restored(fake: &FakeLambda) {
    fake.with(|s| {
        let latest = s.latest.as_ref().unwrap();
        assert_eq!(latest.memory_mb, 1024, "history {:?}", s.memory_history);
        assert_eq!(s.memory_history.last(), Some(&1024));
        let want: BTreeMap<String, String> = [("MODE".to_string(), "prod".to_string())].into();
        assert_eq!(latest.env, want);
        assert!(
            s.versions.is_empty(),
            "left behind: {:?}",
            s.versions.keys()
        );
    });
}

fn size(doc: &Value, memory: u32) -> &Value {
    doc["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["memory_mb"] == memory)
        .unwrap_or_else(|| panic!("no size {memory} in {doc}"))
}

/// The model's true optimum per strategy, priced by the cost engine (billed = ceil(d)).
fn true_optimum(m: &Model, sizes: &[u32], strategy: &str, w: f64) -> u32 {
    let pts: Vec<(u32, f64, f64)> = sizes
        .iter()
        .map(|&s| {
            let d = m.duration(s);
            let c = invocation_cost(d.ceil(), f64::from(s), Arch::X86_64, "us-east-1");
            (s, c, d)
        })
        .collect();
    let cmax = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let dmax = pts.iter().map(|p| p.2).fold(0.0, f64::max);
    let score = |p: &(u32, f64, f64)| match strategy {
        "cost" => p.1,
        "speed" => p.2,
        _ => w * p.1 / cmax + (1.0 - w) * p.2 / dmax,
    };
    pts.iter()
        .min_by(|a, b| score(a).total_cmp(&score(b)))
        .unwrap()
        .0
}

/// Minimal XML well-formedness: every tag closes in order, and the chart has its parts.
fn check_svg(svg: &str) {
    let body = svg.split_once("?>").map_or(svg, |(_, b)| b);
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        let j = after.find('>').expect("unclosed tag");
        let tag = &after[..j];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap().to_string();
            stack.push(name);
        }
        // Text between tags has no raw '&' except entities.
        let text_end = after[j + 1..].find('<').unwrap_or(after.len() - j - 1);
        let text = &after[j + 1..j + 1 + text_end];
        for (k, _) in text.match_indices('&') {
            let ent = &text[k..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| ent.starts_with(e)),
                "raw & in {text:?}"
            );
        }
        rest = &after[j + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg.matches("<polyline").count(), 3, "p50, p95, cost");
    assert!(svg.contains(">current</text>"));
    for s in SIZES {
        assert!(svg.contains(&format!(">{s}</text>")), "x label {s}");
    }
}

#[test]
fn measured_percentiles_match_the_model_and_each_strategy_finds_the_true_optimum() {
    let fake = start(model());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let svg = dir.path().join("chart.svg");
    let out = tern(&fake, &db)
        .args([
            "--format",
            "json",
            "--strategy",
            "balanced",
            "--weight",
            "0.5",
        ])
        .arg("--svg")
        .arg(&svg)
        .arg(FUNCTION)
        .output()
        .unwrap();
    let doc = json_of(&out);
    let m = model();
    for s in SIZES {
        let p = size(&doc, s);
        assert_eq!(p["invocations"], 10, "{p}");
        assert_eq!(p["errors"], 0, "{p}");
        // One version per size: its first invoke is the cold start.
        assert_eq!(p["cold_starts"], 1, "{p}");
        let p50 = p["p50_ms"].as_f64().unwrap();
        let want = m.duration(s);
        assert!(
            (p50 - want).abs() / want < 0.03,
            "{s} MB: p50 {p50} vs model {want}"
        );
        assert!(p["p95_ms"].as_f64().unwrap() >= p50);
        assert!(p["p99_ms"].as_f64().unwrap() >= p["p95_ms"].as_f64().unwrap());
        // Cost from the cost engine: request fee included, at the measured billed mean.
        let billed = p["billed_mean_ms"].as_f64().unwrap();
        let c = invocation_cost(billed, f64::from(s), Arch::X86_64, "us-east-1");
        assert!((p["cost_per_invocation_usd"].as_f64().unwrap() - c).abs() < 1e-15);
        assert!(c > 0.2e-6);
    }
    for strategy in ["cost", "speed", "balanced"] {
        let want = true_optimum(&m, &SIZES, strategy, 0.5);
        assert_eq!(
            doc["optimum"][strategy]["memory_mb"], want,
            "{strategy}: {}",
            doc["optimum"]
        );
    }
    // The three strategies disagree here, so the checks above are not one check three times.
    assert_eq!(
        (
            true_optimum(&m, &SIZES, "cost", 0.5),
            true_optimum(&m, &SIZES, "speed", 0.5),
            true_optimum(&m, &SIZES, "balanced", 0.5)
        ),
        (128, 3008, 1024)
    );
    assert_eq!(doc["recommended"]["memory_mb"], 1024);
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["restored"], true);
    assert_eq!(doc["applied_memory_mb"], Value::Null);
    assert_restored(&fake);
    fake.with(|s| {
        // Every size was set, published and invoked on its version with LogType=Tail.
        assert_eq!(s.invokes_by_memory.len(), 7);
        assert!(s.invokes_by_memory.values().all(|n| *n == 10));
        assert_eq!(s.deleted.len(), 7);
        assert!(s
            .calls
            .iter()
            .filter(|c| c.path.ends_with("/invocations"))
            .all(|c| c.query.starts_with("Qualifier=")));
    });

    // Stored, and read back as `tern recommend` will.
    let store = SqliteStore::open_read_only(&db).unwrap();
    let runs = store.tuning_runs(FUNCTION).unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert!(run.complete);
    assert_eq!(
        (run.original_memory_mb, run.invocations_per_size),
        (1024, 10)
    );
    assert_eq!(
        run.points.iter().map(|p| p.memory_mb).collect::<Vec<_>>(),
        SIZES.to_vec()
    );
    for p in &run.points {
        assert_eq!(
            Some(p.p50_ms.unwrap()),
            size(&doc, p.memory_mb)["p50_ms"].as_f64()
        );
    }

    check_svg(&std::fs::read_to_string(&svg).unwrap());
}

#[test]
fn a_failing_size_is_reported_and_the_other_sizes_are_still_measured() {
    let fake = start(Model {
        fail_at_mb: Some(256),
        ..model()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = tern(&fake, &dir.path().join("tern.db"))
        .args([
            "--format",
            "json",
            "--memory",
            "128,256,512",
            "--invocations",
            "5",
        ])
        .arg(FUNCTION)
        .output()
        .unwrap();
    let doc = json_of(&out);
    let failed = size(&doc, 256);
    assert_eq!(
        (failed["invocations"].as_u64(), failed["errors"].as_u64()),
        (Some(0), Some(5))
    );
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("FunctionError Unhandled"),
        "{failed}"
    );
    assert_eq!(failed["p50_ms"], Value::Null);
    for s in [128, 512] {
        assert_eq!(size(&doc, s)["invocations"], 5);
        assert_eq!(size(&doc, s)["errors"], 0);
    }
    // 256 would be cheaper than 512 but failed: never the optimum.
    assert_eq!(doc["optimum"]["cost"]["memory_mb"], 128);
    assert_eq!(doc["optimum"]["speed"]["memory_mb"], 512);
    assert_restored(&fake);

    // The table says the same.
    let out = tern(&fake, &dir.path().join("tern.db"))
        .args(["--memory", "128,256,512", "--invocations", "5"])
        .arg(FUNCTION)
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("256 "))
        .unwrap();
    assert!(row.contains("FunctionError Unhandled"), "{row}");
    assert!(table.contains("optimum for cost: 128 MB x86_64"), "{table}");
    assert!(
        table.contains("optimum for speed: 512 MB x86_64"),
        "{table}"
    );
    assert!(table.contains("configuration restored"), "{table}");
    assert_restored(&fake);
}

#[test]
fn sigint_mid_run_still_restores_the_original_configuration() {
    let fake = start(Model {
        invoke_delay: Duration::from_millis(150),
        ..model()
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let mut child = tern(&fake, &db)
        .arg(FUNCTION)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the third size (512 MB) is being invoked.
    let t0 = Instant::now();
    while fake.with(|s| s.invokes_by_memory.get(&512).copied().unwrap_or(0)) < 3 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "tune never reached 512 MB"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("tern exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(fake.with(|s| s.latest.as_ref().unwrap().memory_mb), 1024);
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an interrupted run must not exit 0");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The partial results are printed, marked as such.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("INTERRUPTED, partial results"), "{stdout}");
    assert!(stdout.contains("configuration restored"), "{stdout}");
    assert_restored(&fake);
    fake.with(|s| {
        assert!(
            !s.invokes_by_memory.contains_key(&1024),
            "stopped before 1024 MB"
        );
    });
    // The partial results are stored as incomplete.
    let store = SqliteStore::open_read_only(&db).unwrap();
    let runs = store.tuning_runs(FUNCTION).unwrap();
    assert_eq!(runs.len(), 1);
    assert!(!runs[0].complete);
    assert_eq!(
        runs[0]
            .points
            .iter()
            .map(|p| p.memory_mb)
            .collect::<Vec<_>>(),
        vec![128, 256]
    );
}

#[test]
fn apply_sets_the_winner_and_weighted_payloads_are_sent_by_weight() {
    let fake = start(model());
    let dir = tempfile::tempdir().unwrap();
    let payloads = dir.path().join("payloads.json");
    std::fs::write(
        &payloads,
        r#"[{"payload": {"kind": "big"}, "weight": 3}, {"payload": "raw-small", "weight": 1}]"#,
    )
    .unwrap();
    let out = tern(&fake, &dir.path().join("tern.db"))
        .args([
            "--format",
            "json",
            "--memory",
            "512,1024,3008",
            "--invocations",
            "4",
        ])
        .args(["--strategy", "speed", "--apply"])
        .arg("--payloads")
        .arg(&payloads)
        .arg(FUNCTION)
        .output()
        .unwrap();
    let doc = json_of(&out);
    assert_eq!(doc["applied_memory_mb"], 3008);
    fake.with(|s| {
        assert_eq!(s.latest.as_ref().unwrap().memory_mb, 3008);
        // Restored to 1024 first, then the winner set.
        let h = &s.memory_history;
        assert_eq!(&h[h.len() - 2..], &[1024, 3008]);
        assert!(s.versions.is_empty());
        let big = s
            .payloads
            .iter()
            .filter(|p| p.as_str() == r#"{"kind":"big"}"#)
            .count();
        let small = s
            .payloads
            .iter()
            .filter(|p| p.as_str() == "raw-small")
            .count();
        assert_eq!((big, small), (9, 3));
    });
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let fake = start(model());
    let dir = tempfile::tempdir().unwrap();
    let out = tern(&fake, &dir.path().join("tern.db"))
        .args(["--dry-run", "--invocations", "20"])
        .arg(FUNCTION)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("20 invocations = 140 invocations"), "{text}");
    assert!(text.contains("PublishVersion × 7"), "{text}");
    assert!(text.contains("Invoke × 140"), "{text}");
    assert!(
        text.contains("Estimated cost of the tuning itself: $"),
        "{text}"
    );
    assert!(text.contains("estimate"), "{text}");
    assert!(
        fake.mutating_calls().is_empty(),
        "{:?}",
        fake.mutating_calls()
    );
    assert!(
        fake.with(|s| s.calls.len()) >= 1,
        "it read the configuration"
    );
    assert!(
        !dir.path().join("tern.db").exists(),
        "a dry run writes nothing"
    );
}

#[test]
fn cold_starts_only_uses_a_new_environment_per_invocation_and_restores_variables() {
    let fake = start(model());
    let dir = tempfile::tempdir().unwrap();
    let out = tern(&fake, &dir.path().join("tern.db"))
        .args([
            "--format",
            "json",
            "--memory",
            "512,1024",
            "--invocations",
            "3",
        ])
        .args(["--cold-starts-only", "--parallel", "3"])
        .arg(FUNCTION)
        .output()
        .unwrap();
    let doc = json_of(&out);
    for s in [512, 1024] {
        let p = size(&doc, s);
        assert_eq!(
            (p["invocations"].as_u64(), p["cold_starts"].as_u64()),
            (Some(3), Some(3))
        );
        assert_eq!(p["init_p50_ms"].as_f64(), Some(150.0));
    }
    assert_restored(&fake);
    fake.with(|s| {
        assert_eq!(
            s.deleted.len(),
            6,
            "one version per invocation, all deleted"
        );
        assert!(s.invokes.values().all(|n| *n == 1));
    });
}

#[test]
fn arch_comparison_tunes_the_twin_deployment_and_restores_both() {
    let fake = FakeLambda::start_with(
        FUNCTION,
        1024,
        &[("MODE", "prod")],
        model(),
        Some("orders-api-arm"),
    );
    let dir = tempfile::tempdir().unwrap();
    // Without a twin, nothing is changed: Lambda switches architecture only with new code.
    let out = tern(&fake, &dir.path().join("tern.db"))
        .args(["--arch", "x86_64,arm64"])
        .arg(FUNCTION)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--arch-twin"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fake.mutating_calls().is_empty());

    let out = tern(&fake, &dir.path().join("tern.db"))
        .args([
            "--format",
            "json",
            "--arch",
            "x86_64,arm64",
            "--arch-twin",
            "orders-api-arm",
        ])
        .args(["--memory", "512,1024", "--invocations", "3"])
        .arg(FUNCTION)
        .output()
        .unwrap();
    let doc = json_of(&out);
    let sizes = doc["sizes"].as_array().unwrap();
    let archs: Vec<(&str, u64)> = sizes
        .iter()
        .map(|s| {
            (
                s["arch"].as_str().unwrap(),
                s["memory_mb"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        archs,
        vec![
            ("x86_64", 512),
            ("x86_64", 1024),
            ("arm64", 512),
            ("arm64", 1024)
        ]
    );
    // Same durations (the fake's model), arm64's lower price: arm64 is the cheaper.
    assert_eq!(doc["optimum"]["cost"]["arch"], "arm64");
    let x86 = sizes[0]["cost_per_invocation_usd"].as_f64().unwrap();
    let arm = sizes[2]["cost_per_invocation_usd"].as_f64().unwrap();
    assert!(arm < x86, "{arm} vs {x86}");
    assert_restored(&fake);
    let twin = fake.twin.as_ref().unwrap().lock().unwrap();
    assert_eq!(twin.latest.as_ref().unwrap().memory_mb, 1024);
    assert_eq!(twin.memory_history.last(), Some(&1024));
    assert_eq!(twin.invokes_by_memory.values().sum::<u32>(), 6);
    assert!(twin.versions.is_empty());
}

#[test]
fn a_failed_configuration_update_is_reported_and_mended_by_the_restore() {
    let fake = start(Model {
        update_fail_at_mb: Some(3008),
        ..model()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = tern(&fake, &dir.path().join("tern.db"))
        .args([
            "--format",
            "json",
            "--memory",
            "512,3008",
            "--invocations",
            "2",
        ])
        .arg(FUNCTION)
        .output()
        .unwrap();
    let doc = json_of(&out);
    let failed = size(&doc, 3008);
    assert_eq!(failed["invocations"], 0);
    let err = failed["error"].as_str().unwrap();
    assert!(
        err.contains("update failed") && err.contains("EniLimitExceeded"),
        "{err}"
    );
    assert_eq!(size(&doc, 512)["invocations"], 2);
    assert_eq!(doc["restored"], true);
    // The update to 3008 MB failed (LastUpdateStatus Failed); the restore still set 1024 MB.
    assert_restored(&fake);
    fake.with(|s| assert!(!s.update_failed));
}

#[test]
fn parallel_bounds_the_invokes_in_flight() {
    let fake = start(Model {
        invoke_delay: Duration::from_millis(150),
        ..model()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = tern(&fake, &dir.path().join("tern.db"))
        .args(["--format", "json", "--memory", "512", "--invocations", "8"])
        .args(["--parallel", "3"])
        .arg(FUNCTION)
        .output()
        .unwrap();
    let doc = json_of(&out);
    assert_eq!(size(&doc, 512)["invocations"], 8);
    fake.with(|s| assert_eq!(s.max_in_flight, 3, "never more than --parallel at once"));
    assert_restored(&fake);
}
