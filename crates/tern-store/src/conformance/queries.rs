//! Query cases: months, invocation listings, billing and memory, series and fleet answers,
//! many functions at once.

use tern_core::model::Outcome;

use super::{
    assert_stats_eq, batch, close, group, invocation, line, row_time, sketch_summary, split,
    stream, workload, DAY, HOUR, MIN, T0,
};
use crate::{
    FunctionMeta, FunctionStats, IngestBatch, InvocationQuery, Store, StreamLines, TimeRange,
};

/// Usage per calendar month (UTC), split at the month boundary.
pub fn months<S: Store>(mut store: S) {
    let jan = 1_769_902_200_000; // 2026-01-31T23:30:00Z
    let feb = 1_769_904_000_000; // 2026-02-01T00:00:00Z
    let parts = vec![
        invocation("alpha", 1, "m1", jan, 1000.0, 1024),
        invocation("alpha", 1, "m2", jan + 10 * MIN, 2000.0, 1024),
        invocation("alpha", 1, "m3", feb + 5 * MIN, 4000.0, 512),
    ];
    store.ingest(&batch(parts)).unwrap();
    let stats = store.function_stats(&[], TimeRange::all()).unwrap();
    let m: Vec<(u32, u64)> = stats[0]
        .months
        .iter()
        .map(|m| (m.month, m.requests))
        .collect();
    assert_eq!(m, [(202601, 2), (202602, 1)]);
    assert!(close(stats[0].months[0].gb_seconds, 3.0));
    assert!(close(stats[0].months[1].gb_seconds, 2.0));
    // Through hourly rollups and the partial-hour scan too.
    let range = TimeRange {
        from_ms: Some(jan + 5 * MIN),
        to_ms: Some(feb + 30 * MIN),
    };
    let stats = store.function_stats(&[], range).unwrap();
    let m: Vec<(u32, u64)> = stats[0]
        .months
        .iter()
        .map(|m| (m.month, m.requests))
        .collect();
    assert_eq!(m, [(202601, 1), (202602, 1)]);
}

/// Listing: newest first, filters, limits (0 means a default), request ids.
pub fn invocation_queries<S: Store>(mut store: S) {
    let mut parts = Vec::new();
    for i in 0..150 {
        let f = if i % 3 == 0 { "beta" } else { "alpha" };
        let mut p = invocation(
            f,
            (i % 4) as u32,
            &format!("q{i:03}"),
            T0 + i * MIN,
            10.0,
            128,
        );
        if i % 10 == 0 {
            p.signals.handler_error = true;
        }
        if i % 25 == 0 {
            p.cold_start = true;
        }
        parts.push(p);
    }
    let [open, _, _] = split(&invocation("alpha", 9, "q-open", T0 + 500 * MIN, 10.0, 128));
    parts.push(open);
    store.ingest(&batch(parts)).unwrap();
    let q = |f: fn(&mut InvocationQuery)| {
        let mut q = InvocationQuery::default();
        f(&mut q);
        store.invocations(&q).unwrap()
    };
    let newest = q(|_| {});
    assert_eq!(newest.len(), 100);
    assert_eq!(newest[0].request_id, "q-open");
    assert!(!newest[0].complete);
    assert!(newest
        .windows(2)
        .all(|w| row_time(&w[0]) >= row_time(&w[1])));
    let beta = q(|q| q.functions = vec!["beta".into()]);
    assert_eq!(beta.len(), 50);
    assert!(beta.iter().all(|r| r.function == "beta"));
    let errors = q(|q| q.outcome = Some(Outcome::Error));
    assert_eq!(errors.len(), 15);
    assert!(errors.iter().all(|r| r.outcome == Outcome::Error));
    let cold = q(|q| q.cold = Some(true));
    assert_eq!(cold.len(), 6);
    let ranged = q(|q| {
        q.range = TimeRange {
            from_ms: Some(T0 + 10 * MIN),
            to_ms: Some(T0 + 20 * MIN),
        };
        q.limit = 3;
    });
    let ids: Vec<&str> = ranged.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["q019", "q018", "q017"]);
    let one = q(|q| q.request_id = Some("q042".into()));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].function, "beta");
    assert_eq!(one[0].log_stream, &*stream(2));
    assert!(q(|q| {
        q.request_id = Some("q042".into());
        q.functions = vec!["alpha".into()];
    })
    .is_empty());
    assert!(q(|q| q.functions = vec!["nobody".into()]).is_empty());
}

