//! Alert rules: built-in thresholds from the peers (peers-and-pricing.md §5), target
//! matching, the incident lifecycle with flap damping, error-policy cooldowns, dry runs, and
//! properties of the state machine and the evaluator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tern_core::alert::*;
use tern_core::report::{Dist, FunctionReport};
use tern_core::sketch::Sketch;

const MIN: i64 = 60 * 1000;

// ---------------------------------------------------------------------------------------------
// Helpers.

fn policy(name: &str) -> MetricPolicy {
    builtin_policies()
        .into_iter()
        .find(|p| p.name == name)
        .expect("built-in exists")
}

fn render(e: &Evaluation) -> String {
    match e {
        Evaluation::Firing { value, threshold } => format!("firing {value} > {threshold}"),
        Evaluation::Ok { value, threshold } => format!("ok {value} vs {threshold}"),
        Evaluation::NoData(r) => format!("no data: {}", r.as_str()),
        Evaluation::BelowMinimum {
            invocations,
            minimum,
        } => format!("below minimum {invocations} < {minimum}"),
    }
}

/// Evaluate the built-in `name` on `w` and compare the rendered verdict with `expect`.
#[track_caller]
fn check(name: &str, w: &WindowStats, expect: &str) {
    let got = render(&evaluate(&policy(name), w));
    assert_eq!(got, expect, "{name} on {w:?}");
}

fn calls(invocations: u64) -> WindowStats {
    WindowStats {
        invocations,
        ..WindowStats::default()
    }
}

fn durations(p99: f64) -> Dist {
    Dist {
        avg: p99 / 2.0,
        p50: p99 / 2.0,
        p95: p99 * 0.9,
        p99,
        max: p99,
    }
}

fn flat_history(count: u64, buckets: usize) -> SpikeHistory {
    SpikeHistory::from_counts(&vec![count; buckets], FIVE_MINUTES_MS)
}

/// 48 hours of 5-minute buckets.
const DAY2: usize = 576;

// ---------------------------------------------------------------------------------------------
// Built-ins.

#[test]
fn builtins_are_valid_named_and_on() {
    let all = builtin_policies();
    let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            TIMEOUT_OR_OOM,
            ERROR_RATE,
            NEAR_TIMEOUT,
            INVOCATION_SPIKE,
            MEMORY
        ]
    );
    for p in &all {
        p.validate().unwrap();
        assert!(p.enabled, "{}", p.name);
        assert_eq!(p.window_ms, 5 * MIN);
        assert_eq!(p.target, Target::all());
    }
    let errors = builtin_error_policies();
    for p in &errors {
        p.validate().unwrap();
        assert!(p.enabled);
    }
    let mut got: Vec<&str> = names;
    got.extend(errors.iter().map(|p| p.name.as_str()));
    assert_eq!(got, BUILTIN_NAMES);
}

#[test]
fn builtins_switch_off_by_name() {
    let mut m = builtin_policies();
    let mut e = builtin_error_policies();
    let unknown = switch_off(
        &mut m,
        &mut e,
        &[ERROR_RATE, "builtin.regression", "builtin.typo"],
    );
    assert_eq!(unknown, ["builtin.typo"]);
    let off: Vec<&str> = m
        .iter()
        .map(|p| (p.name.as_str(), p.enabled))
        .chain(e.iter().map(|p| (p.name.as_str(), p.enabled)))
        .filter(|(_, on)| !on)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(off, [ERROR_RATE, REGRESSION]);
    let f = FunctionInfo {
        name: "orders-api".into(),
        ..FunctionInfo::default()
    };
    assert!(!policy_named(&m, ERROR_RATE).applies_to(&f));
    assert!(policy_named(&m, MEMORY).applies_to(&f));
}

fn policy_named<'a>(all: &'a [MetricPolicy], name: &str) -> &'a MetricPolicy {
    all.iter().find(|p| p.name == name).unwrap()
}

#[test]
fn builtin_timeout_or_oom_fires_on_one() {
    check(TIMEOUT_OR_OOM, &calls(500), "ok 0 vs 1");
    check(TIMEOUT_OR_OOM, &calls(0), "ok 0 vs 1");
    let one_timeout = WindowStats {
        timeouts: 1,
        errors: 1,
        ..calls(1)
    };
    check(TIMEOUT_OR_OOM, &one_timeout, "firing 1 > 1");
    let one_oom = WindowStats {
        out_of_memory: 1,
        errors: 1,
        ..calls(1000)
    };
    check(TIMEOUT_OR_OOM, &one_oom, "firing 1 > 1");
    // Handler errors alone are the error-rate policy's business.
    let handler_errors = WindowStats {
        errors: 50,
        ..calls(100)
    };
    check(TIMEOUT_OR_OOM, &handler_errors, "ok 0 vs 1");
}

#[test]
fn builtin_error_rate_is_above_one_percent_with_ten_invocations() {
    let w = |invocations, errors| WindowStats {
        errors,
        ..calls(invocations)
    };
    // Exactly 1% does not fire; just above does.
    check(ERROR_RATE, &w(100, 1), "ok 0.01 vs 0.01");
    check(ERROR_RATE, &w(1000, 10), "ok 0.01 vs 0.01");
    check(ERROR_RATE, &w(1000, 11), "firing 0.011 > 0.01");
    check(ERROR_RATE, &w(100, 2), "firing 0.02 > 0.01");
    // Ten invocations is enough; nine is not, however many failed.
    check(ERROR_RATE, &w(10, 0), "ok 0 vs 0.01");
    check(ERROR_RATE, &w(10, 1), "firing 0.1 > 0.01");
    check(ERROR_RATE, &w(9, 9), "below minimum 9 < 10");
    check(ERROR_RATE, &w(0, 0), "below minimum 0 < 10");
}

