//! The alert engine of `tern serve`: every `[alerts] evaluate_every` it evaluates the metric
//! policies in force on every function they target, advances each (policy, function)'s
//! incident state, and reads new error-group events for the error policies. What it decides
//! to say goes into the outbox; [`super::sender`] delivers it.
//!
//! # Where things live
//!
//! - Incidents and their notifications: `Store::apply_incident`, one transaction each (the
//!   incident change and one outbox row per channel).
//! - The core `IncidentState` per (policy, function): checkpoint `alert/state/<policy>/<fn>`
//!   ([`super::state`]), written after the incident changes of the tick. A crash in between
//!   leaves a stale state; every tick reconciles states with the store's open incidents (the
//!   store wins), and the store refuses to open a second incident for a pair, so a stale
//!   state can neither lose an open incident nor notify one twice.
//! - The error reader's cursor and cooldown memory: checkpoint `alert/errors`, written by
//!   `Store::enqueue` in the same transaction as the notifications it produced.
//!
//! Reads go through the engine's own read-only connection; writes through the one store
//! writer (`WriterHandle::with_store`).
//!
//! # Test hook
//!
//! `TERN_FAULT=exit_after_incident_commit` makes the process exit (status 137, like a
//! SIGKILL) right after the first incident-opening transaction commits, before the sender can
//! deliver it. Only the crash test sets it; nothing else reads it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use tern_core::alert::{
    decide, evaluate, judge, step, withdraw, ErrorDecision, Evaluation, FunctionInfo, GroupEvent,
    IncidentState, Metric, MetricPolicy, OpenIncident, RegressionPolicy, RegressionVerdict,
    ResolveReason, SpikeHistory, Transition, WindowStats, FIVE_MINUTES_MS, SPIKE_LOOKBACK_MS,
};
use tern_core::impact::Change;
use tern_store::{
    Checkpoint, ErrorEvent, ErrorGroup, FunctionMeta, FunctionStats, IncidentApplied,
    IncidentChange, IncidentQuery, IncidentState as StoreIncidentState, IngestBatch,
    OccurrenceCursor, Store, StoreBackend, TimeRange,
};
use tokio::sync::watch;

use super::metrics::AlertMetrics;
use super::notify::{self, GroupNews};
pub use super::reader::Reader;
use super::rules::{AlertConfig, Rule, Rules, API_POLICY_PREFIX};
use super::state::{
    decode_state, encode_state, parse_state_key, state_key, ErrorReader, ERRORS_KEY, STATE_PREFIX,
};
use crate::cluster::Duty;
use crate::serve::extras::{Extras, Task};
use crate::writer::WriterHandle;

/// Most open incidents and states considered per tick.
const MAX_OPEN: usize = 100_000;
/// Occurrences read per batch; a tick reads at most [`MAX_OCCURRENCE_BATCHES`] batches.
const OCCURRENCE_BATCH: usize = 1000;
const MAX_OCCURRENCE_BATCHES: usize = 20;

/// The env var of the crash-test hook.
pub const FAULT_ENV: &str = "TERN_FAULT";

/// A fault the crash test injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    ExitAfterIncidentCommit,
}

impl Fault {
    pub fn from_env() -> Fault {
        match std::env::var(FAULT_ENV).as_deref() {
            Ok("exit_after_incident_commit") => {
                tracing::warn!("TERN_FAULT=exit_after_incident_commit: test hook armed.");
                Fault::ExitAfterIncidentCommit
            }
            Ok(other) if !other.is_empty() => {
                tracing::warn!(value = other, "Unknown TERN_FAULT; ignored.");
                Fault::None
            }
            _ => Fault::None,
        }
    }
}

