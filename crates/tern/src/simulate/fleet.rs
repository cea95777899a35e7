//! The simulated fleet: which functions exist and how each one behaves.
//!
//! The first [`SCENARIOS`] functions are hand-written so every log shape the simulator knows
//! appears even in a small fleet (about a dozen functions); the rest are drawn from the seed.
//! Traffic follows a log-normal spread over functions: a few hot ones, a long tail of rare
//! ones.

use super::sample::{self, Rng};
use super::{OutputFormat, SimOptions};
use tern_core::model::Arch;
use tern_core::time::MS_PER_DAY;

/// Average invocations per function per day when the caller does not set a volume.
/// 200 functions × 7 days × 375 ≈ 525,000 invocations: the reference corpus.
pub const DEFAULT_INVOCATIONS_PER_FUNCTION_DAY: u64 = 375;

pub const REGION: &str = "us-east-1";

/// The shared (custom) log group some functions write to, with `<fn>[<version>]<hex>` streams.
pub const SHARED_LOG_GROUP: &str = "/platform/lambda-shared";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Python,
    Node,
    Java,
    Dotnet,
    Go,
    Ruby,
}

impl Runtime {
    /// The Lambda runtime identifier.
    pub fn id(self) -> &'static str {
        match self {
            Runtime::Python => "python3.12",
            Runtime::Node => "nodejs22.x",
            Runtime::Java => "java21",
            Runtime::Dotnet => "dotnet8",
            Runtime::Go => "provided.al2023",
            Runtime::Ruby => "ruby3.3",
        }
    }

    /// The runtime version an environment reports in INIT_START: the managed runtime is
    /// patched once during the window, so environments created later show the newer one.
    pub fn version(self, patched: bool) -> &'static str {
        match (self, patched) {
            (Runtime::Python, false) => "python:3.12.mainlinev2.v14",
            (Runtime::Python, true) => "python:3.12.mainlinev2.v15",
            (Runtime::Node, false) => "nodejs:22.mainline.v122",
            (Runtime::Node, true) => "nodejs:22.mainline.v123",
            (Runtime::Java, false) => "java:21.mainline.v82",
            (Runtime::Java, true) => "java:21.mainline.v83",
            (Runtime::Dotnet, false) => "dotnet:8.v52",
            (Runtime::Dotnet, true) => "dotnet:8.v53",
            (Runtime::Go, false) => "provided:al2023.v105",
            (Runtime::Go, true) => "provided:al2023.v106",
            (Runtime::Ruby, false) => "ruby:3.3.v41",
            (Runtime::Ruby, true) => "ruby:3.3.v42",
        }
    }

    /// Resident memory of the runtime itself, MB.
    pub fn base_memory_mb(self) -> f64 {
        match self {
            Runtime::Python => 42.0,
            Runtime::Node => 68.0,
            Runtime::Java => 118.0,
            Runtime::Dotnet => 78.0,
            Runtime::Go => 21.0,
            Runtime::Ruby => 39.0,
        }
    }

    /// Median init (cold start) duration, ms.
    pub fn init_median_ms(self) -> f64 {
        match self {
            Runtime::Python => 260.0,
            Runtime::Node => 190.0,
            Runtime::Java => 2600.0,
            Runtime::Dotnet => 420.0,
            Runtime::Go => 65.0,
            Runtime::Ruby => 330.0,
        }
    }

    /// Whether the runtime has native JSON application logs (Lambda's JSON log format).
    pub fn json_app_logs(self) -> bool {
        matches!(self, Runtime::Python | Runtime::Node | Runtime::Dotnet)
    }
}

/// `LoggingConfig.LogFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Traffic {
    /// Constant rate, Poisson arrivals.
    Steady,
    /// Daily cycle peaking at `peak_hour` UTC, quieter at weekends.
    Diurnal { peak_hour: f64 },
    /// A trickle plus bursts (queue drains, batch fan-out) that spawn many environments.
    Bursty {
        bursts_per_day: f64,
        burst_secs: f64,
    },
    /// A schedule: one invocation every `interval_s`, fired a little late.
    Cron { interval_s: i64 },
    /// A handful of invocations at random times.
    Rare,
}

