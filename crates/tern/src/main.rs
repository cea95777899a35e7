//! The `tern` binary: CLI, ingest pipeline, reports.
//!
//! `main` parses the command line, runs one command, prints its stdout, and chooses the exit
//! status in one place: 0 on success, 1 on failure (the error chain goes to stderr), 2 for
//! usage errors (clap).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

mod alert;
mod alerts;
mod aws;
mod cli;
mod cluster;
mod compare;
#[allow(dead_code)] // Some settings are read by later issues' features.
mod config;
mod delete;
mod demo;
mod errors;
mod ingest;
mod insights;
mod invocations;
mod password;
mod pull;
mod recommend;
mod report;
mod serve;
mod simulate;
mod source;
mod text;
mod timeutil;
mod tune;
#[allow(dead_code)] // Used by `tern serve` and `tern pull` (issue 3, in progress).
mod writer;

use cli::{Cli, Command};

/// Ingest allocates and frees millions of small strings per second; mimalloc does that at a
/// fraction of glibc malloc's cost (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn run(cli: Cli) -> anyhow::Result<String> {
    match cli.command {
        Command::Ingest(args) => {
            let settings = ingest::Settings::from_args(args)?;
            let summary = ingest::run(&settings)?;
            eprint!("{}", summary.render());
            match summary.failure() {
                Some(why) => Err(anyhow::anyhow!(why)),
                None => Ok(String::new()),
            }
        }
        Command::Report(args) => report::run(args),
        Command::Invocations(args) => invocations::run(args),
        Command::Prune(args) => prune(args),
        Command::Delete(args) => delete::run(args),
        Command::Seal(args) => seal(args),
        Command::Simulate(args) => {
            let summary = simulate::simulate(
                &simulate::SimOptions {
                    functions: args.functions,
                    days: args.days,
                    seed: args.seed,
                    invocations_per_day: args.invocations_per_day,
                    start_ms: match &args.start {
                        Some(s) => simulate_start(s)?,
                        None => simulate::DEFAULT_START_MS,
                    },
                    formats: vec![simulate::OutputFormat::parse(&args.format).ok_or_else(
                        || {
                            anyhow::anyhow!(
                                "--format {:?}: use jsonl, subscription or filter-log-events",
                                args.format
                            )
                        },
                    )?],
                    impact: args.impact,
                },
                &args.out,
            )?;
            eprintln!(
                "wrote {} events ({} invocations, {:.1} MB) in {} files to {}",
                summary.events,
                summary.invocations,
                summary.bytes as f64 / 1e6,
                summary.files,
                args.out.display()
            );
            Ok(String::new())
        }
        Command::Demo(args) => demo::run(args),
        Command::Pull(args) => pull::run(args),
        Command::Setup(cli::SetupCommand::Subscriptions(args)) => aws::subscriptions::run(args),
        Command::Errors(args) => errors::run(args),
        Command::Serve(args) => serve::command(args),
        Command::Token => Ok(serve::token_command()),
        Command::Passwd(args) => password::passwd_command(&args.name),
        Command::Alerts(args) => alerts::run(args),
        Command::Recommend(args) => recommend::run(args),
        Command::Tune(args) => tune::run(args),
        Command::Insights(args) => insights::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Mark(args) => compare::mark(args),
    }
}

/// `tern prune`: retention on demand.
fn prune(args: cli::PruneArgs) -> anyhow::Result<String> {
    use anyhow::bail;
    use tern_store::Store;
    let age = |v: &Option<String>, flag: &str| -> anyhow::Result<Option<std::time::Duration>> {
        v.as_deref()
            .map(|s| config::parse_duration(s, flag))
            .transpose()
    };
    let raw = age(&args.raw_older_than, "--raw-older-than")?;
    let rollups = age(&args.rollups_older_than, "--rollups-older-than")?;
    match (raw, rollups) {
        (None, None) => bail!("say what to delete: --raw-older-than AGE and/or --rollups-older-than AGE"),
        (Some(r), Some(u)) if u < r => bail!(
            "--rollups-older-than is shorter than --raw-older-than: statistics must outlive the raw \
             data they summarize"
        ),
        _ => {}
    }
    let mut store = ingest::open_existing(&args.db.backend()?)?;
    let now = timeutil::now_ms();
    let cut = |d: Option<std::time::Duration>| d.map(|d| now - d.as_millis() as i64);
    let stats = store.apply_retention(tern_store::Retention {
        raw_before_ms: cut(raw),
        rollups_before_ms: cut(rollups),
    })?;
    Ok(format!("{}\n", text::retention_stats(&stats)))
}

/// `tern seal`: sealing on demand.
fn seal(args: cli::SealArgs) -> anyhow::Result<String> {
    use tern_store::Store;
    let mut store = ingest::open_existing(&args.db.backend()?)?;
    let started = std::time::Instant::now();
    let s = store.seal(timeutil::now_ms())?;
    Ok(format!(
        "sealed {} partitions ({} rows) in {:.1} s\n",
        s.partitions,
        s.rows,
        started.elapsed().as_secs_f64()
    ))
}

/// `tern simulate --start`: an instant, or a span before now (`3d`: three days ago).
fn simulate_start(s: &str) -> anyhow::Result<i64> {
    if let Ok(d) = humantime::parse_duration(s.trim()) {
        return Ok(timeutil::now_ms() - d.as_millis() as i64);
    }
    timeutil::parse_instant(s)
        .map_err(|e| anyhow::anyhow!("--start {s:?}: {e:#} (or a span ago such as 3d)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TERN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`tern report | head`) is not an error worth a message.
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
