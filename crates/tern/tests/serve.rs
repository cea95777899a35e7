//! `tern serve` through a real socket and the real binary: Firehose requests built from
//! `tern simulate --format subscription` output, checked against the simulator's truth and
//! against a reference database made by `tern ingest` from the same files; a crash test
//! (SIGKILL mid-stream, restart, re-send as Firehose would) and a SIGTERM test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/firehose.rs"]
mod firehose;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firehose::{self as fh, Serve, API_TOKEN, INGEST_KEY};
use serde_json::Value;

const FROM: &str = "2026-10-01";
const TO: &str = "2027-01-01";

fn tern_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tern"))
}

fn tern() -> Command {
    let mut c = Command::new(tern_bin());
    c.env_remove("TERN_DB").env_remove("TERN_CONFIG");
    c
}

fn run(c: &mut Command, what: &str) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Corpus {
    dir: tempfile::TempDir,
    logs: PathBuf,
    truth: Value,
    bodies: Vec<Vec<u8>>,
}

fn corpus(functions: usize, days: u32, seed: u64, per_request: usize) -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    run(
        tern()
            .args(["simulate", "--format", "subscription", "--out"])
            .arg(&logs)
            .args([
                "--functions",
                &functions.to_string(),
                "--days",
                &days.to_string(),
                "--seed",
                &seed.to_string(),
            ]),
        "simulate",
    );
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    let records = fh::corpus_records(&logs);
    let bodies = fh::bodies(&records, per_request, 1 << 20);
    Corpus {
        dir,
        logs,
        truth,
        bodies,
    }
}

impl Corpus {
    /// A config that keeps everything (the simulated days may be older than the default
    /// retention when the tests run).
    fn config(&self, queue: usize) -> PathBuf {
        let p = self.dir.path().join(format!("tern-{queue}.toml"));
        std::fs::write(
            &p,
            format!(
                "[server]\ningest_queue = {queue}\n[retention]\nraw = \"forever\"\nrollups = \"forever\"\n"
            ),
        )
        .unwrap();
        p
    }

    fn db(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `tern ingest` of the same files: what the pushed database must equal.
    fn reference(&self) -> PathBuf {
        let db = self.db("reference.db");
        let out = tern()
            .arg("ingest")
            .arg("--db")
            .arg(&db)
            .arg(&self.logs)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        db
    }
}

fn get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    let mut r = agent
        .get(url)
        .header("Authorization", &format!("Bearer {API_TOKEN}"))
        .call()
        .unwrap();
    let s = r.status().as_u16();
    (
        s,
        r.body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .unwrap(),
    )
}

