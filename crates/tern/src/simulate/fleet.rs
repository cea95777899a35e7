//! The simulated fleet: which functions exist and how each one behaves.
//!
//! The first [`SCENARIOS`] functions are hand-written so every log shape the simulator knows
//! appears even in a small fleet (about a dozen functions); the rest are drawn from the seed.
//! Traffic follows a log-normal spread over functions: a few hot ones, a long tail of rare
//! ones.

use super::sample::{self, Rng};
use super::scenarios::scenario;
use super::spec::{
    base, change, period, ChangeKind, Curve, Faults, FunctionSpec, LogFormat, Perf, Period,
    Runtime, Traffic, DEFAULT_INVOCATIONS_PER_FUNCTION_DAY, SHARED_LOG_GROUP,
};
use super::{OutputFormat, SimOptions};
use tern_core::model::Arch;
use tern_core::time::MS_PER_DAY;

/// Memory sizes a real fleet uses: mostly the console defaults, a few odd ones.
const MEMORY_SIZES: &[u32] = &[
    128, 128, 128, 256, 256, 256, 512, 512, 512, 1024, 1024, 1536, 2048, 3008, 192, 320, 768, 1769,
    640, 896, 10240,
];
const TIMEOUTS: &[u32] = &[3, 3, 3, 5, 6, 10, 15, 30, 30, 60, 120, 300, 900];
const SERVICES: &[&str] = &[
    "orders",
    "payments",
    "users",
    "inventory",
    "search",
    "notifications",
    "billing",
    "auth",
    "reports",
    "images",
    "email",
    "webhooks",
    "catalog",
    "shipping",
    "analytics",
    "audit",
    "ledger",
    "media",
    "sessions",
    "cart",
    "reviews",
    "quotes",
];
const ROLES: &[&str] = &[
    "api",
    "worker",
    "processor",
    "handler",
    "consumer",
    "cron",
    "ingest",
    "notifier",
    "cleanup",
    "etl",
    "authorizer",
    "stream",
    "scheduler",
    "backfill",
    "exporter",
    "validator",
];
const STAGES: &[&str] = &["prod", "staging", "dev", "eu", "v2"];

/// Number of hand-written scenario functions.
pub const SCENARIOS: usize = 14;

/// Build the fleet for `opts`. Deterministic in `opts.seed`.
pub fn build(opts: &SimOptions) -> Vec<FunctionSpec> {
    let mut rng = sample::rng_for(opts.seed, 0xF1EE7);
    let window = i64::from(opts.days) * MS_PER_DAY;
    let start = opts.start_ms;
    let at = |frac: f64| start + (window as f64 * frac) as i64;

    let mut fleet: Vec<FunctionSpec> = Vec::with_capacity(opts.functions);
    // Desired popularity of each function: 0.0 = hottest, 1.0 = rarest.
    let mut popularity: Vec<f64> = Vec::with_capacity(opts.functions);
    for index in 0..opts.functions {
        let (spec, pop) = if index < SCENARIOS {
            scenario(index, &mut rng, start, &at)
        } else {
            random_function(index, &mut rng, start, window)
        };
        fleet.push(spec);
        popularity.push(pop);
    }
    dedupe_names(&mut fleet);
    assign_rates(&mut fleet, &popularity, opts);
    if opts.impact {
        let n = fleet.len();
        fleet.extend(impact_functions(n, start, &at));
    }
    if opts.families {
        let n = fleet.len();
        fleet.extend(family_functions(n, start, &at));
    }
    for spec in &mut fleet {
        spec.output = output_format(spec.index, &opts.formats);
        if spec.custom_group {
            spec.log_group = SHARED_LOG_GROUP.to_string();
        } else {
            spec.log_group = format!("/aws/lambda/{}", spec.name);
        }
    }
    fleet
}

/// Files of most functions use the first listed format; the others each take every tenth
/// function (format `j` takes functions with `index % 10 == j`), so a mixed corpus has a
/// sample of each.
fn output_format(index: usize, formats: &[OutputFormat]) -> OutputFormat {
    let Some(&primary) = formats.first() else {
        return OutputFormat::JsonLines;
    };
    for (j, &f) in formats.iter().enumerate().skip(1) {
        if index % 10 == j % 10 {
            return f;
        }
    }
    primary
}

fn dedupe_names(fleet: &mut [FunctionSpec]) {
    let mut seen: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for spec in fleet.iter_mut() {
        if !seen.insert(spec.name.clone()) {
            let mut n = 2;
            loop {
                let candidate = format!("{}-{n}", spec.name);
                if seen.insert(candidate.clone()) {
                    spec.name = candidate;
                    break;
                }
                n += 1;
            }
        }
    }
}

