//! `tern recommend` end to end: simulate a fleet whose true duration curves are in
//! `.truth.json`, ingest it, and check the recommendations against the truth.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::Value;

#[path = "support/bin.rs"]
mod bin;
use bin::{ok, tern};

fn recommend(db: &Path, strategy: &str) -> Value {
    let out = ok(
        tern()
            .args([
                "recommend",
                "--format",
                "json",
                "--strategy",
                strategy,
                "--db",
            ])
            .arg(db)
            .output()
            .unwrap(),
        "recommend",
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Natural experiments on simulated functions with known curves never advise a size that is
/// worse in truth than the current one; advice for a size that was not measured is an
/// estimate whose bounds bracket the truth; the floor holds; the savings add up in the cost
/// engine's terms.
#[test]
fn recommendations_match_the_simulated_truth() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    ok(
        tern()
            .args(["simulate", "--functions", "20", "--days", "7", "--out"])
            .arg(&logs)
            .output()
            .unwrap(),
        "simulate",
    );
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    let fns = truth["functions"].as_array().unwrap();
    let db = dir.path().join("tern.db");
    let mut ingest = tern();
    ingest.arg("ingest").arg("--db").arg(&db).arg("--quiet");
    for f in fns.iter().filter(|f| f["architecture"] == "arm64") {
        ingest.arg(format!("--arch={}=arm64", f["name"].as_str().unwrap()));
    }
    ok(ingest.arg(&logs).output().unwrap(), "ingest");

    let truth_of = |name: &str| fns.iter().find(|f| f["name"] == name).unwrap();
    let mut experiments = 0;
    let mut bracketed = 0;
    for (strategy, key) in [
        ("cost", "cost"),
        ("speed", "speed"),
        ("balanced", "balanced"),
    ] {
        let out = recommend(&db, strategy);
        let recs = out["functions"].as_array().unwrap();
        assert!(recs.len() >= 15, "{out:#}");
        let mut total = 0.0;
        for r in recs {
            let name = r["function"].as_str().unwrap();
            let t = truth_of(name);
            let model = &t["duration_model"];
            let rec_mb = r["recommended_memory_mb"].as_u64().unwrap();
            total += r["monthly_saving_usd"].as_f64().unwrap();
            // The floor holds (a size kept for want of a safe one says why).
            assert!(
                rec_mb >= r["floor"]["memory_mb"].as_u64().unwrap() || r["decision"] == "keep",
                "{name}: {}",
                r["summary"]
            );
            // Advice resting on a size nobody measured says so and how to measure it.
            let rec_point = r["curve"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["memory_mb"].as_u64() == Some(rec_mb))
                .unwrap();
            if rec_point["support"] == "estimated" {
                assert_eq!(r["confidence"], "estimated", "{name}");
                assert!(r["tune_command"].is_string(), "{name}");
            }
            let sizes = t["memory_sizes_mb"].as_array().unwrap();
            let one_version = t["versions"].as_array().unwrap().len() == 1;
            if r["method"] == "natural_experiment" {
                assert!(sizes.len() >= 2, "{name}");
                if one_version {
                    experiments += 1;
                    let at = |m: u64| {
                        model["curve"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|c| c["memory_mb"].as_u64() == Some(m))
                            .map(|c| {
                                (
                                    c["monthly_cost_usd"].as_f64().unwrap(),
                                    c["p95_ms"].as_f64().unwrap(),
                                )
                            })
                    };
                    let cur_mb = r["current_memory_mb"].as_u64().unwrap();
                    if let (Some((c, d)), Some((c0, d0))) = (at(rec_mb), at(cur_mb)) {
                        let (score, now) = match key {
                            "cost" => (c, c0),
                            "speed" => (d, d0),
                            _ => (0.5 * c / c0 + 0.5 * d / d0, 1.0),
                        };
                        // Never worse than now (2% for what the simulation adds to the model:
                        // cold starts, failures, rounding).
                        assert!(
                            score <= now * 1.02,
                            "{name} {strategy}: {rec_mb} MB worse than {cur_mb} MB: {}",
                            r["summary"]
                        );
                    }
                }
            } else {
                let cur_mb = r["current_memory_mb"].as_u64();
                let samples = r["observed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|g| g["memory_mb"].as_u64() == cur_mb)
                    .map_or(0, |g| g["warm_successful"].as_u64().unwrap());
                if samples < 200 {
                    // A handful of warm invocations is no estimate of a percentile.
                    continue;
                }
                bracketed += 1;
                // The true p50 lies within the single-size bounds (5% for sampling error),
                // up to one vCPU (the model's cap) where the truth is defined.
                // The engine's latencies include cold starts' init time (what callers wait
                // for); the simulator's curve is warm durations only. The current size's
                // difference between the two is taken off the lower bound (init only adds).
                let curve = r["curve"].as_array().unwrap();
                let now_p50 = curve
                    .iter()
                    .find(|p| p["current"] == true)
                    .and_then(|p| p["p50"].as_f64())
                    .unwrap();
                let warm_p50 = r["observed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|g| g["memory_mb"].as_u64() == cur_mb)
                    .and_then(|g| g["p50_ms"].as_f64())
                    .unwrap();
                let init_share = (now_p50 - warm_p50).max(0.0);
                for p in curve {
                    if p["bounds"].is_null() {
                        // A measured size: its own figures, no bounds.
                        continue;
                    }
                    let m = p["memory_mb"].as_u64().unwrap();
                    let tp = model["curve"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["memory_mb"].as_u64() == Some(m))
                        .unwrap();
                    let b = &p["bounds"]["p50_ms"];
                    let (lo, hi) = (b[0].as_f64().unwrap(), b[1].as_f64().unwrap());
                    let want = tp["p50_ms"].as_f64().unwrap();
                    // Cold starts and faults are excluded from the observed quantiles, but
                    // the observed size is itself a sample: allow 10%.
                    assert!(
                        want >= (lo - init_share) * 0.9 && want <= hi * 1.1,
                        "{name} at {m} MB: true p50 {want} outside [{lo}, {hi}]"
                    );
                }
            }
            // The saving is the cost difference between the two points of the curve.
            let cur = r["curve"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["current"] == true)
                .unwrap();
            let saving = cur["monthly_cost_usd"].as_f64().unwrap()
                - r["recommended"]["monthly_cost_usd"].as_f64().unwrap();
            assert!((saving - r["monthly_saving_usd"].as_f64().unwrap()).abs() < 1e-12);
        }
        let listed = out["total_monthly_saving_usd"].as_f64().unwrap();
        assert!((listed - total).abs() <= 1e-9 * total.abs().max(1.0));
    }
    // image-resizer (512 → 1024 MB) and fraud-scorer (1536 → 768 → 1536 MB) at least.
    assert!(
        experiments >= 6,
        "{experiments} natural experiments checked"
    );
    assert!(bracketed >= 20, "{bracketed} single-size functions checked");
}

/// `[recommend]` of tern.toml sets the default strategy; flags override it; bad values name
/// their key.
#[test]
fn the_configured_strategy_is_the_default_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    bin::simulate(&logs, 3, 2, 11);
    let db = dir.path().join("tern.db");
    ok(
        tern()
            .arg("ingest")
            .arg("--db")
            .arg(&db)
            .arg("--quiet")
            .arg(&logs)
            .output()
            .unwrap(),
        "ingest",
    );
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        "[recommend]\nstrategy = \"cost\"\nmin_gain = 0.1\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        tern()
            .args(["recommend", "--format", "json", "--db"])
            .arg(&db)
            .arg("--config")
            .arg(&config)
            .args(extra)
            .output()
            .unwrap()
    };
    let configured: Value = serde_json::from_slice(&ok(run(&[]), "configured").stdout).unwrap();
    assert_eq!(configured["strategy"], "cost");
    let flagged = recommend(&db, "cost");
    assert_eq!(flagged["strategy"], "cost");
    let speed: Value =
        serde_json::from_slice(&ok(run(&["--strategy", "speed"]), "override").stdout).unwrap();
    assert_eq!(speed["strategy"], "speed");
    let out = run(&["--weight", "0.3"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("balanced strategy"));
    std::fs::write(&config, "[recommend]\nstrategy = \"cheapest\"\n").unwrap();
    let out = run(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("recommend.strategy"));
}
