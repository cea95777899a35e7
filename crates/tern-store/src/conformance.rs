//! The storage conformance suite every backend runs (after object_store's `integration.rs` and
//! quickwit's `metastore_test_suite!`), so backends cannot drift apart silently.
//!
//! A backend's integration test calls [`conformance_tests!`](crate::conformance_tests) with a
//! module name and a function that makes an empty store; that expands to one `#[test]` per case below, plus the
//! split-invariance property (which needs `proptest` among the caller's dev-dependencies).
//! [`run_all`] runs every case in one go.
//!
//! Stats are compared exactly except float sums (which depend on addition order) and the
//! environments count, which backends may approximate (see `Store::function_stats`).

// This module is test support: a failed expectation must fail the calling test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use tern_core::model::{
    normalize_lines, ErrorInfo, InvocationPart, LogLine, Outcome, ReportMetrics, Signals,
};
use tern_core::sketch::Sketch;

use tern_core::fingerprint::{fingerprint_invocation, GROUPING_VERSION};

use crate::{
    retry_delay_ms, Arch, Checkpoint, ErrorEvent, ErrorOccurrence, ErrorQuery, ErrorStatus,
    FunctionMeta, FunctionStats, Incident, IncidentApplied, IncidentChange, IncidentQuery,
    IncidentState, IngestBatch, InvocationQuery, InvocationRow, OccurrenceCursor, OutboxItem,
    OutboxMark, OutboxState, Retention, Store, StreamLines, TimeRange, TuningPoint, TuningRun,
    ValueSeen,
};

/// 2026-03-01T00:00:00Z.
pub const T0: i64 = 1_772_323_200_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// Expands to a module `$name` with one `#[test]` per conformance case for the store made by
/// `$make` (an expression callable as `$make()`), plus a proptest of split invariance.
#[macro_export]
macro_rules! conformance_tests {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn idempotent_reingest() {
                $crate::conformance::idempotent_reingest($make());
            }
            #[test]
            fn split_parts_in_any_order() {
                $crate::conformance::split_parts_in_any_order(|| $make());
            }
            #[test]
            fn rollups_match_rows() {
                $crate::conformance::rollups_match_rows($make());
            }
            #[test]
            fn unaligned_ranges_are_exact() {
                $crate::conformance::unaligned_ranges_are_exact($make());
            }
            #[test]
            fn log_lines_dedupe() {
                $crate::conformance::log_lines_dedupe($make());
            }
            #[test]
            fn log_volume() {
                $crate::conformance::log_volume($make());
            }
            #[test]
            fn incomplete_not_counted() {
                $crate::conformance::incomplete_not_counted($make());
            }
            #[test]
            fn environments() {
                $crate::conformance::environments($make());
            }
            #[test]
            fn function_meta_updates() {
                $crate::conformance::function_meta_updates($make());
            }
            #[test]
            fn months() {
                $crate::conformance::months($make());
            }
            #[test]
            fn invocation_queries() {
                $crate::conformance::invocation_queries($make());
            }
            #[test]
            fn cold_start_learned_after_report() {
                $crate::conformance::cold_start_learned_after_report($make());
            }
            #[test]
            fn billing_and_memory() {
                $crate::conformance::billing_and_memory($make());
            }
            #[test]
            fn inventory_meta() {
                $crate::conformance::inventory_meta($make());
            }
            #[test]
            fn checkpoints_travel_with_data() {
                $crate::conformance::checkpoints_travel_with_data($make());
            }
            #[test]
            fn series_buckets() {
                $crate::conformance::series_buckets($make());
            }
            #[test]
            fn fleet_matches_function_stats() {
                $crate::conformance::fleet_matches_function_stats($make());
            }
            #[test]
            fn many_functions_match_one_by_one() {
                $crate::conformance::many_functions_match_one_by_one($make());
            }
            #[test]
            fn retention() {
                $crate::conformance::retention($make());
            }
            #[test]
            fn error_grouping() {
                $crate::conformance::error_grouping($make());
            }
            #[test]
            fn error_lifecycle() {
                $crate::conformance::error_lifecycle($make());
            }
            #[test]
            fn error_retention() {
                $crate::conformance::error_retention($make());
            }
            #[test]
            fn incidents_one_open_per_subject() {
                $crate::conformance::incidents_one_open_per_subject($make());
            }
            #[test]
            fn incident_and_notifications_are_atomic() {
                $crate::conformance::incident_and_notifications_are_atomic($make());
            }
            #[test]
            fn outbox_delivery() {
                $crate::conformance::outbox_delivery($make());
            }
            #[test]
            fn tuning_runs_round_trip() {
                $crate::conformance::tuning_runs_round_trip($make());
            }
            #[test]
            fn markers_round_trip() {
                $crate::conformance::markers_round_trip($make());
            }
            #[test]
            fn lease_expiry_and_renewal() {
                $crate::conformance::lease_expiry_and_renewal($make());
            }
            #[test]
            fn lease_takeover_and_release() {
                $crate::conformance::lease_takeover_and_release($make());
            }
            #[test]
            fn lease_never_two_holders() {
                $crate::conformance::lease_never_two_holders($make());
            }
            #[test]
            fn lease_bad_arguments() {
                $crate::conformance::lease_bad_arguments($make());
            }
            #[test]
            fn values_seen_at_ingest() {
                $crate::conformance::values_seen_at_ingest(|| $make());
            }
            #[test]
            fn values_seen_from_inventory() {
                $crate::conformance::values_seen_from_inventory($make());
            }
            #[test]
            fn delete_function() {
                $crate::conformance::delete_function($make());
            }
            #[test]
            fn size_stats() {
                $crate::conformance::size_stats($make());
            }
            #[test]
            fn sealing() {
                $crate::conformance::sealing(|| $make());
            }

            proptest::proptest! {
                #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
                /// Any split of any parts into batches, in any order, gives the stats of one
                /// batch holding everything.
                #[test]
                fn split_invariance(
                    seed in proptest::prelude::any::<u64>(),
                    batches in 1usize..6,
                ) {
                    $crate::conformance::split_invariance(|| $make(), seed, batches);
                }
            }
        }
    };
}

/// Run every case against stores made by `make`.
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    idempotent_reingest(make());
    split_parts_in_any_order(&make);
    rollups_match_rows(make());
    unaligned_ranges_are_exact(make());
    log_lines_dedupe(make());
    log_volume(make());
    incomplete_not_counted(make());
    environments(make());
    function_meta_updates(make());
    months(make());
    invocation_queries(make());
    cold_start_learned_after_report(make());
    billing_and_memory(make());
    inventory_meta(make());
    checkpoints_travel_with_data(make());
    series_buckets(make());
    fleet_matches_function_stats(make());
    many_functions_match_one_by_one(make());
    retention(make());
    error_grouping(make());
    error_lifecycle(make());
    error_retention(make());
    incidents_one_open_per_subject(make());
    incident_and_notifications_are_atomic(make());
    outbox_delivery(make());
    tuning_runs_round_trip(make());
    markers_round_trip(make());
    lease_expiry_and_renewal(make());
    lease_takeover_and_release(make());
    lease_never_two_holders(make());
    lease_bad_arguments(make());
    values_seen_at_ingest(&make);
    values_seen_from_inventory(make());
    delete_function(make());
    size_stats(make());
    sealing(&make);
    for seed in 0..8 {
        split_invariance(&make, seed, 1 + seed as usize % 5);
    }
}

// ---------------------------------------------------------------------------------------------
// Test data

fn group(function: &str) -> Arc<str> {
    Arc::from(format!("/aws/lambda/{function}"))
}

fn stream(n: u32) -> Arc<str> {
    Arc::from(format!("2026/03/01/[$LATEST]{n:032x}"))
}

fn line(ts: i64, message: &str, id: Option<String>) -> LogLine {
    LogLine {
        timestamp_ms: ts,
        message: message.to_string(),
        event_id: id,
    }
}