/// Spread the fleet's volume over functions: rank by popularity and give rank `r` of `n` a
/// weight at the matching quantile of a log-normal (σ = 2), so shares span four orders of
/// magnitude whatever the fleet size.
fn assign_rates(fleet: &mut [FunctionSpec], popularity: &[f64], opts: &SimOptions) {
    let n = fleet.len();
    if n == 0 {
        return;
    }
    let per_function = opts
        .invocations_per_day
        .unwrap_or(DEFAULT_INVOCATIONS_PER_FUNCTION_DAY);
    let per_day = per_function as f64 * n as f64;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| popularity[a].total_cmp(&popularity[b]).then(a.cmp(&b)));
    let mut weights = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        let q = 1.0 - (rank as f64 + 0.5) / n as f64;
        weights[i] = (2.0 * sample::probit(q)).exp();
    }
    let total: f64 = weights.iter().sum();
    for (spec, w) in fleet.iter_mut().zip(&weights) {
        let rate = (per_day * w / total).max(0.15);
        spec.rate_per_day = rate;
        if let Traffic::Cron { interval_s } = &mut spec.traffic {
            if *interval_s == 0 {
                *interval_s = cron_interval(rate);
            }
        }
        if spec.traffic == Traffic::Rare && rate > 48.0 {
            spec.traffic = Traffic::Steady;
        }
    }
}

/// The schedule interval whose daily count is closest to `rate` (log scale).
fn cron_interval(rate: f64) -> i64 {
    const INTERVALS: &[i64] = &[60, 300, 600, 900, 1800, 3600, 21_600, 43_200, 86_400];
    let mut best = 3600;
    let mut best_err = f64::INFINITY;
    for &iv in INTERVALS {
        let per_day = 86_400.0 / iv as f64;
        let err = (per_day.ln() - rate.ln()).abs();
        if err < best_err {
            best_err = err;
            best = iv;
        }
    }
    best
}

/// Invocations per day of each change-impact function: enough for every verdict.
pub const IMPACT_RATE_PER_DAY: f64 = 2880.0;

/// Functions with injected changes of known size, appended after the fleet (so the
/// rest of the fleet is the same with or without them). Each changes once, at mid-window:
/// - `impact-regression`: version 1 → 2, durations +40%;
/// - `impact-memory`: a CPU-bound function, 512 → 1024 MB, durations about halve;
/// - `impact-errors`: version 5 → 6, handler errors 0.5% → 6% (diurnal traffic);
/// - `impact-steady`: no change of its own, only the fleet's runtime update (no effect).
fn impact_functions(first: usize, start: i64, at: &dyn Fn(f64) -> i64) -> Vec<FunctionSpec> {
    let quiet = Faults {
        error: 0.005,
        ..Faults::default()
    };
    let mut out = Vec::new();

    let mut s = base(first, "impact-regression", Runtime::Python);
    s.periods = vec![
        period(start, "1", 512),
        Period {
            duration_factor: 1.4,
            ..change(at(0.5), "2", 512, ChangeKind::Deploy, false)
        },
    ];
    s.faults = quiet.clone();
    s.scenarios = vec!["impact_regression", "published_version", "deploy"];
    out.push(s);

    let mut s = base(first + 1, "impact-memory", Runtime::Python);
    s.periods = vec![
        period(start, "$LATEST", 512),
        change(at(0.5), "$LATEST", 1024, ChangeKind::MemoryChange, false),
    ];
    s.perf = Perf {
        io_ms: 4.0,
        cpu_ms: 60.0,
        sigma: 0.3,
        work_mb: 30.0,
        leak_mb: 0.0,
    };
    s.faults = quiet.clone();
    s.scenarios = vec!["impact_memory", "memory_change", "cpu_bound"];
    out.push(s);

    let mut s = base(first + 2, "impact-errors", Runtime::Node);
    s.traffic = Traffic::Diurnal { peak_hour: 14.0 };
    s.periods = vec![
        period(start, "5", 256),
        Period {
            error_rate: Some(0.06),
            ..change(at(0.5), "6", 256, ChangeKind::Deploy, false)
        },
    ];
    s.faults = quiet.clone();
    s.scenarios = vec!["impact_errors", "published_version", "deploy", "errors"];
    out.push(s);

    let mut s = base(first + 3, "impact-steady", Runtime::Go);
    s.periods = vec![period(start, "$LATEST", 256)];
    s.faults = quiet;
    s.scenarios = vec!["impact_runtime_update"];
    out.push(s);

    for s in &mut out {
        s.rate_per_day = IMPACT_RATE_PER_DAY;
        s.log_group = format!("/aws/lambda/{}", s.name);
    }
    out
}

