//! One fixture per rule: it fires exactly at its threshold and not just below. Dollar effects
//! are checked against list prices written out here, not against the code under test.

use super::*;
use crate::model::Arch;
use crate::report::Dist;

const DAY: i64 = 86_400_000;
/// 2026-11-01T00:00:00Z.
const NOW: i64 = 1_793_491_200_000;
const X86: f64 = 0.000_016_666_7;
const ARM: f64 = 0.000_013_333_4;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

/// 1,000 invocations over one day using 1,000 GB-s, x86_64, us-east-1, 1024 MB.
fn facts() -> FunctionFacts {
    let gb_s = 1000.0;
    let requests = 1000;
    let cost_usd = gb_s * X86 + requests as f64 * 0.2e-6;
    FunctionFacts {
        report: FunctionReport {
            function: "f".into(),
            region: "us-east-1".into(),
            arch: Arch::X86_64,
            invocations: requests,
            memory_size_mb: Some(1024),
            gb_seconds: gb_s,
            billed_duration_ms: gb_s * 1000.0,
            cost_usd,
            monthly_cost_usd: cost_usd * 30.0,
            exact_prices: true,
            ..Default::default()
        },
        usage: vec![Usage {
            region: "us-east-1".into(),
            arch: Arch::X86_64,
            month: 202610,
            requests,
            gb_seconds: gb_s,
        }],
        projection_ms: DAY,
        ..Default::default()
    }
}

fn ctx() -> Context {
    Context {
        now_ms: NOW,
        thresholds: Thresholds::default(),
    }
}

fn run(rule: RuleId, f: &FunctionFacts, c: &Context) -> Option<Insight> {
    evaluate(std::slice::from_ref(f), c)
        .into_iter()
        .find(|i| i.rule == rule)
}

fn fires(rule: RuleId, f: &FunctionFacts) -> Insight {
    run(rule, f, &ctx()).unwrap_or_else(|| panic!("{} did not fire", rule.as_str()))
}

fn quiet(rule: RuleId, f: &FunctionFacts) {
    if let Some(i) = run(rule, f, &ctx()) {
        panic!("{} fired: {i:?}", rule.as_str());
    }
}

fn effect(i: &Insight, pick: fn(&Effect) -> Option<f64>) -> f64 {
    i.effects
        .iter()
        .find_map(pick)
        .unwrap_or_else(|| panic!("no such effect in {i:?}"))
}

fn saving(e: &Effect) -> Option<f64> {
    match e {
        Effect::MonthlySaving(v) => Some(*v),
        _ => None,
    }
}

fn change_cost(e: &Effect) -> Option<f64> {
    match e {
        Effect::ChangeMonthlyCost(v) => Some(*v),
        _ => None,
    }
}

fn monthly_cost(e: &Effect) -> Option<f64> {
    match e {
        Effect::MonthlyCost(v) => Some(*v),
        _ => None,
    }
}

#[test]
fn rule_ids_round_trip_and_are_unique() {
    for r in RuleId::ALL {
        assert_eq!(RuleId::parse(r.as_str()), Some(r));
        assert!(!r.title().is_empty());
    }
    let mut ids: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), RuleId::ALL.len());
    assert_eq!(RuleId::parse("nope"), None);
}

#[test]
fn a_healthy_function_has_no_insights() {
    let mut f = facts();
    f.report.arch = Arch::Arm64;
    f.usage[0].arch = Arch::Arm64;
    assert_eq!(evaluate(&[f], &ctx()), vec![]);
}

