//! Error groups. An invocation row carries the group of its failure (`group_key`) and where
//! it entered the occurrence feed (`occ_seq`, `occ_pos`: the batch that put it in that group);
//! counts, first and last times and the latest message are aggregated from those rows when
//! asked (plus `error_hours` that retention compacted), so a retried batch counts nothing
//! twice. The `error_groups` rows hold what is decided once or by operators: the group's
//! first outcome and title, its status, regressions, and the event sequence alerting polls.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};
use tern_core::fingerprint::{fingerprint_invocation, format_id, parse_id, GROUPING_VERSION};
use tern_core::model::{InvocationPart, Outcome};

use super::client::Row;
use super::rows::{self, Extra, PART_COLUMNS};
use super::{ClickHouseStore, META_ERROR_SEQ};
use crate::sqlite::rollup::{floor_to, HOUR_MS};
use crate::{
    series_buckets, ErrorEvent, ErrorGroup, ErrorOccurrence, ErrorQuery, ErrorStatus,
    InvocationRow, OccurrenceCursor, StoreError, TimeRange,
};

const DEFAULT_LIMIT: usize = 100;

/// Group keys read per query by `Pending::preload`.
const PRELOAD_CHUNK: usize = 5000;

/// A group's stored state (one `error_groups` version).
#[derive(Debug, Clone)]
struct GroupState {
    key: i64,
    function: String,
    version: u32,
    basis: String,
    outcome: Outcome,
    title: String,
    culprit: Option<String>,
    frames: Vec<String>,
    status: ErrorStatus,
    status_ms: Option<i64>,
    muted_until_ms: Option<i64>,
    resolved_ms: Option<i64>,
    regressions: i64,
    regressed_ms: Option<i64>,
    event_seq: i64,
    event: ErrorEvent,
}

const GROUP_COLUMNS: &str = "key, function, version, basis, outcome, title, culprit, frames, \
    status, status_ms, muted_until_ms, resolved_ms, regressions, regressed_ms, event_seq, event";

fn read_state(r: &Row) -> Result<GroupState, StoreError> {
    let key = r.i64("key")?;
    let id = format_id(key as u64);
    let bad = |what: &str| StoreError::Corrupt(format!("error group {id}: {what}"));
    let outcome = u8::try_from(r.i64("outcome")?)
        .ok()
        .and_then(Outcome::from_code)
        .ok_or_else(|| bad("outcome"))?;
    let status = r.str("status")?;
    let event = r.str("event")?;
    let frames = r.str("frames")?;
    Ok(GroupState {
        key,
        function: r.str("function")?,
        version: u32::try_from(r.i64("version")?).map_err(|_| bad("version"))?,
        basis: r.str("basis")?,
        outcome,
        title: r.str("title")?,
        culprit: r.opt_str("culprit")?,
        frames: if frames.is_empty() {
            Vec::new()
        } else {
            frames.split('\n').map(str::to_string).collect()
        },
        status: ErrorStatus::parse(&status).ok_or_else(|| bad("status"))?,
        status_ms: r.opt_i64("status_ms")?,
        muted_until_ms: r.opt_i64("muted_until_ms")?,
        resolved_ms: r.opt_i64("resolved_ms")?,
        regressions: r.i64("regressions")?,
        regressed_ms: r.opt_i64("regressed_ms")?,
        event_seq: r.i64("event_seq")?,
        event: ErrorEvent::parse(&event).ok_or_else(|| bad("event"))?,
    })
}

fn state_row(g: &GroupState, ver: u64) -> Map<String, Value> {
    let opt = |v: Option<i64>| v.map_or(Value::Null, Value::from);
    let mut m = Map::new();
    m.insert("key".into(), g.key.into());
    m.insert("function".into(), g.function.as_str().into());
    m.insert("version".into(), g.version.into());
    m.insert("basis".into(), g.basis.as_str().into());
    m.insert("outcome".into(), g.outcome.code().into());
    m.insert("error_type".into(), Value::Null);
    m.insert("title".into(), g.title.as_str().into());
    m.insert("message".into(), Value::Null);
    m.insert(
        "culprit".into(),
        g.culprit.clone().map_or(Value::Null, Value::from),
    );
    m.insert("frames".into(), g.frames.join("\n").into());
    m.insert("first_ms".into(), 0.into());
    m.insert("last_ms".into(), 0.into());
    m.insert("count".into(), 0.into());
    m.insert("status".into(), g.status.as_str().into());
    m.insert("status_ms".into(), opt(g.status_ms));
    m.insert("muted_until_ms".into(), opt(g.muted_until_ms));
    m.insert("resolved_ms".into(), opt(g.resolved_ms));
    m.insert("regressions".into(), g.regressions.into());
    m.insert("regressed_ms".into(), opt(g.regressed_ms));
    m.insert("event_seq".into(), g.event_seq.into());
    m.insert("event".into(), g.event.as_str().into());
    m.insert("deleted".into(), 0.into());
    m.insert("ver".into(), ver.into());
    m
}

