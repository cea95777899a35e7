//! Parse and assemble on one core: `cargo bench -p tern-core --bench pipeline -- DIR`.
//!
//! Reads every `.jsonl` file under DIR (default `/tmp/corpus`, the reference corpus made by
//! `tern simulate --out /tmp/corpus --functions 200 --days 7`) into memory first, so no file
//! IO is timed. Then, on this one thread, for each round: decode every JSON line into a
//! `LogEvent`, parse it and assemble invocations, draining the assembler every 131,072 events
//! as `tern ingest` does. Prints events per second for each round and the median.
//! `TERN_BENCH_ROUNDS` sets the number of rounds (default 5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tern_core::assemble::Assembler;
use tern_core::input::{DecodeOptions, Decoded, Decoder};

const BATCH_EVENTS: usize = 131_072;

/// The allocator the `tern` binary uses, so the figure is the one `tern ingest` sees.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "jsonl") {
            out.push(p);
        }
    }
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "/tmp/corpus".into());
    let mut paths = Vec::new();
    files(Path::new(&dir), &mut paths);
    assert!(!paths.is_empty(), "no .jsonl files under {dir}");
    let inputs: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let bytes: usize = inputs.iter().map(Vec::len).sum();
    let rounds: usize = std::env::var("TERN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut rates = Vec::new();
    for round in 0..rounds.max(1) {
        let started = Instant::now();
        let mut events = 0usize;
        let mut parts = 0usize;
        let mut dec = Decoder::new(DecodeOptions::default());
        let mut asm = Assembler::new();
        let mut pending = 0usize;
        // One buffer of decoded events, drained into the assembler and reused (as
        // `tern ingest` reuses its chunk).
        let mut out = Decoded::default();
        for (path, input) in paths.iter().zip(&inputs) {
            dec.begin_source(&path.to_string_lossy(), None);
            dec.decode_auto(input, &mut out);
            dec.end_source(&mut out);
            events += out.events.len();
            pending += out.events.len();
            for ev in out.events.drain(..) {
                asm.push(ev);
            }
            out.diagnostics.clear();
            if pending >= BATCH_EVENTS {
                parts += black_box(asm.drain()).parts.len();
                pending = 0;
            }
        }
        parts += black_box(asm.finish()).parts.len();
        let secs = started.elapsed().as_secs_f64();
        let rate = events as f64 / secs;
        println!(
            "round {round}: {events} events ({:.0} MB) -> {parts} parts in {secs:.3} s = {:.0} events/s",
            bytes as f64 / 1e6,
            rate
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!("median: {:.0} events/s on one core", rates[rates.len() / 2]);
}
