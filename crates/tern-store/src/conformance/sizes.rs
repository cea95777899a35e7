//! Per-size statistics cases: `Store::size_stats` against the truth worked out from the
//! invocations.

use std::collections::BTreeMap;

use tern_core::model::{InvocationPart, Outcome};

use super::{batch, close, invocation, DAY, HOUR, MIN, T0};
use crate::{Arch, Store, TimeRange};

/// What one (version, memory size) is expected to hold, counted from the parts themselves.
#[derive(Debug, Default)]
struct SizeTruth {
    invocations: u64,
    errors: u64,
    cold_starts: u64,
    cold_failures: u64,
    timeouts: u64,
    oom_kills: u64,
    billed_ms: f64,
    max_used_mb: Option<u32>,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    durations: Vec<f64>,
    inits: Vec<f64>,
}

/// A function that ran version 1 at 512 MB, then version 2 at 512 MB and 1024 MB, over two
/// days, with cold starts, timeouts and an out-of-memory kill; and a second function.
/// Returns the parts and, per (function, version, memory), what they hold by REPORT time.
fn sized_history() -> Vec<(InvocationPart, &'static str, Outcome)> {
    let mut out = Vec::new();
    let mut add = |f: &'static str, i: u32, version: &str, at: i64, mb: u32, d: f64| {
        let mut p = invocation(f, i % 4, &format!("{f}-{version}-{mb}-{i:04}"), at, d, mb);
        p.version = Some(version.to_string());
        let mut outcome = Outcome::Success;
        if i % 10 == 3 {
            if let Some(r) = p.report.as_mut() {
                r.init_duration_ms = Some(200.0 + f64::from(i % 7) * 10.0);
            }
        }
        if mb == 1024 && i % 25 == 7 {
            p.signals.timeout_line = true;
            outcome = Outcome::Timeout;
        }
        if mb == 512 && version == "1" && i == 11 {
            p.signals.oom_signature = true;
            outcome = Outcome::OutOfMemory;
        }
        out.push((p, f, outcome));
    };
    // Version 1 at 512 MB: day one, every 20 minutes.
    for i in 0..60 {
        add(
            "sized",
            i,
            "1",
            T0 + 7 * MIN + i64::from(i) * 20 * MIN,
            512,
            180.0 + f64::from(i % 13) * 3.5,
        );
    }
    // Version 2 at 512 MB, then at 1024 MB: day two.
    for i in 0..40 {
        add(
            "sized",
            i,
            "2",
            T0 + DAY + 3 * MIN + i64::from(i) * 11 * MIN,
            512,
            150.0 + f64::from(i % 9) * 4.0,
        );
    }
    for i in 0..90 {
        add(
            "sized",
            i,
            "2",
            T0 + DAY + 8 * HOUR + 5 * MIN + i64::from(i) * 9 * MIN,
            1024,
            80.0 + f64::from(i % 17) * 2.25,
        );
    }
    for i in 0..30 {
        add(
            "other",
            i,
            "$LATEST",
            T0 + 2 * HOUR + i64::from(i) * 30 * MIN,
            256,
            40.0 + f64::from(i),
        );
    }
    out
}

