//! `tern demo`: simulate a fleet, ingest it into a fresh database, print the report and say
//! what to run next.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use tern_core::alert::{builtin_policies, Damping};
use tern_store::{ErrorQuery, Store, TimeRange};

use crate::alert::dry;
use crate::text::printable;

use crate::cli::DemoArgs;
use crate::ingest::{self, Settings};
use crate::report;
use crate::simulate::{self, SimOptions};

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
    let mut sim_options = SimOptions {
        functions: args.functions,
        days: args.days,
        seed: args.seed,
        ..SimOptions::default()
    };
    let listen = if args.serve {
        // Days that end this hour, so every range of the dashboard's picker has data.
        const HOUR_MS: i64 = 3_600_000;
        let end = crate::timeutil::now_ms() / HOUR_MS * HOUR_MS;
        sim_options.start_ms = end - i64::from(args.days) * 24 * HOUR_MS;
        Some(crate::config::parse_listen(&args.listen).context("--listen")?)
    } else {
        None
    };
    let sim = simulate::simulate(&sim_options, &logs)?;
    eprintln!(
        "  wrote {} events ({} invocations) in {} files",
        sim.events, sim.invocations, sim.files
    );
    let backend = tern_store::StoreBackend::Sqlite(db.clone());
    let settings = Settings::new(backend.clone(), vec![logs.clone()]);
    let summary = ingest::run(&settings)?;
    eprint!("{}", summary.render());
    mark_as_demo(&backend)?;
    // The simulated logs are in the database now; only the database is worth keeping.
    let kept = if args.db.is_some() {
        let _ = std::fs::remove_dir_all(&work);
        None
    } else {
        let _ = std::fs::remove_dir_all(&logs);
        Some(work.clone())
    };
    let store = ingest::open_store_read(&backend)?;
    let functions = report::select_functions(&store, None)?;
    let rep = report::build(
        &store,
        &functions,
        TimeRange::all(),
        &report::Options::default(),
    )?;
    let mut out = String::new();
    out.push('\n');
    out.push_str(&rep.to_table());
    out.push_str(&top_savings(&rep));
    out.push_str(&top_recommendations(&store)?);
    out.push_str(&top_errors(&store)?);
    out.push_str(&would_be_alerts(&store)?);
    let dbs = shell_quote(&db);
    out.push_str(&format!(
        "\nNext:\n  tern report --db {dbs} --format json        # the same, for scripts\n  \
         tern report --db {dbs} --function '{}*'   # one family of functions\n  \
         tern invocations --db {dbs} --outcome timeout   # what timed out\n  \
         tern invocations --db {dbs} REQUEST_ID   # one invocation with its logs\n  \
         tern errors --db {dbs}   # every error group; `tern errors show ID` for one\n  \
         tern insights --db {dbs} --min-severity warning   # what to change, with evidence\n  \
         tern recommend --db {dbs} --strategy balanced   # memory sizes, with the curve\n  \
         tern alerts test builtin.error_rate --db {dbs}   # one policy's dry run\n  \
         tern ingest --db {dbs} PATH...   # your own exported logs\n",
        functions
            .first()
            .map(|f| f.chars().take(4).collect::<String>())
            .unwrap_or_default()
    ));
    if let Some(dir) = &kept {
        out.push_str(&format!(
            "\nThe demo's database is kept in {} for the commands above; `rm -r {}` removes it.\n",
            dir.display(),
            shell_quote(dir)
        ));
    }
    match listen {
        None => {
            out.push_str(&format!(
                "\nDashboard: `tern demo --serve` serves it over a simulated fleet; or run\n  \
                 tern serve --db {dbs}\n\
                 and open http://127.0.0.1:8080/, logging in with the API token it keeps in {dbs}.api-token\n"
            ));
            Ok(out)
        }
        Some(addr) => {
            print!("{out}");
            serve_dashboard(db, addr)?;
            Ok(String::new())
        }
    }
}

/// Mark the database as the demo's, so that `tern serve` never prunes its simulated days
/// whatever retention the user's tern.toml sets.
fn mark_as_demo(backend: &tern_store::StoreBackend) -> Result<()> {
    let mut store = ingest::open_store(backend)?;
    store
        .ingest(&tern_store::IngestBatch {
            checkpoints: vec![tern_store::Checkpoint {
                key: crate::serve::DEMO_MARK.to_string(),
                value: "1".to_string(),
                updated_ms: crate::timeutil::now_ms(),
            }],
            ..Default::default()
        })
        .context("marking the demo database")?;
    Ok(())
}

/// `tern demo --serve`: the dashboard over the demo database until Ctrl-C, with a fresh API
/// token printed for logging in. Retention is off (the simulated days are kept whole); the
/// alert engine runs with the built-in policies, so incidents appear as in production.
fn serve_dashboard(db: std::path::PathBuf, listen: std::net::SocketAddr) -> Result<()> {
    use crate::config::{Config, TokenHash};
    let token = crate::serve::new_token();
    let mut config = Config::default();
    config.auth.api_tokens = vec![TokenHash::of(&token)];
    config.auth.ingest_keys = vec![TokenHash::of(&crate::serve::new_token())];
    config.retention.raw = None;
    config.retention.rollups = None;
    let store = tern_store::StoreBackend::Sqlite(db);
    let extras =
        crate::alert::engine::extras(&config.alerts, &store, crate::cluster::Duty::default());
    let settings = crate::serve::Settings {
        store,
        listen,
        config,
        collector_id: None,
    };
    println!(
        "\nDashboard: http://{listen}/\n  Log in with this API token (valid while this demo runs):\n  {token}\n  Ctrl-C stops the server.\n"
    );
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        crate::serve::run(settings, extras, crate::serve::shutdown_signal()).await
    })
}

