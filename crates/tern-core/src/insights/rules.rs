//! The rules of the catalogue, one function each.

use super::runtimes::{self, snapstart_family};
use super::{Context, Effect, FunctionFacts, Insight, RuleId, Severity, Spike, Thresholds, Value};
use crate::alert::{
    builtin_policies, evaluate as evaluate_policy, Comparison, SpikeHistory, WindowStats,
    FIVE_MINUTES_MS, INVOCATION_SPIKE,
};
use crate::cost::{self, Charge, CostOptions, Usage};
use crate::model::Arch;
use crate::recommend::{Advice, Decision, SummaryAdvice};
use crate::report::{advice_text, suggested_memory_mb};

const DAY_MS: i64 = 86_400_000;

/// Every insight for every function, most severe first, then biggest dollar figure, then by
/// function and rule.
pub fn evaluate(facts: &[FunctionFacts], ctx: &Context) -> Vec<Insight> {
    let t = &ctx.thresholds;
    let mut out = Vec::new();
    for f in facts {
        let rules: [Option<Insight>; 15] = [
            over_provisioned(f, t),
            under_provisioned(f, t),
            out_of_memory(f, t),
            too_close(f, t),
            hangs(f, t),
            too_generous(f, t),
            error_rate(f, t),
            cold_starts(f, t),
            low_reuse(f, t),
            arm64(f, t),
            runtime(f, ctx),
            logging(f, t),
            spike(f, t),
            inactive(f, ctx),
            no_retention(f),
        ];
        out.extend(rules.into_iter().flatten());
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| b.monthly_usd().total_cmp(&a.monthly_usd()))
            .then_with(|| a.function.cmp(&b.function))
            .then_with(|| a.rule.cmp(&b.rule))
    });
    out
}

fn insight(
    rule: RuleId,
    severity: Severity,
    f: &FunctionFacts,
    summary: String,
    suggestion: String,
) -> Insight {
    Insight {
        rule,
        severity,
        function: f.report.function.clone(),
        summary,
        suggestion,
        evidence: Vec::new(),
        effects: Vec::new(),
    }
}

fn ev(i: &mut Insight, key: &'static str, v: Value) {
    i.evidence.push((key, v));
}

/// The function's usage priced alone (after `map`), per 30-day month.
fn monthly_priced(f: &FunctionFacts, map: impl Fn(&Usage) -> Usage) -> f64 {
    let usage: Vec<Usage> = f.usage.iter().map(map).collect();
    let total: f64 = cost::price_usage(&usage, CostOptions::default())
        .iter()
        .map(Charge::total)
        .sum();
    cost::monthly(total, f.projection_ms)
}

/// Monthly cost of `count` invocations at the function's average cost per invocation.
fn monthly_of_invocations(f: &FunctionFacts, count: u64) -> f64 {
    cost::monthly(
        f.report.cost_per_invocation() * count as f64,
        f.projection_ms,
    )
}

/// Monthly charge of `gb_s` GB-seconds spread over the function's usage months.
fn monthly_gb_s(f: &FunctionFacts, gb_s: f64) -> f64 {
    let Some(first) = f.usage.first() else {
        return 0.0;
    };
    let u = Usage {
        requests: 0,
        gb_seconds: gb_s,
        ..first.clone()
    };
    let total: f64 = cost::price_usage(&[u], CostOptions::default())
        .iter()
        .map(Charge::total)
        .sum();
    cost::monthly(total, f.projection_ms)
}

/// The memory engine's advice in the insight: its size and sentence as evidence and
/// suggestion; `None` (and the reason in words) when there is none.
fn memory_advice(f: &FunctionFacts) -> Result<&Advice, String> {
    match &f.memory {
        Some(SummaryAdvice::Advice(a)) => Ok(a),
        Some(other) => Err(other
            .why_none(&f.report.function)
            .unwrap_or_else(|| "no memory advice".into())),
        None => Err("`tern recommend` gives the memory advice".into()),
    }
}

