//! Measured sizes: invocations (or summaries) grouped per memory size with their figures, and
//! the duration model fitted across them.

use std::collections::BTreeMap;

use super::advice::{Lean, SizeGroup, Source};
use super::fit::{Fit, FitPoint};
use super::input::{MeasuredPoint, Observation, SizeSummary};
use super::stats::Interval;
use super::{fit, stats};
use crate::model::{Arch, Outcome};

pub(super) struct Summary {
    pub(super) p50: f64,
    pub(super) p95: f64,
    pub(super) p99: f64,
    pub(super) mean: f64,
    pub(super) n: usize,
}

pub(super) fn summarize(mut d: Vec<f64>) -> Option<Summary> {
    d.retain(|x| x.is_finite() && *x >= 0.0);
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    let n = d.len();
    Some(Summary {
        p50: fit::quantile(&d, 0.5)?,
        p95: fit::quantile(&d, 0.95)?,
        p99: fit::quantile(&d, 0.99)?,
        mean: d.iter().sum::<f64>() / n as f64,
        n,
    })
}

pub(super) fn usable(o: &Observation) -> bool {
    o.memory_mb > 0 && o.duration_ms.is_finite() && o.duration_ms >= 0.0
}

fn warm_ok(o: &Observation) -> bool {
    !o.cold && o.outcome == Outcome::Success
}

/// Groups of one version: per (memory, arch), from logs (invocations or summaries) and tuning.
pub(super) fn groups(
    obs: &[&Observation],
    measured: &[MeasuredPoint],
    summaries: &[SizeSummary],
) -> Vec<SizeGroup> {
    let mut by: BTreeMap<(u32, Arch), Vec<&Observation>> = BTreeMap::new();
    for o in obs {
        by.entry((o.memory_mb, o.arch)).or_default().push(o);
    }
    let mut out = Vec::new();
    for ((memory_mb, arch), os) in by {
        let warm: Vec<f64> = os
            .iter()
            .filter(|o| warm_ok(o))
            .map(|o| o.duration_ms)
            .collect();
        let Some(s) = summarize(warm) else { continue };
        let init_of = |o: &Observation| {
            o.init_ms
                .filter(|i| o.cold && i.is_finite() && *i >= 0.0)
                .unwrap_or(0.0)
        };
        let mut latency: Vec<f64> = os
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Success | Outcome::Timeout))
            .map(|o| o.duration_ms + init_of(o))
            .filter(|d| d.is_finite())
            .collect();
        latency.sort_by(f64::total_cmp);
        let exact = |v: f64| Interval::exact(v);
        let lat = |q: f64, fallback: f64| {
            stats::quantile_ci(&latency, q).unwrap_or_else(|| exact(fallback))
        };
        let billed: Vec<f64> = os
            .iter()
            .map(|o| o.billed_ms)
            .filter(|b| b.is_finite() && *b >= 0.0)
            .collect();
        let billed_ci = stats::mean_ci(&billed).unwrap_or_else(|| exact(s.mean));
        let cold: Vec<&&Observation> = os.iter().filter(|o| o.cold).collect();
        let inits: Vec<(f64, f64)> = cold
            .iter()
            .filter_map(|o| {
                let i = o.init_ms.filter(|i| i.is_finite() && *i >= 0.0)?;
                o.billed_ms
                    .is_finite()
                    .then_some((i, o.billed_ms - o.duration_ms))
            })
            .collect();
        let init_mean_ms = (!inits.is_empty())
            .then(|| inits.iter().map(|i| i.0).sum::<f64>() / inits.len() as f64);
        // Since INIT billing, a cold start's billed time includes its init: tell from the logs.
        let init_billed = init_mean_ms.is_some_and(|m| {
            let extra = inits.iter().map(|i| i.1).sum::<f64>() / inits.len() as f64;
            extra >= 0.5 * m
        });
        let n = os.len().max(1) as f64;
        out.push(SizeGroup {
            memory_mb,
            arch,
            source: Source::Logs,
            invocations: os.len() as u64,
            samples: s.n as u64,
            p50_ms: s.p50,
            p95_ms: s.p95,
            mean_ms: s.mean,
            billed_mean_ms: billed_ci.value,
            first_ms: os.iter().map(|o| o.at_ms).min(),
            last_ms: os.iter().map(|o| o.at_ms).max(),
            latency_p50: lat(0.5, s.p50),
            latency_p95: lat(0.95, s.p95),
            latency_p99: lat(0.99, s.p99),
            billed: billed_ci,
            cold_rate: cold.len() as f64 / n,
            init_mean_ms,
            init_billed_ms: if init_billed {
                inits.iter().map(|i| i.0).sum::<f64>() / n
            } else {
                0.0
            },
            timeouts: os.iter().filter(|o| o.outcome == Outcome::Timeout).count() as u64,
            oom_kills: os
                .iter()
                .filter(|o| o.outcome == Outcome::OutOfMemory)
                .count() as u64,
        });
    }
    for m in summaries {
        if m.memory_mb == 0 || m.invocations == 0 || m.warm_successful == 0 {
            continue;
        }
        let n = m.invocations as f64;
        out.push(SizeGroup {
            memory_mb: m.memory_mb,
            arch: m.arch,
            source: Source::Logs,
            invocations: m.invocations,
            samples: m.warm_successful,
            p50_ms: m.warm_p50_ms,
            p95_ms: m.warm_p95_ms,
            mean_ms: m.mean_ms,
            billed_mean_ms: m.billed.value,
            first_ms: m.first_ms,
            last_ms: m.last_ms,
            latency_p50: m.p50,
            latency_p95: m.p95,
            latency_p99: m.p99,
            billed: m.billed,
            cold_rate: m.cold_starts as f64 / n,
            init_mean_ms: m.init_mean_ms,
            init_billed_ms: m.init_billed_ms,
            timeouts: m.timeouts,
            oom_kills: m.oom_kills,
        });
    }
    for m in measured {
        let fine = [m.p50, m.p95, m.mean]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0);
        if !fine || m.invocations == 0 || m.memory_mb == 0 {
            continue;
        }
        let p99 = if m.p99.is_finite() && m.p99 >= m.p95 {
            m.p99
        } else {
            m.p95
        };
        let spread = (m.p95 - m.p50).abs().max(0.01 * m.p50);
        let n = m.invocations;
        out.push(SizeGroup {
            memory_mb: m.memory_mb,
            arch: m.arch,
            source: Source::Tuning,
            invocations: n,
            samples: n,
            p50_ms: m.p50,
            p95_ms: m.p95,
            mean_ms: m.mean,
            billed_mean_ms: m.mean,
            first_ms: None,
            last_ms: None,
            latency_p50: stats::approximate_ci(m.p50, spread, n, 0.5),
            latency_p95: stats::approximate_ci(m.p95, spread, n, 0.95),
            latency_p99: stats::approximate_ci(p99, spread, n, 0.99),
            billed: stats::approximate_ci(m.mean, spread, n, 0.5),
            cold_rate: 0.0,
            init_mean_ms: None,
            init_billed_ms: 0.0,
            timeouts: 0,
            oom_kills: 0,
        });
    }
    out.sort_by_key(|g| (g.memory_mb, g.arch, g.source == Source::Tuning));
    out
}

