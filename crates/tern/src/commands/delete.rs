//! `tern delete`: remove one function's stored data, to undo an ingest under the wrong name.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};
use tern_store::{DeleteStats, Store, TimeRange};

use crate::cli::DeleteArgs;
use crate::text::{counted, did_you_mean, printable};
use crate::timeutil;

const DAY_MS: i64 = 86_400_000;

pub fn run(args: DeleteArgs) -> Result<String> {
    let before = args
        .before
        .as_deref()
        .map(|s| timeutil::parse_instant(s).with_context(|| format!("--before {s:?}")))
        .transpose()?
        .map(|t| t.div_euclid(DAY_MS) * DAY_MS);
    let mut store = crate::ingest::open_existing(&args.db.backend()?)?;
    let names: Vec<String> = store.functions()?.into_iter().map(|m| m.function).collect();
    let name = args.function.as_str();
    if !names.iter().any(|n| n == name) {
        bail!(
            "no stored function is named {:?}{}",
            printable(name),
            did_you_mean(name, names.iter().map(String::as_str))
        );
    }
    let range = TimeRange {
        from_ms: None,
        to_ms: before,
    };
    let invocations: u64 = store
        .function_stats(&[name.to_string()], range)?
        .iter()
        .map(|s| s.invocations)
        .sum();
    let what = match before {
        None => format!(
            "every stored record of {} ({}), its name included",
            printable(name),
            counted(invocations, "invocation", "invocations")
        ),
        Some(t) => format!(
            "the data of {} before {} UTC ({})",
            printable(name),
            &timeutil::format_ms(t)[..10],
            counted(invocations, "invocation", "invocations")
        ),
    };
    if !args.yes {
        confirm(&what)?;
    }
    let stats = store.delete_function(name, before)?;
    Ok(format!("{}\n", describe(name, &stats)))
}

/// Ask on the terminal; without one, `--yes` is required.
fn confirm(what: &str) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("this deletes {what}; add --yes to confirm (standard input is not a terminal to ask on)");
    }
    let mut err = std::io::stderr().lock();
    write!(err, "Delete {what}? This cannot be undone. [y/N] ").context("asking to confirm")?;
    err.flush().context("asking to confirm")?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        bail!("nothing deleted")
    }
}

fn describe(name: &str, s: &DeleteStats) -> String {
    let mut out = format!(
        "deleted {}, {} and {} of {}",
        counted(s.invocations, "invocation", "invocations"),
        counted(
            s.stream_chunks,
            "block of log lines outside any invocation",
            "blocks of log lines outside any invocation"
        ),
        counted(s.rollup_rows, "statistics row", "statistics rows"),
        printable(name)
    );
    if s.function {
        out.push_str(&format!(
            ", with its {} and {}; the name is gone",
            counted(s.error_groups, "error group", "error groups"),
            counted(
                s.environments,
                "execution environment",
                "execution environments"
            ),
        ));
    }
    out
}
