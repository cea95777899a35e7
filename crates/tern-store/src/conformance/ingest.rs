//! Ingest cases: reingest and split parts change nothing, rollups and log volume match the
//! rows, incomplete invocations are not counted.

use tern_core::model::{InvocationPart, LogLine, Outcome};

use super::{
    all_groups, all_rows, assert_stats_eq, batch, check_against_rows, check_errors_against_rows,
    error_summary, group, invocation, line, row_time, split, stream, whole_batch, workload, DAY,
    HOUR, MIN, T0,
};
use crate::{
    IngestBatch, InvocationQuery, InvocationRow, OccurrenceCursor, Store, StreamLines, TimeRange,
};

/// Storing the same batch twice changes nothing and says so.
pub fn idempotent_reingest<S: Store>(mut store: S) {
    let b = whole_batch(300);
    let parts = &b.parts;
    let first = store.ingest(&b).unwrap();
    assert_eq!(first.inserted, 300);
    assert_eq!(first.completed, 300);
    let stats = store.function_stats(&[], TimeRange::all()).unwrap();
    let groups = store.error_groups(&all_groups()).unwrap();
    assert!(!groups.is_empty(), "the workload has failures");
    let feed = store
        .error_occurrences_since(OccurrenceCursor::default(), usize::MAX)
        .unwrap();
    let rows = all_rows(&store);
    let envs = store.environments("alpha").unwrap();
    let logs = store
        .invocation_logs(
            &parts[0].log_group,
            &parts[0].log_stream,
            &parts[0].request_id,
        )
        .unwrap();

    let again = store.ingest(&b).unwrap();
    assert_eq!(again.inserted, 0);
    assert_eq!(again.merged, 0);
    assert_eq!(again.completed, 0);
    assert_eq!(again.unchanged, 300);
    assert_stats_eq(
        &stats,
        &store.function_stats(&[], TimeRange::all()).unwrap(),
        "re-ingest",
    );
    assert_eq!(rows, all_rows(&store));
    assert_eq!(groups, store.error_groups(&all_groups()).unwrap());
    assert_eq!(
        feed,
        store
            .error_occurrences_since(OccurrenceCursor::default(), usize::MAX)
            .unwrap(),
        "re-ingest stores no occurrence and bumps no sequence"
    );
    check_errors_against_rows(&store);
    assert_eq!(envs, store.environments("alpha").unwrap());
    assert_eq!(
        logs,
        store
            .invocation_logs(
                &parts[0].log_group,
                &parts[0].log_stream,
                &parts[0].request_id
            )
            .unwrap()
    );
    check_against_rows(&store, TimeRange::all(), "idempotent");
}

