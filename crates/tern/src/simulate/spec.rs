//! What a simulated function is: its runtime, log format, traffic, performance, duration
//! curve and faults, and the constructors the fleet's parts share.

use super::OutputFormat;
use tern_core::model::Arch;

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

    /// Each mode at `memory_mb` for a handler of medians `io_ms` and `cpu_ms`: (probability,
    /// I/O median ms, CPU median ms at that size).
    pub fn parts_at(self, io_ms: f64, cpu_ms: f64, memory_mb: u32) -> Vec<(f64, f64, f64)> {
        let scale = self.cpu_scale(memory_mb);
        self.modes()
            .into_iter()
            .map(|(w, extra_io, mult)| (w, io_ms + extra_io, cpu_ms * mult * scale))
            .collect()
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

pub(super) fn change(
    from_ms: i64,
    version: &str,
    memory_mb: u32,
    kind: ChangeKind,
    broken: bool,
) -> Period {
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