#[test]
fn builtin_near_timeout_is_p99_above_95_percent_of_timeout() {
    let w = |p99: f64, timeout_ms: Option<u64>| WindowStats {
        duration: Some(durations(p99)),
        timeout_ms,
        ..calls(200)
    };
    check(NEAR_TIMEOUT, &w(2850.0, Some(3000)), "ok 0.95 vs 0.95");
    check(NEAR_TIMEOUT, &w(2880.0, Some(3000)), "firing 0.96 > 0.95");
    check(
        NEAR_TIMEOUT,
        &w(2851.0, Some(3000)),
        "firing 0.9503333333333334 > 0.95",
    );
    check(
        NEAR_TIMEOUT,
        &w(100.0, Some(3000)),
        &format!("ok {} vs 0.95", 100.0 / 3000.0),
    );
    // Unknown (or zero) timeout: no verdict rather than a guess.
    check(NEAR_TIMEOUT, &w(2880.0, None), "no data: timeout unknown");
    check(
        NEAR_TIMEOUT,
        &w(2880.0, Some(0)),
        "no data: timeout unknown",
    );
    let no_durations = WindowStats {
        timeout_ms: Some(3000),
        ..calls(5)
    };
    check(NEAR_TIMEOUT, &no_durations, "no data: no durations");
    check(NEAR_TIMEOUT, &calls(0), "below minimum 0 < 1");
}

#[test]
fn near_timeout_from_a_sketch_and_from_the_configuration() {
    // 296 fast invocations and 4 at 96% of a 3 s timeout: the nearest-rank p99 (the 297th
    // value) is a slow one, within the sketch's 1% accuracy.
    let mut s = Sketch::new();
    for i in 0..296 {
        s.add(100.0 + f64::from(i % 5));
    }
    for _ in 0..4 {
        s.add(2880.0);
    }
    let f = FunctionInfo {
        name: "orders-api".into(),
        timeout_ms: Some(3000),
        memory_size_mb: Some(1024),
        ..FunctionInfo::default()
    };
    let w = WindowStats {
        duration: dist_of(&s),
        ..calls(300)
    }
    .with_config(&f);
    assert_eq!(w.timeout_ms, Some(3000));
    assert_eq!(w.memory_size_mb, Some(1024));
    match evaluate(&policy(NEAR_TIMEOUT), &w) {
        Evaluation::Firing { value, threshold } => {
            assert!((value - 0.96).abs() < 0.0096, "{value}");
            assert_eq!(threshold, 0.95);
        }
        other => panic!("expected firing, got {other:?}"),
    }
    // Three slow ones are exactly 1%: p99 is a fast one.
    let mut s = Sketch::new();
    for i in 0..297 {
        s.add(100.0 + f64::from(i % 5));
    }
    for _ in 0..3 {
        s.add(2880.0);
    }
    let w = WindowStats {
        duration: dist_of(&s),
        ..calls(300)
    }
    .with_config(&f);
    assert!(matches!(
        evaluate(&policy(NEAR_TIMEOUT), &w),
        Evaluation::Ok { .. }
    ));
    // Uniform durations at exactly 95%: the sketch's percentile is clamped to the exact max.
    let mut s = Sketch::new();
    for _ in 0..50 {
        s.add(2850.0);
    }
    let w = WindowStats {
        duration: dist_of(&s),
        ..calls(50)
    }
    .with_config(&f);
    check(NEAR_TIMEOUT, &w, "ok 0.95 vs 0.95");
    assert_eq!(dist_of(&Sketch::new()), None);
}

#[test]
fn builtin_memory_is_above_95_percent_of_provisioned() {
    let w = |used: Option<u32>, size: Option<u32>| WindowStats {
        max_memory_used_mb: used,
        memory_size_mb: size,
        ..calls(20)
    };
    check(MEMORY, &w(Some(950), Some(1000)), "ok 0.95 vs 0.95");
    check(MEMORY, &w(Some(951), Some(1000)), "firing 0.951 > 0.95");
    check(MEMORY, &w(Some(972), Some(1024)), "ok 0.94921875 vs 0.95");
    check(
        MEMORY,
        &w(Some(973), Some(1024)),
        "firing 0.9501953125 > 0.95",
    );
    check(MEMORY, &w(Some(128), Some(128)), "firing 1 > 0.95");
    check(MEMORY, &w(Some(900), None), "no data: memory size unknown");
    check(MEMORY, &w(None, Some(1024)), "no data: no memory figures");
}