/// START and application lines, the REPORT, and a late error line in separate batches, in
/// every order, give the same invocation and the same stats: the late error flips the
/// counted invocation from success to error.
pub fn split_parts_in_any_order<S: Store>(make: impl Fn() -> S) {
    let whole = invocation("alpha", 1, "req-split", T0 + 10 * MIN, 250.0, 512);
    let [start, report, error] = split(&whole);
    let mut together = whole.clone();
    together.merge(error.clone());

    let mut reference = make();
    reference.ingest(&batch(vec![together])).unwrap();
    let want = reference.function_stats(&[], TimeRange::all()).unwrap();
    assert_eq!(want[0].outcome(Outcome::Error), 1);
    assert_eq!(want[0].outcome(Outcome::Success), 0);

    let orders: [[&InvocationPart; 3]; 6] = [
        [&start, &report, &error],
        [&start, &error, &report],
        [&report, &start, &error],
        [&report, &error, &start],
        [&error, &start, &report],
        [&error, &report, &start],
    ];
    // An invocation that starts in one hour and reports in the next: counted and listed by
    // its REPORT time whichever part came first.
    let late = invocation("beta", 2, "req-hour", T0 + HOUR - 700, 2500.0, 512);
    let [late_start, late_report, _] = split(&late);
    let ranges = [
        TimeRange::all(),
        TimeRange {
            from_ms: Some(T0 + 30 * MIN),
            to_ms: Some(T0 + HOUR + 30 * MIN),
        },
        TimeRange {
            from_ms: Some(T0 + HOUR + 1),
            to_ms: Some(T0 + HOUR + 2 * MIN),
        },
        TimeRange {
            from_ms: Some(T0 + HOUR - 800),
            to_ms: Some(T0 + HOUR),
        },
    ];
    for order in orders {
        let mut store = make();
        store.ingest(&batch(vec![late_start.clone()])).unwrap();
        store.ingest(&batch(vec![late_report.clone()])).unwrap();
        for range in ranges {
            check_against_rows(&store, range, "hour-crossing invocation");
            let listed = store
                .invocations(&InvocationQuery {
                    range,
                    ..Default::default()
                })
                .unwrap();
            let want = range.contains(late.end_ms.unwrap_or(0));
            assert_eq!(listed.len(), usize::from(want), "{range:?}");
        }
        let mut completed = 0;
        for p in order {
            let s = store.ingest(&batch(vec![p.clone()])).unwrap();
            completed += s.completed;
        }
        assert_eq!(completed, 1, "counted once");
        let alpha = ["alpha".to_string()];
        let got = store.function_stats(&alpha, TimeRange::all()).unwrap();
        assert_stats_eq(&want, &got, "split order");
        let rows: Vec<InvocationRow> = all_rows(&store)
            .into_iter()
            .filter(|r| r.function == "alpha")
            .collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].outcome, Outcome::Error);
        assert!(rows[0].complete);
        assert_eq!(rows[0].start_ms, whole.start_ms);
        assert_eq!(rows[0].end_ms, whole.end_ms);
        assert_eq!(
            rows[0].error.as_ref().map(|e| e.error_type.as_str()),
            Some("KeyError")
        );
        let logs = store
            .invocation_logs(&whole.log_group, &whole.log_stream, &whole.request_id)
            .unwrap();
        assert_eq!(logs.len(), 5, "four lines and the error, once each");
        check_against_rows(&store, TimeRange::all(), "split order");
        // The error lines, before or after the REPORT, make one occurrence of the KeyError.
        let groups = store.error_groups(&all_groups()).unwrap();
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert_eq!(groups[0].count, 1);
        assert_eq!(groups[0].error_type.as_deref(), Some("KeyError"));
        check_errors_against_rows(&store);
    }
}

/// Rollup counts equal a recomputation from the stored rows, with outcome changes applied
/// after the REPORT was counted.
pub fn rollups_match_rows<S: Store>(mut store: S) {
    let parts = workload(600);
    // Whole invocations in batches of 100, then late errors for every seventh one.
    for chunk in parts.chunks(100) {
        store.ingest(&batch(chunk.to_vec())).unwrap();
    }
    let late: Vec<InvocationPart> = parts
        .iter()
        .step_by(7)
        .map(|p| split(p)[2].clone())
        .collect();
    let s = store.ingest(&batch(late.clone())).unwrap();
    assert_eq!(s.inserted, 0);
    assert_eq!(s.completed, 0);
    assert!(s.merged > 0);
    check_against_rows(&store, TimeRange::all(), "rollups");
    let errors: u64 = store
        .function_stats(&[], TimeRange::all())
        .unwrap()
        .iter()
        .map(|f| f.errors)
        .sum();
    let want = all_rows(&store)
        .iter()
        .filter(|r| r.outcome.is_error())
        .count() as u64;
    assert_eq!(errors, want);
}

