//! `tern tune`'s command line (registered in `cli.rs`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::{AwsArgs, DbPathArg, TableOrJson};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TuneStrategy {
    /// The cheapest size per invocation (ties: the faster).
    Cost,
    /// The fastest p50 (ties: the cheaper).
    Speed,
    /// Weighted: --weight 1 is cost, 0 is speed.
    Balanced,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub db: DbPathArg,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Memory sizes to measure, in MB.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "128,256,512,1024,1536,2048,3008"
    )]
    pub memory: Vec<u32>,
    /// Invocations per memory size.
    #[arg(long, default_value_t = 10)]
    pub invocations: u32,
    /// The event to send (a file, sent as it is). Default: `{}`.
    #[arg(long, conflicts_with = "payloads")]
    pub payload: Option<PathBuf>,
    /// Weighted events: a JSON file `[{"payload": …, "weight": 3}, …]` (a string payload is
    /// sent as it is, anything else as JSON).
    #[arg(long)]
    pub payloads: Option<PathBuf>,
    /// Invocations in flight at once (per memory size).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Measure cold starts only: every invocation runs on a new version, made by changing the
    /// variable TERN_TUNE_COLD_START (one configuration update, publish and init per
    /// invocation: slower, and each init is billed).
    #[arg(long)]
    pub cold_starts_only: bool,
    /// Architectures to compare, e.g. x86_64,arm64 (default: the function's own). The other
    /// architecture is measured on the --arch-twin function.
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<String>,
    /// A deployment of the same code built for the other architecture.
    #[arg(long)]
    pub arch_twin: Option<String>,
    /// Which optimum to recommend and --apply.
    #[arg(long, value_enum, default_value_t = TuneStrategy::Cost)]
    pub strategy: TuneStrategy,
    /// For --strategy balanced: 0 (speed) to 1 (cost).
    #[arg(long, default_value_t = 0.5)]
    pub weight: f64,
    /// Print the plan, the API calls and the estimated cost of tuning; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Set the function's memory to the optimum afterwards (only when asked).
    #[arg(long)]
    pub apply: bool,
    /// Write a chart of duration and cost against memory to this SVG file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    /// The function's name or ARN.
    pub function: String,
}
