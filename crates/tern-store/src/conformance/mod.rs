//! The storage conformance suite every backend runs (after object_store's `integration.rs` and
//! quickwit's `metastore_test_suite!`), so backends cannot drift apart silently.
//!
//! A backend's integration test calls [`conformance_tests!`](crate::conformance_tests) with a
//! module name and a function that makes an empty store; that expands to one `#[test]` per case, plus the
//! split-invariance property (which needs `proptest` among the caller's dev-dependencies).
//! [`run_all`] runs every case in one go.
//!
//! Built only with the `conformance` feature, which only tests enable (as a dev-dependency), so
//! no shipped binary carries it.
//!
//! Stats are compared exactly except float sums (which depend on addition order) and the
//! environments count, which backends may approximate (see `Store::function_stats`).

// This module is test support: a failed expectation must fail the calling test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use tern_core::model::{ErrorInfo, InvocationPart, LogLine, Outcome, ReportMetrics, Signals};
use tern_core::sketch::Sketch;

use tern_core::fingerprint::GROUPING_VERSION;

use crate::{
    ErrorQuery, FunctionMeta, FunctionStats, IngestBatch, InvocationQuery, InvocationRow, Store,
    StreamLines, TimeRange,
};

mod control;
mod errors;
mod functions;
mod incidents;
mod ingest;
mod queries;
mod records;
mod sealing;
mod sizes;
mod writers;

pub use control::*;
pub use errors::*;
pub use functions::*;
pub use incidents::*;
pub use ingest::*;
pub use queries::*;
pub use records::*;
pub use sealing::*;
pub use sizes::*;
pub use writers::*;

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