/// Ranges that start and end anywhere (inside an hour, across days, open-ended) are exact.
pub fn unaligned_ranges_are_exact<S: Store>(mut store: S) {
    for chunk in workload(500).chunks(128) {
        store.ingest(&batch(chunk.to_vec())).unwrap();
    }
    let ranges = [
        (None, None),
        (
            Some(T0 + 17 * MIN + 123),
            Some(T0 + 2 * DAY + 5 * HOUR + 7 * MIN),
        ),
        (Some(T0 + 3 * HOUR + 1), Some(T0 + 3 * HOUR + 59 * MIN)),
        (Some(T0 + DAY), Some(T0 + 2 * DAY)),
        (Some(T0 + DAY - 1), Some(T0 + 2 * DAY + 1)),
        (Some(T0 + 5 * HOUR + 30 * MIN), None),
        (None, Some(T0 + DAY + 90 * MIN + 1)),
        (Some(T0 + 10 * HOUR), Some(T0 + 10 * HOUR)),
        (Some(T0 - 3 * DAY), Some(T0 + 10 * DAY)),
    ];
    for (from_ms, to_ms) in ranges {
        check_against_rows(&store, TimeRange { from_ms, to_ms }, "unaligned");
    }
    let (lo, hi) = store.time_bounds().unwrap().expect("data stored");
    let rows = all_rows(&store);
    assert_eq!(lo, rows.iter().map(row_time).min().unwrap());
    assert_eq!(hi, rows.iter().map(row_time).max().unwrap());
}

/// Log lines are kept once however often they arrive (by event id, else time and text), and
/// an invocation's log view includes its stream's unattributed lines in its time span.
pub fn log_lines_dedupe<S: Store>(mut store: S) {
    let whole = invocation("alpha", 1, "req-logs", T0 + MIN, 100.0, 128);
    let mut a = whole.clone();
    a.log_lines.truncate(3);
    a.log_lines.push(line(T0 + MIN + 5, "no id", None));
    a.log_lines.push(line(T0 + MIN + 5, "no id", None));
    let mut b = whole.clone();
    b.log_lines.drain(..1);
    b.log_lines.push(line(T0 + MIN + 5, "no id", None));
    store.ingest(&batch(vec![a.clone()])).unwrap();
    store.ingest(&batch(vec![b, a])).unwrap();
    let unattributed = StreamLines {
        function: "alpha".into(),
        log_group: whole.log_group.clone(),
        log_stream: whole.log_stream.clone(),
        lines: vec![
            line(T0 + MIN + 50, "extension says hi", Some("55".into())),
            line(T0 + 2 * HOUR, "much later", Some("56".into())),
        ],
    };
    let with_lines = IngestBatch {
        stream_lines: vec![unattributed.clone()],
        ..Default::default()
    };
    store.ingest(&with_lines).unwrap();
    store.ingest(&with_lines).unwrap();
    let logs = store
        .invocation_logs(&whole.log_group, &whole.log_stream, &whole.request_id)
        .unwrap();
    let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages.len(), 6, "{messages:?}");
    assert_eq!(messages.iter().filter(|m| **m == "no id").count(), 1);
    assert!(messages.contains(&"extension says hi"));
    assert!(!messages.contains(&"much later"));
    assert!(logs
        .windows(2)
        .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
    assert!(store
        .invocation_logs(&whole.log_group, &whole.log_stream, "no-such-request")
        .unwrap()
        .is_empty());
}

/// `n` lines of `len` bytes each (the message repeats `ch`), one a millisecond from `ts`, with
/// event ids `tag-0`, `tag-1`, …
fn sized_lines(tag: &str, ts: i64, n: usize, ch: char, len: usize) -> Vec<LogLine> {
    let message: String = std::iter::repeat_n(ch, len / ch.len_utf8()).collect();
    assert_eq!(message.len(), len);
    (0..n)
        .map(|k| line(ts + k as i64, &message, Some(format!("{tag}-{k}"))))
        .collect()
}

fn volume_of<S: Store>(store: &S, function: &str, from_ms: i64, to_ms: i64) -> (u64, u64) {
    let range = TimeRange {
        from_ms: Some(from_ms),
        to_ms: Some(to_ms),
    };
    store
        .function_stats(&[function.to_string()], range)
        .unwrap()
        .first()
        .map_or((0, 0), |s| (s.log_lines, s.log_bytes))
}

