//! Versioned state: checkpoints, function metadata, incidents, the outbox, tuning runs,
//! markers. Each change is a new row version computed by the writer from the latest one.
//!
//! Where the SQLite backend writes two things in one transaction, this one orders the writes
//! so that a retry after a failure in between converges: an incident's notifications are
//! queued before the incident row (a retry gets the same incident id, and notification keys
//! already queued are skipped), and checkpoints go after the data they describe.

use serde_json::{Map, Value};
use tern_core::model::Arch;

use super::rows::{finite, lit, lits, obj, opt};
use super::ClickHouseStore;
use crate::sqlite::codec::{decode_tags, encode_tags};
use crate::{
    Checkpoint, FunctionMeta, Incident, IncidentApplied, IncidentChange, IncidentQuery,
    IncidentState, Marker, OutboxEntry, OutboxItem, OutboxMark, OutboxState, StoreError,
    TuningPoint, TuningRun,
};

const DEFAULT_LIMIT: usize = 100;

// --- checkpoints

pub(super) fn checkpoint_rows(
    s: &mut ClickHouseStore,
    cps: &[Checkpoint],
) -> Vec<Map<String, Value>> {
    cps.iter()
        .map(|c| {
            obj(vec![
                ("key", c.key.as_str().into()),
                ("value", c.value.as_str().into()),
                ("updated_ms", c.updated_ms.into()),
                ("ver", s.ver().into()),
            ])
        })
        .collect()
}

pub(super) fn checkpoints(
    s: &ClickHouseStore,
    prefix: &str,
) -> Result<Vec<Checkpoint>, StoreError> {
    let rows = s.select(&format!(
        "SELECT key, value, updated_ms FROM checkpoints FINAL WHERE startsWith(key, {}) ORDER BY key",
        lit(prefix)
    ))?;
    rows.iter()
        .map(|r| {
            Ok(Checkpoint {
                key: r.str("key")?,
                value: r.str("value")?,
                updated_ms: r.i64("updated_ms")?,
            })
        })
        .collect()
}

// --- functions

const FUNCTION_COLUMNS: &str = "name, region, arch, timeout_ms, runtime, memory_size_mb, \
    account, function_arn, ephemeral_storage_mb, log_group, log_format, last_modified, tags, \
    inventory_ms, log_retention_days";

fn function_meta(r: &super::client::Row) -> Result<FunctionMeta, StoreError> {
    Ok(FunctionMeta {
        function: r.str("name")?,
        region: r.opt_str("region")?,
        arch: r.opt_str("arch")?.as_deref().and_then(Arch::parse),
        timeout_ms: r.opt_i64("timeout_ms")?.map(|v| v.max(0) as u64),
        runtime: r.opt_str("runtime")?,
        memory_size_mb: r.opt_u32("memory_size_mb")?,
        account: r.opt_str("account")?,
        function_arn: r.opt_str("function_arn")?,
        ephemeral_storage_mb: r.opt_u32("ephemeral_storage_mb")?,
        log_group: r.opt_str("log_group")?,
        log_format: r.opt_str("log_format")?,
        last_modified: r.opt_str("last_modified")?,
        tags: r.opt_str("tags")?.map(|t| decode_tags(&t)),
        inventory_ms: r.opt_i64("inventory_ms")?,
        log_retention_days: r.opt_u32("log_retention_days")?,
    })
}

/// Stored metadata of the named functions (all when `names` is `None`), by name.
pub(super) fn stored_functions(
    s: &ClickHouseStore,
    names: Option<&[String]>,
) -> Result<Vec<FunctionMeta>, StoreError> {
    let filter = match names {
        Some(n) => format!("WHERE name IN ({})", lits(n.iter().map(String::as_str))),
        None => String::new(),
    };
    let rows = s.select(&format!(
        "SELECT {FUNCTION_COLUMNS} FROM functions FINAL {filter} ORDER BY name"
    ))?;
    rows.iter().map(function_meta).collect()
}

