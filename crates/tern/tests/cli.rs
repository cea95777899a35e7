//! End to end through the real binary: simulate a fleet, ingest it into a real SQLite file,
//! and check the report against the simulator's ground truth (`truth.json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

#[path = "support/bin.rs"]
mod bin;
use bin::{ok, tern};

struct Fleet {
    _dir: tempfile::TempDir,
    logs: PathBuf,
    db: PathBuf,
    truth: Value,
}

fn simulate(functions: usize, days: u32, seed: u64) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let truth: Value = bin::simulate(&logs, functions, days, seed);
    let db = dir.path().join("tern.db");
    Fleet {
        _dir: dir,
        logs,
        db,
        truth,
    }
}

fn arch_args(truth: &Value) -> Vec<String> {
    truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["architecture"] == "arm64")
        .map(|f| format!("--arch={}=arm64", f["name"].as_str().unwrap()))
        .collect()
}

fn ingest(db: &Path, paths: &[&Path], extra: &[String]) -> Output {
    let mut c = tern();
    c.arg("ingest").arg("--db").arg(db).args(extra);
    for p in paths {
        c.arg(p);
    }
    c.output().unwrap()
}

fn report_json(db: &Path, extra: &[&str]) -> Value {
    let out = ok(
        tern()
            .args(["report", "--format", "json", "--db"])
            .arg(db)
            .args(extra)
            .output()
            .unwrap(),
        "report",
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-9)
}

#[test]
fn report_matches_simulated_truth_and_reingest_changes_nothing() {
    let fleet = simulate(14, 2, 7);
    let arch = arch_args(&fleet.truth);
    let first = ok(ingest(&fleet.db, &[&fleet.logs], &arch), "ingest");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("ingested"), "summary on stderr: {stderr}");
    assert!(first.stdout.is_empty(), "ingest prints nothing on stdout");

    let report = report_json(&fleet.db, &[]);
    let functions = report["functions"].as_array().unwrap();
    let truth_fns = fleet.truth["functions"].as_array().unwrap();
    assert_eq!(functions.len(), truth_fns.len());

    let mut expected_total_cost = 0.0;
    for t in truth_fns {
        let name = t["name"].as_str().unwrap();
        let f = functions
            .iter()
            .find(|f| f["function"] == name)
            .unwrap_or_else(|| panic!("{name} missing from the report"));
        let n = |v: &Value| v.as_u64().unwrap();
        let x = |v: &Value| v.as_f64().unwrap();
        assert_eq!(
            n(&f["invocations"]),
            n(&t["invocations"]),
            "{name} invocations"
        );
        assert_eq!(n(&f["errors"]), n(&t["errors"]), "{name} errors");
        let o = &t["outcomes"];
        assert_eq!(n(&f["timeouts"]), n(&o["timeout"]), "{name} timeouts");
        assert_eq!(n(&f["out_of_memory"]), n(&o["out_of_memory"]), "{name} oom");
        assert_eq!(n(&f["crashes"]), n(&o["crash"]), "{name} crashes");
        assert_eq!(
            n(&f["init_errors"]),
            n(&o["init_error"]),
            "{name} init errors"
        );
        assert_eq!(
            n(&f["handler_errors"]),
            n(&o["error"]),
            "{name} handler errors"
        );
        assert_eq!(
            n(&f["cold_starts"]),
            n(&t["cold_starts"]),
            "{name} cold starts"
        );
        assert_eq!(
            n(&f["environments"]),
            n(&t["environments"]),
            "{name} environments"
        );
        assert_eq!(
            f["max_memory_used_mb"], t["max_memory_used_mb"],
            "{name} max memory used"
        );
        let billed = x(&t["billed_ms"]) + x(&t["billed_restore_ms"]);
        assert!(
            close(x(&f["billed_duration_ms"]), billed, 1e-9),
            "{name} billed {} vs {billed}",
            f["billed_duration_ms"]
        );
        let gbs = x(&t["gb_seconds"]) + x(&t["restore_gb_seconds"]);
        assert!(close(x(&f["gb_seconds"]), gbs, 1e-6), "{name} GB-s");
        let d = &f["duration_ms"];
        let avg = x(&t["duration_ms_sum"]) / x(&t["invocations"]);
        assert!(close(x(&d["avg"]), avg, 1e-6), "{name} avg duration");
        assert!(
            close(x(&d["max"]), x(&t["duration_ms_max"]), 1e-9),
            "{name} max"
        );
        assert!(x(&d["p50"]) <= x(&d["p95"]) && x(&d["p95"]) <= x(&d["p99"]));
        assert!(x(&d["p99"]) <= x(&d["max"]));
        if n(&t["cold_starts"]) == 0 {
            assert!(
                f["init_duration_ms"].is_null(),
                "{name} init null when never cold"
            );
        }
        let sizes = t["memory_sizes_mb"].as_array().unwrap();
        assert_eq!(
            &f["memory_size_mb"],
            sizes.last().unwrap(),
            "{name} latest memory"
        );
        assert_eq!(f["architecture"], t["architecture"], "{name} arch");

        // Exact cost, by hand: requests + GB-s at the architecture's first-tier price.
        let price = if t["architecture"] == "arm64" {
            0.000_013_333_4
        } else {
            0.000_016_666_7
        };
        let cost = x(&t["invocations"]) * 0.20 / 1e6 + gbs * price;
        assert!(
            close(x(&f["cost_usd"]), cost, 1e-9),
            "{name} cost {} vs {cost}",
            f["cost_usd"]
        );
        expected_total_cost += cost;
    }
    assert!(close(
        report["totals"]["cost_usd"].as_f64().unwrap(),
        expected_total_cost,
        1e-9
    ));

    // Quick wins are present, each with a dollar figure.
    let wins = report["quick_wins"].as_array().unwrap();
    for kind in ["most_invocations", "most_errors", "over_provisioned_memory"] {
        assert!(
            wins.iter().any(|w| w["kind"] == kind),
            "quick win {kind} missing: {wins:#?}"
        );
    }
    assert!(wins
        .iter()
        .all(|w| w["monthly_usd"].as_f64().unwrap() >= 0.0));

    // Ingesting the same input again changes nothing.
    let again = ok(ingest(&fleet.db, &[&fleet.logs], &arch), "re-ingest");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("(0 new"),
        "second ingest stores nothing new: {stderr}"
    );
    assert_eq!(report_json(&fleet.db, &[]), report);
}

