//! One memory answer everywhere: for every function, at one size or several, the report's
//! quick win and the insights give the size and the monthly saving `tern recommend` gives,
//! through the real binary on a small simulated fleet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

#[path = "support/bin.rs"]
mod bin;
use bin::{ok, tern};

fn json(db: &Path, args: &[&str]) -> Value {
    let out = ok(
        tern().args(args).arg("--db").arg(db).output().unwrap(),
        args[0],
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn cents(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

#[test]
fn quick_wins_and_insights_give_the_recommendation() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let truth = bin::simulate(&logs, 12, 3, 7);
    let db = dir.path().join("tern.db");
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

    let rec = json(
        &db,
        &["recommend", "--format", "json", "--strategy", "balanced"],
    );
    // Every function's decision, size and saving; and how many ran at several sizes.
    let mut single: BTreeMap<String, (String, u64, f64)> = BTreeMap::new();
    let mut several = 0;
    for r in rec["functions"].as_array().unwrap() {
        let sizes: std::collections::BTreeSet<u64> = r["observed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["memory_mb"].as_u64().unwrap())
            .collect();
        several += usize::from(sizes.len() > 1);
        {
            single.insert(
                r["function"].as_str().unwrap().to_string(),
                (
                    r["decision"].as_str().unwrap().to_string(),
                    r["recommended_memory_mb"].as_u64().unwrap(),
                    r["monthly_saving_usd"].as_f64().unwrap(),
                ),
            );
        }
    }
    assert!(single.len() >= 6, "{rec:#}");
    assert!(several >= 1, "no function ran at several sizes: {rec:#}");

    let report = json(&db, &["report", "--format", "json"]);
    let insights = json(&db, &["insights", "--format", "json"]);
    let mut compared = 0;
    for w in report["quick_wins"].as_array().unwrap() {
        let detail = w["detail"].as_str().unwrap();
        assert!(!detail.contains("same duration"), "{w:#}");
        if w["kind"] != "over_provisioned_memory" {
            continue;
        }
        let name = w["function"].as_str().unwrap();
        let Some((_, mb, saving)) = single.get(name) else {
            assert!(detail.contains("tern recommend"), "{w:#}");
            continue;
        };
        assert_eq!(w["suggested_memory_mb"].as_u64(), Some(*mb), "{w:#}");
        assert_eq!(
            cents(w["monthly_usd"].as_f64().unwrap()),
            cents(*saving),
            "{w:#}"
        );
        assert!(detail.contains("tern tune "), "{w:#}");
        compared += 1;
    }
    for i in insights["insights"].as_array().unwrap() {
        let rule = i["rule"].as_str().unwrap();
        if !rule.starts_with("memory.") {
            continue;
        }
        assert!(
            !i["suggestion"].as_str().unwrap().contains("same duration"),
            "{i:#}"
        );
        let name = i["function"].as_str().unwrap();
        let Some((decision, mb, saving)) = single.get(name) else {
            continue;
        };
        let ev = &i["evidence"];
        assert_eq!(ev["suggested_memory_mb"].as_u64(), Some(*mb), "{i:#}");
        assert_eq!(ev["decision"].as_str(), Some(decision.as_str()), "{i:#}");
        let effect = |kind: &str| {
            i["effects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == kind)
                .and_then(|e| e["usd"].as_f64())
        };
        match rule {
            "memory.over_provisioned" => {
                assert_eq!(
                    cents(effect("monthly_saving").unwrap()),
                    cents(*saving),
                    "{i:#}"
                );
            }
            "memory.under_provisioned" => {
                assert_eq!(
                    cents(effect("change_monthly_cost").unwrap()),
                    cents((-saving).max(0.0)),
                    "{i:#}"
                );
            }
            _ => {}
        }
        compared += 1;
    }
    assert!(compared >= 2, "nothing compared: {report:#} {insights:#}");
}
