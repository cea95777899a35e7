//! `tern tune FUNCTION`: active power tuning.
//!
//! For each memory size (and architecture), set `MemorySize` on `$LATEST`, wait until the
//! update has landed, publish a version and invoke that version `--invocations` times with
//! `LogType=Tail`; the REPORT in each log tail gives Duration, Billed Duration and Init
//! Duration. Then restore the original configuration, delete the versions published, and
//! report percentiles, trimmed means, cost (cost engine) and the optimum of each strategy.
//!
//! **Restore guarantee.** Every change is written to a ledger *before* it is sent. Whatever
//! ends the measuring — success, an error, Ctrl-C or SIGTERM (the measuring future is dropped,
//! cancelling in-flight calls) — the restore step runs from the ledger: it waits out an update
//! in progress, puts memory and environment variables back unless they already match, checks
//! them, and deletes the versions this run published. Signals arriving during the restore are
//! ignored. Only SIGKILL or a crash of the host can skip it; the original configuration is
//! printed at the start for that case.
//!
//! **Architectures.** Lambda changes a function's architecture only with new code
//! (UpdateFunctionCode with `Architectures`), which Tern will not rebuild or re-upload. So
//! `--arch x86_64,arm64` compares the function with a twin deployment of the same code for
//! the other architecture, named by `--arch-twin`; both are tuned and both restored.
//!
//! Module map: `args` (the command line), `lambda` (the API calls), `analysis` (statistics and strategies, pure),
//! `plan` (the dry run and the cost estimate), `render` (table and JSON), `svg` (the chart).

pub mod analysis;
pub mod lambda;
pub mod plan;
pub mod render;
pub mod svg;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use tern_store::{Arch, Store, StoreBackend, TimeRange, TuningPoint, TuningRun};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws;
use crate::cli::TableOrJson;
use crate::cli::{TuneArgs, TuneStrategy};
use analysis::{Measured, Strategy};
use lambda::{FunctionConfig, Invoked, Lambda};
use plan::{Basis, Plan, Target};

/// The variable `--cold-starts-only` changes between invocations.
pub const COLD_VAR: &str = "TERN_TUNE_COLD_START";
/// Lambda's memory limits.
const MIN_MB: u32 = 128;
const MAX_MB: u32 = 10_240;
/// The longest an Invoke may take: Lambda's 900 s limit plus a margin.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(910);

/// What to send: payloads with relative weights.
#[derive(Debug, Clone)]
pub struct Payloads {
    pub items: Vec<(Arc<Vec<u8>>, u32)>,
    /// `none`, the file, or `weighted:FILE`, for the stored run.
    pub label: String,
}

impl Payloads {
    /// Which payload each of `n` invocations sends: proportional to the weights, interleaved
    /// (the payload furthest behind its share goes next).
    pub fn schedule(&self, n: u32) -> Vec<usize> {
        let total: u64 = self.items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut sent = vec![0u64; self.items.len()];
        (0..n)
            .map(|_| {
                let mut best = 0;
                let mut best_key = f64::INFINITY;
                for (i, (_, w)) in self.items.iter().enumerate() {
                    if *w == 0 || total == 0 {
                        continue;
                    }
                    let key = (sent[i] as f64 + 1.0) / f64::from(*w);
                    if key < best_key {
                        best_key = key;
                        best = i;
                    }
                }
                if let Some(s) = sent.get_mut(best) {
                    *s += 1;
                }
                best
            })
            .collect()
    }
}

