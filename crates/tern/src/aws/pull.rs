//! Pulling logs with FilterLogEvents, from a checkpoint stored in the database.
//!
//! Per log group, each poll reads the window `[checkpoint − lookback, now − settle]`, every
//! page (empty pages with a nextToken included), assembles the events and stores them. The
//! checkpoint (the window's end) rides in the same transaction as the window's last batch, so
//! after a crash the stored data and the checkpoint agree: restarting re-reads at most one
//! window, and the idempotent store makes the re-read count nothing twice. The lookback
//! re-read catches late-arriving events.
//!
//! Long backfills are cut into windows of at most a day, so a restart loses at most a day of
//! progress. Batches are bounded ([`FLUSH_EVENTS`] events, [`crate::ingest::BATCH_BYTES`]
//! bytes of text); only the last batch of a window carries the checkpoint.
//!
//! Failure handling per request (see [`super::retry`]): throttling and server errors are
//! retried with backoff; an expired nextToken restarts the window from its start; a deleted
//! log group is warned about and skipped until the next inventory lists it again; anything
//! else fails the log group for this poll (`tern pull` then exits 1, the live loop goes on).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use tern_core::assemble::{Assembled, Assembler};
use tern_core::model::LogEvent;
use tern_store::{Checkpoint, FunctionMeta, IngestBatch};
use tokio::sync::{watch, Semaphore};
use tracing::{debug, info, warn};

use super::inventory;
use super::metrics::PullMetrics;
use super::retry::{self, Class};
use super::{now_ms, Clients, Target};
use crate::cluster::Membership;
use crate::config::{Config, Globs};
use crate::writer::WriterHandle;

/// Events assembled between two writes to the store.
pub const FLUSH_EVENTS: usize = 50_000;
/// Events per FilterLogEvents page (the AWS maximum).
const PAGE_LIMIT: i32 = 10_000;
/// Windows end this long before now: events still being ingested are read next poll.
pub const SETTLE_MS: i64 = 10_000;
/// Longest window between two checkpoints.
pub const MAX_WINDOW_MS: i64 = 86_400_000;
/// Log groups of one account and region pulled at once (they share one rate limiter).
const GROUP_CONCURRENCY: usize = 4;
/// Times one window may restart after its nextToken expired.
const MAX_TOKEN_RESTARTS: u32 = 3;

/// What a checkpoint value holds: the end (exclusive, epoch ms) of the data stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub end_ms: i64,
}

pub fn checkpoint_prefix(account: &str, region: &str) -> String {
    format!("pull/{account}/{region}/")
}

pub fn checkpoint_key(account: &str, region: &str, log_group: &str) -> String {
    format!("{}{log_group}", checkpoint_prefix(account, region))
}

/// How a pull runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep polling (`--follow`, `tern serve`) instead of stopping once up to date.
    pub follow: bool,
    /// Where a log group without a checkpoint starts: this far before now.
    pub since: Duration,
    pub lookback: Duration,
    pub poll: Duration,
    pub inventory_refresh: Duration,
    /// Only functions matching these too (`--function`).
    pub functions: Option<Globs>,
    /// Progress bar (backfill on a terminal).
    pub progress: Option<ProgressBar>,
    /// In a `[cluster]`: pull only the log groups this collector owns.
    pub cluster: Option<Arc<Membership>>,
}

impl Options {
    pub fn from_config(cfg: &Config) -> Options {
        Options {
            follow: true,
            since: cfg.pull.since,
            lookback: cfg.pull.lookback,
            poll: cfg.pull.poll,
            inventory_refresh: cfg.inventory.refresh,
            functions: None,
            progress: None,
            cluster: None,
        }
    }
}

/// What a pull did, over every account and region.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Accounts × regions.
    pub targets: usize,
    pub functions: usize,
    pub log_groups: usize,
    pub missing_log_groups: usize,
    pub failed_log_groups: usize,
}

/// Run pulls for `targets` until done (or, with `follow`, until `shutdown` turns true).
/// Returns an error naming every target or log group that failed, after the others finished.
pub async fn run(
    targets: Vec<Target>,
    writer: WriterHandle,
    metrics: Arc<PullMetrics>,
    opts: Options,
    shutdown: watch::Receiver<bool>,
) -> Result<Summary> {
    let mut with_clients = Vec::with_capacity(targets.len());
    for t in targets {
        let c = t.clients().await?;
        with_clients.push((t, c));
    }
    run_with(with_clients, writer, metrics, opts, shutdown).await
}

