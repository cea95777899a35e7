//! `tern recommend` against duration curves outside its own model: `tern simulate --families`
//! writes one function per family (a working set that fits, an I/O plateau, vCPU steps,
//! multi-threaded work, a cache hit/miss mix; the working set once more with its sweet spot
//! between two measured sizes), each run at three sizes in turn. The truth is
//! the simulator's own curve per family (`.truth.json`), never the recommender's model; every
//! figure below is read from it with plain arithmetic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

#[path = "support/bin.rs"]
mod bin;
use bin::{ok, tern};

/// The working set twice: once with its sweet spot measured, once inside a measured gap.
const FAMILIES: [&str; 6] = [
    "working_set",
    "working_set",
    "plateau",
    "vcpu_steps",
    "parallel",
    "bimodal",
];

/// How far the advice may trail the best size the logs measured, on the strategy's axis.
const NEAR_BEST: f64 = 0.02;
/// What a change must gain in truth (the recommender's minimum effect).
const MIN_GAIN: f64 = 0.05;
/// Sizes whose true values differ by less than this are equal: what the logs can tell apart
/// at about 1,500 invocations per size (cost is flat across sizes for CPU-bound work).
const TIE: f64 = 0.01;

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

/// One family function's true curve.
struct Truth {
    family: String,
    current: u64,
    measured: Vec<u64>,
    /// memory → (monthly cost, p95, p99)
    curve: BTreeMap<u64, (f64, f64, f64)>,
    floor: u64,
    timeout_ms: f64,
    optimum: Value,
}

impl Truth {
    fn of(f: &Value) -> Truth {
        let m = &f["duration_model"];
        let curve = m["curve"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["memory_mb"].as_u64().unwrap(),
                    (
                        p["monthly_cost_usd"].as_f64().unwrap(),
                        p["p95_ms"].as_f64().unwrap(),
                        p["p99_ms"].as_f64().unwrap(),
                    ),
                )
            })
            .collect();
        Truth {
            family: m["family"].as_str().unwrap().to_string(),
            current: m["current_memory_mb"].as_u64().unwrap(),
            measured: f["memory_sizes_mb"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect(),
            curve,
            floor: m["memory_floor_mb"].as_u64().unwrap(),
            timeout_ms: f["timeout_s"].as_f64().unwrap() * 1000.0,
            optimum: m["optimum"].clone(),
        }
    }

    /// The true figure the strategy minimises at `mb` (balanced: 0.5 · cost / cost now +
    /// 0.5 · p95 / p95 now).
    fn value(&self, strategy: &str, mb: u64) -> f64 {
        let (c, d, _) = self.curve[&mb];
        let (c0, d0, _) = self.curve[&self.current];
        match strategy {
            "cost" => c,
            "speed" => d,
            _ => 0.5 * c / c0 + 0.5 * d / d0,
        }
    }

    /// The other axis (cost for speed and balanced, p95 for cost).
    fn other(&self, strategy: &str, mb: u64) -> f64 {
        let (c, d, _) = self.curve[&mb];
        if strategy == "cost" {
            d
        } else {
            c
        }
    }

    fn allowed(&self, mb: u64) -> bool {
        mb >= self.floor && self.curve[&mb].2 <= 0.9 * self.timeout_ms
    }

    /// The truly best size among those the logs measured.
    fn best_measured(&self, strategy: &str) -> u64 {
        self.measured
            .iter()
            .copied()
            .filter(|&m| self.allowed(m))
            .min_by(|&a, &b| self.value(strategy, a).total_cmp(&self.value(strategy, b)))
            .unwrap()
    }
}