/// The engine and the sender as `tern serve` background tasks, with their `/metrics` figures.
/// In a cluster both run only in the collector holding the `alerts` lease (`duty`).
pub fn extras(cfg: &AlertConfig, store: &StoreBackend, duty: Duty) -> Extras {
    if !cfg.enabled {
        return Extras::default();
    }
    let metrics = Arc::new(AlertMetrics::default());
    let cfg = Arc::new(cfg.clone());
    let fault = Fault::from_env();
    let mut tasks: Vec<Task> = Vec::new();
    {
        let (cfg, db, metrics, duty) = (cfg.clone(), store.clone(), metrics.clone(), duty.clone());
        tasks.push(Box::new(move |writer, shutdown| {
            Box::pin(async move {
                if let Err(e) = run(cfg, &db, writer, metrics, fault, duty, shutdown).await {
                    tracing::error!(error = %format!("{e:#}"), "The alert engine stopped.");
                }
            })
        }));
    }
    {
        let (cfg, db, metrics) = (cfg.clone(), store.clone(), metrics.clone());
        tasks.push(Box::new(move |writer, shutdown| {
            Box::pin(async move {
                if let Err(e) = super::sender::run(cfg, &db, writer, metrics, duty, shutdown).await
                {
                    tracing::error!(error = %format!("{e:#}"), "The notification sender stopped.");
                }
            })
        }));
    }
    Extras {
        tasks,
        metrics: Some(Arc::new(move |out: &mut String| metrics.render(out))),
        duty: Duty::default(),
    }
}

async fn run(
    cfg: Arc<AlertConfig>,
    db: &StoreBackend,
    writer: WriterHandle,
    metrics: Arc<AlertMetrics>,
    fault: Fault,
    duty: Duty,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let reader = Reader::open(db)?;
    let mut reader_started = false;
    let mut tick = tokio::time::interval(cfg.evaluate_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
        }
        // In a cluster, only the collector holding the `alerts` lease evaluates. Its state
        // (incidents, per-pair states, the error reader's cursor) lives in the store, so
        // whoever holds the lease next continues from there.
        if !duty.leads() {
            continue;
        }
        if !reader_started {
            start_error_reader(&reader, &writer).await?;
            reader_started = true;
        }
        let now = crate::timeutil::now_ms();
        if let Err(e) = metric_tick(&cfg, &reader, &writer, &metrics, fault, now).await {
            metrics.engine_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %format!("{e:#}"), "Alert evaluation failed.");
        }
        if let Err(e) = error_tick(&cfg, &reader, &writer, &metrics, now).await {
            metrics.engine_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %format!("{e:#}"), "Error-policy evaluation failed.");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Metric policies

/// What a function's inventory says, as the policies see it.
pub fn function_info(m: &FunctionMeta) -> FunctionInfo {
    FunctionInfo {
        name: m.function.clone(),
        tags: m.tags.clone().unwrap_or_default(),
        account: m.account.clone().unwrap_or_default(),
        region: m.region.clone().unwrap_or_default(),
        timeout_ms: m.timeout_ms,
        memory_size_mb: m.memory_size_mb,
    }
}

/// The window figures of a function's stats (zeroes when it had no data in the window).
pub fn window_stats(s: Option<&FunctionStats>, info: &FunctionInfo) -> WindowStats {
    match s {
        Some(s) => WindowStats::from(&crate::report::function_report(s)).with_config(info),
        None => WindowStats::default().with_config(info),
    }
}

/// The API policies stored in the database, as (name, JSON).
pub fn api_policies(store: &dyn Store) -> Result<Vec<(String, String)>> {
    Ok(store
        .checkpoints(API_POLICY_PREFIX)?
        .into_iter()
        .filter_map(|c| {
            c.key
                .strip_prefix(API_POLICY_PREFIX)
                .map(|n| (n.to_string(), c.value))
        })
        .collect())
}

/// Every policy in force now (warnings about API policies are logged).
pub fn rules_now(store: &dyn Store, cfg: &AlertConfig) -> Result<Rules> {
    let (rules, warnings) = Rules::effective(cfg, &api_policies(store)?);
    for w in warnings {
        tracing::warn!(warning = %w, "Alert policy skipped.");
    }
    Ok(rules)
}

/// One incident change to apply, with what its notifications need.
#[derive(Debug, Clone)]
pub struct Action {
    pub change: IncidentChange,
    /// `None` for a deleted policy.
    pub policy: Option<MetricPolicy>,
    pub channels: Vec<String>,
    pub reason: Option<ResolveReason>,
    /// A regression policy's incident: the policy and the id of the change it is about.
    pub regression: Option<(RegressionPolicy, String)>,
}

/// The outcome of evaluating every metric policy once.
#[derive(Debug, Default)]
pub struct MetricPlan {
    pub actions: Vec<Action>,
    pub states: Vec<Checkpoint>,
    pub evaluations: u64,
}