/// The memory engine's advice for the fixture's one size: 1,000 invocations of about 1 s.
fn with_advice(mut f: FunctionFacts) -> FunctionFacts {
    use crate::recommend::{self, FunctionInput, SizeSummary, SummaryCounts};
    let r = &f.report;
    let mut d = crate::sketch::Sketch::new();
    for i in 0..r.invocations {
        d.add(950.0 + (i % 100) as f64);
    }
    let summary = SizeSummary::from_sketches(
        SummaryCounts {
            memory_mb: r.memory_size_mb.unwrap_or(128),
            invocations: r.invocations,
            errors: r.out_of_memory,
            oom_kills: r.out_of_memory,
            billed_total_ms: r.billed_duration_ms,
            max_used_mb: r.max_memory_used_mb,
            ..SummaryCounts::default()
        },
        &d,
        &crate::sketch::Sketch::new(),
    );
    let input = FunctionInput {
        function: r.function.clone(),
        region: r.region.clone(),
        monthly_invocations: r.invocations as f64 * 30.0,
        ..FunctionInput::default()
    };
    f.memory = Some(recommend::advise_summary(
        &input,
        summary,
        &recommend::Settings::default(),
    ));
    f
}

fn advice_of(f: &FunctionFacts) -> crate::recommend::Advice {
    match f.memory.as_ref().and_then(|m| m.advice()) {
        Some(a) => a.clone(),
        None => panic!("no advice in {:?}", f.memory),
    }
}

#[test]
fn memory_over_provisioned_at_half() {
    let mut f = facts();
    f.report.max_memory_used_mb = Some(512);
    let f1 = with_advice(f.clone());
    let a = advice_of(&f1);
    let i = fires(RuleId::MemoryOverProvisioned, &f1);
    // One size cannot show a smaller one cheaper: the engine keeps, and so does the insight.
    assert_eq!(a.decision.as_str(), "keep", "{a:?}");
    assert!(i
        .evidence
        .contains(&("suggested_memory_mb", Value::Count(1024))));
    assert_eq!(effect(&i, saving), 0.0);
    assert!(i.suggestion.contains(&a.summary), "{}", i.suggestion);
    assert!(i.suggestion.contains(&a.tune_command), "{}", i.suggestion);
    assert!(!i.suggestion.contains("same duration"), "{}", i.suggestion);
    // Without the engine's advice: the finding, no figure.
    let i = fires(RuleId::MemoryOverProvisioned, &f);
    assert_eq!(effect(&i, saving), 0.0);
    assert!(i.suggestion.contains("tern recommend"), "{}", i.suggestion);
    f.report.max_memory_used_mb = Some(513);
    quiet(RuleId::MemoryOverProvisioned, &f);
    // Too few invocations for a sizing verdict.
    f.report.max_memory_used_mb = Some(100);
    f.report.invocations = 49;
    quiet(RuleId::MemoryOverProvisioned, &f);
    f.report.invocations = 50;
    fires(RuleId::MemoryOverProvisioned, &f);
    // Never with out-of-memory invocations (they may not report what they used).
    f.report.out_of_memory = 1;
    quiet(RuleId::MemoryOverProvisioned, &f);
}

#[test]
fn memory_over_provisioned_at_several_sizes_has_no_figure() {
    let mut f = facts();
    f.report.max_memory_used_mb = Some(100);
    f.memory = Some(crate::recommend::SummaryAdvice::SeveralSizes {
        sizes: vec![512, 1024],
    });
    let i = fires(RuleId::MemoryOverProvisioned, &f);
    assert_eq!(effect(&i, saving), 0.0);
    assert!(
        i.suggestion
            .contains("several sizes in the range (512, 1024 MB)"),
        "{}",
        i.suggestion
    );
    assert!(!i.evidence.iter().any(|e| e.0 == "suggested_memory_mb"));
}

