//! Parser throughput: `cargo bench -p tern-core --bench parse`.
//!
//! Times `parse_message` over a mix of representative CloudWatch messages (mostly the
//! START/END/REPORT triplet and ordinary application lines, some JSON-format records and a
//! few error reports) and prints nanoseconds per line, overall and per line kind. No criterion:
//! a plain `Instant` loop, run in release mode by `cargo bench`.

use std::hint::black_box;
use std::time::Instant;

use tern_core::parse::parse_message;

/// (kind, message, weight): weight is how many times the message appears in the mix.
const MIX: &[(&str, &str, usize)] = &[
    ("start", "START RequestId: 8f507cfc-6e2a-4697-b07a-ac58fc914c95 Version: $LATEST\n", 4),
    ("end", "END RequestId: 8f507cfc-6e2a-4697-b07a-ac58fc914c95\n", 4),
    ("report", "REPORT RequestId: 8f507cfc-6e2a-4697-b07a-ac58fc914c95\tDuration: 619.31 ms\tBilled Duration: 700 ms\tMemory Size: 128 MB\tMax Memory Used: 118 MB\t\n", 3),
    ("report", "REPORT RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa\tDuration: 9.14 ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 190.62 ms\t\nXRAY TraceId: 1-636d1462-33ef10600061cad86dab71c8\tSegmentId: 7ccb4860675ee485\tSampled: true\t\n", 1),
    ("python", "[INFO]\t2025-10-21T18:58:10.653Z\tfcb560f5-8304-4333-a094-74147cedb3c8\tprocessed order 42 for customer 1337 in 12 ms\n", 4),
    ("node", "2026-11-26T21:56:53.566Z\tc6af9ac6-7b61-11e6-9a41-93e812345678\tINFO\thello { a: 1, b: 'two' } fetched 3 items\n", 4),
    ("dotnet", "2021-12-10T08:20:59.100Z\t3e2fbf0c-1482-4d13-93b8-e6f4fc705d3f\tinfo\tProcessing order 42\n", 1),
    ("plain", "Hello from Lambda! Fetched 12 rows from the orders table.\n", 3),
    ("json_app", "{\"timestamp\":\"2026-11-26T21:56:53.566Z\",\"level\":\"INFO\",\"requestId\":\"c6af9ac6-7b61-11e6-9a41-93e812345678\",\"message\":\"hello { a: 1 }\"}", 2),
    ("json_platform", "{\"time\":\"2026-10-08T07:30:28.235Z\",\"type\":\"platform.start\",\"record\":{\"requestId\":\"79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36\",\"functionArn\":\"arn:aws:lambda:eu-central-1:825765399535:function:tenner-notifier\",\"version\":\"$LATEST\"}}", 1),
    ("json_platform", "{\"time\":\"2026-10-08T07:30:29.470Z\",\"type\":\"platform.report\",\"record\":{\"requestId\":\"79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36\",\"metrics\":{\"durationMs\":1233.96,\"billedDurationMs\":1698,\"memorySizeMB\":256,\"maxMemoryUsedMB\":123,\"initDurationMs\":463.512},\"status\":\"success\"}}", 1),
    ("error", "2026-11-26T21:56:53.440Z\tc6af9ac6-7b61-11e6-9a41-93e812345678\tERROR\tInvoke Error \t{\"errorType\":\"TypeError\",\"errorMessage\":\"boom\",\"stack\":[\"TypeError: boom\",\"    at handler (/var/task/index.js:5:27)\",\"    at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)\"]}\n", 1),
    ("error", "[ERROR] KeyError: 'action'\nTraceback (most recent call last):\n\u{a0}\u{a0}File \"/var/task/lambda_function.py\", line 36, in lambda_handler\n\u{a0}\u{a0}\u{a0}\u{a0}return event['action']\n", 1),
];

fn time_lines(lines: &[&str], rounds: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        for line in lines {
            black_box(parse_message(black_box(line)));
        }
    }
    start.elapsed().as_nanos() as f64 / (rounds * lines.len()) as f64
}

fn main() {
    let rounds: usize = std::env::var("TERN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mix: Vec<&str> = MIX
        .iter()
        .flat_map(|&(_, m, w)| std::iter::repeat_n(m, w))
        .collect();
    // Warm up caches and the allocator.
    time_lines(&mix, rounds / 10 + 1);
    let best = (0..3)
        .map(|_| time_lines(&mix, rounds))
        .fold(f64::INFINITY, f64::min);
    println!(
        "parse_message: {best:.1} ns/line over a mix of {} lines x {rounds} rounds ({:.2} M lines/s)",
        mix.len(),
        1e3 / best
    );
    let mut kinds: Vec<&str> = MIX.iter().map(|&(k, _, _)| k).collect();
    kinds.dedup();
    for kind in kinds {
        let lines: Vec<&str> = MIX
            .iter()
            .filter(|&&(k, _, _)| k == kind)
            .map(|&(_, m, _)| m)
            .collect();
        let ns = time_lines(&lines, rounds / 4 + 1);
        println!("  {kind:<14} {ns:>7.1} ns/line");
    }
}
