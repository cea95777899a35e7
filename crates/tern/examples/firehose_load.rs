//! Push-ingest load generator for BENCHMARKS.md: pre-builds Firehose requests from a
//! simulated fleet (`tern simulate --format subscription`), starts `tern serve` on loopback,
//! posts every request with N concurrent connections (retrying 503 as Firehose does), and
//! reports events per second and the server's memory (VmHWM, the peak resident set, from
//! /proc; Linux only).
//!
//! ```text
//! cargo build --release -p tern
//! cargo run --release -p tern --example firehose_load -- \
//!     --tern target/release/tern --functions 200 --days 7 --concurrency 8
//! ```
//!
//! Options: `--tern PATH` (default target/release/tern), `--functions N` (200), `--days N`
//! (7), `--seed N` (1), `--concurrency N` (8), `--records N` per request (500),
//! `--max-request-mb N` (4, request JSON before the optional gzip), `--gzip` (send
//! `Content-Encoding: gzip`), `--replay` (then post everything again: the idempotent path),
//! `--queue N` (server.ingest_queue, 4), `--clickhouse URL` (store in a fresh database on
//! that ClickHouse HTTP interface instead of a SQLite file; the database is left for
//! inspection and named in the output).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/firehose.rs"]
mod firehose;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use firehose::{self as fh, Serve, INGEST_KEY};

struct Opts {
    tern: PathBuf,
    functions: usize,
    days: u32,
    seed: u64,
    concurrency: usize,
    records: usize,
    max_request_mb: usize,
    gzip: bool,
    replay: bool,
    queue: usize,
    clickhouse: Option<String>,
}

