//! `tern serve`: the push endpoints, the JSON API, `/metrics`, retention, and the AWS pull
//! loop, in one process over one store (SQLite or ClickHouse).
//!
//! Module map: [`router`] (every route), [`firehose`] and [`cloudwatch`] (push), [`api`]
//! (queries, `/healthz`, `/metrics`, OpenAPI), [`auth`] (extractors), [`error`] (the one
//! `ApiError`), [`push`] and [`payload`] (bounded body reading and decoding), [`state`],
//! [`metrics`].
//!
//! **Architecture Invariant:** one store writer (the [`Writer`] thread) does every write;
//! a push is answered 200 only after its transaction committed; on SIGTERM/SIGINT the
//! server stops accepting, finishes in-flight requests, then the writer drains its queue, so
//! nothing acknowledged is lost. Memory is bounded: at most `decoding` requests are read and
//! decoded at once (each capped by `server.max_body_mb` / `server.max_decompressed_mb`) and
//! at most `server.ingest_queue` batches wait for the writer; beyond that pushes get 503.

pub mod api;
pub mod auth;
pub mod cloudwatch;
pub mod error;
pub mod extras;
pub mod firehose;
pub mod metrics;
pub mod payload;
pub mod push;
pub mod router;
pub mod session;
pub mod state;
pub mod ui;

use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tern_store::{Retention, Store, StoreBackend};
use tokio::sync::{watch, Semaphore};

use crate::cli::ServeArgs;
use crate::cluster::{Duty, Membership};
use crate::config::{Config, TokenHash};
use crate::writer::{Writer, WriterHandle};
pub use extras::{Extras, Task};
use state::{AppState, ExtraMetrics, Inner, Limits, ReadPool};

/// Read-only connections for API queries.
const READ_CONNECTIONS: usize = 4;

/// Validated settings of one `tern serve` run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub store: StoreBackend,
    pub listen: SocketAddr,
    pub config: Config,
    /// This collector's id (`--collector-id`), else `cluster.self` of the config.
    pub collector_id: Option<String>,
}

