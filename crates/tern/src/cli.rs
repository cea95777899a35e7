//! The command line as the user typed it (clap). Validated once into settings in the command
//! modules; nothing downstream sees raw strings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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

/// Which store a command uses: `--db` names a SQLite file; otherwise `[store]` of the config
/// (a SQLite path, or ClickHouse); otherwise `tern.db`.
#[derive(Debug, Args, Clone, Default)]
pub struct DbArg {
    /// The SQLite database file (created if missing). Default: [store] of --config, else
    /// tern.db.
    #[arg(long, env = "TERN_DB")]
    pub db: Option<PathBuf>,
    /// tern.toml: its [store] picks the store (a SQLite file, or ClickHouse).
    #[arg(long, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
}

impl DbArg {
    /// The store these flags name (the config, if any, is read and validated whole).
    pub fn backend(&self) -> anyhow::Result<tern_store::StoreBackend> {
        crate::config::store_backend(self.db.as_deref(), self.config.as_deref())
    }
}

/// `--db` alone, for commands whose `--config` comes with their AWS flags.
#[derive(Debug, Args, Clone, Default)]
pub struct DbPathArg {
    /// The SQLite database file (created if missing). Default: [store] of --config, else
    /// tern.db.
    #[arg(long, env = "TERN_DB")]
    pub db: Option<PathBuf>,
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
    /// Delete old data now (what `tern serve` does on its retention schedule): invocations and
    /// raw log lines, and optionally rollups, older than the given ages.
    Prune(PruneArgs),
    /// Delete one function's stored data, all of it or what lies before a day: to undo an
    /// ingest under the wrong name. Asks first (or pass --yes).
    Delete(DeleteArgs),
    /// Aggregate settled days into sealed statistics now (what `tern serve` does every few
    /// minutes), so reports stop re-reading their raw rows. Only a ClickHouse store has
    /// anything to seal; answers are the same before and after.
    Seal(SealArgs),
    /// Write a realistic simulated Lambda fleet in real CloudWatch formats.
    Simulate(SimulateArgs),
    /// Simulate a fleet, ingest it into a fresh database and print the report.
    Demo(DemoArgs),
    /// Read Lambda logs from CloudWatch Logs (FilterLogEvents) into the database, after an
    /// inventory of the functions; resumes where the last pull stopped.
    Pull(PullArgs),
    /// Set up AWS resources for Tern (subscription filters for push delivery).
    #[command(subcommand)]
    Setup(SetupCommand),
    /// Error groups: list them, show one, or resolve, mute and reopen it.
    Errors(ErrorsArgs),
    /// Run the daemon: Firehose and CloudWatch push endpoints, the JSON API, /metrics,
    /// retention.
    Serve(ServeArgs),
    /// Print a new random token and its `sha256:` hash for tern.toml.
    Token,
    /// Hash a dashboard password (read from standard input) into the `[[dashboard.users]]`
    /// lines for tern.toml: `echo 'long passphrase' | tern passwd alice`.
    Passwd(PasswdArgs),
    /// Alert policies: dry-run one over stored data, list them, list incidents, send a test
    /// notification.
    Alerts(AlertsArgs),
    /// Memory recommendations from the logs: natural experiments where a function ran at
    /// several sizes, bounds where it ran at one; cost, speed or balanced.
    Recommend(RecommendArgs),
    /// Active power tuning: invoke a function at each memory size, report percentiles, cost
    /// and the optimum per strategy, and restore its configuration.
    Tune(TuneArgs),
    /// Insights: the rule catalogue (memory, timeouts, errors, cold starts, reuse, arm64,
    /// runtimes, logging, spikes, inactive functions, log retention) with evidence and
    /// dollar or latency effects.
    Insights(InsightsArgs),
    /// What a deploy or configuration change did: duration percentiles, cost, errors, cold
    /// starts, init and memory before and after, each with a verdict.
    Compare(CompareArgs),
    /// Record that a function changed (a deploy, a flag), e.g. `tern mark orders "deployed
    /// v42"`; `tern compare` offers it as a change point.
    Mark(MarkArgs),
    /// The price book behind every cost figure: each region's Lambda and log prices, with
    /// their confidence and (in JSON) their sources.
    Prices(PricesArgs),
}