/// [`run`] with clients already built.
async fn run_with(
    targets: Vec<(Target, Clients)>,
    writer: WriterHandle,
    metrics: Arc<PullMetrics>,
    opts: Options,
    shutdown: watch::Receiver<bool>,
) -> Result<Summary> {
    let opts = Arc::new(opts);
    let mut tasks = tokio::task::JoinSet::new();
    let n = targets.len();
    for (t, clients) in targets {
        let ctx = Ctx {
            target: t,
            writer: writer.clone(),
            metrics: metrics.clone(),
            opts: opts.clone(),
            shutdown: shutdown.clone(),
        };
        tasks.spawn(async move {
            let label = ctx.target.label();
            (label, run_target(ctx, clients).await)
        });
    }
    let mut summary = Summary {
        targets: n,
        ..Summary::default()
    };
    let mut errors = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((_, Ok(s))) => {
                summary.functions += s.functions;
                summary.log_groups += s.log_groups;
                summary.missing_log_groups += s.missing_log_groups;
                summary.failed_log_groups += s.failed_log_groups;
            }
            Ok((label, Err(e))) => errors.push(format!("{label}: {e:#}")),
            Err(e) => errors.push(format!("a pull task failed: {e}")),
        }
    }
    if let Some(p) = &opts.progress {
        p.finish_and_clear();
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    Ok(summary)
}

/// The live loop of `tern serve`: inventory refresh and pulls for every configured account and
/// region until `shutdown` turns true (the batch in hand is finished and stored first).
/// Returns at once when the config has no `[[accounts]]` or `pull.enabled = false` (the
/// inventory then does not run either).
pub async fn run_live(
    cfg: &Config,
    writer: WriterHandle,
    metrics: Arc<PullMetrics>,
    cluster: Option<Arc<Membership>>,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    if cfg.accounts.is_empty() || !cfg.pull.enabled {
        return Ok(());
    }
    let targets = super::targets(cfg, &crate::cli::AwsArgs::default()).await?;
    run(
        targets,
        writer,
        metrics,
        Options {
            cluster,
            ..Options::from_config(cfg)
        },
        shutdown,
    )
    .await
    .map(|_| ())
}

struct Ctx {
    target: Target,
    writer: WriterHandle,
    metrics: Arc<PullMetrics>,
    opts: Arc<Options>,
    shutdown: watch::Receiver<bool>,
}

impl Ctx {
    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    fn count(&self, f: impl FnOnce(&mut super::metrics::Counts)) {
        self.metrics
            .count(&self.target.account, &self.target.region, f);
    }

    fn wants(&self, function: &str) -> bool {
        self.target.functions.matches(function)
            && self
                .opts
                .functions
                .as_ref()
                .is_none_or(|g| g.matches(function))
    }

    /// Sleep, or return early (true) when shutdown is asked.
    async fn sleep(&self, d: Duration) -> bool {
        let mut rx = self.shutdown.clone();
        if *rx.borrow() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => self.stopping(),
            _ = rx.wait_for(|v| *v) => true,
        }
    }
}

#[derive(Debug, Default)]
struct TargetSummary {
    functions: usize,
    log_groups: usize,
    missing_log_groups: usize,
    failed_log_groups: usize,
}