/// The spike history of `function` before `window_start`: 5-minute buckets over the prior
/// 48 hours, leaving out buckets before the store's first data (Tern was not watching).
fn spike_history(
    store: &dyn Store,
    function: &str,
    window_start: i64,
    first_data_ms: Option<i64>,
) -> Result<Option<SpikeHistory>> {
    let Some(first) = first_data_ms else {
        return Ok(None);
    };
    let from = (window_start - SPIKE_LOOKBACK_MS).max(first - first.rem_euclid(FIVE_MINUTES_MS));
    if from >= window_start {
        return Ok(Some(SpikeHistory::from_counts(&[], FIVE_MINUTES_MS)));
    }
    let range = TimeRange {
        from_ms: Some(from),
        to_ms: Some(window_start),
    };
    let counts: Vec<u64> = store
        .series(function, range, FIVE_MINUTES_MS)?
        .iter()
        .map(|(_, s)| s.invocations)
        .collect();
    Ok(Some(SpikeHistory::from_counts(&counts, FIVE_MINUTES_MS)))
}

/// A state that agrees with the store: an open state without an open incident is closed; an
/// open incident without an open state is adopted.
fn reconcile(
    prev: Option<IncidentState>,
    open: Option<&tern_store::Incident>,
    cfg: &AlertConfig,
) -> Option<IncidentState> {
    match (prev, open) {
        (Some(mut s), None) if s.is_open() => {
            s.open = None;
            s.fire_streak = 0;
            Some(s)
        }
        (prev, Some(i)) if !prev.as_ref().is_some_and(|s| s.is_open()) => {
            let mut s = prev.unwrap_or_default();
            s.fire_streak = 0;
            s.open = Some(OpenIncident {
                opened_at_ms: i.opened_ms,
                value: i.value.unwrap_or(0.0),
                threshold: i.threshold.unwrap_or(0.0),
                last_firing_ms: i.last_firing_ms,
                clear_since_ms: None,
                ok_streak: 0,
                clear_period_ms: cfg.damping.clear_period_ms(s.flaps),
            });
            Some(s)
        }
        (prev, _) => prev,
    }
}

fn detail(policy: &MetricPolicy, value: f64, threshold: f64) -> String {
    format!(
        "{} ({} over {} ms)",
        notify::condition(policy.metric.as_str(), value, policy.comparison, threshold),
        policy.aggregation.as_str(),
        policy.window_ms
    )
}