fn read_payloads(args: &TuneArgs) -> Result<Payloads> {
    if let Some(p) = &args.payload {
        let bytes = std::fs::read(p).with_context(|| format!("--payload {}", p.display()))?;
        return Ok(Payloads {
            items: vec![(Arc::new(bytes), 1)],
            label: p.display().to_string(),
        });
    }
    if let Some(p) = &args.payloads {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("--payloads {}", p.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("--payloads {}: not JSON", p.display()))?;
        let list = v.as_array().ok_or_else(|| {
            anyhow::anyhow!(
                "--payloads {}: expected [{{\"payload\": …, \"weight\": N}}, …]",
                p.display()
            )
        })?;
        let mut items = Vec::new();
        for (i, e) in list.iter().enumerate() {
            let payload = e.get("payload").ok_or_else(|| {
                anyhow::anyhow!("--payloads {}: entry {i} has no \"payload\"", p.display())
            })?;
            let weight = e.get("weight").and_then(|w| w.as_u64()).unwrap_or(1);
            let weight = u32::try_from(weight)
                .ok()
                .filter(|w| *w > 0)
                .ok_or_else(|| {
                    anyhow::anyhow!("--payloads: entry {i}: weight must be 1 or more")
                })?;
            // As Power Tuning does: a string is sent as it is, anything else as JSON.
            let bytes = match payload {
                serde_json::Value::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            };
            items.push((Arc::new(bytes), weight));
        }
        if items.is_empty() {
            bail!("--payloads {}: no payloads", p.display());
        }
        if (items.len() as u64) > u64::from(args.invocations) {
            bail!(
                "--payloads has {} payloads but --invocations is {}: each payload needs an invocation",
                items.len(),
                args.invocations
            );
        }
        return Ok(Payloads {
            items,
            label: format!("weighted:{}", p.display()),
        });
    }
    Ok(Payloads {
        items: vec![(Arc::new(b"{}".to_vec()), 1)],
        label: "none".into(),
    })
}

/// The command line, validated.
struct Settings {
    function: String,
    memory: Vec<u32>,
    invocations: u32,
    payloads: Payloads,
    parallel: usize,
    cold_starts_only: bool,
    archs: Vec<Arch>,
    twin: Option<String>,
    strategy: Strategy,
    dry_run: bool,
    apply: bool,
    svg: Option<PathBuf>,
    format: TableOrJson,
    db: StoreBackend,
}

impl Settings {
    fn from_args(args: &TuneArgs) -> Result<Settings> {
        if args.function.trim().is_empty() {
            bail!("name the function to tune");
        }
        let mut memory = args.memory.clone();
        memory.sort_unstable();
        memory.dedup();
        if memory.is_empty() {
            bail!("--memory: name at least one size");
        }
        if let Some(m) = memory.iter().find(|m| !(MIN_MB..=MAX_MB).contains(*m)) {
            bail!("--memory {m}: Lambda allows {MIN_MB} to {MAX_MB} MB");
        }
        if args.invocations == 0 {
            bail!("--invocations must be 1 or more");
        }
        if args.parallel == 0 {
            bail!("--parallel must be 1 or more");
        }
        let mut archs = Vec::new();
        for a in &args.arch {
            let a = Arch::parse(a.trim())
                .ok_or_else(|| anyhow::anyhow!("--arch {a:?}: use x86_64 or arm64"))?;
            if !archs.contains(&a) {
                archs.push(a);
            }
        }
        let strategy = match args.strategy {
            TuneStrategy::Cost => Strategy::Cost,
            TuneStrategy::Speed => Strategy::Speed,
            TuneStrategy::Balanced => {
                if !(0.0..=1.0).contains(&args.weight) {
                    bail!("--weight must be between 0 (speed) and 1 (cost)");
                }
                Strategy::Balanced(args.weight)
            }
        };
        if args.dry_run && args.apply {
            bail!("--dry-run and --apply exclude each other");
        }
        Ok(Settings {
            function: args.function.trim().to_string(),
            memory,
            invocations: args.invocations,
            payloads: read_payloads(args)?,
            parallel: args.parallel,
            cold_starts_only: args.cold_starts_only,
            archs,
            twin: args.arch_twin.clone(),
            strategy,
            dry_run: args.dry_run,
            apply: args.apply,
            svg: args.svg.clone(),
            format: args.format,
            db: crate::config::store_backend(args.db.db.as_deref(), args.aws.config.as_deref())?,
        })
    }
}

/// What this run changed and must put back, per function. Written before each change.
#[derive(Debug, Default)]
struct Ledger {
    functions: Vec<Touched>,
}

#[derive(Debug)]
struct Touched {
    original: FunctionConfig,
    /// A configuration change may have been sent.
    changed: bool,
    /// Versions this run published and has not deleted yet.
    versions: Vec<String>,
}

type Shared<T> = Arc<Mutex<T>>;