async fn run_target(ctx: Ctx, clients: Clients) -> Result<TargetSummary> {
    let ctx = Arc::new(ctx);
    let t = &ctx.target;
    let prefix = checkpoint_prefix(&t.account, &t.region);
    let mut positions: HashMap<String, i64> = HashMap::new();
    for c in ctx
        .writer
        .checkpoints(&prefix)
        .await
        .map_err(|e| anyhow!("reading pull checkpoints: {e}"))?
    {
        let group = c.key[prefix.len()..].to_string();
        match serde_json::from_str::<Position>(&c.value) {
            Ok(p) => {
                ctx.metrics
                    .checkpoint(&t.account, &t.region, &group, p.end_ms);
                positions.insert(group, p.end_ms);
            }
            Err(e) => warn!(
                key = %c.key,
                error = %e,
                "Ignoring an unreadable pull checkpoint; the log group starts over at --since."
            ),
        }
    }
    let mut summary = TargetSummary::default();
    let mut groups: BTreeSet<String> = BTreeSet::new();
    let mut missing: HashSet<String> = HashSet::new();
    let mut next_inventory = tokio::time::Instant::now();
    // In a cluster: the log groups this collector pulled last round.
    let mut owned_before: BTreeSet<String> = BTreeSet::new();
    if let Some(m) = &ctx.opts.cluster {
        m.settled().await;
    }
    loop {
        if tokio::time::Instant::now() >= next_inventory {
            match refresh_inventory(&ctx, &clients).await {
                Ok((metas, g)) => {
                    summary.functions = metas;
                    groups = g;
                    missing.clear();
                    next_inventory += ctx.opts.inventory_refresh;
                }
                Err(e) if ctx.opts.follow => {
                    ctx.count(|c| c.errors += 1);
                    warn!(
                        account = %t.account,
                        region = %t.region,
                        error = %format!("{e:#}"),
                        "Failed to refresh the inventory; retrying next poll."
                    );
                    next_inventory = tokio::time::Instant::now() + ctx.opts.poll;
                }
                Err(e) => return Err(e),
            }
        }
        let round = match &ctx.opts.cluster {
            None => pull_round(&ctx, &clients, &groups, &positions).await,
            Some(m) => {
                let owned: BTreeSet<String> =
                    groups.iter().filter(|g| m.owns(g)).cloned().collect();
                m.record_groups(
                    &prefix,
                    owned.len() as u64,
                    (groups.len() - owned.len()) as u64,
                );
                // A log group that came to this collector (another stopped, or this one
                // started) resumes from the checkpoint its last puller stored, not from
                // what this process remembers.
                if owned.iter().any(|g| !owned_before.contains(g)) {
                    match ctx.writer.checkpoints(&prefix).await {
                        Ok(cps) => {
                            for c in cps {
                                let group = &c.key[prefix.len()..];
                                if owned.contains(group) && !owned_before.contains(group) {
                                    if let Ok(p) = serde_json::from_str::<Position>(&c.value) {
                                        positions.insert(group.to_string(), p.end_ms);
                                    }
                                }
                            }
                        }
                        Err(e) => warn!(error = %e, "Cannot re-read pull checkpoints."),
                    }
                }
                for g in owned_before.difference(&owned) {
                    ctx.metrics.forget(&t.account, &t.region, g);
                }
                let round = pull_round(&ctx, &clients, &owned, &positions).await;
                owned_before = owned;
                round
            }
        };
        let mut failures = Vec::new();
        for (group, outcome) in round {
            match outcome {
                Outcome::Stored(end) => {
                    positions.insert(group, end);
                }
                Outcome::Stopped => {}
                Outcome::Gone => {
                    if missing.insert(group.clone()) {
                        warn!(
                            account = %t.account,
                            region = %t.region,
                            log_group = %group,
                            "Log group not found (deleted, or the function never ran); skipped until the next inventory."
                        );
                    }
                    ctx.metrics.forget(&t.account, &t.region, &group);
                }
                Outcome::Failed(e) => {
                    ctx.count(|c| c.errors += 1);
                    warn!(
                        account = %t.account,
                        region = %t.region,
                        log_group = %group,
                        error = %e,
                        "Failed to pull a log group."
                    );
                    failures.push(format!("{group}: {e}"));
                }
            }
        }
        for g in &missing {
            groups.remove(g);
        }
        summary.log_groups = groups.len();
        summary.missing_log_groups = missing.len();
        summary.failed_log_groups = failures.len();
        if !ctx.opts.follow {
            if !failures.is_empty() {
                bail!("{}", failures.join("; "));
            }
            return Ok(summary);
        }
        if ctx.stopping() || ctx.sleep(ctx.opts.poll).await {
            return Ok(summary);
        }
    }
}

