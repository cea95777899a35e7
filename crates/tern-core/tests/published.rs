//! Memory advice on published measurements nobody here made (a benchmark table and Power
//! Tuning's own published results): the figures are fed to the engine as a tuning run, and the
//! answer each strategy should give is worked out from the published numbers with plain
//! arithmetic (today's us-east-1 x86_64 list prices), never with the engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tern_core::model::Arch;
use tern_core::recommend::{
    recommend, Decision, FunctionInput, MeasuredPoint, Settings, Strategy, Support,
};

/// Epsagon's Lambda memory benchmark, "Fibonacci's Last Result (February 9th, 2018)": mean
/// duration in ms of a recursive Fibonacci function at each memory size.
/// Source: https://github.com/epsagon/lambda-memory-performance-benchmark (README table).
const EPSAGON_FIBONACCI: [(u32, f64); 10] = [
    (128, 376.05),
    (192, 250.24),
    (256, 198.56),
    (512, 98.36),
    (768, 65.48),
    (1024, 45.31),
    (1536, 30.53),
    (2048, 25.21),
    (2560, 25.36),
    (3008, 25.15),
];

/// us-east-1 x86_64 list prices (reference/peers-and-pricing.md): per GB-second and per request.
const GB_SECOND_USD: f64 = 0.000_016_666_7;
const REQUEST_USD: f64 = 0.000_000_2;

/// Monthly invocations: enough that duration, not the request fee, decides.
const RATE: f64 = 1_000_000.0;

/// Published figures closer than this are a tie: one run's means, and half a percent is within
/// the noise of any run (the tie goes to the other axis, as in Power Tuning and the engine).
const TIE: f64 = 0.005;

fn cost(memory_mb: u32, duration_ms: f64) -> f64 {
    RATE * (REQUEST_USD + f64::from(memory_mb) / 1024.0 * duration_ms / 1000.0 * GB_SECOND_USD)
}

/// The published table as a tuning run, starting at `current_mb`. The table gives the mean
/// only, so p50, p95 and p99 are the mean too (a deterministic CPU-bound function), over an
/// assumed 100 invocations per size (the count is not published).
fn input(table: &[(u32, f64)], current_mb: u32) -> FunctionInput {
    let mut measured: Vec<MeasuredPoint> = table
        .iter()
        .map(|&(memory_mb, ms)| MeasuredPoint {
            memory_mb,
            arch: Arch::X86_64,
            p50: ms,
            p95: ms,
            p99: ms,
            mean: ms,
            invocations: 100,
        })
        .collect();
    // The first tuned size stands for the current one.
    let i = measured
        .iter()
        .position(|m| m.memory_mb == current_mb)
        .unwrap();
    measured.swap(0, i);
    FunctionInput {
        function: "fibonacci".into(),
        region: "us-east-1".into(),
        arch: Arch::X86_64,
        runtime: Some("nodejs22.x".into()),
        measured,
        monthly_invocations: RATE,
        ..FunctionInput::default()
    }
}

/// The sizes the published figures make best on `key`: the lowest, and every size within
/// the tie of it; among those, the best on `then` (the engine's and Power Tuning's tie-break:
/// the other axis).
fn implied(
    table: &[(u32, f64)],
    key: impl Fn(u32, f64) -> f64,
    then: impl Fn(u32, f64) -> f64,
) -> (Vec<u32>, u32) {
    let best = table
        .iter()
        .map(|&(m, d)| key(m, d))
        .fold(f64::INFINITY, f64::min);
    let near: Vec<(u32, f64)> = table
        .iter()
        .copied()
        .filter(|&(m, d)| key(m, d) <= best * (1.0 + TIE))
        .collect();
    let pick = near
        .iter()
        .copied()
        .min_by(|a, b| then(a.0, a.1).total_cmp(&then(b.0, b.1)))
        .unwrap()
        .0;
    (near.iter().map(|p| p.0).collect(), pick)
}

fn advise(inp: &FunctionInput, strategy: Strategy) -> tern_core::recommend::Recommendation {
    recommend(
        inp,
        &Settings {
            strategy,
            ..Settings::default()
        },
    )
    .unwrap()
}

/// From 128 MB (Lambda's default, where a tuning run starts): cost, speed and balanced each
/// pick the size the published figures imply.
#[test]
fn epsagon_fibonacci_table_from_128_mb() {
    let table = &EPSAGON_FIBONACCI;
    let inp = input(table, 128);
    let duration = |m: u32| table.iter().find(|p| p.0 == m).unwrap().1;

    // Cost: 1,024 MB is cheapest ($0.955 per million; 1,536 MB is 0.8% dearer).
    let (cheapest, cost_pick) = implied(table, cost, |_, d| d);
    assert_eq!(cheapest, [1024]);
    let r = advise(&inp, Strategy::Cost);
    assert_eq!(r.current_memory_mb, 128);
    assert_eq!(r.decision, Decision::Change, "{}", r.summary);
    assert_eq!(r.recommended_memory_mb, cost_pick, "{}", r.summary);
    assert_eq!(r.recommended.support, Support::Measured);

    // Speed: 2,048 MB is 0.24% slower than 3,008 MB (the curve is flat past about 2 GB: one
    // vCPU then) and 32% cheaper.
    let (fastest, speed_pick) = implied(table, |_, d| d, cost);
    assert_eq!(fastest, [2048, 3008]);
    assert_eq!(speed_pick, 2048);
    let r = advise(&inp, Strategy::Speed);
    assert_eq!(r.recommended_memory_mb, speed_pick, "{}", r.summary);
    assert_eq!(r.decision, Decision::Change);

    // Balanced: 0.5 · cost / cost now + 0.5 · duration / duration now, against 128 MB.
    let (c0, d0) = (cost(128, duration(128)), duration(128));
    let score = |m: u32, d: f64| 0.5 * cost(m, d) / c0 + 0.5 * d / d0;
    let (_, balanced_pick) = implied(table, score, cost);
    assert_eq!(balanced_pick, 1536);
    let r = advise(&inp, Strategy::Balanced { weight: 0.5 });
    assert_eq!(r.recommended_memory_mb, balanced_pick, "{}", r.summary);
}

