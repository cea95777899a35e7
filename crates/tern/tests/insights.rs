//! `tern insights` end to end through the real binary: simulate a fleet, ingest it, and check that
//! `tern insights` finds what the simulator's ground truth (`truth.json`) says is there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

#[path = "support/bin.rs"]
mod bin;
use bin::{ok, tern};

/// Simulate and ingest (with each function's real architecture); the truth and the database.
fn fleet(dir: &Path, functions: usize, days: u32, seed: u64) -> (Value, std::path::PathBuf) {
    let logs = dir.join("logs");
    let truth: Value = bin::simulate(&logs, functions, days, seed);
    let db = dir.join("tern.db");
    let arch: Vec<String> = truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["architecture"] == "arm64")
        .map(|f| format!("--arch={}=arm64", f["name"].as_str().unwrap()))
        .collect();
    ok(
        tern()
            .args(["ingest", "--quiet", "--db"])
            .arg(&db)
            .args(&arch)
            .arg(&logs)
            .output()
            .unwrap(),
        "ingest",
    );
    (truth, db)
}

fn insights(db: &Path, extra: &[&str]) -> Vec<Value> {
    let out = ok(
        tern()
            .args(["insights", "--format", "json", "--db"])
            .arg(db)
            .args(extra)
            .output()
            .unwrap(),
        "insights",
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["insights"].as_array().unwrap().clone()
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// The functions an insight of `rule` names.
fn flagged(all: &[Value], rule: &str) -> BTreeSet<String> {
    all.iter()
        .filter(|i| i["rule"] == rule)
        .map(|i| i["function"].as_str().unwrap().to_string())
        .collect()
}

/// The truth's functions for which `pick` holds.
fn truth_set(truth: &Value, pick: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| pick(f))
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn simulated_fleet_insights_match_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (truth, db) = fleet(dir.path(), 14, 2, 7);
    let all = insights(&db, &[]);
    assert!(!all.is_empty());

    // Out of memory: exactly the functions the simulator made run out of memory.
    let oom = truth_set(&truth, |f| n(&f["outcomes"]["out_of_memory"]) > 0);
    assert!(!oom.is_empty(), "the fleet has OOMs");
    assert_eq!(flagged(&all, "memory.out_of_memory"), oom);

    // Error rate ≥ 1% with at least 10 invocations, exactly (counts are exact).
    let errors = truth_set(&truth, |f| {
        let inv = n(&f["invocations"]);
        inv >= 10 && n(&f["errors"]) * 100 >= inv
    });
    assert!(!errors.is_empty());
    assert_eq!(flagged(&all, "errors.rate_high"), errors);

    // Cold starts ≥ 1% with at least 50 invocations, exactly.
    let cold = truth_set(&truth, |f| {
        let inv = n(&f["invocations"]);
        inv >= 50 && n(&f["cold_starts"]) * 100 >= inv
    });
    assert!(!cold.is_empty());
    assert_eq!(flagged(&all, "cold_start.rate_high"), cold);

    // A timeout means the (inferred) timeout is reached: where timeouts are at least 1% of
    // invocations, the p99 is at the timeout, and they are either the work's tail or hangs.
    let timeouts = truth_set(&truth, |f| {
        let t = n(&f["outcomes"]["timeout"]);
        t > 0 && t * 100 >= n(&f["invocations"])
    });
    assert!(!timeouts.is_empty(), "the fleet has timeouts");
    let close = flagged(&all, "timeout.too_close");
    let hangs = flagged(&all, "timeout.hangs");
    assert!(close.is_disjoint(&hangs), "{close:?} and {hangs:?}");
    let either: BTreeSet<String> = close.union(&hangs).cloned().collect();
    assert!(timeouts.is_subset(&either), "{timeouts:?} ⊄ {either:?}");

    // arm64 savings only ever for x86_64 functions.
    let x86 = truth_set(&truth, |f| f["architecture"] == "x86_64");
    assert!(flagged(&all, "arch.arm64_savings").is_subset(&x86));

    // Nothing from the inventory: the simulated fleet has none.
    assert!(flagged(&all, "function.inactive").is_empty());
    assert!(flagged(&all, "logs.no_retention").is_empty());

    // Every insight is well formed; dollar effects are finite and not negative.
    for i in &all {
        assert!(["info", "warning", "critical"].contains(&i["severity"].as_str().unwrap()));
        for e in i["effects"].as_array().unwrap() {
            let v = e["usd"].as_f64().or(e["ms"].as_f64()).unwrap();
            assert!(v.is_finite() && v >= 0.0, "{i}");
        }
    }

    // Filters: one rule, and a minimum severity.
    let only = insights(&db, &["--rule", "memory.out_of_memory"]);
    assert_eq!(only.len(), oom.len());
    let critical = insights(&db, &["--min-severity", "critical"]);
    assert!(critical.iter().all(|i| i["severity"] == "critical"));
    assert!(critical.len() < all.len());
    let one = oom.iter().next().unwrap();
    let for_one = insights(&db, &["--function", one]);
    assert!(for_one.iter().all(|i| i["function"] == one.as_str()));

    // The table says the same, and bad input is a clear error.
    let table = ok(
        tern().args(["insights", "--db"]).arg(&db).output().unwrap(),
        "insights table",
    );
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("memory.out_of_memory"), "{table}");
    let bad = tern()
        .args(["insights", "--rule", "memory.nope", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown rule"));
}

#[test]
fn demo_prints_insights_with_savings() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(
        tern()
            .args([
                "demo",
                "--functions",
                "12",
                "--days",
                "1",
                "--seed",
                "2",
                "--db",
            ])
            .arg(dir.path().join("demo.db"))
            .output()
            .unwrap(),
        "demo",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let insights = text.find("\nInsights (").expect("an insights section");
    let savings = text.find("\nTop savings: ").expect("a savings section");
    assert!(insights < savings, "{text}");
    // Each saving with a dollar figure per month; none only when the section says so (the
    // memory figures are the memory advice's, which keeps a size seen alone).
    let lines: Vec<&str> = text[savings..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(
        !lines.is_empty() || text[savings..].starts_with("\nTop savings: none. "),
        "{text}"
    );
    assert!(lines.iter().all(|l| l.contains("/mo")), "{text}");
}

/// `[insights]` of tern.toml through `--config` / `TERN_CONFIG`: a raised error-rate bound
/// keeps exactly the functions at or above it, a disabled rule never appears, the rest is
/// unchanged, and `tern report` shows the same.
#[test]
fn config_thresholds_and_disabled_rules_apply() {
    let dir = tempfile::tempdir().unwrap();
    let (truth, db) = fleet(dir.path(), 14, 2, 7);
    let defaults = insights(&db, &[]);
    let rate = |f: &Value| n(&f["errors"]) as f64 / n(&f["invocations"]) as f64;

    // A bound halfway between two of the flagged functions' error rates.
    let mut rates: Vec<f64> = truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| n(&f["invocations"]) >= 10 && n(&f["errors"]) * 100 >= n(&f["invocations"]))
        .map(rate)
        .collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    assert!(
        rates.len() >= 2,
        "the fleet needs two distinct error rates: {rates:?}"
    );
    let bound = (rates[rates.len() / 2 - 1] + rates[rates.len() / 2]) / 2.0;
    let above = truth_set(&truth, |f| n(&f["invocations"]) >= 10 && rate(f) >= bound);
    let below = truth_set(&truth, |f| {
        n(&f["invocations"]) >= 10
            && n(&f["errors"]) * 100 >= n(&f["invocations"])
            && rate(f) < bound
    });
    assert!(
        !above.is_empty() && !below.is_empty(),
        "{bound}: {above:?} {below:?}"
    );
    assert_eq!(
        flagged(&defaults, "errors.rate_high"),
        above.union(&below).cloned().collect()
    );
    assert!(!flagged(&defaults, "memory.out_of_memory").is_empty());

    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        format!("[insights]\nerror_rate_warning = {bound}\ndisable = [\"memory.out_of_memory\"]\n"),
    )
    .unwrap();
    let tuned = insights(&db, &["--config", config.to_str().unwrap()]);
    assert_eq!(flagged(&tuned, "errors.rate_high"), above);
    assert!(flagged(&tuned, "memory.out_of_memory").is_empty());
    assert!(tuned.iter().all(|i| i["rule"] != "memory.out_of_memory"));
    for rule in [
        "cold_start.rate_high",
        "timeout.too_close",
        "arch.arm64_savings",
    ] {
        assert_eq!(flagged(&tuned, rule), flagged(&defaults, rule), "{rule}");
    }
    // Critical from the default 10%, or from the warning bound when that is higher.
    for i in tuned.iter().filter(|i| i["rule"] == "errors.rate_high") {
        let r = i["evidence"]["error_rate"].as_f64().unwrap();
        let want = if r >= bound.max(0.10) {
            "critical"
        } else {
            "warning"
        };
        assert_eq!(i["severity"], want, "{i}");
    }

    // `tern report` reads the same settings, here from TERN_CONFIG.
    let out = ok(
        tern()
            .env("TERN_CONFIG", &config)
            .args(["report", "--format", "json", "--db"])
            .arg(&db)
            .output()
            .unwrap(),
        "report",
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let in_report = report["insights"].as_array().unwrap();
    assert_eq!(flagged(in_report, "errors.rate_high"), above);
    assert!(flagged(in_report, "memory.out_of_memory").is_empty());

    // A bad [insights] key is an error naming it, for both commands.
    std::fs::write(&config, "[insights]\ndisable = [\"memory.nope\"]\n").unwrap();
    for cmd in ["insights", "report"] {
        let bad = tern()
            .args([cmd, "--config"])
            .arg(&config)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(!bad.status.success());
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(
            stderr.contains("insights.disable[0]") && stderr.contains("tern.toml"),
            "{cmd}: {stderr}"
        );
    }
}
