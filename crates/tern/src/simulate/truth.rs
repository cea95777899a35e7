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
#[derive(Debug, Clone, Serialize)]
pub struct DurationTruth {
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
pub fn duration_truth(spec: &super::fleet::FunctionSpec) -> DurationTruth {
    use tern_core::recommend::{self as rec, Strategy, StrategyPoint};
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
                monthly_cost_usd: rec::monthly_cost(
                    super::fleet::REGION,
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
}