#[test]
fn memory_under_provisioned_at_95_percent() {
    let mut f = facts();
    f.report.memory_size_mb = Some(1000);
    f.report.max_memory_used_mb = Some(950);
    let f1 = with_advice(f.clone());
    let a = advice_of(&f1);
    let i = fires(RuleId::MemoryUnderProvisioned, &f1);
    // 950 MB + 20% headroom is above 1000 MB: the engine raises to a larger size, and the
    // figure is what that size costs more (nothing when the estimate is as cheap).
    assert_eq!(a.decision.as_str(), "change", "{a:?}");
    assert!(a.memory_mb > 1000, "{a:?}");
    assert!(i
        .evidence
        .contains(&("suggested_memory_mb", Value::Count(a.memory_mb.into()))));
    let extra = (-a.monthly_saving_usd).max(0.0);
    assert!(close(effect(&i, change_cost), extra), "{i:?}");
    assert!(
        i.suggestion.starts_with(&format!(
            "raise memory to {} MB: {}",
            a.memory_mb, a.summary
        )),
        "{}",
        i.suggestion
    );
    f.report.max_memory_used_mb = Some(949);
    quiet(RuleId::MemoryUnderProvisioned, &f);
    // An out-of-memory kill reports the whole size: the out-of-memory insight speaks alone.
    f.report.max_memory_used_mb = Some(1000);
    f.report.out_of_memory = 1;
    quiet(RuleId::MemoryUnderProvisioned, &f);
    fires(RuleId::MemoryOutOfMemory, &f);
}

#[test]
fn out_of_memory_at_one() {
    let mut f = facts();
    quiet(RuleId::MemoryOutOfMemory, &f);
    f.report.out_of_memory = 1;
    f.report.max_memory_used_mb = Some(1024);
    let i = fires(RuleId::MemoryOutOfMemory, &f);
    assert_eq!(i.severity, Severity::Critical);
    let per_invocation = (1000.0 * X86 + 1000.0 * 0.2e-6) / 1000.0;
    assert!(close(effect(&i, monthly_cost), per_invocation * 30.0));
    // The engine raises above the size that ran out of memory; the insight says the same.
    let f = with_advice(f);
    let a = advice_of(&f);
    assert!(a.memory_mb > 1024, "{a:?}");
    let i = fires(RuleId::MemoryOutOfMemory, &f);
    assert!(
        i.suggestion
            .starts_with(&format!("raise memory to {} MB (", a.memory_mb)),
        "{}",
        i.suggestion
    );
    assert!(i
        .evidence
        .contains(&("suggested_memory_mb", Value::Count(a.memory_mb.into()))));
}

#[test]
fn timeout_too_close_at_90_percent() {
    let mut f = facts();
    f.report.timeout_ms = Some(1000);
    f.report.duration_ms = Some(Dist {
        p99: 900.0,
        ..Default::default()
    });
    let i = fires(RuleId::TimeoutTooClose, &f);
    assert_eq!(i.severity, Severity::Warning);
    f.report.timeouts = 2;
    assert_eq!(
        fires(RuleId::TimeoutTooClose, &f).severity,
        Severity::Critical
    );
    f.report.duration_ms = Some(Dist {
        p99: 899.9,
        ..Default::default()
    });
    quiet(RuleId::TimeoutTooClose, &f);
    // More timeouts than invocations completing in the last 20% before the timeout: they
    // hung, the p99 at the timeout says nothing of the work, and `timeout.hangs` speaks.
    f.report.duration_ms = Some(Dist {
        p99: 1000.0,
        ..Default::default()
    });
    f.completed_near_timeout = Some(1);
    quiet(RuleId::TimeoutTooClose, &f);
    fires(RuleId::TimeoutHangs, &f);
    // As many completing just below as timed out: the timeouts are the work's tail.
    f.completed_near_timeout = Some(2);
    fires(RuleId::TimeoutTooClose, &f);
    quiet(RuleId::TimeoutHangs, &f);
}

#[test]
fn hangs_when_fewer_complete_near_the_timeout_than_reach_it() {
    let mut f = facts();
    f.report.inferred_timeout_ms = Some(10_000);
    f.completed_near_timeout = Some(2);
    // No timeout, no hang.
    quiet(RuleId::TimeoutHangs, &f);
    f.report.timeouts = 3;
    let i = fires(RuleId::TimeoutHangs, &f);
    assert_eq!(i.severity, Severity::Critical);
    assert!(i
        .evidence
        .contains(&("timeout_inferred", Value::Flag(true))));
    assert!(i
        .evidence
        .contains(&("completed_near_timeout", Value::Count(2))));
    let per_invocation = (1000.0 * X86 + 1000.0 * 0.2e-6) / 1000.0;
    assert!(close(effect(&i, monthly_cost), per_invocation * 3.0 * 30.0));
    assert!(i.summary.starts_with("3 invocations hung"), "{}", i.summary);
    f.completed_near_timeout = Some(3);
    quiet(RuleId::TimeoutHangs, &f);
    // Nothing known about completed work: no finding.
    f.completed_near_timeout = None;
    quiet(RuleId::TimeoutHangs, &f);
}