impl Settings {
    /// Resolve flags over the file over the defaults, then tokens (config hashes, env
    /// `TERN_API_TOKEN`/`TERN_INGEST_KEY`, else a generated token file beside the database).
    pub fn from_args(args: &ServeArgs) -> Result<Settings> {
        let mut config = match &args.config {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        let store = config
            .store
            .resolve(args.db.as_deref(), args.config.as_deref())?;
        let listen = match &args.listen {
            Some(l) => crate::config::parse_listen(l).context("--listen")?,
            None => config.server.listen,
        };
        add_env_token(&mut config.auth.api_tokens, "TERN_API_TOKEN")?;
        add_env_token(&mut config.auth.ingest_keys, "TERN_INGEST_KEY")?;
        Ok(Settings {
            store,
            listen,
            config,
            collector_id: args.collector_id.clone(),
        })
    }
}

fn add_env_token(hashes: &mut Vec<TokenHash>, var: &str) -> Result<()> {
    match std::env::var(var) {
        Ok(t) if t.trim().is_empty() => bail!("{var} is set but empty"),
        Ok(t) => hashes.push(TokenHash::of(t.trim())),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{var} is not UTF-8"),
        Err(std::env::VarError::NotPresent) => {}
    }
    Ok(())
}

/// A new random token: 32 random bytes, hex.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    // ThreadRng: a CSPRNG (ChaCha) seeded from the OS.
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `tern token`: a token and the line for tern.toml.
pub fn token_command() -> String {
    let t = new_token();
    format!(
        "token:  {t}\nhash:   {}\n\nGive the token to the client (Authorization: Bearer …, or the Firehose access key);\n\
         put the hash in tern.toml under [auth] api_tokens or ingest_keys.\n",
        TokenHash::of(&t).render()
    )
}

/// `<db>.<suffix>`: read the token there, or create it (mode 0600). Returns its hash.
fn token_file(db: &Path, suffix: &str, what: &str) -> Result<TokenHash> {
    let mut name = db.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    let path = PathBuf::from(name);
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => {
            eprintln!("{what}: using the token in {}", path.display());
            return Ok(TokenHash::of(t.trim()));
        }
        Ok(_) => bail!("{} is empty; delete it to get a new token", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let t = new_token();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(format!("{t}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "{what}: none configured; created a random one in {} (mode 0600)",
        path.display()
    );
    Ok(TokenHash::of(&t))
}

/// The AWS side of the daemon: inventory refresh and the pull loops for every configured
/// account and region (nothing when the config has no `[[accounts]]` or `pull.enabled` is
/// false), with its Prometheus figures (requests, throttles, lag per log group) on `/metrics`.
fn pull_extras(config: &Config, membership: Option<Arc<Membership>>) -> Extras {
    let metrics = Arc::new(crate::aws::metrics::PullMetrics::new());
    let config = config.clone();
    let task_metrics = metrics.clone();
    let task: Task = Box::new(move |writer, shutdown| {
        Box::pin(async move {
            if let Err(e) =
                crate::aws::pull::run_live(&config, writer, task_metrics, membership, shutdown)
                    .await
            {
                tracing::error!(error = %format!("{e:#}"), "The AWS pull loop stopped.");
            }
        })
    });
    Extras {
        tasks: vec![task],
        metrics: Some(Arc::new(move |out: &mut String| {
            metrics.render_prometheus(out)
        })),
        duty: Duty::default(),
    }
}

/// `tern serve` from the command line.
pub fn command(args: ServeArgs) -> Result<String> {
    let settings = Settings::from_args(&args)?;
    let membership = Membership::new(&settings.config.cluster, settings.collector_id.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let duty = Duty(membership.clone());
    let extras = cluster_extras(membership.clone())
        .merge(pull_extras(&settings.config, membership))
        .merge(crate::alert::engine::extras(
            &settings.config.alerts,
            &settings.store,
            duty,
        ));
    rt.block_on(async { run(settings, extras, shutdown_signal()).await })?;
    Ok(String::new())
}

/// The cluster's lease renewal and its `/metrics` figures (nothing without `[cluster]`).
fn cluster_extras(membership: Option<Arc<Membership>>) -> Extras {
    let Some(m) = membership else {
        return Extras::default();
    };
    let task_m = m.clone();
    let task: Task =
        Box::new(move |writer, shutdown| Box::pin(crate::cluster::run(task_m, writer, shutdown)));
    Extras {
        tasks: vec![task],
        duty: Duty(Some(m.clone())),
        metrics: Some(Arc::new(move |out: &mut String| m.render(out))),
    }
}

/// Completes on SIGTERM or SIGINT. The watchers are installed when this is called, not when
/// the future is first polled: a signal that arrives right after the address is announced
/// must stop the server gracefully, not kill it. Call it inside the runtime.
pub(crate) fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let watch = |kind: SignalKind, name: &str| {
            signal(kind)
                .map_err(|e| tracing::warn!(error = %e, "Cannot watch {name}."))
                .ok()
        };
        let (term, int) = (
            watch(SignalKind::terminate(), "SIGTERM"),
            watch(SignalKind::interrupt(), "SIGINT"),
        );
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {}
                _ = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Build the shared state over an opened writer (for `run` and the in-process tests).
pub fn state(
    settings: &Settings,
    writer: WriterHandle,
    reads: Vec<Box<dyn Store>>,
    extra_metrics: Option<ExtraMetrics>,
) -> AppState {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    AppState(Arc::new(Inner {
        limits: Limits {
            max_body_bytes: settings.config.server.max_body_bytes,
            max_decompressed_bytes: settings.config.server.max_decompressed_bytes,
        },
        api_tokens: settings.config.auth.api_tokens.clone(),
        ingest_keys: settings.config.auth.ingest_keys.clone(),
        writer,
        reads: ReadPool::new(reads),
        decoding: Semaphore::new(cores.max(2)),
        metrics: metrics::Metrics::default(),
        extra_metrics,
        alerts: Arc::new(settings.config.alerts.clone()),
        insights: settings.config.insights.clone(),
        recommend: settings.config.recommend,
        sessions: session::Sessions::default(),
        secure_cookies: !settings.listen.ip().is_loopback(),
        users: settings.config.auth.users.clone(),
        logins: ui::throttle::Throttle::default(),
    }))
}

/// Serve until `shutdown` completes, then shut down gracefully.
pub async fn run(
    mut settings: Settings,
    extras: Extras,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    // Collectors behind one load balancer must accept the same tokens, so none is made up
    // per process.
    if matches!(settings.store, StoreBackend::ClickHouse(_)) {
        for (list, what, key, env) in [
            (
                &settings.config.auth.api_tokens,
                "API token",
                "auth.api_tokens",
                "TERN_API_TOKEN",
            ),
            (
                &settings.config.auth.ingest_keys,
                "ingest key",
                "auth.ingest_keys",
                "TERN_INGEST_KEY",
            ),
        ] {
            if list.is_empty() {
                bail!(
                    "no {what} configured: with store.backend = \"clickhouse\" set {key} in the \
                     config (`tern token` makes one) or {env}"
                );
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let shown = crate::config::describe(&settings.store);
    let store = settings
        .store
        .open()
        .with_context(|| format!("opening {shown}"))?;
    let mut reads = Vec::with_capacity(READ_CONNECTIONS);
    for _ in 0..READ_CONNECTIONS {
        reads.push(
            settings
                .store
                .open_read_only()
                .with_context(|| format!("opening {shown} to read"))?,
        );
    }
    // Token files are written only once the address is bound and the store is open: a
    // failed start leaves nothing behind.
    for (list, suffix, what) in [
        (
            &mut settings.config.auth.api_tokens,
            "api-token",
            "API token",
        ),
        (
            &mut settings.config.auth.ingest_keys,
            "ingest-key",
            "ingest key",
        ),
    ] {
        if !list.is_empty() {
            continue;
        }
        if let StoreBackend::Sqlite(db) = &settings.store {
            list.push(token_file(db, suffix, what)?);
        }
    }
    let addr = listener.local_addr().context("reading the bound address")?;
    let (writer, handle) = Writer::spawn(store, settings.config.server.ingest_queue);
    let app_state = state(&settings, handle.clone(), reads, extras.metrics);
    let (stop_tx, stop_rx) = watch::channel(false);
    let duty = extras.duty.clone();

    let mut background = Vec::new();
    background.push(tokio::spawn(retention_loop(
        app_state.clone(),
        settings.config.retention,
        duty.clone(),
        stop_rx.clone(),
    )));
    background.push(tokio::spawn(seal_loop(
        settings.store.clone(),
        duty.clone(),
        stop_rx.clone(),
    )));
    for task in extras.tasks {
        background.push(tokio::spawn(task(handle.clone(), stop_rx.clone())));
    }
    drop(handle);

    if let Some(m) = &duty.0 {
        eprintln!(
            "collector {}: pulls its share of the log groups; alerting and retention run in \
             whichever collector holds the alerts lease",
            m.id()
        );
    }
    eprintln!("listening on {addr}");
    tracing::info!(address = %addr, store = %shown, "Serving.");
    let mut http_stop = stop_rx.clone();
    let app = router::router(app_state);
    let served = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.wait_for(|s| *s).await;
            })
            .await
    });
    let mut served = served;
    let early = tokio::select! {
        _ = shutdown => None,
        r = &mut served => Some(r),
    };
    eprintln!("shutting down: finishing requests in flight");
    let _ = stop_tx.send(true);
    let result = match early {
        Some(r) => r,
        None => served.await,
    };
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "The HTTP server failed."),
        Err(e) => tracing::error!(error = %e, "The HTTP server task failed."),
    }
    for t in background {
        if let Err(e) = t.await {
            tracing::error!(error = %e, "A background task failed.");
        }
    }
    // Every handle is gone now (the router and its state were dropped with the server):
    // the writer drains its queue and stops.
    tokio::task::spawn_blocking(move || writer.join())
        .await
        .context("waiting for the store writer")?;
    eprintln!("stopped: everything accepted is stored");
    Ok(())
}

/// Retention on its schedule; in a cluster only in the collector holding the `alerts` lease.
/// Nothing runs unless `[retention]` sets an age. The first pass says what it is about to
/// delete before it deletes anything, and every pass says what it removed: deleting data is
/// never silent. A database `tern demo` made is never pruned.
async fn retention_loop(
    state: AppState,
    r: crate::config::Retention,
    duty: Duty,
    mut stop: watch::Receiver<bool>,
) {
    if r.raw.is_none() && r.rollups.is_none() {
        return;
    }
    match state
        .reads
        .with(|store| Ok(!store.checkpoints(DEMO_MARK)?.is_empty()))
        .await
    {
        Ok(true) => {
            eprintln!(
                "retention: off for this database (made by `tern demo`; its days are kept whole)"
            );
            return;
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "Retention could not read the store; it does not run.");
            return;
        }
    }
    eprintln!("retention: {}", describe_retention(&r));
    let mut tick = tokio::time::interval(r.interval.max(Duration::from_secs(1)));
    let mut first = true;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if !duty.leads() {
            continue;
        }
        let now = crate::timeutil::now_ms();
        let cut = |d: Option<Duration>| d.map(|d| now - d.as_millis() as i64);
        let job = Retention {
            raw_before_ms: cut(r.raw),
            rollups_before_ms: cut(r.rollups),
        };
        if first {
            first = false;
            match state
                .reads
                .with(move |store| retention_preview(store, job))
                .await
            {
                Ok(Some(text)) => eprintln!("retention: first pass deletes {text}"),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "Retention could not count what it would delete.")
                }
            }
        }
        match state.writer.retention(job).await {
            Ok(s) => {
                let m = &state.metrics;
                m.retention_runs.fetch_add(1, Ordering::Relaxed);
                m.retention_deleted_invocations
                    .fetch_add(s.invocations, Ordering::Relaxed);
                if s.invocations + s.stream_chunks + s.rollup_rows > 0 {
                    eprintln!("retention: {}", crate::text::retention_stats(&s));
                }
                tracing::info!(
                    invocations = s.invocations,
                    stream_chunks = s.stream_chunks,
                    rollup_rows = s.rollup_rows,
                    "Retention applied."
                );
            }
            Err(e) => tracing::warn!(error = %e, "Retention failed."),
        }
    }
}