fn with<T, R>(m: &Shared<T>, f: impl FnOnce(&mut T) -> R) -> R {
    // A poisoned lock means a task panicked while holding it; the data is still the best
    // record of what to restore.
    let mut g = match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    f(&mut g)
}

impl Ledger {
    fn touched<'a>(&'a mut self, name: &str) -> Option<&'a mut Touched> {
        self.functions.iter_mut().find(|t| t.original.name == name)
    }
}

/// Everything one run needs, shared by its tasks.
struct Ctx {
    lambda: Lambda,
    settings: Settings,
    region: String,
    /// A tag unique to this run, in version descriptions and the cold-start variable.
    tag: String,
    ledger: Shared<Ledger>,
    points: Shared<Vec<TuningPoint>>,
    /// Σ cost of every measured invocation.
    spent: Shared<f64>,
}

pub fn run(args: TuneArgs) -> Result<String> {
    let settings = Settings::from_args(&args)?;
    let cfg = crate::pull::load_config(&args.aws)?;
    let rt = crate::pull::runtime()?;
    rt.block_on(async move {
        let targets = aws::targets(&cfg, &args.aws).await?;
        let target = match targets.as_slice() {
            [t] => t.clone(),
            _ => bail!(
                "tern tune works on one account and region at a time ({} configured): pass one --region",
                targets.len()
            ),
        };
        let sdk = aws::sdk_config(
            target.profile.as_deref(),
            &target.region,
            target.endpoint_url.as_deref(),
        )
        .await;
        // Invokes may run up to Lambda's 15-minute limit.
        let conf = aws_sdk_lambda::config::Builder::from(&sdk)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(INVOKE_TIMEOUT)
                    .build(),
            )
            .build();
        let lambda = Lambda {
            client: aws_sdk_lambda::Client::from_conf(conf),
        };
        let started_ms = aws::now_ms();
        let ctx = Ctx {
            lambda,
            region: target.region.clone(),
            tag: format!("{started_ms:x}"),
            settings,
            ledger: Arc::default(),
            points: Arc::default(),
            spent: Arc::default(),
        };
        execute(ctx, started_ms).await
    })
}

/// The functions to tune, one per architecture, read (never changed) here.
async fn resolve_targets(ctx: &Ctx) -> Result<Vec<(Target, FunctionConfig)>> {
    let s = &ctx.settings;
    let main = ctx.lambda.settled_config(&s.function).await?;
    let archs = if s.archs.is_empty() {
        vec![main.arch]
    } else {
        s.archs.clone()
    };
    let mut out = Vec::new();
    for arch in archs {
        let config = if arch == main.arch {
            main.clone()
        } else {
            let Some(twin) = &s.twin else {
                bail!(
                    "{} runs on {}; comparing {} needs a deployment of the same code built for it: \
                     name it with --arch-twin FUNCTION (Lambda changes architecture only with new code)",
                    s.function,
                    main.arch.as_str(),
                    arch.as_str()
                );
            };
            let c = ctx.lambda.settled_config(twin).await?;
            if c.arch != arch {
                bail!(
                    "--arch-twin {twin} runs on {}, not {}",
                    c.arch.as_str(),
                    arch.as_str()
                );
            }
            c
        };
        out.push((
            Target {
                function: config.name.clone(),
                arch,
                current_memory_mb: config.memory_mb,
                timeout_s: config.timeout_s,
            },
            config,
        ));
    }
    Ok(out)
}

/// The basis of the dry-run estimate: the stored logs' p50 at the current size, else the
/// timeout.
fn basis_for(db: &StoreBackend, t: &Target) -> Basis {
    let timeout = Basis::Timeout {
        ms: f64::from(t.timeout_s.unwrap_or(3)) * 1000.0,
    };
    if !crate::ingest::store_exists(db) {
        return timeout;
    }
    let Ok(store) = db.open_read_only() else {
        return timeout;
    };
    let Ok(stats) = store.function_stats(std::slice::from_ref(&t.function), TimeRange::all())
    else {
        return timeout;
    };
    stats
        .first()
        .and_then(|s| Some((s.duration.quantile(0.5)?, s.memory_size_mb?)))
        .map_or(timeout, |(p50_ms, memory_mb)| Basis::Observed {
            p50_ms,
            memory_mb,
        })
}