#[test]
fn completed_near_timeout_leaves_the_timeouts_out() {
    let mut s = crate::sketch::Sketch::new();
    for d in [100.0, 200.0, 850.0, 900.0, 1000.0, 1000.0] {
        s.add(d);
    }
    let mut r = FunctionReport {
        timeouts: 2,
        inferred_timeout_ms: Some(1000),
        ..Default::default()
    };
    let t = Thresholds::default();
    // From 800 ms on: 850 and 900 completed; the two at 1000 ms timed out.
    assert_eq!(completed_near_timeout(&s, &r, &t), Some(2));
    r.timeouts = 0;
    assert_eq!(completed_near_timeout(&s, &r, &t), Some(4));
    r.timeouts = 6;
    assert_eq!(completed_near_timeout(&s, &r, &t), Some(0));
    r.timeouts = 9;
    assert_eq!(completed_near_timeout(&s, &r, &t), Some(0));
    r.inferred_timeout_ms = None;
    assert_eq!(completed_near_timeout(&s, &r, &t), None);
    assert_eq!(
        completed_near_timeout(
            &crate::sketch::Sketch::new(),
            &FunctionReport {
                timeout_ms: Some(1000),
                ..Default::default()
            },
            &t
        ),
        Some(0)
    );
}

#[test]
fn timeout_too_generous_at_ten_times_p999_over_30_s() {
    let mut f = facts();
    f.report.timeout_ms = Some(40_000);
    f.duration_p999_ms = Some(4_000.0);
    let i = fires(RuleId::TimeoutTooGenerous, &f);
    // A runaway bills 40 s at 1 GB plus the request.
    let exposure = 40.0 * 1.0 * X86 + 0.2e-6;
    let got = effect(&i, |e| match e {
        Effect::RunawayExposure(v) => Some(*v),
        _ => None,
    });
    assert!(close(got, exposure), "{got} vs {exposure}");
    assert!(i
        .evidence
        .contains(&("suggested_timeout_s", Value::Count(12))));
    f.duration_p999_ms = Some(4_000.1);
    quiet(RuleId::TimeoutTooGenerous, &f);
    // 30 s is not over 30 s.
    f.report.timeout_ms = Some(30_000);
    f.duration_p999_ms = Some(100.0);
    quiet(RuleId::TimeoutTooGenerous, &f);
    f.report.timeout_ms = Some(30_001);
    fires(RuleId::TimeoutTooGenerous, &f);
}

#[test]
fn error_rate_at_one_and_ten_percent() {
    let mut f = facts();
    f.report.errors = 10;
    let i = fires(RuleId::ErrorRateHigh, &f);
    assert_eq!(i.severity, Severity::Warning);
    let per_invocation = (1000.0 * X86 + 1000.0 * 0.2e-6) / 1000.0;
    assert!(close(
        effect(&i, monthly_cost),
        10.0 * per_invocation * 30.0
    ));
    f.report.errors = 100;
    assert_eq!(
        fires(RuleId::ErrorRateHigh, &f).severity,
        Severity::Critical
    );
    f.report.errors = 99;
    assert_eq!(fires(RuleId::ErrorRateHigh, &f).severity, Severity::Warning);
    f.report.errors = 9;
    quiet(RuleId::ErrorRateHigh, &f);
    // Below the minimum invocations, even 100% says nothing.
    f.report.invocations = 9;
    f.report.errors = 9;
    quiet(RuleId::ErrorRateHigh, &f);
}