/// List functions, store their metadata, and return (functions kept, log groups to pull).
async fn refresh_inventory(ctx: &Ctx, clients: &Clients) -> Result<(usize, BTreeSet<String>)> {
    let metas: Vec<FunctionMeta> =
        inventory::inventory(clients, &ctx.target, &ctx.metrics, |f| ctx.wants(f)).await?;
    let groups: BTreeSet<String> = metas.iter().filter_map(|m| m.log_group.clone()).collect();
    info!(
        account = %ctx.target.account,
        region = %ctx.target.region,
        functions = metas.len(),
        log_groups = groups.len(),
        "Inventory refreshed."
    );
    let n = metas.len();
    if !metas.is_empty() {
        ctx.writer
            .write(IngestBatch {
                functions: metas,
                ..IngestBatch::default()
            })
            .await
            .map_err(|e| anyhow!("storing the inventory: {e}"))?;
    }
    Ok((n, groups))
}

#[derive(Debug)]
enum Outcome {
    /// Stored up to this end (epoch ms, exclusive).
    Stored(i64),
    /// Shutdown asked; what was read is stored, the checkpoint not advanced.
    Stopped,
    /// The log group does not exist.
    Gone,
    Failed(String),
}

/// Pull every log group once, up to now, a few at a time.
async fn pull_round(
    ctx: &Arc<Ctx>,
    clients: &Clients,
    groups: &BTreeSet<String>,
    positions: &HashMap<String, i64>,
) -> BTreeMap<String, Outcome> {
    let now = now_ms();
    let end = now - SETTLE_MS;
    let lookback = ctx.opts.lookback.as_millis() as i64;
    let since = ctx.opts.since.as_millis() as i64;
    let sem = Arc::new(Semaphore::new(GROUP_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for g in groups {
        let start = match positions.get(g) {
            Some(p) => p - lookback,
            None => now - since,
        };
        if start >= end {
            continue;
        }
        if let Some(p) = &ctx.opts.progress {
            p.inc_length((end - start) as u64);
        }
        let ctx = ctx.clone();
        let logs = clients.logs.clone();
        let sem = sem.clone();
        let g = g.clone();
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let outcome = pull_group(&ctx, &logs, &g, start, end).await;
            (g, outcome)
        });
    }
    let mut out = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((g, o)) => {
                out.insert(g, o);
            }
            Err(e) => warn!(error = %e, "A log group pull task failed."),
        }
    }
    out
}

/// Pull one log group from `start` to `end`, in windows of at most a day.
async fn pull_group(
    ctx: &Ctx,
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    start: i64,
    end: i64,
) -> Outcome {
    let mut from = start;
    while from < end {
        let to = (from + MAX_WINDOW_MS).min(end);
        match pull_window(ctx, logs, group, from, to).await {
            Ok(Window::Done) => {}
            Ok(Window::Stopped) => return Outcome::Stopped,
            Ok(Window::Gone) => return Outcome::Gone,
            Err(e) => return Outcome::Failed(format!("{e:#}")),
        }
        if let Some(p) = &ctx.opts.progress {
            p.inc((to - from) as u64);
        }
        from = to;
    }
    Outcome::Stored(end)
}

enum Window {
    Done,
    Stopped,
    Gone,
}