async fn execute(ctx: Ctx, started_ms: i64) -> Result<String> {
    let targets = resolve_targets(&ctx).await?;
    let s = &ctx.settings;
    let plan = Plan {
        targets: targets.iter().map(|(t, _)| t.clone()).collect(),
        memory: s.memory.clone(),
        invocations: s.invocations,
        cold_starts_only: s.cold_starts_only,
        parallel: s.parallel,
        region: ctx.region.clone(),
    };
    if s.dry_run {
        let basis: Vec<Basis> = plan.targets.iter().map(|t| basis_for(&s.db, t)).collect();
        return Ok(plan.render(&basis));
    }
    // Open the store first: a bad --db fails before anything is changed.
    let mut store = crate::ingest::open_store(&s.db)?;
    for (_, c) in &targets {
        eprintln!(
            "{}: original configuration MemorySize={} MB, {} environment variable(s); \
             restored when tuning ends (if tern is killed with SIGKILL, set it back by hand)",
            c.name,
            c.memory_mb,
            c.env.as_ref().map_or(0, HashMap::len)
        );
        with(&ctx.ledger, |l| {
            l.functions.push(Touched {
                original: c.clone(),
                changed: false,
                versions: Vec::new(),
            })
        });
    }

    // Signals are caught from here on: nothing has been changed yet.
    let stop = stop_signal()?;
    let measured = tokio::select! {
        r = measure_all(&ctx, &targets) => Some(r),
        _ = stop => None,
    };
    let interrupted = measured.is_none();
    if interrupted {
        eprintln!(
            "interrupted: restoring the original configuration (signals are ignored until done)…"
        );
    }
    let mut warnings = restore(&ctx).await;
    let restored = warnings.is_empty();

    let mut points = with(&ctx.points, std::mem::take);
    points.sort_by_key(|p| (p.arch, p.memory_mb));
    let Some(main) = targets
        .iter()
        .map(|(_, c)| c)
        .find(|c| c.name == s.function)
        .or(targets.first().map(|(_, c)| c))
    else {
        bail!("no function to tune");
    };
    let mut run = TuningRun {
        function: s.function.clone(),
        region: ctx.region.clone(),
        started_ms,
        finished_ms: aws::now_ms(),
        original_memory_mb: main.memory_mb,
        original_arch: main.arch,
        invocations_per_size: s.invocations,
        cold_starts_only: s.cold_starts_only,
        payload: s.payloads.label.clone(),
        complete: matches!(measured, Some(Ok(()))),
        applied_memory_mb: None,
        points,
    };

    // --apply: the best size of the main function's own architecture, after the restore.
    if s.apply && run.complete && restored {
        let own: Vec<TuningPoint> = run
            .points
            .iter()
            .filter(|p| p.arch == main.arch)
            .cloned()
            .collect();
        match analysis::optimum(&own, s.strategy, s.cold_starts_only) {
            Some(i) if own[i].memory_mb != main.memory_mb => {
                let m = own[i].memory_mb;
                match ctx.lambda.update(&main.name, m, None).await {
                    Ok(()) => run.applied_memory_mb = Some(m),
                    Err(e) => warnings.push(format!("--apply {m} MB failed: {e:#}")),
                }
            }
            Some(_) => eprintln!("--apply: {} already runs at the optimum", main.name),
            None => warnings.push("--apply: no size ran without errors; nothing applied".into()),
        }
        if let Some(i) = analysis::optimum(&run.points, s.strategy, s.cold_starts_only) {
            if run.points[i].arch != main.arch {
                warnings.push(format!(
                    "the overall optimum runs on {}; --apply set only memory on {}",
                    run.points[i].arch.as_str(),
                    main.name
                ));
            }
        }
    } else if s.apply {
        warnings.push("--apply skipped: the run did not complete and restore cleanly".into());
    }

    if let Err(e) = store.store_tuning_run(&run) {
        warnings.push(format!(
            "storing the results in {} failed: {e}",
            crate::config::describe(&s.db)
        ));
    }
    if let Some(path) = &s.svg {
        let title = format!("{}: duration and cost against memory", s.function);
        if let Err(e) = std::fs::write(path, svg::chart(&title, &run.points, main.memory_mb)) {
            warnings.push(format!("writing {} failed: {e}", path.display()));
        }
    }
    let outcome = render::Outcome {
        run,
        strategy: s.strategy,
        tuning_cost_usd: with(&ctx.spent, |v| *v),
        restored,
        warnings,
    };
    let out = match s.format {
        TableOrJson::Table => render::table(&outcome),
        TableOrJson::Json => render::json(&outcome),
    };
    match measured {
        None => {
            // The partial results are worth seeing; the exit status says it was cut short.
            print!("{out}");
            if restored {
                bail!("interrupted; the original configuration was restored and the partial results stored")
            }
            bail!("interrupted; the restore had problems (see the warnings above)")
        }
        Some(Err(e)) => {
            print!("{out}");
            Err(e.context(if restored {
                "tuning failed; the original configuration was restored"
            } else {
                "tuning failed and the restore had problems"
            }))
        }
        Some(Ok(())) => Ok(out),
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed before this returns.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Measure every size of every target. A failing size is recorded and the run goes on; an
/// error here is one that makes going on pointless (none today: every failure is per size).
async fn measure_all(ctx: &Ctx, targets: &[(Target, FunctionConfig)]) -> Result<()> {
    for (t, original) in targets {
        for &m in &ctx.settings.memory {
            eprintln!(
                "{} ({}) at {m} MB: {} invocation(s)…",
                t.function,
                t.arch.as_str(),
                ctx.settings.invocations
            );
            let measured = measure_size(ctx, original, m).await;
            if let Some(e) = &measured.error {
                eprintln!("  {m} MB: {} error(s): {e}", measured.errors);
            }
            let point = analysis::summarize(m, t.arch, &ctx.region, &measured);
            with(&ctx.points, |p| p.push(point));
        }
    }
    Ok(())
}

/// Record a version as published (before its number is used anywhere).
fn note_version(ctx: &Ctx, name: &str, version: &str) {
    with(&ctx.ledger, |l| {
        if let Some(t) = l.touched(name) {
            t.versions.push(version.to_string());
        }
    });
}

fn mark_changed(ctx: &Ctx, name: &str) {
    with(&ctx.ledger, |l| {
        if let Some(t) = l.touched(name) {
            t.changed = true;
        }
    });
}

async fn measure_size(ctx: &Ctx, original: &FunctionConfig, memory_mb: u32) -> Measured {
    let name = &original.name;
    let s = &ctx.settings;
    let n = s.invocations;
    let schedule = s.payloads.schedule(n);
    // (version to invoke, payload index) per invocation.
    let mut jobs: Vec<(String, usize)> = Vec::with_capacity(n as usize);
    let mut published: Vec<String> = Vec::new();
    let failed = |e: anyhow::Error| Measured {
        samples: Vec::new(),
        errors: 0,
        error: Some(format!("{e:#}")),
    };
    let versions_wanted = if s.cold_starts_only { n as usize } else { 1 };
    for i in 0..versions_wanted {
        let env = s.cold_starts_only.then(|| {
            let mut vars = original.env.clone().unwrap_or_default();
            vars.insert(COLD_VAR.to_string(), format!("{}-{memory_mb}-{i}", ctx.tag));
            vars
        });
        mark_changed(ctx, name);
        if let Err(e) = ctx.lambda.update(name, memory_mb, env.as_ref()).await {
            let m = failed(e);
            delete_versions(ctx, name, &published).await;
            return m;
        }
        let description = format!("tern tune {} {memory_mb} MB #{i}", ctx.tag);
        match ctx.lambda.publish(name, &description).await {
            Ok((version, ours)) => {
                if ours {
                    note_version(ctx, name, &version);
                    published.push(version.clone());
                }
                if s.cold_starts_only {
                    jobs.push((version, schedule.get(i).copied().unwrap_or(0)));
                } else {
                    jobs.extend(schedule.iter().map(|&p| (version.clone(), p)));
                }
            }
            Err(e) => {
                let m = failed(e);
                delete_versions(ctx, name, &published).await;
                return m;
            }
        }
    }
    let measured = invoke_all(ctx, name, memory_mb, original.arch, jobs).await;
    delete_versions(ctx, name, &published).await;
    measured
}

/// Invoke every job, at most `--parallel` at a time.
async fn invoke_all(
    ctx: &Ctx,
    name: &str,
    memory_mb: u32,
    arch: Arch,
    jobs: Vec<(String, usize)>,
) -> Measured {
    let sem = Arc::new(Semaphore::new(ctx.settings.parallel));
    let mut set = JoinSet::new();
    for (version, p) in jobs {
        let sem = sem.clone();
        let lambda = ctx.lambda.clone();
        let name = name.to_string();
        let payload = ctx
            .settings
            .payloads
            .items
            .get(p)
            .map(|(b, _)| b.clone())
            .unwrap_or_default();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            lambda.invoke(&name, &version, &payload).await
        });
    }
    let mut m = Measured::default();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Invoked::Ok(sample)) => {
                let c = tern_core::cost::invocation_cost(
                    sample.billed_ms,
                    f64::from(memory_mb),
                    arch,
                    &ctx.region,
                );
                with(&ctx.spent, |v| *v += c);
                m.samples.push(sample);
            }
            Ok(Invoked::Failed(e)) => {
                m.errors += 1;
                m.error.get_or_insert(e);
            }
            Err(e) => {
                m.errors += 1;
                m.error.get_or_insert(format!("invoke task failed: {e}"));
            }
        }
    }
    m
}