/// How many savings to show.
const TOP_SAVINGS: usize = 5;

/// The insights worth the most money per month.
fn top_savings(rep: &report::Report) -> String {
    let mut with_saving: Vec<(&tern_core::insights::Insight, f64)> = rep
        .insights
        .iter()
        .filter_map(|i| i.monthly_saving().filter(|v| *v > 0.0).map(|v| (i, v)))
        .collect();
    with_saving.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.function.cmp(&b.0.function)));
    let mut out = String::new();
    if with_saving.is_empty() {
        let _ = writeln!(
            out,
            "\nTop savings: none. Memory figures come from the memory advice, and logs from one \
             size cannot show a smaller one cheaper: `tern recommend` says what would measure it."
        );
        return out;
    }
    let total: f64 = with_saving.iter().map(|(_, v)| v).sum();
    let _ = writeln!(
        out,
        "\nTop savings: {} insight(s) worth {}/month together. The biggest:",
        with_saving.len(),
        report::usd(total)
    );
    for (i, v) in with_saving.iter().take(TOP_SAVINGS) {
        let _ = writeln!(
            out,
            "  {:>9}/mo  {:<24}  {:<24}  {}",
            report::usd(*v),
            i.rule.as_str(),
            printable(&i.function),
            printable(&i.summary)
        );
    }
    out
}

/// How many memory recommendations to show.
const TOP_RECOMMENDATIONS: usize = 5;

/// The memory changes worth the most under the default strategy, each with its confidence
/// (`measured` where the function ran at several sizes, else `estimated`).
fn top_recommendations(store: &dyn Store) -> Result<String> {
    let settings = tern_core::recommend::Settings::default();
    let out = crate::recommend::build(store, None, TimeRange::all(), &settings)?;
    let mut recs: Vec<_> = out
        .functions
        .iter()
        .filter(|r| r.monthly_saving_usd > 0.0 && r.recommended_memory_mb != r.current_memory_mb)
        .collect();
    recs.sort_by(|a, b| {
        b.monthly_saving_usd
            .total_cmp(&a.monthly_saving_usd)
            .then_with(|| a.function.cmp(&b.function))
    });
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nMemory recommendations ({} strategy): {} function(s) worth {}/month together. The biggest:",
        out.strategy,
        recs.len(),
        report::usd(recs.iter().map(|r| r.monthly_saving_usd).sum())
    );
    for r in recs.iter().take(TOP_RECOMMENDATIONS) {
        let _ = writeln!(
            s,
            "  {:>9}/mo  {:<24}  {:>5} MB -> {:>5} MB  ({}, {})",
            report::usd(r.monthly_saving_usd),
            printable(&r.function),
            r.current_memory_mb,
            r.recommended_memory_mb,
            r.confidence,
            r.method
        );
    }
    Ok(s)
}

/// How many error groups to show.
const TOP_ERRORS: usize = 5;

/// The biggest error groups of the fleet.
fn top_errors(store: &dyn Store) -> Result<String> {
    let mut groups = store.error_groups(&ErrorQuery {
        limit: usize::MAX,
        ..ErrorQuery::default()
    })?;
    let mut out = String::new();
    let total: u64 = groups.iter().map(|g| g.count).sum();
    let _ = writeln!(
        out,
        "\nErrors: {} failed invocations in {} groups. The biggest:",
        report::group(total),
        groups.len()
    );
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
    for g in groups.iter().take(TOP_ERRORS) {
        let title: String = printable(&g.title).chars().take(70).collect();
        let _ = writeln!(
            out,
            "  {:>7}  {:<24}  {title}  ({})",
            report::group(g.count),
            printable(&g.function),
            g.id
        );
    }
    Ok(out)
}

/// The built-in policies dry-run over the simulated days: who would have been paged for what.
fn would_be_alerts(store: &dyn Store) -> Result<String> {
    let mut out = String::new();
    let Some((lo, hi)) = store.time_bounds()? else {
        return Ok(out);
    };
    let policies = builtin_policies();
    let functions = store.functions()?;
    let runs = dry::run(
        store,
        &policies,
        &functions,
        lo,
        hi + 1,
        &Damping::default(),
    )?;
    let _ = writeln!(
        out,
        "\nWould-be alerts: the built-in policies over the simulated days (a dry run):"
    );
    for (i, p) in policies.iter().enumerate() {
        let mut per_fn: BTreeMap<&str, usize> = BTreeMap::new();
        for r in runs
            .iter()
            .filter(|r| r.policy == i && !r.run.incidents.is_empty())
        {
            per_fn.insert(&r.function, r.run.incidents.len());
        }
        let incidents: usize = per_fn.values().sum();
        let mut busiest: Vec<(&str, usize)> = per_fn.iter().map(|(f, n)| (*f, *n)).collect();
        busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let names: Vec<String> = busiest
            .iter()
            .take(4)
            .map(|(f, n)| format!("{} ({n})", printable(f)))
            .collect();
        let more = if busiest.len() > 4 {
            format!(", and {} more", busiest.len() - 4)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<26}  {:>4} incident(s) on {:>2} function(s){}{}{}",
            p.name,
            incidents,
            per_fn.len(),
            if names.is_empty() { "" } else { ": " },
            names.join(", "),
            more
        );
    }
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