fn over_provisioned(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    let (size, used) = (r.memory_size_mb?, r.max_memory_used_mb?);
    // An out-of-memory invocation may not report what it used: never suggest less then.
    if r.invocations < t.min_invocations || size == 0 || r.out_of_memory > 0 {
        return None;
    }
    if f64::from(used) > f64::from(size) * t.over_provisioned_ratio {
        return None;
    }
    if suggested_memory_mb(used, t.memory_headroom) >= size {
        return None;
    }
    let advice = memory_advice(f);
    let mut i = insight(
        RuleId::MemoryOverProvisioned,
        Severity::Warning,
        f,
        format!(
            "uses at most {used} MB of {size} MB ({:.0}%)",
            f64::from(used) * 100.0 / f64::from(size)
        ),
        match &advice {
            Ok(a) => advice_text(a),
            Err(why) => why.clone(),
        },
    );
    ev(&mut i, "memory_size_mb", Value::Count(size.into()));
    ev(&mut i, "max_memory_used_mb", Value::Count(used.into()));
    ev(&mut i, "invocations", Value::Count(r.invocations));
    match advice {
        Ok(a) => {
            ev(
                &mut i,
                "suggested_memory_mb",
                Value::Count(a.memory_mb.into()),
            );
            ev(&mut i, "decision", Value::Text(a.decision.as_str().into()));
            ev(&mut i, "tune_command", Value::Text(a.tune_command.clone()));
            i.effects.push(Effect::MonthlySaving(a.monthly_saving_usd));
        }
        Err(_) => i.effects.push(Effect::MonthlySaving(0.0)),
    }
    Some(i)
}

/// The engine's advice when it raises the memory size: the size and the extra monthly cost.
fn raise(f: &FunctionFacts) -> Option<&Advice> {
    memory_advice(f)
        .ok()
        .filter(|a| a.decision == Decision::Change && a.memory_mb > a.current_memory_mb)
}

fn under_provisioned(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    let (size, used) = (r.memory_size_mb?, r.max_memory_used_mb?);
    // An out-of-memory kill reports the whole size as used: `memory.out_of_memory` covers it.
    if r.invocations == 0 || size == 0 || r.out_of_memory > 0 {
        return None;
    }
    if f64::from(used) < f64::from(size) * t.under_provisioned_ratio {
        return None;
    }
    let advice = memory_advice(f);
    let mut i = insight(
        RuleId::MemoryUnderProvisioned,
        Severity::Warning,
        f,
        format!(
            "used up to {used} MB of {size} MB ({:.0}%): one heavier request from an out-of-memory",
            f64::from(used) * 100.0 / f64::from(size)
        ),
        match (&advice, raise(f)) {
            (_, Some(a)) => format!("raise memory to {} MB: {}", a.memory_mb, advice_text(a)),
            (Ok(a), None) => advice_text(a),
            (Err(why), None) => format!("raise memory; {why}"),
        },
    );
    ev(&mut i, "memory_size_mb", Value::Count(size.into()));
    ev(&mut i, "max_memory_used_mb", Value::Count(used.into()));
    if let Ok(a) = advice {
        ev(
            &mut i,
            "suggested_memory_mb",
            Value::Count(a.memory_mb.into()),
        );
        ev(&mut i, "decision", Value::Text(a.decision.as_str().into()));
        ev(&mut i, "tune_command", Value::Text(a.tune_command.clone()));
        // The engine's saving of a raise is negative: what the larger size costs more.
        i.effects.push(Effect::ChangeMonthlyCost(
            (-a.monthly_saving_usd).max(0.0) + 0.0,
        ));
    }
    Some(i)
}