/// Delete versions this run published; a failure is left in the ledger for the restore step.
async fn delete_versions(ctx: &Ctx, name: &str, versions: &[String]) {
    for v in versions {
        match ctx.lambda.delete_version(name, v).await {
            Ok(()) => with(&ctx.ledger, |l| {
                if let Some(t) = l.touched(name) {
                    t.versions.retain(|x| x != v);
                }
            }),
            Err(e) => {
                tracing::warn!(function = %name, error = %format!("{e:#}"), "Failed to delete a tuning version; retrying at restore.")
            }
        }
    }
}

/// Put every touched function back as it was and delete leftover versions. Returns what
/// could not be done (empty: all restored).
async fn restore(ctx: &Ctx) -> Vec<String> {
    let touched: Vec<(FunctionConfig, bool, Vec<String>)> = with(&ctx.ledger, |l| {
        l.functions
            .iter()
            .map(|t| (t.original.clone(), t.changed, t.versions.clone()))
            .collect()
    });
    let mut problems = Vec::new();
    for (original, changed, versions) in touched {
        let name = &original.name;
        if changed {
            if let Err(e) = restore_one(&ctx.lambda, &original).await {
                problems.push(format!(
                    "{name}: restoring MemorySize={} MB and the environment failed: {e:#}",
                    original.memory_mb
                ));
            }
        }
        for v in versions {
            if let Err(e) = ctx.lambda.delete_version(name, &v).await {
                problems.push(format!("{name}: version {v} was left behind: {e:#}"));
            }
        }
    }
    for p in &problems {
        eprintln!("restore: {p}");
    }
    problems
}