pub(super) fn functions(s: &ClickHouseStore) -> Result<Vec<FunctionMeta>, StoreError> {
    let mut out = stored_functions(s, None)?;
    let seen = super::read::seen_memory(s, None)?;
    for m in &mut out {
        if m.memory_size_mb.is_none() {
            m.memory_size_mb = seen.get(&m.function).copied();
        }
    }
    Ok(out)
}

/// `stored` updated by `m`: `None` fields keep the stored value; the inventory time only grows.
pub(super) fn merge_meta(stored: Option<FunctionMeta>, m: &FunctionMeta) -> FunctionMeta {
    let mut out = stored.unwrap_or_else(|| FunctionMeta {
        function: m.function.clone(),
        ..FunctionMeta::default()
    });
    macro_rules! take {
        ($($f:ident),*) => { $( if m.$f.is_some() { out.$f = m.$f.clone(); } )* };
    }
    take!(
        region,
        arch,
        timeout_ms,
        runtime,
        memory_size_mb,
        account,
        function_arn,
        ephemeral_storage_mb,
        log_group,
        log_format,
        last_modified,
        tags,
        log_retention_days
    );
    out.inventory_ms = match (out.inventory_ms, m.inventory_ms) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    out
}

pub(super) fn function_row(m: &FunctionMeta, ver: u64) -> Map<String, Value> {
    obj(vec![
        ("name", m.function.as_str().into()),
        ("region", opt(m.region.clone())),
        ("arch", opt(m.arch.map(|a| a.as_str()))),
        (
            "timeout_ms",
            opt(m.timeout_ms.map(|t| i64::try_from(t).unwrap_or(i64::MAX))),
        ),
        ("runtime", opt(m.runtime.clone())),
        ("memory_size_mb", opt(m.memory_size_mb)),
        ("account", opt(m.account.clone())),
        ("function_arn", opt(m.function_arn.clone())),
        ("ephemeral_storage_mb", opt(m.ephemeral_storage_mb)),
        ("log_group", opt(m.log_group.clone())),
        ("log_format", opt(m.log_format.clone())),
        ("last_modified", opt(m.last_modified.clone())),
        ("tags", opt(m.tags.as_deref().map(encode_tags))),
        ("inventory_ms", opt(m.inventory_ms)),
        ("log_retention_days", opt(m.log_retention_days)),
        ("ver", ver.into()),
    ])
}

// --- incidents and the outbox

fn next_id(s: &ClickHouseStore, table: &str) -> Result<i64, StoreError> {
    let rows = s.select(&format!("SELECT max(id) AS m FROM {table}"))?;
    Ok(rows
        .first()
        .map(|r| r.opt_i64("m"))
        .transpose()?
        .flatten()
        .unwrap_or(0)
        + 1)
}

const INCIDENT_COLUMNS: &str = "id, policy, subject, state, opened_ms, last_firing_ms, \
    resolved_ms, value, threshold, detail";

fn incident(r: &super::client::Row) -> Result<Incident, StoreError> {
    let state = r.str("state")?;
    Ok(Incident {
        id: r.i64("id")?,
        policy: r.str("policy")?,
        subject: r.str("subject")?,
        state: IncidentState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("incident state {state:?}")))?,
        opened_ms: r.i64("opened_ms")?,
        last_firing_ms: r.i64("last_firing_ms")?,
        resolved_ms: r.opt_i64("resolved_ms")?,
        value: r.opt_f64("value")?,
        threshold: r.opt_f64("threshold")?,
        detail: r.opt_str("detail")?,
    })
}

fn incident_row(i: &Incident, ver: u64) -> Map<String, Value> {
    obj(vec![
        ("id", i.id.into()),
        ("policy", i.policy.as_str().into()),
        ("subject", i.subject.as_str().into()),
        ("state", i.state.as_str().into()),
        ("opened_ms", i.opened_ms.into()),
        ("last_firing_ms", i.last_firing_ms.into()),
        ("resolved_ms", opt(i.resolved_ms)),
        ("value", finite(i.value)),
        ("threshold", finite(i.threshold)),
        ("detail", opt(i.detail.clone())),
        ("ver", ver.into()),
    ])
}