fn out_of_memory(f: &FunctionFacts, _t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    if r.out_of_memory == 0 {
        return None;
    }
    let cause = "or find what holds memory across invocations (caches, globals); the figure is \
                 what the failed invocations cost";
    let suggestion = match (raise(f), memory_advice(f)) {
        (Some(a), _) => format!(
            "raise memory to {} MB ({}), {cause}",
            a.memory_mb,
            advice_text(a)
        ),
        (None, Ok(a)) => format!("{}; {cause}", advice_text(a)),
        (None, Err(why)) => format!("raise memory ({why}), {cause}"),
    };
    let mut i = insight(
        RuleId::MemoryOutOfMemory,
        Severity::Critical,
        f,
        format!(
            "{} invocation(s) ran out of memory{}",
            r.out_of_memory,
            r.memory_size_mb
                .map(|m| format!(" at {m} MB"))
                .unwrap_or_default()
        ),
        suggestion,
    );
    ev(&mut i, "out_of_memory", Value::Count(r.out_of_memory));
    ev(&mut i, "invocations", Value::Count(r.invocations));
    if let Some(m) = r.memory_size_mb {
        ev(&mut i, "memory_size_mb", Value::Count(m.into()));
    }
    if let Ok(a) = memory_advice(f) {
        ev(
            &mut i,
            "suggested_memory_mb",
            Value::Count(a.memory_mb.into()),
        );
        ev(&mut i, "decision", Value::Text(a.decision.as_str().into()));
        ev(&mut i, "tune_command", Value::Text(a.tune_command.clone()));
    }
    i.effects.push(Effect::MonthlyCost(monthly_of_invocations(
        f,
        r.out_of_memory,
    )));
    Some(i)
}

fn too_close(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    let (timeout, inferred) = timeout_of(r)?;
    let p99 = r.duration_ms?.p99;
    // Hangs put the p99 at the timeout whatever the work: `timeout.hangs` speaks for them.
    if timeout == 0 || p99 < timeout as f64 * t.near_timeout_ratio || hung(f) {
        return None;
    }
    let severity = if r.timeouts > 0 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut i = insight(
        RuleId::TimeoutTooClose,
        severity,
        f,
        format!(
            "p99 duration {:.1} s is {:.0}% of the {}timeout {:.1} s; {} timed out",
            p99 / 1000.0,
            p99 * 100.0 / timeout as f64,
            if inferred { "inferred " } else { "" },
            timeout as f64 / 1000.0,
            r.timeouts
        ),
        "raise the timeout, or make the slow path faster (more memory is more CPU); the figure \
         is what the timed-out invocations cost"
            .into(),
    );
    ev(&mut i, "p99_ms", Value::Number(p99));
    ev(&mut i, "timeout_ms", Value::Count(timeout));
    ev(&mut i, "timeout_inferred", Value::Flag(inferred));
    ev(&mut i, "timeouts", Value::Count(r.timeouts));
    i.effects
        .push(Effect::MonthlyCost(monthly_of_invocations(f, r.timeouts)));
    Some(i)
}

/// The timeout as known (inventory) or inferred, and whether it was inferred.
fn timeout_of(r: &crate::report::FunctionReport) -> Option<(u64, bool)> {
    match (r.timeout_ms, r.inferred_timeout_ms) {
        (Some(t), _) => Some((t, false)),
        (None, Some(t)) => Some((t, true)),
        _ => None,
    }
}

/// Invocations reached the timeout, yet fewer completed just below it than reached it: a
/// slow tail puts more invocations just under the limit than past it, so these hung.
fn hung(f: &FunctionFacts) -> bool {
    f.report.timeouts > 0
        && f.completed_near_timeout
            .is_some_and(|c| c < f.report.timeouts)
}

fn hangs(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    let (timeout, inferred) = timeout_of(r)?;
    if !hung(f) {
        return None;
    }
    let near = f.completed_near_timeout?;
    let mut i = insight(
        RuleId::TimeoutHangs,
        Severity::Critical,
        f,
        format!(
            "{} hung until the {}timeout {:.1} s, while {} completed in the last {:.0}% \
             before it: slow work would put more just under the limit than past it",
            crate::report::count(r.timeouts, "invocation"),
            if inferred { "inferred " } else { "" },
            timeout as f64 / 1000.0,
            near,
            (1.0 - t.hang_window) * 100.0
        ),
        "a call waits without a deadline (a connection, a lock, a queue): give every network \
         call its own timeout well below the function's; raising the timeout only makes each \
         hang cost more. The figure is what the hung invocations cost"
            .into(),
    );
    ev(&mut i, "timeouts", Value::Count(r.timeouts));
    ev(&mut i, "timeout_ms", Value::Count(timeout));
    ev(&mut i, "timeout_inferred", Value::Flag(inferred));
    ev(&mut i, "completed_near_timeout", Value::Count(near));
    i.effects
        .push(Effect::MonthlyCost(monthly_of_invocations(f, r.timeouts)));
    Some(i)
}

