//! The command line as the user typed it (clap). Validated once into settings in the command
//! modules; nothing downstream sees raw strings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Where the database lives when neither --db nor TERN_DB says.
pub const DEFAULT_DB: &str = "tern.db";

#[derive(Debug, Parser)]
#[command(
    name = "tern",
    version,
    about = "Monitoring, error tracking and cost optimization for AWS Lambda, from logs alone.",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More diagnostics on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args, Clone)]
pub struct DbArg {
    /// The SQLite database file (created if missing).
    #[arg(long, env = "TERN_DB", default_value = DEFAULT_DB)]
    pub db: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read Lambda log files (any supported format, gzip too, directories, `-` for stdin) into
    /// the database.
    Ingest(IngestArgs),
    /// Per-function performance and cost, with quick wins.
    Report(ReportArgs),
    /// List invocations, or show one invocation's log lines.
    Invocations(InvocationsArgs),
    /// Write a realistic simulated Lambda fleet in real CloudWatch formats.
    Simulate(SimulateArgs),
    /// Simulate a fleet, ingest it into a fresh database and print the report.
    Demo(DemoArgs),
    /// Run the daemon: Firehose and CloudWatch push endpoints, the JSON API, /metrics,
    /// retention.
    Serve(ServeArgs),
    /// Print a new random token and its `sha256:` hash for tern.toml.
    Token,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Log group for inputs that do not name one (`aws logs filter-log-events` output, text
    /// tails), e.g. /aws/lambda/orders-api.
    #[arg(long)]
    pub log_group: Option<String>,
    /// Log stream for inputs that do not name one (`aws logs get-log-events` output, short
    /// text tails).
    #[arg(long)]
    pub log_stream: Option<String>,
    /// AWS region of these functions (sets prices). Default: us-east-1.
    #[arg(long)]
    pub region: Option<String>,
    /// Architecture: `arm64` or `x86_64` for every function in this input, or `NAME=arm64`
    /// for one function. Repeatable. Not in the logs; the default is x86_64.
    #[arg(long = "arch", value_name = "ARCH|NAME=ARCH")]
    pub arch: Vec<String>,
    /// No progress bar even on a terminal.
    #[arg(long)]
    pub quiet: bool,
    /// Read, parse and assemble, report what would be stored, but write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Files or directories to read; `-` reads stdin.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args, Clone)]
pub struct RangeArgs {
    /// Only the last span of time, e.g. 30m, 24h, 7d.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub since: Option<String>,
    /// Start (inclusive): RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or epoch ms.
    #[arg(long)]
    pub from: Option<String>,
    /// End (exclusive), same forms as --from.
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Only functions whose name matches this glob (e.g. 'orders-*').
    #[arg(long)]
    pub function: Option<String>,
    #[command(flatten)]
    pub range: RangeArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Subtract the monthly free tier (1M requests and 400,000 GB-s) from the cost.
    #[arg(long)]
    pub free_tier: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutcomeArg {
    Success,
    Error,
    Timeout,
    #[value(alias = "out_of_memory", alias = "oom")]
    OutOfMemory,
    Crash,
    #[value(alias = "init_error")]
    InitError,
}

#[derive(Debug, Args)]
pub struct InvocationsArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Only functions whose name matches this glob.
    #[arg(long)]
    pub function: Option<String>,
    #[arg(long, value_enum)]
    pub outcome: Option<OutcomeArg>,
    /// Only cold starts.
    #[arg(long)]
    pub cold: bool,
    #[command(flatten)]
    pub range: RangeArgs,
    /// At most this many invocations, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// A request id: show that invocation with its log lines.
    pub request_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 40)]
    pub functions: usize,
    #[arg(long, default_value_t = 3)]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scale: average invocations per function per day (default: a realistic mix).
    #[arg(long)]
    pub invocations_per_day: Option<u64>,
    /// Output format: jsonl, subscription (gzipped CloudWatch Logs subscription payloads,
    /// as Firehose delivers them) or filter-log-events. Default: jsonl.
    #[arg(long, default_value = "jsonl")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Database to create (default: a fresh file in a temporary directory).
    #[arg(long)]
    pub db: Option<PathBuf>,
    #[arg(long, default_value_t = 40)]
    pub functions: usize,
    #[arg(long, default_value_t = 3)]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// tern.toml (see the README); flags override it.
    #[arg(long, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The SQLite database (default: store.path of the config, else tern.db).
    #[arg(long, env = "TERN_DB")]
    pub db: Option<PathBuf>,
    /// Address and port to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port; the
    /// bound address is printed as `listening on ADDR`).
    #[arg(long)]
    pub listen: Option<String>,
}