/// The checkpoint key `tern demo` writes into its database, so that serving it never prunes
/// the simulated days.
pub const DEMO_MARK: &str = "tern:demo";

fn describe_retention(r: &crate::config::Retention) -> String {
    let age = |d: Option<Duration>| match d {
        Some(d) => format!("older than {}", humantime::format_duration(d)),
        None => "kept forever".to_string(),
    };
    format!(
        "invocations and raw log lines {}; hourly and daily statistics {}; checked every {}",
        age(r.raw),
        age(r.rollups),
        humantime::format_duration(r.interval)
    )
}

/// What a retention pass would delete, counted before it runs: `None` when nothing.
fn retention_preview(
    store: &dyn tern_store::Store,
    job: Retention,
) -> anyhow::Result<Option<String>> {
    let Some((first_ms, last_ms)) = store.time_bounds()? else {
        return Ok(None);
    };
    let fmt = crate::timeutil::format_ms;
    let mut parts = Vec::new();
    if let Some(cut) = job.raw_before_ms.filter(|&c| c > first_ms) {
        let range = tern_store::TimeRange {
            from_ms: Some(first_ms),
            to_ms: Some(cut),
        };
        let n: u64 = store
            .function_stats(&[], range)?
            .iter()
            .map(|f| f.invocations)
            .sum();
        parts.push(format!(
            "{} invocations ended before {} with their log lines (stored data spans {} … {})",
            crate::text::count(n),
            fmt(cut),
            fmt(first_ms),
            fmt(last_ms)
        ));
    }
    if let Some(cut) = job.rollups_before_ms.filter(|&c| c > first_ms) {
        parts.push(format!("hourly and daily statistics before {}", fmt(cut)));
    }
    Ok((!parts.is_empty()).then(|| parts.join("; ")))
}

/// How often the leading process seals settled days of a ClickHouse store.
const SEAL_INTERVAL: Duration = Duration::from_secs(600);

/// Sealing on its schedule (`Store::seal`; ClickHouse only: SQLite keeps its rollups at write
/// time), in a cluster only in the collector holding the `alerts` lease. On its own store
/// handle and a blocking thread, not the writer: the first seal of a large database takes
/// minutes, and ingest must not wait for it.
async fn seal_loop(backend: StoreBackend, duty: Duty, mut stop: watch::Receiver<bool>) {
    if !matches!(backend, StoreBackend::ClickHouse(_)) {
        return;
    }
    let mut tick = tokio::time::interval(SEAL_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if !duty.leads() {
            continue;
        }
        let b = backend.clone();
        let done = tokio::task::spawn_blocking(move || {
            let mut store = b.open()?;
            store.seal(crate::timeutil::now_ms())
        })
        .await;
        match done {
            Ok(Ok(s)) if s.partitions > 0 => {
                tracing::info!(partitions = s.partitions, rows = s.rows, "Sealed.");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "Sealing failed."),
            Err(e) => tracing::error!(error = %e, "The sealing task failed."),
        }
    }
}

#[cfg(test)]
mod tests;