/// Log volume: every stored line counts once (re-ingest and duplicates add nothing), in the
/// hour of its invocation's time (REPORT, else start), or for stream lines the hour of their
/// chunk's first line; lines of incomplete invocations count too; bytes are UTF-8 message
/// bytes; unaligned ranges are exact.
pub fn log_volume<S: Store>(mut store: S) {
    // a: complete, 3 lines of 10 bytes; reports at T0 + 1h10m.
    let mut a = invocation("alpha", 1, "req-a", T0 + HOUR + 10 * MIN - 100, 100.0, 128);
    a.log_lines = sized_lines("a", T0 + HOUR + 10 * MIN - 100, 3, 'a', 10);
    // b: starts in hour 1 and reports in hour 2; its START part comes first, then the REPORT
    // part repeating one line: 4 distinct lines, 7 + 6 + 5 + 8 bytes.
    let mut b = invocation("alpha", 2, "req-b", T0 + 2 * HOUR - 500, 1000.0, 128);
    let (b1, b2) = (
        line(T0 + 2 * HOUR - 500, "b-start", Some("b-0".into())),
        line(T0 + 2 * HOUR - 499, "b-work", Some("b-1".into())),
    );
    let mut b_start = b.clone();
    b_start.end_ms = None;
    b_start.report = None;
    b_start.log_lines = vec![b1, b2.clone()];
    b.log_lines = vec![
        b2,
        line(T0 + 2 * HOUR + 500, "b-end", Some("b-2".into())),
        line(T0 + 2 * HOUR + 500, "b-report", Some("b-3".into())),
    ];
    b.start_ms = None;
    // c: never completes: 2 lines of 6 bytes (3 characters each) at T0 + 3h5m.
    let mut c = invocation("alpha", 3, "req-c", T0 + 3 * HOUR + 5 * MIN, 50.0, 128);
    c.end_ms = None;
    c.report = None;
    c.log_lines = sized_lines("c", T0 + 3 * HOUR + 5 * MIN, 2, 'ü', 6);
    // z: beta's one line of 2 bytes.
    let mut z = invocation("beta", 1, "req-z", T0 + 30 * MIN, 10.0, 128);
    z.log_lines = sized_lines("z", T0 + 30 * MIN, 1, 'z', 2);
    let chunk = StreamLines {
        function: "alpha".into(),
        log_group: group("alpha"),
        log_stream: stream(9),
        lines: vec![
            line(T0 + 3 * HOUR + 30 * MIN, "init-1", Some("s-1".into())),
            line(T0 + 4 * HOUR + 1, "init-2", Some("s-2".into())),
        ],
    };
    let mut chunk_again = chunk.clone();
    chunk_again
        .lines
        .push(line(T0 + 5 * HOUR + 7 * MIN, "late", Some("s-3".into())));

    let everything = IngestBatch {
        parts: vec![a.clone(), b_start.clone(), c.clone(), z.clone()],
        stream_lines: vec![chunk.clone()],
        ..Default::default()
    };
    store.ingest(&everything).unwrap();
    assert_eq!(
        volume_of(&store, "alpha", T0, T0 + DAY),
        (3 + 2 + 2 + 2, 30 + 13 + 12 + 12)
    );
    // b's START part counted in its start hour; the REPORT moves all its lines to hour 2.
    assert_eq!(
        volume_of(&store, "alpha", T0 + HOUR, T0 + 2 * HOUR),
        (5, 43)
    );
    store.ingest(&batch(vec![b.clone()])).unwrap();
    // a learns one more line (and repeats one) in its own hour.
    let mut a_more = a.clone();
    a_more.report = None;
    a_more.end_ms = None;
    a_more.log_lines = vec![
        a.log_lines[0].clone(),
        line(T0 + HOUR + 10 * MIN - 50, "late-a", Some("a-9".into())),
    ];
    store.ingest(&batch(vec![a_more.clone()])).unwrap();
    store
        .ingest(&IngestBatch {
            stream_lines: vec![chunk_again.clone()],
            ..Default::default()
        })
        .unwrap();
    // Totals: a 4/36, b 4/26, c 2/12, chunk 2/12, late stream line 1/4.
    let total = (13, 90);
    let check = |store: &S, what: &str| {
        let cases: [(i64, i64, (u64, u64)); 11] = [
            (T0 - DAY, T0 + DAY + 1, total),
            (T0, T0 + DAY, total),
            (T0 + HOUR, T0 + 2 * HOUR, (4, 36)),
            // a's REPORT time, to the millisecond.
            (T0 + HOUR + 10 * MIN, T0 + HOUR + 10 * MIN + 1, (4, 36)),
            (T0 + HOUR + 10 * MIN + 1, T0 + 2 * HOUR + 500, (0, 0)),
            // b at its REPORT time, c at its start (unaligned at both ends).
            (T0 + 2 * HOUR + 500, T0 + 3 * HOUR + 6 * MIN, (6, 38)),
            (T0 + 3 * HOUR + 20 * MIN, T0 + 3 * HOUR + 40 * MIN, (2, 12)),
            // The chunk's second line is in hour 4, but the chunk counts in hour 3.
            (T0 + 4 * HOUR, T0 + 5 * HOUR, (0, 0)),
            (T0 + 3 * HOUR, T0 + 6 * HOUR, (5, 28)),
            (T0 + 5 * HOUR + 7 * MIN, T0 + 5 * HOUR + 8 * MIN, (1, 4)),
            (T0 + 6 * HOUR, T0 + 2 * DAY, (0, 0)),
        ];
        for (from, to, want) in cases {
            assert_eq!(
                volume_of(store, "alpha", from, to),
                want,
                "{what}: [{}, {}) from T0",
                from - T0,
                to - T0
            );
        }
        assert_eq!(volume_of(store, "beta", T0, T0 + HOUR), (1, 2), "{what}");
        assert_eq!(
            volume_of(store, "beta", T0 + HOUR, T0 + DAY),
            (0, 0),
            "{what}"
        );
        // Hourly series: a, b, then c and the chunk.
        let series = store
            .series(
                "alpha",
                TimeRange {
                    from_ms: Some(T0 + HOUR),
                    to_ms: Some(T0 + 4 * HOUR),
                },
                HOUR,
            )
            .unwrap();
        let lines: Vec<u64> = series.iter().map(|(_, s)| s.log_lines).collect();
        assert_eq!(lines, vec![4, 4, 4], "{what}");
        // A function that only logged in range (c has no REPORT) is listed, with no invocation.
        let listed = store
            .function_stats(
                &[],
                TimeRange {
                    from_ms: Some(T0 + 3 * HOUR),
                    to_ms: Some(T0 + 3 * HOUR + 10 * MIN),
                },
            )
            .unwrap();
        assert_eq!(listed.len(), 1, "{what}");
        assert_eq!(
            (
                listed[0].function.as_str(),
                listed[0].invocations,
                listed[0].log_lines
            ),
            ("alpha", 0, 2),
            "{what}"
        );
    };
    check(&store, "ingested");
    // Everything again, in one batch and piece by piece: nothing new.
    store.ingest(&everything).unwrap();
    let again = IngestBatch {
        parts: vec![b, a_more, b_start, a, c, z],
        stream_lines: vec![chunk_again, chunk],
        ..Default::default()
    };
    store.ingest(&again).unwrap();
    check(&store, "re-ingested");
}

