//! One entry per subcommand: arguments in, settings resolved, the command run, its output
//! rendered. `main` calls [`run`] and chooses the exit status.

mod delete;
mod insights;
mod prices;
mod prune;

use crate::cli::{self, Cli, Command};
use crate::{
    alerts, aws, compare, demo, errors, ingest, invocations, password, pull, recommend, report,
    serve, simulate, timeutil, tune,
};
use delete::run as delete_run;
use prune::{prune, seal};

pub fn run(cli: Cli) -> anyhow::Result<String> {
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
        Command::Delete(args) => delete_run(args),
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
                    families: args.families,
                    problems: args.problems,
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
        Command::Prices(args) => prices::run(args),
    }
}

/// `tern simulate --start`: an instant, or a span before now (`3d`: three days ago).
fn simulate_start(s: &str) -> anyhow::Result<i64> {
    if let Ok(d) = timeutil::parse_duration(s) {
        return Ok(timeutil::now_ms() - d.as_millis() as i64);
    }
    timeutil::parse_instant(s)
        .map_err(|e| anyhow::anyhow!("--start {s:?}: {e:#} (or a span ago such as 3d)"))
}