pub(super) fn apply_incident(
    s: &mut ClickHouseStore,
    change: &IncidentChange,
    notify: &dyn Fn(&Incident) -> Vec<OutboxItem>,
) -> Result<IncidentApplied, StoreError> {
    let (policy, subject) = match change {
        IncidentChange::Firing {
            policy, subject, ..
        }
        | IncidentChange::Clear {
            policy, subject, ..
        } => (policy, subject),
    };
    let open = s
        .select(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents FINAL WHERE policy = {} AND subject = {} \
             AND state = 'open' ORDER BY id DESC LIMIT 1",
            lit(policy),
            lit(subject)
        ))?
        .first()
        .map(incident)
        .transpose()?;
    let applied = match (change, open) {
        (
            IncidentChange::Firing {
                at_ms,
                value,
                threshold,
                detail,
                ..
            },
            Some(mut i),
        ) => {
            i.last_firing_ms = i.last_firing_ms.max(*at_ms);
            i.value = *value;
            i.threshold = *threshold;
            i.detail = detail.clone();
            let ver = s.ver();
            s.insert("incidents", &[incident_row(&i, ver)])?;
            IncidentApplied::Refreshed(i)
        }
        (
            IncidentChange::Firing {
                at_ms,
                value,
                threshold,
                detail,
                ..
            },
            None,
        ) => {
            let i = Incident {
                id: next_id(s, "incidents")?,
                policy: policy.clone(),
                subject: subject.clone(),
                state: IncidentState::Open,
                opened_ms: *at_ms,
                last_firing_ms: *at_ms,
                resolved_ms: None,
                value: *value,
                threshold: *threshold,
                detail: detail.clone(),
            };
            enqueue(s, &notify(&i), *at_ms, None)?;
            let ver = s.ver();
            s.insert("incidents", &[incident_row(&i, ver)])?;
            IncidentApplied::Opened(i)
        }
        (IncidentChange::Clear { at_ms, .. }, Some(mut i)) => {
            i.state = IncidentState::Resolved;
            i.resolved_ms = Some(*at_ms);
            enqueue(s, &notify(&i), *at_ms, None)?;
            let ver = s.ver();
            s.insert("incidents", &[incident_row(&i, ver)])?;
            IncidentApplied::Resolved(i)
        }
        (IncidentChange::Clear { .. }, None) => IncidentApplied::NotOpen,
    };
    Ok(applied)
}

pub(super) fn incidents(
    s: &ClickHouseStore,
    q: &IncidentQuery,
) -> Result<Vec<Incident>, StoreError> {
    let mut filter = vec!["1".to_string()];
    if let Some(st) = q.state {
        filter.push(format!("state = {}", lit(st.as_str())));
    }
    if let Some(p) = &q.policy {
        filter.push(format!("policy = {}", lit(p)));
    }
    let limit = if q.limit == 0 { DEFAULT_LIMIT } else { q.limit };
    let rows = s.select(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents FINAL WHERE {} \
         ORDER BY opened_ms DESC, id DESC LIMIT {limit}",
        filter.join(" AND ")
    ))?;
    rows.iter().map(incident).collect()
}

const OUTBOX_COLUMNS: &str = "id, dedupe_key, channel, payload, created_ms, attempts, \
    next_attempt_ms, state, last_error, sent_ms";

fn outbox_entry(r: &super::client::Row) -> Result<OutboxEntry, StoreError> {
    let state = r.str("state")?;
    Ok(OutboxEntry {
        id: r.i64("id")?,
        dedupe_key: r.str("dedupe_key")?,
        channel: r.str("channel")?,
        payload: r.str("payload")?,
        created_ms: r.i64("created_ms")?,
        attempts: u32::try_from(r.i64("attempts")?).unwrap_or(u32::MAX),
        next_attempt_ms: r.i64("next_attempt_ms")?,
        state: OutboxState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("outbox state {state:?}")))?,
        last_error: r.opt_str("last_error")?,
        sent_ms: r.opt_i64("sent_ms")?,
    })
}

