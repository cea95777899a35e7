//! Functions whose problems straddle the insight rules' thresholds, for measuring the rules'
//! precision and recall: each kind draws its key parameter from a range around the rule's
//! line, so about half fall on each side. Which truly have the problem is the truth's
//! `problems` ([`super::truth::problems`]), from these parameters, never from the logs.

use super::sample::{self, Rng};
use super::spec::{base, period, FunctionSpec, Perf, Runtime};

/// Invocations per day of each problem function: a few hundred invocations in a day.
pub const PROBLEM_RATE_PER_DAY: f64 = 400.0;

/// `count` functions, cycling through the kinds, numbered from `first`. Deterministic in
/// `seed`, and drawn from their own stream, so the rest of the fleet is the same with or
/// without them.
pub fn functions(first: usize, count: usize, seed: u64, start: i64) -> Vec<FunctionSpec> {
    let mut rng = sample::rng_for(seed, 0x9B0B);
    (0..count)
        .map(|i| {
            let runtime = *sample::pick(&mut rng, &[Runtime::Python, Runtime::Node, Runtime::Go]);
            let mut s = match i % 4 {
                0 => spare_memory(first + i, runtime, &mut rng),
                1 => tight_memory(first + i, runtime, &mut rng),
                2 => slow(first + i, runtime, &mut rng),
                _ => hanging(first + i, runtime, &mut rng),
            };
            s.name = format!("{}-{i}", s.name);
            s.log_group = format!("/aws/lambda/{}", s.name);
            s.rate_per_day = PROBLEM_RATE_PER_DAY;
            s.periods = vec![period(start, "$LATEST", s.periods[0].memory_mb)];
            s.scenarios = vec!["problem"];
            s
        })
        .collect()
}

/// Handler work (MB on top of the runtime) for a true need of `ratio` × `size`: the need is
/// the runtime plus 1.05 × the work (the most an invocation draws).
fn work_for(runtime: Runtime, size: u32, ratio: f64) -> f64 {
    ((f64::from(size) * ratio - runtime.base_memory_mb()) / 1.05).max(1.0)
}

/// The need at 30–70% of the size: around the over-provisioned line (50%).
fn spare_memory(index: usize, runtime: Runtime, rng: &mut Rng) -> FunctionSpec {
    let mut s = base(index, "problem-memory-spare", runtime);
    let size = *sample::pick(rng, &[512, 1024, 2048]);
    s.perf.work_mb = work_for(runtime, size, sample::uniform(rng, 0.3, 0.7));
    s.periods = vec![period(0, "$LATEST", size)];
    s
}

/// The need at 90–99.5% of the size: around the under-provisioned line (95%), never over it.
fn tight_memory(index: usize, runtime: Runtime, rng: &mut Rng) -> FunctionSpec {
    let mut s = base(index, "problem-memory-tight", runtime);
    let size = *sample::pick(rng, &[256, 512, 1024]);
    s.perf.work_mb = work_for(runtime, size, sample::uniform(rng, 0.9, 0.995));
    s.periods = vec![period(0, "$LATEST", size)];
    s
}

/// I/O-bound work whose p99 is 60–120% of the timeout: around the near-timeout line (90%).
fn slow(index: usize, runtime: Runtime, rng: &mut Rng) -> FunctionSpec {
    let mut s = base(index, "problem-slow", runtime);
    s.timeout_s = *sample::pick(rng, &[3, 5, 10, 15]);
    let sigma = sample::uniform(rng, 0.12, 0.3);
    let p99 = f64::from(s.timeout_s) * 1000.0 * sample::uniform(rng, 0.6, 1.2);
    s.perf = Perf {
        io_ms: p99 / (2.326 * sigma).exp(),
        cpu_ms: 1.0,
        sigma,
        work_mb: 20.0,
        leak_mb: 0.0,
    };
    s.periods = vec![period(0, "$LATEST", 512)];
    s
}

/// Invocations that hang until the timeout (0.2–3% of them) while the work's p99.9 is 10–80%
/// of it: around the hang line (the slowest completed at 50%).
fn hanging(index: usize, runtime: Runtime, rng: &mut Rng) -> FunctionSpec {
    let mut s = base(index, "problem-hangs", runtime);
    s.timeout_s = *sample::pick(rng, &[5, 10, 30]);
    let sigma = sample::uniform(rng, 0.2, 0.4);
    let p999 = f64::from(s.timeout_s) * 1000.0 * sample::uniform(rng, 0.1, 0.8);
    s.perf = Perf {
        io_ms: p999 / (3.09 * sigma).exp(),
        cpu_ms: 1.0,
        sigma,
        work_mb: 20.0,
        leak_mb: 0.0,
    };
    s.faults.timeout = sample::uniform(rng, 0.002, 0.03);
    s.periods = vec![period(0, "$LATEST", 512)];
    s
}