#[test]
fn builtin_spike_fires_above_125_percent_of_the_48h_peak() {
    let w = |now: u64, history: Option<SpikeHistory>| WindowStats {
        history,
        ..calls(now)
    };
    let flat = Some(flat_history(200, DAY2));
    // Flat traffic, and exactly 125%, do not fire; 126% does.
    check(INVOCATION_SPIKE, &w(200, flat), "ok 200 vs 250");
    check(INVOCATION_SPIKE, &w(250, flat), "ok 250 vs 250");
    check(INVOCATION_SPIKE, &w(252, flat), "firing 252 > 250");
    // The peak is the highest bucket, not the average: a daily peak of 1000 covers 1200.
    let mut daily = vec![200u64; DAY2];
    daily[100] = 1000;
    daily[400] = 900;
    let daily = Some(SpikeHistory::from_counts(&daily, FIVE_MINUTES_MS));
    check(INVOCATION_SPIKE, &w(1200, daily), "ok 1200 vs 1250");
    check(INVOCATION_SPIKE, &w(1260, daily), "firing 1260 > 1250");
    // Small baselines do not fire: 1 → 2, 40 → 60 and 79 → 99 are under the minimum.
    check(
        INVOCATION_SPIKE,
        &w(2, Some(flat_history(1, DAY2))),
        "below minimum 2 < 100",
    );
    check(
        INVOCATION_SPIKE,
        &w(60, Some(flat_history(40, DAY2))),
        "below minimum 60 < 100",
    );
    check(
        INVOCATION_SPIKE,
        &w(99, Some(flat_history(79, DAY2))),
        "below minimum 99 < 100",
    );
    // A function idle for 48 hours that suddenly loops fires: the minimum gates the current
    // window, not the baseline.
    check(
        INVOCATION_SPIKE,
        &w(5000, Some(flat_history(0, DAY2))),
        "firing 5000 > 0",
    );
    // History too short, or absent: no verdict.
    check(
        INVOCATION_SPIKE,
        &w(5000, Some(flat_history(10, 11))),
        "no data: not enough invocation history",
    );
    check(
        INVOCATION_SPIKE,
        &w(5000, Some(flat_history(10, 12))),
        "firing 5000 > 12.5",
    );
    check(
        INVOCATION_SPIKE,
        &w(5000, None),
        "no data: no invocation history",
    );
    // One-minute buckets are scaled to the 5-minute window: a 1-minute peak of 40 is 200.
    let per_minute = Some(SpikeHistory::from_counts(&vec![40; 48 * 60], MIN));
    check(INVOCATION_SPIKE, &w(250, per_minute), "ok 250 vs 250");
    check(INVOCATION_SPIKE, &w(251, per_minute), "firing 251 > 250");
}

#[test]
fn window_stats_from_a_report() {
    let r = FunctionReport {
        function: "orders-api".into(),
        invocations: 40,
        errors: 2,
        timeouts: 1,
        duration_ms: Some(durations(2900.0)),
        memory_size_mb: Some(512),
        max_memory_used_mb: Some(100),
        inferred_timeout_ms: Some(3000),
        cost_usd: 0.25,
        ..FunctionReport::default()
    };
    let w = WindowStats::from(&r);
    assert_eq!(w.timeout_ms, Some(3000));
    check(
        NEAR_TIMEOUT,
        &w,
        &format!("firing {} > 0.95", 2900.0 / 3000.0),
    );
    check(ERROR_RATE, &w, "firing 0.05 > 0.01");
    check(TIMEOUT_OR_OOM, &w, "firing 1 > 1");
    check(MEMORY, &w, "ok 0.1953125 vs 0.95");
}

// ---------------------------------------------------------------------------------------------
// Custom metric policies.

fn custom(
    metric: Metric,
    aggregation: Aggregation,
    comparison: Comparison,
    threshold: f64,
) -> MetricPolicy {
    MetricPolicy {
        name: "custom".into(),
        target: Target::all(),
        metric,
        aggregation,
        comparison,
        threshold,
        window_ms: 15 * MIN,
        min_invocations: 0,
        severity: Severity::Warning,
        enabled: true,
    }
}

#[test]
fn every_metric_evaluates() {
    let w = WindowStats {
        invocations: 200,
        errors: 10,
        timeouts: 2,
        out_of_memory: 1,
        cold_starts: 4,
        duration: Some(Dist {
            avg: 120.0,
            p50: 100.0,
            p95: 300.0,
            p99: 900.0,
            max: 1500.0,
        }),
        max_memory_used_mb: Some(256),
        memory_size_mb: Some(1024),
        timeout_ms: Some(3000),
        cost_usd: 0.5,
        log_lines: Some(4000),
        log_bytes: Some(1_000_000),
        history: None,
    };
    use Aggregation::*;
    for (metric, agg, want) in [
        (Metric::Invocations, Sum, 200.0),
        (Metric::Errors, Sum, 10.0),
        (Metric::ErrorRate, Avg, 0.05),
        (Metric::Timeouts, Sum, 2.0),
        (Metric::OutOfMemory, Sum, 1.0),
        (Metric::TimeoutsOrOom, Sum, 3.0),
        (Metric::ColdStarts, Sum, 4.0),
        (Metric::ColdStartRate, Avg, 0.02),
        (Metric::Duration, P50, 100.0),
        (Metric::Duration, P95, 300.0),
        (Metric::Duration, P99, 900.0),
        (Metric::Duration, Max, 1500.0),
        (Metric::Duration, Avg, 120.0),
        (Metric::DurationFractionOfTimeout, Max, 0.5),
        (Metric::MemoryFraction, Max, 0.25),
        (Metric::Cost, Sum, 0.5),
        (Metric::Cost, Avg, 0.0025),
        (Metric::LogLines, Sum, 4000.0),
        (Metric::LogBytes, Sum, 1_000_000.0),
    ] {
        let p = custom(metric, agg, Comparison::Ge, want);
        p.validate().unwrap();
        assert_eq!(
            evaluate(&p, &w),
            Evaluation::Firing {
                value: want,
                threshold: want
            },
            "{metric:?} {agg:?}"
        );
        let p = custom(metric, agg, Comparison::Gt, want);
        assert_eq!(
            evaluate(&p, &w),
            Evaluation::Ok {
                value: want,
                threshold: want
            },
            "{metric:?} {agg:?}"
        );
    }
    // Below-threshold comparisons: alert when traffic drops.
    let low = custom(Metric::Invocations, Sum, Comparison::Lt, 500.0);
    assert!(evaluate(&low, &w).is_firing());
    let le = custom(Metric::Invocations, Sum, Comparison::Le, 200.0);
    assert!(evaluate(&le, &w).is_firing());
    // Absent optional inputs.
    let no_logs = WindowStats {
        log_lines: None,
        log_bytes: None,
        ..w.clone()
    };
    for m in [Metric::LogLines, Metric::LogBytes] {
        assert_eq!(
            evaluate(&custom(m, Sum, Comparison::Gt, 1.0), &no_logs),
            Evaluation::NoData(NoDataReason::NoLogVolume)
        );
    }
    // Rates over zero invocations with no minimum: no data, not 0%.
    for p in [
        custom(Metric::ErrorRate, Avg, Comparison::Gt, 0.0),
        custom(Metric::Cost, Avg, Comparison::Gt, 0.0),
    ] {
        assert_eq!(
            evaluate(&p, &WindowStats::default()),
            Evaluation::NoData(NoDataReason::NoInvocations)
        );
    }
}

