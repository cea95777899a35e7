//! `tern compare` and `tern mark` end to end: simulate a fleet with injected changes
//! of known size (`simulate --impact`, recorded in `.truth.json`), ingest it, and check that
//! every change is found with the right verdict.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::Value;

#[path = "support/bin.rs"]
mod bin;
use bin::{ok, tern};

fn json(db: &Path, args: &[&str]) -> Value {
    let out = ok(
        tern()
            .arg("compare")
            .args(args)
            .args(["--format", "json", "--db"])
            .arg(db)
            .output()
            .unwrap(),
        &format!("compare {args:?}"),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn verdict(c: &Value, metric: &str) -> String {
    c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == metric)
        .unwrap()["verdict"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The change of `function` whose attribute is `attribute`, from `--list`.
fn change_id(db: &Path, function: &str, attribute: &str) -> (String, Value) {
    let list = json(db, &[function, "--list"]);
    let c = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["attribute"] == attribute)
        .unwrap_or_else(|| panic!("{function}: no {attribute} change in {list:#}"))
        .clone();
    (c["id"].as_str().unwrap().to_string(), c)
}

/// A +40% regression at a version bump, a memory increase that halves
/// duration, a runtime update with no effect and an error-rate jump are each found, at the
/// time the truth says, with the right verdict.
#[test]
fn injected_changes_are_found_with_the_right_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    ok(
        tern()
            .args([
                "simulate",
                "--functions",
                "5",
                "--days",
                "2",
                "--impact",
                "--out",
            ])
            .arg(&logs)
            .output()
            .unwrap(),
        "simulate",
    );
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    let fns = truth["functions"].as_array().unwrap();
    let truth_of = |name: &str| fns.iter().find(|f| f["name"] == name).unwrap().clone();
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

    // The regression: version 1 → 2, +40%.
    let t = truth_of("impact-regression");
    assert_eq!(t["changes"][0]["duration_factor"], 1.4);
    let (id, change) = change_id(&db, "impact-regression", "version");
    let at = change["at_ms"].as_i64().unwrap();
    let injected = t["changes"][0]["at_ms"].as_i64().unwrap();
    // The first invocation of the new version is seen right after the deploy.
    assert!(
        at >= injected && at - injected < 10 * 60_000,
        "{at} vs {injected}"
    );
    assert_eq!(
        (change["from"].as_str(), change["to"].as_str()),
        (Some("1"), Some("2"))
    );
    let c = json(&db, &["impact-regression", "--change", &id]);
    assert_eq!(c["grouping"], "by_value");
    assert_eq!(c["equal_windows"], true);
    assert_eq!(c["like_hours"], true);
    assert_eq!(c["enough_data"], true);
    for m in [
        "duration_p50",
        "duration_p95",
        "billed_duration_mean",
        "cost_per_invocation",
    ] {
        assert_eq!(verdict(&c, m), "worse", "{m}: {c:#}");
    }
    let p50 = c["metrics"][0]["change"].as_f64().unwrap();
    assert!((p50 - 0.4).abs() < 0.1, "p50 moved {p50}");
    assert_eq!(verdict(&c, "error_rate"), "no significant change");
    assert!(
        c["monthly_cost_after_usd"].as_f64().unwrap()
            > c["monthly_cost_before_usd"].as_f64().unwrap()
    );

    // The memory increase: 512 → 1024 MB halves a CPU-bound function's duration.
    let (id, change) = change_id(&db, "impact-memory", "memory_size");
    assert_eq!(change["to"], "1024");
    let c = json(&db, &["impact-memory", "--change", &id]);
    for m in ["duration_p50", "duration_p95", "billed_duration_mean"] {
        assert_eq!(verdict(&c, m), "better", "{m}: {c:#}");
    }
    let p50 = c["metrics"][0]["change"].as_f64().unwrap();
    assert!((p50 + 0.5).abs() < 0.1, "p50 moved {p50}");

    // The error-rate jump: 0.5% → 6% at version 6; durations untouched.
    let t = truth_of("impact-errors");
    assert_eq!(t["changes"][0]["error_rate"], 0.06);
    let (id, _) = change_id(&db, "impact-errors", "version");
    let c = json(&db, &["impact-errors", "--change", &id]);
    assert_eq!(verdict(&c, "error_rate"), "worse", "{c:#}");
    assert_eq!(verdict(&c, "duration_p50"), "no significant change");

    // The runtime update with no effect: found, and nothing significant.
    let (id, change) = change_id(&db, "impact-steady", "runtime_version");
    assert!(change["at_ms"].as_i64().unwrap() >= truth["runtime_patch_ms"].as_i64().unwrap());
    let c = json(&db, &["impact-steady", "--change", &id]);
    assert_eq!(c["enough_data"], true);
    for m in c["metrics"].as_array().unwrap() {
        assert!(
            m["verdict"] == "no significant change" || m["verdict"] == "not enough data",
            "{m:#}"
        );
    }

    // The latest change is the default; the table says the same.
    let out = ok(
        tern()
            .args(["compare", "impact-errors", "--db"])
            .arg(&db)
            .output()
            .unwrap(),
        "compare table",
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("VERDICT") && table.contains("Bonferroni"),
        "{table}"
    );

    // Markers: recorded, listed, and compared by time.
    let out = ok(
        tern()
            .args(["mark", "impact-regression", "deployed v2", "--at"])
            .arg(injected.to_string())
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap(),
        "mark",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("marker-1"));
    let (id, m) = change_id(&db, "impact-regression", "marker");
    assert_eq!(
        (id.as_str(), m["note"].as_str()),
        ("marker-1", Some("deployed v2"))
    );
    assert_eq!(m["at_ms"].as_i64(), Some(injected));
    let c = json(&db, &["impact-regression", "--change", "marker-1"]);
    assert_eq!(c["grouping"], "by_time");
    assert_eq!(verdict(&c, "duration_p50"), "worse");

    // Explicit ranges: equal windows; ten minutes each is not enough data.
    let start = truth["start_ms"].as_i64().unwrap();
    let b = format!("{}..{}", start + 3_600_000, start + 3_600_000 + 600_000);
    let a = format!("{}..{}", start + 7_200_000, start + 7_200_000 + 900_000);
    let c = json(&db, &["impact-steady", "--before", &b, "--after", &a]);
    assert_eq!(c["equal_windows"], true);
    assert_eq!(c["enough_data"], false);
    assert!(c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["verdict"] == "not enough data"));

    // Bad input fails with a message.
    for (args, says) in [
        (vec!["impact-steady", "--change", "version-1"], "no change"),
        (vec!["no-such-function"], "no function"),
        (
            vec!["impact-steady", "--before", "5..1", "--after", "6..9"],
            "end must be after",
        ),
        (vec!["impact-steady", "--confidence", "1.5"], "--confidence"),
    ] {
        let out = tern()
            .arg("compare")
            .args(&args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let out = tern()
        .args(["mark", "impact-steady", " ", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A function never seen, or a time to come, is refused unless forced.
    let mark = |args: &[&str]| {
        tern()
            .arg("mark")
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap()
    };
    let out = mark(&["impact-stedy", "deployed v3"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean impact-steady"), "{err}");
    let out = mark(&["impact-steady", "deployed v3", "--at", "2999-01-01"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in the future"));
    ok(
        mark(&["new-function", "first deploy", "--force"]),
        "mark --force",
    );
    let listed = String::from_utf8(ok(mark(&["--list"]), "mark --list").stdout).unwrap();
    assert!(
        listed.contains("marker-1")
            && listed.contains("deployed v2")
            && listed.contains("new-function"),
        "{listed}"
    );
    let one =
        String::from_utf8(ok(mark(&["--list", "new-function"]), "mark --list F").stdout).unwrap();
    assert!(
        one.contains("first deploy") && !one.contains("deployed v2"),
        "{one}"
    );
}

/// `tern report` lists the recent changes with their impact, in the table and in
/// JSON (p95 duration, error rate and cost per invocation, "not enough data" where so).
#[test]
fn report_lists_recent_changes_with_their_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    ok(
        tern()
            .args([
                "simulate",
                "--functions",
                "2",
                "--days",
                "2",
                "--impact",
                "--out",
            ])
            .arg(&logs)
            .output()
            .unwrap(),
        "simulate",
    );
    let db = dir.path().join("tern.db");
    bin::ingest_into(&db, &logs);
    let r = bin::json_of("report", &db);
    let changes = r["changes"].as_array().unwrap();
    let regression = changes
        .iter()
        .find(|c| c["function"] == "impact-regression" && c["attribute"] == "version")
        .unwrap_or_else(|| panic!("{changes:#?}"));
    assert_eq!(
        (regression["from"].as_str(), regression["to"].as_str()),
        (Some("1"), Some("2"))
    );
    assert_eq!(regression["duration_p95"]["verdict"], "worse");
    assert_eq!(regression["rollback"], false);
    let errors = changes
        .iter()
        .find(|c| c["function"] == "impact-errors" && c["attribute"] == "version")
        .unwrap();
    assert_eq!(errors["error_rate"]["verdict"], "worse");
    let memory = changes
        .iter()
        .find(|c| c["function"] == "impact-memory" && c["attribute"] == "memory_size")
        .unwrap();
    assert_eq!(memory["duration_p95"]["verdict"], "better");
    // Newest first.
    let at: Vec<i64> = changes
        .iter()
        .map(|c| c["at_ms"].as_i64().unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "{at:?}");
    assert!(r["changes_omitted"].is_u64());

    let out = ok(
        tern().args(["report", "--db"]).arg(&db).output().unwrap(),
        "report table",
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Recent changes"), "{table}");
    assert!(table.contains("version 1 → 2"), "{table}");
}