/// Billed duration includes billed restore duration; GB-s use each invocation's memory;
/// the memory size reported is the latest invocation's.
pub fn billing_and_memory<S: Store>(mut store: S) {
    let mut a = invocation("alpha", 1, "b1", T0, 1000.0, 1024);
    if let Some(r) = a.report.as_mut() {
        r.restore_duration_ms = Some(300.0);
        r.billed_restore_duration_ms = Some(500.0);
    }
    let b = invocation("alpha", 1, "b2", T0 + HOUR, 2000.0, 512);
    store.ingest(&batch(vec![b, a])).unwrap();
    let s = &store.function_stats(&[], TimeRange::all()).unwrap()[0];
    assert!(
        close(s.billed_duration_ms, 3500.0),
        "{}",
        s.billed_duration_ms
    );
    assert!(close(s.gb_seconds, 1.5 + 1.0), "{}", s.gb_seconds);
    assert_eq!(s.memory_size_mb, Some(512));
    assert_eq!(s.cold_starts, 1, "a SnapStart restore is a cold start");
    assert_eq!(s.init.max(), Some(300.0));
    let early = TimeRange {
        from_ms: None,
        to_ms: Some(T0 + 30 * MIN),
    };
    assert_eq!(
        store.function_stats(&[], early).unwrap()[0].memory_size_mb,
        Some(1024)
    );
}

/// A series has one entry per bucket, empty ones included, each equal to the stats of its own
/// range, and together they add up to the whole range.
pub fn series_buckets<S: Store>(mut store: S) {
    let mut parts = Vec::new();
    for i in 0..60 {
        // Every 7 minutes over 7 hours, skipping one hour (the fourth bucket below).
        let t = T0 + 10 * MIN + i * 7 * MIN;
        if (3 * HOUR + 30 * MIN..4 * HOUR + 30 * MIN).contains(&(t - T0)) {
            continue;
        }
        parts.push(invocation(
            "alpha",
            (i % 3) as u32,
            &format!("s{i}"),
            t,
            100.0 + i as f64,
            512,
        ));
    }
    store
        .ingest(&IngestBatch {
            parts,
            ..Default::default()
        })
        .unwrap();
    let range = TimeRange {
        from_ms: Some(T0 + 30 * MIN),
        to_ms: Some(T0 + 7 * HOUR + 5 * MIN),
    };
    let series = store.series("alpha", range, HOUR).unwrap();
    assert_eq!(series.len(), 7);
    let mut total = 0;
    for (i, (start, stats)) in series.iter().enumerate() {
        assert_eq!(*start, T0 + 30 * MIN + i as i64 * HOUR);
        let end = (start + HOUR).min(T0 + 7 * HOUR + 5 * MIN);
        let own = TimeRange {
            from_ms: Some(*start),
            to_ms: Some(end),
        };
        let direct = store.function_stats(&["alpha".into()], own).unwrap();
        assert_eq!(
            stats.invocations,
            direct.first().map_or(0, |d| d.invocations)
        );
        total += stats.invocations;
    }
    assert!(series.iter().any(|(_, s)| s.invocations == 0));
    let whole = store.function_stats(&["alpha".into()], range).unwrap();
    assert_eq!(total, whole[0].invocations);
    // Whole-hour buckets (a backend may read them in one pass): each equals its own range's
    // stats, field by field, with a partial last bucket at the edge.
    for (to, bucket) in [(T0 + 7 * HOUR, HOUR), (T0 + 7 * HOUR + 20 * MIN, 2 * HOUR)] {
        let aligned = TimeRange {
            from_ms: Some(T0),
            to_ms: Some(to),
        };
        for (start, got) in store.series("alpha", aligned, bucket).unwrap() {
            let own = TimeRange {
                from_ms: Some(start),
                to_ms: Some((start + bucket).min(to)),
            };
            let want = store
                .function_stats(&["alpha".into()], own)
                .unwrap()
                .into_iter()
                .next()
                .unwrap_or_default();
            assert_eq!(got.invocations, want.invocations, "bucket at {start}");
            assert_eq!(got.errors, want.errors);
            assert_eq!(got.duration.count(), want.duration.count());
            assert_eq!(got.max_memory_used_mb, want.max_memory_used_mb);
            assert_eq!(got.log_lines, want.log_lines);
            assert!((got.billed_duration_ms - want.billed_duration_ms).abs() < 1e-6);
        }
    }
    // Unknown function: all buckets, all zero.
    let none = store.series("nope", range, HOUR).unwrap();
    assert_eq!(none.len(), 7);
    assert!(none.iter().all(|(_, s)| s.invocations == 0));
    // Unbounded ranges, non-positive buckets and too many buckets are errors.
    assert!(store.series("alpha", TimeRange::all(), HOUR).is_err());
    assert!(store.series("alpha", range, 0).is_err());
    assert!(store.series("alpha", range, 1).is_err());
}