#[test]
fn invalid_policies_are_reported_and_never_evaluate() {
    let bad_agg = custom(Metric::ErrorRate, Aggregation::P99, Comparison::Gt, 0.1);
    let err = bad_agg.validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "aggregation p99 does not apply to metric error_rate (use one of: avg)"
    );
    assert_eq!(
        evaluate(&bad_agg, &calls(100)),
        Evaluation::NoData(NoDataReason::InvalidPolicy)
    );
    let nan = custom(Metric::Errors, Aggregation::Sum, Comparison::Gt, f64::NAN);
    assert!(matches!(nan.validate(), Err(PolicyError::Threshold(_))));
    let no_window = MetricPolicy {
        window_ms: 0,
        ..custom(Metric::Errors, Aggregation::Sum, Comparison::Gt, 1.0)
    };
    assert_eq!(no_window.validate(), Err(PolicyError::Window(0)));
    let unnamed = MetricPolicy {
        name: " ".into(),
        ..custom(Metric::Errors, Aggregation::Sum, Comparison::Gt, 1.0)
    };
    assert_eq!(unnamed.validate(), Err(PolicyError::EmptyName));
}

#[test]
fn names_parse_back() {
    for m in Metric::ALL {
        assert_eq!(Metric::parse(m.as_str()), Some(m));
        assert_eq!(m.default_aggregation(), m.aggregations()[0]);
    }
    for a in Aggregation::ALL {
        assert_eq!(Aggregation::parse(a.as_str()), Some(a));
    }
    for s in Severity::ALL {
        assert_eq!(Severity::parse(s.as_str()), Some(s));
    }
    for c in [
        Comparison::Gt,
        Comparison::Ge,
        Comparison::Lt,
        Comparison::Le,
    ] {
        assert_eq!(Comparison::parse(c.as_str()), Some(c));
    }
    assert_eq!(Comparison::parse("GE"), Some(Comparison::Ge));
    assert_eq!(Metric::parse("P99"), None);
    for t in [
        ErrorTrigger::NewGroup,
        ErrorTrigger::Regression,
        ErrorTrigger::EveryOccurrence,
    ] {
        assert_eq!(ErrorTrigger::parse(t.as_str()), Some(t));
    }
}

// ---------------------------------------------------------------------------------------------
// Targets.