/// Per-function figures of a report document against the simulator's truth. Errors are
/// exact too: each Firehose request is assembled on its own, and a request that begins inside
/// an invocation (with its Python traceback, which names no request id) gives those lines to
/// the invocation that ends next in the stream (`assemble::adopt_pending`).
fn check_against_truth(report: &Value, truth: &Value) {
    let functions = report["functions"].as_array().unwrap();
    let truth_fns = truth["functions"].as_array().unwrap();
    assert_eq!(functions.len(), truth_fns.len(), "function count");
    for t in truth_fns {
        let name = t["name"].as_str().unwrap();
        let f = functions
            .iter()
            .find(|f| f["function"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(f["errors"], t["errors"], "{name} errors");
        for (got, want) in [
            ("invocations", "invocations"),
            ("cold_starts", "cold_starts"),
            ("environments", "environments"),
        ] {
            assert_eq!(f[got], t[want], "{name} {got}");
        }
        assert_eq!(f["timeouts"], t["outcomes"]["timeout"], "{name} timeouts");
        assert_eq!(
            f["max_memory_used_mb"], t["max_memory_used_mb"],
            "{name} memory"
        );
        let billed = t["billed_ms"].as_f64().unwrap() + t["billed_restore_ms"].as_f64().unwrap();
        assert!(
            (f["billed_duration_ms"].as_f64().unwrap() - billed).abs() < 1e-6,
            "{name} billed"
        );
    }
}

/// Every invocation row of a database (sorted), and the database's report.
fn snapshot(db: &Path) -> (Vec<Value>, Value) {
    let rows = run(
        tern()
            .args([
                "invocations",
                "--format",
                "json",
                "--limit",
                "100000000",
                "--from",
                FROM,
                "--to",
                TO,
                "--db",
            ])
            .arg(db),
        "invocations",
    );
    let mut rows: Vec<Value> = serde_json::from_str(&rows).unwrap();
    rows.sort_by_key(|r| {
        (
            r["log_group"].as_str().unwrap().to_string(),
            r["log_stream"].as_str().unwrap().to_string(),
            r["request_id"].as_str().unwrap().to_string(),
        )
    });
    let report = run(
        tern()
            .args([
                "report", "--format", "json", "--from", FROM, "--to", TO, "--db",
            ])
            .arg(db),
        "report",
    );
    (rows, serde_json::from_str(&report).unwrap())
}

fn logs_of(db: &Path, rid: &str) -> Value {
    let out = run(
        tern()
            .args(["invocations", "--format", "json", "--db"])
            .arg(db)
            .arg(rid),
        "invocations RID",
    );
    serde_json::from_str(&out).unwrap()
}

/// The pushed database holds exactly what `tern ingest` of the same files holds: the same
/// invocations (none twice, none missing) and, for a sample, the same log lines.
fn check_exactly_once(pushed: &Path, reference: &Path, truth: &Value) {
    let (rows, report) = snapshot(pushed);
    let (ref_rows, ref_report) = snapshot(reference);
    check_against_truth(&ref_report, truth);
    check_against_truth(&report, truth);
    assert_eq!(
        rows.len() as u64,
        truth["totals"]["invocations"].as_u64().unwrap(),
        "every invocation stored exactly once"
    );
    assert_eq!(rows.len(), ref_rows.len());
    for (a, b) in rows.iter().zip(&ref_rows) {
        assert_eq!(a, b, "pushed and ingested invocations differ");
    }
    let step = (rows.len() / 25).max(1);
    for r in rows.iter().step_by(step) {
        let rid = r["request_id"].as_str().unwrap();
        let a = logs_of(pushed, rid);
        let b = logs_of(reference, rid);
        assert!(
            !a[0]["logs"].as_array().unwrap().is_empty(),
            "{rid} has lines"
        );
        assert_eq!(a, b, "log lines of {rid}: stored once each, none lost");
    }
}

#[test]
fn firehose_over_a_socket_matches_the_truth_and_the_api_matches_the_cli() {
    let c = corpus(8, 2, 3, 25);
    let db = c.db("pushed.db");
    let serve = Serve::start(&tern_bin(), &db, Some(&c.config(4)));
    let url = serve.url("/ingest/firehose");
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let agent = fh::agent();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = c.bodies.get(i) else { break };
                    fh::post_until_ok(&agent, &url, body, &format!("req-{i}"), i.is_multiple_of(2));
                }
            });
        }
    });
    let agent = fh::agent();
    // Firehose replays a request it did not see answered: nothing is stored twice.
    for i in 0..3.min(c.bodies.len()) {
        fh::post_until_ok(&agent, &url, &c.bodies[i], &format!("req-{i}"), false);
    }
    // A wrong key and a gzip bomb (1 MB inflating to 1 GiB) are refused ...
    let (status, text) =
        fh::post_firehose(&agent, &url, &c.bodies[0], "bad-key", "nope", false).unwrap();
    assert_eq!(status, 403, "{text}");
    let member = fh::gzip_best(&vec![0u8; 16 << 20]);
    let bomb = member.repeat(64);
    assert!(bomb.len() < 1100 << 10, "bomb of {} bytes", bomb.len());
    let mut req = agent
        .post(&url)
        .header("X-Amz-Firehose-Request-Id", "bomb")
        .header("X-Amz-Firehose-Access-Key", INGEST_KEY)
        .header("Content-Encoding", "gzip")
        .send(&bomb[..])
        .unwrap();
    assert_eq!(req.status().as_u16(), 413);
    let v: Value = serde_json::from_str(&req.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(v["requestId"], "bomb");
    assert!(v["errorMessage"].as_str().unwrap().contains("limit"), "{v}");
    // ... and the server lives on.
    let (status, _) = get(&agent, &serve.url("/healthz"));
    assert_eq!(status, 200);

    let (status, api) = get(
        &agent,
        &serve.url(&format!("/api/v1/functions?from={FROM}&to={TO}")),
    );
    assert_eq!(status, 200, "{api}");
    let api: Value = serde_json::from_str(&api).unwrap();
    check_against_truth(&api, &c.truth);
    let (status, metrics) = get(&agent, &serve.url("/metrics"));
    assert_eq!(status, 200);
    assert!(
        metrics.contains("tern_ingest_requests_total{endpoint=\"firehose\",status=\"413\"} 1"),
        "{metrics}"
    );
    let events: u64 = metrics
        .lines()
        .find(|l| l.starts_with("tern_ingest_events_total{endpoint=\"firehose\"}"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .parse()
        .unwrap();
    assert!(events >= c.truth["totals"]["events"].as_u64().unwrap());
    let (status, changes) = get(
        &agent,
        &serve.url(&format!("/api/v1/changes?from={FROM}&to={TO}")),
    );
    assert_eq!(status, 200, "{changes}");
    let changes: Value = serde_json::from_str(&changes).unwrap();

    let log = serve.terminate();
    assert!(
        log.contains("stopped: everything accepted is stored"),
        "{log}"
    );
    // The CLI over the same database answers what the API answered: the report's changes
    // are the API's `/api/v1/changes`, the rest is `/api/v1/functions`.
    let (_, mut cli) = snapshot(&db);
    let report = cli.as_object_mut().unwrap();
    assert_eq!(report.remove("changes"), Some(changes["changes"].clone()));
    assert_eq!(
        report.remove("changes_omitted"),
        Some(changes["omitted"].clone())
    );
    assert_eq!(cli, api);
}

/// Push every body from `threads` threads until done or `stop` says so. Returns each
/// request's outcome: `Some(status)`, or `None` when it was never answered.
fn push_concurrently(
    url: &str,
    bodies: &[Vec<u8>],
    threads: usize,
    acked: &AtomicUsize,
    halt: &std::sync::atomic::AtomicBool,
) -> Vec<Option<u16>> {
    let results: Vec<Mutex<Option<u16>>> = bodies.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let agent = fh::agent();
                while !halt.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    // Like Firehose: a 503 is retried (until the server is gone).
                    while !halt.load(Ordering::Relaxed) {
                        let r = fh::post_firehose(
                            &agent,
                            url,
                            body,
                            &format!("req-{i}"),
                            INGEST_KEY,
                            false,
                        );
                        let Ok((status, _)) = r else { break };
                        *results[i].lock().unwrap() = Some(status);
                        if status == 200 {
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        if status != 503 {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap())
        .collect()
}

/// Stop the server (`how`) once a third of the requests are acknowledged, while the rest
/// are in flight; then restart and re-send what Firehose would, and check exactly-once.
fn interrupt_and_recover(kill: bool) {
    let c = corpus(16, 2, 11, 8);
    assert!(c.bodies.len() > 60, "{} bodies", c.bodies.len());
    let db = c.db("pushed.db");
    let config = c.config(2);
    let serve = Serve::start(&tern_bin(), &db, Some(&config));
    let url = serve.url("/ingest/firehose");
    let acked = AtomicUsize::new(0);
    let halt = std::sync::atomic::AtomicBool::new(false);
    let target = c.bodies.len() / 3;
    let serve = Arc::new(Mutex::new(Some(serve)));
    let results = std::thread::scope(|s| {
        let stopper = s.spawn(|| {
            let started = Instant::now();
            while acked.load(Ordering::Relaxed) < target {
                assert!(
                    started.elapsed() < Duration::from_secs(300),
                    "ingest stalled"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
            let srv = serve.lock().unwrap().take().unwrap();
            if kill {
                srv.kill();
                // Nothing more can be answered; stop pushing.
                halt.store(true, Ordering::Relaxed);
                None
            } else {
                let log = srv.terminate();
                halt.store(true, Ordering::Relaxed);
                Some(log)
            }
        });
        let results = push_concurrently(&url, &c.bodies, 4, &acked, &halt);
        let log = stopper.join().unwrap();
        if let Some(log) = log {
            assert!(
                log.contains("stopped: everything accepted is stored"),
                "{log}"
            );
        }
        results
    });
    let ok = results.iter().filter(|r| **r == Some(200)).count();
    let unanswered = results.iter().filter(|r| r.is_none()).count();
    assert!(ok >= target, "{ok} acknowledged before the stop");
    assert!(
        unanswered > 0,
        "the stop came before every request was sent"
    );

    // Restart on the same database; re-send what was not acknowledged (Firehose retries
    // those) and every third acknowledged one (a retry whose 200 was lost on the way).
    let serve = Serve::start(&tern_bin(), &db, Some(&config));
    let url = serve.url("/ingest/firehose");
    let agent = fh::agent();
    for (i, r) in results.iter().enumerate() {
        if *r != Some(200) || i.is_multiple_of(3) {
            fh::post_until_ok(&agent, &url, &c.bodies[i], &format!("req-{i}"), false);
        }
    }
    serve.terminate();
    check_exactly_once(&db, &c.reference(), &c.truth);
}

#[test]
fn sigkill_mid_stream_then_resending_stores_every_event_exactly_once() {
    interrupt_and_recover(true);
}

#[test]
fn sigterm_during_ingest_loses_nothing_acknowledged() {
    interrupt_and_recover(false);
}

/// Retention runs in the daemon (at start, then every `retention.interval`): invocations and
/// raw lines older than `retention.raw` go, rollups stay, and old data pushed afterwards is
/// not counted twice.
#[test]
fn the_daemon_applies_retention() {
    let c = corpus(3, 2, 21, 200);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    // The simulated window starts 2026-11-01: weeks old by now, so all of it is past 7 days.
    run(
        tern()
            .args(["ingest", "--quiet", "--db"])
            .arg(&db)
            .arg(&c.logs),
        "ingest",
    );
    let count = |db: &Path| -> usize {
        let out = run(
            tern()
                .args([
                    "invocations",
                    "--format",
                    "json",
                    "--limit",
                    "100000",
                    "--db",
                ])
                .arg(db),
            "invocations",
        );
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .map_or(0, Vec::len)
    };
    let total = c.truth["totals"]["invocations"].as_u64().unwrap();
    assert_eq!(count(&db) as u64, total);
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        "[retention]\nraw = \"7d\"\nrollups = \"forever\"\n",
    )
    .unwrap();
    let s = Serve::start(&tern_bin(), &db, Some(&config));
    let agent = fh::agent();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, m) = get(&agent, &s.url("/metrics"));
        if m.lines()
            .any(|l| l.starts_with("tern_retention_runs_total") && !l.ends_with(" 0"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "retention never ran:\n{m}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Old data pushed again after retention is dropped, not counted a second time.
    for (i, body) in c.bodies.iter().enumerate() {
        fh::post_until_ok(
            &agent,
            &s.url("/ingest/firehose"),
            body,
            &format!("old-{i}"),
            false,
        );
    }
    let (status, api) = get(
        &agent,
        &s.url(&format!("/api/v1/functions?{}", "from=2026-10-01")),
    );
    assert_eq!(status, 200, "{api}");
    let api: Value = serde_json::from_str(&api).unwrap();
    assert_eq!(
        api["totals"]["invocations"].as_u64(),
        Some(total),
        "{api:#}"
    );
    s.terminate();
    assert_eq!(
        count(&db),
        0,
        "raw invocations older than 7 days are deleted"
    );
    let report: Value = serde_json::from_str(&run(
        tern().args(["report", "--format", "json", "--db"]).arg(&db),
        "report",
    ))
    .unwrap();
    assert_eq!(report["totals"]["invocations"].as_u64(), Some(total));
}
