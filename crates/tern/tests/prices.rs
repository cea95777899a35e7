//! `tern prices`: the price book as a table and as JSON, one region, and an unknown region.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bin.rs"]
mod bin;

use bin::{ok, tern};

fn stdout(args: &[&str]) -> String {
    let out = ok(
        tern().arg("prices").args(args).output().unwrap(),
        "tern prices",
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn table_lists_every_region_with_confidence() {
    let t = stdout(&[]);
    assert!(
        t.starts_with("AWS Lambda list prices, gathered 2026-12\n"),
        "{t}"
    );
    assert!(t.contains("CONFIDENCE"));
    for region in [
        "us-east-1",
        "eu-south-1",
        "us-gov-east-1",
        "cn-north-1",
        "mx-central-1",
    ] {
        assert!(t.contains(region), "{region} missing");
    }
    let arm_il = t
        .lines()
        .find(|l| l.starts_with("il-central-1") && l.contains("duration") && l.contains("arm64"))
        .unwrap();
    assert!(
        arm_il.contains("unverified") && arm_il.contains(" - "),
        "{arm_il}"
    );
    let cn = t
        .lines()
        .find(|l| l.starts_with("cn-north-1") && l.contains("requests"))
        .unwrap();
    assert!(cn.contains("1.36") && cn.contains("CNY"), "{cn}");
    assert!(t.contains("up to 10240 GB"));
}

#[test]
fn one_region_as_table() {
    let t = stdout(&["--region", "ap-east-1"]);
    let rows: Vec<&str> = t.lines().filter(|l| l.starts_with("ap-east-1")).collect();
    assert_eq!(rows.len(), 6, "{t}");
    assert!(t.lines().all(|l| !l.starts_with("us-east-1")));
    let arm = rows
        .iter()
        .find(|l| l.contains("duration") && l.contains("arm64"))
        .unwrap();
    assert!(
        arm.contains("0.0000183") && arm.contains("published"),
        "{arm}"
    );
}

#[test]
fn json_for_scripts() {
    let v: serde_json::Value = serde_json::from_str(&stdout(&["--format", "json"])).unwrap();
    assert_eq!(v["date"], "2026-12");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 206);
    let row = |region: &str, item: &str, arch: &str| {
        rows.iter()
            .find(|r| r["region"] == region && r["item"] == item && r["arch"] == arch)
            .unwrap()
            .clone()
    };
    let d = row("af-south-1", "duration", "x86_64");
    assert_eq!(d["price"], 0.0000221);
    assert_eq!(d["currency"], "USD");
    assert_eq!(d["used_for_costs"], true);
    assert!(!d["source"].as_str().unwrap().is_empty());
    let unknown = row("mx-central-1", "duration", "any");
    assert_eq!(unknown["price"], serde_json::Value::Null);
    assert_eq!(unknown["confidence"], "not-found");
    assert_eq!(unknown["used_for_costs"], false);
    assert_eq!(
        row("cn-north-1", "duration", "x86_64")["used_for_costs"],
        false
    );
    assert_eq!(v["duration_tiers"][1]["ten_percent_off_over_gb_s"], 7.5e9);

    let one: serde_json::Value =
        serde_json::from_str(&stdout(&["--region", "us-gov-west-1", "--format", "json"])).unwrap();
    let rows = one["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["region"] == "us-gov-west-1"));
}

#[test]
fn an_unknown_region_is_an_error_listing_the_known_ones() {
    let out = tern()
        .args(["prices", "--region", "eu-sout-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no prices for region \"eu-sout-1\""), "{err}");
    assert!(err.contains("did you mean eu-south-1"), "{err}");
    assert!(err.contains("us-east-1, us-east-2"), "{err}");
    assert!(err.contains("ap-southeast-7"), "{err}");
}