/// An invocation without its REPORT is listed (incomplete) but not counted.
pub fn incomplete_not_counted<S: Store>(mut store: S) {
    let whole = invocation("alpha", 1, "req-open", T0 + MIN, 100.0, 128);
    let [start, _, _] = split(&whole);
    let s = store.ingest(&batch(vec![start])).unwrap();
    assert_eq!((s.inserted, s.completed), (1, 0));
    // Listed for the lines it stored, with no invocation counted.
    let listed = store.function_stats(&[], TimeRange::all()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].invocations, listed[0].errors, listed[0].log_lines),
        (0, 0, 2)
    );
    let named = store
        .function_stats(&["alpha".to_string()], TimeRange::all())
        .unwrap();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].invocations, 0);
    assert_eq!(store.time_bounds().unwrap(), None);
    let rows = all_rows(&store);
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].complete);
    assert_eq!(rows[0].duration_ms, None);
    assert_eq!(store.environments("alpha").unwrap()[0].invocations, 0);
}

/// A REPORT without Init Duration is counted warm; a later INIT_REPORT part proves a
/// suppressed init: the counted invocation becomes a cold start with that init time.
pub fn cold_start_learned_after_report<S: Store>(mut store: S) {
    let whole = invocation("alpha", 1, "req-cold", T0 + MIN, 80.0, 256);
    store.ingest(&batch(vec![whole.clone()])).unwrap();
    let before = store.function_stats(&[], TimeRange::all()).unwrap();
    assert_eq!(before[0].cold_starts, 0);
    let mut init = whole.clone();
    init.report = None;
    init.end_ms = None;
    init.signals.suppressed_init = true;
    init.init_report_ms = Some(1234.0);
    init.log_lines = vec![line(
        T0 + MIN,
        "INIT_REPORT Init Duration: 1234.00 ms Phase: invoke",
        None,
    )];
    let s = store.ingest(&batch(vec![init])).unwrap();
    assert_eq!((s.merged, s.completed), (1, 0));
    let after = store.function_stats(&[], TimeRange::all()).unwrap();
    assert_eq!(after[0].invocations, 1);
    assert_eq!(after[0].cold_starts, 1);
    assert_eq!(after[0].init.count(), 1);
    assert_eq!(after[0].init.max(), Some(1234.0));
    assert_eq!(store.environments("alpha").unwrap()[0].cold_starts, 1);
    check_against_rows(&store, TimeRange::all(), "cold after report");
}