fn outbox_row(e: &OutboxEntry, ver: u64) -> Map<String, Value> {
    obj(vec![
        ("id", e.id.into()),
        ("dedupe_key", e.dedupe_key.as_str().into()),
        ("channel", e.channel.as_str().into()),
        ("payload", e.payload.as_str().into()),
        ("created_ms", e.created_ms.into()),
        ("attempts", i64::from(e.attempts).into()),
        ("next_attempt_ms", e.next_attempt_ms.into()),
        ("state", e.state.as_str().into()),
        ("last_error", opt(e.last_error.clone())),
        ("sent_ms", opt(e.sent_ms)),
        ("ver", ver.into()),
    ])
}

pub(super) fn enqueue(
    s: &mut ClickHouseStore,
    items: &[OutboxItem],
    now_ms: i64,
    checkpoint: Option<&Checkpoint>,
) -> Result<u64, StoreError> {
    for item in items {
        if item.dedupe_key.is_empty() || item.channel.is_empty() {
            return Err(StoreError::Backend(format!(
                "notification for channel {:?} with key {:?}: channel and key must not be empty",
                item.channel, item.dedupe_key
            )));
        }
    }
    let mut rows = Vec::new();
    if !items.is_empty() {
        let known: std::collections::HashSet<String> = s
            .select(&format!(
                "SELECT DISTINCT dedupe_key FROM outbox WHERE dedupe_key IN ({})",
                lits(items.iter().map(|i| i.dedupe_key.as_str()))
            ))?
            .iter()
            .map(|r| r.str("dedupe_key"))
            .collect::<Result<_, _>>()?;
        let mut seen = known;
        let mut id = next_id(s, "outbox")?;
        for item in items {
            if !seen.insert(item.dedupe_key.clone()) {
                continue;
            }
            let e = OutboxEntry {
                id,
                dedupe_key: item.dedupe_key.clone(),
                channel: item.channel.clone(),
                payload: item.payload.clone(),
                created_ms: now_ms,
                attempts: 0,
                next_attempt_ms: now_ms,
                state: OutboxState::Pending,
                last_error: None,
                sent_ms: None,
            };
            id += 1;
            let ver = s.ver();
            rows.push(outbox_row(&e, ver));
        }
    }
    s.insert("outbox", &rows)?;
    if let Some(c) = checkpoint {
        let cp = checkpoint_rows(s, std::slice::from_ref(c));
        s.insert("checkpoints", &cp)?;
    }
    Ok(rows.len() as u64)
}

pub(super) fn outbox_due(
    s: &ClickHouseStore,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    let rows = s.select(&format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox FINAL WHERE state = 'pending' \
         AND next_attempt_ms <= {now_ms} ORDER BY next_attempt_ms, id LIMIT {limit}"
    ))?;
    rows.iter().map(outbox_entry).collect()
}

/// Every entry, newest first (the dashboard's notification history).
pub(super) fn outbox_history(
    s: &ClickHouseStore,
    limit: usize,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    let rows = s.select(&format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox FINAL ORDER BY id DESC LIMIT {limit}"
    ))?;
    rows.iter().map(outbox_entry).collect()
}

pub(super) fn outbox_mark(
    s: &mut ClickHouseStore,
    id: i64,
    mark: &OutboxMark,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let rows = s.select(&format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox FINAL WHERE id = {id} AND state = 'pending'"
    ))?;
    let Some(mut e) = rows.first().map(outbox_entry).transpose()? else {
        return Ok(false);
    };
    e.attempts = e.attempts.saturating_add(1);
    match mark {
        OutboxMark::Sent => {
            e.state = OutboxState::Sent;
            e.sent_ms = Some(now_ms);
        }
        OutboxMark::Retry {
            next_attempt_ms,
            error,
        } => {
            e.next_attempt_ms = *next_attempt_ms;
            e.last_error = Some(error.clone());
        }
        OutboxMark::Failed { error } => {
            e.state = OutboxState::Failed;
            e.last_error = Some(error.clone());
        }
    }
    let ver = s.ver();
    s.insert("outbox", &[outbox_row(&e, ver)])?;
    Ok(true)
}

