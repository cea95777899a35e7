//! `tern pull`: inventory, then FilterLogEvents up to now (or forever with `--follow`).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use tokio::sync::watch;

use crate::aws::{self, metrics::PullMetrics, pull};
use crate::cli::{AwsArgs, PullArgs};
use crate::config::{self, Config, Globs};
use crate::writer::Writer;

/// The config named by `--config`, else the defaults.
pub fn load_config(aws: &AwsArgs) -> Result<Config> {
    match &aws.config {
        Some(p) => Config::load(p),
        None => Ok(Config::default()),
    }
}

/// A runtime for one command: two workers, like the machine's cores.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Flip `tx` to true on Ctrl-C or SIGTERM.
pub fn stop_on_signals(tx: watch::Sender<bool>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        eprintln!("stopping after the batch in hand…");
        let _ = tx.send(true);
    });
}

pub fn run(args: PullArgs) -> Result<String> {
    let cfg = load_config(&args.aws)?;
    let since = match &args.since {
        Some(s) => config::parse_duration(s, "--since")?,
        None => cfg.pull.since,
    };
    let functions = if args.function.is_empty() {
        None
    } else {
        Some(Globs::new(&args.function, "--function")?)
    };
    let progress = !args.quiet && !args.follow && std::io::stderr().is_terminal();
    let backend = cfg
        .store
        .resolve(args.db.db.as_deref(), args.aws.config.as_deref())?;
    let rt = runtime()?;
    rt.block_on(async move {
        let targets = aws::targets(&cfg, &args.aws).await?;
        let store = crate::ingest::open_store(&backend)?;
        let (writer, handle) = Writer::spawn(store, 4);
        let metrics = Arc::new(PullMetrics::new());
        let (tx, rx) = watch::channel(false);
        stop_on_signals(tx);
        let bar = progress.then(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} backfill [{bar:30}] {percent:>3}%  {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        });
        if let Some(b) = &bar {
            let b = b.clone();
            let m = metrics.clone();
            tokio::spawn(async move {
                while !b.is_finished() {
                    let t = m.totals();
                    b.set_message(format!(
                        "{} events, {} requests, {} throttled",
                        t.events, t.requests, t.throttles
                    ));
                    b.tick();
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            });
        }
        let opts = pull::Options {
            follow: args.follow,
            since,
            functions,
            progress: bar,
            ..pull::Options::from_config(&cfg)
        };
        let started = Instant::now();
        let result = pull::run(targets, handle, metrics.clone(), opts, rx).await;
        // Every handle is gone once `run` returns: the writer finishes the queue and stops.
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .context("waiting for the store writer")?;
        let t = metrics.totals();
        let line = |s: &pull::Summary| {
            format!(
                "pulled {} events from {} log group(s) of {} function(s) in {:.1} s: {} invocations stored, \
                 {} requests, {} throttled, {} retried, {} errors\n",
                t.events,
                s.log_groups,
                s.functions,
                started.elapsed().as_secs_f64(),
                t.invocations,
                t.requests,
                t.throttles,
                t.retries,
                t.errors,
            )
        };
        match result {
            Ok(s) => {
                if s.missing_log_groups > 0 {
                    eprintln!(
                        "note: {} log group(s) of listed functions do not exist (functions that never ran, or deleted)",
                        s.missing_log_groups
                    );
                }
                eprint!("{}", line(&s));
                Ok(String::new())
            }
            Err(e) => {
                eprint!("{}", line(&pull::Summary::default()));
                Err(e)
            }
        }
    })
}