fn too_generous(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    let timeout = r.timeout_ms?;
    let p999 = f.duration_p999_ms?;
    if r.invocations < t.min_invocations || timeout <= t.generous_timeout_min_ms {
        return None;
    }
    if (timeout as f64) < t.generous_timeout_factor * p999 {
        return None;
    }
    let memory = f64::from(r.memory_size_mb.unwrap_or(128));
    let exposure = cost::invocation_cost(timeout as f64, memory, r.arch, &r.region);
    // Three times the p99.9, in whole seconds, at least 3 s (Lambda's default timeout).
    let suggested_s = ((p999 * 3.0 / 1000.0).ceil() as u64).max(3);
    let mut i = insight(
        RuleId::TimeoutTooGenerous,
        Severity::Info,
        f,
        format!(
            "timeout {:.0} s is {:.0}× the p99.9 duration ({:.0} ms)",
            timeout as f64 / 1000.0,
            timeout as f64 / p999.max(1.0),
            p999
        ),
        format!(
            "a runaway invocation (a hung connection, a retry loop) bills up to the full \
             timeout; a timeout of about {suggested_s} s still covers 3× the p99.9"
        ),
    );
    ev(&mut i, "timeout_ms", Value::Count(timeout));
    ev(&mut i, "p999_ms", Value::Number(p999));
    ev(&mut i, "suggested_timeout_s", Value::Count(suggested_s));
    ev(&mut i, "memory_size_mb", Value::Number(memory));
    i.effects.push(Effect::RunawayExposure(exposure));
    Some(i)
}

