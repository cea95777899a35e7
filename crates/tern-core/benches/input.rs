//! Input decoder throughput: `cargo bench -p tern-core --bench input`.
//!
//! Prints ns per event and MB/s for JSON lines (the hot path: the reference corpus is 2.3M
//! events in 700 MB of JSON lines), a Firehose body of gzipped subscription payloads, and an
//! `aws logs tail` text. Inputs are generated here, deterministic, shaped like real Lambda
//! logs (shared/reference/lambda-logs.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use tern_core::input::{DecodeOptions, Decoded, Decoder};

const GROUP: &str = "/aws/lambda/orders-api";

fn stream(i: usize) -> String {
    format!(
        "2024/03/05/[$LATEST]{:032x}",
        ((i % 40) as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

fn request_id(i: usize) -> String {
    let x = ((i / 4) as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        x & 0xffff,
        (x >> 48) & 0xffff,
        x & 0xffff_ffff_ffff
    )
}

/// The messages of one invocation, cycling START / app line / END / REPORT.
fn message(i: usize) -> String {
    let rid = request_id(i);
    match i % 4 {
        0 => format!("START RequestId: {rid} Version: $LATEST\n"),
        1 => format!(
            "[INFO]\t2024-03-05T12:04:05.100Z\t{rid}\tprocessed order {} for customer {}\n",
            i * 7,
            i % 977
        ),
        2 => format!("END RequestId: {rid}\n"),
        _ => format!(
            "REPORT RequestId: {rid}\tDuration: {}.{:02} ms\tBilled Duration: {} ms\tMemory Size: 512 MB\tMax Memory Used: {} MB\t\n",
            i % 900,
            i % 100,
            i % 900 + 1,
            60 + i % 40
        ),
    }
}

fn json_lines(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let line = serde_json::json!({
            "logGroup": GROUP,
            "logStream": stream(i),
            "timestamp": 1_709_640_245_000i64 + i as i64,
            "message": message(i),
            "id": format!("{}", 37_199_717_562_907_174_288u128 * 1_000_000_000_000_000_000 + i as u128),
        });
        serde_json::to_writer(&mut out, &line).unwrap();
        out.push(b'\n');
    }
    out
}

fn firehose_body(records: usize, per_record: usize) -> Vec<u8> {
    use base64::Engine as _;
    let mut recs = Vec::new();
    for r in 0..records {
        let events: Vec<_> = (0..per_record)
            .map(|j| {
                let i = r * per_record + j;
                serde_json::json!({"id": i.to_string(), "timestamp": 1_709_640_245_000i64 + i as i64, "message": message(i)})
            })
            .collect();
        let payload = serde_json::json!({
            "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": GROUP,
            "logStream": stream(r), "subscriptionFilters": ["tern"], "logEvents": events,
        });
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(serde_json::to_string(&payload).unwrap().as_bytes())
            .unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        recs.push(serde_json::json!({ "data": data }));
    }
    serde_json::to_vec(&serde_json::json!({"requestId": "r", "timestamp": 1, "records": recs}))
        .unwrap()
}

fn tail_text(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        let ms = i % 1000;
        out.push_str(&format!(
            "2024-03-05T12:{:02}:{:02}.{ms:03}000+00:00 {} {}\n",
            (i / 60_000) % 60,
            (i / 1000) % 60,
            stream(i),
            message(i).trim_end()
        ));
    }
    out.into_bytes()
}

/// Lines as the reader finds them (memchr), without the final empty piece.
fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or(&[]);
        Some(line)
    })
}

/// Best of several runs over the whole input.
fn measure(name: &str, bytes: usize, events: usize, mut run: impl FnMut() -> usize) {
    let mut best = Duration::MAX;
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut runs = 0;
    while runs < 3 || (Instant::now() < deadline && runs < 50) {
        let t = Instant::now();
        let n = black_box(run());
        best = best.min(t.elapsed());
        assert_eq!(n, events, "{name}: every event decodes");
        runs += 1;
    }
    let secs = best.as_secs_f64();
    println!(
        "{name:<28} {:>8.1} ns/event {:>8.0} MB/s {:>6.2} M events/s  ({events} events, {:.1} MB, best of {runs})",
        secs * 1e9 / events as f64,
        bytes as f64 / secs / 1e6,
        events as f64 / secs / 1e6,
        bytes as f64 / 1e6,
    );
}

fn main() {
    // `cargo bench -p tern-core --bench input -- json` runs only the benches named so.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let n = 200_000;
    let lines = json_lines(n);
    if wanted("json") {
        measure("json lines (Decoder)", lines.len(), n, || {
            let mut dec = Decoder::new(DecodeOptions::default());
            dec.begin_source("bench.jsonl", None);
            let mut out = Decoded::default();
            let mut count = 0;
            for (i, line) in split_lines(&lines).enumerate() {
                dec.decode_json_line(line, i as u64 + 1, &mut out);
                // The pipeline hands events on in chunks; keep memory flat like it does.
                if out.events.len() >= 8192 {
                    count += out.events.len();
                    out.events.clear();
                }
            }
            count + out.events.len()
        });
    }

    if wanted("syntax") {
        // The floor: serde_json only checking each line's syntax, building nothing.
        measure("json lines (syntax only)", lines.len(), n, || {
            split_lines(&lines)
                .filter(|line| serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok())
                .count()
        });
    }

    if wanted("firehose") {
        let body = firehose_body(500, 400);
        measure("firehose body (b64+gzip)", body.len(), 200_000, || {
            let mut dec = Decoder::new(DecodeOptions::default());
            dec.begin_source("bench.json", None);
            let mut out = Decoded::default();
            dec.decode_document(&body, &mut out);
            out.events.len()
        });
    }

    if wanted("tail") {
        let tail = tail_text(n);
        measure("aws logs tail text", tail.len(), n, || {
            let mut dec = Decoder::new(DecodeOptions {
                log_group: Some(GROUP.into()),
                ..DecodeOptions::default()
            });
            dec.begin_source("bench.txt", None);
            let mut out = Decoded::default();
            for (i, line) in split_lines(&tail).enumerate() {
                dec.push_tail_line(line, i as u64 + 1, &mut out);
            }
            dec.end_source(&mut out);
            out.events.len()
        });
    }
    println!("average JSON line: {} bytes", lines.len() / n);
}