/// Evaluate every enabled metric policy on every function it targets at `now`.
pub fn plan_metric(store: &dyn Store, cfg: &AlertConfig, now: i64) -> Result<MetricPlan> {
    let rules = rules_now(store, cfg)?;
    let functions = store.functions()?;
    let mut states: HashMap<(String, String), IncidentState> = HashMap::new();
    for c in store.checkpoints(STATE_PREFIX)? {
        if let (Some((p, f)), Some(s)) = (parse_state_key(&c.key), decode_state(&c.value)) {
            states.insert((p.to_string(), f.to_string()), s);
        }
    }
    let open = store.incidents(&IncidentQuery {
        state: Some(StoreIncidentState::Open),
        policy: None,
        limit: MAX_OPEN,
    })?;
    let open_by: HashMap<(&str, &str), &tern_store::Incident> = open
        .iter()
        .map(|i| ((i.policy.as_str(), i.subject.as_str()), i))
        .collect();
    let first_data = store.time_bounds()?.map(|(lo, _)| lo);
    let mut plan = MetricPlan::default();
    let mut by_window: HashMap<i64, HashMap<String, FunctionStats>> = HashMap::new();
    // (policy, function) pairs evaluated this tick.
    let mut evaluated: HashSet<(String, String)> = HashSet::new();
    for rule in rules.metric.iter().filter(|r| r.policy.enabled) {
        let p = &rule.policy;
        let window_start = now - p.window_ms;
        if let std::collections::hash_map::Entry::Vacant(slot) = by_window.entry(p.window_ms) {
            let range = TimeRange {
                from_ms: Some(window_start),
                to_ms: Some(now),
            };
            slot.insert(
                store
                    .function_stats(&[], range)?
                    .into_iter()
                    .map(|s| (s.function.clone(), s))
                    .collect(),
            );
        }
        let stats = by_window.get(&p.window_ms);
        for meta in &functions {
            let info = function_info(meta);
            if !p.applies_to(&info) {
                continue;
            }
            let mut w = window_stats(stats.and_then(|m| m.get(&meta.function)), &info);
            if p.metric == Metric::InvocationSpike && w.invocations >= p.min_invocations {
                w.history = spike_history(store, &meta.function, window_start, first_data)?;
            }
            let eval = evaluate(p, &w);
            plan.evaluations += 1;
            let key = (p.name.clone(), meta.function.clone());
            evaluated.insert(key.clone());
            let open_incident = open_by
                .get(&(p.name.as_str(), meta.function.as_str()))
                .copied();
            let stored = states.remove(&key);
            let prev = reconcile(stored.clone(), open_incident, cfg);
            let (next, transitions) = step(prev.as_ref(), &eval, now, &cfg.damping);
            for t in &transitions {
                plan.actions.push(match *t {
                    Transition::Opened {
                        at_ms,
                        value,
                        threshold,
                        ..
                    } => Action {
                        change: IncidentChange::Firing {
                            policy: p.name.clone(),
                            subject: meta.function.clone(),
                            at_ms,
                            value: Some(value),
                            threshold: Some(threshold),
                            detail: Some(detail(p, value, threshold)),
                        },
                        policy: Some(p.clone()),
                        channels: rule.channels.clone(),
                        reason: None,
                        regression: None,
                    },
                    Transition::Resolved { at_ms, reason, .. } => Action {
                        change: IncidentChange::Clear {
                            policy: p.name.clone(),
                            subject: meta.function.clone(),
                            at_ms,
                        },
                        policy: Some(p.clone()),
                        channels: rule.channels.clone(),
                        reason: Some(reason),
                        regression: None,
                    },
                });
            }
            // Keep the open incident's figures current (no notification: `Refreshed`).
            if let (true, true, Evaluation::Firing { value, threshold }) =
                (transitions.is_empty(), next.is_open(), eval)
            {
                plan.actions.push(Action {
                    change: IncidentChange::Firing {
                        policy: p.name.clone(),
                        subject: meta.function.clone(),
                        at_ms: now,
                        value: Some(value),
                        threshold: Some(threshold),
                        detail: Some(detail(p, value, threshold)),
                    },
                    policy: Some(p.clone()),
                    channels: Vec::new(),
                    reason: None,
                    regression: None,
                });
            }
            // Nothing stored and nothing to store: most pairs, most of the time.
            let unchanged = match &stored {
                Some(s) => *s == next,
                None => next == IncidentState::default(),
            };
            if !unchanged {
                plan.states.push(Checkpoint {
                    key: state_key(&p.name, &meta.function),
                    value: encode_state(&next),
                    updated_ms: now,
                });
            }
        }
    }
    plan_regressions(
        store,
        &rules,
        &functions,
        &open_by,
        now,
        &mut evaluated,
        &mut plan,
    )?;
    // Incidents no longer evaluated resolve as withdrawn: the policy was deleted, disabled or
    // switched off, or no longer targets the function.
    let all_metric: HashMap<&str, &Rule<MetricPolicy>> = rules
        .metric
        .iter()
        .map(|r| (r.policy.name.as_str(), r))
        .collect();
    for i in &open {
        let key = (i.policy.clone(), i.subject.clone());
        if evaluated.contains(&key) {
            continue;
        }
        let prev = reconcile(states.remove(&key), Some(i), cfg);
        let (next, _) = withdraw(prev.as_ref(), now);
        let (policy, channels) = match all_metric.get(i.policy.as_str()) {
            Some(r) => (Some(r.policy.clone()), r.channels.clone()),
            // Deleted: notify where built-ins notify, with what the incident recorded.
            None => (None, cfg.default_channel_names()),
        };
        plan.actions.push(Action {
            change: IncidentChange::Clear {
                policy: i.policy.clone(),
                subject: i.subject.clone(),
                at_ms: now,
            },
            policy,
            channels,
            reason: Some(ResolveReason::Withdrawn),
            regression: None,
        });
        plan.states.push(Checkpoint {
            key: state_key(&i.policy, &i.subject),
            value: encode_state(&next),
            updated_ms: now,
        });
    }
    Ok(plan)
}