#[test]
fn cold_start_rate_at_one_percent_with_provisioned_concurrency_cost() {
    let mut f = facts();
    f.report.cold_starts = 10;
    f.report.init_duration_ms = Some(Dist {
        p50: 300.0,
        p95: 800.0,
        ..Default::default()
    });
    f.runtime = Some("python3.12".into());
    let i = fires(RuleId::ColdStartRateHigh, &f);
    assert!(i.suggestion.contains("SnapStart"), "{}", i.suggestion);
    // A yes-or-no fact is a boolean, not the text "yes".
    assert!(i
        .evidence
        .contains(&("snapstart_family", Value::Flag(true))));
    assert!(i.effects.contains(&Effect::LatencyMs(800.0)));
    // 1,000,000 billed ms over one day: an average concurrency of 0.0116 → one environment
    // of 1 GB for 30 days.
    let pc = 1.0 * 30.0 * 86_400.0 * 0.000_004_166_7;
    assert!(close(effect(&i, change_cost), pc), "{i:?}");
    f.runtime = Some("nodejs22.x".into());
    assert!(!fires(RuleId::ColdStartRateHigh, &f)
        .suggestion
        .contains("SnapStart"));
    f.report.cold_starts = 9;
    quiet(RuleId::ColdStartRateHigh, &f);
}

#[test]
fn low_reuse_at_two_invocations_per_environment() {
    let mut f = facts();
    f.report.cold_starts = 500;
    f.report.init_duration_ms = Some(Dist {
        avg: 400.0,
        ..Default::default()
    });
    f.reuse = Some(Reuse {
        environments: 500,
        invocations_per_environment: 2.0,
        median_lifetime_ms: 60_000.0,
    });
    let i = fires(RuleId::ContainerLowReuse, &f);
    // 500 inits of 400 ms at 1 GB = 200 GB-s a day, priced without requests.
    assert!(close(effect(&i, monthly_cost), 200.0 * X86 * 30.0), "{i:?}");
    f.reuse = Some(Reuse {
        invocations_per_environment: 2.01,
        ..f.reuse.unwrap_or_default()
    });
    quiet(RuleId::ContainerLowReuse, &f);
}

#[test]
fn arm64_at_the_minimum_saving() {
    let f = facts();
    let expected = 1000.0 * (X86 - ARM) * 30.0;
    let mut c = ctx();
    c.thresholds.arm64_min_monthly_saving_usd = expected * (1.0 - 1e-12);
    let i = run(RuleId::ArchArm64Savings, &f, &c).unwrap_or_else(|| panic!("no arm64 insight"));
    assert!(close(effect(&i, saving), expected), "{i:?}");
    c.thresholds.arm64_min_monthly_saving_usd = expected * 1.000_001;
    assert!(run(RuleId::ArchArm64Savings, &f, &c).is_none());
}

#[test]
fn runtime_deprecated_and_soon() {
    let mut f = facts();
    f.runtime = Some("python3.9".into());
    let i = fires(RuleId::RuntimeDeprecated, &f);
    assert_eq!(i.severity, Severity::Critical);
    assert!(i
        .evidence
        .contains(&("deprecation_date", Value::Text("2025-12-15".into()))));
    f.runtime = Some("go1.x".into());
    let i = fires(RuleId::RuntimeDeprecated, &f);
    assert!(i.summary.contains("unknown"), "{}", i.summary);
    // nodejs22.x: 2027-04-30, "soon" exactly 180 days before.
    f.runtime = Some("nodejs22.x".into());
    let date = crate::time::days_from_civil(2027, 4, 30) * DAY;
    let mut c = ctx();
    c.now_ms = date - 180 * DAY;
    let i = run(RuleId::RuntimeDeprecated, &f, &c).unwrap_or_else(|| panic!("not soon"));
    assert_eq!(i.severity, Severity::Warning);
    c.now_ms -= 1;
    assert!(run(RuleId::RuntimeDeprecated, &f, &c).is_none());
    f.runtime = Some("python3.12".into());
    quiet(RuleId::RuntimeDeprecated, &f);
}

