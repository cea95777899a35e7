//! The `tern` binary for end-to-end tests: a command without the user's `TERN_DB`, and a
//! check that a run succeeded (its stderr in the failure message).
#![allow(dead_code)]

use std::process::{Command, Output};

pub fn tern() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
    c.env_remove("TERN_DB");
    c
}

pub fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `tern simulate --out LOGS --functions N --days D --seed S`, and the truth it wrote.
pub fn simulate(
    logs: &std::path::Path,
    functions: usize,
    days: u32,
    seed: u64,
) -> serde_json::Value {
    ok(
        tern()
            .args(["simulate", "--out"])
            .arg(logs)
            .args([
                "--functions",
                &functions.to_string(),
                "--days",
                &days.to_string(),
                "--seed",
                &seed.to_string(),
            ])
            .output()
            .unwrap(),
        "simulate",
    );
    serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap()
}

/// `tern ingest --quiet --db DB LOGS`, which must succeed.
pub fn ingest_into(db: &std::path::Path, logs: &std::path::Path) {
    ok(
        tern()
            .args(["ingest", "--quiet", "--db"])
            .arg(db)
            .arg(logs)
            .output()
            .unwrap(),
        "ingest",
    );
}

/// `tern COMMAND --format json --db DB`, which must succeed, parsed.
pub fn json_of(command: &str, db: &std::path::Path) -> serde_json::Value {
    let out = ok(
        tern()
            .args([command, "--format", "json", "--db"])
            .arg(db)
            .output()
            .unwrap(),
        command,
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// 1234567 → "1,234,567", as the CLI prints counts.
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