/// `Store::fleet` (a backend's fast path) equals `fleet_by_stats` (the default, from
/// `function_stats`): the same functions with the same statistics over aligned, unaligned and
/// open ranges, and buckets each equal to their own range's statistics, with and without
/// stream lines, an inventory-only function and a partial hour at either edge.
/// `function_stats` of many functions at once (a backend may read them in one pass, as the
/// fleet) equals asking for each function alone, environments included; a named function
/// without data in range still has its row, and an unknown name has none.
pub fn many_functions_match_one_by_one<S: Store>(mut store: S) {
    let names: Vec<String> = (0..90).map(|i| format!("fn-{i:02}")).collect();
    let mut parts = Vec::new();
    for (i, name) in names.iter().enumerate() {
        // Function i has i % 7 invocations over two days, in a few streams; every seventh
        // has one, four days later, outside most ranges.
        for k in 0..(i % 7).max(1) {
            let start = if i % 7 == 0 {
                T0 + 4 * DAY + i as i64 * MIN
            } else {
                T0 + (i as i64 * 7 + k as i64 * 13) % (2 * DAY / MIN) * MIN
            };
            parts.push(invocation(
                name,
                (k % 3) as u32,
                &format!("req-{i}-{k}"),
                start,
                10.0 + (i * 31 + k * 7) as f64,
                if k % 2 == 0 { 128 } else { 512 },
            ));
        }
    }
    for chunk in parts.chunks(100) {
        store.ingest(&batch(chunk.to_vec())).unwrap();
    }
    store
        .ingest(&IngestBatch {
            functions: vec![FunctionMeta {
                function: "fn-00".into(),
                inventory_ms: Some(T0),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    let mut asked = names.clone();
    asked.push("no-such-function".into());
    for (from_ms, to_ms) in [
        (None, None),
        (Some(T0), Some(T0 + DAY)),
        (
            Some(T0 + 5 * HOUR + 17 * MIN),
            Some(T0 + DAY + 3 * HOUR + 1),
        ),
        (Some(T0 + 10 * DAY), Some(T0 + 11 * DAY)),
    ] {
        let range = TimeRange { from_ms, to_ms };
        let what = format!("many functions over {range:?}");
        let one_by_one: Vec<FunctionStats> = names
            .iter()
            .flat_map(|n| {
                store
                    .function_stats(std::slice::from_ref(n), range)
                    .unwrap()
            })
            .collect();
        assert_eq!(one_by_one.len(), names.len(), "{what}");
        let at_once = store.function_stats(&asked, range).unwrap();
        assert_stats_eq(&at_once, &one_by_one, &what);
        // All functions: only those with data in range, or listed by an inventory.
        let reported: Vec<FunctionStats> = one_by_one
            .into_iter()
            .filter(|s| s.invocations > 0 || s.log_lines > 0 || s.meta.inventory_ms.is_some())
            .collect();
        assert!(reported.iter().any(|s| s.function == "fn-00"), "{what}");
        let all = store.function_stats(&[], range).unwrap();
        assert_stats_eq(&all, &reported, &format!("{what}, all functions"));
    }
}

pub fn fleet_matches_function_stats<S: Store>(mut store: S) {
    for chunk in workload(600).chunks(128) {
        store.ingest(&batch(chunk.to_vec())).unwrap();
    }
    store
        .ingest(&IngestBatch {
            stream_lines: vec![StreamLines {
                function: "beta".into(),
                log_group: group("beta"),
                log_stream: stream(1),
                lines: vec![line(T0 + DAY + 7 * MIN, "init output", None)],
            }],
            functions: vec![FunctionMeta {
                function: "idle".into(),
                inventory_ms: Some(T0),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    let ranges = [
        (Some(T0), Some(T0 + 3 * DAY)),
        (
            Some(T0 + 17 * MIN + 5),
            Some(T0 + 2 * DAY + 5 * HOUR + 7 * MIN),
        ),
        (Some(T0 + 3 * HOUR + 1), Some(T0 + 3 * HOUR + 59 * MIN)),
        (Some(T0 - DAY), Some(T0 + 10 * DAY)),
    ];
    for (from_ms, to_ms) in ranges {
        let range = TimeRange { from_ms, to_ms };
        for bucket in [None, Some(HOUR), Some(6 * HOUR), Some(DAY), Some(7 * MIN)] {
            let what = format!("fleet over {range:?}, buckets {bucket:?}");
            let Ok(fast) = store.fleet(range, bucket) else {
                // Only too many buckets may fail, and then the default fails too.
                assert!(
                    crate::fleet_by_stats(&store, range, bucket).is_err(),
                    "{what}"
                );
                continue;
            };
            let slow = crate::fleet_by_stats(&store, range, bucket).unwrap();
            let stats = |rows: &[crate::FleetRow]| -> Vec<FunctionStats> {
                rows.iter().map(|r| r.stats.clone()).collect()
            };
            assert_stats_eq(&stats(&fast), &stats(&slow), &what);
            assert!(fast.iter().any(|r| r.stats.function == "idle"), "{what}");
            if let Some(b) = bucket {
                let counts = store.fleet_counts(range, b).unwrap();
                let names: Vec<&String> = counts.iter().map(|(n, _)| n).collect();
                assert!(names.windows(2).all(|w| w[0] < w[1]), "{what}: sorted");
                let by_name: std::collections::HashMap<&str, &Vec<u64>> =
                    counts.iter().map(|(n, c)| (n.as_str(), c)).collect();
                for row in &fast {
                    let want: Vec<u64> = row.buckets.iter().map(|b| b.invocations).collect();
                    let name = row.stats.function.as_str();
                    match by_name.get(name) {
                        Some(got) => assert_eq!(*got, &want, "{what}: counts of {name}"),
                        None => assert!(
                            want.iter().all(|n| *n == 0),
                            "{what}: {name} left out of the counts"
                        ),
                    }
                }
                for name in by_name.keys() {
                    assert!(
                        fast.iter().any(|r| r.stats.function == *name),
                        "{what}: counts of {name}, which the fleet does not report"
                    );
                }
            }
            let edges = bucket.map(|b| crate::fleet_buckets(range, b).unwrap());
            for (f, s) in fast.iter().zip(&slow) {
                assert_eq!(f.buckets.len(), s.buckets.len(), "{what}");
                assert_eq!(
                    f.buckets.len(),
                    edges.as_ref().map_or(0, Vec::len),
                    "{what}"
                );
                let mut total = 0;
                for (x, y) in f.buckets.iter().zip(&s.buckets) {
                    assert_eq!(
                        (x.invocations, x.errors),
                        (y.invocations, y.errors),
                        "{what}: {}",
                        f.stats.function
                    );
                    assert_eq!(sketch_summary(&x.duration), sketch_summary(&y.duration));
                    total += x.invocations;
                }
                if bucket.is_some() {
                    assert_eq!(total, f.stats.invocations, "{what}: buckets add up");
                }
            }
        }
    }
    // Buckets are aligned to multiples of the bucket, the first and last cut by the range.
    let edges = crate::fleet_buckets(
        TimeRange {
            from_ms: Some(T0 + 90 * MIN),
            to_ms: Some(T0 + 5 * HOUR + MIN),
        },
        2 * HOUR,
    )
    .unwrap();
    assert_eq!(
        edges,
        vec![
            (T0 + 90 * MIN, T0 + 2 * HOUR),
            (T0 + 2 * HOUR, T0 + 4 * HOUR),
            (T0 + 4 * HOUR, T0 + 5 * HOUR + MIN)
        ]
    );
    // Unbounded ranges and non-positive buckets are errors; so are too many buckets.
    assert!(store.fleet(TimeRange::all(), Some(HOUR)).is_err());
    assert!(store.fleet(ranges[0].into_range(), Some(0)).is_err());
    assert!(store.fleet(ranges[0].into_range(), Some(1)).is_err());
    // An unbounded range without buckets is the whole store.
    let all = store.fleet(TimeRange::all(), None).unwrap();
    let want = store.function_stats(&[], TimeRange::all()).unwrap();
    assert_eq!(all.len(), want.len());
}

trait IntoRange {
    fn into_range(self) -> TimeRange;
}

impl IntoRange for (Option<i64>, Option<i64>) {
    fn into_range(self) -> TimeRange {
        TimeRange {
            from_ms: self.0,
            to_ms: self.1,
        }
    }
}