/// For every family and strategy: the advice is within 2% of the best measured size in truth
/// and never worse than the current size; a change gains at least 5% in truth (on the
/// strategy's axis, or, as cheap/as fast, on the other one), otherwise the advice is to keep;
/// advice for an unmeasured size is labelled estimated with the command that measures it,
/// and advice whose true optimum lies outside the measured sizes, better by more than the
/// extrapolation bar, gives the command that measures it.
#[test]
fn advice_on_curves_outside_the_model_matches_their_truth() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    ok(
        tern()
            .args(["simulate", "--functions", "1", "--days", "2", "--seed", "5"])
            .arg("--families")
            .arg("--out")
            .arg(&logs)
            .output()
            .unwrap(),
        "simulate",
    );
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    let truths: BTreeMap<String, Truth> = truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["duration_model"]["family"].is_string())
        .map(|f| (f["name"].as_str().unwrap().to_string(), Truth::of(f)))
        .collect();
    let mut families: Vec<&str> = truths.values().map(|t| t.family.as_str()).collect();
    families.sort_unstable();
    let mut want = FAMILIES.to_vec();
    want.sort_unstable();
    assert_eq!(families, want);

    let db = dir.path().join("tern.db");
    ok(
        tern()
            .args(["ingest", "--quiet", "--db"])
            .arg(&db)
            .arg(&logs)
            .output()
            .unwrap(),
        "ingest",
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    let mut nothing_to_gain = 0;
    for strategy in ["cost", "speed", "balanced"] {
        let out = recommend(&db, strategy);
        for (name, t) in &truths {
            let r = out["functions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["function"] == name.as_str())
                .unwrap_or_else(|| panic!("{name}: no advice in {out:#}"));
            checked += 1;
            let what = format!("{} {strategy}: {}", t.family, r["summary"]);
            let rec = r["recommended_memory_mb"].as_u64().unwrap();
            assert_eq!(r["current_memory_mb"].as_u64(), Some(t.current), "{what}");
            let v = |m: u64| t.value(strategy, m);
            let best = t.best_measured(strategy);
            let (now, rec_v, best_v) = (v(t.current), v(rec), v(best));
            let change = r["decision"] == "change";
            let mut fail = |why: String| failures.push(format!("{what}\n    {why}"));

            // (a) Within 2% of the best the logs measured.
            if rec_v > best_v * (1.0 + NEAR_BEST) {
                fail(format!(
                    "{rec} MB is {:.1}% worse in truth than the measured {best} MB",
                    (rec_v / best_v - 1.0) * 100.0
                ));
            }
            // (b) Never worse than now.
            if rec_v > now * (1.0 + TIE) {
                fail(format!(
                    "{rec} MB is {:.1}% worse in truth than the current {} MB",
                    (rec_v / now - 1.0) * 100.0,
                    t.current
                ));
            }
            // A change gains the minimum effect in truth, on the strategy's axis or (no worse
            // on it) on the other one; without such a size among those measured, keep.
            if change {
                let main = 1.0 - rec_v / now;
                let side = 1.0 - t.other(strategy, rec) / t.other(strategy, t.current);
                if main < MIN_GAIN && !(main > -TIE && side >= MIN_GAIN) {
                    fail(format!(
                        "a change to {rec} MB gains {:.1}% in truth ({:.1}% on the other axis)",
                        main * 100.0,
                        side * 100.0
                    ));
                }
            }
            // No size the logs measured gains the minimum effect in truth: keep.
            let gains = |m: u64| {
                let main = 1.0 - v(m) / now;
                let side = 1.0 - t.other(strategy, m) / t.other(strategy, t.current);
                main >= MIN_GAIN || (main > -TIE && side >= MIN_GAIN)
            };
            if !t.measured.iter().any(|&m| t.allowed(m) && gains(m)) {
                nothing_to_gain += 1;
                if change && t.measured.contains(&rec) {
                    fail(format!(
                        "no measured size gains in truth, yet a change to {rec} MB"
                    ));
                }
            }
            // Advice for a size nobody measured is labelled, with the command to measure it.
            let point = r["curve"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["memory_mb"].as_u64() == Some(rec))
                .unwrap();
            if change && point["support"] == "estimated" {
                if r["confidence"] != "estimated" {
                    fail("an extrapolated size not labelled estimated".to_string());
                }
                if !r["tune_command"].is_string() {
                    fail("an extrapolated size without its tune command".to_string());
                }
            }
            // A true optimum outside the measured sizes that beats them by the bar the
            // recommender sets for extrapolation (twice the minimum effect): the advice says
            // how to measure it.
            let opt = t.optimum[strategy].as_u64().unwrap();
            if !t.measured.contains(&opt)
                && v(opt) < best_v * (1.0 - 2.0 * MIN_GAIN)
                && !r["tune_command"].is_string()
            {
                fail(format!(
                    "the true optimum {opt} MB ({:.0}% better than the measured {best} MB) is \
                     outside the measured sizes, and no tune command is given",
                    (1.0 - v(opt) / best_v) * 100.0
                ));
            }
        }
    }
    assert_eq!(checked, 18);
    // The keep rule was exercised (the balanced cache hit/miss mix: 1,024 MB is 2% better).
    assert!(nothing_to_gain >= 1, "no case without a measured gain");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
