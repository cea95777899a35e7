//! `truth.json`: what the simulator generated, counted from the same values it printed.
//! End-to-end tests compare Tern's report against it.
//!
//! Counting rules:
//! - an invocation is one REPORT (or `platform.report`);
//! - `errors` is every invocation whose outcome is not `success`;
//! - a cold start is a REPORT with Init Duration, a suppressed init
//!   (`INIT_REPORT … Phase: invoke`) or a SnapStart restore (`Restore Duration`);
//! - `environments` counts log streams holding at least one REPORT; `log_streams` also counts
//!   SnapStart snapshot streams (INIT_START + INIT_REPORT at version publish, no invocation);
//! - `billed_ms` sums `Billed Duration`; `gb_seconds` is Σ billed ms × memory MB / 1024 / 1000;
//!   SnapStart `Billed Restore Duration` is kept apart (`billed_restore_ms`,
//!   `restore_gb_seconds`).

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcomes {
    pub success: u64,
    pub error: u64,
    pub timeout: u64,
    pub out_of_memory: u64,
    pub crash: u64,
    pub init_error: u64,
}

impl Outcomes {
    pub fn total(&self) -> u64 {
        self.success + self.error + self.timeout + self.out_of_memory + self.crash + self.init_error
    }

    pub fn add(&mut self, o: &Outcomes) {
        self.success += o.success;
        self.error += o.error;
        self.timeout += o.timeout;
        self.out_of_memory += o.out_of_memory;
        self.crash += o.crash;
        self.init_error += o.init_error;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub generator: &'static str,
    pub seed: u64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub days: u32,
    pub account_id: String,
    pub region: &'static str,
    /// Environments created from this time on run the patched runtime version (a runtime
    /// update with no effect on performance).
    pub runtime_patch_ms: i64,
    pub totals: Totals,
    pub functions: Vec<FunctionTruth>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub functions: u64,
    pub invocations: u64,
    pub errors: u64,
    pub outcomes: Outcomes,
    pub cold_starts: u64,
    pub events: u64,
    pub files: u64,
    pub bytes: u64,
    pub billed_ms: u64,
    pub gb_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionTruth {
    pub name: String,
    pub log_group: String,
    pub runtime: &'static str,
    /// Not in the logs: Tern cannot know it without configuration.
    pub architecture: &'static str,
    pub log_format: &'static str,
    /// Not in the logs either (only visible when an invocation times out).
    pub timeout_s: u32,
    /// Memory sizes seen in REPORT lines, ascending.
    pub memory_sizes_mb: Vec<u32>,
    /// Versions seen in START lines, in order of first use.
    pub versions: Vec<String>,
    pub snap_start: bool,
    pub xray: bool,
    pub traffic: &'static str,
    pub expected_invocations_per_day: f64,
    pub scenarios: Vec<&'static str>,
    /// `jsonl`, `subscription` or `filter_log_events`.
    pub output_format: &'static str,
    pub invocations: u64,
    pub errors: u64,
    pub outcomes: Outcomes,
    pub cold_starts: u64,
    pub environments: u64,
    pub log_streams: u64,
    pub billed_ms: u64,
    pub billed_restore_ms: u64,
    pub gb_seconds: f64,
    pub restore_gb_seconds: f64,
    pub max_memory_used_mb: u32,
    pub duration_ms_sum: f64,
    pub duration_ms_max: f64,
    /// Timestamps of the first and last REPORT.
    pub first_report_ms: i64,
    pub last_report_ms: i64,
    pub by_memory: Vec<MemoryTruth>,
    /// Deploys and configuration changes during the window.
    pub changes: Vec<ChangeTruth>,
    pub events: u64,
    pub files: u64,
    /// The true duration model and the true optimum memory size per strategy.
    pub duration_model: DurationTruth,
    /// The insight rules that should fire for this function, by id: what the generator put in
    /// and made happen ([`problems`]), never the rules' own reading of the logs.
    pub problems: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemoryTruth {
    pub memory_mb: u32,
    pub invocations: u64,
    pub billed_ms: u64,
    pub gb_seconds: f64,
    pub duration_ms_sum: f64,
    pub duration_ms_avg: f64,
    pub max_memory_used_mb: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeTruth {
    pub at_ms: i64,
    /// `deploy` or `memory_change`.
    pub kind: &'static str,
    pub version: String,
    pub memory_mb: u32,
    /// The deployed code fails to initialize (every invocation until the next change is an
    /// init error).
    pub broken: bool,
    /// Injected: handler durations from this change on are multiplied by this.
    pub duration_factor: f64,
    /// Injected: the handler error probability from this change on, when it changed.
    pub error_rate: Option<f64>,
}

/// How a function's warm, successful invocations really behave at any memory size (cold
/// starts and failures are excluded: they are different work). The median of each part is
/// given; each part is log-normal with `sigma`, independently:
///
/// ```text
/// d(m) = fixed + cpu_work × 1769 / min(m, 1769)
/// ```
///
/// A function of a duration family (`family` set) follows its own curve instead
/// (`spec::Curve`): `cpu_cap_mb` is then the size past which more memory stops helping, the
/// curve also gives p99, and the optimum is found by brute force over the true curve,
/// independently of the recommender.
#[derive(Debug, Clone, Serialize)]
pub struct DurationTruth {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<&'static str>,
    pub fixed_ms: f64,
    pub cpu_work_ms: f64,
    /// No speed-up past one vCPU: the handlers are single-threaded.
    pub cpu_cap_mb: f64,
    pub sigma: f64,
    /// The most memory a (non-leaking) invocation uses: runtime + 1.05 × handler work.
    pub memory_need_mb: f64,
    /// `memory_need_mb` plus 20% headroom, rounded up to a candidate size.
    pub memory_floor_mb: u32,
    /// The size in force at the end of the window.
    pub current_memory_mb: u32,
    /// At each candidate size (and the current one): true p50, p95, mean and the monthly
    /// cost at the expected rate (mean + 0.5 ms rounding billed, priced by the cost engine).
    pub curve: Vec<TruePoint>,
    pub optimum: TrueOptimum,
}

#[derive(Debug, Clone, Serialize)]
pub struct TruePoint {
    pub memory_mb: u32,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub mean_ms: f64,
    pub monthly_cost_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
}

/// The true best size per strategy over the candidate grid, above the floor
/// (`tern_core::recommend::choose` on the true curve).
#[derive(Debug, Clone, Serialize)]
pub struct TrueOptimum {
    pub cost: u32,
    pub speed: u32,
    pub balanced: u32,
    pub balanced_weight: f64,
}

/// The problems a function truly has, named by the insight rule that should find each. Each
/// comes from the generator's parameters (the memory a handler needs, the hang probability,
/// the duration curve) or from what it made happen (which invocations it failed, how many
/// environments it started), with the rule's published threshold (`tern insights` defaults)
/// applied to that truth:
/// - `memory.out_of_memory`: the generator killed an invocation for memory;
/// - `memory.over_provisioned`: the true need is at most half the size in force, and the need
///   plus 20% rounds (64 MB steps) below it; at least 50 invocations, none out of memory;
/// - `memory.under_provisioned`: the true need is 95% of the size or more, none out of memory;
/// - `timeout.too_close`: the true p99 of the work at the size in force is 90% of the timeout
///   or more, and the timeout is knowable from the logs (an invocation reached it);
/// - `timeout.hangs`: the generator hung invocations until the timeout, and one did, while
///   the work itself stays clear of it (true p99 under 90% of the timeout);
/// - `errors.rate_high`: 1% or more of at least 10 invocations failed;
/// - `cold_start.rate_high`: 1% or more of at least 50 invocations started an environment;
/// - `container.low_reuse`: at most 2 invocations per environment, over at least 50.
pub fn problems(spec: &super::spec::FunctionSpec, t: &FunctionTruth) -> Vec<&'static str> {
    let mut out = Vec::new();
    let m = &t.duration_model;
    let size = f64::from(m.current_memory_mb);
    let oom = t.outcomes.out_of_memory;
    if oom > 0 {
        out.push("memory.out_of_memory");
    }
    let suggested = ((m.memory_need_mb * 1.2 / 64.0).ceil() * 64.0).clamp(128.0, 10_240.0);
    if t.invocations >= 50 && oom == 0 && m.memory_need_mb <= 0.5 * size && suggested < size {
        out.push("memory.over_provisioned");
    }
    if oom == 0 && t.invocations > 0 && m.memory_need_mb >= 0.95 * size {
        out.push("memory.under_provisioned");
    }
    let timeout_ms = f64::from(spec.timeout_s) * 1000.0;
    let reached = t.outcomes.timeout > 0;
    if reached && work_quantile_ms(spec, m, 0.99) >= 0.9 * timeout_ms {
        out.push("timeout.too_close");
    }
    let hangs = t.outcomes.timeout > 0 && spec.faults.timeout > 0.0;
    if hangs && work_quantile_ms(spec, m, 0.99) < 0.9 * timeout_ms {
        out.push("timeout.hangs");
    }
    if t.invocations >= 10 && t.errors * 100 >= t.invocations {
        out.push("errors.rate_high");
    }
    if t.invocations >= 50 && t.cold_starts * 100 >= t.invocations {
        out.push("cold_start.rate_high");
    }
    if t.invocations >= 50 && t.environments > 0 && t.invocations <= 2 * t.environments {
        out.push("container.low_reuse");
    }
    out
}

/// The true `q` quantile of the handler's work at the size in force (warm, hangs left out),
/// scaled by the last change's factor.
fn work_quantile_ms(spec: &super::spec::FunctionSpec, m: &DurationTruth, q: f64) -> f64 {
    let factor = spec.periods.last().map_or(1.0, |p| p.duration_factor);
    let warm = if spec.curve == super::spec::Curve::Classic {
        let cpu = m.cpu_work_ms * tern_core::recommend::cpu_factor(f64::from(m.current_memory_mb));
        sum_quantile(m.fixed_ms, cpu, m.sigma, q)
    } else {
        let modes = spec
            .curve
            .parts_at(m.fixed_ms, m.cpu_work_ms, m.current_memory_mb);
        mixture_quantile(&modes, m.sigma, q)
    };
    warm * factor
}

/// Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf, |error| < 1.5e-7).
fn phi(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + y)
    } else {
        0.5 * (1.0 - y)
    }
}

/// The `q` quantile of `A + B` for independent log-normals with medians `a`, `b` and shape
/// `sigma`: the CDF is averaged over 400 stratified quantiles of `A`, then bisected.
pub fn sum_quantile(a: f64, b: f64, sigma: f64, q: f64) -> f64 {
    let z = super::sample::probit(q);
    if b <= 0.0 || sigma <= 0.0 {
        return (a + b.max(0.0)) * (sigma.max(0.0) * z).exp();
    }
    if a <= 0.0 {
        return b * (sigma * z).exp();
    }
    const N: usize = 400;
    let xs: Vec<f64> = (0..N)
        .map(|i| a * (sigma * super::sample::probit((i as f64 + 0.5) / N as f64)).exp())
        .collect();
    let cdf = |t: f64| -> f64 {
        xs.iter()
            .map(|&x| {
                if t <= x {
                    0.0
                } else {
                    phi(((t - x) / b).ln() / sigma)
                }
            })
            .sum::<f64>()
            / N as f64
    };
    let (mut lo, mut hi) = (0.0, (a + b) * (6.0 * sigma).exp());
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The true model of `spec` and its optimum per strategy.
pub fn duration_truth(spec: &super::spec::FunctionSpec) -> DurationTruth {
    use tern_core::recommend::{self as rec, Strategy, StrategyPoint};
    if spec.curve != super::spec::Curve::Classic {
        return family_truth(spec);
    }
    let p = &spec.perf;
    let need = spec.runtime.base_memory_mb() + p.work_mb * 1.05;
    let floor = rec::memory_floor(need, 0.2);
    let current = spec.periods.last().map_or(128, |p| p.memory_mb);
    let mut sizes: Vec<u32> = rec::CANDIDATES_MB.to_vec();
    sizes.push(current);
    sizes.sort_unstable();
    sizes.dedup();
    let monthly = spec.rate_per_day * 30.0;
    let curve: Vec<TruePoint> = sizes
        .iter()
        .map(|&m| {
            let cpu = p.cpu_ms * rec::cpu_factor(f64::from(m));
            let mean = (p.io_ms + cpu) * (p.sigma * p.sigma / 2.0).exp();
            TruePoint {
                memory_mb: m,
                p50_ms: sum_quantile(p.io_ms, cpu, p.sigma, 0.5),
                p95_ms: sum_quantile(p.io_ms, cpu, p.sigma, 0.95),
                mean_ms: mean,
                p99_ms: None,
                monthly_cost_usd: rec::monthly_cost(
                    super::spec::REGION,
                    spec.arch,
                    monthly,
                    mean + 0.5,
                    m,
                )
                .0,
            }
        })
        .collect();
    let pts: Vec<StrategyPoint> = curve
        .iter()
        .map(|t| StrategyPoint {
            memory_mb: t.memory_mb,
            p95_ms: t.p95_ms,
            monthly_cost_usd: t.monthly_cost_usd,
            allowed: t.memory_mb >= floor,
        })
        .collect();
    let pick = |s: Strategy| {
        rec::choose(&pts, s)
            .and_then(|i| pts.get(i))
            .map_or(current, |p| p.memory_mb)
    };
    DurationTruth {
        family: None,
        fixed_ms: p.io_ms,
        cpu_work_ms: p.cpu_ms,
        cpu_cap_mb: rec::VCPU_MB,
        sigma: p.sigma,
        memory_need_mb: need,
        memory_floor_mb: floor,
        current_memory_mb: current,
        optimum: TrueOptimum {
            cost: pick(Strategy::Cost),
            speed: pick(Strategy::Speed),
            balanced: pick(Strategy::Balanced { weight: 0.5 }),
            balanced_weight: 0.5,
        },
        curve,
    }
}

/// P(A + B ≤ t) for independent log-normals with medians `a`, `b` and shape `sigma`, averaged
/// over 400 stratified quantiles of `A`.
fn sum_cdf(a: f64, b: f64, sigma: f64, t: f64) -> f64 {
    use super::sample::probit;
    if t <= 0.0 {
        return 0.0;
    }
    if b <= 0.0 || a <= 0.0 {
        let m = (a.max(0.0) + b.max(0.0)).max(f64::MIN_POSITIVE);
        return phi((t / m).ln() / sigma);
    }
    const N: usize = 400;
    (0..N)
        .map(|i| {
            let x = a * (sigma * probit((i as f64 + 0.5) / N as f64)).exp();
            if t <= x {
                0.0
            } else {
                phi(((t - x) / b).ln() / sigma)
            }
        })
        .sum::<f64>()
        / N as f64
}

/// The `q` quantile of a mixture of such sums: `(weight, a, b)` per mode, by bisection.
fn mixture_quantile(modes: &[(f64, f64, f64)], sigma: f64, q: f64) -> f64 {
    let cdf = |t: f64| -> f64 {
        modes
            .iter()
            .map(|&(w, a, b)| w * sum_cdf(a, b, sigma, t))
            .sum()
    };
    let top = modes.iter().map(|&(_, a, b)| a + b).fold(0.0, f64::max);
    let (mut lo, mut hi) = (0.0, top * (6.0 * sigma).exp());
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The truth of a duration-family function: its own curve at every candidate size and the
/// sizes it ran at, and the optimum by brute force over that curve. Only the prices come
/// from Tern (they are facts); nothing here uses the recommender's model or its choice.
fn family_truth(spec: &super::spec::FunctionSpec) -> DurationTruth {
    use super::spec::Curve;
    use tern_core::recommend as rec;
    const WEIGHT: f64 = 0.5;
    let p = &spec.perf;
    let curve_of = spec.curve;
    let need = spec.runtime.base_memory_mb() + p.work_mb * 1.05;
    // The smallest candidate holding the need plus 20% headroom.
    let floor = rec::CANDIDATES_MB
        .iter()
        .copied()
        .find(|&c| f64::from(c) >= need * 1.2)
        .unwrap_or(10_240);
    let current = spec.periods.last().map_or(128, |p| p.memory_mb);
    let mut sizes: Vec<u32> = rec::CANDIDATES_MB.to_vec();
    sizes.extend(spec.periods.iter().map(|p| p.memory_mb));
    sizes.sort_unstable();
    sizes.dedup();
    let monthly = spec.rate_per_day * 30.0;
    let curve: Vec<TruePoint> = sizes
        .iter()
        .map(|&m| {
            let modes = curve_of.parts_at(p.io_ms, p.cpu_ms, m);
            let mean = modes.iter().map(|&(w, a, b)| w * (a + b)).sum::<f64>()
                * (p.sigma * p.sigma / 2.0).exp();
            TruePoint {
                memory_mb: m,
                p50_ms: mixture_quantile(&modes, p.sigma, 0.5),
                p95_ms: mixture_quantile(&modes, p.sigma, 0.95),
                mean_ms: mean,
                p99_ms: Some(mixture_quantile(&modes, p.sigma, 0.99)),
                monthly_cost_usd: rec::monthly_cost(
                    super::spec::REGION,
                    spec.arch,
                    monthly,
                    mean + 0.5,
                    m,
                )
                .0,
            }
        })
        .collect();
    let now = curve.iter().find(|t| t.memory_mb == current);
    let (cost_now, p95_now) = now.map_or((1.0, 1.0), |t| (t.monthly_cost_usd, t.p95_ms));
    let timeout_ms = f64::from(spec.timeout_s) * 1000.0;
    let allowed: Vec<&TruePoint> = curve
        .iter()
        .filter(|t| t.memory_mb >= floor && t.p99_ms.unwrap_or(f64::INFINITY) <= 0.9 * timeout_ms)
        .collect();
    // The lowest of `key`, ties (within a part in a million) to the lower `then`.
    let best = |key: &dyn Fn(&TruePoint) -> f64, then: &dyn Fn(&TruePoint) -> f64| {
        allowed
            .iter()
            .min_by(|a, b| {
                let (ka, kb) = (key(a), key(b));
                if (ka - kb).abs() <= 1e-6 * ka.abs().max(kb.abs()) {
                    then(a).total_cmp(&then(b))
                } else {
                    ka.total_cmp(&kb)
                }
            })
            .map_or(current, |t| t.memory_mb)
    };
    let cost = |t: &TruePoint| t.monthly_cost_usd;
    let p95 = |t: &TruePoint| t.p95_ms;
    let score = |t: &TruePoint| {
        WEIGHT * t.monthly_cost_usd / cost_now + (1.0 - WEIGHT) * t.p95_ms / p95_now
    };
    let cap_mb = match curve_of {
        Curve::Plateau { flat_mb } => f64::from(flat_mb),
        Curve::VcpuSteps => 5.0 * 1769.0,
        Curve::Parallel { threads } => (f64::from(threads) * 1769.0).min(10_240.0),
        _ => 1769.0,
    };
    DurationTruth {
        family: Some(curve_of.name()),
        fixed_ms: p.io_ms,
        cpu_work_ms: p.cpu_ms,
        cpu_cap_mb: cap_mb,
        sigma: p.sigma,
        memory_need_mb: need,
        memory_floor_mb: floor,
        current_memory_mb: current,
        optimum: TrueOptimum {
            cost: best(&cost, &p95),
            speed: best(&p95, &cost),
            balanced: best(&score, &cost),
            balanced_weight: WEIGHT,
        },
        curve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_quantile_matches_closed_forms_and_sampling() {
        // One part only: the log-normal quantile.
        let q = sum_quantile(100.0, 0.0, 0.4, 0.95);
        assert!((q - 100.0 * (0.4f64 * 1.644_853_6).exp()).abs() < 1e-4);
        assert!((sum_quantile(0.0, 50.0, 0.3, 0.5) - 50.0).abs() < 1e-9);
        // Two parts: against a large deterministic sample.
        let mut rng = super::super::sample::rng_for(1, 2);
        let mut xs: Vec<f64> = (0..200_000)
            .map(|_| {
                super::super::sample::lognormal(&mut rng, 60.0, 0.5)
                    + super::super::sample::lognormal(&mut rng, 40.0, 0.5)
            })
            .collect();
        xs.sort_by(f64::total_cmp);
        for q in [0.5, 0.95] {
            let want = xs[(q * xs.len() as f64) as usize];
            let got = sum_quantile(60.0, 40.0, 0.5, q);
            assert!((got - want).abs() / want < 0.01, "q {q}: {got} vs {want}");
        }
    }

    /// Each family's truth agrees with the durations the engine draws, and has the shape it
    /// is named for.
    #[test]
    fn family_curves_match_sampling_and_their_shapes() {
        use super::super::spec::{Curve, Perf};
        let perf = Perf {
            io_ms: 30.0,
            cpu_ms: 200.0,
            sigma: 0.4,
            work_mb: 30.0,
            leak_mb: 0.0,
        };
        let curves = [
            Curve::WorkingSet {
                fits_mb: 1536,
                penalty: 1.35,
            },
            Curve::Plateau { flat_mb: 256 },
            Curve::VcpuSteps,
            Curve::Parallel { threads: 6 },
            Curve::Bimodal {
                miss: 0.15,
                miss_io_ms: 350.0,
                miss_cpu: 4.0,
            },
        ];
        let truth = |c: Curve, m: u32, q: f64| {
            mixture_quantile(&c.parts_at(perf.io_ms, perf.cpu_ms, m), perf.sigma, q)
        };
        let mut rng = super::super::sample::rng_for(3, 4);
        for c in curves {
            for m in [512, 1769, 4096] {
                let mut xs: Vec<f64> = (0..60_000)
                    .map(|_| super::super::engine::family_duration(c, &perf, m, &mut rng))
                    .collect();
                xs.sort_by(f64::total_cmp);
                for q in [0.5, 0.95, 0.99] {
                    let want = xs[(q * xs.len() as f64) as usize];
                    let got = truth(c, m, q);
                    assert!(
                        (got - want).abs() / want < 0.02,
                        "{} at {m} MB, q {q}: {got} vs {want}",
                        c.name()
                    );
                }
            }
        }
        let [ws, plateau, steps, parallel, _] = curves;
        // 1,536 MB about halves 1,024 MB's time (the seed article's table).
        let r = ws.cpu_scale(1536) / ws.cpu_scale(1024);
        assert!(r > 0.45 && r < 0.55, "{r}");
        assert_eq!(plateau.cpu_scale(256), plateau.cpu_scale(10_240));
        assert!(plateau.cpu_scale(128) > plateau.cpu_scale(256));
        assert_eq!(steps.cpu_scale(1769), steps.cpu_scale(3008));
        assert!((steps.cpu_scale(3538) - 0.5).abs() < 1e-12);
        assert!((steps.cpu_scale(10_240) - 0.2).abs() < 1e-12);
        assert!(parallel.cpu_scale(10_240) < parallel.cpu_scale(8192));
        assert!((1.0 / parallel.cpu_scale(10_240) - 10_240.0 / 1769.0).abs() < 1e-9);
    }
}