fn function(name: &str, tags: &[(&str, &str)], account: &str, region: &str) -> FunctionInfo {
    FunctionInfo {
        name: name.into(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        account: account.into(),
        region: region.into(),
        timeout_ms: None,
        memory_size_mb: None,
    }
}

#[test]
fn targets_match_by_glob_tag_account_and_region() {
    let orders = function(
        "orders-api-prod",
        &[("team", "payments"), ("env", "prod")],
        "123456789012",
        "eu-west-1",
    );
    let billing = function(
        "billing-worker",
        &[("team", "billing")],
        "210987654321",
        "us-east-1",
    );
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let tags = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let cases: Vec<(Target, bool, bool)> = vec![
        (Target::all(), true, true),
        (
            Target {
                functions: strs(&["orders-*"]),
                ..Target::all()
            },
            true,
            false,
        ),
        (
            Target {
                functions: strs(&["*-prod", "billing-?orker"]),
                ..Target::all()
            },
            true,
            true,
        ),
        (
            Target {
                functions: strs(&["orders"]),
                ..Target::all()
            },
            false,
            false,
        ),
        (
            Target {
                tags: tags(&[("team", "payments")]),
                ..Target::all()
            },
            true,
            false,
        ),
        (
            Target {
                tags: tags(&[("team", "*")]),
                ..Target::all()
            },
            true,
            true,
        ),
        // Every tag must be present.
        (
            Target {
                tags: tags(&[("team", "payments"), ("env", "staging")]),
                ..Target::all()
            },
            false,
            false,
        ),
        (
            Target {
                tags: tags(&[("owner", "*")]),
                ..Target::all()
            },
            false,
            false,
        ),
        (
            Target {
                accounts: strs(&["123456789012"]),
                ..Target::all()
            },
            true,
            false,
        ),
        (
            Target {
                regions: strs(&["us-*"]),
                ..Target::all()
            },
            false,
            true,
        ),
        (
            Target {
                regions: strs(&["eu-west-1", "us-east-1"]),
                ..Target::all()
            },
            true,
            true,
        ),
        // Lists combine with AND.
        (
            Target {
                functions: strs(&["*"]),
                accounts: strs(&["210987654321"]),
                regions: strs(&["eu-*"]),
                ..Target::all()
            },
            false,
            false,
        ),
    ];
    for (target, want_orders, want_billing) in cases {
        assert_eq!(target.matches(&orders), want_orders, "{target:?} vs orders");
        assert_eq!(
            target.matches(&billing),
            want_billing,
            "{target:?} vs billing"
        );
    }
    assert!(glob_match("orders-*-prod", "orders-api-prod"));
}

// ---------------------------------------------------------------------------------------------
// Incidents.

fn firing() -> Evaluation {
    Evaluation::Firing {
        value: 2.0,
        threshold: 1.0,
    }
}

fn ok() -> Evaluation {
    Evaluation::Ok {
        value: 0.0,
        threshold: 1.0,
    }
}

/// Step through `(minute, evaluation)` pairs; return the transitions with their minute.
fn run(
    evals: impl IntoIterator<Item = (i64, Evaluation)>,
    damping: &Damping,
) -> (IncidentState, Vec<Transition>) {
    let mut state: Option<IncidentState> = None;
    let mut all = Vec::new();
    for (minute, e) in evals {
        let (next, t) = step(state.as_ref(), &e, minute * MIN, damping);
        assert!(t.len() <= 1);
        all.extend(t);
        state = Some(next);
    }
    (state.unwrap_or_default(), all)
}

fn count_opened(t: &[Transition]) -> usize {
    t.iter()
        .filter(|t| matches!(t, Transition::Opened { .. }))
        .count()
}

fn count_resolved(t: &[Transition]) -> usize {
    t.iter()
        .filter(|t| matches!(t, Transition::Resolved { .. }))
        .count()
}

#[test]
fn incident_opens_once_and_resolves_after_the_clear_period() {
    let d = Damping::default();
    // Firing for 10 minutes, then OK.
    let evals = (0..40).map(|m| (m, if m < 10 { firing() } else { ok() }));
    let (state, t) = run(evals, &d);
    assert_eq!(
        t,
        [
            Transition::Opened {
                at_ms: 0,
                value: 2.0,
                threshold: 1.0,
                flaps: 0
            },
            // First OK at minute 10; clear for 5 minutes at minute 15.
            Transition::Resolved {
                at_ms: 15 * MIN,
                opened_at_ms: 0,
                reason: ResolveReason::Cleared
            },
        ]
    );
    assert!(!state.is_open());
    assert_eq!(state.last_resolved_ms, Some(15 * MIN));
}

#[test]
fn a_firing_evaluation_restarts_the_clear_period() {
    let d = Damping::default();
    let mut evals: Vec<(i64, Evaluation)> = vec![(0, firing())];
    evals.extend((1..=4).map(|m| (m, ok())));
    evals.push((5, firing()));
    evals.extend((6..=20).map(|m| (m, ok())));
    let (_, t) = run(evals, &d);
    assert_eq!(count_opened(&t), 1);
    assert_eq!(
        t.last(),
        Some(&Transition::Resolved {
            at_ms: 11 * MIN,
            opened_at_ms: 0,
            reason: ResolveReason::Cleared
        })
    );
}

#[test]
fn ok_evaluations_alone_need_the_minimum_count() {
    // Evaluations every 10 minutes: the clear period passes after one OK, but three are needed.
    let d = Damping::default();
    let evals = [(0, firing()), (10, ok()), (20, ok()), (30, ok())];
    let (_, t) = run(evals, &d);
    assert_eq!(
        t.last(),
        Some(&Transition::Resolved {
            at_ms: 30 * MIN,
            opened_at_ms: 0,
            reason: ResolveReason::Cleared
        })
    );
}

#[test]
fn open_after_needs_consecutive_firing_evaluations() {
    let d = Damping {
        open_after: 3,
        ..Damping::default()
    };
    let (_, t) = run(
        [
            (0, firing()),
            (1, firing()),
            (2, ok()),
            (3, firing()),
            (4, firing()),
        ],
        &d,
    );
    assert!(t.is_empty());
    let (state, t) = run((0..3).map(|m| (m, firing())), &d);
    assert_eq!(count_opened(&t), 1);
    assert!(state.is_open());
}

#[test]
fn alternating_fire_and_ok_notifies_once() {
    // Every other minute for a day: the OK streak never reaches three, so it stays open.
    let (state, t) = run(
        (0..24 * 60).map(|m| (m, if m % 2 == 0 { firing() } else { ok() })),
        &Damping::default(),
    );
    assert_eq!(count_opened(&t), 1);
    assert_eq!(count_resolved(&t), 0);
    assert!(state.is_open());
}

#[test]
fn flapping_notifies_a_bounded_number_of_times() {
    // With the defaults (5 min base, doubling, 1 h cap) one flapping episode opens at most
    // 1 + ceil(log2(60 / 5)) = 5 times, whatever the period below the cap.
    let d = Damping::default();
    let bound = 1
        + (d.max_resolve_after_ms as f64 / d.resolve_after_ms as f64)
            .log2()
            .ceil() as usize;
    assert_eq!(bound, 5);
    let mut worst = 0;
    for period in 2..60 {
        let (_, t) = run(
            (0..24 * 60).map(|m| (m, if m % period == 0 { firing() } else { ok() })),
            &d,
        );
        let opened = count_opened(&t);
        assert!(
            opened >= 1 && opened <= bound,
            "period {period}: {opened} opened"
        );
        assert!(count_resolved(&t) <= opened);
        worst = worst.max(opened);
    }
    // The bound is reached (a 50-minute period re-opens four times before holding open).
    assert_eq!(worst, bound);
    // The clear period doubles per flap: 5, 10, 20, 40, then the 60-minute cap.
    let periods: Vec<i64> = (0..6).map(|k| d.clear_period_ms(k) / MIN).collect();
    assert_eq!(periods, [5, 10, 20, 40, 60, 60]);
    assert_eq!(d.clear_period_ms(u32::MAX), 60 * MIN);
}

#[test]
fn distinct_incidents_far_apart_are_not_damped() {
    // A condition firing for 1 minute every 3 hours: each is its own incident, all notified.
    let d = Damping::default();
    let (_, t) = run(
        (0..24 * 60).map(|m| (m, if m % 180 == 0 { firing() } else { ok() })),
        &d,
    );
    assert_eq!(count_opened(&t), 8);
    assert_eq!(count_resolved(&t), 8);
    assert!(t.iter().all(|t| match t {
        Transition::Opened { flaps, .. } => *flaps == 0,
        Transition::Resolved { reason, .. } => *reason == ResolveReason::Cleared,
    }));
}

#[test]
fn no_data_neither_resolves_nor_opens() {
    let d = Damping::default();
    let nodata = Evaluation::NoData(NoDataReason::NoDurations);
    let below = Evaluation::BelowMinimum {
        invocations: 3,
        minimum: 10,
    };
    // Closed: nothing happens.
    let (state, t) = run((0..120).map(|m| (m, nodata)), &d);
    assert!(t.is_empty());
    assert_eq!(state, IncidentState::default());
    // Open, then silence: it holds for an hour after the last firing, then resolves as quiet.
    let mut evals = vec![(0, firing()), (1, firing())];
    evals.extend((2..=120).map(|m| (m, if m % 2 == 0 { nodata } else { below })));
    let (state, t) = run(evals, &d);
    assert_eq!(
        t,
        [
            Transition::Opened {
                at_ms: 0,
                value: 2.0,
                threshold: 1.0,
                flaps: 0
            },
            Transition::Resolved {
                at_ms: 61 * MIN,
                opened_at_ms: 0,
                reason: ResolveReason::Quiet
            },
        ]
    );
    assert!(!state.is_open());
    // NoData between OK evaluations does not break the OK streak.
    let evals = [
        (0, firing()),
        (1, ok()),
        (2, nodata),
        (3, ok()),
        (4, below),
        (5, nodata),
        (6, ok()),
    ];
    let (_, t) = run(evals, &d);
    assert_eq!(
        t.last(),
        Some(&Transition::Resolved {
            at_ms: 6 * MIN,
            opened_at_ms: 0,
            reason: ResolveReason::Cleared
        })
    );
}

#[test]
fn withdrawing_resolves_an_open_incident_only() {
    let (open, _) = step(None, &firing(), 0, &Damping::default());
    let (closed, t) = withdraw(Some(&open), 7 * MIN);
    assert!(!closed.is_open());
    assert_eq!(
        t,
        [Transition::Resolved {
            at_ms: 7 * MIN,
            opened_at_ms: 0,
            reason: ResolveReason::Withdrawn
        }]
    );
    let (again, t) = withdraw(Some(&closed), 8 * MIN);
    assert!(t.is_empty());
    assert_eq!(again, closed);
}

// ---------------------------------------------------------------------------------------------
// Error policies.

fn error_policy(on: ErrorTrigger, cooldown_ms: i64) -> ErrorPolicy {
    ErrorPolicy {
        name: "errors".into(),
        target: Target::all(),
        on,
        cooldown_ms,
        severity: Severity::Warning,
        enabled: true,
    }
}

#[test]
fn error_policies_react_to_their_trigger() {
    use GroupEvent::*;
    for (on, new, regression, occurrence) in [
        (ErrorTrigger::NewGroup, true, false, false),
        (ErrorTrigger::Regression, false, true, false),
        (ErrorTrigger::EveryOccurrence, true, true, true),
    ] {
        let p = error_policy(on, 0);
        for (event, want) in [
            (New, new),
            (Regression, regression),
            (Occurrence, occurrence),
        ] {
            let got = decide(&p, event, None, 0);
            let expect = if want {
                ErrorDecision::Notify
            } else {
                ErrorDecision::NotTriggered
            };
            assert_eq!(got, expect, "{on:?} on {event:?}");
        }
    }
    let off = ErrorPolicy {
        enabled: false,
        ..error_policy(ErrorTrigger::EveryOccurrence, 0)
    };
    assert_eq!(decide(&off, New, None, 0), ErrorDecision::Disabled);
}

#[test]
fn error_policy_cooldown_per_group() {
    let p = error_policy(ErrorTrigger::EveryOccurrence, 10 * MIN);
    let ev = GroupEvent::Occurrence;
    // Never notified: notify.
    assert_eq!(decide(&p, ev, None, 0), ErrorDecision::Notify);
    // Notified at minute 0: minutes 1..10 are cooling down, minute 10 notifies again.
    for m in [0, 1, 9] {
        assert_eq!(
            decide(&p, ev, Some(0), m * MIN),
            ErrorDecision::CoolingDown { until_ms: 10 * MIN }
        );
    }
    assert_eq!(
        decide(&p, ev, Some(0), 10 * MIN - 1),
        ErrorDecision::CoolingDown { until_ms: 10 * MIN }
    );
    assert_eq!(decide(&p, ev, Some(0), 10 * MIN), ErrorDecision::Notify);
    // Clock went backwards: hold.
    assert_eq!(
        decide(&p, ev, Some(20 * MIN), 5 * MIN),
        ErrorDecision::CoolingDown { until_ms: 30 * MIN }
    );
    // No cooldown (or a negative one): every occurrence notifies.
    for cooldown in [0, -5] {
        let p = error_policy(ErrorTrigger::EveryOccurrence, cooldown);
        assert_eq!(decide(&p, ev, Some(0), 0), ErrorDecision::Notify);
    }
    assert!(error_policy(ErrorTrigger::NewGroup, -1).validate().is_err());
    // A simulated stream of occurrences every minute for an hour, cooldown 10 minutes:
    // exactly 6 notifications.
    let mut last = None;
    let mut sent = 0;
    for m in 0..60 {
        if decide(&p, ev, last, m * MIN) == ErrorDecision::Notify {
            sent += 1;
            last = Some(m * MIN);
        }
    }
    assert_eq!(sent, 6);
}

// ---------------------------------------------------------------------------------------------
// Dry runs.

#[test]
fn dry_run_lists_what_would_have_fired() {
    let mut p = policy(ERROR_RATE);
    p.enabled = false; // Dry runs ignore the switch.
                       // Two hours of one-minute evaluations over 5-minute windows of 100 invocations; errors
                       // at 5% in minutes 30..40 and 20% at minute 35; traffic too low in minutes 90..100.
    let windows: Vec<(i64, WindowStats)> = (0..120)
        .map(|m| {
            let errors = match m {
                35 => 20,
                30..=39 => 5,
                _ => 0,
            };
            let invocations = if (90..100).contains(&m) { 5 } else { 100 };
            (
                m * MIN,
                WindowStats {
                    errors,
                    ..calls(invocations)
                },
            )
        })
        .collect();
    let run = dry_run(&p, &windows, &Damping::default());
    assert_eq!(run.firing, 10);
    assert_eq!(run.below_minimum, 10);
    assert_eq!(run.ok, 100);
    assert_eq!(run.no_data, 0);
    assert_eq!(
        run.incidents,
        [DryRunIncident {
            opened_at_ms: 30 * MIN,
            resolved_at_ms: Some(45 * MIN),
            resolve_reason: Some(ResolveReason::Cleared),
            value: 0.05,
            threshold: 0.01,
            worst_value: 0.2,
        }]
    );
    assert_eq!(run.transitions.len(), 2);
    assert!(!run.state.is_open());
    // A series that ends firing leaves the incident open.
    let run = dry_run(&p, &windows[..35], &Damping::default());
    assert_eq!(run.incidents.len(), 1);
    assert_eq!(run.incidents[0].resolved_at_ms, None);
    assert!(run.state.is_open());
    // Empty series: nothing.
    assert_eq!(dry_run(&p, &[], &Damping::default()), DryRun::default());
}

#[test]
fn dry_run_worst_value_follows_the_comparison() {
    let evals = [(0, 5.0), (MIN, 2.0), (2 * MIN, 7.0)].map(|(at, v)| {
        (
            at,
            Evaluation::Firing {
                value: v,
                threshold: 10.0,
            },
        )
    });
    let low = replay(Comparison::Lt, evals, &Damping::default());
    assert_eq!(low.incidents[0].worst_value, 2.0);
    let high = replay(Comparison::Gt, evals, &Damping::default());
    assert_eq!(high.incidents[0].worst_value, 7.0);
}

// ---------------------------------------------------------------------------------------------
// Properties.

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        -1e12f64..1e12,
        any::<f64>(),
    ]
}