/// Checkpoint prefix of regression policies' memory: `alert/regression/<policy>/<function>`
/// holds the id of the change whose incident is open (empty when none), and
/// `…/<function>/<change id>` the change's judgement, `<regressed|fine|pending>\t<judged ms>`.
pub const REGRESSION_PREFIX: &str = "alert/regression/";

/// A change judged fine, or without enough data yet, is judged again once its age has grown
/// by half since the last judgement (and at least this long after it): more data, few reads.
const REJUDGE_MIN_MS: i64 = 10 * 60_000;

fn describe_change(c: &Change) -> String {
    match (&c.from, &c.to, &c.note) {
        (_, _, Some(n)) if c.attribute == tern_core::impact::Attribute::Marker => {
            format!("marker {n:?}")
        }
        (Some(f), Some(t), _) => format!(
            "{} {f} → {t}{}",
            c.attribute.as_str(),
            if c.rollback { " (rollback)" } else { "" }
        ),
        _ => c.attribute.as_str().to_string(),
    }
}

fn regression_detail(
    p: &RegressionPolicy,
    change: &Change,
    metric: &str,
    value: f64,
    threshold: f64,
) -> String {
    let what = if metric == "error_rate" {
        if value.is_finite() {
            format!("error rate ×{value:.1} (threshold ×{threshold})")
        } else {
            format!("error rate up from zero (threshold ×{threshold})")
        }
    } else {
        format!(
            "p95 duration {:+.0}% (threshold +{:.0}%)",
            100.0 * value,
            100.0 * threshold
        )
    };
    format!(
        "{} at {} ({}): {what}, at {:.0}% confidence",
        describe_change(change),
        crate::timeutil::rfc3339_ms(change.at_ms),
        change.id,
        100.0 * p.confidence
    )
}