fn load_states(s: &ClickHouseStore, keys: &[i64]) -> Result<Vec<GroupState>, StoreError> {
    let filter = if keys.is_empty() {
        "1".to_string()
    } else {
        let list: Vec<String> = keys.iter().map(i64::to_string).collect();
        format!("key IN ({})", list.join(", "))
    };
    s.select(&format!(
        "SELECT {GROUP_COLUMNS} FROM error_groups FINAL WHERE deleted = 0 AND {filter}"
    ))?
    .iter()
    .map(read_state)
    .collect()
}

/// Every key ever given to a group of `function`, tombstoned ones included (a key's function
/// never changes, so every version names it).
pub(super) fn function_keys(s: &ClickHouseStore, function: &str) -> Result<Vec<i64>, StoreError> {
    s.select(&format!(
        "SELECT DISTINCT key FROM error_groups WHERE function = {}",
        rows::lit(function)
    ))?
    .iter()
    .map(|r| r.i64("key"))
    .collect()
}

/// Write a tombstone version of each live group of `function`; how many there were. A later
/// ingest of the same failure starts a new group, as after a delete in SQLite.
pub(super) fn tombstone_function(
    s: &mut ClickHouseStore,
    function: &str,
) -> Result<u64, StoreError> {
    let states: Vec<GroupState> = s
        .select(&format!(
            "SELECT {GROUP_COLUMNS} FROM error_groups FINAL WHERE deleted = 0 AND function = {}",
            rows::lit(function)
        ))?
        .iter()
        .map(read_state)
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(states.len());
    for g in &states {
        let ver = s.ver();
        let mut m = state_row(g, ver);
        m.insert("deleted".into(), 1.into());
        out.push(m);
    }
    s.insert("error_groups", &out)?;
    Ok(states.len() as u64)
}

/// One batch's error-group decisions.
pub(super) struct Pending {
    seq: i64,
    used: bool,
    pos: i64,
    states: HashMap<i64, Option<GroupState>>,
    changed: BTreeMap<i64, GroupState>,
}

impl Pending {
    pub(super) fn load(s: &ClickHouseStore) -> Result<Pending, StoreError> {
        let seq = s.meta_i64(META_ERROR_SEQ)?.unwrap_or(0) + 1;
        Ok(Pending {
            seq,
            used: false,
            pos: 0,
            states: HashMap::new(),
            changed: BTreeMap::new(),
        })
    }

    fn state(&mut self, s: &ClickHouseStore, key: i64) -> Result<Option<GroupState>, StoreError> {
        if let Some(g) = self.changed.get(&key) {
            return Ok(Some(g.clone()));
        }
        if let Some(g) = self.states.get(&key) {
            return Ok(g.clone());
        }
        let g = load_states(s, &[key])?.into_iter().next();
        self.states.insert(key, g.clone());
        Ok(g)
    }