/// Invocations per day of each duration-family function: over a thousand warm invocations
/// at every size it runs at in a two-day window.
pub const FAMILY_RATE_PER_DAY: f64 = 2400.0;

/// One function per duration family outside the recommender's model (the working set twice:
/// its sweet spot measured, then inside a measured gap), appended after the fleet (so the rest of the fleet is the same with or without them). Each runs at several
/// sizes in turn, as a team trying sizes does; the last is the size in force. Their true
/// curves and optima are in the truth's `duration_model`.
fn family_functions(first: usize, start: i64, at: &dyn Fn(f64) -> i64) -> Vec<FunctionSpec> {
    let sized = |from_ms: i64, memory_mb: u32| {
        if from_ms == start {
            period(start, "$LATEST", memory_mb)
        } else {
            change(
                from_ms,
                "$LATEST",
                memory_mb,
                ChangeKind::MemoryChange,
                false,
            )
        }
    };
    let working_set = Perf {
        io_ms: 8.0,
        cpu_ms: 110.0,
        sigma: 0.25,
        work_mb: 60.0,
        leak_mb: 0.0,
    };
    let fits = Curve::WorkingSet {
        fits_mb: 1536,
        penalty: 1.35,
    };
    let fams: [(&str, Curve, Perf, &[u32]); 6] = [
        // Casalboni's table: 1,536 MB about halves the time of 1,024 MB.
        (
            "family-working-set",
            fits,
            working_set.clone(),
            &[2048, 1536, 1024],
        ),
        // The same curve with its sweet spot between two measured sizes.
        (
            "family-working-set-gap",
            fits,
            working_set,
            &[768, 2048, 1024],
        ),
        (
            "family-plateau",
            Curve::Plateau { flat_mb: 256 },
            Perf {
                io_ms: 140.0,
                cpu_ms: 12.0,
                sigma: 0.35,
                work_mb: 30.0,
                leak_mb: 0.0,
            },
            &[1024, 256, 512],
        ),
        (
            "family-vcpu-steps",
            Curve::VcpuSteps,
            Perf {
                io_ms: 15.0,
                cpu_ms: 900.0,
                sigma: 0.2,
                work_mb: 80.0,
                leak_mb: 0.0,
            },
            &[1769, 4096, 3008],
        ),
        (
            "family-parallel",
            Curve::Parallel { threads: 6 },
            Perf {
                io_ms: 10.0,
                cpu_ms: 1200.0,
                sigma: 0.2,
                work_mb: 80.0,
                leak_mb: 0.0,
            },
            &[1024, 3008, 1769],
        ),
        (
            "family-bimodal",
            Curve::Bimodal {
                miss: 0.15,
                miss_io_ms: 350.0,
                miss_cpu: 4.0,
            },
            Perf {
                io_ms: 25.0,
                cpu_ms: 40.0,
                sigma: 0.6,
                work_mb: 30.0,
                leak_mb: 0.0,
            },
            &[256, 1024, 512],
        ),
    ];
    let mut out = Vec::new();
    for (i, (name, curve, perf, sizes)) in fams.into_iter().enumerate() {
        let mut s = base(first + i, name, Runtime::Python);
        let n = sizes.len() as f64;
        s.periods = sizes
            .iter()
            .enumerate()
            .map(|(k, &m)| sized(if k == 0 { start } else { at(k as f64 / n) }, m))
            .collect();
        s.perf = perf;
        s.curve = curve;
        s.timeout_s = 60;
        s.rate_per_day = FAMILY_RATE_PER_DAY;
        s.log_group = format!("/aws/lambda/{}", s.name);
        s.scenarios = vec!["duration_family", "memory_change"];
        out.push(s);
    }
    out
}