pub(super) fn fit_on(groups: &[&SizeGroup], value: impl Fn(&SizeGroup) -> f64) -> Option<Fit> {
    let pts: Vec<FitPoint> = groups
        .iter()
        .map(|g| FitPoint {
            memory_mb: f64::from(g.memory_mb),
            value_ms: value(g),
            weight: g.samples as f64,
        })
        .collect();
    fit::fit(&pts)
}

/// Decide which end of the extrapolation bounds the evidence favours, and say why.
pub(super) fn lean_of(
    g: &SizeGroup,
    init_p50: Option<f64>,
    runtime: Option<&str>,
) -> (Lean, Vec<String>) {
    let mut reasons = Vec::new();
    let mut votes = 0i32;
    let spread = if g.p50_ms > 0.0 {
        g.p95_ms / g.p50_ms
    } else {
        1.0
    };
    if spread <= 1.35 {
        votes += 1;
        reasons.push(format!(
            "p95 is only {spread:.2}× p50: steady durations, as computation tends to be"
        ));
    } else if spread >= 1.8 {
        votes -= 1;
        reasons.push(format!(
            "p95 is {spread:.2}× p50: widely varying durations, as waits on the network tend to be"
        ));
    } else {
        reasons.push(format!(
            "p95 is {spread:.2}× p50: neither clearly steady nor clearly variable"
        ));
    }
    if let Some(init) = init_p50.filter(|i| *i > 0.0) {
        let r = g.p50_ms / init;
        if r >= 3.0 {
            reasons.push(format!(
                "warm p50 is {r:.1}× the init p50: the handler does substantial work per call"
            ));
        } else if r <= 0.3 {
            votes -= 1;
            reasons.push(format!(
                "warm p50 is {r:.2}× the init p50: handlers this short next to their init mostly \
                 wait on something"
            ));
        }
    }
    if g.p50_ms < 20.0 {
        reasons.push(format!(
            "p50 {:.1} ms is near the floor of a network round trip: little room to speed up",
            g.p50_ms
        ));
        votes -= 1;
    }
    if let Some(rt) = runtime {
        reasons.push(format!(
            "runtime {rt}: says nothing either way about CPU use"
        ));
    }
    let lean = match votes {
        v if v > 0 => Lean::CpuBound,
        v if v < 0 => Lean::IoBound,
        _ => Lean::Unclear,
    };
    (lean, reasons)
}
