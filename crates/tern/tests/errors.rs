//! `tern errors` end to end: simulate a fleet, ingest it, and check the error groups
//! against the simulator's ground truth; then the lifecycle commands and their errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

#[path = "support/bin.rs"]
mod bin;
use bin::{ok, tern};

fn fails(out: Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    assert!(out.stdout.is_empty());
}

struct Fleet {
    _dir: tempfile::TempDir,
    logs: PathBuf,
    db: PathBuf,
    truth: Value,
}

fn fleet(functions: usize, days: u32, seed: u64) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    ok(
        tern()
            .args(["simulate", "--out"])
            .arg(&logs)
            .args(["--functions", &functions.to_string()])
            .args(["--days", &days.to_string(), "--seed", &seed.to_string()])
            .output()
            .unwrap(),
        "simulate",
    );
    let truth =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    let db = dir.path().join("tern.db");
    let f = Fleet {
        _dir: dir,
        logs,
        db,
        truth,
    };
    ingest(&f);
    f
}

fn ingest(f: &Fleet) {
    ok(
        tern()
            .arg("ingest")
            .arg("--db")
            .arg(&f.db)
            .arg(&f.logs)
            .output()
            .unwrap(),
        "ingest",
    );
}

fn errors(db: &Path, args: &[&str]) -> Output {
    tern()
        .arg("errors")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap()
}

fn groups(db: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--format", "json", "--limit", "100000"];
    all.extend(args);
    let out = ok(errors(db, &all), "errors");
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Every failed invocation the simulator generated is in exactly one group of its function,
/// and re-ingest changes no group.
#[test]
fn groups_add_up_to_the_simulated_failures() {
    let f = fleet(12, 2, 5);
    let listed = groups(&f.db, &[]);
    assert!(!listed.is_empty());
    let mut per_function: BTreeMap<String, u64> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for g in &listed {
        assert!(
            ids.insert(g["id"].as_str().unwrap().to_string()),
            "ids unique"
        );
        assert_eq!(g["id"].as_str().unwrap().len(), 16);
        assert_eq!(g["count"], g["count_in_range"], "no range: all of them");
        assert_eq!(g["status"], "open");
        assert!(!g["title"].as_str().unwrap().is_empty());
        *per_function
            .entry(g["function"].as_str().unwrap().to_string())
            .or_default() += g["count"].as_u64().unwrap();
    }
    let truth: BTreeMap<String, u64> = f.truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["errors"].as_u64().unwrap() > 0)
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["errors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per_function, truth, "failures per function");
    // Several kinds of failure are told apart.
    let bases: BTreeSet<&str> = listed
        .iter()
        .map(|g| g["basis"].as_str().unwrap())
        .collect();
    assert!(
        bases.contains("stack") && bases.contains("outcome"),
        "{bases:?}"
    );

    ingest(&f);
    assert_eq!(listed, groups(&f.db, &[]), "re-ingest changes nothing");

    // Filters: one function; a range before the data holds nothing.
    let name = per_function.keys().next().unwrap().clone();
    let one = groups(&f.db, &["--function", &name]);
    assert!(one.iter().all(|g| g["function"] == name.as_str()));
    assert_eq!(
        one.iter()
            .map(|g| g["count"].as_u64().unwrap())
            .sum::<u64>(),
        per_function[&name]
    );
    assert!(groups(&f.db, &["--to", "2001-01-01"]).is_empty());
    // By count: descending.
    let by_count = groups(&f.db, &["--sort", "count"]);
    let counts: Vec<u64> = by_count
        .iter()
        .map(|g| g["count_in_range"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");

    // `show`: the timeline adds up, samples come with their logs, newest first.
    let top = &by_count[0];
    let id = top["id"].as_str().unwrap();
    let out = ok(
        errors(&f.db, &["show", id, "--format", "json", "--samples", "2"]),
        "show",
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["id"], id);
    let total: u64 = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, top["count"].as_u64().unwrap());
    let samples = shown["samples"].as_array().unwrap();
    assert_eq!(
        samples.len(),
        2.min(top["count"].as_u64().unwrap() as usize)
    );
    assert!(samples
        .iter()
        .all(|s| !s["logs"].as_array().unwrap().is_empty()));
    assert!(samples.iter().all(|s| s["function"] == top["function"]));
    let table = ok(errors(&f.db, &["show", id]), "show table");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Timeline") && text.contains(id), "{text}");
    let list = ok(errors(&f.db, &[]), "list table");
    assert!(String::from_utf8_lossy(&list.stdout).contains(id));
}

/// resolve, mute (with and without --for) and open, from the CLI; bad ids and flags fail
/// clearly.
#[test]
fn lifecycle_from_the_cli() {
    let f = fleet(6, 1, 9);
    let listed = groups(&f.db, &[]);
    let id = listed[0]["id"].as_str().unwrap().to_string();
    let status = |id: &str| -> Value {
        let out = ok(
            errors(&f.db, &["show", id, "--format", "json", "--samples", "0"]),
            "show",
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    let out = ok(errors(&f.db, &["resolve", &id]), "resolve");
    assert!(String::from_utf8_lossy(&out.stdout).contains("resolved"));
    let g = status(&id);
    assert_eq!(g["status"], "resolved");
    assert!(g["resolved_at"].is_string());
    let resolved = groups(&f.db, &["--status", "resolved"]);
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["id"], id.as_str());
    assert_eq!(groups(&f.db, &["--status", "open"]).len(), listed.len() - 1);

    // Re-ingesting old data after the resolution is no regression (it happened before).
    ingest(&f);
    assert_eq!(status(&id)["status"], "resolved");

    ok(
        errors(&f.db, &["mute", &id.to_uppercase(), "--for", "7d"]),
        "mute",
    );
    let g = status(&id);
    assert_eq!(g["status"], "muted");
    assert!(g["muted_until"].is_string());
    ok(errors(&f.db, &["mute", &id]), "mute without expiry");
    assert!(status(&id)["muted_until"].is_null());
    ok(errors(&f.db, &["open", &id]), "open");
    assert_eq!(status(&id)["status"], "open");

    fails(
        errors(&f.db, &["resolve", "0123456789abcdef"]),
        1,
        "no error group 0123456789abcdef",
    );
    fails(
        errors(&f.db, &["show", "0123456789abcdef"]),
        1,
        "no error group",
    );
    fails(
        errors(&f.db, &["open", "nothex"]),
        1,
        "not an error group id",
    );
    fails(errors(&f.db, &["mute", &id, "--for", "soon"]), 1, "--for");
    fails(
        errors(&f.db, &["--status", "open", "show", &id]),
        1,
        "does not apply",
    );
    fails(errors(&f.db, &["--status", "closed"]), 2, "closed");
    fails(errors(&f.db, &["--limit", "0"]), 1, "--limit");
    let missing = f.db.with_file_name("missing.db");
    fails(errors(&missing, &["resolve", &id]), 1, "no such database");
    assert!(
        !missing.exists(),
        "a lifecycle command never creates a database"
    );
}
