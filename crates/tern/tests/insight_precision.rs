//! The precision and recall of every insight rule the simulator can plant a problem for.
//! `tern simulate --problems` writes functions whose memory need, work and hangs straddle the
//! rules' thresholds; the truth's `problems` says which truly have each problem, from the
//! generator's parameters and what it made happen, never from the logs. Each rule must find
//! at least 90% of the functions that have its problem, and at least 90% of what it finds must
//! be real. The figures for more seeds are in BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

#[path = "support/bin.rs"]
mod bin;
use bin::{ok, tern};

/// Rules measured here, with the fewest true cases the fleet must hold for each (the planted
/// kinds have many; the counting rules take what the random fleet has).
const MEASURED: [(&str, usize); 8] = [
    ("memory.over_provisioned", 8),
    ("memory.under_provisioned", 5),
    ("memory.out_of_memory", 2),
    ("timeout.too_close", 8),
    ("timeout.hangs", 8),
    ("errors.rate_high", 8),
    ("cold_start.rate_high", 8),
    ("container.low_reuse", 2),
];

/// Rules with nothing to plant in logs: each reads configuration or a fixed table, and its
/// threshold is checked at the line in the rule's unit tests.
const NOT_SIMULATED: [(&str, &str); 7] = [
    (
        "timeout.too_generous",
        "needs the configured timeout (inventory)",
    ),
    ("arch.arm64_savings", "needs the configured architecture"),
    ("runtime.deprecated", "a lookup in the deprecation table"),
    ("logging.cost_high", "arithmetic over stored log bytes"),
    (
        "invocations.spike",
        "the alert engine's spike rule, tested there",
    ),
    ("function.inactive", "needs the inventory"),
    ("logs.no_retention", "needs the inventory"),
];

const MIN_PRECISION: f64 = 0.9;
const MIN_RECALL: f64 = 0.9;

#[test]
fn every_simulated_rule_has_90_percent_precision_and_recall() {
    // Every rule is either measured or says why it cannot be.
    let listed = tern()
        .args(["insights", "--rule", "?", "--db"])
        .arg("/nonexistent/never-opened.db")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&listed.stderr);
    let all: BTreeSet<&str> = stderr
        .split("the rules are: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no rule list in: {stderr}"))
        .trim()
        .split(", ")
        .collect();
    let known: BTreeSet<&str> = MEASURED
        .iter()
        .map(|m| m.0)
        .chain(NOT_SIMULATED.iter().map(|n| n.0))
        .collect();
    assert_eq!(all, known, "a rule is neither measured nor explained");

    // More seeds (pooled): TERN_INSIGHT_SEEDS=3,5,7,9 (how BENCHMARKS.md's figures are made).
    let seeds: Vec<u64> = std::env::var("TERN_INSIGHT_SEEDS")
        .unwrap_or_else(|_| "7".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("TERN_INSIGHT_SEEDS: seeds separated by commas")
        })
        .collect();
    // rule → (true cases, found, true positives)
    let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for seed in seeds {
        let (real, fired) = measure(seed);
        let empty = BTreeSet::new();
        for (rule, _) in MEASURED {
            let t = real.get(rule).unwrap_or(&empty);
            let f = fired.get(rule).unwrap_or(&empty);
            let c = counts.entry(rule).or_default();
            c.0 += t.len();
            c.1 += f.len();
            c.2 += t.intersection(f).count();
            let wrong: Vec<_> = f.difference(t).collect();
            let missed: Vec<_> = t.difference(f).collect();
            if !wrong.is_empty() || !missed.is_empty() {
                println!("seed {seed} {rule}: wrongly {wrong:?}, missed {missed:?}");
            }
        }
    }
    let mut table =
        String::from("rule                      true found  tp  fp  fn precision recall\n");
    for (rule, min_true) in MEASURED {
        let (t, f, tp) = counts[rule];
        let precision = tp as f64 / f.max(1) as f64;
        let recall = tp as f64 / t.max(1) as f64;
        table.push_str(&format!(
            "{rule:25} {t:4} {f:5} {tp:3} {:3} {:3} {precision:9.2} {recall:6.2}\n",
            f - tp,
            t - tp
        ));
        if t < min_true {
            failures.push(format!("{rule}: {t} true cases, want {min_true}"));
        }
        if precision < MIN_PRECISION || recall < MIN_RECALL {
            failures.push(format!(
                "{rule}: precision {precision:.2}, recall {recall:.2}"
            ));
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}\n{table}", failures.join("\n"));
}

/// Simulate one fleet with problem functions, ingest it, run the insights: per rule, the
/// functions that truly have its problem and those it named.
#[allow(clippy::type_complexity)]
fn measure(
    seed: u64,
) -> (
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, BTreeSet<String>>,
) {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    ok(
        tern()
            .args(["simulate", "--out"])
            .arg(&logs)
            .args([
                "--functions",
                "40",
                "--days",
                "2",
                "--seed",
                &seed.to_string(),
            ])
            .args(["--problems", "120"])
            .output()
            .unwrap(),
        "simulate",
    );
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    let db = dir.path().join("tern.db");
    bin::ingest_into(&db, &logs);
    let insights = bin::json_of("insights", &db);

    let mut fired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in insights["insights"].as_array().unwrap() {
        fired
            .entry(i["rule"].as_str().unwrap().to_string())
            .or_default()
            .insert(i["function"].as_str().unwrap().to_string());
    }
    let mut real: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in truth["functions"].as_array().unwrap() {
        for p in f["problems"].as_array().unwrap() {
            real.entry(p.as_str().unwrap().to_string())
                .or_default()
                .insert(f["name"].as_str().unwrap().to_string());
        }
    }
    (real, fired)
}