/// Already at the size the figures favour: keep. At 3,008 MB (the old maximum, and the
/// fastest), cost moves down to the cheapest size and speed keeps.
#[test]
fn epsagon_fibonacci_table_from_other_sizes() {
    let table = &EPSAGON_FIBONACCI;
    let duration = |m: u32| table.iter().find(|p| p.0 == m).unwrap().1;
    let r = advise(&input(table, 1536), Strategy::Balanced { weight: 0.5 });
    assert!(matches!(r.decision, Decision::Keep { .. }), "{}", r.summary);
    assert_eq!(r.recommended_memory_mb, 1536);

    let from = input(table, 3008);
    let (_, cost_pick) = implied(table, cost, |_, d| d);
    let r = advise(&from, Strategy::Cost);
    assert_eq!(r.recommended_memory_mb, cost_pick, "{}", r.summary);
    // Published: 3,008 MB costs 50% more than the cheapest size.
    assert!(cost(3008, 25.15) / cost(cost_pick, duration(cost_pick)) > 1.45);
    assert!(r.monthly_saving_usd > 0.0);
    // Nothing published is faster than 3,008 MB: speed keeps it (2,048 MB is 0.24% slower;
    // a change is never worse on the strategy's axis).
    let fastest = table.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    assert_eq!(fastest, duration(3008));
    let r = advise(&from, Strategy::Speed);
    assert!(matches!(r.decision, Decision::Keep { .. }), "{}", r.summary);
    assert_eq!(r.recommended_memory_mb, 3008);
}

/// AWS Lambda Power Tuning's README, on its two example charts of CPU-intensive functions:
/// "execution time goes from 35s with 128MB to less than 3s with 1.5GB, while being 14%
/// cheaper to run" and "from 2.4s with 128MB to 300ms with 1GB, for the very same average
/// cost". Source: https://github.com/alexcasalboni/aws-lambda-power-tuning (README.md).
/// The 1.5 GB duration is the one the stated saving implies: 0.86 × 128 × 35 s / 1536 =
/// 2.51 s (under 3 s, as stated).
#[test]
fn power_tuning_readme_examples() {
    let d1536 = 0.86 * 128.0 * 35_000.0 / 1536.0;
    assert!(d1536 < 3000.0);
    let first = [(128, 35_000.0), (1536, d1536)];
    // Published: 14% cheaper and 14x faster, so every strategy moves; the arithmetic agrees.
    let saving = 1.0 - cost(1536, d1536) / cost(128, 35_000.0);
    assert!((saving - 0.14).abs() < 0.005, "{saving}");
    for strategy in [
        Strategy::Cost,
        Strategy::Speed,
        Strategy::Balanced { weight: 0.5 },
    ] {
        let r = advise(&input(&first, 128), strategy);
        assert_eq!(r.recommended_memory_mb, 1536, "{strategy:?}: {}", r.summary);
        assert_eq!(r.decision, Decision::Change);
        assert_eq!(r.recommended.support, Support::Measured);
        // Already there: keep.
        let r = advise(&input(&first, 1536), strategy);
        assert_eq!(r.recommended_memory_mb, 1536, "{strategy:?}: {}", r.summary);
        assert!(matches!(r.decision, Decision::Keep { .. }), "{}", r.summary);
    }

    // The same cost at 128 MB and 1 GB (equal GB-seconds, equal request fee), 8x faster at
    // 1 GB: cost is a tie that goes to the faster size; speed and balanced pick it outright.
    let second = [(128, 2400.0), (1024, 300.0)];
    assert!((cost(128, 2400.0) - cost(1024, 300.0)).abs() < 1e-9);
    let (tied, cost_pick) = implied(&second, cost, |_, d| d);
    assert_eq!(tied, [128, 1024]);
    assert_eq!(cost_pick, 1024);
    for strategy in [
        Strategy::Cost,
        Strategy::Speed,
        Strategy::Balanced { weight: 0.5 },
    ] {
        let r = advise(&input(&second, 128), strategy);
        assert_eq!(r.recommended_memory_mb, 1024, "{strategy:?}: {}", r.summary);
        assert_eq!(r.decision, Decision::Change);
    }
}