fn error_rate(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    if r.invocations < t.error_min_invocations.max(1) {
        return None;
    }
    let rate = r.error_rate();
    if rate < t.error_rate_warning {
        return None;
    }
    let severity = if rate >= t.error_rate_critical {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut i = insight(
        RuleId::ErrorRateHigh,
        severity,
        f,
        format!(
            "{} of {} invocations failed ({:.2}%)",
            r.errors,
            r.invocations,
            rate * 100.0
        ),
        "look at the biggest error groups (`tern errors --function NAME`); the figure is what \
         the failed invocations cost"
            .into(),
    );
    ev(&mut i, "errors", Value::Count(r.errors));
    ev(&mut i, "invocations", Value::Count(r.invocations));
    ev(&mut i, "error_rate", Value::Number(rate));
    for (k, v) in [
        ("handler_errors", r.handler_errors),
        ("timeouts", r.timeouts),
        ("out_of_memory", r.out_of_memory),
        ("crashes", r.crashes),
        ("init_errors", r.init_errors),
    ] {
        if v > 0 {
            ev(&mut i, k, Value::Count(v));
        }
    }
    i.effects
        .push(Effect::MonthlyCost(monthly_of_invocations(f, r.errors)));
    Some(i)
}

fn cold_starts(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    if r.invocations < t.min_invocations || r.cold_starts == 0 {
        return None;
    }
    let rate = r.cold_start_rate();
    if rate < t.cold_start_rate {
        return None;
    }
    let init = r.init_duration_ms;
    let runtime = f.runtime.as_deref();
    let snap = runtime.is_some_and(snapstart_family);
    // Provisioned concurrency to keep the average concurrency warm: Σ billed time over the
    // span, rounded up (peaks need more; the figure is a floor).
    let concurrency = ((r.billed_duration_ms / f.projection_ms.max(1) as f64).ceil() as u32).max(1);
    let memory = f64::from(r.memory_size_mb.unwrap_or(128));
    let pc = cost::provisioned_concurrency_monthly(concurrency, memory, r.arch);
    let mut suggestion = String::from(
        "move work out of the init phase (lazy-load what only some requests need, trim the \
         package)",
    );
    if snap {
        suggestion.push_str("; SnapStart restores a snapshot instead of running init");
    }
    suggestion.push_str(&format!(
        "; provisioned concurrency ({concurrency} environment(s), the figure shown) removes \
         cold starts for steady traffic"
    ));
    let mut i = insight(
        RuleId::ColdStartRateHigh,
        Severity::Warning,
        f,
        format!(
            "{} of {} invocations were cold starts ({:.1}%){}",
            r.cold_starts,
            r.invocations,
            rate * 100.0,
            init.map(|d| format!(", init p95 {:.0} ms", d.p95))
                .unwrap_or_default()
        ),
        suggestion,
    );
    ev(&mut i, "cold_starts", Value::Count(r.cold_starts));
    ev(&mut i, "cold_start_rate", Value::Number(rate));
    if let Some(d) = init {
        ev(&mut i, "init_p50_ms", Value::Number(d.p50));
        ev(&mut i, "init_p95_ms", Value::Number(d.p95));
        i.effects.push(Effect::LatencyMs(d.p95));
    }
    if let Some(rt) = runtime {
        ev(&mut i, "runtime", Value::Text(rt.to_string()));
    }
    ev(&mut i, "snapstart_family", Value::Flag(snap));
    ev(
        &mut i,
        "provisioned_concurrency",
        Value::Count(concurrency.into()),
    );
    i.effects.push(Effect::ChangeMonthlyCost(pc));
    Some(i)
}

fn low_reuse(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    let reuse = f.reuse?;
    if r.invocations < t.min_invocations || reuse.environments == 0 {
        return None;
    }
    if reuse.invocations_per_environment > t.low_reuse_invocations_per_environment {
        return None;
    }
    // What the repeated init costs: Σ init time × memory (INIT is billed for managed runtimes
    // since August 2025, and always for custom runtimes and container images).
    let init_cost = r.init_duration_ms.map_or(0.0, |d| {
        let memory = f64::from(r.memory_size_mb.unwrap_or(128));
        monthly_gb_s(f, cost::gb_seconds(d.avg * r.cold_starts as f64, memory))
    });
    let mut i = insight(
        RuleId::ContainerLowReuse,
        Severity::Info,
        f,
        format!(
            "{:.1} invocations per execution environment over {} environments (median lifetime {:.0} s)",
            reuse.invocations_per_environment,
            reuse.environments,
            reuse.median_lifetime_ms / 1000.0
        ),
        "environments are torn down before they are reused: traffic is bursty or concurrency \
         spreads it thin. Cache clients and config in globals, keep connections alive; the \
         figure is what the repeated init costs"
            .into(),
    );
    ev(&mut i, "environments", Value::Count(reuse.environments));
    ev(
        &mut i,
        "invocations_per_environment",
        Value::Number(reuse.invocations_per_environment),
    );
    ev(
        &mut i,
        "median_lifetime_ms",
        Value::Number(reuse.median_lifetime_ms),
    );
    i.effects.push(Effect::MonthlyCost(init_cost));
    Some(i)
}

fn arm64(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let r = &f.report;
    if r.arch != Arch::X86_64 || r.invocations == 0 {
        return None;
    }
    let now = monthly_priced(f, Usage::clone);
    let arm = monthly_priced(f, |u| Usage {
        arch: Arch::Arm64,
        ..u.clone()
    });
    let saving = now - arm;
    if saving < t.arm64_min_monthly_saving_usd {
        return None;
    }
    let mut i = insight(
        RuleId::ArchArm64Savings,
        Severity::Info,
        f,
        format!(
            "runs on x86_64; the same GB-seconds cost {:.0}% less on arm64",
            saving * 100.0 / now.max(f64::MIN_POSITIVE)
        ),
        "switch the architecture to arm64 (Graviton) after testing native dependencies. The \
         saving is at equal duration: the speed difference is not known until it has run on \
         arm64"
            .into(),
    );
    ev(&mut i, "monthly_cost_x86_64_usd", Value::Number(now));
    ev(&mut i, "monthly_cost_arm64_usd", Value::Number(arm));
    ev(
        &mut i,
        "speed",
        Value::Text("unknown until measured".into()),
    );
    i.effects.push(Effect::MonthlySaving(saving));
    Some(i)
}

fn runtime(f: &FunctionFacts, ctx: &Context) -> Option<Insight> {
    let id = f.runtime.as_deref()?;
    let entry = runtimes::lookup(id)?;
    let date_ms = entry.date_ms();
    let soon_limit = ctx
        .now_ms
        .saturating_add(ctx.thresholds.runtime_soon_days.saturating_mul(DAY_MS));
    let deprecated = entry.deprecated || date_ms.is_some_and(|d| d <= ctx.now_ms);
    let soon = !deprecated && date_ms.is_some_and(|d| d <= soon_limit);
    if !deprecated && !soon {
        return None;
    }
    let (severity, summary) = if deprecated {
        (
            Severity::Critical,
            format!(
                "runtime {id} is deprecated (since {}): no more security patches",
                entry.date_str()
            ),
        )
    } else {
        (
            Severity::Warning,
            format!("runtime {id} will be deprecated on {}", entry.date_str()),
        )
    };
    let mut i = insight(
        RuleId::RuntimeDeprecated,
        severity,
        f,
        summary,
        "move to a supported runtime version; AWS later blocks creating and then updating \
         functions on deprecated runtimes"
            .into(),
    );
    ev(&mut i, "runtime", Value::Text(id.to_string()));
    ev(&mut i, "deprecation_date", Value::Text(entry.date_str()));
    ev(&mut i, "source", Value::Text(entry.source.to_string()));
    Some(i)
}

fn logging(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let bytes = f.log_bytes?;
    let r = &f.report;
    let monthly_bytes = cost::monthly(bytes as f64, f.projection_ms);
    let logs = cost::log_ingestion_monthly(monthly_bytes);
    let compute = r.monthly_cost_usd;
    if logs <= 0.0 || logs < t.logging_cost_ratio * compute {
        return None;
    }
    let mut i = insight(
        RuleId::LoggingCostHigh,
        Severity::Warning,
        f,
        format!(
            "CloudWatch Logs ingestion (≈ {:.2} GB a month) costs {}× the compute",
            monthly_bytes / cost::LOG_GB,
            if compute > 0.0 {
                format!("{:.1}", logs / compute)
            } else {
                "∞".into()
            }
        ),
        "log less: set the log level by environment (Lambda's application log level), sample \
         debug logs, drop per-request payload dumps, use EMF for metrics"
            .into(),
    );
    ev(&mut i, "log_bytes", Value::Count(bytes));
    ev(&mut i, "monthly_log_usd", Value::Number(logs));
    ev(&mut i, "monthly_compute_usd", Value::Number(compute));
    i.effects.push(Effect::MonthlyCost(logs));
    Some(i)
}

/// The first bucket of `counts` (oldest first, bucket `i` starting at `start_ms + i ×
/// bucket_ms`) whose invocations are at least `spike_factor` × the highest bucket of the
/// look-back before it, with the alert engine's spike policy doing the comparison (its
/// minimum invocations scaled from 5 minutes to the bucket). History starts at the first
/// bucket with invocations (before it, nothing was watched).
pub fn find_spike(counts: &[u64], bucket_ms: i64, start_ms: i64, t: &Thresholds) -> Option<Spike> {
    if bucket_ms <= 0 {
        return None;
    }
    let mut policy = builtin_policies()
        .into_iter()
        .find(|p| p.name == INVOCATION_SPIKE)?;
    policy.window_ms = bucket_ms;
    policy.threshold = t.spike_factor;
    policy.comparison = Comparison::Ge;
    policy.min_invocations = ((t.spike_min_invocations_per_5min as f64)
        * (bucket_ms as f64 / FIVE_MINUTES_MS as f64))
        .ceil() as u64;
    let look_back = usize::try_from(t.spike_lookback_ms / bucket_ms).unwrap_or(usize::MAX);
    let first_seen = counts.iter().position(|&c| c > 0)?;
    let mut best: Option<Spike> = None;
    for i in first_seen..counts.len() {
        let from = i.saturating_sub(look_back).max(first_seen);
        let history = SpikeHistory::from_counts(&counts[from..i], bucket_ms);
        let w = WindowStats {
            invocations: counts[i],
            history: Some(history),
            ..WindowStats::default()
        };
        if evaluate_policy(&policy, &w).is_firing() {
            let s = Spike {
                at_ms: start_ms + i as i64 * bucket_ms,
                bucket_ms,
                invocations: counts[i],
                baseline_peak: history.peak,
            };
            let ratio = |s: &Spike| s.invocations as f64 / s.baseline_peak.max(1) as f64;
            if best.is_none_or(|b| ratio(&s) > ratio(&b)) {
                best = Some(s);
            }
        }
    }
    best
}

fn spike(f: &FunctionFacts, t: &Thresholds) -> Option<Insight> {
    let s = f.spike?;
    let excess = s.invocations.saturating_sub(s.baseline_peak);
    let mut i = insight(
        RuleId::InvocationSpike,
        Severity::Critical,
        f,
        format!(
            "{} invocations in {} min against a peak of {} in the {} h before",
            s.invocations,
            s.bucket_ms / 60_000,
            s.baseline_peak,
            t.spike_lookback_ms / 3_600_000
        ),
        "check for a recursive trigger (a function writing to its own source queue or bucket), \
         a retry storm or a runaway client; the figure is what the excess invocations cost"
            .into(),
    );
    ev(&mut i, "at_ms", Value::Number(s.at_ms as f64));
    ev(&mut i, "invocations", Value::Count(s.invocations));
    ev(&mut i, "baseline_peak", Value::Count(s.baseline_peak));
    i.effects.push(Effect::OneOffCost(
        f.report.cost_per_invocation() * excess as f64,
    ));
    Some(i)
}

fn inactive(f: &FunctionFacts, ctx: &Context) -> Option<Insight> {
    if !f.listed_by_inventory {
        return None;
    }
    let limit = ctx.thresholds.inactive_days.saturating_mul(DAY_MS);
    let idle_ms = match f.last_invocation_ms {
        Some(last) => ctx.now_ms.saturating_sub(last),
        None => i64::MAX,
    };
    if idle_ms < limit {
        return None;
    }
    let mut i = insight(
        RuleId::FunctionInactive,
        Severity::Info,
        f,
        match f.last_invocation_ms {
            Some(_) => format!("no invocation for {} days", idle_ms / DAY_MS),
            None => "never seen invoked".into(),
        },
        "delete it if it is dead code (less to patch, fewer permissions lying around), or check \
         that its logs reach Tern"
            .into(),
    );
    if let Some(last) = f.last_invocation_ms {
        ev(&mut i, "last_invocation_ms", Value::Number(last as f64));
        ev(&mut i, "idle_days", Value::Count((idle_ms / DAY_MS) as u64));
    }
    Some(i)
}

fn no_retention(f: &FunctionFacts) -> Option<Insight> {
    if f.log_retention_days != Some(0) {
        return None;
    }
    let mut i = insight(
        RuleId::LogsNoRetention,
        Severity::Info,
        f,
        "its log group never expires".into(),
        "set a retention (PutRetentionPolicy), e.g. 30 days: stored logs are billed every \
         month, forever"
            .into(),
    );
    ev(&mut i, "retention_days", Value::Text("never expire".into()));
    if let Some(bytes) = f.log_bytes {
        // Each month's logs add this much to every later month's storage bill.
        let monthly_bytes = cost::monthly(bytes as f64, f.projection_ms);
        let growth = monthly_bytes / cost::LOG_GB * cost::LOG_STORAGE_USD_PER_GB_MONTH;
        ev(
            &mut i,
            "storage_growth_usd_per_month",
            Value::Number(growth),
        );
        i.effects.push(Effect::MonthlyCost(growth));
    }
    Some(i)
}