// --- tuning runs: one row per run, the run as JSON

fn point_json(p: &TuningPoint) -> Value {
    serde_json::json!({
        "memory_mb": p.memory_mb, "arch": p.arch.as_str(), "invocations": p.invocations,
        "errors": p.errors, "cold_starts": p.cold_starts, "p50_ms": finite(p.p50_ms),
        "p95_ms": finite(p.p95_ms), "p99_ms": finite(p.p99_ms),
        "trimmed_mean_ms": finite(p.trimmed_mean_ms), "billed_mean_ms": finite(p.billed_mean_ms),
        "init_p50_ms": finite(p.init_p50_ms), "max_memory_used_mb": p.max_memory_used_mb,
        "cost_usd": finite(p.cost_usd), "error": p.error,
    })
}

fn run_json(run: &TuningRun) -> String {
    let mut points = run.points.clone();
    points.sort_by_key(|p| (p.arch != Arch::X86_64, p.memory_mb));
    serde_json::json!({
        "region": run.region, "finished_ms": run.finished_ms,
        "original_memory_mb": run.original_memory_mb, "original_arch": run.original_arch.as_str(),
        "invocations_per_size": run.invocations_per_size,
        "cold_starts_only": run.cold_starts_only, "payload": run.payload,
        "complete": run.complete, "applied_memory_mb": run.applied_memory_mb,
        "points": points.iter().map(point_json).collect::<Vec<_>>(),
    })
    .to_string()
}

fn bad_run(what: &str) -> StoreError {
    StoreError::Corrupt(format!("tuning run: {what}"))
}

fn get<'a>(v: &'a Value, k: &str) -> Result<&'a Value, StoreError> {
    v.get(k).ok_or_else(|| bad_run(&format!("no {k}")))
}

fn u32_of(v: &Value, k: &str) -> Result<u32, StoreError> {
    get(v, k)?
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad_run(&format!("{k} is not a count")))
}

fn opt_u32_of(v: &Value, k: &str) -> Result<Option<u32>, StoreError> {
    match get(v, k)? {
        Value::Null => Ok(None),
        _ => u32_of(v, k).map(Some),
    }
}

fn opt_f64_of(v: &Value, k: &str) -> Result<Option<f64>, StoreError> {
    match get(v, k)? {
        Value::Null => Ok(None),
        n => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| bad_run(&format!("{k} is not a number"))),
    }
}

fn str_of(v: &Value, k: &str) -> Result<String, StoreError> {
    get(v, k)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| bad_run(&format!("{k} is not a string")))
}

fn bool_of(v: &Value, k: &str) -> Result<bool, StoreError> {
    get(v, k)?
        .as_bool()
        .ok_or_else(|| bad_run(&format!("{k} is not a boolean")))
}

fn arch_of(v: &Value, k: &str) -> Result<Arch, StoreError> {
    let s = str_of(v, k)?;
    Arch::parse(&s).ok_or_else(|| bad_run(&format!("unknown architecture {s:?}")))
}