async fn restore_one(lambda: &Lambda, original: &FunctionConfig) -> Result<()> {
    let name = &original.name;
    let now = lambda.settled_config(name).await?;
    let memory_ok = now.memory_mb == original.memory_mb;
    let env_ok = now.env == original.env;
    if memory_ok && env_ok {
        return Ok(());
    }
    let env = (!env_ok).then(|| original.env.clone().unwrap_or_default());
    lambda
        .update(name, original.memory_mb, env.as_ref())
        .await?;
    let after = lambda.settled_config(name).await?;
    if after.memory_mb != original.memory_mb || after.env != original.env {
        bail!(
            "after the restore it reads MemorySize={} MB ({} variables)",
            after.memory_mb,
            after.env.as_ref().map_or(0, HashMap::len)
        );
    }
    eprintln!("{name}: restored MemorySize={} MB", original.memory_mb);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_schedule_is_proportional_and_interleaved() {
        let p = Payloads {
            items: vec![(Arc::new(b"a".to_vec()), 3), (Arc::new(b"b".to_vec()), 1)],
            label: "x".into(),
        };
        let s = p.schedule(8);
        assert_eq!(s.iter().filter(|&&i| i == 0).count(), 6);
        assert_eq!(s.iter().filter(|&&i| i == 1).count(), 2);
        assert_eq!(s[..4], [0, 0, 0, 1]);
    }
}