#[derive(Debug, Args)]
pub struct PricesArgs {
    /// Only this region's prices, e.g. eu-south-1.
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum InsightsFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct InsightsArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Only functions whose name matches this glob (e.g. 'orders-*').
    #[arg(long)]
    pub function: Option<String>,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Only this rule (e.g. memory.over_provisioned); repeatable, or comma-separated.
    #[arg(long, value_name = "ID")]
    pub rule: Vec<String>,
    /// Only insights at least this severe: info, warning or critical.
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<String>,
    #[arg(long, value_enum, default_value_t = InsightsFormat::Table)]
    pub format: InsightsFormat,
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
    /// Only the last span of time, e.g. 30m, 24h, 7d. With none of --since, --from and --to:
    /// all stored data.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub since: Option<String>,
    /// Start (inclusive): RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or epoch ms.
    #[arg(long)]
    pub from: Option<String>,
    /// End (exclusive), same forms as --from.
    #[arg(long)]
    pub to: Option<String>,
}

impl RangeArgs {
    /// The range these flags name; `--since` counts back from `now_ms`.
    pub fn resolve(&self, now_ms: i64) -> anyhow::Result<tern_store::TimeRange> {
        crate::timeutil::resolve_range(
            self.since.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            now_ms,
        )
    }
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
    /// Spelled as in the output; `out-of-memory` and `oom` are accepted too.
    #[value(name = "out_of_memory", alias = "out-of-memory", alias = "oom")]
    OutOfMemory,
    Crash,
    #[value(name = "init_error", alias = "init-error")]
    InitError,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Delete invocations and raw log lines older than this, e.g. 30d.
    #[arg(long)]
    pub raw_older_than: Option<String>,
    /// Delete hourly and daily statistics older than this, e.g. 400d (must not be shorter
    /// than --raw-older-than).
    #[arg(long)]
    pub rollups_older_than: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The function, by its exact stored name (`tern report` lists them).
    #[arg(long)]
    pub function: String,
    /// Delete only what lies before this day (a date such as 2026-11-02, or an RFC 3339
    /// instant, rounded down to midnight UTC: daily statistics cannot be split). Without it,
    /// everything of the function goes, its name included.
    #[arg(long)]
    pub before: Option<String>,
    /// Delete without asking (needed when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SealArgs {
    #[command(flatten)]
    pub db: DbArg,
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
    /// Window start: RFC 3339, a date, epoch ms, or a span ago such as 3d (default
    /// 2026-11-01T00:00:00Z, fixed so output is reproducible).
    #[arg(long)]
    pub start: Option<String>,
    /// Output format: jsonl, subscription (gzipped CloudWatch Logs subscription payloads,
    /// as Firehose delivers them) or filter-log-events. Default: jsonl.
    #[arg(long, default_value = "jsonl")]
    pub format: String,
    /// Also write four functions with injected changes of known size (a +40% regression at
    /// a version bump, a memory increase that halves duration, an error-rate jump, and a
    /// runtime update with no effect), recorded in `.truth.json` (see `tern compare`).
    #[arg(long)]
    pub impact: bool,
    /// Also write six functions whose durations follow curves outside the recommender's
    /// model (a working set that fits, an I/O plateau, vCPU steps, multi-threaded work, a
    /// cache hit/miss mix, and the working set again with its sweet spot between two measured
    /// sizes), each run at several sizes; `.truth.json` holds their true curves and optima.
    #[arg(long)]
    pub families: bool,
    /// Also write this many functions whose memory and timeout problems straddle the
    /// thresholds of `tern insights` (memory to spare or nearly full, work near the timeout,
    /// invocations that hang); `.truth.json` lists each function's true `problems` by rule.
    #[arg(long, default_value_t = 0)]
    pub problems: usize,
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
    /// Then serve the web dashboard over the simulated fleet until Ctrl-C. The simulated days
    /// end now (instead of at a fixed date), so the dashboard's "last 24 hours" has data.
    #[arg(long)]
    pub serve: bool,
    /// Where the dashboard listens with --serve.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

/// Which AWS accounts and regions to talk to.
#[derive(Debug, Args, Clone, Default)]
pub struct AwsArgs {
    /// tern.toml: [[accounts]] (profiles and regions), [pull] and [inventory] settings.
    #[arg(long, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Named AWS profile (SSO and credential_process profiles work). Default: the standard
    /// credential chain. Not with [[accounts]] in the config.
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region; repeat for several. Default: AWS_REGION or the profile's region.
    #[arg(long)]
    pub region: Vec<String>,
    /// Send AWS requests here instead (an emulator such as moto). Default: AWS_ENDPOINT_URL.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub db: DbPathArg,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Only functions whose name matches this glob; repeatable.
    #[arg(long)]
    pub function: Vec<String>,
    /// Log groups never pulled before start this far back, e.g. 7d (default: pull.since in
    /// the config, else 1h). Log groups with a checkpoint resume from it.
    #[arg(long)]
    pub since: Option<String>,
    /// Keep polling after catching up (Ctrl-C stops after the batch in hand).
    #[arg(long)]
    pub follow: bool,
    /// No progress bar even on a terminal.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum SetupCommand {
    /// Subscribe every Lambda log group to a destination (Firehose, Kinesis, Lambda), or set an
    /// account-level subscription policy. Prints the plan unless --apply.
    Subscriptions(SubscriptionArgs),
}

#[derive(Debug, Args)]
pub struct SubscriptionArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Where the logs go: a Firehose delivery stream, Kinesis stream or Lambda function ARN.
    #[arg(long)]
    pub destination_arn: String,
    /// IAM role CloudWatch Logs assumes to deliver (needed for Firehose and Kinesis).
    #[arg(long)]
    pub role_arn: Option<String>,
    /// One account-level subscription filter policy instead of a filter per log group.
    #[arg(long)]
    pub account_policy: bool,
    /// Make the changes (without it, only print the plan).
    #[arg(long)]
    pub apply: bool,
    /// Name of Tern's subscription filter (or account policy).
    #[arg(long, default_value = "tern")]
    pub filter_name: String,
    /// Only functions whose name matches this glob; repeatable.
    #[arg(long)]
    pub function: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TableOrJson {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ErrorStatusArg {
    Open,
    Resolved,
    Muted,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ErrorSort {
    /// Latest occurrence first.
    Last,
    /// Most occurrences in the range first.
    Count,
}

/// Listing flags apply to the listing only (checked in `errors::run`).
#[derive(Debug, Args)]
pub struct ErrorsArgs {
    #[command(subcommand)]
    pub action: Option<ErrorsAction>,
    /// The SQLite database file. Default: [store] of --config, else tern.db.
    #[arg(long, global = true, env = "TERN_DB")]
    pub db: Option<PathBuf>,
    /// tern.toml: its [store] picks the store (a SQLite file, or ClickHouse).
    #[arg(long, global = true, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Only functions whose name matches this glob.
    #[arg(long)]
    pub function: Option<String>,
    #[arg(long, value_enum)]
    pub status: Option<ErrorStatusArg>,
    /// Groups with occurrences in this range (counts are of this range).
    #[command(flatten)]
    pub range: RangeArgs,
    /// Order: `last` seen (default) or `count` in range.
    #[arg(long, value_enum)]
    pub sort: Option<ErrorSort>,
    /// At most this many groups (default 50).
    #[arg(long)]
    pub limit: Option<usize>,
    /// `table` (default) or `json`.
    #[arg(long, value_enum)]
    pub format: Option<TableOrJson>,
}

#[derive(Debug, Subcommand)]
pub enum ErrorsAction {
    /// One group: its error, stack, timeline and sample invocations with their logs.
    Show(ErrorShowArgs),
    /// Mark a group fixed; it reopens as a regression when it recurs.
    Resolve(ErrorIdArgs),
    /// Silence a group, for a while (--for 7d) or until reopened.
    Mute(ErrorMuteArgs),
    /// Reopen a resolved or muted group.
    Open(ErrorIdArgs),
}

#[derive(Debug, Args)]
pub struct ErrorIdArgs {
    /// The group id (16 hex digits, from `tern errors`).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ErrorMuteArgs {
    /// How long, e.g. 12h or 7d (default: until reopened).
    #[arg(long = "for")]
    pub duration: Option<String>,
    /// The group id (16 hex digits, from `tern errors`).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ErrorShowArgs {
    /// Sample invocations to show, newest first.
    #[arg(long, default_value_t = 3)]
    pub samples: usize,
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    /// The group id (16 hex digits, from `tern errors`).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// tern.toml (see the README); flags override it.
    #[arg(long, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The SQLite database (default: [store] of the config, else tern.db).
    #[arg(long, env = "TERN_DB")]
    pub db: Option<PathBuf>,
    /// This collector's id among [cluster] collectors (overrides cluster.self).
    #[arg(long, env = "TERN_COLLECTOR_ID")]
    pub collector_id: Option<String>,
    /// Address and port to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port; the
    /// bound address is printed as `listening on ADDR`).
    #[arg(long)]
    pub listen: Option<String>,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub action: AlertsAction,
}

#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Dry-run a metric policy (built-in, config or API) over stored data: what would have
    /// fired, when, and how badly.
    Test(AlertsTestArgs),
    /// The policies in force, with where they come from (builtin, config, api).
    List(AlertsListArgs),
    /// Incidents, newest first.
    Incidents(AlertsIncidentsArgs),
    /// Send a test notification to one channel now; prints the delivery or the error.
    SendTest(AlertsSendTestArgs),
}

#[derive(Debug, Args)]
pub struct AlertsTestArgs {
    /// The policy name, e.g. builtin.error_rate.
    pub rule: String,
    /// tern.toml ([alerts], [[policies]]).
    #[arg(long, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The SQLite database file. Default: [store] of --config, else tern.db.
    #[arg(long, env = "TERN_DB")]
    pub db: Option<PathBuf>,
    /// The range to walk (default: all stored data).
    #[command(flatten)]
    pub range: RangeArgs,
    /// Only functions whose name matches this glob.
    #[arg(long)]
    pub function: Option<String>,
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}

#[derive(Debug, Args)]
pub struct AlertsListArgs {
    /// tern.toml ([alerts], [[policies]], [[error_policies]]).
    #[arg(long, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The database holding API-managed policies (a SQLite file is skipped if it does not
    /// exist). Default: [store] of --config, else tern.db.
    #[arg(long, env = "TERN_DB")]
    pub db: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}

#[derive(Debug, Args)]
pub struct AlertsIncidentsArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// `open` or `resolved`.
    #[arg(long)]
    pub state: Option<String>,
    /// Only this policy.
    #[arg(long)]
    pub policy: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}

#[derive(Debug, Args)]
pub struct AlertsSendTestArgs {
    /// The channel's name in [[channels]].
    #[arg(long)]
    pub channel: String,
    #[arg(long, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Only functions whose name matches this glob (e.g. 'orders-*').
    #[arg(long)]
    pub function: Option<String>,
    /// What to optimise: the monthly cost, the p95 duration, or a weighted balance.
    /// Default: `strategy` of [recommend] in --config, else balanced.
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyArg>,
    /// Balanced only: weight of cost against duration (0 = speed only, 1 = cost only).
    /// Default: `weight` of [recommend], else 0.5.
    #[arg(long)]
    pub weight: Option<f64>,
    #[command(flatten)]
    pub range: RangeArgs,
    #[arg(long, value_enum, default_value_t = RecommendFormat::Table)]
    pub format: RecommendFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StrategyArg {
    Cost,
    Speed,
    Balanced,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RecommendFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct PasswdArgs {
    /// The user name to log in with.
    pub name: String,
}

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

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The function.
    pub function: String,
    /// The change to compare around (an id from --list). Default: the latest change.
    #[arg(long, conflicts_with_all = ["before", "after"])]
    pub change: Option<String>,
    /// Compare two time ranges instead, each FROM..TO (RFC 3339, a date or epoch ms). The
    /// longer is cut to the length of the shorter, at the end away from the other.
    #[arg(long, requires = "after")]
    pub before: Option<String>,
    #[arg(long, requires = "before")]
    pub after: Option<String>,
    /// List the function's changes instead of comparing.
    #[arg(long)]
    pub list: bool,
    /// Family-wise confidence of the verdicts.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    #[arg(long, value_enum, default_value_t = RecommendFormat::Table)]
    pub format: RecommendFormat,
}

#[derive(Debug, Args)]
pub struct MarkArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The function the change was made to (with --list: only its markers).
    pub function: Option<String>,
    /// What changed, e.g. "deployed v42".
    pub note: Option<String>,
    /// When (RFC 3339, a date or epoch ms). Default: now.
    #[arg(long)]
    pub at: Option<String>,
    /// Mark a function Tern has not seen yet, or a time in the future.
    #[arg(long)]
    pub force: bool,
    /// List the markers instead of adding one.
    #[arg(long, conflicts_with_all = ["note", "at", "force"])]
    pub list: bool,
}