#[test]
fn logging_cost_at_the_compute_cost() {
    let mut f = facts();
    quiet(RuleId::LoggingCostHigh, &f); // no log volume tracked: no verdict
    let gb = 1024.0 * 1024.0 * 1024.0;
    f.log_bytes = Some(2 * gb as u64); // a day: 60 GB a month at $0.50
    let logs = 60.0 * 0.50;
    let compute = f.report.monthly_cost_usd;
    let mut c = ctx();
    c.thresholds.logging_cost_ratio = logs / compute;
    let i = run(RuleId::LoggingCostHigh, &f, &c).unwrap_or_else(|| panic!("no logging insight"));
    assert!(close(effect(&i, monthly_cost), logs), "{i:?}");
    c.thresholds.logging_cost_ratio = logs / compute * 1.000_001;
    assert!(run(RuleId::LoggingCostHigh, &f, &c).is_none());
    // At the default ratio (1×), $30 of logs against $0.50 of compute fires.
    fires(RuleId::LoggingCostHigh, &f);
}

#[test]
fn spike_at_125_percent_of_the_prior_peak() {
    let t = Thresholds::default();
    let hour = 3_600_000;
    let mut counts = vec![1000u64; 12];
    counts.push(1250);
    let s = find_spike(&counts, hour, 0, &t).unwrap_or_else(|| panic!("no spike"));
    assert_eq!(
        (s.at_ms, s.invocations, s.baseline_peak),
        (12 * hour, 1250, 1000)
    );
    counts[12] = 1249;
    assert_eq!(find_spike(&counts, hour, 0, &t), None);
    // The alert's minimum (100 per 5 minutes → 1,200 an hour) gates small counts.
    let small = [10u64, 10, 10, 10, 100];
    assert_eq!(find_spike(&small, hour, 0, &t), None);
    // The insight carries the excess invocations' cost.
    let mut f = facts();
    f.spike = Some(Spike {
        at_ms: 0,
        bucket_ms: hour,
        invocations: 1250,
        baseline_peak: 1000,
    });
    let i = fires(RuleId::InvocationSpike, &f);
    let per_invocation = (1000.0 * X86 + 1000.0 * 0.2e-6) / 1000.0;
    assert!(i
        .effects
        .iter()
        .any(|e| matches!(e, Effect::OneOffCost(v) if close(*v, 250.0 * per_invocation))));
}

#[test]
fn inactive_at_30_days() {
    let mut f = facts();
    f.last_invocation_ms = Some(NOW - 30 * DAY);
    quiet(RuleId::FunctionInactive, &f); // not listed by an inventory: no verdict
    f.listed_by_inventory = true;
    fires(RuleId::FunctionInactive, &f);
    f.last_invocation_ms = Some(NOW - 30 * DAY + 1);
    quiet(RuleId::FunctionInactive, &f);
    f.last_invocation_ms = None;
    assert!(fires(RuleId::FunctionInactive, &f)
        .summary
        .contains("never"));
}

#[test]
fn log_group_without_retention() {
    let mut f = facts();
    quiet(RuleId::LogsNoRetention, &f); // unknown
    f.log_retention_days = Some(1);
    quiet(RuleId::LogsNoRetention, &f);
    f.log_retention_days = Some(0);
    let i = fires(RuleId::LogsNoRetention, &f);
    assert!(i.effects.is_empty(), "no log volume, no dollar figure");
    f.log_bytes = Some(1024 * 1024 * 1024);
    let i = fires(RuleId::LogsNoRetention, &f);
    assert!(close(effect(&i, monthly_cost), 30.0 * 0.03));
}

#[test]
fn order_is_severity_then_dollars() {
    let mut a = facts();
    a.report.out_of_memory = 1;
    a.report.max_memory_used_mb = Some(100);
    let mut b = facts();
    b.report.function = "b".into();
    b.report.errors = 200;
    let got = evaluate(&[a, b], &ctx());
    let sev: Vec<Severity> = got.iter().map(|i| i.severity).collect();
    let mut sorted = sev.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(sev, sorted);
    assert_eq!(got[0].severity, Severity::Critical);
}