/// One window `[from, to)`: every page, assembled, stored; the checkpoint `to` rides on the
/// last batch.
async fn pull_window(
    ctx: &Ctx,
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    from: i64,
    to: i64,
) -> Result<Window> {
    let t = &ctx.target;
    let group_arc: Arc<str> = Arc::from(group);
    let mut asm = Assembler::new();
    let mut pending = 0usize;
    let mut pending_bytes = 0usize;
    let mut token: Option<String> = None;
    let mut restarts = 0u32;
    let mut streams: HashMap<String, Arc<str>> = HashMap::new();
    loop {
        if ctx.stopping() {
            store(ctx, group, asm.finish(), None).await?;
            return Ok(Window::Stopped);
        }
        let page = retry::call(
            || {
                let req = logs
                    .filter_log_events()
                    .log_group_name(group)
                    .start_time(from)
                    // Both bounds are inclusive in FilterLogEvents.
                    .end_time(to - 1)
                    .limit(PAGE_LIMIT)
                    .set_next_token(token.clone());
                async move {
                    t.limiter.acquire().await;
                    ctx.count(|c| c.requests += 1);
                    req.send().await
                }
            },
            |class| {
                ctx.count(|c| match class {
                    Class::Throttled => c.throttles += 1,
                    _ => c.retries += 1,
                })
            },
        )
        .await;
        let page = match page {
            Ok(p) => p,
            Err(e) => match retry::classify(&e) {
                Class::TokenExpired if token.is_some() && restarts < MAX_TOKEN_RESTARTS => {
                    // Store what was read (idempotent) and read the window again from its
                    // start, without the stale token.
                    restarts += 1;
                    ctx.count(|c| c.token_restarts += 1);
                    warn!(
                        log_group = %group,
                        error = %retry::describe(&e),
                        "The FilterLogEvents nextToken expired; restarting the window."
                    );
                    store(ctx, group, asm.finish(), None).await?;
                    pending = 0;
                    pending_bytes = 0;
                    token = None;
                    continue;
                }
                Class::NotFound => {
                    store(ctx, group, asm.finish(), None).await?;
                    return Ok(Window::Gone);
                }
                _ => {
                    // Keep what was read; the checkpoint does not move.
                    store(ctx, group, asm.finish(), None).await?;
                    bail!("FilterLogEvents failed: {}", retry::describe(&e));
                }
            },
        };
        let events = page.events.unwrap_or_default();
        let received = events.len() as u64;
        for ev in events {
            let (Some(stream), Some(ts)) = (ev.log_stream_name, ev.timestamp) else {
                debug!(log_group = %group, "Skipping an event without a stream or timestamp.");
                continue;
            };
            let stream = match streams.get(&stream) {
                Some(s) => s.clone(),
                None => {
                    let a: Arc<str> = Arc::from(stream.as_str());
                    streams.insert(stream, a.clone());
                    a
                }
            };
            let ev = LogEvent {
                log_group: group_arc.clone(),
                log_stream: stream,
                timestamp_ms: ts,
                message: ev.message.unwrap_or_default(),
                event_id: ev.event_id,
            };
            pending_bytes += crate::source::event_bytes(&ev);
            asm.push(ev);
            pending += 1;
        }
        ctx.count(|c| c.events += received);
        if pending >= FLUSH_EVENTS
            || pending_bytes >= crate::ingest::BATCH_BYTES
            || asm.parts_since_drain() >= crate::ingest::BATCH_PARTS
        {
            store(ctx, group, asm.drain(), None).await?;
            pending = 0;
            pending_bytes = 0;
            if streams.len() > 100_000 {
                streams.clear();
            }
        }
        // An empty page with a token is not the end; only a missing token is.
        match page.next_token.filter(|s| !s.is_empty()) {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    store(ctx, group, asm.finish(), Some(to)).await?;
    Ok(Window::Done)
}

/// Store an assembled batch, with the checkpoint `end` when given.
async fn store(ctx: &Ctx, group: &str, a: Assembled, end: Option<i64>) -> Result<()> {
    let t = &ctx.target;
    for d in a.diagnostics.iter().take(3) {
        debug!(log_group = %group, diagnostic = %d, "Assembly problem.");
    }
    let mut batch = IngestBatch::assembled(a);
    if let Some(end) = end {
        batch.checkpoints.push(Checkpoint {
            key: checkpoint_key(&t.account, &t.region, group),
            value: serde_json::to_string(&Position { end_ms: end })
                .context("encoding a checkpoint")?,
            updated_ms: now_ms(),
        });
    }
    if batch.is_empty() {
        return Ok(());
    }
    let stats = ctx
        .writer
        .write(batch)
        .await
        .map_err(|e| anyhow!("storing pulled events of {group}: {e}"))?;
    ctx.count(|c| c.invocations += stats.inserted);
    if let Some(end) = end {
        ctx.metrics.checkpoint(&t.account, &t.region, group, end);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Mutex;

    use super::*;
    use crate::aws::fake::{self, Request, Response};
    use crate::aws::ratelimit::RateLimiter;
    use crate::writer::Writer;
    use tern_store::{InvocationQuery, SqliteStore, Store};

    const GROUP: &str = "/aws/lambda/f1";

    fn target() -> Target {
        Target {
            account: "test".into(),
            profile: None,
            region: "us-east-1".into(),
            endpoint_url: None,
            functions: Globs::all(),
            // Fast, so tests do not wait on the limiter.
            limiter: Arc::new(RateLimiter::new(1000.0)),
        }
    }

    /// START, END and REPORT of one invocation, 30 minutes ago, as FilterLogEvents events.
    fn invocation(rid: &str, t0: i64) -> Vec<serde_json::Value> {
        let stream = "2026/11/27/[$LATEST]0123456789abcdef0123456789abcdef";
        [
            format!("START RequestId: {rid} Version: $LATEST\n"),
            format!("END RequestId: {rid}\n"),
            format!(
                "REPORT RequestId: {rid}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n"
            ),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            serde_json::json!({
                "logStreamName": stream,
                "timestamp": t0 + i as i64,
                "message": m,
                "ingestionTime": t0 + i as i64 + 100,
                "eventId": format!("{t0}{rid}{i}"),
            })
        })
        .collect()
    }

    fn page(events: &[serde_json::Value], token: Option<&str>) -> Response {
        let mut v = serde_json::json!({"events": events, "searchedLogStreams": []});
        if let Some(t) = token {
            v["nextToken"] = t.into();
        }
        Response::json(200, v.to_string())
    }

    /// Answers ListFunctions and ListTags for one function `f1`, and FilterLogEvents with
    /// `logs(request, n)` (n counts FilterLogEvents calls from 0).
    async fn aws(logs: impl Fn(&Request, usize) -> Response + Send + Sync + 'static) -> fake::Fake {
        let n = Mutex::new(0usize);
        fake::Fake::start(move |req, _| {
            if req.path.starts_with("/2015-03-31/functions") {
                Response::json(
                    200,
                    r#"{"Functions":[{"FunctionName":"f1","FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f1","Timeout":3,"MemorySize":128}]}"#,
                )
            } else if req.path.starts_with("/2017-03-31/tags/") {
                Response::json(200, r#"{"Tags":{}}"#)
            } else if req.target() == "DescribeLogGroups" {
                // The inventory reads log group retention.
                Response::json(200, r#"{"logGroups":[]}"#)
            } else if req.target() == "FilterLogEvents" {
                let i = {
                    let mut n = n.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                logs(req, i)
            } else {
                Response::error(400, "UnknownOperationException", req.target())
            }
        })
        .await
    }

    struct Pulled {
        result: Result<Summary>,
        metrics: Arc<PullMetrics>,
        store: SqliteStore,
        filter_bodies: Vec<serde_json::Value>,
        _dir: tempfile::TempDir,
    }

    async fn pull(fake: &fake::Fake) -> Pulled {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (writer, handle) = Writer::spawn(SqliteStore::open(&path).unwrap(), 2);
        let metrics = Arc::new(PullMetrics::new());
        let (_tx, rx) = watch::channel(false);
        let opts = Options {
            follow: false,
            ..Options::from_config(&Config::default())
        };
        let clients = fake::clients(&fake.url).await;
        let result = run_with(vec![(target(), clients)], handle, metrics.clone(), opts, rx).await;
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .unwrap();
        let filter_bodies = fake
            .requests()
            .iter()
            .filter(|r| r.target() == "FilterLogEvents")
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .collect();
        Pulled {
            result,
            metrics,
            store: SqliteStore::open_read_only(&path).unwrap(),
            filter_bodies,
            _dir: dir,
        }
    }

    fn complete_invocations(store: &SqliteStore) -> usize {
        let q = InvocationQuery {
            limit: 1000,
            ..Default::default()
        };
        store
            .invocations(&q)
            .unwrap()
            .iter()
            .filter(|i| i.complete)
            .count()
    }

    #[tokio::test]
    async fn throttles_are_retried_and_empty_pages_with_a_token_are_followed() {
        let t0 = now_ms() - 30 * 60_000;
        let fake = aws(move |_, i| {
            let ev = invocation("11111111-2222-3333-4444-555555555555", t0);
            match i {
                0 | 1 => Response::error(400, "ThrottlingException", "Rate exceeded"),
                2 => page(&ev[..1], Some("t1")),
                3 => page(&[], Some("t2")),
                _ => page(&ev[1..], None),
            }
        })
        .await;
        let p = pull(&fake).await;
        let s = p.result.unwrap();
        assert_eq!(s.log_groups, 1);
        let t = p.metrics.totals();
        assert_eq!(t.throttles, 2);
        assert_eq!(t.events, 3);
        assert_eq!(t.invocations, 1);
        // Five FilterLogEvents plus ListFunctions, ListTags and DescribeLogGroups.
        assert_eq!(t.requests, 8);
        let tokens: Vec<_> = p
            .filter_bodies
            .iter()
            .map(|b| b["nextToken"].clone())
            .collect();
        assert_eq!(
            tokens,
            [
                serde_json::Value::Null,
                serde_json::Value::Null,
                serde_json::Value::Null,
                "t1".into(),
                "t2".into()
            ]
        );
        let b = &p.filter_bodies[0];
        assert_eq!(b["logGroupName"], GROUP);
        assert!(b.get("logGroupIdentifier").is_none());
        assert_eq!(complete_invocations(&p.store), 1);
        let cps = p.store.checkpoints("pull/test/us-east-1/").unwrap();
        assert_eq!(cps.len(), 1);
        assert_eq!(cps[0].key, format!("pull/test/us-east-1/{GROUP}"));
        let pos: Position = serde_json::from_str(&cps[0].value).unwrap();
        assert_eq!(b["endTime"].as_i64().unwrap(), pos.end_ms - 1);
    }

    #[tokio::test]
    async fn an_expired_token_restarts_the_window_without_it() {
        let t0 = now_ms() - 30 * 60_000;
        let fake = aws(move |req, i| {
            let ev = invocation("aaaaaaaa-2222-3333-4444-555555555555", t0);
            let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
            match (i, body.get("nextToken")) {
                (0, None) => page(&ev[..2], Some("stale")),
                (_, Some(_)) => Response::error(
                    400,
                    "InvalidParameterException",
                    "The specified nextToken has expired.",
                ),
                (_, None) => page(&ev, None),
            }
        })
        .await;
        let p = pull(&fake).await;
        p.result.unwrap();
        let t = p.metrics.totals();
        assert_eq!(t.token_restarts, 1);
        assert_eq!(p.filter_bodies.len(), 3);
        assert_eq!(
            p.filter_bodies[2]["startTime"], p.filter_bodies[0]["startTime"],
            "the window restarts from its start"
        );
        assert_eq!(complete_invocations(&p.store), 1, "re-read, stored once");
        assert_eq!(p.store.checkpoints("pull/").unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_deleted_log_group_is_skipped_without_failing() {
        let fake = aws(|_, _| {
            Response::error(
                400,
                "ResourceNotFoundException",
                "The specified log group does not exist.",
            )
        })
        .await;
        let p = pull(&fake).await;
        let s = p.result.unwrap();
        assert_eq!(s.missing_log_groups, 1);
        assert_eq!(s.log_groups, 0);
        assert!(p.store.checkpoints("pull/").unwrap().is_empty());
        // The inventory still recorded the function.
        let f = p.store.functions().unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].timeout_ms, Some(3000));
        assert!(f[0].inventory_ms.is_some());
    }

    #[tokio::test]
    async fn malformed_pages_fail_the_log_group_with_a_clear_error() {
        for body in [
            r#"{"events":[{"logStreamName":"s","timestamp":1"#,
            r#"{"events":"nope"}"#,
            "<html>proxy error</html>",
        ] {
            let fake = aws(move |_, _| Response::json(200, body)).await;
            let p = pull(&fake).await;
            let e = format!("{:#}", p.result.unwrap_err());
            assert!(
                e.contains(GROUP) && e.contains("FilterLogEvents failed"),
                "{body}: {e}"
            );
            assert!(p.store.checkpoints("pull/").unwrap().is_empty());
            assert_eq!(p.metrics.totals().errors, 1);
        }
    }

    #[tokio::test]
    async fn events_missing_fields_are_skipped_not_fatal() {
        let t0 = now_ms() - 30 * 60_000;
        let fake = aws(move |_, _| {
            let mut ev = invocation("bbbbbbbb-2222-3333-4444-555555555555", t0);
            ev.push(serde_json::json!({"message": "no stream, no time"}));
            ev.push(serde_json::json!({"logStreamName": "s", "timestamp": t0}));
            page(&ev, None)
        })
        .await;
        let p = pull(&fake).await;
        p.result.unwrap();
        assert_eq!(complete_invocations(&p.store), 1);
    }
}