impl Traffic {
    pub fn as_str(&self) -> &'static str {
        match self {
            Traffic::Steady => "steady",
            Traffic::Diurnal { .. } => "diurnal",
            Traffic::Bursty { .. } => "bursty",
            Traffic::Cron { .. } => "cron",
            Traffic::Rare => "rare",
        }
    }
}

/// One configuration of a function, in force from `from_ms` until the next period. A new
/// period (deploy or configuration change) replaces every execution environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub from_ms: i64,
    /// `$LATEST` or a published version number.
    pub version: String,
    pub memory_mb: u32,
    /// The code of this period fails to initialize (a bad deploy): every invocation is an
    /// init error.
    pub broken: bool,
    pub kind: ChangeKind,
    /// Handler durations of this period are multiplied by this (an injected regression or
    /// speed-up of known size; 1.0 for none).
    pub duration_factor: f64,
    /// The handler error probability of this period, instead of `Faults::error`.
    pub error_rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The configuration in force when the window opens.
    Initial,
    Deploy,
    MemoryChange,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Initial => "initial",
            ChangeKind::Deploy => "deploy",
            ChangeKind::MemoryChange => "memory_change",
        }
    }
}

/// How long the handler takes and how much memory it uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Perf {
    /// Median time spent waiting (network, disk): independent of memory size.
    pub io_ms: f64,
    /// Median single-threaded CPU time at one full vCPU (1,769 MB). Below that, CPU is a
    /// share of a vCPU proportional to memory, so this part scales by 1769 / memory.
    pub cpu_ms: f64,
    /// Log-normal shape of both parts.
    pub sigma: f64,
    /// Memory the handler uses on top of the runtime, MB.
    pub work_mb: f64,
    /// Memory an environment keeps per invocation (a leak), MB. Leaking environments end in
    /// an out-of-memory kill.
    pub leak_mb: f64,
}

/// How duration depends on memory size. `Classic` is the recommender's own model (an I/O part
/// plus single-threaded CPU work scaling with the CPU share up to one vCPU); the others lie
/// outside it, so that tests whose truth comes from them can find the model's blind spots.
/// Each is `io + cpu × speed-up(m)` per mode, with both parts log-normal (see
/// [`Curve::cpu_scale`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Curve {
    #[default]
    Classic,
    /// The working set fits in memory from `fits_mb` on; below it the CPU work is `penalty`
    /// times longer (paging, GC pressure): a super-linear speed-up at `fits_mb`.
    WorkingSet { fits_mb: u32, penalty: f64 },
    /// The CPU part stops shrinking at `flat_mb`, far below one vCPU: durations are flat
    /// above a small size.
    Plateau { flat_mb: u32 },
    /// A thread pool sized to the whole vCPUs: below one vCPU the share counts, above it only
    /// whole vCPUs do, so durations step down at 3,538, 5,307, 7,076 and 8,845 MB.
    VcpuSteps,
    /// Work split over `threads` threads: keeps speeding up past one vCPU, up to
    /// min(threads, m / 1,769) vCPUs (about 5.8 at 10,240 MB).
    Parallel { threads: u32 },
    /// A cache hit/miss mix: with probability `miss` an invocation waits `miss_io_ms` more
    /// and does `miss_cpu` times the CPU work. Two modes, each classic in shape.
    Bimodal {
        miss: f64,
        miss_io_ms: f64,
        miss_cpu: f64,
    },
}