    /// Read, in one query, the stored state of every group `parts` may touch (their stored
    /// group, and the group of their failure at the current grouping version), so `assign`
    /// does not ask for them one by one.
    pub(super) fn preload<'a>(
        &mut self,
        s: &ClickHouseStore,
        parts: impl Iterator<Item = (&'a InvocationPart, &'a Extra)>,
    ) -> Result<(), StoreError> {
        let mut keys: Vec<i64> = Vec::new();
        for (part, extra) in parts {
            keys.extend(extra.group_key);
            if part.report.is_some() && part.outcome() != Outcome::Success {
                if let Some(fp) = fingerprint_invocation(part, GROUPING_VERSION) {
                    keys.push(fp.hash as i64);
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        keys.retain(|k| !self.states.contains_key(k) && !self.changed.contains_key(k));
        for chunk in keys.chunks(PRELOAD_CHUNK) {
            for k in chunk {
                self.states.insert(*k, None);
            }
            for g in load_states(s, chunk)? {
                self.states.insert(g.key, Some(g));
            }
        }
        Ok(())
    }

    /// Decide the group of a changed invocation, record it in `extra`, and update the group's
    /// lifecycle (new group, regression, expired mute).
    pub(super) fn assign(
        &mut self,
        s: &ClickHouseStore,
        part: &InvocationPart,
        extra: &mut Extra,
    ) -> Result<(), StoreError> {
        let failed = part.report.is_some() && part.outcome() != Outcome::Success;
        // A stored invocation keeps its group's grouping version.
        let version = match extra.group_key {
            Some(k) => self.state(s, k)?.map_or(GROUPING_VERSION, |g| g.version),
            None => GROUPING_VERSION,
        };
        let fp = if failed {
            fingerprint_invocation(part, version)
                .map(|f| (f, version))
                .or_else(|| {
                    fingerprint_invocation(part, GROUPING_VERSION).map(|f| (f, GROUPING_VERSION))
                })
        } else {
            None
        };
        let Some((fp, version)) = fp else {
            if extra.group_key.is_some() {
                extra.group_key = None;
                self.used = true;
            }
            return Ok(());
        };
        let key = fp.hash as i64;
        if extra.group_key == Some(key) {
            return Ok(());
        }
        extra.group_key = Some(key);
        extra.occ_seq = self.seq;
        extra.occ_pos = self.pos;
        self.pos += 1;
        self.used = true;
        let t = extra.t;
        let g = match self.state(s, key)? {
            None => GroupState {
                key,
                function: part.function.clone(),
                version,
                basis: fp.kind.as_str().to_string(),
                outcome: part.outcome(),
                title: fp.title.clone(),
                culprit: fp.culprit.clone(),
                frames: fp.frames.clone(),
                status: ErrorStatus::Open,
                status_ms: None,
                muted_until_ms: None,
                resolved_ms: None,
                regressions: 0,
                regressed_ms: None,
                event_seq: self.seq,
                event: ErrorEvent::New,
            },
            Some(mut g) => {
                if g.status == ErrorStatus::Resolved && g.resolved_ms.is_none_or(|r| t > r) {
                    g.status = ErrorStatus::Open;
                    g.status_ms = Some(t);
                    g.regressions += 1;
                    g.regressed_ms = Some(t);
                    g.event = ErrorEvent::Regression;
                    g.event_seq = self.seq;
                } else if g.status == ErrorStatus::Muted && g.muted_until_ms.is_some_and(|u| t >= u)
                {
                    g.status = ErrorStatus::Open;
                    g.status_ms = g.muted_until_ms;
                    g.muted_until_ms = None;
                } else {
                    return Ok(());
                }
                g
            }
        };
        self.changed.insert(key, g);
        Ok(())
    }

    /// Write the changed groups and the batch's sequence number.
    pub(super) fn flush(self, s: &mut ClickHouseStore) -> Result<(), StoreError> {
        if !self.used {
            return Ok(());
        }
        let mut out = Vec::new();
        for g in self.changed.values() {
            let ver = s.ver();
            out.push(state_row(g, ver));
        }
        s.insert("error_groups", &out)?;
        s.set_meta(META_ERROR_SEQ, &self.seq.to_string())
    }
}

/// Per group: occurrences (and first, last, latest type and message) from raw rows.
struct Live {
    count: u64,
    first: i64,
    last: i64,
    error_type: Option<String>,
    message: Option<String>,
}

fn live(
    s: &ClickHouseStore,
    keys: Option<i64>,
    range: TimeRange,
) -> Result<HashMap<i64, Live>, StoreError> {
    let c = s.cutoffs()?;
    let mut filter = vec!["group_key IS NOT NULL".to_string(), "complete = 1".into()];
    if let Some(k) = keys {
        filter.push(format!("group_key = {k}"));
        // `group_key` is not in the sort key, so `FINAL` alone would merge the whole table to
        // find one group (the alert engine asks this for each group with new occurrences).
        // Every invocation whose latest version is in the group has some version in it, so
        // first the keys of those (one narrow column scanned, no `FINAL`), then `FINAL` only
        // over them through the primary key; the filter above still decides on the latest
        // version. On a cluster the subquery would be a second distributed read (refused by
        // default), so there the whole-table form stays.
        if s.layout.cluster.is_none() {
            filter.push(format!(
                "(log_group, log_stream, request_id) IN (SELECT log_group, log_stream, \
                 request_id FROM invocations WHERE group_key = {k})"
            ));
        }
    }
    let from = match (range.from_ms, c.compacted) {
        (Some(f), Some(w)) => Some(f.max(w)),
        (f, w) => f.or(w),
    };
    if let Some(f) = from {
        filter.push(format!("t >= {f}"));
    }
    if let Some(t) = range.to_ms {
        filter.push(format!("t < {t}"));
    }
    let rows = s.select(&format!(
        "SELECT group_key, count() AS n, min(t) AS lo, max(t) AS hi, \
         argMax(ifNull(error_type, report_error_type), t) AS et, \
         argMax(error_message, t) AS msg FROM invocations FINAL WHERE {} GROUP BY group_key",
        filter.join(" AND ")
    ))?;
    let mut out = HashMap::new();
    for r in &rows {
        out.insert(
            r.i64("group_key")?,
            Live {
                count: r.u64("n")?,
                first: r.i64("lo")?,
                last: r.i64("hi")?,
                error_type: r.opt_str("et")?.filter(|t| !t.is_empty()),
                message: r.opt_str("msg")?.filter(|m| !m.is_empty()),
            },
        );
    }
    Ok(out)
}

/// Compacted occurrences of a group: count, first and last occurrence time.
type Compacted = (u64, i64, i64);

/// Compacted occurrences per group within `range`.
fn compacted(
    s: &ClickHouseStore,
    key: Option<i64>,
    range: TimeRange,
) -> Result<HashMap<i64, Compacted>, StoreError> {
    let mut filter = vec!["1".to_string()];
    if let Some(k) = key {
        filter.push(format!("key = {k}"));
    }
    if let Some(f) = range.from_ms {
        filter.push(format!("hour >= {}", floor_to(f, HOUR_MS)));
    }
    if let Some(t) = range.to_ms {
        filter.push(format!("hour < {t}"));
    }
    let rows = s.select(&format!(
        "SELECT key, sum(count) AS n, min(hour) AS lo, max(hour) AS hi, \
         min(first_t) AS ft, max(last_t) AS lt FROM error_hours FINAL WHERE {} GROUP BY key",
        filter.join(" AND ")
    ))?;
    let mut out = HashMap::new();
    for r in &rows {
        out.insert(r.i64("key")?, (r.u64("n")?, r.i64("ft")?, r.i64("lt")?));
    }
    Ok(out)
}

fn group_of(
    g: &GroupState,
    all: Option<&Live>,
    old: Option<&Compacted>,
    now_ms: Option<i64>,
) -> Option<ErrorGroup> {
    let n = all.map_or(0, |l| l.count) + old.map_or(0, |o| o.0);
    if n == 0 {
        return None;
    }
    let first = match (all, old) {
        (Some(l), Some(o)) => l.first.min(o.1),
        (Some(l), None) => l.first,
        (None, Some(o)) => o.1,
        (None, None) => 0,
    };
    let last = match (all, old) {
        (Some(l), _) => l.last,
        (None, Some(o)) => o.2,
        (None, None) => 0,
    };
    let expired = g
        .muted_until_ms
        .is_some_and(|u| now_ms.is_some_and(|n| n >= u));
    let status = if g.status == ErrorStatus::Muted && expired {
        ErrorStatus::Open
    } else {
        g.status
    };
    Some(ErrorGroup {
        id: format_id(g.key as u64),
        version: g.version,
        function: g.function.clone(),
        basis: g.basis.clone(),
        outcome: g.outcome,
        error_type: all.and_then(|l| l.error_type.clone()),
        title: g.title.clone(),
        message: all.and_then(|l| l.message.clone()),
        culprit: g.culprit.clone(),
        frames: g.frames.clone(),
        first_ms: first,
        last_ms: last,
        count: n,
        count_in_range: n,
        status,
        status_ms: g.status_ms,
        muted_until_ms: g.muted_until_ms,
        resolved_ms: g.resolved_ms,
        regressions: u64::try_from(g.regressions).unwrap_or(0),
        regressed_ms: g.regressed_ms,
        event_seq: g.event_seq,
        event: g.event,
    })
}

pub(super) fn error_groups(
    s: &ClickHouseStore,
    q: &ErrorQuery,
) -> Result<Vec<ErrorGroup>, StoreError> {
    let states = load_states(s, &[])?;
    let all = live(s, None, TimeRange::all())?;
    let old = compacted(s, None, TimeRange::all())?;
    let bounded = q.range != TimeRange::all();
    let (in_live, in_old) = if bounded {
        (live(s, None, q.range)?, compacted(s, None, q.range)?)
    } else {
        (HashMap::new(), HashMap::new())
    };
    let mut out = Vec::new();
    for g in &states {
        if !q.functions.is_empty() && !q.functions.contains(&g.function) {
            continue;
        }
        if q.since_seq.is_some_and(|since| g.event_seq <= since) {
            continue;
        }
        let Some(mut group) = group_of(g, all.get(&g.key), old.get(&g.key), q.now_ms) else {
            continue;
        };
        if q.status.is_some_and(|st| st != group.status) {
            continue;
        }
        if bounded {
            let n =
                in_live.get(&g.key).map_or(0, |l| l.count) + in_old.get(&g.key).map_or(0, |o| o.0);
            if n == 0 {
                continue;
            }
            group.count_in_range = n;
        }
        out.push(group);
    }
    out.sort_by(|a, b| b.last_ms.cmp(&a.last_ms).then_with(|| a.id.cmp(&b.id)));
    out.truncate(if q.limit == 0 { DEFAULT_LIMIT } else { q.limit });
    Ok(out)
}

pub(super) fn error_group(
    s: &ClickHouseStore,
    id: &str,
    now_ms: Option<i64>,
) -> Result<Option<ErrorGroup>, StoreError> {
    let Some(hash) = parse_id(id) else {
        return Ok(None);
    };
    let key = hash as i64;
    let Some(g) = load_states(s, &[key])?.into_iter().next() else {
        return Ok(None);
    };
    let all = live(s, Some(key), TimeRange::all())?;
    let old = compacted(s, Some(key), TimeRange::all())?;
    Ok(group_of(&g, all.get(&key), old.get(&key), now_ms))
}

pub(super) fn error_series(
    s: &ClickHouseStore,
    id: &str,
    range: TimeRange,
    bucket_ms: i64,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let (from, to, n) = series_buckets(range, bucket_ms)?;
    let mut out: Vec<(i64, u64)> = (0..n).map(|i| (from + i * bucket_ms, 0)).collect();
    let Some(hash) = parse_id(id) else {
        return Ok(out);
    };
    let key = hash as i64;
    let c = s.cutoffs()?;
    let mut hours: Vec<(i64, u64)> = Vec::new();
    let lo = floor_to(from, HOUR_MS);
    let raw_from = c.compacted.map_or(lo, |w| lo.max(w));
    let rows = s.select(&format!(
        "SELECT intDiv(t - {lo}, {HOUR_MS}) AS h, count() AS n FROM invocations FINAL \
         WHERE group_key = {key} AND complete = 1 AND t >= {raw_from} AND t < {to} GROUP BY h"
    ))?;
    for r in &rows {
        hours.push((lo + r.i64("h")? * HOUR_MS, r.u64("n")?));
    }
    if let Some(w) = c.compacted {
        let rows = s.select(&format!(
            "SELECT hour, sum(count) AS n FROM error_hours FINAL WHERE key = {key} \
             AND hour >= {lo} AND hour < {} GROUP BY hour",
            w.min(to)
        ))?;
        for r in &rows {
            hours.push((r.i64("hour")?, r.u64("n")?));
        }
    }
    for (h, k) in hours {
        if c.rollups.is_some_and(|r| h.saturating_add(HOUR_MS) <= r) {
            continue;
        }
        // An hour's occurrences land in the bucket holding the hour's start.
        let start = h.max(from);
        if start >= to {
            continue;
        }
        if let Some(slot) = usize::try_from((start - from) / bucket_ms)
            .ok()
            .and_then(|i| out.get_mut(i))
        {
            slot.1 += k;
        }
    }
    Ok(out)
}

pub(super) fn error_samples(
    s: &ClickHouseStore,
    id: &str,
    limit: usize,
) -> Result<Vec<InvocationRow>, StoreError> {
    let Some(hash) = parse_id(id) else {
        return Ok(Vec::new());
    };
    let c = s.cutoffs()?;
    let vis = c.raw.map_or("1".into(), |r| format!("t >= {r}"));
    let rows = s.select(&format!(
        "SELECT {PART_COLUMNS} FROM invocations FINAL WHERE group_key = {} AND complete = 1 \
         AND {vis} ORDER BY t DESC, request_id DESC LIMIT {}",
        hash as i64,
        if limit == 0 { DEFAULT_LIMIT } else { limit }
    ))?;
    rows.iter()
        .map(|r| Ok(rows::invocation_row(rows::read_part(r, false)?.0)))
        .collect()
}

pub(super) fn set_error_status(
    s: &mut ClickHouseStore,
    id: &str,
    status: ErrorStatus,
    muted_until_ms: Option<i64>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let Some(hash) = parse_id(id) else {
        return Ok(false);
    };
    let Some(mut g) = load_states(s, &[hash as i64])?.into_iter().next() else {
        return Ok(false);
    };
    g.status = status;
    g.status_ms = Some(now_ms);
    match status {
        ErrorStatus::Open => g.muted_until_ms = None,
        ErrorStatus::Resolved => {
            g.resolved_ms = Some(now_ms);
            g.muted_until_ms = None;
        }
        ErrorStatus::Muted => g.muted_until_ms = muted_until_ms,
    }
    let ver = s.ver();
    s.insert("error_groups", &[state_row(&g, ver)])?;
    Ok(true)
}

pub(super) fn occurrences_since(
    s: &ClickHouseStore,
    after: OccurrenceCursor,
    limit: usize,
) -> Result<Vec<ErrorOccurrence>, StoreError> {
    let c = s.cutoffs()?;
    let vis = c.raw.map_or("1".into(), |r| format!("t >= {r}"));
    let rows = s.select(&format!(
        "SELECT {PART_COLUMNS} FROM invocations FINAL WHERE group_key IS NOT NULL AND complete = 1 \
         AND {vis} AND (occ_seq > {seq} OR (occ_seq = {seq} AND occ_pos > {pos})) \
         ORDER BY occ_seq, occ_pos LIMIT {}",
        if limit == 0 { DEFAULT_LIMIT } else { limit },
        seq = after.seq,
        pos = after.position
    ))?;
    rows.iter()
        .map(|r| {
            let (part, x) = rows::read_part(r, false)?;
            let key = x.group_key.unwrap_or_default();
            Ok(ErrorOccurrence {
                cursor: OccurrenceCursor {
                    seq: x.occ_seq,
                    position: x.occ_pos,
                },
                group: format_id(key as u64),
                invocation: rows::invocation_row(part),
            })
        })
        .collect()
}

/// Fold occurrences in `[from, to)` into `error_hours` before raw retention forgets them
/// (same rows whenever it runs).
pub(super) fn compact(
    s: &mut ClickHouseStore,
    from: Option<i64>,
    to: i64,
) -> Result<(), StoreError> {
    let lo = from.map_or("1".into(), |f| format!("t >= {f}"));
    let rows = s.select(&format!(
        "SELECT group_key, intDiv(t, {HOUR_MS}) * {HOUR_MS} AS hour, count() AS n, \
         min(t) AS lo, max(t) AS hi \
         FROM invocations FINAL WHERE group_key IS NOT NULL AND complete = 1 AND {lo} \
         AND t < {to} GROUP BY group_key, hour"
    ))?;
    let mut out = Vec::new();
    for r in &rows {
        let hour = r.i64("hour")?;
        let ver = s.ver();
        let mut m = Map::new();
        m.insert("key".into(), r.i64("group_key")?.into());
        m.insert("hour".into(), hour.into());
        m.insert("day".into(), rows::date_of(hour).into());
        m.insert("count".into(), r.i64("n")?.into());
        m.insert("first_t".into(), r.i64("lo")?.into());
        m.insert("last_t".into(), r.i64("hi")?.into());
        m.insert("ver".into(), ver.into());
        out.push(m);
    }
    s.insert("error_hours", &out)?;
    Ok(())
}