fn random_function(index: usize, rng: &mut Rng, start: i64, window: i64) -> (FunctionSpec, f64) {
    let runtime = match sample::unit(rng) {
        x if x < 0.34 => Runtime::Python,
        x if x < 0.63 => Runtime::Node,
        x if x < 0.71 => Runtime::Java,
        x if x < 0.78 => Runtime::Dotnet,
        x if x < 0.91 => Runtime::Go,
        _ => Runtime::Ruby,
    };
    let mut name = format!(
        "{}-{}",
        *sample::pick(rng, SERVICES),
        *sample::pick(rng, ROLES)
    );
    if sample::chance(rng, 0.35) {
        name.push('-');
        name.push_str(sample::pick::<&str>(rng, STAGES));
    }
    let mut s = base(index, &name, runtime);
    s.arch = if sample::chance(rng, 0.4) {
        Arch::Arm64
    } else {
        Arch::X86_64
    };
    if runtime.json_app_logs() && sample::chance(rng, 0.25) {
        s.format = LogFormat::Json;
    }
    s.timeout_s = *sample::pick(rng, TIMEOUTS);
    let timeout_ms = f64::from(s.timeout_s) * 1000.0;
    s.perf = Perf {
        io_ms: sample::lognormal(rng, 70.0, 1.0).min(timeout_ms * 0.15),
        cpu_ms: sample::lognormal(rng, 8.0, 1.2).min(timeout_ms * 0.02),
        sigma: sample::uniform(rng, 0.25, 0.8),
        work_mb: sample::uniform(rng, 4.0, 90.0),
        leak_mb: 0.0,
    };
    let needed = runtime.base_memory_mb() + s.perf.work_mb;
    let mut memory = *sample::pick(rng, MEMORY_SIZES);
    while f64::from(memory) < needed * 1.3 {
        memory = match memory {
            m if m < 256 => 256,
            m if m < 512 => 512,
            m if m < 1024 => 1024,
            _ => 2048,
        };
    }
    s.xray = sample::chance(rng, 0.25);
    s.custom_group = sample::chance(rng, 0.08);
    s.extension = sample::chance(rng, 0.06);
    s.legacy_timeout = s.format == LogFormat::Text && sample::chance(rng, 0.2);
    s.legacy_oom = s.format == LogFormat::Text && sample::chance(rng, 0.3);
    s.legacy_python_json = sample::chance(rng, 0.3);
    s.chattiness = sample::uniform(rng, 0.2, 2.2);
    if sample::chance(rng, 0.5) {
        s.faults.error = sample::uniform(rng, 0.0005, 0.02);
    }
    if sample::chance(rng, 0.15) {
        s.faults.timeout = sample::uniform(rng, 0.0005, 0.005);
    }
    if sample::chance(rng, 0.05) {
        s.faults.oom = sample::uniform(rng, 0.0005, 0.002);
    }
    if sample::chance(rng, 0.05) {
        s.faults.crash = sample::uniform(rng, 0.0002, 0.002);
    }
    if sample::chance(rng, 0.2) {
        s.faults.logged_error = sample::uniform(rng, 0.001, 0.02);
    }
    s.traffic = match sample::unit(rng) {
        x if x < 0.3 => Traffic::Steady,
        x if x < 0.72 => Traffic::Diurnal {
            peak_hour: sample::uniform(rng, 8.0, 22.0),
        },
        x if x < 0.85 => Traffic::Bursty {
            bursts_per_day: sample::uniform(rng, 1.0, 12.0),
            burst_secs: sample::uniform(rng, 20.0, 300.0),
        },
        x if x < 0.93 => Traffic::Cron { interval_s: 0 },
        _ => Traffic::Rare,
    };
    // Published versions behind an alias, sometimes deployed during the window.
    let published =
        sample::chance(rng, 0.3) || runtime == Runtime::Java && sample::chance(rng, 0.5);
    let first_version = if published {
        sample::int(rng, 1, 60).to_string()
    } else {
        "$LATEST".to_string()
    };
    s.snap_start = runtime == Runtime::Java && published && sample::chance(rng, 0.6);
    s.periods = vec![period(start, &first_version, memory)];
    if sample::chance(rng, 0.2) {
        let when = start + (window as f64 * sample::uniform(rng, 0.1, 0.9)) as i64;
        let version = if published {
            (first_version.parse::<i64>().unwrap_or(1) + 1).to_string()
        } else {
            "$LATEST".to_string()
        };
        s.periods
            .push(change(when, &version, memory, ChangeKind::Deploy, false));
        s.scenarios.push("deploy");
    } else if sample::chance(rng, 0.06) {
        let when = start + (window as f64 * sample::uniform(rng, 0.1, 0.9)) as i64;
        let bigger = (memory * 2).min(10_240);
        s.periods.push(change(
            when,
            &first_version,
            bigger,
            ChangeKind::MemoryChange,
            false,
        ));
        s.scenarios.push("memory_change");
    }
    if s.snap_start {
        s.scenarios.push("snap_start");
    }
    if s.format == LogFormat::Json {
        s.scenarios.push("json_format");
    }
    if s.custom_group {
        s.scenarios.push("custom_log_group");
    }
    (s, sample::unit(rng))
}