/// Property: parts split into batches at random, in random order, give the same stats as one
/// batch with all the parts. `seed` picks the workload, the splits and the order.
pub fn split_invariance<S: Store>(make: impl Fn() -> S, seed: u64, batches: usize) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let whole = workload(40 + (seed % 40) as u32);
    let mut parts: Vec<InvocationPart> = Vec::new();
    for w in &whole {
        match next() % 3 {
            0 => parts.push(w.clone()),
            1 => {
                let [s, r, _] = split(w);
                parts.extend([s, r]);
            }
            _ => parts.extend(split(w)),
        }
    }
    let mut reference = make();
    reference.ingest(&batch(parts.clone())).unwrap();
    let want = reference.function_stats(&[], TimeRange::all()).unwrap();
    let ranged = TimeRange {
        from_ms: Some(T0 + 7 * HOUR + 13 * MIN),
        to_ms: Some(T0 + 2 * DAY + 3 * MIN),
    };
    let want_ranged = reference.function_stats(&[], ranged).unwrap();
    let want_errors = error_summary(&reference, TimeRange::all());
    let want_errors_ranged = error_summary(&reference, ranged);
    let want_seen = reference.values_seen(None).unwrap();

    // Shuffle, then deal into batches.
    for i in (1..parts.len()).rev() {
        parts.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    let mut dealt: Vec<Vec<InvocationPart>> = vec![Vec::new(); batches.max(1)];
    for p in parts {
        let k = (next() % dealt.len() as u64) as usize;
        dealt[k].push(p);
    }
    let mut store = make();
    for b in dealt {
        store.ingest(&batch(b)).unwrap();
    }
    assert_stats_eq(
        &want,
        &store.function_stats(&[], TimeRange::all()).unwrap(),
        "split",
    );
    assert_stats_eq(
        &want_ranged,
        &store.function_stats(&[], ranged).unwrap(),
        "split, ranged",
    );
    assert_eq!(
        want_errors,
        error_summary(&store, TimeRange::all()),
        "errors"
    );
    assert_eq!(
        want_errors_ranged,
        error_summary(&store, ranged),
        "errors, ranged"
    );
    check_errors_against_rows(&store);
    assert_eq!(want_seen, store.values_seen(None).unwrap(), "values seen");
}