fn any_evaluation() -> impl Strategy<Value = Evaluation> {
    prop_oneof![
        (any_f64(), any_f64())
            .prop_map(|(value, threshold)| Evaluation::Firing { value, threshold }),
        (any_f64(), any_f64()).prop_map(|(value, threshold)| Evaluation::Ok { value, threshold }),
        Just(Evaluation::NoData(NoDataReason::UnknownTimeout)),
        (any::<u64>(), any::<u64>()).prop_map(|(invocations, minimum)| Evaluation::BelowMinimum {
            invocations,
            minimum
        }),
    ]
}

fn any_ms() -> impl Strategy<Value = i64> {
    prop_oneof![-10 * MIN..180 * MIN, any::<i64>()]
}

fn any_damping() -> impl Strategy<Value = Damping> {
    (0u32..5, 0u32..5, any_ms(), any_ms(), any_ms(), any_ms()).prop_map(
        |(open_after, resolve_after_evals, a, b, c, e)| Damping {
            open_after,
            resolve_after_evals,
            resolve_after_ms: a,
            flap_window_ms: b,
            max_resolve_after_ms: c,
            quiet_resolve_ms: e,
        },
    )
}

fn any_stats() -> impl Strategy<Value = WindowStats> {
    let dist = (any_f64(), any_f64(), any_f64(), any_f64(), any_f64()).prop_map(
        |(avg, p50, p95, p99, max)| Dist {
            avg,
            p50,
            p95,
            p99,
            max,
        },
    );
    let counts = (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        0u64..1000,
    );
    let optional = (
        proptest::option::of(dist),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u64>()),
        any_f64(),
        proptest::option::of(any::<u64>()),
        proptest::option::of((any::<u64>(), any_ms(), any_ms())),
    );
    (counts, optional).prop_map(
        |((i, e, t, o, c, small), (duration, used, size, timeout, cost, logs, hist))| WindowStats {
            invocations: if small % 2 == 0 { small } else { i },
            errors: e,
            timeouts: t,
            out_of_memory: o,
            cold_starts: c,
            duration,
            max_memory_used_mb: used,
            memory_size_mb: size,
            timeout_ms: timeout,
            cost_usd: cost,
            log_lines: logs,
            log_bytes: logs,
            history: hist.map(|(peak, bucket_ms, covered_ms)| SpikeHistory {
                peak,
                bucket_ms,
                covered_ms,
            }),
        },
    )
}