/// Regression policies: judge each change of each targeted function within the
/// policy's `max_age` once it has enough data (again as data grows, until it is judged
/// regressed), and open one incident per change that made things worse: the newest such
/// change holds the function's one open incident. It resolves when a newer change of the same
/// attribute is judged fine (a fix, a rollback), or when its change grows older than
/// `max_age`. A change that fired never fires again.
fn plan_regressions(
    store: &dyn Store,
    rules: &Rules,
    functions: &[FunctionMeta],
    open_by: &HashMap<(&str, &str), &tern_store::Incident>,
    now: i64,
    evaluated: &mut HashSet<(String, String)>,
    plan: &mut MetricPlan,
) -> Result<()> {
    let enabled: Vec<&Rule<RegressionPolicy>> = rules
        .regression
        .iter()
        .filter(|r| r.policy.enabled)
        .collect();
    let Some(max_age) = enabled.iter().map(|r| r.policy.max_age_ms).max() else {
        return Ok(());
    };
    let range = TimeRange {
        from_ms: Some(now.saturating_sub(max_age)),
        to_ms: Some(now.saturating_add(1)),
    };
    let (recent, _) = crate::compare::recent_changes(store, None, range, usize::MAX)?;
    let mut by_function: HashMap<&str, Vec<&Change>> = HashMap::new();
    for (f, c) in recent.iter().rev() {
        by_function.entry(f.as_str()).or_default().push(c); // oldest first
    }
    let memory: HashMap<String, String> = store
        .checkpoints(REGRESSION_PREFIX)?
        .into_iter()
        .map(|c| (c.key, c.value))
        .collect();
    let mut loaded: HashMap<String, crate::compare::FunctionData> = HashMap::new();
    for rule in enabled {
        let p = &rule.policy;
        for meta in functions {
            let info = function_info(meta);
            if !p.applies_to(&info) {
                continue;
            }
            let f = meta.function.as_str();
            let open = open_by.get(&(p.name.as_str(), f)).copied();
            if open.is_some() {
                evaluated.insert((p.name.clone(), f.to_string()));
            }
            let fired_key = format!("{REGRESSION_PREFIX}{}/{f}", p.name);
            let changes: Vec<&Change> = by_function
                .get(f)
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|c| c.at_ms >= now.saturating_sub(p.max_age_ms))
                        .collect()
                })
                .unwrap_or_default();
            let fired = memory
                .get(&fired_key)
                .filter(|id| !id.is_empty())
                .and_then(|id| changes.iter().copied().find(|c| &c.id == id));
            let clear = |plan: &mut MetricPlan| {
                plan.actions.push(Action {
                    change: IncidentChange::Clear {
                        policy: p.name.clone(),
                        subject: f.to_string(),
                        at_ms: now,
                    },
                    policy: None,
                    channels: rule.channels.clone(),
                    reason: Some(ResolveReason::Cleared),
                    regression: Some((p.clone(), String::new())),
                });
            };
            let remember = |plan: &mut MetricPlan, key: String, value: String| {
                plan.states.push(Checkpoint {
                    key,
                    value,
                    updated_ms: now,
                });
            };
            let mut open_for = open.and(fired);
            if open.is_some() && fired.is_none() {
                // Its change grew older than max_age (or the memory of it was lost).
                clear(plan);
                remember(plan, fired_key.clone(), String::new());
            }
            let mut newly: Option<(&Change, &'static str, f64, f64)> = None;
            let mut fine: Vec<&Change> = Vec::new();
            for &change in &changes {
                let key = format!("{fired_key}/{}", change.id);
                let prev = memory.get(&key).and_then(|v| {
                    let (state, at) = v.split_once('\t')?;
                    Some((state.to_string(), at.parse::<i64>().ok()?))
                });
                if let Some((state, at)) = &prev {
                    let wait = REJUDGE_MIN_MS.max((at - change.at_ms) / 2);
                    if state == "regressed" || now - at < wait {
                        continue;
                    }
                }
                if !loaded.contains_key(f) {
                    loaded.insert(f.to_string(), crate::compare::load(store, f)?);
                }
                let Some(data) = loaded.get_mut(f) else {
                    continue;
                };
                if let Some(r) = crate::compare::windows_range(data, &[change]) {
                    data.load_samples(store, r)?;
                }
                let settings = tern_core::impact::Settings {
                    alpha: p.alpha(),
                    arch: data.arch,
                    ..tern_core::impact::Settings::default()
                };
                let (_, _, comparison) = crate::compare::comparison(data, change, &settings);
                plan.evaluations += 1;
                let state = match judge(p, &comparison) {
                    RegressionVerdict::Regressed {
                        metric,
                        value,
                        threshold,
                    } => {
                        newly = Some((change, metric, value, threshold));
                        "regressed"
                    }
                    RegressionVerdict::Fine => {
                        fine.push(change);
                        "fine"
                    }
                    RegressionVerdict::NotEnoughData => "pending",
                };
                remember(plan, key, format!("{state}\t{now}"));
            }
            if let Some((change, metric, value, threshold)) = newly {
                if open_for.is_some() {
                    clear(plan);
                }
                plan.actions.push(Action {
                    change: IncidentChange::Firing {
                        policy: p.name.clone(),
                        subject: f.to_string(),
                        at_ms: now,
                        value: Some(value).filter(|v| v.is_finite()),
                        threshold: Some(threshold),
                        detail: Some(regression_detail(p, change, metric, value, threshold)),
                    },
                    policy: None,
                    channels: rule.channels.clone(),
                    reason: None,
                    regression: Some((p.clone(), change.id.clone())),
                });
                remember(plan, fired_key.clone(), change.id.clone());
                open_for = None;
            }
            if let Some(fc) = open_for {
                let fixed = fine
                    .iter()
                    .any(|c| c.attribute == fc.attribute && c.at_ms > fc.at_ms);
                if fixed {
                    clear(plan);
                    remember(plan, fired_key.clone(), String::new());
                }
            }
        }
    }
    Ok(())
}

/// What applying a plan did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub opened: u64,
    pub resolved: u64,
}