fn opts() -> Opts {
    let mut o = Opts {
        tern: PathBuf::from("target/release/tern"),
        functions: 200,
        days: 7,
        seed: 1,
        concurrency: 8,
        records: 500,
        max_request_mb: 4,
        gzip: false,
        replay: false,
        queue: 4,
        clickhouse: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = || args.get(i + 1).cloned().expect("a value after the option");
        match args[i].as_str() {
            "--tern" => o.tern = PathBuf::from(val()),
            "--functions" => o.functions = val().parse().unwrap(),
            "--days" => o.days = val().parse().unwrap(),
            "--seed" => o.seed = val().parse().unwrap(),
            "--concurrency" => o.concurrency = val().parse().unwrap(),
            "--records" => o.records = val().parse().unwrap(),
            "--max-request-mb" => o.max_request_mb = val().parse().unwrap(),
            "--queue" => o.queue = val().parse().unwrap(),
            "--clickhouse" => o.clickhouse = Some(val()),
            "--gzip" => {
                o.gzip = true;
                i += 1;
                continue;
            }
            "--replay" => {
                o.replay = true;
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

struct Round {
    seconds: f64,
    busy: u64,
    max_rss_kb: u64,
}

fn push(o: &Opts, serve: &Serve, bodies: &[Vec<u8>], tag: &str) -> Round {
    let url = serve.url("/ingest/firehose");
    let next = AtomicUsize::new(0);
    let busy = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let max_rss = AtomicU64::new(0);
    let pid = serve.pid();
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if let Some((_, rss)) = fh::rss_kb(pid) {
                    max_rss.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let workers: Vec<_> = (0..o.concurrency)
            .map(|_| {
                s.spawn(|| {
                    let agent = fh::agent();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = bodies.get(i) else { break };
                        let rid = format!("{tag}-{i}");
                        let mut pause = Duration::from_millis(2);
                        loop {
                            match fh::post_firehose(&agent, &url, body, &rid, INGEST_KEY, o.gzip) {
                                Ok((200, _)) => break,
                                Ok((503, _)) => {
                                    busy.fetch_add(1, Ordering::Relaxed);
                                    std::thread::sleep(pause);
                                    pause = (pause * 2).min(Duration::from_millis(100));
                                }
                                Ok((status, text)) => panic!("request {rid}: {status} {text}"),
                                Err(e) => panic!("request {rid}: {e}"),
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    Round {
        seconds: started.elapsed().as_secs_f64(),
        busy: busy.load(Ordering::Relaxed),
        max_rss_kb: max_rss.load(Ordering::Relaxed),
    }
}

fn main() {
    let o = opts();
    assert!(
        o.tern.exists(),
        "{} not found: build it (cargo build --release -p tern) or pass --tern",
        o.tern.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let t = Instant::now();
    let st = Command::new(&o.tern)
        .args(["simulate", "--format", "subscription", "--out"])
        .arg(&logs)
        .args([
            "--functions",
            &o.functions.to_string(),
            "--days",
            &o.days.to_string(),
            "--seed",
            &o.seed.to_string(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    let events = truth["totals"]["events"].as_u64().unwrap();
    let invocations = truth["totals"]["invocations"].as_u64().unwrap();
    let records = fh::corpus_records(&logs);
    let bodies = fh::bodies(&records, o.records, o.max_request_mb << 20);
    drop(records);
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    eprintln!(
        "corpus: {events} events, {invocations} invocations, {} requests, {:.1} MB of request JSON (built in {:.1} s)",
        bodies.len(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let db = dir.path().join("load.db");
    let cfg = dir.path().join("tern.toml");
    let database = format!("tern_load_{}", std::process::id());
    let store = match &o.clickhouse {
        Some(url) => {
            format!("[store]\nbackend = \"clickhouse\"\nurl = {url:?}\ndatabase = {database:?}\n")
        }
        None => String::new(),
    };
    std::fs::write(
        &cfg,
        format!(
            "{store}[server]\ningest_queue = {}\n[retention]\nraw = \"forever\"\nrollups = \"forever\"\n",
            o.queue
        ),
    )
    .unwrap();
    let serve = if o.clickhouse.is_some() {
        let mut c = Command::new(&o.tern);
        c.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&cfg)
            .env_remove("TERN_DB")
            .env_remove("TERN_CONFIG")
            .env("TERN_API_TOKEN", fh::API_TOKEN)
            .env("TERN_INGEST_KEY", INGEST_KEY);
        Serve::spawn(c)
    } else {
        Serve::start(&o.tern, &db, Some(&cfg))
    };
    let idle = fh::rss_kb(serve.pid()).map_or(0, |(_, rss)| rss);
    let first = push(&o, &serve, &bodies, "load");
    let hwm1 = fh::rss_kb(serve.pid()).map_or(0, |(h, _)| h);
    println!(
        "ingest: {events} events in {:.2} s = {:.0} events/s ({:.0} invocations/s, {:.1} requests/s, {:.1} MB/s of request JSON); 503 answers: {}; server RSS idle {} MB, max sampled {} MB, VmHWM {} MB",
        first.seconds,
        events as f64 / first.seconds,
        invocations as f64 / first.seconds,
        bodies.len() as f64 / first.seconds,
        bytes as f64 / 1e6 / first.seconds,
        first.busy,
        idle / 1024,
        first.max_rss_kb / 1024,
        hwm1 / 1024,
    );
    if o.replay {
        let again = push(&o, &serve, &bodies, "load");
        let hwm2 = fh::rss_kb(serve.pid()).map_or(0, |(h, _)| h);
        println!(
            "replay (everything already stored): {:.2} s = {:.0} events/s; 503 answers: {}; max sampled RSS {} MB, VmHWM {} MB",
            again.seconds,
            events as f64 / again.seconds,
            again.busy,
            again.max_rss_kb / 1024,
            hwm2 / 1024,
        );
    }
    serve.terminate();
    if let Some(url) = &o.clickhouse {
        println!("stored in ClickHouse database {database} at {url}");
    }
    let size = std::fs::metadata(&db).map_or(0, |m| m.len());
    println!(
        "database file: {:.1} MB; concurrency {}, {} records per request, gzip {}, ingest_queue {}",
        size as f64 / 1e6,
        o.concurrency,
        o.records,
        o.gzip,
        o.queue
    );
}
