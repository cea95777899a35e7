//! `tern demo`: simulate a fleet, ingest it into a fresh database, print the report and say
//! what to run next.

use std::path::Path;

use anyhow::{Context, Result};
use tern_core::cost::CostOptions;
use tern_store::TimeRange;

use crate::cli::DemoArgs;
use crate::ingest::{self, Settings};
use crate::report;
use crate::simulate::{self, SimOptions};
use crate::source::SourceOptions;

pub fn run(args: DemoArgs) -> Result<String> {
    let work = std::env::temp_dir().join(format!("tern-demo-{}", std::process::id()));
    let logs = work.join("logs");
    std::fs::create_dir_all(&logs)
        .with_context(|| format!("creating demo directory {}", logs.display()))?;
    let db = args.db.clone().unwrap_or_else(|| work.join("tern.db"));
    if args.db.is_none() {
        // A fresh database every time: the demo never mixes runs.
        let _ = std::fs::remove_file(&db);
    }
    eprintln!(
        "Simulating {} functions over {} days (seed {}) into {} …",
        args.functions,
        args.days,
        args.seed,
        logs.display()
    );
    let sim = simulate::simulate(
        &SimOptions {
            functions: args.functions,
            days: args.days,
            seed: args.seed,
            ..SimOptions::default()
        },
        &logs,
    )?;
    eprintln!(
        "  wrote {} events ({} invocations) in {} files",
        sim.events, sim.invocations, sim.files
    );
    let settings = Settings {
        db: db.clone(),
        paths: vec![logs.clone()],
        source: SourceOptions::default(),
        region: None,
        arch_all: None,
        arch_by_function: Vec::new(),
        progress: false,
        dry_run: false,
    };
    let summary = ingest::run(&settings)?;
    eprint!("{}", summary.render());
    let store = ingest::open_store_read(&db)?;
    let functions = report::select_functions(&store, None)?;
    let rep = report::build(&store, &functions, TimeRange::all(), CostOptions::default())?;
    let mut out = String::new();
    out.push('\n');
    out.push_str(&rep.to_table());
    let dbs = shell_quote(&db);
    out.push_str(&format!(
        "\nNext:\n  tern report --db {dbs} --format json        # the same, for scripts\n  \
         tern report --db {dbs} --function '{}*'   # one family of functions\n  \
         tern invocations --db {dbs} --outcome timeout   # what timed out\n  \
         tern invocations --db {dbs} REQUEST_ID   # one invocation with its logs\n  \
         tern ingest --db {dbs} PATH...   # your own exported logs\n",
        functions
            .first()
            .map(|f| f.chars().take(4).collect::<String>())
            .unwrap_or_default()
    ));
    Ok(out)
}

fn shell_quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