fn parse_run(function: String, started_ms: i64, text: &str) -> Result<TuningRun, StoreError> {
    let v: Value = serde_json::from_str(text).map_err(|e| bad_run(&e.to_string()))?;
    let points = get(&v, "points")?
        .as_array()
        .ok_or_else(|| bad_run("points is not a list"))?
        .iter()
        .map(|p| {
            Ok(TuningPoint {
                memory_mb: u32_of(p, "memory_mb")?,
                arch: arch_of(p, "arch")?,
                invocations: u32_of(p, "invocations")?,
                errors: u32_of(p, "errors")?,
                cold_starts: u32_of(p, "cold_starts")?,
                p50_ms: opt_f64_of(p, "p50_ms")?,
                p95_ms: opt_f64_of(p, "p95_ms")?,
                p99_ms: opt_f64_of(p, "p99_ms")?,
                trimmed_mean_ms: opt_f64_of(p, "trimmed_mean_ms")?,
                billed_mean_ms: opt_f64_of(p, "billed_mean_ms")?,
                init_p50_ms: opt_f64_of(p, "init_p50_ms")?,
                max_memory_used_mb: opt_u32_of(p, "max_memory_used_mb")?,
                cost_usd: opt_f64_of(p, "cost_usd")?,
                error: match get(p, "error")? {
                    Value::Null => None,
                    _ => Some(str_of(p, "error")?),
                },
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(TuningRun {
        function,
        region: str_of(&v, "region")?,
        started_ms,
        finished_ms: get(&v, "finished_ms")?
            .as_i64()
            .ok_or_else(|| bad_run("finished_ms is not a time"))?,
        original_memory_mb: u32_of(&v, "original_memory_mb")?,
        original_arch: arch_of(&v, "original_arch")?,
        invocations_per_size: u32_of(&v, "invocations_per_size")?,
        cold_starts_only: bool_of(&v, "cold_starts_only")?,
        payload: str_of(&v, "payload")?,
        complete: bool_of(&v, "complete")?,
        applied_memory_mb: opt_u32_of(&v, "applied_memory_mb")?,
        points,
    })
}

pub(super) fn store_tuning_run(s: &mut ClickHouseStore, run: &TuningRun) -> Result<(), StoreError> {
    if run.function.is_empty() {
        return Err(StoreError::Backend(
            "a tuning run needs a function name".into(),
        ));
    }
    let ver = s.ver();
    s.insert(
        "tuning_runs",
        &[obj(vec![
            ("function", run.function.as_str().into()),
            ("started_ms", run.started_ms.into()),
            ("run", run_json(run).into()),
            ("ver", ver.into()),
        ])],
    )
}

pub(super) fn tuning_runs(
    s: &ClickHouseStore,
    function: &str,
) -> Result<Vec<TuningRun>, StoreError> {
    let rows = s.select(&format!(
        "SELECT function, started_ms, run FROM tuning_runs FINAL WHERE function = {} \
         ORDER BY started_ms DESC",
        lit(function)
    ))?;
    rows.iter()
        .map(|r| parse_run(r.str("function")?, r.i64("started_ms")?, &r.str("run")?))
        .collect()
}

// --- markers

pub(super) fn add_marker(s: &mut ClickHouseStore, m: &Marker) -> Result<Marker, StoreError> {
    if m.function.trim().is_empty() || m.note.trim().is_empty() {
        return Err(StoreError::Backend(
            "a marker needs a function and a note".into(),
        ));
    }
    let out = Marker {
        id: next_id(s, "markers")?,
        ..m.clone()
    };
    let ver = s.ver();
    s.insert(
        "markers",
        &[obj(vec![
            ("id", out.id.into()),
            ("function", out.function.as_str().into()),
            ("at_ms", out.at_ms.into()),
            ("note", out.note.as_str().into()),
            ("created_ms", out.created_ms.into()),
            ("ver", ver.into()),
        ])],
    )?;
    Ok(out)
}

pub(super) fn markers(
    s: &ClickHouseStore,
    function: Option<&str>,
) -> Result<Vec<Marker>, StoreError> {
    let filter = function.map_or(String::new(), |f| format!("WHERE function = {}", lit(f)));
    let rows = s.select(&format!(
        "SELECT id, function, at_ms, note, created_ms FROM markers FINAL {filter} ORDER BY at_ms, id"
    ))?;
    rows.iter()
        .map(|r| {
            Ok(Marker {
                id: r.i64("id")?,
                function: r.str("function")?,
                at_ms: r.i64("at_ms")?,
                note: r.str("note")?,
                created_ms: r.i64("created_ms")?,
            })
        })
        .collect()
}