/// Log volume: every distinct event the simulator wrote is one stored log line of its
/// function, with its message's bytes, however often it is ingested.
#[test]
fn report_log_volume_counts_every_event_once() {
    let fleet = simulate(6, 1, 13);
    // (lines, bytes) per function, over distinct event ids, from the generated files.
    let mut want: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let mut seen = std::collections::HashSet::new();
    let mut files = vec![fleet.logs.clone()];
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if p.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for l in std::fs::read_to_string(&p).unwrap().lines() {
            let e: Value = serde_json::from_str(l).unwrap();
            if !seen.insert(e["eventId"].as_str().unwrap().to_string()) {
                continue;
            }
            let group = e["logGroupName"].as_str().unwrap();
            let function = group.strip_prefix("/aws/lambda/").unwrap().to_string();
            let w = want.entry(function).or_default();
            w.0 += 1;
            w.1 += e["message"].as_str().unwrap().len() as u64;
        }
    }
    assert!(!want.is_empty(), "the simulator wrote events");
    ok(ingest(&fleet.db, &[&fleet.logs], &[]), "ingest");
    let got = |report: &Value| -> std::collections::BTreeMap<String, (u64, u64)> {
        report["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let n = |k: &str| f[k].as_u64().unwrap();
                (
                    f["function"].as_str().unwrap().to_string(),
                    (n("log_lines"), n("log_bytes")),
                )
            })
            .collect()
    };
    let report = report_json(&fleet.db, &[]);
    assert_eq!(got(&report), want);
    let lines: u64 = want.values().map(|v| v.0).sum();
    assert_eq!(report["totals"]["log_lines"].as_u64().unwrap(), lines);
    ok(ingest(&fleet.db, &[&fleet.logs], &[]), "re-ingest");
    assert_eq!(
        got(&report_json(&fleet.db, &[])),
        want,
        "re-ingest adds no line"
    );
}

