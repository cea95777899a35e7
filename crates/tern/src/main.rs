//! The `tern` binary: CLI, ingest pipeline, reports.
//!
//! `main` parses the command line, runs one command, prints its stdout, and chooses the exit
//! status in one place: 0 on success, 1 on failure (the error chain goes to stderr), 2 for
//! usage errors (clap).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

mod cli;
#[allow(dead_code)] // Parts are read by `tern pull` (issue 3, in progress).
mod config;
mod demo;
mod ingest;
mod invocations;
mod report;
mod serve;
mod simulate;
mod source;
mod text;
mod timeutil;
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
            Ok(String::new())
        }
        Command::Report(args) => report::run(args),
        Command::Invocations(args) => invocations::run(args),
        Command::Simulate(args) => {
            let summary = simulate::simulate(
                &simulate::SimOptions {
                    functions: args.functions,
                    days: args.days,
                    seed: args.seed,
                    invocations_per_day: args.invocations_per_day,
                    formats: vec![simulate::OutputFormat::parse(&args.format).ok_or_else(
                        || {
                            anyhow::anyhow!(
                                "--format {:?}: use jsonl, subscription or filter-log-events",
                                args.format
                            )
                        },
                    )?],
                    ..simulate::SimOptions::default()
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
        Command::Serve(args) => serve::command(args),
        Command::Token => Ok(serve::token_command()),
    }
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