/// Apply a plan on the writer thread: each incident change with its notifications in one
/// transaction, then the new states in one more.
pub fn apply_metric(
    store: &mut dyn Store,
    plan: &MetricPlan,
    dashboard: Option<&str>,
    fault: Fault,
) -> Result<Applied> {
    let mut out = Applied::default();
    for a in &plan.actions {
        let notify = |incident: &tern_store::Incident| {
            let opened = incident.state == StoreIncidentState::Open;
            let n = match &a.regression {
                Some((p, change)) => notify::regression(p, change, incident, opened, dashboard),
                None => notify::incident(a.policy.as_ref(), incident, opened, a.reason, dashboard),
            };
            notify::outbox_items(&n, &a.channels)
        };
        match store.apply_incident(&a.change, &notify)? {
            IncidentApplied::Opened(i) => {
                out.opened += 1;
                tracing::info!(policy = %i.policy, function = %i.subject, incident = i.id, "Incident opened.");
                if fault == Fault::ExitAfterIncidentCommit {
                    eprintln!("TERN_FAULT: exiting after the commit of incident {}", i.id);
                    std::process::exit(137);
                }
            }
            IncidentApplied::Resolved(i) => {
                out.resolved += 1;
                tracing::info!(policy = %i.policy, function = %i.subject, incident = i.id, "Incident resolved.");
            }
            IncidentApplied::Refreshed(_) | IncidentApplied::NotOpen => {}
        }
    }
    if !plan.states.is_empty() {
        store.ingest(&IngestBatch {
            checkpoints: plan.states.clone(),
            ..IngestBatch::default()
        })?;
    }
    Ok(out)
}