#[test]
fn table_csv_filters_and_invocation_view() {
    let fleet = simulate(8, 1, 3);
    ok(ingest(&fleet.db, &[&fleet.logs], &[]), "ingest");

    let table = ok(
        tern()
            .args(["report", "--db"])
            .arg(&fleet.db)
            .output()
            .unwrap(),
        "report table",
    );
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("FUNCTION") && table.contains("Quick wins"),
        "{table}"
    );

    let csv = ok(
        tern()
            .args(["report", "--format", "csv", "--db"])
            .arg(&fleet.db)
            .output()
            .unwrap(),
        "report csv",
    );
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 8,
        "header plus one row per function"
    );

    let name = fleet.truth["functions"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let one = report_json(&fleet.db, &["--function", &name]);
    assert_eq!(one["functions"].as_array().unwrap().len(), 1);
    let none = report_json(&fleet.db, &["--from", "2001-01-01", "--to", "2001-01-02"]);
    assert_eq!(none["functions"].as_array().unwrap().len(), 0);

    // List timeouts, then open one with its log lines.
    let out = ok(
        tern()
            .args(["invocations", "--format", "json", "--limit", "500", "--db"])
            .arg(&fleet.db)
            .output()
            .unwrap(),
        "invocations",
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty());
    let rid = rows[0]["request_id"].as_str().unwrap().to_string();
    let shown = ok(
        tern()
            .args(["invocations", "--db"])
            .arg(&fleet.db)
            .arg(&rid)
            .output()
            .unwrap(),
        "invocation view",
    );
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(shown.contains(&rid));
    assert!(
        shown.contains("REPORT RequestId") || shown.contains("platform.report"),
        "log lines shown, the report line included: {shown}"
    );

    let missing = tern()
        .args(["invocations", "--db"])
        .arg(&fleet.db)
        .arg("no-such-request")
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-request"));
}

