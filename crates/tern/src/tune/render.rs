//! `tern tune` output: a table for people, JSON (its own wire types) for programs.

use std::fmt::Write as _;

use serde::Serialize;
use tern_store::{TuningPoint, TuningRun};

use super::analysis::{optimum, Strategy};

/// The outcome of a run, as printed.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run: TuningRun,
    pub strategy: Strategy,
    /// Σ of every measured invocation's own cost (cost engine): what the tuning spent.
    pub tuning_cost_usd: f64,
    /// Everything was put back as it was (false: see `warnings`).
    pub restored: bool,
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
struct SizeJson<'a> {
    memory_mb: u32,
    arch: &'static str,
    invocations: u32,
    errors: u32,
    cold_starts: u32,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: Option<f64>,
    trimmed_mean_ms: Option<f64>,
    billed_mean_ms: Option<f64>,
    init_p50_ms: Option<f64>,
    max_memory_used_mb: Option<u32>,
    cost_per_invocation_usd: Option<f64>,
    cost_per_million_usd: Option<f64>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct ChoiceJson {
    memory_mb: u32,
    arch: &'static str,
    p50_ms: Option<f64>,
    cost_per_million_usd: Option<f64>,
}

#[derive(Serialize)]
struct OptimaJson {
    cost: Option<ChoiceJson>,
    speed: Option<ChoiceJson>,
    balanced: Option<ChoiceJson>,
    balanced_weight: f64,
}

#[derive(Serialize)]
struct RunJson<'a> {
    function: &'a str,
    region: &'a str,
    complete: bool,
    restored: bool,
    original_memory_mb: u32,
    original_arch: &'static str,
    invocations_per_size: u32,
    cold_starts_only: bool,
    payload: &'a str,
    sizes: Vec<SizeJson<'a>>,
    optimum: OptimaJson,
    strategy: &'static str,
    recommended: Option<ChoiceJson>,
    applied_memory_mb: Option<u32>,
    tuning_cost_usd: f64,
    warnings: &'a [String],
}

fn choice(points: &[TuningPoint], s: Strategy, cold: bool) -> Option<ChoiceJson> {
    optimum(points, s, cold).map(|i| {
        let p = &points[i];
        ChoiceJson {
            memory_mb: p.memory_mb,
            arch: p.arch.as_str(),
            p50_ms: p.p50_ms,
            cost_per_million_usd: p.cost_usd.map(|c| c * 1e6),
        }
    })
}

fn weight(s: Strategy) -> f64 {
    match s {
        Strategy::Balanced(w) => w,
        _ => 0.5,
    }
}

pub fn json(o: &Outcome) -> String {
    let r = &o.run;
    let cold = r.cold_starts_only;
    let w = weight(o.strategy);
    let doc = RunJson {
        function: &r.function,
        region: &r.region,
        complete: r.complete,
        restored: o.restored,
        original_memory_mb: r.original_memory_mb,
        original_arch: r.original_arch.as_str(),
        invocations_per_size: r.invocations_per_size,
        cold_starts_only: cold,
        payload: &r.payload,
        sizes: r
            .points
            .iter()
            .map(|p| SizeJson {
                memory_mb: p.memory_mb,
                arch: p.arch.as_str(),
                invocations: p.invocations,
                errors: p.errors,
                cold_starts: p.cold_starts,
                p50_ms: p.p50_ms,
                p95_ms: p.p95_ms,
                p99_ms: p.p99_ms,
                trimmed_mean_ms: p.trimmed_mean_ms,
                billed_mean_ms: p.billed_mean_ms,
                init_p50_ms: p.init_p50_ms,
                max_memory_used_mb: p.max_memory_used_mb,
                cost_per_invocation_usd: p.cost_usd,
                cost_per_million_usd: p.cost_usd.map(|c| c * 1e6),
                error: p.error.as_deref(),
            })
            .collect(),
        optimum: OptimaJson {
            cost: choice(&r.points, Strategy::Cost, cold),
            speed: choice(&r.points, Strategy::Speed, cold),
            balanced: choice(&r.points, Strategy::Balanced(w), cold),
            balanced_weight: w,
        },
        strategy: o.strategy.name(),
        recommended: choice(&r.points, o.strategy, cold),
        applied_memory_mb: r.applied_memory_mb,
        tuning_cost_usd: o.tuning_cost_usd,
        warnings: &o.warnings,
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.1}"))
}

pub fn table(o: &Outcome) -> String {
    let r = &o.run;
    let cold = r.cold_starts_only;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({}, was {} MB {}): {} invocations per size{}{}",
        r.function,
        r.region,
        r.original_memory_mb,
        r.original_arch.as_str(),
        r.invocations_per_size,
        if cold { ", cold starts only" } else { "" },
        if r.complete {
            ""
        } else {
            " — INTERRUPTED, partial results"
        }
    );
    let _ = writeln!(
        s,
        "{:>7} {:>6} {:>5} {:>4} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12}  error",
        "memory",
        "arch",
        "ok",
        "err",
        "cold",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "tmean ms",
        "init p50",
        "$ per 1M"
    );
    for p in &r.points {
        let _ = writeln!(
            s,
            "{:>7} {:>6} {:>5} {:>4} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12}  {}",
            p.memory_mb,
            p.arch.as_str(),
            p.invocations,
            p.errors,
            p.cold_starts,
            ms(p.p50_ms),
            ms(p.p95_ms),
            ms(p.p99_ms),
            ms(p.trimmed_mean_ms),
            ms(p.init_p50_ms),
            p.cost_usd
                .map_or("-".to_string(), |c| format!("{:.4}", c * 1e6)),
            p.error.as_deref().unwrap_or("")
        );
    }
    let w = weight(o.strategy);
    for (label, st) in [
        ("cost", Strategy::Cost),
        ("speed", Strategy::Speed),
        ("balanced", Strategy::Balanced(w)),
    ] {
        let label = if st == Strategy::Balanced(w) {
            format!("balanced (weight {w})")
        } else {
            label.to_string()
        };
        let mark = if st.name() == o.strategy.name() {
            " ←"
        } else {
            ""
        };
        match optimum(&r.points, st, cold) {
            Some(i) => {
                let p = &r.points[i];
                let _ = writeln!(
                    s,
                    "optimum for {label}: {} MB {} (p50 {} ms, ${:.4} per 1M){mark}",
                    p.memory_mb,
                    p.arch.as_str(),
                    ms(p.p50_ms),
                    p.cost_usd.unwrap_or(0.0) * 1e6
                );
            }
            None => {
                let _ = writeln!(s, "optimum for {label}: none (no size ran without errors)");
            }
        }
    }
    let _ = writeln!(
        s,
        "tuning spent ${:.6} on invocations (cost engine, request fee included)",
        o.tuning_cost_usd
    );
    if let Some(m) = r.applied_memory_mb {
        let _ = writeln!(s, "applied: {} now runs at {m} MB", r.function);
    }
    let _ = writeln!(
        s,
        "{}",
        if o.restored {
            "configuration restored"
        } else {
            "WARNING: the configuration may not be fully restored"
        }
    );
    for w in &o.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
