//! Store benchmarks: ingest throughput and `function_stats` latency of the SQLite backend.
//!
//! ```text
//! cargo bench -p tern-store --bench store
//! TERN_BENCH_STATS_INVOCATIONS=10000000 TERN_BENCH_ONLY=stats cargo bench -p tern-store --bench store
//! ```
//!
//! With `TERN_BENCH_CLICKHOUSE_URL` set, the same ingest and stats figures on ClickHouse
//! instead (see `bench_clickhouse`).
//!
//! Knobs (environment): `TERN_BENCH_ONLY` (`ingest` or `stats`), `TERN_BENCH_PARTS` (500 000),
//! `TERN_BENCH_BATCH` (20 000), `TERN_BENCH_FUNCTIONS` (100), `TERN_BENCH_STREAMS` (20 per
//! function), `TERN_BENCH_SPAN_HOURS` (1), `TERN_BENCH_STATS_INVOCATIONS` (2 000 000),
//! `TERN_BENCH_STATS_FUNCTIONS` (1 000, the stats data's functions over 30 days),
//! `TERN_BENCH_DIR` (keep the databases there), `TERN_BENCH_VERBOSE` (WAL bytes per part),
//! `TERN_BENCH_ERROR_PERMILLE` (0: failed invocations per thousand, each with a Python error,
//! a stack from one of eight raise sites and an `[ERROR]` line; they make error groups).
//!
//! Synthetic parts look like real ones: START, one application line, END and REPORT (~120 bytes
//! each on average, with 56-digit CloudWatch event ids), a REPORT's metrics, UUID request ids,
//! several log streams per function, in time order. Batches are generated just before each
//! `ingest` call and only the call is timed. "Parts per CPU-second" is the ingest thread's CPU
//! time (from the scheduler), which other tenants of a shared machine disturb less than wall
//! time; the background checkpoint thread is not counted in it.
//!
//! Figures on the 2-core development machine (shared, so ±10%), 2026-11-26:
//!
//! | ingest, 100 functions × 20 streams | first 500k parts | next 500k parts |
//! | --- | --- | --- |
//! | batches of 10 000 | 188k/s wall, 198k/CPU-s | 142k/s wall, 160k/CPU-s |
//! | batches of 20 000 | 217k/s wall, 233k/CPU-s | 172k/s wall, 192k/CPU-s |
//! | batches of 50 000 | 244k/s wall, 258k/CPU-s | 232k/s wall, 246k/CPU-s |
//!
//! Error groups (2026-11-27, 5 alternating runs against the previous build, load ≈ 4 on 2
//! cores): no change without failures (0.99× and 1.00× parts per CPU-second); with
//! `TERN_BENCH_ERROR_PERMILLE=20` within noise (1.02×, 0.94×); with 100 (10% failures) 0.88×
//! and 0.91×, about one extra invocation's worth of work per failure, and 64 bytes per failure.
//!
//! Log volume (schema 4; 6 alternating runs against the previous build, load 5–7 on 2 cores):
//! 1.00× parts per CPU-second on the first 500k parts and 1.005× on the next 500k (medians);
//! 8 more bytes per invocation (its line and byte counts). Counting a new row's volume in a
//! rollup lookup of its own, rather than the one its invocation already makes, cost 3% on the
//! first 500k.
//!
//! 1000 functions × 5 streams, batches of 20 000: 160k/s then 121k/s wall. Re-ingest of stored
//! parts (all take the merge path): 120–150k/s. About 500 bytes of database per invocation.
//!
//! `function_stats` over 1000 functions and 30 days: with 2M invocations 67 ms (all time),
//! 63 ms (unaligned 7 days), 45 ms (unaligned 24 h); with 10M invocations (5.0 GiB database)
//! 91 ms, 89 ms and 66 ms. One function: 0.3 ms. Newest 100 invocations: 0.6 ms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_core::model::{ErrorInfo, InvocationPart, LogLine, ReportMetrics, Signals};
use tern_store::{
    ClickHouseConfig, ClickHouseStore, IngestBatch, InvocationQuery, SqliteStore, Store, TimeRange,
};

/// 2026-03-01T00:00:00Z
const EPOCH: i64 = 1_772_323_200_000;
const DAY: i64 = 86_400_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Gen {
    rng: Rng,
    functions: usize,
    streams_per_function: usize,
    groups: Vec<Arc<str>>,
    streams: Vec<Arc<str>>,
    names: Vec<String>,
    seq: u64,
    /// Failed invocations per thousand.
    error_permille: u64,
}

