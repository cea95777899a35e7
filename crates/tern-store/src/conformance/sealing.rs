//! Sealing cases (`Store::seal`): sealing may only make reads cheaper, never change them.

use tern_core::model::InvocationPart;

use super::{
    assert_stats_eq, batch, group, invocation, line, sketch_summary, split, stream, workload, DAY,
    HOUR, MIN, T0,
};
use crate::{FunctionStats, IngestBatch, Store, StreamLines, TimeRange};

/// Everything a report reads, for comparing two stores (or one store before and after).
fn assert_reads_eq<A: Store + ?Sized, B: Store + ?Sized>(got: &A, want: &B, what: &str) {
    let ranges = [
        TimeRange::all(),
        TimeRange {
            from_ms: Some(T0),
            to_ms: Some(T0 + 3 * DAY),
        },
        // Unaligned ends inside sealed and open days.
        TimeRange {
            from_ms: Some(T0 + 5 * HOUR + 17 * MIN + 3),
            to_ms: Some(T0 + 2 * DAY + 7 * HOUR + 11),
        },
        // Inside one hour.
        TimeRange {
            from_ms: Some(T0 + 9 * HOUR + MIN),
            to_ms: Some(T0 + 9 * HOUR + 50 * MIN),
        },
        TimeRange {
            from_ms: Some(T0 + DAY + 30 * MIN),
            to_ms: None,
        },
        // Whole days from the start, a partial day at the end; and the reverse.
        TimeRange {
            from_ms: Some(T0 + DAY),
            to_ms: Some(T0 + 3 * DAY + 5 * HOUR),
        },
        TimeRange {
            from_ms: None,
            to_ms: Some(T0 + 2 * DAY),
        },
    ];
    for range in ranges {
        let w = format!("{what}: {range:?}");
        assert_stats_eq(
            &got.function_stats(&[], range).unwrap(),
            &want.function_stats(&[], range).unwrap(),
            &format!("{w}: function_stats"),
        );
        let named = ["beta".to_string(), "gamma".to_string()];
        assert_stats_eq(
            &got.function_stats(&named, range).unwrap(),
            &want.function_stats(&named, range).unwrap(),
            &format!("{w}: named function_stats"),
        );
        for bucket in [None, Some(HOUR), Some(6 * HOUR), Some(7 * MIN), Some(DAY)] {
            let (Ok(a), Ok(b)) = (got.fleet(range, bucket), want.fleet(range, bucket)) else {
                assert!(got.fleet(range, bucket).is_err() && want.fleet(range, bucket).is_err());
                continue;
            };
            let stats = |rows: &[crate::FleetRow]| -> Vec<FunctionStats> {
                rows.iter().map(|r| r.stats.clone()).collect()
            };
            assert_stats_eq(&stats(&a), &stats(&b), &format!("{w}: fleet {bucket:?}"));
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.buckets.len(), y.buckets.len(), "{w}");
                for (p, q) in x.buckets.iter().zip(&y.buckets) {
                    assert_eq!(
                        (p.invocations, p.errors, sketch_summary(&p.duration)),
                        (q.invocations, q.errors, sketch_summary(&q.duration)),
                        "{w}: fleet {bucket:?} of {}",
                        x.stats.function
                    );
                }
            }
            // The counts alone, against the sealed-or-not fleet's buckets.
            let Some(width) = bucket else { continue };
            let counts = got.fleet_counts(range, width).unwrap();
            for row in &b {
                let want: Vec<u64> = row.buckets.iter().map(|q| q.invocations).collect();
                let have = counts
                    .iter()
                    .find(|(n, _)| *n == row.stats.function)
                    .map_or_else(|| vec![0; want.len()], |(_, c)| c.clone());
                assert_eq!(
                    have, want,
                    "{w}: fleet_counts {bucket:?} of {}",
                    row.stats.function
                );
            }
        }
        assert_eq!(
            got.environment_summaries(range).unwrap(),
            want.environment_summaries(range).unwrap(),
            "{w}: environment summaries"
        );
        if let (Some(from), Some(to)) = (range.from_ms, range.to_ms) {
            for (width, start) in [(HOUR, from - from.rem_euclid(HOUR)), (5 * MIN, from)] {
                let r = TimeRange {
                    from_ms: Some(start),
                    to_ms: Some(to),
                };
                let (Ok(a), Ok(b)) = (
                    got.series("alpha", r, width),
                    want.series("alpha", r, width),
                ) else {
                    continue;
                };
                assert_eq!(
                    a.iter().map(|x| x.0).collect::<Vec<_>>(),
                    b.iter().map(|x| x.0).collect::<Vec<_>>()
                );
                let a: Vec<FunctionStats> = a.into_iter().map(|x| x.1).collect();
                let b: Vec<FunctionStats> = b.into_iter().map(|x| x.1).collect();
                assert_stats_eq(&a, &b, &format!("{w}: series by {width}"));
            }
        }
    }
    for f in ["alpha", "beta", "gamma", "delta"] {
        assert_eq!(
            got.environments(f).unwrap(),
            want.environments(f).unwrap(),
            "{what}: environments of {f}"
        );
    }
    assert_eq!(
        got.time_bounds().unwrap(),
        want.time_bounds().unwrap(),
        "{what}: time bounds"
    );
}