impl Curve {
    pub fn name(self) -> &'static str {
        match self {
            Curve::Classic => "classic",
            Curve::WorkingSet { .. } => "working_set",
            Curve::Plateau { .. } => "plateau",
            Curve::VcpuSteps => "vcpu_steps",
            Curve::Parallel { .. } => "parallel",
            Curve::Bimodal { .. } => "bimodal",
        }
    }

    /// How many times longer the CPU part takes at `memory_mb` than at one full vCPU.
    /// Lambda gives a CPU share proportional to memory: 1,769 MB is one vCPU.
    pub fn cpu_scale(self, memory_mb: u32) -> f64 {
        const ONE_VCPU_MB: f64 = 1769.0;
        let m = f64::from(memory_mb.max(1));
        let share = m / ONE_VCPU_MB;
        match self {
            Curve::Classic | Curve::Bimodal { .. } => 1.0 / share.min(1.0),
            Curve::WorkingSet { fits_mb, penalty } => {
                let paging = if memory_mb < fits_mb { penalty } else { 1.0 };
                paging / share.min(1.0)
            }
            Curve::Plateau { flat_mb } => (f64::from(flat_mb) / m).max(1.0),
            Curve::VcpuSteps => {
                if share < 1.0 {
                    1.0 / share
                } else {
                    1.0 / share.floor()
                }
            }
            Curve::Parallel { threads } => 1.0 / share.min(f64::from(threads.max(1))),
        }
    }

    /// The modes: (probability, extra I/O median ms, CPU work multiplier).
    pub fn modes(self) -> Vec<(f64, f64, f64)> {
        match self {
            Curve::Bimodal {
                miss,
                miss_io_ms,
                miss_cpu,
            } => vec![(1.0 - miss, 0.0, 1.0), (miss, miss_io_ms, miss_cpu)],
            _ => vec![(1.0, 0.0, 1.0)],
        }
    }
}

/// How often things go wrong.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// Unhandled handler exception.
    pub error: f64,
    /// The handler hangs until the timeout.
    pub timeout: f64,
    /// A sudden out-of-memory kill (in addition to leaks).
    pub oom: f64,
    /// The runtime process exits (`Runtime.ExitError`).
    pub crash: f64,
    /// Errors the code logs and handles: the invocation still succeeds.
    pub logged_error: f64,
    /// An incident: (start, end, error probability) during which handler errors spike.
    pub incident: Option<(i64, i64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub index: usize,
    pub name: String,
    pub log_group: String,
    /// The function logs to a shared custom log group: stream names carry its name.
    pub custom_group: bool,
    pub runtime: Runtime,
    pub arch: Arch,
    pub format: LogFormat,
    pub timeout_s: u32,
    pub traffic: Traffic,
    /// Expected invocations per day (before the traffic shape).
    pub rate_per_day: f64,
    pub periods: Vec<Period>,
    pub snap_start: bool,
    pub xray: bool,
    /// A logging/telemetry extension (prints EXTENSION and TELEMETRY lines at init).
    pub extension: bool,
    /// Timeouts print the pre-2024 `Task timed out after N.NN seconds` line and REPORT has no
    /// Status; otherwise REPORT says `Status: timeout`.
    pub legacy_timeout: bool,
    /// OOM kills print the old `Runtime exited with error: signal: killed` line instead of
    /// `Status: error  Error Type: Runtime.OutOfMemory`.
    pub legacy_oom: bool,
    /// Python's JSON error record uses `log_level` (runtime interface client before 2024).
    pub legacy_python_json: bool,
    pub perf: Perf,
    /// How duration depends on memory size.
    pub curve: Curve,
    pub faults: Faults,
    /// Mean application lines per invocation.
    pub chattiness: f64,
    pub scenarios: Vec<&'static str>,
    pub output: OutputFormat,
}

impl FunctionSpec {
    pub fn timeout_ms(&self) -> i64 {
        i64::from(self.timeout_s) * 1000
    }

    /// The function's ARN in `platform.start` records.
    pub fn arn(&self, account: &str) -> String {
        format!("arn:aws:lambda:{REGION}:{account}:function:{}", self.name)
    }
}

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

pub(super) fn period(from_ms: i64, version: &str, memory_mb: u32) -> Period {
    Period {
        from_ms,
        version: version.to_string(),
        memory_mb,
        broken: false,
        kind: ChangeKind::Initial,
        duration_factor: 1.0,
        error_rate: None,
    }
}