fn any_policy() -> impl Strategy<Value = MetricPolicy> {
    (
        0usize..Metric::ALL.len(),
        0usize..Aggregation::ALL.len(),
        0usize..4,
        any_f64(),
        any_ms(),
        prop_oneof![Just(0u64), 0u64..20, any::<u64>()],
    )
        .prop_map(
            |(m, a, c, threshold, window_ms, min_invocations)| MetricPolicy {
                name: "p".into(),
                target: Target::all(),
                metric: Metric::ALL[m],
                aggregation: Aggregation::ALL[a],
                comparison: [
                    Comparison::Gt,
                    Comparison::Ge,
                    Comparison::Lt,
                    Comparison::Le,
                ][c],
                threshold,
                window_ms,
                min_invocations,
                severity: Severity::Info,
                enabled: true,
            },
        )
}

proptest! {
    /// Notifications pair up: Opened, Resolved, Opened, … never two Opened in a row, never a
    /// Resolved first, and the state agrees with the last transition.
    #[test]
    fn transitions_alternate(
        evals in proptest::collection::vec((any_evaluation(), any_ms()), 0..200),
        damping in any_damping(),
        start in any::<i64>(),
    ) {
        let mut state: Option<IncidentState> = None;
        let mut now = start;
        let mut open = false;
        for (e, dt) in evals {
            now = now.saturating_add(dt);
            let (next, transitions) = step(state.as_ref(), &e, now, &damping);
            prop_assert!(transitions.len() <= 1);
            for t in transitions {
                match t {
                    Transition::Opened { .. } => {
                        prop_assert!(!open, "Opened while open");
                        open = true;
                    }
                    Transition::Resolved { .. } => {
                        prop_assert!(open, "Resolved while closed");
                        open = false;
                    }
                }
            }
            prop_assert_eq!(next.is_open(), open);
            state = Some(next);
        }
    }

    /// The evaluator is total: any policy on any window gives a verdict whose values are
    /// finite, and a valid policy on a valid window never reports an invalid policy.
    #[test]
    fn evaluate_never_panics(policy in any_policy(), w in any_stats()) {
        match evaluate(&policy, &w) {
            Evaluation::Firing { value, threshold } | Evaluation::Ok { value, threshold } => {
                prop_assert!(value.is_finite() && threshold.is_finite());
                prop_assert!(policy.validate().is_ok());
            }
            Evaluation::NoData(NoDataReason::InvalidPolicy) => prop_assert!(policy.validate().is_err()),
            Evaluation::NoData(_) => {}
            Evaluation::BelowMinimum { invocations, minimum } => {
                prop_assert!(invocations < minimum);
            }
        }
    }

    /// Dry runs are total too, and list one incident per Opened.
    #[test]
    fn dry_run_never_panics(
        policy in any_policy(),
        windows in proptest::collection::vec((any_ms(), any_stats()), 0..40),
        damping in any_damping(),
    ) {
        let run = dry_run(&policy, &windows, &damping);
        let opened = run.transitions.iter().filter(|t| matches!(t, Transition::Opened { .. })).count();
        prop_assert_eq!(run.incidents.len(), opened);
        prop_assert_eq!(run.firing + run.ok + run.no_data + run.below_minimum, windows.len());
    }

    /// Globs never panic; `*` matches anything and a pattern without wildcards matches only
    /// itself.
    #[test]
    fn glob_is_total(pattern in "[a-c*?é-]{0,12}", text in "[a-cé-]{0,16}") {
        let _ = glob_match(&pattern, &text);
        prop_assert!(glob_match("*", &text));
        prop_assert!(glob_match(&text, &text));
        if !pattern.contains(['*', '?']) {
            prop_assert_eq!(glob_match(&pattern, &text), pattern == text);
        }
    }

    /// Error-policy decisions are total and a notification is never sent within the cooldown.
    #[test]
    fn cooldown_holds(cooldown in any_ms(), last in proptest::option::of(any::<i64>()), now in any::<i64>()) {
        let p = error_policy(ErrorTrigger::EveryOccurrence, cooldown);
        let d = decide(&p, GroupEvent::Occurrence, last, now);
        if let (ErrorDecision::Notify, Some(last)) = (d, last) {
            prop_assert!(cooldown <= 0 || now.saturating_sub(last) >= cooldown);
        }
    }
}