async fn metric_tick(
    cfg: &Arc<AlertConfig>,
    reader: &Reader,
    writer: &WriterHandle,
    metrics: &AlertMetrics,
    fault: Fault,
    now: i64,
) -> Result<()> {
    let c = cfg.clone();
    let plan = reader.with(move |s| plan_metric(s, &c, now)).await?;
    metrics
        .evaluations
        .fetch_add(plan.evaluations, Ordering::Relaxed);
    if !plan.actions.is_empty() || !plan.states.is_empty() {
        let dashboard = cfg.dashboard_url.clone();
        writer
            .with_store(move |s| apply_metric(s, &plan, dashboard.as_deref(), fault))
            .await
            .map_err(|e| anyhow!("{e}"))??;
    }
    let open = reader
        .with(|s| {
            Ok(s.incidents(&IncidentQuery {
                state: Some(StoreIncidentState::Open),
                policy: None,
                limit: MAX_OPEN,
            })?
            .len())
        })
        .await?;
    metrics.incidents_open.store(open as u64, Ordering::Relaxed);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Error policies

/// On first start, the error reader begins after the newest stored occurrence: history is
/// not notified (a new daemon on an old database would page everyone about last month).
async fn start_error_reader(reader: &Reader, writer: &WriterHandle) -> Result<()> {
    let existing = reader
        .with(|s| Ok(s.checkpoints(ERRORS_KEY)?.into_iter().next()))
        .await?;
    if existing.is_some() {
        return Ok(());
    }
    let end = reader
        .with(|s| {
            let mut cursor = OccurrenceCursor::default();
            loop {
                let page = s.error_occurrences_since(cursor, 10_000)?;
                match page.last() {
                    Some(o) => cursor = o.cursor,
                    None => return Ok(cursor),
                }
            }
        })
        .await?;
    let cp = Checkpoint {
        key: ERRORS_KEY.to_string(),
        value: ErrorReader {
            seq: end.seq,
            position: end.position,
            ..ErrorReader::default()
        }
        .encode(),
        updated_ms: crate::timeutil::now_ms(),
    };
    writer
        .with_store(move |s| s.enqueue(&[], cp.updated_ms, Some(&cp)))
        .await
        .map_err(|e| anyhow!("{e}"))??;
    Ok(())
}

/// Notifications for the error events after the reader's cursor, and the advanced reader.
#[derive(Debug, Default)]
pub struct ErrorPlan {
    pub items: Vec<tern_store::OutboxItem>,
    pub reader: ErrorReader,
    pub events: u64,
    /// Whether anything was read (the checkpoint must move).
    pub moved: bool,
}

/// Read up to one batch of occurrences after `reader` and decide what to notify.
pub fn plan_errors(
    store: &dyn Store,
    cfg: &AlertConfig,
    rules: &Rules,
    reader: ErrorReader,
    now: i64,
) -> Result<ErrorPlan> {
    let mut page = store.error_occurrences_since(reader.cursor(), OCCURRENCE_BATCH)?;
    let mut plan = ErrorPlan {
        reader,
        ..ErrorPlan::default()
    };
    let (Some(first), Some(last)) = (page.first(), page.last()) else {
        return Ok(plan);
    };
    // Handle whole sequence numbers (one ingest batch each) unless one fills the page.
    if page.len() == OCCURRENCE_BATCH && first.cursor.seq != last.cursor.seq {
        let upto = last.cursor.seq;
        page.retain(|o| o.cursor.seq < upto);
    }
    let functions: HashMap<String, FunctionInfo> = store
        .functions()?
        .iter()
        .map(|m| (m.function.clone(), function_info(m)))
        .collect();
    let mut groups: HashMap<String, Option<ErrorGroup>> = HashMap::new();
    // A group's creating (or reopening) occurrence is its New (Regression) event, once.
    let mut announced: HashSet<(String, i64)> = HashSet::new();
    for occ in &page {
        plan.events += 1;
        plan.moved = true;
        plan.reader.seq = occ.cursor.seq;
        plan.reader.position = occ.cursor.position;
        if !groups.contains_key(&occ.group) {
            let g = store.error_group(&occ.group, Some(now))?;
            groups.insert(occ.group.clone(), g);
        }
        let Some(Some(g)) = groups.get(&occ.group) else {
            continue;
        };
        if g.status == tern_store::ErrorStatus::Muted {
            continue;
        }
        let (event, news) =
            if g.event_seq == occ.cursor.seq && announced.insert((g.id.clone(), occ.cursor.seq)) {
                match g.event {
                    ErrorEvent::New => (GroupEvent::New, GroupNews::New),
                    ErrorEvent::Regression => {
                        (GroupEvent::Regression, GroupNews::Regression(g.event_seq))
                    }
                }
            } else {
                (
                    GroupEvent::Occurrence,
                    GroupNews::Occurrence(occ.cursor.seq, occ.cursor.position),
                )
            };
        let info = functions.get(&g.function).cloned().unwrap_or(FunctionInfo {
            name: g.function.clone(),
            ..FunctionInfo::default()
        });
        for rule in &rules.error {
            let p = &rule.policy;
            if !p.applies_to(&info) {
                continue;
            }
            let key = ErrorReader::key(&p.name, &g.id);
            let last = plan.reader.notified.get(&key).copied();
            if decide(p, event, last, now) != ErrorDecision::Notify {
                continue;
            }
            plan.reader.notified.insert(key, now);
            let at = occ.invocation.end_ms.unwrap_or(g.last_ms);
            let n = notify::error_group(p, g, news, at, cfg.dashboard_url.as_deref());
            plan.items.extend(notify::outbox_items(&n, &rule.channels));
        }
    }
    // Forget notifications older than their policy's cooldown: they no longer hold anything.
    let cooldowns: BTreeMap<&str, i64> = rules
        .error
        .iter()
        .map(|r| (r.policy.name.as_str(), r.policy.cooldown_ms))
        .collect();
    plan.reader.notified.retain(|k, t| {
        let policy = k.split('\t').next().unwrap_or_default();
        cooldowns
            .get(policy)
            .is_some_and(|c| now.saturating_sub(*t) < *c)
    });
    Ok(plan)
}

async fn error_tick(
    cfg: &Arc<AlertConfig>,
    reader: &Reader,
    writer: &WriterHandle,
    metrics: &AlertMetrics,
    now: i64,
) -> Result<()> {
    for _ in 0..MAX_OCCURRENCE_BATCHES {
        let c = cfg.clone();
        let plan = reader
            .with(move |s| {
                let state = s
                    .checkpoints(ERRORS_KEY)?
                    .into_iter()
                    .find(|c| c.key == ERRORS_KEY)
                    .and_then(|c| ErrorReader::decode(&c.value))
                    .unwrap_or_default();
                let rules = rules_now(s, &c)?;
                plan_errors(s, &c, &rules, state, now)
            })
            .await?;
        if !plan.moved {
            return Ok(());
        }
        metrics
            .error_events
            .fetch_add(plan.events, Ordering::Relaxed);
        let cp = Checkpoint {
            key: ERRORS_KEY.to_string(),
            value: plan.reader.encode(),
            updated_ms: now,
        };
        let more = plan.events as usize >= OCCURRENCE_BATCH - 1;
        let items = plan.items;
        writer
            .with_store(move |s| s.enqueue(&items, now, Some(&cp)))
            .await
            .map_err(|e| anyhow!("{e}"))??;
        if !more {
            return Ok(());
        }
    }
    Ok(())
}