fn size_truths(
    parts: &[(InvocationPart, &'static str, Outcome)],
    range: TimeRange,
) -> BTreeMap<(String, Option<String>, u32), SizeTruth> {
    let mut out: BTreeMap<(String, Option<String>, u32), SizeTruth> = BTreeMap::new();
    for (p, f, outcome) in parts {
        let r = p.report.as_ref().unwrap();
        let t = p.end_ms.unwrap();
        if !range.contains(t) {
            continue;
        }
        let mb = r.memory_size_mb.unwrap();
        let e = out
            .entry((f.to_string(), p.version.clone(), mb))
            .or_default();
        let cold = r.init_duration_ms.is_some();
        e.invocations += 1;
        e.errors += u64::from(*outcome != Outcome::Success);
        e.cold_starts += u64::from(cold);
        e.cold_failures += u64::from(cold && *outcome != Outcome::Success);
        e.timeouts += u64::from(*outcome == Outcome::Timeout);
        e.oom_kills += u64::from(*outcome == Outcome::OutOfMemory);
        e.billed_ms += r.billed_duration_ms.unwrap();
        e.max_used_mb = e.max_used_mb.max(r.max_memory_used_mb);
        e.first_ms = Some(e.first_ms.map_or(t, |x| x.min(t)));
        e.last_ms = Some(e.last_ms.map_or(t, |x| x.max(t)));
        e.durations.push(r.duration_ms);
        e.inits.extend(r.init_duration_ms);
    }
    out
}

/// The nearest-rank quantile of `v` (as `Sketch::quantile` aims at).
fn exact_quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[rank]
}

fn check_sizes<S: Store>(
    store: &S,
    parts: &[(InvocationPart, &'static str, Outcome)],
    functions: &[String],
    range: TimeRange,
    what: &str,
) {
    let mut want = size_truths(parts, range);
    if !functions.is_empty() {
        want.retain(|k, _| functions.contains(&k.0));
    }
    let got = store.size_stats(functions, range).unwrap();
    let keys: Vec<(String, Option<String>, u32)> = got
        .iter()
        .map(|s| (s.function.clone(), s.version.clone(), s.counts.memory_mb))
        .collect();
    let want_keys: Vec<_> = want.keys().cloned().collect();
    assert_eq!(keys, want_keys, "{what}: sizes, in order");
    for s in &got {
        let w = &want[&(s.function.clone(), s.version.clone(), s.counts.memory_mb)];
        let c = &s.counts;
        let at = format!("{what}: {} {:?} {} MB", s.function, s.version, c.memory_mb);
        assert_eq!(c.arch, Arch::X86_64, "{at}");
        assert_eq!(
            (
                c.invocations,
                c.errors,
                c.cold_starts,
                c.cold_failures,
                c.timeouts,
                c.oom_kills
            ),
            (
                w.invocations,
                w.errors,
                w.cold_starts,
                w.cold_failures,
                w.timeouts,
                w.oom_kills
            ),
            "{at}: counts"
        );
        assert!(close(c.billed_total_ms, w.billed_ms), "{at}: billed");
        assert_eq!(c.max_used_mb, w.max_used_mb, "{at}: most memory used");
        assert_eq!(
            (c.first_ms, c.last_ms),
            (w.first_ms, w.last_ms),
            "{at}: first, last"
        );
        assert_eq!(s.duration.count(), w.invocations, "{at}: durations");
        assert_eq!(s.init.count(), w.inits.len() as u64, "{at}: inits");
        for q in [0.5, 0.95, 0.99] {
            let exact = exact_quantile(&w.durations, q);
            let sketch = s.duration.quantile(q).unwrap();
            assert!(
                (sketch - exact).abs() <= 0.01 * exact + 1e-9,
                "{at}: p{q} {sketch} vs {exact}"
            );
        }
        if !w.inits.is_empty() {
            let exact = exact_quantile(&w.inits, 0.5);
            let sketch = s.init.quantile(0.5).unwrap();
            assert!(
                (sketch - exact).abs() <= 0.01 * exact + 1e-9,
                "{at}: init p50"
            );
        }
    }
}

/// `size_stats`: per (function, version, memory size), exact counts and sketches within 1%,
/// over the whole range, partial days and hours, a subset of functions; repeated ingest
/// changes nothing; a deleted function has none.
pub fn size_stats<S: Store>(mut store: S) {
    let parts = sized_history();
    let all: Vec<InvocationPart> = parts.iter().map(|p| p.0.clone()).collect();
    // Two batches, the second half first.
    let (a, b) = all.split_at(all.len() / 2);
    store.ingest(&batch(b.to_vec())).unwrap();
    store.ingest(&batch(a.to_vec())).unwrap();
    check_sizes(&store, &parts, &[], TimeRange::all(), "all");
    store.ingest(&batch(all.clone())).unwrap();
    check_sizes(&store, &parts, &[], TimeRange::all(), "after re-ingest");
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    check_sizes(
        &store,
        &parts,
        &names(&["sized"]),
        TimeRange::all(),
        "one function",
    );
    check_sizes(
        &store,
        &parts,
        &names(&["nobody"]),
        TimeRange::all(),
        "unknown function",
    );
    for (from, to) in [
        (T0 + 5 * HOUR + 17 * MIN, T0 + DAY + 13 * HOUR + 41 * MIN),
        (T0 + 90 * MIN, T0 + 2 * DAY),
        (T0 + DAY, T0 + DAY + 10 * HOUR + 1),
        (
            T0 + DAY + 9 * HOUR + 30 * MIN,
            T0 + DAY + 9 * HOUR + 50 * MIN,
        ),
    ] {
        let range = TimeRange {
            from_ms: Some(from),
            to_ms: Some(to),
        };
        check_sizes(&store, &parts, &[], range, &format!("[{from}, {to})"));
    }
    store.delete_function("sized", None).unwrap();
    let left = store.size_stats(&[], TimeRange::all()).unwrap();
    assert!(left.iter().all(|s| s.function == "other"), "{left:?}");
    assert_eq!(left.len(), 1);
}