#[test]
fn bad_inputs_are_reported_and_good_data_is_kept() {
    let fleet = simulate(3, 1, 11);
    let bad = fleet.logs.parent().unwrap().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    // A JSON document that is not a log export.
    std::fs::write(bad.join("not-an-export.json"), br#"{"foo": 1}"#).unwrap();
    // Invalid UTF-8 and a broken JSON line between two good lines.
    let good = r#"{"logGroupName":"/aws/lambda/edge","logStreamName":"2026/11/01/[$LATEST]0123456789abcdef0123456789abcdef","timestamp":1793491200000,"message":"REPORT RequestId: 1b2c3d4e-0000-0000-0000-000000000001\tDuration: 10.00 ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n","eventId":"1"}"#;
    let mut lines = Vec::new();
    lines.extend_from_slice(good.as_bytes());
    lines
        .extend_from_slice(b"\n{\"logGroupName\": \"/aws/lambda/edge\", \"message\": \"\xff\xfe\n");
    lines.extend_from_slice(b"{not json at all\n");
    lines.extend_from_slice(
        good.replace("0001", "0002")
            .replace("\"1\"", "\"2\"")
            .as_bytes(),
    );
    lines.push(b'\n');
    std::fs::write(bad.join("mixed.jsonl"), &lines).unwrap();
    // A truncated gzip file.
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for _ in 0..200 {
            e.write_all(good.as_bytes()).unwrap();
            e.write_all(b"\n").unwrap();
        }
        e.finish().unwrap()
    };
    std::fs::write(bad.join("cut.jsonl.gz"), &gz[..gz.len() / 2]).unwrap();

    let out = ingest(&fleet.db, &[&bad, &fleet.logs], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(stderr.contains("not-an-export.json"), "{stderr}");
    assert!(stderr.contains("mixed.jsonl"), "{stderr}");
    assert!(stderr.contains("cut.jsonl.gz"), "{stderr}");
    // The good data in and around the bad files is stored.
    let report = report_json(&fleet.db, &[]);
    let fns = report["functions"].as_array().unwrap();
    let edge = fns
        .iter()
        .find(|f| f["function"] == "edge")
        .expect("edge stored");
    assert_eq!(
        edge["invocations"], 2,
        "both good lines of mixed.jsonl kept"
    );
    let total: u64 = fns
        .iter()
        .filter(|f| f["function"] != "edge")
        .map(|f| f["invocations"].as_u64().unwrap())
        .sum();
    assert_eq!(
        total,
        fleet.truth["totals"]["invocations"].as_u64().unwrap(),
        "the simulated fleet next to the bad files is complete"
    );
}

#[test]
fn usage_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let out = tern()
        .args(["ingest", "--arch", "sparc", "--db"])
        .arg(&db)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sparc"));

    let out = tern()
        .args(["report", "--since", "soon", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since"));

    let missing = dir.path().join("nope.jsonl");
    let out = tern()
        .args(["ingest", "--db"])
        .arg(&db)
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.jsonl"));

    // A file that is not a database.
    let notdb = dir.path().join("notes.txt");
    std::fs::write(&notdb, "hello, this is not sqlite").unwrap();
    let out = tern()
        .args(["report", "--db"])
        .arg(&notdb)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("notes.txt"), "{err}");
}

/// A crash mid-ingest (SIGKILL at an arbitrary moment) loses nothing that was stored, and
/// finishing the ingest afterwards counts every invocation exactly once. Whenever the kill
/// lands (before the first commit, between batches, after the end), the assertions hold.
#[test]
fn killed_ingest_then_rerun_counts_everything_once() {
    let fleet = simulate(16, 2, 21);
    for delay_ms in [30u64, 150, 400] {
        let db = fleet.db.with_file_name(format!("killed-{delay_ms}.db"));
        let mut child = tern()
            .args(["ingest", "--quiet", "--db"])
            .arg(&db)
            .arg(&fleet.logs)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        ok(ingest(&db, &[&fleet.logs], &[]), "ingest after the kill");
        let report = report_json(&db, &[]);
        assert_eq!(
            report["totals"]["invocations"], fleet.truth["totals"]["invocations"],
            "killed after {delay_ms} ms"
        );
        assert_eq!(
            report["totals"]["errors"], fleet.truth["totals"]["errors"],
            "killed after {delay_ms} ms"
        );
        assert_eq!(
            report["totals"]["cold_starts"], fleet.truth["totals"]["cold_starts"],
            "killed after {delay_ms} ms"
        );
    }
}

/// Findings of a hostile review: each guarded here.
#[test]
fn review_findings_stay_fixed() {
    let dir = tempfile::tempdir().unwrap();
    // A report on a database that does not exist fails and creates nothing.
    let missing = dir.path().join("typo.db");
    let out = tern()
        .args(["report", "--db"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such database"));
    assert!(!missing.exists(), "report must not create a database");

    // One invocation with a terminal escape in its log, in a five-minute export.
    let rid = "0badc0de-0000-4000-8000-000000000001";
    let stream = "2026/11/01/[$LATEST]00000000000000000000000000000001";
    let ev = |ts: u64, msg: &str| {
        serde_json::json!({"logGroupName": "/aws/lambda/esc", "logStreamName": stream,
            "timestamp": ts, "message": msg})
        .to_string()
    };
    let lines = [
        ev(1_793_491_200_000, &format!("START RequestId: {rid} Version: $LATEST\n")),
        ev(
            1_793_491_200_010,
            &format!("2026-11-01T00:00:00.010Z\t{rid}\tINFO\t\u{1b}]0;owned\u{7}\u{1b}[2J\n"),
        ),
        ev(1_793_491_500_000, &format!("REPORT RequestId: {rid}\tDuration: 11.00 ms\tBilled Duration: 11 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n")),
    ];
    let file = dir.path().join("esc.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let db = dir.path().join("esc.db");

    let dry = ok(
        tern()
            .args(["ingest", "--dry-run", "--db"])
            .arg(&db)
            .arg(&file)
            .output()
            .unwrap(),
        "dry run",
    );
    assert!(String::from_utf8_lossy(&dry.stderr).contains("nothing stored"));
    assert!(!db.exists(), "a dry run writes no database");

    ok(ingest(&db, &[&file], &[]), "ingest");
    let shown = ok(
        tern()
            .args(["invocations", "--db"])
            .arg(&db)
            .arg(rid)
            .output()
            .unwrap(),
        "show",
    );
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(
        !shown.contains('\u{1b}'),
        "escape sequences are not passed through: {shown:?}"
    );
    assert!(shown.contains("\\x1b]0;owned"));

    // Monthly figures never extrapolate a few minutes of data to a month of traffic.
    let r = report_json(&db, &[]);
    let f = &r["functions"][0];
    let cost = f["cost_usd"].as_f64().unwrap();
    let monthly = f["monthly_cost_usd"].as_f64().unwrap();
    assert!(close(monthly, cost * 30.0, 1e-9), "{monthly} vs {cost}");
    let table = ok(
        tern().args(["report", "--db"]).arg(&db).output().unwrap(),
        "table",
    );
    assert!(String::from_utf8_lossy(&table.stdout).contains("spans only"));

    // --limit 0 is a usage error, not one row.
    let out = tern()
        .args(["invocations", "--limit", "0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--limit"));
}

/// Two ingests started at once on a new database both succeed, and nothing is counted twice.
#[test]
fn concurrent_ingests_on_a_new_database() {
    let fleet = simulate(4, 1, 5);
    let a = tern()
        .args(["ingest", "--quiet", "--db"])
        .arg(&fleet.db)
        .arg(&fleet.logs)
        .spawn()
        .unwrap();
    let b = ingest(&fleet.db, &[&fleet.logs], &[]);
    let a = a.wait_with_output().unwrap();
    assert!(a.status.success());
    ok(b, "second concurrent ingest");
    let r = report_json(&fleet.db, &[]);
    assert_eq!(
        r["totals"]["invocations"],
        fleet.truth["totals"]["invocations"]
    );
}

/// `tern prune`: retention on demand. Old invocations go, statistics stay (and are not counted
/// twice when the same old files are ingested again); bad ages are clear errors.
#[test]
fn prune_deletes_old_raw_data_and_keeps_statistics() {
    let f = simulate(3, 2, 31);
    ok(ingest(&f.db, &[&f.logs], &[]), "ingest");
    let total = f.truth["totals"]["invocations"].as_u64().unwrap();
    let listed = |db: &Path| -> usize {
        let out = ok(
            tern()
                .args([
                    "invocations",
                    "--format",
                    "json",
                    "--limit",
                    "100000",
                    "--db",
                ])
                .arg(db)
                .output()
                .unwrap(),
            "invocations",
        );
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(listed(&f.db) as u64, total);
    // The simulated days are in November 2026, weeks before any clock this test runs on.
    let out = ok(
        tern()
            .args(["prune", "--raw-older-than", "7d", "--db"])
            .arg(&f.db)
            .output()
            .unwrap(),
        "prune",
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("deleted {} invocations", bin::grouped(total))),
        "{said}"
    );
    assert_eq!(listed(&f.db), 0);
    let r = report_json(&f.db, &[]);
    assert_eq!(r["totals"]["invocations"].as_u64(), Some(total));
    // Ingesting the old files again adds nothing: older parts are dropped.
    ok(ingest(&f.db, &[&f.logs], &[]), "re-ingest");
    assert_eq!(listed(&f.db), 0);
    assert_eq!(
        report_json(&f.db, &[])["totals"]["invocations"].as_u64(),
        Some(total)
    );
    for (args, needle) in [
        (vec!["prune"], "say what to delete"),
        (
            vec!["prune", "--raw-older-than", "soon"],
            "--raw-older-than",
        ),
        (
            vec![
                "prune",
                "--raw-older-than",
                "30d",
                "--rollups-older-than",
                "7d",
            ],
            "must outlive",
        ),
    ] {
        let out = tern().args(&args).arg("--db").arg(&f.db).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let missing = f.db.with_file_name("missing.db");
    let out = tern()
        .args(["prune", "--raw-older-than", "1d", "--db"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!missing.exists(), "prune never creates a database");
}