/// The event id CloudWatch would give the `k`-th line of invocation `rid`.
fn event_id(rid: &str, k: u32) -> Option<String> {
    let n: u64 = rid
        .bytes()
        .fold(17, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    Some(format!("{:028}{:028}", n % 10u64.pow(18), k))
}

/// A whole invocation of `function` in stream `stream_no`, starting at `start`.
pub fn invocation(
    function: &str,
    stream_no: u32,
    rid: &str,
    start: i64,
    duration_ms: f64,
    memory_mb: u32,
) -> InvocationPart {
    let end = start + duration_ms.ceil() as i64;
    InvocationPart {
        function: function.to_string(),
        log_group: group(function),
        log_stream: stream(stream_no),
        request_id: rid.to_string(),
        start_ms: Some(start),
        end_ms: Some(end),
        version: Some("$LATEST".into()),
        report: Some(ReportMetrics {
            duration_ms,
            billed_duration_ms: Some(duration_ms.ceil()),
            memory_size_mb: Some(memory_mb),
            max_memory_used_mb: Some(memory_mb / 4 + (start % 7) as u32),
            ..Default::default()
        }),
        log_lines: vec![
            line(
                start,
                &format!("START RequestId: {rid} Version: $LATEST"),
                event_id(rid, 0),
            ),
            line(start + 1, &format!("processing {rid}"), event_id(rid, 1)),
            line(end, &format!("END RequestId: {rid}"), event_id(rid, 2)),
            line(
                end,
                &format!("REPORT RequestId: {rid}\tDuration: {duration_ms:.2} ms"),
                event_id(rid, 3),
            ),
        ],
        ..Default::default()
    }
}

/// Split a whole invocation into START + application lines, the REPORT, and a late error.
fn split(whole: &InvocationPart) -> [InvocationPart; 3] {
    let mut start = whole.clone();
    start.end_ms = None;
    start.report = None;
    start.log_lines.truncate(2);
    let mut report = whole.clone();
    report.start_ms = whole.end_ms;
    report.version = None;
    report.log_lines = whole.log_lines[2..].to_vec();
    let mut error = whole.clone();
    error.start_ms = whole.start_ms.map(|s| s + 1);
    error.end_ms = None;
    error.version = None;
    error.report = None;
    error.signals = Signals {
        handler_error: true,
        ..Default::default()
    };
    error.error = Some(ErrorInfo {
        error_type: "KeyError".into(),
        message: "'id'".into(),
        stack: vec!["File \"/var/task/app.py\", line 3, in handler".into()],
    });
    let ts = whole.start_ms.unwrap_or(0) + 1;
    error.log_lines = vec![line(
        ts,
        "[ERROR] KeyError: 'id'",
        event_id(&whole.request_id, 9),
    )];
    [start, report, error]
}

fn batch(parts: Vec<InvocationPart>) -> IngestBatch {
    IngestBatch {
        parts,
        ..Default::default()
    }
}

/// A deterministic mix of invocations over three days and three functions: some errors,
/// timeouts and cold starts, some durations over 20 s, two memory sizes.
fn workload(n: u32) -> Vec<InvocationPart> {
    let mut out = Vec::new();
    let mut x: u64 = 0x9e37_79b9;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let f = ["alpha", "beta", "gamma"][(next() % 3) as usize];
        let start = T0 + (next() % (3 * DAY as u64)) as i64;
        let duration = if i % 17 == 0 {
            21_000.0 + (next() % 5000) as f64
        } else {
            1.0 + (next() % 300_000) as f64 / 100.0
        };
        let memory = if i % 5 == 0 { 1024 } else { 256 };
        let mut p = invocation(
            f,
            (next() % 6) as u32,
            &format!("req-{i:05}"),
            start,
            duration,
            memory,
        );
        match i % 11 {
            0 => p.signals.handler_error = true,
            1 => p.signals.timeout_line = true,
            _ => {}
        }
        if i % 9 == 0 {
            if let Some(r) = p.report.as_mut() {
                r.init_duration_ms = Some(100.0 + (i % 400) as f64);
            }
        }
        out.push(p);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Comparisons

/// The comparable content of `FunctionStats`.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    function: String,
    invocations: u64,
    errors: u64,
    outcomes: [u64; 6],
    cold_starts: u64,
    duration: SketchSummary,
    init: SketchSummary,
    months: Vec<(u32, u64)>,
    memory_size_mb: Option<u32>,
    max_memory_used_mb: Option<u32>,
    over_20s: u64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
struct SketchSummary {
    count: u64,
    min: Option<f64>,
    max: Option<f64>,
    quantiles: Vec<Option<f64>>,
}

fn sketch_summary(s: &Sketch) -> SketchSummary {
    SketchSummary {
        count: s.count(),
        min: s.min(),
        max: s.max(),
        quantiles: [0.5, 0.9, 0.99].iter().map(|q| s.quantile(*q)).collect(),
    }
}

fn summary(s: &FunctionStats) -> Summary {
    Summary {
        function: s.function.clone(),
        invocations: s.invocations,
        errors: s.errors,
        outcomes: s.outcomes,
        cold_starts: s.cold_starts,
        duration: sketch_summary(&s.duration),
        init: sketch_summary(&s.init),
        months: s.months.iter().map(|m| (m.month, m.requests)).collect(),
        memory_size_mb: s.memory_size_mb,
        max_memory_used_mb: s.max_memory_used_mb,
        over_20s: s.over_20s,
        first_ms: s.first_ms,
        last_ms: s.last_ms,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Assert two stats lists agree (float sums to rounding).
pub fn assert_stats_eq(a: &[FunctionStats], b: &[FunctionStats], what: &str) {
    let sa: Vec<Summary> = a.iter().map(summary).collect();
    let sb: Vec<Summary> = b.iter().map(summary).collect();
    assert_eq!(sa, sb, "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!(
            close(x.billed_duration_ms, y.billed_duration_ms),
            "{what}: billed {} vs {}",
            x.billed_duration_ms,
            y.billed_duration_ms
        );
        assert!(close(x.gb_seconds, y.gb_seconds), "{what}: GB-s");
        assert!(
            close(x.duration.sum(), y.duration.sum()),
            "{what}: duration sum"
        );
        for (m, n) in x.months.iter().zip(&y.months) {
            assert!(close(m.gb_seconds, n.gb_seconds), "{what}: month GB-s");
        }
        assert_eq!(x.environments, y.environments, "{what}: environments");
        assert_eq!(
            (x.log_lines, x.log_bytes),
            (y.log_lines, y.log_bytes),
            "{what}: log volume of {}",
            x.function
        );
    }
}

fn all_rows<S: Store>(store: &S) -> Vec<InvocationRow> {
    store
        .invocations(&InvocationQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .unwrap()
}

fn row_time(r: &InvocationRow) -> i64 {
    r.end_ms.or(r.start_ms).unwrap_or(0)
}

fn month_of(t: i64) -> u32 {
    // Days since 1970-01-01 to civil date (Howard Hinnant).
    let z = t.div_euclid(DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y * 100 + m) as u32
}

/// Statistics computed the slow way, from every stored row.
fn brute_force(rows: &[InvocationRow], range: TimeRange) -> Vec<Summary> {
    let mut by_fn: BTreeMap<String, Vec<&InvocationRow>> = BTreeMap::new();
    for r in rows {
        if r.complete && range.contains(row_time(r)) {
            by_fn.entry(r.function.clone()).or_default().push(r);
        }
    }
    by_fn
        .into_iter()
        .map(|(function, rs)| {
            let mut outcomes = [0u64; 6];
            let mut duration = Sketch::new();
            let mut init = Sketch::new();
            let mut months: BTreeMap<u32, u64> = BTreeMap::new();
            for r in &rs {
                outcomes[r.outcome.code() as usize] += 1;
                duration.add(r.duration_ms.unwrap_or(0.0));
                if r.cold_start {
                    if let Some(i) = r.init_duration_ms {
                        init.add(i);
                    }
                }
                *months.entry(month_of(row_time(r))).or_default() += 1;
            }
            let n = rs.len() as u64;
            Summary {
                function,
                invocations: n,
                errors: n - outcomes[0],
                outcomes,
                cold_starts: rs.iter().filter(|r| r.cold_start).count() as u64,
                duration: sketch_summary(&duration),
                init: sketch_summary(&init),
                months: months.into_iter().collect(),
                memory_size_mb: rs
                    .iter()
                    .filter_map(|r| r.memory_size_mb.map(|m| (row_time(r), m)))
                    .max()
                    .map(|(_, m)| m),
                max_memory_used_mb: rs.iter().filter_map(|r| r.max_memory_used_mb).max(),
                over_20s: rs
                    .iter()
                    .filter(|r| r.duration_ms.unwrap_or(0.0) > 20_000.0)
                    .count() as u64,
                first_ms: rs.iter().map(|r| row_time(r)).min(),
                last_ms: rs.iter().map(|r| row_time(r)).max(),
            }
        })
        .collect()
}

fn brute_force_billing(rows: &[InvocationRow], range: TimeRange, function: &str) -> (f64, f64) {
    rows.iter()
        .filter(|r| r.complete && r.function == function && range.contains(row_time(r)))
        .fold((0.0, 0.0), |(b, g), r| {
            let billed = r.billed_duration_ms.unwrap_or(0.0);
            let gb = billed / 1000.0 * f64::from(r.memory_size_mb.unwrap_or(0)) / 1024.0;
            (b + billed, g + gb)
        })
}

fn check_against_rows<S: Store>(store: &S, range: TimeRange, what: &str) {
    let rows = all_rows(store);
    let stats = store.function_stats(&[], range).unwrap();
    let got: Vec<Summary> = stats.iter().map(summary).collect();
    assert_eq!(got, brute_force(&rows, range), "{what}: {range:?}");
    for s in &stats {
        let (billed, gb) = brute_force_billing(&rows, range, &s.function);
        assert!(
            close(s.billed_duration_ms, billed),
            "{what}: billed for {}",
            s.function
        );
        assert!(close(s.gb_seconds, gb), "{what}: GB-s for {}", s.function);
        let month_gb: f64 = s.months.iter().map(|m| m.gb_seconds).sum();
        assert!(close(month_gb, gb), "{what}: month GB-s for {}", s.function);
        // Environments: at least the streams that really served invocations in range, at
        // most the streams whose first..last span overlaps it.
        let in_range: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.complete && r.function == s.function && range.contains(row_time(r)))
            .map(|r| r.log_stream.as_str())
            .collect();
        let mut spans: HashMap<&str, (i64, i64)> = HashMap::new();
        for r in rows
            .iter()
            .filter(|r| r.complete && r.function == s.function)
        {
            let t = row_time(r);
            let e = spans.entry(r.log_stream.as_str()).or_insert((t, t));
            e.0 = e.0.min(t);
            e.1 = e.1.max(t);
        }
        let lo = range.from_ms.unwrap_or(i64::MIN);
        let hi = range.to_ms.unwrap_or(i64::MAX);
        let overlapping = spans.values().filter(|(f, l)| *f < hi && *l >= lo).count() as u64;
        assert!(
            (in_range.len() as u64..=overlapping).contains(&s.environments),
            "{what}: environments {} not in {}..={overlapping}",
            s.environments,
            in_range.len()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Cases

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

/// Environments count each completed invocation once, with cold starts and runtime version.
pub fn environments<S: Store>(mut store: S) {
    let mut parts = Vec::new();
    for i in 0..5 {
        let mut p = invocation("alpha", 1, &format!("a{i}"), T0 + i * MIN, 50.0, 128);
        if i == 0 {
            p.runtime_version = Some("python:3.12.v18".into());
            if let Some(r) = p.report.as_mut() {
                r.init_duration_ms = Some(300.0);
            }
        }
        parts.push(p);
    }
    parts.push(invocation("alpha", 2, "b0", T0 + 10 * MIN, 50.0, 128));
    store.ingest(&batch(parts.clone())).unwrap();
    store.ingest(&batch(parts)).unwrap();
    let envs = store.environments("alpha").unwrap();
    assert_eq!(envs.len(), 2);
    assert_eq!(envs[0].log_stream, &*stream(1));
    assert_eq!(envs[0].invocations, 5);
    assert_eq!(envs[0].cold_starts, 1);
    assert_eq!(envs[0].runtime_version.as_deref(), Some("python:3.12.v18"));
    assert_eq!(envs[0].first_ms, Some(T0 + 50));
    assert_eq!(envs[0].last_ms, Some(T0 + 4 * MIN + 50));
    assert_eq!(envs[1].invocations, 1);
    assert_eq!(envs[1].cold_starts, 0);
    assert!(store.environments("nobody").unwrap().is_empty());
    let stats = store.function_stats(&[], TimeRange::all()).unwrap();
    assert_eq!(stats[0].environments, 2);
    let late = TimeRange {
        from_ms: Some(T0 + 6 * MIN),
        to_ms: None,
    };
    assert_eq!(store.function_stats(&[], late).unwrap()[0].environments, 1);

    // The fleet-wide summary agrees with the per-function rows, for every range.
    store
        .ingest(&batch(vec![invocation(
            "beta",
            3,
            "c0",
            T0 + 3 * MIN,
            9.0,
            256,
        )]))
        .unwrap();
    for range in [
        TimeRange::all(),
        late,
        TimeRange {
            from_ms: Some(T0 + 4 * MIN + 50),
            to_ms: Some(T0 + 10 * MIN + 50),
        },
        TimeRange {
            from_ms: Some(T0 + 20 * MIN),
            to_ms: None,
        },
    ] {
        assert_eq!(
            store.environment_summaries(range).unwrap(),
            crate::environment_summaries_by_rows(&store, range).unwrap(),
            "{range:?}"
        );
    }
    let all = store.environment_summaries(TimeRange::all()).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].function, "alpha");
    assert_eq!((all[0].environments, all[0].invocations), (2, 6));
    assert_eq!(all[0].lifetimes_ms, vec![0, 4 * MIN]);
    assert_eq!(all[0].runtime_versions, vec!["python:3.12.v18".to_string()]);
    // Out of range but with a runtime version: still listed, for the runtime.
    let none = store
        .environment_summaries(TimeRange {
            from_ms: Some(T0 + 20 * MIN),
            to_ms: None,
        })
        .unwrap();
    assert_eq!(none.len(), 1);
    assert_eq!(none[0].environments, 0);
}

/// Function metadata: `None` leaves the stored value, functions are listed sorted.
pub fn function_meta_updates<S: Store>(mut store: S) {
    let meta = |region: Option<&str>, arch, timeout_ms, memory| FunctionMeta {
        function: "zeta".into(),
        region: region.map(Into::into),
        arch,
        timeout_ms,
        runtime: None,
        memory_size_mb: memory,
        ..Default::default()
    };
    store
        .ingest(&IngestBatch {
            functions: vec![meta(Some("eu-west-1"), Some(Arch::Arm64), None, None)],
            parts: vec![invocation("alpha", 1, "r", T0, 10.0, 256)],
            ..Default::default()
        })
        .unwrap();
    store
        .ingest(&IngestBatch {
            functions: vec![meta(None, None, Some(30_000), Some(2048))],
            ..Default::default()
        })
        .unwrap();
    let fns = store.functions().unwrap();
    let names: Vec<&str> = fns.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    assert_eq!(
        fns[1],
        FunctionMeta {
            function: "zeta".into(),
            region: Some("eu-west-1".into()),
            arch: Some(Arch::Arm64),
            timeout_ms: Some(30_000),
            runtime: None,
            memory_size_mb: Some(2048),
            ..Default::default()
        }
    );
    // Memory seen in REPORTs when none was configured.
    assert_eq!(fns[0].memory_size_mb, Some(256));
    let stats = store
        .function_stats(
            &["zeta".to_string(), "unknown".to_string()],
            TimeRange::all(),
        )
        .unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].meta.region.as_deref(), Some("eu-west-1"));
}

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

/// Everything the AWS inventory records survives a round trip; a later partial update keeps
/// what it does not mention; tags can be cleared.
pub fn inventory_meta<S: Store>(mut store: S) {
    let full = FunctionMeta {
        function: "orders".into(),
        region: Some("eu-west-1".into()),
        arch: Some(Arch::Arm64),
        timeout_ms: Some(15_000),
        runtime: Some("python3.13".into()),
        memory_size_mb: Some(1024),
        account: Some("123456789012".into()),
        function_arn: Some("arn:aws:lambda:eu-west-1:123456789012:function:orders".into()),
        ephemeral_storage_mb: Some(512),
        log_group: Some("/custom/orders".into()),
        log_format: Some("JSON".into()),
        last_modified: Some("2026-03-01T10:00:00.000+0000".into()),
        tags: Some(vec![
            ("env".into(), "prod".into()),
            ("team".into(), "payments & billing".into()),
            ("empty".into(), String::new()),
        ]),
        inventory_ms: Some(T0),
        log_retention_days: Some(14),
    };
    store
        .ingest(&IngestBatch {
            functions: vec![full.clone()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.functions().unwrap(), vec![full.clone()]);
    // A later refresh that knows less keeps the rest; an older inventory time never wins.
    store
        .ingest(&IngestBatch {
            functions: vec![FunctionMeta {
                function: "orders".into(),
                memory_size_mb: Some(2048),
                inventory_ms: Some(T0 - 1),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    let got = store.functions().unwrap().remove(0);
    assert_eq!(got.memory_size_mb, Some(2048));
    assert_eq!(got.inventory_ms, Some(T0));
    assert_eq!(got.tags, full.tags);
    assert_eq!(
        got.log_retention_days,
        Some(14),
        "unknown retention keeps the stored one"
    );
    // Retention removed in AWS (the group never expires) is stored as 0, not as unknown.
    store
        .ingest(&IngestBatch {
            functions: vec![FunctionMeta {
                function: "orders".into(),
                log_retention_days: Some(0),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.functions().unwrap()[0].log_retention_days, Some(0));
    store
        .ingest(&IngestBatch {
            functions: vec![FunctionMeta {
                function: "orders".into(),
                tags: Some(vec![]),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.functions().unwrap()[0].tags, Some(vec![]));
}

/// Checkpoints are stored with the batch, listed by prefix in key order, and overwritten.
pub fn checkpoints_travel_with_data<S: Store>(mut store: S) {
    let cp = |key: &str, value: &str, at: i64| Checkpoint {
        key: key.into(),
        value: value.into(),
        updated_ms: at,
    };
    store
        .ingest(&IngestBatch {
            parts: vec![invocation("alpha", 1, "c1", T0, 10.0, 128)],
            checkpoints: vec![
                cp("pull/prod/us-east-1//aws/lambda/b", "{\"t\":1}", T0),
                cp("pull/prod/us-east-1//aws/lambda/a", "{\"t\":2}", T0),
                cp("pullx/other", "x", T0),
            ],
            ..Default::default()
        })
        .unwrap();
    let got = store.checkpoints("pull/").unwrap();
    let keys: Vec<&str> = got.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "pull/prod/us-east-1//aws/lambda/a",
            "pull/prod/us-east-1//aws/lambda/b"
        ]
    );
    assert_eq!(store.checkpoints("").unwrap().len(), 3);
    assert!(store.checkpoints("nothing/").unwrap().is_empty());
    // A prefix with LIKE wildcards matches only literally.
    assert!(store.checkpoints("pull%").unwrap().is_empty());
    store
        .ingest(&IngestBatch {
            checkpoints: vec![cp("pull/prod/us-east-1//aws/lambda/a", "{\"t\":3}", T0 + 5)],
            ..Default::default()
        })
        .unwrap();
    let a = &store
        .checkpoints("pull/prod/us-east-1//aws/lambda/a")
        .unwrap()[0];
    assert_eq!((a.value.as_str(), a.updated_ms), ("{\"t\":3}", T0 + 5));
    assert_eq!(
        store
            .invocations(&InvocationQuery::default())
            .unwrap()
            .len(),
        1
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

/// Retention deletes old invocations and stream lines, keeps newer ones, deletes old rollup
/// buckets, and drops old parts that arrive later (they would count twice).
pub fn retention<S: Store>(mut store: S) {
    let mut parts = Vec::new();
    for d in 0..5 {
        for i in 0..10 {
            let t = T0 + d * DAY + i * HOUR;
            parts.push(invocation(
                "alpha",
                d as u32,
                &format!("r{d}-{i}"),
                t,
                50.0,
                256,
            ));
        }
    }
    store
        .ingest(&IngestBatch {
            stream_lines: vec![StreamLines {
                function: "alpha".into(),
                log_group: group("alpha"),
                log_stream: stream(0),
                lines: vec![line(
                    T0 - MIN,
                    "INIT_START Runtime Version: python:3.13",
                    None,
                )],
            }],
            parts: parts.clone(),
            ..Default::default()
        })
        .unwrap();
    let all = TimeRange::all();
    assert_eq!(store.function_stats(&[], all).unwrap()[0].invocations, 50);
    let stats = store
        .apply_retention(Retention {
            raw_before_ms: Some(T0 + 2 * DAY),
            rollups_before_ms: None,
        })
        .unwrap();
    assert_eq!(stats.invocations, 20);
    assert_eq!(stats.stream_chunks, 1);
    let q = InvocationQuery {
        limit: 1000,
        ..Default::default()
    };
    let left = store.invocations(&q).unwrap();
    assert_eq!(left.len(), 30);
    assert!(left.iter().all(|r| r.start_ms.unwrap() >= T0 + 2 * DAY));
    // Rollups are untouched by raw retention.
    assert_eq!(store.function_stats(&[], all).unwrap()[0].invocations, 50);
    // Re-ingesting everything: old parts are dropped and counted, nothing counts twice.
    let again = store
        .ingest(&IngestBatch {
            parts,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(again.expired, 20);
    assert_eq!(again.inserted, 0);
    assert_eq!(store.function_stats(&[], all).unwrap()[0].invocations, 50);
    // Rollup retention: whole days before the cutoff go.
    let stats = store
        .apply_retention(Retention {
            raw_before_ms: None,
            rollups_before_ms: Some(T0 + 2 * DAY),
        })
        .unwrap();
    assert!(stats.rollup_rows > 0);
    let left = store.function_stats(&[], all).unwrap();
    assert_eq!(left[0].invocations, 30);
    // An earlier raw cutoff never moves the watermark back.
    store
        .apply_retention(Retention {
            raw_before_ms: Some(T0),
            rollups_before_ms: None,
        })
        .unwrap();
    let late = invocation("alpha", 9, "late", T0 + DAY, 5.0, 256);
    let r = store
        .ingest(&IngestBatch {
            parts: vec![late],
            ..Default::default()
        })
        .unwrap();
    assert_eq!((r.expired, r.inserted), (1, 0));
}

// ---------------------------------------------------------------------------------------------
// Error groups, incidents, outbox

fn all_groups() -> ErrorQuery {
    ErrorQuery {
        limit: usize::MAX,
        ..Default::default()
    }
}

/// (id, function, title, count, count in range, first, last, non-empty hours).
type ErrorSummary = (String, String, String, u64, u64, i64, i64, Vec<(i64, u64)>);

/// What must not depend on how parts were split and batched: per group, its identity, counts,
/// time bounds and hourly timeline over the workload's three days.
fn error_summary<S: Store>(store: &S, range: TimeRange) -> Vec<ErrorSummary> {
    let mut groups = store
        .error_groups(&ErrorQuery {
            range,
            limit: usize::MAX,
            ..Default::default()
        })
        .unwrap();
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    let days = TimeRange {
        from_ms: Some(T0 - DAY),
        to_ms: Some(T0 + 4 * DAY),
    };
    groups
        .into_iter()
        .map(|g| {
            let series: Vec<(i64, u64)> = store
                .error_series(&g.id, days, HOUR)
                .unwrap()
                .into_iter()
                .filter(|b| b.1 > 0)
                .collect();
            (
                g.id,
                g.function,
                g.title,
                g.count,
                g.count_in_range,
                g.first_ms,
                g.last_ms,
                series,
            )
        })
        .collect()
}

/// Groups agree with a recomputation from the stored invocations: every failed, complete
/// invocation is one occurrence of the group its fingerprint names, in every range.
fn check_errors_against_rows<S: Store>(store: &S) {
    let mut want: BTreeMap<String, (String, u64, i64, i64)> = BTreeMap::new();
    let rows = all_rows(store);
    for r in rows
        .iter()
        .filter(|r| r.complete && r.outcome != Outcome::Success)
    {
        let t = row_time(r);
        let part = InvocationPart {
            function: r.function.clone(),
            report: Some(ReportMetrics {
                error_type: r.error_type.clone(),
                ..Default::default()
            }),
            signals: Signals::default(),
            error: r.error.clone(),
            ..Default::default()
        };
        // The row's outcome is authoritative; rebuild the fingerprint input from it.
        let fp = tern_core::fingerprint::fingerprint(
            &part.function,
            r.outcome,
            fingerprint_input(&part, r.outcome).as_ref(),
            GROUPING_VERSION,
        )
        .expect("a failure has a fingerprint");
        let e = want
            .entry(fp.id())
            .or_insert((r.function.clone(), 0, i64::MAX, i64::MIN));
        e.1 += 1;
        e.2 = e.2.min(t);
        e.3 = e.3.max(t);
    }
    let got: BTreeMap<String, (String, u64, i64, i64)> = store
        .error_groups(&all_groups())
        .unwrap()
        .into_iter()
        .map(|g| (g.id, (g.function, g.count, g.first_ms, g.last_ms)))
        .collect();
    assert_eq!(want, got, "error groups vs rows");
    let failed = store
        .function_stats(&[], TimeRange::all())
        .unwrap()
        .iter()
        .map(|s| s.errors)
        .sum::<u64>();
    assert_eq!(
        got.values().map(|g| g.1).sum::<u64>(),
        failed,
        "every failure counted once"
    );
}

/// The error `fingerprint_invocation` would hash for a stored row (REPORT type rules).
fn fingerprint_input(part: &InvocationPart, outcome: Outcome) -> Option<ErrorInfo> {
    let platform = part
        .report
        .as_ref()
        .and_then(|r| r.error_type.clone())
        .filter(|t| !t.trim().is_empty());
    match (outcome, platform, &part.error) {
        (Outcome::Crash | Outcome::InitError, Some(t), _) | (_, Some(t), None) => Some(ErrorInfo {
            error_type: t,
            message: String::new(),
            stack: Vec::new(),
        }),
        (_, _, e) => e.clone(),
    }
}

/// A failed invocation with a Python-shaped error.
fn failed(
    function: &str,
    stream_no: u32,
    rid: &str,
    start: i64,
    error: ErrorInfo,
) -> InvocationPart {
    let mut p = invocation(function, stream_no, rid, start, 120.0, 256);
    p.signals.handler_error = true;
    p.log_lines.push(line(
        start + 2,
        &format!("[ERROR] {}: {}", error.error_type, error.message),
        event_id(rid, 7),
    ));
    normalize_lines(&mut p.log_lines);
    p.error = Some(error);
    p
}

fn key_error(key: &str) -> ErrorInfo {
    ErrorInfo {
        error_type: "KeyError".into(),
        message: format!("'{key}'"),
        stack: vec![
            "File \"/var/task/lambda_function.py\", line 36, in lambda_handler".into(),
            "File \"/var/task/orders.py\", line 12, in load".into(),
        ],
    }
}

fn type_error(n: u32) -> ErrorInfo {
    ErrorInfo {
        error_type: "TypeError".into(),
        message: format!("unsupported operand type(s) for +: 'int' and 'str' (item {n})"),
        stack: vec!["File \"/var/task/lambda_function.py\", line 52, in lambda_handler".into()],
    }
}

fn group_of<S: Store>(store: &S, part: &InvocationPart) -> crate::ErrorGroup {
    let id = fingerprint_invocation(part, GROUPING_VERSION).unwrap().id();
    store
        .error_group(&id, None)
        .unwrap()
        .unwrap_or_else(|| panic!("no group {id}"))
}

/// The same error with different ids, keys and times is one group; different errors, a
/// timeout, and the same error in another function are other groups. Counts, the timeline and
/// the samples are exact.
pub fn error_grouping<S: Store>(mut store: S) {
    let a: Vec<InvocationPart> = (0..5)
        .map(|i| {
            failed(
                "alpha",
                i % 2,
                &format!("ke-{i}"),
                T0 + i64::from(i) * 20 * MIN,
                key_error(&format!("user-{}", 1000 + i)),
            )
        })
        .collect();
    let b: Vec<InvocationPart> = (0..2)
        .map(|i| {
            failed(
                "alpha",
                3,
                &format!("te-{i}"),
                T0 + 3 * HOUR + i64::from(i) * MIN,
                type_error(i),
            )
        })
        .collect();
    let mut timeout = invocation("alpha", 4, "to-1", T0 + 2 * HOUR, 3000.0, 256);
    timeout.signals.timeout_line = true;
    let other = failed("beta", 1, "ke-beta", T0 + 10 * MIN, key_error("x"));
    let ok = invocation("alpha", 5, "ok-1", T0 + 5 * MIN, 10.0, 256);
    let mut parts = a.clone();
    parts.extend(b.clone());
    parts.extend([timeout.clone(), other.clone(), ok]);
    store.ingest(&batch(parts)).unwrap();

    let groups = store.error_groups(&all_groups()).unwrap();
    assert_eq!(groups.len(), 4, "{groups:?}");
    let ke = group_of(&store, &a[0]);
    assert_eq!(
        ke.id,
        group_of(&store, &a[4]).id,
        "ids and keys vary, the group does not"
    );
    assert_eq!((ke.count, ke.function.as_str()), (5, "alpha"));
    assert_eq!(ke.error_type.as_deref(), Some("KeyError"));
    assert_eq!(ke.message.as_deref(), Some("'user-1004'"), "latest sample");
    assert_eq!(ke.basis, "stack");
    assert_eq!(ke.frames.len(), 2);
    assert_eq!((ke.first_ms, ke.last_ms), (row_end(&a[0]), row_end(&a[4])));
    assert_eq!((ke.status, ke.event), (ErrorStatus::Open, ErrorEvent::New));
    let te = group_of(&store, &b[0]);
    assert_ne!(te.id, ke.id);
    assert_eq!(te.count, 2);
    let to = group_of(&store, &timeout);
    assert_eq!(
        (to.count, to.outcome, to.basis.as_str()),
        (1, Outcome::Timeout, "outcome")
    );
    let beta = group_of(&store, &other);
    assert_ne!(beta.id, ke.id, "groups are per function");
    // Newest first; one function's groups.
    assert_eq!(groups[0].id, te.id);
    let alpha_only = store
        .error_groups(&ErrorQuery {
            functions: vec!["alpha".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(alpha_only.len(), 3);
    // Counts in a range: two KeyErrors in [T0+20m, T0+1h), an unaligned edge.
    let ranged = store
        .error_groups(&ErrorQuery {
            range: TimeRange {
                from_ms: Some(T0 + 20 * MIN),
                to_ms: Some(T0 + 61 * MIN),
            },
            ..Default::default()
        })
        .unwrap();
    let ids: Vec<(&str, u64)> = ranged
        .iter()
        .map(|g| (g.id.as_str(), g.count_in_range))
        .collect();
    assert_eq!(ids, vec![(ke.id.as_str(), 3)], "20m, 40m, 60m");
    let over_hours = store
        .error_groups(&ErrorQuery {
            range: TimeRange {
                from_ms: Some(T0 + 30 * MIN),
                to_ms: Some(T0 + 3 * HOUR + 30 * MIN),
            },
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    let counts: BTreeMap<&str, u64> = over_hours
        .iter()
        .map(|g| (g.id.as_str(), g.count_in_range))
        .collect();
    assert_eq!(counts.get(ke.id.as_str()), Some(&3), "40m, 60m, 80m");
    assert_eq!(counts.get(te.id.as_str()), Some(&2));
    assert_eq!(counts.get(to.id.as_str()), Some(&1));
    assert_eq!(
        counts.get(beta.id.as_str()),
        None,
        "beta failed before the range"
    );
    // The timeline, hourly.
    let series = store
        .error_series(
            &ke.id,
            TimeRange {
                from_ms: Some(T0),
                to_ms: Some(T0 + 3 * HOUR),
            },
            HOUR,
        )
        .unwrap();
    assert_eq!(series, vec![(T0, 3), (T0 + HOUR, 2), (T0 + 2 * HOUR, 0)]);
    // Samples, newest first, with their logs.
    let samples = store.error_samples(&ke.id, 2).unwrap();
    let rids: Vec<&str> = samples.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(rids, vec!["ke-4", "ke-3"]);
    let logs = store
        .invocation_logs(&samples[0].log_group, &samples[0].log_stream, "ke-4")
        .unwrap();
    assert!(logs.iter().any(|l| l.message.contains("KeyError")));
    // Unknown and malformed ids.
    assert!(store
        .error_group("0123456789abcdef", None)
        .unwrap()
        .is_none());
    assert!(store.error_group("not-an-id", None).unwrap().is_none());
    assert!(store.error_samples("zz", 5).unwrap().is_empty());
    // The occurrence feed: every failure once, resumable.
    let feed = store
        .error_occurrences_since(OccurrenceCursor::default(), 4)
        .unwrap();
    assert_eq!(feed.len(), 4);
    let rest = store.error_occurrences_since(feed[3].cursor, 100).unwrap();
    assert_eq!(feed.len() + rest.len(), 9);
    check_errors_against_rows(&store);
}

fn row_end(p: &InvocationPart) -> i64 {
    p.end_ms.unwrap()
}

/// Resolve, recur before and after the resolution, mute with an expiry, unmute.
pub fn error_lifecycle<S: Store>(mut store: S) {
    let first = failed("alpha", 1, "l-1", T0, key_error("a"));
    store.ingest(&batch(vec![first.clone()])).unwrap();
    let g = group_of(&store, &first);
    let seq0 = g.event_seq;
    assert_eq!(g.event, ErrorEvent::New);
    assert!(store
        .set_error_status(&g.id, ErrorStatus::Resolved, None, T0 + HOUR)
        .unwrap());
    assert!(!store
        .set_error_status("0123456789abcdef", ErrorStatus::Resolved, None, T0)
        .unwrap());
    // A late occurrence from before the resolution: counted, still resolved.
    store
        .ingest(&batch(vec![failed(
            "alpha",
            1,
            "l-2",
            T0 + 30 * MIN,
            key_error("b"),
        )]))
        .unwrap();
    let g = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (g.count, g.status, g.regressions),
        (2, ErrorStatus::Resolved, 0)
    );
    assert_eq!(g.resolved_ms, Some(T0 + HOUR));
    // After it: a regression, with a new event.
    let again = failed("alpha", 1, "l-3", T0 + 2 * HOUR, key_error("c"));
    store.ingest(&batch(vec![again.clone()])).unwrap();
    let g = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (g.status, g.regressions, g.event),
        (ErrorStatus::Open, 1, ErrorEvent::Regression)
    );
    assert_eq!(g.regressed_ms, Some(row_end(&again)));
    assert!(g.event_seq > seq0);
    let news = store
        .error_groups(&ErrorQuery {
            since_seq: Some(seq0),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(news.len(), 1);
    let none = store
        .error_groups(&ErrorQuery {
            since_seq: Some(g.event_seq),
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty());
    // Mute until T0+5h: muted before, open after (by the reader's clock).
    assert!(store
        .set_error_status(
            &g.id,
            ErrorStatus::Muted,
            Some(T0 + 5 * HOUR),
            T0 + 3 * HOUR
        )
        .unwrap());
    let at = |store: &S, now: i64| store.error_group(&g.id, Some(now)).unwrap().unwrap().status;
    assert_eq!(at(&store, T0 + 4 * HOUR), ErrorStatus::Muted);
    assert_eq!(at(&store, T0 + 6 * HOUR), ErrorStatus::Open);
    let muted = |store: &S, now: i64| {
        store
            .error_groups(&ErrorQuery {
                status: Some(ErrorStatus::Muted),
                now_ms: Some(now),
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    assert_eq!(
        (muted(&store, T0 + 4 * HOUR), muted(&store, T0 + 6 * HOUR)),
        (1, 0)
    );
    // A recurrence while muted: counted, still muted, no event.
    store
        .ingest(&batch(vec![failed(
            "alpha",
            1,
            "l-4",
            T0 + 4 * HOUR,
            key_error("d"),
        )]))
        .unwrap();
    let m = store
        .error_group(&g.id, Some(T0 + 4 * HOUR))
        .unwrap()
        .unwrap();
    assert_eq!(
        (m.count, m.status, m.event_seq),
        (4, ErrorStatus::Muted, g.event_seq)
    );
    // One after the mute expired: the group is open again, still no regression.
    store
        .ingest(&batch(vec![failed(
            "alpha",
            1,
            "l-5",
            T0 + 6 * HOUR,
            key_error("e"),
        )]))
        .unwrap();
    let o = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (o.status, o.regressions, o.muted_until_ms),
        (ErrorStatus::Open, 1, None)
    );
    // Mute without expiry, then open by hand.
    store
        .set_error_status(&g.id, ErrorStatus::Muted, None, T0 + 7 * HOUR)
        .unwrap();
    assert_eq!(at(&store, i64::MAX), ErrorStatus::Muted);
    store
        .set_error_status(&g.id, ErrorStatus::Open, None, T0 + 8 * HOUR)
        .unwrap();
    let o = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (o.status, o.status_ms, o.muted_until_ms),
        (ErrorStatus::Open, Some(T0 + 8 * HOUR), None)
    );
}

/// Raw retention deletes occurrences with their invocations and keeps groups and totals;
/// rollup retention deletes old hours.
pub fn error_retention<S: Store>(mut store: S) {
    let parts: Vec<InvocationPart> = (0..4)
        .map(|d| {
            failed(
                "alpha",
                d,
                &format!("r-{d}"),
                T0 + i64::from(d) * DAY,
                key_error("k"),
            )
        })
        .collect();
    store.ingest(&batch(parts.clone())).unwrap();
    let g = group_of(&store, &parts[0]);
    assert_eq!(g.count, 4);
    store
        .apply_retention(Retention {
            raw_before_ms: Some(T0 + 2 * DAY),
            rollups_before_ms: None,
        })
        .unwrap();
    let g = store.error_group(&g.id, None).unwrap().unwrap();
    assert_eq!(
        (g.count, g.first_ms),
        (4, row_end(&parts[0])),
        "totals stay"
    );
    let samples = store.error_samples(&g.id, 10).unwrap();
    assert_eq!(samples.len(), 2);
    let feed = store
        .error_occurrences_since(OccurrenceCursor::default(), 10)
        .unwrap();
    assert_eq!(feed.len(), 2);
    let days = TimeRange {
        from_ms: Some(T0),
        to_ms: Some(T0 + 4 * DAY),
    };
    let per_day = |s: &S| -> Vec<u64> {
        s.error_series(&g.id, days, DAY)
            .unwrap()
            .into_iter()
            .map(|b| b.1)
            .collect()
    };
    assert_eq!(per_day(&store), vec![1, 1, 1, 1], "hours outlive raw data");
    // Re-ingesting the deleted days counts nothing twice.
    store.ingest(&batch(parts)).unwrap();
    assert_eq!(store.error_group(&g.id, None).unwrap().unwrap().count, 4);
    store
        .apply_retention(Retention {
            raw_before_ms: None,
            rollups_before_ms: Some(T0 + 2 * DAY),
        })
        .unwrap();
    assert_eq!(per_day(&store), vec![0, 0, 1, 1]);
    assert_eq!(store.error_group(&g.id, None).unwrap().unwrap().count, 4);
}

fn firing(policy: &str, subject: &str, at_ms: i64, value: f64) -> IncidentChange {
    IncidentChange::Firing {
        policy: policy.into(),
        subject: subject.into(),
        at_ms,
        value: Some(value),
        threshold: Some(0.01),
        detail: Some(format!("error rate {value}")),
    }
}

fn clear(policy: &str, subject: &str, at_ms: i64) -> IncidentChange {
    IncidentChange::Clear {
        policy: policy.into(),
        subject: subject.into(),
        at_ms,
    }
}

/// One notification per transition, keyed by incident and state.
fn notify_webhook(i: &Incident) -> Vec<OutboxItem> {
    vec![OutboxItem {
        dedupe_key: format!("incident-{}-{}", i.id, i.state.as_str()),
        channel: "webhook".into(),
        payload: format!(
            "{{\"incident\":{},\"state\":\"{}\"}}",
            i.id,
            i.state.as_str()
        ),
    }]
}

/// Firing opens an incident and queues its notification; firing again refreshes it without
/// notifying; clearing resolves it and queues the resolved notification; firing after that
/// opens a new incident. Exactly one incident per (policy, subject) is open at a time.
pub fn incidents_one_open_per_subject<S: Store>(mut store: S) {
    let opened = store
        .apply_incident(&firing("error-rate", "alpha", T0, 0.05), &notify_webhook)
        .unwrap();
    let IncidentApplied::Opened(first) = opened else {
        panic!("expected opened, got {opened:?}");
    };
    assert_eq!(
        (first.state, first.opened_ms, first.value),
        (IncidentState::Open, T0, Some(0.05))
    );
    let again = store
        .apply_incident(
            &firing("error-rate", "alpha", T0 + MIN, 0.07),
            &notify_webhook,
        )
        .unwrap();
    let IncidentApplied::Refreshed(r) = again else {
        panic!("expected refreshed, got {again:?}");
    };
    assert_eq!(
        (r.id, r.last_firing_ms, r.value),
        (first.id, T0 + MIN, Some(0.07))
    );
    // Another subject and another policy are other incidents.
    store
        .apply_incident(&firing("error-rate", "beta", T0, 0.5), &notify_webhook)
        .unwrap();
    store
        .apply_incident(&firing("timeouts", "alpha", T0, 1.0), &notify_webhook)
        .unwrap();
    let open = store
        .incidents(&IncidentQuery {
            state: Some(IncidentState::Open),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.len(), 3);
    assert_eq!(
        store.outbox_due(T0 + HOUR, 100).unwrap().len(),
        3,
        "refresh notifies nobody"
    );
    let resolved = store
        .apply_incident(&clear("error-rate", "alpha", T0 + 5 * MIN), &notify_webhook)
        .unwrap();
    let IncidentApplied::Resolved(res) = resolved else {
        panic!("expected resolved, got {resolved:?}");
    };
    assert_eq!(
        (res.id, res.state, res.resolved_ms),
        (first.id, IncidentState::Resolved, Some(T0 + 5 * MIN))
    );
    assert_eq!(
        store
            .apply_incident(&clear("error-rate", "alpha", T0 + 6 * MIN), &notify_webhook)
            .unwrap(),
        IncidentApplied::NotOpen
    );
    let reopened = store
        .apply_incident(
            &firing("error-rate", "alpha", T0 + HOUR, 0.2),
            &notify_webhook,
        )
        .unwrap();
    let IncidentApplied::Opened(second) = reopened else {
        panic!("expected a new incident, got {reopened:?}");
    };
    assert_ne!(second.id, first.id);
    let alpha_rate = store
        .incidents(&IncidentQuery {
            policy: Some("error-rate".into()),
            ..Default::default()
        })
        .unwrap();
    let mine: Vec<(i64, IncidentState)> = alpha_rate
        .iter()
        .filter(|i| i.subject == "alpha")
        .map(|i| (i.id, i.state))
        .collect();
    assert_eq!(
        mine,
        vec![
            (second.id, IncidentState::Open),
            (first.id, IncidentState::Resolved)
        ]
    );
    let keys: BTreeSet<String> = store
        .outbox_due(T0 + 2 * HOUR, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.dedupe_key)
        .collect();
    assert_eq!(keys.len(), 5, "3 opened, 1 resolved, 1 reopened: {keys:?}");
    assert!(keys.contains(&format!("incident-{}-resolved", first.id)));
}

/// A transition whose notifications cannot be queued stores neither the transition nor any
/// notification (the crash-between-the-two case cannot arise).
pub fn incident_and_notifications_are_atomic<S: Store>(mut store: S) {
    let bad = |i: &Incident| {
        let mut v = notify_webhook(i);
        v.push(OutboxItem {
            dedupe_key: String::new(),
            channel: "slack".into(),
            payload: "{}".into(),
        });
        v
    };
    let err = store.apply_incident(&firing("error-rate", "alpha", T0, 0.05), &bad);
    assert!(err.is_err());
    assert!(
        store
            .incidents(&IncidentQuery::default())
            .unwrap()
            .is_empty(),
        "no incident"
    );
    assert!(
        store.outbox_due(i64::MAX, 100).unwrap().is_empty(),
        "no notification"
    );
    // The evaluator tries again and succeeds: one incident, one notification.
    store
        .apply_incident(&firing("error-rate", "alpha", T0, 0.05), &notify_webhook)
        .unwrap();
    assert_eq!(store.incidents(&IncidentQuery::default()).unwrap().len(), 1);
    assert_eq!(store.outbox_due(i64::MAX, 100).unwrap().len(), 1);
    // Resolving atomically too: a failure keeps it open and queues nothing.
    assert!(store
        .apply_incident(&clear("error-rate", "alpha", T0 + MIN), &bad)
        .is_err());
    let open = store
        .incidents(&IncidentQuery {
            state: Some(IncidentState::Open),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(store.outbox_due(i64::MAX, 100).unwrap().len(), 1);
}

/// Due entries, retries with backoff, permanent failure, sent once, dedupe keys, and the
/// checkpoint that travels with an enqueue.
pub fn outbox_delivery<S: Store>(mut store: S) {
    let item = |k: &str| OutboxItem {
        dedupe_key: k.into(),
        channel: "webhook".into(),
        payload: format!("{{\"group\":\"{k}\"}}"),
    };
    let cp = Checkpoint {
        key: "alerts/errors".into(),
        value: "seq=7".into(),
        updated_ms: T0,
    };
    let n = store
        .enqueue(&[item("new-a"), item("new-b")], T0, Some(&cp))
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(store.checkpoints("alerts/").unwrap(), vec![cp]);
    // The same keys again (a restart before the checkpoint moved): nothing new.
    assert_eq!(
        store
            .enqueue(&[item("new-a"), item("new-c")], T0 + 1, None)
            .unwrap(),
        1
    );
    assert!(
        store.outbox_due(T0 - 1, 10).unwrap().is_empty(),
        "not due before creation"
    );
    let due = store.outbox_due(T0 + 1, 10).unwrap();
    let keys: Vec<&str> = due.iter().map(|e| e.dedupe_key.as_str()).collect();
    assert_eq!(keys, vec!["new-a", "new-b", "new-c"]);
    assert!(due
        .iter()
        .all(|e| e.state == OutboxState::Pending && e.attempts == 0));
    let (a, b, c) = (due[0].id, due[1].id, due[2].id);
    assert!(store.outbox_mark(a, &OutboxMark::Sent, T0 + 2).unwrap());
    assert!(
        !store.outbox_mark(a, &OutboxMark::Sent, T0 + 3).unwrap(),
        "sent once"
    );
    let retry_at = T0 + 2 + retry_delay_ms(1);
    assert!(store
        .outbox_mark(
            b,
            &OutboxMark::Retry {
                next_attempt_ms: retry_at,
                error: "HTTP 503".into(),
            },
            T0 + 2,
        )
        .unwrap());
    assert!(store
        .outbox_mark(
            c,
            &OutboxMark::Failed {
                error: "HTTP 404".into()
            },
            T0 + 2
        )
        .unwrap());
    assert!(
        store.outbox_due(retry_at - 1, 10).unwrap().is_empty(),
        "backing off"
    );
    let due = store.outbox_due(retry_at, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id, due[0].attempts), (b, 1));
    assert_eq!(due[0].last_error.as_deref(), Some("HTTP 503"));
    assert!(
        !store.outbox_mark(c, &OutboxMark::Sent, T0 + 9).unwrap(),
        "a failed entry stays failed"
    );
    assert!(store.outbox_mark(b, &OutboxMark::Sent, retry_at).unwrap());
    assert!(store.outbox_due(i64::MAX, 10).unwrap().is_empty());
    // The history keeps every entry, newest first, with its outcome (the dashboard shows it).
    let history = store.outbox_history(0).unwrap();
    let seen: Vec<(i64, OutboxState, u32)> = history
        .iter()
        .map(|e| (e.id, e.state, e.attempts))
        .collect();
    assert_eq!(
        seen,
        vec![
            (c, OutboxState::Failed, 1),
            (b, OutboxState::Sent, 2),
            (a, OutboxState::Sent, 1)
        ]
    );
    assert_eq!(history[1].sent_ms, Some(retry_at));
    assert_eq!(history[1].last_error.as_deref(), Some("HTTP 503"));
    assert!(history[0].last_error.is_some());
    assert_eq!(store.outbox_history(1).unwrap().len(), 1);
    assert!(!store.outbox_mark(12345, &OutboxMark::Sent, T0).unwrap());
    // Backoff doubles from 30 s and stops at an hour.
    assert_eq!(
        (
            retry_delay_ms(1),
            retry_delay_ms(2),
            retry_delay_ms(3),
            retry_delay_ms(40)
        ),
        (30_000, 60_000, 120_000, 3_600_000)
    );
}

// ---------------------------------------------------------------------------------------------
// Power tuning

fn tuning_point(memory_mb: u32, arch: Arch, p50: f64) -> TuningPoint {
    TuningPoint {
        memory_mb,
        arch,
        invocations: 10,
        errors: 0,
        cold_starts: 1,
        p50_ms: Some(p50),
        p95_ms: Some(p50 * 1.2),
        p99_ms: Some(p50 * 1.3),
        trimmed_mean_ms: Some(p50 * 1.01),
        billed_mean_ms: Some((p50 * 1.01).ceil()),
        init_p50_ms: Some(180.5),
        max_memory_used_mb: Some(90),
        cost_usd: Some(1.234_567_890_123e-6),
        error: None,
    }
}

/// Runs come back as stored (every field, floats exact), newest first, only the asked
/// function's; storing a run again replaces it; a failed size keeps its error and no durations.
pub fn tuning_runs_round_trip<S: Store>(mut store: S) {
    assert!(store.tuning_runs("orders").unwrap().is_empty());
    let failed = TuningPoint {
        invocations: 0,
        errors: 10,
        cold_starts: 0,
        p50_ms: None,
        p95_ms: None,
        p99_ms: None,
        trimmed_mean_ms: None,
        billed_mean_ms: None,
        init_p50_ms: None,
        max_memory_used_mb: Some(128),
        cost_usd: None,
        error: Some("Unhandled: Runtime.OutOfMemory".into()),
        ..tuning_point(128, Arch::X86_64, 0.0)
    };
    let older = TuningRun {
        function: "orders".into(),
        region: "us-east-1".into(),
        started_ms: T0,
        finished_ms: T0 + 5 * MIN,
        original_memory_mb: 512,
        original_arch: Arch::X86_64,
        invocations_per_size: 10,
        cold_starts_only: false,
        payload: "event.json".into(),
        complete: true,
        applied_memory_mb: Some(1024),
        // Stored out of order: read back sorted by (arch, memory).
        points: vec![
            tuning_point(1024, Arch::X86_64, 210.25),
            tuning_point(512, Arch::Arm64, 400.5),
            failed.clone(),
            tuning_point(256, Arch::X86_64, 811.125),
        ],
    };
    let newer = TuningRun {
        started_ms: T0 + DAY,
        finished_ms: T0 + DAY + MIN,
        cold_starts_only: true,
        complete: false,
        applied_memory_mb: None,
        payload: "none".into(),
        points: vec![tuning_point(2048, Arch::X86_64, 99.0)],
        ..older.clone()
    };
    let other = TuningRun {
        function: "billing".into(),
        ..older.clone()
    };
    store.store_tuning_run(&older).unwrap();
    store.store_tuning_run(&newer).unwrap();
    store.store_tuning_run(&other).unwrap();
    let mut sorted = older.clone();
    sorted.points = vec![
        failed,
        tuning_point(256, Arch::X86_64, 811.125),
        tuning_point(1024, Arch::X86_64, 210.25),
        tuning_point(512, Arch::Arm64, 400.5),
    ];
    assert_eq!(
        store.tuning_runs("orders").unwrap(),
        vec![newer.clone(), sorted.clone()]
    );
    assert_eq!(store.tuning_runs("billing").unwrap().len(), 1);
    assert!(store.tuning_runs("unknown").unwrap().is_empty());
    // The same run again (a retried write) replaces it, points included.
    let mut again = newer.clone();
    again.complete = true;
    again.points = vec![tuning_point(3008, Arch::X86_64, 80.0)];
    store.store_tuning_run(&again).unwrap();
    assert_eq!(store.tuning_runs("orders").unwrap(), vec![again, sorted]);
    // A run without a function is refused.
    assert!(store
        .store_tuning_run(&TuningRun {
            function: String::new(),
            ..older
        })
        .is_err());
}

/// Markers come back by function, in time order (ties by id), with the ids the
/// store assigned; empty names and notes are refused.
pub fn markers_round_trip<S: Store>(mut store: S) {
    assert!(store.markers(None).unwrap().is_empty());
    let mk = |function: &str, at_ms: i64, note: &str| crate::Marker {
        id: 0,
        function: function.into(),
        at_ms,
        note: note.into(),
        created_ms: T0 + DAY,
    };
    let late = store
        .add_marker(&mk("orders", T0 + 2 * MIN, "deployed v42"))
        .unwrap();
    let early = store.add_marker(&mk("orders", T0, "deployed v41")).unwrap();
    let other = store
        .add_marker(&mk("billing", T0 + MIN, "config"))
        .unwrap();
    let tie = store.add_marker(&mk("orders", T0, "flag on")).unwrap();
    assert!(late.id < early.id && early.id < other.id && other.id < tie.id);
    assert_eq!(late.note, "deployed v42");
    assert_eq!(
        store.markers(Some("orders")).unwrap(),
        vec![early.clone(), tie.clone(), late.clone()]
    );
    assert_eq!(store.markers(Some("nothing")).unwrap(), vec![]);
    assert_eq!(store.markers(None).unwrap(), vec![early, tie, other, late]);
    assert!(store.add_marker(&mk("", T0, "x")).is_err());
    assert!(store.add_marker(&mk("orders", T0, "  ")).is_err());
    assert_eq!(store.markers(Some("orders")).unwrap().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Leases

fn holder_of<S: Store>(store: &S, name: &str, now: i64) -> Option<(String, i64)> {
    let live = store.leases(name, now).unwrap();
    let mine: Vec<_> = live.into_iter().filter(|l| l.name == name).collect();
    assert!(mine.len() <= 1, "one holder per lease name, got {mine:?}");
    mine.into_iter().next().map(|l| (l.holder, l.expires_ms))
}

/// A lease lasts its time to live and no longer; its holder renews it (even after expiry,
/// when nobody took it meanwhile), and another holder cannot take it while it is live.
pub fn lease_expiry_and_renewal<S: Store>(mut store: S) {
    let ttl = 30_000;
    assert_eq!(holder_of(&store, "alerts", T0), None);
    assert!(store.try_lease("alerts", "a", T0, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0),
        Some(("a".into(), T0 + ttl))
    );
    // Live until the instant it expires, then gone.
    assert!(holder_of(&store, "alerts", T0 + ttl - 1).is_some());
    assert_eq!(holder_of(&store, "alerts", T0 + ttl), None);
    // Renewal by the holder moves the expiry.
    assert!(store.try_lease("alerts", "a", T0 + 10_000, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + 10_000),
        Some(("a".into(), T0 + 10_000 + ttl))
    );
    assert!(!store.try_lease("alerts", "b", T0 + ttl, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + ttl),
        Some(("a".into(), T0 + 10_000 + ttl))
    );
    // Expired and untaken: the old holder takes it again.
    let later = T0 + 10 * ttl;
    assert_eq!(holder_of(&store, "alerts", later), None);
    assert!(store.try_lease("alerts", "a", later, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", later),
        Some(("a".into(), later + ttl))
    );
    // Other names are other leases; a prefix lists them by name.
    assert!(store.try_lease("collector/b", "b", later, ttl).unwrap());
    assert!(store.try_lease("collector/a", "a", later, ttl).unwrap());
    let names: Vec<String> = store
        .leases("collector/", later)
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["collector/a", "collector/b"]);
    assert_eq!(store.leases("", later).unwrap().len(), 3);
}

/// After expiry another holder takes the lease over, and the old holder can no longer renew
/// it; releasing frees it at once, and only its holder can release it.
pub fn lease_takeover_and_release<S: Store>(mut store: S) {
    let ttl = 10_000;
    assert!(store.try_lease("alerts", "a", T0, ttl).unwrap());
    assert!(store.try_lease("alerts", "b", T0 + ttl, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + ttl),
        Some(("b".into(), T0 + 2 * ttl))
    );
    assert!(!store.try_lease("alerts", "a", T0 + ttl + 1, ttl).unwrap());
    // Only the holder releases.
    assert!(!store.release_lease("alerts", "a").unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + ttl + 1).map(|h| h.0),
        Some("b".into())
    );
    assert!(store.release_lease("alerts", "b").unwrap());
    assert_eq!(holder_of(&store, "alerts", T0 + ttl + 1), None);
    assert!(!store.release_lease("alerts", "b").unwrap());
    // Free at once: a takes it before b's old term would have ended.
    assert!(store.try_lease("alerts", "a", T0 + ttl + 2, ttl).unwrap());
    assert_eq!(
        holder_of(&store, "alerts", T0 + ttl + 2).map(|h| h.0),
        Some("a".into())
    );
    // Releasing an unknown lease is no error.
    assert!(!store.release_lease("never-taken", "a").unwrap());
}

/// Holders taking turns at one lease over time, with clocks stepping through every boundary:
/// at every instant at most one of them has been told it holds the lease, and the store
/// names that one.
pub fn lease_never_two_holders<S: Store>(mut store: S) {
    let ttl = 1_000;
    let holders = ["a", "b", "c"];
    // Until when each holder was told it holds the lease.
    let mut granted: HashMap<&str, i64> = HashMap::new();
    let mut now = T0;
    for step in 0..600u32 {
        // Deterministic, uneven steps: some renew in time, some arrive after expiry.
        now += i64::from((step * 7919) % 700);
        let h = holders[(step as usize * 5 + step as usize / 3) % holders.len()];
        if store.try_lease("alerts", h, now, ttl).unwrap() {
            granted.insert(h, now + ttl);
        } else {
            // Refused: someone else's term is live now.
            let (other, until) = holder_of(&store, "alerts", now).expect("refused, so held");
            assert_ne!(other, h);
            assert!(until > now);
            granted.remove(h);
        }
        if step % 97 == 0 {
            // Now and then the holder gives up early.
            if let Some((holder, _)) = holder_of(&store, "alerts", now) {
                if store.release_lease("alerts", &holder).unwrap() {
                    granted.remove(holder.as_str());
                }
            }
        }
        let live: Vec<&&str> = granted
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(h, _)| h)
            .collect();
        assert!(live.len() <= 1, "two holders at {now}: {live:?}");
        let stored = holder_of(&store, "alerts", now).map(|x| x.0);
        assert_eq!(
            stored.as_deref(),
            live.first().map(|h| **h),
            "at step {step}"
        );
    }
}

/// Empty, over-long or control-character names and holders, and a time to live that is not
/// positive, are errors naming what is wrong; nothing is stored.
pub fn lease_bad_arguments<S: Store>(mut store: S) {
    let long = "x".repeat(crate::MAX_LEASE_ID + 1);
    for (name, holder, ttl) in [
        ("", "a", 1_000),
        ("alerts", "", 1_000),
        (long.as_str(), "a", 1_000),
        ("alerts", long.as_str(), 1_000),
        ("alerts\n", "a", 1_000),
        ("alerts", "a", 0),
        ("alerts", "a", -5),
    ] {
        let e = store
            .try_lease(name, holder, T0, ttl)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lease"), "{e}");
    }
    assert!(store.release_lease("", "a").is_err());
    assert!(store.leases("", T0).unwrap().is_empty());
    // An expiry past the end of time saturates instead of wrapping.
    assert!(store.try_lease("alerts", "a", i64::MAX - 5, 1_000).unwrap());
}

/// Several collectors write one store. Two writers, each on its own thread, ingest
/// parts of the same invocations at the same time in small batches (one has the STARTs, the
/// other the REPORTs and late errors), so both read, merge and write the same invocations at
/// once. The store must end as if one writer had ingested everything.
pub fn concurrent_writers<S: Store + Send, R: Store>(writers: [S; 2], mut reference: R) {
    let whole = workload(240);
    let splits: Vec<[InvocationPart; 3]> = whole.iter().map(split).collect();
    let all: Vec<InvocationPart> = splits.iter().flatten().cloned().collect();
    reference.ingest(&batch(all)).unwrap();
    let [mut a, mut b] = writers;
    std::thread::scope(|scope| {
        let splits = &splits;
        let ta = scope.spawn(move || {
            for chunk in splits.chunks(8) {
                a.ingest(&batch(chunk.iter().map(|s| s[0].clone()).collect()))
                    .unwrap();
            }
            a
        });
        let tb = scope.spawn(move || {
            for chunk in splits.chunks(8) {
                let parts = chunk.iter().flat_map(|s| [s[1].clone(), s[2].clone()]);
                b.ingest(&batch(parts.collect())).unwrap();
            }
            b
        });
        let a = ta.join().unwrap();
        let _b = tb.join().unwrap();
        let want = reference.function_stats(&[], TimeRange::all()).unwrap();
        let got = a.function_stats(&[], TimeRange::all()).unwrap();
        assert_eq!(want.len(), 3);
        assert_stats_eq(&got, &want, "two concurrent writers against one");
        assert_eq!(all_rows(&a), all_rows(&reference), "invocations");
        assert_eq!(
            error_summary(&a, TimeRange::all()),
            error_summary(&reference, TimeRange::all()),
            "error groups"
        );
    });
}

/// Everything a store knows of a batch, to compare one store before and after.
#[derive(Debug, PartialEq)]
struct Snapshot {
    stats: Vec<Summary>,
    rows: Vec<InvocationRow>,
    errors: Vec<ErrorSummary>,
    feed: Vec<ErrorOccurrence>,
    seen: Vec<ValueSeen>,
}

fn snapshot<S: Store>(store: &S) -> Snapshot {
    let stats = store.function_stats(&[], TimeRange::all()).unwrap();
    Snapshot {
        stats: stats.iter().map(summary).collect(),
        rows: all_rows(store),
        errors: error_summary(store, TimeRange::all()),
        feed: store
            .error_occurrences_since(OccurrenceCursor::default(), usize::MAX)
            .unwrap(),
        seen: store.values_seen(None).unwrap(),
    }
}

/// Two stores given the same input in different batches agree on everything but where in
/// the occurrence feed each occurrence is (its batch's sequence number).
fn assert_same(a: &Snapshot, b: &Snapshot, what: &str) {
    assert_eq!(a.stats, b.stats, "{what}: stats");
    assert_eq!(a.rows, b.rows, "{what}: invocations");
    assert_eq!(a.errors, b.errors, "{what}: error groups");
    let feed = |s: &Snapshot| {
        let mut v: Vec<(String, String)> = s
            .feed
            .iter()
            .map(|o| (o.group.clone(), o.invocation.request_id.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(feed(a), feed(b), "{what}: occurrences");
    assert_eq!(a.seen, b.seen, "{what}: values seen");
}

/// A batch of whole invocations (new keys: the ClickHouse writer does not read them before
/// writing) with a stream chunk and inventory.
fn whole_batch(n: u32) -> IngestBatch {
    let mut b = batch(workload(n));
    b.functions.push(FunctionMeta {
        function: "alpha".into(),
        region: Some("eu-west-1".into()),
        ..Default::default()
    });
    b.stream_lines.push(StreamLines {
        function: "alpha".into(),
        log_group: group("alpha"),
        log_stream: stream(1),
        lines: vec![line(
            T0 - 5,
            "INIT_START Runtime Version: python:3.12",
            None,
        )],
    });
    b
}

/// A batch of new invocations written by one writer, then the same batch (and later
/// parts of the same invocations) by another writer with nothing in memory: the second finds
/// every key stored, counts nothing twice and puts no occurrence in the feed again.
pub fn reingest_through_another_writer<S: Store, R: Store>(writers: [S; 2], mut reference: R) {
    let b = whole_batch(120);
    let late: Vec<InvocationPart> = b
        .parts
        .iter()
        .take(40)
        .map(|p| split(p)[2].clone())
        .collect();
    let mut all = b.clone();
    all.parts.extend(late.iter().cloned());
    reference.ingest(&all).unwrap();
    let [mut a, mut other] = writers;
    let first = a.ingest(&b).unwrap();
    assert_eq!((first.inserted, first.completed), (120, 120));
    let before = snapshot(&a);
    let again = other.ingest(&b).unwrap();
    assert_eq!(
        (
            again.inserted,
            again.merged,
            again.completed,
            again.unchanged
        ),
        (0, 0, 0, 120),
        "the other writer finds every invocation stored"
    );
    assert_eq!(before, snapshot(&a), "re-ingest by another writer");
    assert_eq!(before, snapshot(&other), "both writers read the same");
    let more = other.ingest(&batch(late)).unwrap();
    assert_eq!((more.inserted, more.merged), (0, 40));
    assert_same(
        &snapshot(&a),
        &snapshot(&reference),
        "late parts by the other writer",
    );
    check_errors_against_rows(&a);
    check_against_rows(&a, TimeRange::all(), "two writers, one after the other");
}

/// A batch whose write failed partway (`flaky` fails it; on ClickHouse after some of
/// its INSERTs went through) and is then retried by a healthy writer, twice, reads as one
/// clean ingest of it.
pub fn retried_after_a_failed_write<S: Store, H: Store, R: Store>(
    mut flaky: S,
    mut healthy: H,
    mut reference: R,
) {
    let mut b = whole_batch(150);
    // Some invocations only half there, completed in the same batch.
    let halves: Vec<InvocationPart> = workload(160)
        .into_iter()
        .skip(150)
        .flat_map(|p| split(&p))
        .collect();
    b.parts.extend(halves);
    reference.ingest(&b).unwrap();
    let e = flaky.ingest(&b);
    assert!(e.is_err(), "the flaky writer was meant to fail: {e:?}");
    healthy.ingest(&b).unwrap();
    assert_same(&snapshot(&healthy), &snapshot(&reference), "retried once");
    let once = snapshot(&healthy);
    let again = healthy.ingest(&b).unwrap();
    assert_eq!((again.inserted, again.merged, again.completed), (0, 0, 0));
    assert_eq!(once, snapshot(&healthy), "retried twice");
    check_errors_against_rows(&healthy);
    check_against_rows(&healthy, TimeRange::all(), "retried after a failed write");
}

/// (attribute, value, first, last) of every value seen of `function`.
fn seen_of<S: Store>(store: &S, function: &str) -> Vec<(&'static str, String, i64, i64)> {
    store
        .values_seen(Some(function))
        .unwrap()
        .into_iter()
        .map(|v| {
            assert_eq!(v.function, function);
            (
                v.seen.attribute.as_str(),
                v.seen.value,
                v.seen.first_ms,
                v.seen.last_ms,
            )
        })
        .collect()
}

/// A deploy history for `orders` (v1 at 512 MB, v2 at 1024 MB, back to v1, then v3
/// on a new runtime) and one quiet function, as whole invocations in time order.
pub fn deploy_history() -> Vec<InvocationPart> {
    let mk = |function: &str, rid: &str, start: i64, version: &str, memory: u32| {
        let mut p = invocation(function, 1, rid, start, 20.0, memory);
        p.version = Some(version.into());
        p
    };
    let mut cold = mk("orders", "o0", T0, "1", 512);
    cold.runtime_version = Some("python:3.12.v10".into());
    let mut v3 = mk("orders", "o5", T0 + 3 * HOUR, "3", 512);
    v3.log_stream = stream(2);
    v3.runtime_version = Some("python:3.12.v11".into());
    vec![
        cold,
        mk("orders", "o1", T0 + MIN, "1", 512),
        mk("orders", "o2", T0 + HOUR, "2", 1024),
        mk("orders", "o3", T0 + HOUR + MIN, "2", 1024),
        mk("orders", "o4", T0 + 2 * HOUR, "1", 512),
        v3,
        mk("billing", "b0", T0 + 10 * MIN, "$LATEST", 256),
    ]
}

/// The values seen of version, memory size and runtime version are kept at ingest,
/// in the batch's transaction. First-seen is the minimum and last-seen the maximum of the
/// times of complete invocations, so batches in any order, parts of one invocation in any
/// order, and re-ingesting give the same rows; an invocation without its REPORT is not seen.
pub fn values_seen_at_ingest<S: Store>(make: impl Fn() -> S) {
    let history = deploy_history();
    let mut whole = make();
    assert!(whole.values_seen(None).unwrap().is_empty());
    let mut incomplete = invocation("orders", 3, "never-reported", T0 - DAY, 20.0, 128);
    incomplete.report = None;
    incomplete.end_ms = None;
    incomplete.version = Some("9".into());
    let mut all = history.clone();
    all.push(incomplete);
    whole.ingest(&batch(all.clone())).unwrap();
    let end = |start: i64| start + 20;
    let want = vec![
        (
            "memory_size",
            "512".to_string(),
            end(T0),
            end(T0 + 3 * HOUR),
        ),
        (
            "memory_size",
            "1024".to_string(),
            end(T0 + HOUR),
            end(T0 + HOUR + MIN),
        ),
        (
            "runtime_version",
            "python:3.12.v10".to_string(),
            end(T0),
            end(T0),
        ),
        (
            "runtime_version",
            "python:3.12.v11".to_string(),
            end(T0 + 3 * HOUR),
            end(T0 + 3 * HOUR),
        ),
        ("version", "1".to_string(), end(T0), end(T0 + 2 * HOUR)),
        (
            "version",
            "2".to_string(),
            end(T0 + HOUR),
            end(T0 + HOUR + MIN),
        ),
        (
            "version",
            "3".to_string(),
            end(T0 + 3 * HOUR),
            end(T0 + 3 * HOUR),
        ),
    ];
    assert_eq!(seen_of(&whole, "orders"), want);
    assert_eq!(
        seen_of(&whole, "billing"),
        vec![
            (
                "memory_size",
                "256".to_string(),
                end(T0 + 10 * MIN),
                end(T0 + 10 * MIN)
            ),
            (
                "version",
                "$LATEST".to_string(),
                end(T0 + 10 * MIN),
                end(T0 + 10 * MIN)
            ),
        ]
    );
    assert!(seen_of(&whole, "nothing").is_empty());
    let everything = whole.values_seen(None).unwrap();
    assert_eq!(everything.len(), 9);
    assert!(everything
        .windows(2)
        .all(|w| w[0].function <= w[1].function));

    // Re-ingesting changes nothing.
    whole.ingest(&batch(all.clone())).unwrap();
    assert_eq!(seen_of(&whole, "orders"), want);

    // Newest first, one invocation per batch.
    let mut backwards = make();
    for p in all.iter().rev() {
        backwards.ingest(&batch(vec![p.clone()])).unwrap();
    }
    assert_eq!(seen_of(&backwards, "orders"), want);

    // Split parts, the REPORT before the START that carries the version, in separate batches.
    let mut split_store = make();
    let mut starts = Vec::new();
    for p in &history {
        let [start, report, _] = split(p);
        let mut report = report;
        report.runtime_version = None;
        split_store.ingest(&batch(vec![report])).unwrap();
        starts.push(start);
    }
    // Only the memory size is known so far (the REPORT carries it; the version is START's).
    assert!(seen_of(&split_store, "orders")
        .iter()
        .all(|(a, _, _, _)| *a == "memory_size"));
    starts.reverse();
    split_store.ingest(&batch(starts)).unwrap();
    assert_eq!(seen_of(&split_store, "orders"), want);

    // The change points read from them: 1 → 2, 2 → 1 (a rollback), 1 → 3, and the memory and
    // runtime changes.
    let changes = crate::changes(&whole, Some("orders"), 0).unwrap();
    let summary: Vec<(String, Option<String>, Option<String>, bool)> = changes
        .iter()
        .filter(|(_, c)| c.attribute == tern_core::impact::Attribute::Version)
        .map(|(f, c)| (f.clone(), c.from.clone(), c.to.clone(), c.rollback))
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        summary,
        vec![
            ("orders".into(), s("1"), s("2"), false),
            ("orders".into(), s("2"), s("1"), true),
            ("orders".into(), s("1"), s("3"), false),
        ]
    );
    assert_eq!(changes.len(), 3 + 2 + 1, "{changes:?}");
    // Since a time: only the later ones (1 → 3 and the runtime update).
    let later: Vec<String> = crate::changes(&whole, None, T0 + 2 * HOUR)
        .unwrap()
        .into_iter()
        .map(|(_, c)| c.id)
        .collect();
    assert_eq!(
        later,
        [
            format!("version-{}", end(T0 + 3 * HOUR)),
            format!("runtime_version-{}", end(T0 + 3 * HOUR)),
        ]
    );
}

/// The inventory's architecture and `LastModified` are values seen too: the
/// architecture from when the inventory listed it (or its `LastModified`, when earlier), each
/// `LastModified` at its own instant. Unreadable `LastModified` text is not a change time.
pub fn values_seen_from_inventory<S: Store>(mut store: S) {
    let meta = |arch: Arch, modified: &str, listed: i64| FunctionMeta {
        function: "orders".into(),
        arch: Some(arch),
        last_modified: Some(modified.into()),
        inventory_ms: Some(listed),
        ..FunctionMeta::default()
    };
    let day1 = "2026-03-01T00:00:00.000+0000";
    let day2 = "2026-03-02T00:00:00.000+0000";
    for m in [
        meta(Arch::X86_64, day1, T0 + HOUR),
        meta(Arch::X86_64, day1, T0 + 2 * HOUR),
        meta(Arch::Arm64, day2, T0 + DAY + HOUR),
        meta(Arch::Arm64, "yesterday-ish", T0 + 2 * DAY),
    ] {
        store
            .ingest(&IngestBatch {
                functions: vec![m],
                ..IngestBatch::default()
            })
            .unwrap();
    }
    assert_eq!(
        seen_of(&store, "orders"),
        vec![
            ("architecture", "x86_64".to_string(), T0, T0 + 2 * HOUR),
            ("architecture", "arm64".to_string(), T0 + DAY, T0 + 2 * DAY),
            ("configuration", day1.to_string(), T0, T0 + 2 * HOUR),
            ("configuration", day2.to_string(), T0 + DAY, T0 + DAY + HOUR),
        ]
    );
    let changes = crate::changes(&store, Some("orders"), 0).unwrap();
    let what: Vec<(&str, Option<String>, i64)> = changes
        .iter()
        .map(|(_, c)| (c.attribute.as_str(), c.to.clone(), c.at_ms))
        .collect();
    assert_eq!(
        what,
        vec![
            ("configuration", Some(day2.to_string()), T0 + DAY),
            ("architecture", Some("arm64".to_string()), T0 + DAY),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Sealing (`Store::seal`): it may only make reads cheaper, never change them.

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

/// `tern delete`: a function filed under the wrong name goes whole, its neighbour untouched;
/// a partial delete removes whole days, and ingesting the same parts again restores exactly
/// what was there (error totals included).
pub fn delete_function<S: Store>(mut store: S) {
    let mut parts = Vec::new();
    for (f, n) in [("unknown", 30u32), ("orders", 40)] {
        for i in 0..n {
            let mut p = invocation(
                f,
                i % 4,
                &format!("{f}-{i}"),
                T0 + i64::from(i) * 3 * 3_600_000,
                20.0,
                256,
            );
            // Cold starts on both sides of the cutoffs, for the environments' counts.
            if i % 7 == 0 {
                if let Some(r) = p.report.as_mut() {
                    r.init_duration_ms = Some(150.0);
                }
            }
            if i % 5 == 0 {
                p.signals.handler_error = true;
                p.error = Some(tern_core::model::ErrorInfo {
                    error_type: "KeyError".into(),
                    message: "'id'".into(),
                    stack: vec!["File \"/var/task/app.py\", line 3, in handler".into()],
                });
            }
            parts.push(p);
        }
    }
    store
        .ingest(&IngestBatch {
            parts: parts.clone(),
            ..Default::default()
        })
        .unwrap();
    let all = TimeRange::all();
    let stats = |s: &S| -> Vec<(String, u64, u64)> {
        s.function_stats(&[], all)
            .unwrap()
            .into_iter()
            .map(|f| (f.function, f.invocations, f.errors))
            .collect()
    };
    let groups = |s: &S| -> Vec<(String, u64)> {
        let mut g: Vec<_> = s
            .error_groups(&ErrorQuery {
                limit: usize::MAX,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|g| (g.function, g.count))
            .collect();
        g.sort();
        g
    };
    // Sealed first, so backends that read sealed rows instead of raw ones delete from both.
    store.seal(T0 + 30 * DAY).unwrap();
    let before_stats = stats(&store);
    let before_full = store.function_stats(&[], all).unwrap();
    let before_groups = groups(&store);
    let before_envs = store.environments("orders").unwrap();
    assert_eq!(before_stats.len(), 2);
    let orders_from = |s: &S, from: i64| {
        s.function_stats(
            &["orders".to_string()],
            TimeRange {
                from_ms: Some(from),
                to_ms: None,
            },
        )
        .unwrap()
    };

    // Partial at the end of the first day: the streams are named after that day, so the
    // second day's invocations are stored with the first day's (where a backend keeps them
    // by day), and must stay.
    let after_first = orders_from(&store, T0 + DAY);
    let d = store.delete_function("orders", Some(T0 + DAY)).unwrap();
    assert_eq!(d.invocations, 8, "{d:?}");
    assert_eq!(stats(&store)[0], ("orders".to_string(), 32, 6));
    assert_stats_eq(
        &orders_from(&store, T0 + DAY),
        &after_first,
        "what follows the cutoff is untouched",
    );
    // Each environment counts the invocations (and cold starts) left after the cutoff.
    let envs = |s: &S| -> Vec<(String, u64, u64)> {
        let mut e: Vec<_> = s
            .environments("orders")
            .unwrap()
            .into_iter()
            .map(|e| (e.log_stream, e.invocations, e.cold_starts))
            .collect();
        e.sort();
        e
    };
    let mut left_envs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for p in parts
        .iter()
        .filter(|p| p.function == "orders" && p.start_ms >= Some(T0 + DAY))
    {
        let e = left_envs.entry(p.log_stream.to_string()).or_default();
        e.0 += 1;
        e.1 += u64::from(p.is_cold());
    }
    let left_envs: Vec<_> = left_envs.into_iter().map(|(k, (n, c))| (k, n, c)).collect();
    assert_eq!(envs(&store), left_envs, "environments after the cutoff");
    store.seal(T0 + 30 * DAY).unwrap();
    assert_stats_eq(
        &orders_from(&store, T0 + DAY),
        &after_first,
        "and stays so once sealed again",
    );
    assert_eq!(envs(&store), left_envs, "environments once sealed again");

    // Partial: whole days before the cutoff, of one function only.
    let cut = T0 + 2 * DAY;
    let d = store.delete_function("orders", Some(cut)).unwrap();
    assert_eq!(d.invocations, 8, "{d:?}");
    assert!(!d.function);
    let left: Vec<_> = store
        .invocations(&InvocationQuery {
            limit: 1000,
            functions: vec!["orders".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(left.len(), 24);
    assert_eq!(stats(&store)[0], ("orders".to_string(), 24, 4));
    assert_eq!(
        stats(&store)[1],
        before_stats[1],
        "the other function is untouched"
    );
    // Not a midnight: refused, nothing deleted.
    assert!(store.delete_function("orders", Some(cut + 1)).is_err());
    store
        .ingest(&IngestBatch {
            parts: parts.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        stats(&store),
        before_stats,
        "re-ingest restores the statistics"
    );
    assert_eq!(groups(&store), before_groups, "and the error totals");
    assert_stats_eq(
        &store.function_stats(&[], all).unwrap(),
        &before_full,
        "every statistic",
    );
    assert_eq!(
        store.environments("orders").unwrap(),
        before_envs,
        "and the environments"
    );

    // Whole: the name goes too; the other function stays; a correct re-ingest under the right
    // name then counts once.
    let d = store.delete_function("unknown", None).unwrap();
    assert_eq!(d.invocations, 30);
    assert!(
        d.function && d.environments == 4 && d.error_groups == 1,
        "{d:?}"
    );
    let names: Vec<_> = store
        .functions()
        .unwrap()
        .into_iter()
        .map(|m| m.function)
        .collect();
    assert_eq!(names, ["orders"]);
    assert_eq!(stats(&store), before_stats[..1]);
    assert_eq!(groups(&store), before_groups[..1]);
    // Deleting what is not there deletes nothing.
    assert_eq!(
        store.delete_function("unknown", None).unwrap(),
        crate::DeleteStats::default()
    );
    // Ingest keeps working after the ids it cached were deleted.
    let again: Vec<_> = parts
        .iter()
        .filter(|p| p.function == "unknown")
        .cloned()
        .collect();
    let r = store
        .ingest(&IngestBatch {
            parts: again,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.inserted, 30);
    assert_eq!(stats(&store), before_stats);
}

// ---------------------------------------------------------------------------------------------
// Per-size statistics

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