fn change(from_ms: i64, version: &str, memory_mb: u32, kind: ChangeKind, broken: bool) -> Period {
    Period {
        from_ms,
        version: version.to_string(),
        memory_mb,
        broken,
        kind,
        duration_factor: 1.0,
        error_rate: None,
    }
}

pub(super) fn base(index: usize, name: &str, runtime: Runtime) -> FunctionSpec {
    FunctionSpec {
        index,
        name: name.to_string(),
        log_group: String::new(),
        custom_group: false,
        runtime,
        arch: Arch::X86_64,
        format: LogFormat::Text,
        timeout_s: 30,
        traffic: Traffic::Steady,
        rate_per_day: 0.0,
        periods: Vec::new(),
        snap_start: false,
        xray: false,
        extension: false,
        legacy_timeout: false,
        legacy_oom: false,
        legacy_python_json: false,
        perf: Perf {
            io_ms: 60.0,
            cpu_ms: 8.0,
            sigma: 0.45,
            work_mb: 20.0,
            leak_mb: 0.0,
        },
        curve: Curve::Classic,
        faults: Faults::default(),
        chattiness: 1.5,
        scenarios: Vec::new(),
        output: OutputFormat::JsonLines,
    }
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

/// The hand-written functions. Returns the spec and its desired popularity.
fn scenario(
    index: usize,
    rng: &mut Rng,
    start: i64,
    at: &dyn Fn(f64) -> i64,
) -> (FunctionSpec, f64) {
    const MIN: i64 = 60_000;
    let s = match index {
        0 => {
            let mut s = base(index, "orders-api", Runtime::Python);
            s.timeout_s = 10;
            s.traffic = Traffic::Diurnal { peak_hour: 14.0 };
            s.xray = true;
            s.periods = vec![period(start, "$LATEST", 512)];
            s.perf = Perf {
                io_ms: 45.0,
                cpu_ms: 9.0,
                sigma: 0.5,
                work_mb: 31.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.002,
                timeout: 0.0005,
                logged_error: 0.01,
                ..Faults::default()
            };
            s.chattiness = 1.4;
            s.scenarios = vec!["hot", "xray", "handled_errors"];
            (s, 0.0)
        }
        1 => {
            let mut s = base(index, "checkout-api", Runtime::Node);
            s.format = LogFormat::Json;
            s.arch = Arch::Arm64;
            s.timeout_s = 15;
            s.traffic = Traffic::Diurnal { peak_hour: 19.0 };
            s.periods = vec![period(start, "$LATEST", 1024)];
            s.perf = Perf {
                io_ms: 110.0,
                cpu_ms: 12.0,
                sigma: 0.55,
                work_mb: 44.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.006,
                timeout: 0.0015,
                logged_error: 0.004,
                incident: Some((at(0.7), at(0.7) + 45 * MIN, 0.3)),
                ..Faults::default()
            };
            s.chattiness = 1.3;
            s.scenarios = vec!["hot", "json_format", "incident"];
            (s, 0.03)
        }
        2 => {
            let mut s = base(index, "pricing-engine", Runtime::Java);
            s.snap_start = true;
            s.timeout_s = 30;
            s.traffic = Traffic::Steady;
            s.periods = vec![
                period(start, "3", 2048),
                change(at(0.6), "4", 2048, ChangeKind::Deploy, false),
            ];
            s.perf = Perf {
                io_ms: 25.0,
                cpu_ms: 40.0,
                sigma: 0.4,
                work_mb: 60.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.004,
                ..Faults::default()
            };
            s.chattiness = 1.2;
            s.scenarios = vec!["snap_start", "published_version", "deploy"];
            (s, 0.25)
        }
        3 => {
            let mut s = base(index, "report-renderer", Runtime::Dotnet);
            s.arch = Arch::Arm64;
            s.timeout_s = 60;
            s.traffic = Traffic::Steady;
            s.periods = vec![period(start, "$LATEST", 3008)];
            s.perf = Perf {
                io_ms: 180.0,
                cpu_ms: 20.0,
                sigma: 0.35,
                work_mb: 12.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.02,
                ..Faults::default()
            };
            s.chattiness = 1.0;
            s.scenarios = vec!["over_provisioned", "errors"];
            (s, 0.22)
        }
        4 => {
            let mut s = base(index, "image-resizer", Runtime::Go);
            s.timeout_s = 30;
            s.traffic = Traffic::Bursty {
                bursts_per_day: 6.0,
                burst_secs: 90.0,
            };
            s.periods = vec![
                period(start, "$LATEST", 512),
                change(at(0.5), "$LATEST", 1024, ChangeKind::MemoryChange, false),
            ];
            s.perf = Perf {
                io_ms: 15.0,
                cpu_ms: 700.0,
                sigma: 0.2,
                work_mb: 95.0,
                leak_mb: 0.0,
            };
            // Oversized images occasionally blow the memory limit.
            s.faults = Faults {
                crash: 0.004,
                error: 0.002,
                oom: 0.004,
                ..Faults::default()
            };
            s.chattiness = 1.0;
            s.scenarios = vec!["cpu_bound", "memory_change", "bursty", "oom"];
            (s, 0.15)
        }
        5 => {
            let mut s = base(index, "invoice-mailer", Runtime::Ruby);
            s.timeout_s = 30;
            s.traffic = Traffic::Bursty {
                bursts_per_day: 3.0,
                burst_secs: 240.0,
            };
            s.periods = vec![period(start, "$LATEST", 256)];
            s.perf = Perf {
                io_ms: 300.0,
                cpu_ms: 15.0,
                sigma: 0.5,
                work_mb: 28.0,
                leak_mb: 0.0,
            };
            // Sends to SES occasionally hang until the timeout.
            s.faults = Faults {
                error: 0.02,
                timeout: 0.01,
                ..Faults::default()
            };
            s.chattiness = 1.4;
            s.scenarios = vec!["bursty", "errors", "timeouts"];
            (s, 0.3)
        }
        6 => {
            let mut s = base(index, "nightly-export", Runtime::Python);
            s.arch = Arch::Arm64;
            s.timeout_s = 300;
            s.traffic = Traffic::Cron { interval_s: 900 };
            s.periods = vec![period(start, "$LATEST", 1769)];
            s.perf = Perf {
                io_ms: 26_000.0,
                cpu_ms: 900.0,
                sigma: 0.3,
                work_mb: 240.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.01,
                ..Faults::default()
            };
            s.chattiness = 3.0;
            s.scenarios = vec!["slow", "cron"];
            (s, 0.6)
        }
        7 => {
            let mut s = base(index, "payment-webhook", Runtime::Node);
            s.timeout_s = 6;
            s.traffic = Traffic::Diurnal { peak_hour: 16.0 };
            s.legacy_timeout = true;
            s.periods = vec![
                period(start, "$LATEST", 256),
                change(at(0.3), "$LATEST", 256, ChangeKind::Deploy, true),
                change(
                    at(0.3) + 25 * MIN,
                    "$LATEST",
                    256,
                    ChangeKind::Deploy,
                    false,
                ),
            ];
            s.perf = Perf {
                io_ms: 4500.0,
                cpu_ms: 5.0,
                sigma: 0.12,
                work_mb: 30.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.004,
                ..Faults::default()
            };
            s.chattiness = 1.5;
            s.scenarios = vec!["near_timeout", "legacy_timeout_line", "broken_deploy"];
            (s, 0.2)
        }
        8 => {
            let mut s = base(index, "user-sync", Runtime::Python);
            s.timeout_s = 30;
            s.traffic = Traffic::Steady;
            s.xray = true;
            s.periods = vec![
                period(start, "7", 1024),
                change(at(0.45), "8", 1024, ChangeKind::Deploy, true),
                change(at(0.45) + 35 * MIN, "9", 1024, ChangeKind::Deploy, false),
            ];
            s.perf = Perf {
                io_ms: 140.0,
                cpu_ms: 10.0,
                sigma: 0.4,
                work_mb: 55.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.003,
                ..Faults::default()
            };
            s.scenarios = vec!["published_version", "deploy", "broken_deploy", "xray"];
            (s, 0.1)
        }
        9 => {
            let mut s = base(index, "etl-transform", Runtime::Python);
            s.format = LogFormat::Json;
            s.timeout_s = 60;
            s.traffic = Traffic::Diurnal { peak_hour: 3.0 };
            s.periods = vec![period(start, "$LATEST", 256)];
            s.perf = Perf {
                io_ms: 800.0,
                cpu_ms: 60.0,
                sigma: 0.4,
                work_mb: 70.0,
                leak_mb: 2.5,
            };
            s.faults = Faults {
                timeout: 0.002,
                error: 0.004,
                ..Faults::default()
            };
            s.legacy_python_json = true;
            s.scenarios = vec!["json_format", "oom_leak", "timeouts"];
            (s, 0.12)
        }
        10 => {
            let mut s = base(index, "search-indexer", Runtime::Node);
            s.arch = Arch::Arm64;
            s.timeout_s = 20;
            s.traffic = Traffic::Steady;
            s.legacy_oom = true;
            s.extension = true;
            s.periods = vec![period(start, "$LATEST", 128)];
            s.perf = Perf {
                io_ms: 90.0,
                cpu_ms: 30.0,
                sigma: 0.4,
                work_mb: 18.0,
                leak_mb: 1.5,
            };
            s.faults = Faults {
                crash: 0.006,
                ..Faults::default()
            };
            s.scenarios = vec!["oom_leak", "legacy_oom", "crash", "extension"];
            (s, 0.2)
        }
        11 => {
            let mut s = base(index, "audit-writer", Runtime::Go);
            s.arch = Arch::Arm64;
            s.timeout_s = 10;
            s.custom_group = true;
            s.traffic = Traffic::Diurnal { peak_hour: 11.0 };
            s.periods = vec![period(start, "$LATEST", 128)];
            s.perf = Perf {
                io_ms: 35.0,
                cpu_ms: 3.0,
                sigma: 0.5,
                work_mb: 9.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.01,
                crash: 0.001,
                timeout: 0.003,
                ..Faults::default()
            };
            s.scenarios = vec!["custom_log_group", "crash", "errors", "timeouts"];
            (s, 0.5)
        }
        12 => {
            let mut s = base(index, "notify-dispatcher", Runtime::Dotnet);
            s.format = LogFormat::Json;
            s.timeout_s = 5;
            s.custom_group = true;
            s.traffic = Traffic::Steady;
            s.periods = vec![period(start, "$LATEST", 512)];
            s.perf = Perf {
                io_ms: 220.0,
                cpu_ms: 8.0,
                sigma: 0.6,
                work_mb: 25.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.015,
                timeout: 0.004,
                ..Faults::default()
            };
            s.scenarios = vec!["custom_log_group", "json_format", "timeouts", "errors"];
            (s, 0.28)
        }
        _ => {
            let mut s = base(index, "fraud-scorer", Runtime::Java);
            s.arch = Arch::Arm64;
            s.timeout_s = 15;
            s.traffic = Traffic::Diurnal { peak_hour: 20.0 };
            // A configuration change down to 768 MB and back: a natural experiment.
            s.periods = vec![
                period(start, "$LATEST", 1536),
                change(at(0.35), "$LATEST", 768, ChangeKind::MemoryChange, false),
                change(at(0.7), "$LATEST", 1536, ChangeKind::MemoryChange, false),
            ];
            s.perf = Perf {
                io_ms: 20.0,
                cpu_ms: 180.0,
                sigma: 0.3,
                work_mb: 80.0,
                leak_mb: 0.0,
            };
            s.faults = Faults {
                error: 0.004,
                timeout: 0.003,
                ..Faults::default()
            };
            s.scenarios = vec!["cpu_bound", "timeouts", "memory_change"];
            (s, 0.3)
        }
    };
    // Scenario functions still consume the generator so the random tail does not depend on
    // how many scenarios precede it.
    let _ = sample::unit(rng);
    s
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