/// The workload of the sealing cases: three days of three functions, with unattributed
/// stream lines, some invocations still incomplete.
fn sealing_workload() -> (Vec<IngestBatch>, Vec<InvocationPart>) {
    let whole = workload(360);
    let mut parts = Vec::new();
    for (i, p) in whole.iter().enumerate() {
        if i % 13 == 0 {
            // Only the START half: an incomplete invocation (its lines still count).
            parts.push(split(p)[0].clone());
        } else {
            parts.push(p.clone());
        }
    }
    let lines = IngestBatch {
        stream_lines: vec![
            StreamLines {
                function: "beta".into(),
                log_group: group("beta"),
                log_stream: stream(1),
                lines: vec![
                    line(T0 + 5 * HOUR + 20 * MIN, "init output", None),
                    line(T0 + DAY + 7 * MIN, "more init output", None),
                ],
            },
            StreamLines {
                function: "gamma".into(),
                log_group: group("gamma"),
                log_stream: stream(2),
                lines: vec![line(T0 + 2 * DAY + 7 * HOUR + 5, "late init", None)],
            },
        ],
        ..Default::default()
    };
    let mut batches: Vec<IngestBatch> = parts.chunks(100).map(|c| batch(c.to_vec())).collect();
    batches.push(lines);
    let mut late = vec![
        // A new invocation in a sealed hour, one of a new function, and the missing REPORT
        // halves of invocations stored incomplete before sealing.
        invocation(
            "alpha",
            1,
            "late-0",
            T0 + 5 * HOUR + 17 * MIN + 50,
            123.0,
            512,
        ),
        invocation("delta", 2, "late-1", T0 + DAY + 3 * HOUR, 50.0, 128),
    ];
    for (i, p) in whole.iter().enumerate() {
        if i % 13 == 0 && i % 2 == 0 {
            late.push(split(p)[1].clone());
        }
    }
    if let Some(r) = late[0].report.as_mut() {
        r.init_duration_ms = Some(321.5);
    }
    late[0].runtime_version = Some("python:3.13.v2".into());
    (batches, late)
}

/// Sealing changes no answer: sealed and open partitions together read as raw rows; data
/// arriving for a sealed day counts at once and after re-sealing; sealing again is a no-op.
pub fn sealing<S: Store>(make: impl Fn() -> S) {
    let (batches, late) = sealing_workload();
    let mut store = make();
    let mut reference = make();
    for b in &batches {
        store.ingest(b).unwrap();
        reference.ingest(b).unwrap();
    }
    assert_reads_eq(&store, &reference, "before sealing");
    // Only the first day has settled by then.
    store.seal(T0 + 2 * DAY + 2 * HOUR).unwrap();
    assert_reads_eq(&store, &reference, "first day sealed");
    store.seal(T0 + 30 * DAY).unwrap();
    assert_reads_eq(&store, &reference, "all sealed");
    let again = store.seal(T0 + 30 * DAY).unwrap();
    assert_eq!(again.partitions, 0, "sealing twice seals nothing new");
    assert_reads_eq(&store, &reference, "sealed twice");

    // Late data for sealed days: every late part completes one invocation.
    let total = |s: &S| -> u64 {
        s.function_stats(&[], TimeRange::all())
            .unwrap()
            .iter()
            .map(|x| x.invocations)
            .sum()
    };
    let sealed_total = total(&store);
    store.ingest(&batch(late.clone())).unwrap();
    reference.ingest(&batch(late.clone())).unwrap();
    assert_eq!(total(&store), sealed_total + late.len() as u64);
    let all = store.function_stats(&[], TimeRange::all()).unwrap();
    assert!(all.iter().any(|s| s.function == "delta"));
    assert_reads_eq(&store, &reference, "late data, not re-sealed");
    store.seal(T0 + 30 * DAY).unwrap();
    assert_reads_eq(&store, &reference, "late data re-sealed");
    // The same late data again changes nothing, sealed or not.
    store.ingest(&batch(late.clone())).unwrap();
    assert_reads_eq(&store, &reference, "late data twice");
    store.seal(T0 + 30 * DAY).unwrap();
    assert_reads_eq(&store, &reference, "late data twice, re-sealed");
}

/// Two handles seal the same partitions at once, while a third writes late data into them:
/// reads still equal a store that was never sealed.
pub fn sealing_concurrently<S: Store + Send, R: Store>(handles: [S; 3], mut reference: R) {
    let (batches, late) = sealing_workload();
    let [mut a, mut b, mut c] = handles;
    for x in &batches {
        a.ingest(x).unwrap();
        reference.ingest(x).unwrap();
    }
    reference.ingest(&batch(late.clone())).unwrap();
    let (a, _b, _c) = std::thread::scope(|scope| {
        let ta = scope.spawn(move || {
            a.seal(T0 + 30 * DAY).unwrap();
            a
        });
        let tb = scope.spawn(move || {
            b.seal(T0 + 30 * DAY).unwrap();
            b
        });
        let late = &late;
        let tc = scope.spawn(move || {
            for p in late {
                c.ingest(&batch(vec![p.clone()])).unwrap();
            }
            c
        });
        (ta.join().unwrap(), tb.join().unwrap(), tc.join().unwrap())
    });
    assert_reads_eq(&a, &reference, "two sealers and a late writer");
    let mut a = a;
    a.seal(T0 + 30 * DAY).unwrap();
    assert_reads_eq(&a, &reference, "sealed once more");
}