impl Gen {
    fn new(seed: u64, functions: usize, streams_per_function: usize) -> Gen {
        let mut rng = Rng(seed);
        let names: Vec<String> = (0..functions).map(|i| format!("fn-{i:04}")).collect();
        let groups = names
            .iter()
            .map(|n| Arc::from(format!("/aws/lambda/{n}")))
            .collect();
        let streams = (0..functions * streams_per_function)
            .map(|_| {
                Arc::from(format!(
                    "2026/03/01/[$LATEST]{:016x}{:016x}",
                    rng.next(),
                    rng.next()
                ))
            })
            .collect();
        Gen {
            rng,
            functions,
            streams_per_function,
            groups,
            streams,
            names,
            seq: 0,
            error_permille: env_usize("TERN_BENCH_ERROR_PERMILLE", 0) as u64,
        }
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.rng.next(), self.rng.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    fn event_id(&mut self, ts: i64) -> String {
        self.seq += 1;
        format!("{:024}{:032}", ts, self.seq)
    }

    /// One complete invocation at `start`.
    fn part(&mut self, start: i64) -> InvocationPart {
        let f = self.rng.below(self.functions as u64) as usize;
        let s = f * self.streams_per_function
            + self.rng.below(self.streams_per_function as u64) as usize;
        let request_id = self.uuid();
        let duration = 5.0 + (self.rng.below(200_000) as f64) / 100.0;
        let billed = duration.ceil();
        let end = start + billed as i64;
        let cold = self.rng.below(50) == 0;
        let init = cold.then(|| 150.0 + self.rng.below(50_000) as f64 / 100.0);
        let max_mem = 60 + self.rng.below(120) as u32;
        let mut lines = Vec::with_capacity(4);
        let mut line = |g: &mut Gen, ts: i64, message: String| {
            let event_id = Some(g.event_id(ts));
            lines.push(LogLine {
                timestamp_ms: ts,
                message,
                event_id,
            });
        };
        line(
            self,
            start,
            format!("START RequestId: {request_id} Version: $LATEST\n"),
        );
        let order = self.rng.below(1_000_000);
        line(
            self,
            start + 2,
            format!(
                "{{\"level\":\"INFO\",\"requestId\":\"{request_id}\",\"msg\":\"processed order\",\"orderId\":{order},\"items\":3}}\n"
            ),
        );
        // Drawn only when failures are asked for, so the default workload is unchanged.
        let error =
            (self.error_permille > 0 && self.rng.below(1000) < self.error_permille).then(|| {
                let site = self.rng.below(8);
                ErrorInfo {
                    error_type: "KeyError".into(),
                    message: format!("'order-{order}'"),
                    stack: vec![
                        format!("File \"/var/task/app.py\", line {}, in handler", 10 + site),
                        "File \"/var/lang/lib/python3.12/json/__init__.py\", line 346, in loads"
                            .into(),
                    ],
                }
            });
        if let Some(e) = &error {
            line(
                self,
                start + 3,
                format!(
                    "[ERROR] {}: {}\nTraceback (most recent call last):\n  {}\n",
                    e.error_type, e.message, e.stack[0]
                ),
            );
        }
        line(self, end, format!("END RequestId: {request_id}\n"));
        let init_text = init
            .map(|i| format!("\tInit Duration: {i:.2} ms"))
            .unwrap_or_default();
        line(
            self,
            end,
            format!(
                "REPORT RequestId: {request_id}\tDuration: {duration:.2} ms\tBilled Duration: {billed} ms\tMemory Size: 512 MB\tMax Memory Used: {max_mem} MB{init_text}\t\n"
            ),
        );
        InvocationPart {
            function: self.names[f].clone(),
            log_group: self.groups[f].clone(),
            log_stream: self.streams[s].clone(),
            request_id,
            start_ms: Some(start),
            end_ms: Some(end),
            version: Some("$LATEST".into()),
            report: Some(ReportMetrics {
                duration_ms: duration,
                billed_duration_ms: Some(billed),
                memory_size_mb: Some(512),
                max_memory_used_mb: Some(max_mem),
                init_duration_ms: init,
                ..Default::default()
            }),
            log_lines: lines,
            signals: Signals {
                handler_error: error.is_some(),
                ..Default::default()
            },
            error,
            ..Default::default()
        }
    }

    /// `n` invocations spread evenly over `[from, from + span)`.
    fn batch(&mut self, n: usize, from: i64, span: i64, index: u64, total: u64) -> IngestBatch {
        let parts = (0..n as u64)
            .map(|i| {
                let k = index + i;
                self.part(from + (k as i128 * span as i128 / total as i128) as i64)
            })
            .collect();
        IngestBatch {
            parts,
            ..Default::default()
        }
    }
}

/// CPU time of this thread (ns), from the scheduler's accounting: robust to other processes
/// competing for the machine, unlike wall time.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Bytes this thread has passed to write(2) and friends (the WAL, for the ingest thread).
fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/thread-self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("wchar: "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn file_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// Ingest `total` parts in batches of `batch`; returns the time spent inside `ingest` only.
/// Batches are generated up front (`pregenerate`) or just before each call, untimed.
fn ingest<S: Store>(
    store: &mut S,
    g: &mut Gen,
    total: usize,
    batch: usize,
    (from, span): (i64, i64),
    pregenerate: bool,
) -> (Duration, Duration) {
    let mut make = |done: usize| {
        let n = batch.min(total - done);
        g.batch(n, from, span, done as u64, total as u64)
    };
    let mut batches = Vec::new();
    if pregenerate {
        let mut done = 0;
        while done < total {
            let b = make(done);
            done += b.parts.len();
            batches.push(b);
        }
    }
    let mut spent = Duration::ZERO;
    let mut cpu = 0;
    let written = written_bytes();
    let mut done = 0;
    let mut i = 0;
    while done < total {
        let b = if pregenerate {
            std::mem::take(&mut batches[i])
        } else {
            make(done)
        };
        i += 1;
        let c = cpu_ns();
        let t = Instant::now();
        let s = store.ingest(&b).unwrap();
        spent += t.elapsed();
        cpu += cpu_ns() - c;
        assert_eq!(s.inserted as usize, b.parts.len());
        done += b.parts.len();
    }
    if std::env::var_os("TERN_BENCH_VERBOSE").is_some() {
        println!(
            "  ingest thread wrote {:.0} bytes per part",
            (written_bytes() - written) as f64 / total as f64
        );
    }
    (spent, Duration::from_nanos(cpu))
}

/// A fresh directory for a database: under `TERN_BENCH_DIR` (kept, for inspection) when set,
/// else a temporary one.
fn bench_dir(name: &str) -> (Option<tempfile::TempDir>, std::path::PathBuf) {
    match std::env::var_os("TERN_BENCH_DIR") {
        Some(d) => {
            let p = std::path::Path::new(&d).join(name);
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            (None, p)
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

fn bench_ingest() {
    let total = env_usize("TERN_BENCH_PARTS", 500_000);
    let batch = env_usize("TERN_BENCH_BATCH", 20_000);
    let (_tmp, dir) = bench_dir("ingest");
    let path = dir.join("tern.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let functions = env_usize("TERN_BENCH_FUNCTIONS", 100);
    let streams = env_usize("TERN_BENCH_STREAMS", 20);
    let mut g = Gen::new(1, functions, streams);
    // One hour of traffic from 100 functions (TERN_BENCH_FUNCTIONS), 20 environments each
    // (TERN_BENCH_STREAMS), parts in time order.
    let span = env_usize("TERN_BENCH_SPAN_HOURS", 1) as i64 * 3_600_000;
    let (spent, cpu) = ingest(&mut store, &mut g, total, batch, (EPOCH, span), false);
    let rate = total as f64 / spent.as_secs_f64();
    println!(
        "ingest: {total} parts in batches of {batch} into a new file db: {:.2} s, {:.0} parts/s wall ({:.0} events/s at 4 lines per part); {:.0} parts per CPU-second",
        spent.as_secs_f64(),
        rate,
        rate * 4.0,
        total as f64 / cpu.as_secs_f64()
    );
    // A second round into the now non-empty db (the next hour).
    let (spent, cpu) = ingest(
        &mut store,
        &mut g,
        total,
        batch,
        (EPOCH + 3_600_000, 3_600_000),
        false,
    );
    let rate = total as f64 / spent.as_secs_f64();
    println!(
        "ingest: {total} more parts into the same db: {:.2} s, {:.0} parts/s wall; {:.0} parts per CPU-second",
        spent.as_secs_f64(),
        rate,
        total as f64 / cpu.as_secs_f64()
    );
    // Re-ingest of data already stored: every part takes the merge path and changes nothing.
    let mut again = Gen::new(1, functions, streams);
    let n = batch.min(total);
    let b = again.batch(n, EPOCH, 3_600_000, 0, total as u64);
    let t = Instant::now();
    let s = store.ingest(&b).unwrap();
    let el = t.elapsed();
    assert_eq!(s.unchanged as usize, n);
    println!(
        "re-ingest: {n} parts already stored: {:.0} parts/s",
        n as f64 / el.as_secs_f64()
    );
    drop(store);
    let size = file_size(&dir);
    println!(
        "db size: {:.1} MiB for {} invocations, {:.0} bytes per invocation",
        size as f64 / 1048576.0,
        2 * total,
        size as f64 / (2 * total) as f64
    );
}

fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) -> T {
    let mut best = Duration::MAX;
    let mut out = None;
    let mut total = Duration::ZERO;
    for _ in 0..runs {
        let t = Instant::now();
        out = Some(f());
        let el = t.elapsed();
        total += el;
        best = best.min(el);
    }
    println!(
        "{label}: best {:.1} ms, mean {:.1} ms over {runs} runs",
        best.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3 / f64::from(runs)
    );
    out.unwrap()
}

fn bench_stats() {
    let total = env_usize("TERN_BENCH_STATS_INVOCATIONS", 2_000_000);
    let functions = env_usize("TERN_BENCH_STATS_FUNCTIONS", 1000);
    let days = 30;
    let (_tmp, dir) = bench_dir("stats");
    let path = dir.join("tern.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let mut g = Gen::new(7, functions, 5);
    let (spent, _) = ingest(
        &mut store,
        &mut g,
        total,
        50_000,
        (EPOCH, days * DAY),
        false,
    );
    println!(
        "stats db: {total} invocations, {functions} functions, {days} days: built in {:.1} s ({:.0} parts/s)",
        spent.as_secs_f64(),
        total as f64 / spent.as_secs_f64()
    );
    drop(store);
    println!(
        "stats db size: {:.1} MiB",
        file_size(&dir) as f64 / 1048576.0
    );
    let store = SqliteStore::open(&path).unwrap();
    let all = time("function_stats(all functions, all time)", 5, || {
        store.function_stats(&[], TimeRange::all()).unwrap()
    });
    assert_eq!(all.len(), functions);
    assert_eq!(all.iter().map(|s| s.invocations).sum::<u64>(), total as u64);
    // The last 7 days, from an unaligned "now": daily + hourly rollups + partial-hour scans.
    let now = EPOCH + days * DAY - 17 * 60_000 - 1234;
    let week = TimeRange {
        from_ms: Some(now - 7 * DAY),
        to_ms: Some(now),
    };
    time("function_stats(all functions, unaligned 7 days)", 5, || {
        store.function_stats(&[], week).unwrap()
    });
    let day = TimeRange {
        from_ms: Some(now - DAY),
        to_ms: Some(now),
    };
    time("function_stats(all functions, unaligned 24 h)", 5, || {
        store.function_stats(&[], day).unwrap()
    });
    let one = vec!["fn-0042".to_string()];
    time("function_stats(one function, unaligned 7 days)", 20, || {
        store.function_stats(&one, week).unwrap()
    });
    time("invocations(newest 100, all functions)", 20, || {
        store.invocations(&InvocationQuery::default()).unwrap()
    });
    let rows = time("invocations(newest 100, one function)", 20, || {
        store
            .invocations(&InvocationQuery {
                functions: one.clone(),
                ..Default::default()
            })
            .unwrap()
    });
    let id = rows[50].request_id.clone();
    time("invocations(request id only)", 5, || {
        store
            .invocations(&InvocationQuery {
                request_id: Some(id.clone()),
                ..Default::default()
            })
            .unwrap()
    });
    let r = &rows[50];
    time("invocation_logs(one invocation)", 20, || {
        store
            .invocation_logs(&r.log_group, &r.log_stream, &r.request_id)
            .unwrap()
    });
}

/// The same ingest and `function_stats` figures on ClickHouse (`TERN_BENCH_CLICKHOUSE_URL`,
/// database `TERN_BENCH_CLICKHOUSE_DB`, default `tern_bench`, dropped first unless
/// `TERN_BENCH_KEEP` is set, when the stats data already stored is reused).
fn bench_clickhouse(url: &str, only: &str) {
    let database = std::env::var("TERN_BENCH_CLICKHOUSE_DB").unwrap_or("tern_bench".into());
    let config = ClickHouseConfig {
        url: url.to_string(),
        database: database.clone(),
        user: "default".into(),
        password: None,
        ca_file: None,
        cluster: None,
    };
    let keep = std::env::var_os("TERN_BENCH_KEEP").is_some();
    if !keep {
        ureq::post(url)
            .send(format!("DROP DATABASE IF EXISTS {database}"))
            .unwrap();
    }
    let mut store = ClickHouseStore::open(&config).unwrap();
    if only.is_empty() || only == "ingest" {
        let total = env_usize("TERN_BENCH_PARTS", 500_000);
        let batch = env_usize("TERN_BENCH_BATCH", 20_000);
        let functions = env_usize("TERN_BENCH_FUNCTIONS", 100);
        let streams = env_usize("TERN_BENCH_STREAMS", 20);
        let span = env_usize("TERN_BENCH_SPAN_HOURS", 1) as i64 * 3_600_000;
        let mut g = Gen::new(1, functions, streams);
        let (spent, cpu) = ingest(
            &mut store,
            &mut g,
            total,
            batch,
            (EPOCH - 40 * DAY, span),
            false,
        );
        let rate = total as f64 / spent.as_secs_f64();
        println!(
            "clickhouse ingest: {total} parts in batches of {batch}: {:.2} s, {:.0} parts/s wall ({:.0} events/s at 4 lines per part); {:.0} parts per CPU-second of the writer",
            spent.as_secs_f64(),
            rate,
            rate * 4.0,
            total as f64 / cpu.as_secs_f64()
        );
    }
    if only.is_empty() || only == "stats" {
        let total = env_usize("TERN_BENCH_STATS_INVOCATIONS", 2_000_000);
        let functions = env_usize("TERN_BENCH_STATS_FUNCTIONS", 1000);
        let days = 30;
        let range = TimeRange {
            from_ms: Some(EPOCH),
            to_ms: Some(EPOCH + days * DAY),
        };
        let have: u64 = store
            .function_stats(&[], range)
            .unwrap()
            .iter()
            .map(|s| s.invocations)
            .sum();
        if have != total as u64 {
            let mut g = Gen::new(7, functions, 5);
            let (spent, _) = ingest(
                &mut store,
                &mut g,
                total,
                50_000,
                (EPOCH, days * DAY),
                false,
            );
            println!(
                "clickhouse stats data: {total} invocations, {functions} functions, {days} days: built in {:.1} s ({:.0} parts/s)",
                spent.as_secs_f64(),
                total as f64 / spent.as_secs_f64()
            );
        }
        let all = time(
            "clickhouse function_stats(all functions, 30 days)",
            5,
            || store.function_stats(&[], range).unwrap(),
        );
        assert_eq!(all.iter().map(|s| s.invocations).sum::<u64>(), total as u64);
        let now = EPOCH + days * DAY - 17 * 60_000 - 1234;
        let day = TimeRange {
            from_ms: Some(now - DAY),
            to_ms: Some(now),
        };
        time(
            "clickhouse function_stats(all functions, unaligned 24 h)",
            5,
            || store.function_stats(&[], day).unwrap(),
        );
        let one = vec!["fn-0042".to_string()];
        time(
            "clickhouse function_stats(one function, 30 days)",
            5,
            || store.function_stats(&one, range).unwrap(),
        );
        // What the report's insights read for the whole fleet at once: the spike insight's
        // hourly counts over the last 14 days of the range.
        let spike_window = TimeRange {
            from_ms: range.to_ms.map(|t| t - 14 * 86_400_000),
            to_ms: range.to_ms,
        };
        time(
            "clickhouse fleet_counts(all functions, last 14 days, hourly)",
            3,
            || store.fleet_counts(spike_window, 3_600_000).unwrap(),
        );
        time("clickhouse environment_summaries(30 days)", 3, || {
            store.environment_summaries(range).unwrap()
        });
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not, and then runs nothing
    // heavy.
    if !std::env::args().any(|a| a == "--bench") {
        println!("store bench: run with `cargo bench -p tern-store --bench store`");
        return;
    }
    let only = std::env::var("TERN_BENCH_ONLY").unwrap_or_default();
    if let Ok(url) = std::env::var("TERN_BENCH_CLICKHOUSE_URL") {
        bench_clickhouse(&url, &only);
        return;
    }
    if only.is_empty() || only == "ingest" {
        bench_ingest();
    }
    if only.is_empty() || only == "stats" {
        bench_stats();
    }
}
